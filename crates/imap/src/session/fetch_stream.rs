//! FETCH of ENVELOPE and BODYSTRUCTURE with the listing's items (UID,
//! FLAGS, MODSEQ, RFC822.SIZE, INTERNALDATE): a client's sync, `UID FETCH
//! 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)` on 100,000 messages (issue
//! 19). The mailbox is read in batches of [`STRUCTURE_BATCH`] messages
//! on one memory-mapped connection (`BulkReader::scan_fetch`: the pages
//! are not copied out of the page cache one `pread` at a time), each line rendered on the read thread from the
//! row's stored ENVELOPE and BODYSTRUCTURE (`render/stored.rs`; from the
//! shared render cache or the meta for a row without them), and the
//! answer is handed to the connection every [`STREAM_CHUNK`] bytes
//! ([`Session::stream_out`]): the session holds a batch and a chunk,
//! however big the mailbox. The lines are those `fetch.rs` writes.
//! Everything else FETCH can carry goes through `fetch.rs`.

use std::sync::Arc;

use postern_store::{FetchRow, MailboxId, ModSeq, StoreError};

use super::fetch::{push_number, render_structure, write_flags};
use super::{Flow, Session, State};
use crate::render;
use crate::render_cache::{RenderCache, Rendered};
use crate::wire::{self, FetchAttr, FetchModifiers, SequenceSet, Tag};

/// Messages read per batch of a structure FETCH (about 700 bytes of
/// answer each).
pub(super) const STRUCTURE_BATCH: usize = 256;

/// Bytes of answer a session gathers before handing them to the connection.
pub(super) const STREAM_CHUNK: usize = 64 * 1024;

/// Whether `items` (with `modifiers`) can be answered by [`Session::fetch_stream`].
pub(super) fn streamable(items: &[FetchAttr], modifiers: &FetchModifiers, uid_only: bool) -> bool {
    !uid_only
        && modifiers.changed_since.is_none()
        && modifiers.partial.is_none()
        && !modifiers.vanished
        && items
            .iter()
            .any(|a| matches!(a, FetchAttr::Envelope | FetchAttr::BodyStructure))
        && items.iter().all(|a| {
            matches!(
                a,
                FetchAttr::Uid
                    | FetchAttr::Flags
                    | FetchAttr::ModSeq
                    | FetchAttr::Envelope
                    | FetchAttr::BodyStructure
                    | FetchAttr::Rfc822Size
                    | FetchAttr::InternalDate
            )
        })
}

/// One batch's pass, run on the read thread.
struct Batch {
    /// (sequence number, UID) of this batch's messages, in UID order.
    wanted: std::iter::Peekable<std::vec::IntoIter<(u32, u32)>>,
    items: Arc<[FetchAttr]>,
    /// `UID n` first (a UID FETCH that did not name UID: RFC 9051 §6.4.9).
    lead_uid: bool,
    first_recent: u32,
    shows_state: bool,
    render: Arc<RenderCache>,
    /// The answer so far (the session's, taken and given back).
    out: Vec<u8>,
    /// The states shown, for the feed's ordering (RFC 7162 §3.1).
    shown: Vec<(u32, ModSeq)>,
    error: Option<StoreError>,
}

impl Batch {
    fn row(&mut self, r: &FetchRow<'_>) {
        // A message of the view expunged meanwhile has no row and gets no
        // line; rows the session does not show are skipped.
        while self.wanted.next_if(|w| w.1 < r.uid).is_some() {}
        if self.error.is_some() {
            return;
        }
        let Some((seq, u)) = self.wanted.next_if(|w| w.1 == r.uid) else {
            return;
        };
        let stored = r.structure().and_then(render::split_stored);
        let fallback = match stored {
            Some(_) => None,
            None => match self.rendered(r) {
                Ok(f) => Some(f),
                // Its bytes went since the listing: no line, as in `fetch.rs`.
                Err(e) if super::gone(&e) => return,
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            },
        };
        let (envelope, bodystructure) = match (stored, &fallback) {
            (Some(s), _) => s,
            (None, Some(f)) => (&f.envelope[..], &f.bodystructure[..]),
            (None, None) => return,
        };
        let out = &mut self.out;
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
                FetchAttr::ModSeq => {
                    out.extend_from_slice(b"MODSEQ (");
                    push_number(out, r.modseq.0);
                    out.push(b')');
                }
                FetchAttr::InternalDate => {
                    out.extend_from_slice(b"INTERNALDATE \"");
                    out.extend_from_slice(wire::format_internal_date(r.internal_date).as_bytes());
                    out.push(b'"');
                }
                FetchAttr::Rfc822Size => {
                    out.extend_from_slice(b"RFC822.SIZE ");
                    push_number(out, r.size);
                }
                FetchAttr::Envelope => {
                    out.extend_from_slice(b"ENVELOPE ");
                    out.extend_from_slice(envelope);
                }
                // `streamable` lets nothing else through.
                _ => {
                    out.extend_from_slice(b"BODYSTRUCTURE ");
                    out.extend_from_slice(bodystructure);
                }
            }
        }
        out.extend_from_slice(b")\r\n");
        if self.shows_state {
            self.shown.push((u, r.modseq));
        }
    }

    /// A row without stored structure (written before migration 26, or
    /// by a process without the renderer): the shared cache, else its meta.
    fn rendered(&self, r: &FetchRow<'_>) -> Result<Arc<Rendered>, StoreError> {
        if let Some(c) = self.render.get(r.blob()) {
            return Ok(c);
        }
        let rendered = Arc::new(render_structure(&r.meta()?));
        self.render.insert(r.blob(), rendered.clone());
        Ok(rendered)
    }
}

impl Session {
    /// FETCH of [`streamable`] items for the messages `set` names.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn fetch_stream(
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
            let wanted = s.batch(set, uid, from, STRUCTURE_BATCH);
            let (Some(&(_, lo)), Some(&(last_seq, hi))) = (wanted.first(), wanted.last()) else {
                break;
            };
            from = last_seq + 1;
            let batch = Batch {
                wanted: wanted.into_iter().peekable(),
                items: items.clone(),
                lead_uid,
                first_recent,
                shows_state,
                render: self.ctx.render.clone(),
                out: std::mem::take(out),
                shown: Vec::new(),
                error: None,
            };
            let b = match reader
                .scan_fetch(mailbox, (lo, hi), batch, Batch::row)
                .await
            {
                Ok(b) => b,
                Err(e) => return self.store_error(tag, e, out),
            };
            *out = b.out;
            if let Some(e) = b.error {
                return self.store_error(tag, e, out);
            }
            // The listing may be newer than feed events not yet heard:
            // those must not follow with older flags (RFC 7162 §3.1).
            for (u, m) in b.shown {
                self.note_shown(u, m);
            }
            self.stream_out(out).await;
        }
        drop(reader);
        self.sync(out, uid).await;
        wire::StatusResponse::new(Some(tag), wire::Status::Ok, "FETCH completed").encode(out);
        Flow::Continue
    }

    /// Hands what `out` holds to the connection once it holds
    /// [`STREAM_CHUNK`] bytes, when the connection streams (the server
    /// gave this command a sink); otherwise the answer keeps growing and
    /// goes out whole after the command.
    pub(super) async fn stream_out(&mut self, out: &mut Vec<u8>) {
        if out.len() < STREAM_CHUNK {
            return;
        }
        if let Some(tx) = &self.sink {
            let chunk = std::mem::replace(out, Vec::with_capacity(STREAM_CHUNK + STREAM_CHUNK / 4));
            // A closed sink is a connection going away: what is left is
            // dropped with it.
            let _ = tx.send(chunk).await;
        }
    }
}
