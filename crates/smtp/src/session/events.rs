//! What a session leaves for the operator: the counters of accepted and
//! refused mail, and one `smtp transaction` log event per message that
//! reached the end of its data, with Postfix's field names.
//!
//! A refusal is classified by the stage it happened at and the reply's
//! enhanced status code (RFC 3463), so the reply sites stay as they are:
//! at RCPT `5.7.1` is relaying (the only 5.7.1 there), at the end of data
//! a refusal after the inbound pipeline said "reject" is `spam` (which
//! includes DMARC `p=reject` and a From-count refusal), any other 5.7.1
//! there is `policy` (a submitter's From, a Sieve `reject`).
//!
//! Every label is a literal, so a count is a static key and allocates
//! nothing.

use postern_store::Accepted;

use super::{Action, Session, Transaction};
use crate::config::Mode;
use crate::wire::{Reply, ReversePath};

/// Where in the transaction a reply was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    Mail,
    Rcpt,
    /// The end of DATA or BDAT LAST.
    Data,
}

/// What the inbound pipeline decided about a message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum Verdict {
    /// No verdict asked (submission, or refused before the pipeline ran).
    #[default]
    None,
    Inbox,
    Junk,
    Reject,
}

impl Verdict {
    /// Junk when any recipient's copy is filed in Junk.
    pub fn of(filings: &[postern_delivery::Filing]) -> Verdict {
        let junk = filings
            .iter()
            .flat_map(|f| &f.targets)
            .any(|t| t.special == Some(postern_store::SpecialUse::Junk));
        if junk { Verdict::Junk } else { Verdict::Inbox }
    }

    fn as_str(self) -> &'static str {
        match self {
            Verdict::None => "none",
            Verdict::Inbox => "inbox",
            Verdict::Junk => "junk",
            Verdict::Reject => "reject",
        }
    }
}

/// What the end of one transaction produced, filled in as it goes.
#[derive(Debug, Default)]
pub(super) struct Done {
    pub verdict: Verdict,
    /// Local copies stored.
    pub local: usize,
    /// The queue entry for other servers (`postern queue show ID`).
    pub queued: Option<i64>,
}

impl Done {
    /// Records what the store's commit did.
    pub fn stored(&mut self, a: &Accepted) {
        self.local = a.local.iter().filter(|r| r.is_ok()).count();
        self.queued = a.queued;
    }
}

impl Action {
    /// Counts a refusal at MAIL or RCPT, and passes the action on.
    pub(super) fn counted(self, mode: Mode, stage: Stage) -> Action {
        if let Action::Reply(r) | Action::Close(r) = &self
            && r.code >= 400
        {
            refused(mode, reason(stage, r, Verdict::None));
        }
        self
    }
}

impl Session {
    /// The counters and the `smtp transaction` event of a message whose
    /// data ended: `id` is the queue id the `250` names (also in the
    /// Received field), `size` the bytes received.
    pub(super) fn transaction(
        &self,
        tx: &Transaction,
        id: &str,
        size: usize,
        done: &Done,
        action: &Action,
    ) {
        let reply = match action {
            Action::Reply(r) | Action::Close(r) => r,
            _ => return,
        };
        let mode = self.mode;
        if reply.code < 400 {
            match mode {
                Mode::Mx => metrics::counter!("postern_smtp_accepted_total", "mode" => "mx"),
                Mode::Submission => {
                    metrics::counter!("postern_smtp_accepted_total", "mode" => "submission")
                }
            }
            .increment(1);
            metrics::counter!("postern_delivered_local_total").increment(done.local as u64);
            if done.queued.is_some() {
                metrics::counter!("postern_queued_outbound_total").increment(1);
            }
        } else {
            refused(mode, reason(Stage::Data, reply, done.verdict));
        }
        let from = match &tx.from {
            ReversePath::Null => String::new(),
            ReversePath::Mailbox(m) => m.address(),
        };
        let to: Vec<&str> = tx.rcpts.iter().map(|r| r.address.as_str()).collect();
        let dsn = reply
            .status
            .map(|(a, b, c)| format!("{a}.{b}.{c}"))
            .unwrap_or_default();
        tracing::info!(
            queue_id = %id,
            client = %self.peer.ip(),
            helo = %self.greeting.as_ref().map_or("", |g| g.0.as_str()),
            sasl_username = %self.user.as_ref().map_or("", |u| u.address.as_str()),
            mode = %match mode {
                Mode::Mx => "mx",
                Mode::Submission => "submission",
            },
            from = %format_args!("<{from}>"),
            to = %to.join(","),
            nrcpt = to.len(),
            size,
            verdict = %done.verdict.as_str(),
            code = reply.code,
            dsn = %dsn,
            queued = done.queued,
            local = done.local,
            reply = %reply.lines.first().map_or("", |l| l.as_str()),
            "smtp transaction"
        );
    }
}

fn refused(mode: Mode, reason: &'static str) {
    macro_rules! count {
        ($($reason:literal),*) => {
            match (mode, reason) {
                $(
                    (Mode::Mx, $reason) => metrics::counter!("postern_smtp_rejected_total", "mode" => "mx", "reason" => $reason),
                    (Mode::Submission, $reason) => metrics::counter!("postern_smtp_rejected_total", "mode" => "submission", "reason" => $reason),
                )*
                (Mode::Mx, _) => metrics::counter!("postern_smtp_rejected_total", "mode" => "mx", "reason" => "other"),
                (Mode::Submission, _) => metrics::counter!("postern_smtp_rejected_total", "mode" => "submission", "reason" => "other"),
            }
            .increment(1)
        };
    }
    count!(
        "relay",
        "auth",
        "sender",
        "unknown_recipient",
        "quota",
        "too_many_recipients",
        "greylist",
        "size",
        "loop",
        "spam",
        "policy",
        "syntax",
        "protocol",
        "disk_full",
        "temporary",
        "too_many_errors"
    );
}

/// The `reason` label of a refusal.
pub(super) fn reason(stage: Stage, reply: &Reply, verdict: Verdict) -> &'static str {
    if reply.code == 421 {
        // The session's own close: too many errors (RFC 5321 §4.3.2 lets
        // any command be answered 421).
        return "too_many_errors";
    }
    match (stage, reply.status) {
        (_, Some((_, 4, 6))) => "loop",
        (_, Some((_, 3, 4))) => "size",
        (_, Some((_, 3, 1))) => "disk_full",
        (_, Some((4, 3, 0))) => "temporary",
        (_, Some((_, 7, 0))) => "auth",
        (_, Some((_, 1, 1))) => "unknown_recipient",
        (_, Some((_, 2, 2))) => "quota",
        (_, Some((_, 5, 3))) => "too_many_recipients",
        (Stage::Rcpt, Some((4, 7, 1))) => "greylist",
        (Stage::Rcpt, Some((5, 7, 1))) => "relay",
        (Stage::Mail, Some((5, 7, 1))) => "sender",
        (Stage::Data, _) if verdict == Verdict::Reject => "spam",
        (Stage::Data, Some((5, 7, 1))) => "policy",
        (_, Some((_, 6, _))) | (_, Some((_, 5, 2))) => "syntax",
        (_, Some((_, 5, _))) => "protocol",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_named_by_stage_and_enhanced_code() {
        let r = |code, status| Reply::new(code, status, "x");
        for (stage, reply, verdict, want) in [
            (Stage::Rcpt, r(550, (5, 7, 1)), Verdict::None, "relay"),
            (
                Stage::Rcpt,
                r(550, (5, 1, 1)),
                Verdict::None,
                "unknown_recipient",
            ),
            (Stage::Rcpt, r(451, (4, 7, 1)), Verdict::None, "greylist"),
            (Stage::Rcpt, r(452, (4, 2, 2)), Verdict::None, "quota"),
            (Stage::Mail, r(530, (5, 7, 0)), Verdict::None, "auth"),
            (Stage::Mail, r(553, (5, 7, 1)), Verdict::None, "sender"),
            (Stage::Mail, r(552, (5, 3, 4)), Verdict::None, "size"),
            (Stage::Mail, r(452, (4, 3, 1)), Verdict::None, "disk_full"),
            (Stage::Data, r(554, (5, 4, 6)), Verdict::None, "loop"),
            (Stage::Data, r(550, (5, 7, 1)), Verdict::Reject, "spam"),
            (Stage::Data, r(550, (5, 7, 1)), Verdict::Inbox, "policy"),
            (Stage::Data, r(550, (5, 6, 11)), Verdict::None, "syntax"),
            (
                Stage::Data,
                r(421, (4, 7, 0)),
                Verdict::None,
                "too_many_errors",
            ),
            (Stage::Mail, r(503, (5, 5, 1)), Verdict::None, "protocol"),
        ] {
            assert_eq!(reason(stage, &reply, verdict), want, "{reply:?}");
        }
    }
}
