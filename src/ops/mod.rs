//! Running it: the Prometheus metrics (`[metrics] listen`, `http.rs`), the
//! status socket `postern status` reads (`status.rs`), the recent
//! warnings it shows (`recent.rs`), the state they report from, and the
//! periodic return of freed memory to the system (`trim.rs`, and the
//! executable's unused code pages, `code_pages.rs`).
//!
//! Counting happens where things happen, through the `metrics` facade
//! (crates/net: connections and TLS; auth: logins; smtp: accepted and
//! refused mail, outbound results; delivery: spam verdicts; store: commit
//! batches and latency). This module installs the recorder, describes the
//! metrics, and sets the gauges read from the store: the queue's at each
//! scrape (one indexed count), the disk's every `DISK_EVERY` (a walk of
//! the blob directory is too slow for every scrape).

pub mod code_pages;
pub mod http;
pub mod recent;
pub mod status;
pub mod trim;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use postern_store::{DiskUsage, Store};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often histograms are folded into their buckets (the exporter
/// leaves it to us without its HTTP listener).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// How often the store's disk usage is measured.
const DISK_EVERY: Duration = Duration::from_secs(300);
/// Buckets of the store's latency histograms, in seconds: a batch commit
/// is one fsync, from ~0.1 ms on NVMe to tens of ms on a slow disk.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Installs the Prometheus recorder (before anything counts: a handle taken
/// earlier counts into the void) and describes every metric.
pub fn install_metrics() -> Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
        .context("configuring the metrics histograms")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    describe();
    Ok(handle)
}

fn describe() {
    use metrics::{describe_counter as c, describe_gauge as g, describe_histogram as h};
    c!(
        "postern_connections_accepted_total",
        "Connections accepted, per listener"
    );
    c!(
        "postern_connections_refused_total",
        "Connections refused at the connection limits, per listener"
    );
    g!(
        "postern_connections_open",
        "Connections open now, per listener"
    );
    c!(
        "postern_tls_handshakes_total",
        "TLS handshakes (implicit and STARTTLS) by listener and result"
    );
    c!(
        "postern_logins_total",
        "Logins by protocol and result (ok, failed, throttled, tempfail)"
    );
    c!(
        "postern_smtp_accepted_total",
        "Messages accepted with 250 at the end of DATA, by mode"
    );
    c!(
        "postern_smtp_rejected_total",
        "SMTP refusals at MAIL, RCPT and the end of DATA, by mode and reason"
    );
    c!(
        "postern_delivered_local_total",
        "Local copies stored by SMTP"
    );
    c!(
        "postern_queued_outbound_total",
        "Messages SMTP queued for other servers"
    );
    c!(
        "postern_outbound_total",
        "Outbound attempts per recipient by result (delivered, deferred, bounced)"
    );
    c!(
        "postern_spam_verdicts_total",
        "Spam verdicts: inbox and junk per recipient, reject per message"
    );
    c!(
        "postern_store_batches_total",
        "Store write batches (one COMMIT each; an fsync unless unsynced)"
    );
    c!(
        "postern_store_unsynced_commits_total",
        "Store batches of flag changes alone, committed without an fsync"
    );
    c!(
        "postern_store_writes_total",
        "Writes carried by the store's batches"
    );
    h!(
        "postern_store_batch_seconds",
        metrics::Unit::Seconds,
        "Time to run and commit one write batch"
    );
    h!(
        "postern_store_commit_seconds",
        metrics::Unit::Seconds,
        "Time of a batch's COMMIT (WAL write, and fsync unless unsynced)"
    );
    g!(
        "postern_queue_messages",
        "Messages in the outbound queue (including held)"
    );
    g!(
        "postern_queue_deferred",
        "Queue recipients waiting for a retry"
    );
    g!(
        "postern_queue_oldest_age_seconds",
        metrics::Unit::Seconds,
        "Age of the oldest queued message"
    );
    g!(
        "postern_store_database_bytes",
        metrics::Unit::Bytes,
        "Database and write-ahead log size"
    );
    g!(
        "postern_store_blob_file_bytes",
        metrics::Unit::Bytes,
        "Message files in the blob directory"
    );
    g!(
        "postern_data_dir_free_bytes",
        metrics::Unit::Bytes,
        "Free space on the data directory's file system"
    );
    g!(
        "postern_uptime_seconds",
        metrics::Unit::Seconds,
        "Seconds since the server started"
    );
}

/// What the status socket and the metrics endpoint report from.
pub struct Ops {
    pub store: Store,
    pub hostname: String,
    pub data_dir: std::path::PathBuf,
    /// `(name, address)` of every listener, the metrics one included.
    pub listeners: Vec<(String, String)>,
    started: Instant,
    started_at: i64,
    metrics: Option<PrometheusHandle>,
    disk: Mutex<Option<DiskUsage>>,
}

/// Starts the upkeep, the metrics endpoint and the status socket (a
/// status socket that cannot be made is logged: mail goes on).
pub fn start(
    ops: Arc<Ops>,
    metrics_listeners: Vec<tokio::net::TcpListener>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    ops.spawn_upkeep(shutdown.clone(), tracker);
    http::spawn(metrics_listeners, ops.clone(), shutdown.clone(), tracker);
    if let Err(e) = status::spawn(ops, shutdown, tracker) {
        tracing::warn!(error = %format!("{e:#}"), "no status socket; `postern status` will not reach this server");
    }
}

impl Ops {
    pub fn new(
        cfg: &crate::config::Config,
        store: Store,
        listeners: Vec<(String, String)>,
        metrics: Option<PrometheusHandle>,
    ) -> Arc<Ops> {
        Arc::new(Ops {
            store,
            hostname: cfg.hostname.clone(),
            data_dir: cfg.data_dir.clone(),
            listeners,
            started: Instant::now(),
            started_at: now(),
            metrics,
            disk: Mutex::new(None),
        })
    }

    /// The last disk usage measured, if any yet.
    pub fn disk(&self) -> Option<DiskUsage> {
        *self.disk.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The Prometheus text, with the store's gauges read now.
    pub async fn render_metrics(&self) -> String {
        let Some(handle) = &self.metrics else {
            return String::new();
        };
        match self.store.queue_summary().await {
            Ok(q) => {
                metrics::gauge!("postern_queue_messages").set(q.messages as f64);
                metrics::gauge!("postern_queue_deferred").set(q.deferred as f64);
                let age = q.oldest.map_or(0, |t| (now() - t).max(0));
                metrics::gauge!("postern_queue_oldest_age_seconds").set(age as f64);
            }
            Err(e) => tracing::warn!(error = %e, "metrics: reading the queue failed"),
        }
        if let Some(free) = self.store.free_space() {
            metrics::gauge!("postern_data_dir_free_bytes").set(free as f64);
        }
        metrics::gauge!("postern_uptime_seconds").set(self.started.elapsed().as_secs_f64());
        handle.render()
    }

    /// Folds histograms (every `UPKEEP_EVERY`, with metrics on) and
    /// measures the disk (at once, then every `DISK_EVERY`) until shutdown.
    pub fn spawn_upkeep(self: &Arc<Self>, shutdown: CancellationToken, tracker: &TaskTracker) {
        let ops = self.clone();
        tracker.spawn(async move {
            let mut last_disk: Option<Instant> = None;
            loop {
                if last_disk.is_none_or(|t| t.elapsed() >= DISK_EVERY) {
                    last_disk = Some(Instant::now());
                    match ops.store.disk_usage().await {
                        Ok(u) => {
                            metrics::gauge!("postern_store_database_bytes")
                                .set(u.database_bytes as f64);
                            metrics::gauge!("postern_store_blob_file_bytes")
                                .set(u.blob_file_bytes as f64);
                            *ops.disk.lock().unwrap_or_else(PoisonError::into_inner) = Some(u);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "measuring the store's disk use failed")
                        }
                    }
                }
                if let Some(h) = &ops.metrics {
                    h.run_upkeep();
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(UPKEEP_EVERY) => {}
                }
            }
        });
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn started_at(&self) -> i64 {
        self.started_at
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
