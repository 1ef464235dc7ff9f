//! NUL and the two literal forms. RFC 9051 §9: a `{n}` literal is CHAR8,
//! which has no NUL; only RFC 3516's `~{n}` may carry one, and only in
//! BINARY responses (and APPEND). So:
//! - an APPEND in `~{n}` has each part whose body holds NUL (under an
//!   identity encoding: none, 7bit, 8bit, binary) stored base64-encoded,
//!   as RFC 3516 §4.4 allows: BODY[] of it is then plain text and
//!   BINARY[] decodes back to the client's bytes. Parts without NUL keep
//!   their bytes, so BODY[] stays byte-exact wherever it can;
//! - BINARY[] data holding NUL goes in `~{n}`, other data in `{n}` (RFC
//!   3516 §4.3, the SHOULD of its errata 3978);
//! - a NUL stored anyway (in a header, in a broken base64 body, in mail
//!   from SMTP) goes out in a `{n}` as 0x80, one byte for one, so sizes
//!   and partial offsets hold (the stand-in ENVELOPE strings use too).

use base64::Engine as _;
use postern_store::{MimePart, meta_of, raw_bytes};

/// The byte a NUL becomes in a `{n}` literal.
const NUL_STAND_IN: u8 = 0x80;

/// Writes `name {n}\r\n<data>`, any NUL in `data` as 0x80.
pub fn body_literal(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    out.extend_from_slice(format!("{name} {{{}}}\r\n", data.len()).as_bytes());
    push_without_nul(out, data);
}

/// `data` with NUL as 0x80 (unchanged when it holds none).
pub(crate) fn push_without_nul(out: &mut Vec<u8>, data: &[u8]) {
    if data.contains(&0) {
        out.extend(data.iter().map(|&b| if b == 0 { NUL_STAND_IN } else { b }));
    } else {
        out.extend_from_slice(data);
    }
}

/// Writes `name ~{n}\r\n<data>` when `data` holds NUL, else `name {n}...`.
pub fn binary_literal(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    let tilde = if data.contains(&0) { "~" } else { "" };
    out.extend_from_slice(format!("{name} {tilde}{{{}}}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
}

/// The message with every leaf part whose body holds NUL (and whose
/// transfer encoding leaves bytes as they are) re-encoded as base64 with
/// its Content-Transfer-Encoding changed to match; `None` when nothing
/// needs it.
pub fn encode_nul_parts(raw: &[u8]) -> Option<Vec<u8>> {
    if !raw.contains(&0) {
        return None;
    }
    let meta = meta_of(raw);
    let mut edits: Vec<Edit> = Vec::new();
    collect(raw, &meta.body, &mut edits);
    if edits.is_empty() {
        return None;
    }
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 2);
    let mut pos = 0;
    for e in edits {
        if e.start < pos || e.end > raw.len() {
            // Overlapping offsets cannot come from one MIME tree; keep
            // the bytes rather than guess.
            return None;
        }
        out.extend_from_slice(&raw[pos..e.start]);
        out.extend_from_slice(&e.with);
        pos = e.end;
    }
    out.extend_from_slice(&raw[pos..]);
    Some(out)
}

/// Bytes `start..end` of the message replaced by `with`.
struct Edit {
    start: usize,
    end: usize,
    with: Vec<u8>,
}

fn collect(raw: &[u8], part: &MimePart, edits: &mut Vec<Edit>) {
    if part.is_multipart() {
        for p in &part.parts {
            collect(raw, p, edits);
        }
        return;
    }
    if let Some(m) = &part.message {
        collect(raw, &m.1, edits);
        return;
    }
    let (hs, bs) = (part.header_start as usize, part.body_start as usize);
    let end = (part.end as usize).min(raw.len());
    if hs > bs || bs > end || !raw[bs..end].contains(&0) {
        return;
    }
    // A base64 or quoted-printable body holding NUL is broken anyway; it
    // stays as written.
    let identity = part.encoding.as_ref().is_none_or(|cte| {
        let cte = raw_bytes(cte, part.latin1);
        ["7bit", "8bit", "binary"]
            .iter()
            .any(|e| cte.trim_ascii().eq_ignore_ascii_case(e.as_bytes()))
    });
    if !identity {
        return;
    }
    let header = &raw[hs..bs];
    let nl: &[u8] = if header.ends_with(b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    // The header must end in its empty line, where a new field goes.
    if !header.ends_with(nl) {
        return;
    }
    let blank = bs - nl.len();
    if blank > hs && raw[blank - 1] != b'\n' {
        return;
    }
    let mut field = b"Content-Transfer-Encoding: base64".to_vec();
    field.extend_from_slice(nl);
    let ctes = cte_fields(header);
    if ctes.is_empty() {
        edits.push(Edit {
            start: blank,
            end: blank,
            with: field,
        });
    } else {
        for (i, (s, e)) in ctes.into_iter().enumerate() {
            edits.push(Edit {
                start: hs + s,
                end: hs + e,
                with: if i == 0 { field.clone() } else { Vec::new() },
            });
        }
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(&raw[bs..end]);
    let mut body = Vec::with_capacity(b64.len() + b64.len() / 38 + 2);
    // RFC 2045 §6.8: lines of at most 76 characters.
    for (i, line) in b64.as_bytes().chunks(76).enumerate() {
        if i > 0 {
            body.extend_from_slice(nl);
        }
        body.extend_from_slice(line);
    }
    // A part at the very end of the message ends its last line; inside a
    // multipart the line end before the boundary is not the part's.
    if end == raw.len() {
        body.extend_from_slice(nl);
    }
    edits.push(Edit {
        start: bs,
        end,
        with: body,
    });
}

/// The byte ranges (continuation lines included) of the
/// Content-Transfer-Encoding fields of `header`.
fn cte_fields(header: &[u8]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut pos = 0;
    let mut in_cte = false;
    for line in header.split_inclusive(|&b| b == b'\n') {
        let start = pos;
        pos += line.len();
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if in_cte && let Some(last) = out.last_mut() {
                last.1 = pos;
            }
            continue;
        }
        in_cte = line.iter().position(|&b| b == b':').is_some_and(|c| {
            line[..c]
                .trim_ascii()
                .eq_ignore_ascii_case(b"Content-Transfer-Encoding")
        });
        if in_cte {
            out.push((start, pos));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary_of(raw: &[u8], part: &[u32]) -> Vec<u8> {
        crate::render::binary(raw, &meta_of(raw), part).expect("decodes")
    }

    #[test]
    fn a_binary_part_with_nul_becomes_base64_and_decodes_to_the_same_bytes() {
        let raw: &[u8] = b"Content-Type: multipart/mixed; boundary=xx\r\n\r\n\
            --xx\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
            --xx\r\nContent-Type: application/octet-stream\r\n\
            Content-Transfer-Encoding:\r\n binary\r\n\r\nab\0cd\0ef\r\n--xx--\r\n";
        let got = encode_nul_parts(raw).expect("converted");
        assert!(!got.contains(&0), "{got:?}");
        let want: &[u8] = b"Content-Type: multipart/mixed; boundary=xx\r\n\r\n\
            --xx\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
            --xx\r\nContent-Type: application/octet-stream\r\n\
            Content-Transfer-Encoding: base64\r\n\r\nYWIAY2QAZWY=\r\n--xx--\r\n";
        assert_eq!(got, want, "{}", String::from_utf8_lossy(&got));
        assert_eq!(binary_of(&got, &[2]), b"ab\0cd\0ef");
        assert_eq!(binary_of(&got, &[1]), binary_of(raw, &[1]));
    }

    #[test]
    fn a_single_part_without_cte_gets_one_and_long_bodies_wrap_at_76() {
        let body: Vec<u8> = (0..200u32).map(|i| (i % 7) as u8).collect();
        let mut raw = b"Subject: x\r\n\r\n".to_vec();
        raw.extend_from_slice(&body);
        let got = encode_nul_parts(&raw).expect("converted");
        let text = String::from_utf8(got.clone()).expect("ASCII");
        assert!(
            text.starts_with("Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\n"),
            "{text}"
        );
        assert!(text.ends_with("\r\n"), "{text}");
        assert!(text.lines().all(|l| l.len() <= 76), "{text}");
        assert_eq!(binary_of(&got, &[1]), body);
    }

    #[test]
    fn nothing_changes_without_nul_or_with_nul_only_in_a_header() {
        assert_eq!(encode_nul_parts(b"Subject: x\r\n\r\nbody\r\n"), None);
        assert_eq!(encode_nul_parts(b"Subject: a\0b\r\n\r\nbody\r\n"), None);
        let b64 = b"Content-Transfer-Encoding: base64\r\n\r\nYW\0Jj\r\n";
        assert_eq!(encode_nul_parts(b64), None);
    }

    #[test]
    fn literals_never_carry_nul_in_the_plain_form() {
        let mut out = Vec::new();
        body_literal(&mut out, "BODY[]", b"a\0b");
        assert_eq!(out, b"BODY[] {3}\r\na\x80b");
        out.clear();
        binary_literal(&mut out, "BINARY[1]", b"a\0b");
        assert_eq!(out, b"BINARY[1] ~{3}\r\na\0b");
        out.clear();
        binary_literal(&mut out, "BINARY[1]", b"ab\xff");
        assert_eq!(out, b"BINARY[1] {3}\r\nab\xff");
    }
}
