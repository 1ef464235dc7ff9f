//! Certificates from an ACME CA (RFC 8555), e.g. Let's Encrypt: the order,
//! the challenge answers, the files, and renewal. instant-acme does the
//! protocol (JWS, nonces, polling); this module decides when to order,
//! answers the challenges and installs the result.
//!
//! # Implementation notes
//!
//! - **Challenges.** TLS-ALPN-01 (RFC 8737) is answered by the `https`
//!   listener: a self-signed certificate for the name carrying the
//!   acmeIdentifier extension, handed to `postern_net::TlsManager` for the
//!   order's lifetime. HTTP-01 (RFC 8555 §8.3) is answered by the `http`
//!   listener from [`Http01Tokens`]. Either way the answers are withdrawn
//!   when the attempt ends, whatever its outcome.
//! - **Files.** `data_dir/acme/`: `account.json` (the account key and URL,
//!   with the directory it belongs to; a new directory means a new
//!   account), `key.pem` and `cert.pem` (the chain, leaf first). Each is
//!   written to a temporary file, fsynced and renamed, mode 0600 for keys.
//!   A crash between the two renames leaves a pair that does not match:
//!   the next start serves the self-signed certificate and orders anew.
//! - **Renewal.** Due when the certificate served is the self-signed
//!   fallback, lacks a wanted name, or is within `renew_before` of its end
//!   (default: the last third of its lifetime, 30 days of Let's Encrypt's
//!   90). A new certificate is installed with `TlsManager::reload`, so every
//!   listener serves it at the next handshake, without a restart. A failed
//!   attempt keeps the certificate in use, logs why, and is retried after
//!   `retry_interval`, doubling up to `check_interval`.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use postern_net::TlsManager;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Let's Encrypt's production directory, the default.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// How the CA is to check that we control the names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// A TLS handshake on port 443 (the `https` listener).
    TlsAlpn01,
    /// An HTTP GET on port 80 (the `http` listener).
    Http01,
}

#[derive(Clone, Debug)]
pub struct AcmeConfig {
    /// The CA's directory URL.
    pub directory: String,
    /// Account contacts, as URIs (`mailto:postmaster@example.org`).
    pub contact: Vec<String>,
    /// The names on the certificate, the mail hostname first.
    pub names: Vec<String>,
    pub challenge: Challenge,
    /// Renew this long before the end; `None`: in the last third of the
    /// certificate's lifetime.
    pub renew_before: Option<Duration>,
    /// The longest sleep between two looks at the certificate.
    pub check_interval: Duration,
    /// The first wait after a failed attempt (doubled each time after).
    pub retry_interval: Duration,
    /// A PEM root to trust for the CA's HTTPS instead of the system's
    /// (a private CA, or the pebble test server).
    pub ca_file: Option<PathBuf>,
    /// Where the account and certificate files live (`data_dir/acme`).
    pub dir: PathBuf,
}

/// HTTP-01 answers being offered: token → key authorization.
#[derive(Clone, Default, Debug)]
pub struct Http01Tokens(Arc<RwLock<HashMap<String, String>>>);

impl Http01Tokens {
    /// The key authorization for `token`, while its challenge is pending.
    pub fn get(&self, token: &str) -> Option<String> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned()
    }

    fn insert(&self, token: String, key_authorization: String) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token, key_authorization);
    }

    fn remove(&self, token: &str) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(token);
    }
}

/// Why an attempt failed, in words for the log.
#[derive(Debug)]
pub struct AcmeError(String);

impl std::fmt::Display for AcmeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AcmeError {}

/// Adds what was being done to an error.
trait Context<T> {
    fn context(self, what: &str) -> Result<T, AcmeError>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, AcmeError> {
        self.map_err(|e| AcmeError(format!("{what}: {e}")))
    }
}

/// Starts the certificate keeper: it orders at once if needed, then
/// sleeps until the next renewal is due. Ends at `shutdown`.
pub fn spawn(
    cfg: AcmeConfig,
    tls: TlsManager,
    tokens: Http01Tokens,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    tracker.spawn(async move {
        let mut failures = 0u32;
        loop {
            let wait = match due(&cfg, &tls, SystemTime::now()) {
                Due::Later(wait) => wait.min(cfg.check_interval),
                Due::Now(reason) => {
                    tracing::info!(names = ?cfg.names, reason, "ACME: ordering a certificate");
                    let attempt = tokio::select! {
                        () = shutdown.cancelled() => return,
                        r = issue(&cfg, &tls, &tokens) => r,
                    };
                    match attempt {
                        Ok(()) => {
                            failures = 0;
                            let until = tls.current_validity().map(|v| v.not_after);
                            tracing::info!(names = ?cfg.names, ?until, "ACME: certificate installed");
                            cfg.check_interval
                        }
                        Err(error) => {
                            failures = failures.saturating_add(1);
                            let wait = cfg
                                .retry_interval
                                .saturating_mul(1 << (failures - 1).min(16))
                                .min(cfg.check_interval);
                            tracing::warn!(%error, directory = %cfg.directory, retry_in = ?wait, "ACME: certificate order failed; keeping the certificate in use");
                            wait
                        }
                    }
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    });
}

#[derive(Debug, PartialEq, Eq)]
enum Due {
    Now(&'static str),
    Later(Duration),
}

/// Whether the certificate served needs replacing, at `now`.
fn due(cfg: &AcmeConfig, tls: &TlsManager, now: SystemTime) -> Due {
    if tls.serving_fallback() {
        return Due::Now("no ACME certificate yet");
    }
    let have = tls.current_dns_names();
    if cfg
        .names
        .iter()
        .any(|n| !have.contains(&n.to_ascii_lowercase()))
    {
        return Due::Now("the configured names changed");
    }
    let Some(validity) = tls.current_validity() else {
        return Due::Now("the certificate's dates are unreadable");
    };
    let before = cfg.renew_before.unwrap_or_else(|| validity.lifetime() / 3);
    let renew_at = validity
        .not_after
        .checked_sub(before)
        .unwrap_or(validity.not_before);
    match renew_at.duration_since(now) {
        Ok(wait) if !wait.is_zero() => Due::Later(wait),
        _ => Due::Now("renewal is due"),
    }
}

/// Withdraws the challenge answers an attempt set up, however it ends.
struct Answers<'a> {
    tls: &'a TlsManager,
    tokens: &'a Http01Tokens,
    names: Vec<String>,
    token_list: Vec<String>,
}

impl Drop for Answers<'_> {
    fn drop(&mut self) {
        for n in &self.names {
            self.tls.clear_acme_challenge(n);
        }
        for t in &self.token_list {
            self.tokens.remove(t);
        }
    }
}

/// One attempt: order, answer the challenges, finalize with a new key,
/// write the files, install the certificate.
async fn issue(cfg: &AcmeConfig, tls: &TlsManager, tokens: &Http01Tokens) -> Result<(), AcmeError> {
    let account = account(cfg).await?;
    let ids: Vec<Identifier> = cfg
        .names
        .iter()
        .map(|n| Identifier::Dns(n.clone()))
        .collect();
    let mut order = match account.new_order(&NewOrder::new(&ids)).await {
        Ok(order) => order,
        Err(error) => {
            // A CA that forgot the account (a test CA restarted, an account
            // deactivated elsewhere): make a new one next time.
            if let instant_acme::Error::Api(p) = &error
                && p.r#type.as_deref() == Some("urn:ietf:params:acme:error:accountDoesNotExist")
            {
                let _ = fs::remove_file(cfg.dir.join("account.json"));
            }
            return Err(error).context("creating the order");
        }
    };
    let mut answers = Answers {
        tls,
        tokens,
        names: Vec::new(),
        token_list: Vec::new(),
    };
    let kind = match cfg.challenge {
        Challenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
        Challenge::Http01 => ChallengeType::Http01,
    };
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.context("reading an authorization")?;
        match authz.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => {
                return Err(AcmeError(format!(
                    "authorization for {} is {other:?}",
                    authz.identifier()
                )));
            }
        }
        let name = authz.identifier().to_string();
        let mut challenge = authz
            .challenge(kind.clone())
            .ok_or_else(|| AcmeError(format!("the CA offers no {kind:?} challenge for {name}")))?;
        let key_auth = challenge.key_authorization();
        match cfg.challenge {
            Challenge::Http01 => {
                tokens.insert(challenge.token.clone(), key_auth.as_str().to_owned());
                answers.token_list.push(challenge.token.clone());
            }
            Challenge::TlsAlpn01 => {
                let (cert, key) = alpn_certificate(&name, key_auth.digest().as_ref())?;
                tls.set_acme_challenge(&name, cert, key)
                    .context("setting up the TLS-ALPN-01 answer")?;
                answers.names.push(name.clone());
            }
        }
        challenge
            .set_ready()
            .await
            .context(&format!("starting validation of {name}"))?;
    }
    let polling = RetryPolicy::new()
        .initial_delay(Duration::from_millis(250))
        .timeout(Duration::from_secs(120));
    let status = order
        .poll_ready(&polling)
        .await
        .context("waiting for validation")?;
    if status != OrderStatus::Ready {
        return Err(AcmeError(format!(
            "validation failed ({status:?}): {}",
            order_problems(&mut order).await
        )));
    }
    drop(answers);

    // RFC 8555 §7.4: the CSR names exactly the order's identifiers. A new
    // key for every certificate (ECDSA P-256, rcgen's default).
    let key = rcgen::KeyPair::generate().context("generating the certificate key")?;
    let mut params = rcgen::CertificateParams::new(cfg.names.clone()).context("the CSR's names")?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&key).context("building the CSR")?;
    order
        .finalize_csr(csr.der())
        .await
        .context("finalizing the order")?;
    let chain = order
        .poll_certificate(&polling)
        .await
        .context("downloading the certificate")?;

    fs::create_dir_all(&cfg.dir).context(&format!("creating {}", cfg.dir.display()))?;
    write_atomic(
        &cfg.dir.join("key.pem"),
        key.serialize_pem().as_bytes(),
        true,
    )?;
    write_atomic(&cfg.dir.join("cert.pem"), chain.as_bytes(), false)?;
    tls.reload().context("installing the new certificate")?;
    Ok(())
}

/// What the CA said about each failed authorization.
async fn order_problems(order: &mut instant_acme::Order) -> String {
    let mut out = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let Ok(mut authz) = authz else { continue };
        let Ok(state) = authz.refresh().await else {
            continue;
        };
        for c in &state.challenges {
            if let Some(p) = &c.error {
                out.push(format!("{}: {p}", state.identifier()));
            }
        }
    }
    if out.is_empty() {
        "the CA gave no reason".into()
    } else {
        out.join("; ")
    }
}

/// The TLS-ALPN-01 certificate (RFC 8737 §3): self-signed, the one name as
/// its only SAN, and the critical acmeIdentifier extension holding the
/// SHA-256 of the key authorization.
fn alpn_certificate(name: &str, digest: &[u8]) -> Result<(Vec<u8>, Vec<u8>), AcmeError> {
    let mut params =
        rcgen::CertificateParams::new(vec![name.to_owned()]).context("the challenge name")?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .custom_extensions
        .push(rcgen::CustomExtension::new_acme_identifier(digest));
    let key = rcgen::KeyPair::generate().context("generating the challenge key")?;
    let cert = params
        .self_signed(&key)
        .context("signing the challenge certificate")?;
    Ok((cert.der().to_vec(), key.serialize_der()))
}

/// What `account.json` holds.
#[derive(Serialize, Deserialize)]
struct StoredAccount {
    directory: String,
    credentials: AccountCredentials,
}

/// The stored account for this directory, or a new one (then stored).
async fn account(cfg: &AcmeConfig) -> Result<Account, AcmeError> {
    let builder = || match &cfg.ca_file {
        Some(ca) => Account::builder_with_root(ca)
            .context(&format!("trusting {} for the ACME server", ca.display())),
        None => Account::builder().context("setting up the HTTPS client"),
    };
    let path = cfg.dir.join("account.json");
    if let Ok(text) = fs::read(&path) {
        match serde_json::from_slice::<StoredAccount>(&text) {
            Ok(stored) if stored.directory == cfg.directory => {
                return builder()?
                    .from_credentials(stored.credentials)
                    .await
                    .context("loading the ACME account");
            }
            Ok(_) => tracing::info!("ACME: a new directory URL, so a new account"),
            Err(error) => {
                tracing::warn!(%error, path = %path.display(), "ACME: unreadable account file, making a new account");
            }
        }
    }
    let contact: Vec<&str> = cfg.contact.iter().map(String::as_str).collect();
    let (account, credentials) = builder()?
        .create(
            &NewAccount {
                contact: &contact,
                // Enabling ACME in the config is agreeing to the CA's terms.
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            cfg.directory.clone(),
            None,
        )
        .await
        .context(&format!("creating an account at {}", cfg.directory))?;
    let stored = StoredAccount {
        directory: cfg.directory.clone(),
        credentials,
    };
    let json = serde_json::to_vec_pretty(&stored).context("encoding the account")?;
    fs::create_dir_all(&cfg.dir).context(&format!("creating {}", cfg.dir.display()))?;
    write_atomic(&path, &json, true)?;
    tracing::info!(id = account.id(), "ACME: account created");
    Ok(account)
}

/// `postern_net::write_atomically`; `secret` files are 0600.
fn write_atomic(path: &Path, data: &[u8], secret: bool) -> Result<(), AcmeError> {
    postern_net::write_atomically(path, data, if secret { 0o600 } else { 0o644 })
        .context("saving ACME state")
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_net::CertSource;

    fn cfg(dir: &Path, names: &[&str]) -> AcmeConfig {
        AcmeConfig {
            directory: "https://acme.invalid/dir".into(),
            contact: vec![],
            names: names.iter().map(|n| n.to_string()).collect(),
            challenge: Challenge::TlsAlpn01,
            renew_before: None,
            check_interval: Duration::from_secs(43_200),
            retry_interval: Duration::from_secs(600),
            ca_file: None,
            dir: dir.join("acme"),
        }
    }

    fn manager(dir: &Path) -> TlsManager {
        TlsManager::load(CertSource::Acme {
            dir: dir.join("acme"),
            hostname: "mail.example.org".into(),
            fallback_dir: dir.join("tls"),
        })
        .expect("load")
    }

    /// Writes an "issued" certificate for `names`, valid over `days` days
    /// from `start_days_ago` days ago, and loads it.
    fn install(dir: &Path, tls: &TlsManager, names: &[&str], start_days_ago: i64, days: i64) {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("params");
        let day = |d: i64| {
            let t = if d >= 0 {
                SystemTime::now() - Duration::from_secs(d.unsigned_abs() * 86_400)
            } else {
                SystemTime::now() + Duration::from_secs(d.unsigned_abs() * 86_400)
            };
            time::OffsetDateTime::from(t)
        };
        params.not_before = day(start_days_ago);
        params.not_after = day(start_days_ago - days);
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("sign");
        fs::create_dir_all(dir.join("acme")).expect("mkdir");
        write_atomic(
            &dir.join("acme/key.pem"),
            key.serialize_pem().as_bytes(),
            true,
        )
        .expect("key");
        write_atomic(&dir.join("acme/cert.pem"), cert.pem().as_bytes(), false).expect("cert");
        tls.reload().expect("reload");
    }

    #[test]
    fn due_at_once_while_the_self_signed_fallback_is_served() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tls = manager(dir.path());
        assert!(tls.serving_fallback());
        let c = cfg(dir.path(), &["mail.example.org"]);
        assert_eq!(
            due(&c, &tls, SystemTime::now()),
            Due::Now("no ACME certificate yet")
        );
    }

    #[test]
    fn renewal_in_the_last_third_of_the_lifetime_by_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tls = manager(dir.path());
        let c = cfg(dir.path(), &["mail.example.org"]);
        // 90 days, 10 in: renewal at day 60, about 50 days from now.
        install(dir.path(), &tls, &["mail.example.org"], 10, 90);
        assert!(!tls.serving_fallback());
        match due(&c, &tls, SystemTime::now()) {
            Due::Later(wait) => {
                let days = wait.as_secs() / 86_400;
                assert!((48..=50).contains(&days), "{days}");
            }
            other => panic!("{other:?}"),
        }
        // 90 days, 61 in: due.
        install(dir.path(), &tls, &["mail.example.org"], 61, 90);
        assert_eq!(due(&c, &tls, SystemTime::now()), Due::Now("renewal is due"));
        // An explicit renew_before wins over the third.
        let c = AcmeConfig {
            renew_before: Some(Duration::from_secs(20 * 86_400)),
            ..c
        };
        assert!(matches!(due(&c, &tls, SystemTime::now()), Due::Later(_)));
    }

    #[test]
    fn a_name_missing_from_the_certificate_is_due_now() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tls = manager(dir.path());
        install(dir.path(), &tls, &["mail.example.org"], 1, 90);
        let c = cfg(dir.path(), &["mail.example.org", "autoconfig.example.org"]);
        assert_eq!(
            due(&c, &tls, SystemTime::now()),
            Due::Now("the configured names changed")
        );
    }

    #[test]
    fn alpn_certificate_carries_the_critical_acme_identifier() {
        let digest = [7u8; 32];
        let (der, _key) = alpn_certificate("mail.example.org", &digest).expect("cert");
        // id-pe-acmeIdentifier 1.3.6.1.5.5.7.1.31, critical, OCTET STRING of
        // an OCTET STRING of the 32-byte digest (RFC 8737 §3).
        let mut ext = vec![0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x1f];
        ext.extend_from_slice(&[0x01, 0x01, 0xff, 0x04, 0x22, 0x04, 0x20]);
        ext.extend_from_slice(&digest);
        assert!(
            der.windows(ext.len()).any(|w| w == ext),
            "extension not found"
        );
        assert_eq!(
            postern_net::dns_names(&der).expect("names"),
            ["mail.example.org"]
        );
    }

    #[test]
    fn http01_tokens_are_withdrawn_with_the_attempt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tls = manager(dir.path());
        let tokens = Http01Tokens::default();
        {
            let mut a = Answers {
                tls: &tls,
                tokens: &tokens,
                names: vec![],
                token_list: vec![],
            };
            tokens.insert("tok".into(), "tok.thumb".into());
            a.token_list.push("tok".into());
            assert_eq!(tokens.get("tok").as_deref(), Some("tok.thumb"));
        }
        assert_eq!(tokens.get("tok"), None);
    }
}
