//! WAL checkpoints off the commit path (a server's store only).
//!
//! SQLite checkpoints by default in the connection that commits, once the
//! WAL holds 1,000 pages, inside that COMMIT: the writer thread copied the
//! pages into the database and fsynced it before it could wake the batch's
//! callers or start the next batch. Under SMTP load (~25 WAL pages a
//! message) that was one stall of the writer every ~40 messages, each as
//! long as writing ~4 MB and an fsync of the database, while every session
//! waited for its `250` (bench/README.md, "New connection per message").
//!
//! Here the writer's connection only notes the WAL's size after each commit
//! (a WAL hook, which replaces SQLite's automatic checkpoint) and wakes a
//! thread of its own, with its own connection, that checkpoints (PASSIVE:
//! it never waits for the writer or for readers) while the writer goes on.
//! A checkpoint running beside the writer cannot always copy the last
//! frames, and the WAL starts again from its beginning only once every frame
//! is copied: if it grows to [`INLINE_PAGES`] the writer checkpoints itself,
//! as SQLite would have, which by then leaves little to copy. The
//! durability contract does not move: a batch's callers are woken after
//! its COMMIT's WAL fsync, as before; a checkpoint only copies what the WAL
//! already holds durably.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::wal::CheckpointMode;

use crate::error::{Result, StoreError};

/// WAL size (pages) from which the background thread checkpoints: SQLite's
/// own default threshold, so the WAL grows no larger than before.
const BACKGROUND_PAGES: i32 = 1000;

/// WAL size (pages, 4 KiB each) from which the writer checkpoints in its
/// commit after all, so the WAL stays bounded under a load that never
/// leaves the background thread a moment to finish.
const INLINE_PAGES: i32 = 8000;

/// What the writer's hook and the thread share.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Checkpoints completed (either thread), for tests and benchmarks.
    done: AtomicU64,
}

#[derive(Default)]
struct State {
    wanted: bool,
    stop: bool,
}

/// The checkpoint thread of a server's store.
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Checkpointer {
    /// Opens a connection of its own to `db` and starts the thread, then
    /// hooks `writer` (the writer thread's connection) to it.
    pub(crate) fn spawn(db: PathBuf, writer: &mut Connection) -> Result<Checkpointer> {
        let conn = Connection::open(&db)?;
        // FULL: the checkpoint syncs the WAL before it copies and the
        // database before the WAL may start again.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;")?;
        let shared = Arc::new(Shared::default());
        let hook = shared.clone();
        writer.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages| {
            if pages >= INLINE_PAGES {
                // Busy (the thread is mid-checkpoint) or failed: the next
                // commit tries again; the commit itself stands either way.
                if wal.checkpoint_v2(CheckpointMode::PASSIVE).is_ok() {
                    hook.done.fetch_add(1, Ordering::Relaxed);
                }
            } else if pages >= BACKGROUND_PAGES {
                hook.state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .wanted = true;
                hook.wake.notify_one();
            }
            Ok(())
        }))?;
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("postern-store-checkpoint".into())
            .spawn(move || run(&conn, &thread_shared))
            .map_err(|e| StoreError::io("spawn checkpoint thread", &db, e))?;
        Ok(Checkpointer {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Checkpoints completed so far.
    pub(crate) fn done(&self) -> u64 {
        self.shared.done.load(Ordering::Relaxed)
    }

    /// Stops the thread (after the checkpoint it may be running) and joins it.
    pub(crate) fn stop(&self) {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stop = true;
        self.shared.wake.notify_one();
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(h) = handle
            && h.join().is_err()
        {
            tracing::error!("store checkpoint thread panicked");
        }
    }
}

fn run(conn: &Connection, shared: &Shared) {
    loop {
        {
            let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            while !state.wanted && !state.stop {
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.stop {
                return;
            }
            state.wanted = false;
        }
        match conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE) {
            Ok(_) => {
                shared.done.fetch_add(1, Ordering::Relaxed);
            }
            // Another checkpoint (the writer's) holds the lock: it copies.
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy => {}
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed; the next one copies");
                // Not at once again: a lasting error would spin.
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}
