//! RFC 8601 §5: a border MTA deletes every Authentication-Results field
//! that claims to come from inside its own trust boundary (an authserv-id
//! equal to its own) before adding its own; otherwise a sender could
//! deliver a forged "dkim=pass" that looks like ours. The same goes for
//! spam verdicts: with the filter on, every `X-Spam-*` field a message
//! arrives with is dropped, so only ours is there to be read (by a person,
//! a client's filter rule, or Sieve).

use std::borrow::Cow;

/// `message` without the header fields `Authentication-Results` whose
/// authserv-id is `authserv_id` (ASCII case-insensitive). Only the header
/// section is looked at; folded fields go whole.
pub fn strip_own_results<'a>(message: &'a [u8], authserv_id: &str) -> Cow<'a, [u8]> {
    strip_fields(message, |f| is_own(f, authserv_id))
}

/// [`strip_own_results`], and with `spam_verdicts` every `X-Spam-*` field.
pub fn strip_inbound<'a>(
    message: &'a [u8],
    authserv_id: &str,
    spam_verdicts: bool,
) -> Cow<'a, [u8]> {
    strip_fields(message, |f| {
        is_own(f, authserv_id) || (spam_verdicts && is_spam_verdict(f))
    })
}

/// `message` without the header fields `drop` picks.
fn strip_fields(message: &[u8], drop: impl Fn(&[u8]) -> bool) -> Cow<'_, [u8]> {
    let header_end = header_len(message);
    let mut fields: Vec<(usize, usize)> = Vec::new();
    let mut pos = 0;
    while pos < header_end {
        let mut end = line_end(message, pos, header_end);
        // Continuation lines begin with white space (RFC 5322 §2.2.3).
        while end < header_end && matches!(message[end], b' ' | b'\t') {
            end = line_end(message, end, header_end);
        }
        fields.push((pos, end));
        pos = end;
    }
    let drop: Vec<(usize, usize)> = fields
        .into_iter()
        .filter(|&(s, e)| drop(&message[s..e]))
        .collect();
    if drop.is_empty() {
        return Cow::Borrowed(message);
    }
    let mut out = Vec::with_capacity(message.len());
    let mut from = 0;
    for (s, e) in drop {
        out.extend_from_slice(&message[from..s]);
        from = e;
    }
    out.extend_from_slice(&message[from..]);
    Cow::Owned(out)
}

/// Octets up to the blank line (not included), or all when there is none.
fn header_len(m: &[u8]) -> usize {
    let mut pos = 0;
    while pos < m.len() {
        if m[pos..].starts_with(b"\r\n") || m[pos] == b'\n' {
            return pos;
        }
        pos = line_end(m, pos, m.len());
    }
    m.len()
}

/// The start of the line after the one at `pos` (past its LF), at most `limit`.
fn line_end(m: &[u8], pos: usize, limit: usize) -> usize {
    m[pos..limit]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(limit, |i| pos + i + 1)
}

/// Whether a field's name starts with `X-Spam-`.
fn is_spam_verdict(field: &[u8]) -> bool {
    field.len() > 7 && field[..7].eq_ignore_ascii_case(b"x-spam-") && field.contains(&b':')
}

/// Whether one whole field is `Authentication-Results: <authserv_id>;…`.
fn is_own(field: &[u8], authserv_id: &str) -> bool {
    let Some(colon) = field.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = field[..colon].trim_ascii();
    if !name.eq_ignore_ascii_case(b"authentication-results") {
        return false;
    }
    let value = skip_cfws(&field[colon + 1..]);
    let id_len = value
        .iter()
        .position(|&b| matches!(b, b';' | b' ' | b'\t' | b'\r' | b'\n' | b'('))
        .unwrap_or(value.len());
    value[..id_len].eq_ignore_ascii_case(authserv_id.as_bytes())
}

/// Leading white space, line breaks and (nested) comments.
fn skip_cfws(mut v: &[u8]) -> &[u8] {
    loop {
        v = v.trim_ascii_start();
        if v.first() != Some(&b'(') {
            return v;
        }
        let mut depth = 0usize;
        let mut i = 0;
        while i < v.len() {
            match v[i] {
                b'\\' => i += 1,
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        v = v.get(i + 1..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::{strip_inbound, strip_own_results};

    #[test]
    fn spam_verdicts_go_only_when_asked() {
        let msg = b"X-Spam-Status: No, score=-5.0\r\nx-spam-flag:\r\n NO\r\nX-Spamd: kept\r\nSubject: s\r\n\r\nX-Spam-Status: in the body\r\n";
        assert_eq!(&*strip_inbound(msg, "mx.example.org", false), &msg[..]);
        assert_eq!(
            &*strip_inbound(msg, "mx.example.org", true),
            &b"X-Spamd: kept\r\nSubject: s\r\n\r\nX-Spam-Status: in the body\r\n"[..]
        );
    }

    #[test]
    fn forged_results_for_our_host_go_and_everything_else_stays() {
        let msg = b"Received: from x by y\r\n\
Authentication-Results: MX.example.org;\r\n  dkim=pass header.d=bank.example\r\n\
Authentication-Results: other.example; spf=fail\r\n\
Authentication-Results: (comment) mx.example.org; dmarc=pass\r\n\
Subject: hi\r\n\
\r\n\
Authentication-Results: mx.example.org; in the body, kept\r\n";
        let out = strip_own_results(msg, "mx.example.org");
        let text = String::from_utf8_lossy(&out);
        assert_eq!(
            text,
            "Received: from x by y\r\n\
Authentication-Results: other.example; spf=fail\r\n\
Subject: hi\r\n\
\r\n\
Authentication-Results: mx.example.org; in the body, kept\r\n"
        );
    }

    #[test]
    fn a_message_without_such_fields_is_not_copied() {
        let msg = b"Subject: hi\r\nX-Authentication-Results: mx.example.org; x\r\n\r\nbody\r\n";
        assert!(matches!(
            strip_own_results(msg, "mx.example.org"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert!(matches!(
            strip_own_results(b"", "mx.example.org"),
            std::borrow::Cow::Borrowed(_)
        ));
        // A prefix of our name is another host.
        let other = b"Authentication-Results: mx.example.org.evil; x\r\n\r\n";
        assert_eq!(&*strip_own_results(other, "mx.example.org"), &other[..]);
    }
}
