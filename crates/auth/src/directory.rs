//! `Directory`: users, domains and aliases behind a backend, with login on
//! top (in `login.rs`). Here: construction, the shared state, and thin
//! async wrappers over recipient resolution and the sender check.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Semaphore;

use crate::abuse::Abuse;
use crate::accounts::{AccountStore, Coalescer, NoAccounts};
use crate::cache::SuccessCache;
use crate::password::DUMMY_HASH;
use crate::resolve::{self, Resolution};
use crate::throttle::Throttle;
use crate::{AuthConfig, AuthError, BackendError, DirectoryBackend, normalize_domain};

/// Keys (app passwords, login rows) whose last write time is remembered.
const RECORDED_KEYS: usize = 10_000;

/// Users, domains and aliases, with login on top. Cheap to clone: every
/// clone shares one backend, throttle table, cache and hashing bound.
#[derive(Clone)]
pub struct Directory {
    pub(crate) inner: Arc<Inner>,
}

/// What clones of a [`Directory`] share.
pub(crate) struct Inner {
    pub(crate) backend: Arc<dyn DirectoryBackend>,
    pub(crate) cfg: AuthConfig,
    /// One permit per argon2 verification allowed to run at once.
    pub(crate) hashing: Semaphore,
    pub(crate) throttle: Mutex<Throttle>,
    pub(crate) cache: Mutex<SuccessCache>,
    /// Verified instead of a real hash for unknown users.
    pub(crate) dummy_hash: String,
    /// Argon2 verifications run so far (metrics, and tests that check the
    /// timing-neutral and cached paths).
    pub(crate) verifications: AtomicU64,
    /// Where abuse events are counted; disabled unless given.
    pub(crate) abuse: Abuse,
    /// App passwords, TOTP and the devices record; none unless given.
    pub(crate) accounts: Arc<dyn AccountStore>,
    /// When each app password and login row was last written.
    pub(crate) recorded: Mutex<Coalescer>,
    /// The bearer-token checker, when `[oauth]` is configured.
    pub(crate) oauth: std::sync::OnceLock<crate::oauth::OAuth>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("cfg", &self.inner.cfg)
            .field("verifications", &self.password_verifications())
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, going on past poisoning: the tables stay consistent at
/// every await-free step, so a panicked holder leaves nothing half-done.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Directory {
    /// A directory over `backend`. Unknown users are checked against a
    /// built-in hash with `hash_password`'s default cost.
    pub fn new(backend: Arc<dyn DirectoryBackend>, cfg: AuthConfig) -> Self {
        Self::new_with_dummy_hash(backend, cfg, DUMMY_HASH.to_owned())
    }

    /// Like [`Directory::new`], reporting logins to `abuse` (failures count
    /// towards a block, successes make the client trusted).
    pub fn with_abuse(backend: Arc<dyn DirectoryBackend>, cfg: AuthConfig, abuse: Abuse) -> Self {
        Self::build(
            backend,
            cfg,
            DUMMY_HASH.to_owned(),
            abuse,
            Arc::new(NoAccounts),
        )
    }

    /// Like [`Directory::with_abuse`], with app passwords, TOTP and the
    /// devices record kept in `accounts`.
    pub fn with_accounts(
        backend: Arc<dyn DirectoryBackend>,
        cfg: AuthConfig,
        abuse: Abuse,
        accounts: Arc<dyn AccountStore>,
    ) -> Self {
        Self::build(backend, cfg, DUMMY_HASH.to_owned(), abuse, accounts)
    }

    /// Like [`Directory::new`], verifying `dummy_phc` for unknown users.
    /// Timing neutrality needs it to cost what real users' hashes cost; tests
    /// whose users have cheap hashes pass a cheap one here.
    #[doc(hidden)]
    pub fn new_with_dummy_hash(
        backend: Arc<dyn DirectoryBackend>,
        cfg: AuthConfig,
        dummy_phc: String,
    ) -> Self {
        Self::build(
            backend,
            cfg,
            dummy_phc,
            Abuse::disabled(),
            Arc::new(NoAccounts),
        )
    }

    /// Like [`Directory::new_with_dummy_hash`], with an account store.
    #[doc(hidden)]
    pub fn new_with_dummy_hash_and_accounts(
        backend: Arc<dyn DirectoryBackend>,
        cfg: AuthConfig,
        dummy_phc: String,
        accounts: Arc<dyn AccountStore>,
    ) -> Self {
        Self::build(backend, cfg, dummy_phc, Abuse::disabled(), accounts)
    }

    fn build(
        backend: Arc<dyn DirectoryBackend>,
        cfg: AuthConfig,
        dummy_phc: String,
        abuse: Abuse,
        accounts: Arc<dyn AccountStore>,
    ) -> Self {
        let inner = Inner {
            abuse,
            accounts,
            recorded: Mutex::new(Coalescer::new(cfg.record_interval, RECORDED_KEYS)),
            backend,
            hashing: Semaphore::new(cfg.max_concurrent_hashes.max(1)),
            throttle: Mutex::new(Throttle::new(&cfg, cfg.max_tracked_addresses)),
            cache: Mutex::new(SuccessCache::new(cfg.cache_ttl, cfg.cache_entries)),
            dummy_hash: dummy_phc,
            verifications: AtomicU64::new(0),
            oauth: std::sync::OnceLock::new(),
            cfg,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The abuse tracker logins report to, for the protocols' own events.
    pub fn abuse(&self) -> &Abuse {
        &self.inner.abuse
    }

    /// The configuration in use.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.cfg
    }

    /// How many argon2 verifications this directory has run (cache hits and
    /// throttled attempts run none; unknown users run one).
    pub fn password_verifications(&self) -> u64 {
        self.inner.verifications.load(Ordering::Relaxed)
    }

    /// Where mail for `address` goes.
    ///
    /// 1. The address is normalised; invalid → `Unknown`.
    /// 2. Its domain must be local (`is_local_domain`), else `Unknown`:
    ///    callers handle non-local domains (relay or refuse) themselves.
    /// 3. A user with exactly that address gets it. Disabled users too:
    ///    disabling stops logins, not mail, so nothing bounces while an
    ///    account is suspended.
    /// 4. Else an alias with exactly that source: each target is expanded in
    ///    turn (a user, another alias, or an external address on a domain
    ///    that is not local), at most `max_alias_depth` hops deep, each alias
    ///    once (cycles end there), duplicates removed, dangling targets
    ///    skipped and logged.
    /// 5. Else, with plus-addressing on, `user+tag@d` tries 3–4 as `user@d`.
    /// 6. Else the domain's catch-all alias `@d`.
    /// 7. Else, or if the expansion found nobody, `Unknown`.
    ///
    /// `Err` only when the backend fails: a temporary error (`451`).
    pub async fn resolve_recipient(&self, address: &str) -> Result<Resolution, AuthError> {
        let address = address.to_owned();
        self.on_backend(move |b, cfg| resolve::resolve(b, cfg, &address))
            .await
    }

    /// Whether we receive mail for `domain` (normalised first; an invalid
    /// domain is not local).
    pub async fn is_local_domain(&self, domain: &str) -> Result<bool, AuthError> {
        let Ok(domain) = normalize_domain(domain) else {
            return Ok(false);
        };
        self.on_backend(move |b, _| b.domain_exists(&domain)).await
    }

    /// [`Directory::is_local_domain`] for `domain` and, when it is local,
    /// [`Directory::resolve_recipient`] for `address`, in one trip to the
    /// backend (SMTP asks both at every RCPT; each trip is a hand-off to a
    /// blocking thread and back). `None`: the domain is not ours.
    pub async fn resolve_if_local(
        &self,
        address: &str,
        domain: &str,
    ) -> Result<Option<Resolution>, AuthError> {
        let Ok(domain) = normalize_domain(domain) else {
            return Ok(None);
        };
        let address = address.to_owned();
        self.on_backend(move |b, cfg| {
            if !b.domain_exists(&domain)? {
                return Ok(None);
            }
            resolve::resolve(b, cfg, &address).map(Some)
        })
        .await
    }

    /// The addresses the user may send from, for the submission envelope
    /// check: their own address, then the source of every alias that lists
    /// it as a target directly. A source `@b.c` is a catch-all and stands for
    /// any otherwise unused address at `b.c` (see [`Directory::may_send_as`]).
    /// Empty for an unknown or disabled user.
    pub async fn sender_addresses(&self, user_id: i64) -> Result<Vec<String>, AuthError> {
        self.on_backend(move |b, _| resolve::sender_addresses(b, user_id))
            .await
    }

    /// Whether the user may use `address` as envelope sender: one of
    /// [`Directory::sender_addresses`], a plus-address of one of them, or an
    /// address at a domain whose catch-all points at the user, provided no
    /// user or alias owns that address (a catch-all does not allow
    /// impersonating the domain's other users). False for unknown or
    /// disabled users and invalid addresses.
    pub async fn may_send_as(&self, user_id: i64, address: &str) -> Result<bool, AuthError> {
        let address = address.to_owned();
        self.on_backend(move |b, cfg| resolve::may_send_as(b, cfg, user_id, &address))
            .await
    }

    /// Runs `f` against the backend on the blocking pool.
    pub(crate) async fn on_backend<R, F>(&self, f: F) -> Result<R, AuthError>
    where
        R: Send + 'static,
        F: FnOnce(&dyn DirectoryBackend, &AuthConfig) -> Result<R, BackendError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(inner.backend.as_ref(), &inner.cfg))
            .await
            .map_err(|e| AuthError::Task(e.to_string()))?
            .map_err(AuthError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocalRecipient;
    use crate::fixtures::*;

    #[test]
    fn authenticate_future_is_send_and_directory_is_shareable() {
        fn assert_send<T: Send>(_: &T) {}
        fn assert_sync<T: Send + Sync + Clone>() {}
        assert_sync::<Directory>();
        let (dir, _) = setup(fast_cfg());
        let password = pw("x");
        let fut = dir.authenticate("imap", ip(IP_A), "a@b.c", &password);
        assert_send(&fut);
        assert_send(&dir.resolve_recipient("a@b.c"));
    }

    #[tokio::test]
    async fn resolution_and_sender_checks_go_through_the_backend() -> Result<(), AuthError> {
        let (dir, _) = setup(fast_cfg());
        assert!(dir.is_local_domain("Example.ORG").await?);
        assert!(!dir.is_local_domain("example.com").await?);
        assert!(!dir.is_local_domain("not a domain").await?);
        let carol = LocalRecipient {
            user_id: 3,
            address: "carol@example.org".to_owned(),
        };
        assert_eq!(
            dir.resolve_recipient("Carol+x@example.org").await?,
            Resolution::Deliver {
                local: vec![carol],
                external: vec![]
            },
            "disabled users still receive"
        );
        assert_eq!(
            dir.resolve_recipient("nobody@example.org").await?,
            Resolution::Unknown
        );
        assert_eq!(
            dir.resolve_if_local("carol@Example.ORG", "Example.ORG")
                .await?,
            Some(dir.resolve_recipient("carol@example.org").await?),
            "a local domain resolves as resolve_recipient does"
        );
        assert_eq!(
            dir.resolve_if_local("nobody@example.org", "example.org")
                .await?,
            Some(Resolution::Unknown)
        );
        assert_eq!(
            dir.resolve_if_local("carol@example.com", "example.com")
                .await?,
            None,
            "another domain is not resolved"
        );
        assert_eq!(
            dir.resolve_if_local("x@not a domain", "not a domain")
                .await?,
            None
        );
        assert_eq!(
            dir.sender_addresses(1).await?,
            vec![
                "alice@example.org".to_owned(),
                "team@example.org".to_owned()
            ]
        );
        assert!(dir.may_send_as(1, "team+x@example.org").await?);
        assert!(!dir.may_send_as(1, "bob@example.org").await?);
        Ok(())
    }
}
