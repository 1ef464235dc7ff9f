//! Mailbox and server annotations (IMAP METADATA, RFC 5464): one row per
//! (user, mailbox or 0 for the server, entry name). Limits are the
//! caller's (the IMAP session checks sizes and counts before writing;
//! `set_metadata` checks the count again inside the write, so two
//! sessions cannot pass it together).

use rusqlite::OptionalExtension;

use crate::Store;
use crate::error::{Result, StoreError};
use crate::types::{MailboxId, UserId};

/// `None` for the server's own entries.
fn row_id(mailbox: Option<MailboxId>) -> i64 {
    mailbox.map_or(0, |m| m.0)
}

impl Store {
    /// Entries of `user` on `mailbox` (or the server) whose names are in
    /// `names` or, with `depth`, below them (`Some(1)`: one level,
    /// `None`: any). Names are compared lowercased; sorted by name.
    pub async fn get_metadata(
        &self,
        user: UserId,
        mailbox: Option<MailboxId>,
        names: Vec<String>,
        depth: Option<usize>,
        below: bool,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT name, value FROM metadata WHERE user_id = ?1 AND mailbox_id = ?2
                 AND (name = ?3 OR (?4 AND substr(name, 1, length(?3) + 1) = ?3 || '/'))
                 ORDER BY name",
            )?;
            let mut out = Vec::new();
            for n in names {
                let n = n.to_ascii_lowercase();
                let rows = st.query_map((user.0, row_id(mailbox), &n, below), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
                })?;
                for row in rows {
                    let (name, value) = row?;
                    let extra = name.len().saturating_sub(n.len());
                    let levels = name[name.len() - extra..].matches('/').count();
                    if depth.is_none_or(|d| levels <= d) {
                        out.push((name, value));
                    }
                }
            }
            out.sort();
            out.dedup_by(|a, b| a.0 == b.0);
            Ok(out)
        })
        .await
    }

    /// Sets (`Some`) or removes (`None`) entries in one commit. Refuses
    /// with `QuotaExceeded` when `user` would hold more than `max_entries`.
    pub async fn set_metadata(
        &self,
        user: UserId,
        mailbox: Option<MailboxId>,
        entries: Vec<(String, Option<Vec<u8>>)>,
        max_entries: usize,
    ) -> Result<()> {
        self.inner
            .writer
            .write(move |ctx| {
                for (name, value) in &entries {
                    let name = name.to_ascii_lowercase();
                    match value {
                        Some(v) => {
                            ctx.conn
                                .prepare_cached(
                                    "INSERT INTO metadata (user_id, mailbox_id, name, value)
                                     VALUES (?1, ?2, ?3, ?4)
                                     ON CONFLICT DO UPDATE SET value = excluded.value",
                                )?
                                .execute((user.0, row_id(mailbox), &name, v))?;
                        }
                        None => {
                            ctx.conn
                                .prepare_cached(
                                    "DELETE FROM metadata
                                     WHERE user_id = ?1 AND mailbox_id = ?2 AND name = ?3",
                                )?
                                .execute((user.0, row_id(mailbox), &name))?;
                        }
                    }
                }
                let count: i64 = ctx
                    .conn
                    .prepare_cached("SELECT count(*) FROM metadata WHERE user_id = ?1")?
                    .query_row([user.0], |r| r.get(0))
                    .optional()?
                    .unwrap_or(0);
                if count as u64 > max_entries as u64 {
                    return Err(StoreError::QuotaExceeded(format!(
                        "{count} annotations, {max_entries} allowed"
                    )));
                }
                Ok(())
            })
            .await
    }
}
