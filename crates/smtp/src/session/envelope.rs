//! MAIL and RCPT: who may send, who may receive, and what the transaction
//! will deliver to. Port 25 takes mail only for local domains (never an open
//! relay); submission requires TLS and AUTH, and the envelope sender must be
//! one of the user's own addresses. A RCPT to a spam trap is refused as
//! unknown and reported as abuse; greylisting (`greylist.rs`) may defer a
//! recipient on port 25. An SRS address of ours is a bounce path: decoded
//! to the original sender, or refused when forged or expired. A recipient
//! whose Sieve script can `reject` is kept alone in its transaction.

use postern_auth::{AbuseKind, LocalRecipient, Resolution};
use postern_store::UserId;

use super::{Action, Session, Transaction};
use crate::config::Mode;
use crate::wire::{Body, ForwardPath, MailParams, Mailbox, RcptParams, Reply, ReversePath};

/// One accepted RCPT and what it resolved to.
#[derive(Clone, Debug)]
pub(crate) struct Recipient {
    /// The address as the client gave it (for Received `for`, DSN ORCPT).
    pub address: String,
    pub params: RcptParams,
    pub local: Vec<LocalRecipient>,
    pub external: Vec<String>,
    /// A local user's active Sieve script can `reject` (then this
    /// recipient gets a transaction of their own, see `sieve_alone`);
    /// `None` until a second recipient makes it matter.
    pub may_reject: Option<bool>,
    /// The users of `local` that had an active Sieve script at RCPT
    /// (asked with their quota; every local user is asked).
    pub scripted: Vec<i64>,
}

impl Session {
    /// RFC 5321 §4.1.1.2.
    pub(super) async fn mail(&mut self, from: ReversePath, params: MailParams) -> Action {
        if self.greeting.is_none() {
            return self.error(Reply::new(503, (5, 5, 1), "Send EHLO or HELO first"));
        }
        if self.tx.is_some() {
            return self.error(Reply::new(503, (5, 5, 1), "Nested MAIL command"));
        }
        if self.mode == Mode::Submission {
            if self.tls.is_none() {
                return self.error(Reply::new(
                    530,
                    (5, 7, 0),
                    "Must issue a STARTTLS command first",
                ));
            }
            if self.user.is_none() {
                return self.error(Reply::new(530, (5, 7, 0), "Authentication required"));
            }
        }
        // Below the free-space floor nothing new is taken: say so before
        // the client sends the message (RFC 5321 §4.5.3.1.10 allows 452
        // at MAIL), and again at the end of data if space ran out since.
        if let Err(e) = self.ctx.store.check_space() {
            tracing::warn!(error = %e, "MAIL refused: disk full");
            return Action::Reply(super::deliver::insufficient_storage());
        }
        // RFC 1870 §6.1: a declared size over the limit is refused at once.
        if params
            .size
            .is_some_and(|s| s > self.ctx.cfg.max_message_size)
        {
            return self.error(Reply::new(
                552,
                (5, 3, 4),
                "Message size exceeds fixed maximum message size",
            ));
        }
        if let ReversePath::Mailbox(m) = &from
            && !m.is_ascii()
            && !params.smtputf8
        {
            // RFC 6531 §3.7.4.1.
            return self.error(Reply::new(
                553,
                (5, 6, 7),
                "Non-ASCII address requires SMTPUTF8",
            ));
        }
        if let Some(user) = &self.user {
            let allowed = match &from {
                ReversePath::Null => false,
                ReversePath::Mailbox(m) => match self
                    .ctx
                    .directory
                    .may_send_as(user.user_id, &m.address())
                    .await
                {
                    Ok(ok) => ok,
                    Err(e) => {
                        tracing::error!(error = %e, "sender check failed");
                        return Action::Reply(Reply::new(
                            451,
                            (4, 3, 0),
                            "Temporary failure, try again later",
                        ));
                    }
                },
            };
            if !allowed {
                return self.error(Reply::new(
                    553,
                    (5, 7, 1),
                    "Sender address is not one of yours",
                ));
            }
        }
        self.tx = Some(Transaction {
            from,
            params,
            rcpts: Vec::new(),
            chunks: None,
            chunks_too_large: false,
            chunk_hops: Default::default(),
            overshoot: 0,
        });
        Action::Reply(Reply::new(250, (2, 1, 0), "Ok"))
    }

    /// RFC 5321 §4.1.1.3.
    pub(super) async fn rcpt(&mut self, to: ForwardPath, params: RcptParams) -> Action {
        let Some(tx) = &self.tx else {
            return self.error(Reply::new(503, (5, 5, 1), "Need MAIL before RCPT"));
        };
        if tx.rcpts.len() >= self.ctx.cfg.max_recipients {
            // RFC 5321 §4.5.3.1.10: 452, and the client sends the rest later.
            if let Some(tx) = &mut self.tx {
                tx.overshoot = tx.overshoot.saturating_add(1);
            }
            return Action::Reply(Reply::new(452, (4, 5, 3), "Too many recipients"));
        }
        let smtputf8 = tx.params.smtputf8;
        let null_sender = matches!(tx.from, ReversePath::Null);
        let mailbox = match to {
            ForwardPath::Mailbox(m) => m,
            ForwardPath::Postmaster => match self.postmaster().await {
                Some(m) => m,
                None => return self.error(Reply::new(550, (5, 1, 1), "No postmaster here")),
            },
        };
        if !mailbox.is_ascii() && !smtputf8 {
            return self.error(Reply::new(
                553,
                (5, 6, 7),
                "Non-ASCII address requires SMTPUTF8",
            ));
        }
        let address = mailbox.address();
        if self.user.is_none()
            && let Ok(normal) = postern_auth::normalize_address(&address)
            && self.ctx.directory.abuse().is_spam_trap(&normal)
        {
            // Answered as an unknown user: a trap must not look different.
            tracing::info!(rcpt = %normal, "spam trap hit");
            let abuse = self.ctx.directory.abuse();
            abuse
                .report(self.peer.ip(), AbuseKind::SpamTrap, &normal)
                .await;
            return self.error(Reply::new(
                550,
                (5, 1, 1),
                format!("<{address}>: no such user here"),
            ));
        }
        // The domain check and the lookup in one trip to the directory
        // (an SRS address of ours is looked up for nothing: rare).
        let resolved = match self
            .ctx
            .directory
            .resolve_if_local(&address, &mailbox.domain)
            .await
        {
            Ok(r) => r,
            Err(e) => return self.temp_failure(e),
        };
        let srs = self.ctx.delivery.clone().filter(|d| d.srs().is_some());
        let rcpt = if resolved.is_some()
            && postern_delivery::sieve::srs::is_srs(&mailbox.local)
            && let Some(d) = srs
        {
            match self
                .srs_bounce(&d, &mailbox.local, &address, null_sender, params)
                .await
            {
                Ok(r) => r,
                Err(action) => return action,
            }
        } else if let Some(resolution) = resolved {
            match resolution {
                Resolution::Unknown => {
                    return self.error(Reply::new(
                        550,
                        (5, 1, 1),
                        format!("<{address}>: no such user here"),
                    ));
                }
                Resolution::Deliver { local, external } => Recipient {
                    address: address.clone(),
                    params,
                    local,
                    external,
                    may_reject: None,
                    scripted: Vec::new(),
                },
            }
        } else if self.user.is_some() {
            Recipient {
                address: address.clone(),
                params,
                local: Vec::new(),
                external: vec![address.clone()],
                may_reject: None,
                scripted: Vec::new(),
            }
        } else {
            // RFC 5321 §4.3.2 lists 550 (not 554) among RCPT's replies:
            // this recipient is refused for good, the transaction goes on.
            return self.error(Reply::new(
                550,
                (5, 7, 1),
                format!("<{address}>: relay access denied"),
            ));
        };
        // Quota is checked here, where a refusal is per recipient; a message
        // accepted now is never dropped later for quota (store's quota_grace).
        let mut scripted = Vec::new();
        for l in &rcpt.local {
            match self.ctx.store.quota_and_sieve(UserId(l.user_id)).await {
                Ok((q, has_script)) => {
                    if has_script {
                        scripted.push(l.user_id);
                    }
                    let size = tx_size(self.tx.as_ref());
                    let full = q.limit_bytes.is_some_and(|lim| q.used_bytes + size > lim)
                        || q.limit_messages.is_some_and(|lim| q.used_messages >= lim);
                    if full {
                        return Action::Reply(Reply::new(
                            452,
                            (4, 2, 2),
                            format!("<{address}>: mailbox full"),
                        ));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "quota lookup failed");
                    return Action::Reply(Reply::new(
                        451,
                        (4, 3, 0),
                        "Temporary failure, try again later",
                    ));
                }
            }
        }
        if let Some(tx) = &self.tx
            && let Some(deferred) = self.greylist(&tx.from, &address).await
        {
            return Action::Reply(deferred);
        }
        let mut rcpt = rcpt;
        rcpt.scripted = scripted;
        if let Some(refused) = self.sieve_alone(&mut rcpt).await {
            return refused;
        }
        if let Some(tx) = &mut self.tx
            && !tx.rcpts.iter().any(|r| r.address == rcpt.address)
        {
            tx.rcpts.push(rcpt);
        }
        Action::Reply(Reply::new(250, (2, 1, 5), "Ok"))
    }

    /// A recipient whose Sieve script can refuse the message must be the
    /// transaction's only one, so the refusal is the reply to DATA (`550
    /// 5.7.1`) rather than a bounce: beside others it is answered `452
    /// 4.5.3` and the client sends it again in a transaction of its own
    /// (RFC 5321 §4.5.3.1.10). Port 25 only: a submitting user's client
    /// may not resend, and a refusal is told to that user (our own
    /// mailbox) as a notice. `None`: accepted (and marked).
    async fn sieve_alone(&mut self, rcpt: &mut Recipient) -> Option<Action> {
        if self.mode != Mode::Mx {
            return None;
        }
        let tx = self.tx.as_ref()?;
        // Alone so far: nothing to ask (most transactions stop here).
        if !tx.rcpts.iter().any(|r| r.address != rcpt.address) {
            return None;
        }
        let d = self.ctx.delivery.clone()?;
        let unasked: Vec<(usize, Vec<i64>)> = tx
            .rcpts
            .iter()
            .enumerate()
            .filter(|(_, r)| r.may_reject.is_none())
            .map(|(i, r)| (i, r.local.iter().map(|l| l.user_id).collect()))
            .collect();
        for (i, users) in unasked {
            let may = self.any_may_reject(&d, &users).await;
            if let Some(r) = self.tx.as_mut().and_then(|t| t.rcpts.get_mut(i)) {
                r.may_reject = Some(may);
            }
        }
        let users: Vec<i64> = rcpt.local.iter().map(|l| l.user_id).collect();
        let may = self.any_may_reject(&d, &users).await;
        rcpt.may_reject = Some(may);
        let earlier = self
            .tx
            .as_ref()
            .is_some_and(|t| t.rcpts.iter().any(|r| r.may_reject == Some(true)));
        (may || earlier).then(|| {
            Action::Reply(Reply::new(
                452,
                (4, 5, 3),
                format!(
                    "<{}>: send this recipient in a transaction of its own",
                    rcpt.address
                ),
            ))
        })
    }

    async fn any_may_reject(&self, d: &postern_delivery::Delivery, users: &[i64]) -> bool {
        for u in users {
            if d.may_reject(&self.ctx.store, UserId(*u)).await {
                return true;
            }
        }
        false
    }

    /// RCPT to an SRS address of ours (`sieve::srs`): a bounce to mail we
    /// forwarded goes back to the original sender. Only the null sender
    /// may use it (else the address would relay for anyone who saw it);
    /// a forged or expired one is refused `550 5.1.1` as a mailbox that
    /// does not exist.
    async fn srs_bounce(
        &mut self,
        d: &postern_delivery::Delivery,
        local: &str,
        address: &str,
        null_sender: bool,
        params: RcptParams,
    ) -> Result<Recipient, Action> {
        let srs = d
            .srs()
            .ok_or_else(|| self.srs_refused(address, "no SRS here"))?;
        let original = match srs.reverse(local) {
            Ok(o) => o,
            Err(e) => {
                tracing::info!(rcpt = address, error = %e, "SRS address refused");
                return Err(self.srs_refused(address, &e.to_string()));
            }
        };
        if !null_sender {
            return Err(self.error(Reply::new(
                550,
                (5, 7, 1),
                format!("<{address}>: only delivery reports are accepted for this address"),
            )));
        }
        let domain = original.rsplit_once('@').map_or("", |p| p.1);
        let (local, external) = match self.ctx.directory.is_local_domain(domain).await {
            Ok(true) => match self.ctx.directory.resolve_recipient(&original).await {
                Ok(Resolution::Deliver { local, external }) => (local, external),
                Ok(Resolution::Unknown) => return Err(self.srs_refused(address, "no such user")),
                Err(e) => return Err(self.temp_failure(e)),
            },
            Ok(false) => (Vec::new(), vec![original]),
            Err(e) => return Err(self.temp_failure(e)),
        };
        Ok(Recipient {
            address: address.to_string(),
            params,
            local,
            external,
            may_reject: None,
            scripted: Vec::new(),
        })
    }

    fn srs_refused(&mut self, address: &str, why: &str) -> Action {
        self.error(Reply::new(550, (5, 1, 1), format!("<{address}>: {why}")))
    }

    fn temp_failure(&mut self, e: postern_auth::AuthError) -> Action {
        tracing::error!(error = %e, "directory lookup failed");
        Action::Reply(Reply::new(
            451,
            (4, 3, 0),
            "Temporary failure, try again later",
        ))
    }

    /// `RCPT TO:<Postmaster>` (RFC 5321 §4.5.1): postmaster at the server's
    /// own name, or at the domain under it (mail.example.org → example.org).
    async fn postmaster(&self) -> Option<Mailbox> {
        let host = self.ctx.cfg.hostname.as_str();
        let mut candidates = vec![host];
        if let Some((_, parent)) = host.split_once('.') {
            candidates.push(parent);
        }
        for domain in candidates {
            let addr = format!("postmaster@{domain}");
            if let Ok(Resolution::Deliver { .. }) =
                self.ctx.directory.resolve_recipient(&addr).await
            {
                return Some(Mailbox {
                    local: "postmaster".into(),
                    domain: domain.into(),
                });
            }
        }
        None
    }

    /// DATA (RFC 5321 §4.1.1.4).
    pub(super) fn data(&mut self) -> Action {
        let Some(tx) = &self.tx else {
            return self.error(Reply::new(503, (5, 5, 1), "Need MAIL before DATA"));
        };
        if tx.rcpts.is_empty() {
            return self.error(Reply::new(554, (5, 5, 1), "No valid recipients"));
        }
        if tx.chunks.is_some() {
            return self.error(Reply::new(503, (5, 5, 1), "DATA cannot follow BDAT"));
        }
        if matches!(tx.params.body, Some(Body::BinaryMime)) {
            // RFC 3030 §3: BINARYMIME content is sent with BDAT only.
            return self.error(Reply::new(503, (5, 5, 1), "BODY=BINARYMIME requires BDAT"));
        }
        Action::ReadData(Reply::multi(
            354,
            None,
            vec!["End data with <CR><LF>.<CR><LF>".into()],
        ))
    }
}

/// The size the client declared, for the quota check at RCPT.
fn tx_size(tx: Option<&Transaction>) -> u64 {
    tx.and_then(|t| t.params.size).unwrap_or(0)
}
