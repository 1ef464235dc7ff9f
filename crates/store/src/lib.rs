//! The mailbox store: SQLite metadata plus content-addressed message blobs,
//! with group commit and a change feed. Only this crate knows SQL.
//!
//! Implementation notes
//! - One SQLite file (`postern.db`) in WAL mode with `synchronous=FULL`,
//!   except for a write batch of flag changes alone (STORE), which commits
//!   with `synchronous=NORMAL`: no fsync, safe against kill -9, not against
//!   a power cut, which may lose the last flag changes (`writer.rs`).
//!   Writes go through one writer thread (`writer.rs`) that commits whatever
//!   is queued as one transaction; reads use a pool of read-only connections
//!   and never wait for the writer (WAL readers see the last commit).
//!   A server's WAL checkpoints run on a thread of their own
//!   (`checkpoint.rs`), not inside the commits callers wait for.
//!   `OpenMode::Bulk` (an import with no server running) leaves the WAL
//!   for a rollback journal until it shuts down, and commits the import
//!   once: a new page is then written once instead of twice.
//! - Messages are blobs named by their SHA-256 and stored once however many
//!   mailboxes hold them. Up to `inline_max` bytes (64 KiB) a blob lives in its
//!   `blobs` row and the batch's one WAL commit makes it durable; a larger one
//!   is a file under `blobs/` (`blobs.rs`), written to a temp file, fsynced,
//!   renamed and its directory fsynced by the caller's task before its write
//!   is queued. Measured on this project's disk, a durable file create costs
//!   about a journal commit (~1,300/s however many run at once) while inline
//!   rows share one fsync per batch (5,000-10,000/s): see bench/README.md.
//!   `deliver` and `append` return only after the commit, fsynced: the
//!   durability contract.
//! - Blobs are reference counted in the `blobs` table. Files with no live
//!   file-backed row (a crash after the write, before the commit) and rows at
//!   zero are removed by the sweep when a server opens the store.
//! - Locks: `server.lock` (exclusive, held by a server for its lifetime) stops
//!   two servers sharing a data directory; the admin CLI opens the store
//!   without it and its writes are serialised with the server's by SQLite's
//!   own write lock. `blobs.lock` is held shared by every admin process and
//!   exclusively by the sweep, so the sweep never takes a blob the CLI has
//!   written but not yet committed. `backup.lock` is held shared by a
//!   backup or a verify, and a writer collects dead blobs only when it can
//!   take it exclusively (`backup.rs`).
//! - Before anything writes, `Store::open` reads the schema version from a
//!   read-only connection: a newer database is refused untouched, an older
//!   one snapshotted before its migrations (`upgrade.rs`).
//! - Writes made by another process (the admin CLI) are not published on
//!   this process's change feed; IMAP sessions see them at their next resync.
//! - UIDVALIDITY comes from a store-wide counter seeded with the clock, so a
//!   name deleted and created again never repeats a value. UIDs and MODSEQs
//!   are per mailbox and only grow; expunged UIDs are kept with their MODSEQ.
//!
//! # Example
//!
//! ```
//! use postern_store::{DeliveryTarget, NewMessage, NewUser, Store, StoreOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path(), StoreOptions::default())?;
//! store.domain_add("example.org").await?;
//! let ann = store
//!     .user_add(NewUser {
//!         address: "ann@example.org".into(),
//!         display_name: "Ann".into(),
//!         password_hash: "$argon2id$...".into(),
//!         quota_bytes: None,
//!         quota_messages: None,
//!     })
//!     .await?;
//! let raw = b"From: bob@example.net\r\nSubject: hi\r\n\r\nhello\r\n".to_vec();
//! let msg = NewMessage { raw: raw.clone(), ..NewMessage::default() };
//! // Returns once the message and its metadata are durable.
//! let results = store.deliver(msg, vec![DeliveryTarget::inbox(ann)]).await?;
//! let delivered = results.into_iter().next().expect("one target")?;
//! let inbox = store.messages(delivered.mailbox).await?;
//! assert_eq!(store.read_blob(&inbox[0].blob).await?, raw);
//! # Ok(())
//! # }
//! ```

mod abuse;
mod accept;
mod accounts;
pub mod backup;
mod blobs;
mod checkpoint;
mod copy;
mod directory;
mod error;
mod feed;
mod flag_sets;
mod fts;
#[doc(hidden)]
pub mod fuzzing;
mod import;
mod listing;
mod mailboxes;
mod message_bytes;
mod messages;
mod meta_cache;
mod metadata;
mod object_ids;
mod ops;
mod parse;
mod pop3;
mod queue;
mod recent;
mod replace;
mod reports;
mod running;
mod saved_dates;
mod schema;
mod sieve;
mod sort_keys;
mod space;
mod spam_prefs;
mod structure;
#[doc(hidden)]
pub mod testing;
mod training;
mod types;
pub mod upgrade;
pub mod verify;
mod web;
mod writer;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, ErrorCode, OpenFlags};

pub use abuse::{
    AbuseSweep, BlockRow, BlockSource, GreylistPolicy, GreylistTriplet, GreylistVerdict,
};
pub use accept::{Acceptance, Accepted};
pub use accounts::{AppPasswordRow, LoginRow, TotpRow};
pub use blobs::BlobId;
pub use copy::Copied;
pub use directory::{AliasRow, DomainRow, NewUser, UserRow};
pub use error::{Result, StoreError};
pub use feed::{
    ChangeKind, FeedEvent, ListChange, ListEvent, ListSubscription, MailboxChange, Subscription,
};
pub use flag_sets::{FlagSets, NO_SET};
pub use fts::text as search_text;
pub use fts::{FTS_VERSION, FtsAnswer, FtsHits, FtsProgress, FtsQuery, FtsStats};
pub use import::{ImportMark, ImportedKey, KeptUid};
pub use listing::{FlagRow, MailboxView};
pub use mailboxes::{Mailbox, MailboxStatus};
pub use messages::{
    Appended, Changes, Delivered, DeliveryTarget, ExpungeWhich, Expunged, FlagUpdate, MessageInfo,
    NewMessage, QuotaUsage,
};
pub use object_ids::{ObjectIds, mailbox_object_id};
pub use ops::{DiskUsage, QueueSummary};
pub use parse::{Envelope, EnvelopeAddress, MessageMeta, MimePart};
pub use parse::{META_VERSION, meta_of, raw_bytes};
pub use pop3::{Pop3Entry, Pop3Update, Pop3Updated};
pub use queue::{Outbound, Outcome, QueueEntry, QueuedRecipient, RecipientState, RecipientUpdate};
pub use recent::RecentOwner;
pub use reports::{DmarcSeen, ReceivedLine, ReceivedReport, ReceivedRow, ReportKind, TlsSeen};
pub use schema::SCHEMA_VERSION;
pub use sieve::{SieveChange, SieveMark, SieveMemory, SieveScript};
pub use sort_keys::{envelope_date, sent_date_of, sort_date};
pub use spam_prefs::{SenderPattern, SenderRuleKind, SpamPrefs};
pub use structure::{FetchRow, StructureRenderer, set_structure_renderer};
pub use training::{
    JournalEntry, ModelOwner, ModelRead, ModelWrite, SenderDelta, SenderRecord, StoredModel,
    TrainClass, TrainingCommit, TrainingStats,
};
pub use types::{
    DEFAULT_MAILBOXES, DELIMITER, FlagOp, Flags, MailboxId, ModSeq, SpecialUse, SystemFlags, Uid,
    UidValidity, UserId,
};
pub use web::{NewWebSession, SessionLimits, WebSession};

use blobs::BlobDir;
use feed::Feed;
use writer::Writer;

/// Who opens the store, which decides the locks taken (see the notes above).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// The server: exclusive on the data directory, sweeps orphans at open.
    Server,
    /// The admin CLI: may run beside a server.
    Admin,
    /// The admin CLI's bulk import (`mailbox import`) when no server runs:
    /// exclusive on the data directory like a server (none starts
    /// meanwhile), the database in a rollback journal instead of the WAL
    /// (a new page is written once, not to the WAL and again by the
    /// checkpoint) with a larger writer cache, and the import's appends
    /// held in one transaction until [`Store::import_commit`]: the import
    /// is durable whole or not at all. Back to the WAL at shutdown (and at
    /// any next open).
    Bulk,
}

/// The bulk writer's page cache, in KiB: room for the pages an import
/// touches again and again (the blob hash index is in random order), so
/// they are not written out and dirtied anew between two touches.
const BULK_CACHE_KIB: u32 = 16 * 1024;

/// Tunables, all with defaults that suit a small server.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub mode: OpenMode,
    /// Read connections kept open for reuse.
    pub read_pool: usize,
    /// SQLite's page cache of each read connection, in KiB. Every reader
    /// keeps its own copy of the pages it read, so this times `read_pool`
    /// is memory the server holds once it has been busy; the kernel's page
    /// cache serves misses.
    pub read_cache_kib: u32,
    /// The most writes folded into one transaction.
    pub max_batch: usize,
    /// Changes buffered per watched mailbox before a slow watcher must resync.
    pub feed_capacity: usize,
    /// The largest message `deliver`/`append` accept, in bytes.
    pub max_message_size: u64,
    /// Messages up to this size live in the database, made durable by the
    /// batch's one commit; larger ones are files. 0 puts every message in a file.
    pub inline_max: u64,
    /// How long a blob whose last reference went stays readable before it
    /// is removed (at the first commit after that, or at shutdown), so a
    /// session reading a message another one just expunged still gets it.
    pub blob_grace: std::time::Duration,
    /// Free space the data directory's file system keeps: below it
    /// `deliver`, `accept` and `append` refuse with [`StoreError::DiskFull`]
    /// (a temporary failure) while reads, flag changes and expunges go on.
    /// 0: no floor.
    pub min_free: u64,
    /// Pre-upgrade snapshots kept in the data directory: one is taken
    /// before migrations change an existing database (`upgrade.rs`).
    /// 0: none taken.
    pub pre_upgrade_keep: usize,
    /// Keep the full-text index and let SEARCH use it (`fts.rs`).
    pub fts: bool,
    /// Folded text indexed per message at most, in bytes; a message with
    /// more is found by the index only in that much, and by the scan beyond.
    pub fts_max_text: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            mode: OpenMode::Server,
            read_pool: 8,
            read_cache_kib: 512,
            max_batch: 256,
            feed_capacity: 1024,
            max_message_size: 64 * 1024 * 1024,
            inline_max: 64 * 1024,
            blob_grace: std::time::Duration::from_secs(5),
            min_free: 256 * 1024 * 1024,
            pre_upgrade_keep: 3,
            fts: true,
            fts_max_text: 1024 * 1024,
        }
    }
}

/// A handle on the store; clone it freely (an `Arc` inside).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    db_path: PathBuf,
    blobs: Arc<BlobDir>,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
    /// `BulkReader` connections between two scans, their map taken down.
    bulk_readers: Mutex<Vec<Arc<Mutex<Connection>>>>,
    /// One permit per pooled read connection: a read waits for a pooled
    /// connection instead of opening one more (and a blocking thread for it).
    reading: Arc<tokio::sync::Semaphore>,
    feed: Arc<Feed>,
    /// Which session holds each mailbox's `\Recent` messages.
    recent: recent::RecentBook,
    /// Bumped after each training commit of this process that wrote a
    /// model, so a scorer's cache knows without a read that nothing
    /// changed (`Store::models_generation`).
    models_generation: std::sync::atomic::AtomicU64,
    /// Bumped after each write of a user's spam settings in this process
    /// (`Store::spam_prefs_generation`), for the same reason.
    prefs_generation: std::sync::atomic::AtomicU64,
    /// Set only by `fuzzing::Mailstore` (no option or config reaches it):
    /// `Store::blocking` runs its work on the calling thread.
    inline_blocking: std::sync::atomic::AtomicBool,
    /// Opened `OpenMode::Bulk` and the journal switched: imports hold
    /// their transaction open until `import_commit`.
    bulk: bool,
    opts: StoreOptions,
    /// `server.lock` (Server) or `blobs.lock` held shared (Admin); released on drop.
    _lock: File,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.writer.shutdown();
    }
}

/// Group-commit counters: `writes / batches` writes shared each fsync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub batches: u64,
    pub writes: u64,
    /// WAL checkpoints done off the commit path (a server's store).
    pub checkpoints: u64,
    /// Batches of flag changes alone, committed without an fsync.
    pub unsynced: u64,
}

/// What the startup sweep found and removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub orphan_files: usize,
    pub dead_rows: usize,
    pub temp_files: usize,
    /// True when an admin process held `blobs.lock`, so files were left alone.
    pub skipped_files: bool,
}

impl Store {
    /// Opens (creating if needed) the store in data directory `dir`.
    pub fn open(dir: &Path, opts: StoreOptions) -> Result<Store> {
        writer::keep_statement_journals_in_memory();
        fs::create_dir_all(dir).map_err(|e| StoreError::io("create", dir, e))?;
        let lock = match opts.mode {
            OpenMode::Server | OpenMode::Bulk => {
                let p = dir.join("server.lock");
                let f = File::create(&p).map_err(|e| StoreError::io("create", &p, e))?;
                if f.try_lock().is_err() {
                    return Err(StoreError::Locked(dir.to_path_buf()));
                }
                f
            }
            OpenMode::Admin => {
                let p = dir.join("blobs.lock");
                let f = File::create(&p).map_err(|e| StoreError::io("create", &p, e))?;
                f.lock_shared().map_err(|e| StoreError::io("lock", &p, e))?;
                f
            }
        };
        recover_journal(dir)?;
        // Refuses a newer database before anything opens it for writing,
        // and snapshots an older one before its migrations.
        upgrade::before_open(dir, opts.pre_upgrade_keep)?;
        let db_path = dir.join("postern.db");
        let mut conn = Connection::open(&db_path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )?;
        schema::migrate(&mut conn)?;
        let bulk = opts.mode == OpenMode::Bulk && into_rollback_journal(&conn)?;
        let blobs = Arc::new(BlobDir::open(dir.join("blobs"))?);
        let sweep = if opts.mode == OpenMode::Server {
            running::mark_running(&conn, dir)?;
            fts::sync_triggers(&conn, opts.fts)?;
            Some(sweep(&conn, &blobs, dir)?)
        } else {
            None
        };
        let feed = Arc::new(Feed::new(opts.feed_capacity));
        let writer = Writer::spawn(
            conn,
            (opts.mode == OpenMode::Server).then(|| db_path.clone()),
            blobs.clone(),
            feed.clone(),
            opts.max_batch,
            opts.blob_grace,
            bulk.then_some("WAL"),
        )?;
        if let Some(s) = sweep
            && s != SweepReport::default()
        {
            tracing::info!(?s, "swept the blob directory");
        }
        Ok(Store {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                db_path,
                blobs,
                writer,
                readers: Mutex::new(Vec::new()),
                bulk_readers: Mutex::new(Vec::new()),
                reading: Arc::new(tokio::sync::Semaphore::new(opts.read_pool.max(1))),
                feed,
                recent: recent::RecentBook::default(),
                models_generation: Default::default(),
                prefs_generation: Default::default(),
                inline_blocking: Default::default(),
                bulk,
                opts,
                _lock: lock,
            }),
        })
    }

    /// The data directory this store lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Stops accepting writes and waits until the queued ones are committed.
    pub async fn shutdown(&self) {
        let inner = self.inner.clone();
        let _ = tokio::task::spawn_blocking(move || {
            inner.writer.shutdown();
            if inner.opts.mode == OpenMode::Server {
                running::mark_stopped(&inner.dir);
            }
        })
        .await;
    }

    /// Write batches committed and writes they carried, since open.
    pub fn write_stats(&self) -> WriteStats {
        use std::sync::atomic::Ordering;
        let s = &self.inner.writer.stats;
        WriteStats {
            batches: s.batches.load(Ordering::Relaxed),
            writes: s.jobs.load(Ordering::Relaxed),
            unsynced: s.unsynced.load(Ordering::Relaxed),
            checkpoints: self
                .inner
                .writer
                .checkpointer
                .as_ref()
                .map_or(0, |c| c.done()),
        }
    }

    /// Watches a mailbox for committed changes.
    pub fn subscribe(&self, mailbox: MailboxId) -> Subscription {
        self.inner.feed.subscribe(mailbox)
    }

    /// Watches `user`'s mailbox list and subscriptions: creations,
    /// deletions, renames and (un)subscriptions, once committed.
    pub fn subscribe_list(&self, user: UserId) -> ListSubscription {
        self.inner.feed.subscribe_list(user)
    }

    /// `PRAGMA integrity_check`: `Ok(())` or the problems SQLite lists.
    pub async fn integrity_check(&self) -> Result<()> {
        self.read(|c| {
            let mut st = c.prepare("PRAGMA integrity_check")?;
            let rows: Vec<String> = st
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if rows == ["ok"] {
                Ok(())
            } else {
                Err(StoreError::Corrupt(rows.join("; ")))
            }
        })
        .await
    }

    /// Runs `f` on a pooled read connection, off the async threads.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let _permit = self
            .inner
            .reading
            .acquire()
            .await
            .map_err(|e| StoreError::Commit(format!("read pool closed: {e}")))?;
        let this = self.clone();
        self.blocking("read", move || this.read_blocking(f)).await
    }

    /// Runs `f` off the async threads (`spawn_blocking`): SQLite, hashing
    /// and file I/O block. A fuzz target's store (`fuzzing::Mailstore`)
    /// runs it on the calling thread instead: one input's handful of reads
    /// and parses were each a hand-off to a pool thread and back, most of
    /// an input's time when AFL pins the process to one shared core.
    async fn blocking<T, F>(&self, what: &str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        if self
            .inner
            .inline_blocking
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return f();
        }
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| StoreError::Commit(format!("{what} task failed: {e}")))?
    }

    /// A read connection with the database file memory-mapped, for a scan
    /// over many messages' bytes (SEARCH on text): reads then cost page
    /// faults instead of a `pread` per page (SEARCH TEXT over 10,000
    /// messages: 650 ms → 370 ms). The map goes with the reader, so its
    /// pages do not stay in the server's memory; the connection itself is
    /// kept for the next scan (`BULK_POOL` of them), since opening one
    /// parses the whole schema again. The reader holds one of the pool's
    /// permits while it lives.
    pub async fn bulk_reader(&self) -> Result<BulkReader> {
        let permit = self
            .inner
            .reading
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| StoreError::Commit(format!("read pool closed: {e}")))?;
        let pooled = self
            .inner
            .bulk_readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        let path = self.inner.db_path.clone();
        let conn = self
            .blocking("read", move || {
                let map = format!("PRAGMA mmap_size = {MAP_BYTES};");
                match pooled {
                    Some(c) => {
                        c.lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .execute_batch(&map)?;
                        Ok(c)
                    }
                    None => Ok(Arc::new(Mutex::new(open_reader(&path, &map)?))),
                }
            })
            .await?;
        Ok(BulkReader {
            store: self.clone(),
            conn,
            _permit: permit,
        })
    }

    /// Runs `f` on a pooled read connection on the calling thread.
    fn read_blocking<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self
            .inner
            .readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        let conn = match pooled {
            Some(c) => c,
            None => open_reader(
                &self.inner.db_path,
                &format!("PRAGMA cache_size = -{};", self.inner.opts.read_cache_kib),
            )?,
        };
        let r = f(&conn);
        let mut pool = self.inner.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < self.inner.opts.read_pool {
            pool.push(conn);
        }
        r
    }
}

/// Rolls back what a bulk import killed mid-way left in its rollback
/// journal. Only a connection that may write can (a read-only one, as the
/// schema check's, fails with SQLITE_READONLY_ROLLBACK), and SQLite does it
/// at the first read; a journal a live import holds is not hot, and is
/// left alone.
fn recover_journal(dir: &Path) -> Result<()> {
    let journal = dir.join("postern.db-journal");
    if !fs::metadata(&journal).is_ok_and(|m| m.len() > 0) {
        return Ok(());
    }
    let c = Connection::open(dir.join("postern.db"))?;
    c.execute_batch("PRAGMA busy_timeout = 5000;")?;
    c.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
    Ok(())
}

/// Puts the database in a rollback journal for a bulk import; false (and
/// the WAL kept) when another connection has it open, which SQLite
/// requires for leaving the WAL.
fn into_rollback_journal(conn: &Connection) -> Result<bool> {
    match conn.query_row("PRAGMA journal_mode = TRUNCATE", [], |r| {
        r.get::<_, String>(0)
    }) {
        Ok(m) if m.eq_ignore_ascii_case("truncate") => {
            conn.execute_batch(&format!("PRAGMA cache_size = -{BULK_CACHE_KIB};"))?;
            Ok(true)
        }
        Ok(m) => {
            tracing::warn!(mode = %m, "the database stays in its journal mode: imported in batches");
            Ok(false)
        }
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
        {
            tracing::warn!("the database is open elsewhere: imported in batches");
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// A read-only connection for the reading side, with `pragmas` of its own.
fn open_reader(path: &Path, pragmas: &str) -> Result<Connection> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.execute_batch(&format!(
        "PRAGMA busy_timeout = 5000; PRAGMA query_only = 1; {pragmas}"
    ))?;
    // One plan per statement whatever the bound values. Without it SQLite
    // marks some statements (the messages-blobs join that reads message
    // bytes, range scans on UID) as depending on their parameters and
    // prepares them again at every new value: ~82 K instructions a time,
    // for a plan that comes out the same, since there are no sqlite_stat
    // tables and no LIKE on parameters to plan by.
    c.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(c)
}

/// A read connection with the database memory-mapped (`Store::bulk_reader`).
pub struct BulkReader {
    store: Store,
    conn: Arc<Mutex<Connection>>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl BulkReader {
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Store) -> Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        let store = self.store.clone();
        self.store
            .blocking("read", move || {
                let c = conn.lock().unwrap_or_else(|p| p.into_inner());
                f(&c, &store)
            })
            .await
    }
}

impl Drop for BulkReader {
    /// Back to the pool without its map (and its page cache), when no
    /// read of it is still running and it holds no transaction; closed
    /// otherwise. Taking the map down costs what closing did.
    fn drop(&mut self) {
        if Arc::strong_count(&self.conn) != 1 {
            return;
        }
        let kept = {
            let Ok(c) = self.conn.try_lock() else { return };
            c.is_autocommit()
                && c.execute_batch("PRAGMA mmap_size = 0; PRAGMA shrink_memory;")
                    .is_ok()
        };
        let mut pool = self
            .store
            .inner
            .bulk_readers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if kept && pool.len() < BULK_POOL {
            pool.push(self.conn.clone());
        }
    }
}

#[cfg(test)]
impl Store {
    /// Each pooled bulk connection's `mmap_size`.
    pub(crate) fn pooled_bulk_maps(&self) -> Vec<i64> {
        let pool = self
            .inner
            .bulk_readers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        pool.iter()
            .map(|c| {
                let c = c.lock().unwrap_or_else(|p| p.into_inner());
                c.query_row("PRAGMA mmap_size", [], |r| r.get(0))
                    .expect("mmap_size")
            })
            .collect()
    }
}

/// Unmapped bulk read connections kept for the next scan.
const BULK_POOL: usize = 2;

/// The most of the database file a `BulkReader` maps.
const MAP_BYTES: u64 = 1 << 40;

/// Removes what a crash can leave: temp files, blob files no row refers to,
/// and rows whose count reached zero before their file was removed.
fn sweep(conn: &Connection, blobs: &BlobDir, dir: &Path) -> Result<SweepReport> {
    let mut report = SweepReport::default();
    let lock_path = dir.join("blobs.lock");
    let lock = File::create(&lock_path).map_err(|e| StoreError::io("create", &lock_path, e))?;
    let have_files = lock.try_lock().is_ok();
    writer::begin_immediate(conn)?;
    let r = (|| -> Result<()> {
        let dead: Vec<String> = {
            let mut st = conn.prepare("SELECT hash FROM blobs WHERE refcount <= 0")?;
            st.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        conn.execute("DELETE FROM blobs WHERE refcount <= 0", [])?;
        report.dead_rows = dead.len();
        if have_files {
            for h in dead.iter().filter_map(|h| BlobId::parse(h)) {
                blobs.remove(&h);
            }
            let (ids, tmps) = blobs.scan()?;
            // A file is wanted only by a live row that keeps its bytes in a file.
            let mut st = conn.prepare("SELECT 1 FROM blobs WHERE hash = ?1 AND data IS NULL")?;
            for id in ids {
                if !st.exists([id.as_str()])? {
                    blobs.remove(&id);
                    report.orphan_files += 1;
                }
            }
            for t in tmps {
                let _ = fs::remove_file(&t);
                report.temp_files += 1;
            }
        } else {
            report.skipped_files = true;
        }
        conn.execute_batch("COMMIT")?;
        Ok(())
    })();
    if r.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    r.map(|()| report)
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod durability;
#[cfg(test)]
mod tests;
