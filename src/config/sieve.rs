//! The `[sieve]` section: what users' and the admin's Sieve scripts may
//! cost, and where the admin's global scripts are; checked into
//! `postern_delivery::SieveLimits`.

use std::path::{Path, PathBuf};

use postern_delivery::SieveLimits;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSieve {
    pub max_script_bytes: usize,
    pub max_scripts: usize,
    pub max_redirects: usize,
    pub max_instructions: usize,
    pub max_include_depth: usize,
    pub max_sent: usize,
    pub vacation_default_days: u64,
    pub vacation_min_secs: u64,
    pub duplicate_default_secs: u64,
    pub srs_max_age_days: u64,
    /// The admin's script run before each user's (none by default).
    pub before: Option<PathBuf>,
    /// The admin's script run after each user's, unless it stopped.
    pub after: Option<PathBuf>,
}

impl Default for RawSieve {
    fn default() -> Self {
        let d = SieveLimits::default();
        RawSieve {
            max_script_bytes: d.max_script_bytes,
            max_scripts: d.max_scripts,
            max_redirects: d.max_redirects,
            max_instructions: d.max_instructions,
            max_include_depth: d.max_include_depth,
            max_sent: d.max_sent,
            vacation_default_days: d.vacation_default_secs / 86_400,
            vacation_min_secs: d.vacation_min_secs,
            duplicate_default_secs: d.duplicate_default_secs,
            srs_max_age_days: d.srs_max_age_days,
            before: None,
            after: None,
        }
    }
}

impl RawSieve {
    /// Checks the limits and resolves the paths against `resolve`;
    /// `Err((key, reason))` for the first value refused.
    pub fn check(
        &self,
        resolve: impl Fn(&Path) -> PathBuf,
    ) -> Result<SieveLimits, (String, String)> {
        let refuse = |key: &str, reason: String| Err((format!("sieve.{key}"), reason));
        for (key, v, max) in [
            ("max_script_bytes", self.max_script_bytes, 16 << 20),
            ("max_scripts", self.max_scripts, 10_000),
            ("max_instructions", self.max_instructions, 100_000_000),
            ("max_include_depth", self.max_include_depth, 64),
        ] {
            if v == 0 || v > max {
                return refuse(key, format!("{v} is not between 1 and {max}"));
            }
        }
        if self.max_redirects > 64 {
            return refuse(
                "max_redirects",
                format!("{} is above 64", self.max_redirects),
            );
        }
        if self.srs_max_age_days == 0 || self.srs_max_age_days > 1000 {
            return refuse(
                "srs_max_age_days",
                format!("{} is not between 1 and 1000", self.srs_max_age_days),
            );
        }
        if self.vacation_default_days == 0 {
            return refuse("vacation_default_days", "must be at least 1".into());
        }
        Ok(SieveLimits {
            max_script_bytes: self.max_script_bytes,
            max_scripts: self.max_scripts,
            max_redirects: self.max_redirects,
            max_instructions: self.max_instructions,
            max_include_depth: self.max_include_depth,
            max_sent: self.max_sent,
            vacation_default_secs: self.vacation_default_days.saturating_mul(86_400),
            vacation_min_secs: self.vacation_min_secs,
            duplicate_default_secs: self.duplicate_default_secs,
            srs_max_age_days: self.srs_max_age_days,
            before: self.before.as_deref().map(&resolve),
            after: self.after.as_deref().map(&resolve),
        })
    }
}
