//! The one accept path every protocol uses: bind, connection limits (global
//! and per IP), implicit TLS, the per-connection span, and shutdown.
//!
//! A protocol crate implements [`Handler`] (or wraps a function with
//! [`handler_fn`]) and gets a [`Connection`] per accepted client.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io::{self, Write};
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::metrics::ListenerMetrics;
use crate::tls::TlsAccept;
use crate::{MaybeTlsStream, NetError, TlsManager};

/// How long the accept loop pauses after `accept(2)` fails (EMFILE, ENFILE,
/// ENOBUFS…), so it waits for resources instead of spinning on the error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Connection ids are unique across all listeners of the process, so one id
/// finds one connection in the logs.
static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// What to listen on and how.
#[derive(Clone, Debug)]
pub struct ListenerSpec {
    /// Listener name in logs and spans, e.g. `"imaps"`, `"submission"`.
    pub name: &'static str,
    /// Protocol in spans: `"smtp"`, `"imap"` or `"pop3"`.
    pub proto: &'static str,
    /// Address to bind; port 0 picks a free port (tests).
    pub addr: SocketAddr,
    /// TLS from the first byte (RFC 8314 ports 465, 993, 995) rather than a
    /// plain start with optional STARTTLS.
    pub implicit_tls: bool,
    pub limits: ConnLimits,
}

/// Limits that keep one listener from exhausting the process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnLimits {
    /// Connections served at once on this listener; further clients wait in
    /// the kernel's accept backlog until one ends (backpressure, not refusal).
    pub max_connections: usize,
    /// Connections at once from one IP address; more are refused at once
    /// with [`Handler::refuse`]'s line, so one host cannot take every slot.
    pub max_per_ip: usize,
    /// Passed to the handler in [`Connection::idle_timeout`]; the handler
    /// applies it to each read (see [`read_with_idle`]).
    pub idle_timeout: Duration,
    /// Bound on an implicit-TLS handshake; passed on to the handler for
    /// STARTTLS in [`Connection::tls_handshake_timeout`].
    pub tls_handshake_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            max_connections: 1000,
            max_per_ip: 20,
            idle_timeout: Duration::from_secs(10 * 60),
            tls_handshake_timeout: Duration::from_secs(30),
        }
    }
}

/// What a handler returns. `Err` ends the connection and is logged once, at
/// `info`, on the connection's span: a client's mistake is a protocol
/// response, not an `Err`. Any `std::error::Error + Send + Sync` (including
/// `anyhow::Error`) converts into it with `?` or `.into()`.
pub type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The future a [`Handler`] returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = HandlerResult> + Send + 'static>>;

/// A protocol's session driver, plugged into [`BoundListener::serve`].
pub trait Handler: Send + Sync + 'static {
    /// Runs one connection to its end. The connection's slots (global and
    /// per IP) are held until the returned future completes.
    fn handle(&self, conn: Connection) -> HandlerFuture;

    /// Written best-effort before closing a connection refused by the per-IP
    /// limit, e.g. `b"421 4.7.0 too many connections\r\n"` for SMTP. Empty
    /// (the default) closes silently.
    fn refuse(&self) -> &'static [u8] {
        b""
    }

    /// Runs a connection from a client the [`Gate`] refuses. The default
    /// writes [`Handler::blocked_line`] and closes; a protocol whose rules
    /// ask for more (SMTP's `554` greeting, RFC 5321 §3.1) overrides it.
    /// Never called on implicit-TLS listeners: those close before the
    /// handshake, which a blocked client is not worth.
    fn blocked(&self, conn: Connection) -> HandlerFuture {
        Box::pin(say_and_close(conn, self.blocked_line()))
    }

    /// The protocol's refusal of a blocked client, e.g. `* BYE ...` for
    /// IMAP. Empty (the default) closes silently.
    fn blocked_line(&self) -> &'static [u8] {
        b""
    }
}

/// Decides in the accept loop whether a client is refused as blocked (the
/// abuse tracker's set). Called once per accepted connection, so it must
/// answer from memory.
pub trait Gate: Send + Sync + 'static {
    fn is_blocked(&self, ip: IpAddr) -> bool;
}

/// Writes `line` (bounded by the idle timeout) and closes the connection.
pub async fn say_and_close(conn: Connection, line: &'static [u8]) -> HandlerResult {
    let mut stream = conn.stream;
    if !line.is_empty() {
        let write = async {
            stream.write_all(line).await?;
            stream.flush().await?;
            stream.shutdown().await
        };
        // The client may be gone or never read: nothing to do about it.
        let _ = tokio::time::timeout(conn.idle_timeout, write).await;
    }
    Ok(())
}

/// Wraps an async function as a [`Handler`] with no refusal line.
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn Handler>
where
    F: Fn(Connection) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

struct FnHandler<F>(F);

impl<F, Fut> Handler for FnHandler<F>
where
    F: Fn(Connection) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    fn handle(&self, conn: Connection) -> HandlerFuture {
        Box::pin((self.0)(conn))
    }
}

/// One accepted client, handed to [`Handler::handle`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Connection {
    /// Already TLS on implicit-TLS listeners.
    pub stream: MaybeTlsStream,
    pub peer: SocketAddr,
    /// The local address the client reached (which IP/port it used).
    pub local: SocketAddr,
    /// Process-unique id, also on the span.
    pub id: u64,
    /// [`ListenerSpec::name`].
    pub listener: &'static str,
    /// Cancelled at server shutdown: finish the current command, say goodbye
    /// (`* BYE`, `421`), return. A child of the listener's token, so
    /// cancelling it ends only this connection.
    pub shutdown: CancellationToken,
    /// How long to wait for the client's next bytes.
    pub idle_timeout: Duration,
    /// Bound for a STARTTLS handshake ([`MaybeTlsStream::starttls_within`]).
    pub tls_handshake_timeout: Duration,
    /// For STARTTLS; `None` when no certificate is configured, in which case
    /// STARTTLS must not be advertised.
    pub tls: Option<TlsManager>,
}

/// A bound socket not yet accepting; see [`bind`].
#[derive(Debug)]
pub struct BoundListener {
    listener: TcpListener,
    local_addr: SocketAddr,
    spec: ListenerSpec,
    gate: Option<Arc<dyn Gate>>,
}

impl fmt::Debug for dyn Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Gate")
    }
}

/// Binds `spec.addr` and checks `spec.limits`. Binding before serving lets
/// the caller learn the real port (port 0) and fail at startup, before any
/// listener accepts.
pub async fn bind(spec: ListenerSpec) -> Result<BoundListener, NetError> {
    check_limits(&spec)?;
    let bind_err = |source| NetError::Bind {
        listener: spec.name,
        addr: spec.addr,
        source,
    };
    let listener = TcpListener::bind(spec.addr).await.map_err(bind_err)?;
    let local_addr = listener.local_addr().map_err(bind_err)?;
    Ok(BoundListener {
        listener,
        local_addr,
        spec,
        gate: None,
    })
}

fn check_limits(spec: &ListenerSpec) -> Result<(), NetError> {
    let l = &spec.limits;
    let reason = if l.max_connections == 0 {
        "max_connections must be at least 1"
    } else if l.max_connections > Semaphore::MAX_PERMITS {
        "max_connections is too large"
    } else if l.max_per_ip == 0 {
        "max_per_ip must be at least 1"
    } else if l.idle_timeout.is_zero() {
        "idle_timeout must not be zero"
    } else if l.tls_handshake_timeout.is_zero() {
        "tls_handshake_timeout must not be zero"
    } else {
        return Ok(());
    };
    Err(NetError::InvalidLimits {
        listener: spec.name,
        reason,
    })
}

impl BoundListener {
    /// The bound address (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn spec(&self) -> &ListenerSpec {
        &self.spec
    }

    /// Refuses the clients `gate` says are blocked, each with
    /// [`Handler::blocked`].
    pub fn with_gate(mut self, gate: Arc<dyn Gate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Accepts connections until `shutdown` is cancelled, then closes the
    /// socket and returns. Each connection runs on `tracker` inside an
    /// `info_span!("conn", proto, listener, peer, id, user)` (`user` is empty
    /// until the handler records it after AUTH); the caller closes and waits
    /// on `tracker` to drain them.
    ///
    /// A slot is taken *before* `accept` when one is free (as mini-redis
    /// does). At `max_connections` the next client is still accepted, told
    /// the handler's refusal line (`421 4.3.2 …` for SMTP) and closed, so it
    /// learns at once to come back later instead of hanging in the kernel
    /// backlog. Implicit-TLS handshakes run in the connection's task, not in
    /// the loop, so a slow client cannot stall accepting.
    ///
    /// Fails at once with [`NetError::TlsRequired`] if the listener is
    /// implicit TLS and `tls` is `None`.
    pub async fn serve(
        self,
        handler: Arc<dyn Handler>,
        tls: Option<TlsManager>,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> Result<(), NetError> {
        let spec = self.spec;
        if spec.implicit_tls && tls.is_none() {
            return Err(NetError::TlsRequired {
                listener: spec.name,
            });
        }
        let slots = Arc::new(Semaphore::new(spec.limits.max_connections));
        let per_ip = Arc::new(PerIp::new(spec.limits.max_per_ip));
        let metrics = ListenerMetrics::new(spec.name);
        tracing::info!(listener = spec.name, proto = spec.proto, addr = %self.local_addr,
            implicit_tls = spec.implicit_tls, "listening");
        loop {
            let permit = slots.clone().try_acquire_owned().ok();
            let accepted = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                accepted = self.listener.accept() => accepted,
            };
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                // The client gave up before we accepted: nothing to wait for.
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
                    ) =>
                {
                    tracing::debug!(listener = spec.name, %error, "accept: client left");
                    continue;
                }
                // EMFILE, ENFILE, ENOBUFS…: wait for resources, don't spin.
                Err(error) => {
                    tracing::warn!(listener = spec.name, %error, "accept failed, backing off");
                    drop(permit);
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            };
            let id = NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed);
            metrics.accepted();
            let Some(permit) = permit else {
                metrics.refused();
                tracing::info!(listener = spec.name, %peer, id,
                    "connection limit reached, refusing");
                refuse(tcp, refusal(&spec, handler.as_ref()));
                continue;
            };
            let Some(ip_slot) = per_ip.try_acquire(peer.ip()) else {
                metrics.refused();
                tracing::debug!(listener = spec.name, %peer, id,
                    "per-IP connection limit reached, refusing");
                refuse(tcp, refusal(&spec, handler.as_ref()));
                continue;
            };
            let blocked = self.gate.as_ref().is_some_and(|g| g.is_blocked(peer.ip()));
            let task = run_connection(Accepted {
                tcp,
                peer,
                id,
                blocked,
                spec: spec.clone(),
                handler: handler.clone(),
                tls: tls.clone(),
                shutdown: shutdown.child_token(),
                slots: (permit, ip_slot),
                metrics: metrics.clone(),
            });
            let span = tracing::info_span!("conn", proto = spec.proto, listener = spec.name,
                peer = %peer, id, user = tracing::field::Empty);
            tracker.spawn(task.instrument(span));
        }
        tracing::info!(listener = spec.name, "stopped accepting");
        Ok(())
    }
}

/// Everything a connection task needs, moved into it.
struct Accepted {
    tcp: TcpStream,
    peer: SocketAddr,
    id: u64,
    /// The gate refused the client.
    blocked: bool,
    spec: ListenerSpec,
    handler: Arc<dyn Handler>,
    tls: Option<TlsManager>,
    shutdown: CancellationToken,
    /// Held until the task ends: the connection counts against both limits.
    slots: (OwnedSemaphorePermit, IpSlot),
    metrics: Arc<ListenerMetrics>,
}

async fn run_connection(a: Accepted) {
    let _slots = a.slots;
    let _open = a.metrics.open();
    // Line protocols with pipelining: don't let Nagle delay small replies.
    let _ = a.tcp.set_nodelay(true);
    let local = match a.tcp.local_addr() {
        Ok(local) => local,
        Err(error) => {
            tracing::debug!(%error, "connection lost before it started");
            return;
        }
    };
    if a.blocked && a.spec.implicit_tls {
        tracing::debug!("blocked client, closing before the TLS handshake");
        return;
    }
    let stream = match (&a.tls, a.spec.implicit_tls) {
        (Some(tls), true) => {
            let handshake =
                tokio::time::timeout(a.spec.limits.tls_handshake_timeout, tls.accept(a.tcp));
            let outcome = tokio::select! {
                biased;
                () = a.shutdown.cancelled() => return,
                outcome = handshake => outcome,
            };
            a.metrics.handshake(matches!(outcome, Ok(Ok(_))));
            match outcome {
                Ok(Ok(TlsAccept::Stream(tls))) => MaybeTlsStream::Tls(tls),
                Ok(Ok(TlsAccept::AcmeChallenge)) => {
                    tracing::info!("answered an ACME TLS-ALPN-01 validation");
                    return;
                }
                Ok(Err(error)) => {
                    tracing::debug!(%error, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("TLS handshake timed out");
                    return;
                }
            }
        }
        _ => MaybeTlsStream::Plain(a.tcp),
    };
    tracing::debug!(tls = ?stream.tls_info(), "connection accepted");
    let conn = Connection {
        stream,
        peer: a.peer,
        local,
        id: a.id,
        listener: a.spec.name,
        shutdown: a.shutdown,
        idle_timeout: a.spec.limits.idle_timeout,
        tls_handshake_timeout: a.spec.limits.tls_handshake_timeout,
        tls: a.tls,
    };
    let session = if a.blocked {
        tracing::debug!("blocked client, refusing");
        a.handler.blocked(conn)
    } else {
        a.handler.handle(conn)
    };
    match a.metrics.scope(session).await {
        Ok(()) => tracing::debug!("connection closed"),
        Err(error) => tracing::info!(error = %ErrorChain(&*error), "connection ended with error"),
    }
}

/// The refusal line for a listener: none on an implicit-TLS port, where a
/// client expects a TLS handshake and plaintext would be garbage to it (a
/// plain close reads as "try again" there).
fn refusal(spec: &ListenerSpec, handler: &dyn Handler) -> &'static [u8] {
    if spec.implicit_tls {
        b""
    } else {
        handler.refuse()
    }
}

/// Writes `line` without waiting and closes. The socket was just accepted so
/// its send buffer is empty and a short line fits; if not, it is dropped.
fn refuse(tcp: TcpStream, line: &[u8]) {
    let Ok(mut std_tcp) = tcp.into_std() else {
        return;
    };
    if !line.is_empty() {
        let _ = std_tcp.write(line);
    }
    let _ = std_tcp.shutdown(Shutdown::Write);
}

/// Displays an error and its sources as `outer: inner: root`, skipping a
/// source whose text the message already contains (thiserror messages often
/// embed their `#[source]`; anyhow contexts do not).
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.0.to_string();
        let mut source = self.0.source();
        while let Some(err) = source {
            let part = err.to_string();
            if !text.contains(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
            source = err.source();
        }
        f.write_str(&text)
    }
}

/// Open connections per client address.
struct PerIp {
    max: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`PerIp`]; gives it back on drop.
struct IpSlot {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    fn new(max: usize) -> Self {
        Self {
            max,
            counts: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Only counter updates happen under the lock; a panic cannot leave a
        // half-updated map.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        // ::ffff:192.0.2.1 and 192.0.2.1 are the same client.
        let ip = ip.to_canonical();
        let mut counts = self.lock();
        let count = counts.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(IpSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.table.lock();
        if let Some(count) = counts.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// The client sent nothing for the connection's idle timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("client idle for {0:?}")]
pub struct IdleTimeout(pub Duration);

impl From<IdleTimeout> for io::Error {
    fn from(err: IdleTimeout) -> Self {
        io::Error::new(io::ErrorKind::TimedOut, err)
    }
}

/// Runs one read (or any future) bounded by the idle timeout. Protocol
/// drivers wrap each read of the client's next command in it.
pub async fn read_with_idle<F: Future>(idle: Duration, fut: F) -> Result<F::Output, IdleTimeout> {
    tokio::time::timeout(idle, fut)
        .await
        .map_err(|_| IdleTimeout(idle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_slots_are_counted_and_given_back() {
        let table = Arc::new(PerIp::new(2));
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        let a = table.try_acquire(ip).expect("first");
        let _b = table.try_acquire(mapped).expect("second, same client");
        assert!(table.try_acquire(ip).is_none(), "third is over the limit");
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        assert!(
            table.try_acquire(other).is_some(),
            "other clients unaffected"
        );
        drop(a);
        assert!(table.try_acquire(ip).is_some(), "slot given back on drop");
    }

    #[test]
    fn per_ip_table_forgets_idle_addresses() {
        let table = Arc::new(PerIp::new(1));
        let ip: IpAddr = "2001:db8::1".parse().expect("ip");
        drop(table.try_acquire(ip));
        assert!(table.lock().is_empty());
    }

    #[test]
    fn zero_limits_are_refused_at_bind() {
        let spec = |limits| ListenerSpec {
            name: "test",
            proto: "smtp",
            addr: "127.0.0.1:0".parse().expect("addr"),
            implicit_tls: false,
            limits,
        };
        let zero_conns = ConnLimits {
            max_connections: 0,
            ..ConnLimits::default()
        };
        let zero_ip = ConnLimits {
            max_per_ip: 0,
            ..ConnLimits::default()
        };
        for limits in [zero_conns, zero_ip] {
            let err = check_limits(&spec(limits)).expect_err("must fail");
            assert!(err.to_string().starts_with("listener test: "), "{err}");
        }
        assert!(check_limits(&spec(ConnLimits::default())).is_ok());
    }

    #[test]
    fn error_chain_shows_every_source_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("session ended")]
        struct Context(#[source] NetError);
        let inner = NetError::Handshake(io::Error::other("disk on fire"));
        assert_eq!(
            ErrorChain(&inner).to_string(),
            "TLS handshake failed: disk on fire"
        );
        assert_eq!(
            ErrorChain(&Context(inner)).to_string(),
            "session ended: TLS handshake failed: disk on fire"
        );
    }

    #[tokio::test]
    async fn read_with_idle_times_out_on_a_pending_future() {
        let idle = Duration::from_millis(20);
        let err = read_with_idle(idle, std::future::pending::<()>())
            .await
            .expect_err("must time out");
        assert_eq!(err, IdleTimeout(idle));
        assert_eq!(read_with_idle(idle, async { 7 }).await, Ok(7));
    }
}
