//! FETCH PREVIEW (RFC 8970): a short plain-text extract of a message,
//! found through the cached MIME tree (no re-parse) and cut from the
//! first readable part's bytes.
//!
//! Choices where RFC 8970 leaves room:
//! - The part: the first text/plain or text/html leaf that is not an
//!   attachment, walking multiparts in order; in multipart/alternative a
//!   text/plain alternative wins over HTML. Attached messages are not
//!   this message's text and are skipped. No such part: `""` (§3.2: no
//!   meaningful preview is a zero-length string).
//! - HTML loses its markup, `<style>`/`<script>`/`<head>` contents and
//!   the common entities (§3.3: "SHOULD remove any formatting markup").
//! - White space runs (line breaks included) become one space, control
//!   characters go, both ends are trimmed; then at most `chars` Unicode
//!   code points are kept (§3.3: never more than 256).
//! - Only the first `scan_bytes` of the part are decoded, so a huge body
//!   costs no more than a small one.

use postern_store::MimePart;

use crate::query::text::decode_body_prefix;

/// RFC 8970 §3.3: a preview is at most 256 characters.
pub const MAX_PREVIEW_CHARS: usize = 256;

/// How long a preview may be, and how much of a part is read for it.
#[derive(Clone, Copy, Debug)]
pub struct PreviewLimits {
    /// Unicode code points kept, at most [`MAX_PREVIEW_CHARS`].
    pub chars: usize,
    /// Encoded bytes of the part decoded at most.
    pub scan_bytes: usize,
}

/// The preview of the message `raw`, whose MIME tree is `root`.
pub fn preview(raw: &[u8], root: &MimePart, limits: PreviewLimits) -> String {
    let Some((part, html)) = pick(root) else {
        return String::new();
    };
    // Markup takes room: read more of an HTML part for the same text.
    let scan = if html {
        limits.scan_bytes.saturating_mul(4)
    } else {
        limits.scan_bytes
    };
    let text = decode_body_prefix(raw, part, scan);
    let text = if html { html_text(&text) } else { text };
    squeeze(&text, limits.chars.min(MAX_PREVIEW_CHARS))
}

/// The part to preview and whether it is HTML.
fn pick(part: &MimePart) -> Option<(&MimePart, bool)> {
    if is_attachment(part) || part.message.is_some() {
        return None;
    }
    if part.is_multipart() {
        let mut found = part.parts.iter().filter_map(pick);
        if part.subtype.eq_ignore_ascii_case("alternative") {
            let all: Vec<_> = found.collect();
            return all.iter().find(|(_, html)| !html).or(all.first()).copied();
        }
        return found.next();
    }
    if !part.media_type.eq_ignore_ascii_case("text") {
        return None;
    }
    if part.subtype.eq_ignore_ascii_case("plain") {
        Some((part, false))
    } else if part.subtype.eq_ignore_ascii_case("html") {
        Some((part, true))
    } else {
        None
    }
}

fn is_attachment(part: &MimePart) -> bool {
    part.disposition
        .as_ref()
        .is_some_and(|(d, _)| d.eq_ignore_ascii_case("attachment"))
}

/// Elements whose content is never text to show.
const HIDDEN: [&str; 3] = ["style", "script", "head"];

/// HTML to its text: tags and comments removed (each leaves a space, as
/// `<br>` or `</p>` would), hidden elements' content dropped, entities
/// decoded.
fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(lt) = rest.find(['<', '&']) {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        if rest.starts_with('&') {
            let (text, len) = entity(rest);
            out.push_str(text.as_deref().unwrap_or("&"));
            rest = &rest[len..];
            continue;
        }
        if let Some(body) = rest.strip_prefix("<!--") {
            rest = body.find("-->").map_or("", |e| &body[e + 3..]);
            out.push(' ');
            continue;
        }
        let Some(gt) = rest.find('>') else {
            rest = "";
            break;
        };
        let name: String = rest[1..gt]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        rest = &rest[gt + 1..];
        if HIDDEN.contains(&name.as_str()) {
            // Skip to the matching end tag (or the end of what was read).
            let close = format!("</{name}");
            rest = find_ci(rest, &close).map_or("", |i| {
                rest[i..].find('>').map_or("", |g| &rest[i + g + 1..])
            });
        }
        out.push(' ');
    }
    out.push_str(rest);
    out
}

/// Byte offset of `needle` (ASCII) in `hay`, ignoring ASCII case.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.len();
    hay.as_bytes()
        .windows(n)
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The entity at the start of `s` (which starts with `&`): its text and
/// length, or `None` and 1 when it is not one we know.
fn entity(s: &str) -> (Option<String>, usize) {
    let Some(semi) = s.get(..12.min(s.len())).and_then(|h| h.find(';')) else {
        return (None, 1);
    };
    let name = &s[1..semi];
    let text = match name {
        "amp" => Some("&".to_string()),
        "lt" => Some("<".into()),
        "gt" => Some(">".into()),
        "quot" => Some("\"".into()),
        "apos" => Some("'".into()),
        "nbsp" => Some(" ".into()),
        _ => name
            .strip_prefix("#x")
            .or_else(|| name.strip_prefix("#X"))
            .map(|h| u32::from_str_radix(h, 16))
            .or_else(|| name.strip_prefix('#').map(str::parse::<u32>))
            .and_then(Result::ok)
            .and_then(char::from_u32)
            .map(String::from),
    };
    match text {
        Some(t) => (Some(t), semi + 1),
        None => (None, 1),
    }
}

/// White space runs as one space, no control characters, trimmed, at
/// most `max` code points.
fn squeeze(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut n = 0;
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if c.is_control() {
            continue;
        }
        if space {
            if n + 1 >= max {
                break;
            }
            out.push(' ');
            n += 1;
            space = false;
        }
        if n >= max {
            break;
        }
        out.push(c);
        n += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PreviewLimits = PreviewLimits {
        chars: 256,
        scan_bytes: 64 * 1024,
    };

    fn of(msg: &str) -> String {
        let raw = msg.replace('\n', "\r\n").into_bytes();
        let meta = postern_store::meta_of(&raw);
        preview(&raw, &meta.body, LIMITS)
    }

    #[test]
    fn plain_text_is_squeezed_and_trimmed() {
        assert_eq!(
            of("Subject: x\n\n  Hello,\n\n\tthis is   the\ttext.  \n"),
            "Hello, this is the text."
        );
    }

    #[test]
    fn alternative_prefers_plain_and_skips_attachments() {
        let alt = "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: multipart/alternative; boundary=a\n\n--a\nContent-Type: text/html\n\n<p>html</p>\n--a\nContent-Type: text/plain\n\nplain words\n--a--\n--m\nContent-Type: text/plain\nContent-Disposition: attachment\n\nattached\n--m--\n";
        assert_eq!(of(alt), "plain words");
        let att = "Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\nContent-Disposition: attachment\n\nattached\n--m\nContent-Type: image/png\n\nxx\n--m--\n";
        assert_eq!(of(att), "", "no readable part: an empty preview");
    }

    #[test]
    fn html_loses_markup_hidden_elements_and_entities() {
        let html = "Content-Type: text/html\n\n<html><head><title>T</title><style>p{color:red}</style></head><body><p>Fish &amp; chips&nbsp;&#233;t&#xE9;</p><!-- no --><script>x()</script><br>done</body></html>\n";
        assert_eq!(of(html), "Fish & chips été done");
    }

    #[test]
    fn encoded_text_is_decoded_and_cut_at_the_limit_in_code_points() {
        let qp = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 ";
        let body = "é".repeat(300);
        let p = of(&format!("{qp}{body}\n"));
        assert_eq!(p.chars().count(), 256);
        assert!(p.starts_with("café éé"), "{p}");
        let short = PreviewLimits {
            chars: 7,
            scan_bytes: 64,
        };
        let raw = b"Subject: x\r\n\r\none two three\r\n";
        let meta = postern_store::meta_of(raw);
        assert_eq!(preview(raw, &meta.body, short), "one two");
    }

    #[test]
    fn only_scan_bytes_of_a_part_are_read() {
        let limits = PreviewLimits {
            chars: 256,
            scan_bytes: 12,
        };
        let raw = b"Subject: x\r\n\r\nfirst line\r\nsecond line\r\n";
        let meta = postern_store::meta_of(raw);
        assert_eq!(preview(raw, &meta.body, limits), "first line");
    }
}
