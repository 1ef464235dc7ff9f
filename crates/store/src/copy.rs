//! COPY (RFC 9051 §6.4.7) and MOVE (RFC 6851): new rows for existing
//! messages, sharing their blobs, in one commit.
//!
//! A copy is a new row per message made with `INSERT ... SELECT` from the
//! source row, so flags, keywords, INTERNALDATE, the cached meta, the sort
//! columns and the EMAILID (RFC 8474: the same email) travel with it and
//! nothing is parsed again; the blob gains a reference and no bytes are
//! written. A move is the same job followed by an
//! expunge of the source rows (`messages::expunge_rows`) in the same
//! savepoint, so a crash or a failure leaves either both halves or neither.
//! A copy or move into or out of `\Junk` writes the spam trainer's journal
//! rows in the same commit (`training.rs`).

use crate::error::{Result, StoreError};
use crate::feed::{ChangeKind, MailboxChange};
use crate::mailboxes::{Mailbox, mailbox_by_id};
use crate::messages::{ExpungeWhich, Expunged, expunge_rows, quota_of};
use crate::types::{Flags, MailboxId, ModSeq, Uid, UidValidity, UserId};
use crate::writer::WriteCtx;
use crate::{BlobId, Store, now_secs};

/// What COPY/MOVE did: COPYUID's values (RFC 4315 §3) and the destination's
/// new MODSEQ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copied {
    /// UIDVALIDITY of the destination, for COPYUID.
    pub uidvalidity: UidValidity,
    /// (source UID, new UID), ascending in source UID; UIDs that did not
    /// exist in the source are not listed.
    pub pairs: Vec<(Uid, Uid)>,
    /// The destination's HIGHESTMODSEQ after the copy (unchanged when
    /// nothing was copied).
    pub modseq: ModSeq,
}

impl Store {
    /// COPY (RFC 9051 §6.4.7): the given source UIDs that exist, into `to`,
    /// in one commit. Flags and keywords and INTERNALDATE are copied;
    /// `\Deleted` is copied too, as IMAP does. New UIDs ascend in source UID
    /// order. The quota of the destination's owner is checked for the whole
    /// set: all or nothing (`QuotaExceeded`). Blob references are added, no
    /// bytes copied. The destination's subscribers get one `ChangeKind::New`
    /// with all new UIDs. Both mailboxes must belong to `user` (else
    /// `NotFound`); copying into the same mailbox is allowed.
    pub async fn copy_messages(
        &self,
        user: UserId,
        from: MailboxId,
        uids: Vec<Uid>,
        to: MailboxId,
    ) -> Result<Copied> {
        self.inner
            .writer
            .write(move |ctx| {
                let (src, dst) = both_of(ctx, user, from, to)?;
                copy_rows(ctx, &src, &dst, uids, true)
            })
            .await
    }

    /// MOVE (RFC 6851): copy, then expunge from the source, in the same
    /// commit. The source's subscribers get `ChangeKind::Expunged` (and the
    /// UIDs are remembered with the new source MODSEQ for QRESYNC), the
    /// destination's get `New`. Moving into the same mailbox works as COPY
    /// and EXPUNGE would (RFC 6851 §3.3 leaves it to the server; clients
    /// expect it to work): the messages get new UIDs at the end. Quota is
    /// not checked: within one account a move leaves usage as it was.
    pub async fn move_messages(
        &self,
        user: UserId,
        from: MailboxId,
        uids: Vec<Uid>,
        to: MailboxId,
    ) -> Result<(Copied, Expunged)> {
        self.inner
            .writer
            .write(move |ctx| {
                let (src, dst) = both_of(ctx, user, from, to)?;
                let copied = copy_rows(ctx, &src, &dst, uids, false)?;
                let moved = copied.pairs.iter().map(|(s, _)| *s).collect();
                let expunged = expunge_rows(ctx, src.id, &ExpungeWhich::Uids(moved))?;
                Ok((copied, expunged))
            })
            .await
    }
}

/// The source and destination mailboxes, both of `user`, or `NotFound`.
fn both_of(
    ctx: &WriteCtx<'_>,
    user: UserId,
    from: MailboxId,
    to: MailboxId,
) -> Result<(Mailbox, Mailbox)> {
    let get = |id: MailboxId| -> Result<Mailbox> {
        mailbox_by_id(ctx.conn, id)?
            .filter(|m| m.user == user)
            .ok_or_else(|| StoreError::NotFound("mailbox".into()))
    };
    Ok((get(from)?, get(to)?))
}

/// Copies the rows of `uids` that exist in `src` into `dst`. With
/// `check_quota`, refuses the whole set if it does not fit the owner's quota.
fn copy_rows(
    ctx: &mut WriteCtx<'_>,
    src: &Mailbox,
    dst: &Mailbox,
    mut uids: Vec<Uid>,
    check_quota: bool,
) -> Result<Copied> {
    uids.sort_unstable();
    uids.dedup();
    let mut rows: Vec<(Uid, u64, BlobId)> = Vec::with_capacity(uids.len());
    // The flags the copies are written with, for the feed.
    let mut flags: Vec<Flags> = Vec::with_capacity(uids.len());
    {
        let mut st = ctx.conn.prepare_cached(
            "SELECT size, blob, flags, keywords FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
        )?;
        for uid in uids {
            let mut q = st.query((src.id.0, uid.get()))?;
            if let Some(r) = q.next()? {
                let blob: String = r.get(1)?;
                let blob = BlobId::parse(&blob)
                    .ok_or_else(|| StoreError::Corrupt(format!("blob name {blob:?}")))?;
                rows.push((uid, r.get::<_, i64>(0)?.max(0) as u64, blob));
                let keywords = r.get_ref(3)?.as_str().unwrap_or_default();
                flags.push(Flags::from_columns(r.get(2)?, keywords));
            }
        }
    }
    if rows.is_empty() {
        return Ok(Copied {
            uidvalidity: dst.uidvalidity,
            pairs: Vec::new(),
            modseq: dst.highest_modseq,
        });
    }
    let count = rows.len() as u64;
    let bytes: u64 = rows.iter().map(|(_, size, _)| size).sum();
    if check_quota {
        let q = quota_of(ctx.conn, dst.user)?;
        if q.limit_bytes.is_some_and(|l| q.used_bytes + bytes > l) {
            return Err(StoreError::QuotaExceeded(format!(
                "mailbox would hold {} of {} bytes",
                q.used_bytes + bytes,
                q.limit_bytes.unwrap_or_default()
            )));
        }
        if q.limit_messages
            .is_some_and(|l| q.used_messages + count > l)
        {
            return Err(StoreError::QuotaExceeded(format!(
                "mailbox would hold {} of {} messages",
                q.used_messages + count,
                q.limit_messages.unwrap_or_default()
            )));
        }
    }
    // The last UID handed out must stay below u32::MAX, as in insert_message.
    if u64::from(dst.uidnext) + count > u64::from(u32::MAX) {
        return Err(StoreError::Invalid("UID space exhausted".into()));
    }
    let modseq = ModSeq(dst.highest_modseq.0 + 1);
    let saved_at = now_secs();
    let mut pairs = Vec::with_capacity(rows.len());
    for (i, (old, size, blob)) in rows.iter().enumerate() {
        let new = Uid::new(dst.uidnext + i as u32)
            .ok_or_else(|| StoreError::Invalid("UID space exhausted".into()))?;
        // The source row holds a reference, so this only counts one more.
        ctx.add_blob_ref(blob, *size, None)?;
        ctx.conn
            .prepare_cached(
                "INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, size,
                    internal_date, saved_at, blob, meta, hdr_date, hdr_subject, hdr_from,
                    hdr_to, hdr_cc, message_id, in_reply_to, refs, email_id, sort_date,
                    thread_head)
                 SELECT ?1, ?2, ?3, flags, keywords, size, internal_date, ?4, blob, meta,
                    hdr_date, hdr_subject, hdr_from, hdr_to, hdr_cc, message_id,
                    in_reply_to, refs, email_id, sort_date, thread_head
                 FROM messages WHERE mailbox_id = ?5 AND uid = ?6",
            )?
            .execute(rusqlite::params![
                dst.id.0,
                new.get(),
                modseq.0 as i64,
                saved_at,
                src.id.0,
                old.get(),
            ])?;
        ctx.conn
            .prepare_cached(
                "INSERT INTO message_structure (mailbox_id, uid, structure)
                 SELECT ?1, ?2, structure FROM message_structure
                 WHERE mailbox_id = ?3 AND uid = ?4",
            )?
            .execute((dst.id.0, new.get(), src.id.0, old.get()))?;
        pairs.push((*old, new));
    }
    // Into or out of \Junk trains the classifier, in this same commit.
    let moved: Vec<(BlobId, u64)> = rows.iter().map(|(_, s, b)| (b.clone(), *s)).collect();
    crate::training::journal_copy(ctx, src, dst, &moved)?;
    let last = pairs.last().map_or(dst.uidnext, |(_, n)| n.get());
    ctx.conn
        .prepare_cached("UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3 WHERE id = ?1")?
        .execute((dst.id.0, last + 1, modseq.0 as i64))?;
    ctx.conn
        .prepare_cached(
            "UPDATE users SET used_bytes = used_bytes + ?2, used_messages = used_messages + ?3
             WHERE id = ?1",
        )?
        .execute((dst.user.0, bytes as i64, count as i64))?;
    ctx.publish(MailboxChange {
        mailbox: dst.id,
        modseq,
        kind: ChangeKind::New {
            uids: pairs.iter().map(|(_, n)| *n).collect(),
            flags,
        },
    });
    Ok(Copied {
        uidvalidity: dst.uidvalidity,
        pairs,
        modseq,
    })
}
