//! Flags (RFC 9051 §2.3.2, `flag`, `flag-list`) and the STORE command's
//! `store-att-flags`.

use std::fmt;

use super::chars::is_atom_char;
use super::cursor::Cursor;
use super::error::PResult;

/// A message flag: one of the system flags, a keyword, or an unknown
/// `\Name` (`flag-extension`) the session may refuse.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    Answered,
    Flagged,
    Deleted,
    Seen,
    Draft,
    /// A keyword (`$Forwarded`, `Junk`, ...): an atom, case kept.
    Keyword(String),
    /// `\Name` other than the five system flags, without the backslash.
    Extension(String),
}

impl Flag {
    /// A keyword, checked to be an atom.
    pub fn keyword(name: &str) -> Option<Flag> {
        (!name.is_empty() && name.bytes().all(is_atom_char)).then(|| Flag::Keyword(name.to_owned()))
    }

    /// The flag as a client sends and a server shows it.
    pub fn name(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Flag::Answered => "\\Answered".into(),
            Flag::Flagged => "\\Flagged".into(),
            Flag::Deleted => "\\Deleted".into(),
            Flag::Seen => "\\Seen".into(),
            Flag::Draft => "\\Draft".into(),
            Flag::Keyword(k) => k.as_str().into(),
            Flag::Extension(e) => format!("\\{e}").into(),
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// `flag`: system flags match case-insensitively (RFC 9051 §2.3.2).
pub(crate) fn flag(c: &mut Cursor<'_>) -> PResult<Flag> {
    if c.eat(b'\\') {
        let name = c.atom()?;
        let known = [
            ("Answered", Flag::Answered),
            ("Flagged", Flag::Flagged),
            ("Deleted", Flag::Deleted),
            ("Seen", Flag::Seen),
            ("Draft", Flag::Draft),
        ];
        for (n, f) in known {
            if name.eq_ignore_ascii_case(n) {
                return Ok(f);
            }
        }
        return Ok(Flag::Extension(name.to_owned()));
    }
    Ok(Flag::Keyword(c.atom()?.to_owned()))
}

/// `flag-list = "(" [flag *(SP flag)] ")"`.
pub(crate) fn flag_list(c: &mut Cursor<'_>) -> PResult<Vec<Flag>> {
    c.paren_list0(usize::MAX, flag)
}

/// How STORE changes the flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreAction {
    /// `FLAGS`
    Replace,
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
}

/// `store-att-flags`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreFlags {
    pub action: StoreAction,
    /// `.SILENT`: no untagged FETCH for the change.
    pub silent: bool,
    pub flags: Vec<Flag>,
}

/// `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list /
/// (flag *(SP flag)))`.
pub(crate) fn store_att_flags(c: &mut Cursor<'_>) -> PResult<StoreFlags> {
    let action = if c.eat(b'+') {
        StoreAction::Add
    } else if c.eat(b'-') {
        StoreAction::Remove
    } else {
        StoreAction::Replace
    };
    let silent = if c.keyword("FLAGS") {
        false
    } else if c.keyword("FLAGS.SILENT") {
        true
    } else {
        return Err(c.fail("FLAGS or FLAGS.SILENT"));
    };
    c.sp()?;
    let flags = if c.peek() == Some(b'(') {
        flag_list(c)?
    } else {
        let mut flags = vec![flag(c)?];
        while c.peek() == Some(b' ') && !c.at_end() {
            c.sp()?;
            flags.push(flag(c)?);
        }
        flags
    };
    Ok(StoreFlags {
        action,
        silent,
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_att_flags_table() {
        use Flag::*;
        use StoreAction::*;
        let kw = |s: &str| Keyword(s.to_owned());
        let cases: Vec<(&str, Option<StoreFlags>)> = vec![
            (
                "FLAGS (\\Seen)",
                Some(StoreFlags {
                    action: Replace,
                    silent: false,
                    flags: vec![Seen],
                }),
            ),
            (
                "+flags.silent (\\deleted $Junk)",
                Some(StoreFlags {
                    action: Add,
                    silent: true,
                    flags: vec![Deleted, kw("$Junk")],
                }),
            ),
            (
                "-FLAGS \\Draft \\Flagged",
                Some(StoreFlags {
                    action: Remove,
                    silent: false,
                    flags: vec![Draft, Flagged],
                }),
            ),
            (
                "FLAGS ()",
                Some(StoreFlags {
                    action: Replace,
                    silent: false,
                    flags: vec![],
                }),
            ),
            (
                "FLAGS (\\Recent)",
                Some(StoreFlags {
                    action: Replace,
                    silent: false,
                    flags: vec![Extension("Recent".into())],
                }),
            ),
            ("FLAGS", None),
            ("FLAGSX (\\Seen)", None),
            ("*FLAGS (\\Seen)", None),
            ("FLAGS (\\Seen", None),
            ("FLAGS (\\*)", None),
            ("FLAGS (a]b)", None),
        ];
        for (input, want) in cases {
            let mut c = Cursor::new(input.as_bytes());
            let got = store_att_flags(&mut c).ok().filter(|_| c.at_end());
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn flag_names_round_trip() {
        for f in [
            Flag::Seen,
            Flag::Answered,
            Flag::Keyword("$Forwarded".into()),
            Flag::Extension("X".into()),
        ] {
            let name = f.to_string();
            assert_eq!(flag(&mut Cursor::new(name.as_bytes())), Ok(f));
        }
        assert_eq!(Flag::keyword("a b"), None);
    }
}
