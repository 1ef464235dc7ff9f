//! The outbound queue's rows: messages accepted for remote recipients wait
//! here, durably, until the queue runner (outbound delivery) sends them.
//! A queued message holds a reference to its blob like a mailbox copy does.

use rusqlite::{Connection, OptionalExtension, Row};

use crate::error::Result;
use crate::types::UserId;
use crate::writer::WriteCtx;
use crate::{BlobId, Store};

/// What SMTP knows about a message bound for other servers: the envelope
/// and the DSN parameters (RFC 3461) the queue runner must honour.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outbound {
    /// The envelope sender; empty for the null reverse path `<>`.
    pub reverse_path: String,
    pub recipients: Vec<QueuedRecipient>,
    /// DSN ENVID (RFC 3461 §4.4), decoded.
    pub envid: Option<String>,
    /// DSN RET: `FULL` or `HDRS`.
    pub ret: Option<String>,
    /// BODY: `7BIT`, `8BITMIME` or `BINARYMIME`.
    pub body: Option<String>,
    pub smtputf8: bool,
    /// The authenticated user who submitted it, if any.
    pub user: Option<UserId>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueuedRecipient {
    pub address: String,
    /// DSN ORCPT, decoded (`rfc822;user@example.org`).
    pub orcpt: Option<String>,
    /// DSN NOTIFY as given: `NEVER` or a comma list of SUCCESS, FAILURE, DELAY.
    pub notify: Option<String>,
}

/// A queued message as listed for the admin CLI and the runner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueEntry {
    pub id: i64,
    pub blob: BlobId,
    pub size: u64,
    pub reverse_path: String,
    pub envid: Option<String>,
    pub ret: Option<String>,
    pub body: Option<String>,
    pub smtputf8: bool,
    pub created_at: i64,
    pub held: bool,
    pub recipients: Vec<RecipientState>,
}

/// One recipient of a queued message and how its delivery stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientState {
    pub address: String,
    pub orcpt: Option<String>,
    pub notify: Option<String>,
    /// `pending`, `deferred`, `delivered` or `failed`.
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// When the next attempt is due (seconds since the epoch).
    pub next_attempt: i64,
    /// The DSN this recipient still owes the sender: `failed`, `delayed`,
    /// `delivered` or `relayed` (RFC 3464 §2.3.3 actions).
    pub dsn_due: Option<String>,
    /// The server that gave the last answer, for the DSN's Remote-MTA.
    pub remote_mta: Option<String>,
    pub delay_warned: bool,
}

impl RecipientState {
    /// Still to be delivered: pending or deferred.
    pub fn is_active(&self) -> bool {
        self.state == "pending" || self.state == "deferred"
    }
}

/// What one delivery attempt did for one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Try again at the given time (seconds since the epoch).
    Deferred {
        next_attempt: i64,
    },
    Failed,
}

/// The queue runner's record of one recipient's attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientUpdate {
    pub address: String,
    pub outcome: Outcome,
    /// The reply or error text (kept as `last_error`).
    pub text: Option<String>,
    pub remote_mta: Option<String>,
    /// The DSN to send for this outcome, if the sender asked for one (or a
    /// failure, which is always reported unless NOTIFY=NEVER).
    pub dsn: Option<String>,
    /// Whether this was a real attempt (counted) or only a state change.
    pub attempted: bool,
}

/// Inserts a queue entry referring to blob `blob` (already referenced by the caller's batch rules).
pub(crate) fn insert(
    ctx: &mut WriteCtx<'_>,
    blob: &BlobId,
    size: u64,
    inline: Option<&[u8]>,
    o: &Outbound,
) -> Result<i64> {
    ctx.add_blob_ref(blob, size, inline)?;
    let now = crate::now_secs();
    ctx.conn
        .prepare_cached(
            "INSERT INTO queue (blob, size, reverse_path, envid, ret, body, smtputf8, user_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(rusqlite::params![
            blob.as_str(),
            size as i64,
            &o.reverse_path,
            &o.envid,
            &o.ret,
            &o.body,
            o.smtputf8,
            o.user.map(|u| u.0),
            now
        ])?;
    let id = ctx.conn.last_insert_rowid();
    for r in &o.recipients {
        ctx.conn
            .prepare_cached(
                "INSERT INTO queue_recipients (queue_id, address, orcpt, notify, next_attempt)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            )?
            .execute(rusqlite::params![id, &r.address, &r.orcpt, &r.notify, now])?;
    }
    Ok(id)
}

fn entry_row(r: &Row<'_>) -> rusqlite::Result<Option<QueueEntry>> {
    let blob: String = r.get(1)?;
    let Some(blob) = BlobId::parse(&blob) else {
        return Ok(None);
    };
    Ok(Some(QueueEntry {
        id: r.get(0)?,
        blob,
        size: r.get::<_, i64>(2)?.max(0) as u64,
        reverse_path: r.get(3)?,
        envid: r.get(4)?,
        ret: r.get(5)?,
        body: r.get(6)?,
        smtputf8: r.get(7)?,
        created_at: r.get(8)?,
        held: r.get(9)?,
        recipients: Vec::new(),
    }))
}

impl Store {
    /// Every queued message with its recipients' states, oldest first.
    pub async fn queue_list(&self) -> Result<Vec<QueueEntry>> {
        self.read(|c| {
            let heads: Vec<Option<QueueEntry>> = c
                .prepare(&format!("{HEAD} ORDER BY id"))?
                .query_map([], entry_row)?
                .collect::<rusqlite::Result<_>>()?;
            with_recipients(c, heads.into_iter().flatten().collect())
        })
        .await
    }

    /// One queued message, or None.
    pub async fn queue_get(&self, id: i64) -> Result<Option<QueueEntry>> {
        self.read(move |c| {
            let head: Option<QueueEntry> = c
                .prepare_cached(&format!("{HEAD} WHERE id = ?1"))?
                .query_row([id], entry_row)
                .optional()?
                .flatten();
            Ok(with_recipients(c, head.into_iter().collect())?.pop())
        })
        .await
    }

    /// Messages not on hold with a recipient due at `now`, oldest first, at
    /// most `limit`, each with all its recipients.
    pub async fn queue_due(&self, now: i64, limit: usize) -> Result<Vec<QueueEntry>> {
        self.read(move |c| {
            let heads: Vec<Option<QueueEntry>> = c
                .prepare_cached(&format!(
                    "{HEAD} WHERE held = 0 AND id IN (SELECT queue_id FROM queue_recipients
                     WHERE state IN ('pending', 'deferred') AND next_attempt <= ?1)
                     ORDER BY id LIMIT ?2"
                ))?
                .query_map(rusqlite::params![now, limit as i64], entry_row)?
                .collect::<rusqlite::Result<_>>()?;
            with_recipients(c, heads.into_iter().flatten().collect())
        })
        .await
    }

    /// The earliest next attempt of a recipient still to deliver in a
    /// message not on hold.
    pub async fn queue_next_attempt(&self) -> Result<Option<i64>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT MIN(r.next_attempt) FROM queue_recipients r JOIN queue q ON q.id = r.queue_id
                 WHERE q.held = 0 AND r.state IN ('pending', 'deferred')",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Messages with a recipient that still owes the sender a DSN.
    pub async fn queue_dsn_due(&self, limit: usize) -> Result<Vec<QueueEntry>> {
        self.read(move |c| {
            let heads: Vec<Option<QueueEntry>> = c
                .prepare_cached(&format!(
                    "{HEAD} WHERE id IN (SELECT queue_id FROM queue_recipients
                     WHERE dsn_due IS NOT NULL) ORDER BY id LIMIT ?1"
                ))?
                .query_map([limit as i64], entry_row)?
                .collect::<rusqlite::Result<_>>()?;
            with_recipients(c, heads.into_iter().flatten().collect())
        })
        .await
    }

    /// Records what an attempt did for some recipients of message `id`; a
    /// message with nothing left to deliver or report leaves the queue (and
    /// drops its blob reference) in the same commit.
    pub async fn queue_update(&self, id: i64, updates: Vec<RecipientUpdate>) -> Result<()> {
        self.inner
            .writer
            .write(move |ctx| {
                let now = crate::now_secs();
                for u in &updates {
                    let (state, next) = match u.outcome {
                        Outcome::Delivered => ("delivered", None),
                        Outcome::Failed => ("failed", None),
                        Outcome::Deferred { next_attempt } => ("deferred", Some(next_attempt)),
                    };
                    ctx.conn
                        .prepare_cached(
                            "UPDATE queue_recipients SET state = ?3,
                               next_attempt = COALESCE(?4, next_attempt),
                               attempts = attempts + ?5,
                               last_error = COALESCE(?6, last_error),
                               remote_mta = COALESCE(?7, remote_mta),
                               dsn_due = COALESCE(?8, dsn_due),
                               delay_warned = delay_warned OR (?8 IS 'delayed'),
                               updated_at = ?9
                             WHERE queue_id = ?1 AND address = ?2",
                        )?
                        .execute(rusqlite::params![
                            id,
                            &u.address,
                            state,
                            next,
                            i64::from(u.attempted),
                            &u.text,
                            &u.remote_mta,
                            &u.dsn,
                            now
                        ])?;
                }
                finish_if_done(ctx, id)?;
                Ok(())
            })
            .await
    }

    /// The DSNs owed for these recipients of message `id` went out.
    pub async fn queue_dsn_sent(&self, id: i64, addresses: Vec<String>) -> Result<()> {
        self.inner
            .writer
            .write(move |ctx| {
                for a in &addresses {
                    ctx.conn
                        .prepare_cached(
                            "UPDATE queue_recipients SET dsn_due = NULL
                             WHERE queue_id = ?1 AND address = ?2",
                        )?
                        .execute(rusqlite::params![id, a])?;
                }
                finish_if_done(ctx, id)?;
                Ok(())
            })
            .await
    }

    /// Makes the recipients still to deliver of message `id` (every message
    /// with None) due now. Returns how many recipients it touched.
    pub async fn queue_retry(&self, id: Option<i64>) -> Result<usize> {
        self.inner
            .writer
            .write(move |ctx| {
                let now = crate::now_secs();
                Ok(ctx
                    .conn
                    .prepare_cached(
                        "UPDATE queue_recipients SET next_attempt = ?1
                         WHERE state IN ('pending', 'deferred') AND (?2 IS NULL OR queue_id = ?2)",
                    )?
                    .execute(rusqlite::params![now, id])?)
            })
            .await
    }

    /// Puts message `id` on hold (no delivery attempts) or releases it.
    /// False when there is no such message.
    pub async fn queue_hold(&self, id: i64, held: bool) -> Result<bool> {
        self.inner
            .writer
            .write(move |ctx| {
                Ok(ctx
                    .conn
                    .prepare_cached("UPDATE queue SET held = ?2 WHERE id = ?1")?
                    .execute(rusqlite::params![id, held])?
                    > 0)
            })
            .await
    }

    /// Removes message `id` from the queue without a bounce. False when
    /// there is no such message.
    pub async fn queue_delete(&self, id: i64) -> Result<bool> {
        self.inner.writer.write(move |ctx| remove(ctx, id)).await
    }
}

const HEAD: &str =
    "SELECT id, blob, size, reverse_path, envid, ret, body, smtputf8, created_at, held FROM queue";

fn with_recipients(c: &Connection, heads: Vec<QueueEntry>) -> Result<Vec<QueueEntry>> {
    let mut st = c.prepare_cached(
        "SELECT address, orcpt, notify, state, attempts, last_error, next_attempt, dsn_due,
                remote_mta, delay_warned
         FROM queue_recipients WHERE queue_id = ?1 ORDER BY address",
    )?;
    let mut out = Vec::with_capacity(heads.len());
    for mut e in heads {
        e.recipients = st
            .query_map([e.id], |r| {
                Ok(RecipientState {
                    address: r.get(0)?,
                    orcpt: r.get(1)?,
                    notify: r.get(2)?,
                    state: r.get(3)?,
                    attempts: r.get(4)?,
                    last_error: r.get(5)?,
                    next_attempt: r.get(6)?,
                    dsn_due: r.get(7)?,
                    remote_mta: r.get(8)?,
                    delay_warned: r.get(9)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        out.push(e);
    }
    Ok(out)
}

/// Removes message `id` when no recipient is left to deliver or to report.
fn finish_if_done(ctx: &mut WriteCtx<'_>, id: i64) -> Result<()> {
    let open: bool = ctx
        .conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM queue_recipients WHERE queue_id = ?1
             AND (state IN ('pending', 'deferred') OR dsn_due IS NOT NULL))",
        )?
        .query_row([id], |r| r.get(0))?;
    if !open {
        remove(ctx, id)?;
    }
    Ok(())
}

/// Deletes message `id` and its recipients and drops its blob reference.
fn remove(ctx: &mut WriteCtx<'_>, id: i64) -> Result<bool> {
    let blob: Option<String> = ctx
        .conn
        .prepare_cached("SELECT blob FROM queue WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let Some(blob) = blob else {
        return Ok(false);
    };
    ctx.conn
        .prepare_cached("DELETE FROM queue_recipients WHERE queue_id = ?1")?
        .execute([id])?;
    ctx.conn
        .prepare_cached("DELETE FROM queue WHERE id = ?1")?
        .execute([id])?;
    if let Some(b) = BlobId::parse(&blob) {
        ctx.drop_blob_ref(&b)?;
    }
    Ok(true)
}
