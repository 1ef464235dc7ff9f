//! What an operator's tools read: the writer's metrics (commit batches,
//! how long a batch and its COMMIT took), and, for `/metrics` and `postern
//! status`, a queue summary (one indexed count), the disk the store uses
//! (a walk of the blob directory: called on a timer, not per scrape) and
//! the free space left on its file system; and, for the web console's
//! dashboard, the messages delivered in the last day: counted per
//! ten-minute bucket in `meta` (`delivered:<bucket>` keys) in the commit
//! that files them, so the figure is a sum of at most 145 rows read by
//! key range, never a scan of the messages. Buckets older than two days
//! are dropped by the next delivery.

use std::time::Duration;

use crate::{Result, Store, StoreError};

/// The outbound queue at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueSummary {
    /// Messages in the queue (including those on hold).
    pub messages: u64,
    /// Messages on hold (`postern queue hold`).
    pub held: u64,
    /// Recipients not yet tried.
    pub pending: u64,
    /// Recipients tried and waiting for their next attempt.
    pub deferred: u64,
    /// When the oldest queued message arrived (Unix seconds).
    pub oldest: Option<i64>,
}

/// Bytes the store takes on disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// The database file and its write-ahead log (inline blobs included).
    pub database_bytes: u64,
    /// Message files in the blob directory (messages above `inline_max`).
    pub blob_file_bytes: u64,
    pub blob_files: u64,
}

/// Deliveries are counted in buckets of this many seconds.
const DELIVERY_BUCKET_SECS: i64 = 600;

/// The `meta` key of the delivery bucket holding time `at`: fixed width,
/// so key order is time order.
fn delivery_key(at: i64) -> String {
    format!(
        "delivered:{:012}",
        at.div_euclid(DELIVERY_BUCKET_SECS).max(0)
    )
}

/// Counts `n` local copies filed at time `now` (inside the commit that
/// files them, so a rolled-back delivery is not counted).
pub(crate) fn count_deliveries(conn: &rusqlite::Connection, n: usize, now: i64) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
    )?
    .execute(rusqlite::params![delivery_key(now), n as i64])?;
    conn.prepare_cached("DELETE FROM meta WHERE key >= 'delivered:' AND key < ?1")?
        .execute([delivery_key(now - 2 * 86_400)])?;
    Ok(())
}

impl Store {
    /// Local copies delivered (SMTP, Sieve filings; not APPEND or
    /// imports) from `since` on, to the ten minutes.
    pub async fn delivered_since(&self, since: i64) -> Result<u64> {
        let from = delivery_key(since);
        self.read(move |c| {
            let n: i64 = c.query_row(
                "SELECT COALESCE(SUM(value), 0) FROM meta
                 WHERE key >= ?1 AND key < 'delivered;'",
                [from],
                |r| r.get(0),
            )?;
            Ok(n.max(0) as u64)
        })
        .await
    }

    /// Counts of the queue's messages and recipients still to deliver.
    pub async fn queue_summary(&self) -> Result<QueueSummary> {
        self.read(|c| {
            let (messages, held, oldest): (i64, Option<i64>, Option<i64>) = c.query_row(
                "SELECT COUNT(*), SUM(held != 0), MIN(created_at) FROM queue",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let mut s = QueueSummary {
                messages: messages.max(0) as u64,
                held: held.unwrap_or(0).max(0) as u64,
                oldest,
                ..QueueSummary::default()
            };
            let mut stmt = c.prepare_cached(
                "SELECT state, COUNT(*) FROM queue_recipients
                 WHERE state IN ('pending', 'deferred') GROUP BY state",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (state, n) = row?;
                let n = n.max(0) as u64;
                match state.as_str() {
                    "pending" => s.pending = n,
                    _ => s.deferred = n,
                }
            }
            Ok(s)
        })
        .await
    }

    /// Walks the blob directory (one `stat` per message file) and sizes the
    /// database files: seconds on a big store, so callers cache it.
    pub async fn disk_usage(&self) -> Result<DiskUsage> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let len = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            let mut wal = inner.db_path.clone().into_os_string();
            wal.push("-wal");
            let mut u = DiskUsage {
                database_bytes: len(&inner.db_path) + len(std::path::Path::new(&wal)),
                ..DiskUsage::default()
            };
            let (ids, _) = inner.blobs.scan()?;
            for id in ids {
                u.blob_file_bytes += len(&inner.blobs.path(&id));
                u.blob_files += 1;
            }
            Ok(u)
        })
        .await
        .map_err(|e| StoreError::Commit(format!("disk usage task failed: {e}")))?
    }

    /// Bytes available on the data directory's file system, if statvfs
    /// answers.
    pub fn free_space(&self) -> Option<u64> {
        crate::space::free_bytes(&self.inner.dir)
    }
}

/// One write batch committed (or rolled back): `jobs` writes in `took`.
pub(crate) fn batch_done(jobs: usize, took: Duration) {
    metrics::counter!("postern_store_batches_total").increment(1);
    metrics::counter!("postern_store_writes_total").increment(jobs as u64);
    metrics::histogram!("postern_store_batch_seconds").record(took);
}

/// A batch of flag changes alone, committed without an fsync.
pub(crate) fn unsynced_commit() {
    metrics::counter!("postern_store_unsynced_commits_total").increment(1);
}

/// The COMMIT of a batch: the WAL append and (unless unsynced) its fsync.
pub(crate) fn commit_done(took: Duration) {
    metrics::histogram!("postern_store_commit_seconds").record(took);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DeliveryTarget, Flags, NewMessage, StoreOptions};

    #[tokio::test]
    async fn deliveries_of_the_last_day_are_counted_per_copy_and_old_ones_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), StoreOptions::default()).expect("open");
        store.domain_add("example.org").await.expect("domain");
        let mut users = Vec::new();
        for a in ["a@example.org", "b@example.org"] {
            users.push(crate::tests::add_user(&store, a).await);
        }
        let now = crate::now_secs();
        assert_eq!(store.delivered_since(now - 86_400).await.expect("count"), 0);
        let raw = b"From: x@example.net\r\nSubject: hi\r\n\r\nhi\r\n".to_vec();
        let msg = NewMessage {
            raw,
            internal_date: None,
            flags: Flags::default(),
        };
        let targets = users.iter().map(|u| DeliveryTarget::inbox(*u)).collect();
        store.deliver(msg, targets).await.expect("deliver");
        assert_eq!(store.delivered_since(now - 86_400).await.expect("count"), 2);
        assert_eq!(store.delivered_since(now + 3600).await.expect("count"), 0);

        // Two days on, an old bucket is dropped by the next count.
        let later = now + 3 * 86_400;
        store
            .inner
            .writer
            .write(move |ctx| count_deliveries(ctx.conn, 5, later))
            .await
            .expect("count later");
        assert_eq!(
            store.delivered_since(later - 86_400).await.expect("count"),
            5
        );
        assert_eq!(
            store.delivered_since(0).await.expect("count"),
            5,
            "old buckets went"
        );
    }
}
