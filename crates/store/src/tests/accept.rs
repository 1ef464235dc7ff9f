//! `Store::accept` and `accept_all` (local copies, the queue entry and
//! Sieve's sends and memories in one commit), quota
//! grace for mail accepted at RCPT, and the grace period before a dead blob
//! is removed.

use super::*;

#[tokio::test]
async fn accept_delivers_locally_and_queues_the_rest_in_one_commit() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let before = f.store.write_stats();
    let out = crate::Outbound {
        reverse_path: "ann@example.org".into(),
        recipients: vec![crate::QueuedRecipient {
            address: "bob@example.net".into(),
            orcpt: Some("rfc822;bob@example.net".into()),
            notify: Some("FAILURE,DELAY".into()),
        }],
        ret: Some("HDRS".into()),
        user: Some(u),
        ..crate::Outbound::default()
    };
    let a = f
        .store
        .accept(msg("both"), vec![to(u)], Some(out), true)
        .await
        .expect("accept");
    assert!(a.local[0].is_ok());
    let id = a.queued.expect("queued");
    assert_eq!(
        f.store.write_stats().batches - before.batches,
        1,
        "one commit"
    );
    let q = f.store.queue_list().await.expect("queue");
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].id, id);
    assert_eq!(q[0].reverse_path, "ann@example.org");
    assert_eq!(q[0].ret.as_deref(), Some("HDRS"));
    assert_eq!(
        q[0].recipients,
        [crate::RecipientState {
            address: "bob@example.net".into(),
            orcpt: Some("rfc822;bob@example.net".into()),
            notify: Some("FAILURE,DELAY".into()),
            state: "pending".into(),
            attempts: 0,
            last_error: None,
            next_attempt: q[0].recipients[0].next_attempt,
            dsn_due: None,
            remote_mta: None,
            delay_warned: false,
        }]
    );
    assert_eq!(
        blob_rows(f.store.dir()).0,
        1,
        "the mailbox copy and the queue share one blob"
    );
    assert_eq!(
        f.store.read_blob(&q[0].blob).await.expect("queued bytes"),
        msg("both").raw
    );
}

#[tokio::test]
async fn quota_grace_lets_an_accepted_message_through_a_full_mailbox() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    f.store
        .user_set_quota("ann@example.org", None, Some(0))
        .await
        .expect("quota");
    let strict = f
        .store
        .accept(msg("a"), vec![to(u)], None, false)
        .await
        .expect("accept");
    assert!(matches!(strict.local[0], Err(StoreError::QuotaExceeded(_))));
    let grace = f
        .store
        .accept(msg("b"), vec![to(u)], None, true)
        .await
        .expect("accept");
    assert!(grace.local[0].is_ok());
}

#[tokio::test]
async fn an_expunged_message_stays_readable_for_the_grace_then_is_collected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(
        dir.path(),
        StoreOptions {
            inline_max: 0,
            blob_grace: std::time::Duration::from_millis(300),
            ..StoreOptions::default()
        },
    )
    .expect("open");
    s.domain_add("example.org").await.expect("domain");
    let u = add_user(&s, "ann@example.org").await;
    let mb = inbox(&s, u).await;
    let a = s
        .append(u, mb.id, msg("short-lived"))
        .await
        .expect("append");
    let blob = s.messages(mb.id).await.expect("list")[0].blob.clone();
    s.expunge(mb.id, ExpungeWhich::Uids(vec![a.uid]))
        .await
        .expect("expunge");
    assert_eq!(
        s.read_blob(&blob)
            .await
            .expect("still readable in the grace"),
        msg("short-lived").raw,
        "a session that listed it before the expunge can still read it"
    );
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    // Collection happens just after the first commit past the grace.
    s.append(u, mb.id, msg("another")).await.expect("append");
    assert_eq!(
        eventually_blob_files(dir.path(), 1).await,
        1,
        "collected after the grace"
    );
    assert!(matches!(
        s.read_blob(&blob).await,
        Err(StoreError::Io { .. })
    ));
}

#[tokio::test]
async fn accept_all_files_with_flags_creates_on_demand_and_queues_sieve_sends_with_marks() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let flagged = DeliveryTarget {
        mailbox: Some("Lists/Rust".into()),
        create: true,
        flags: Some(Flags::new(SystemFlags::FLAGGED, ["$Work".to_string()])),
        ..to(u)
    };
    // Without `create` a missing mailbox files to INBOX, as before.
    let missing = DeliveryTarget {
        mailbox: Some("Nowhere".into()),
        ..to(u)
    };
    let reply = crate::Outbound {
        reverse_path: String::new(),
        recipients: vec![crate::QueuedRecipient {
            address: "x@example.net".into(),
            orcpt: None,
            notify: None,
        }],
        ..crate::Outbound::default()
    };
    let mark = crate::SieveMark {
        user: u,
        memory: crate::SieveMemory::Vacation,
        key: "k".into(),
        expires_at: now_secs() + 60,
    };
    let before = f.store.write_stats();
    let a = f
        .store
        .accept_all(crate::Acceptance {
            variants: vec![(msg("filed"), vec![flagged, missing])],
            sends: vec![(msg("reply"), reply)],
            marks: vec![mark],
            ..crate::Acceptance::default()
        })
        .await
        .expect("accept");
    assert_eq!(
        f.store.write_stats().batches - before.batches,
        1,
        "one commit"
    );
    assert_eq!(a.sent.len(), 1);
    let lists = f
        .store
        .mailbox_get(u, "Lists/Rust")
        .await
        .expect("get")
        .expect("created with its parent");
    assert!(
        f.store
            .mailbox_get(u, "Lists")
            .await
            .expect("get")
            .is_some()
    );
    let m = f.store.messages(lists.id).await.expect("list");
    assert_eq!(m[0].flags.system, SystemFlags::FLAGGED);
    assert_eq!(m[0].flags.keywords, ["$Work"]);
    let inbox = f
        .store
        .mailbox_get(u, "INBOX")
        .await
        .expect("get")
        .expect("inbox");
    assert_eq!(f.store.messages(inbox.id).await.expect("list").len(), 1);
    assert!(
        f.store
            .mailbox_get(u, "Nowhere")
            .await
            .expect("get")
            .is_none()
    );
    let q = f.store.queue_list().await.expect("queue");
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].reverse_path, "");
    assert!(
        f.store
            .sieve_seen(u, crate::SieveMemory::Vacation, "k")
            .await
            .expect("seen")
    );
}

/// A server's WAL is checkpointed by a thread of its own, not inside the
/// commits that answer deliveries (`checkpoint.rs`): once the WAL passes
/// SQLite's 1,000 pages, a checkpoint runs and the pages reach the
/// database file, and every message stays readable.
#[tokio::test]
async fn the_wal_is_checkpointed_off_the_commit_path() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let body = "x".repeat(30_000);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (store, body) = (f.store.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            store
                .accept(msg(&format!("{i} {body}")), vec![to(u)], None, true)
                .await
                .expect("accept")
        }));
    }
    for t in tasks {
        assert!(t.await.expect("task").local[0].is_ok());
    }
    // The thread runs when woken: wait for it, boundedly.
    for _ in 0..300 {
        if f.store.write_stats().checkpoints > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(f.store.write_stats().checkpoints > 0, "no checkpoint ran");
    let db = std::fs::metadata(f._dir.path().join("postern.db"))
        .expect("db")
        .len();
    assert!(
        db > 4 << 20,
        "the pages did not reach the database: {db} bytes"
    );
    let mb = inbox(&f.store, u).await;
    assert_eq!(f.store.messages(mb.id).await.expect("list").len(), 200);
}
