//! Character classes of RFC 9051 §9 and the validated [`Tag`].

use std::fmt;

/// RFC 9051 §9: `atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards
/// / quoted-specials / resp-specials`.
pub(crate) fn is_atom_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b)
        && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// `ASTRING-CHAR = ATOM-CHAR / resp-specials`.
pub(crate) fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// `tag = 1*<any ASTRING-CHAR except "+">`.
pub(crate) fn is_tag_char(b: u8) -> bool {
    is_astring_char(b) && b != b'+'
}

/// `list-char = ATOM-CHAR / list-wildcards / resp-specials`.
pub(crate) fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

/// A command tag, checked against RFC 9051's `tag` rule when built, so it
/// can be echoed in a response as it is.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    /// Longest tag accepted: clients use short counters; a bound keeps error
    /// responses small.
    pub const MAX_LEN: usize = 64;

    /// Validates `bytes` as a tag.
    pub fn new(bytes: &[u8]) -> Option<Tag> {
        if bytes.is_empty() || bytes.len() > Self::MAX_LEN || !bytes.iter().all(|&b| is_tag_char(b))
        {
            return None;
        }
        // All ASCII, so this cannot fail.
        std::str::from_utf8(bytes).ok().map(|s| Tag(s.to_owned()))
    }

    /// The tag's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Reads the tag at the start of a command line, if the bytes up to the
    /// first space form one.
    pub fn at_start(line: &[u8]) -> Option<Tag> {
        let end = line.iter().position(|&b| b == b' ')?;
        Tag::new(line.get(..end)?)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({})", self.0)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_table() {
        let cases: &[(&[u8], bool)] = &[
            (b"a1", true),
            (b"A001", true),
            (b"x]y", true),
            (b"", false),
            (b"a+1", false),
            (b"a b", false),
            (b"a*", false),
            (b"a%", false),
            (b"a(", false),
            (b"a{", false),
            (b"a\"", false),
            (b"a\\", false),
            (b"\x01", false),
            (b"\xc3\xa9", false),
        ];
        for (input, ok) in cases {
            assert_eq!(Tag::new(input).is_some(), *ok, "{input:?}");
        }
        assert!(Tag::new(&[b'a'; 65]).is_none());
        assert_eq!(Tag::at_start(b"a1 NOOP"), Tag::new(b"a1"));
        assert_eq!(Tag::at_start(b"a1"), None);
    }
}
