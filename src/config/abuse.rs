//! The `[abuse]` section (automatic blocking, checked into
//! `postern_auth::AbuseConfig`) and the `[greylist]` section (checked into
//! `postern_smtp::session::GreylistConfig`).

use std::time::Duration;

use postern_auth::{AbuseConfig, IpNet, normalize_address};
use postern_smtp::session::GreylistConfig;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAbuse {
    /// Block abusive clients automatically; manual blocks hold either way.
    pub enabled: bool,
    /// Events older than this no longer count.
    pub window_secs: u64,
    /// Failed logins within the window that block a client; 0: never.
    pub auth_failures: u32,
    /// RCPTs to a spam trap within the window that block; 0: never.
    pub spam_trap_hits: u32,
    /// Junk-command limits, mail loops and sessions closed for too many
    /// errors within the window that block; 0: never.
    pub protocol_abuses: u32,
    /// How long an automatic block lasts.
    pub block_secs: u64,
    /// A client that logged in successfully within this many days is never
    /// blocked automatically; 0: no such trust.
    pub trusted_days: u32,
    /// Addresses and networks never blocked nor greylisted.
    pub allowlist: Vec<String>,
    /// Addresses no real mail goes to: a RCPT to one is abuse.
    pub spam_traps: Vec<String>,
    /// How often the server reloads blocks (those `postern block` changed).
    pub refresh_secs: u64,
    /// Clients whose events are tracked at most.
    pub max_tracked: usize,
}

impl Default for RawAbuse {
    fn default() -> Self {
        let d = AbuseConfig::default();
        RawAbuse {
            enabled: d.enabled,
            window_secs: d.window.as_secs(),
            auth_failures: d.auth_failures,
            spam_trap_hits: d.spam_trap_hits,
            protocol_abuses: d.protocol_abuses,
            block_secs: d.block_for.as_secs(),
            trusted_days: u32::try_from(d.trusted_for.as_secs() / 86_400).unwrap_or(u32::MAX),
            allowlist: d.allowlist.iter().map(|n| n.to_string()).collect(),
            spam_traps: Vec::new(),
            refresh_secs: 5,
            max_tracked: d.max_tracked,
        }
    }
}

/// What the server runs with from `[abuse]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbuseSettings {
    pub cfg: AbuseConfig,
    /// How often blocks are reloaded from the store.
    pub refresh: Duration,
}

type Refusal = (String, String);

fn refuse<T>(key: &str, reason: String) -> Result<T, Refusal> {
    Err((key.to_string(), reason))
}

impl RawAbuse {
    /// Checks the values; `Err((key, reason))` for the first one refused.
    pub fn check(&self) -> Result<AbuseSettings, Refusal> {
        for (key, v) in [
            ("abuse.window_secs", self.window_secs),
            ("abuse.block_secs", self.block_secs),
            ("abuse.refresh_secs", self.refresh_secs),
            ("abuse.max_tracked", self.max_tracked as u64),
        ] {
            if v == 0 {
                return refuse(key, "must be greater than 0".into());
            }
        }
        let mut allowlist = Vec::new();
        for (i, a) in self.allowlist.iter().enumerate() {
            match a.parse::<IpNet>() {
                Ok(n) => allowlist.push(n),
                Err(e) => return refuse(&format!("abuse.allowlist[{i}]"), e.to_string()),
            }
        }
        let mut spam_traps = Vec::new();
        for (i, t) in self.spam_traps.iter().enumerate() {
            match normalize_address(t) {
                Ok(a) => spam_traps.push(a),
                Err(_) => {
                    return refuse(
                        &format!("abuse.spam_traps[{i}]"),
                        format!("{t:?} is not an address"),
                    );
                }
            }
        }
        Ok(AbuseSettings {
            cfg: AbuseConfig {
                enabled: self.enabled,
                window: Duration::from_secs(self.window_secs),
                auth_failures: self.auth_failures,
                spam_trap_hits: self.spam_trap_hits,
                protocol_abuses: self.protocol_abuses,
                block_for: Duration::from_secs(self.block_secs),
                trusted_for: Duration::from_secs(u64::from(self.trusted_days) * 86_400),
                allowlist,
                spam_traps,
                max_tracked: self.max_tracked,
            },
            refresh: Duration::from_secs(self.refresh_secs),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawGreylist {
    /// Greylist port 25 (off by default).
    pub enabled: bool,
    /// How long a new (client network, sender, recipient) is deferred.
    pub delay_secs: u64,
    /// A triplet not retried within this starts again.
    pub retry_window_secs: u64,
    /// Days a client network that retried successfully is let through.
    pub allow_days: u32,
}

impl Default for RawGreylist {
    fn default() -> Self {
        let d = GreylistConfig::default();
        RawGreylist {
            enabled: d.enabled,
            delay_secs: d.delay.as_secs(),
            retry_window_secs: d.retry_window.as_secs(),
            allow_days: u32::try_from(d.allow_for.as_secs() / 86_400).unwrap_or(u32::MAX),
        }
    }
}

impl RawGreylist {
    /// Checks the values; `Err((key, reason))` for the first one refused.
    pub fn check(&self) -> Result<GreylistConfig, Refusal> {
        if self.delay_secs == 0 {
            return refuse("greylist.delay_secs", "must be greater than 0".into());
        }
        if self.retry_window_secs <= self.delay_secs {
            return refuse(
                "greylist.retry_window_secs",
                format!(
                    "{} must be longer than greylist.delay_secs ({})",
                    self.retry_window_secs, self.delay_secs
                ),
            );
        }
        if self.allow_days == 0 {
            return refuse("greylist.allow_days", "must be greater than 0".into());
        }
        Ok(GreylistConfig {
            enabled: self.enabled,
            delay: Duration::from_secs(self.delay_secs),
            retry_window: Duration::from_secs(self.retry_window_secs),
            allow_for: Duration::from_secs(u64::from(self.allow_days) * 86_400),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_check_and_allowlist_loopback() {
        let a = RawAbuse::default().check().expect("defaults");
        assert_eq!(a.cfg, AbuseConfig::default());
        assert_eq!(a.refresh, Duration::from_secs(5));
        let g = RawGreylist::default().check().expect("defaults");
        assert_eq!(g, GreylistConfig::default());
    }

    #[test]
    fn bad_values_name_their_key() {
        let bad_net = RawAbuse {
            allowlist: vec!["10.0.0.0/8".into(), "10.0.0.0/99".into()],
            ..RawAbuse::default()
        };
        assert_eq!(
            bad_net.check().expect_err("refused").0,
            "abuse.allowlist[1]"
        );
        let bad_trap = RawAbuse {
            spam_traps: vec!["not an address".into()],
            ..RawAbuse::default()
        };
        assert_eq!(
            bad_trap.check().expect_err("refused").0,
            "abuse.spam_traps[0]"
        );
        let window = RawGreylist {
            delay_secs: 600,
            retry_window_secs: 300,
            ..RawGreylist::default()
        };
        assert_eq!(
            window.check().expect_err("refused").0,
            "greylist.retry_window_secs"
        );
    }
}
