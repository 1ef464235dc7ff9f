//! Text as SEARCH sees it, shared by the IMAP scan (`postern-imap`'s
//! query engine) and the full-text index, so the two read a message the
//! same way: header fields found in a raw header block, header values
//! decoded (RFC 2047 words, raw UTF-8 or latin-1 bytes), bodies decoded
//! (transfer encoding, then charset to UTF-8), and the case folding used
//! for every comparison.

use std::borrow::Cow;

use mail_parser::HeaderValue;
use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::parsers::MessageStream;

use crate::MimePart;

/// Case folding for matching and sorting. RFC 9051 §6.4.4 leaves the
/// comparator to the server; Dovecot uses i;unicode-casemap, which this
/// approximates with Unicode lowercasing (no decomposition).
pub fn fold(s: &str) -> String {
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
pub fn utf8_or_latin1(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// A header value as written (folds allowed) to text: RFC 2047 words
/// decoded, line breaks removed, runs of white space made one space
/// (082's `Quarterly \tnumbers` is found by `QUARTERLY NUMBERS`).
pub fn decode_header(value: &[u8]) -> String {
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
pub fn unfold(s: &str) -> String {
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

/// The header fields of a header block, names as written (trailing white
/// space dropped: Dovecot reads `Subject : x` as Subject), values raw with
/// their folds. A line without a colon is skipped, not the end of the block.
pub fn header_fields(header: &[u8]) -> Vec<(&[u8], &[u8])> {
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

/// A part's body as UTF-8: transfer encoding undone, then the charset.
pub fn decode_body(raw: &[u8], part: &MimePart) -> String {
    decode_body_prefix(raw, part, usize::MAX)
}

/// The first `max` encoded bytes of a part's body (cut after the last
/// line break within them, so no base64 quantum or `=XX` escape is split),
/// decoded as [`decode_body`] does.
pub fn decode_body_prefix(raw: &[u8], part: &MimePart, max: usize) -> String {
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
pub fn body_text(raw: &[u8], root: &MimePart, headers: bool) -> String {
    let mut out = String::new();
    walk(raw, root, headers, &mut |_, s| out.push_str(s));
    out
}

/// What [`walk`] hands out: a piece of a header block or of a body.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece {
    Head,
    Body,
}

/// The TEXT string of [`body_text`] split by kind, each folded: the header
/// blocks in order, and the body text (exactly BODY's). Every segment (a
/// header line, a part's body) ends with a line break in both the split and
/// the whole, so a needle without a line break is in TEXT's string exactly
/// when it is in one of the two, and in BODY's when it is in the second.
pub(crate) fn split_text(raw: &[u8], root: &MimePart) -> (String, String) {
    let (mut head, mut body) = (String::new(), String::new());
    walk(raw, root, true, &mut |kind, s| match kind {
        Piece::Head => head.push_str(s),
        Piece::Body => body.push_str(s),
    });
    (fold(&head), fold(&body))
}

fn walk(raw: &[u8], part: &MimePart, headers: bool, out: &mut dyn FnMut(Piece, &str)) {
    if headers {
        let h = raw
            .get(part.header_start as usize..part.body_start as usize)
            .unwrap_or_default();
        for (name, value) in header_fields(h) {
            out(Piece::Head, &utf8_or_latin1(name));
            out(Piece::Head, ": ");
            out(Piece::Head, &decode_header(value));
            out(Piece::Head, "\n");
        }
        out(Piece::Head, "\n");
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
        out(Piece::Body, &decode_body(raw, part));
        out(Piece::Body, "\n");
    }
}
