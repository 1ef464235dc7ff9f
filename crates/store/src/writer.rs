//! Group commit: one thread owns the write connection and folds the writes
//! that concurrent callers queued into one transaction and one fsync.
//!
//! A caller's job runs inside a SAVEPOINT, so a job that fails (quota, a name
//! that exists) rolls back alone and the rest of the batch commits. Blob files
//! and their directories were fsynced by the callers, concurrently, before
//! they queued their jobs (`blobs.rs`); the WAL commit with
//! `synchronous=FULL` is the batch's one fsync. Only after it are the batch's
//! changes published to the feed and the callers woken.
//!
//! A batch of flag changes alone (every job queued with
//! [`Writer::write_flags`]: STORE, nothing else; nothing to collect) commits
//! with `synchronous=NORMAL`, set on the connection between batches: its
//! WAL frames are written with `write()` and not fsynced. They survive the
//! process being killed (the kernel has them), and the next batch that
//! fsyncs the WAL makes them durable with it, since the WAL is appended in
//! order; a power cut before that may lose the last flag changes, never
//! mail and never a half-written state (the next start after a run that did
//! not stop cleanly moves every HIGHESTMODSEQ on, `running.rs`,
//! so the MODSEQs shown for lost changes are not given again). Dovecot does not fsync flag changes either
//! (`mail_fsync=optimized`). A batch that holds anything else (a delivery,
//! APPEND, COPY/MOVE, an expunge, queue or account changes, a blob
//! collection) commits with `synchronous=FULL`, as the durability contract
//! needs; a rollback journal (`OpenMode::Bulk`) always does, since it is
//! not safe without its fsyncs. Flag changes queued beside other writes
//! are taken out into a batch of their own, committed first, so a STORE
//! does not wait for an APPEND's fsync (unless blobs are due for
//! collection: then all go in one synced batch, as before).
//! [`Stats::unsynced`] counts the unsynced batches.
//!
//! Blobs that lost their last reference are removed once their grace has
//! passed, at the end of a later batch's transaction (after its jobs, in a
//! SAVEPOINT of its own), so collecting costs no commit of its own: a busy
//! mailbox that appends and expunges all the time would otherwise pay a
//! second fsync for nearly every batch, and every write waits behind it.
//!
//! A bulk import (`OpenMode::Bulk`, no server running) may hold the
//! transaction open across batches ([`WriteCtx::hold`]): its callers are
//! answered before anything is durable, and the next batch that does not
//! hold commits them all; a writer stopped with the transaction still held
//! rolls it back, so an import is in whole or not at all.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OptionalExtension};
use tokio::sync::{mpsc, oneshot};

use crate::blobs::{BlobDir, BlobId};
use crate::error::{Result, StoreError};
use crate::feed::{Feed, ListChange, MailboxChange};
use crate::types::UserId;

/// State a job sees while it runs inside the batch's transaction.
pub(crate) struct WriteCtx<'a> {
    pub conn: &'a Connection,
    blobs: &'a BlobDir,
    /// Blobs whose reference count reached zero: removed after commit.
    dead: Vec<BlobId>,
    /// What the feed publishes once the batch is durable.
    changes: Vec<MailboxChange>,
    /// Mailbox list and subscription changes, published with `changes`.
    lists: Vec<(UserId, ListChange)>,
    /// A job wrote spam-training journal rows: the trainer is woken after
    /// the commit.
    training: bool,
    /// Jobs of this batch that asked to leave the transaction open.
    holds: usize,
}

impl WriteCtx<'_> {
    /// Takes a reference to blob `id`. An inline blob brings its bytes, which
    /// this commit makes durable. A file blob was written and fsynced by the
    /// caller; when it is new to the database its file must still be there: a
    /// file removed since the caller wrote it (its last reference went away
    /// in between) fails the job with `BlobMissing`, and the caller writes
    /// again. A blob that has live references is never removed, so taking one
    /// more needs no check.
    pub(crate) fn add_blob_ref(
        &mut self,
        id: &BlobId,
        size: u64,
        inline: Option<&[u8]>,
    ) -> Result<()> {
        let rc: Option<i64> = self
            .conn
            .prepare_cached("SELECT refcount FROM blobs WHERE hash = ?1")?
            .query_row([id.as_str()], |r| r.get(0))
            .optional()?;
        if rc.unwrap_or(0) > 0 {
            self.conn
                .prepare_cached("UPDATE blobs SET refcount = refcount + 1 WHERE hash = ?1")?
                .execute([id.as_str()])?;
            return Ok(());
        }
        if inline.is_none() && !self.blobs.exists(id) {
            return Err(StoreError::BlobMissing);
        }
        self.conn
            .prepare_cached(
                "INSERT INTO blobs (hash, size, refcount, data) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT(hash) DO UPDATE SET refcount = 1, data = excluded.data",
            )?
            .execute((id.as_str(), size as i64, inline))?;
        Ok(())
    }

    /// Drops one reference; the file goes after the commit if none remain.
    pub(crate) fn drop_blob_ref(&mut self, id: &BlobId) -> Result<()> {
        let rc: Option<i64> = self
            .conn
            .query_row(
                "UPDATE blobs SET refcount = refcount - 1 WHERE hash = ?1 RETURNING refcount",
                [id.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        if rc.is_some_and(|n| n <= 0) {
            self.dead.push(id.clone());
        }
        Ok(())
    }

    pub(crate) fn publish(&mut self, c: MailboxChange) {
        self.changes.push(c);
    }

    pub(crate) fn publish_list(&mut self, user: UserId, c: ListChange) {
        self.lists.push((user, c));
    }

    /// Marks the batch as one that wrote training journal rows.
    pub(crate) fn wake_trainer(&mut self) {
        self.training = true;
    }

    /// Asks to leave the transaction open after this job (a bulk import's
    /// batch): honoured only when every job of the batch asks, and the
    /// caller is then answered before its writes are durable.
    pub(crate) fn hold(&mut self) {
        self.holds += 1;
    }

    /// Runs `f` inside a savepoint: its writes and its side lists are undone
    /// if it fails, without touching the other jobs of the batch.
    pub(crate) fn isolated<T>(
        &mut self,
        f: impl FnOnce(&mut WriteCtx<'_>) -> Result<T>,
    ) -> Result<T> {
        self.conn.execute_batch("SAVEPOINT job")?;
        let marks = (
            self.dead.len(),
            self.changes.len(),
            self.training,
            self.lists.len(),
            self.holds,
        );
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("RELEASE job")?;
                Ok(v)
            }
            Err(e) => {
                self.conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
                self.dead.truncate(marks.0);
                self.changes.truncate(marks.1);
                self.training = marks.2;
                self.lists.truncate(marks.3);
                self.holds = marks.4;
                Err(e)
            }
        }
    }
}

/// How much of a job's statement journal SQLite keeps in memory before it
/// spills to a temporary file. Each job runs in a SAVEPOINT, and the
/// original of every page it changes goes to that journal: filing one 5 KB
/// message changes ~20 pages (the blob and message rows, the message
/// indexes, the mailbox, the counters), just over SQLite's 64 KiB default,
/// so nearly every batch created, wrote and closed a temporary file
/// (perf: 5-7 % of the server's CPU under SMTP load). A job that changes
/// more (an expunge of hundreds of messages) still spills, so the memory
/// stays bounded. Below 128 KiB on purpose: the memory journal writes its
/// spill in chunks of this size, and SQLite's unix VFS keeps only the low
/// 17 bits of a write's length (`nBuf &= 0x1ffff` in `seekAndWriteFd`), so
/// at 1 MiB the spill's first write was cut to nothing and the job failed
/// with SQLITE_FULL (`tests::import::jobs_past_the_statement_journal_spill_commit`).
const STATEMENT_JOURNAL_SPILL: i32 = 126 * 1024;

/// Raises SQLite's statement-journal spill threshold to
/// [`STATEMENT_JOURNAL_SPILL`]. A process-wide setting SQLite takes only
/// before its first connection: done once, at the first `Store::open`; if
/// something opened a connection before (a test), SQLite refuses it and the
/// default stays, which changes only the cost.
pub(crate) fn keep_statement_journals_in_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: SQLITE_CONFIG_STMTJRNL_SPILL takes one int; sqlite3_config
        // only reads it, and answers SQLITE_MISUSE (no effect) once SQLite
        // is initialised.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_STMTJRNL_SPILL,
                STATEMENT_JOURNAL_SPILL as std::ffi::c_int,
            )
        };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(
                rc,
                "SQLite already initialised: statement journal spill left as is"
            );
        }
    });
}

/// A queued write: runs in the batch, then hears whether the batch committed.
trait Job: Send {
    fn run(&mut self, ctx: &mut WriteCtx<'_>);
    fn finish(self: Box<Self>, commit: Option<&StoreError>);
    /// The job changes only flags and keywords ([`Writer::write_flags`]).
    fn flags_only(&self) -> bool;
}

struct TypedJob<T, F> {
    f: Option<F>,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
    flags_only: bool,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut WriteCtx<'_>) -> Result<T> + Send + 'static,
{
    fn run(&mut self, ctx: &mut WriteCtx<'_>) {
        if let Some(f) = self.f.take() {
            self.result = Some(ctx.isolated(f));
        }
    }
    fn finish(self: Box<Self>, commit: Option<&StoreError>) {
        let r = match (commit, self.result) {
            // Out of space stays recognisable: callers answer it with a
            // temporary refusal, not an internal error.
            (Some(e), _) if e.is_disk_full() => Err(StoreError::DiskFull(e.to_string())),
            (Some(e), _) => Err(StoreError::Commit(e.to_string())),
            (None, Some(r)) => r,
            (None, None) => Err(StoreError::Commit("job did not run".into())),
        };
        let _ = self.reply.send(r);
    }
    fn flags_only(&self) -> bool {
        self.flags_only
    }
}

/// Counters of the writer thread, for tests and benchmarks: `jobs / batches`
/// is how many writes shared one commit (one fsync).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub batches: AtomicU64,
    pub jobs: AtomicU64,
    /// Batches committed with `synchronous=NORMAL` (flag changes only).
    pub unsynced: AtomicU64,
}

/// The async side of the writer thread.
pub(crate) struct Writer {
    pub(crate) stats: Arc<Stats>,
    /// A server's WAL checkpoints, off the commit path (`checkpoint.rs`).
    pub(crate) checkpointer: Option<crate::checkpoint::Checkpointer>,
    tx: std::sync::Mutex<Option<mpsc::Sender<Box<dyn Job>>>>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Writer {
    /// With `checkpoint` (the database's path; a server's store), WAL
    /// checkpoints run on a thread of their own instead of in the commits.
    pub(crate) fn spawn(
        mut conn: Connection,
        checkpoint: Option<std::path::PathBuf>,
        blobs: Arc<BlobDir>,
        feed: Arc<Feed>,
        max_batch: usize,
        grace: Duration,
        restore_journal: Option<&'static str>,
    ) -> Result<Writer> {
        // Only a WAL commits safely without an fsync (a rollback journal
        // could be left torn by a power cut): `OpenMode::Bulk` keeps FULL.
        let wal = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))?
            .eq_ignore_ascii_case("wal");
        let checkpointer = match checkpoint {
            Some(db) => Some(crate::checkpoint::Checkpointer::spawn(db, &mut conn)?),
            None => None,
        };
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>(max_batch.max(1) * 4);
        let stats = Arc::new(Stats::default());
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("postern-store-writer".into())
            .spawn(move || {
                let mut batcher = Batcher {
                    conn: &conn,
                    blobs: &blobs,
                    feed: &feed,
                    stats: &thread_stats,
                    grace,
                    wal,
                    synced: true,
                    dying: VecDeque::new(),
                    held: Held::default(),
                };
                run(rx, max_batch.max(1), &mut batcher);
                if let Some(mode) = restore_journal {
                    // Back to the server's journal (`OpenMode::Bulk` left
                    // it); the next open sets it anyway if this fails.
                    let back =
                        conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |_| Ok(()));
                    if let Err(e) = back {
                        tracing::warn!(error = %e, "journal mode left for the next open to set");
                    }
                }
            })
            .map_err(|e| StoreError::io("spawn writer thread", "", e))?;
        Ok(Writer {
            stats,
            checkpointer,
            tx: std::sync::Mutex::new(Some(tx)),
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// Queues `f` for the next batch and waits until that batch is durable.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T> + Send + 'static,
    {
        self.queue(f, false).await
    }

    /// Queues `f`, which changes flags and keywords only (STORE: the
    /// messages' flag columns, their MODSEQ, the mailbox's HIGHESTMODSEQ
    /// and the spam-training journal rows a `$Junk` change writes), and
    /// waits until its batch is committed. A batch of nothing but such
    /// jobs commits without an fsync (see the module's docs): it survives
    /// the process being killed, not a power cut.
    pub(crate) async fn write_flags<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T> + Send + 'static,
    {
        self.queue(f, true).await
    }

    async fn queue<T, F>(&self, f: F, flags_only: bool) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T> + Send + 'static,
    {
        let sender = {
            let guard = self.tx.lock().map_err(|_| StoreError::Closed)?;
            guard.clone().ok_or(StoreError::Closed)?
        };
        let (reply, rx) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(TypedJob {
            f: Some(f),
            result: None,
            reply,
            flags_only,
        });
        sender.send(job).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Writes queued and not yet taken into a batch (tests wait on it to
    /// know that jobs will share the next batch).
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.tx
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|t| t.max_capacity() - t.capacity()))
            .unwrap_or(0)
    }

    /// Stops taking writes, lets the thread commit what is queued, joins it.
    pub(crate) fn shutdown(&self) {
        if let Ok(mut g) = self.tx.lock() {
            g.take();
        }
        let handle = self.thread.lock().ok().and_then(|mut g| g.take());
        if let Some(h) = handle
            && h.join().is_err()
        {
            tracing::error!("store writer thread panicked");
        }
        if let Some(c) = &self.checkpointer {
            c.stop();
        }
    }
}

/// The writer thread's state from one batch to the next.
struct Batcher<'a> {
    conn: &'a Connection,
    blobs: &'a BlobDir,
    feed: &'a Feed,
    stats: &'a Stats,
    grace: Duration,
    /// The journal is a WAL: a batch of flag changes alone skips its fsync.
    wal: bool,
    /// The connection's `synchronous` is FULL (`Store::open` set it).
    synced: bool,
    /// Blobs whose last reference went, and when: collected once `grace`
    /// has passed, so a session that listed a message just before another
    /// expunged it can still read it (Dovecot behaves the same).
    dying: VecDeque<(Instant, Vec<BlobId>)>,
    /// What batches written into a held transaction publish at its commit.
    held: Held,
}

impl Batcher<'_> {
    /// Blobs are due for collection (which only a synced batch does).
    fn collection_due(&self) -> bool {
        self.dying
            .front()
            .is_some_and(|(t, _)| t.elapsed() >= self.grace)
    }

    /// Commits `batch`: without an fsync when it holds flag changes alone
    /// and nothing else is to be done in its transaction.
    fn commit(&mut self, batch: &mut Vec<Box<dyn Job>>) {
        let (conn, grace) = (self.conn, self.grace);
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.stats
            .jobs
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let (batch_len, started) = (batch.len(), Instant::now());
        // A backup in progress pins every blob its snapshot names
        // (`backup.rs`): collection waits for a batch after it.
        // Without a grace, this batch's own dead blobs go in its commit.
        let pin = (grace.is_zero() || self.collection_due())
            .then(|| crate::backup::Pin::try_exclusive(self.blobs))
            .flatten();
        let mut due = Vec::new();
        if pin.is_some() {
            while let Some((_, ids)) = self.dying.pop_front_if(|(t, _)| t.elapsed() >= grace) {
                due.extend(ids);
            }
        }
        // Flag changes alone, nothing to collect, no held import: no fsync.
        let unsynced = self.wal
            && conn.is_autocommit()
            && due.is_empty()
            && batch.iter().all(|j| j.flags_only());
        let now = pin.is_some() && grace.is_zero() && !unsynced;
        let (dead, uncollected) = match set_synchronous(conn, &mut self.synced, !unsynced) {
            Ok(()) => {
                if unsynced {
                    self.stats.unsynced.fetch_add(1, Ordering::Relaxed);
                    crate::ops::unsynced_commit();
                }
                commit_batch(conn, self.blobs, self.feed, batch, &mut self.held, due, now)
            }
            Err(e) => {
                // Never commit in a mode other than the one the batch needs.
                tracing::error!(error = %e, jobs = batch.len(), "store batch failed");
                for job in batch.drain(..) {
                    job.finish(Some(&e));
                }
                (Vec::new(), due)
            }
        };
        drop(pin);
        crate::ops::batch_done(batch_len, started.elapsed());
        if !uncollected.is_empty() {
            // Not collected (a held transaction, a failed batch): the next
            // batch that commits tries again.
            self.dying.push_front((Instant::now() - grace, uncollected));
        }
        if !dead.is_empty() {
            self.dying.push_back((Instant::now(), dead));
        }
    }
}

fn run(mut rx: mpsc::Receiver<Box<dyn Job>>, max_batch: usize, b: &mut Batcher<'_>) {
    let conn = b.conn;
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        // Flag changes queued beside other writes go first, in a batch of
        // their own without an fsync, instead of waiting for the others'.
        // Their callers are concurrent (each waits for its write), so any
        // order of their jobs is one they could have had.
        let mixed = batch.iter().any(|j| j.flags_only()) && batch.iter().any(|j| !j.flags_only());
        if mixed && b.wal && conn.is_autocommit() && !b.collection_due() {
            let mut flags: Vec<Box<dyn Job>> = batch.extract_if(.., |j| j.flags_only()).collect();
            b.commit(&mut flags);
        }
        b.commit(&mut batch);
    }
    // A held transaction nobody committed (an import that failed or was
    // stopped) goes whole: none of it was reported imported.
    if !conn.is_autocommit() {
        tracing::warn!("rolling back writes left uncommitted");
        let _ = conn.execute_batch("ROLLBACK");
    }
    // Shutting down: nothing reads any more. Under a backup's pin the rows
    // at zero stay, and the next start's sweep removes them; so do they if
    // the connection cannot be set back to fsync its commits.
    if set_synchronous(conn, &mut b.synced, true).is_ok()
        && let Some(_pin) = crate::backup::Pin::try_exclusive(b.blobs)
    {
        for (_, ids) in std::mem::take(&mut b.dying) {
            collect(conn, b.blobs, &ids);
        }
    }
    tracing::debug!("store writer stopped");
}

/// Sets `PRAGMA synchronous` to FULL (`full`) or NORMAL when the
/// connection has the other (`synced` tracks it). SQLite refuses the
/// change inside a transaction, so this runs between batches.
fn set_synchronous(conn: &Connection, synced: &mut bool, full: bool) -> Result<()> {
    if *synced != full {
        let mode = if full { "FULL" } else { "NORMAL" };
        conn.execute_batch(&format!("PRAGMA synchronous = {mode}"))?;
        *synced = full;
    }
    Ok(())
}

fn collect(conn: &Connection, blobs: &BlobDir, ids: &[BlobId]) {
    if let Err(e) = collect_dead(conn, blobs, ids) {
        tracing::warn!(error = %e, "blob collection deferred to the next start");
    }
}

/// The side lists of batches written into a transaction still held open,
/// carried to the batch that commits it.
#[derive(Default)]
struct Held {
    dead: Vec<BlobId>,
    changes: Vec<MailboxChange>,
    lists: Vec<(UserId, ListChange)>,
    training: bool,
}

/// Commits one batch (with what earlier batches left held), collecting the
/// `due` blobs (and with `now`, the batch's own dead ones) in the same
/// transaction; returns the blobs that lost their last reference and are
/// still there, and the due ones it did not get to. When every job of
/// the batch asked to hold ([`WriteCtx::hold`]), leaves the transaction
/// open instead (and collects nothing: never inside a held transaction).
fn commit_batch(
    conn: &Connection,
    blobs: &BlobDir,
    feed: &Feed,
    batch: &mut Vec<Box<dyn Job>>,
    held: &mut Held,
    mut due: Vec<BlobId>,
    now: bool,
) -> (Vec<BlobId>, Vec<BlobId>) {
    let mut ctx = WriteCtx {
        conn,
        blobs,
        dead: std::mem::take(&mut held.dead),
        changes: std::mem::take(&mut held.changes),
        lists: std::mem::take(&mut held.lists),
        training: held.training,
        holds: 0,
    };
    held.training = false;
    let mut holding = false;
    let outcome = (|| -> Result<()> {
        if conn.is_autocommit() {
            begin_immediate(conn)?;
        }
        for job in batch.iter_mut() {
            job.run(&mut ctx);
        }
        if ctx.holds >= batch.len() {
            holding = true;
            return Ok(());
        }
        // After the jobs: a job that took a new reference to a dying blob
        // (the same bytes appended again) keeps it.
        if now {
            due.append(&mut ctx.dead);
        }
        if !due.is_empty() {
            let ids = std::mem::take(&mut due);
            if let Err(e) = ctx.isolated(|c| delete_dead(c.conn, blobs, &ids)) {
                tracing::warn!(error = %e, "blob collection deferred");
                due = ids;
            }
        }
        // Readers see the batch from COMMIT on, subscribers only once it
        // is published: a session subscribing in between must know.
        feed.committing(&ctx.changes);
        let commit = Instant::now();
        conn.execute_batch("COMMIT")?;
        crate::ops::commit_done(commit.elapsed());
        Ok(())
    })();
    if let Err(e) = &outcome {
        feed.abandon();
        tracing::error!(error = %e, jobs = batch.len(), "store batch failed");
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
    if holding && outcome.is_ok() {
        *held = Held {
            dead: ctx.dead,
            changes: ctx.changes,
            lists: ctx.lists,
            training: ctx.training,
        };
        for job in batch.drain(..) {
            job.finish(None);
        }
        return (Vec::new(), due);
    }
    let committed = outcome.is_ok();
    // Publish before waking the callers: a session that sees its own write
    // acknowledged finds the matching change already on the feed.
    if committed {
        feed.publish(std::mem::take(&mut ctx.changes));
        feed.publish_lists(std::mem::take(&mut ctx.lists));
        if ctx.training {
            feed.training_written();
        }
    }
    for job in batch.drain(..) {
        job.finish(outcome.as_ref().err());
    }
    if committed {
        (std::mem::take(&mut ctx.dead), due)
    } else {
        // Rolled back: the rows the collection deleted are back (their
        // files are not, which the startup sweep tidies), so try again.
        (Vec::new(), due)
    }
}

/// Removes blobs that no row refers to. Runs in its own write transaction so
/// that another process's writer (the admin CLI) cannot take a reference to
/// the blob between the check and the unlink.
pub(crate) fn collect_dead(conn: &Connection, blobs: &BlobDir, dead: &[BlobId]) -> Result<()> {
    begin_immediate(conn)?;
    let r = (|| -> Result<()> {
        delete_dead(conn, blobs, dead)?;
        conn.execute_batch("COMMIT")?;
        Ok(())
    })();
    if r.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    r
}

/// Inside a write transaction: the rows of `dead` still unreferenced go,
/// and their files with them (under the write lock, so no other process's
/// writer can take a reference between the check and the unlink).
fn delete_dead(conn: &Connection, blobs: &BlobDir, dead: &[BlobId]) -> Result<()> {
    for id in dead {
        let n = conn.execute(
            "DELETE FROM blobs WHERE hash = ?1 AND refcount <= 0",
            [id.as_str()],
        )?;
        if n == 1 {
            blobs.remove(id);
        }
    }
    Ok(())
}

/// BEGIN IMMEDIATE, waiting out another process's write lock (the admin CLI
/// or the server) for up to a minute in total.
pub(crate) fn begin_immediate(conn: &Connection) -> Result<()> {
    let mut waited = Duration::ZERO;
    loop {
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                    && waited < Duration::from_secs(60) =>
            {
                std::thread::sleep(Duration::from_millis(20));
                waited += Duration::from_millis(20);
            }
            Err(e) => return Err(e.into()),
        }
    }
}
