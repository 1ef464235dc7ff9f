//! The `[auth]` section: the login throttle, the password cache, plus
//! addressing, and the account security keys (app passwords' and logins'
//! records, TOTP); its check into `postern_auth::AuthConfig`.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAuth {
    pub max_concurrent_hashes: usize,
    pub failures_before_delay: u32,
    pub max_delay_secs: u64,
    pub lockout_after: u32,
    pub lockout_secs: u64,
    pub failure_window_secs: u64,
    /// `user+tag@domain` delivers to `user@domain`; "" turns it off.
    pub plus_separator: String,
    pub cache_ttl_secs: u64,
    /// Addresses whose login failures are tracked at most.
    pub max_tracked_addresses: usize,
    /// Successful verifications remembered at most.
    pub cache_entries: usize,
    /// The account password still opens the mail protocols with TOTP on.
    pub password_on_mail_with_totp: bool,
    /// Recent-login rows kept per user (`postern user devices`).
    pub devices_per_user: usize,
    /// Seconds between writes of an app password's last use or a login row.
    pub record_interval_secs: u64,
    /// The issuer an authenticator app shows for TOTP.
    pub totp_issuer: String,
}

impl Default for RawAuth {
    fn default() -> Self {
        RawAuth {
            max_concurrent_hashes: 4,
            failures_before_delay: 3,
            max_delay_secs: 8,
            lockout_after: 10,
            lockout_secs: 900,
            failure_window_secs: 900,
            plus_separator: "+".into(),
            cache_ttl_secs: 300,
            max_tracked_addresses: 100_000,
            cache_entries: 10_000,
            password_on_mail_with_totp: false,
            devices_per_user: 20,
            record_interval_secs: 60,
            totp_issuer: "Postern".into(),
        }
    }
}

impl RawAuth {
    /// Checks the values; `Err((key, reason))` for the first one refused.
    pub fn check(&self) -> Result<postern_auth::AuthConfig, (String, String)> {
        let positive = |key: &str, v: u64| {
            if v == 0 {
                Err((key.to_string(), "must be greater than 0".to_string()))
            } else {
                Ok(v)
            }
        };
        positive(
            "auth.max_concurrent_hashes",
            self.max_concurrent_hashes as u64,
        )?;
        positive("auth.lockout_after", u64::from(self.lockout_after))?;
        positive("auth.devices_per_user", self.devices_per_user as u64)?;
        if self.totp_issuer.is_empty() || self.totp_issuer.contains(':') {
            return Err((
                "auth.totp_issuer".into(),
                format!(
                    "{:?} must be a non-empty name without \":\"",
                    self.totp_issuer
                ),
            ));
        }
        let mut sep = self.plus_separator.chars();
        let plus_separator = match (sep.next(), sep.next()) {
            (None, _) => None,
            (Some(c), None) if !c.is_alphanumeric() && c != '@' && !c.is_whitespace() => Some(c),
            _ => {
                return Err((
                    "auth.plus_separator".into(),
                    format!(
                        "{:?} must be one punctuation character such as \"+\", or \"\" to turn it off",
                        self.plus_separator
                    ),
                ));
            }
        };
        Ok(postern_auth::AuthConfig {
            max_concurrent_hashes: self.max_concurrent_hashes,
            failures_before_delay: self.failures_before_delay,
            max_delay: Duration::from_secs(self.max_delay_secs),
            lockout_after: self.lockout_after,
            lockout_for: Duration::from_secs(self.lockout_secs),
            failure_window: Duration::from_secs(self.failure_window_secs),
            plus_separator,
            cache_ttl: Duration::from_secs(self.cache_ttl_secs),
            max_tracked_addresses: self.max_tracked_addresses.max(1),
            cache_entries: self.cache_entries,
            password_on_mail_with_totp: self.password_on_mail_with_totp,
            devices_per_user: self.devices_per_user,
            record_interval: Duration::from_secs(self.record_interval_secs),
            totp_issuer: self.totp_issuer.clone(),
            ..postern_auth::AuthConfig::default()
        })
    }
}
