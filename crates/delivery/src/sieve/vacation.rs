//! Vacation (RFC 5230, `:seconds` RFC 6131): when a reply must not be
//! sent whatever the script says, how what was replied to is remembered,
//! and the script `postern user vacation` writes. The interpreter builds
//! the reply (`Auto-Submitted: auto-replied`, `In-Reply-To`,
//! `References`); `actions.rs` signs it and queues it from `<>`.

use sha2::{Digest, Sha256};

/// Whether no automatic reply may go to this message (RFC 5230 §4.6,
/// RFC 3834 §2): a null sender, a mailing list (`List-*`), `Precedence`
/// bulk, list or junk, or `Auto-Submitted` other than `no`.
pub(crate) fn suppressed(raw: &[u8], mail_from: &str) -> bool {
    if mail_from.is_empty() {
        return true;
    }
    let local = mail_from.rsplit_once('@').map_or(mail_from, |p| p.0);
    let local = local.to_ascii_lowercase();
    if local == "mailer-daemon" || local.starts_with("owner-") || local.ends_with("-request") {
        return true;
    }
    let Some(headers) = mail_parser::MessageParser::new().parse_headers(raw) else {
        return false;
    };
    for h in headers.headers() {
        let name = h.name.as_str().to_ascii_lowercase();
        let text = || {
            h.value
                .as_text()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        };
        if name.starts_with("list-") {
            return true;
        }
        if name == "precedence" && matches!(text().as_str(), "bulk" | "list" | "junk") {
            return true;
        }
        if name == "auto-submitted" && text().split(';').next().is_some_and(|v| v.trim() != "no") {
            return true;
        }
    }
    false
}

/// The header fields the interpreter writes in a vacation reply.
const REPLY_FIELDS: &[&str] = &[
    "from",
    "to",
    "subject",
    "in-reply-to",
    "references",
    "date",
    "message-id",
    "auto-submitted",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// Whether a reply the interpreter built may leave as `user`'s: its header
/// block holds only the fields a reply has (a `:subject` with a line break
/// cannot add others, such as `Bcc`), and its From is the user's own
/// address (RFC 5230 §4.4 lets us refuse others: `:from` must not forge
/// someone else's). A refused reply is not sent; the message is still filed.
pub(crate) fn reply_is_sound(reply: &[u8], user: &str) -> bool {
    let end = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(reply.len());
    let head = String::from_utf8_lossy(&reply[..end]);
    let fields_ok = head.split("\r\n").all(|line| {
        line.starts_with([' ', '\t'])
            || line.split_once(':').is_some_and(|(name, _)| {
                REPLY_FIELDS.contains(&name.trim().to_ascii_lowercase().as_str())
            })
    });
    let from_ok = mail_parser::MessageParser::new()
        .parse_headers(reply)
        .and_then(|m| {
            let from = m.from()?;
            Some(
                from.iter().count() == 1
                    && from
                        .iter()
                        .all(|a| a.address().is_some_and(|x| x.eq_ignore_ascii_case(user))),
            )
        })
        .unwrap_or(false);
    fields_ok && from_ok
}

/// The stored form of a key the interpreter names (sender and handle, or
/// a `duplicate` id): its SHA-256, so a long reason makes no long row.
pub(crate) fn key(id: &str) -> String {
    Sha256::digest(id.to_ascii_lowercase().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The name `postern user vacation` stores its script under.
pub const SCRIPT_NAME: &str = "postern-vacation";

/// The first line of that script when it runs the user's own script after
/// the reply (`--off` makes that one active again).
const PREVIOUS: &str = "# postern-vacation previous: ";

/// What `postern user vacation --on` stores as the user's script: a reply
/// of `subject` and `message` once per sender every `days`, until `until`
/// (`YYYY-MM-DD`, compared with today's date, RFC 5260 §5), then the
/// script that was active before (`previous`), so their filters still run.
pub fn script(
    subject: &str,
    message: &str,
    days: u32,
    until: Option<&str>,
    previous: Option<&str>,
) -> String {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut body = String::new();
    // A multi-line text (RFC 5228 §2.4.2): a line that is only "." ends it,
    // so lines that start with a dot are dot-stuffed.
    for line in message.lines() {
        if line.starts_with('.') {
            body.push('.');
        }
        body.push_str(line);
        body.push_str("\r\n");
    }
    let mut out = String::new();
    if let Some(p) = previous {
        out.push_str(&format!("{PREVIOUS}{}\r\n", p.replace(['\r', '\n'], "")));
    }
    let mut require = vec!["\"vacation\""];
    if until.is_some() {
        require.extend(["\"date\"", "\"relational\""]);
    }
    if previous.is_some() {
        require.push("\"include\"");
    }
    out.push_str(&format!("require [{}];\r\n", require.join(", ")));
    // The subject becomes a header field of the reply: one line.
    let subject = subject.replace(['\r', '\n'], " ");
    let vacation = format!(
        "vacation :days {days} :subject \"{}\" text:\r\n{body}.\r\n;\r\n",
        quote(&subject)
    );
    match until {
        Some(date) => out.push_str(&format!(
            "if currentdate :value \"le\" \"date\" \"{}\" {{\r\n{vacation}}}\r\n",
            quote(date)
        )),
        None => out.push_str(&vacation),
    }
    if let Some(p) = previous {
        out.push_str(&format!("include :personal \"{}\";\r\n", quote(p)));
    }
    out
}

/// The script that was active before `script` (its first line says).
pub fn previous_of(script: &str) -> Option<&str> {
    script
        .lines()
        .next()?
        .strip_prefix(PREVIOUS)
        .map(str::trim_end)
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SieveLimits;

    #[test]
    fn lists_bulk_auto_and_null_senders_get_no_reply() {
        let plain = b"From: a@example.net\r\nSubject: hi\r\n\r\nbody\r\n";
        assert!(!suppressed(plain, "a@example.net"));
        assert!(suppressed(plain, ""));
        assert!(suppressed(plain, "owner-list@example.net"));
        assert!(suppressed(plain, "list-request@example.net"));
        for h in [
            "List-Id: <x.example.net>",
            "Precedence: bulk",
            "Precedence: list",
            "Precedence: junk",
            "Auto-Submitted: auto-replied",
            "Auto-Submitted: auto-generated; owner-email=x@example.net",
        ] {
            let raw = format!("{h}\r\nFrom: a@example.net\r\n\r\nbody\r\n");
            assert!(suppressed(raw.as_bytes(), "a@example.net"), "{h}");
        }
        let raw = b"Auto-Submitted: no\r\nFrom: a@example.net\r\n\r\nbody\r\n";
        assert!(!suppressed(raw, "a@example.net"));
    }

    #[test]
    fn a_reply_with_an_injected_field_or_a_foreign_from_is_refused() {
        let good = b"From: ann@example.org\r\nTo: x@example.net\r\nSubject: Away\r\n\
Auto-Submitted: auto-replied\r\nContent-type: text/plain; charset=utf-8\r\n\r\nBack soon.";
        assert!(reply_is_sound(good, "ann@example.org"));
        assert!(reply_is_sound(good, "Ann@Example.org"));
        assert!(!reply_is_sound(good, "bob@example.org"));
        let injected = b"From: ann@example.org\r\nSubject: Away\r\nBcc: many@example.net\r\n\r\nx";
        assert!(!reply_is_sound(injected, "ann@example.org"));
    }

    #[test]
    fn the_written_script_checks_and_keeps_the_text() {
        let s = script(
            "Away \"now\"",
            "Back soon.\n.hidden dot\n",
            3,
            Some("2027-01-31"),
            Some("filters"),
        );
        crate::sieve::check(&s, &SieveLimits::default()).expect("valid");
        assert!(s.contains("..hidden dot\r\n"), "{s}");
        assert!(s.contains("\"2027-01-31\""), "{s}");
        assert_eq!(previous_of(&s), Some("filters"));
        let s = script("Away\r\nBcc: x@example.net", "Back.", 7, None, None);
        assert!(s.contains(":subject \"Away  Bcc: x@example.net\""), "{s}");
        crate::sieve::check(&s, &SieveLimits::default()).expect("valid");
        assert_eq!(previous_of(&s), None);
    }
}
