//! One worker: a batch of messages for one destination (domain, or the
//! smarthost), sent over one connection where possible. Hosts are tried in
//! MX order, each address in turn; a connection or TLS failure moves to the
//! next; what is left when all failed is deferred (RFC 5321 §4.5.4.1).
//! Every reply becomes the recipient's new state: 2xx delivered, 4xx
//! deferred, 5xx failed (RFC 5321 §4.2.1), with the refusal read for its
//! meaning (`answer.rs`): greylisting retried soon, a provider's rate
//! limit pausing that provider, policy refusals explained in the log.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use postern_store::{Outcome, RecipientState, RecipientUpdate};
use rand::Rng;

use super::answer::{self, Kind};
use super::client::{Client, ConnError, Envelope, Rcpt, Security, Timeouts, TxOutcome};
use super::dane::{self, HostPolicy};
use super::route::{self, Host, RouteError};
use super::{Job, Runner, now};
use crate::wire::client::reply_text;

/// What happened to one recipient in one attempt.
enum Attempt {
    Delivered {
        text: String,
        relayed: bool,
    },
    Temporary(String),
    /// Deferred until a known time (a paused provider).
    Wait {
        text: String,
        until: i64,
    },
    Permanent(String),
}

/// Logs a DANE failure with its TLS-RPT result type (RFC 8460 §4.3).
fn dane_failed(host: &str, f: &dane::Failure) {
    tracing::warn!(
        host,
        policy_type = "tlsa",
        result_type = f.result_type.as_str(),
        reason = %f.text,
        "DANE: not delivering to this MX host"
    );
}

/// Days since the epoch (for the warm-up's daily steps).
fn today() -> i64 {
    now().div_euclid(86400)
}

impl Runner {
    pub(crate) async fn deliver_batch(&self, domain: &str, jobs: Vec<Job>) {
        let mut hosts = match &self.cfg.relay {
            Some(r) => match self.relay_host(r).await {
                Ok(h) => vec![h],
                Err(e) => {
                    self.record_all(&jobs, None, |_| Attempt::Temporary(e.clone()))
                        .await;
                    return;
                }
            },
            None => match route::route(&self.resolver, domain, &self.local).await {
                Ok(h) => h,
                Err(RouteError::Permanent(t)) => {
                    tracing::info!(domain, reason = %t, "destination refuses mail");
                    self.record_all(&jobs, None, |_| Attempt::Permanent(t.clone()))
                        .await;
                    return;
                }
                Err(RouteError::Temporary(t)) => {
                    tracing::info!(domain, reason = %t, "routing deferred");
                    self.record_all(&jobs, None, |_| Attempt::Temporary(t.clone()))
                        .await;
                    return;
                }
            },
        };
        // DANE (RFC 7672) for each MX host with secure TLSA records.
        let dane = match &self.dane {
            Some(r) if self.cfg.relay.is_none() => {
                dane::policies(r, domain, &hosts, self.cfg.port).await
            }
            _ => HashMap::new(),
        };
        let dane_of = |h: &Host| dane.get(&h.name).cloned().unwrap_or(HostPolicy::None);
        // MTA-STS (RFC 8461 §5): in enforce mode only the policy's MX
        // hosts, only over TLS with a certificate valid for the host name.
        // RFC 8461 §2: where DANE applies (secure TLSA), DANE decides, and
        // MTA-STS neither removes nor relaxes that host.
        let mut strict = false;
        let mut sts_policy = None;
        if self.cfg.relay.is_none()
            && let Some((sts, _)) = &self.sts
            && let Some(p) = self.sts_policy(sts, domain).await
        {
            sts_policy = Some(p.clone());
            match p.mode {
                super::mta_sts::Mode::Enforce => {
                    hosts.retain(|h| dane_of(h).applies() || p.allows(&h.name));
                    if hosts.is_empty() {
                        // RFC 8460 §4.3.2.1: the MX did not match the policy.
                        let e = super::client::ConnError("4.7.5 validation-failure".into());
                        self.report_tls(domain, Some(&p), "", None, Err(&e));
                        let t = format!("4.7.5 no MX host of {domain} matches its MTA-STS policy");
                        self.record_all(&jobs, None, |_| Attempt::Temporary(t.clone()))
                            .await;
                        return;
                    }
                    strict = true;
                }
                super::mta_sts::Mode::Testing => {
                    if hosts.iter().any(|h| !p.allows(&h.name)) {
                        tracing::info!(
                            domain,
                            "MTA-STS (testing): an MX host is not in the policy"
                        );
                    }
                }
                super::mta_sts::Mode::None => {}
            }
        }
        // The big providers share limits over all their domains (not for
        // a smarthost, which is one destination whatever its name).
        let provider = match &self.cfg.relay {
            None => hosts.first().and_then(|h| self.providers.find(&h.name)),
            Some(_) => None,
        };
        if let Some(p) = provider
            && let Some(until) = self.providers.paused(p, now())
        {
            let t = self.paused_text(p);
            self.record_all(&jobs, None, |_| Attempt::Wait {
                text: t.clone(),
                until,
            })
            .await;
            return;
        }
        let _provider_connection = match provider {
            Some(p) => self.providers.connection(p).await,
            None => None,
        };
        let _connection = self.global.clone().acquire_owned().await;
        let port = self
            .cfg
            .relay
            .as_ref()
            .map(|r| r.port)
            .unwrap_or(self.cfg.port);
        let timeouts = Timeouts {
            connect: self.cfg.connect_timeout,
            command: self.cfg.command_timeout,
            data: self.cfg.data_timeout,
        };
        let mut left: VecDeque<Job> = jobs.into();
        let mut last_error = String::from("4.4.1 no host could be reached");
        let mut paused: Option<(usize, i64)> = None;
        'hosts: for host in &hosts {
            let policy = dane_of(host);
            let security = match self.host_security(&policy, strict) {
                Ok(s) => s,
                Err(f) => {
                    // RFC 7672 §2.2: a host whose TLSA lookup failed is
                    // not used at all, not even in the clear.
                    dane_failed(&host.name, &f);
                    last_error = f.text;
                    continue;
                }
            };
            for ip in &host.addrs {
                while !left.is_empty() {
                    let addr = SocketAddr::new(*ip, port);
                    let opened = self
                        .open(addr, &host.name, &timeouts, security.as_ref())
                        .await;
                    // A host DANE applies to is reported under its TLSA
                    // policy (RFC 8460 §4.4), any other under MTA-STS or none.
                    let opened = match opened {
                        Err(e) if policy.applies() => {
                            match dane::failure(&policy, &host.name, self.cfg.port, e) {
                                Ok(e) => Err(e),
                                Err(f) => {
                                    self.report_dane(domain, &policy, &host.name, *ip, Some(&f));
                                    dane_failed(&host.name, &f);
                                    Err(ConnError(f.text))
                                }
                            }
                        }
                        Ok(c) if policy.applies() => {
                            self.report_dane(domain, &policy, &host.name, *ip, None);
                            Ok(c)
                        }
                        opened => {
                            let p = sts_policy.as_deref();
                            self.report_tls(domain, p, &host.name, Some(*ip), opened.as_ref());
                            opened
                        }
                    };
                    let mut c = match opened {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::info!(host = %host.name, %addr, error = %e, "connection failed");
                            last_error = e.0;
                            break;
                        }
                    };
                    if policy.applies() {
                        tracing::info!(host = %host.name, %addr, policy_type = "tlsa", result = "success", "DANE: TLS with the MX host as its TLSA records require");
                    }
                    let mut sent = 0;
                    while sent < self.cfg.max_messages_per_connection
                        && let Some(job) = left.pop_front()
                    {
                        if let Some(p) = provider {
                            self.providers.pace(p, today()).await;
                        }
                        match self.send_one(&mut c, &job).await {
                            Ok(()) => {
                                sent += 1;
                                // The provider said "too fast": the rest
                                // wait for the pause, over every domain.
                                if let Some(p) = provider
                                    && let Some(until) = self.providers.paused(p, now())
                                {
                                    paused = Some((p, until));
                                    c.quit().await;
                                    break 'hosts;
                                }
                            }
                            Err(e) => {
                                tracing::info!(peer = %c.peer, error = %e, "connection lost");
                                last_error = e.0;
                                left.push_front(job);
                                break;
                            }
                        }
                    }
                    let broke = sent < self.cfg.max_messages_per_connection && !left.is_empty();
                    c.quit().await;
                    if broke {
                        break;
                    }
                }
                if left.is_empty() {
                    break 'hosts;
                }
            }
        }
        let rest: Vec<Job> = left.into();
        if rest.is_empty() {
            return;
        }
        match paused {
            Some((p, until)) => {
                let text = self.paused_text(p);
                self.record_all(&rest, None, |_| Attempt::Wait {
                    text: text.clone(),
                    until,
                })
                .await
            }
            None => {
                self.record_all(&rest, None, |_| Attempt::Temporary(last_error.clone()))
                    .await
            }
        }
    }

    fn paused_text(&self, p: usize) -> String {
        format!(
            "4.7.0 {} asked this server to slow down; sending to it is paused \
             ([outbound] rate_limit_pause_secs)",
            self.providers.name(p)
        )
    }

    /// What a refusal from `mta` means: a greylisted recipient's next try
    /// (None: the usual backoff), and the pause of a rate-limiting
    /// provider; advice goes to the log.
    fn read_refusal(&self, text: &str, mta: Option<&str>, attempts: u32) -> Option<i64> {
        let reading = answer::read(text, mta.unwrap_or(""));
        if let Some(advice) = &reading.advice
            && reading.kind != Kind::Greylisted
        {
            tracing::warn!(
                provider = reading.provider,
                reply = text,
                advice = advice.as_str(),
                "refused by the receiving server"
            );
        }
        let now = now();
        match reading.kind {
            // RFC 6647 §2.1: the retry is expected to pass; after a few
            // that did not, the usual backoff takes over.
            Kind::Greylisted if attempts < 3 => {
                Some(now + self.cfg.greylist_retry.as_secs().max(1) as i64)
            }
            Kind::RateLimited => {
                let until = now + self.cfg.rate_limit_pause.as_secs().max(1) as i64;
                let host = mta.and_then(|m| m.split_whitespace().next()).unwrap_or("");
                let p = self.providers.find(host).or_else(|| {
                    reading
                        .provider
                        .and_then(|name| self.providers.by_name(name))
                });
                if let Some(p) = p {
                    tracing::warn!(provider = self.providers.name(p), until, "provider paused");
                    self.providers.pause(p, until);
                }
                Some(until)
            }
            _ => None,
        }
    }

    async fn relay_host(&self, r: &super::Relay) -> Result<Host, String> {
        if let Ok(ip) = r.host.parse::<IpAddr>() {
            return Ok(Host {
                name: r.host.clone(),
                addrs: vec![ip],
            });
        }
        match self
            .resolver
            .lookup_ip(format!("{}.", r.host.trim_end_matches('.')))
            .await
        {
            Ok(ips) => Ok(Host {
                name: r.host.clone(),
                addrs: ips.iter().collect(),
            }),
            Err(e) => Err(format!("4.4.3 DNS lookup of relay {} failed: {e}", r.host)),
        }
    }

    /// How to secure the connection to a host whose DANE policy is
    /// `policy` (None: the runner's own setting); `Err` when the host is
    /// not to be used.
    fn host_security(
        &self,
        policy: &HostPolicy,
        strict: bool,
    ) -> Result<Option<Security>, dane::Failure> {
        Ok(match policy {
            HostPolicy::Authenticate(records) => Some(Security::StartTls {
                connector: dane::connector(records.clone()),
                required: true,
            }),
            HostPolicy::EncryptOnly => Some(Security::StartTls {
                connector: super::client::opportunistic_tls(),
                required: true,
            }),
            HostPolicy::Unusable(f) => return Err(f.clone()),
            HostPolicy::None => match (&self.sts, strict) {
                (Some((_, verified)), true) => Some(Security::StartTls {
                    connector: verified.clone(),
                    required: true,
                }),
                _ => None,
            },
        })
    }

    async fn open(
        &self,
        addr: SocketAddr,
        host: &str,
        t: &Timeouts,
        security: Option<&Security>,
    ) -> Result<Client, ConnError> {
        let security = security.unwrap_or(&self.security);
        let mut c = Client::connect(addr, host, &self.cfg.hostname, security, t).await?;
        if let Some(r) = &self.cfg.relay {
            c.auth(&r.username, &r.password).await?;
        }
        Ok(c)
    }

    /// One message over an open connection; `Err` if the connection broke
    /// (the job is then not recorded: the caller tries elsewhere).
    async fn send_one(&self, c: &mut Client, job: &Job) -> Result<(), ConnError> {
        let e = &job.entry;
        let data = match self.store.read_blob(&e.blob).await {
            Ok(d) => d,
            Err(err) => {
                tracing::error!(id = e.id, error = %err, "reading a queued message failed");
                let t = format!("4.3.0 reading the queued message failed: {err}");
                self.record(job, None, |_| Attempt::Temporary(t.clone()))
                    .await;
                return Ok(());
            }
        };
        // Our Return-Path line is for local mailboxes; RFC 5321 §4.4: a
        // message sent on must not carry one (the final server adds it).
        let data = without_return_path(data);
        let mta = Some(c.peer.clone());
        // What the message needs that the server may lack (RFC 6152, 6531,
        // 3030, 1870): we do not convert, so it cannot go this way.
        let eight_bit = e.body.as_deref() == Some("8BITMIME") && data.iter().any(|&b| b >= 0x80);
        let missing = if e.smtputf8 && !c.ext.smtputf8 {
            Some("5.6.7 the message needs SMTPUTF8, which the receiving server does not offer")
        } else if eight_bit && !c.ext.eightbitmime {
            Some(
                "5.6.3 the message has 8-bit content and the receiving server does not offer 8BITMIME",
            )
        } else if e.body.as_deref() == Some("BINARYMIME") && !(c.ext.binarymime && c.ext.chunking) {
            Some("5.6.3 the message is binary and the receiving server does not offer BINARYMIME")
        } else if c.ext.size.is_some_and(|n| n > 0 && data.len() as u64 > n) {
            Some("5.3.4 the message is larger than the receiving server accepts")
        } else {
            None
        };
        if let Some(why) = missing {
            self.record(job, mta, |_| Attempt::Permanent(why.to_string()))
                .await;
            return Ok(());
        }
        let rcpts: Vec<&RecipientState> = job
            .rcpts
            .iter()
            .filter_map(|a| e.recipients.iter().find(|r| &r.address == a))
            .collect();
        let env = Envelope {
            from: &e.reverse_path,
            rcpts: rcpts
                .iter()
                .map(|r| Rcpt {
                    address: &r.address,
                    notify: r.notify.as_deref(),
                    orcpt: r.orcpt.as_deref(),
                })
                .collect(),
            size: data.len(),
            body: e.body.as_deref(),
            smtputf8: e.smtputf8,
            ret: e.ret.as_deref(),
            envid: e.envid.as_deref(),
        };
        let outcome = c.send(&env, &data).await?;
        let relayed = !c.ext.dsn;
        let replies: Vec<(String, u16)> = match outcome {
            TxOutcome::MailRefused(r) => rcpts.iter().map(|_| (reply_text(&r), r.code)).collect(),
            TxOutcome::Replies(rs) => rs.iter().map(|r| (reply_text(r), r.code)).collect(),
        };
        tracing::info!(
            id = e.id,
            peer = %c.peer,
            tls = c.tls,
            replies = ?replies.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
            "delivery attempt"
        );
        let by_addr: Vec<(String, Attempt)> = rcpts
            .iter()
            .zip(replies)
            .map(|(r, (text, code))| {
                let a = match code / 100 {
                    2 => Attempt::Delivered { text, relayed },
                    4 => Attempt::Temporary(text),
                    _ => Attempt::Permanent(text),
                };
                (r.address.clone(), a)
            })
            .collect();
        let mut by_addr = by_addr;
        self.record(job, mta, move |addr| {
            by_addr
                .iter()
                .position(|(a, _)| a == addr)
                .map(|i| by_addr.swap_remove(i).1)
                .unwrap_or_else(|| Attempt::Temporary("4.0.0 no reply recorded".into()))
        })
        .await;
        Ok(())
    }

    async fn record_all(&self, jobs: &[Job], mta: Option<String>, f: impl Fn(&str) -> Attempt) {
        for j in jobs {
            self.record(j, mta.clone(), &f).await;
        }
    }

    /// Turns attempts into recipient updates (retry time, expiry, the DSN
    /// owed) and records them in one commit for the message.
    async fn record(&self, job: &Job, mta: Option<String>, mut f: impl FnMut(&str) -> Attempt) {
        let e = &job.entry;
        let now = now();
        let expires = e.created_at + self.cfg.max_age.as_secs() as i64;
        let mut updates = Vec::new();
        for addr in &job.rcpts {
            let Some(r) = e.recipients.iter().find(|r| &r.address == addr) else {
                continue;
            };
            let wants = |what: &str| {
                !e.reverse_path.is_empty()
                    && match r.notify.as_deref() {
                        None => what == "FAILURE" || what == "DELAY",
                        Some(n) => n.split(',').any(|x| x.trim().eq_ignore_ascii_case(what)),
                    }
            };
            // A temporary refusal's next try, read from what it said.
            let attempt = match f(addr) {
                Attempt::Temporary(text) if now < expires => {
                    let until = self
                        .read_refusal(&text, mta.as_deref(), r.attempts)
                        .unwrap_or_else(|| now + self.backoff(r.attempts + 1));
                    Attempt::Wait { text, until }
                }
                a => a,
            };
            let (outcome, text, dsn) = match attempt {
                Attempt::Delivered { text, relayed } => {
                    let dsn = wants("SUCCESS")
                        .then(|| if relayed { "relayed" } else { "delivered" }.to_string());
                    (Outcome::Delivered, text, dsn)
                }
                Attempt::Permanent(text) => {
                    self.read_refusal(&text, mta.as_deref(), r.attempts);
                    (
                        Outcome::Failed,
                        text,
                        wants("FAILURE").then(|| "failed".into()),
                    )
                }
                Attempt::Temporary(text) | Attempt::Wait { text, .. } if now >= expires => {
                    let days = self.cfg.max_age.as_secs() / 86400;
                    let text = format!(
                        "4.4.7 gave up after {} in the queue; last error: {text}",
                        if days > 0 {
                            format!("{days} days")
                        } else {
                            format!("{} seconds", self.cfg.max_age.as_secs())
                        }
                    );
                    (
                        Outcome::Failed,
                        text,
                        wants("FAILURE").then(|| "failed".into()),
                    )
                }
                // Read into a Wait above unless expired; never here.
                Attempt::Temporary(text) => (
                    Outcome::Deferred {
                        next_attempt: now + self.backoff(r.attempts + 1),
                    },
                    text,
                    None,
                ),
                Attempt::Wait { text, until: next } => {
                    let next = next.min(expires.max(now + 1));
                    let warn = self.cfg.delay_warning.is_some_and(|d| {
                        !r.delay_warned && now - e.created_at >= d.as_secs() as i64
                    }) && wants("DELAY");
                    (
                        Outcome::Deferred { next_attempt: next },
                        text,
                        warn.then(|| "delayed".into()),
                    )
                }
            };
            super::events::attempt(e.id, addr, mta.as_deref(), &outcome, &text);
            updates.push(RecipientUpdate {
                address: addr.clone(),
                outcome,
                text: Some(text),
                remote_mta: mta.clone(),
                dsn,
                attempted: true,
            });
        }
        if let Err(err) = self.store.queue_update(e.id, updates).await {
            tracing::error!(id = e.id, error = %err, "recording delivery results failed");
        }
    }

    /// Seconds until attempt `n` (1-based): `first_retry · 2^(n-1)`, at
    /// most `max_retry`, ±10 % jitter so retries of many messages spread.
    fn backoff(&self, n: u32) -> i64 {
        let first = self.cfg.first_retry.as_secs_f64().max(1.0);
        let max = self.cfg.max_retry.as_secs_f64().max(first);
        let base = (first * 2f64.powi(n.saturating_sub(1).min(30) as i32)).min(max);
        let jitter = rand::rng().random_range(0.9..=1.1);
        ((base * jitter).round() as i64).max(1)
    }
}

/// `raw` without a leading `Return-Path:` header (and its continuation lines).
fn without_return_path(mut raw: Vec<u8>) -> Vec<u8> {
    if !raw
        .get(..12)
        .is_some_and(|h| h.eq_ignore_ascii_case(b"return-path:"))
    {
        return raw;
    }
    let mut end = 0;
    loop {
        match raw[end..].iter().position(|&b| b == b'\n') {
            Some(p) => end += p + 1,
            None => return raw,
        }
        if !matches!(raw.get(end), Some(b' ') | Some(b'\t')) {
            break;
        }
    }
    raw.drain(..end);
    raw
}

#[cfg(test)]
mod tests {
    use super::without_return_path;

    #[test]
    fn the_return_path_line_is_dropped_and_nothing_else() {
        assert_eq!(
            without_return_path(b"Return-Path: <a@b>\r\nReceived: x\r\n\r\nbody".to_vec()),
            b"Received: x\r\n\r\nbody"
        );
        assert_eq!(
            without_return_path(b"Return-Path:\r\n <a@b>\r\nX: y\r\n".to_vec()),
            b"X: y\r\n"
        );
        assert_eq!(without_return_path(b"X: y\r\n".to_vec()), b"X: y\r\n");
    }
}
