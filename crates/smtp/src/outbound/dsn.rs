//! Delivery status notifications (RFC 3464): a multipart/report with a
//! human part, the message/delivery-status part (one block per recipient,
//! with the remote server's reply as Diagnostic-Code) and the returned
//! message (whole for RET=FULL, headers only for RET=HDRS or when large).
//!
//! Built here rather than with mail-builder: a DSN is three fixed parts of
//! plain ASCII we lay out line by line, and the delivery-status fields are
//! nothing a general builder knows; our own code keeps every byte under
//! our control (line lengths, no 8-bit text in the status part).

use postern_store::{QueueEntry, RecipientState};

use crate::session::trace::rfc5322_date;

/// What a report is about, from the recipients' `dsn_due` actions.
pub struct Report<'a> {
    pub entry: &'a QueueEntry,
    pub recipients: Vec<&'a RecipientState>,
    /// The original message (None if it could not be read: the report
    /// still goes out, without it).
    pub original: Option<&'a [u8]>,
    pub reporting_mta: &'a str,
    pub now: i64,
    pub max_original: usize,
    /// For delayed recipients: when the queue gives up.
    pub retry_until: Option<i64>,
}

/// Printable ASCII only, for header and status field values.
/// `text` in lines of at most `width` characters, broken at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(900)
        .collect()
}

/// The first `d.d.d` word of an error text (our texts and replies have one).
pub fn status_of(text: &str, fallback: &str) -> String {
    for w in text.split_ascii_whitespace().take(3) {
        let parts: Vec<&str> = w.split('.').collect();
        if parts.len() == 3
            && matches!(parts[0], "2" | "4" | "5")
            && parts[1..]
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return w.to_string();
        }
    }
    fallback.to_string()
}

/// The header block of a message: up to the first empty line.
fn headers_of(raw: &[u8]) -> &[u8] {
    let mut i = 0;
    while i < raw.len() {
        let end = raw[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|p| i + p + 1)
            .unwrap_or(raw.len());
        let line = &raw[i..end];
        if line == b"\r\n" || line == b"\n" {
            return &raw[..i];
        }
        i = end;
    }
    raw
}

/// Builds the report as a whole message (CRLF line ends).
pub fn build(r: &Report<'_>) -> Vec<u8> {
    let e = r.entry;
    let boundary = format!("=_postern_dsn_{}_{}", e.id, r.now);
    let actions: Vec<&str> = r
        .recipients
        .iter()
        .filter_map(|x| x.dsn_due.as_deref())
        .collect();
    let failed = actions.contains(&"failed");
    let delayed = actions.contains(&"delayed");
    let subject = if failed {
        "Undelivered Mail Returned to Sender"
    } else if delayed {
        "Delayed Mail (still being retried)"
    } else {
        "Successful Mail Delivery Report"
    };
    let mut m = String::new();
    let h = |m: &mut String, s: String| {
        m.push_str(&s);
        m.push_str("\r\n");
    };
    h(
        &mut m,
        format!(
            "From: Mail Delivery System <MAILER-DAEMON@{}>",
            r.reporting_mta
        ),
    );
    h(&mut m, format!("To: <{}>", ascii(&e.reverse_path)));
    h(&mut m, format!("Subject: {subject}"));
    h(&mut m, format!("Date: {}", rfc5322_date(r.now)));
    h(
        &mut m,
        format!("Message-ID: <dsn.{}.{}@{}>", e.id, r.now, r.reporting_mta),
    );
    // RFC 3834 §5: automatic, so no auto-responder answers it.
    h(&mut m, "Auto-Submitted: auto-replied".into());
    h(&mut m, "MIME-Version: 1.0".into());
    h(
        &mut m,
        format!(
            "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\""
        ),
    );
    m.push_str("\r\n");
    m.push_str("This is a MIME-encapsulated message.\r\n\r\n");

    // 1: the human part.
    h(&mut m, format!("--{boundary}"));
    h(&mut m, "Content-Type: text/plain; charset=us-ascii".into());
    m.push_str("\r\n");
    h(
        &mut m,
        format!(
            "This is the mail system at {}. Your message of {}",
            r.reporting_mta,
            rfc5322_date(e.created_at)
        ),
    );
    if failed {
        m.push_str("could not be delivered to one or more recipients:\r\n");
    } else if delayed {
        m.push_str("has not been delivered yet to some recipients; delivery is still\r\nbeing retried and you need not send it again:\r\n");
    } else {
        m.push_str("was delivered:\r\n");
    }
    m.push_str("\r\n");
    for x in &r.recipients {
        h(
            &mut m,
            format!(
                "<{}>: {}",
                ascii(&x.address),
                match x.dsn_due.as_deref() {
                    Some("delivered") | Some("relayed") => "delivered".to_string(),
                    _ => ascii(x.last_error.as_deref().unwrap_or("no reason recorded")),
                }
            ),
        );
        if let Some(mta) = &x.remote_mta {
            h(&mut m, format!("    (answered by {})", ascii(mta)));
        }
        // What the refusal means and what to fix, when we know it.
        if x.dsn_due.as_deref() != Some("delivered")
            && x.dsn_due.as_deref() != Some("relayed")
            && let Some(text) = &x.last_error
            && let Some(advice) =
                super::answer::read(text, x.remote_mta.as_deref().unwrap_or("")).advice
        {
            for line in wrap(&format!("What to do: {}", ascii(&advice)), 72) {
                h(&mut m, format!("    {line}"));
            }
        }
    }
    m.push_str("\r\n");

    // 2: message/delivery-status (RFC 3464 §2.2, §2.3).
    h(&mut m, format!("--{boundary}"));
    h(&mut m, "Content-Type: message/delivery-status".into());
    m.push_str("\r\n");
    h(&mut m, format!("Reporting-MTA: dns; {}", r.reporting_mta));
    if let Some(id) = &e.envid {
        h(&mut m, format!("Original-Envelope-Id: {}", ascii(id)));
    }
    h(
        &mut m,
        format!("Arrival-Date: {}", rfc5322_date(e.created_at)),
    );
    for x in &r.recipients {
        let action = x.dsn_due.as_deref().unwrap_or("failed");
        let text = x.last_error.as_deref().unwrap_or("");
        let status = match action {
            "delivered" | "relayed" => status_of(text, "2.0.0"),
            "delayed" => status_of(text, "4.0.0"),
            _ => status_of(text, "5.0.0"),
        };
        m.push_str("\r\n");
        h(
            &mut m,
            format!("Final-Recipient: rfc822; {}", ascii(&x.address)),
        );
        if let Some(o) = &x.orcpt {
            let o = match o.split_once(';') {
                Some((t, a)) => format!("{}; {}", t.trim(), a.trim()),
                None => format!("rfc822; {o}"),
            };
            h(&mut m, format!("Original-Recipient: {}", ascii(&o)));
        }
        h(&mut m, format!("Action: {action}"));
        h(&mut m, format!("Status: {status}"));
        if let Some(mta) = &x.remote_mta {
            let host = mta.split_whitespace().next().unwrap_or(mta);
            h(&mut m, format!("Remote-MTA: dns; {}", ascii(host)));
        }
        if !text.is_empty() {
            // A reply from a server is "smtp"; our own texts are "x-postern".
            let kind = if text.as_bytes().first().is_some_and(|b| b.is_ascii_digit())
                && text.as_bytes().get(3) == Some(&b' ')
            {
                "smtp"
            } else {
                "x-postern"
            };
            h(&mut m, format!("Diagnostic-Code: {kind}; {}", ascii(text)));
        }
        h(
            &mut m,
            format!("Last-Attempt-Date: {}", rfc5322_date(r.now)),
        );
        if action == "delayed"
            && let Some(until) = r.retry_until
        {
            h(&mut m, format!("Will-Retry-Until: {}", rfc5322_date(until)));
        }
    }
    m.push_str("\r\n");

    // 3: the returned message or its headers (RFC 3461 §4.3 RET).
    let mut out = m.into_bytes();
    if let Some(orig) = r.original {
        let full = e.ret.as_deref() != Some("HDRS") && orig.len() <= r.max_original;
        let part_type = if full {
            "message/rfc822"
        } else {
            "text/rfc822-headers"
        };
        out.extend_from_slice(format!("--{boundary}\r\nContent-Type: {part_type}\r\n").as_bytes());
        if full && orig.iter().any(|&b| b >= 0x80) {
            out.extend_from_slice(b"Content-Transfer-Encoding: 8bit\r\n");
        }
        out.extend_from_slice(b"\r\n");
        let body = if full { orig } else { headers_of(orig) };
        out.extend_from_slice(body);
        if !body.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_store::BlobId;

    fn entry(ret: Option<&str>) -> QueueEntry {
        QueueEntry {
            id: 7,
            blob: BlobId::of(b"x"),
            size: 1,
            reverse_path: "ann@example.org".into(),
            envid: Some("env-1".into()),
            ret: ret.map(str::to_string),
            body: None,
            smtputf8: false,
            created_at: 1_700_000_000,
            held: false,
            recipients: vec![RecipientState {
                address: "x@remote.test".into(),
                orcpt: Some("rfc822;x@remote.test".into()),
                notify: None,
                state: "failed".into(),
                attempts: 1,
                last_error: Some("550 5.1.1 no such user here".into()),
                next_attempt: 0,
                dsn_due: Some("failed".into()),
                remote_mta: Some("mx.remote.test [127.0.0.1]".into()),
                delay_warned: false,
            }],
        }
    }

    #[test]
    fn a_failure_report_has_the_three_parts_and_the_reply() {
        let e = entry(None);
        let orig = b"Subject: hi\r\n\r\nbody line\r\n";
        let out = build(&Report {
            entry: &e,
            recipients: e.recipients.iter().collect(),
            original: Some(orig),
            reporting_mta: "mail.test",
            now: 1_700_000_100,
            max_original: 1000,
            retry_until: None,
        });
        let text = String::from_utf8(out).expect("ascii");
        for want in [
            "Content-Type: multipart/report; report-type=delivery-status;",
            "Content-Type: message/delivery-status",
            "Reporting-MTA: dns; mail.test",
            "Original-Envelope-Id: env-1",
            "Final-Recipient: rfc822; x@remote.test",
            "Original-Recipient: rfc822; x@remote.test",
            "Action: failed",
            "Status: 5.1.1",
            "Remote-MTA: dns; mx.remote.test",
            "Diagnostic-Code: smtp; 550 5.1.1 no such user here",
            "Content-Type: message/rfc822",
            "body line",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        let parsed = mail_parser::MessageParser::new()
            .parse(text.as_bytes())
            .expect("parses");
        assert_eq!(parsed.parts.len(), 4, "root + three parts");
    }

    #[test]
    fn ret_hdrs_returns_headers_only() {
        let e = entry(Some("HDRS"));
        let out = build(&Report {
            entry: &e,
            recipients: e.recipients.iter().collect(),
            original: Some(b"Subject: hi\r\n\r\nsecret body\r\n"),
            reporting_mta: "mail.test",
            now: 1,
            max_original: 1000,
            retry_until: None,
        });
        let text = String::from_utf8(out).expect("ascii");
        assert!(text.contains("text/rfc822-headers"));
        assert!(text.contains("Subject: hi"));
        assert!(!text.contains("secret body"));
    }

    #[test]
    fn status_codes_are_found_in_texts() {
        assert_eq!(status_of("550 5.7.1 no", "5.0.0"), "5.7.1");
        assert_eq!(status_of("4.4.1 connecting: refused", "4.0.0"), "4.4.1");
        assert_eq!(status_of("garbage", "5.0.0"), "5.0.0");
    }
}
