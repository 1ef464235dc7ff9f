//! THREAD REFERENCES' keys kept compactly (issue 19: a 100,000-message
//! mailbox's THREAD allocated ~73 MB of small strings and vectors). Each
//! distinct message id is stored once in one buffer and known by a
//! number ([`Interner`]); a message is its id's number, a range of
//! reference numbers in one shared vector, its date and a range of its
//! raw Subject in one shared buffer ([`KeyList`]). Once every message is
//! in, the ids' text and table are dropped and the containers of RFC 5256
//! step 1 are linked by number, with children as linked lists
//! ([`link`]): no allocation per message or per container.
//!
//! Numbering keeps the answer identical to linking by id text: two ids
//! get the same number exactly when their bytes are equal (the table
//! compares the text on every hash match), and containers are created in
//! the same order as before (first mention, message by message).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use super::thread::{HeadKeys, Links};

/// No number: a message without an id, a container without a message,
/// parent, child or sibling.
pub(super) const NONE: u32 = u32::MAX;

/// Passes on a hash computed already (the table's keys are hashes).
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Each distinct message id once, numbered from 0 in order of first
/// sight.
struct Interner {
    text: Vec<u8>,
    /// Id `k` is `text[start(k)..ends[k]]`.
    ends: Vec<u32>,
    /// By the id's (keyed) hash, the first id with that hash.
    first: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    /// The next id with the same hash as id `k` (`NONE` ends the chain).
    next: Vec<u32>,
    hasher: RandomState,
}

impl Interner {
    fn with_capacity(n: usize) -> Interner {
        Interner {
            text: Vec::with_capacity(n * 40),
            ends: Vec::with_capacity(n),
            first: HashMap::with_capacity_and_hasher(n, BuildHasherDefault::default()),
            next: Vec::with_capacity(n),
            hasher: RandomState::new(),
        }
    }

    fn get(&self, k: u32) -> &[u8] {
        let k = k as usize;
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.text[start..self.ends[k] as usize]
    }

    fn add(&mut self, id: &[u8]) -> u32 {
        let k = self.ends.len() as u32;
        self.text.extend_from_slice(id);
        self.ends.push(self.text.len() as u32);
        self.next.push(NONE);
        k
    }

    /// The number of `id`, a new one the first time it is seen.
    fn intern(&mut self, id: &str) -> u32 {
        let id = id.as_bytes();
        self.intern_hashed(self.hasher.hash_one(id), id)
    }

    /// [`Interner::intern`] of `id`, whose hash is `h`.
    fn intern_hashed(&mut self, h: u64, id: &[u8]) -> u32 {
        let Some(&head) = self.first.get(&h) else {
            let k = self.add(id);
            self.first.insert(h, k);
            return k;
        };
        let mut k = head;
        loop {
            if self.get(k) == id {
                return k;
            }
            if self.next[k as usize] == NONE {
                let new = self.add(id);
                self.next[k as usize] = new;
                return new;
            }
            k = self.next[k as usize];
        }
    }

    fn count(&self) -> usize {
        self.ends.len()
    }

    /// Gives the memory back; only the count of ids is still needed.
    fn release(&mut self) {
        self.text = Vec::new();
        self.first = HashMap::default();
        self.next = Vec::new();
    }
}

/// REFERENCES' keys of messages in sequence order, compactly.
pub struct KeyList {
    ids: Interner,
    /// How many ids there were when the table was released.
    id_count: usize,
    /// Per message: its Message-ID's number (`NONE`: none).
    id: Vec<u32>,
    /// Per message: its references' range in `refs`.
    ref_at: Vec<(u32, u32)>,
    refs: Vec<u32>,
    /// Per message: the sent date (or INTERNALDATE) and the sequence number.
    dates: Vec<(i64, u32)>,
    /// Per message: its first Subject field, raw, as a range in `subjects`
    /// (empty: none).
    subject_at: Vec<(u32, u32)>,
    subjects: Vec<u8>,
}

impl KeyList {
    /// Room for `n` messages.
    pub fn with_capacity(n: usize) -> KeyList {
        KeyList {
            ids: Interner::with_capacity(n),
            id_count: 0,
            id: Vec::with_capacity(n),
            ref_at: Vec::with_capacity(n),
            refs: Vec::with_capacity(n),
            dates: Vec::with_capacity(n),
            subject_at: Vec::with_capacity(n),
            subjects: Vec::with_capacity(n * 32),
        }
    }

    pub fn len(&self) -> usize {
        self.id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    /// Adds the next message.
    pub fn push(&mut self, k: &HeadKeys) {
        self.push_links(&k.links, k.date);
        let at = self.subject_range(k.subject.as_deref().unwrap_or_default());
        self.subject_at.push(at);
    }

    /// Adds the next message by its links and date alone (its subject is
    /// read by the caller of [`references_with`]).
    pub(super) fn push_links(&mut self, l: &Links, date: (i64, u32)) {
        let id = l.id.as_deref().map_or(NONE, |i| self.ids.intern(i));
        let at = self.ref_range(&l.refs);
        self.id.push(id);
        self.ref_at.push(at);
        self.dates.push(date);
    }

    /// Adds a message whose keys come later ([`KeyList::set`]).
    pub fn push_placeholder(&mut self, seq: u32) {
        self.id.push(NONE);
        self.ref_at.push((0, 0));
        self.dates.push((0, seq));
        self.subject_at.push((0, 0));
    }

    /// Replaces the keys of message `i` (a placeholder's).
    pub fn set(&mut self, i: usize, k: &HeadKeys) {
        self.id[i] = k.links.id.as_deref().map_or(NONE, |x| self.ids.intern(x));
        self.ref_at[i] = self.ref_range(&k.links.refs);
        self.dates[i] = k.date;
        self.subject_at[i] = self.subject_range(k.subject.as_deref().unwrap_or_default());
    }

    /// Takes message `i` out (its numbers stay in the shared buffers).
    pub fn remove(&mut self, i: usize) {
        self.id.remove(i);
        self.ref_at.remove(i);
        self.dates.remove(i);
        self.subject_at.remove(i);
    }

    fn ref_range(&mut self, refs: &[String]) -> (u32, u32) {
        let start = self.refs.len() as u32;
        for r in refs {
            let n = self.ids.intern(r);
            self.refs.push(n);
        }
        (start, self.refs.len() as u32)
    }

    fn subject_range(&mut self, s: &[u8]) -> (u32, u32) {
        let start = self.subjects.len() as u32;
        self.subjects.extend_from_slice(s);
        (start, self.subjects.len() as u32)
    }

    /// Message `m`'s raw first Subject (empty without one).
    pub(super) fn subject(&self, m: usize) -> &[u8] {
        let (a, b) = self.subject_at[m];
        &self.subjects[a as usize..b as usize]
    }

    pub(super) fn dates(&self) -> &[(i64, u32)] {
        &self.dates
    }

    /// Drops the ids' text and table: numbers are all that is left to
    /// read, and the linking needs the memory.
    pub(super) fn release_ids(&mut self) {
        self.id_count = self.id_count.max(self.ids.count());
        self.ids.release();
    }
}

/// A container of RFC 5256 step 1, by number; its children are a doubly
/// linked list (in the order they were linked).
#[derive(Clone, Copy)]
struct Node {
    message: u32,
    parent: u32,
    first: u32,
    last: u32,
    prev: u32,
    next: u32,
}

const EMPTY: Node = Node {
    message: NONE,
    parent: NONE,
    first: NONE,
    last: NONE,
    prev: NONE,
    next: NONE,
};

/// The containers of step 1.
pub(super) struct Nodes {
    n: Vec<Node>,
}

impl Nodes {
    fn new_node(&mut self) -> u32 {
        self.n.push(EMPTY);
        (self.n.len() - 1) as u32
    }

    /// True when `a` is `b` or one of its ancestors.
    fn is_ancestor(&self, a: u32, mut b: u32) -> bool {
        loop {
            if a == b {
                return true;
            }
            match self.n[b as usize].parent {
                NONE => return false,
                p => b = p,
            }
        }
    }

    fn unlink(&mut self, child: u32) {
        let c = self.n[child as usize];
        if c.parent == NONE {
            return;
        }
        match c.prev {
            NONE => self.n[c.parent as usize].first = c.next,
            p => self.n[p as usize].next = c.next,
        }
        match c.next {
            NONE => self.n[c.parent as usize].last = c.prev,
            x => self.n[x as usize].prev = c.prev,
        }
        let c = &mut self.n[child as usize];
        c.parent = NONE;
        c.prev = NONE;
        c.next = NONE;
    }

    fn link(&mut self, parent: u32, child: u32) {
        self.unlink(child);
        let last = self.n[parent as usize].last;
        {
            let c = &mut self.n[child as usize];
            c.parent = parent;
            c.prev = last;
            c.next = NONE;
        }
        match last {
            NONE => self.n[parent as usize].first = child,
            l => self.n[l as usize].next = child,
        }
        self.n[parent as usize].last = child;
    }

    /// The message in container `n` (`None`: a dummy).
    pub(super) fn message(&self, n: u32) -> Option<usize> {
        match self.n[n as usize].message {
            NONE => None,
            m => Some(m as usize),
        }
    }

    /// The children of `n`, in the order they were linked.
    pub(super) fn children(&self, n: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(
            Some(self.n[n as usize].first).filter(|&c| c != NONE),
            move |&c| Some(self.n[c as usize].next).filter(|&x| x != NONE),
        )
    }

    /// The containers without a parent (step 2), in creation order.
    pub(super) fn roots(&self) -> Vec<u32> {
        (0..self.n.len() as u32)
            .filter(|&i| self.n[i as usize].parent == NONE)
            .collect()
    }
}

/// RFC 5256 §3 step 1 over `keys`: a container per message and per id
/// referred to, linked parent to child.
pub(super) fn link(keys: &KeyList) -> Nodes {
    let ids = keys.id_count.max(keys.ids.count());
    let mut a = Nodes {
        n: Vec::with_capacity(ids + keys.len() / 8),
    };
    // Id number to container, made at the id's first mention.
    let mut node_of: Vec<u32> = vec![NONE; ids];
    let by_id = |a: &mut Nodes, node_of: &mut [u32], k: u32| -> u32 {
        let slot = &mut node_of[k as usize];
        if *slot == NONE {
            *slot = a.new_node();
        }
        *slot
    };
    let mut chain: Vec<u32> = Vec::new();
    for i in 0..keys.len() {
        // (1A) The message's container; a missing or duplicate id gets a
        // container of its own.
        let id = keys.id[i];
        let node = if id != NONE
            && (node_of[id as usize] == NONE || a.message(node_of[id as usize]).is_none())
        {
            by_id(&mut a, &mut node_of, id)
        } else {
            a.new_node()
        };
        a.n[node as usize].message = i as u32;
        // (1B) Link the References chain, parent before child, leaving
        // existing links and refusing loops.
        chain.clear();
        let (from, to) = keys.ref_at[i];
        for &r in &keys.refs[from as usize..to as usize] {
            let n = by_id(&mut a, &mut node_of, r);
            chain.push(n);
        }
        for w in chain.windows(2) {
            let (p, c) = (w[0], w[1]);
            if a.n[c as usize].parent == NONE && !a.is_ancestor(c, p) {
                a.link(p, c);
            }
        }
        // (1C) The last reference is the parent, unless that makes a loop.
        // A parent presumed from another message's References goes first,
        // even when the new link is then refused: the message's own
        // References say better where it belongs.
        a.unlink(node);
        if let Some(&p) = chain.last()
            && !a.is_ancestor(node, p)
        {
            a.link(p, node);
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_get_one_number_each_and_equal_bytes_the_same_number() {
        let mut ids = Interner::with_capacity(4);
        let a = ids.intern("a@x");
        let b = ids.intern("b@x");
        assert_ne!(a, b);
        assert_eq!(ids.intern("a@x"), a);
        assert_ne!(ids.intern("A@x"), a, "ids compare by bytes");
        // Many ids, some repeated: a number per distinct text.
        let mut seen = HashMap::new();
        for i in 0..20_000u32 {
            let id = format!("{}@example.org", i % 7_001);
            let n = ids.intern(&id);
            assert_eq!(*seen.entry(id.clone()).or_insert(n), n, "{id}");
            assert_eq!(ids.get(n), id.as_bytes());
        }
        assert_eq!(ids.count(), 7_001 + 3);
    }

    #[test]
    fn ids_with_the_same_hash_stay_apart() {
        // Every id in one chain: the text decides.
        let mut ids = Interner::with_capacity(4);
        for (i, id) in ["p", "q", "r", "p", "r"].iter().enumerate() {
            let k = ids.intern_hashed(7, id.as_bytes());
            assert_eq!(k, [0, 1, 2, 0, 2][i], "{id}");
        }
        assert_eq!(ids.first.len(), 1);
    }

    #[test]
    fn children_keep_the_order_they_were_linked_in_and_unlinking_mends_the_list() {
        let mut a = Nodes { n: Vec::new() };
        let p = a.new_node();
        let c: Vec<u32> = (0..4).map(|_| a.new_node()).collect();
        for &x in &c {
            a.link(p, x);
        }
        assert_eq!(a.children(p).collect::<Vec<_>>(), c);
        a.unlink(c[1]);
        a.unlink(c[3]);
        assert_eq!(a.children(p).collect::<Vec<_>>(), [c[0], c[2]]);
        a.link(p, c[1]);
        a.link(c[2], c[0]);
        assert_eq!(a.children(p).collect::<Vec<_>>(), [c[2], c[1]]);
        assert_eq!(a.children(c[2]).collect::<Vec<_>>(), [c[0]]);
        assert!(a.is_ancestor(p, c[0]));
        assert!(!a.is_ancestor(c[1], c[0]));
        assert_eq!(a.roots(), [p, c[3]]);
    }
}
