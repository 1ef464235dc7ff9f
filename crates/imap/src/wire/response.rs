//! Response encoding: strings in their safest form (RFC 9051 §4.3),
//! mailbox names, flag lists, sequence sets, and status responses with
//! their codes (RFC 9051 §7.1 and the extensions' codes).
//!
//! Everything writes into a caller's `Vec<u8>`; nothing here can emit a
//! bare CR or LF outside a literal, so a client cannot be made to see a
//! response it was not sent.

use std::fmt::Write as _;

use super::chars::{Tag, is_astring_char};
use super::sequence::SequenceSet;
use super::store::Flag;
use super::utf7;

/// True when `s` can go in a quoted string: no CR, LF or NUL, and ASCII
/// unless UTF-8 is allowed (RFC 9051 `QUOTED-CHAR`, RFC 6855 §3).
fn quotable(s: &[u8], utf8_ok: bool) -> bool {
    !s.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0))
        && (s.is_ascii() || utf8_ok && std::str::from_utf8(s).is_ok())
}

/// Writes `s` as a quoted string when it is safe, else as a literal
/// `{n}\r\n...`. (A NUL is sent in a literal; content that may hold NUL
/// belongs in a BINARY response, which the session writes itself.)
pub fn quoted_or_literal(out: &mut Vec<u8>, s: &[u8], utf8_ok: bool) {
    if quotable(s, utf8_ok) {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        let _ = write!(Lossless(out), "{{{}}}\r\n", s.len());
        out.extend_from_slice(s);
    }
}

/// `nstring`: `NIL` for `None`.
pub fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>, utf8_ok: bool) {
    match s {
        Some(s) => quoted_or_literal(out, s, utf8_ok),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// `astring`: a bare atom when every byte allows it (and it is not `NIL`,
/// which would read as nil where an nstring may stand), else a string.
pub fn astring(out: &mut Vec<u8>, s: &[u8], utf8_ok: bool) {
    if !s.is_empty() && s.iter().all(|&b| is_astring_char(b)) && !s.eq_ignore_ascii_case(b"NIL") {
        out.extend_from_slice(s);
    } else {
        quoted_or_literal(out, s, utf8_ok);
    }
}

/// A mailbox name as `mailbox`: modified UTF-7 (RFC 3501 §5.1.3) unless
/// the session enabled UTF8=ACCEPT (RFC 6855 §3).
pub fn encode_mailbox_name(out: &mut Vec<u8>, name: &str, utf8_accept: bool) {
    if utf8_accept {
        astring(out, name.as_bytes(), true);
    } else {
        astring(out, utf7::encode(name).as_bytes(), false);
    }
}

/// `flag-list`: `(\Seen $Junk)`.
pub fn flag_list(out: &mut Vec<u8>, flags: &[Flag]) {
    out.push(b'(');
    for (i, f) in flags.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(f.name().as_bytes());
    }
    out.push(b')');
}

/// A set of ids with runs compressed (`1:3,7`), for ESEARCH ALL, VANISHED,
/// COPYUID. `None` when `ids` holds no non-zero id.
pub fn id_set(ids: impl IntoIterator<Item = u32>) -> Option<String> {
    SequenceSet::from_ids(ids).map(|s| s.to_string())
}

/// Ids in the order given, as ESORT writes them (RFC 5267 §3.2): runs of
/// consecutive ascending ids become ranges, nothing is reordered
/// (`5,6,7,3,1` is `5:7,3,1`). `None` for no ids.
pub fn ordered_id_list(ids: &[u32]) -> Option<String> {
    let mut out = String::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        let mut end = start;
        while i + 1 < ids.len() && end.checked_add(1) == Some(ids[i + 1]) {
            i += 1;
            end = ids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    Some(out).filter(|s| !s.is_empty())
}

/// The status of a status response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    PreAuth,
    Bye,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::PreAuth => "PREAUTH",
            Status::Bye => "BYE",
        }
    }
}

/// A response code (RFC 9051 §7.1, RFC 4315 UIDPLUS, RFC 7162 CONDSTORE,
/// RFC 9208 QUOTA, RFC 7889, RFC 4978, RFC 6154).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Code {
    Alert,
    AlreadyExists,
    /// `APPENDUID uidvalidity uid-set`.
    AppendUid {
        uid_validity: u32,
        uids: SequenceSet,
    },
    AuthenticationFailed,
    AuthorizationFailed,
    BadCharset(Vec<String>),
    Cannot,
    Capability(Vec<String>),
    ClientBug,
    /// RFC 7162 §3.2.11: the previous mailbox is closed.
    Closed,
    CompressionActive,
    ContactAdmin,
    /// `COPYUID uidvalidity source-set dest-set`.
    CopyUid {
        uid_validity: u32,
        source: SequenceSet,
        dest: SequenceSet,
    },
    Corruption,
    Expired,
    ExpungeIssued,
    HasChildren,
    HighestModSeq(u64),
    InUse,
    Limit,
    /// RFC 7162 §3.1.3: messages that failed UNCHANGEDSINCE.
    Modified(SequenceSet),
    NoModSeq,
    NonExistent,
    NoPerm,
    OverQuota,
    Parse,
    /// The flags, and whether new keywords may be created (`\*`).
    PermanentFlags {
        flags: Vec<Flag>,
        new_keywords: bool,
    },
    PrivacyRequired,
    ReadOnly,
    ReadWrite,
    ServerBug,
    /// RFC 7889 / RFC 9051: a literal over the limit.
    TooBig,
    TryCreate,
    UidNext(u32),
    /// RFC 8474 §4.1: `MAILBOXID (objectid)`.
    MailboxId(String),
    UidNotSticky,
    /// RFC 9586 §3.2: a message number was used under UIDONLY.
    UidRequired,
    /// RFC 5464 §4.2.1, §4.3: `METADATA LONGENTRIES n`, `MAXSIZE n`,
    /// `TOOMANY` (the text after `METADATA `).
    Metadata(String),
    /// RFC 4469 §6: `BADURL url` (the URL without `]`, CR, LF).
    BadUrl(String),
    /// RFC 5267 §4.3: the search context with this tag is not updated.
    NoUpdate(String),
    UidValidity(u32),
    Unavailable,
    UnknownCte,
    UseAttr,
}

impl Code {
    fn encode(&self, out: &mut Vec<u8>) {
        use Code::*;
        let simple = match self {
            Alert => "ALERT",
            AlreadyExists => "ALREADYEXISTS",
            AuthenticationFailed => "AUTHENTICATIONFAILED",
            AuthorizationFailed => "AUTHORIZATIONFAILED",
            Cannot => "CANNOT",
            ClientBug => "CLIENTBUG",
            Closed => "CLOSED",
            CompressionActive => "COMPRESSIONACTIVE",
            ContactAdmin => "CONTACTADMIN",
            Corruption => "CORRUPTION",
            Expired => "EXPIRED",
            ExpungeIssued => "EXPUNGEISSUED",
            HasChildren => "HASCHILDREN",
            InUse => "INUSE",
            Limit => "LIMIT",
            NoModSeq => "NOMODSEQ",
            NonExistent => "NONEXISTENT",
            NoPerm => "NOPERM",
            OverQuota => "OVERQUOTA",
            Parse => "PARSE",
            PrivacyRequired => "PRIVACYREQUIRED",
            ReadOnly => "READ-ONLY",
            ReadWrite => "READ-WRITE",
            ServerBug => "SERVERBUG",
            TooBig => "TOOBIG",
            TryCreate => "TRYCREATE",
            UidNotSticky => "UIDNOTSTICKY",
            UidRequired => "UIDREQUIRED",
            Unavailable => "UNAVAILABLE",
            UnknownCte => "UNKNOWN-CTE",
            UseAttr => "USEATTR",
            _ => "",
        };
        if !simple.is_empty() {
            out.extend_from_slice(simple.as_bytes());
            return;
        }
        let mut w = Lossless(out);
        let _ = match self {
            AppendUid { uid_validity, uids } => write!(w, "APPENDUID {uid_validity} {uids}"),
            CopyUid {
                uid_validity,
                source,
                dest,
            } => {
                write!(w, "COPYUID {uid_validity} {source} {dest}")
            }
            HighestModSeq(m) => write!(w, "HIGHESTMODSEQ {m}"),
            Modified(set) => write!(w, "MODIFIED {set}"),
            UidNext(n) => write!(w, "UIDNEXT {n}"),
            MailboxId(id) => write!(w, "MAILBOXID ({id})"),
            BadUrl(url) => write!(w, "BADURL {url}"),
            Metadata(m) => write!(w, "METADATA {m}"),
            NoUpdate(t) => {
                out.extend_from_slice(b"NOUPDATE ");
                quoted_or_literal(out, t.as_bytes(), false);
                Ok(())
            }
            UidValidity(n) => write!(w, "UIDVALIDITY {n}"),
            Capability(caps) => write!(w, "CAPABILITY {}", atoms(caps)),
            BadCharset(cs) if cs.is_empty() => write!(w, "BADCHARSET"),
            BadCharset(cs) => write!(w, "BADCHARSET ({})", atoms(cs)),
            PermanentFlags {
                flags,
                new_keywords,
            } => {
                out.extend_from_slice(b"PERMANENTFLAGS ");
                let mut list = Vec::new();
                flag_list(&mut list, flags);
                if *new_keywords {
                    list.pop();
                    list.extend_from_slice(if flags.is_empty() { b"\\*)" } else { b" \\*)" });
                }
                out.extend_from_slice(&list);
                Ok(())
            }
            _ => Ok(()),
        };
    }
}

/// Joins words meant to be atoms, dropping any that are not.
fn atoms(words: &[String]) -> String {
    let ok = |w: &&String| !w.is_empty() && w.bytes().all(is_astring_char);
    words
        .iter()
        .filter(ok)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `* OK [UIDVALIDITY 3] ...`, `a1 NO [TRYCREATE] ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusResponse {
    /// `None`: untagged (`*`).
    pub tag: Option<Tag>,
    pub status: Status,
    pub code: Option<Code>,
    /// Human-readable text; CR and LF are replaced when encoded.
    pub text: String,
}

impl StatusResponse {
    pub fn new(tag: Option<Tag>, status: Status, text: impl Into<String>) -> Self {
        StatusResponse {
            tag,
            status,
            code: None,
            text: text.into(),
        }
    }

    pub fn with_code(mut self, code: Code) -> Self {
        self.code = Some(code);
        self
    }

    /// Appends the response line, CRLF included.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match &self.tag {
            Some(t) => out.extend_from_slice(t.as_str().as_bytes()),
            None => out.push(b'*'),
        }
        out.push(b' ');
        out.extend_from_slice(self.status.as_str().as_bytes());
        out.push(b' ');
        if let Some(code) = &self.code {
            out.push(b'[');
            code.encode(out);
            out.extend_from_slice(b"] ");
        }
        text(out, &self.text);
        out.extend_from_slice(b"\r\n");
    }
}

/// `text`: one line, never empty (RFC 3501 requires a character).
fn text(out: &mut Vec<u8>, s: &str) {
    if s.is_empty() {
        out.push(b'.');
    }
    out.extend(s.bytes().map(|b| {
        if b == b'\r' || b == b'\n' || b == 0 {
            b' '
        } else {
            b
        }
    }));
}

/// A continuation request: `+ text\r\n` (for literals and SASL, where the
/// text is base64).
pub fn continuation(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(b"+ ");
    text(out, s);
    out.extend_from_slice(b"\r\n");
}

/// `fmt::Write` into a byte vector (formatting cannot fail here).
struct Lossless<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Lossless<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::cursor::Cursor;
    use crate::wire::mailbox::MailboxName;
    use crate::wire::sequence::parse_sequence_set;

    fn enc(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn strings_table() {
        let cases: &[(&[u8], bool, &str)] = &[
            (b"abc", false, "\"abc\""),
            (b"", false, "\"\""),
            (b"a\"b\\c", false, "\"a\\\"b\\\\c\""),
            (b"a\r\nb", false, "{4}\r\na\r\nb"),
            ("café".as_bytes(), false, "{5}\r\ncafé"),
            ("café".as_bytes(), true, "\"café\""),
            (b"\xff", true, "{1}\r\n\u{fffd}"),
        ];
        for (s, utf8, want) in cases {
            assert_eq!(enc(|o| quoted_or_literal(o, s, *utf8)), *want, "{s:?}");
            // What we write, we read back.
            let mut out = Vec::new();
            quoted_or_literal(&mut out, s, *utf8);
            assert_eq!(Cursor::new(&out).string().as_deref(), Ok(*s));
        }
        assert_eq!(enc(|o| nstring(o, None, false)), "NIL");
        assert_eq!(enc(|o| astring(o, b"INBOX", false)), "INBOX");
        assert_eq!(enc(|o| astring(o, b"nil", false)), "\"nil\"");
        assert_eq!(enc(|o| astring(o, b"a b", false)), "\"a b\"");
        assert_eq!(enc(|o| astring(o, b"", false)), "\"\"");
    }

    #[test]
    fn mailbox_names_round_trip() {
        let cases = [
            ("INBOX", false, "INBOX"),
            ("Entwürfe", false, "Entw&APw-rfe"),
            ("Entwürfe", true, "\"Entwürfe\""),
            ("a&b", false, "a&-b"),
            ("a&b", true, "a&b"),
            ("Sent Items", false, "\"Sent Items\""),
            ("台北", false, "&U,BTFw-"),
        ];
        for (name, utf8, want) in cases {
            let wire = enc(|o| encode_mailbox_name(o, name, utf8));
            assert_eq!(wire, want);
            let bytes = Cursor::new(wire.as_bytes()).astring().unwrap();
            assert_eq!(MailboxName::from_wire(&bytes, utf8).unwrap().as_str(), name);
        }
    }

    #[test]
    fn status_responses_table() {
        let tag = Tag::new(b"a1");
        let set = |s: &str| parse_sequence_set(s.as_bytes(), 100).unwrap();
        let cases: Vec<(StatusResponse, &str)> = vec![
            (
                StatusResponse::new(None, Status::Ok, "UIDs valid").with_code(Code::UidValidity(3)),
                "* OK [UIDVALIDITY 3] UIDs valid\r\n",
            ),
            (
                StatusResponse::new(tag.clone(), Status::No, "no such mailbox")
                    .with_code(Code::TryCreate),
                "a1 NO [TRYCREATE] no such mailbox\r\n",
            ),
            (
                StatusResponse::new(tag.clone(), Status::Ok, "APPEND completed").with_code(
                    Code::AppendUid {
                        uid_validity: 38505,
                        uids: set("3955"),
                    },
                ),
                "a1 OK [APPENDUID 38505 3955] APPEND completed\r\n",
            ),
            (
                StatusResponse::new(tag.clone(), Status::Ok, "done").with_code(Code::CopyUid {
                    uid_validity: 38505,
                    source: set("304,319:320"),
                    dest: set("3956:3958"),
                }),
                "a1 OK [COPYUID 38505 304,319:320 3956:3958] done\r\n",
            ),
            (
                StatusResponse::new(tag.clone(), Status::Ok, "Conditional STORE failed")
                    .with_code(Code::Modified(set("7,9"))),
                "a1 OK [MODIFIED 7,9] Conditional STORE failed\r\n",
            ),
            (
                StatusResponse::new(None, Status::Ok, "Highest")
                    .with_code(Code::HighestModSeq(715194045007)),
                "* OK [HIGHESTMODSEQ 715194045007] Highest\r\n",
            ),
            (
                StatusResponse::new(None, Status::Ok, "").with_code(Code::Closed),
                "* OK [CLOSED] .\r\n",
            ),
            (
                StatusResponse::new(None, Status::Ok, "line\r\nbreak").with_code(Code::Alert),
                "* OK [ALERT] line  break\r\n",
            ),
            (
                StatusResponse::new(None, Status::Ok, "ready").with_code(Code::Capability(vec![
                    "IMAP4rev2".into(),
                    "bad cap".into(),
                    "IDLE".into(),
                ])),
                "* OK [CAPABILITY IMAP4rev2 IDLE] ready\r\n",
            ),
            (
                StatusResponse::new(tag.clone(), Status::No, "quota").with_code(Code::OverQuota),
                "a1 NO [OVERQUOTA] quota\r\n",
            ),
            (
                StatusResponse::new(tag.clone(), Status::No, "x").with_code(Code::Limit),
                "a1 NO [LIMIT] x\r\n",
            ),
            (
                StatusResponse::new(tag.clone(), Status::No, "x").with_code(Code::TooBig),
                "a1 NO [TOOBIG] x\r\n",
            ),
            (
                StatusResponse::new(None, Status::Ok, "Limited").with_code(Code::PermanentFlags {
                    flags: vec![Flag::Deleted, Flag::Seen],
                    new_keywords: true,
                }),
                "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
            ),
            (
                StatusResponse::new(None, Status::Ok, "x").with_code(Code::PermanentFlags {
                    flags: vec![],
                    new_keywords: true,
                }),
                "* OK [PERMANENTFLAGS (\\*)] x\r\n",
            ),
            (
                StatusResponse::new(None, Status::Bye, "bye"),
                "* BYE bye\r\n",
            ),
            (
                StatusResponse::new(tag, Status::Bad, "x")
                    .with_code(Code::BadCharset(vec!["UTF-8".into()])),
                "a1 BAD [BADCHARSET (UTF-8)] x\r\n",
            ),
        ];
        for (resp, want) in cases {
            assert_eq!(enc(|o| resp.encode(o)), want);
        }
        assert_eq!(enc(|o| continuation(o, "Ready")), "+ Ready\r\n");
        assert_eq!(enc(|o| continuation(o, "")), "+ .\r\n");
    }

    #[test]
    fn flag_lists_and_sets() {
        assert_eq!(enc(|o| flag_list(o, &[])), "()");
        assert_eq!(
            enc(|o| flag_list(o, &[Flag::Seen, Flag::Keyword("$Junk".into())])),
            "(\\Seen $Junk)"
        );
        assert_eq!(id_set([5, 1, 2, 3, 9]).as_deref(), Some("1:3,5,9"));
        assert_eq!(id_set([]), None);
    }

    #[test]
    fn ordered_id_lists_keep_the_order() {
        assert_eq!(
            ordered_id_list(&[5, 6, 7, 3, 1]).as_deref(),
            Some("5:7,3,1")
        );
        assert_eq!(ordered_id_list(&[2, 1]).as_deref(), Some("2,1"));
        assert_eq!(
            ordered_id_list(&[u32::MAX, 1]).as_deref(),
            Some("4294967295,1")
        );
        assert_eq!(ordered_id_list(&[]), None);
    }
}
