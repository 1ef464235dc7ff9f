//! `[store]`: the mailbox store's pools, batches, inline size, free-space
//! floor, change-feed buffer, pre-upgrade snapshots and full-text index,
//! checked into the store's `StoreOptions`.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
    pub read_pool: usize,
    /// SQLite page cache per read connection, KiB.
    pub read_cache_kib: u32,
    pub max_batch: usize,
    /// Messages up to this many bytes are kept in the database (one fsync per
    /// batch covers them); larger ones are files. 0: every message a file.
    pub inline_max_bytes: u64,
    /// Free space (MiB) kept on the data directory's file system: below it
    /// new mail is refused with a temporary error. 0: no floor.
    pub min_free_mb: u64,
    /// Changes buffered per watched mailbox for IDLE/NOTIFY sessions; a
    /// session further behind resynchronises from the store.
    pub feed_capacity: usize,
    /// Pre-upgrade snapshots kept in the data directory (one is taken
    /// before schema migrations change an existing database). 0: none.
    pub pre_upgrade_keep: usize,
    /// Keep the full-text index for IMAP SEARCH BODY/TEXT (issue 19). Off
    /// by default for now: indexing costs about 0.6 ms of CPU a 5 KB
    /// message, which cut the SMTP accept rate to a third in
    /// `bench/smtp/spam_cost.sh`.
    pub fts: bool,
    /// Folded text indexed per message at most, KiB.
    pub fts_max_text_kib: usize,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            read_pool: 8,
            read_cache_kib: 512,
            max_batch: 256,
            inline_max_bytes: 64 * 1024,
            min_free_mb: postern_store::StoreOptions::default().min_free >> 20,
            feed_capacity: postern_store::StoreOptions::default().feed_capacity,
            pre_upgrade_keep: postern_store::StoreOptions::default().pre_upgrade_keep,
            fts: false,
            fts_max_text_kib: postern_store::StoreOptions::default().fts_max_text >> 10,
        }
    }
}

impl RawStore {
    /// The store's options; `max_message_size` comes from `[limits]`.
    /// `Err((key, reason))` for a value the store cannot run with.
    pub fn check(
        &self,
        max_message_size: u64,
    ) -> Result<postern_store::StoreOptions, (String, String)> {
        for (key, v) in [
            ("store.read_pool", self.read_pool),
            ("store.max_batch", self.max_batch),
            ("store.feed_capacity", self.feed_capacity),
            ("store.fts_max_text_kib", self.fts_max_text_kib),
        ] {
            if v == 0 {
                return Err((key.to_string(), "must be greater than 0".into()));
            }
        }
        Ok(postern_store::StoreOptions {
            read_pool: self.read_pool,
            read_cache_kib: self.read_cache_kib,
            max_batch: self.max_batch,
            max_message_size,
            inline_max: self.inline_max_bytes,
            min_free: self.min_free_mb.saturating_mul(1024 * 1024),
            feed_capacity: self.feed_capacity,
            pre_upgrade_keep: self.pre_upgrade_keep,
            fts: self.fts,
            fts_max_text: self.fts_max_text_kib.saturating_mul(1024),
            ..postern_store::StoreOptions::default()
        })
    }
}
