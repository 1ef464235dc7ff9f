//! RFC 7662 introspection answers kept for a while, so a client that
//! reconnects with the same token (an IMAP client opens a connection per
//! folder it watches, and again after each network change) does not cost
//! the issuer a request each time.
//!
//! - An active answer is kept for `[oauth] introspection_cache_secs` at
//!   most, and never past the token's `exp` (RFC 7662 §4: a cached answer
//!   must not outlive the token; a revocation at the issuer takes effect
//!   here within that time). Its claims are checked again at each use, as
//!   a fresh answer's are.
//! - An inactive answer is kept for `introspection_inactive_cache_secs`,
//!   briefly: a client retrying a dead token does not hammer the issuer,
//!   and a token that becomes valid (clock skew at the issuer) works soon.
//! - An issuer we could not reach is never cached.
//! - Entries are keyed by the token's SHA-256 (the token itself is not
//!   kept), at most `introspection_cache_entries` of them: when full,
//!   expired entries go, then the one that would expire first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// What the issuer said of a token.
#[derive(Clone, Debug)]
pub(crate) enum Answer {
    /// `active: true`, with the answer's claims.
    Active(Arc<Map<String, Value>>),
    /// Anything but `active: true`.
    Inactive,
}

struct Entry {
    answer: Answer,
    until: Instant,
}

/// How long answers are kept, and how many.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub active: Duration,
    pub inactive: Duration,
    pub entries: usize,
}

pub(crate) struct IntrospectionCache {
    limits: Limits,
    map: Mutex<HashMap<[u8; 32], Entry>>,
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl IntrospectionCache {
    pub fn new(limits: Limits) -> Self {
        IntrospectionCache {
            limits,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The answer kept for `token`, if it is still good at `now`.
    pub fn get(&self, token: &str, now: Instant) -> Option<Answer> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&key(token))
            .filter(|e| e.until > now)
            .map(|e| e.answer.clone())
    }

    /// Keeps `answer` for `token`; `secs_to_exp` is how long the token
    /// has left by its `exp` claim, when it has one.
    pub fn put(&self, token: &str, answer: Answer, secs_to_exp: Option<i64>, now: Instant) {
        let keep = match &answer {
            Answer::Active(_) => match secs_to_exp {
                Some(left) if left <= 0 => Duration::ZERO,
                Some(left) => self
                    .limits
                    .active
                    .min(Duration::from_secs(left.unsigned_abs())),
                None => self.limits.active,
            },
            Answer::Inactive => self.limits.inactive,
        };
        if keep.is_zero() || self.limits.entries == 0 {
            return;
        }
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let k = key(token);
        if map.len() >= self.limits.entries && !map.contains_key(&k) {
            map.retain(|_, e| e.until > now);
            if map.len() >= self.limits.entries
                && let Some(first) = map.iter().min_by_key(|(_, e)| e.until).map(|(k, _)| *k)
            {
                map.remove(&first);
            }
        }
        map.insert(
            k,
            Entry {
                answer,
                until: now + keep,
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: usize) -> IntrospectionCache {
        IntrospectionCache::new(Limits {
            active: Duration::from_secs(300),
            inactive: Duration::from_secs(30),
            entries,
        })
    }

    fn active() -> Answer {
        Answer::Active(Arc::new(Map::new()))
    }

    fn is_active(a: Option<Answer>) -> Option<bool> {
        a.map(|a| matches!(a, Answer::Active(_)))
    }

    #[test]
    fn active_answers_last_until_the_limit_or_the_tokens_expiry() {
        let c = cache(10);
        let t0 = Instant::now();
        c.put("long", active(), Some(3600), t0);
        c.put("short", active(), Some(60), t0);
        c.put("no-exp", active(), None, t0);
        c.put("expired", active(), Some(0), t0);
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(is_active(c.get("long", at(299))), Some(true));
        assert_eq!(is_active(c.get("long", at(300))), None, "the limit");
        assert_eq!(is_active(c.get("short", at(59))), Some(true));
        assert_eq!(is_active(c.get("short", at(60))), None, "the exp");
        assert_eq!(is_active(c.get("no-exp", at(299))), Some(true));
        assert_eq!(is_active(c.get("expired", t0)), None);
        assert_eq!(is_active(c.get("never-asked", t0)), None);
    }

    #[test]
    fn inactive_answers_are_kept_briefly() {
        let c = cache(10);
        let t0 = Instant::now();
        c.put("dead", Answer::Inactive, None, t0);
        assert_eq!(
            is_active(c.get("dead", t0 + Duration::from_secs(29))),
            Some(false)
        );
        assert_eq!(is_active(c.get("dead", t0 + Duration::from_secs(30))), None);
    }

    #[test]
    fn a_full_cache_drops_the_expired_then_the_soonest_to_expire() {
        let c = cache(3);
        let t0 = Instant::now();
        c.put("a", Answer::Inactive, None, t0);
        c.put("b", active(), Some(100), t0);
        c.put("c", active(), Some(200), t0);
        c.put("d", active(), Some(200), t0);
        assert_eq!(c.len(), 3);
        assert_eq!(is_active(c.get("a", t0)), None, "the soonest went");
        let later = t0 + Duration::from_secs(150);
        c.put("e", active(), None, later);
        assert_eq!(is_active(c.get("b", t0)), None, "expired, dropped");
        for k in ["c", "d", "e"] {
            assert_eq!(is_active(c.get(k, later)), Some(true), "{k}");
        }
        let off = cache(0);
        off.put("a", active(), None, t0);
        assert_eq!(is_active(off.get("a", t0)), None);
    }
}
