//! The `[oauth]` section: OAuth 2.0 bearer tokens (OAUTHBEARER, XOAUTH2) on
//! IMAP, POP3 and submission, from one OpenID Connect issuer; off while
//! `issuer` is empty. Checked into `postern_auth::OAuthConfig`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use postern_auth::{Introspection, OAuthConfig, Secret};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawOAuth {
    pub issuer: String,
    pub jwks_uri: String,
    pub audience: String,
    pub user_claim: String,
    pub leeway_secs: u64,
    pub jwks_refresh_secs: u64,
    pub jwks_min_refetch_secs: u64,
    pub introspection_endpoint: String,
    pub client_id: String,
    pub client_secret: String,
    pub introspection_cache_secs: u64,
    pub introspection_inactive_cache_secs: u64,
    pub introspection_cache_entries: usize,
    pub http_timeout_secs: u64,
    pub max_response_bytes: usize,
    pub max_token_bytes: usize,
    pub ca_file: PathBuf,
}

impl Default for RawOAuth {
    fn default() -> Self {
        let d = OAuthConfig::default();
        let i = Introspection::new(String::new(), String::new(), Secret::new(String::new()));
        RawOAuth {
            issuer: d.issuer,
            jwks_uri: String::new(),
            audience: d.audience,
            user_claim: d.user_claim,
            leeway_secs: d.leeway.as_secs(),
            jwks_refresh_secs: d.jwks_refresh.as_secs(),
            jwks_min_refetch_secs: d.jwks_min_refetch.as_secs(),
            introspection_endpoint: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            introspection_cache_secs: i.cache.as_secs(),
            introspection_inactive_cache_secs: i.inactive_cache.as_secs(),
            introspection_cache_entries: i.cache_entries,
            http_timeout_secs: d.http_timeout.as_secs(),
            max_response_bytes: d.max_response_bytes,
            max_token_bytes: d.max_token_bytes,
            ca_file: PathBuf::new(),
        }
    }
}

impl RawOAuth {
    /// `None` when OAuth is off (no issuer and nothing else set);
    /// `Err((key, reason))` for the first value refused.
    pub fn check(
        &self,
        resolve: impl Fn(&Path) -> PathBuf,
    ) -> Result<Option<OAuthConfig>, (String, String)> {
        let refuse = |key: &str, reason: String| Err((format!("oauth.{key}"), reason));
        let optional = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        if self.issuer.is_empty() {
            let others = !self.audience.is_empty()
                || !self.jwks_uri.is_empty()
                || !self.introspection_endpoint.is_empty();
            return if others {
                refuse("issuer", "is required to use [oauth]".into())
            } else {
                Ok(None)
            };
        }
        if self.leeway_secs > 600 {
            return refuse("leeway_secs", format!("{} is above 600", self.leeway_secs));
        }
        if self.jwks_refresh_secs < 60 {
            return refuse(
                "jwks_refresh_secs",
                format!("{} is below 60", self.jwks_refresh_secs),
            );
        }
        if self.http_timeout_secs > 300 {
            return refuse(
                "http_timeout_secs",
                format!("{} is above 300", self.http_timeout_secs),
            );
        }
        for (key, secs) in [
            ("introspection_cache_secs", self.introspection_cache_secs),
            (
                "introspection_inactive_cache_secs",
                self.introspection_inactive_cache_secs,
            ),
        ] {
            if secs > 86_400 {
                return refuse(key, format!("{secs} is above 86400"));
            }
        }
        if self.introspection_cache_entries > 1_000_000 {
            return refuse(
                "introspection_cache_entries",
                format!("{} is above 1000000", self.introspection_cache_entries),
            );
        }
        let introspection = optional(&self.introspection_endpoint).map(|endpoint| Introspection {
            cache: Duration::from_secs(self.introspection_cache_secs),
            inactive_cache: Duration::from_secs(self.introspection_inactive_cache_secs),
            cache_entries: self.introspection_cache_entries,
            ..Introspection::new(
                endpoint,
                self.client_id.clone(),
                Secret::new(self.client_secret.clone()),
            )
        });
        if introspection.is_none() && !(self.client_id.is_empty() && self.client_secret.is_empty())
        {
            return refuse(
                "client_id",
                "client_id and client_secret are for introspection_endpoint, which is not set"
                    .into(),
            );
        }
        let cfg = OAuthConfig {
            issuer: self.issuer.clone(),
            jwks_uri: optional(&self.jwks_uri),
            audience: self.audience.clone(),
            user_claim: self.user_claim.clone(),
            leeway: Duration::from_secs(self.leeway_secs),
            jwks_refresh: Duration::from_secs(self.jwks_refresh_secs),
            jwks_min_refetch: Duration::from_secs(self.jwks_min_refetch_secs),
            introspection,
            http_timeout: Duration::from_secs(self.http_timeout_secs),
            max_response_bytes: self.max_response_bytes,
            max_token_bytes: self.max_token_bytes,
            ca_file: (!self.ca_file.as_os_str().is_empty()).then(|| resolve(&self.ca_file)),
        };
        match cfg.check() {
            Ok(()) => Ok(Some(cfg)),
            Err((key, reason)) => refuse(key, reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, "test.toml", Path::new("/etc/postern")).map_err(|e| e.to_string())
    }

    #[test]
    fn oauth_is_off_by_default_and_on_with_an_issuer() -> Result<(), String> {
        assert!(parse("")?.oauth.is_none());
        let cfg = parse(
            "[oauth]\nissuer = \"https://id.example/realms/mail\"\naudience = \"postern\"\nca_file = \"ca.pem\"",
        )?
        .oauth
        .ok_or("on")?;
        assert_eq!(cfg.user_claim, "email");
        assert_eq!(
            cfg.ca_file.as_deref(),
            Some(Path::new("/etc/postern/ca.pem"))
        );
        assert!(cfg.introspection.is_none());
        let cfg = parse(
            "[oauth]\nissuer = \"http://127.0.0.1:8080/r\"\naudience = \"a\"\nintrospection_endpoint = \"http://127.0.0.1:8080/i\"\nclient_id = \"c\"\nclient_secret = \"s\"",
        )?
        .oauth
        .ok_or("on")?;
        assert_eq!(cfg.introspection.map(|i| i.client_id).as_deref(), Some("c"));
        Ok(())
    }

    #[test]
    fn oauth_misconfigurations_name_the_key() {
        let table = [
            (
                "audience = \"a\"",
                "test.toml: oauth.issuer: is required to use [oauth]",
            ),
            (
                "issuer = \"https://id.example\"",
                "test.toml: oauth.audience: is required",
            ),
            (
                "issuer = \"http://id.example\"\naudience = \"a\"",
                "test.toml: oauth.issuer: \"http://id.example\" is plain http to a host that is not loopback",
            ),
            (
                "issuer = \"https://id.example\"\naudience = \"a\"\nclient_id = \"c\"",
                "test.toml: oauth.client_id: client_id and client_secret are for introspection_endpoint, which is not set",
            ),
            (
                "issuer = \"https://id.example\"\naudience = \"a\"\nintrospection_endpoint = \"https://id.example/i\"",
                "test.toml: oauth.client_id: is required with introspection_endpoint",
            ),
            (
                "issuer = \"https://id.example\"\naudience = \"a\"\nleeway_secs = 601",
                "test.toml: oauth.leeway_secs: 601 is above 600",
            ),
            (
                "issuer = \"https://id.example\"\naudience = \"a\"\nmax_token_bytes = 99999",
                "test.toml: oauth.max_token_bytes: must be between 64 and 10240",
            ),
        ];
        for (body, want) in table {
            let got = parse(&format!("[oauth]\n{body}")).err();
            assert_eq!(got.as_deref(), Some(want), "{body}");
        }
    }
}
