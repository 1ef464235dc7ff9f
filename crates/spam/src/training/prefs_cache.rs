//! Users' own spam settings cached for scoring, the way the models are:
//! an entry younger than `RECHECK` whose store generation is unchanged is
//! used without a read, so a scoring costs a map lookup; a write through
//! this process's store (the web console) moves the generation and is
//! seen at the next message, the admin CLI's (another process) within
//! `RECHECK`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use postern_store::{Store, UserId};

use super::TrainError;
use super::classifiers::RECHECK;
use crate::prefs::UserPrefs;

/// Users remembered at most; past it the cache starts again (an entry
/// for a user with no settings is the shared empty one).
const MAX_USERS: usize = 4096;

/// Per user: when the store was asked, its generation then, the answer.
type Entries = HashMap<UserId, (Instant, u64, Arc<UserPrefs>)>;

pub(super) struct PrefsCache {
    store: Store,
    entries: Mutex<Entries>,
    /// What a user who set nothing has: one shared value.
    empty: Arc<UserPrefs>,
}

impl PrefsCache {
    pub(super) fn new(store: Store) -> PrefsCache {
        PrefsCache {
            store,
            entries: Mutex::new(HashMap::new()),
            empty: Arc::new(UserPrefs::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) async fn get(&self, user: UserId) -> Result<Arc<UserPrefs>, TrainError> {
        let generation = self.store.spam_prefs_generation();
        if let Some((at, g, p)) = self.lock().get(&user)
            && *g == generation
            && at.elapsed() < RECHECK
        {
            return Ok(p.clone());
        }
        let stored = self.store.spam_prefs(user).await?;
        let prefs = if stored.is_empty() {
            self.empty.clone()
        } else {
            Arc::new(UserPrefs::from_stored(&stored))
        };
        let mut c = self.lock();
        if c.len() >= MAX_USERS {
            c.clear();
        }
        c.insert(user, (Instant::now(), generation, prefs.clone()));
        Ok(prefs)
    }
}
