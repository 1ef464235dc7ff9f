//! Aggregate reports about mail authentication and transport security:
//! DMARC aggregate reports (RFC 7489 §7.2, `dmarc.rs`) and SMTP TLS
//! Reporting (RFC 8460, `tls.rs`), sent once a day to the domains that ask
//! for them (`send.rs`, `message.rs`) and read when other servers send
//! them to our own `rua` addresses (`receive.rs`).
//!
//! # Implementation notes
//! - Counting costs no write per message: the [`Recorder`] gathers
//!   evaluations (port 25) and TLS outcomes (the queue runner) in memory
//!   and adds them to the store's per-day counts at most every
//!   `flush_secs`, in one commit, and once more at shutdown. A crash loses
//!   at most that interval's counts; reports are statistics, so that is
//!   the trade against an fsync per message.
//! - Only evaluations of domains whose DMARC record asks for aggregate
//!   reports (`rua=`) are counted, so the table holds what will be sent.
//! - A day is reported once, after it ends (the run at `[reports] hour`
//!   UTC), or up to now with `postern reports send --now`; counts that
//!   arrive after a report start new rows (the store's `sent_at`).

pub mod dmarc;
pub mod https;
mod message;
pub mod receive;
pub mod send;
pub mod tls;

use std::collections::HashMap;
use std::time::Duration;

use postern_store::{DmarcSeen, Store, TlsSeen};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use tls::{PolicyType, TlsOutcome, TlsResult};

/// `[reports]`: sending, receiving and keeping reports.
#[derive(Clone, Debug)]
pub struct ReportsConfig {
    /// Send DMARC aggregate reports to domains that publish `rua`.
    pub send_dmarc: bool,
    /// Send TLS reports to domains that publish `_smtp._tls` `rua`.
    pub send_tls: bool,
    /// The UTC hour of the daily run.
    pub hour: u8,
    /// Counts and received reports older than this many days go.
    pub retain_days: u32,
    /// The largest report we read, unpacked (a bigger one is ignored).
    pub max_report_bytes: u64,
    /// How often the counts reach the store.
    pub flush: Duration,
    /// The local part of our own `rua` addresses (`postern domain dns`
    /// prints `rua=mailto:<address>@<domain>`); reports arriving there
    /// are read.
    pub address: String,
    /// Who the reports we send are from; empty: `address` at the first
    /// local domain.
    pub from: String,
    /// `org_name` / `organization-name` in our reports; empty: the host
    /// name.
    pub org_name: String,
    /// The CA roots an `https:` TLS-RPT `rua` is verified with: `[outbound]
    /// ca_file`, as for MTA-STS; None: the system's.
    pub https_ca_file: Option<std::path::PathBuf>,
    /// One POST of a TLS report, at most.
    pub https_timeout: Duration,
    /// The first wait before a failed POST is tried again (then doubled).
    pub https_retry: Duration,
    /// How long a failed POST is retried before it is given up.
    pub https_give_up: Duration,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            send_dmarc: true,
            send_tls: true,
            hour: 1,
            retain_days: 31,
            max_report_bytes: 10 * 1024 * 1024,
            flush: Duration::from_secs(60),
            address: "postmaster".into(),
            from: String::new(),
            org_name: String::new(),
            https_ca_file: None,
            https_timeout: Duration::from_secs(30),
            https_retry: Duration::from_secs(300),
            https_give_up: Duration::from_secs(86_400),
        }
    }
}

#[derive(Debug)]
enum Seen {
    Dmarc(DmarcSeen),
    Tls(TlsSeen),
}

/// How many evaluations may wait for the flusher; past that they are
/// dropped (and logged) rather than slowing mail down.
const QUEUE: usize = 10_000;

/// Hands counts to the background flusher; cheap to clone.
#[derive(Clone, Debug)]
pub struct Recorder {
    tx: mpsc::Sender<Seen>,
}

/// Days since the epoch (UTC) of Unix seconds.
pub fn day_of(secs: i64) -> i64 {
    secs.div_euclid(86400)
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Recorder {
    /// Starts the flusher on `tracker`; it writes what it holds and stops
    /// when `shutdown` fires.
    pub fn spawn(
        store: Store,
        flush: Duration,
        shutdown: CancellationToken,
        tracker: &TaskTracker,
    ) -> Recorder {
        let (tx, rx) = mpsc::channel(QUEUE);
        tracker.spawn(flusher(store, rx, flush, shutdown));
        Recorder { tx }
    }

    /// Counts one inbound DMARC evaluation.
    pub fn dmarc(&self, row: DmarcSeen) {
        self.send(Seen::Dmarc(row));
    }

    /// Counts one outbound TLS outcome, today.
    pub fn tls(&self, o: &TlsOutcome) {
        self.send(Seen::Tls(TlsSeen {
            day: day_of(now_secs()),
            policy_domain: o.policy_domain.to_ascii_lowercase(),
            policy_type: o.policy_type.as_str().into(),
            mx_host: o.mx_host.to_ascii_lowercase(),
            receiving_ip: o.receiving_ip.clone(),
            result: o.result.as_str().into(),
            policy_string: o.policy_string.join("\n"),
            count: 1,
        }));
    }

    fn send(&self, s: Seen) {
        if self.tx.try_send(s).is_err() {
            tracing::warn!("report counts dropped: the recorder is behind or stopped");
        }
    }
}

#[derive(Default)]
struct Pending {
    dmarc: HashMap<DmarcSeen, i64>,
    tls: HashMap<TlsSeen, i64>,
}

impl Pending {
    fn add(&mut self, s: Seen) {
        match s {
            Seen::Dmarc(mut r) => {
                let n = std::mem::take(&mut r.count);
                *self.dmarc.entry(r).or_default() += n;
            }
            Seen::Tls(mut r) => {
                let n = std::mem::take(&mut r.count);
                *self.tls.entry(r).or_default() += n;
            }
        }
    }

    async fn write(&mut self, store: &Store) {
        let dmarc: Vec<DmarcSeen> = self
            .dmarc
            .drain()
            .map(|(mut r, n)| {
                r.count = n;
                r
            })
            .collect();
        let tls: Vec<TlsSeen> = self
            .tls
            .drain()
            .map(|(mut r, n)| {
                r.count = n;
                r
            })
            .collect();
        if !dmarc.is_empty()
            && let Err(e) = store.reports_record_dmarc(dmarc).await
        {
            tracing::warn!(error = %e, "recording DMARC report counts failed");
        }
        if !tls.is_empty()
            && let Err(e) = store.reports_record_tls(tls).await
        {
            tracing::warn!(error = %e, "recording TLS report counts failed");
        }
    }
}

async fn flusher(
    store: Store,
    mut rx: mpsc::Receiver<Seen>,
    flush: Duration,
    shutdown: CancellationToken,
) {
    let mut pending = Pending::default();
    loop {
        let first = tokio::select! {
            s = rx.recv() => s,
            _ = shutdown.cancelled() => None,
        };
        let Some(first) = first else {
            break;
        };
        pending.add(first);
        // Gather for one interval, then one commit.
        let wait = tokio::time::sleep(flush);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                s = rx.recv() => match s {
                    Some(s) => pending.add(s),
                    None => break,
                },
                _ = &mut wait => break,
                _ = shutdown.cancelled() => break,
            }
        }
        pending.write(&store).await;
        if shutdown.is_cancelled() {
            break;
        }
    }
    while let Ok(s) = rx.try_recv() {
        pending.add(s);
    }
    pending.write(&store).await;
}
