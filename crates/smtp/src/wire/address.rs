//! Envelope addresses: the reverse-path of MAIL FROM and the forward-path of
//! RCPT TO (RFC 5321 §4.1.2, §4.1.3), with the SMTPUTF8 extensions of
//! RFC 6531 §3.3 (UTF-8 in local-parts and domains).
//!
//! Choices where the RFCs leave room:
//! - Angle brackets are required (`MAIL FROM:user@host` is `BadAddress`).
//! - A source route (`<@a,@b:user@d>`) is checked and dropped, as RFC 5321
//!   §4.1.2 and Appendix C tell servers to.
//! - A dot-string local-part is strict: no empty atoms (`a..b`, `.a`).
//! - Domains are lowercased (Unicode lowercase; this is not IDNA mapping).
//!   An ASCII label is at most 63 octets and cannot start or end with `-`.
//!   Non-ASCII labels are accepted unchecked beyond "no control or space";
//!   `Mailbox::is_ascii` tells the session to require SMTPUTF8.
//! - Address literals: IPv4 and `IPv6:` only, stored in canonical form
//!   (`[192.0.2.1]`, `[IPv6:2001:db8::1]`); general literals are refused.
//! - Lengths per RFC 5321 §4.5.3.1: local-part 64 octets as written, domain
//!   255, the whole path 256 with its brackets.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::command::CommandError;

const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 255;
const MAX_PATH: usize = 256;
const MAX_LABEL: usize = 63;

/// An address `local@domain`, validated when parsed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mailbox {
    /// The local-part as the sender meant it: a quoted-string is stored
    /// unquoted (`"a b"@x` has local `a b`). Case is kept (RFC 5321 §2.4:
    /// only the destination host may fold it).
    pub local: String,
    /// The domain, lowercased, or an address literal with its brackets.
    pub domain: String,
}

impl Mailbox {
    /// `local@domain`, with the local-part quoted again when it is not a
    /// dot-string (RFC 5321 §4.1.2), so the result parses back to `self`.
    pub fn address(&self) -> String {
        let mut out = String::with_capacity(self.local.len() + self.domain.len() + 3);
        if is_dot_string(&self.local) {
            out.push_str(&self.local);
        } else {
            out.push('"');
            for c in self.local.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        out.push('@');
        out.push_str(&self.domain);
        out
    }

    /// False when the local-part or domain has non-ASCII characters; such
    /// an address needs the SMTPUTF8 parameter (RFC 6531 §3.4).
    pub fn is_ascii(&self) -> bool {
        self.local.is_ascii() && self.domain.is_ascii()
    }

    /// True when the domain is an address literal like `[192.0.2.1]`.
    pub fn is_address_literal(&self) -> bool {
        self.domain.starts_with('[')
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address())
    }
}

/// The argument of MAIL FROM (RFC 5321 §4.1.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReversePath {
    /// `<>`: bounces and other mail that must not be answered.
    Null,
    Mailbox(Mailbox),
}

/// The argument of RCPT TO (RFC 5321 §4.1.1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForwardPath {
    /// `<Postmaster>` with no domain (any case): the server's own
    /// postmaster, which every server must accept (RFC 5321 §4.5.1).
    Postmaster,
    Mailbox(Mailbox),
}

/// What a path turned out to be, before MAIL or RCPT decide if it is allowed.
pub(crate) enum Path {
    Null,
    Postmaster,
    Mailbox(Mailbox),
}

fn bad(why: &'static str) -> CommandError {
    CommandError::BadAddress(why)
}

/// Parses a path at the start of `s` (which must start with `<`). Returns
/// the path and the bytes it took, `>` included.
pub(crate) fn parse_path(s: &str) -> Result<(Path, usize), CommandError> {
    let b = s.as_bytes();
    if b.first() != Some(&b'<') {
        return Err(bad("Angle brackets are required around the address"));
    }
    let mut i = 1;
    if b.get(i) == Some(&b'>') {
        return Ok((Path::Null, 2));
    }
    // RFC 5321 §4.1.2 and Appendix C: a source route is syntax to accept
    // and then ignore.
    if b.get(i) == Some(&b'@') {
        loop {
            if b.get(i) != Some(&b'@') {
                return Err(bad("Malformed source route"));
            }
            i += 1;
            let end = scan(b, i, |c| c != b',' && c != b':' && c != b'>');
            parse_domain(s.get(i..end).unwrap_or_default())?;
            i = end;
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b':') => {
                    i += 1;
                    break;
                }
                _ => return Err(bad("Malformed source route")),
            }
        }
    }
    let local_start = i;
    let local = if b.get(i) == Some(&b'"') {
        let (local, end) = parse_quoted(b, i)?;
        i = end;
        local
    } else {
        let end = scan(b, i, |c| c != b'@' && c != b'>');
        let local = s.get(i..end).unwrap_or_default();
        i = end;
        if !is_dot_string(local) {
            return Err(bad("Invalid local part"));
        }
        // RFC 5321 §4.1.1.3: "<Postmaster>" needs no domain.
        if local_start == 1 && b.get(i) == Some(&b'>') && local.eq_ignore_ascii_case("postmaster") {
            return Ok((Path::Postmaster, i + 1));
        }
        local.to_string()
    };
    if i - local_start > MAX_LOCAL {
        return Err(bad("Local part longer than 64 octets"));
    }
    if b.get(i) != Some(&b'@') {
        return Err(bad("Address must be local@domain"));
    }
    i += 1;
    let end = if b.get(i) == Some(&b'[') {
        scan(b, i, |c| c != b']').saturating_add(1).min(b.len())
    } else {
        scan(b, i, |c| c != b'>')
    };
    let domain = parse_domain_or_literal(s.get(i..end).unwrap_or_default())?;
    i = end;
    if b.get(i) != Some(&b'>') {
        return Err(bad("Missing closing angle bracket"));
    }
    i += 1;
    if i > MAX_PATH {
        return Err(bad("Path longer than 256 octets"));
    }
    Ok((Path::Mailbox(Mailbox { local, domain }), i))
}

/// The index of the first byte at or after `from` for which `keep` is false,
/// or the length of `b`.
fn scan(b: &[u8], from: usize, keep: impl Fn(u8) -> bool) -> usize {
    b.get(from..)
        .and_then(|rest| rest.iter().position(|&c| !keep(c)))
        .map_or(b.len(), |n| from + n)
}

/// RFC 5321 §4.1.2 Quoted-string at `b[start] == '"'`, with RFC 6531's
/// UTF-8 in qtextSMTP. Returns the unquoted text and the index after the
/// closing quote.
fn parse_quoted(b: &[u8], start: usize) -> Result<(String, usize), CommandError> {
    let mut out = Vec::new();
    let mut i = start + 1;
    loop {
        match b.get(i) {
            None => return Err(bad("Unterminated quoted string")),
            Some(b'"') => break,
            // quoted-pairSMTP = %d92 %d32-126
            Some(b'\\') => match b.get(i + 1) {
                Some(&c @ 32..=126) => {
                    out.push(c);
                    i += 2;
                }
                _ => return Err(bad("Invalid quoted pair")),
            },
            // qtextSMTP = %d32-33 / %d35-91 / %d93-126 / UTF8-non-ascii
            Some(&c) if c >= 32 && c != 127 => {
                out.push(c);
                i += 1;
            }
            Some(_) => return Err(bad("Control character in quoted string")),
        }
    }
    let text = String::from_utf8(out).map_err(|_| bad("Invalid UTF-8 in address"))?;
    if text.chars().any(char::is_control) {
        return Err(bad("Control character in quoted string"));
    }
    Ok((text, i + 1))
}

/// RFC 5322 atext, plus RFC 6531's UTF8-non-ascii (not controls or spaces).
fn is_atext(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
    } else {
        !c.is_control() && !c.is_whitespace()
    }
}

/// RFC 5321 Dot-string: atoms of atext separated by single dots.
fn is_dot_string(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

fn parse_domain_or_literal(s: &str) -> Result<String, CommandError> {
    match s.strip_prefix('[') {
        Some(rest) => {
            let inner = rest
                .strip_suffix(']')
                .ok_or_else(|| bad("Unterminated address literal"))?;
            parse_address_literal(inner)
        }
        None => parse_domain(s),
    }
}

/// RFC 5321 §4.1.3 address literals, IPv4 and IPv6 only.
fn parse_address_literal(inner: &str) -> Result<String, CommandError> {
    let tag = inner.get(..5).filter(|t| t.eq_ignore_ascii_case("IPv6:"));
    if tag.is_some() {
        let addr: Ipv6Addr = inner
            .get(5..)
            .unwrap_or_default()
            .parse()
            .map_err(|_| bad("Invalid IPv6 address literal"))?;
        return Ok(format!("[IPv6:{addr}]"));
    }
    match inner.parse::<Ipv4Addr>() {
        Ok(addr) => Ok(format!("[{addr}]")),
        Err(_) if inner.contains(':') => Err(bad("Unsupported address literal")),
        Err(_) => Err(bad("Invalid IPv4 address literal")),
    }
}

/// RFC 5321 §4.1.2 Domain (sub-domains of letters, digits and hyphens)
/// with RFC 6531 U-labels. Returns it lowercased.
pub(crate) fn parse_domain(s: &str) -> Result<String, CommandError> {
    if s.is_empty() {
        return Err(bad("Missing domain"));
    }
    if s.len() > MAX_DOMAIN {
        return Err(bad("Domain longer than 255 octets"));
    }
    for label in s.split('.') {
        if label.is_empty() {
            return Err(bad("Empty label in domain"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("Domain label starts or ends with a hyphen"));
        }
        if label.is_ascii() && label.len() > MAX_LABEL {
            return Err(bad("Domain label longer than 63 octets"));
        }
        let ok = label.chars().all(|c| {
            if c.is_ascii() {
                c.is_ascii_alphanumeric() || c == '-'
            } else {
                !c.is_control() && !c.is_whitespace()
            }
        });
        if !ok {
            return Err(bad("Invalid character in domain"));
        }
    }
    Ok(s.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(local: &str, domain: &str) -> Path {
        Path::Mailbox(Mailbox {
            local: local.into(),
            domain: domain.into(),
        })
    }

    fn show(p: &Path) -> String {
        match p {
            Path::Null => "<>".into(),
            Path::Postmaster => "Postmaster".into(),
            Path::Mailbox(m) => format!("{:?}@{:?}", m.local, m.domain),
        }
    }

    #[test]
    fn path_table() {
        let long_local = format!("<{}@x.org>", "a".repeat(64));
        let too_long_local = format!("<{}@x.org>", "a".repeat(65));
        let long_label = format!("<a@{}.org>", "b".repeat(63));
        let too_long_label = format!("<a@{}.org>", "b".repeat(64));
        // Local-part 64 and domain 203 are each fine, but the path is 270.
        let long_path = format!("<{}@{}>", "a".repeat(64), vec!["x".repeat(50); 4].join("."));
        let ok: Vec<(&str, Path, usize)> = vec![
            ("<>", Path::Null, 2),
            ("<> SIZE=1", Path::Null, 2),
            ("<Postmaster>", Path::Postmaster, 12),
            ("<POSTMASTER>", Path::Postmaster, 12),
            (
                "<postmaster@Example.ORG>",
                mb("postmaster", "example.org"),
                24,
            ),
            ("<Smith@bar.com>", mb("Smith", "bar.com"), 15),
            ("<a.b+tag@x.org> X", mb("a.b+tag", "x.org"), 15),
            (
                "<!#$%&'*+-/=?^_`{|}~@x>",
                mb("!#$%&'*+-/=?^_`{|}~", "x"),
                23,
            ),
            ("<\"a b\"@x.org>", mb("a b", "x.org"), 13),
            ("<\"a\\\"b\\\\c\"@x.org>", mb("a\"b\\c", "x.org"), 17),
            ("<\"\"@x.org>", mb("", "x.org"), 10),
            ("<\"a>b@c\"@x.org>", mb("a>b@c", "x.org"), 15),
            ("<@a.org,@b.org:u@d.org>", mb("u", "d.org"), 23),
            ("<@a.org:u@d.org>", mb("u", "d.org"), 16),
            ("<u@[192.0.2.1]>", mb("u", "[192.0.2.1]"), 15),
            ("<u@[IPv6:2001:DB8::1]>", mb("u", "[IPv6:2001:db8::1]"), 22),
            ("<u@[ipv6:::1]>", mb("u", "[IPv6:::1]"), 14),
            ("<u@x-y.EXAMPLE>", mb("u", "x-y.example"), 15),
            ("<u@123.org>", mb("u", "123.org"), 11),
            ("<用户@例子.广告>", mb("用户", "例子.广告"), 22),
            ("<Jörg@BÜCHER.de>", mb("Jörg", "bücher.de"), 18),
            (&long_local, mb(&"a".repeat(64), "x.org"), 72),
            (&long_label, mb("a", &format!("{}.org", "b".repeat(63))), 71),
        ];
        for (input, want, len) in ok {
            match parse_path(input) {
                Ok((got, n)) => {
                    assert_eq!((show(&got), n), (show(&want), len), "{input}");
                }
                Err(e) => panic!("{input}: {e:?}"),
            }
        }
        let refused: Vec<&str> = vec![
            "",
            "Smith@bar.com",
            "<Smith@bar.com",
            "<Smith@bar.com x>",
            "<Smith>",
            "<Postmaster",
            "<@a.org:Postmaster>",
            "<@bar.com>",
            "<Smith@>",
            "<@a.org u@d.org>",
            "<@a.org,u@d.org>",
            "<@:u@d.org>",
            "<a..b@x.org>",
            "<.a@x.org>",
            "<a.@x.org>",
            "<a b@x.org>",
            "<a\0b@x.org>",
            "<a(b)@x.org>",
            "<\"a\0\"@x.org>",
            "<\"a\tb\"@x.org>",
            "<\"a\\\u{7f}\"@x.org>",
            "<\"abc@x.org>",
            "<\"a\"b@x.org>",
            "<u@x..org>",
            "<u@x.org.>",
            "<u@.x.org>",
            "<u@-x.org>",
            "<u@x-.org>",
            "<u@x_y.org>",
            "<u@x y.org>",
            "<u@[192.0.2.1>",
            "<u@[192.0.2.256]>",
            "<u@[1.2.3]>",
            "<u@[IPv6:1.2.3.4]>",
            "<u@[IPv6:zz::1]>",
            "<u@[x-tag:stuff]>",
            "<u@[]>",
            "<u@[1.2.3.4]x>",
            "<u@d\u{85}.org>",
            &too_long_local,
            &too_long_label,
            &long_path,
        ];
        for input in refused {
            assert!(
                matches!(parse_path(input), Err(CommandError::BadAddress(_))),
                "{input:?} should be refused"
            );
        }
    }

    #[test]
    fn address_requotes_when_needed() {
        let table = [
            ("a.b", "x.org", "a.b@x.org"),
            ("Jörg", "x.org", "Jörg@x.org"),
            ("a b", "x.org", "\"a b\"@x.org"),
            ("a\"b\\c", "x.org", "\"a\\\"b\\\\c\"@x.org"),
            ("", "x.org", "\"\"@x.org"),
            (".a", "x.org", "\".a\"@x.org"),
            ("a..b", "x.org", "\"a..b\"@x.org"),
            ("u", "[IPv6:::1]", "u@[IPv6:::1]"),
        ];
        for (local, domain, want) in table {
            let m = Mailbox {
                local: local.into(),
                domain: domain.into(),
            };
            assert_eq!(m.address(), want);
            assert_eq!(m.to_string(), want);
            // Round trip: the address parses back to the same mailbox.
            let (path, _) = parse_path(&format!("<{want}>")).expect(want);
            assert_eq!(show(&path), show(&Path::Mailbox(m)), "{want}");
        }
    }

    #[test]
    fn is_ascii_flags_utf8_addresses() {
        let table = [
            ("a", "x.org", true),
            ("ä", "x.org", false),
            ("a", "ä.org", false),
        ];
        for (local, domain, want) in table {
            let m = Mailbox {
                local: local.into(),
                domain: domain.into(),
            };
            assert_eq!(m.is_ascii(), want);
        }
    }
}
