//! Moving in from another server: appends that keep what the old server
//! gave out, so clients do not download everything again.
//!
//! - `import imap` appends a batch and records, in the same commit, how
//!   far it got in the source folder ([`ImportMark`]): an interrupted run
//!   resumes after the last batch that committed, never copying twice.
//!   Where the mark is lost (the source's UIDVALIDITY changed), it skips
//!   messages already here by Message-ID, INTERNALDATE and size
//!   ([`Store::imported_keys`]).
//! - `mailbox import` of a Dovecot maildir keeps the UIDs and UIDVALIDITY
//!   of its `dovecot-uidlist` ([`Store::append_kept_uids`]), and the POP3
//!   UIDLs the old server gave out, which POP3 then shows instead of ours
//!   ([`Store::pop3_uidls`]).
//! - Opened [`crate::OpenMode::Bulk`] (no server running), every import
//!   job holds the transaction open and [`Store::import_commit`] commits
//!   the whole import at once: one journal pass instead of one commit per
//!   batch, each rewriting the pages of the randomly ordered blob-hash
//!   indexes. With the full-text index off, an import leaves nothing in
//!   `fts_queue` (the server would only empty it).

use std::collections::HashMap;

use rusqlite::OptionalExtension;

use crate::Store;
use crate::error::{Result, StoreError};
use crate::mailboxes::mailbox_by_id;
use crate::messages::{Appended, NewMessage, Prepared, insert_message};
use crate::types::{MailboxId, Uid, UidValidity, UserId};
use crate::writer::WriteCtx;

/// How far an import got in one source folder: everything up to
/// `last_uid` under `uidvalidity` is here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportMark {
    pub uidvalidity: u32,
    pub last_uid: u32,
}

/// What identifies a message across servers when UIDs cannot: its
/// Message-ID (the `<...>` part, empty when it has none), INTERNALDATE
/// and size.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImportedKey {
    pub message_id: String,
    pub internal_date: i64,
    pub size: u64,
}

impl ImportedKey {
    /// The key of a message whose Message-ID header value is `header`
    /// (as written, possibly folded or with comments around the id).
    pub fn new(header: &str, internal_date: i64, size: u64) -> ImportedKey {
        let h = header.trim();
        let id = match (h.find('<'), h.rfind('>')) {
            (Some(a), Some(b)) if a < b => &h[a..=b],
            _ => h,
        };
        ImportedKey {
            message_id: id.split_whitespace().collect(),
            internal_date,
            size,
        }
    }
}

/// A message to store with the UID the old server gave it, and its POP3
/// UIDL there when that was not ours (`%08X` UID then `%08X` UIDVALIDITY).
#[derive(Clone, Debug)]
pub struct KeptUid {
    pub uid: Uid,
    pub msg: NewMessage,
    pub pop3_uidl: Option<String>,
}

impl Store {
    /// Where the last import of `folder` from `source` for `user` got to.
    pub async fn import_mark(
        &self,
        user: UserId,
        source: &str,
        folder: &str,
    ) -> Result<Option<ImportMark>> {
        let (source, folder) = (source.to_string(), folder.to_string());
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT uidvalidity, last_uid FROM import_marks
                 WHERE user_id = ?1 AND source = ?2 AND folder = ?3",
            )?
            .query_row((user.0, &source, &folder), |r| {
                Ok(ImportMark {
                    uidvalidity: r.get(0)?,
                    last_uid: r.get(1)?,
                })
            })
            .optional()?)
        })
        .await
    }

    /// The keys of the messages in `mailbox`, for the import's fallback
    /// when its marks cannot be trusted.
    pub async fn imported_keys(&self, mailbox: MailboxId) -> Result<Vec<ImportedKey>> {
        self.read(move |c| {
            let mut st = c.prepare(
                "SELECT message_id, internal_date, size FROM messages WHERE mailbox_id = ?1",
            )?;
            let rows = st
                .query_map([mailbox.0], |r| {
                    Ok(ImportedKey::new(
                        &r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                        r.get(1)?,
                        r.get::<_, i64>(2)?.max(0) as u64,
                    ))
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// Appends `msgs` to `mailbox` and moves the import's mark for
    /// (`source`, `folder`) to `mark`, all in one commit: a run killed at
    /// any point leaves the mark on the last batch that is really here.
    pub async fn import_batch(
        &self,
        user: UserId,
        mailbox: MailboxId,
        msgs: Vec<NewMessage>,
        source: &str,
        folder: &str,
        mark: ImportMark,
    ) -> Result<Vec<Appended>> {
        let (source, folder) = (source.to_string(), folder.to_string());
        let how = self.import_how();
        self.commit_messages(msgs, move |ctx, prepared| {
            owned_mailbox(ctx, user, mailbox)?;
            let mut out = Vec::with_capacity(prepared.len());
            for p in prepared {
                out.push(appended(insert_message(ctx, user, mailbox, p, false)?));
            }
            how.end_job(ctx, prepared)?;
            ctx.conn
                .prepare_cached(
                    "INSERT INTO import_marks (user_id, source, folder, uidvalidity, last_uid)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT DO UPDATE SET uidvalidity = excluded.uidvalidity,
                        last_uid = excluded.last_uid",
                )?
                .execute((user.0, &source, &folder, mark.uidvalidity, mark.last_uid))?;
            Ok(out)
        })
        .await
    }

    /// Appends messages with the UIDs they had on the old server, in one
    /// commit. With `first`, the mailbox must hold no message and
    /// `uidvalidity` must be no other mailbox's (the EMAILID, RFC 8474, is
    /// made of the two): the mailbox then takes `uidvalidity` (IMAP
    /// clients see a new one and resynchronise once, RFC 9051 §2.3.1.1).
    /// Otherwise `uidvalidity` must be the mailbox's already. Each UID must
    /// be above those stored before; with `uidnext` (the last batch's),
    /// UIDNEXT ends at least there (the old server's, so UIDs it gave out
    /// are never given again).
    /// `Exists` says the mailbox cannot keep them (the caller gives fresh
    /// UIDs instead).
    pub async fn append_kept_uids(
        &self,
        user: UserId,
        mailbox: MailboxId,
        uidvalidity: UidValidity,
        uidnext: Option<u32>,
        first: bool,
        mut msgs: Vec<KeptUid>,
    ) -> Result<Vec<Appended>> {
        msgs.sort_by_key(|m| m.uid);
        let kept: Vec<(Uid, Option<String>)> =
            msgs.iter().map(|m| (m.uid, m.pop3_uidl.clone())).collect();
        let news: Vec<NewMessage> = msgs.into_iter().map(|m| m.msg).collect();
        let how = self.import_how();
        self.commit_messages(news, move |ctx, prepared| {
            let mb = owned_mailbox(ctx, user, mailbox)?;
            if first {
                take_uidvalidity(ctx, mailbox, uidvalidity)?;
            } else if mb.uidvalidity != uidvalidity {
                return Err(StoreError::Exists(format!(
                    "mailbox {} has UIDVALIDITY {}, not {}",
                    mb.name, mb.uidvalidity.0, uidvalidity.0
                )));
            }
            let mut out = Vec::with_capacity(prepared.len());
            for (p, (uid, uidl)) in prepared.iter().zip(&kept) {
                // insert_message gives the mailbox's UIDNEXT: set it to the
                // kept UID first, never backwards.
                let moved = ctx
                    .conn
                    .prepare_cached(
                        "UPDATE mailboxes SET uidnext = ?2 WHERE id = ?1 AND uidnext <= ?2",
                    )?
                    .execute((mailbox.0, uid.get()))?;
                if moved == 0 {
                    return Err(StoreError::Exists(format!(
                        "UID {} is below the mailbox's UIDNEXT",
                        uid.get()
                    )));
                }
                let a = appended(insert_message(ctx, user, mailbox, p, false)?);
                if let Some(u) = uidl {
                    ctx.conn
                        .prepare_cached(
                            "INSERT OR REPLACE INTO pop3_uidls (mailbox_id, uid, uidl)
                             VALUES (?1, ?2, ?3)",
                        )?
                        .execute((mailbox.0, a.uid.get(), u))?;
                }
                out.push(a);
            }
            if let Some(next) = uidnext {
                ctx.conn
                    .prepare_cached(
                        "UPDATE mailboxes SET uidnext = MAX(uidnext, ?2) WHERE id = ?1",
                    )?
                    .execute((mailbox.0, next))?;
            }
            how.end_job(ctx, prepared)?;
            Ok(out)
        })
        .await
    }

    /// Appends messages with fresh UIDs, each keeping the POP3 UIDL the
    /// old server gave it (when the UIDs themselves could not be kept).
    pub async fn append_with_uidls(
        &self,
        user: UserId,
        mailbox: MailboxId,
        msgs: Vec<(NewMessage, Option<String>)>,
    ) -> Result<Vec<Appended>> {
        let (news, uidls): (Vec<_>, Vec<_>) = msgs.into_iter().unzip();
        let how = self.import_how();
        self.commit_messages(news, move |ctx, prepared| {
            owned_mailbox(ctx, user, mailbox)?;
            let mut out = Vec::with_capacity(prepared.len());
            for (p, uidl) in prepared.iter().zip(&uidls) {
                let a = appended(insert_message(ctx, user, mailbox, p, false)?);
                if let Some(u) = uidl {
                    ctx.conn
                        .prepare_cached(
                            "INSERT OR REPLACE INTO pop3_uidls (mailbox_id, uid, uidl)
                             VALUES (?1, ?2, ?3)",
                        )?
                        .execute((mailbox.0, a.uid.get(), u))?;
                }
                out.push(a);
            }
            how.end_job(ctx, prepared)?;
            Ok(out)
        })
        .await
    }

    /// Makes what the import wrote durable: under [`crate::OpenMode::Bulk`]
    /// the one commit of the whole import (until it returns, none of it is
    /// stored, and a process stopped before it leaves none); otherwise each
    /// batch already committed and this is an empty commit.
    pub async fn import_commit(&self) -> Result<()> {
        self.inner.writer.write(|_| Ok(())).await
    }

    /// Whether imports are held in one transaction until
    /// [`Self::import_commit`] (`OpenMode::Bulk`, the journal switched).
    pub fn imports_held(&self) -> bool {
        self.inner.bulk
    }

    fn import_how(&self) -> ImportHow {
        ImportHow {
            hold: self.inner.bulk,
            fts: self.inner.opts.fts,
        }
    }

    /// The POP3 UIDLs messages of `mailbox` brought from the old server,
    /// by UID (usually none).
    pub async fn pop3_uidls(&self, mailbox: MailboxId) -> Result<HashMap<Uid, String>> {
        self.read(move |c| {
            let mut st =
                c.prepare_cached("SELECT uid, uidl FROM pop3_uidls WHERE mailbox_id = ?1")?;
            let rows = st
                .query_map([mailbox.0], |r| {
                    Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(u, l)| Some((Uid::new(u)?, l)))
                .collect())
        })
        .await
    }
}

/// How an import job ends, by the store's mode and options.
#[derive(Clone, Copy)]
struct ImportHow {
    hold: bool,
    fts: bool,
}

impl ImportHow {
    fn end_job(self, ctx: &mut WriteCtx<'_>, prepared: &[Prepared]) -> Result<()> {
        if !self.fts {
            // The trigger queued each new blob for the indexer; with the
            // index off the server only empties the queue, and rows left
            // would cost a random page of its key per message.
            let mut st = ctx
                .conn
                .prepare_cached("DELETE FROM fts_queue WHERE blob = ?1")?;
            for p in prepared {
                st.execute([p.blob.as_str()])?;
            }
        }
        if self.hold {
            ctx.hold();
        }
        Ok(())
    }
}

fn owned_mailbox(
    ctx: &mut WriteCtx<'_>,
    user: UserId,
    mailbox: MailboxId,
) -> Result<crate::Mailbox> {
    mailbox_by_id(ctx.conn, mailbox)?
        .filter(|m| m.user == user)
        .ok_or_else(|| StoreError::NotFound("mailbox".into()))
}

fn appended(d: crate::Delivered) -> Appended {
    Appended {
        mailbox: d.mailbox,
        uidvalidity: d.uidvalidity,
        uid: d.uid,
        modseq: d.modseq,
    }
}

/// Gives the empty `mailbox` the old server's UIDVALIDITY and starts its
/// UIDs over; the QRESYNC history of the old UIDVALIDITY goes with it.
fn take_uidvalidity(ctx: &mut WriteCtx<'_>, mailbox: MailboxId, v: UidValidity) -> Result<()> {
    let held: i64 = ctx.conn.query_row(
        "SELECT COUNT(*) FROM messages WHERE mailbox_id = ?1",
        [mailbox.0],
        |r| r.get(0),
    )?;
    if held > 0 {
        return Err(StoreError::Exists(format!(
            "the mailbox already holds {held} messages"
        )));
    }
    let other: Option<i64> = ctx
        .conn
        .query_row(
            "SELECT id FROM mailboxes WHERE uidvalidity = ?1 AND id != ?2 LIMIT 1",
            (v.0, mailbox.0),
            |r| r.get(0),
        )
        .optional()?;
    if other.is_some() {
        return Err(StoreError::Exists(format!(
            "UIDVALIDITY {} belongs to another mailbox here",
            v.0
        )));
    }
    if v.0 == 0 {
        return Err(StoreError::Invalid("UIDVALIDITY 0".into()));
    }
    ctx.conn.execute(
        "UPDATE mailboxes SET uidvalidity = ?2, uidnext = 1 WHERE id = ?1",
        (mailbox.0, v.0),
    )?;
    ctx.conn
        .execute("DELETE FROM expunged WHERE mailbox_id = ?1", [mailbox.0])?;
    // New mailboxes take the clock or one more than the last value given
    // out: never this one again, even if the old server's clock was ahead.
    ctx.conn.execute(
        "INSERT INTO meta (key, value) VALUES ('uidvalidity', ?1)
         ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)",
        [i64::from(v.0)],
    )?;
    Ok(())
}
