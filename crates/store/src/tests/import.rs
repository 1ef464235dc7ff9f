//! Moving in: a batch and its import mark in one commit, Dovecot's UIDs
//! and UIDVALIDITY kept only where they cannot clash, POP3 UIDLs carried.

use super::*;

fn kept(uid: u32, body: &str, uidl: Option<&str>) -> KeptUid {
    KeptUid {
        uid: Uid::new(uid).expect("uid"),
        msg: msg(body),
        pop3_uidl: uidl.map(String::from),
    }
}

#[tokio::test]
async fn a_batch_and_its_mark_are_stored_together() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let src = "imaps://old@host:993";
    assert_eq!(
        f.store.import_mark(u, src, "INBOX").await.expect("mark"),
        None
    );
    let mark = ImportMark {
        uidvalidity: 7,
        last_uid: 40,
    };
    let got = f
        .store
        .import_batch(u, mb.id, vec![msg("a"), msg("b")], src, "INBOX", mark)
        .await
        .expect("batch");
    assert_eq!(got.len(), 2);
    assert_eq!(
        f.store.import_mark(u, src, "INBOX").await.expect("mark"),
        Some(mark)
    );
    // Another source or folder has its own mark.
    assert_eq!(
        f.store.import_mark(u, src, "Sent").await.expect("mark"),
        None
    );
    let keys = f.store.imported_keys(mb.id).await.expect("keys");
    assert_eq!(keys.len(), 2);
    assert_eq!(
        ImportedKey::new(" <x@y> (comment)", 5, 9),
        ImportedKey::new("<x@y>", 5, 9)
    );
}

#[tokio::test]
async fn kept_uids_take_the_uidvalidity_and_uidnext_of_the_old_server() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let v = UidValidity(1_500_000_000);
    f.store
        .append_kept_uids(
            u,
            mb.id,
            v,
            None,
            true,
            vec![kept(42, "b", Some("old-42")), kept(10, "a", None)],
        )
        .await
        .expect("first batch");
    f.store
        .append_kept_uids(u, mb.id, v, Some(60), false, vec![kept(50, "c", None)])
        .await
        .expect("second batch");
    let after = inbox(&f.store, u).await;
    assert_eq!((after.uidvalidity, after.uidnext), (v, 60));
    let uids: Vec<u32> = f
        .store
        .messages(mb.id)
        .await
        .expect("list")
        .iter()
        .map(|m| m.uid.get())
        .collect();
    assert_eq!(uids, [10, 42, 50]);
    let uidls = f.store.pop3_uidls(mb.id).await.expect("uidls");
    assert_eq!(uidls.len(), 1);
    assert_eq!(uidls[&Uid::new(42).expect("uid")], "old-42");
    // A UID at or below one already stored is refused, nothing stored.
    let low = f
        .store
        .append_kept_uids(u, mb.id, v, None, false, vec![kept(55, "d", None)])
        .await;
    assert!(matches!(low, Err(StoreError::Exists(_))), "{low:?}");
    // New mail after the import gets UIDs from the old server's UIDNEXT on.
    let a = f.store.append(u, mb.id, msg("new")).await.expect("append");
    assert_eq!(a.uid.get(), 60);
}

#[tokio::test]
async fn kept_uids_are_refused_into_a_mailbox_with_mail_or_a_taken_uidvalidity() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    append_n(&f.store, u, mb.id, "m", 1).await;
    let full = f
        .store
        .append_kept_uids(
            u,
            mb.id,
            UidValidity(9),
            None,
            true,
            vec![kept(1, "a", None)],
        )
        .await;
    assert!(matches!(full, Err(StoreError::Exists(_))), "{full:?}");
    // Sent is empty, but INBOX already has that UIDVALIDITY.
    let sent = f
        .store
        .mailbox_get(u, "Sent")
        .await
        .expect("get")
        .expect("Sent");
    let taken = f
        .store
        .append_kept_uids(
            u,
            sent.id,
            mb.uidvalidity,
            None,
            true,
            vec![kept(1, "a", None)],
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Exists(_))), "{taken:?}");
    assert_eq!(f.store.messages(sent.id).await.expect("list").len(), 0);
    // Expunging a message drops its imported UIDL with it.
    let got = f
        .store
        .append_with_uidls(u, sent.id, vec![(msg("x"), Some("old-x".into()))])
        .await
        .expect("append");
    f.store
        .expunge(sent.id, ExpungeWhich::Uids(vec![got[0].uid]))
        .await
        .expect("expunge");
    assert!(f.store.pop3_uidls(sent.id).await.expect("uidls").is_empty());
}

/// The database's journal mode as a new connection finds it.
fn journal_mode(dir: &std::path::Path) -> String {
    let c = Connection::open(dir.join("postern.db")).expect("db");
    c.query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode")
}

/// A store in `dir` with ann@example.org, made and closed by the admin
/// CLI's kind of open, as before an import: her id and INBOX.
async fn ann_with_an_inbox(dir: &std::path::Path) -> (UserId, Mailbox) {
    let s = open(dir, OpenMode::Admin).expect("open");
    s.domain_add("example.org").await.expect("domain");
    let u = add_user(&s, "ann@example.org").await;
    let mb = inbox(&s, u).await;
    s.shutdown().await;
    (u, mb)
}

#[tokio::test]
async fn a_bulk_import_is_stored_at_its_commit_whole_or_not_at_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (u, mb) = ann_with_an_inbox(dir.path()).await;
    let two = || vec![(msg("a"), None), (msg("b"), Some("old-1".to_string()))];
    // Stopped before its commit: nothing of it is stored.
    {
        let s = open(dir.path(), OpenMode::Bulk).expect("bulk open");
        assert!(
            s.imports_held(),
            "no other connection: the journal switched"
        );
        // Out of the WAL (a rollback journal's kind is per connection).
        assert_eq!(journal_mode(dir.path()), "delete");
        s.append_with_uidls(u, mb.id, two()).await.expect("held");
        s.append_with_uidls(u, mb.id, two()).await.expect("held");
        s.shutdown().await;
    }
    assert_eq!(journal_mode(dir.path()), "wal", "the WAL is back");
    let s = Store::open(
        dir.path(),
        StoreOptions {
            mode: OpenMode::Bulk,
            fts: false,
            ..StoreOptions::default()
        },
    )
    .expect("bulk open");
    assert!(s.messages(mb.id).await.expect("list").is_empty());
    // Committed: all of it, with the UIDLs, and nothing left for a
    // full-text indexer that is off.
    s.append_with_uidls(u, mb.id, two()).await.expect("held");
    s.append_with_uidls(u, mb.id, two()).await.expect("held");
    assert!(
        s.messages(mb.id).await.expect("list").is_empty(),
        "not visible before the commit"
    );
    s.import_commit().await.expect("commit");
    let uids: Vec<u32> = s
        .messages(mb.id)
        .await
        .expect("list")
        .iter()
        .map(|m| m.uid.get())
        .collect();
    assert_eq!(uids, [1, 2, 3, 4]);
    assert_eq!(s.pop3_uidls(mb.id).await.expect("uidls").len(), 2);
    // A server cannot start during a bulk import.
    assert!(matches!(
        open(dir.path(), OpenMode::Server),
        Err(StoreError::Locked(_))
    ));
    s.shutdown().await;
    drop(s);
    let c = Connection::open(dir.path().join("postern.db")).expect("db");
    let queued: i64 = c
        .query_row("SELECT COUNT(*) FROM fts_queue", [], |r| r.get(0))
        .expect("count");
    assert_eq!(queued, 0);
}

#[tokio::test]
async fn a_bulk_open_beside_a_server_is_refused_and_one_beside_the_cli_keeps_the_wal() {
    let f = fixture().await;
    assert!(matches!(
        open(f.store.dir(), OpenMode::Bulk),
        Err(StoreError::Locked(_))
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let admin = open(dir.path(), OpenMode::Admin).expect("admin");
    admin.domain_add("example.org").await.expect("domain");
    let bulk = open(dir.path(), OpenMode::Bulk).expect("bulk beside the CLI");
    assert!(!bulk.imports_held(), "another connection: batches commit");
    assert_eq!(journal_mode(dir.path()), "wal");
}

/// Jobs whose statement journal outgrows what SQLite keeps in memory
/// (`writer::STATEMENT_JOURNAL_SPILL`, a process-wide setting made at the
/// first open: in this test process only if no other test's connection
/// came first; the e2e tests' servers and imports always have it) spill
/// to a file and commit. At a 1 MiB threshold the first spilled write was
/// cut to nothing by SQLite's unix VFS and the 12th batch here failed with
/// SQLITE_FULL, in a bulk import and in a server alike.
#[tokio::test]
async fn jobs_past_the_statement_journal_spill_commit() {
    for mode in [OpenMode::Bulk, OpenMode::Server] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (u, mb) = ann_with_an_inbox(dir.path()).await;
        let s = open(dir.path(), mode).expect("open");
        for b in 0..20 {
            let batch: Vec<_> = (0..50)
                .map(|i| (msg(&format!("message {b} {i} {}", "x".repeat(3000))), None))
                .collect();
            s.append_with_uidls(u, mb.id, batch)
                .await
                .unwrap_or_else(|e| panic!("{mode:?} batch {b}: {e}"));
        }
        if s.imports_held() {
            s.import_commit().await.expect("commit");
        }
        let uids: Vec<Uid> = s
            .messages(mb.id)
            .await
            .expect("list")
            .iter()
            .map(|m| m.uid)
            .collect();
        assert_eq!(uids.len(), 1000, "{mode:?}");
        // One job that changes hundreds of pages.
        s.expunge(mb.id, ExpungeWhich::Uids(uids[..600].to_vec()))
            .await
            .unwrap_or_else(|e| panic!("{mode:?} expunge: {e}"));
        assert_eq!(
            s.messages(mb.id).await.expect("list").len(),
            400,
            "{mode:?}"
        );
        s.shutdown().await;
    }
}
