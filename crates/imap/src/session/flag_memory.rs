//! The flags of the selected mailbox kept in the session (issue 19:
//! `UID FETCH 1:* (UID FLAGS)` and `UID SEARCH UNSEEN` on 100,000
//! messages without a pass over the store): per message, beside
//! `Selected::uids`, the number of its flags in a table of the distinct
//! sets (`postern_store::FlagSets`, a `u16` each: 200 KB for 100,000
//! messages), read with SELECT's pass and kept in step by the change feed.
//!
//! What memory answers must be what a read of the store would give at
//! that point of the session, so:
//! - the state it holds is that of one MODSEQ (`at`): a read of the store
//!   (SELECT's view, or a rebuild) is of the HIGHESTMODSEQ read in the
//!   same transaction (`snap`); the feed's events after it are applied in
//!   commit order (a change carries the message's whole flags, a new
//!   message the flags it was written with), and those at or below `snap`
//!   are already in it. Before answering, the session takes every event
//!   the feed holds (the writer publishes before it acknowledges, so
//!   every write any client saw completed is there) and compares `at`
//!   with the mailbox's HIGHESTMODSEQ in the store (one indexed read):
//!   equal, memory is the store; not equal (a commit not yet published, a
//!   write by another process, which the feed never carries), or after a
//!   lost event (`stale`), it is read again whole;
//! - a message the store no longer has gives no line and no match: those
//!   the feed has reported are in `pending_expunged`, those a read did not
//!   find hold [`NO_SET`];
//! - MODSEQ is not kept (8 bytes a message): a FETCH or SEARCH that names
//!   it reads the store, as everything else the session asks does;
//! - `\Recent` is the session's own (`Selected::first_recent`);
//! - a state read from the store may be newer than events the feed still
//!   owes (`ahead`: the messages changed after the feed's floor at that
//!   read, with their MODSEQ), so a FETCH that shows one of them notes it
//!   shown at that MODSEQ, as a FETCH read from the store does, and the
//!   older event is not sent after it (RFC 7162 §3.1).
//!
//! The table keeps every set a message had since it was built; it is
//! compacted (sets no message has any more dropped) when it has doubled,
//! and memory is given up for the rest of the selection (the store
//! answers) if 65,535 distinct sets are in use at once.

use postern_store::{FlagSets, Flags, MailboxView, ModSeq, NO_SET};

use super::selected::Selected;
use super::{Session, State};
use crate::wire::SequenceSet;

/// The table is first compacted at this many sets.
const COMPACT_MIN: usize = 256;

/// Up to this many sets accepted, a pass compares numbers (`each_with`).
const FEW_SETS: usize = 8;

/// The flags of the selected mailbox's messages (module doc).
pub struct FlagMemory {
    /// Per message, by sequence number - 1 (beside `Selected::uids`): the
    /// number of its flags in `sets`, or [`NO_SET`] when the store did not
    /// have it at the last read.
    slots: Vec<u16>,
    sets: FlagSets,
    /// The HIGHESTMODSEQ of the last read of the store: the feed's events
    /// up to it are in `slots` already.
    snap: u64,
    /// The MODSEQ the state held is that of.
    at: u64,
    /// (UID, MODSEQ) of messages whose state, read from the store, is
    /// newer than the feed's floor then; dropped as the floor passes them.
    ahead: Vec<(u32, u64)>,
    /// An event memory could not follow: read the store again before use.
    stale: bool,
    compact_at: usize,
}

impl FlagMemory {
    /// Memory from a view of the store (SELECT's, or a rebuild's mapped
    /// onto the session's messages): `slots` beside the session's UIDs.
    pub(super) fn from_view(slots: Vec<u16>, view: &mut MailboxView) -> FlagMemory {
        let sets = std::mem::take(&mut view.flag_sets);
        let compact_at = (sets.len() * 2).max(COMPACT_MIN);
        FlagMemory {
            slots,
            sets,
            snap: view.highest_modseq.0,
            at: view.highest_modseq.0,
            ahead: view.changed_since.iter().map(|&(u, m)| (u, m.0)).collect(),
            stale: false,
            compact_at,
        }
    }

    /// The flags of the message at `index` (sequence number - 1), if the
    /// store has it as far as memory knows.
    pub(super) fn flags_at(&self, index: usize) -> Option<&Flags> {
        self.sets.get(*self.slots.get(index)?)
    }

    /// Calls `f` with the index (sequence number - 1) of every message
    /// among the first `known` whose flags `can` accepts, in order. The
    /// sets accepted are picked first; when they are few (UNSEEN: the
    /// sets without `\Seen`), the numbers are compared a chunk at a time,
    /// which the compiler turns into vector compares (100,000 messages in
    /// tens of microseconds).
    pub(super) fn each_with(
        &self,
        known: usize,
        can: impl Fn(&Flags) -> bool,
        mut f: impl FnMut(usize, &Flags),
    ) {
        let slots = &self.slots[..known.min(self.slots.len())];
        let wanted: Vec<u16> = self
            .sets
            .iter()
            .enumerate()
            .filter(|(_, fl)| can(fl))
            .filter_map(|(i, _)| u16::try_from(i).ok())
            .collect();
        let mut call = |i: usize, n: u16| {
            if let Some(fl) = self.sets.get(n) {
                f(i, fl);
            }
        };
        if wanted.len() > FEW_SETS {
            let mut accepted = vec![false; usize::from(NO_SET) + 1];
            for &w in &wanted {
                accepted[usize::from(w)] = true;
            }
            for (i, &n) in slots.iter().enumerate() {
                if accepted[usize::from(n)] {
                    call(i, n);
                }
            }
            return;
        }
        const CHUNK: usize = 64;
        for (c, chunk) in slots.chunks(CHUNK).enumerate() {
            let mut any = false;
            for &w in &wanted {
                any |= chunk.iter().fold(false, |a, &n| a | (n == w));
            }
            if any {
                for (j, &n) in chunk.iter().enumerate() {
                    if wanted.contains(&n) {
                        call(c * CHUNK + j, n);
                    }
                }
            }
        }
    }

    /// The MODSEQ memory's state is that of, unless it must be read again.
    pub(super) fn current_at(&self) -> Option<u64> {
        (!self.stale).then_some(self.at)
    }

    /// The messages read newer than the feed's floor then, with their MODSEQ.
    pub(super) fn ahead(&self) -> &[(u32, u64)] {
        &self.ahead
    }

    /// The feed's floor is now `floor`: no older event can come.
    pub(super) fn floor_passed(&mut self, floor: u64) {
        if !self.ahead.is_empty() {
            self.ahead.retain(|&(_, m)| m > floor);
        }
    }

    /// Whether an event at `modseq` is news to memory (newer than its
    /// last read), noting it as the state held.
    fn passes(&mut self, modseq: ModSeq) -> bool {
        self.at = self.at.max(modseq.0);
        modseq.0 > self.snap
    }

    pub(super) fn mark_stale(&mut self) {
        self.stale = true;
    }

    /// The number of `f`; `None` when the table is full even compacted.
    fn number(&mut self, f: &Flags) -> Option<u16> {
        if self.sets.len() >= self.compact_at {
            self.sets.compact(&mut self.slots);
            self.compact_at = (self.sets.len() * 2).max(COMPACT_MIN);
        }
        self.sets.number(f)
    }
}

impl Selected {
    /// A change of `uid`'s flags from the feed. Memory is given up when
    /// its table is full.
    pub(super) fn memory_flags(&mut self, uid: u32, flags: &Flags, modseq: ModSeq) {
        let i = self.uids.binary_search(&uid).ok();
        let Some(m) = &mut self.memory else { return };
        if !m.passes(modseq) {
            return;
        }
        let Some(i) = i else { return };
        match m.number(flags) {
            Some(n) => m.slots[i] = n,
            None => self.memory = None,
        }
    }

    /// An expunge (the messages go to `pending_expunged`) or new messages
    /// (`push_message`) from the feed: memory's state moves on to `modseq`.
    pub(super) fn memory_moves_on(&mut self, modseq: ModSeq) {
        if let Some(m) = &mut self.memory {
            m.passes(modseq);
        }
    }

    /// Appends a message the feed announced at `modseq` with `flags`.
    pub(super) fn push_message(&mut self, uid: u32, flags: Option<&Flags>, modseq: ModSeq) {
        self.uids.push(uid);
        let Some(m) = &mut self.memory else { return };
        let n = match flags {
            // Not known from this event, or older than the last read, which
            // did not see it among the session's messages: read again.
            Some(f) if m.passes(modseq) => m.number(f),
            _ => {
                m.stale = true;
                Some(NO_SET)
            }
        };
        match n {
            Some(n) => m.slots.push(n),
            None => self.memory = None,
        }
    }

    /// Keeps the messages whose UID `keep` accepts (memory in step).
    pub(super) fn retain_messages(&mut self, mut keep: impl FnMut(u32) -> bool) {
        match &mut self.memory {
            Some(m) => {
                let mut kept = Vec::with_capacity(self.uids.len());
                self.uids.retain(|&u| {
                    let k = keep(u);
                    kept.push(k);
                    k
                });
                let mut kept = kept.into_iter();
                m.slots.retain(|_| kept.next().unwrap_or(true));
            }
            None => self.uids.retain(|&u| keep(u)),
        }
    }

    /// Removes the message at `index` (sequence number - 1).
    pub(super) fn remove_message(&mut self, index: usize) {
        self.uids.remove(index);
        if let Some(m) = &mut self.memory {
            m.slots.remove(index);
        }
    }

    /// Memory from a new read of the store (`view`, whose changes after
    /// the feed's floor are listed apart), mapped onto the session's
    /// messages: one the view lacks holds [`NO_SET`].
    pub(super) fn memory_reread(&mut self, mut view: MailboxView) {
        if view.flag_slots.len() != view.uids.len() {
            self.memory = None;
            return;
        }
        let mut rows = view
            .uids
            .iter()
            .copied()
            .zip(view.flag_slots.iter().copied())
            .peekable();
        let slots: Vec<u16> = self
            .uids
            .iter()
            .map(|&u| {
                while rows.next_if(|r| r.0 < u).is_some() {}
                rows.next_if(|r| r.0 == u).map_or(NO_SET, |r| r.1)
            })
            .collect();
        view.uids = Vec::new();
        view.flag_slots = Vec::new();
        self.memory = Some(FlagMemory::from_view(slots, &mut view));
    }
}

impl Selected {
    /// Whether a command on `set` (by UID when `uid`) named the message
    /// at sequence number `seq` with `uid_of`, among the first `known`.
    fn names(&self, set: &SequenceSet, uid: bool, (seq, uid_of): (u32, u32), known: usize) -> bool {
        let known = known.min(self.uids.len());
        if seq == 0 || seq as usize > known {
            return false;
        }
        match set {
            SequenceSet::Saved => self.saved.as_deref().is_some_and(|v| v.contains(&uid_of)),
            _ if uid => set.contains(uid_of, self.uids[known - 1]),
            _ => set.contains(seq, known as u32),
        }
    }
}

impl Session {
    /// Takes every event the feed holds and makes sure memory holds the
    /// flags the store has now (module doc): `false` when the store must
    /// answer (no memory, a lost event to resynchronise first, a failed
    /// read).
    pub(super) async fn memory_ready(&mut self) -> bool {
        let State::Selected(s) = &mut self.state else {
            return false;
        };
        if s.memory.is_none() {
            return false;
        }
        while let Some(ev) = s.sub.try_recv() {
            s.apply(ev);
        }
        // `sync` resynchronises at the end of the command.
        if s.needs_reload {
            return false;
        }
        let id = s.mailbox.id;
        let floor = s.floor;
        if let Some(at) = s.memory.as_ref().and_then(FlagMemory::current_at) {
            match self.ctx.store.highest_modseq(id).await {
                Ok(Some(h)) if h.0 == at => return true,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "flags in memory not used");
                    return false;
                }
            }
        }
        let view = match self.ctx.store.mailbox_view(id, ModSeq(floor)).await {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(error = %e, "flags in memory not read again");
                return false;
            }
        };
        let State::Selected(s) = &mut self.state else {
            return false;
        };
        s.memory_reread(view);
        s.memory.is_some()
    }

    /// A FETCH of `set` showed the flags memory holds: the feed's events
    /// not yet sent for those messages are older (they are in memory) and
    /// are not sent after them, and a message read newer than the feed's
    /// floor is noted shown at its MODSEQ, as a FETCH read from the store
    /// notes it (`feed_sync.rs`).
    pub(super) fn memory_shown(&mut self, set: &SequenceSet, uid: bool, known: usize) {
        let State::Selected(s) = &mut self.state else {
            return;
        };
        let Some(m) = &s.memory else { return };
        let got_a_line = |s: &Selected, u: u32| -> bool {
            let Some(q) = s.seq_of(u) else { return false };
            !s.pending_expunged.contains(&u)
                && m.flags_at(q as usize - 1).is_some()
                && s.names(set, uid, (q, u), known)
        };
        let sent: Vec<u32> = s
            .pending_flags
            .keys()
            .copied()
            .filter(|&u| got_a_line(s, u))
            .collect();
        let ahead: Vec<(u32, u64)> = m
            .ahead()
            .iter()
            .copied()
            .filter(|&(u, _)| got_a_line(s, u))
            .collect();
        for u in sent {
            s.pending_flags.remove(&u);
        }
        for (u, modseq) in ahead {
            s.mark_shown(u, ModSeq(modseq));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use postern_store::{
        ChangeKind, FeedEvent, MailboxChange, MailboxId, Store, StoreOptions, SystemFlags, Uid,
    };

    use super::*;

    fn change(modseq: u64, kind: ChangeKind) -> FeedEvent {
        FeedEvent::Change(Arc::new(MailboxChange {
            mailbox: MailboxId(1),
            modseq: ModSeq(modseq),
            kind,
        }))
    }

    fn uid(u: u32) -> Uid {
        Uid::new(u).expect("uid")
    }

    fn shown(s: &Selected) -> Vec<Option<Flags>> {
        let m = s.memory.as_ref().expect("memory");
        (0..s.uids.len()).map(|i| m.flags_at(i).cloned()).collect()
    }

    #[test]
    fn the_feed_after_the_read_is_applied_and_what_the_read_saw_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), StoreOptions::default()).expect("store");
        let mut s = Selected::for_tests(vec![1, 2, 3], &store);
        let seen = Flags::new(SystemFlags::SEEN, []);
        let work = Flags::new(SystemFlags::FLAGGED, ["$Work".to_string()]);
        let none = Flags::default();
        let mut sets = FlagSets::default();
        let slots = [&seen, &none, &none]
            .iter()
            .map(|f| sets.number(f).expect("number"))
            .collect();
        // The read was of MODSEQ 10: UID 2 got its flags at 10.
        s.memory_reread(MailboxView {
            uids: vec![1, 2, 3],
            first_unseen: Some(1),
            keywords: BTreeSet::new(),
            flag_slots: slots,
            flag_sets: sets,
            highest_modseq: ModSeq(10),
            changed_since: Vec::new(),
        });
        // The event of 10 comes after the read: already in it.
        s.apply(change(
            10,
            ChangeKind::Flags {
                uid: uid(2),
                flags: seen.clone(),
            },
        ));
        assert_eq!(shown(&s)[1], Some(none.clone()));
        // One commit at 11 changes two messages: both are applied.
        for u in [2, 3] {
            s.apply(change(
                11,
                ChangeKind::Flags {
                    uid: uid(u),
                    flags: work.clone(),
                },
            ));
        }
        s.apply(change(
            12,
            ChangeKind::New {
                uids: vec![uid(4)],
                flags: vec![seen.clone()],
            },
        ));
        s.apply(change(13, ChangeKind::Expunged { uids: vec![uid(1)] }));
        assert_eq!(
            shown(&s),
            [
                Some(seen.clone()),
                Some(work.clone()),
                Some(work),
                Some(seen)
            ]
        );
        let m = s.memory.as_ref().expect("memory");
        assert_eq!(m.current_at(), Some(13), "the state is that of 13");
        assert!(s.pending_expunged.contains(&1), "the expunge is pending");
        // A message the session gives up goes with its flags.
        s.retain_messages(|u| u != 1);
        assert_eq!(shown(&s).len(), 3);
        // A lost event: memory must be read again.
        s.apply(FeedEvent::Resync);
        assert_eq!(s.memory.as_ref().and_then(FlagMemory::current_at), None);
    }
}
