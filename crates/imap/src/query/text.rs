//! Text as SEARCH, SORT and THREAD see it: header fields found in a raw
//! header block, header values decoded (RFC 2047 words, raw UTF-8 or
//! latin-1 bytes), bodies decoded (transfer encoding, then charset to
//! UTF-8), dates read from the Date field, and the case folding used for
//! every comparison.

use std::borrow::Cow;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::parsers::MessageStream;
use mail_parser::{DateTime, HeaderValue};
use postern_store::{Envelope, EnvelopeAddress, MimePart, raw_bytes};

use super::MessageView;

/// Case folding for matching and sorting. RFC 9051 §6.4.4 leaves the
/// comparator to the server; Dovecot uses i;unicode-casemap, which this
/// approximates with Unicode lowercasing (no decomposition).
pub(crate) fn fold(s: &str) -> String {
    // The same answer for ASCII, several times faster on message bodies.
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

/// Header bytes as text: UTF-8 (RFC 6532), anything else replaced by
/// U+FFFD. Dovecot does not guess a charset for raw 8-bit header bytes
/// either (049: raw latin-1 `café` does not match `café`).
pub(crate) fn utf8_or_latin1(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// A header value as written (folds allowed) to text: RFC 2047 words
/// decoded, line breaks removed, runs of white space made one space
/// (082's `Quarterly \tnumbers` is found by `QUARTERLY NUMBERS`).
pub(crate) fn decode_header(value: &[u8]) -> String {
    let text = utf8_or_latin1(value);
    if !text.contains("=?") {
        return unfold(&text);
    }
    let mut line = unfold(&text).into_bytes();
    line.extend_from_slice(b"\r\n");
    match MessageStream::new(&line).parse_unstructured() {
        HeaderValue::Text(t) => unfold(&t),
        HeaderValue::TextList(l) => unfold(&l.concat()),
        _ => String::new(),
    }
}

/// RFC 5322 §2.2.3 unfolding, TABs made spaces and runs of spaces one
/// (RFC 5256 §2.1 step 1 normalises white space this way).
pub(crate) fn unfold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\r' | '\n' => {}
            ' ' | '\t' if out.ends_with(' ') => {}
            '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A stored envelope string, decoded.
pub(crate) fn envelope_text(s: &str, env: &Envelope) -> String {
    decode_header(&raw_bytes(s, env.latin1))
}

/// The text an address header is searched as: `name <mailbox@host>` per
/// address, groups as `name: ... ;`, names decoded (what Dovecot writes
/// back from its parsed addresses before matching).
pub(crate) fn address_text(list: &[EnvelopeAddress], env: &Envelope) -> String {
    let mut out = String::new();
    for a in list {
        if !out.is_empty() {
            out.push_str(", ");
        }
        match (&a.mailbox, &a.host) {
            (Some(group), None) => {
                out.push_str(&envelope_text(group, env));
                out.push(':');
            }
            (None, None) => out.push(';'),
            (mailbox, host) => {
                if let Some(n) = &a.name {
                    out.push_str(&envelope_text(n, env));
                    out.push(' ');
                }
                out.push('<');
                if let Some(r) = &a.route {
                    out.push_str(r);
                    out.push(':');
                }
                out.push_str(&raw_text(mailbox.as_deref().unwrap_or_default(), env));
                out.push('@');
                out.push_str(&raw_text(host.as_deref().unwrap_or_default(), env));
                out.push('>');
            }
        }
    }
    out
}

fn raw_text(s: &str, env: &Envelope) -> String {
    utf8_or_latin1(&raw_bytes(s, env.latin1)).into_owned()
}

/// The header fields of a header block, names as written (trailing white
/// space dropped: Dovecot reads `Subject : x` as Subject), values raw with
/// their folds. A line without a colon is skipped, not the end of the block.
pub(crate) fn header_fields(header: &[u8]) -> Vec<(&[u8], &[u8])> {
    // (name start, name end, value start, value end) of each field.
    let mut spans: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut in_field = false;
    let mut start = 0;
    while start < header.len() {
        let end = header[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(header.len(), |p| start + p + 1);
        let line = &header[start..end];
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if in_field && let Some(last) = spans.last_mut() {
                last.3 = end;
            }
        } else if let Some(colon) = line.iter().position(|&b| b == b':') {
            spans.push((start, start + colon, start + colon + 1, end));
            in_field = true;
        } else {
            in_field = false;
        }
        start = end;
    }
    spans
        .into_iter()
        .map(|(ns, ne, vs, ve)| {
            (
                header[ns..ne].trim_ascii_end(),
                trim_line_end(&header[vs..ve]),
            )
        })
        .collect()
}

fn trim_line_end(v: &[u8]) -> &[u8] {
    let v = v.strip_suffix(b"\n").unwrap_or(v);
    let v = v.strip_suffix(b"\r").unwrap_or(v);
    v.strip_prefix(b" ").unwrap_or(v)
}

/// The values of every `name` field of a header block, decoded.
pub(crate) fn header_values(header: &[u8], name: &str) -> Vec<String> {
    header_fields(header)
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| decode_header(v))
        .collect()
}

/// A part's body as UTF-8: transfer encoding undone, then the charset.
pub(crate) fn decode_body(raw: &[u8], part: &MimePart) -> String {
    decode_body_prefix(raw, part, usize::MAX)
}

/// The first `max` encoded bytes of a part's body (cut after the last
/// line break within them, so no base64 quantum or `=XX` escape is split),
/// decoded as [`decode_body`] does.
pub(crate) fn decode_body_prefix(raw: &[u8], part: &MimePart, max: usize) -> String {
    let mut data = raw
        .get(part.body_start as usize..part.end as usize)
        .unwrap_or_default();
    if data.len() > max {
        let cut = &data[..max];
        data = cut
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(cut, |p| &cut[..=p]);
    }
    let enc = part.encoding.as_deref().unwrap_or("").to_ascii_lowercase();
    let bytes: Cow<'_, [u8]> = match enc.as_str() {
        "base64" => base64_decode(data).map_or(Cow::Borrowed(data), Cow::Owned),
        "quoted-printable" => quoted_printable_decode(data).map_or(Cow::Borrowed(data), Cow::Owned),
        _ => Cow::Borrowed(data),
    };
    let charset = part
        .params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.to_ascii_lowercase());
    decode_charset(&bytes, charset.as_deref())
}

fn decode_charset(bytes: &[u8], charset: Option<&str>) -> String {
    match charset {
        None | Some("utf-8" | "utf8" | "us-ascii" | "ascii" | "") => {
            String::from_utf8_lossy(bytes).into_owned()
        }
        Some(cs) => match charset_decoder(cs.as_bytes()) {
            Some(decode) => decode(bytes),
            None => String::from_utf8_lossy(bytes).into_owned(),
        },
    }
}

/// The text a body search reads, every text/* and message/* part in
/// order (Dovecot skips other media types). With `headers` (TEXT), the
/// header of the message and of each part comes first, decoded; without
/// (BODY), no header is read, not even an attached message's.
pub(crate) fn body_text(raw: &[u8], root: &MimePart, headers: bool) -> String {
    let mut out = String::new();
    walk(raw, root, headers, &mut out);
    out
}

fn walk(raw: &[u8], part: &MimePart, headers: bool, out: &mut String) {
    if headers {
        let h = raw
            .get(part.header_start as usize..part.body_start as usize)
            .unwrap_or_default();
        for (name, value) in header_fields(h) {
            out.push_str(&utf8_or_latin1(name));
            out.push_str(": ");
            out.push_str(&decode_header(value));
            out.push('\n');
        }
        out.push('\n');
    }
    if part.is_multipart() {
        for child in &part.parts {
            walk(raw, child, headers, out);
        }
        return;
    }
    if let Some(m) = &part.message {
        walk(raw, &m.1, headers, out);
        return;
    }
    let t = part.media_type.to_ascii_lowercase();
    if t == "text" || t == "message" {
        out.push_str(&decode_body(raw, part));
        out.push('\n');
    }
}

/// The first `name` field of the message's header, raw, when the raw
/// message is at hand; otherwise the envelope's value (the last field:
/// the two differ only with duplicate fields, 096). Dovecot's SEARCH,
/// SORT and THREAD read the first.
pub(crate) fn first_field(m: &MessageView, name: &str) -> Option<Vec<u8>> {
    if let Some(raw) = m.raw {
        let b = &m.meta.body;
        let h = raw
            .get(b.header_start as usize..b.body_start as usize)
            .unwrap_or_default();
        return header_fields(h)
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.to_vec());
    }
    let env = &m.meta.envelope;
    let v = match name {
        "Date" => env.first_date.as_deref().or(env.date.as_deref()),
        "Subject" => env.first_subject.as_deref().or(env.subject.as_deref()),
        _ => None,
    };
    v.map(|v| raw_bytes(v, env.latin1).into_owned())
}

/// The decoded Subject, `None` without a Subject field.
pub(crate) fn subject_of(m: &MessageView) -> Option<String> {
    first_field(m, "Subject").map(|v| decode_header(&v))
}

/// The Date field read as written: the calendar date in the field's own
/// zone and the instant (Unix seconds). `None` when absent or unparsable.
pub(crate) fn sent_date(m: &MessageView) -> Option<(i64, i64)> {
    let text = unfold(&utf8_or_latin1(&first_field(m, "Date")?));
    let d = DateTime::parse_rfc822(&text)?;
    let year = match d.year {
        // RFC 5322 §4.3: two-digit years from 50 are 19xx, three-digit add 1900.
        0..=49 => 2000 + i64::from(d.year),
        50..=999 => 1900 + i64::from(d.year),
        y => i64::from(y),
    };
    if !(1..=12).contains(&d.month) || !(1..=31).contains(&d.day) || d.hour > 23 || d.minute > 59 {
        return None;
    }
    let days = crate::wire::datetime::days_from_civil(year, d.month, d.day);
    let zone = (i64::from(d.tz_hour) * 3600 + i64::from(d.tz_minute) * 60)
        * if d.tz_before_gmt { -1 } else { 1 };
    let unix = days * 86_400
        + i64::from(d.hour) * 3600
        + i64::from(d.minute) * 60
        + i64::from(d.second.min(60))
        - zone;
    Some((days, unix))
}
