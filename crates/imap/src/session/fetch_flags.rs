//! FETCH of UID, FLAGS and MODSEQ alone (issue 19: `UID FETCH 1:* (UID
//! FLAGS)` on 100,000 messages, a client's resync): compact passes over
//! the listing index on one memory-mapped connection
//! (`BulkReader::scan_flags`), [`FLAGS_BATCH`] messages each,
//! each line written into the answer as its row is read, without a
//! listing row (blob id, size, date) or a line buffer per message, and the
//! answer handed on as it grows (`Session::stream_out`). Everything else
//! FETCH can carry (body items, CHANGEDSINCE, PARTIAL, UIDONLY's heads)
//! goes through `fetch.rs`.

use std::sync::Arc;

use postern_store::{FlagRow, MailboxId, ModSeq};

use super::fetch::{push_number, write_flags};
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

/// What the pass carries from row to row.
struct Pass {
    answer: Vec<u8>,
    /// (sequence number, UID) of the messages asked for, in UID order.
    wanted: std::iter::Peekable<std::vec::IntoIter<(u32, u32)>>,
    items: Arc<[FetchAttr]>,
    /// `UID n` first (a UID FETCH that did not name UID: RFC 9051 §6.4.9).
    lead_uid: bool,
    first_recent: u32,
    /// Whether FLAGS or MODSEQ is asked for: a state is shown.
    shows_state: bool,
    /// The states shown, for the feed's ordering (RFC 7162 §3.1).
    shown: Vec<(u32, ModSeq)>,
}

impl Pass {
    fn row(&mut self, r: FlagRow) {
        // Rows the session does not show (arrived since, not yet
        // announced) or did not ask for are skipped; a message of the
        // view expunged meanwhile has no row and gets no line.
        while self.wanted.next_if(|w| w.1 < r.uid).is_some() {}
        let Some((seq, u)) = self.wanted.next_if(|w| w.1 == r.uid) else {
            return;
        };
        let out = &mut self.answer;
        out.extend_from_slice(b"* ");
        push_number(out, seq);
        out.extend_from_slice(b" FETCH (");
        let mut first = true;
        let mut sep = |out: &mut Vec<u8>| {
            if !std::mem::take(&mut first) {
                out.push(b' ');
            }
        };
        if self.lead_uid {
            sep(out);
            out.extend_from_slice(b"UID ");
            push_number(out, u);
        }
        for item in self.items.iter() {
            sep(out);
            match item {
                FetchAttr::Uid => {
                    out.extend_from_slice(b"UID ");
                    push_number(out, u);
                }
                FetchAttr::Flags => write_flags(out, &r.flags, u >= self.first_recent),
                _ => {
                    out.extend_from_slice(b"MODSEQ (");
                    push_number(out, r.modseq.0);
                    out.push(b')');
                }
            }
        }
        out.extend_from_slice(b")\r\n");
        if self.shows_state {
            self.shown.push((u, r.modseq));
        }
    }
}

impl Session {
    /// FETCH of [`flags_only`] items for the messages `set` names, read
    /// [`FLAGS_BATCH`] at a time and handed on as the answer grows
    /// (`Session::stream_out`).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn fetch_flags(
        &mut self,
        tag: Tag,
        uid: bool,
        set: &SequenceSet,
        mailbox: MailboxId,
        items: Vec<FetchAttr>,
        first_recent: u32,
        out: &mut Vec<u8>,
    ) -> Flow {
        let lead_uid = uid && !items.contains(&FetchAttr::Uid);
        let shows_state = items
            .iter()
            .any(|a| matches!(a, FetchAttr::Flags | FetchAttr::ModSeq));
        let items: Arc<[FetchAttr]> = items.into();
        // One mapped connection for the whole answer (its map goes with it).
        let reader = match self.ctx.store.bulk_reader().await {
            Ok(r) => r,
            Err(e) => return self.store_error(tag, e, out),
        };
        let mut from = 1;
        while let State::Selected(s) = &self.state {
            let wanted = s.batch(set, uid, from, FLAGS_BATCH);
            let (Some(&(_, lo)), Some(&(last_seq, hi))) = (wanted.first(), wanted.last()) else {
                break;
            };
            from = last_seq + 1;
            let pass = Pass {
                answer: std::mem::take(out),
                wanted: wanted.into_iter().peekable(),
                lead_uid,
                shows_state,
                items: items.clone(),
                first_recent,
                shown: Vec::new(),
            };
            let pass = match reader.scan_flags(mailbox, (lo, hi), pass, Pass::row).await {
                Ok(p) => p,
                Err(e) => return self.store_error(tag, e, out),
            };
            *out = pass.answer;
            // The listing may be newer than feed events not yet heard: those
            // must not follow with older flags (RFC 7162 §3.1).
            for (u, m) in pass.shown {
                self.note_shown(u, m);
            }
            self.stream_out(out).await;
        }
        drop(reader);
        self.sync(out, uid).await;
        wire::StatusResponse::new(Some(tag), wire::Status::Ok, "FETCH completed").encode(out);
        Flow::Continue
    }
}
