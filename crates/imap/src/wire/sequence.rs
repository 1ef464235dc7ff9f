//! Sequence sets (RFC 9051 §9 `sequence-set`, RFC 5182 `$`): parsed with a
//! bound on the number of ranges, formatted with runs compressed.

use std::fmt;
use std::num::NonZeroU32;

use super::cursor::Cursor;
use super::error::{PResult, ParseErrorKind};

/// One end of a range: a number or `*`, the largest number in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SeqBound {
    Value(NonZeroU32),
    Star,
}

impl SeqBound {
    /// The number this bound stands for when `largest` is in use.
    pub fn resolve(self, largest: u32) -> u32 {
        match self {
            SeqBound::Value(v) => v.get(),
            SeqBound::Star => largest,
        }
    }
}

/// A range with `start <= end` (`*` counts as the largest): RFC 9051 §9
/// says `4:2` and `2:4` are the same set, so the parser normalises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeqRange {
    start: SeqBound,
    end: SeqBound,
}

impl SeqRange {
    pub fn new(a: SeqBound, b: SeqBound) -> Self {
        SeqRange {
            start: a.min(b),
            end: a.max(b),
        }
    }

    pub fn start(&self) -> SeqBound {
        self.start
    }

    pub fn end(&self) -> SeqBound {
        self.end
    }

    /// The inclusive numeric range when `largest` is in use. RFC 9051 §9:
    /// `n:*` with n above the largest number is `largest:n`.
    pub fn resolve(&self, largest: u32) -> (u32, u32) {
        let (a, b) = (self.start.resolve(largest), self.end.resolve(largest));
        (a.min(b), a.max(b))
    }
}

/// A set of message numbers or UIDs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// Ranges in the order the client sent them.
    Ranges(Vec<SeqRange>),
    /// `$`: the result saved by the last `SEARCH RETURN (SAVE)` (RFC 5182).
    Saved,
}

impl SequenceSet {
    /// The largest number written in a range without `*` (`1:*` in an
    /// empty mailbox names nothing; `12` in a mailbox of 11 names a
    /// message that is not there).
    pub fn largest_written(&self) -> Option<u32> {
        match self {
            SequenceSet::Saved => None,
            SequenceSet::Ranges(r) => r
                .iter()
                .filter_map(|r| match (r.start, r.end) {
                    (SeqBound::Value(_), SeqBound::Value(b)) => Some(b.get()),
                    _ => None,
                })
                .max(),
        }
    }

    /// True when `n` is in the set; `largest` resolves `*`. `Saved` holds
    /// nothing here: the session substitutes the saved result first.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        match self {
            SequenceSet::Saved => false,
            SequenceSet::Ranges(r) => r.iter().any(|r| {
                let (a, b) = r.resolve(largest);
                (a..=b).contains(&n)
            }),
        }
    }

    /// Builds the compressed set of `ids` (sorted and deduplicated here);
    /// `None` when no non-zero id is given.
    pub fn from_ids(ids: impl IntoIterator<Item = u32>) -> Option<SequenceSet> {
        let mut ids: Vec<u32> = ids.into_iter().filter(|&n| n != 0).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut ranges: Vec<SeqRange> = Vec::new();
        let mut run: Option<(u32, u32)> = None;
        let close = |ranges: &mut Vec<SeqRange>, (a, b): (u32, u32)| {
            if let (Some(a), Some(b)) = (NonZeroU32::new(a), NonZeroU32::new(b)) {
                ranges.push(SeqRange::new(SeqBound::Value(a), SeqBound::Value(b)));
            }
        };
        for n in ids {
            run = match run {
                Some((a, b)) if b.checked_add(1) == Some(n) => Some((a, n)),
                Some(r) => {
                    close(&mut ranges, r);
                    Some((n, n))
                }
                None => Some((n, n)),
            };
        }
        if let Some(r) = run {
            close(&mut ranges, r);
        }
        (!ranges.is_empty()).then_some(SequenceSet::Ranges(ranges))
    }
}

/// Parses `bytes` as a whole sequence set.
pub fn parse_sequence_set(bytes: &[u8], max_ranges: usize) -> Result<SequenceSet, ParseErrorKind> {
    let mut c = Cursor::new(bytes);
    let set = sequence_set(&mut c, max_ranges)?;
    if c.rest().is_empty() {
        Ok(set)
    } else {
        Err(c.fail("end of sequence set"))
    }
}

fn bound(c: &mut Cursor<'_>) -> PResult<SeqBound> {
    if c.eat(b'*') {
        Ok(SeqBound::Star)
    } else {
        c.nz_number().map(SeqBound::Value)
    }
}

/// `sequence-set` with at most `max_ranges` ranges.
pub(crate) fn sequence_set(c: &mut Cursor<'_>, max_ranges: usize) -> PResult<SequenceSet> {
    if c.eat(b'$') {
        return Ok(SequenceSet::Saved);
    }
    let mut ranges = Vec::new();
    loop {
        if ranges.len() >= max_ranges {
            return Err(ParseErrorKind::TooManyRanges { max: max_ranges });
        }
        let a = bound(c)?;
        let b = if c.eat(b':') { bound(c)? } else { a };
        ranges.push(SeqRange::new(a, b));
        if !c.eat(b',') {
            return Ok(SequenceSet::Ranges(ranges));
        }
    }
}

/// True when the next bytes can start a sequence set (for SEARCH keys).
pub(crate) fn starts_set(c: &Cursor<'_>) -> bool {
    matches!(c.peek(), Some(b'0'..=b'9' | b'*' | b'$'))
}

impl fmt::Display for SeqBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqBound::Value(v) => write!(f, "{v}"),
            SeqBound::Star => f.write_str("*"),
        }
    }
}

impl fmt::Display for SeqRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}:{}", self.start, self.end)
        }
    }
}

impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SequenceSet::Saved => f.write_str("$"),
            SequenceSet::Ranges(ranges) => {
                for (i, r) in ranges.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{r}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let cases: &[(&str, Result<&str, ParseErrorKind>)] = &[
            ("1", Ok("1")),
            ("1:3,5", Ok("1:3,5")),
            ("3:1", Ok("1:3")),
            ("*:4", Ok("4:*")),
            ("*", Ok("*")),
            ("*:*", Ok("*")),
            ("$", Ok("$")),
            ("1,2,3", Ok("1,2,3")),
            (
                "0",
                Err(ParseErrorKind::Syntax {
                    expected: "non-zero number",
                    at: 0,
                }),
            ),
            (
                "1:0",
                Err(ParseErrorKind::Syntax {
                    expected: "non-zero number",
                    at: 2,
                }),
            ),
            (
                "1,",
                Err(ParseErrorKind::Syntax {
                    expected: "number",
                    at: 2,
                }),
            ),
            (
                "",
                Err(ParseErrorKind::Syntax {
                    expected: "number",
                    at: 0,
                }),
            ),
            ("1,2,3,4,5", Err(ParseErrorKind::TooManyRanges { max: 4 })),
            (
                "$,1",
                Err(ParseErrorKind::Syntax {
                    expected: "end of sequence set",
                    at: 1,
                }),
            ),
            (
                "4294967296",
                Err(ParseErrorKind::Syntax {
                    expected: "32-bit number",
                    at: 0,
                }),
            ),
        ];
        for (input, want) in cases {
            let got = parse_sequence_set(input.as_bytes(), 4).map(|s| s.to_string());
            assert_eq!(got.as_deref(), want.as_ref().map(|s| *s), "{input}");
        }
    }

    #[test]
    fn contains_resolves_star() {
        let set = parse_sequence_set(b"2:4,10:*", 10).unwrap();
        let cases = [
            (1, 20, false),
            (2, 20, true),
            (5, 20, false),
            (15, 20, true),
            (7, 8, false),
            (9, 8, true),
            (11, 8, false),
        ];
        for (n, largest, want) in cases {
            assert_eq!(set.contains(n, largest), want, "{n} of {largest}");
        }
        assert!(!SequenceSet::Saved.contains(1, 1));
    }

    #[test]
    fn from_ids_compresses_and_round_trips() {
        let cases: &[(&[u32], Option<&str>)] = &[
            (&[], None),
            (&[0], None),
            (&[5], Some("5")),
            (&[3, 1, 2, 2, 7, 9, 8, 20], Some("1:3,7:9,20")),
            (
                &[u32::MAX, u32::MAX - 1, 1],
                Some("1,4294967294:4294967295"),
            ),
        ];
        for (ids, want) in cases {
            let set = SequenceSet::from_ids(ids.iter().copied());
            let text = set.as_ref().map(|s| s.to_string());
            assert_eq!(text.as_deref(), *want, "{ids:?}");
            if let (Some(set), Some(text)) = (set, text) {
                assert_eq!(parse_sequence_set(text.as_bytes(), 1000), Ok(set));
            }
        }
    }
}
