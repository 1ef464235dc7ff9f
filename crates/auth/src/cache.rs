//! The success cache (the idea of Dovecot's `auth_cache`): recently verified
//! (user, stored hash, password) triples, kept as keyed SHA-256 digests so
//! that a client logging in every few minutes does not pay argon2 each time.
//!
//! The digest covers the stored PHC string, so changing a password (or its
//! hash parameters) makes old entries unreachable with no invalidation call.
//! Only successes are cached; a wrong password always goes to argon2.

use std::collections::HashMap;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::Secret;

/// A cache entry's name: SHA-256 over the per-process key and the triple.
pub(crate) type CacheKey = [u8; 32];

/// The cache; `Directory` keeps one behind a mutex.
pub(crate) struct SuccessCache {
    /// Random per process, so digests are useless outside it and cannot be
    /// precomputed.
    key: Secret<Vec<u8>>,
    ttl: Duration,
    capacity: usize,
    /// Digest → when it stops counting.
    entries: HashMap<CacheKey, Instant>,
}

impl std::fmt::Debug for SuccessCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuccessCache")
            .field("ttl", &self.ttl)
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl SuccessCache {
    /// An empty cache with a fresh random key; `ttl == 0` disables it.
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        let key: [u8; 32] = rand::random();
        Self {
            key: Secret::new(key.to_vec()),
            ttl,
            capacity: capacity.max(1),
            entries: HashMap::new(),
        }
    }

    /// Is the cache switched on?
    pub(crate) fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The digest naming (`user`, `phc`, `password`). Each variable-length
    /// part is length-prefixed so that no two triples share an encoding.
    pub(crate) fn digest(&self, user: &str, phc: &str, password: &Secret<String>) -> CacheKey {
        let mut h = Sha256::new();
        h.update(self.key.expose());
        for part in [
            user.as_bytes(),
            phc.as_bytes(),
            password.expose().as_bytes(),
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.finalize().into()
    }

    /// Whether `digest` was stored and has not expired; expired entries are
    /// removed on the way.
    pub(crate) fn hit(&mut self, digest: &CacheKey, now: Instant) -> bool {
        match self.entries.get(digest) {
            Some(expiry) if *expiry > now => true,
            Some(_) => {
                self.entries.remove(digest);
                false
            }
            None => false,
        }
    }

    /// Remembers a successful verification for `ttl` from `now`.
    pub(crate) fn insert(&mut self, digest: CacheKey, now: Instant) {
        if !self.enabled() {
            return;
        }
        if !self.entries.contains_key(&digest) && self.entries.len() >= self.capacity {
            self.make_room(now);
        }
        self.entries.insert(digest, now + self.ttl);
    }

    /// Drops expired entries, then if still full the eighth closest to expiry.
    fn make_room(&mut self, now: Instant) {
        self.entries.retain(|_, expiry| *expiry > now);
        if self.entries.len() >= self.capacity {
            let keep = self.capacity - self.capacity / 8 - 1;
            let mut by_expiry: Vec<(Instant, CacheKey)> =
                self.entries.iter().map(|(k, t)| (*t, *k)).collect();
            by_expiry.sort_unstable_by_key(|(t, _)| *t);
            let excess = self.entries.len().saturating_sub(keep);
            for (_, k) in by_expiry.into_iter().take(excess) {
                self.entries.remove(&k);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> Secret<String> {
        Secret::new(s.to_owned())
    }

    #[test]
    fn stored_success_hits_until_ttl() {
        let mut c = SuccessCache::new(Duration::from_secs(10), 100);
        let now = Instant::now();
        let d = c.digest("alice@example.org", "$phc", &pw("pw"));
        assert!(!c.hit(&d, now));
        c.insert(d, now);
        assert!(c.hit(&d, now + Duration::from_secs(9)));
        assert!(!c.hit(&d, now + Duration::from_secs(10)));
        assert_eq!(c.len(), 0, "expired entry removed on lookup");
    }

    #[test]
    fn digest_depends_on_user_hash_and_password() {
        let c = SuccessCache::new(Duration::from_secs(10), 100);
        let base = c.digest("a@x", "$phc", &pw("pw"));
        assert_eq!(base, c.digest("a@x", "$phc", &pw("pw")));
        assert_ne!(base, c.digest("b@x", "$phc", &pw("pw")));
        assert_ne!(base, c.digest("a@x", "$phc2", &pw("pw")));
        assert_ne!(base, c.digest("a@x", "$phc", &pw("pw2")));
        // Moving bytes between parts changes the digest (length prefixes).
        assert_ne!(c.digest("ab", "c", &pw("d")), c.digest("a", "bc", &pw("d")));
    }

    #[test]
    fn digest_differs_between_processes_keys() {
        let a = SuccessCache::new(Duration::from_secs(10), 100);
        let b = SuccessCache::new(Duration::from_secs(10), 100);
        assert_ne!(a.digest("u", "h", &pw("p")), b.digest("u", "h", &pw("p")));
    }

    #[test]
    fn zero_ttl_disables_the_cache() {
        let mut c = SuccessCache::new(Duration::ZERO, 100);
        let now = Instant::now();
        let d = c.digest("u", "h", &pw("p"));
        c.insert(d, now);
        assert!(!c.hit(&d, now));
        assert!(!c.enabled());
    }

    #[test]
    fn cache_stays_bounded() {
        let mut c = SuccessCache::new(Duration::from_secs(10), 8);
        let now = Instant::now();
        for i in 0..100u32 {
            let d = c.digest(&i.to_string(), "h", &pw("p"));
            c.insert(d, now + Duration::from_millis(u64::from(i)));
            assert!(c.len() <= 8);
        }
        let newest = c.digest("99", "h", &pw("p"));
        assert!(c.hit(&newest, now + Duration::from_secs(1)));
    }
}
