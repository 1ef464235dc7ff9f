//! THREAD REFERENCES from the thread heads alone (issue 19: `UID THREAD
//! REFERENCES UTF-8 ALL` on 100,000 messages). When the program looks
//! only at flags (`search_flags.rs`), the matches come from the compact
//! pass (or, for ALL, the session's UIDs), and each match's head
//! (`postern_store::Store::scan_thread_heads`, store migration 22) is
//! reduced to its [`HeadKeys`] while the heads stream by: no listing,
//! no cached meta, no bytes. A message without a head (a row from before
//! migration 22, a header that is not UTF-8) or without a usable Date is
//! read the per-message way, when there are few; with more, the whole
//! THREAD goes the per-message way (`search.rs`). Both give the same
//! answer (`query::references` over the heads or over the headers).

use postern_store::{Uid, meta_of};

use super::search_flags::flag_keys_only;
use super::{Session, State};
use crate::query::{self, HeadKeys, KeyList, MessageView};
use crate::wire::{SearchKey, SearchProgram};

/// Messages read the per-message way at most beside the heads: beyond
/// this (an older mailbox), the per-message way answers the whole THREAD.
const HEADLESS_MAX: usize = 256;

/// What the pass over the heads carries.
struct Pass {
    /// The matches, (sequence number, UID), ascending.
    hits: Vec<(u32, u32)>,
    at: usize,
    /// The matches' keys, compactly (a placeholder for a headless one).
    keys: KeyList,
    /// The sequence numbers and UIDs of `keys`, in the same order.
    seqs: Vec<u32>,
    uids: Vec<u32>,
    /// Indices into `keys` still to read the per-message way.
    headless: Vec<usize>,
}

impl Pass {
    fn row(&mut self, uid: u32, head: Option<&[u8]>) {
        while self.hits.get(self.at).is_some_and(|h| h.1 < uid) {
            // A match the store no longer has: expunged since, it
            // matches nothing (as the per-message way drops it).
            self.at += 1;
        }
        let Some(&(seq, u)) = self.hits.get(self.at) else {
            return;
        };
        if u != uid {
            return;
        }
        self.at += 1;
        match head.and_then(|h| HeadKeys::of(seq, h)) {
            Some(k) => self.keys.push(&k),
            None => {
                self.headless.push(self.keys.len());
                self.keys.push_placeholder(seq);
            }
        }
        self.seqs.push(seq);
        self.uids.push(uid);
    }
}

impl Session {
    /// The `thread-list` of THREAD REFERENCES over the matches of
    /// `program`, numbered by UID or sequence number, from the heads; `None`
    /// when this way cannot answer (see the module doc), the per-message
    /// way then answers or reports the error.
    pub(super) async fn thread_by_heads(
        &self,
        program: &SearchProgram,
        uid: bool,
    ) -> Option<Vec<u8>> {
        let State::Selected(s) = &self.state else {
            return None;
        };
        if !flag_keys_only(program) || query::check_charset(program).is_err() {
            return None;
        }
        let mailbox = s.mailbox.id;
        let hits: Vec<(u32, u32)> = if program.keys.iter().all(|k| *k == SearchKey::All) {
            s.uids
                .iter()
                .enumerate()
                .map(|(i, &u)| (i as u32 + 1, u))
                .collect()
        } else {
            self.flag_matches(program, s.uids.len())
                .await?
                .into_iter()
                .map(|f| (f.seq, f.uid))
                .collect()
        };
        let pass = Pass {
            keys: KeyList::with_capacity(hits.len()),
            seqs: Vec::with_capacity(hits.len()),
            uids: Vec::with_capacity(hits.len()),
            hits,
            at: 0,
            headless: Vec::new(),
        };
        let mut pass = match self
            .ctx
            .store
            .scan_thread_heads(mailbox, pass, |p, uid, head| p.row(uid, head))
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %e, "thread heads not used");
                return None;
            }
        };
        if pass.headless.len() > HEADLESS_MAX {
            return None;
        }
        if !pass.headless.is_empty() {
            self.read_headless(mailbox, &mut pass).await?;
        }
        let numbers = if uid { pass.uids } else { pass.seqs };
        // Every entry was filled, or dropped with its number.
        if pass.keys.len() != numbers.len() {
            return None;
        }
        let tree = query::references_by_list(pass.keys);
        Some(query::encode_thread_numbers(&tree, &numbers))
    }

    /// Fills in the keys of the messages without usable heads from their
    /// bytes; a message expunged meanwhile is dropped. `None` on a store
    /// error.
    async fn read_headless(
        &self,
        mailbox: postern_store::MailboxId,
        pass: &mut Pass,
    ) -> Option<()> {
        let wanted: Vec<Uid> = pass
            .headless
            .iter()
            .filter_map(|&i| Uid::new(pass.uids[i]))
            .collect();
        let store = &self.ctx.store;
        let bytes = store.messages_bytes(mailbox, wanted).await.ok()?;
        let mut bytes: std::collections::HashMap<u32, Vec<u8>> =
            bytes.into_iter().map(|(u, b)| (u.get(), b)).collect();
        let mut gone: Vec<usize> = Vec::new();
        for &i in &pass.headless {
            let (seq, uid) = (pass.seqs[i], pass.uids[i]);
            let Some(raw) = bytes.remove(&uid) else {
                gone.push(i);
                continue;
            };
            let info = match store.messages_between(mailbox, uid, uid).await.ok()?.pop() {
                Some(info) => info,
                None => {
                    gone.push(i);
                    continue;
                }
            };
            let meta = meta_of(&raw);
            let view = MessageView {
                seq,
                uid,
                flags: &info.flags,
                modseq: info.modseq.0,
                size: info.size,
                internal_date: info.internal_date,
                meta: &meta,
                raw: Some(&raw),
                sort_date: None,
            };
            pass.keys.set(i, &HeadKeys::of_view(&view));
        }
        // Drop what went away, keeping `keys` and `uids` in step.
        gone.sort_unstable();
        for &i in gone.iter().rev() {
            pass.keys.remove(i);
            pass.seqs.remove(i);
            pass.uids.remove(i);
        }
        Some(())
    }
}
