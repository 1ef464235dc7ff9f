//! Whether the last server run stopped cleanly, and what a start does when
//! it did not. A running server keeps a mark in its data directory
//! ([`RUNNING_MARK`]), made durable at open and removed by a clean
//! `Store::shutdown`. Flag changes commit without an fsync (`writer.rs`),
//! so a power cut may lose the last of them; the MODSEQs a client was shown
//! for them must not be given again to other changes, or a client
//! resynchronising with CHANGEDSINCE would miss those (RFC 7162 §3.1.1:
//! MODSEQs only grow). A start that finds the mark therefore moves every
//! mailbox's HIGHESTMODSEQ on by [`MODSEQ_GAP`]. A kill alone loses
//! nothing; the gap then only costs clients an empty resync.

use std::fs::{self, File};
use std::path::Path;

use rusqlite::Connection;

use crate::blobs::sync_dir;
use crate::error::{Result, StoreError};

/// The file a running server keeps in its data directory; still there at
/// the next start, it says the last run did not stop cleanly.
pub(crate) const RUNNING_MARK: &str = "server.running";

/// How far every mailbox's HIGHESTMODSEQ moves on at a start after a run
/// that did not stop cleanly: more than the flag changes one run can
/// commit between two fsyncs.
const MODSEQ_GAP: i64 = 1 << 20;

/// Marks a server running, durably, before it writes anything; first moves
/// every HIGHESTMODSEQ on by [`MODSEQ_GAP`] when the last run's mark is
/// still there.
pub(crate) fn mark_running(conn: &Connection, dir: &Path) -> Result<()> {
    let mark = dir.join(RUNNING_MARK);
    if mark.exists() {
        conn.execute(
            "UPDATE mailboxes SET highestmodseq = highestmodseq + ?1",
            [MODSEQ_GAP],
        )?;
        tracing::info!("the last run did not stop cleanly: MODSEQs moved on");
    }
    let f = File::create(&mark).map_err(|e| StoreError::io("create", &mark, e))?;
    f.sync_all()
        .map_err(|e| StoreError::io("fsync", &mark, e))?;
    sync_dir(dir)
}

/// Takes the mark away after a clean stop: every change is synced (the
/// writer's last batch is FULL), so the next start needs no gap.
pub(crate) fn mark_stopped(dir: &Path) {
    let _ = fs::remove_file(dir.join(RUNNING_MARK));
}
