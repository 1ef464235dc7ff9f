//! The change feed turned into EXISTS / EXPUNGE / FETCH FLAGS so every
//! session on a mailbox stays in sync (RFC 9051 §7.5.1: no EXPUNGE while a
//! FETCH, STORE or SEARCH without UID is answered; sequence numbers stay
//! valid). With CONDSTORE on, flag updates carry MODSEQ; with QRESYNC on,
//! expunges go out as VANISHED (RFC 7162 §3.2.10).
//!
//! A session shows message states from two sources: reads of the store
//! (FETCH, STORE's answers, SELECT's QRESYNC) and the feed. A read can be
//! newer than feed events not yet heard (the commit is visible before it
//! is published), so every state shown is remembered by MODSEQ until the
//! feed has passed it, and an older event for that message is dropped:
//! per message, the MODSEQ a session sends never goes back, and always
//! comes with the flags of that MODSEQ (RFC 7162 §3.1).
//!
//! Every event also goes into the flags the session keeps
//! (`flag_memory.rs`), whatever the client is sent of it; the messages'
//! list changes only through that file's methods, so both stay in step.

use std::collections::BTreeMap;

use postern_store::{ChangeKind, FeedEvent, Flags, ModSeq, Uid};

use super::selected::{Selected, flags_shown};
use super::{Session, State};
use super::{condstore, keywords};

impl Selected {
    /// Takes one feed event into the pending lists; `false` when the
    /// session must compare with the store (it will at the next sync).
    pub fn apply(&mut self, ev: FeedEvent) -> bool {
        let ok = match ev {
            FeedEvent::Change(c) => {
                if c.modseq > self.mailbox.highest_modseq {
                    self.mailbox.highest_modseq = c.modseq;
                }
                let ok = self.apply_change(&c);
                // The other changes of the same commit share its MODSEQ
                // and may still follow; anything older has come.
                let floor = c.modseq.0.saturating_sub(1);
                if floor > self.floor {
                    self.floor = floor;
                    self.shown.retain(|_, m| *m > floor);
                    if let Some(m) = &mut self.memory {
                        m.floor_passed(floor);
                    }
                }
                ok
            }
            FeedEvent::Resync => {
                // Lost events: the resync shows every state anew.
                self.silent.clear();
                false
            }
        };
        if !ok {
            self.needs_reload = true;
            // Memory missed what the store has: read it again before use.
            if let Some(m) = &mut self.memory {
                m.mark_stale();
            }
        }
        ok
    }

    /// Messages this session expunged itself (MOVE): reported like the
    /// feed's expunges, without moving `floor`, since the feed may still
    /// hold older events.
    pub(super) fn expunged_here(&mut self, uids: &[Uid], modseq: ModSeq) {
        if modseq > self.mailbox.highest_modseq {
            self.mailbox.highest_modseq = modseq;
        }
        for u in uids {
            if self.seq_of(u.get()).is_some() {
                self.pending_expunged.insert(u.get());
                self.pending_flags.remove(&u.get());
            }
        }
    }

    /// Notes that the client was shown `uid` as of `modseq`.
    pub(super) fn mark_shown(&mut self, uid: u32, modseq: ModSeq) {
        if modseq.0 > self.floor {
            let m = self.shown.entry(uid).or_insert(0);
            *m = (*m).max(modseq.0);
        }
    }

    /// Whether a state of `uid` at `modseq` is newer than what the client
    /// was shown.
    fn is_news(&self, uid: u32, modseq: ModSeq) -> bool {
        self.shown.get(&uid).is_none_or(|&m| modseq.0 > m)
    }

    /// Queues an unsolicited FETCH of `uid`, unless a newer state is
    /// already shown or queued.
    fn queue_flags(&mut self, uid: u32, flags: Flags, modseq: ModSeq) {
        if self.is_news(uid, modseq)
            && self
                .pending_flags
                .get(&uid)
                .is_none_or(|(_, m)| modseq > *m)
        {
            self.pending_flags.insert(uid, (flags, modseq));
        }
    }

    fn apply_change(&mut self, c: &postern_store::MailboxChange) -> bool {
        {
            match &c.kind {
                ChangeKind::New { uids, flags } => {
                    self.memory_moves_on(c.modseq);
                    for (i, u) in uids.iter().enumerate() {
                        if self.uids.last().is_none_or(|last| u.get() > *last) {
                            self.push_message(u.get(), flags.get(i), c.modseq);
                            self.pending_exists = true;
                        }
                    }
                }
                ChangeKind::Flags { uid, flags } => {
                    // Memory follows every change, whatever the client is sent.
                    self.memory_flags(uid.get(), flags, c.modseq);
                    // The session's own silent change, with nothing from
                    // elsewhere before it: the client knows this state. An
                    // older change first means the whole state must go.
                    if self.silent.remove(&uid.get()) == Some(c.modseq.0) {
                        return true;
                    }
                    if self.seq_of(uid.get()).is_some()
                        && !self.pending_expunged.contains(&uid.get())
                    {
                        self.queue_flags(uid.get(), flags.clone(), c.modseq);
                    }
                }
                ChangeKind::Expunged { uids } => {
                    self.memory_moves_on(c.modseq);
                    for u in uids {
                        if self.seq_of(u.get()).is_some() {
                            self.pending_expunged.insert(u.get());
                            self.pending_flags.remove(&u.get());
                        }
                    }
                }
                ChangeKind::Gone => return false,
            }
        }
        true
    }

    /// Waits for the next feed event (used while IDLE).
    pub async fn next_event(&mut self) -> Option<FeedEvent> {
        self.sub.recv().await
    }
}

impl Session {
    /// Sends what changed since the last report. EXPUNGE (or VANISHED,
    /// RFC 7162 §3.2.10, once QRESYNC is on) only when `allow_expunge`
    /// (RFC 9051 §7.5.1).
    pub(super) async fn sync(&mut self, out: &mut Vec<u8>, allow_expunge: bool) {
        let State::Selected(s) = &mut self.state else {
            return;
        };
        while let Some(ev) = s.sub.try_recv() {
            s.apply(ev);
        }
        if std::mem::take(&mut s.needs_reload) {
            self.resync(out).await;
        }
        let enabled = self.enabled;
        let State::Selected(s) = &mut self.state else {
            return;
        };
        if allow_expunge && !s.pending_expunged.is_empty() {
            // A message that came and went since the last EXISTS was never
            // numbered for the client: it leaves without an EXPUNGE, which
            // would name a sequence number past the client's count (RFC 9051
            // §7.4.1; VANISHED, too, counts down, RFC 7162 §3.2.10).
            let told = s.told_exists;
            let unseen = s.pending_expunged.split_off(&told.saturating_add(1));
            if !unseen.is_empty() {
                s.retain_messages(|u| !unseen.contains(&u));
            }
            let gone: Vec<u32> = std::mem::take(&mut s.pending_expunged)
                .into_iter()
                .filter(|u| s.seq_of(*u).is_some())
                .collect();
            if enabled.vanished() {
                condstore::vanished(out, false, gone.iter().copied());
                s.retain_messages(|u| gone.binary_search(&u).is_err());
            } else {
                let mut seqs: Vec<u32> = gone.iter().filter_map(|u| s.seq_of(*u)).collect();
                seqs.sort_unstable_by(|a, b| b.cmp(a));
                for q in seqs {
                    out.extend_from_slice(format!("* {q} EXPUNGE\r\n").as_bytes());
                    s.remove_message(q as usize - 1);
                }
            }
        }
        if s.pending_exists {
            s.pending_exists = false;
            out.extend_from_slice(format!("* {} EXISTS\r\n", s.uids.len()).as_bytes());
            // RFC 3501 §7.3.2: the recent count changes with new messages.
            if s.first_recent != u32::MAX && !enabled.rev2 {
                out.extend_from_slice(format!("* {} RECENT\r\n", s.recent_count()).as_bytes());
            }
            let next = s.uids.last().map_or(0, |u| u.saturating_add(1));
            if let Some(o) = &mut s.recent_owner {
                o.told_upto(next);
            }
            let from = s.uids.partition_point(|&u| u <= s.told_exists);
            s.fresh.extend_from_slice(&s.uids[from..]);
            s.told_exists = s.uids.last().copied().unwrap_or(s.told_exists);
        }
        let flags = s.pending_flags.values().map(|(f, _)| f);
        keywords::announce(&mut s.keywords, s.read_only, flags, out);
        for (uid, (flags, modseq)) in std::mem::take(&mut s.pending_flags) {
            // A FETCH may have shown a newer state since this was queued.
            if !s.is_news(uid, modseq) {
                continue;
            }
            if let Some(q) = s.seq_of(uid) {
                s.mark_shown(uid, modseq);
                // RFC 7162 §3.1.4: MODSEQ in every unsolicited FETCH.
                let modseq = if enabled.condstore {
                    format!(" MODSEQ ({})", modseq.0)
                } else {
                    String::new()
                };
                // Under UIDONLY the UIDFETCH line names the UID itself.
                let uid_item = if enabled.uid_only {
                    String::new()
                } else {
                    format!(" UID {uid}")
                };
                out.extend_from_slice(
                    format!(
                        "{}FLAGS {}{uid_item}{modseq})\r\n",
                        enabled.fetch_head(q, uid),
                        flags_shown(&flags, s.is_recent(uid))
                    )
                    .as_bytes(),
                );
            }
        }
        if allow_expunge {
            self.update_contexts(out).await;
        }
    }

    /// After a lagged feed or a mailbox change: compare with the store.
    async fn resync(&mut self, _out: &mut Vec<u8>) {
        let State::Selected(s) = &mut self.state else {
            return;
        };
        let id = s.mailbox.id;
        let gone = matches!(self.ctx.store.mailbox_by_id(id).await, Ok(None));
        let current = if gone {
            Ok(Vec::new())
        } else {
            self.ctx.store.messages(id).await
        };
        let State::Selected(s) = &mut self.state else {
            return;
        };
        let Ok(current) = current else { return };
        let now: BTreeMap<u32, (Flags, ModSeq)> = current
            .into_iter()
            .map(|m| (m.uid.get(), (m.flags, m.modseq)))
            .collect();
        if let Some(top) = now.values().map(|(_, m)| *m).max()
            && top > s.mailbox.highest_modseq
        {
            s.mailbox.highest_modseq = top;
        }
        for u in s.uids.clone() {
            if !now.contains_key(&u) {
                s.pending_expunged.insert(u);
            }
        }
        let last = s.uids.last().copied().unwrap_or(0);
        for (u, (flags, modseq)) in now {
            if u > last {
                // Memory was marked stale with the event that led here.
                s.push_message(u, None, modseq);
                s.pending_exists = true;
            } else if !s.pending_expunged.contains(&u) {
                s.queue_flags(u, flags, modseq);
            }
        }
    }

    /// The session changed a message's flags at `modseq` with `.SILENT`:
    /// the client knows the change but was not sent the flags.
    pub(super) fn note_silent(&mut self, uid: u32, modseq: ModSeq) {
        if let State::Selected(s) = &mut self.state {
            s.silent.insert(uid, modseq.0);
        }
    }

    /// A message's state at `modseq` was shown to the client (its own
    /// STORE's answer, a FETCH): older feed events of it are dropped.
    pub(super) fn note_shown(&mut self, uid: u32, modseq: ModSeq) {
        if let State::Selected(s) = &mut self.state {
            s.mark_shown(uid, modseq);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use postern_store::{
        ChangeKind, FeedEvent, Flags, MailboxChange, MailboxId, ModSeq, Store, StoreOptions,
        SystemFlags, Uid,
    };

    use super::Selected;

    fn flags_event(uid: u32, modseq: u64, f: SystemFlags) -> FeedEvent {
        FeedEvent::Change(Arc::new(MailboxChange {
            mailbox: MailboxId(1),
            modseq: ModSeq(modseq),
            kind: ChangeKind::Flags {
                uid: Uid::new(uid).expect("uid"),
                flags: Flags::new(f, []),
            },
        }))
    }

    fn pending(s: &Selected) -> Vec<(u32, u64)> {
        s.pending_flags
            .iter()
            .map(|(u, (_, m))| (*u, m.0))
            .collect()
    }

    #[test]
    fn a_feed_event_older_than_a_state_shown_is_dropped_until_the_feed_passes_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), StoreOptions::default()).expect("store");
        let mut s = Selected::for_tests(vec![1, 2], &store);
        // A FETCH read UID 1 at MODSEQ 10; the commit at 9 is heard later.
        s.mark_shown(1, ModSeq(10));
        s.apply(flags_event(1, 9, SystemFlags::SEEN));
        assert_eq!(
            pending(&s),
            [],
            "an older state must not follow a newer one"
        );
        s.apply(flags_event(1, 11, SystemFlags::FLAGGED));
        assert_eq!(pending(&s), [(1, 11)]);
        assert!(
            s.shown.is_empty(),
            "the feed passed MODSEQ 10: nothing older can come"
        );
    }

    #[test]
    fn a_silent_stores_event_is_dropped_unless_a_change_from_elsewhere_came_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), StoreOptions::default()).expect("store");
        let mut s = Selected::for_tests(vec![1, 2], &store);
        s.silent.insert(1, 5);
        s.apply(flags_event(1, 5, SystemFlags::SEEN));
        assert_eq!(pending(&s), [], "the client made this change itself");
        // Another session flagged UID 2 at 6, then this one stored at 7:
        // the client must get the whole state at 7.
        s.silent.insert(2, 7);
        s.apply(flags_event(2, 6, SystemFlags::FLAGGED));
        s.apply(flags_event(
            2,
            7,
            SystemFlags::FLAGGED.union(SystemFlags::SEEN),
        ));
        assert_eq!(pending(&s), [(2, 7)]);
    }
}
