//! The scoring side's read API: a user's and the global model, cached in
//! memory by version (a scoring costs one small indexed read, which says
//! "unchanged" without reading the bytes, unless the trainer or the admin
//! CLI wrote a new version), the sender reputation as a contribution,
//! and users' own spam settings (`prefs_cache.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postern_store::{ModelOwner, ModelRead, Store, UserId};

use super::prefs_cache::PrefsCache;
use super::{TrainError, TrainingConfig};
use crate::classifier::{ClassifierOptions, Model};
use crate::compact::CompactModel;
use crate::prefs::UserPrefs;
use crate::verdict::Contribution;

/// How long a scoring trusts what the store last said of a model when
/// this process trained nothing since: the admin CLI, in another
/// process, is the only other writer, and its changes may take this long
/// to be seen.
pub(super) const RECHECK: Duration = Duration::from_secs(2);

/// Owners remembered as checked, at most (users with no model included).
const MAX_CHECKED: usize = 4096;

/// The contribution's name for the sender reputation.
pub const SENDER_REPUTATION: &str = "SENDER_REPUTATION";

struct Cached {
    version: i64,
    /// Only the used buckets: judging reads ~1,000 of them per message,
    /// and in a full 8 MiB table nearly each was a cache miss.
    model: Arc<CompactModel>,
    /// When it was last used (a counter): the least recent user goes first.
    used: u64,
}

#[derive(Default)]
struct Cache {
    tick: u64,
    /// When the store was last asked about each owner (`None`: the global
    /// model) and the models generation then; an answer younger than
    /// `RECHECK` with the generation unchanged needs no read.
    checked: HashMap<Option<UserId>, (Instant, u64)>,
    /// Users' models, at most `cache_users`; the global model is kept apart.
    users: HashMap<UserId, Cached>,
    global: Option<Cached>,
}

/// Models and reputation for scoring; share one per server (clone the Arc).
pub struct Classifiers {
    store: Store,
    config: TrainingConfig,
    opts: ClassifierOptions,
    cache: Mutex<Cache>,
    /// What an untrained global model is: empty, made once, one bucket (a
    /// full-size empty table would be 8 MiB of memory for nothing: with no
    /// global model there is no user model either, since every lesson
    /// teaches both, and an empty model judges nothing).
    empty: Arc<CompactModel>,
    /// Users' own thresholds and sender rules.
    prefs: PrefsCache,
}

impl Classifiers {
    pub fn new(store: Store, config: TrainingConfig) -> Classifiers {
        Classifiers {
            prefs: PrefsCache::new(store.clone()),
            store,
            opts: config.classifier_options(),
            empty: Arc::new(CompactModel::from_model(&Model::new(1))),
            config,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Counts a message `user` submitted to each of `recipients`, for their
    /// sender reputation.
    pub async fn record_sent(&self, user: UserId, recipients: &[String]) -> Result<(), TrainError> {
        super::record_sent(&self.store, user, recipients, &self.config).await
    }

    /// The options to score with (table size and thresholds as trained).
    pub fn options(&self) -> &ClassifierOptions {
        &self.opts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `user`'s model (none until they trained something) and the global
    /// one (empty until anyone did), for [`crate::Evidence::choose`].
    pub async fn models(
        &self,
        user: UserId,
    ) -> Result<(Option<Arc<CompactModel>>, Arc<CompactModel>), TrainError> {
        let generation = self.store.models_generation();
        let (have_user, have_global) = {
            let mut c = self.lock();
            let fresh = |c: &Cache, owner: Option<UserId>| {
                c.checked
                    .get(&owner)
                    .is_some_and(|(at, g)| *g == generation && at.elapsed() < RECHECK)
            };
            // Under load most scorings end here, without a store read.
            if fresh(&c, Some(user)) && fresh(&c, None) {
                c.tick += 1;
                let tick = c.tick;
                let user_model = c.users.get_mut(&user).map(|e| {
                    e.used = tick;
                    e.model.clone()
                });
                let global = c.global.as_ref().map(|e| e.model.clone());
                return Ok((user_model, global.unwrap_or_else(|| self.empty.clone())));
            }
            (
                c.users.get(&user).map(|m| m.version),
                c.global.as_ref().map(|m| m.version),
            )
        };
        let reads = self
            .store
            .spam_models(vec![
                (ModelOwner::User(user), have_user),
                (ModelOwner::Global, have_global),
            ])
            .await?;
        let mut reads = reads.into_iter();
        let user_read = reads.next().unwrap_or(ModelRead::Missing);
        let global_read = reads.next().unwrap_or(ModelRead::Missing);
        let user_model = self.settle(Some(user), user_read).await?;
        let global = self.settle(None, global_read).await?;
        {
            let mut c = self.lock();
            if c.checked.len() >= MAX_CHECKED {
                c.checked.clear();
            }
            let now = Instant::now();
            c.checked.insert(Some(user), (now, generation));
            c.checked.insert(None, (now, generation));
        }
        Ok((user_model, global.unwrap_or_else(|| self.empty.clone())))
    }

    /// Brings the cache entry of `user` (`None`: the global model) up to
    /// what the store said; the model now current, if any.
    async fn settle(
        &self,
        user: Option<UserId>,
        read: ModelRead,
    ) -> Result<Option<Arc<CompactModel>>, TrainError> {
        match read {
            ModelRead::Unchanged => {
                let cached = {
                    let mut c = self.lock();
                    c.tick += 1;
                    let tick = c.tick;
                    let entry = match user {
                        Some(u) => c.users.get_mut(&u),
                        None => c.global.as_mut(),
                    };
                    entry.map(|e| {
                        e.used = tick;
                        e.model.clone()
                    })
                };
                if cached.is_some() {
                    return Ok(cached);
                }
                // Evicted by a concurrent scoring since the version was
                // read: read it whole (never `Unchanged` again, so once).
                let owner = user.map_or(ModelOwner::Global, ModelOwner::User);
                let again = self.store.spam_models(vec![(owner, None)]).await?;
                let read = again.into_iter().next().unwrap_or(ModelRead::Missing);
                Box::pin(self.settle(user, read)).await
            }
            ModelRead::Missing => {
                let mut c = self.lock();
                match user {
                    Some(u) => drop(c.users.remove(&u)),
                    None => c.global = None,
                }
                Ok(None)
            }
            ModelRead::Found(stored) => {
                let max = self.opts.max_table_size;
                let version = stored.version;
                let decoded = tokio::task::spawn_blocking(move || {
                    Model::from_bytes(&stored.bytes, max).map(|m| CompactModel::from_model(&m))
                })
                .await
                .map_err(|e| TrainError::Task(e.to_string()))?;
                let model = match decoded {
                    Ok(m) => Arc::new(m),
                    Err(e) => {
                        // Score without it rather than fail the delivery;
                        // the trainer replaces it at its next lesson.
                        tracing::warn!(?user, error = %e, "stored spam model unreadable");
                        return Ok(None);
                    }
                };
                let mut c = self.lock();
                c.tick += 1;
                let entry = Cached {
                    version,
                    model: model.clone(),
                    used: c.tick,
                };
                match user {
                    Some(u) => {
                        c.users.insert(u, entry);
                        let cap = self.config.cache_users;
                        while c.users.len() > cap {
                            let oldest =
                                c.users.iter().min_by_key(|(_, e)| e.used).map(|(u, _)| *u);
                            match oldest {
                                Some(o) => {
                                    c.users.remove(&o);
                                    // Its absence must not pass for "no model".
                                    c.checked.remove(&Some(o));
                                }
                                None => break,
                            }
                        }
                    }
                    None => c.global = Some(entry),
                }
                Ok(Some(model))
            }
        }
    }

    /// `user`'s own thresholds and allowed/blocked senders, cached like
    /// the models (a map lookup while nothing changed).
    pub async fn prefs(&self, user: UserId) -> Result<Arc<UserPrefs>, TrainError> {
        self.prefs.get(user).await
    }

    /// What `user`'s sender reputation says of mail from `from`: a negative
    /// contribution for a correspondent (the user wrote to them, or their
    /// mail was trained ham more than spam), a positive one for a sender
    /// whose mail was trained spam more, `None` for a stranger or a tie.
    /// A From address is easy to forge: pass one whose domain passed DMARC
    /// (or is otherwise authenticated), not any From.
    pub async fn reputation(
        &self,
        user: UserId,
        from: &str,
    ) -> Result<Option<Contribution>, TrainError> {
        let Some(r) = self.store.sender_record(user, from).await? else {
            return Ok(None);
        };
        let good = r.sent + r.ham;
        let detail = format!("sent {} ham {} spam {}", r.sent, r.ham, r.spam);
        Ok(if good > r.spam {
            Some(Contribution::new(
                SENDER_REPUTATION,
                self.config.known_good_weight,
                &detail,
            ))
        } else if r.spam > good {
            Some(Contribution::new(
                SENDER_REPUTATION,
                self.config.known_bad_weight,
                &detail,
            ))
        } else {
            None
        })
    }
}
