//! The classifier's storage and training: models kept in the store, trained
//! from what users do with their mail, read back (cached) at scoring time.
//!
//! - The store writes a journal row in the same commit as the change that
//!   trains (a message copied or moved into or out of `\Junk`, `$Junk` or
//!   `$NotJunk` set or taken away: see postern-store's `training.rs` for
//!   the rules), so no protocol crate knows the classifier, an IMAP MOVE
//!   answers at once, and POP3 users get the same through the same store.
//! - [`trainer`] drains the journal in the background (woken by the store
//!   after such a commit, and on a timer for other processes' writes);
//!   [`learn`] is the one place a lesson becomes model counts, shared with
//!   `postern spam train`. Per (user, message) the store keeps what it is
//!   trained as, so a move into Junk and back out untrains spam and trains
//!   ham, and a repeated move counts once. The user's model and the global
//!   one both learn.
//! - Models are [`Model::to_bytes`] blobs with a store-wide version; every
//!   write is a compare-and-swap on the versions it read, retried on
//!   conflict, so the server's trainer and the admin CLI can both write.
//!   A model ages (counts halved) past `max_messages` or `max_model_bytes`.
//! - [`Classifiers`] is the scoring side's read API: models cached per user
//!   by version (one small indexed read per scoring when nothing changed),
//!   and the sender reputation as a named [`crate::Contribution`].
//! - Sender reputation per user, an idea taken from mox: addresses the user
//!   sent mail to ([`record_sent`]) and senders of mail trained ham count as
//!   known-good, senders of mail trained spam as known-bad.

use std::time::Duration;

use postern_store::{Store, StoreError, UserId};

use crate::classifier::{ClassifierOptions, Model};

mod classifiers;
pub mod learn;
mod prefs_cache;
pub mod trainer;

pub use classifiers::{Classifiers, SENDER_REPUTATION};
pub use learn::{Learned, Lesson, Want, learn};

/// The `[spam.training]` settings (the binary's config fills it in).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingConfig {
    /// Buckets of every new model's table. Users' and the global model
    /// share it: summing a thin user model with the global one needs the
    /// same hashing. Memory is 8 bytes a bucket while a model is in use.
    pub table_size: u32,
    /// The most bytes a stored model may take; past it the model ages
    /// (every count halved, singletons gone) until it fits.
    pub max_model_bytes: usize,
    /// Trained messages past which a model ages.
    pub max_messages: u32,
    /// Below this many spam and ham of their own, a user's model is summed
    /// with the global one.
    pub min_user_messages: u32,
    /// Users whose models the scoring side keeps in memory, each in its
    /// compact form (16 bytes or so per used bucket: about 1 MiB after a
    /// few thousand trained messages).
    pub cache_users: usize,
    /// Journal rows the trainer handles per commit.
    pub batch: usize,
    /// How often the trainer looks at the journal unwoken (the admin CLI's
    /// writes, in another process, do not wake it).
    pub interval: Duration,
    /// Senders kept in each user's reputation table (least recent go).
    pub max_senders: usize,
    /// Score for a sender the user wrote to or whose mail was trained ham
    /// more than spam (negative: towards Inbox).
    pub known_good_weight: f64,
    /// Score for a sender whose mail was trained spam more than the user
    /// wrote to them or rescued their mail.
    pub known_bad_weight: f64,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        let c = ClassifierOptions::default();
        Self {
            table_size: c.table_size,
            max_model_bytes: 4 << 20,
            max_messages: c.max_messages,
            min_user_messages: c.min_user_messages,
            cache_users: 8,
            batch: 64,
            interval: Duration::from_secs(60),
            max_senders: 5000,
            known_good_weight: -3.0,
            known_bad_weight: 2.0,
        }
    }
}

impl TrainingConfig {
    /// The classifier's options with this section's sizes.
    pub fn classifier_options(&self) -> ClassifierOptions {
        ClassifierOptions {
            table_size: self.table_size,
            max_messages: self.max_messages,
            min_user_messages: self.min_user_messages,
            ..ClassifierOptions::default()
        }
    }

    /// An empty model of this configuration's size.
    pub fn new_model(&self) -> Model {
        Model::new(self.table_size)
    }
}

/// Why training or reading models failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("training task failed: {0}")]
    Task(String),
    #[error("models kept changing while training; gave up after {0} tries")]
    Contended(u32),
}

/// Counts a message `user` sent to each of `recipients`, for the sender
/// reputation (call it from the submission path once the message is
/// accepted; addresses are lowercased by the store).
pub async fn record_sent(
    store: &Store,
    user: UserId,
    recipients: &[String],
    config: &TrainingConfig,
) -> Result<(), TrainError> {
    let list: Vec<String> = recipients
        .iter()
        .filter(|r| r.contains('@'))
        .cloned()
        .collect();
    if list.is_empty() {
        return Ok(());
    }
    Ok(store.record_sent(user, list, config.max_senders).await?)
}
