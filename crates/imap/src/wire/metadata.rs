//! GETMETADATA and SETMETADATA (RFC 5464 §4): entry names, values, the
//! MAXSIZE and DEPTH options. The mailbox `""` means the server
//! (METADATA-SERVER).

use super::cursor::Cursor;
use super::error::{PResult, ParseErrorKind};

/// Most entries named in one command.
const MAX_ENTRIES: usize = 100;

/// GETMETADATA's DEPTH (RFC 5464 §4.2.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MetaDepth {
    /// The entries themselves.
    #[default]
    Zero,
    /// And their children.
    One,
    /// And everything below them.
    Infinity,
}

/// GETMETADATA's options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetaOptions {
    pub max_size: Option<u32>,
    pub depth: MetaDepth,
}

/// RFC 5464 §3.2: `/private/...` or `/shared/...`, printable ASCII, no
/// `*` or `%`, no `//`, no trailing `/`. Lowercased (names are
/// case-insensitive).
pub(crate) fn entry(c: &mut Cursor<'_>) -> PResult<String> {
    let at = c.pos();
    let raw = c.astring()?;
    let bad = ParseErrorKind::Syntax {
        expected: "entry name",
        at,
    };
    let name = String::from_utf8(raw).map_err(|_| bad.clone())?;
    let lower = name.to_ascii_lowercase();
    let ok = (lower.starts_with("/private/") || lower.starts_with("/shared/"))
        && lower
            .bytes()
            .all(|b| (0x21..0x7f).contains(&b) && b != b'*' && b != b'%')
        && !lower.contains("//")
        && !lower.ends_with('/');
    if ok { Ok(lower) } else { Err(bad) }
}

/// `entries = entry / "(" entry *(SP entry) ")"`.
pub(crate) fn entries(c: &mut Cursor<'_>) -> PResult<Vec<String>> {
    if c.peek() == Some(b'(') {
        c.paren_list(MAX_ENTRIES, entry)
    } else {
        Ok(vec![entry(c)?])
    }
}

/// `"(" entry SP value *(SP entry SP value) ")"`, value an nstring or a
/// literal8; NIL removes the entry.
pub(crate) fn entry_values(c: &mut Cursor<'_>) -> PResult<Vec<(String, Option<Vec<u8>>)>> {
    c.paren_list(MAX_ENTRIES, |c| {
        let name = entry(c)?;
        c.sp()?;
        let value = if c.peek() == Some(b'~') {
            Some(c.literal()?.bytes.to_vec())
        } else {
            c.nstring()?
        };
        Ok((name, value))
    })
}

/// `"(" option *(SP option) ")" SP` before the mailbox, if there.
pub(crate) fn options(c: &mut Cursor<'_>) -> PResult<MetaOptions> {
    let mut o = MetaOptions::default();
    if c.peek() != Some(b'(') {
        return Ok(o);
    }
    c.paren_list(4, |c| {
        if c.keyword("MAXSIZE") {
            c.sp()?;
            o.max_size = Some(c.number()?);
            Ok(())
        } else if c.keyword("DEPTH") {
            c.sp()?;
            o.depth = if c.keyword("0") {
                MetaDepth::Zero
            } else if c.keyword("1") {
                MetaDepth::One
            } else if c.keyword("INFINITY") {
                MetaDepth::Infinity
            } else {
                return Err(c.fail("0, 1 or infinity"));
            };
            Ok(())
        } else {
            Err(c.fail("MAXSIZE or DEPTH"))
        }
    })?;
    c.sp()?;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_values_and_options_parse() {
        let mut c = Cursor::new(b"(/private/Comment \"hi\" /shared/x NIL /private/y ~{1}\r\n\0)");
        assert_eq!(
            entry_values(&mut c),
            Ok(vec![
                ("/private/comment".into(), Some(b"hi".to_vec())),
                ("/shared/x".into(), None),
                ("/private/y".into(), Some(vec![0])),
            ])
        );
        for bad in [
            "/comment",
            "/private/a//b",
            "/private/a/",
            "/private/*",
            "/other/x",
        ] {
            assert!(entry(&mut Cursor::new(bad.as_bytes())).is_err(), "{bad}");
        }
        let mut c = Cursor::new(b"(MAXSIZE 1024 DEPTH infinity) INBOX");
        assert_eq!(
            options(&mut c),
            Ok(MetaOptions {
                max_size: Some(1024),
                depth: MetaDepth::Infinity
            })
        );
        assert_eq!(c.rest(), b"INBOX");
        assert!(options(&mut Cursor::new(b"(DEPTH 2) x")).is_err());
        assert_eq!(
            entries(&mut Cursor::new(b"(/shared/a /private/b)")),
            Ok(vec!["/shared/a".to_string(), "/private/b".to_string()])
        );
    }
}
