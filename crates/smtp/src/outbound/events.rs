//! What the queue runner leaves for the operator: one `outbound delivery`
//! log event per recipient per attempt (Postfix's `to=`, `relay=`, `dsn=`,
//! `status=` fields), and the `postern_outbound_total{result}` counter
//! (`delivered`, `deferred`, `bounced`; an expired recipient is bounced).

use postern_store::Outcome;

/// Logs and counts one recipient's attempt. `relay` is the server that
/// answered (none when no connection was made), `text` its reply or our
/// reason, starting with the enhanced status code.
pub(super) fn attempt(queue_id: i64, to: &str, relay: Option<&str>, outcome: &Outcome, text: &str) {
    let status = match outcome {
        Outcome::Delivered => "sent",
        Outcome::Deferred { .. } => "deferred",
        Outcome::Failed => "bounced",
    };
    match outcome {
        Outcome::Delivered => metrics::counter!("postern_outbound_total", "result" => "delivered"),
        Outcome::Deferred { .. } => {
            metrics::counter!("postern_outbound_total", "result" => "deferred")
        }
        Outcome::Failed => metrics::counter!("postern_outbound_total", "result" => "bounced"),
    }
    .increment(1);
    let dsn = dsn(text);
    tracing::info!(
        queue_id,
        to = %format_args!("<{to}>"),
        relay = %relay.unwrap_or("none"),
        dsn = %dsn,
        status = %status,
        reply = %text,
        "outbound delivery"
    );
}

/// The enhanced status code of a reply as the queue records it (`250
/// 2.0.0 Ok`) or of our own reason (`4.4.3 DNS lookup ...`); empty when
/// there is none.
fn dsn(text: &str) -> &str {
    text.split_whitespace()
        .take(2)
        .find(|w| {
            w.split('.').count() == 3
                && w.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::dsn;

    #[test]
    fn the_dsn_field_is_the_enhanced_code_after_the_reply_code_or_first() {
        assert_eq!(dsn("250 2.0.0 Ok: queued"), "2.0.0");
        assert_eq!(dsn("4.4.3 DNS lookup of relay x failed"), "4.4.3");
        assert_eq!(dsn("550 mailbox unavailable"), "");
        assert_eq!(dsn("421 4.7.0 try later"), "4.7.0");
        assert_eq!(dsn("250 1.2 x"), "");
    }
}
