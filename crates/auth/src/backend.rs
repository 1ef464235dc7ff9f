//! The storage interface the directory reads users, domains and aliases
//! through (`DirectoryBackend`, implemented over SQLite in the store), and
//! `MemoryBackend`, an in-memory implementation for tests and tools.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

use thiserror::Error;

/// Where the directory's data lives. Methods are synchronous; `Directory`
/// calls them inside `tokio::task::spawn_blocking`.
///
/// Every string argument is already normalised (see
/// [`normalize_address`](crate::normalize_address)): lowercase, trimmed.
/// Implementations compare exactly and store normalised strings.
pub trait DirectoryBackend: Send + Sync + 'static {
    /// Is this domain one we receive mail for?
    fn domain_exists(&self, domain: &str) -> Result<bool, BackendError>;
    /// The user whose primary address is exactly `address` (normalized), if any.
    fn user_by_address(&self, address: &str) -> Result<Option<UserRecord>, BackendError>;
    /// The user with this id.
    fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, BackendError>;
    /// Targets of the alias whose source is exactly `source` (`a@b.c` or the catch-all `@b.c`); empty if none.
    fn alias_targets(&self, source: &str) -> Result<Vec<String>, BackendError>;
    /// Alias sources (`a@b.c` or `@b.c`) that have `target` (a user's address) among their targets.
    fn alias_sources_for(&self, target: &str) -> Result<Vec<String>, BackendError>;
}

/// One user as the backend stores it.
#[derive(Clone, Debug)]
pub struct UserRecord {
    /// Stable id; other tables refer to the user by it.
    pub id: i64,
    /// The primary address, normalised; also the login name.
    pub address: String,
    /// Free text for display, may be empty.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// A disabled user cannot log in but still receives mail.
    pub disabled: bool,
}

/// The backend could not answer (database unavailable, corrupt row, ...).
/// The directory turns this into a temporary failure, never a "no".
#[derive(Debug, Error)]
#[error("directory backend: {0}")]
pub struct BackendError(pub String);

/// A [`DirectoryBackend`] held in memory, for tests and tools; not meant for
/// production (nothing is persisted).
///
/// Interior mutability lets a test keep an `Arc` to it and change users,
/// aliases or failure mode while a `Directory` uses the same instance. Pass
/// normalised (lowercase) addresses, as the SQLite backend stores them.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    /// Everything behind one lock: tests are small and correctness matters
    /// more than contention here.
    state: Mutex<MemoryState>,
}

/// The contents of a [`MemoryBackend`].
#[derive(Debug, Default)]
struct MemoryState {
    domains: HashSet<String>,
    users: Vec<UserRecord>,
    /// Source (`a@b.c` or `@b.c`) → targets, in insertion order.
    aliases: Vec<(String, Vec<String>)>,
    /// When set, every call fails with this message.
    failing: Option<String>,
}

impl MemoryBackend {
    /// An empty backend.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, MemoryState> {
        // A panic in another test thread must not hide this test's result.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a local domain.
    pub fn add_domain(&self, domain: &str) {
        self.state().domains.insert(domain.to_owned());
    }

    /// Adds a user and returns the new id (1, 2, 3, ...).
    pub fn add_user(&self, address: &str, display_name: &str, password_hash: &str) -> i64 {
        let mut st = self.state();
        let id = i64::try_from(st.users.len()).unwrap_or(i64::MAX - 1) + 1;
        st.users.push(UserRecord {
            id,
            address: address.to_owned(),
            display_name: display_name.to_owned(),
            password_hash: password_hash.to_owned(),
            disabled: false,
        });
        id
    }

    /// Disables or enables a user; unknown ids are ignored.
    pub fn set_disabled(&self, id: i64, disabled: bool) {
        if let Some(u) = self.state().users.iter_mut().find(|u| u.id == id) {
            u.disabled = disabled;
        }
    }

    /// Replaces a user's password hash; unknown ids are ignored.
    pub fn set_password_hash(&self, id: i64, password_hash: &str) {
        if let Some(u) = self.state().users.iter_mut().find(|u| u.id == id) {
            u.password_hash = password_hash.to_owned();
        }
    }

    /// Adds (or replaces) the alias `source` → `targets`.
    pub fn add_alias(&self, source: &str, targets: &[&str]) {
        let targets = targets.iter().map(|t| (*t).to_owned()).collect();
        let mut st = self.state();
        st.aliases.retain(|(s, _)| s != source);
        st.aliases.push((source.to_owned(), targets));
    }

    /// Makes every call fail with `message` (`Some`) or succeed again (`None`).
    pub fn set_failing(&self, message: Option<&str>) {
        self.state().failing = message.map(str::to_owned);
    }
}

impl MemoryState {
    fn check(&self) -> Result<(), BackendError> {
        match &self.failing {
            Some(m) => Err(BackendError(m.clone())),
            None => Ok(()),
        }
    }
}

impl DirectoryBackend for MemoryBackend {
    fn domain_exists(&self, domain: &str) -> Result<bool, BackendError> {
        let st = self.state();
        st.check()?;
        Ok(st.domains.contains(domain))
    }

    fn user_by_address(&self, address: &str) -> Result<Option<UserRecord>, BackendError> {
        let st = self.state();
        st.check()?;
        Ok(st.users.iter().find(|u| u.address == address).cloned())
    }

    fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, BackendError> {
        let st = self.state();
        st.check()?;
        Ok(st.users.iter().find(|u| u.id == id).cloned())
    }

    fn alias_targets(&self, source: &str) -> Result<Vec<String>, BackendError> {
        let st = self.state();
        st.check()?;
        Ok(st
            .aliases
            .iter()
            .find(|(s, _)| s == source)
            .map(|(_, t)| t.clone())
            .unwrap_or_default())
    }

    fn alias_sources_for(&self, target: &str) -> Result<Vec<String>, BackendError> {
        let st = self.state();
        st.check()?;
        Ok(st
            .aliases
            .iter()
            .filter(|(_, t)| t.iter().any(|t| t == target))
            .map(|(s, _)| s.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MemoryBackend {
        let b = MemoryBackend::new();
        b.add_domain("example.org");
        b.add_user("alice@example.org", "Alice", "$hash-a");
        b.add_user("bob@example.org", "Bob", "$hash-b");
        b.add_alias(
            "team@example.org",
            &["alice@example.org", "bob@example.org"],
        );
        b.add_alias("@example.org", &["alice@example.org"]);
        b
    }

    #[test]
    fn memory_backend_answers_lookups() -> Result<(), BackendError> {
        let b = sample();
        assert!(b.domain_exists("example.org")?);
        assert!(!b.domain_exists("example.com")?);
        let alice = b
            .user_by_address("alice@example.org")?
            .expect("alice was added");
        assert_eq!(alice.id, 1);
        assert_eq!(
            b.user_by_id(2)?.map(|u| u.address).as_deref(),
            Some("bob@example.org")
        );
        assert!(b.user_by_id(3)?.is_none());
        assert_eq!(b.alias_targets("team@example.org")?.len(), 2);
        assert!(b.alias_targets("nobody@example.org")?.is_empty());
        assert_eq!(
            b.alias_sources_for("alice@example.org")?,
            vec!["team@example.org", "@example.org"]
        );
        assert_eq!(
            b.alias_sources_for("bob@example.org")?,
            vec!["team@example.org"]
        );
        Ok(())
    }

    #[test]
    fn memory_backend_updates_users_in_place() -> Result<(), BackendError> {
        let b = sample();
        b.set_disabled(1, true);
        b.set_password_hash(1, "$new");
        let alice = b.user_by_id(1)?.expect("alice was added");
        assert!(alice.disabled);
        assert_eq!(alice.password_hash, "$new");
        b.add_alias("team@example.org", &["bob@example.org"]);
        assert_eq!(
            b.alias_targets("team@example.org")?,
            vec!["bob@example.org"]
        );
        Ok(())
    }

    #[test]
    fn failing_memory_backend_returns_errors_until_reset() {
        let b = sample();
        b.set_failing(Some("disk on fire"));
        let err = b
            .domain_exists("example.org")
            .expect_err("backend set to fail");
        assert_eq!(err.to_string(), "directory backend: disk on fire");
        assert!(b.user_by_id(1).is_err());
        b.set_failing(None);
        assert!(b.user_by_id(1).is_ok());
    }
}
