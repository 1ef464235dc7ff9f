//! SEARCH keys (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 7162 MODSEQ,
//! RFC 5032 OLDER/YOUNGER, RFC 8514 SAVED*), the RETURN options of ESEARCH (RFC 4731,
//! RFC 5182 SAVE), and the SORT / THREAD criteria (RFC 5256, RFC 5957).

use super::cursor::Cursor;
use super::datetime::{Date, date};
use super::error::{PResult, ParseErrorKind};
use super::partial::{PartialRange, partial_range};
use super::sequence::{SequenceSet, sequence_set, starts_set};

/// One search key. Several keys side by side are ANDed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchKey {
    All,
    Answered,
    Deleted,
    Draft,
    Flagged,
    Seen,
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unseen,
    /// RFC 3501 only: `\Recent` and not `\Seen`.
    New,
    /// RFC 3501 only: not `\Recent`.
    Old,
    /// RFC 3501 only.
    Recent,
    Keyword(String),
    Unkeyword(String),
    /// Header and text searches hold the bytes as sent; the session
    /// decodes them with the CHARSET.
    Bcc(Vec<u8>),
    Body(Vec<u8>),
    Cc(Vec<u8>),
    From(Vec<u8>),
    Subject(Vec<u8>),
    Text(Vec<u8>),
    To(Vec<u8>),
    Header(String, Vec<u8>),
    Before(Date),
    On(Date),
    Since(Date),
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    Larger(u64),
    Smaller(u64),
    /// RFC 8514 §4.2: the save date's day, as BEFORE/ON/SINCE do with
    /// INTERNALDATE's.
    SavedBefore(Date),
    SavedOn(Date),
    SavedSince(Date),
    /// RFC 8514 §4.2: every message when the mailbox keeps save dates.
    SaveDateSupported,
    /// RFC 8474 §6: the message with this EMAILID, those with this THREADID.
    EmailId(String),
    ThreadId(String),
    /// RFC 5032: internal date older than this many seconds.
    Older(u32),
    /// RFC 5032: internal date within this many seconds.
    Younger(u32),
    Uid(SequenceSet),
    SequenceSet(SequenceSet),
    /// RFC 7162 §3.1.5; the per-flag entry is kept but may be ignored.
    ModSeq {
        entry: Option<(String, String)>,
        modseq: u64,
    },
    Not(Box<SearchKey>),
    Or(Box<SearchKey>, Box<SearchKey>),
    /// A parenthesised list.
    And(Vec<SearchKey>),
}

/// What an ESEARCH reply reports (RFC 4731 §3.1, RFC 5182 `SAVE`,
/// RFC 9394 `PARTIAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchReturn {
    Min,
    Max,
    All,
    Count,
    Save,
    Partial(PartialRange),
    /// RFC 5267 §4.1: keep the result up to date (CONTEXT=SEARCH/SORT).
    Update,
}

/// A search: the charset (if named) and the keys, ANDed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchProgram {
    pub charset: Option<String>,
    pub keys: Vec<SearchKey>,
}

/// Limits for the search parsers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SearchLimits {
    pub max_ranges: usize,
    pub max_depth: usize,
}

/// Most keys in one list, against CPU-heavy searches.
const MAX_KEYS: usize = 1000;

/// `[SP "RETURN" SP "(" [opt *(SP opt)] ")"]` after the command name.
/// `None`: no RETURN (a plain `* SEARCH` answer); `Some(empty)`: ESEARCH
/// with ALL implied (RFC 4731 §3.1).
pub(crate) fn search_return(c: &mut Cursor<'_>) -> PResult<Option<Vec<SearchReturn>>> {
    if !(c.peek() == Some(b' ')
        && c.rest()
            .get(1..8)
            .is_some_and(|r| r.eq_ignore_ascii_case(b"RETURN ")))
    {
        return Ok(None);
    }
    c.sp()?;
    c.keyword("RETURN");
    c.sp()?;
    let at = c.pos();
    let opts = c.paren_list0(8, |c| {
        let opts = [
            ("MIN", SearchReturn::Min),
            ("MAX", SearchReturn::Max),
            ("ALL", SearchReturn::All),
            ("COUNT", SearchReturn::Count),
            ("SAVE", SearchReturn::Save),
            ("UPDATE", SearchReturn::Update),
        ];
        for (name, opt) in opts {
            if c.keyword(name) {
                return Ok(opt);
            }
        }
        if c.keyword("PARTIAL") {
            c.sp()?;
            return partial_range(c).map(SearchReturn::Partial);
        }
        Err(c.fail("search return option"))
    })?;
    // RFC 9394 §3.1: one PARTIAL at most, and not with ALL.
    let partials = opts
        .iter()
        .filter(|o| matches!(o, SearchReturn::Partial(_)))
        .count();
    if partials > 1 || (partials == 1 && opts.contains(&SearchReturn::All)) {
        return Err(ParseErrorKind::Syntax {
            expected: "one PARTIAL and no ALL",
            at,
        });
    }
    Ok(Some(opts))
}

fn charset(c: &mut Cursor<'_>) -> PResult<String> {
    let at = c.pos();
    let cs = c.astring()?;
    String::from_utf8(cs)
        .ok()
        .filter(|s| s.is_ascii())
        .ok_or(ParseErrorKind::Syntax {
            expected: "charset",
            at,
        })
}

/// `search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)`,
/// after the SP that precedes it.
pub(crate) fn search_program(c: &mut Cursor<'_>, limits: SearchLimits) -> PResult<SearchProgram> {
    let charset = if c.keyword("CHARSET") {
        c.sp()?;
        let cs = charset(c)?;
        c.sp()?;
        Some(cs)
    } else {
        None
    };
    Ok(SearchProgram {
        charset,
        keys: keys(c, limits)?,
    })
}

/// `search-key *(SP search-key)` up to the end of the command.
fn keys(c: &mut Cursor<'_>, limits: SearchLimits) -> PResult<Vec<SearchKey>> {
    let mut keys = vec![key(c, limits, 0)?];
    while !c.at_end() {
        if keys.len() >= MAX_KEYS {
            return Err(c.fail("fewer search keys"));
        }
        c.sp()?;
        keys.push(key(c, limits, 0)?);
    }
    Ok(keys)
}

fn string_arg(c: &mut Cursor<'_>) -> PResult<Vec<u8>> {
    c.sp()?;
    c.astring()
}

fn date_arg(c: &mut Cursor<'_>) -> PResult<Date> {
    c.sp()?;
    date(c)
}

fn atom_arg(c: &mut Cursor<'_>) -> PResult<String> {
    c.sp()?;
    c.atom().map(str::to_owned)
}

/// RFC 8474 §7: `objectid = 1*255(ALPHA / DIGIT / "_" / "-")`.
fn objectid_arg(c: &mut Cursor<'_>) -> PResult<String> {
    c.sp()?;
    let at = c.pos();
    let id = c.atom()?;
    if id.len() > 255
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(ParseErrorKind::Syntax {
            expected: "objectid",
            at,
        });
    }
    Ok(id.to_string())
}

fn key(c: &mut Cursor<'_>, limits: SearchLimits, depth: usize) -> PResult<SearchKey> {
    use SearchKey::*;
    if depth >= limits.max_depth {
        return Err(ParseErrorKind::TooDeep {
            max: limits.max_depth,
        });
    }
    if c.peek() == Some(b'(') {
        return c
            .paren_list(MAX_KEYS, |c| key(c, limits, depth + 1))
            .map(And);
    }
    if starts_set(c) {
        return sequence_set(c, limits.max_ranges).map(SequenceSet);
    }
    let at = c.pos();
    let word = c.atom()?.to_ascii_uppercase();
    Ok(match word.as_str() {
        "ALL" => All,
        "ANSWERED" => Answered,
        "DELETED" => Deleted,
        "DRAFT" => Draft,
        "FLAGGED" => Flagged,
        "SEEN" => Seen,
        "UNANSWERED" => Unanswered,
        "UNDELETED" => Undeleted,
        "UNDRAFT" => Undraft,
        "UNFLAGGED" => Unflagged,
        "UNSEEN" => Unseen,
        "NEW" => New,
        "OLD" => Old,
        "RECENT" => Recent,
        "KEYWORD" => Keyword(atom_arg(c)?),
        "UNKEYWORD" => Unkeyword(atom_arg(c)?),
        "BCC" => Bcc(string_arg(c)?),
        "BODY" => Body(string_arg(c)?),
        "CC" => Cc(string_arg(c)?),
        "FROM" => From(string_arg(c)?),
        "SUBJECT" => Subject(string_arg(c)?),
        "TEXT" => Text(string_arg(c)?),
        "TO" => To(string_arg(c)?),
        "HEADER" => {
            let at = c.pos() + 1;
            let field = string_arg(c)?;
            let field = String::from_utf8(field)
                .ok()
                .filter(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_graphic() && b != b':'))
                .ok_or(ParseErrorKind::Syntax {
                    expected: "header field name",
                    at,
                })?;
            Header(field, string_arg(c)?)
        }
        "BEFORE" => Before(date_arg(c)?),
        "ON" => On(date_arg(c)?),
        "SINCE" => Since(date_arg(c)?),
        "SENTBEFORE" => SentBefore(date_arg(c)?),
        "SENTON" => SentOn(date_arg(c)?),
        "SENTSINCE" => SentSince(date_arg(c)?),
        "SAVEDBEFORE" => SavedBefore(date_arg(c)?),
        "SAVEDON" => SavedOn(date_arg(c)?),
        "SAVEDSINCE" => SavedSince(date_arg(c)?),
        "SAVEDATESUPPORTED" => SaveDateSupported,
        "EMAILID" => EmailId(objectid_arg(c)?),
        "THREADID" => ThreadId(objectid_arg(c)?),
        "LARGER" => {
            c.sp()?;
            Larger(c.number64()?)
        }
        "SMALLER" => {
            c.sp()?;
            Smaller(c.number64()?)
        }
        "OLDER" => {
            c.sp()?;
            Older(c.nz_number()?.get())
        }
        "YOUNGER" => {
            c.sp()?;
            Younger(c.nz_number()?.get())
        }
        "UID" => {
            c.sp()?;
            Uid(sequence_set(c, limits.max_ranges)?)
        }
        "MODSEQ" => {
            c.sp()?;
            // RFC 7162: [entry-name SP entry-type-req SP] mod-sequence-valzer,
            // entry-name a quoted "/flags/..." string.
            let entry = if c.peek() == Some(b'"') {
                let name = String::from_utf8_lossy(&c.quoted()?).into_owned();
                c.sp()?;
                let kind = c.atom()?.to_ascii_lowercase();
                if !matches!(kind.as_str(), "priv" | "shared" | "all") {
                    return Err(c.fail("priv, shared or all"));
                }
                c.sp()?;
                Some((name, kind))
            } else {
                None
            };
            ModSeq {
                entry,
                modseq: c.number64()?,
            }
        }
        "NOT" => {
            c.sp()?;
            Not(Box::new(key(c, limits, depth + 1)?))
        }
        "OR" => {
            c.sp()?;
            let a = key(c, limits, depth + 1)?;
            c.sp()?;
            let b = key(c, limits, depth + 1)?;
            Or(Box::new(a), Box::new(b))
        }
        _ => {
            return Err(ParseErrorKind::Syntax {
                expected: "search key",
                at,
            });
        }
    })
}

/// A SORT key (RFC 5256 §3, RFC 5957 DISPLAYFROM / DISPLAYTO).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    DisplayFrom,
    DisplayTo,
}

/// `sort-criterion = ["REVERSE" SP] sort-key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortCriterion {
    pub reverse: bool,
    pub key: SortKey,
}

/// `sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"`.
pub(crate) fn sort_criteria(c: &mut Cursor<'_>) -> PResult<Vec<SortCriterion>> {
    c.paren_list(16, |c| {
        let reverse = c.keyword("REVERSE") && c.sp().is_ok();
        let keys = [
            ("ARRIVAL", SortKey::Arrival),
            ("CC", SortKey::Cc),
            ("DATE", SortKey::Date),
            ("FROM", SortKey::From),
            ("SIZE", SortKey::Size),
            ("SUBJECT", SortKey::Subject),
            ("TO", SortKey::To),
            ("DISPLAYFROM", SortKey::DisplayFrom),
            ("DISPLAYTO", SortKey::DisplayTo),
        ];
        for (name, key) in keys {
            if c.keyword(name) {
                return Ok(SortCriterion { reverse, key });
            }
        }
        Err(c.fail("sort key"))
    })
}

/// `search-charset SP search-key *(SP search-key)` as SORT and THREAD take
/// them (the charset is required there, RFC 5256 §3).
pub(crate) fn charset_and_keys(c: &mut Cursor<'_>, limits: SearchLimits) -> PResult<SearchProgram> {
    let cs = charset(c)?;
    c.sp()?;
    Ok(SearchProgram {
        charset: Some(cs),
        keys: keys(c, limits)?,
    })
}

/// A THREAD algorithm (RFC 5256 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    OrderedSubject,
    References,
    /// Another name: the session answers NO.
    Other(String),
}

pub(crate) fn thread_algorithm(c: &mut Cursor<'_>) -> PResult<ThreadAlgorithm> {
    let a = c.atom()?;
    Ok(if a.eq_ignore_ascii_case("ORDEREDSUBJECT") {
        ThreadAlgorithm::OrderedSubject
    } else if a.eq_ignore_ascii_case("REFERENCES") {
        ThreadAlgorithm::References
    } else {
        ThreadAlgorithm::Other(a.to_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::sequence::parse_sequence_set;
    use SearchKey::*;

    const LIMITS: SearchLimits = SearchLimits {
        max_ranges: 10,
        max_depth: 4,
    };

    fn set(s: &str) -> crate::wire::sequence::SequenceSet {
        parse_sequence_set(s.as_bytes(), 10).unwrap()
    }

    fn parse(input: &str) -> PResult<SearchProgram> {
        let mut c = Cursor::new(input.as_bytes());
        let p = search_program(&mut c, LIMITS)?;
        c.end()?;
        Ok(p)
    }

    #[test]
    fn search_table() {
        let d = |y, m, d| Date::new(y, m, d).unwrap();
        let cases: Vec<(&str, Result<Vec<SearchKey>, ParseErrorKind>)> = vec![
            ("ALL", Ok(vec![All])),
            ("unseen deleted", Ok(vec![Unseen, Deleted])),
            (
                "FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
                Ok(vec![
                    Flagged,
                    Since(d(1994, 2, 1)),
                    Not(Box::new(From(b"Smith".to_vec()))),
                ]),
            ),
            (
                "OR SEEN (UNSEEN DRAFT)",
                Ok(vec![Or(Box::new(Seen), Box::new(And(vec![Unseen, Draft])))]),
            ),
            (
                "1:5,7 UID 3:*",
                Ok(vec![SearchKey::SequenceSet(set("1:5,7")), Uid(set("3:*"))]),
            ),
            ("$", Ok(vec![SearchKey::SequenceSet(set("$"))])),
            ("UID $", Ok(vec![Uid(set("$"))])),
            (
                "HEADER X-Spam yes",
                Ok(vec![Header("X-Spam".into(), b"yes".to_vec())]),
            ),
            (
                "HEADER \"\" yes",
                Err(ParseErrorKind::Syntax {
                    expected: "header field name",
                    at: 7,
                }),
            ),
            ("BODY {3}\r\nabc", Ok(vec![Body(b"abc".to_vec())])),
            (
                "KEYWORD $Junk UNKEYWORD Work",
                Ok(vec![Keyword("$Junk".into()), Unkeyword("Work".into())]),
            ),
            (
                "LARGER 100 SMALLER 2000",
                Ok(vec![Larger(100), Smaller(2000)]),
            ),
            ("YOUNGER 3600 OLDER 60", Ok(vec![Younger(3600), Older(60)])),
            (
                "SAVEDSINCE 1-Feb-1994 savedon 2-Feb-1994 SAVEDBEFORE \"3-Feb-1994\"",
                Ok(vec![
                    SavedSince(d(1994, 2, 1)),
                    SavedOn(d(1994, 2, 2)),
                    SavedBefore(d(1994, 2, 3)),
                ]),
            ),
            (
                "EMAILID E01 OR THREADID T_x-1 ALL",
                Ok(vec![
                    EmailId("E01".into()),
                    Or(Box::new(ThreadId("T_x-1".into())), Box::new(All)),
                ]),
            ),
            (
                "EMAILID E.1",
                Err(ParseErrorKind::Syntax {
                    expected: "objectid",
                    at: 8,
                }),
            ),
            (
                "NOT SAVEDATESUPPORTED",
                Ok(vec![Not(Box::new(SaveDateSupported))]),
            ),
            ("SENTON \"5-Mar-2020\"", Ok(vec![SentOn(d(2020, 3, 5))])),
            (
                "MODSEQ 620162338",
                Ok(vec![ModSeq {
                    entry: None,
                    modseq: 620162338,
                }]),
            ),
            (
                "MODSEQ \"/flags/\\\\draft\" all 620162338",
                Ok(vec![ModSeq {
                    entry: Some(("/flags/\\draft".into(), "all".into())),
                    modseq: 620162338,
                }]),
            ),
            (
                "NOT NOT NOT NOT SEEN",
                Err(ParseErrorKind::TooDeep { max: 4 }),
            ),
            ("((((SEEN))))", Err(ParseErrorKind::TooDeep { max: 4 })),
            (
                "(((SEEN)))",
                Ok(vec![And(vec![And(vec![And(vec![Seen])])])]),
            ),
            (
                "OR SEEN",
                Err(ParseErrorKind::Syntax {
                    expected: "SP",
                    at: 7,
                }),
            ),
            (
                "FOO",
                Err(ParseErrorKind::Syntax {
                    expected: "search key",
                    at: 0,
                }),
            ),
            (
                "0",
                Err(ParseErrorKind::Syntax {
                    expected: "non-zero number",
                    at: 0,
                }),
            ),
            (
                "SINCE 30-Feb-2020",
                Err(ParseErrorKind::Syntax {
                    expected: "valid date",
                    at: 13,
                }),
            ),
            (
                "",
                Err(ParseErrorKind::Syntax {
                    expected: "atom",
                    at: 0,
                }),
            ),
            (
                "SEEN ",
                Err(ParseErrorKind::Syntax {
                    expected: "atom",
                    at: 5,
                }),
            ),
            (
                "()",
                Err(ParseErrorKind::Syntax {
                    expected: "atom",
                    at: 1,
                }),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).map(|p| p.keys), want, "{input}");
        }
        assert_eq!(
            parse("CHARSET UTF-8 TEXT x").map(|p| p.charset),
            Ok(Some("UTF-8".into()))
        );
    }

    #[test]
    fn return_and_sort_table() {
        let mut c = Cursor::new(b" RETURN (COUNT UPDATE) ALL");
        assert_eq!(
            search_return(&mut c),
            Ok(Some(vec![SearchReturn::Count, SearchReturn::Update]))
        );
        let mut c = Cursor::new(b" RETURN (MIN COUNT SAVE) ALL");
        assert_eq!(
            search_return(&mut c),
            Ok(Some(vec![
                SearchReturn::Min,
                SearchReturn::Count,
                SearchReturn::Save
            ]))
        );
        assert_eq!(c.rest(), b" ALL");
        let mut c = Cursor::new(b" RETURN () ALL");
        assert_eq!(search_return(&mut c), Ok(Some(vec![])));
        let mut c = Cursor::new(b" ALL");
        assert_eq!(search_return(&mut c), Ok(None));
        // RFC 9394 §3.1: PARTIAL once, and not with ALL.
        let mut c = Cursor::new(b" RETURN (COUNT PARTIAL -1:-50) ALL");
        assert_eq!(
            search_return(&mut c),
            Ok(Some(vec![
                SearchReturn::Count,
                SearchReturn::Partial(PartialRange {
                    last: true,
                    from: 1,
                    to: 50
                })
            ]))
        );
        for bad in [
            &b" RETURN (PARTIAL 1:5 ALL) ALL"[..],
            b" RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL",
            b" RETURN (PARTIAL) ALL",
        ] {
            assert!(search_return(&mut Cursor::new(bad)).is_err());
        }
        let mut c = Cursor::new(b"(REVERSE DATE displayfrom)");
        assert_eq!(
            sort_criteria(&mut c),
            Ok(vec![
                SortCriterion {
                    reverse: true,
                    key: SortKey::Date
                },
                SortCriterion {
                    reverse: false,
                    key: SortKey::DisplayFrom
                },
            ])
        );
        assert!(sort_criteria(&mut Cursor::new(b"(REVERSE)")).is_err());
        assert!(sort_criteria(&mut Cursor::new(b"()")).is_err());
    }
}
