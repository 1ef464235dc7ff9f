//! `AuthConfig`: the knobs of authentication (hashing bound, throttling,
//! success cache), of recipient resolution (plus-addressing, alias depth)
//! and of account security (TOTP and mail passwords, the devices record).

use std::time::Duration;

/// Settings for a [`Directory`](crate::Directory). `Default` gives the values
/// documented on each field; the binary's config section maps onto this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthConfig {
    /// How many argon2 verifications may run at once; more wait their turn.
    /// Bounds CPU and memory (19 MiB each at default cost). `0` is taken as
    /// `1`. Default `4`.
    pub max_concurrent_hashes: usize,
    /// Failures from one address answered without delay; each further
    /// failure is answered after a growing delay. Default `3`.
    pub failures_before_delay: u32,
    /// Delay added per failure beyond `failures_before_delay` (the 4th
    /// failure waits 1 step, the 5th 2 steps, ...). Default 1 s.
    pub delay_step: Duration,
    /// Upper bound of that delay. Default 8 s.
    pub max_delay: Duration,
    /// Failures from one address after which it is locked out; `0` never
    /// locks out. Default `10`.
    pub lockout_after: u32,
    /// How long a lockout lasts; attempts meanwhile get `Throttled` without
    /// any password check. When it ends the address starts from zero.
    /// Default 15 min.
    pub lockout_for: Duration,
    /// A failure count is forgotten when the last failure is older than
    /// this. Default 15 min.
    pub failure_window: Duration,
    /// Separator of plus-addressing (`user+tag@domain` delivers to
    /// `user@domain`); `None` turns it off. Default `Some('+')`.
    pub plus_separator: Option<char>,
    /// How long a successful verification is remembered so that the same
    /// user, password and stored hash skip argon2; `Duration::ZERO` disables
    /// the cache. Default 5 min.
    pub cache_ttl: Duration,
    /// How many alias hops a recipient may go through before the rest of
    /// that branch is dropped (and logged). Default `8`.
    pub max_alias_depth: usize,
    /// Addresses whose failures are tracked at most; past that, forgotten
    /// entries and then the oldest are evicted, so an attacker rotating
    /// addresses cannot grow memory without bound. Default 100,000 (about
    /// 10 MB at most).
    pub max_tracked_addresses: usize,
    /// Successful verifications remembered at most (see `cache_ttl`).
    /// Default 10,000.
    pub cache_entries: usize,
    /// Whether the account password still opens IMAP, POP3, submission and
    /// ManageSieve once the user has TOTP on. Default `false`: with two
    /// factors on, mail clients use app passwords and the account password
    /// is for the web login only.
    pub password_on_mail_with_totp: bool,
    /// Recent-login rows (protocol, address, client) kept per user; older
    /// ones are dropped. Default 20.
    pub devices_per_user: usize,
    /// An app password's last use and a login row are written at most once
    /// per this interval per key. Default 60 s.
    pub record_interval: Duration,
    /// The issuer an authenticator app shows beside the account. Default
    /// `Postern`.
    pub totp_issuer: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            max_concurrent_hashes: 4,
            failures_before_delay: 3,
            delay_step: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            lockout_after: 10,
            lockout_for: Duration::from_secs(15 * 60),
            failure_window: Duration::from_secs(15 * 60),
            plus_separator: Some('+'),
            cache_ttl: Duration::from_secs(5 * 60),
            max_alias_depth: 8,
            max_tracked_addresses: 100_000,
            cache_entries: 10_000,
            password_on_mail_with_totp: false,
            devices_per_user: 20,
            record_interval: Duration::from_secs(60),
            totp_issuer: "Postern".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let c = AuthConfig::default();
        assert_eq!(c.max_concurrent_hashes, 4);
        assert_eq!(c.failures_before_delay, 3);
        assert_eq!(c.delay_step, Duration::from_secs(1));
        assert_eq!(c.max_delay, Duration::from_secs(8));
        assert_eq!(c.lockout_after, 10);
        assert_eq!(c.lockout_for, Duration::from_secs(900));
        assert_eq!(c.failure_window, Duration::from_secs(900));
        assert_eq!(c.plus_separator, Some('+'));
        assert_eq!(c.cache_ttl, Duration::from_secs(300));
        assert_eq!(c.max_alias_depth, 8);
        assert_eq!(c.max_tracked_addresses, 100_000);
        assert_eq!(c.cache_entries, 10_000);
        assert!(!c.password_on_mail_with_totp);
        assert_eq!(c.devices_per_user, 20);
        assert_eq!(c.record_interval, Duration::from_secs(60));
        assert_eq!(c.totp_issuer, "Postern");
    }
}
