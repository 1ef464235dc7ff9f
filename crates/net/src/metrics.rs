//! The listeners' metrics (the `metrics` facade; the binary installs the
//! Prometheus recorder, and without one every call is a no-op):
//! connections accepted, refused and open, and TLS handshakes, per listener.
//!
//! A listener's handles are registered once, when it starts serving, so a
//! connection costs atomic increments only (a label taken from a `&'static
//! str` at each call would allocate the key). The connection's task carries
//! its listener's handles in a task-local, so a STARTTLS handshake, done deep
//! in a protocol driver, is counted on the right listener without the
//! protocol crates knowing about metrics.

use std::sync::Arc;

use metrics::{Counter, Gauge};

/// One listener's handles.
pub(crate) struct ListenerMetrics {
    accepted: Counter,
    refused: Counter,
    open: Gauge,
    tls_ok: Counter,
    tls_failed: Counter,
}

tokio::task_local! {
    /// The handles of the listener whose connection this task serves.
    static LISTENER: Arc<ListenerMetrics>;
}

impl ListenerMetrics {
    pub(crate) fn new(listener: &'static str) -> Arc<Self> {
        Arc::new(ListenerMetrics {
            accepted: metrics::counter!("postern_connections_accepted_total", "listener" => listener),
            refused: metrics::counter!("postern_connections_refused_total", "listener" => listener),
            open: metrics::gauge!("postern_connections_open", "listener" => listener),
            tls_ok: metrics::counter!("postern_tls_handshakes_total", "listener" => listener, "result" => "ok"),
            tls_failed: metrics::counter!("postern_tls_handshakes_total", "listener" => listener, "result" => "failed"),
        })
    }

    /// A client accepted by `accept(2)` (served or refused after).
    pub(crate) fn accepted(&self) {
        self.accepted.increment(1);
    }

    /// A client refused at the connection limits.
    pub(crate) fn refused(&self) {
        self.refused.increment(1);
    }

    /// Counts a connection open until the guard drops.
    pub(crate) fn open(self: &Arc<Self>) -> OpenGuard {
        self.open.increment(1.0);
        OpenGuard(self.clone())
    }

    pub(crate) fn handshake(&self, ok: bool) {
        if ok {
            self.tls_ok.increment(1);
        } else {
            self.tls_failed.increment(1);
        }
    }

    /// Runs a connection's future with these handles as its listener's.
    pub(crate) async fn scope<F: Future>(self: Arc<Self>, f: F) -> F::Output {
        LISTENER.scope(self, f).await
    }
}

/// Decrements the open-connections gauge when the connection's task ends.
pub(crate) struct OpenGuard(Arc<ListenerMetrics>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.decrement(1.0);
    }
}

/// A STARTTLS handshake's outcome, on the listener of the current task
/// (nothing outside a connection's task, e.g. in unit tests).
pub(crate) fn starttls(ok: bool) {
    let _ = LISTENER.try_with(|m| m.handshake(ok));
}
