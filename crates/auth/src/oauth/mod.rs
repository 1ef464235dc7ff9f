//! OAuth 2.0 bearer tokens for the mail protocols (off unless configured):
//! the SASL mechanisms OAUTHBEARER (RFC 7628) and XOAUTH2 ([`sasl`]), and
//! the check of a token against one OpenID Connect issuer, either as a JWT
//! whose signature is verified with the issuer's JWKS ([`jwt`], [`keys`])
//! or by RFC 7662 introspection at the issuer, whose answers are kept for
//! a while ([`introspection_cache`]). The token's user claim (default
//! `email`) names the Postern user ([`login`]).
//!
//! Failures are logins that failed: they count in the throttle and the
//! abuse tracker and log the fail2ban line, like wrong passwords. An issuer
//! we cannot reach is a temporary failure, not a refusal.

mod http;
mod introspection_cache;
mod jwt;
mod keys;
mod login;
pub mod sasl;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::Value;

use crate::Secret;
use http::{Http, check_url, form_escape};
use introspection_cache::{Answer, IntrospectionCache};
use jwt::{Expect, Presence, check_claims};
use keys::KeyCache;

/// Room for what a bearer message holds besides the token (GS2 header with
/// an escaped authzid, `host=` and `port=` pairs, separators).
const MESSAGE_OVERHEAD: usize = 1024;

/// The largest `max_token_bytes`: a message of that much token still
/// decodes within [`crate::sasl::MAX_BASE64_LINE`].
pub const MAX_TOKEN_BYTES: usize = 10240;

/// RFC 7662 introspection instead of local JWT checks.
#[derive(Clone, Debug)]
pub struct Introspection {
    /// The issuer's introspection endpoint (RFC 7662 §2).
    pub endpoint: String,
    /// Our client id at the issuer.
    pub client_id: String,
    /// Its secret, sent with HTTP Basic (RFC 6749 §2.3.1).
    pub client_secret: Secret<String>,
    /// How long an active answer is kept (never past the token's `exp`);
    /// zero: not kept. Default 300 s.
    pub cache: Duration,
    /// How long an inactive answer is kept. Default 30 s.
    pub inactive_cache: Duration,
    /// Answers kept at most. Default 10,000.
    pub cache_entries: usize,
}

impl Introspection {
    /// Asks `endpoint` as `client_id`, with the default cache limits.
    pub fn new(endpoint: String, client_id: String, client_secret: Secret<String>) -> Self {
        Introspection {
            endpoint,
            client_id,
            client_secret,
            cache: Duration::from_secs(300),
            inactive_cache: Duration::from_secs(30),
            cache_entries: 10_000,
        }
    }
}

/// Where tokens come from and how they are checked. The binary's `[oauth]`
/// section maps onto this; `Default` gives the documented defaults with an
/// empty issuer and audience (which [`OAuth::new`] refuses).
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// The issuer URL, exactly as tokens carry it in `iss`.
    pub issuer: String,
    /// Where the signing keys are; `None`: the discovery document's.
    pub jwks_uri: Option<String>,
    /// What `aud` must contain.
    pub audience: String,
    /// The claim naming the user (an address). Default `email`.
    pub user_claim: String,
    /// Clock skew allowed on `exp` and `nbf`. Default 60 s.
    pub leeway: Duration,
    /// How long fetched keys are used before fetching again. Default 1 h.
    pub jwks_refresh: Duration,
    /// The least time between two fetches, also when a token names an
    /// unknown `kid`. Default 60 s.
    pub jwks_min_refetch: Duration,
    /// Introspection instead of JWT checks.
    pub introspection: Option<Introspection>,
    /// Each request to the issuer, connect to last byte. Default 10 s.
    pub http_timeout: Duration,
    /// The largest answer read from the issuer. Default 1 MiB.
    pub max_response_bytes: usize,
    /// The longest token accepted, in octets. Default 8192.
    pub max_token_bytes: usize,
    /// PEM roots for the issuer's certificate; `None`: the system's.
    pub ca_file: Option<PathBuf>,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            issuer: String::new(),
            jwks_uri: None,
            audience: String::new(),
            user_claim: "email".into(),
            leeway: Duration::from_secs(60),
            jwks_refresh: Duration::from_secs(3600),
            jwks_min_refetch: Duration::from_secs(60),
            introspection: None,
            http_timeout: Duration::from_secs(10),
            max_response_bytes: 1 << 20,
            max_token_bytes: 8192,
            ca_file: None,
        }
    }
}

impl OAuthConfig {
    /// `Err((key, reason))` for the first value refused (key as in
    /// `[oauth]`).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.issuer.is_empty() {
            return Err(("issuer", "is required".into()));
        }
        check_url(&self.issuer).map_err(|e| ("issuer", e))?;
        if let Some(uri) = &self.jwks_uri {
            check_url(uri).map_err(|e| ("jwks_uri", e))?;
        }
        if self.audience.is_empty() {
            return Err(("audience", "is required".into()));
        }
        if self.user_claim.is_empty() {
            return Err(("user_claim", "is empty".into()));
        }
        if let Some(i) = &self.introspection {
            check_url(&i.endpoint).map_err(|e| ("introspection_endpoint", e))?;
            if i.client_id.is_empty() {
                return Err((
                    "client_id",
                    "is required with introspection_endpoint".into(),
                ));
            }
        }
        if self.http_timeout.is_zero() {
            return Err(("http_timeout_secs", "must be above 0".into()));
        }
        if self.max_token_bytes < 64 || self.max_token_bytes > MAX_TOKEN_BYTES {
            return Err((
                "max_token_bytes",
                format!("must be between 64 and {MAX_TOKEN_BYTES}"),
            ));
        }
        if self.max_response_bytes < 1024 {
            return Err(("max_response_bytes", "must be at least 1024".into()));
        }
        Ok(())
    }
}

/// Why a token was not accepted.
#[derive(Debug)]
pub(crate) enum TokenError {
    /// The token is bad (signature, claims, inactive): a failed login.
    Invalid(String),
    /// We could not tell (issuer unreachable, no keys): try again later.
    Unavailable(String),
}

/// The token checker; cheap to clone.
#[derive(Clone)]
pub struct OAuth {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: OAuthConfig,
    http: Http,
    keys: KeyCache,
    /// Introspection's answers (empty without introspection).
    answers: IntrospectionCache,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth")
            .field("issuer", &self.inner.cfg.issuer)
            .finish_non_exhaustive()
    }
}

impl OAuth {
    /// A checker for `cfg`, refused with `(key, reason)` when a value is
    /// wrong or `ca_file` cannot be read. Nothing is fetched yet.
    pub fn new(cfg: OAuthConfig) -> Result<OAuth, (&'static str, String)> {
        cfg.check()?;
        let http = Http::new(
            cfg.ca_file.as_deref(),
            cfg.http_timeout,
            cfg.max_response_bytes,
        )
        .map_err(|e| ("ca_file", e))?;
        let limits = cfg.introspection.as_ref().map_or(
            introspection_cache::Limits {
                active: Duration::ZERO,
                inactive: Duration::ZERO,
                entries: 0,
            },
            |i| introspection_cache::Limits {
                active: i.cache,
                inactive: i.inactive_cache,
                entries: i.cache_entries,
            },
        );
        Ok(OAuth {
            inner: Arc::new(Inner {
                cfg,
                http,
                keys: KeyCache::default(),
                answers: IntrospectionCache::new(limits),
            }),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &OAuthConfig {
        &self.inner.cfg
    }

    /// Checks `token` and returns its user claim.
    pub(crate) async fn validate(&self, token: &str) -> Result<String, TokenError> {
        let cfg = &self.inner.cfg;
        let now_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let expect = Expect {
            issuer: &cfg.issuer,
            audience: &cfg.audience,
            user_claim: &cfg.user_claim,
            leeway_secs: i64::try_from(cfg.leeway.as_secs()).unwrap_or(i64::MAX),
            now_secs,
        };
        if let Some(intro) = &cfg.introspection {
            let claims = self.introspect(intro, token, now_secs).await?;
            return check_claims(&claims, &expect, Presence::IfPresent)
                .map_err(TokenError::Invalid);
        }
        let jwt = jwt::parse(token).map_err(TokenError::Invalid)?;
        let keys = self.inner.keys.keys(&self.inner.http, cfg, false).await?;
        let verified = match jwt.verify_with(&keys) {
            Some(v) => v,
            // A kid we do not know: perhaps the issuer rotated its keys.
            None => {
                let keys = self.inner.keys.keys(&self.inner.http, cfg, true).await?;
                jwt.verify_with(&keys)
                    .ok_or_else(|| TokenError::Invalid(format!("no key for kid {:?}", jwt.kid)))?
            }
        };
        if !verified {
            return Err(TokenError::Invalid("bad signature".into()));
        }
        check_claims(&jwt.claims, &expect, Presence::Required).map_err(TokenError::Invalid)
    }

    /// RFC 7662 §2.1: POST the token with our client credentials; the
    /// answer's claims if `active` is `true`. A kept answer is used
    /// instead while it lasts.
    async fn introspect(
        &self,
        intro: &Introspection,
        token: &str,
        now_secs: i64,
    ) -> Result<Arc<serde_json::Map<String, Value>>, TokenError> {
        let answers = &self.inner.answers;
        let answer = match answers.get(token, std::time::Instant::now()) {
            Some(a) => a,
            None => {
                let a = self.ask_issuer(intro, token).await?;
                let secs_to_exp = match &a {
                    Answer::Active(claims) => claims
                        .get("exp")
                        .and_then(Value::as_i64)
                        .map(|exp| exp.saturating_sub(now_secs)),
                    Answer::Inactive => None,
                };
                answers.put(token, a.clone(), secs_to_exp, std::time::Instant::now());
                a
            }
        };
        match answer {
            Answer::Active(claims) => Ok(claims),
            Answer::Inactive => Err(TokenError::Invalid("inactive token".into())),
        }
    }

    /// One introspection request; an answer the issuer gave, or
    /// `Unavailable` when it gave none we can read.
    async fn ask_issuer(&self, intro: &Introspection, token: &str) -> Result<Answer, TokenError> {
        let credentials = format!(
            "{}:{}",
            form_escape(&intro.client_id),
            form_escape(intro.client_secret.expose())
        );
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        );
        let form = format!("token={}&token_type_hint=access_token", form_escape(token));
        let answer = self
            .inner
            .http
            .post_form(&intro.endpoint, &basic, form)
            .await
            .map_err(TokenError::Unavailable)?;
        let Value::Object(claims) = answer else {
            return Err(TokenError::Unavailable(
                "introspection answer is not a JSON object".into(),
            ));
        };
        // §2.2: only a boolean true means active.
        if claims.get("active") != Some(&Value::Bool(true)) {
            return Ok(Answer::Inactive);
        }
        Ok(Answer::Active(Arc::new(claims)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> OAuthConfig {
        OAuthConfig {
            issuer: "https://id.example/realms/mail".into(),
            audience: "postern".into(),
            ..OAuthConfig::default()
        }
    }

    #[test]
    fn the_largest_message_fits_a_sasl_line() {
        let line = (MAX_TOKEN_BYTES + MESSAGE_OVERHEAD).div_ceil(3) * 4;
        assert!(line <= crate::sasl::MAX_BASE64_LINE, "{line}");
    }

    #[test]
    fn configs_are_checked_key_by_key() {
        assert_eq!(cfg().check(), Ok(()));
        let refused = |c: OAuthConfig| c.check().err().map(|(k, _)| k);
        assert_eq!(refused(OAuthConfig::default()), Some("issuer"));
        assert_eq!(
            refused(OAuthConfig {
                issuer: "http://id.example".into(),
                ..cfg()
            }),
            Some("issuer")
        );
        assert_eq!(
            refused(OAuthConfig {
                audience: String::new(),
                ..cfg()
            }),
            Some("audience")
        );
        assert_eq!(
            refused(OAuthConfig {
                jwks_uri: Some("ftp://x/".into()),
                ..cfg()
            }),
            Some("jwks_uri")
        );
        assert_eq!(
            refused(OAuthConfig {
                max_token_bytes: 10,
                ..cfg()
            }),
            Some("max_token_bytes")
        );
        let intro = |endpoint: &str, id: &str| {
            Some(Introspection::new(
                endpoint.into(),
                id.into(),
                Secret::new("s".into()),
            ))
        };
        assert_eq!(
            refused(OAuthConfig {
                introspection: intro("https://id.example/i", ""),
                ..cfg()
            }),
            Some("client_id")
        );
        assert_eq!(
            refused(OAuthConfig {
                introspection: intro("http://id.example/i", "c"),
                ..cfg()
            }),
            Some("introspection_endpoint")
        );
        assert_eq!(
            OAuthConfig {
                introspection: intro("https://id.example/i", "c"),
                ..cfg()
            }
            .check(),
            Ok(())
        );
    }
}
