//! BODY and BODYSTRUCTURE (RFC 9051 §7.5.2, RFC 3501 §7.4.2): the MIME
//! tree with sizes, line counts, attached messages and, for
//! BODYSTRUCTURE, the extension data (MD5, disposition, language,
//! location; multipart parameters).

use postern_store::{MessageMeta, MimePart, raw_bytes};

use super::envelope::write_envelope;
use super::{nstring_nolf, string};

/// What a multipart without children is reported as (the grammar needs
/// one body part at least).
const EMPTY_BODY: &[u8] = b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)";
const EMPTY_BODYSTRUCTURE: &[u8] =
    b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)";

/// BODY (`extensible` false) or BODYSTRUCTURE (true) of a message. `raw` is
/// not needed today (sizes and line counts are cached) but keeps the door
/// open for values computed on demand.
pub fn body_structure(meta: &MessageMeta, _raw: &[u8], extensible: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    write_part(&mut out, &meta.body, extensible);
    out
}

fn write_part(out: &mut Vec<u8>, p: &MimePart, ext: bool) {
    out.push(b'(');
    if p.is_multipart() {
        write_multipart(out, p, ext);
    } else {
        write_single(out, p, ext);
    }
    out.push(b')');
}

fn s<'a>(p: &MimePart, v: &'a str) -> std::borrow::Cow<'a, [u8]> {
    raw_bytes(v, p.latin1)
}

fn write_multipart(out: &mut Vec<u8>, p: &MimePart, ext: bool) {
    if p.parts.is_empty() {
        out.extend_from_slice(if ext { EMPTY_BODYSTRUCTURE } else { EMPTY_BODY });
    }
    for c in &p.parts {
        write_part(out, c, ext);
    }
    out.push(b' ');
    string(out, &s(p, &p.subtype));
    if !ext {
        return;
    }
    out.push(b' ');
    params(out, p, &p.params);
    common_ext(out, p);
}

fn write_single(out: &mut Vec<u8>, p: &MimePart, ext: bool) {
    let text = p.media_type.eq_ignore_ascii_case("text");
    if p.message.is_some() {
        out.extend_from_slice(b"\"message\" \"rfc822\"");
    } else {
        string(out, &s(p, &p.media_type));
        out.push(b' ');
        string(out, &s(p, &p.subtype));
    }
    out.push(b' ');
    params(out, p, &p.params);
    out.push(b' ');
    nstring_nolf(out, p.id.as_deref().map(|v| s(p, v)).as_deref());
    out.push(b' ');
    nstring_nolf(out, p.description.as_deref().map(|v| s(p, v)).as_deref());
    out.push(b' ');
    match &p.encoding {
        Some(e) => string(out, &s(p, e)),
        None => out.extend_from_slice(b"\"7bit\""),
    }
    let size = p.end.saturating_sub(p.body_start);
    out.extend_from_slice(format!(" {size}").as_bytes());
    if let Some(m) = &p.message {
        let (env, body) = &**m;
        out.push(b' ');
        write_envelope(out, env);
        out.push(b' ');
        write_part(out, body, ext);
        out.extend_from_slice(format!(" {}", p.lines).as_bytes());
    } else if text {
        out.extend_from_slice(format!(" {}", p.lines).as_bytes());
    }
    if !ext {
        return;
    }
    out.push(b' ');
    nstring_nolf(out, p.md5.as_deref().map(|v| s(p, v)).as_deref());
    common_ext(out, p);
}

/// `body-fld-param`: NIL or `("name" "value" ...)`.
fn params(out: &mut Vec<u8>, p: &MimePart, list: &[(String, String)]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, (k, v)) in list.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        string(out, &s(p, k));
        out.push(b' ');
        string(out, &s(p, v));
    }
    out.push(b')');
}

/// Disposition, language, location (RFC 9051 §7.5.2 `body-ext-*`).
fn common_ext(out: &mut Vec<u8>, p: &MimePart) {
    out.push(b' ');
    match &p.disposition {
        None => out.extend_from_slice(b"NIL"),
        Some((t, list)) => {
            out.push(b'(');
            string(out, &s(p, t));
            out.push(b' ');
            params(out, p, list);
            out.push(b')');
        }
    }
    out.push(b' ');
    if p.language.is_empty() {
        out.extend_from_slice(b"NIL");
    } else {
        out.push(b'(');
        for (i, l) in p.language.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            string(out, &s(p, l));
        }
        out.push(b')');
    }
    out.push(b' ');
    nstring_nolf(out, p.location.as_deref().map(|v| s(p, v)).as_deref());
}
