//! ENVELOPE, BODY and BODYSTRUCTURE as sent, kept per message content.
//!
//! A client's sync asks for these for every message of a mailbox, again
//! each time it resyncs; rendering them means decoding the store's cached
//! meta first, which was most of a warm `FETCH 1:* (ENVELOPE
//! BODYSTRUCTURE)`. Messages are content-addressed (the blob id is the
//! SHA-256 of the bytes), so an answer never goes stale: the key is the
//! blob id (the cache lives as long as the process, so the rendering code
//! cannot change under it).
//!
//! Bounded by bytes, shared by every session. Two generations stand in for
//! an LRU: entries go into the young map; when it holds half the budget it
//! becomes the old map (the previous old one is dropped), and a hit in the
//! old map moves the entry back to the young one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One message's rendered structure items.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    pub envelope: Vec<u8>,
    pub body: Vec<u8>,
    pub bodystructure: Vec<u8>,
}

impl Rendered {
    fn cost(&self, key: &str) -> usize {
        // The entry's bytes plus what the maps spend on it.
        self.envelope.len() + self.body.len() + self.bodystructure.len() + key.len() + 96
    }
}

#[derive(Default)]
struct Generations {
    young: HashMap<String, Arc<Rendered>>,
    old: HashMap<String, Arc<Rendered>>,
    young_bytes: usize,
}

pub struct RenderCache {
    budget: usize,
    inner: Mutex<Generations>,
}

impl RenderCache {
    /// A cache holding about `budget` bytes; 0 keeps nothing.
    pub fn new(budget: usize) -> RenderCache {
        RenderCache {
            budget,
            inner: Mutex::new(Generations::default()),
        }
    }

    pub fn get(&self, blob: &str) -> Option<Arc<Rendered>> {
        if self.budget == 0 {
            return None;
        }
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = g.young.get(blob) {
            return Some(r.clone());
        }
        let r = g.old.remove(blob)?;
        self.insert_locked(&mut g, blob.to_owned(), r.clone());
        Some(r)
    }

    pub fn insert(&self, blob: &str, rendered: Arc<Rendered>) {
        if self.budget == 0 {
            return;
        }
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        self.insert_locked(&mut g, blob.to_owned(), rendered);
    }

    fn insert_locked(&self, g: &mut Generations, key: String, r: Arc<Rendered>) {
        let cost = r.cost(&key);
        if g.young_bytes + cost > self.budget / 2 {
            g.old = std::mem::take(&mut g.young);
            g.young_bytes = 0;
        }
        g.young_bytes += cost;
        if let Some(prev) = g.young.insert(key.clone(), r) {
            g.young_bytes = g.young_bytes.saturating_sub(prev.cost(&key));
        }
    }

    /// Entries held now (both generations), for tests.
    #[cfg(test)]
    fn len(&self) -> usize {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.young.len() + g.old.len()
    }
}

impl Default for RenderCache {
    fn default() -> Self {
        RenderCache::new(crate::ImapConfig::default().render_cache_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(n: usize) -> Arc<Rendered> {
        Arc::new(Rendered {
            envelope: vec![b'e'; n],
            body: Vec::new(),
            bodystructure: vec![b'b'; n],
        })
    }

    #[test]
    fn hits_survive_one_generation_and_the_budget_holds() {
        let c = RenderCache::new(10_000);
        c.insert("a", item(100));
        assert_eq!(c.get("a").as_deref(), Some(&*item(100)));
        assert!(c.get("b").is_none());
        // Fill well past the budget: the oldest entries go, the total stays bounded.
        for i in 0..1000 {
            c.insert(&format!("k{i}"), item(100));
        }
        assert!(c.get("a").is_none(), "evicted");
        assert!(c.get("k999").is_some(), "the newest stays");
        assert!(c.len() * (200 + 96) <= 10_000 + 400, "{} entries", c.len());
    }

    #[test]
    fn a_hit_in_the_old_generation_is_kept_on() {
        let c = RenderCache::new(2 * 3 * 300);
        c.insert("keep", item(100));
        c.insert("x1", item(100));
        c.insert("x2", item(100));
        c.insert("x3", item(100)); // young full: keep/x1/x2 become old
        assert!(c.get("keep").is_some(), "found in the old generation");
        c.insert("x4", item(100));
        c.insert("x5", item(100)); // another turn: the old one goes
        assert!(c.get("keep").is_some(), "moved to the young generation");
        assert!(c.get("x1").is_none());
    }

    #[test]
    fn a_zero_budget_keeps_nothing() {
        let c = RenderCache::new(0);
        c.insert("a", item(1));
        assert!(c.get("a").is_none());
    }
}
