//! FETCH of UID, FLAGS and MODSEQ alone (issue 19: `UID FETCH 1:* (UID
//! FLAGS)` on 100,000 messages, a client's resync). Without MODSEQ it is
//! answered from the flags the session keeps (`flag_memory.rs`), after
//! the feed's events and a look at the store's HIGHESTMODSEQ; with
//! MODSEQ, or when memory cannot answer, from compact passes over
//! the listing index on a pooled read connection (`Store::scan_flags`),
//! [`FLAGS_BATCH`] messages each (the loop is `fetch_batches.rs`), each
//! line written into the answer as its row is read, without a listing row
//! (blob id, size, date) or a line buffer per message, and the answer
//! handed on as it grows (`Session::stream_out`). Everything else
//! FETCH can carry (body items, CHANGEDSINCE, PARTIAL, UIDONLY's heads)
//! goes through `fetch.rs`.

use postern_store::{FlagRow, MailboxId, ModSeq, Store, StoreError};

use super::fetch_batches::{BatchPass, Lines};
use super::{Flow, Session, State};
use crate::wire::{self, FetchAttr, FetchModifiers, SequenceSet, Tag};

/// Messages read per batch (about 40 bytes of answer each).
const FLAGS_BATCH: usize = 4096;

/// Whether `items` (with `modifiers`) can be answered from the compact pass.
pub(super) fn flags_only(items: &[FetchAttr], modifiers: &FetchModifiers, uid_only: bool) -> bool {
    !uid_only
        && modifiers.changed_since.is_none()
        && modifiers.partial.is_none()
        && !modifiers.vanished
        && items
            .iter()
            .all(|a| matches!(a, FetchAttr::Uid | FetchAttr::Flags | FetchAttr::ModSeq))
}

/// The compact pass: a line per row of the listing index.
pub(super) struct FlagsPass(Lines);

impl FlagsPass {
    fn row(&mut self, r: FlagRow) {
        if let Some(seq) = self.0.wants(r.uid) {
            // `flags_only` lets nothing but UID, FLAGS and MODSEQ through.
            self.0.line(seq, r.uid, &r.flags, r.modseq, |_, _| {});
        }
    }
}

impl BatchPass for FlagsPass {
    const BATCH: usize = FLAGS_BATCH;

    fn lines(&mut self) -> &mut Lines {
        &mut self.0
    }

    async fn scan(
        self,
        store: &Store,
        mailbox: MailboxId,
        range: (u32, u32),
    ) -> Result<Self, StoreError> {
        store
            .scan_flags(mailbox, range, false, self, FlagsPass::row)
            .await
    }
}

/// The pass for a FETCH of [`flags_only`] items (`Session::fetch_batches`).
pub(super) fn pass(lines: Lines) -> FlagsPass {
    FlagsPass(lines)
}

impl Session {
    /// Answers a FETCH of [`flags_only`] items without MODSEQ from the
    /// flags the session keeps, [`FLAGS_BATCH`] messages at a time
    /// handed on as the answer grows; gives `lines` back when the store
    /// must answer. `known`: the messages the session had when the
    /// command began (the feed's new ones are announced after it).
    pub(super) async fn fetch_flags_from_memory(
        &mut self,
        tag: &Tag,
        uid: bool,
        set: &SequenceSet,
        (mut lines, known): (Lines, usize),
        out: &mut Vec<u8>,
    ) -> Result<Flow, Lines> {
        if lines.asks(&FetchAttr::ModSeq) || !self.memory_ready().await {
            return Err(lines);
        }
        let mut from = 1;
        while let State::Selected(s) = &self.state {
            let Some(memory) = &s.memory else { break };
            let wanted = s.batch(set, uid, (from, FLAGS_BATCH), known);
            let (Some(&(_, lo)), Some(&(last_seq, _))) = (wanted.first(), wanted.last()) else {
                break;
            };
            from = last_seq + 1;
            lines.out = std::mem::take(out);
            // Expunged, not yet reported: no line, as the store has no row.
            let mut gone = s.pending_expunged.range(lo..).peekable();
            for (seq, u) in wanted {
                while gone.next_if(|&&g| g < u).is_some() {}
                if gone.peek() == Some(&&u) {
                    continue;
                }
                if let Some(flags) = memory.flags_at(seq as usize - 1) {
                    lines.write(seq, u, flags, ModSeq(0), |_, _| {});
                }
            }
            *out = std::mem::take(&mut lines.out);
            self.stream_out(out).await;
        }
        if lines.shows_state() {
            self.memory_shown(set, uid, known);
        }
        self.sync(out, uid).await;
        wire::StatusResponse::new(Some(tag.clone()), wire::Status::Ok, "FETCH completed")
            .encode(out);
        Ok(Flow::Continue)
    }
}
