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
//! order, with the stored bytes (read from the covering index
//! `messages_fetch`, migration 27, not from the wide rows) and, only when
//! asked, the blob id and meta: a FETCH
//! answers a mailbox batch by batch, each batch written out before the
//! next is read, so its memory does not grow with the mailbox.

use std::sync::OnceLock;

use rusqlite::{Connection, Row};

use crate::Store;
use crate::blobs::{BlobDir, BlobId};
use crate::error::{Result, StoreError};
use crate::messages::blob_bytes;
use crate::parse::{self, MessageMeta};
use crate::types::{Flags, MailboxId, ModSeq};

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

/// One message as [`Store::scan_fetch`] reads it: the listing columns
/// and the stored structure; its blob id and meta are read only when
/// asked for (a second lookup by key), so the pass does not copy every
/// row's meta (~0.8 KB) into SQLite's registers.
pub struct FetchRow<'a> {
    row: &'a Row<'a>,
    c: &'a Connection,
    blobs: &'a BlobDir,
    mailbox: MailboxId,
    pub uid: u32,
    pub flags: Flags,
    pub modseq: ModSeq,
    pub size: u64,
    pub internal_date: i64,
}

impl FetchRow<'_> {
    /// The bytes the renderer stored, if this row has them.
    pub fn structure(&self) -> Option<&[u8]> {
        self.row.get_ref(6).ok()?.as_blob_or_null().ok()?
    }

    /// The message's content id (the key of caches shared across
    /// mailboxes) and its cached meta as stored.
    fn blob_and_meta(&self) -> Result<(String, String)> {
        let mut st = self
            .c
            .prepare_cached("SELECT blob, meta FROM messages WHERE mailbox_id = ?1 AND uid = ?2")?;
        Ok(st.query_row((self.mailbox.0, self.uid), |r| Ok((r.get(0)?, r.get(1)?)))?)
    }

    /// The message's content id (the key of caches shared across mailboxes).
    pub fn blob(&self) -> Result<String> {
        let mut st = self
            .c
            .prepare_cached("SELECT blob FROM messages WHERE mailbox_id = ?1 AND uid = ?2")?;
        Ok(st.query_row((self.mailbox.0, self.uid), |r| r.get(0))?)
    }

    /// The cached meta, decoded; re-derived from the message when the row
    /// does not decode (as `message_metas` does, without the rewrite).
    pub fn meta(&self) -> Result<MessageMeta> {
        let (blob, json) = self.blob_and_meta()?;
        match parse::decode_meta(&json) {
            Ok(m) if m.version >= parse::META_VERSION => Ok(m),
            _ => {
                let id = BlobId::parse(&blob)
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

fn fetch_rows<S>(
    c: &Connection,
    blobs: &BlobDir,
    mailbox: MailboxId,
    (first, last): (u32, u32),
    state: &mut S,
    f: fn(&mut S, &FetchRow<'_>),
) -> Result<()> {
    let mut st = c.prepare_cached(
        "SELECT uid, flags, keywords, modseq, size, internal_date, structure
         FROM messages INDEXED BY messages_fetch
         WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid",
    )?;
    let mut rows = st.query((mailbox.0, first, last))?;
    while let Some(r) = rows.next()? {
        let keywords = r.get_ref(2)?.as_str().unwrap_or_default();
        let row = FetchRow {
            row: r,
            c,
            blobs,
            mailbox,
            uid: r.get(0)?,
            flags: Flags::from_columns(r.get(1)?, keywords),
            modseq: ModSeq(r.get::<_, i64>(3)?.max(0) as u64),
            size: r.get::<_, i64>(4)?.max(0) as u64,
            internal_date: r.get(5)?,
        };
        f(state, &row);
    }
    Ok(())
}
