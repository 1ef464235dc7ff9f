//! Outbound delivery: the queue runner. Mail accepted for other domains
//! waits in the store's queue (one row per message, one per recipient with
//! its state); the runner sends it and reports back with DSNs.
//!
//! - `route.rs`: MX lookup (RFC 5321 §5.1, RFC 7505).
//! - `client.rs`: our SMTP client (EHLO, STARTTLS, PIPELINING, AUTH, DATA/BDAT).
//! - `dane.rs`: DANE (RFC 7672): TLSA of the MX hosts over DNSSEC-validated
//!   answers, and the TLS verifier they make.
//! - `deliver.rs`: one worker: one destination domain, a batch of messages
//!   over one connection, each reply turned into a recipient's new state.
//! - `dsn.rs`: RFC 3464 reports.
//! - `answer.rs`: what a refusal means (greylisting, a provider's rate
//!   limit, an authentication or policy refusal and its fix);
//!   `provider.rs`: the big providers' shared limits, pacing and pauses.
//!
//! Implementation notes
//! - The runner loop scans the store for due recipients, groups them per
//!   destination domain (one transaction per message and domain carries all
//!   that domain's recipients) and hands batches to workers, within a
//!   global and a per-domain connection limit. It sleeps until the next
//!   attempt is due, a new message is accepted (`Wake`), a worker finishes,
//!   or `scan_interval` passes (the admin CLI, another process, cannot wake
//!   it).
//! - Restart-safe by construction: state lives only in the store; a worker
//!   killed mid-delivery leaves its recipients due, so they are sent again
//!   (at least once, never lost). A recipient's outcome and the DSN it owes
//!   are recorded in one commit; the DSN is then delivered (locally, or
//!   queued with a null sender) and only after that marked sent, so a crash
//!   in between sends it twice rather than never.
//! - Retries: `first_retry` doubling up to `max_retry`, ±10 % jitter; after
//!   `max_age` a deferred recipient fails with 4.4.7 and bounces. A
//!   greylisted recipient is retried after `greylist_retry` instead; a
//!   rate-limit answer waits `rate_limit_pause` and pauses the provider.
//! - Never a DSN to the null sender (RFC 5321 §4.5.5): bounces themselves
//!   are sent with `MAIL FROM:<>`, and nothing reports on them.

mod deliver;
mod events;

pub mod answer;
pub mod client;
pub mod config;
pub mod dane;
pub mod dsn;
pub mod mta_sts;
pub mod provider;
pub mod route;
mod tls_report;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use postern_auth::{Directory, Resolution};
use postern_store::{
    DeliveryTarget, NewMessage, Outbound, QueueEntry, QueuedRecipient, Store, UserId,
};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{OutboundConfig, ProviderLimits, Relay, TlsPolicy, Warmup};

use client::Security;

/// How long the runner waits after a wake-up before it scans, so a burst
/// of newly queued messages costs one scan of the queue, not one each.
const WAKE_COALESCE: Duration = Duration::from_millis(20);

/// Wakes the runner when a message was queued (the SMTP session calls it).
#[derive(Clone, Debug, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn wake(&self) {
        self.0.notify_one();
    }
    async fn woken(&self) {
        self.0.notified().await
    }
}

/// One message's share of a domain batch.
pub(crate) struct Job {
    pub entry: QueueEntry,
    /// The due recipients at this domain.
    pub rcpts: Vec<String>,
}

pub(crate) struct Runner {
    pub store: Store,
    pub directory: Directory,
    pub cfg: Arc<OutboundConfig>,
    pub resolver: TokioResolver,
    pub security: Security,
    /// MTA-STS policies and the verifying TLS they require, when enabled.
    pub sts: Option<(mta_sts::MtaSts, tokio_rustls::TlsConnector)>,
    /// The validating resolver whose answers DANE believes; None: DANE is
    /// off (no trusted resolver, `[dns] trust_ad = "off"`, or a relay).
    pub dane: Option<postern_net::dns_secure::SecureResolver>,
    /// Who this server is, so routing never picks it (RFC 5321 §5.1).
    pub local: route::Local,
    /// The big providers' shared limits and pauses.
    pub providers: provider::Providers,
    wake: Wake,
    global: Arc<Semaphore>,
    /// (queue id, domain) pairs a worker has now.
    in_flight: Mutex<HashSet<(i64, String)>>,
    /// Workers per domain now.
    per_domain: Mutex<HashMap<String, usize>>,
}

/// Starts the queue runner on `tracker`; it stops when `shutdown` fires.
pub fn spawn(
    store: Store,
    directory: Directory,
    cfg: OutboundConfig,
    wake: Wake,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) -> Result<(), String> {
    let resolver = postern_net::dns::resolver(&cfg.nameservers)?;
    let security = match &cfg.relay {
        Some(r) => {
            let ca = r
                .ca_file
                .clone()
                .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into());
            let c = client::verified_tls(&ca).map_err(|e| format!("relay TLS roots: {e}"))?;
            if r.implicit_tls {
                Security::Implicit(c)
            } else {
                Security::StartTls {
                    connector: c,
                    required: true,
                }
            }
        }
        None => match cfg.tls {
            TlsPolicy::Off => Security::Plain,
            p => Security::StartTls {
                connector: client::opportunistic_tls(),
                required: p == TlsPolicy::Required,
            },
        },
    };
    let sts = if cfg.mta_sts && cfg.relay.is_none() {
        let ca = cfg
            .ca_file
            .clone()
            .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into());
        match client::verified_tls(&ca) {
            Ok(c) => Some((
                mta_sts::MtaSts::new(
                    postern_net::dns::resolver(&cfg.nameservers)?,
                    c.clone(),
                    cfg.mta_sts_port,
                    cfg.connect_timeout,
                    cfg.mta_sts_cache_max,
                ),
                c,
            )),
            Err(e) => {
                tracing::warn!(error = %e, "no CA roots, so MTA-STS is off");
                None
            }
        }
    } else {
        None
    };
    let dane = match &cfg.relay {
        Some(_) => None,
        None => postern_net::dns_secure::SecureResolver::configured(
            &cfg.nameservers,
            cfg.trust_ad,
            cfg.dnssec_anchors.as_ref(),
            cfg.dnssec_timeout,
        )?,
    };
    if cfg.relay.is_none() && dane.is_none() {
        tracing::info!(
            "no resolver whose DNSSEC answers are trusted ([dns] dnssec, trust_ad), so DANE is off"
        );
    }
    let local = route::Local {
        names: vec![cfg.hostname.clone()],
        listeners: cfg.local_listeners.clone(),
        port: cfg.port,
        max_hosts: cfg.max_mx_hosts,
    };
    let runner = Arc::new(Runner {
        local,
        providers: provider::Providers::new(cfg.providers.clone(), cfg.warmup),
        store,
        directory,
        sts,
        dane,
        global: Arc::new(Semaphore::new(cfg.max_connections.max(1))),
        cfg: Arc::new(cfg),
        resolver,
        security,
        wake,
        in_flight: Mutex::new(HashSet::new()),
        per_domain: Mutex::new(HashMap::new()),
    });
    let t = tracker.clone();
    tracker.spawn(async move { runner.run(shutdown, t).await });
    Ok(())
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A worker's hold on its (message, domain) pairs; dropping it frees them
/// and wakes the runner.
struct Claim {
    runner: Arc<Runner>,
    domain: String,
    ids: Vec<i64>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.runner.release(&self.domain, &self.ids);
        self.runner.wake.wake();
    }
}

/// The domain of an address, lowercased (the part after the last `@`).
pub(crate) fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or(address)
        .to_ascii_lowercase()
}

impl Runner {
    async fn run(self: Arc<Self>, shutdown: CancellationToken, tracker: TaskTracker) {
        tracing::info!(
            relay = self.cfg.relay.as_ref().map(|r| r.host.as_str()),
            "queue runner started"
        );
        loop {
            self.send_dsns().await;
            self.dispatch(&tracker).await;
            let now = now();
            let sleep = match self.store.queue_next_attempt().await {
                Ok(Some(next)) if next > now => {
                    Duration::from_secs((next - now) as u64).min(self.cfg.scan_interval)
                }
                Ok(_) => self.cfg.scan_interval,
                Err(e) => {
                    tracing::error!(error = %e, "reading the queue failed");
                    self.cfg.scan_interval
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.woken() => {
                    // Under a stream of accepted mail every message wakes
                    // the runner; a short pause lets one scan take many.
                    tokio::time::sleep(WAKE_COALESCE).await;
                }
                _ = tokio::time::sleep(sleep) => {}
            }
        }
        tracing::info!("queue runner stopped");
    }

    /// Hands due recipients to workers, within the limits.
    async fn dispatch(self: &Arc<Self>, tracker: &TaskTracker) {
        let this = self;
        let t = tracker;
        {
            let due = match this.store.queue_due(now(), 5000).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "reading the queue failed");
                    return;
                }
            };
            let now = now();
            let mut by_domain: HashMap<String, Vec<Vec<Job>>> = HashMap::new();
            {
                let in_flight = this.in_flight.lock().unwrap_or_else(|p| p.into_inner());
                for e in due {
                    let mut per: HashMap<String, Vec<String>> = HashMap::new();
                    for r in e
                        .recipients
                        .iter()
                        .filter(|r| r.is_active() && r.next_attempt <= now)
                    {
                        let d = match &this.cfg.relay {
                            Some(relay) => relay.host.clone(),
                            None => domain_of(&r.address),
                        };
                        if !in_flight.contains(&(e.id, d.clone())) {
                            per.entry(d).or_default().push(r.address.clone());
                        }
                    }
                    for (d, rcpts) in per {
                        // At most max_recipients per transaction; one
                        // message's chunks stay together (one worker).
                        let chunks = rcpts
                            .chunks(this.cfg.max_recipients.max(1))
                            .map(|c| Job {
                                entry: e.clone(),
                                rcpts: c.to_vec(),
                            })
                            .collect();
                        by_domain.entry(d).or_default().push(chunks);
                    }
                }
            }
            for (domain, jobs) in by_domain {
                let free = {
                    let pd = this.per_domain.lock().unwrap_or_else(|p| p.into_inner());
                    this.cfg
                        .max_per_domain
                        .saturating_sub(pd.get(&domain).copied().unwrap_or(0))
                };
                if free == 0 {
                    continue;
                }
                // Split the domain's messages over up to `free` connections.
                let n = free.min(jobs.len().div_ceil(4).max(1));
                let mut batches: Vec<Vec<Job>> = (0..n).map(|_| Vec::new()).collect();
                for (i, chunks) in jobs.into_iter().enumerate() {
                    batches[i % n].extend(chunks);
                }
                for batch in batches {
                    this.claim(&domain, &batch);
                    let (w, d) = (this.clone(), domain.clone());
                    t.spawn(async move {
                        // Released however the worker ends (even by a
                        // panic): its recipients are then due again.
                        let _claim = Claim {
                            runner: w.clone(),
                            domain: d.clone(),
                            ids: batch.iter().map(|j| j.entry.id).collect(),
                        };
                        // The global connection permit is taken inside,
                        // after the provider's: a worker waiting for a
                        // busy provider holds none of the others' share.
                        w.deliver_batch(&d, batch).await;
                    });
                }
            }
        }
    }

    fn claim(&self, domain: &str, batch: &[Job]) {
        let mut f = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        for j in batch {
            f.insert((j.entry.id, domain.to_string()));
        }
        *self
            .per_domain
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(domain.to_string())
            .or_default() += 1;
    }

    fn release(&self, domain: &str, ids: &[i64]) {
        let mut f = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            f.remove(&(*id, domain.to_string()));
        }
        let mut pd = self.per_domain.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = pd.get_mut(domain) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                pd.remove(domain);
            }
        }
    }

    /// Sends the DSNs recipients owe, then marks them sent.
    async fn send_dsns(&self) {
        let entries = match self.store.queue_dsn_due(100).await {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "reading owed DSNs failed");
                return;
            }
        };
        for e in entries {
            let owed: Vec<_> = e
                .recipients
                .iter()
                .filter(|r| r.dsn_due.is_some())
                .collect();
            let addresses: Vec<String> = owed.iter().map(|r| r.address.clone()).collect();
            if !e.reverse_path.is_empty() {
                let original = self.store.read_blob(&e.blob).await.ok();
                let report = dsn::build(&dsn::Report {
                    entry: &e,
                    recipients: owed,
                    original: original.as_deref(),
                    reporting_mta: &self.cfg.hostname,
                    now: now(),
                    max_original: self.cfg.bounce_max_original,
                    retry_until: Some(e.created_at + self.cfg.max_age.as_secs() as i64),
                });
                if let Err(err) = self.submit_dsn(&e.reverse_path, report).await {
                    tracing::error!(id = e.id, error = %err, "sending a DSN failed; will retry");
                    continue;
                }
                tracing::info!(id = e.id, to = %e.reverse_path, "DSN sent");
            }
            if let Err(err) = self.store.queue_dsn_sent(e.id, addresses).await {
                tracing::error!(id = e.id, error = %err, "recording a DSN failed");
            }
        }
    }

    /// Delivers a DSN like mail from `<>` to `to`: into local mailboxes,
    /// or queued for a remote sender.
    async fn submit_dsn(&self, to: &str, report: Vec<u8>) -> Result<(), String> {
        // Forwarded mail left with an SRS sender of ours: its bounce goes
        // to the sender it stands for (a forged one cannot be queued here).
        let decoded = self.cfg.srs.as_ref().and_then(|s| {
            let (local, _) = to.rsplit_once('@')?;
            postern_delivery::sieve::srs::is_srs(local)
                .then(|| s.reverse(local).ok())
                .flatten()
        });
        let to = decoded.as_deref().unwrap_or(to);
        let (local, external) = match self.directory.resolve_recipient(to).await {
            Ok(Resolution::Deliver { local, external }) => (local, external),
            Ok(Resolution::Unknown) => (Vec::new(), vec![to.to_string()]),
            Err(e) => return Err(e.to_string()),
        };
        let mut raw = b"Return-Path: <>\r\n".to_vec();
        raw.extend_from_slice(&report);
        let targets = local
            .iter()
            .map(|l| DeliveryTarget::inbox(UserId(l.user_id)))
            .collect();
        let outbound = Outbound {
            reverse_path: String::new(),
            recipients: external
                .into_iter()
                .map(|a| QueuedRecipient {
                    address: a,
                    orcpt: None,
                    notify: Some("NEVER".into()),
                })
                .collect(),
            ..Outbound::default()
        };
        let queued = !outbound.recipients.is_empty();
        let a = self
            .store
            .accept(
                NewMessage {
                    raw,
                    ..NewMessage::default()
                },
                targets,
                Some(outbound),
                true,
            )
            .await
            .map_err(|e| e.to_string())?;
        if a.local.iter().any(|r| r.is_err()) {
            return Err("local delivery of the DSN failed".into());
        }
        if queued {
            self.wake.wake();
        }
        Ok(())
    }
}
