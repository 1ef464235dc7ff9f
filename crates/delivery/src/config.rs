//! What the operator sets for the inbound pipeline (the `[spam]` section's
//! verdict keys and `[sieve]`; the binary's config module reads the TOML
//! into these).

use std::collections::HashMap;

use postern_spam::{LookupLimits, SpamConfig, UserPrefs};

#[derive(Debug, Clone, Default)]
pub struct DeliveryConfig {
    pub spam: SpamSettings,
    pub sieve: SieveLimits,
}

/// The spam verdict at SMTP time (port 25 only; submission is never scored).
#[derive(Debug, Clone)]
pub struct SpamSettings {
    pub enabled: bool,
    /// Rules, weights, thresholds and blocklists.
    pub config: SpamConfig,
    pub lookups: LookupLimits,
    /// Forward-confirmed reverse DNS of the client (`FCRDNS_MISSING`).
    pub fcrdns: bool,
    /// Thresholds of users who differ from the default, by primary address
    /// (lowercase).
    pub users: HashMap<String, Thresholds>,
    /// Allowed and blocked senders one user may keep.
    pub max_sender_rules: usize,
    /// The range a user may set their own junk threshold in.
    pub user_junk_min: f64,
    pub user_junk_max: f64,
}

impl Default for SpamSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            config: SpamConfig::default(),
            lookups: LookupLimits::default(),
            fcrdns: true,
            users: HashMap::new(),
            max_sender_rules: 1000,
            user_junk_min: 1.0,
            user_junk_max: 15.0,
        }
    }
}

/// One recipient's thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub junk: f64,
    /// `None`: this user's mail is never refused, at most filed in Junk.
    pub reject: Option<f64>,
}

impl SpamSettings {
    /// The thresholds for the user with primary address `address`.
    pub fn thresholds(&self, address: &str) -> Thresholds {
        self.users
            .get(&address.to_ascii_lowercase())
            .copied()
            .unwrap_or(Thresholds {
                junk: self.config.junk_threshold,
                reject: self.config.reject_threshold,
            })
    }

    /// One recipient's thresholds: the server's, then the admin's
    /// `[spam.users]` entry, then the user's own setting, which wins within
    /// the admin's bounds: a junk threshold is held to `user_junk_min` ..=
    /// `user_junk_max` (checked when set, held again here should the config
    /// have changed since), and a user may turn refusal off but never on
    /// where the admin turned it off, nor move the reject threshold.
    pub fn thresholds_for(&self, address: &str, own: &UserPrefs) -> Thresholds {
        let mut t = self.thresholds(address);
        if let Some(j) = own.junk_threshold.filter(|j| j.is_finite()) {
            t.junk = j.clamp(self.user_junk_min, self.user_junk_max);
        }
        if own.reject == Some(false) {
            t.reject = None;
        }
        t
    }

    /// Whether the user with primary address `address` may set their junk
    /// threshold to `junk`; `Err` says why not.
    pub fn check_user_junk(&self, address: &str, junk: f64) -> Result<(), String> {
        let (min, max) = (self.user_junk_min, self.user_junk_max);
        if !junk.is_finite() || junk < min || junk > max {
            return Err(format!(
                "the junk threshold must be a number from {min} to {max} ([spam] user_junk_min and user_junk_max)"
            ));
        }
        match self.thresholds(address).reject {
            Some(r) if junk >= r => Err(format!(
                "the junk threshold must be below the reject threshold {r}"
            )),
            _ => Ok(()),
        }
    }
}

/// The `[sieve]` section: what users' and the admin's scripts may cost.
#[derive(Debug, Clone, PartialEq)]
pub struct SieveLimits {
    /// The largest script accepted (PUTSCRIPT, `postern user vacation`).
    pub max_script_bytes: usize,
    /// Scripts one user may keep.
    pub max_scripts: usize,
    /// `redirect`s one run may do (ManageSieve's MAXREDIRECTS).
    pub max_redirects: usize,
    /// Instructions one run may execute before it is stopped (its CPU
    /// budget); the message is then kept in INBOX.
    pub max_instructions: usize,
    /// How deep `include` may nest (RFC 6609 §3.2 leaves it to us).
    pub max_include_depth: usize,
    /// Messages one run may send of its own (vacation replies).
    pub max_sent: usize,
    /// Vacation's period when the script gives none (RFC 5230 §4.1: 7 days).
    pub vacation_default_secs: u64,
    /// The shortest period a script may ask for (RFC 6131 §2: the site's
    /// minimum; `:seconds 0` would answer every message).
    pub vacation_min_secs: u64,
    /// `duplicate`'s memory when the script gives no `:seconds` (RFC 7352
    /// §3.1 leaves the default to us).
    pub duplicate_default_secs: u64,
    /// How long a bounce to an SRS address we made is accepted.
    pub srs_max_age_days: u64,
    /// The admin's scripts, run before and after each user's (their
    /// `include :global` names resolve in the same directory).
    pub before: Option<std::path::PathBuf>,
    pub after: Option<std::path::PathBuf>,
}

impl Default for SieveLimits {
    fn default() -> Self {
        Self {
            max_script_bytes: 256 * 1024,
            max_scripts: 16,
            max_redirects: 4,
            max_instructions: 20_000,
            max_include_depth: 3,
            max_sent: 3,
            vacation_default_secs: 7 * 86_400,
            vacation_min_secs: 3_600,
            duplicate_default_secs: 7 * 86_400,
            srs_max_age_days: 21,
            before: None,
            after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_store::SpamPrefs;

    fn own(junk: Option<f64>, reject: Option<bool>) -> UserPrefs {
        UserPrefs::from_stored(&SpamPrefs {
            junk_threshold: junk,
            reject,
            senders: Vec::new(),
        })
    }

    #[test]
    fn a_users_own_thresholds_win_within_the_admins_bounds() {
        let mut s = SpamSettings::default();
        s.users.insert(
            "cap@example.org".into(),
            Thresholds {
                junk: 4.0,
                reject: None,
            },
        );
        let server = Thresholds {
            junk: 5.0,
            reject: Some(15.0),
        };
        assert_eq!(
            s.thresholds_for("ann@example.org", &own(None, None)),
            server
        );
        assert_eq!(
            s.thresholds_for("ann@example.org", &own(Some(3.0), Some(false))),
            Thresholds {
                junk: 3.0,
                reject: None
            }
        );
        // Held to the configured range even if the config changed since.
        assert_eq!(
            s.thresholds_for("ann@example.org", &own(Some(0.1), None))
                .junk,
            s.user_junk_min
        );
        // The admin turned refusal off for cap@: the user cannot turn it on.
        assert_eq!(
            s.thresholds_for("cap@example.org", &own(None, Some(true))),
            Thresholds {
                junk: 4.0,
                reject: None
            }
        );
        assert!(s.check_user_junk("ann@example.org", 3.0).is_ok());
        for bad in [0.5, 15.0, 99.0, f64::NAN] {
            assert!(s.check_user_junk("ann@example.org", bad).is_err(), "{bad}");
        }
        assert!(s.check_user_junk("cap@example.org", 15.0).is_ok());
    }
}
