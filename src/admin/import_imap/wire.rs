//! The IMAP responses `import imap` reads (RFC 9051 §7, RFC 3501 §7):
//! one response as it came off the wire (lines with their literals) parsed
//! into values, the FETCH, LIST and status-code items taken from them,
//! modified UTF-7 mailbox names (RFC 3501 §5.1.3) and INTERNALDATE.

use anyhow::{Result, anyhow, bail};

/// One value of a response: an atom (with any `[...]` section it carries,
/// as in `BODY[]`), a string (quoted or literal), NIL, or a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Atom(String),
    Str(Vec<u8>),
    Nil,
    List(Vec<Value>),
}

impl Value {
    pub fn atom(&self) -> Option<&str> {
        match self {
            Value::Atom(a) => Some(a),
            _ => None,
        }
    }

    /// A string or an atom as bytes (servers send either for names).
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) => Some(s),
            Value::Atom(a) => Some(a.as_bytes()),
            _ => None,
        }
    }

    pub fn list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn number(&self) -> Option<u64> {
        self.atom()?.parse().ok()
    }
}

/// Parses the values of `raw` (a whole response, literals included) from
/// `at`; a parenthesised list nests.
pub fn values(raw: &[u8]) -> Result<Vec<Value>> {
    let mut p = Parser { raw, at: 0 };
    let mut out = Vec::new();
    let mut stack: Vec<Vec<Value>> = Vec::new();
    loop {
        p.skip_spaces();
        let Some(&b) = p.raw.get(p.at) else { break };
        let v = match b {
            b'\r' | b'\n' => {
                p.at += 1;
                continue;
            }
            b'(' => {
                p.at += 1;
                stack.push(std::mem::take(&mut out));
                continue;
            }
            b')' => {
                p.at += 1;
                let inner = std::mem::replace(
                    &mut out,
                    stack
                        .pop()
                        .ok_or_else(|| anyhow!("unbalanced ')' in a response"))?,
                );
                Value::List(inner)
            }
            b'"' => Value::Str(p.quoted()?),
            b'{' => Value::Str(p.literal()?),
            _ => {
                let a = p.atom()?;
                if a.eq_ignore_ascii_case("NIL") {
                    Value::Nil
                } else {
                    Value::Atom(a)
                }
            }
        };
        out.push(v);
    }
    if !stack.is_empty() {
        bail!("unbalanced '(' in a response");
    }
    Ok(out)
}

struct Parser<'a> {
    raw: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn skip_spaces(&mut self) {
        while self.raw.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    fn quoted(&mut self) -> Result<Vec<u8>> {
        self.at += 1;
        let mut s = Vec::new();
        loop {
            match self.raw.get(self.at) {
                None | Some(b'\r') | Some(b'\n') => bail!("unterminated quoted string"),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(s);
                }
                Some(b'\\') => {
                    let c = self
                        .raw
                        .get(self.at + 1)
                        .ok_or_else(|| anyhow!("unterminated quoted string"))?;
                    s.push(*c);
                    self.at += 2;
                }
                Some(&c) => {
                    s.push(c);
                    self.at += 1;
                }
            }
        }
    }

    /// `{n}` CRLF then n bytes (the reader put them right after the line).
    fn literal(&mut self) -> Result<Vec<u8>> {
        let close = self.raw[self.at..]
            .iter()
            .position(|&b| b == b'}')
            .ok_or_else(|| anyhow!("unterminated literal length"))?;
        let digits =
            std::str::from_utf8(&self.raw[self.at + 1..self.at + close])?.trim_end_matches('+');
        let n: usize = digits
            .parse()
            .map_err(|_| anyhow!("bad literal length {digits:?}"))?;
        let mut start = self.at + close + 1;
        if self.raw.get(start..start + 2) == Some(b"\r\n") {
            start += 2;
        } else if self.raw.get(start) == Some(&b'\n') {
            start += 1;
        }
        let end = start
            .checked_add(n)
            .ok_or_else(|| anyhow!("bad literal length {n}"))?;
        let body = self
            .raw
            .get(start..end)
            .ok_or_else(|| anyhow!("literal of {n} bytes cut short"))?;
        self.at = end;
        Ok(body.to_vec())
    }

    /// An atom up to a space or parenthesis; a `[` keeps everything up to
    /// its `]` (`BODY[HEADER.FIELDS (MESSAGE-ID)]`, `[UIDVALIDITY 5]`).
    fn atom(&mut self) -> Result<String> {
        let start = self.at;
        let mut depth = 0usize;
        while let Some(&b) = self.raw.get(self.at) {
            match b {
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b' ' | b'(' | b')' | b'\r' | b'\n' if depth == 0 => break,
                b'\r' | b'\n' => break,
                _ => {}
            }
            self.at += 1;
        }
        if self.at == start {
            bail!(
                "unexpected byte {:?} in a response",
                self.raw[start] as char
            );
        }
        Ok(String::from_utf8_lossy(&self.raw[start..self.at]).into_owned())
    }
}

/// A status response's code, `[UIDVALIDITY 5]` -> ("UIDVALIDITY", "5").
pub fn code(text: &str) -> Option<(String, String)> {
    let inner = text.trim_start().strip_prefix('[')?;
    let inner = &inner[..inner.find(']')?];
    let (name, arg) = inner.split_once(' ').unwrap_or((inner, ""));
    Some((name.to_ascii_uppercase(), arg.to_string()))
}

/// The items of a FETCH response's list, by name (upper case).
#[derive(Debug, Default)]
pub struct Fetched {
    pub uid: Option<u32>,
    pub size: Option<u64>,
    pub flags: Option<Vec<String>>,
    pub internal_date: Option<i64>,
    /// `BODY[]` (the whole message).
    pub body: Option<Vec<u8>>,
    /// `BODY[HEADER.FIELDS (MESSAGE-ID)]` or any other header section.
    pub header: Option<Vec<u8>>,
}

/// The FETCH items of `* n FETCH (...)`, given the values after `FETCH`.
pub fn fetched(items: &[Value]) -> Result<Fetched> {
    let mut f = Fetched::default();
    let mut it = items.iter();
    while let Some(name) = it.next() {
        let name = name
            .atom()
            .ok_or_else(|| anyhow!("a FETCH item name is not an atom"))?
            .to_ascii_uppercase();
        let v = it
            .next()
            .ok_or_else(|| anyhow!("FETCH item {name} has no value"))?;
        match name.as_str() {
            "UID" => f.uid = v.number().and_then(|n| u32::try_from(n).ok()),
            "RFC822.SIZE" => f.size = v.number(),
            "FLAGS" => {
                let l = v.list().ok_or_else(|| anyhow!("FLAGS is not a list"))?;
                f.flags = Some(
                    l.iter()
                        .filter_map(|x| x.atom().map(String::from))
                        .collect(),
                );
            }
            "INTERNALDATE" => {
                let s = v
                    .bytes()
                    .ok_or_else(|| anyhow!("INTERNALDATE is not a string"))?;
                let s = String::from_utf8_lossy(s);
                f.internal_date =
                    Some(internal_date(&s).ok_or_else(|| anyhow!("bad INTERNALDATE {s:?}"))?);
            }
            "BODY[]" | "RFC822" => f.body = Some(v.bytes().unwrap_or_default().to_vec()),
            n if n.starts_with("BODY[HEADER") => {
                f.header = Some(v.bytes().unwrap_or_default().to_vec())
            }
            _ => {}
        }
    }
    Ok(f)
}

/// One LIST (or XLIST) line: attributes, delimiter, name as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub attrs: Vec<String>,
    pub delimiter: Option<char>,
    pub raw_name: Vec<u8>,
}

/// `* LIST (attrs) "delim" name`, given the values after `LIST`.
pub fn listed(items: &[Value]) -> Result<Listed> {
    let [attrs, delim, name, ..] = items else {
        bail!("a LIST response without attributes, delimiter and name");
    };
    let attrs = attrs
        .list()
        .ok_or_else(|| anyhow!("LIST attributes are not a list"))?
        .iter()
        .filter_map(|a| a.atom().map(String::from))
        .collect();
    let delimiter = match delim {
        Value::Nil => None,
        v => v.bytes().and_then(|b| b.first()).map(|&b| char::from(b)),
    };
    let raw_name = name
        .bytes()
        .ok_or_else(|| anyhow!("LIST name is not a string"))?
        .to_vec();
    Ok(Listed {
        attrs,
        delimiter,
        raw_name,
    })
}

/// A mailbox name as sent in modified UTF-7 (RFC 3501 §5.1.3), as text;
/// bytes that are not valid in it are kept as they are (UTF-8 servers).
pub fn decode_mailbox_name(raw: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'&'
            && let Some(end) = raw[i + 1..].iter().position(|&b| b == b'-')
        {
            let chunk = &raw[i + 1..i + 1 + end];
            if chunk.is_empty() {
                out.push('&');
                i += 2;
                continue;
            }
            if let Some(s) = decode_utf7_chunk(chunk) {
                out.push_str(&s);
                i += end + 2;
                continue;
            }
        }
        let next = raw[i + 1..]
            .iter()
            .position(|&b| b == b'&')
            .map_or(raw.len(), |p| i + 1 + p);
        out.push_str(&String::from_utf8_lossy(&raw[i..next]));
        i = next;
    }
    out
}

/// Modified base64 (`,` for `/`, no padding) of UTF-16BE.
fn decode_utf7_chunk(chunk: &[u8]) -> Option<String> {
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut units = Vec::new();
    for &c in chunk {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b',' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 16 {
            nbits -= 16;
            units.push(((bits >> nbits) & 0xffff) as u16);
        }
    }
    String::from_utf16(&units).ok()
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// INTERNALDATE `dd-Mon-yyyy hh:mm:ss +zzzz` (RFC 9051 §9 date-time; the
/// day may be space-padded) as seconds since the epoch.
pub fn internal_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = s.split_once(' ')?;
    let mut d = date.split('-');
    let day: i64 = d.next()?.trim().parse().ok()?;
    let month_name = d.next()?;
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month_name))?;
    let year: i64 = d.next()?.parse().ok()?;
    let (clock, zone) = rest.trim_start().split_once(' ')?;
    let mut c = clock.split(':').map(|x| x.parse::<i64>().ok());
    let (h, m, sec) = (c.next()??, c.next()??, c.next()??);
    let zone = zone.trim();
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let z: i64 = zone.get(1..5)?.parse().ok()?;
    if !(1..=31).contains(&day) || !(1..=9999).contains(&year) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let days = crate::mailbox_io::days_from_civil(year, month as i64 + 1, day);
    Some(days * 86_400 + h * 3600 + m * 60 + sec - sign * ((z / 100) * 3600 + (z % 100) * 60))
}

/// `s` as an IMAP quoted string, or `None` when it needs a literal
/// (CR, LF, NUL or 8-bit bytes).
pub fn quoted(s: &[u8]) -> Option<String> {
    if s.iter()
        .any(|&b| b == 0 || b == b'\r' || b == b'\n' || b >= 0x80)
    {
        return None;
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s {
        if b == b'"' || b == b'\\' {
            out.push('\\');
        }
        out.push(char::from(b));
    }
    out.push('"');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_responses_with_literals_and_sections_parse() {
        let raw = b"* 3 FETCH (UID 17 FLAGS (\\Seen $Label1) INTERNALDATE \" 7-Jul-2024 10:00:00 +0200\" RFC822.SIZE 5 BODY[] {5}\r\nab)cd BODY[HEADER.FIELDS (MESSAGE-ID)] {3}\r\nxyz)\r\n";
        let v = values(raw).expect("parse");
        assert_eq!(v[0], Value::Atom("*".into()));
        assert_eq!(v[2], Value::Atom("FETCH".into()));
        let f = fetched(v[3].list().expect("list")).expect("items");
        assert_eq!(f.uid, Some(17));
        assert_eq!(f.size, Some(5));
        assert_eq!(
            f.flags.as_deref(),
            Some(&["\\Seen".to_string(), "$Label1".into()][..])
        );
        assert_eq!(f.internal_date, Some(1_720_339_200));
        assert_eq!(f.body.as_deref(), Some(&b"ab)cd"[..]));
        assert_eq!(f.header.as_deref(), Some(&b"xyz"[..]));
    }

    #[test]
    fn cut_or_unbalanced_responses_are_errors_not_panics() {
        for bad in [
            &b"* 1 FETCH (BODY[] {10}\r\nshort)"[..],
            b"* 1 FETCH (UID 1",
            b"* 1 FETCH UID 1)",
            b"* LIST (\\HasNoChildren) \"/\" \"unterminated",
            b"* 1 FETCH (BODY[] {99999999999999999999}\r\n)",
        ] {
            assert!(values(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn list_lines_give_attributes_delimiter_and_name() {
        let v = values(b"* LIST (\\HasNoChildren \\Sent) \".\" \"INBOX.Sent Items\"\r\n")
            .expect("parse");
        let l = listed(&v[2..]).expect("list");
        assert_eq!(l.attrs, ["\\HasNoChildren", "\\Sent"]);
        assert_eq!(l.delimiter, Some('.'));
        assert_eq!(l.raw_name, b"INBOX.Sent Items");
        let v = values(b"* LIST (\\Noselect) NIL {4}\r\nTop\xc3\r\n").expect("literal name");
        assert_eq!(listed(&v[2..]).expect("list").delimiter, None);
    }

    #[test]
    fn modified_utf7_names_decode() {
        assert_eq!(decode_mailbox_name(b"Entw&APw-rfe"), "Entwürfe");
        assert_eq!(decode_mailbox_name(b"&Jjo-!"), "☺!");
        assert_eq!(decode_mailbox_name(b"A&-B"), "A&B");
        assert_eq!(decode_mailbox_name(b"plain"), "plain");
        assert_eq!(decode_mailbox_name(b"odd&*-x"), "odd&*-x");
    }

    #[test]
    fn internal_dates_parse_with_zone_and_padding() {
        assert_eq!(internal_date("01-Jan-1970 00:00:00 +0000"), Some(0));
        assert_eq!(internal_date(" 1-Jan-1970 01:00:00 +0100"), Some(0));
        assert_eq!(internal_date("31-Dec-1969 19:00:00 -0500"), Some(0));
        assert_eq!(internal_date("32-Jan-2020 00:00:00 +0000"), None);
        assert_eq!(internal_date("01-Foo-2020 00:00:00 +0000"), None);
        assert_eq!(internal_date("garbage"), None);
    }

    #[test]
    fn status_codes_and_quoting() {
        assert_eq!(
            code(" [UIDVALIDITY 1234] ok"),
            Some(("UIDVALIDITY".into(), "1234".into()))
        );
        assert_eq!(quoted(b"a\"b\\c").as_deref(), Some("\"a\\\"b\\\\c\""));
        assert_eq!(quoted(b"caf\xc3\xa9"), None);
    }
}
