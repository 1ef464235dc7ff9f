//! The byte cursor every parser walks: RFC 9051 §9 lexical rules (atoms,
//! quoted strings, literals, numbers) as total functions over a slice.

use std::num::NonZeroU32;

use super::chars::{is_astring_char, is_atom_char};
use super::error::{PResult, ParseErrorKind};

/// A position in one framed command (literals inline, as the framer gives
/// them). Every method either advances past what it read or fails; none
/// panics whatever the bytes.
#[derive(Clone, Debug)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A literal's bytes and whether it was a binary literal (`~{n}`, RFC 3516).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Literal<'a> {
    pub bytes: &'a [u8],
    pub binary: bool,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.buf.get(self.pos.checked_add(ahead)?).copied()
    }

    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    pub fn fail(&self, expected: &'static str) -> ParseErrorKind {
        ParseErrorKind::Syntax {
            expected,
            at: self.pos,
        }
    }

    fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.buf.len());
    }

    pub fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.advance(1);
            true
        } else {
            false
        }
    }

    pub fn expect(&mut self, b: u8, what: &'static str) -> PResult<()> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.fail(what))
        }
    }

    pub fn sp(&mut self) -> PResult<()> {
        self.expect(b' ', "SP")
    }

    /// True when only the line ending (CRLF, or a lenient bare LF) or
    /// nothing is left.
    pub fn at_end(&self) -> bool {
        matches!(self.rest(), b"" | b"\r\n" | b"\n")
    }

    /// Requires the end of the command.
    pub fn end(&self) -> PResult<()> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.fail("end of command"))
        }
    }

    /// Consumes `word` (ASCII, matched case-insensitively) when it is next
    /// and is not followed by another atom character.
    pub fn keyword(&mut self, word: &str) -> bool {
        let rest = self.rest();
        let Some(head) = rest.get(..word.len()) else {
            return false;
        };
        if !head.eq_ignore_ascii_case(word.as_bytes()) {
            return false;
        }
        if rest.get(word.len()).is_some_and(|&b| is_atom_char(b)) {
            return false;
        }
        self.advance(word.len());
        true
    }

    /// Consumes `word` case-insensitively with no boundary check (for
    /// `BODY.PEEK[`, `HEADER.FIELDS`, ...).
    pub fn prefix(&mut self, word: &str) -> bool {
        match self.rest().get(..word.len()) {
            Some(head) if head.eq_ignore_ascii_case(word.as_bytes()) => {
                self.advance(word.len());
                true
            }
            _ => false,
        }
    }

    pub fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let rest = self.rest();
        let n = rest.iter().position(|&b| !pred(b)).unwrap_or(rest.len());
        self.advance(n);
        rest.get(..n).unwrap_or_default()
    }

    /// `atom = 1*ATOM-CHAR`.
    pub fn atom(&mut self) -> PResult<&'a str> {
        let at = self.pos;
        let bytes = self.take_while(is_atom_char);
        if bytes.is_empty() {
            return Err(ParseErrorKind::Syntax {
                expected: "atom",
                at,
            });
        }
        std::str::from_utf8(bytes).map_err(|_| ParseErrorKind::Syntax {
            expected: "atom",
            at,
        })
    }

    /// `number64`: up to 2^63-1 (RFC 9051 §9).
    pub fn number64(&mut self) -> PResult<u64> {
        let at = self.pos;
        let digits = self.take_while(|b| b.is_ascii_digit());
        parse_digits(digits)
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or(ParseErrorKind::Syntax {
                expected: "number",
                at,
            })
    }

    /// `number`: 32-bit unsigned.
    pub fn number(&mut self) -> PResult<u32> {
        let at = self.pos;
        let n = self.number64()?;
        u32::try_from(n).map_err(|_| ParseErrorKind::Syntax {
            expected: "32-bit number",
            at,
        })
    }

    /// `nz-number`.
    pub fn nz_number(&mut self) -> PResult<NonZeroU32> {
        let at = self.pos;
        NonZeroU32::new(self.number()?).ok_or(ParseErrorKind::Syntax {
            expected: "non-zero number",
            at,
        })
    }

    /// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`; escapes removed. 8-bit bytes
    /// are kept (UTF-8 is legal in IMAP4rev2 quoted strings); CR, LF and NUL
    /// are not.
    pub fn quoted(&mut self) -> PResult<Vec<u8>> {
        self.expect(b'"', "quoted string")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.advance(1);
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.advance(1);
                    match self.peek() {
                        Some(b @ (b'"' | b'\\')) => {
                            out.push(b);
                            self.advance(1);
                        }
                        _ => return Err(self.fail("quoted-special after backslash")),
                    }
                }
                Some(b'\r' | b'\n' | 0) | None => return Err(self.fail("closing quote")),
                Some(b) => {
                    out.push(b);
                    self.advance(1);
                }
            }
        }
    }

    /// `literal` or `literal8`: `["~"] "{" number64 ["+"] "}" CRLF *OCTET`.
    /// The framer put the bytes inline; a bare LF after `}` is accepted as
    /// the framer accepts it. A non-binary literal may not hold NUL.
    pub fn literal(&mut self) -> PResult<Literal<'a>> {
        let start = self.pos;
        let binary = self.eat(b'~');
        self.expect(b'{', "literal")?;
        let n = self.number64()?;
        self.eat(b'+');
        self.expect(b'}', "}")?;
        self.eat(b'\r');
        self.expect(b'\n', "LF after literal size")?;
        let len = usize::try_from(n).map_err(|_| self.fail("literal bytes"))?;
        let bytes = self.rest().get(..len).ok_or(ParseErrorKind::Syntax {
            expected: "literal bytes",
            at: start,
        })?;
        if !binary && bytes.contains(&0) {
            return Err(ParseErrorKind::Syntax {
                expected: "literal without NUL",
                at: start,
            });
        }
        self.advance(len);
        Ok(Literal { bytes, binary })
    }

    /// `string = quoted / literal`.
    pub fn string(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => Ok(self.literal()?.bytes.to_vec()),
            _ => Err(self.fail("string")),
        }
    }

    /// `astring = 1*ASTRING-CHAR / string`.
    pub fn astring(&mut self) -> PResult<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let bytes = self.take_while(is_astring_char);
                if bytes.is_empty() {
                    Err(self.fail("astring"))
                } else {
                    Ok(bytes.to_vec())
                }
            }
        }
    }

    /// `nstring = string / nil`.
    pub fn nstring(&mut self) -> PResult<Option<Vec<u8>>> {
        if self.keyword("NIL") {
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    /// `"(" item *(SP item) ")"`, at least one item, at most `max`.
    pub fn paren_list<T>(
        &mut self,
        max: usize,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        self.expect(b'(', "(")?;
        let mut out = Vec::new();
        loop {
            if out.len() >= max {
                return Err(self.fail("shorter list"));
            }
            out.push(item(self)?);
            if self.eat(b')') {
                return Ok(out);
            }
            self.sp()?;
        }
    }

    /// Like [`Cursor::paren_list`] but `()` is allowed.
    pub fn paren_list0<T>(
        &mut self,
        max: usize,
        item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        if self.peek() == Some(b'(') && self.peek_at(1) == Some(b')') {
            self.advance(2);
            return Ok(Vec::new());
        }
        self.paren_list(max, item)
    }
}

/// Decimal digits to a number; `None` when empty or over `u64`.
pub(crate) fn parse_digits(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn astring_table() {
        // (input, astring, bytes consumed)
        type Case = (&'static [u8], Option<&'static [u8]>, usize);
        let cases: &[Case] = &[
            (b"abc def", Some(b"abc"), 3),
            (b"a]b", Some(b"a]b"), 3),
            (b"\"a b\"", Some(b"a b"), 5),
            (b"\"a\\\"b\\\\\"", Some(b"a\"b\\"), 8),
            (b"\"a\\b\"", None, 0),
            (b"\"abc", None, 0),
            (b"\"a\r\nb\"", None, 0),
            (b"{3}\r\nabcX", Some(b"abc"), 8),
            (b"{3+}\r\nabc", Some(b"abc"), 9),
            (b"{3}\nabc", Some(b"abc"), 7),
            (b"{4}\r\nabc", None, 0),
            (b"{1}\r\n\0", None, 0),
            (b"{99999999999999999999}\r\n", None, 0),
            (b"(", None, 0),
            (b"", None, 0),
        ];
        for (input, want, consumed) in cases {
            let mut c = Cursor::new(input);
            let got = c.astring().ok();
            assert_eq!(got.as_deref(), *want, "{input:?}");
            if want.is_some() {
                assert_eq!(c.pos(), *consumed, "{input:?}");
            }
        }
    }

    #[test]
    fn number_table() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"0", Some(0)),
            (b"4294967295", Some(u64::from(u32::MAX))),
            (b"9223372036854775807", Some(i64::MAX as u64)),
            (b"9223372036854775808", None),
            (b"", None),
            (b"x", None),
        ];
        for (input, want) in cases {
            assert_eq!(Cursor::new(input).number64().ok(), *want, "{input:?}");
        }
        assert!(Cursor::new(b"4294967296").number().is_err());
        assert!(Cursor::new(b"0").nz_number().is_err());
    }

    #[test]
    fn keyword_needs_a_boundary() {
        let mut c = Cursor::new(b"FLAGSX");
        assert!(!c.keyword("FLAGS"));
        let mut c = Cursor::new(b"flags (");
        assert!(c.keyword("FLAGS"));
        assert_eq!(c.rest(), b" (");
        let mut c = Cursor::new(b"~{2}\r\n\0\x01");
        assert_eq!(
            c.literal().ok(),
            Some(Literal {
                bytes: b"\0\x01",
                binary: true
            })
        );
    }
}
