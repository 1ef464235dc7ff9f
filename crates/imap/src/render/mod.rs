//! FETCH rendering: ENVELOPE, BODY, BODYSTRUCTURE, `BODY[section]<partial>`
//! and `BINARY[part]` (RFC 3516) from the store's cached `MessageMeta` and the raw message bytes;
//! `nul.rs` keeps NUL out of `{n}` literals (and re-encodes parts holding
//! NUL that arrive in an APPEND's `~{n}`); `preview.rs` the PREVIEW text
//! (RFC 8970); `stored.rs` the ENVELOPE and BODYSTRUCTURE kept in a
//! message's row.
//!
//! Pure functions: no I/O, no store calls, no tokio. The session fetches
//! the meta and the blob; these turn them into the IMAP values of RFC 9051
//! §7.5.2 (and RFC 3501 §7.4.2), written the way Dovecot 2.3 writes them so
//! clients see what they see from the server most of them were tested
//! against. `corpus_tests.rs` checks every value against Dovecot's answers
//! for the shared corpus.
//!
//! Implementation notes
//! - Strings are quoted unless they hold 8-bit bytes, CR/LF, or more than
//!   four `"`/`\` (then a literal); subjects and display names are written
//!   "for humans": folds, TABs and runs of white space become one space,
//!   and anything changed, 8-bit or holding `"`/`\` becomes a literal.
//! - Sender and Reply-To default to From (RFC 9051 §7.5.2).
//! - A multipart without children (no boundary found) is written with one
//!   empty text/plain child, as the grammar needs at least one body.

mod binary;
mod bodystructure;
mod envelope;
mod nul;
mod preview;
mod section;
mod stored;

pub use binary::{BinaryError, binary};
pub use bodystructure::body_structure;
pub use envelope::envelope;
pub use nul::{binary_literal, body_literal, encode_nul_parts};
pub use preview::{MAX_PREVIEW_CHARS, PreviewLimits, preview};
pub use section::{SectionPart, SectionSpec, partial, section};
pub use stored::{STORED_VERSION, split_stored, stored_structure};

/// `nstring` (RFC 9051 §4.3): NIL, a quoted string, or a literal when the
/// bytes cannot be quoted (8-bit, CR/LF) or would need many escapes.
pub(crate) fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        None => out.extend_from_slice(b"NIL"),
        Some(s) => string(out, s),
    }
}

/// `string`: quoted with `\` escapes, or a literal.
pub(crate) fn string(out: &mut Vec<u8>, s: &[u8]) {
    let mut escapes = 0;
    let literal = s.iter().any(|&b| match b {
        b'"' | b'\\' => {
            escapes += 1;
            escapes > 4
        }
        b'\r' | b'\n' | 0 => true,
        b => b >= 0x80,
    });
    if literal {
        literal_of(out, s);
    } else {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    }
}

/// A `{n}` literal, which cannot carry NUL (RFC 9051 §9): 0x80 stands in.
fn literal_of(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
    nul::push_without_nul(out, s);
}

/// An nstring with CR and LF removed (unfolding header values that are
/// not for humans: Date, Message-ID, In-Reply-To, Content-ID, ...).
pub(crate) fn nstring_nolf(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) if s.iter().any(|&b| b == b'\r' || b == b'\n') => {
            let v: Vec<u8> = s
                .iter()
                .copied()
                .filter(|&b| b != b'\r' && b != b'\n')
                .collect();
            string(out, &v);
        }
        other => nstring(out, other),
    }
}

/// A string meant to be read by people (subjects, display names): white
/// space runs become one space and are trimmed; changed, 8-bit or
/// escape-needing text is sent as a literal, plain text quoted.
pub(crate) fn string_for_humans(out: &mut Vec<u8>, s: &[u8]) {
    // Anything to change? NUL, CR, LF, TAB, a space after white space (or
    // leading), trailing white space, 8-bit, or a quoted-special.
    let mut modify = false;
    let mut last_lwsp = true;
    for &b in s {
        match b {
            b' ' => {
                modify |= last_lwsp;
                last_lwsp = true;
            }
            b'\r' | b'\n' | b'\t' => {
                modify = true;
                last_lwsp = true;
            }
            b => {
                modify |= b == 0 || b == b'"' || b == b'\\' || b >= 0x80;
                last_lwsp = false;
            }
        }
    }
    modify |= last_lwsp && !s.is_empty();
    if !modify {
        out.push(b'"');
        out.extend_from_slice(s);
        out.push(b'"');
        return;
    }
    let mut v = Vec::with_capacity(s.len());
    let mut last_lwsp = true;
    for &b in s {
        match b {
            0 => {
                v.push(0x80);
                last_lwsp = false;
            }
            b'\r' | b'\n' | b'\t' | b' ' => {
                if !last_lwsp {
                    v.push(b' ');
                }
                last_lwsp = true;
            }
            b => {
                v.push(b);
                last_lwsp = false;
            }
        }
    }
    if last_lwsp && v.last() == Some(&b' ') {
        v.pop();
    }
    if v.is_empty() {
        out.extend_from_slice(b"\"\"");
        return;
    }
    literal_of(out, &v);
}

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;
