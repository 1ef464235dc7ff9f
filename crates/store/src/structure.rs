//! A message's ENVELOPE and BODYSTRUCTURE as IMAP sends them, kept once
//! in a table of their own clustered by (mailbox, UID)
//! (`message_structure`, migration 28; migration 26 had them in the row
//! and 27 again in a covering index) so a client's sync (`UID FETCH 1:*
//! (UID FLAGS ENVELOPE BODYSTRUCTURE)` on 100,000 messages, issue 19) is
//! a sequential read and a copy instead of decoding and rendering every
//! message's cached meta again.
//!
//! The store does not know IMAP's syntax: the server registers the
//! renderer once at start ([`set_structure_renderer`]), and `prepare`
//! keeps what it returns; the row is written with the message, copied
//! with it by COPY (and MOVE) and deleted with it at expunge or with its
//! mailbox. The bytes are the renderer's own (it versions them); a
//! message without them (written before migration 26, or by a process
//! that registered no renderer) is answered from its meta, as before.
//!
//! [`Store::scan_fetch`] hands the caller each message of a UID range in
//! UID order, with the stored bytes and, only when asked, the meta: it
//! walks the listing index (`messages_listing`: UID, flags, MODSEQ, size,
//! INTERNALDATE, blob id) and `message_structure` in step, two
//! sequential reads merged by UID, never a seek into the wide rows or a
//! lookup per message. A FETCH answers a mailbox batch by batch, each
//! batch written out before the next is read, so its memory does not
//! grow with the mailbox.

use std::sync::OnceLock;

use rusqlite::{Connection, Row};

use crate::Store;
use crate::blobs::{BlobDir, BlobId};
use crate::error::{Result, StoreError};
use crate::messages::blob_bytes;
use crate::parse::{self, MessageMeta};
use crate::types::{Flags, MailboxId, ModSeq};

/// Turns a message's meta into the bytes kept in `message_structure`.
pub type StructureRenderer = fn(&MessageMeta) -> Vec<u8>;

static RENDERER: OnceLock<StructureRenderer> = OnceLock::new();

/// Registers the renderer whose output new rows keep (the first one
/// registered stays: a process renders one way).
pub fn set_structure_renderer(f: StructureRenderer) {
    let _ = RENDERER.set(f);
}

/// What a new message keeps in `message_structure`, if a renderer is
/// registered.
pub(crate) fn render(meta: &MessageMeta) -> Option<Vec<u8>> {
    RENDERER.get().map(|f| f(meta))
}

/// One message as [`Store::scan_fetch`] reads it: the listing columns
/// and the stored structure; its meta is read only when asked for (a
/// second lookup by key), so the pass does not copy every row's meta
/// (~0.8 KB) into SQLite's registers.
pub struct FetchRow<'a> {
    /// The listing index's row (its column 6 is the blob id).
    row: &'a Row<'a>,
    structure: Option<&'a [u8]>,
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
    /// The bytes the renderer stored, if this message has them.
    pub fn structure(&self) -> Option<&[u8]> {
        self.structure
    }

    /// The message's content id (the key of caches shared across mailboxes).
    pub fn blob(&self) -> Result<String> {
        Ok(self.row.get(6)?)
    }

    /// The cached meta, decoded; re-derived from the message when the row
    /// does not decode (as `message_metas` does, without the rewrite).
    pub fn meta(&self) -> Result<MessageMeta> {
        let blob = self.blob()?;
        let json: String = self
            .c
            .prepare_cached("SELECT meta FROM messages WHERE mailbox_id = ?1 AND uid = ?2")?
            .query_row((self.mailbox.0, self.uid), |r| r.get(0))?;
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

/// The pass of [`Store::scan_fetch`]: the listing index and
/// `message_structure` read in step, both in UID order, on one connection
/// (one read snapshot: the second statement starts while the first runs).
fn fetch_rows<S>(
    c: &Connection,
    blobs: &BlobDir,
    mailbox: MailboxId,
    (first, last): (u32, u32),
    state: &mut S,
    f: fn(&mut S, &FetchRow<'_>),
) -> Result<()> {
    let mut st = c.prepare_cached(
        "SELECT uid, flags, keywords, modseq, size, internal_date, blob
         FROM messages INDEXED BY messages_listing
         WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid",
    )?;
    let mut structures = c.prepare_cached(
        "SELECT uid, structure FROM message_structure
         WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid",
    )?;
    let mut rows = st.query((mailbox.0, first, last))?;
    let Some(mut r) = rows.next()? else {
        return Ok(());
    };
    let mut srows = structures.query((mailbox.0, first, last))?;
    let mut s = srows.next()?;
    loop {
        let uid: u32 = r.get(0)?;
        // A structure row without its message (none is left behind, but
        // `verify` would name one) is stepped over like a missing one.
        while let Some(sr) = s {
            if sr.get::<_, u32>(0)? >= uid {
                break;
            }
            s = srows.next()?;
        }
        let structure = match s {
            Some(sr) if sr.get::<_, u32>(0)? == uid => {
                sr.get_ref(1)?.as_blob_or_null().ok().flatten()
            }
            _ => None,
        };
        let keywords = r.get_ref(2)?.as_str().unwrap_or_default();
        let row = FetchRow {
            row: r,
            structure,
            c,
            blobs,
            mailbox,
            uid,
            flags: Flags::from_columns(r.get(1)?, keywords),
            modseq: ModSeq(r.get::<_, i64>(3)?.max(0) as u64),
            size: r.get::<_, i64>(4)?.max(0) as u64,
            internal_date: r.get(5)?,
        };
        f(state, &row);
        match rows.next()? {
            Some(next) => r = next,
            None => return Ok(()),
        }
    }
}
