//! POP3's UPDATE state in one commit: `\Seen` for what was retrieved (when
//! configured), the time of each message's first retrieval, and the
//! removal of the deleted messages together with those whose retention
//! period (RFC 2449 §6.7 EXPIRE) has run out.
//!
//! The retention clock starts at a message's first RETR over POP3, never
//! at delivery: a message no POP3 client has downloaded is never expired
//! (the RFC's retention period is for mail left on the server after
//! download). Expiry runs at a QUIT of the user's POP3 session, so a
//! session that drops removes nothing, like its DELEs.

use std::time::Duration;

use crate::error::Result;
use crate::messages::{ExpungeWhich, Expunged, expunge_rows, set_flags_rows};
use crate::types::{FlagOp, Flags, MailboxId, SystemFlags, Uid};
use crate::{Store, now_secs};

/// What a POP3 session's QUIT asks of the store.
#[derive(Clone, Debug, Default)]
pub struct Pop3Update {
    /// Messages to mark `\Seen` (retrieved, with `retr_sets_seen`).
    pub seen: Vec<Uid>,
    /// Messages retrieved with RETR this session.
    pub retrieved: Vec<Uid>,
    /// Messages the client deleted (DELE).
    pub deleted: Vec<Uid>,
    /// The retention period after first retrieval; `None`: never expire.
    /// Zero removes what was retrieved this session (RFC 2449 `EXPIRE 0`).
    pub expire_after: Option<Duration>,
}

/// One message of a POP3 session's snapshot: what STAT, LIST and UIDL
/// need, and no more (a 100,000-message maildrop is 1.6 MB of these).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pop3Entry {
    pub uid: Uid,
    pub size: u64,
    pub seen: bool,
}

/// What QUIT removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pop3Updated {
    /// Removed because the client deleted them.
    pub deleted: usize,
    /// Removed because their retention period ran out.
    pub expired: usize,
}

impl Store {
    /// The first `max` messages of `mailbox` by UID, for a POP3 snapshot:
    /// only the columns POP3 lists, never the full rows (flags, keywords,
    /// dates and blob names of every message).
    pub async fn pop3_snapshot(&self, mailbox: MailboxId, max: usize) -> Result<Vec<Pop3Entry>> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT uid, size, flags FROM messages WHERE mailbox_id = ?1
                 ORDER BY uid LIMIT ?2",
            )?;
            let rows = st.query_map(rusqlite::params![mailbox.0, max], |r| {
                let uid: u32 = r.get(0)?;
                Ok(Pop3Entry {
                    uid: Uid::new(uid).ok_or(rusqlite::Error::IntegralValueOutOfRange(0, 0))?,
                    size: r.get::<_, i64>(1)?.max(0) as u64,
                    seen: r.get::<_, i64>(2)? & i64::from(SystemFlags::SEEN.0) != 0,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    /// Applies a POP3 session's QUIT to `mailbox` (its INBOX) in one
    /// commit; IMAP sessions see the flag changes and the expunge in the
    /// feed. Absent UIDs (expunged meanwhile) are skipped.
    pub async fn pop3_update(&self, mailbox: MailboxId, update: Pop3Update) -> Result<Pop3Updated> {
        self.inner
            .writer
            .write(move |ctx| {
                if !update.seen.is_empty() {
                    let seen = Flags::new(SystemFlags::SEEN, Vec::<String>::new());
                    set_flags_rows(ctx, mailbox, update.seen.clone(), FlagOp::Add, &seen, None)?;
                }
                let now = now_secs();
                for uid in &update.retrieved {
                    // The first retrieval starts the clock; later ones do not.
                    ctx.conn
                        .prepare_cached(
                            "INSERT INTO pop3_retrieved (mailbox_id, uid, at)
                             SELECT ?1, ?2, ?3 WHERE EXISTS
                               (SELECT 1 FROM messages WHERE mailbox_id = ?1 AND uid = ?2)
                             ON CONFLICT DO NOTHING",
                        )?
                        .execute((mailbox.0, uid.get(), now))?;
                }
                let mut expired: Vec<u32> = Vec::new();
                if let Some(after) = update.expire_after {
                    let cutoff =
                        now.saturating_sub(i64::try_from(after.as_secs()).unwrap_or(i64::MAX));
                    let mut st = ctx.conn.prepare_cached(
                        "SELECT uid FROM pop3_retrieved WHERE mailbox_id = ?1 AND at <= ?2",
                    )?;
                    expired = st
                        .query_map((mailbox.0, cutoff), |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()?;
                }
                let deleted: std::collections::HashSet<u32> =
                    update.deleted.iter().map(|u| u.get()).collect();
                let mut all: Vec<Uid> = update.deleted.clone();
                all.extend(
                    expired
                        .iter()
                        .filter(|u| !deleted.contains(u))
                        .filter_map(|&u| Uid::new(u)),
                );
                if all.is_empty() {
                    return Ok(Pop3Updated::default());
                }
                let Expunged { uids, .. } = expunge_rows(ctx, mailbox, &ExpungeWhich::Uids(all))?;
                let by_dele = uids.iter().filter(|u| deleted.contains(&u.get())).count();
                Ok(Pop3Updated {
                    deleted: by_dele,
                    expired: uids.len() - by_dele,
                })
            })
            .await
    }
}
