//! Reading messages' bytes by mailbox and UID, for POP3 RETR and TOP (one
//! message, or a run of them for read-ahead): the row lookup and the blob
//! read happen in one read, so a message expunged meanwhile is reported as
//! gone rather than served from a blob that only lives on through its
//! grace period.

use rusqlite::OptionalExtension;

use crate::Store;
use crate::blobs::BlobId;
use crate::error::{Result, StoreError};
use crate::types::{MailboxId, Uid};

impl Store {
    /// The raw bytes of message `uid` of `mailbox`; `None` when no such
    /// message exists (never delivered, or expunged).
    pub async fn message_bytes(&self, mailbox: MailboxId, uid: Uid) -> Result<Option<Vec<u8>>> {
        let blobs = self.inner.blobs.clone();
        self.read(move |c| {
            Ok(bytes_of(c, &blobs, mailbox, vec![uid])?
                .pop()
                .map(|(_, b)| b))
        })
        .await
    }

    /// The raw bytes of several messages of `mailbox` in one read (POP3
    /// read-ahead: one trip to the blocking pool for a run of RETRs).
    /// Messages that do not exist are left out; the order is `uids`'.
    pub async fn messages_bytes(
        &self,
        mailbox: MailboxId,
        uids: Vec<Uid>,
    ) -> Result<Vec<(Uid, Vec<u8>)>> {
        let blobs = self.inner.blobs.clone();
        self.read(move |c| bytes_of(c, &blobs, mailbox, uids)).await
    }
}

impl crate::BulkReader {
    /// `Store::messages_bytes` through this reader's memory map.
    pub async fn messages_bytes(
        &self,
        mailbox: MailboxId,
        uids: Vec<Uid>,
    ) -> Result<Vec<(Uid, Vec<u8>)>> {
        self.read(move |c, store| bytes_of(c, &store.inner.blobs, mailbox, uids))
            .await
    }
}

fn bytes_of(
    c: &rusqlite::Connection,
    blobs: &crate::blobs::BlobDir,
    mailbox: MailboxId,
    uids: Vec<Uid>,
) -> Result<Vec<(Uid, Vec<u8>)>> {
    let mut st = c.prepare_cached(
        "SELECT m.blob, b.data FROM messages m JOIN blobs b ON b.hash = m.blob
         WHERE m.mailbox_id = ?1 AND m.uid = ?2",
    )?;
    // A run in one read transaction: the WAL read lock (two `fcntl`s) and
    // the page cache check once, not once per message. Dropping it ends it.
    let _run = if uids.len() > 1 && c.is_autocommit() {
        Some(c.unchecked_transaction()?)
    } else {
        None
    };
    let mut out = Vec::with_capacity(uids.len());
    for uid in uids {
        let row: Option<(String, Option<Vec<u8>>)> = st
            .query_row((mailbox.0, uid.get()), |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let data = match row {
            None => continue,
            Some((_, Some(data))) => data,
            Some((hash, None)) => {
                let id = BlobId::parse(&hash)
                    .ok_or_else(|| StoreError::Corrupt(format!("blob id {hash:?}")))?;
                blobs.read(&id)?
            }
        };
        out.push((uid, data));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::{
        DeliveryTarget, ExpungeWhich, Flags, NewMessage, NewUser, OpenMode, Store, StoreOptions,
        Uid,
    };

    #[tokio::test]
    async fn message_bytes_reads_inline_and_file_blobs_and_none_once_expunged() {
        for inline_max in [0, 1 << 16] {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = Store::open(
                dir.path(),
                StoreOptions {
                    mode: OpenMode::Server,
                    inline_max,
                    ..StoreOptions::default()
                },
            )
            .expect("open");
            store.domain_add("example.org").await.expect("domain");
            let user = store
                .user_add(NewUser {
                    address: "ann@example.org".into(),
                    display_name: String::new(),
                    password_hash: "$argon2id$placeholder".into(),
                    quota_bytes: None,
                    quota_messages: None,
                })
                .await
                .expect("user");
            let raw = b"Subject: hi\r\n\r\nbody\r\n".to_vec();
            let delivered = store
                .deliver(
                    NewMessage {
                        raw: raw.clone(),
                        internal_date: None,
                        flags: Flags::default(),
                    },
                    vec![DeliveryTarget::inbox(user)],
                )
                .await
                .expect("deliver")
                .remove(0)
                .expect("delivered");
            let (mb, uid) = (delivered.mailbox, delivered.uid);
            let got = store.message_bytes(mb, uid).await.expect("read");
            assert_eq!(got.as_deref(), Some(&raw[..]), "inline_max {inline_max}");
            let other = Uid::new(uid.get() + 1).expect("nonzero");
            assert_eq!(store.message_bytes(mb, other).await.expect("read"), None);
            let many = store
                .messages_bytes(mb, vec![other, uid, other])
                .await
                .expect("read many");
            assert_eq!(many, vec![(uid, raw.clone())]);
            let bulk = store.bulk_reader().await.expect("bulk reader");
            assert_eq!(
                bulk.messages_bytes(mb, vec![other, uid])
                    .await
                    .expect("bulk read"),
                many,
                "the memory-mapped reader answers the same"
            );
            drop(bulk);
            // Kept for the next scan without its map.
            assert_eq!(store.pooled_bulk_maps(), vec![0]);
            store
                .expunge(mb, ExpungeWhich::Uids(vec![uid]))
                .await
                .expect("expunge");
            // The pooled connection maps again and sees the expunge.
            let bulk = store.bulk_reader().await.expect("bulk reader");
            assert!(
                bulk.messages_bytes(mb, vec![uid])
                    .await
                    .expect("bulk read")
                    .is_empty()
            );
            drop(bulk);
            assert_eq!(store.pooled_bulk_maps(), vec![0], "one connection, reused");
            // Gone at once, even though the blob is kept for its grace period.
            assert_eq!(store.message_bytes(mb, uid).await.expect("read"), None);
            assert!(
                store
                    .messages_bytes(mb, vec![uid])
                    .await
                    .expect("read")
                    .is_empty()
            );
        }
    }
}
