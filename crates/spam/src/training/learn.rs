//! One training step: lessons (a message, its user, the class wanted)
//! become model counts, trained-state rows and reputation changes, written
//! in one compare-and-swap commit, retried from a fresh read on conflict.
//!
//! Per (user, message) the store says what it is trained as; a lesson moves
//! it to the wanted state by untraining the old class and training the new
//! one, so an undo restores the counts exactly and a repeat changes nothing.

use std::collections::HashMap;

use postern_store::{
    BlobId, ModelOwner, ModelRead, ModelWrite, SenderDelta, Store, TrainClass, TrainingCommit,
    UserId,
};

use super::{TrainError, TrainingConfig};
use crate::classifier::{Class, ClassifierOptions, Model};
use crate::config::ReadLimits;
use crate::message::MessageView;
use crate::tokenize::features;

/// How often a step is tried again when another writer changed a model it
/// read (the admin CLI training while the server's trainer runs).
const TRIES: u32 = 8;

/// Where a lesson wants a message's training to end up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Trained as this class (whatever it was before).
    Train(Class),
    /// Not trained as this class any more (nothing if it was not).
    Forget(Class),
}

/// One message to learn from.
#[derive(Debug, Clone)]
pub struct Lesson {
    pub user: UserId,
    /// The message's content address: what the trained state is kept by.
    pub blob: BlobId,
    pub want: Want,
    /// The classifier's features of the message.
    pub features: Vec<u64>,
    /// The From address, lowercased, for the sender reputation.
    pub from: Option<String>,
}

impl Lesson {
    /// Reads `raw` once for its features and From address; `blob` names
    /// it (`BlobId::of(raw)` for a message not in the store).
    pub fn new(
        user: UserId,
        blob: BlobId,
        raw: &[u8],
        want: Want,
        opts: &ClassifierOptions,
        limits: &ReadLimits,
    ) -> Lesson {
        let view = MessageView::parse(raw, limits);
        Lesson {
            user,
            blob,
            want,
            features: features(&view, opts),
            from: view.from_address.map(|a| a.to_lowercase()),
        }
    }
}

/// What a step changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Learned {
    /// Messages newly trained, and messages untrained (a class change is
    /// both).
    pub trained: usize,
    pub untrained: usize,
}

fn store_class(c: Class) -> TrainClass {
    match c {
        Class::Spam => TrainClass::Spam,
        Class::Ham => TrainClass::Ham,
    }
}

fn model_class(c: TrainClass) -> Class {
    match c {
        TrainClass::Spam => Class::Spam,
        TrainClass::Ham => Class::Ham,
    }
}

/// Applies `lessons` in order and removes the journal rows `done`, in one
/// commit. Lessons of several users may share a step.
pub async fn learn(
    store: &Store,
    config: &TrainingConfig,
    lessons: &[Lesson],
    done: &[i64],
) -> Result<Learned, TrainError> {
    let mut users: Vec<UserId> = lessons.iter().map(|l| l.user).collect();
    users.sort_unstable_by_key(|u| u.0);
    users.dedup();
    let mut owners: Vec<ModelOwner> = users.iter().map(|u| ModelOwner::User(*u)).collect();
    owners.push(ModelOwner::Global);
    let keys: Vec<(UserId, BlobId)> = lessons.iter().map(|l| (l.user, l.blob.clone())).collect();
    for _ in 0..TRIES {
        let reads = store
            .spam_models(owners.iter().map(|o| (*o, None)).collect())
            .await?;
        let states = store.trained_as(keys.clone()).await?;
        let (cfg, owners2, lessons2) = (config.clone(), owners.clone(), lessons.to_vec());
        let (commit, learned) =
            tokio::task::spawn_blocking(move || step(&cfg, &owners2, reads, &lessons2, states))
                .await
                .map_err(|e| TrainError::Task(e.to_string()))?;
        let commit = TrainingCommit {
            done: done.to_vec(),
            max_senders: config.max_senders,
            ..commit
        };
        if store.training_commit(commit).await? {
            return Ok(learned);
        }
    }
    Err(TrainError::Contended(TRIES))
}

/// The models read, the lessons applied: what to commit.
fn step(
    config: &TrainingConfig,
    owners: &[ModelOwner],
    reads: Vec<ModelRead>,
    lessons: &[Lesson],
    states: Vec<Option<TrainClass>>,
) -> (TrainingCommit, Learned) {
    let opts = config.classifier_options();
    // (model, version read, changed)
    let mut models: HashMap<ModelOwner, (Model, Option<i64>, bool)> = HashMap::new();
    for (owner, read) in owners.iter().zip(reads) {
        let (model, version) = match read {
            ModelRead::Found(m) => match Model::from_bytes(&m.bytes, opts.max_table_size) {
                Ok(model) => (model, Some(m.version)),
                Err(e) => {
                    // Starting again loses this model's training; refusing
                    // would stop every later lesson for good.
                    tracing::warn!(?owner, error = %e, "stored spam model unreadable, starting a new one");
                    (config.new_model(), Some(m.version))
                }
            },
            ModelRead::Missing | ModelRead::Unchanged => (config.new_model(), None),
        };
        models.insert(*owner, (model, version, false));
    }
    let mut state: HashMap<(UserId, BlobId), Option<TrainClass>> = HashMap::new();
    for (l, s) in lessons.iter().zip(states) {
        state.entry((l.user, l.blob.clone())).or_insert(s);
    }
    let mut learned = Learned::default();
    let mut changed: Vec<(UserId, BlobId)> = Vec::new();
    let mut senders: HashMap<(UserId, String), (i64, i64)> = HashMap::new();
    for l in lessons {
        let key = (l.user, l.blob.clone());
        let now = state.get(&key).copied().flatten();
        let target = match l.want {
            Want::Train(c) => Some(store_class(c)),
            Want::Forget(c) if now == Some(store_class(c)) => None,
            Want::Forget(_) => now,
        };
        if target == now {
            continue;
        }
        for owner in [ModelOwner::User(l.user), ModelOwner::Global] {
            if let Some((m, _, touched)) = models.get_mut(&owner) {
                if let Some(c) = now {
                    m.untrain(&l.features, model_class(c));
                }
                if let Some(c) = target {
                    m.train(&l.features, model_class(c));
                }
                *touched = true;
            }
        }
        if let Some(from) = &l.from {
            let d = senders.entry((l.user, from.clone())).or_default();
            for (c, n) in [(now, -1), (target, 1)] {
                match c {
                    Some(TrainClass::Ham) => d.0 += n,
                    Some(TrainClass::Spam) => d.1 += n,
                    None => {}
                }
            }
        }
        learned.untrained += usize::from(now.is_some());
        learned.trained += usize::from(target.is_some());
        state.insert(key.clone(), target);
        if !changed.contains(&key) {
            changed.push(key);
        }
    }
    let mut commit = TrainingCommit::default();
    for (owner, (mut model, expected, touched)) in models {
        if touched {
            let bytes = fit(&mut model, config);
            commit.models.push(ModelWrite {
                owner,
                expected,
                bytes,
            });
        }
    }
    commit.trained = changed
        .into_iter()
        .map(|k| {
            let s = state.get(&k).copied().flatten();
            (k.0, k.1, s)
        })
        .collect();
    commit.senders = senders
        .into_iter()
        .filter(|(_, (h, s))| *h != 0 || *s != 0)
        .map(|((user, address), (ham, spam))| SenderDelta {
            user,
            address,
            ham,
            spam,
        })
        .collect();
    (commit, learned)
}

/// Ages `model` until it is within its message and byte bounds; its bytes.
fn fit(model: &mut Model, config: &TrainingConfig) -> Vec<u8> {
    let opts = config.classifier_options();
    // Each age halves every count, so 32 rounds empty any u32 table.
    for _ in 0..32 {
        if model.needs_ageing(&opts) {
            model.age();
            continue;
        }
        let bytes = model.to_bytes();
        if bytes.len() <= config.max_model_bytes {
            return bytes;
        }
        model.age();
    }
    model.to_bytes()
}

#[cfg(test)]
mod tests;
