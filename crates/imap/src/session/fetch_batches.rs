//! The batch loop a big FETCH runs (issue 19: `UID FETCH 1:* ...` on
//! 100,000 messages): take the next batch of the messages the set names,
//! have the store read that UID range and hand each row to a pass that
//! writes its line on the read thread, note the states shown, and hand
//! the answer on as it grows ([`Session::stream_out`]). The passes are
//! `fetch_flags.rs` (UID, FLAGS, MODSEQ) and `fetch_stream.rs` (ENVELOPE,
//! BODYSTRUCTURE and the listing's items); [`Lines`] is what both write
//! with.

use std::future::Future;

use postern_store::{Flags, MailboxId, ModSeq, Store, StoreError};

use super::fetch::{push_number, write_flags};
use super::{Flow, Session, State};
use crate::wire::{self, FetchAttr, SequenceSet, Tag};

/// A FETCH pass over batches of rows: the read of one UID range, run on
/// the store's read thread, and the lines it writes into its [`Lines`].
pub(super) trait BatchPass: Sized + Send + 'static {
    /// Messages read per batch.
    const BATCH: usize;

    fn lines(&mut self) -> &mut Lines;

    /// Reads the rows with `lo <= uid <= hi` into the pass, on a pooled
    /// read connection (the mapped one, `BulkReader`, was slower here: it
    /// faults the pages in anew and unmaps them at every FETCH).
    fn scan(
        self,
        store: &Store,
        mailbox: MailboxId,
        range: (u32, u32),
    ) -> impl Future<Output = Result<Self, StoreError>> + Send;

    /// An error a row met that ends the FETCH.
    fn take_error(&mut self) -> Option<StoreError> {
        None
    }
}

/// The parts of a FETCH line every pass writes, and what the pass carries
/// from row to row.
pub(super) struct Lines {
    /// (sequence number, UID) of this batch's messages, in UID order.
    wanted: std::iter::Peekable<std::vec::IntoIter<(u32, u32)>>,
    items: Vec<FetchAttr>,
    /// `UID n` first (a UID FETCH that did not name UID: RFC 9051 §6.4.9).
    lead_uid: bool,
    first_recent: u32,
    /// Whether FLAGS or MODSEQ is asked for: a state is shown.
    shows_state: bool,
    /// The answer so far (the session's, taken and given back).
    pub out: Vec<u8>,
    /// The states shown, for the feed's ordering (RFC 7162 §3.1).
    shown: Vec<(u32, ModSeq)>,
}

impl Lines {
    pub fn new(uid: bool, items: Vec<FetchAttr>, first_recent: u32) -> Lines {
        Lines {
            wanted: Vec::new().into_iter().peekable(),
            lead_uid: uid && !items.contains(&FetchAttr::Uid),
            shows_state: items
                .iter()
                .any(|a| matches!(a, FetchAttr::Flags | FetchAttr::ModSeq)),
            items,
            first_recent,
            out: Vec::new(),
            shown: Vec::new(),
        }
    }

    /// The sequence number of the message with `uid` if the batch asks
    /// for it. Rows the session does not show (arrived since, not yet
    /// announced) or did not ask for are skipped; a message of the view
    /// expunged meanwhile has no row and gets no line.
    pub fn wants(&mut self, uid: u32) -> Option<u32> {
        while self.wanted.next_if(|w| w.1 < uid).is_some() {}
        self.wanted.next_if(|w| w.1 == uid).map(|(seq, _)| seq)
    }

    /// The line of message `seq`: UID, FLAGS and MODSEQ written here,
    /// every other item by `other`; the state it showed is noted.
    pub fn line(
        &mut self,
        seq: u32,
        uid: u32,
        flags: &Flags,
        modseq: ModSeq,
        other: impl FnMut(&mut Vec<u8>, &FetchAttr),
    ) {
        self.write(seq, uid, flags, modseq, other);
        if self.shows_state {
            self.shown.push((uid, modseq));
        }
    }

    /// Whether `item` is asked for.
    pub fn asks(&self, item: &FetchAttr) -> bool {
        self.items.contains(item)
    }

    /// Whether the lines show a state (FLAGS or MODSEQ is asked for).
    pub fn shows_state(&self) -> bool {
        self.shows_state
    }

    /// [`Lines::line`] without noting the state shown (the caller does:
    /// `fetch_flags.rs`'s answer from memory).
    pub fn write(
        &mut self,
        seq: u32,
        uid: u32,
        flags: &Flags,
        modseq: ModSeq,
        mut other: impl FnMut(&mut Vec<u8>, &FetchAttr),
    ) {
        let out = &mut self.out;
        out.extend_from_slice(b"* ");
        push_number(out, seq);
        out.extend_from_slice(b" FETCH (");
        if self.lead_uid {
            out.extend_from_slice(b"UID ");
            push_number(out, uid);
        }
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 || self.lead_uid {
                out.push(b' ');
            }
            match item {
                FetchAttr::Uid => {
                    out.extend_from_slice(b"UID ");
                    push_number(out, uid);
                }
                FetchAttr::Flags => write_flags(out, flags, uid >= self.first_recent),
                FetchAttr::ModSeq => {
                    out.extend_from_slice(b"MODSEQ (");
                    push_number(out, modseq.0);
                    out.push(b')');
                }
                _ => other(out, item),
            }
        }
        out.extend_from_slice(b")\r\n");
    }
}

impl Session {
    /// Answers a FETCH of the messages `set` names among the first
    /// `known` (those the session had when the command began) with
    /// `pass`, [`BatchPass::BATCH`] messages a read, handing the answer
    /// on as it grows.
    pub(super) async fn fetch_batches<P: BatchPass>(
        &mut self,
        tag: Tag,
        uid: bool,
        set: &SequenceSet,
        (mailbox, known): (MailboxId, usize),
        mut pass: P,
        out: &mut Vec<u8>,
    ) -> Flow {
        let store = self.ctx.store.clone();
        let mut from = 1;
        while let State::Selected(s) = &self.state {
            let wanted = s.batch(set, uid, (from, P::BATCH), known);
            let (Some(&(_, lo)), Some(&(last_seq, hi))) = (wanted.first(), wanted.last()) else {
                break;
            };
            from = last_seq + 1;
            let lines = pass.lines();
            lines.wanted = wanted.into_iter().peekable();
            lines.out = std::mem::take(out);
            pass = match pass.scan(&store, mailbox, (lo, hi)).await {
                Ok(p) => p,
                Err(e) => return self.store_error(tag, e, out),
            };
            let lines = pass.lines();
            *out = std::mem::take(&mut lines.out);
            let shown = std::mem::take(&mut lines.shown);
            if let Some(e) = pass.take_error() {
                return self.store_error(tag, e, out);
            }
            // The listing may be newer than feed events not yet heard:
            // those must not follow with older flags (RFC 7162 §3.1).
            for (u, m) in shown {
                self.note_shown(u, m);
            }
            self.stream_out(out).await;
        }
        self.sync(out, uid).await;
        wire::StatusResponse::new(Some(tag), wire::Status::Ok, "FETCH completed").encode(out);
        Flow::Continue
    }
}
