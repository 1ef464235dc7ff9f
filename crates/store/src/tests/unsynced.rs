//! Which batches commit without an fsync (`synchronous=NORMAL`): those of
//! flag changes alone. Any other write (here an APPEND) commits with
//! `synchronous=FULL`, as every batch did before; flag changes queued
//! beside it are taken out into a batch of their own, committed first.
//! Each job reads the connection's `PRAGMA synchronous` inside the batch,
//! so the mode checked is the one SQLite committed in, not a counter's.

use std::sync::mpsc;

use super::*;

fn seen() -> Flags {
    Flags {
        system: SystemFlags::SEEN,
        keywords: Vec::new(),
    }
}

/// `PRAGMA synchronous` of the writer's connection, read inside a job:
/// 1 is NORMAL, 2 FULL.
fn synchronous(ctx: &mut crate::writer::WriteCtx<'_>) -> Result<i64> {
    Ok(ctx.conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?)
}

/// Holds the writer thread inside a batch of its own until the returned
/// sender is dropped, so that what is queued meanwhile shares the next.
async fn hold_writer(s: &Store) -> (mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
    let (release, wait) = mpsc::channel::<()>();
    let (started, running) = tokio::sync::oneshot::channel();
    let st = s.clone();
    let h = tokio::spawn(async move {
        st.inner
            .writer
            .write(move |_| {
                let _ = started.send(());
                let _ = wait.recv();
                Ok(())
            })
            .await
            .expect("holding job");
    });
    running.await.expect("holding job started");
    (release, h)
}

/// Waits until `n` writes are queued behind the held batch.
async fn queued(s: &Store, n: usize) {
    while s.inner.writer.queued() < n {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flag_changes_commit_unsynced_and_an_append_beside_them_synced() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let uids = append_n(&f.store, u, mb.id, "m", 2).await;

    // A STORE alone: its batch commits without an fsync.
    let before = f.store.write_stats();
    f.store
        .set_flags(mb.id, vec![uids[0]], FlagOp::Add, seen(), None)
        .await
        .expect("store");
    let after = f.store.write_stats();
    assert_eq!(
        (
            after.batches - before.batches,
            after.unsynced - before.unsynced
        ),
        (1, 1),
        "a STORE alone is one unsynced batch"
    );

    // Two flag-only jobs in one batch: NORMAL, as SQLite itself says.
    let (release, held) = hold_writer(&f.store).await;
    let mut flags = Vec::new();
    for _ in 0..2 {
        let st = f.store.clone();
        flags.push(tokio::spawn(async move {
            st.inner.writer.write_flags(synchronous).await
        }));
    }
    queued(&f.store, 2).await;
    drop(release);
    held.await.expect("held");
    for t in flags {
        assert_eq!(t.await.expect("join").expect("write"), 1, "NORMAL");
    }

    // A flag-only job queued with another write: the flag change is taken
    // out into a batch of its own, committed first with NORMAL; the other
    // write commits with FULL.
    let before = f.store.write_stats();
    let (release, held) = hold_writer(&f.store).await;
    let st = f.store.clone();
    let other = tokio::spawn(async move { st.inner.writer.write(synchronous).await });
    queued(&f.store, 1).await;
    let st = f.store.clone();
    let flag_job = tokio::spawn(async move { st.inner.writer.write_flags(synchronous).await });
    queued(&f.store, 2).await;
    drop(release);
    held.await.expect("held");
    assert_eq!(
        other.await.expect("join").expect("write"),
        2,
        "a write queued beside a flag change commits with FULL"
    );
    assert_eq!(
        flag_job.await.expect("join").expect("write"),
        1,
        "the flag change beside it commits with NORMAL"
    );
    let after = f.store.write_stats();
    assert_eq!(
        (after.batches - before.batches, after.writes - before.writes),
        (3, 3),
        "the holding batch, then the flag change, then the other write"
    );
    assert_eq!(after.unsynced - before.unsynced, 1);

    // The real STORE and APPEND queued together: the same split.
    let before = f.store.write_stats();
    let (release, held) = hold_writer(&f.store).await;
    let st = f.store.clone();
    let append = tokio::spawn(async move { st.append(u, mb.id, msg("mixed")).await });
    queued(&f.store, 1).await;
    let st = f.store.clone();
    let store = tokio::spawn(async move {
        st.set_flags(mb.id, vec![uids[1]], FlagOp::Add, seen(), None)
            .await
    });
    queued(&f.store, 2).await;
    drop(release);
    held.await.expect("held");
    assert_eq!(store.await.expect("join").expect("store").updated.len(), 1);
    append.await.expect("join").expect("append");
    let after = f.store.write_stats();
    assert_eq!(
        (
            after.batches - before.batches,
            after.unsynced - before.unsynced
        ),
        (3, 1),
        "the STORE alone unsynced, the APPEND synced"
    );
    let full = f.store.inner.writer.write(synchronous).await;
    assert_eq!(full.expect("write"), 2, "any other write: FULL again");
}

/// An expunge is never unsynced, nor is a STORE pipelined with it.
#[tokio::test]
async fn expunges_and_deletes_commit_synced() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let uids = append_n(&f.store, u, mb.id, "m", 2).await;
    let before = f.store.write_stats();
    let deleted = Flags {
        system: SystemFlags::DELETED,
        keywords: Vec::new(),
    };
    let (stored, expunged) = f
        .store
        .set_flags_then_expunge(
            mb.id,
            vec![uids[0]],
            FlagOp::Add,
            deleted,
            None,
            ExpungeWhich::DeletedAmong(vec![uids[0]]),
        )
        .await
        .expect("delete");
    stored.expect("store");
    expunged.expect("expunge");
    f.store
        .expunge(mb.id, ExpungeWhich::Uids(vec![uids[1]]))
        .await
        .expect("expunge");
    let after = f.store.write_stats();
    assert_eq!(after.batches - before.batches, 2);
    assert_eq!(after.unsynced, before.unsynced, "no unsynced batch");
}

/// Opens the store in `dir` again once the last open's lock is gone (an
/// `Arc` of the store may outlive `drop` for a moment on a busy machine).
async fn reopen(dir: &std::path::Path) -> Store {
    for _ in 0..500 {
        match Store::open(dir, StoreOptions::default()) {
            Err(StoreError::Locked(_)) => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await
            }
            other => return other.expect("open"),
        }
    }
    panic!("still locked after 5 s");
}

/// A run that did not stop cleanly (its `server.running` mark still there,
/// as a kill or a power cut leaves it) moves every HIGHESTMODSEQ on at the
/// next start, so a MODSEQ shown for a flag change a power cut lost is
/// never given again; a clean stop takes the mark away and moves nothing.
#[tokio::test]
async fn modseqs_move_on_after_a_run_that_did_not_stop_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mark = dir.path().join(crate::running::RUNNING_MARK);
    let s = reopen(dir.path()).await;
    assert!(mark.exists(), "a running server is marked");
    s.domain_add("example.org").await.expect("domain");
    let u = add_user(&s, "ann@example.org").await;
    let mb = inbox(&s, u).await;
    let uids = append_n(&s, u, mb.id, "m", 1).await;
    let shown = s
        .set_flags(mb.id, vec![uids[0]], FlagOp::Add, seen(), None)
        .await
        .expect("store")
        .updated[0]
        .2;
    s.shutdown().await;
    drop(s);
    assert!(!mark.exists(), "a clean stop takes the mark away");

    // Clean stop: the next change takes the next MODSEQ.
    let s = reopen(dir.path()).await;
    assert_eq!(inbox(&s, u).await.highest_modseq, shown);
    let next = s
        .set_flags(mb.id, vec![uids[0]], FlagOp::Remove, seen(), None)
        .await
        .expect("store")
        .updated[0]
        .2;
    assert_eq!(next.0, shown.0 + 1);
    s.shutdown().await;
    drop(s);
    // What a killed server leaves: its mark.
    std::fs::write(&mark, b"").expect("mark");

    let s = reopen(dir.path()).await;
    let after = inbox(&s, u).await.highest_modseq;
    assert_eq!(after.0, next.0 + (1 << 20), "moved on by the gap");
    let later = s
        .set_flags(mb.id, vec![uids[0]], FlagOp::Add, seen(), None)
        .await
        .expect("store")
        .updated[0]
        .2;
    assert!(later.0 > next.0 + (1 << 20));
    s.shutdown().await;
}
