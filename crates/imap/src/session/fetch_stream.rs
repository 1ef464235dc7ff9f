//! FETCH of ENVELOPE and BODYSTRUCTURE with the listing's items (UID,
//! FLAGS, MODSEQ, RFC822.SIZE, INTERNALDATE): a client's sync, `UID FETCH
//! 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)` on 100,000 messages (issue
//! 19). The mailbox is read in batches of [`STRUCTURE_BATCH`] messages
//! (`Store::scan_fetch`: the listing index and the stored structures
//! read in step, both in UID order; the loop is `fetch_batches.rs`),
//! each line rendered on the read thread from the message's stored
//! ENVELOPE and BODYSTRUCTURE (`render/stored.rs`; from the shared
//! render cache or the meta for a message without them), and the
//! answer is handed to the connection every [`STREAM_CHUNK`] bytes
//! ([`Session::stream_out`]): the session holds a batch and a chunk,
//! however big the mailbox. The lines are those `fetch.rs` writes.
//! Everything else FETCH can carry goes through `fetch.rs`.

use std::sync::Arc;

use postern_store::{FetchRow, MailboxId, Store, StoreError};

use super::Session;
use super::fetch::{push_number, render_structure};
use super::fetch_batches::{BatchPass, Lines};
use crate::render;
use crate::render_cache::{RenderCache, Rendered};
use crate::wire::{self, FetchAttr, FetchModifiers};

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

/// The structure pass: a line per row, its ENVELOPE and BODYSTRUCTURE
/// copied from the row.
pub(super) struct StructurePass {
    lines: Lines,
    render: Arc<RenderCache>,
    error: Option<StoreError>,
}

impl StructurePass {
    fn row(&mut self, r: &FetchRow<'_>) {
        if self.error.is_some() {
            return;
        }
        let Some(seq) = self.lines.wants(r.uid) else {
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
        self.lines
            .line(seq, r.uid, &r.flags, r.modseq, |out, item| match item {
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
            });
    }

    /// A row without stored structure (written before migration 26, or
    /// by a process without the renderer): the shared cache, else its meta.
    fn rendered(&self, r: &FetchRow<'_>) -> Result<Arc<Rendered>, StoreError> {
        let blob = r.blob()?;
        if let Some(c) = self.render.get(&blob) {
            return Ok(c);
        }
        let rendered = Arc::new(render_structure(&r.meta()?));
        self.render.insert(&blob, rendered.clone());
        Ok(rendered)
    }
}

impl BatchPass for StructurePass {
    const BATCH: usize = STRUCTURE_BATCH;

    fn lines(&mut self) -> &mut Lines {
        &mut self.lines
    }

    async fn scan(
        self,
        store: &Store,
        mailbox: MailboxId,
        range: (u32, u32),
    ) -> Result<Self, StoreError> {
        store
            .scan_fetch(mailbox, range, self, StructurePass::row)
            .await
    }

    fn take_error(&mut self) -> Option<StoreError> {
        self.error.take()
    }
}

/// The pass for a FETCH of [`streamable`] items (`Session::fetch_batches`).
pub(super) fn pass(lines: Lines, render: Arc<RenderCache>) -> StructurePass {
    StructurePass {
        lines,
        render,
        error: None,
    }
}

impl Session {
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
