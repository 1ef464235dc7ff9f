//! What the operator sets for the inbound pipeline (the `[spam]` section's
//! verdict keys; the binary's config module reads the TOML into these).

use std::collections::HashMap;

use postern_spam::{LookupLimits, SpamConfig};

#[derive(Debug, Clone, Default)]
pub struct DeliveryConfig {
    pub spam: SpamSettings,
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
}

impl Default for SpamSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            config: SpamConfig::default(),
            lookups: LookupLimits::default(),
            fcrdns: true,
            users: HashMap::new(),
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
}
