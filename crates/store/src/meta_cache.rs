//! Reading back the meta cached at delivery (ENVELOPE, MIME tree), one
//! message or many in one read. A row that does not decode (damaged, or
//! written by a build whose tree the decoder refuses) is re-derived from
//! the message itself and rewritten, so a bad cache row costs one parse
//! and never fails a command (issue 13: one such row used to fail every
//! SEARCH of its mailbox).

use rusqlite::Connection;

use crate::Store;
use crate::blobs::{BlobDir, BlobId};
use crate::error::{Result, StoreError};
use crate::messages::blob_bytes;
use crate::parse::{self, MessageMeta};
use crate::types::{MailboxId, Uid};

impl Store {
    /// The cached ENVELOPE and MIME structure of a message.
    pub async fn message_meta(&self, mailbox: MailboxId, uid: Uid) -> Result<Option<MessageMeta>> {
        Ok(self
            .message_metas(mailbox, vec![uid])
            .await?
            .pop()
            .map(|(_, m)| m))
    }

    /// The cached meta of several messages in one read (FETCH and SEARCH
    /// over a range would otherwise pay one round trip per message).
    /// Messages that no longer exist are left out.
    pub async fn message_metas(
        &self,
        mailbox: MailboxId,
        uids: Vec<Uid>,
    ) -> Result<Vec<(Uid, MessageMeta)>> {
        let blobs = self.inner.blobs.clone();
        let (out, repairs) = self
            .read(move |c| {
                let mut rows = Rows {
                    c,
                    blobs: &blobs,
                    mailbox,
                    out: Vec::with_capacity(uids.len()),
                    repairs: Vec::new(),
                };
                rows.read(uids)?;
                Ok((rows.out, rows.repairs))
            })
            .await?;
        if !repairs.is_empty() {
            self.rewrite_metas(mailbox, repairs).await;
        }
        Ok(out)
    }

    /// Puts re-derived meta back in its rows. Best effort: a failure only
    /// means the next read re-derives again.
    async fn rewrite_metas(&self, mailbox: MailboxId, rows: Vec<(Uid, String)>) {
        let done = self
            .inner
            .writer
            .write(move |ctx| {
                let mut st = ctx.conn.prepare_cached(
                    "UPDATE messages SET meta = ?1 WHERE mailbox_id = ?2 AND uid = ?3",
                )?;
                for (uid, json) in &rows {
                    st.execute((json, mailbox.0, uid.get()))?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = done {
            tracing::warn!(error = %e, "could not rewrite re-derived message cache rows");
        }
    }
}

/// One read of metas: what was read, and the rows to rewrite.
struct Rows<'a> {
    c: &'a Connection,
    blobs: &'a BlobDir,
    mailbox: MailboxId,
    out: Vec<(Uid, MessageMeta)>,
    repairs: Vec<(Uid, String)>,
}

impl Rows<'_> {
    fn read(&mut self, uids: Vec<Uid>) -> Result<()> {
        let (c, mailbox) = (self.c, self.mailbox);
        let mut sorted = uids;
        sorted.sort_unstable();
        sorted.dedup();
        let (Some(&first), Some(&last)) = (sorted.first(), sorted.last()) else {
            return Ok(());
        };
        let span = u64::from(last.get() - first.get()) + 1;
        if sorted.len() >= 32 && sorted.len() as u64 * 4 >= span {
            // Dense (a client's 1:*): one walk along the UID range.
            let mut st = c.prepare_cached(
                "SELECT uid, meta, blob FROM messages
                 WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid",
            )?;
            let mut rows = st.query((mailbox.0, first.get(), last.get()))?;
            while let Some(r) = rows.next()? {
                let Some(uid) = Uid::new(r.get(0)?) else {
                    continue;
                };
                if sorted.binary_search(&uid).is_ok() {
                    let json = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
                    let blob = r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?;
                    self.push(uid, json, blob)?;
                }
            }
        } else {
            let mut st = c.prepare_cached(
                "SELECT meta, blob FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
            )?;
            for uid in sorted {
                let mut rows = st.query((mailbox.0, uid.get()))?;
                if let Some(r) = rows.next()? {
                    let json = r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
                    let blob = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
                    self.push(uid, json, blob)?;
                }
            }
        }
        Ok(())
    }

    /// Decodes a row's meta, or re-derives it from the message.
    fn push(&mut self, uid: Uid, json: &str, blob: &str) -> Result<()> {
        let meta = match parse::decode_meta(json) {
            Ok(m) => m,
            Err(e) => {
                let id = BlobId::parse(blob)
                    .ok_or_else(|| StoreError::Corrupt(format!("blob id {blob:?}")))?;
                let mut meta = parse::meta_of(&blob_bytes(self.c, self.blobs, &id)?);
                tracing::warn!(
                    mailbox = self.mailbox.0,
                    uid = uid.get(),
                    error = %e,
                    "message cache row unreadable, re-derived from the message"
                );
                if let Ok(json) = parse::encode_meta(&mut meta) {
                    self.repairs.push((uid, json));
                }
                meta
            }
        };
        self.out.push((uid, meta));
        Ok(())
    }
}
