//! LIST (RFC 9051 §6.3.9, LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819,
//! SPECIAL-USE RFC 6154), LSUB, STATUS items, and CREATE's USE list.

use super::chars::is_list_char;
use super::cursor::Cursor;
use super::error::{PResult, ParseErrorKind};
use super::mailbox::decode_name;

/// A STATUS item (RFC 9051 §6.3.11, RFC 7162 HIGHESTMODSEQ, RFC 7889
/// APPENDLIMIT, RFC 3501 RECENT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusAttr {
    Messages,
    UidNext,
    UidValidity,
    Unseen,
    Deleted,
    /// RFC 9208 §5.1: the storage `\Deleted` messages use, in KiB.
    DeletedStorage,
    Size,
    HighestModSeq,
    Recent,
    AppendLimit,
    /// RFC 8474 §4.3.
    MailboxId,
}

impl StatusAttr {
    pub fn name(self) -> &'static str {
        match self {
            StatusAttr::Messages => "MESSAGES",
            StatusAttr::UidNext => "UIDNEXT",
            StatusAttr::UidValidity => "UIDVALIDITY",
            StatusAttr::Unseen => "UNSEEN",
            StatusAttr::Deleted => "DELETED",
            StatusAttr::DeletedStorage => "DELETED-STORAGE",
            StatusAttr::Size => "SIZE",
            StatusAttr::HighestModSeq => "HIGHESTMODSEQ",
            StatusAttr::Recent => "RECENT",
            StatusAttr::AppendLimit => "APPENDLIMIT",
            StatusAttr::MailboxId => "MAILBOXID",
        }
    }
}

/// Longer names first where one is a prefix of another.
const STATUS_ATTRS: [StatusAttr; 11] = [
    StatusAttr::Messages,
    StatusAttr::UidNext,
    StatusAttr::UidValidity,
    StatusAttr::Unseen,
    StatusAttr::DeletedStorage,
    StatusAttr::Deleted,
    StatusAttr::Size,
    StatusAttr::HighestModSeq,
    StatusAttr::Recent,
    StatusAttr::AppendLimit,
    StatusAttr::MailboxId,
];

/// `"(" status-att *(SP status-att) ")"`.
pub(crate) fn status_atts(c: &mut Cursor<'_>) -> PResult<Vec<StatusAttr>> {
    c.paren_list(16, |c| {
        for a in STATUS_ATTRS {
            if c.keyword(a.name()) {
                return Ok(a);
            }
        }
        Err(c.fail("status item"))
    })
}

/// A special-use attribute (RFC 6154 §2, RFC 8457 `\Important`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SpecialUse {
    All,
    Archive,
    Drafts,
    Flagged,
    Junk,
    Sent,
    Trash,
    Important,
    /// Another `\Name`: CREATE answers `NO [USEATTR]` (RFC 6154 §3).
    Other(String),
}

impl SpecialUse {
    pub fn name(&self) -> std::borrow::Cow<'static, str> {
        match self {
            SpecialUse::All => "\\All".into(),
            SpecialUse::Archive => "\\Archive".into(),
            SpecialUse::Drafts => "\\Drafts".into(),
            SpecialUse::Flagged => "\\Flagged".into(),
            SpecialUse::Junk => "\\Junk".into(),
            SpecialUse::Sent => "\\Sent".into(),
            SpecialUse::Trash => "\\Trash".into(),
            SpecialUse::Important => "\\Important".into(),
            SpecialUse::Other(o) => format!("\\{o}").into(),
        }
    }
}

/// `"(" use-attr *(SP use-attr) ")"` (RFC 6154 §6 `create-param`).
pub(crate) fn use_attrs(c: &mut Cursor<'_>) -> PResult<Vec<SpecialUse>> {
    c.paren_list(16, |c| {
        c.expect(b'\\', "\\")?;
        let a = c.atom()?;
        let known = [
            ("All", SpecialUse::All),
            ("Archive", SpecialUse::Archive),
            ("Drafts", SpecialUse::Drafts),
            ("Flagged", SpecialUse::Flagged),
            ("Junk", SpecialUse::Junk),
            ("Sent", SpecialUse::Sent),
            ("Trash", SpecialUse::Trash),
            ("Important", SpecialUse::Important),
        ];
        Ok(known
            .into_iter()
            .find(|(n, _)| a.eq_ignore_ascii_case(n))
            .map_or_else(|| SpecialUse::Other(a.to_owned()), |(_, u)| u))
    })
}

/// LIST selection options (RFC 5258 §3.1, RFC 6154 §5.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListSelect {
    pub subscribed: bool,
    pub remote: bool,
    pub recursive_match: bool,
    pub special_use: bool,
}

/// LIST return options (RFC 5258 §3.2, RFC 5819, RFC 6154 §5.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListReturn {
    pub subscribed: bool,
    pub children: bool,
    pub special_use: bool,
    /// `STATUS (...)`: answer a STATUS line per listed mailbox.
    pub status: Option<Vec<StatusAttr>>,
}

/// A parsed LIST command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListCommand {
    pub select: ListSelect,
    /// Decoded reference name; may be empty.
    pub reference: String,
    /// Decoded patterns, wildcards `*` and `%` kept; at least one.
    pub patterns: Vec<String>,
    pub ret: ListReturn,
    /// True when the extended syntax was used (selection options, several
    /// patterns or RETURN): the reply follows RFC 5258 rules.
    pub extended: bool,
}

fn decoded(bytes: &[u8], utf8: bool) -> PResult<String> {
    decode_name(bytes, utf8).map_err(ParseErrorKind::BadMailboxName)
}

/// `list-mailbox = 1*list-char / string`.
pub(crate) fn list_mailbox(c: &mut Cursor<'_>, utf8: bool) -> PResult<String> {
    let bytes = match c.peek() {
        Some(b'"' | b'{') => c.string()?,
        _ => {
            let b = c.take_while(is_list_char);
            if b.is_empty() {
                return Err(c.fail("mailbox pattern"));
            }
            b.to_vec()
        }
    };
    decoded(&bytes, utf8)
}

/// After `LIST SP`.
pub(crate) fn list(c: &mut Cursor<'_>, utf8: bool) -> PResult<ListCommand> {
    let mut cmd = ListCommand::default();
    if c.peek() == Some(b'(') {
        cmd.extended = true;
        let s = &mut cmd.select;
        c.paren_list0(8, |c| {
            if c.keyword("SUBSCRIBED") {
                s.subscribed = true;
            } else if c.keyword("REMOTE") {
                s.remote = true;
            } else if c.keyword("RECURSIVEMATCH") {
                s.recursive_match = true;
            } else if c.keyword("SPECIAL-USE") {
                s.special_use = true;
            } else {
                // RFC 5258 §3: unknown selection options are a BAD.
                return Err(c.fail("list selection option"));
            }
            Ok(())
        })?;
        // RFC 5258 §3.1: RECURSIVEMATCH alone is an error.
        if s.recursive_match && !s.subscribed && !s.special_use {
            return Err(c.fail("RECURSIVEMATCH with another selection option"));
        }
        c.sp()?;
    }
    let reference = c.astring()?;
    cmd.reference = decoded(&reference, utf8)?;
    c.sp()?;
    if c.peek() == Some(b'(') {
        cmd.extended = true;
        cmd.patterns = c.paren_list(64, |c| list_mailbox(c, utf8))?;
    } else {
        cmd.patterns = vec![list_mailbox(c, utf8)?];
    }
    if c.peek() == Some(b' ') {
        c.sp()?;
        if !c.keyword("RETURN") {
            return Err(c.fail("RETURN"));
        }
        c.sp()?;
        cmd.extended = true;
        let r = &mut cmd.ret;
        c.paren_list0(8, |c| {
            if c.keyword("SUBSCRIBED") {
                r.subscribed = true;
            } else if c.keyword("CHILDREN") {
                r.children = true;
            } else if c.keyword("SPECIAL-USE") {
                r.special_use = true;
            } else if c.keyword("STATUS") {
                c.sp()?;
                r.status = Some(status_atts(c)?);
            } else {
                return Err(c.fail("list return option"));
            }
            Ok(())
        })?;
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str, utf8: bool) -> PResult<ListCommand> {
        let mut c = Cursor::new(input.as_bytes());
        let l = list(&mut c, utf8)?;
        c.end()?;
        Ok(l)
    }

    #[test]
    fn list_table() {
        let basic = |r: &str, p: &str| ListCommand {
            reference: r.into(),
            patterns: vec![p.into()],
            ..Default::default()
        };
        let cases: Vec<(&str, Option<ListCommand>)> = vec![
            ("\"\" *", Some(basic("", "*"))),
            ("\"\" \"\"", Some(basic("", ""))),
            ("~/Mail/ %", Some(basic("~/Mail/", "%"))),
            ("\"\" Entw&APw-*", Some(basic("", "Entwü*"))),
            ("\"\" {3}\r\nIN%", Some(basic("", "IN%"))),
            (
                "(SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX Work/*) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))",
                Some(ListCommand {
                    select: ListSelect {
                        subscribed: true,
                        recursive_match: true,
                        ..Default::default()
                    },
                    reference: String::new(),
                    patterns: vec!["INBOX".into(), "Work/*".into()],
                    ret: ListReturn {
                        children: true,
                        status: Some(vec![StatusAttr::Messages, StatusAttr::Unseen]),
                        ..Default::default()
                    },
                    extended: true,
                }),
            ),
            (
                "() \"\" % RETURN (SPECIAL-USE)",
                Some(ListCommand {
                    patterns: vec!["%".into()],
                    ret: ListReturn {
                        special_use: true,
                        ..Default::default()
                    },
                    extended: true,
                    ..Default::default()
                }),
            ),
            ("(RECURSIVEMATCH) \"\" %", None),
            ("(FOO) \"\" %", None),
            ("\"\" % RETURN (FOO)", None),
            ("\"\" % EXTRA", None),
            ("\"\" &Jjo", None),
            ("\"\"", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input, false).ok(), want, "{input}");
        }
        assert_eq!(
            parse("\"\" Entw&APw-*", true).map(|l| l.patterns),
            Ok(vec!["Entw&APw-*".to_owned()])
        );
    }

    #[test]
    fn use_and_status_table() {
        let mut c = Cursor::new(b"(\\Sent \\trash \\Foo)");
        assert_eq!(
            use_attrs(&mut c),
            Ok(vec![
                SpecialUse::Sent,
                SpecialUse::Trash,
                SpecialUse::Other("Foo".into())
            ])
        );
        let mut c = Cursor::new(
            b"(MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED-STORAGE DELETED SIZE HIGHESTMODSEQ RECENT APPENDLIMIT MAILBOXID)",
        );
        assert_eq!(status_atts(&mut c), Ok(STATUS_ATTRS.to_vec()));
        assert!(status_atts(&mut Cursor::new(b"()")).is_err());
        assert!(status_atts(&mut Cursor::new(b"(FOO)")).is_err());
    }
}
