//! Networking shared by every Postern protocol: one accept path (bind,
//! connection limits, implicit TLS, the per-connection span, shutdown),
//! STARTTLS, TLS certificates with hot reload, and the DNS resolver every
//! part asks (`dns.rs`, over `[dns] nameservers`).
//!
//! # Implementation notes
//!
//! - **Backpressure before accept.** Each listener has a semaphore of
//!   `max_connections` permits; the loop takes a permit *before* calling
//!   `accept`, so at the limit clients wait in the kernel backlog instead of
//!   being accepted and dropped (the mini-redis pattern). The permit and the
//!   per-IP slot move into the connection task and are released when the
//!   handler's future ends.
//! - **Per-IP limit refuses, it does not queue.** Over `max_per_ip` the
//!   connection is accepted, sent [`Handler::refuse`]'s line without waiting
//!   (e.g. `421 4.7.0 too many connections`), and closed. IPv4-mapped IPv6
//!   addresses count as their IPv4 address.
//! - **Blocked clients.** A listener given a [`Gate`] asks it (from memory)
//!   about each accepted client; a blocked one gets [`Handler::blocked`]
//!   (the protocol's refusal) instead of a session, and on implicit-TLS
//!   listeners is closed before the handshake.
//! - **Handshakes never block the loop.** Implicit-TLS handshakes run inside
//!   the connection's task, bounded by `tls_handshake_timeout` and by
//!   shutdown, so a silent client holds one slot, not the listener.
//! - **Shutdown.** Cancelling the token passed to [`BoundListener::serve`]
//!   stops accepting and closes the socket; each [`Connection::shutdown`] is
//!   a child of it, so sessions see it, finish the current command and say
//!   goodbye. The caller closes the `TaskTracker` and waits on it with a
//!   deadline.
//! - **STARTTLS and CVE-2011-0411.** [`MaybeTlsStream::starttls`] upgrades
//!   the socket only; the protocol driver must discard (or refuse over) any
//!   plaintext it has buffered past the STARTTLS line, because it was sent
//!   before encryption and may have been injected.
//! - **One crypto provider.** Every rustls config is built with aws-lc-rs
//!   passed explicitly, so `ring` linked in by a test dependency cannot make
//!   config building panic.
//! - **Certificate reload.** The server config's certificate resolver holds
//!   the current key behind a lock; [`TlsManager::reload`] swaps it after
//!   validating the new files, so every listener and every later handshake
//!   (implicit or STARTTLS) uses the new certificate without restart, and a
//!   bad renewal leaves the old one serving.
//! - **TLS-ALPN-01.** While the ACME keeper has a challenge pending,
//!   [`TlsManager::accept`] reads the ClientHello before choosing a
//!   configuration: `acme-tls/1` gets the challenge certificate and the
//!   connection closes after the handshake (RFC 8737 §3); any other client
//!   the usual one. With nothing pending it is the plain acceptor.
//! - **Errors.** [`Handler`] returns a boxed error (no `anyhow` in this
//!   library; `anyhow::Error` converts into it); it is logged once at `info`
//!   on the connection span with its source chain.

mod date;
pub mod dns;
pub mod dns_secure;
pub mod dns_validate;
mod error;
mod file;
mod listener;
mod metrics;
mod selfsigned;
mod stream;
mod tls;
mod x509;

pub use date::{civil_from_days, is_calendar_date};
pub use error::NetError;
pub use file::write_atomically;
pub use listener::{
    BoundListener, ConnLimits, Connection, Gate, Handler, HandlerFuture, HandlerResult,
    IdleTimeout, ListenerSpec, bind, handler_fn, read_with_idle, say_and_close,
};
pub use stream::{MaybeTlsStream, TlsInfo};
pub use tls::{
    CertSource, TlsAccept, TlsManager, TlsOptions, client_config_trusting,
    install_default_crypto_provider,
};
pub use x509::{Validity, dns_names, validity};

/// Re-exported so handlers can name the acceptor without depending on
/// tokio-rustls themselves.
pub use tokio_rustls::TlsAcceptor;
