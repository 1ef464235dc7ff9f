//! Giving freed heap memory back to the system. glibc keeps what a burst
//! of connections freed in its arenas, split between chunks still in use,
//! so the process stays at its peak: 10,000 idle TLS connections took
//! RSS from 22 to 223 MiB, and it was still 223 MiB after every client had
//! logged out (bench/imap/idle_scale.sh). `malloc_trim` hands the free
//! pages in every arena back (madvise), which the automatic trim of the
//! heap's top never reaches. Every `[server] memory_trim_secs`, and only
//! when enough is free to be worth the arenas' locks. The same tick
//! unmaps the executable's code pages (`code_pages.rs`), the first time a
//! few seconds after start, when the start-up code has run for good.
//! At start, glibc's fast bins are turned off
//! ([`merge_freed_chunks_at_once`]), so the cost of a burst of small
//! frees is paid by the command that made them, not by the next one.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Free heap below which a trim is not worth walking the arenas.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const WORTH_TRIMMING: usize = 8 << 20;

/// Time after start by which the server has run its start-up code.
const STARTED_AFTER: Duration = Duration::from_secs(5);

pub fn spawn(every: Option<Duration>, shutdown: CancellationToken, tracker: &TaskTracker) {
    let Some(every) = every else { return };
    tracker.spawn(async move {
        // The first tick once start-up is over, then every `every`.
        let first = tokio::time::Instant::now() + every.min(STARTED_AFTER);
        let mut tick = tokio::time::interval_at(first, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = shutdown.cancelled() => return,
            }
            // Off the async threads: a trim of a large heap takes a while.
            let _ = tokio::task::spawn_blocking(|| {
                trim();
                let kib = super::code_pages::release();
                tracing::debug!(kib, "unmapped the executable's code pages");
            })
            .await;
        }
    });
}

/// Turns off glibc's fast bins, so a freed small chunk is merged with its
/// free neighbours at once rather than kept aside. With them, a command
/// that frees many small chunks (THREAD over 100,000 messages: ~1 million)
/// left them for the next large allocation in that arena to merge
/// (`malloc_consolidate`): the next command paid for it, e.g. a SELECT
/// after a THREAD took 13 ms more CPU (issue 19). Small allocations freed
/// and made again at once still come from the per-thread cache (tcache).
pub fn merge_freed_chunks_at_once() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only tunes the allocator's own state, under its
        // locks; M_MXFAST 0 is a documented setting (no fast bins).
        if unsafe { libc::mallopt(libc::M_MXFAST, 0) } != 1 {
            tracing::debug!("mallopt(M_MXFAST, 0) refused");
        }
    }
}

/// Returns free heap pages to the system; how many bytes were free.
pub fn trim() -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 and malloc_trim only read and tune the
        // allocator's own state, under its locks; any thread may call them.
        let free = unsafe { libc::mallinfo2() }.fordblks;
        if free >= WORTH_TRIMMING {
            // SAFETY: as above.
            unsafe { libc::malloc_trim(0) };
            tracing::debug!(free_bytes = free, "returned free heap memory to the system");
        }
        free
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    0
}
