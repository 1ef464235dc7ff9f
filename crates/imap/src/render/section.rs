//! `BODY[section]<origin.count>` (RFC 9051 §6.4.5, §7.5.2): slices of the
//! raw message picked with the cached MIME offsets.
//!
//! Part numbers follow RFC 9051: the top level of a non-multipart message
//! is part 1; the parts of a message/rfc822 are numbered inside it
//! (`2.1`), and when the attached message is not multipart `2.1` is its
//! body. `x.MIME` is part x's own header, so `1.MIME` of a non-multipart
//! message is the message header and `x.1.MIME` of a non-multipart
//! attached message is that message's header (Dovecot does the same).

use postern_store::{MessageMeta, MimePart};

/// What of the addressed part is wanted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SectionPart {
    /// `BODY[]` or `BODY[1.2]`: the whole message or the part's body.
    Whole,
    /// `HEADER`: the (attached) message's header, blank line included.
    Header,
    /// `HEADER.FIELDS (A B)`: only those fields, then the blank line.
    HeaderFields(Vec<String>),
    /// `HEADER.FIELDS.NOT (A B)`: every field but those, then the blank line.
    HeaderFieldsNot(Vec<String>),
    /// `TEXT`: the (attached) message's body.
    Text,
    /// `MIME`: the part's own MIME header (needs part numbers).
    Mime,
}

/// A section spec: part numbers (empty for the top level) and what of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionSpec {
    pub parts: Vec<u32>,
    pub what: SectionPart,
}

impl SectionSpec {
    /// Reads the text between the brackets of `BODY[...]`, e.g.
    /// `1.2.HEADER.FIELDS (FROM SUBJECT)`. None when it is not a section.
    pub fn parse(s: &str) -> Option<SectionSpec> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(c) = rest.chars().next().filter(char::is_ascii_digit) {
            let _ = c;
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let n: u32 = rest[..end].parse().ok().filter(|&n| n > 0)?;
            parts.push(n);
            rest = &rest[end..];
            match rest.strip_prefix('.') {
                Some(r) => rest = r,
                None if rest.is_empty() => break,
                None => return None,
            }
        }
        let upper = rest.to_ascii_uppercase();
        let fields = |prefix: &str| -> Option<Vec<String>> {
            let list = upper.strip_prefix(prefix)?.trim();
            let list = list.strip_prefix('(')?.strip_suffix(')')?;
            Some(list.split_whitespace().map(String::from).collect())
        };
        let what = match upper.as_str() {
            "" => SectionPart::Whole,
            "HEADER" => SectionPart::Header,
            "TEXT" => SectionPart::Text,
            "MIME" if !parts.is_empty() => SectionPart::Mime,
            _ if upper.starts_with("HEADER.FIELDS.NOT") => {
                SectionPart::HeaderFieldsNot(fields("HEADER.FIELDS.NOT")?)
            }
            _ if upper.starts_with("HEADER.FIELDS") => {
                SectionPart::HeaderFields(fields("HEADER.FIELDS")?)
            }
            _ => return None,
        };
        if s.ends_with('.') {
            return None;
        }
        Some(SectionSpec { parts, what })
    }
}

/// Where part numbers lead.
pub(super) enum Target<'a> {
    Part(&'a MimePart),
    /// The made-up child of a multipart without children: empty.
    Empty,
}

/// Follows part numbers from a message's body part (RFC 9051 §6.4.5).
pub(super) fn resolve<'a>(root: &'a MimePart, nums: &[u32]) -> Option<Target<'a>> {
    let mut cur = root;
    for (i, &k) in nums.iter().enumerate() {
        let idx = usize::try_from(k).ok()?.checked_sub(1)?;
        let next = if cur.is_multipart() {
            if cur.parts.is_empty() && idx == 0 {
                return (i + 1 == nums.len()).then_some(Target::Empty);
            }
            cur.parts.get(idx)?
        } else if idx == 0 {
            cur
        } else {
            return None;
        };
        if i + 1 == nums.len() {
            return Some(Target::Part(next));
        }
        cur = match &next.message {
            Some(m) => &m.1,
            None => next,
        };
    }
    Some(Target::Part(root))
}

fn slice(raw: &[u8], a: u32, b: u32) -> Vec<u8> {
    let (a, b) = (a as usize, b as usize);
    raw.get(a.min(raw.len())..b.min(raw.len()))
        .unwrap_or_default()
        .to_vec()
}

/// The bytes of a section, or None when the part does not exist (the
/// session answers NO or an empty string, its choice).
pub fn section(raw: &[u8], meta: &MessageMeta, spec: &SectionSpec) -> Option<Vec<u8>> {
    // The message whose HEADER/TEXT is meant: its body part.
    let target = if spec.parts.is_empty() {
        Target::Part(&meta.body)
    } else {
        resolve(&meta.body, &spec.parts)?
    };
    let part = match target {
        Target::Empty => return Some(Vec::new()),
        Target::Part(p) => p,
    };
    let message_body = || -> Option<&MimePart> {
        if spec.parts.is_empty() {
            Some(&meta.body)
        } else {
            part.message.as_deref().map(|m| &m.1)
        }
    };
    Some(match &spec.what {
        SectionPart::Whole if spec.parts.is_empty() => raw.to_vec(),
        SectionPart::Whole => slice(raw, part.body_start, part.end),
        SectionPart::Mime => slice(raw, part.header_start, part.body_start),
        SectionPart::Header => {
            let m = message_body()?;
            slice(raw, m.header_start, m.body_start)
        }
        SectionPart::Text => {
            let m = message_body()?;
            slice(raw, m.body_start, m.end)
        }
        SectionPart::HeaderFields(names) => {
            let m = message_body()?;
            header_fields(&slice(raw, m.header_start, m.body_start), names, false)
        }
        SectionPart::HeaderFieldsNot(names) => {
            let m = message_body()?;
            header_fields(&slice(raw, m.header_start, m.body_start), names, true)
        }
    })
}

/// The fields of `header` whose names are (or, with `not`, are not) in
/// `names`, as written, then the blank line (RFC 9051 §6.4.5).
fn header_fields(header: &[u8], names: &[String], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut keep = false;
    let mut pos = 0;
    while pos < header.len() {
        let next = header[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(header.len(), |i| pos + i + 1);
        let line = &header[pos..next];
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        if !matches!(line[0], b' ' | b'\t') {
            let name = match line.iter().position(|&b| b == b':') {
                Some(c) => line[..c].trim_ascii_end(),
                None => line.trim_ascii_end(),
            };
            let listed = names
                .iter()
                .any(|n| n.as_bytes().eq_ignore_ascii_case(name));
            keep = listed != not;
        }
        if keep {
            out.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
        pos = next;
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// `<origin.count>` of a section (RFC 9051 §6.4.5): from `origin`, at most
/// `count` octets; empty when `origin` is past the end.
pub fn partial(data: &[u8], origin: u32, count: Option<u32>) -> &[u8] {
    let start = (origin as usize).min(data.len());
    let end = match count {
        Some(c) => start.saturating_add(c as usize).min(data.len()),
        None => data.len(),
    };
    &data[start..end]
}
