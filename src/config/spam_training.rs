//! The `[spam.training]` table: what the file says about the classifier's
//! stored models, the trainer and the sender reputation, and its check into
//! `postern_spam::training::TrainingConfig`.

use std::time::Duration;

use postern_spam::training::TrainingConfig;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTraining {
    /// Buckets in each model's table (8 bytes each in memory).
    pub table_size: u32,
    /// Largest stored model in KiB; a bigger one ages until it fits.
    pub max_model_kib: u64,
    /// Trained messages past which a model ages (counts halved).
    pub max_messages: u32,
    /// Spam and ham a user needs before their model is used alone.
    pub min_user_messages: u32,
    /// Users' models kept in memory for scoring.
    pub cache_users: usize,
    /// Journal rows per trainer commit.
    pub batch: usize,
    /// Seconds between the trainer's unprompted looks at the journal.
    pub interval_secs: u64,
    /// Senders kept per user for the reputation.
    pub max_senders: usize,
    /// Score for a known-good sender (at most 0).
    pub known_good_weight: f64,
    /// Score for a known-bad sender (at least 0).
    pub known_bad_weight: f64,
}

impl Default for RawTraining {
    fn default() -> Self {
        let d = TrainingConfig::default();
        RawTraining {
            table_size: d.table_size,
            max_model_kib: (d.max_model_bytes / 1024) as u64,
            max_messages: d.max_messages,
            min_user_messages: d.min_user_messages,
            cache_users: d.cache_users,
            batch: d.batch,
            interval_secs: d.interval.as_secs(),
            max_senders: d.max_senders,
            known_good_weight: d.known_good_weight,
            known_bad_weight: d.known_bad_weight,
        }
    }
}

impl RawTraining {
    /// Checks the table; `Err((key, reason))` for the first value refused.
    pub fn check(&self) -> Result<TrainingConfig, (String, String)> {
        let t = self;
        let refuse = |key: &str, reason: String| Err((format!("spam.training.{key}"), reason));
        let max_table = postern_spam::ClassifierOptions::default().max_table_size;
        if !(1024..=max_table).contains(&t.table_size) {
            return refuse(
                "table_size",
                format!("{} is outside 1024..={max_table}", t.table_size),
            );
        }
        for (key, v) in [
            ("max_model_kib", t.max_model_kib),
            ("max_messages", u64::from(t.max_messages)),
            ("batch", t.batch as u64),
            ("interval_secs", t.interval_secs),
            ("max_senders", t.max_senders as u64),
        ] {
            if v == 0 {
                return refuse(key, "must be greater than 0".into());
            }
        }
        if !(t.known_good_weight.is_finite() && t.known_good_weight <= 0.0) {
            return refuse(
                "known_good_weight",
                format!("{} is not a number at most 0", t.known_good_weight),
            );
        }
        if !(t.known_bad_weight.is_finite() && t.known_bad_weight >= 0.0) {
            return refuse(
                "known_bad_weight",
                format!("{} is not a number at least 0", t.known_bad_weight),
            );
        }
        Ok(TrainingConfig {
            table_size: t.table_size,
            max_model_bytes: usize::try_from(t.max_model_kib.saturating_mul(1024))
                .unwrap_or(usize::MAX),
            max_messages: t.max_messages,
            min_user_messages: t.min_user_messages,
            cache_users: t.cache_users,
            batch: t.batch,
            interval: Duration::from_secs(t.interval_secs),
            max_senders: t.max_senders,
            known_good_weight: t.known_good_weight,
            known_bad_weight: t.known_bad_weight,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<TrainingConfig, (String, String)> {
        toml::from_str::<RawTraining>(text).expect("parses").check()
    }

    #[test]
    fn an_empty_section_is_the_trainer_default() {
        assert_eq!(check(""), Ok(TrainingConfig::default()));
    }

    #[test]
    fn bad_training_values_are_refused_naming_the_key() {
        for (text, key) in [
            ("table_size = 10", "spam.training.table_size"),
            ("batch = 0", "spam.training.batch"),
            ("interval_secs = 0", "spam.training.interval_secs"),
            ("known_good_weight = 1.0", "spam.training.known_good_weight"),
            ("known_bad_weight = -1.0", "spam.training.known_bad_weight"),
        ] {
            assert_eq!(
                check(text).map_err(|(k, _)| k),
                Err(key.to_string()),
                "{text}"
            );
        }
        let c = check("max_model_kib = 64\ncache_users = 2").expect("accepted");
        assert_eq!((c.max_model_bytes, c.cache_users), (64 * 1024, 2));
    }
}
