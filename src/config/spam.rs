//! The `[spam]` section: the verdict at SMTP time on port 25 (thresholds,
//! blocklists, lookup bounds, weight overrides, per-user thresholds, the
//! bounds of users' own settings), and
//! its check into `postern_delivery::SpamSettings`; `[spam.training]` is
//! `spam_training.rs`'s. `arc_trusted_sealers` goes to mail authentication
//! (`MailAuthConfig`), which decides DMARC's action.

use std::collections::BTreeMap;
use std::time::Duration;

use postern_delivery::{SpamSettings, Thresholds};
use postern_spam::BlocklistZone;
use postern_spam::training::TrainingConfig;
use serde::Deserialize;

use super::spam_training::RawTraining;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSpam {
    pub enabled: bool,
    pub junk_threshold: f64,
    pub reject_threshold: f64,
    /// false: never refuse at DATA, at most file in Junk.
    pub reject: bool,
    /// The total time all DNS lookups for one message may take.
    pub lookup_timeout_ms: u64,
    pub fcrdns: bool,
    /// Distinct link domains looked up in each domain blocklist.
    pub max_link_domains: usize,
    pub dnsbl: Vec<RawZone>,
    pub rhsbl: Vec<RawZone>,
    /// Test name → weight, overriding the built-in weight.
    pub weights: BTreeMap<String, f64>,
    /// Primary address → thresholds of a user who differs.
    pub users: BTreeMap<String, RawUserThresholds>,
    /// Allowed and blocked senders one user may keep.
    pub max_sender_rules: usize,
    /// The range of a user's own junk threshold.
    pub user_junk_min: f64,
    pub user_junk_max: f64,
    /// ARC sealers whose passing chain stands in for a DMARC failure, when
    /// their recorded results show the From domain authenticated.
    pub arc_trusted_sealers: Vec<String>,
    pub training: RawTraining,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawZone {
    pub zone: String,
    pub weight: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUserThresholds {
    pub junk_threshold: Option<f64>,
    pub reject_threshold: Option<f64>,
    pub reject: Option<bool>,
}

impl Default for RawSpam {
    fn default() -> Self {
        let d = SpamSettings::default();
        RawSpam {
            enabled: d.enabled,
            junk_threshold: d.config.junk_threshold,
            reject_threshold: d.config.reject_threshold.unwrap_or(15.0),
            reject: d.config.reject_threshold.is_some(),
            lookup_timeout_ms: d.lookups.deadline.as_millis() as u64,
            fcrdns: d.fcrdns,
            max_link_domains: d.lookups.max_domains,
            dnsbl: Vec::new(),
            rhsbl: Vec::new(),
            weights: BTreeMap::new(),
            users: BTreeMap::new(),
            max_sender_rules: d.max_sender_rules,
            user_junk_min: d.user_junk_min,
            user_junk_max: d.user_junk_max,
            arc_trusted_sealers: Vec::new(),
            training: RawTraining::default(),
        }
    }
}

impl RawSpam {
    /// Checks `[spam.training]`.
    pub fn check_training(&self) -> Result<TrainingConfig, (String, String)> {
        self.training.check()
    }

    /// Checks `arc_trusted_sealers`: domain names, lowercased, without the
    /// final dot.
    pub fn check_arc_sealers(&self) -> Result<Vec<String>, (String, String)> {
        let mut out = Vec::new();
        for raw in &self.arc_trusted_sealers {
            let d = raw.trim().trim_end_matches('.').to_ascii_lowercase();
            let name_like = d.contains('.')
                && !d.starts_with('.')
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
            if !name_like {
                return refuse("arc_trusted_sealers", format!("{raw:?} is not a domain"));
            }
            out.push(d);
        }
        Ok(out)
    }

    /// Checks the section; `Err((key, reason))` for the first value refused.
    pub fn check(&self) -> Result<SpamSettings, (String, String)> {
        let mut s = SpamSettings {
            enabled: self.enabled,
            fcrdns: self.fcrdns,
            ..SpamSettings::default()
        };
        let threshold_pair = |key: &str, junk: f64, reject: Option<f64>| {
            if !junk.is_finite() {
                return refuse(key, format!("junk_threshold {junk} is not a number"));
            }
            match reject {
                Some(r) if !(r.is_finite() && r > junk) => refuse(
                    key,
                    format!("reject_threshold {r} must be above junk_threshold {junk}"),
                ),
                _ => Ok(()),
            }
        };
        let reject = self.reject.then_some(self.reject_threshold);
        threshold_pair("reject_threshold", self.junk_threshold, reject)?;
        s.config.junk_threshold = self.junk_threshold;
        s.config.reject_threshold = reject;
        if self.lookup_timeout_ms == 0 || self.lookup_timeout_ms > 60_000 {
            return refuse(
                "lookup_timeout_ms",
                format!("{} is not between 1 and 60000", self.lookup_timeout_ms),
            );
        }
        s.lookups.deadline = Duration::from_millis(self.lookup_timeout_ms);
        if self.max_sender_rules > 100_000 {
            return refuse(
                "max_sender_rules",
                format!("{} is more than 100000", self.max_sender_rules),
            );
        }
        s.max_sender_rules = self.max_sender_rules;
        let (min, max) = (self.user_junk_min, self.user_junk_max);
        if !(min.is_finite() && max.is_finite() && min <= max) {
            return refuse(
                "user_junk_max",
                format!("the range {min} to {max} is not a range of numbers"),
            );
        }
        s.user_junk_min = min;
        s.user_junk_max = max;
        s.lookups.max_domains = self.max_link_domains;
        for (key, raw, out) in [
            ("dnsbl", &self.dnsbl, &mut s.config.dnsbl),
            ("rhsbl", &self.rhsbl, &mut s.config.rhsbl),
        ] {
            for z in raw {
                let zone = z.zone.trim().trim_end_matches('.').to_ascii_lowercase();
                if zone.is_empty() || !zone.contains('.') || zone.contains(' ') {
                    return refuse(key, format!("{:?} is not a DNS zone", z.zone));
                }
                if !z.weight.is_finite() {
                    return refuse(key, format!("zone {zone}: weight is not a number"));
                }
                out.push(BlocklistZone {
                    zone,
                    weight: z.weight,
                });
            }
        }
        for (test, w) in &self.weights {
            if !w.is_finite() {
                return refuse(&format!("weights.{test}"), "is not a number".into());
            }
            if !s.config.set_weight(test, *w) {
                return refuse(
                    &format!("weights.{test}"),
                    "no test has this name (see a message's X-Spam-Result)".into(),
                );
            }
        }
        for (address, u) in &self.users {
            let junk = u.junk_threshold.unwrap_or(s.config.junk_threshold);
            let reject = match u.reject {
                Some(false) => None,
                _ => u.reject_threshold.or(s.config.reject_threshold),
            };
            let key = format!("users.\"{address}\"");
            if !address.contains('@') {
                return refuse(&key, "is not an address".into());
            }
            threshold_pair(&key, junk, reject)?;
            s.users
                .insert(address.to_ascii_lowercase(), Thresholds { junk, reject });
        }
        Ok(s)
    }
}

fn refuse<T>(key: &str, reason: String) -> Result<T, (String, String)> {
    Err((format!("spam.{key}"), reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<SpamSettings, (String, String)> {
        toml::from_str::<RawSpam>(text).expect("parses").check()
    }

    #[test]
    fn zones_weights_and_users_are_read() {
        let s = check(
            "junk_threshold = 4.0\nreject_threshold = 12.0\n\
dnsbl = [{ zone = \"Bl.Example.\", weight = 6.5 }]\n\
[weights]\nMISSING_DATE = 2.0\n\
[users.\"Ann@Example.org\"]\njunk_threshold = 3.0\nreject = false\n",
        )
        .expect("valid");
        assert_eq!(s.config.dnsbl[0].zone, "bl.example");
        assert_eq!(s.config.weights.missing_date, 2.0);
        assert_eq!(
            s.thresholds("ann@example.org"),
            Thresholds {
                junk: 3.0,
                reject: None
            }
        );
        assert_eq!(
            s.thresholds("bob@example.org"),
            Thresholds {
                junk: 4.0,
                reject: Some(12.0)
            }
        );
    }

    #[test]
    fn arc_trusted_sealers_are_domains_read_in_lowercase() {
        let raw: RawSpam =
            toml::from_str("arc_trusted_sealers = [\"Lists.Example.org.\"]\n").expect("parses");
        assert_eq!(
            raw.check_arc_sealers().expect("valid"),
            ["lists.example.org"]
        );
        let bad: RawSpam =
            toml::from_str("arc_trusted_sealers = [\"not a domain\"]\n").expect("parses");
        assert_eq!(
            bad.check_arc_sealers().expect_err("refused").0,
            "spam.arc_trusted_sealers"
        );
        assert!(
            RawSpam::default()
                .check_arc_sealers()
                .expect("valid")
                .is_empty()
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        assert_eq!(
            check("junk_threshold = 5.0\nreject_threshold = 4.0\n")
                .expect_err("refused")
                .0,
            "spam.reject_threshold"
        );
        assert_eq!(
            check("[weights]\nNOPE = 1.0\n").expect_err("refused").0,
            "spam.weights.NOPE"
        );
        assert_eq!(
            check("dnsbl = [{ zone = \"nodot\", weight = 1.0 }]\n")
                .expect_err("refused")
                .0,
            "spam.dnsbl"
        );
        assert_eq!(
            check("lookup_timeout_ms = 0\n").expect_err("refused").0,
            "spam.lookup_timeout_ms"
        );
    }
}
