//! Sequence sets (RFC 9051 §9 `sequence-set`, RFC 5182 `$`): parsed with a
//! bound on the number of ranges (`max_ranges_for_line`: whatever fits a
//! command line), indexed so a membership test costs a binary search
//! however many ranges a client sends, formatted with runs compressed.

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

/// Most ranges a sequence set can have on a command line of `max_line`
/// bytes: each range but the last takes a number and a comma. The cap
/// follows the line limit, so a set that fits the line is never refused
/// (clients such as Thunderbird send long UID sets on large mailboxes).
pub fn max_ranges_for_line(max_line: usize) -> usize {
    max_line / 2 + 1
}

/// A set of message numbers or UIDs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// Ranges in the order the client sent them.
    Ranges(Ranges),
    /// `$`: the result saved by the last `SEARCH RETURN (SAVE)` (RFC 5182).
    Saved,
}

/// The ranges of a set as sent, and an index for membership tests (boxed:
/// commands carry sets by value, some several).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ranges(Box<Indexed>);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Indexed {
    sent: Vec<SeqRange>,
    /// The ranges without `*`, sorted and merged (disjoint, ascending).
    numeric: Vec<(u32, u32)>,
    /// Ranges with `*`: the least and the greatest number written beside
    /// it (`u32::MAX` and 0 for `*` alone). Each such range holds the
    /// largest number in use, so together they are one interval.
    star: Option<(u32, u32)>,
}

impl Ranges {
    fn new(sent: Vec<SeqRange>) -> Ranges {
        let mut numeric = Vec::new();
        let mut star: Option<(u32, u32)> = None;
        for r in &sent {
            match (r.start, r.end) {
                (SeqBound::Value(a), SeqBound::Value(b)) => numeric.push((a.get(), b.get())),
                (a, _) => {
                    let (lo, hi) = star.get_or_insert((u32::MAX, 0));
                    if let SeqBound::Value(v) = a {
                        *lo = (*lo).min(v.get());
                        *hi = (*hi).max(v.get());
                    }
                }
            }
        }
        numeric.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(numeric.len());
        for (a, b) in numeric {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        Ranges(Box::new(Indexed {
            sent,
            numeric: merged,
            star,
        }))
    }

    /// The ranges in the order the client sent them.
    pub fn as_sent(&self) -> &[SeqRange] {
        &self.0.sent
    }

    fn contains(&self, n: u32, largest: u32) -> bool {
        let Indexed { numeric, star, .. } = &*self.0;
        if let Some((lo, hi)) = *star
            && (lo.min(largest)..=hi.max(largest)).contains(&n)
        {
            return true;
        }
        let i = numeric.partition_point(|&(a, _)| a <= n);
        i > 0 && n <= numeric[i - 1].1
    }
}

impl SequenceSet {
    /// The largest number written in a range without `*` (`1:*` in an
    /// empty mailbox names nothing; `12` in a mailbox of 11 names a
    /// message that is not there).
    pub fn largest_written(&self) -> Option<u32> {
        match self {
            SequenceSet::Saved => None,
            SequenceSet::Ranges(r) => r.0.numeric.last().map(|&(_, b)| b),
        }
    }

    /// True when `n` is in the set; `largest` resolves `*`. `Saved` holds
    /// nothing here: the session substitutes the saved result first.
    /// A binary search: a command may test every message of a mailbox
    /// against a set of tens of thousands of ranges.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        match self {
            SequenceSet::Saved => false,
            SequenceSet::Ranges(r) => r.contains(n, largest),
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
        (!ranges.is_empty()).then(|| SequenceSet::Ranges(Ranges::new(ranges)))
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
            return Ok(SequenceSet::Ranges(Ranges::new(ranges)));
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
                for (i, r) in ranges.as_sent().iter().enumerate() {
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

    /// The index answers as a walk over the ranges as sent would.
    #[test]
    fn contains_matches_a_walk_over_the_ranges_as_sent() {
        let sets = [
            "5,1:3,2:4,9,10,4294967295",
            "*",
            "7:*,3,*:2",
            "1:2,3:4,6:8,8:9,20:11,*",
            "4294967294:4294967295,1",
        ];
        for text in sets {
            let set = parse_sequence_set(text.as_bytes(), 100).expect("parses");
            let SequenceSet::Ranges(r) = &set else {
                panic!("ranges")
            };
            for largest in [0, 1, 2, 5, 8, 15, 30, u32::MAX] {
                for n in (0..35).chain([u32::MAX - 1, u32::MAX]) {
                    let walk = r.as_sent().iter().any(|r| {
                        let (a, b) = r.resolve(largest);
                        (a..=b).contains(&n)
                    });
                    assert_eq!(set.contains(n, largest), walk, "{n} in {text} of {largest}");
                }
            }
        }
    }

    #[test]
    fn a_set_as_long_as_the_line_allows_parses() {
        let max_line = 8 * 1024;
        // "1,3,5,...": two bytes a range at the least (the shortest set
        // of that many ranges), filling the line.
        let n = max_line / 2 - 1;
        let text: Vec<String> = (0..n).map(|i| (i % 9 + 1).to_string()).collect();
        let text = text.join(",");
        assert!(text.len() < max_line);
        let set = parse_sequence_set(text.as_bytes(), max_ranges_for_line(max_line));
        assert!(set.is_ok(), "{:?}", set.err());
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
