//! A message's ENVELOPE and BODYSTRUCTURE as IMAP sends them, kept in its
//! row (`messages.structure`, migration 26) so a client's sync (`UID FETCH
//! 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)` on 100,000 messages, issue 19)
//! is a sequential read and a copy instead of decoding and rendering every
//! message's cached meta again.
//!
//! The store does not know IMAP's syntax: the server registers the
//! renderer once at start ([`set_structure_renderer`]), and `prepare`
//! stores what it returns beside the meta. The bytes are the renderer's
//! own (it versions them); a row without them (written before migration
//! 26, by a process that registered no renderer, or copied from one) is
//! answered from its meta, as before.
//!
//! [`Store::scan_fetch`] hands the caller each row of a UID range in UID
//! order, with the stored bytes and, only when asked, the meta: a FETCH
//! answers a mailbox batch by batch, each batch written out before the
//! next is read, so its memory does not grow with the mailbox.

use std::sync::OnceLock;

use rusqlite::{Connection, Row};

use crate::blobs::{BlobDir, BlobId};
use crate::error::{Result, StoreError};
use crate::messages::blob_bytes;
use crate::parse::{self, MessageMeta};
use crate::types::{Flags, MailboxId, ModSeq};
use crate::{BulkReader, Store};

/// Turns a message's meta into the bytes kept in `messages.structure`.
pub type StructureRenderer = fn(&MessageMeta) -> Vec<u8>;

static RENDERER: OnceLock<StructureRenderer> = OnceLock::new();

/// Registers the renderer whose output new rows keep (the first one
/// registered stays: a process renders one way).
pub fn set_structure_renderer(f: StructureRenderer) {
    let _ = RENDERER.set(f);
}

/// What a new row keeps in `structure`, if a renderer is registered.
pub(crate) fn render(meta: &MessageMeta) -> Option<Vec<u8>> {
    RENDERER.get().map(|f| f(meta))
}

/// One message as [`Store::scan_fetch`] reads it: the listing columns,
/// and the stored structure and meta read only when asked for.
pub struct FetchRow<'a> {
    row: &'a Row<'a>,
    c: &'a Connection,
    blobs: &'a BlobDir,
    pub uid: u32,
    pub flags: Flags,
    pub modseq: ModSeq,
    pub size: u64,
    pub internal_date: i64,
}

impl FetchRow<'_> {
    /// The bytes the renderer stored, if this row has them.
    pub fn structure(&self) -> Option<&[u8]> {
        self.row.get_ref(5).ok()?.as_blob_or_null().ok()?
    }

    /// The message's content id (the key of caches shared across mailboxes).
    pub fn blob(&self) -> &str {
        self.row
            .get_ref(7)
            .ok()
            .and_then(|v| v.as_str().ok())
            .unwrap_or_default()
    }

    /// The cached meta, decoded; re-derived from the message when the row
    /// does not decode (as `message_metas` does, without the rewrite).
    pub fn meta(&self) -> Result<MessageMeta> {
        let json = self
            .row
            .get_ref(6)?
            .as_str()
            .map_err(rusqlite::Error::from)?;
        match parse::decode_meta(json) {
            Ok(m) if m.version >= parse::META_VERSION => Ok(m),
            _ => {
                let blob = self.blob();
                let id = BlobId::parse(blob)
                    .ok_or_else(|| StoreError::Corrupt(format!("blob id {blob:?}")))?;
                Ok(parse::meta_of(&blob_bytes(self.c, self.blobs, &id)?))
            }
        }
    }
}

impl Store {
    /// Hands `f` each message with `first <= uid <= last` in UID order, as
    /// it is read, with `state`, which it returns. `f` runs on the read
    /// thread: a caller renders its answer there, for one bounded range at
    /// a time.
    pub async fn scan_fetch<S>(
        &self,
        mailbox: MailboxId,
        range: (u32, u32),
        mut state: S,
        f: fn(&mut S, &FetchRow<'_>),
    ) -> Result<S>
    where
        S: Send + 'static,
    {
        let blobs = self.inner.blobs.clone();
        self.read(move |c| {
            fetch_rows(c, &blobs, mailbox, range, &mut state, f)?;
            Ok(state)
        })
        .await
    }
}

impl BulkReader {
    /// [`Store::scan_fetch`] on the memory-mapped connection: a FETCH
    /// over a whole big mailbox reads its rows' pages without a copy
    /// each (the map goes when the reader does).
    pub async fn scan_fetch<S>(
        &self,
        mailbox: MailboxId,
        range: (u32, u32),
        mut state: S,
        f: fn(&mut S, &FetchRow<'_>),
    ) -> Result<S>
    where
        S: Send + 'static,
    {
        self.read(move |c, store| {
            fetch_rows(c, &store.inner.blobs, mailbox, range, &mut state, f)?;
            Ok(state)
        })
        .await
    }
}

fn fetch_rows<S>(
    c: &Connection,
    blobs: &BlobDir,
    mailbox: MailboxId,
    (first, last): (u32, u32),
    state: &mut S,
    f: fn(&mut S, &FetchRow<'_>),
) -> Result<()> {
    let mut st = c.prepare_cached(
        "SELECT uid, flags, keywords, modseq, size, structure, meta, blob, internal_date
         FROM messages WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid",
    )?;
    let mut rows = st.query((mailbox.0, first, last))?;
    while let Some(r) = rows.next()? {
        let keywords = r.get_ref(2)?.as_str().unwrap_or_default();
        let row = FetchRow {
            row: r,
            c,
            blobs,
            uid: r.get(0)?,
            flags: Flags::from_columns(r.get(1)?, keywords),
            modseq: ModSeq(r.get::<_, i64>(3)?.max(0) as u64),
            size: r.get::<_, i64>(4)?.max(0) as u64,
            internal_date: r.get(8)?,
        };
        f(state, &row);
    }
    Ok(())
}
