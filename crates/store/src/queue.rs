//! The outbound queue's rows: messages accepted for remote recipients wait
//! here, durably, until the queue runner (outbound delivery) sends them.
//! A queued message holds a reference to its blob like a mailbox copy does.

use rusqlite::Row;

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
                .prepare(
                    "SELECT id, blob, size, reverse_path, envid, ret, body, smtputf8, created_at, held
                     FROM queue ORDER BY id",
                )?
                .query_map([], entry_row)?
                .collect::<rusqlite::Result<_>>()?;
            let mut st = c.prepare_cached(
                "SELECT address, orcpt, notify, state, attempts, last_error FROM queue_recipients
                 WHERE queue_id = ?1 ORDER BY address",
            )?;
            let mut out = Vec::with_capacity(heads.len());
            for mut e in heads.into_iter().flatten() {
                e.recipients = st
                    .query_map([e.id], |r| {
                        Ok(RecipientState {
                            address: r.get(0)?,
                            orcpt: r.get(1)?,
                            notify: r.get(2)?,
                            state: r.get(3)?,
                            attempts: r.get(4)?,
                            last_error: r.get(5)?,
                        })
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                out.push(e);
            }
            Ok(out)
        })
        .await
    }
}
