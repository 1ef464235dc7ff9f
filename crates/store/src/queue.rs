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
    pub created_at: i64,
    pub held: bool,
    /// (address, state, attempts, last error)
    pub recipients: Vec<(String, String, u32, Option<String>)>,
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

fn entry_row(r: &Row<'_>) -> rusqlite::Result<(i64, String, i64, String, i64, bool)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

impl Store {
    /// Every queued message with its recipients' states, oldest first.
    pub async fn queue_list(&self) -> Result<Vec<QueueEntry>> {
        self.read(|c| {
            let heads: Vec<_> = c
                .prepare(
                    "SELECT id, blob, size, reverse_path, created_at, held FROM queue ORDER BY id",
                )?
                .query_map([], entry_row)?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = Vec::with_capacity(heads.len());
            let mut st = c.prepare_cached(
                "SELECT address, state, attempts, last_error FROM queue_recipients
                 WHERE queue_id = ?1 ORDER BY address",
            )?;
            for (id, blob, size, reverse_path, created_at, held) in heads {
                let recipients = st
                    .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                let Some(blob) = BlobId::parse(&blob) else {
                    continue;
                };
                out.push(QueueEntry {
                    id,
                    blob,
                    size: size.max(0) as u64,
                    reverse_path,
                    created_at,
                    held,
                    recipients,
                });
            }
            Ok(out)
        })
        .await
    }
}
