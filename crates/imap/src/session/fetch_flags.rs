//! FETCH of UID, FLAGS and MODSEQ alone (issue 19: `UID FETCH 1:* (UID
//! FLAGS)` on 100,000 messages, a client's resync): compact passes over
//! the listing index on a pooled read connection (`Store::scan_flags`),
//! [`FLAGS_BATCH`] messages each (the loop is `fetch_batches.rs`), each
//! line written into the answer as its row is read, without a listing row
//! (blob id, size, date) or a line buffer per message, and the answer
//! handed on as it grows (`Session::stream_out`). Everything else
//! FETCH can carry (body items, CHANGEDSINCE, PARTIAL, UIDONLY's heads)
//! goes through `fetch.rs`.

use postern_store::{FlagRow, MailboxId, Store, StoreError};

use super::fetch_batches::{BatchPass, Lines};
use crate::wire::{FetchAttr, FetchModifiers};

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
