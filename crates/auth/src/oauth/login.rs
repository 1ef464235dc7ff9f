//! `Directory::authenticate_bearer`: a bearer message checked end to end:
//! parsed, the token validated, its user claim mapped to an enabled user
//! (or an alias with exactly one target, a user), the claimed identity
//! compared, all through the same throttle, log lines, metrics and abuse
//! reports as password logins.

use std::net::IpAddr;

use tracing::{debug, error};

use super::sasl::{self, BearerMechanism, decode_bearer};
use super::{OAuth, TokenError};
use crate::login::FailReason;
use crate::throttle::ThrottleKey;
use crate::{AuthOutcome, Directory, UserRecord, normalize_address};

impl Directory {
    /// Turns bearer tokens on with this checker. Once: later calls are
    /// ignored (the configuration is read once, at start).
    pub fn set_oauth(&self, oauth: OAuth) {
        let _already = self.inner.oauth.set(oauth);
    }

    /// Whether OAUTHBEARER and XOAUTH2 are offered.
    pub fn oauth_enabled(&self) -> bool {
        self.inner.oauth.get().is_some()
    }

    /// The longest protocol line a bearer message may need (an AUTH
    /// command with its initial response, or a continuation line): a token
    /// of `max_token_bytes` with room for the other fields, in base64.
    /// 0 when OAuth is off. Protocols raise their line limit to this.
    pub fn bearer_line_limit(&self) -> usize {
        self.inner.oauth.get().map_or(0, |o| {
            (o.config().max_token_bytes + super::MESSAGE_OVERHEAD).div_ceil(3) * 4 + 64
        })
    }

    /// The challenge sent after a refused token, before the final failure
    /// (RFC 7628 §3.2.2); the client's answer to it is ignored.
    pub fn bearer_error_challenge(&self, mechanism: BearerMechanism) -> Vec<u8> {
        let issuer = self
            .inner
            .oauth
            .get()
            .map_or("", |o| o.config().issuer.as_str());
        sasl::error_challenge(mechanism, issuer)
    }

    /// Checks a decoded OAUTHBEARER or XOAUTH2 message from `ip` over
    /// `proto`. `Failed` covers a malformed message, a refused token, a
    /// claim naming no enabled user, and a claimed identity that is not the
    /// token's; `TempFail` an issuer we could not ask. Without `[oauth]`,
    /// every message fails.
    pub async fn authenticate_bearer(
        &self,
        proto: &str,
        ip: IpAddr,
        mechanism: BearerMechanism,
        message: &[u8],
    ) -> AuthOutcome {
        let outcome = self.check_bearer(proto, ip, mechanism, message).await;
        self.settle_login(proto, ip, outcome).await
    }

    async fn check_bearer(
        &self,
        proto: &str,
        ip: IpAddr,
        mechanism: BearerMechanism,
        message: &[u8],
    ) -> AuthOutcome {
        let key = ThrottleKey::of(ip);
        // A locked-out address is refused before its message is even read.
        if let Some(outcome) = self.throttled(key, proto, ip, "") {
            return outcome;
        }
        let Some(oauth) = self.inner.oauth.get() else {
            return self.fail(key, proto, ip, "", FailReason::BadToken).await;
        };
        let request = match decode_bearer(mechanism, message, oauth.config().max_token_bytes) {
            Ok(r) => r,
            Err(e) => {
                debug!(error = ?e, "oauth: malformed {} message", mechanism.name());
                return self.fail(key, proto, ip, "", FailReason::BadToken).await;
            }
        };
        let claimed = request.user.as_deref().unwrap_or("");
        let subject = match oauth.validate(request.token.expose()).await {
            Ok(subject) => subject,
            Err(TokenError::Invalid(why)) => {
                debug!(reason = %why, "oauth: token refused");
                return self
                    .fail(key, proto, ip, claimed, FailReason::BadToken)
                    .await;
            }
            Err(TokenError::Unavailable(why)) => {
                error!(error = %why, proto, "oauth: cannot check tokens");
                return AuthOutcome::TempFail;
            }
        };
        let user = match self.bearer_user(&subject).await {
            Ok(user) => user,
            Err(()) => return AuthOutcome::TempFail,
        };
        let Some(user) = user.filter(|u| !u.disabled) else {
            debug!(subject = %crate::login::loggable(&subject), "oauth: token names no enabled user");
            return self
                .fail(key, proto, ip, &subject, FailReason::BadToken)
                .await;
        };
        // The identity the client asked for must be the token's: its
        // claim as written, or the user it maps to.
        if let Some(c) = &request.user
            && !sasl::names(c, &user.address)
            && !sasl::names(c, &normalize_address(&subject).unwrap_or_default())
        {
            debug!("oauth: the claimed identity is not the token's user");
            return self.fail(key, proto, ip, c, FailReason::BadToken).await;
        }
        self.succeed(key, user, None, proto, ip, "oauth")
    }

    /// The user a token's claim names: the user with that address, or the
    /// only target of an alias with that address when it is a user.
    /// (Plus-addressing and catch-alls do not apply: a token for an address
    /// nobody owns must not log in as whoever receives its mail.) `Err`
    /// when the backend failed (logged).
    async fn bearer_user(&self, subject: &str) -> Result<Option<UserRecord>, ()> {
        let Ok(address) = normalize_address(subject) else {
            return Ok(None);
        };
        let found = self
            .on_backend(move |b, _| {
                if let Some(u) = b.user_by_address(&address)? {
                    return Ok(Some(u));
                }
                match b.alias_targets(&address)?.as_slice() {
                    [only] => b.user_by_address(only),
                    _ => Ok(None),
                }
            })
            .await;
        found.map_err(|e| error!(error = %e, "oauth: user lookup failed"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{AuthConfig, MemoryBackend, OAuthConfig};

    /// A directory whose OAuth issuer is unreachable (port 9 on loopback
    /// refuses connections): every token that parses is a temporary
    /// failure, every malformed message a failure, and nothing panics.
    fn directory() -> Directory {
        let backend = MemoryBackend::new();
        backend.add_domain("example.org");
        backend.add_user("alice@example.org", "", "x");
        let dir =
            Directory::new_with_dummy_hash(Arc::new(backend), AuthConfig::default(), "x".into());
        let oauth = OAuth::new(OAuthConfig {
            issuer: "http://127.0.0.1:9".into(),
            audience: "mail".into(),
            http_timeout: std::time::Duration::from_secs(2),
            ..OAuthConfig::default()
        })
        .expect("valid config");
        dir.set_oauth(oauth);
        dir
    }

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    #[tokio::test]
    async fn malformed_messages_fail_and_unreachable_issuers_are_temporary() {
        let dir = directory();
        assert!(dir.oauth_enabled());
        let bad = dir
            .authenticate_bearer("imap", IP, BearerMechanism::OAuthBearer, b"n,,\x01\x01")
            .await;
        assert_eq!(bad, AuthOutcome::Failed);
        let unreachable = dir
            .authenticate_bearer(
                "imap",
                IP,
                BearerMechanism::XOAuth2,
                b"user=a@x\x01auth=Bearer a.b.c\x01\x01",
            )
            .await;
        // "a.b.c" is not even a JWT: refused before any fetch.
        assert_eq!(unreachable, AuthOutcome::Failed);
        let token = "eyJhbGciOiJFUzI1NiJ9.e30.AAAA";
        let msg = format!("n,,\x01auth=Bearer {token}\x01\x01");
        let outcome = dir
            .authenticate_bearer("imap", IP, BearerMechanism::OAuthBearer, msg.as_bytes())
            .await;
        assert_eq!(outcome, AuthOutcome::TempFail);
    }

    #[tokio::test]
    async fn without_oauth_every_bearer_message_fails() {
        let backend = MemoryBackend::new();
        let dir =
            Directory::new_with_dummy_hash(Arc::new(backend), AuthConfig::default(), "x".into());
        assert!(!dir.oauth_enabled());
        let outcome = dir
            .authenticate_bearer(
                "smtp",
                IP,
                BearerMechanism::OAuthBearer,
                b"n,,\x01auth=Bearer t\x01\x01",
            )
            .await;
        assert_eq!(outcome, AuthOutcome::Failed);
    }
}
