//! The background trainer `serve` starts: drains the store's training
//! journal batch by batch, woken by the store after a commit that wrote
//! journal rows, on a timer (for the admin CLI's writes in another
//! process), and once at start (rows left by the last run).
//!
//! A batch's messages are read through the journal's own blob references
//! and parsed once each; the lessons and the removal of the rows are one
//! commit ([`super::learn`]), so a crash in between repeats the batch and
//! the per-message trained state makes the repeat change nothing.

use std::sync::Arc;

use postern_store::{JournalEntry, Store};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Learned, Lesson, TrainError, TrainingConfig, Want, learn};
use crate::classifier::Class;
use crate::config::ReadLimits;

/// Starts the trainer on `tracker`; it stops when `shutdown` is cancelled
/// (between batches: a batch cut short is simply done again next time).
pub fn spawn(
    store: Store,
    config: TrainingConfig,
    limits: ReadLimits,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    tracker.spawn(run(store, config, limits, shutdown));
}

async fn run(
    store: Store,
    config: TrainingConfig,
    limits: ReadLimits,
    shutdown: CancellationToken,
) {
    let config = Arc::new(config);
    loop {
        // Drain whole batches back to back, then wait.
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            match drain_once(&store, &config, &limits).await {
                Ok((rows, _)) if rows >= config.batch.max(1) => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "spam training deferred");
                    break;
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = store.training_notified() => {}
            () = tokio::time::sleep(config.interval) => {}
        }
    }
}

/// Handles the oldest `batch` journal rows in one commit: how many rows,
/// and what changed.
pub async fn drain_once(
    store: &Store,
    config: &TrainingConfig,
    limits: &ReadLimits,
) -> Result<(usize, Learned), TrainError> {
    let entries = store.training_journal(config.batch.max(1)).await?;
    if entries.is_empty() {
        return Ok((0, Learned::default()));
    }
    let opts = config.classifier_options();
    let mut lessons = Vec::with_capacity(entries.len());
    for e in &entries {
        match store.read_blob(&e.blob).await {
            Ok(raw) => {
                let (e2, limits) = (e.clone(), *limits);
                let lesson =
                    tokio::task::spawn_blocking(move || lesson_of(&e2, &raw, &opts, &limits))
                        .await
                        .map_err(|err| TrainError::Task(err.to_string()))?;
                lessons.push(lesson);
            }
            // The row holds a reference, so this is damage, not a race;
            // the row goes, or it would block every later one.
            Err(err) => {
                tracing::warn!(blob = %e.blob.as_str(), error = %err, "message to train from is unreadable, skipped")
            }
        }
    }
    let done: Vec<i64> = entries.iter().map(|e| e.id).collect();
    let learned = learn(store, config, &lessons, &done).await?;
    tracing::debug!(rows = entries.len(), ?learned, "spam training batch");
    Ok((entries.len(), learned))
}

fn lesson_of(
    e: &JournalEntry,
    raw: &[u8],
    opts: &crate::ClassifierOptions,
    limits: &ReadLimits,
) -> Lesson {
    let class = match e.class {
        postern_store::TrainClass::Spam => Class::Spam,
        postern_store::TrainClass::Ham => Class::Ham,
    };
    let want = if e.undo {
        Want::Forget(class)
    } else {
        Want::Train(class)
    };
    Lesson::new(e.user, e.blob.clone(), raw, want, opts, limits)
}
