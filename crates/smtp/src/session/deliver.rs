//! The end of a transaction: DATA's outcome or BDAT's last chunk, the
//! submission From check, trace headers, the recipients' Sieve scripts
//! (their refusal is the reply here), SRS for forwarded mail, and the one
//! store call that makes the message and what the scripts send durable
//! before the `250` (the durability contract).

use std::sync::atomic::{AtomicU64, Ordering};

use postern_delivery::sieve::{SieveJob, SieveRecipient};
use postern_delivery::{Decision, Delivery, Filing, Inbound, Recipient};
use postern_store::{
    Acceptance, DeliveryTarget, NewMessage, Outbound, QueuedRecipient, StoreError, UserId,
};

use super::events::{Done, Verdict};
use super::trace::{self, Hop};
use super::{Action, Session, Transaction};
use crate::config::Mode;
use crate::wire::{BareLineEndings, Body, DataOutcome, Notify, Reply, Ret, ReversePath};

impl Session {
    /// The message after DATA (the driver's `DataReader` ended on CRLF.CRLF).
    pub async fn data_done(&mut self, outcome: DataOutcome) -> Action {
        if outcome.too_large {
            self.tx = None;
            return Action::Reply(Reply::new(
                552,
                (5, 3, 4),
                "Message size exceeds fixed maximum message size",
            ));
        }
        if outcome.bare_line_ending && self.ctx.cfg.bare_line_endings == BareLineEndings::Reject {
            self.tx = None;
            // Only CRLF.CRLF ended the data; a bare CR or LF is refused so no
            // message can smuggle another (CVE-2023-51766 class).
            return self.error(Reply::new(
                550,
                (5, 6, 11),
                "Bare CR or LF in message; use CRLF line endings",
            ));
        }
        if outcome.line_too_long {
            self.tx = None;
            return self.error(Reply::new(
                500,
                (5, 5, 2),
                "Message line longer than 1000 octets",
            ));
        }
        self.commit(outcome.message, outcome.received).await
    }

    /// BDAT (RFC 3030): the driver reads the chunk whatever happens.
    pub(super) fn bdat(&mut self, size: u64, last: bool) -> Action {
        if let Some(tx) = &mut self.tx
            && !tx.rcpts.is_empty()
        {
            tx.chunks.get_or_insert_with(Vec::new);
        }
        Action::ReadChunk { size, last }
    }

    /// Bytes of the current BDAT chunk, as they arrive.
    pub fn chunk_bytes(&mut self, bytes: &[u8]) {
        let max = self.ctx.cfg.max_message_size;
        if let Some(tx) = &mut self.tx
            && let Some(buf) = &mut tx.chunks
        {
            if buf.len() as u64 + bytes.len() as u64 > max {
                tx.chunks_too_large = true;
                buf.clear();
            } else if !tx.chunks_too_large {
                buf.extend_from_slice(bytes);
                tx.chunk_hops.feed(bytes);
            }
        }
    }

    /// The end of a BDAT chunk.
    pub async fn chunk_done(&mut self, size: u64, last: bool) -> Action {
        let Some(tx) = &mut self.tx else {
            return self.error(Reply::new(503, (5, 5, 1), "Need MAIL and RCPT before BDAT"));
        };
        let Some(buf) = &mut tx.chunks else {
            return self.error(Reply::new(554, (5, 5, 1), "No valid recipients"));
        };
        if !last {
            return Action::Reply(Reply::new(
                250,
                (2, 0, 0),
                format!("{size} octets received"),
            ));
        }
        if tx.chunks_too_large {
            self.tx = None;
            return Action::Reply(Reply::new(
                552,
                (5, 3, 4),
                "Message size exceeds fixed maximum message size",
            ));
        }
        let message = std::mem::take(buf);
        let received = tx.chunk_hops.count();
        self.commit(message, received).await
    }

    /// Checks, adds trace headers, stores, and answers. `received` is the
    /// number of `Received:` fields in the message's header block. The
    /// outcome is counted and logged (`events.rs`).
    async fn commit(&mut self, message: Vec<u8>, received: usize) -> Action {
        let Some(tx) = self.tx.take() else {
            return self.error(Reply::new(503, (5, 5, 1), "Need MAIL before DATA"));
        };
        let (id, size, mut done) = (message_id(), message.len(), Done::default());
        let action = self
            .store_message(&tx, &id, message, received, &mut done)
            .await;
        self.transaction(&tx, &id, size, &done, &action);
        action
    }

    async fn store_message(
        &mut self,
        tx: &Transaction,
        id: &str,
        message: Vec<u8>,
        received: usize,
        done: &mut Done,
    ) -> Action {
        // RFC 5321 §6.3: a server MUST detect loops; counting Received
        // fields against a generous limit does. Checked first, on every
        // listener, so nothing of a looping message reaches a mailbox, an
        // alias's outside address or the queue.
        if received > self.ctx.cfg.max_received_headers {
            tracing::info!(received, "mail loop refused");
            return self.error(Reply::new(
                554,
                (5, 4, 6),
                format!("Mail loop suspected: {received} Received headers"),
            ));
        }
        if let Some(user) = &self.user
            && let Some(bad) = self.foreign_from(user.user_id, &message).await
        {
            return self.error(Reply::new(
                550,
                (5, 7, 1),
                format!("From: {bad} is not one of your addresses"),
            ));
        }
        let reverse_path = match &tx.from {
            ReversePath::Null => String::new(),
            ReversePath::Mailbox(m) => m.address(),
        };
        let with = match (
            self.greeting.as_ref().is_some_and(|g| g.1),
            self.tls.is_some(),
            self.user.is_some(),
        ) {
            (false, _, _) => "SMTP",
            (true, false, false) => "ESMTP",
            (true, true, false) => "ESMTPS",
            (true, false, true) => "ESMTPA",
            (true, true, true) => "ESMTPSA",
        };
        let details = self.mode == Mode::Mx || self.ctx.cfg.received_details;
        let tls = self
            .tls
            .as_ref()
            .filter(|_| details)
            .map(|t| format!("{} with cipher {}", t.version, t.cipher));
        let for_rcpt = match tx.rcpts.as_slice() {
            [one] => Some(one.address.as_str()),
            _ => None,
        };
        let helo = self
            .greeting
            .as_ref()
            .map(|g| g.0.as_str())
            .unwrap_or("unknown");
        let raw = trace::headers(
            &reverse_path,
            &Hop {
                helo,
                ip: self.peer.ip(),
                by: &self.ctx.cfg.hostname,
                with,
                tls,
                user: self
                    .user
                    .as_ref()
                    .filter(|_| details)
                    .map(|u| u.address.as_str()),
                id,
                for_rcpt,
                date: now(),
            },
        );
        let mut local: Vec<Recipient> = Vec::new();
        let mut outbound = Outbound {
            reverse_path: reverse_path.clone(),
            envid: tx.params.envid.clone(),
            ret: tx.params.ret.as_ref().map(|r| match r {
                Ret::Full => "FULL".to_string(),
                Ret::Hdrs => "HDRS".to_string(),
            }),
            body: tx.params.body.as_ref().map(|b| match b {
                Body::SevenBit => "7BIT".to_string(),
                Body::EightBitMime => "8BITMIME".to_string(),
                Body::BinaryMime => "BINARYMIME".to_string(),
            }),
            smtputf8: tx.params.smtputf8,
            user: self.user.as_ref().map(|u| UserId(u.user_id)),
            ..Outbound::default()
        };
        for r in &tx.rcpts {
            for l in &r.local {
                if !local.iter().any(|x| x.user.0 == l.user_id) {
                    local.push(Recipient {
                        user: UserId(l.user_id),
                        address: l.address.clone(),
                    });
                }
            }
            for e in &r.external {
                if !outbound.recipients.iter().any(|q| &q.address == e) {
                    outbound.recipients.push(QueuedRecipient {
                        address: e.clone(),
                        orcpt: r
                            .params
                            .orcpt
                            .clone()
                            .or_else(|| Some(format!("rfc822;{}", r.address))),
                        notify: r.params.notify.as_ref().map(notify_text),
                    });
                }
            }
        }
        let inbound = self.mode == Mode::Mx;
        let delivery = self.ctx.delivery.clone();
        let filings = match &delivery {
            Some(d) if inbound => {
                let decision = d
                    .inbound(&Inbound {
                        raw: &message,
                        ip: self.peer.ip(),
                        helo,
                        mail_from: &reverse_path,
                        recipients: &local,
                    })
                    .await;
                match decision {
                    Decision::Reject(text) => {
                        done.verdict = Verdict::Reject;
                        tracing::info!(id, from = %reverse_path, reason = text, "message refused");
                        return self.error(Reply::new(550, (5, 7, 1), text));
                    }
                    Decision::Deliver(filings) => {
                        done.verdict = Verdict::of(&filings);
                        filings
                    }
                }
            }
            _ => {
                // Signed over the message as submitted; the trace headers
                // are not in the signature's header list.
                let headers = match (&delivery, &self.user) {
                    (Some(d), Some(_)) => d.sign(&message),
                    _ => Vec::new(),
                };
                vec![Filing {
                    headers,
                    targets: local
                        .iter()
                        .map(|r| DeliveryTarget::inbox(r.user))
                        .collect(),
                }]
            }
        };
        // RFC 8601 §5: no Authentication-Results claiming to be ours (and,
        // with the spam filter on, no X-Spam-* verdict) gets past us,
        // whichever way the message came in.
        let body = match &delivery {
            Some(d) => d.strip(&message, inbound),
            None => postern_delivery::strip_own_results(&message, &self.ctx.cfg.hostname),
        };
        let mut size = 0;
        let mut variants = Vec::with_capacity(filings.len());
        for f in filings {
            let mut copy = Vec::with_capacity(raw.len() + f.headers.len() + body.len());
            copy.extend_from_slice(&raw);
            copy.extend_from_slice(&f.headers);
            copy.extend_from_slice(&body);
            size = size.max(copy.len());
            variants.push((
                NewMessage {
                    raw: copy,
                    internal_date: None,
                    flags: Default::default(),
                },
                f.targets,
            ));
        }
        let mut sends = Vec::new();
        let mut marks = Vec::new();
        if let Some(d) = &delivery {
            if inbound {
                forward_with_srs(d, &tx.rcpts, &mut outbound);
            }
            let recipients = sieve_recipients(&tx.rcpts);
            let plan = d
                .sieve(SieveJob {
                    store: &self.ctx.store,
                    mail_from: &reverse_path,
                    trace: &raw,
                    body: &body,
                    recipients: &recipients,
                    variants,
                })
                .await;
            variants = plan.variants;
            sends = plan.sends;
            marks = plan.marks;
            if !plan.rejected.is_empty() {
                let everyone = recipients
                    .iter()
                    .all(|r| plan.rejected.iter().any(|(a, _)| *a == r.address));
                if everyone && outbound.recipients.is_empty() {
                    // RFC 5429 §2.1: refused while the message is still in
                    // the transaction, so no bounce is needed.
                    let reason = plan.rejected[0].1.replace(['\r', '\n'], " ");
                    tracing::info!(id, from = %reverse_path, reason, "message refused by Sieve");
                    return self.error(Reply::new(550, (5, 7, 1), reason));
                }
                if !reverse_path.is_empty() {
                    let notice = postern_delivery::sieve::refusal(
                        &self.ctx.cfg.hostname,
                        &reverse_path,
                        &plan.rejected,
                        &body,
                    );
                    sends.push((
                        NewMessage {
                            raw: notice,
                            internal_date: None,
                            flags: Default::default(),
                        },
                        Outbound {
                            reverse_path: String::new(),
                            recipients: vec![QueuedRecipient {
                                address: reverse_path.clone(),
                                orcpt: None,
                                notify: None,
                            }],
                            ..Outbound::default()
                        },
                    ));
                }
            }
        }
        drop(body);
        match self
            .ctx
            .store
            .accept_all(Acceptance {
                variants,
                outbound: Some(outbound),
                sends,
                marks,
                quota_grace: true,
            })
            .await
        {
            Ok(a) => {
                done.stored(&a);
                let failed = a.local.iter().filter(|r| r.is_err()).count();
                for e in a.local.iter().filter_map(|r| r.as_ref().err()) {
                    tracing::error!(error = %e, id, "local delivery failed");
                }
                if failed == a.local.len() && !a.local.is_empty() && a.queued.is_none() {
                    return Action::Reply(Reply::new(
                        451,
                        (4, 3, 0),
                        "Temporary failure storing the message, try again",
                    ));
                }
                if a.queued.is_some() || !a.sent.is_empty() {
                    self.ctx.queue_wake.wake();
                }
                // DMARC and TLS reports sent to our report address are read
                // too (after the commit: the message is delivered anyway).
                if let (Some(d), true) = (&delivery, inbound) {
                    let to: Vec<&str> = tx.rcpts.iter().map(|r| r.address.as_str()).collect();
                    d.received_reports(&self.ctx.store, &to, &message);
                }
                if let (Some(d), Some(u)) = (&delivery, &self.user) {
                    let to: Vec<String> = tx.rcpts.iter().map(|r| r.address.clone()).collect();
                    d.submitted(UserId(u.user_id), &to).await;
                }
                self.accepted += 1;
                // A delivered message is progress: the junk count starts again.
                self.junk = 0;
                tracing::info!(id, size, rcpts = tx.rcpts.len(), queued = ?a.queued, "message accepted");
                Action::Reply(Reply::new(250, (2, 0, 0), format!("Ok: queued as {id}")))
            }
            Err(StoreError::TooLarge { .. }) => Action::Reply(Reply::new(
                552,
                (5, 3, 4),
                "Message size exceeds fixed maximum message size",
            )),
            Err(e) if e.is_disk_full() => {
                tracing::warn!(error = %e, id, "message refused: disk full");
                Action::Reply(insufficient_storage())
            }
            Err(e) => {
                tracing::error!(error = %e, id, "storing the message failed");
                Action::Reply(Reply::new(
                    451,
                    (4, 3, 0),
                    "Temporary failure storing the message, try again",
                ))
            }
        }
    }

    /// The first From address of `message` the user may not send as, if any.
    async fn foreign_from(&self, user_id: i64, message: &[u8]) -> Option<String> {
        let parsed = mail_parser::MessageParser::new().parse_headers(message)?;
        let from = parsed.from()?;
        for a in from.iter() {
            let Some(addr) = a.address.as_deref() else {
                continue;
            };
            match self.ctx.directory.may_send_as(user_id, addr).await {
                Ok(true) => {}
                Ok(false) => {
                    return Some(addr.chars().filter(|c| !c.is_control()).take(200).collect());
                }
                Err(e) => {
                    tracing::error!(error = %e, "From check failed");
                    return Some(addr.to_string());
                }
            }
        }
        None
    }
}

/// An alias that forwards outside: the envelope sender becomes an SRS
/// address at the alias's domain, so SPF passes at the next hop (the null
/// sender stays null).
fn forward_with_srs(d: &Delivery, rcpts: &[super::envelope::Recipient], out: &mut Outbound) {
    let Some(srs) = d.srs() else {
        return;
    };
    if out.recipients.is_empty() || out.reverse_path.is_empty() {
        return;
    }
    let domain = rcpts
        .iter()
        .find(|r| !r.external.is_empty())
        .and_then(|r| r.address.rsplit_once('@'))
        .map_or("", |p| p.1);
    if !domain.is_empty() {
        out.reverse_path = srs.forward(&out.reverse_path, domain);
    }
}

/// Each local user once, with the address the message reached them at.
fn sieve_recipients(rcpts: &[super::envelope::Recipient]) -> Vec<SieveRecipient> {
    let mut out: Vec<SieveRecipient> = Vec::new();
    for r in rcpts {
        for l in &r.local {
            if !out.iter().any(|x| x.user.0 == l.user_id) {
                out.push(SieveRecipient {
                    user: UserId(l.user_id),
                    address: l.address.clone(),
                    envelope_to: r.address.clone(),
                    scripted: Some(r.scripted.contains(&l.user_id)),
                });
            }
        }
    }
    out
}

fn notify_text(n: &Notify) -> String {
    if n.never {
        return "NEVER".into();
    }
    let mut parts = Vec::new();
    if n.success {
        parts.push("SUCCESS");
    }
    if n.failure {
        parts.push("FAILURE");
    }
    if n.delay {
        parts.push("DELAY");
    }
    parts.join(",")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A short id for log lines and Received headers: time and a counter.
fn message_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!("{:x}{:04x}", nanos / 1000, n & 0xffff)
}

/// RFC 5321 §4.2.3 / RFC 3463 X.3.1: the disk is (nearly) full; the
/// client keeps the message and tries again later.
pub(super) fn insufficient_storage() -> Reply {
    Reply::new(
        452,
        (4, 3, 1),
        "Insufficient system storage, try again later",
    )
}
