//! When each message was saved into its mailbox (IMAP SAVEDATE, RFC 8514):
//! the `saved_at` column, written by delivery, APPEND, COPY and MOVE with
//! the time of the commit. Read on demand only (FETCH SAVEDATE, the SAVED*
//! search keys): the listing's covering index does not carry it.

use crate::Store;
use crate::error::Result;
use crate::types::{MailboxId, Uid};

/// From this many UIDs on, one walk of the mailbox beats a lookup each.
const SCAN_FROM: usize = 32;

impl Store {
    /// The save dates (Unix seconds) of the messages of `mailbox` among
    /// `uids`, in UID order; messages that no longer exist are left out.
    pub async fn saved_dates(&self, mailbox: MailboxId, uids: Vec<Uid>) -> Result<Vec<(Uid, i64)>> {
        self.read(move |c| {
            let mut sorted = uids;
            sorted.sort_unstable();
            sorted.dedup();
            let mut out = Vec::with_capacity(sorted.len());
            if sorted.len() >= SCAN_FROM {
                let mut st = c.prepare_cached(
                    "SELECT uid, saved_at FROM messages WHERE mailbox_id = ?1 ORDER BY uid",
                )?;
                let mut rows = st.query([mailbox.0])?;
                while let Some(r) = rows.next()? {
                    if let Some(uid) = Uid::new(r.get(0)?)
                        && sorted.binary_search(&uid).is_ok()
                    {
                        out.push((uid, r.get(1)?));
                    }
                }
            } else {
                let mut st = c.prepare_cached(
                    "SELECT saved_at FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
                )?;
                for uid in sorted {
                    let mut rows = st.query((mailbox.0, uid.get()))?;
                    if let Some(r) = rows.next()? {
                        out.push((uid, r.get(0)?));
                    }
                }
            }
            Ok(out)
        })
        .await
    }
}
