//! The crate's error type: every failure names the file, address or
//! listener it concerns and the reason, so a refusal at startup can be fixed
//! without reading the source.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can go wrong in `postern-net`.
///
/// Messages carry no trailing dot (they are usually wrapped by `anyhow`
/// context in the binary).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// A certificate or key file could not be read (missing, unreadable).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A generated certificate or key could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The file is not valid PEM.
    #[error("{}: invalid PEM: {source}", path.display())]
    Pem {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },

    /// The file is valid PEM but holds no `CERTIFICATE` section.
    #[error("{}: no certificate in PEM file", path.display())]
    NoCertificate { path: PathBuf },

    /// The file is valid PEM but holds no private key section.
    #[error("{}: no private key in PEM file", path.display())]
    NoPrivateKey { path: PathBuf },

    /// A certificate could not be parsed or used as a trust anchor.
    #[error("{}: unusable certificate: {source}", path.display())]
    InvalidCertificate {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },

    /// The private key could not be used (unsupported algorithm, corrupt).
    #[error("{}: unusable private key: {source}", path.display())]
    InvalidKey {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },

    /// The private key does not belong to the first certificate in the chain.
    #[error("{}: private key does not match the certificate in {}", key.display(), cert.display())]
    KeyMismatch { cert: PathBuf, key: PathBuf },

    /// Generating the self-signed certificate failed (e.g. invalid hostname).
    #[error("cannot generate self-signed certificate for {hostname:?}: {source}")]
    SelfSigned {
        hostname: String,
        #[source]
        source: rcgen::Error,
    },

    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    TlsConfig(#[source] rustls::Error),

    /// `bind(2)` failed.
    #[error("listener {listener}: cannot bind {addr}: {source}")]
    Bind {
        listener: &'static str,
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },

    /// A [`ConnLimits`](crate::ConnLimits) value that cannot work.
    #[error("listener {listener}: {reason}")]
    InvalidLimits {
        listener: &'static str,
        reason: &'static str,
    },

    /// An implicit-TLS listener was served without a [`TlsManager`](crate::TlsManager).
    #[error("listener {listener}: implicit TLS needs a certificate, none configured")]
    TlsRequired { listener: &'static str },

    /// STARTTLS was attempted on a stream that is already TLS.
    #[error("stream is already TLS")]
    AlreadyTls,

    /// The TLS handshake failed (peer error, protocol mismatch, I/O).
    #[error("TLS handshake failed: {0}")]
    Handshake(#[source] io::Error),

    /// The TLS handshake did not finish in time.
    #[error("TLS handshake timed out")]
    HandshakeTimeout,
}
