//! Certificates and the rustls server configuration: loading PEM files, the
//! files an ACME client keeps, or a generated self-signed pair; hot reload
//! without restarting listeners; TLS-ALPN-01 challenge answers (RFC 8737);
//! and a client configuration that trusts exactly one certificate (tests).
//!
//! The crypto provider is always aws-lc-rs, passed explicitly to every config
//! builder, so a second provider linked in by another crate (lettre pulls in
//! `ring`) cannot make `ServerConfig::builder()` panic. See
//! `shared/DEPENDENCIES.md`.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::{LazyConfigAcceptor, TlsAcceptor};
use tokio_util::sync::CancellationToken;

use crate::x509::{self, Validity};
use crate::{NetError, selfsigned};

/// The ALPN protocol of TLS-ALPN-01 validation (RFC 8737 §6.2).
const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// Where the server certificate comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertSource {
    /// A PEM certificate chain (leaf first, e.g. certbot's `fullchain.pem`)
    /// and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    Files { cert: PathBuf, key: PathBuf },
    /// A self-signed certificate kept in `dir` (`selfsigned-cert.pem`,
    /// `selfsigned-key.pem`), generated on first use for `hostname`,
    /// `localhost`, 127.0.0.1 and ::1.
    SelfSigned { hostname: String, dir: PathBuf },
    /// The files an ACME client keeps in `dir` (`cert.pem`, `key.pem`).
    /// Until they exist and load, the self-signed pair of `hostname` kept
    /// in `fallback_dir` is served; [`TlsManager::reload`] picks up the
    /// ACME files once written.
    Acme {
        dir: PathBuf,
        hostname: String,
        fallback_dir: PathBuf,
    },
}

/// What [`TlsManager::accept`] made of a connection.
pub enum TlsAccept {
    /// A TLS session for the protocol handler.
    Stream(Box<TlsStream<TcpStream>>),
    /// An ACME server's TLS-ALPN-01 validation, answered by the handshake
    /// itself; nothing more is exchanged (RFC 8737 §3), so close it.
    AcmeChallenge,
}

/// The server's TLS state: the certificate files and a rustls acceptor whose
/// certificate can be swapped at run time.
///
/// Cloning is cheap (one `Arc`); every clone, every listener and every
/// STARTTLS upgrade sees the certificate installed by the latest successful
/// [`reload`](Self::reload).
/// What [`TlsManager::load_with`] can set.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// TLS sessions remembered for resumption; 0 remembers none.
    pub session_cache: usize,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions { session_cache: 256 }
    }
}

#[derive(Clone)]
pub struct TlsManager {
    inner: Arc<Inner>,
}

struct Inner {
    /// Re-read by `reload`; for `SelfSigned` these are the generated files.
    cert_path: PathBuf,
    key_path: PathBuf,
    /// Shared with the `ServerConfig` inside `acceptor`; swapping its key is
    /// what makes reload work without rebuilding listeners.
    resolver: Arc<ReloadingResolver>,
    config: Arc<ServerConfig>,
    acceptor: TlsAcceptor,
    /// TLS-ALPN-01 answers by server name, set by the ACME client while an
    /// order is pending; while empty, handshakes take the plain path.
    challenges: Arc<RwLock<HashMap<String, Arc<CertifiedKey>>>>,
    /// Offers only `acme-tls/1` and serves only `challenges`.
    challenge_config: Arc<ServerConfig>,
    /// For [`CertSource::Acme`]: the self-signed stand-in is served because
    /// the ACME files are missing or unusable. Cleared by a good reload.
    fallback: AtomicBool,
}

impl fmt::Debug for TlsManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsManager")
            .field("cert", &self.inner.cert_path)
            .field("key", &self.inner.key_path)
            .finish_non_exhaustive()
    }
}

impl TlsManager {
    /// Loads (and for [`CertSource::SelfSigned`], generates if absent) the
    /// certificate and key, and builds the server configuration.
    pub fn load(source: CertSource) -> Result<Self, NetError> {
        Self::load_with(source, TlsOptions::default())
    }

    /// [`TlsManager::load`] with settings other than the defaults.
    pub fn load_with(source: CertSource, opts: TlsOptions) -> Result<Self, NetError> {
        let mut fallback = false;
        let (cert_path, key_path, key) = match source {
            CertSource::Files { cert, key } => {
                let loaded = load_certified_key(&cert, &key)?;
                (cert, key, loaded)
            }
            CertSource::SelfSigned { hostname, dir } => {
                let (cert, key) = selfsigned::ensure(&hostname, &dir)?;
                let loaded = load_certified_key(&cert, &key)?;
                (cert, key, loaded)
            }
            CertSource::Acme {
                dir,
                hostname,
                fallback_dir,
            } => {
                let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
                let loaded = match load_certified_key(&cert, &key) {
                    Ok(loaded) => loaded,
                    Err(error) => {
                        if cert.exists() {
                            tracing::warn!(%error, "ACME certificate unusable; serving the self-signed one until the next is issued");
                        }
                        fallback = true;
                        let (c, k) = selfsigned::ensure(&hostname, &fallback_dir)?;
                        load_certified_key(&c, &k)?
                    }
                };
                (cert, key, loaded)
            }
        };
        let resolver = Arc::new(ReloadingResolver {
            current: RwLock::new(Arc::new(key)),
        });
        let mut config = server_config_builder()?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        // Sessions for resumption, in memory and bounded (rustls' own
        // default is the same cache with 256 entries).
        config.session_storage = if opts.session_cache == 0 {
            Arc::new(rustls::server::NoServerSessionStorage {})
        } else {
            rustls::server::ServerSessionMemoryCache::new(opts.session_cache)
        };
        let config = Arc::new(config);
        let challenges: Arc<RwLock<HashMap<String, Arc<CertifiedKey>>>> = Arc::default();
        let mut challenge_config = server_config_builder()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(ChallengeResolver(challenges.clone())));
        challenge_config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
        Ok(Self {
            inner: Arc::new(Inner {
                cert_path,
                key_path,
                resolver,
                acceptor: TlsAcceptor::from(config.clone()),
                config,
                challenges,
                challenge_config: Arc::new(challenge_config),
                fallback: AtomicBool::new(fallback),
            }),
        })
    }

    /// The server side of an implicit-TLS connection. While a TLS-ALPN-01
    /// challenge is pending, the ClientHello is read first: one that offers
    /// `acme-tls/1` gets the challenge certificate for its server name and
    /// nothing else (RFC 8737 §3); every other client the usual handshake.
    pub async fn accept(&self, tcp: TcpStream) -> io::Result<TlsAccept> {
        let pending = !read_lock(&self.inner.challenges).is_empty();
        if !pending {
            let tls = self.inner.acceptor.accept(tcp).await?;
            return Ok(TlsAccept::Stream(Box::new(tls)));
        }
        let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp).await?;
        let acme = start
            .client_hello()
            .alpn()
            .is_some_and(|mut offered| offered.any(|p| p == ACME_TLS_ALPN));
        if acme {
            let mut tls = start
                .into_stream(self.inner.challenge_config.clone())
                .await?;
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
            return Ok(TlsAccept::AcmeChallenge);
        }
        let tls = start.into_stream(self.inner.config.clone()).await?;
        Ok(TlsAccept::Stream(Box::new(tls)))
    }

    /// Answers TLS-ALPN-01 validation for `name` with this certificate
    /// (the self-signed one carrying the acmeIdentifier extension) until
    /// [`clear_acme_challenge`](Self::clear_acme_challenge).
    pub fn set_acme_challenge(
        &self,
        name: &str,
        cert_der: Vec<u8>,
        key_der: Vec<u8>,
    ) -> Result<(), NetError> {
        let what = || PathBuf::from(format!("<ACME challenge for {name}>"));
        let key = PrivateKeyDer::try_from(key_der).map_err(|why| NetError::InvalidKey {
            path: what(),
            source: rustls::Error::General(why.to_string()),
        })?;
        let signing = provider()
            .key_provider
            .load_private_key(key)
            .map_err(|source| NetError::InvalidKey {
                path: what(),
                source,
            })?;
        // Not `CertifiedKey::from_der`: its consistency check parses the
        // certificate with webpki, which refuses the critical
        // acmeIdentifier extension this certificate exists to carry.
        let certified = CertifiedKey::new(vec![CertificateDer::from(cert_der)], signing);
        write_lock(&self.inner.challenges).insert(name.to_ascii_lowercase(), Arc::new(certified));
        Ok(())
    }

    /// Stops answering TLS-ALPN-01 validation for `name`.
    pub fn clear_acme_challenge(&self, name: &str) {
        write_lock(&self.inner.challenges).remove(&name.to_ascii_lowercase());
    }

    /// Whether an ACME manager serves its self-signed stand-in (no ACME
    /// certificate has loaded yet). Always false for the other sources.
    pub fn serving_fallback(&self) -> bool {
        self.inner.fallback.load(Ordering::Acquire)
    }

    /// The validity period of the certificate served now (`None` if its
    /// DER could not be read, which a loaded certificate never gives).
    pub fn current_validity(&self) -> Option<Validity> {
        x509::validity(&self.current_cert_der())
    }

    /// The DNS names of the certificate served now, lowercased.
    pub fn current_dns_names(&self) -> Vec<String> {
        x509::dns_names(&self.current_cert_der()).unwrap_or_default()
    }

    /// Re-reads the certificate and key files and, if they are valid and
    /// match, makes every future handshake use them. On error the certificate
    /// in use is kept and the error is returned.
    pub fn reload(&self) -> Result<(), NetError> {
        let key = load_certified_key(&self.inner.cert_path, &self.inner.key_path)?;
        self.inner.resolver.set(Arc::new(key));
        self.inner.fallback.store(false, Ordering::Release);
        tracing::info!(cert = %self.inner.cert_path.display(), "TLS certificate reloaded");
        Ok(())
    }

    /// Spawns a task that checks the files' modification times (and sizes)
    /// every `interval` and calls [`reload`](Self::reload) when either
    /// changed, e.g. after a certbot or ACME renewal. Follows symlinks, so
    /// certbot's `live/` links are handled. A failed reload is logged at
    /// `warn` and retried only when the files change again (a renewal that
    /// writes the certificate before the key then succeeds on the key's
    /// write). The task ends when `shutdown` is cancelled. Must be called
    /// within a Tokio runtime.
    pub fn watch_files(
        &self,
        interval: Duration,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        // Taken now, not in the task, so a change right after this call is
        // not mistaken for the starting state.
        let mut seen = this.stamps();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = ticker.tick() => {}
                }
                // Two `stat`s and, rarely, two small reads: cheap enough to
                // run on the runtime thread.
                let now = this.stamps();
                if now == seen {
                    continue;
                }
                seen = now;
                if let Err(error) = this.reload() {
                    tracing::warn!(%error, "TLS certificate reload failed, keeping the old one");
                }
            }
        })
    }

    /// Modification time and size of the certificate and key files (`None`
    /// for a file that cannot be stat'ed, e.g. mid-replacement).
    fn stamps(&self) -> [Option<(SystemTime, u64)>; 2] {
        let stamp = |path: &Path| {
            let meta = fs::metadata(path).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        };
        [stamp(&self.inner.cert_path), stamp(&self.inner.key_path)]
    }

    /// An acceptor for implicit TLS or STARTTLS. Cheap; always serves the
    /// current certificate.
    pub fn acceptor(&self) -> TlsAcceptor {
        self.inner.acceptor.clone()
    }

    /// The end-entity certificate currently served (DER).
    pub fn current_cert_der(&self) -> CertificateDer<'static> {
        let key = self.inner.resolver.get();
        // `load_certified_key` refuses an empty chain, so the leaf exists.
        key.cert
            .first()
            .cloned()
            .expect("a loaded chain always has a leaf certificate")
    }

    /// The certificate file (generated file for `SelfSigned`).
    pub fn cert_path(&self) -> &Path {
        &self.inner.cert_path
    }

    /// The private key file (generated file for `SelfSigned`).
    pub fn key_path(&self) -> &Path {
        &self.inner.key_path
    }
}

/// Installs aws-lc-rs as the process-wide default rustls provider, for code
/// (other crates, test clients) that calls `ClientConfig::builder()` without
/// a provider. Idempotent: an already installed provider is left alone.
pub fn install_default_crypto_provider() {
    let _already_installed = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A client configuration that trusts exactly the certificate(s) in
/// `cert_pem_path` and nothing else: how tests across the workspace talk TLS
/// to a server using a self-signed certificate, without an "accept anything"
/// verifier.
pub fn client_config_trusting(
    cert_pem_path: impl AsRef<Path>,
) -> Result<Arc<ClientConfig>, NetError> {
    let path = cert_pem_path.as_ref();
    let certs = read_certs(path)?;
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|source| NetError::InvalidCertificate {
                path: path.to_path_buf(),
                source,
            })?;
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(NetError::TlsConfig)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// TLS 1.2 and 1.3 (rustls' safe defaults) with the aws-lc-rs provider.
fn server_config_builder()
-> Result<rustls::ConfigBuilder<ServerConfig, rustls::WantsVerifier>, NetError> {
    ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(NetError::TlsConfig)
}

/// A poisoned lock only means a writer panicked between two plain
/// assignments; the value inside is still whole.
fn read_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// The aws-lc-rs provider, built once.
fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .clone()
}

fn read_file(path: &Path) -> Result<Vec<u8>, NetError> {
    fs::read(path).map_err(|source| NetError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, NetError> {
    let pem = read_file(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| NetError::Pem {
            path: path.to_path_buf(),
            source,
        })?;
    if certs.is_empty() {
        return Err(NetError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// Reads and checks a certificate chain and its key. The files are read into
/// memory first so a missing file is reported as such, with its path.
fn load_certified_key(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey, NetError> {
    let certs = read_certs(cert_path)?;
    let key_pem = read_file(key_path)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|source| match source {
        rustls_pki_types::pem::Error::NoItemsFound => NetError::NoPrivateKey {
            path: key_path.to_path_buf(),
        },
        source => NetError::Pem {
            path: key_path.to_path_buf(),
            source,
        },
    })?;
    CertifiedKey::from_der(certs, key, &provider()).map_err(|source| match source {
        rustls::Error::InconsistentKeys(_) => NetError::KeyMismatch {
            cert: cert_path.to_path_buf(),
            key: key_path.to_path_buf(),
        },
        source => NetError::InvalidKey {
            path: key_path.to_path_buf(),
            source,
        },
    })
}

/// Serves whatever key is current. rustls calls `resolve` once per
/// handshake, so a swap takes effect on the next handshake, on every
/// listener sharing the manager.
#[derive(Debug)]
struct ReloadingResolver {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadingResolver {
    fn get(&self) -> Arc<CertifiedKey> {
        read_lock(&self.current).clone()
    }

    fn set(&self, key: Arc<CertifiedKey>) {
        *write_lock(&self.current) = key;
    }
}

/// Serves the TLS-ALPN-01 certificate for the ClientHello's server name;
/// no name or an unknown one fails the handshake.
#[derive(Debug)]
struct ChallengeResolver(Arc<RwLock<HashMap<String, Arc<CertifiedKey>>>>);

impl ResolvesServerCert for ChallengeResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = client_hello.server_name()?.to_ascii_lowercase();
        read_lock(&self.0).get(&name).cloned()
    }
}

impl ResolvesServerCert for ReloadingResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, data).expect("write");
        path
    }

    fn self_signed(dir: &Path) -> TlsManager {
        TlsManager::load(CertSource::SelfSigned {
            hostname: "mail.example.org".into(),
            dir: dir.to_path_buf(),
        })
        .expect("self-signed")
    }

    #[test]
    fn missing_cert_file_error_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("nope.pem");
        let err = TlsManager::load(CertSource::Files {
            cert: cert.clone(),
            key: dir.path().join("key.pem"),
        })
        .expect_err("must fail");
        assert!(matches!(err, NetError::Read { ref path, .. } if *path == cert));
        assert!(err.to_string().contains("nope.pem"), "{err}");
    }

    #[test]
    fn pem_without_certificate_is_no_certificate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ss = self_signed(dir.path());
        // A key file where the certificate should be.
        let err = TlsManager::load(CertSource::Files {
            cert: ss.key_path().to_path_buf(),
            key: ss.key_path().to_path_buf(),
        })
        .expect_err("must fail");
        assert!(matches!(err, NetError::NoCertificate { .. }), "{err}");
        assert!(err.to_string().contains("no certificate"), "{err}");
    }

    #[test]
    fn pem_without_key_is_no_private_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ss = self_signed(dir.path());
        let err = TlsManager::load(CertSource::Files {
            cert: ss.cert_path().to_path_buf(),
            key: ss.cert_path().to_path_buf(),
        })
        .expect_err("must fail");
        assert!(matches!(err, NetError::NoPrivateKey { .. }), "{err}");
    }

    #[test]
    fn key_of_another_certificate_is_key_mismatch() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        let (a, b) = (self_signed(a.path()), self_signed(b.path()));
        let err = TlsManager::load(CertSource::Files {
            cert: a.cert_path().to_path_buf(),
            key: b.key_path().to_path_buf(),
        })
        .expect_err("must fail");
        assert!(matches!(err, NetError::KeyMismatch { .. }), "{err}");
        assert!(err.to_string().contains("does not match"), "{err}");
    }

    #[test]
    fn garbage_key_is_an_error_naming_the_key_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ss = self_signed(dir.path());
        let key = write(
            dir.path(),
            "bad-key.pem",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        );
        let err = TlsManager::load(CertSource::Files {
            cert: ss.cert_path().to_path_buf(),
            key,
        })
        .expect_err("must fail");
        assert!(err.to_string().contains("bad-key.pem"), "{err}");
    }

    /// A client handshake to `port` for `name`, trusting `trust`, offering
    /// `alpn`; returns the leaf served and the protocol agreed.
    async fn handshake(
        port: u16,
        name: &str,
        trust: &Path,
        alpn: &[&[u8]],
    ) -> (Vec<u8>, Option<Vec<u8>>) {
        let mut config = (*client_config_trusting(trust).expect("client config")).clone();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let name = rustls_pki_types::ServerName::try_from(name.to_string()).expect("name");
        let tls = connector.connect(name, tcp).await.expect("handshake");
        let (_, conn) = tls.get_ref();
        let leaf = conn.peer_certificates().expect("certs")[0].to_vec();
        (leaf, conn.alpn_protocol().map(<[u8]>::to_vec))
    }

    #[tokio::test]
    async fn alpn_challenge_answers_only_acme_tls_clients_for_its_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tls = self_signed(dir.path());
        let challenge =
            rcgen::generate_simple_self_signed(vec!["mail.example.org".into()]).expect("rcgen");
        let challenge_pem = write(dir.path(), "challenge.pem", challenge.cert.pem().as_bytes());
        tls.set_acme_challenge(
            "Mail.Example.org",
            challenge.cert.der().to_vec(),
            challenge.signing_key.serialize_der(),
        )
        .expect("set challenge");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = tls.clone();
        let accepted = tokio::spawn(async move {
            let mut kinds = Vec::new();
            for _ in 0..3 {
                let (tcp, _) = listener.accept().await.expect("accept");
                kinds.push(match server.accept(tcp).await.expect("server handshake") {
                    TlsAccept::Stream(_) => "stream",
                    TlsAccept::AcmeChallenge => "challenge",
                });
            }
            kinds
        });
        // The validation server: acme-tls/1, the name, the challenge cert.
        let (leaf, alpn) =
            handshake(port, "mail.example.org", &challenge_pem, &[ACME_TLS_ALPN]).await;
        assert_eq!(leaf, challenge.cert.der().to_vec());
        assert_eq!(alpn.as_deref(), Some(ACME_TLS_ALPN));
        // A mail client meanwhile: the usual certificate, no ALPN.
        let (leaf, alpn) = handshake(port, "mail.example.org", tls.cert_path(), &[b"imap"]).await;
        assert_eq!(leaf, tls.current_cert_der().to_vec());
        assert_eq!(alpn, None);
        // Once withdrawn, acme-tls/1 gets the usual certificate too.
        tls.clear_acme_challenge("mail.example.org");
        let (leaf, _) =
            handshake(port, "mail.example.org", tls.cert_path(), &[ACME_TLS_ALPN]).await;
        assert_eq!(leaf, tls.current_cert_der().to_vec());
        assert_eq!(
            accepted.await.expect("server task"),
            ["challenge", "stream", "stream"]
        );
    }

    #[test]
    fn install_default_crypto_provider_is_idempotent() {
        install_default_crypto_provider();
        install_default_crypto_provider();
        assert!(CryptoProvider::get_default().is_some());
    }
}
