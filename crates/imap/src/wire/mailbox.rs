//! Mailbox names as the session sees them: decoded UTF-8, `INBOX` in one
//! spelling, checked once when read off the wire.

use std::fmt;

use super::utf7;

/// A mailbox name, decoded: from modified UTF-7 (RFC 3501 §5.1.3), or taken
/// as UTF-8 when the session enabled UTF8=ACCEPT (RFC 6855 §3). Never empty,
/// never holds control characters; `INBOX` in any case is `INBOX`
/// (RFC 9051 §5.1).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailboxName(String);

impl MailboxName {
    /// Checks a decoded name.
    pub fn new(name: &str) -> Result<MailboxName, &'static str> {
        if name.is_empty() {
            return Err("empty name");
        }
        if name.chars().any(char::is_control) {
            return Err("control character in name");
        }
        if name.eq_ignore_ascii_case("INBOX") {
            return Ok(MailboxName("INBOX".to_owned()));
        }
        Ok(MailboxName(name.to_owned()))
    }

    /// Decodes a name as sent by the client.
    pub fn from_wire(bytes: &[u8], utf8_accept: bool) -> Result<MailboxName, &'static str> {
        MailboxName::new(&decode_name(bytes, utf8_accept)?)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_inbox(&self) -> bool {
        self.0 == "INBOX"
    }
}

/// Decodes a name or pattern from the wire without the non-empty check.
pub(crate) fn decode_name(bytes: &[u8], utf8_accept: bool) -> Result<String, &'static str> {
    if utf8_accept {
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| "not UTF-8")
    } else {
        utf7::decode(bytes).map_err(utf7::Utf7Error::as_str)
    }
}

impl fmt::Debug for MailboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MailboxName({:?})", self.0)
    }
}

impl fmt::Display for MailboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_wire_table() {
        let cases: &[(&[u8], bool, Result<&str, &str>)] = &[
            (b"inbox", false, Ok("INBOX")),
            (b"InBoX", true, Ok("INBOX")),
            (b"INBOX/sub", false, Ok("INBOX/sub")),
            (b"Entw&APw-rfe", false, Ok("Entwürfe")),
            // With UTF8=ACCEPT `&` is just `&`.
            (b"Entw&APw-rfe", true, Ok("Entw&APw-rfe")),
            (b"Entw\xc3\xbcrfe", true, Ok("Entwürfe")),
            (
                b"Entw\xc3\xbcrfe",
                false,
                Err("8-bit byte in modified UTF-7"),
            ),
            (b"\xff", true, Err("not UTF-8")),
            (b"", false, Err("empty name")),
            (b"a&AAk-b", false, Err("control character in name")),
        ];
        for (input, utf8, want) in cases {
            let got = MailboxName::from_wire(input, *utf8);
            assert_eq!(
                got.as_ref().map(MailboxName::as_str),
                want.as_ref().map(|s| *s),
                "{input:?}"
            );
        }
    }
}
