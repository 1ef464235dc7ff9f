//! The issuer's signing keys, cached: the JWKS is fetched (through the
//! discovery document's `jwks_uri` unless one is configured) when first
//! needed, again after `jwks_refresh`, and early when a token names a `kid`
//! we do not have (a key rotation), at most once per `jwks_min_refetch`. A
//! failed fetch keeps the keys we had.

use std::sync::Arc;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::http::{Http, check_url};
use super::jwt::{Jwk, parse_jwks};
use super::sasl::discovery_url;
use super::{OAuthConfig, TokenError};

/// The cached keys and when they were last fetched or tried.
#[derive(Default)]
struct State {
    keys: Arc<Vec<Jwk>>,
    fetched: Option<Instant>,
    tried: Option<Instant>,
}

/// The JWKS cache. One fetch at a time: logins that need keys while a
/// fetch runs wait for it (bounded by the HTTP timeout).
#[derive(Default)]
pub(crate) struct KeyCache {
    state: Mutex<State>,
}

impl KeyCache {
    /// The keys, fetched first if there are none yet, if they are older
    /// than `jwks_refresh`, or if `unknown_kid` and the last attempt is
    /// older than `jwks_min_refetch`.
    pub(crate) async fn keys(
        &self,
        http: &Http,
        cfg: &OAuthConfig,
        unknown_kid: bool,
    ) -> Result<Arc<Vec<Jwk>>, TokenError> {
        let mut st = self.state.lock().await;
        let now = Instant::now();
        let stale = st
            .fetched
            .is_none_or(|f| now.duration_since(f) >= cfg.jwks_refresh);
        // Tokens with made-up kids must not make us hammer the issuer.
        let may_try = st
            .tried
            .is_none_or(|t| now.duration_since(t) >= cfg.jwks_min_refetch);
        if (stale || unknown_kid) && may_try {
            st.tried = Some(now);
            match fetch(http, cfg).await {
                Ok(keys) => {
                    tracing::info!(keys = keys.len(), issuer = %cfg.issuer, "oauth: fetched the JWKS");
                    st.keys = Arc::new(keys);
                    st.fetched = Some(now);
                }
                Err(e) if st.keys.is_empty() => return Err(TokenError::Unavailable(e)),
                Err(e) => {
                    tracing::warn!(error = %e, "oauth: JWKS refresh failed; keeping the keys we had")
                }
            }
        }
        if st.keys.is_empty() && st.fetched.is_none() {
            return Err(TokenError::Unavailable(
                "no JWKS yet (the last fetch failed)".into(),
            ));
        }
        Ok(Arc::clone(&st.keys))
    }
}

/// Fetches the JWKS: from the configured `jwks_uri`, or from the one the
/// discovery document names, after checking that document is the
/// issuer's own (OpenID Connect Discovery 1.0 §4.3).
async fn fetch(http: &Http, cfg: &OAuthConfig) -> Result<Vec<Jwk>, String> {
    let uri = match &cfg.jwks_uri {
        Some(uri) => uri.clone(),
        None => {
            let url = discovery_url(&cfg.issuer);
            let doc = http.get_json(&url).await?;
            if doc.get("issuer").and_then(|v| v.as_str()) != Some(cfg.issuer.as_str()) {
                return Err(format!(
                    "{url} names issuer {:?}, not {:?}",
                    doc.get("issuer"),
                    cfg.issuer
                ));
            }
            let uri = doc
                .get("jwks_uri")
                .and_then(|v| v.as_str())
                .ok_or_else(|| format!("{url} has no jwks_uri"))?;
            check_url(uri)?;
            uri.to_owned()
        }
    };
    let body = http.get_json(&uri).await?;
    parse_jwks(&body)
}
