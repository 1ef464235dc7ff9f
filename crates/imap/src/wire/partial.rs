//! PARTIAL ranges (RFC 9394 §4): which slice of a SEARCH result, or of the
//! messages a UID FETCH names, to answer with; counted from the first
//! (`1:100`) or from the last (`-1:-100`).

use super::cursor::Cursor;
use super::error::PResult;

/// `partial-range`: positions `from..=to` (1-based, `from <= to`), from
/// the end when `last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartialRange {
    pub last: bool,
    pub from: u32,
    pub to: u32,
}

impl PartialRange {
    /// The items at these positions, in their order. Positions past the
    /// end are simply not there.
    pub fn apply<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let n = items.len();
        let (from, to) = (self.from as usize, self.to as usize);
        if from > n {
            return &[];
        }
        if self.last {
            // -1 is the last item, -from..-to counts back from there.
            &items[n.saturating_sub(to)..=n - from]
        } else {
            &items[from - 1..to.min(n)]
        }
    }
}

impl std::fmt::Display for PartialRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.last {
            write!(f, "-{}:-{}", self.from, self.to)
        } else {
            write!(f, "{}:{}", self.from, self.to)
        }
    }
}

/// `partial-range-first = nz-number ":" nz-number` or
/// `partial-range-last = "-" nz-number ":" "-" nz-number`; `500:400` is
/// `400:500`. No `*`.
pub(crate) fn partial_range(c: &mut Cursor<'_>) -> PResult<PartialRange> {
    let last = c.eat(b'-');
    let a = c.nz_number()?.get();
    c.expect(b':', ":")?;
    if last {
        c.expect(b'-', "-")?;
    }
    let b = c.nz_number()?.get();
    Ok(PartialRange {
        last,
        from: a.min(b),
        to: a.max(b),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Option<PartialRange> {
        let mut c = Cursor::new(s.as_bytes());
        partial_range(&mut c).ok().filter(|_| c.rest().is_empty())
    }

    #[test]
    fn ranges_parse_and_print() {
        for (input, want) in [
            ("1:100", Some("1:100")),
            ("500:400", Some("400:500")),
            ("-1:-100", Some("-1:-100")),
            ("-100:-1", Some("-1:-100")),
            ("-1:100", None),
            ("1:-100", None),
            ("0:5", None),
            ("1:*", None),
            ("5", None),
            ("", None),
        ] {
            assert_eq!(
                parse(input).map(|r| r.to_string()).as_deref(),
                want,
                "{input}"
            );
        }
        // Split at every offset: a prefix is never a whole range by accident.
        let whole = "-12:-345";
        for i in 0..whole.len() {
            let p = parse(&whole[..i]);
            assert!(p.is_none() || whole[..i] == *"-12:-3" || whole[..i] == *"-12:-34");
        }
    }

    #[test]
    fn ranges_slice_from_either_end() {
        let v: Vec<u32> = (1..=10).collect();
        let r = |s: &str| parse(s).expect("range");
        assert_eq!(r("1:3").apply(&v), [1, 2, 3]);
        assert_eq!(r("9:20").apply(&v), [9, 10]);
        assert_eq!(r("11:20").apply(&v), [0u32; 0]);
        assert_eq!(r("-1:-3").apply(&v), [8, 9, 10]);
        assert_eq!(r("-9:-20").apply(&v), [1, 2]);
        assert_eq!(r("-11:-20").apply(&v), [0u32; 0]);
        assert_eq!(r("-10:-10").apply(&v), [1]);
    }
}
