//! Store tests against a real SQLite file and blob directory in a temp dir:
//! directory rows, default mailboxes, delivery, dedup and collection of
//! blobs, quota, flags and MODSEQ, expunge and QRESYNC history, the change
//! feed, locks, the startup sweep and group commit.

use std::collections::HashSet;

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
}

fn open(dir: &Path, mode: OpenMode) -> Result<Store> {
    Store::open(
        dir,
        StoreOptions {
            mode,
            ..StoreOptions::default()
        },
    )
}

async fn fixture() -> Fixture {
    fixture_with(StoreOptions::default().inline_max).await
}

/// A fresh store; `inline_max` 0 puts every message in a blob file.
async fn fixture_with(inline_max: u64) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(
        dir.path(),
        StoreOptions {
            inline_max,
            blob_grace: std::time::Duration::ZERO,
            ..StoreOptions::default()
        },
    )
    .expect("open");
    store.domain_add("example.org").await.expect("domain");
    Fixture { _dir: dir, store }
}

/// Rows in the blobs table, and how many of them keep their bytes inline.
fn blob_rows(dir: &Path) -> (i64, i64) {
    let c = Connection::open(dir.join("postern.db")).expect("db");
    c.query_row("SELECT COUNT(*), COUNT(data) FROM blobs", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .expect("count")
}

pub(crate) async fn add_user(s: &Store, address: &str) -> UserId {
    s.user_add(NewUser {
        address: address.into(),
        display_name: String::new(),
        password_hash: "$argon2id$placeholder".into(),
        quota_bytes: None,
        quota_messages: None,
    })
    .await
    .expect("user_add")
}

fn msg(body: &str) -> NewMessage {
    NewMessage {
        raw: format!("From: a@example.net\r\nSubject: {body}\r\n\r\n{body}\r\n").into_bytes(),
        internal_date: Some(1_700_000_000),
        flags: Flags::default(),
    }
}

fn to(user: UserId) -> DeliveryTarget {
    DeliveryTarget::inbox(user)
}

fn blob_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("blobs"))
        .expect("blobs dir")
        .flatten()
        .filter(|d| d.file_name().len() == 2)
        .map(|d| std::fs::read_dir(d.path()).expect("sub").count())
        .sum()
}

/// Dead blobs are unlinked just after the callers are woken, in their own
/// short transaction: wait (bounded) for the count to settle at `want`.
async fn eventually_blob_files(dir: &Path, want: usize) -> usize {
    for _ in 0..200 {
        let n = blob_files(dir);
        if n == want {
            return n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    blob_files(dir)
}

/// Appends `n` messages with subjects `{prefix}0`, `{prefix}1`, ...; their UIDs.
pub(crate) async fn append_n(
    s: &Store,
    u: UserId,
    mb: MailboxId,
    prefix: &str,
    n: usize,
) -> Vec<Uid> {
    let mut uids = Vec::with_capacity(n);
    for i in 0..n {
        let a = s
            .append(u, mb, msg(&format!("{prefix}{i}")))
            .await
            .expect("append");
        uids.push(a.uid);
    }
    uids
}

pub(crate) async fn inbox(s: &Store, u: UserId) -> Mailbox {
    s.mailbox_get(u, "INBOX")
        .await
        .expect("get")
        .expect("INBOX exists")
}

#[tokio::test]
async fn new_users_get_the_six_default_mailboxes_with_special_use() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let boxes = f.store.mailbox_list(u).await.expect("list");
    let mut got: Vec<(String, Option<SpecialUse>)> = boxes
        .iter()
        .map(|m| (m.name.clone(), m.special_use))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want: Vec<(String, Option<SpecialUse>)> = DEFAULT_MAILBOXES
        .iter()
        .map(|(n, s)| (n.to_string(), *s))
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want);
    assert!(boxes.iter().all(|m| m.subscribed));
    let validities: HashSet<_> = boxes.iter().map(|m| m.uidvalidity).collect();
    assert_eq!(validities.len(), 6, "every mailbox has its own UIDVALIDITY");
}

#[tokio::test]
async fn directory_refuses_unknown_domain_duplicates_and_busy_domains() {
    let f = fixture().await;
    let err = f
        .store
        .user_add(NewUser {
            address: "x@nowhere.test".into(),
            display_name: String::new(),
            password_hash: String::new(),
            quota_bytes: None,
            quota_messages: None,
        })
        .await
        .expect_err("unknown domain");
    assert!(
        matches!(err, StoreError::NotFound(ref m) if m.contains("nowhere.test")),
        "{err}"
    );
    add_user(&f.store, "ann@example.org").await;
    let dup = f
        .store
        .user_add(NewUser {
            address: "ann@example.org".into(),
            display_name: String::new(),
            password_hash: String::new(),
            quota_bytes: None,
            quota_messages: None,
        })
        .await
        .expect_err("duplicate");
    assert!(matches!(dup, StoreError::Exists(_)));
    assert!(matches!(
        f.store.domain_add("example.org").await,
        Err(StoreError::Exists(_))
    ));
    assert!(matches!(
        f.store.domain_delete("example.org").await,
        Err(StoreError::Invalid(ref m)) if m.contains("1 users")
    ));
    f.store
        .alias_add("info@example.org", "ann@example.org")
        .await
        .expect("alias");
    assert!(
        matches!(
            f.store.alias_add("ann@example.org", "x@example.net").await,
            Err(StoreError::Exists(_))
        ),
        "an alias cannot shadow a user"
    );
    assert_eq!(
        f.store
            .alias_targets_blocking("info@example.org")
            .expect("targets"),
        ["ann@example.org"]
    );
    assert_eq!(
        f.store
            .alias_sources_for_blocking("ann@example.org")
            .expect("sources"),
        ["info@example.org"]
    );
    f.store
        .user_delete("ann@example.org")
        .await
        .expect("delete user");
    assert!(
        f.store
            .alias_list(Some("example.org"))
            .await
            .expect("aliases")
            .is_empty()
    );
    f.store
        .domain_delete("example.org")
        .await
        .expect("now empty");
    assert!(f.store.domain_list().await.expect("list").is_empty());
}

#[tokio::test]
async fn one_message_to_five_users_is_one_blob_and_is_collected_when_all_are_gone() {
    for (inline_max, inline) in [(0, false), (1 << 16, true)] {
        let f = fixture_with(inline_max).await;
        let mut users = Vec::new();
        for i in 0..5 {
            users.push(add_user(&f.store, &format!("u{i}@example.org")).await);
        }
        let m = msg("shared");
        let raw = m.raw.clone();
        let res = f
            .store
            .deliver(m, users.iter().map(|u| to(*u)).collect())
            .await
            .expect("deliver");
        assert_eq!(res.len(), 5);
        assert!(
            res.iter()
                .all(|r| r.as_ref().is_ok_and(|d| d.uid.get() == 1))
        );
        let files = usize::from(!inline);
        assert_eq!(
            blob_rows(f.store.dir()),
            (1, i64::from(inline)),
            "stored once"
        );
        assert_eq!(blob_files(f.store.dir()), files, "inline={inline}");
        for u in &users {
            let mb = inbox(&f.store, *u).await;
            let list = f.store.messages(mb.id).await.expect("list");
            assert_eq!(list.len(), 1);
            assert_eq!(f.store.read_blob(&list[0].blob).await.expect("read"), raw);
            f.store
                .expunge(mb.id, ExpungeWhich::Uids(vec![list[0].uid]))
                .await
                .expect("expunge");
            let left = if *u == users[4] { 0 } else { files };
            assert_eq!(eventually_blob_files(f.store.dir(), left).await, left);
        }
        for _ in 0..200 {
            if blob_rows(f.store.dir()).0 == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(
            blob_rows(f.store.dir()),
            (0, 0),
            "collected, inline={inline}"
        );
    }
}

#[tokio::test]
async fn messages_above_the_inline_limit_are_files_and_below_are_rows() {
    let f = fixture_with(100).await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let small = msg("s");
    let big = msg(&"b".repeat(200));
    f.store
        .append(u, mb.id, small.clone())
        .await
        .expect("small");
    f.store.append(u, mb.id, big.clone()).await.expect("big");
    assert_eq!(blob_rows(f.store.dir()), (2, 1));
    assert_eq!(blob_files(f.store.dir()), 1);
    let list = f.store.messages(mb.id).await.expect("list");
    assert_eq!(
        f.store.read_blob(&list[0].blob).await.expect("small"),
        small.raw
    );
    assert_eq!(
        f.store.read_blob(&list[1].blob).await.expect("big"),
        big.raw
    );
}

#[tokio::test]
async fn uids_grow_and_are_never_reused_and_expunges_are_remembered() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    for i in 0..3 {
        let a = f
            .store
            .append(u, mb.id, msg(&format!("m{i}")))
            .await
            .expect("append");
        assert_eq!(a.uid.get(), i + 1);
        assert_eq!(a.uidvalidity, mb.uidvalidity);
    }
    let before = f
        .store
        .mailbox_by_id(mb.id)
        .await
        .expect("get")
        .expect("mb")
        .highest_modseq;
    let uid2 = Uid::new(2).expect("nonzero");
    let fl = f
        .store
        .set_flags(
            mb.id,
            vec![uid2],
            FlagOp::Add,
            Flags::new(SystemFlags::DELETED, []),
            None,
        )
        .await
        .expect("flags");
    assert_eq!(fl.updated.len(), 1);
    let ex = f
        .store
        .expunge(mb.id, ExpungeWhich::Deleted)
        .await
        .expect("expunge");
    assert_eq!(ex.uids, vec![uid2]);
    let a = f.store.append(u, mb.id, msg("m3")).await.expect("append");
    assert_eq!(a.uid.get(), 4, "UID 2 is not reused, nor is 3");
    let ch = f.store.changes_since(mb.id, before).await.expect("changes");
    assert_eq!(ch.vanished, vec![uid2]);
    assert_eq!(
        ch.changed.iter().map(|m| m.uid.get()).collect::<Vec<_>>(),
        [4]
    );
    assert_eq!(ch.highest_modseq, a.modseq);
    let st = f.store.mailbox_status(mb.id).await.expect("status");
    assert_eq!((st.messages, st.unseen, st.mailbox.uidnext), (3, 3, 5));
}

#[tokio::test]
async fn unchangedsince_reports_modified_messages_and_leaves_them_alone() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let a = f.store.append(u, mb.id, msg("x")).await.expect("append");
    let seen = Flags::new(SystemFlags::SEEN, []);
    f.store
        .set_flags(mb.id, vec![a.uid], FlagOp::Add, seen.clone(), None)
        .await
        .expect("first");
    let r = f
        .store
        .set_flags(
            mb.id,
            vec![a.uid],
            FlagOp::Add,
            Flags::new(SystemFlags::FLAGGED, []),
            Some(a.modseq),
        )
        .await
        .expect("conditional");
    assert_eq!(r.modified, vec![a.uid]);
    assert!(r.updated.is_empty());
    let again = f
        .store
        .set_flags(mb.id, vec![a.uid], FlagOp::Add, seen, None)
        .await
        .expect("no-op");
    assert!(
        again.updated.is_empty(),
        "setting a flag that is set changes nothing"
    );
}

#[tokio::test]
async fn quota_refuses_the_message_that_does_not_fit_and_frees_on_expunge() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let v = add_user(&f.store, "bob@example.org").await;
    f.store
        .user_set_quota("ann@example.org", None, Some(1))
        .await
        .expect("quota");
    let mb = inbox(&f.store, u).await;
    f.store
        .append(u, mb.id, msg("one"))
        .await
        .expect("first fits");
    let err = f
        .store
        .append(u, mb.id, msg("two"))
        .await
        .expect_err("over quota");
    assert!(matches!(err, StoreError::QuotaExceeded(_)), "{err}");
    let res = f
        .store
        .deliver(msg("three"), vec![to(u), to(v)])
        .await
        .expect("deliver");
    assert!(matches!(res[0], Err(StoreError::QuotaExceeded(_))));
    assert!(res[1].is_ok(), "the other recipient still gets it");
    let q = f.store.quota(u).await.expect("quota");
    assert_eq!(q.used_messages, 1);
    f.store
        .expunge(mb.id, ExpungeWhich::Uids(vec![Uid::new(1).expect("1")]))
        .await
        .expect("expunge");
    assert_eq!(f.store.quota(u).await.expect("quota").used_bytes, 0);
    f.store
        .append(u, mb.id, msg("four"))
        .await
        .expect("fits again");
}

#[tokio::test]
async fn subscribers_see_new_flags_and_expunge_after_commit() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let mut sub = f.store.subscribe(mb.id);
    let a = f.store.append(u, mb.id, msg("x")).await.expect("append");
    let next = |s: &mut Subscription| match s.try_recv() {
        Some(FeedEvent::Change(c)) => c.kind.clone(),
        other => panic!("expected a change, got {other:?}"),
    };
    assert_eq!(
        next(&mut sub),
        ChangeKind::New {
            uids: vec![a.uid],
            flags: vec![Flags::default()],
        }
    );
    f.store
        .set_flags(
            mb.id,
            vec![a.uid],
            FlagOp::Add,
            Flags::new(SystemFlags::SEEN, []),
            None,
        )
        .await
        .expect("flags");
    assert!(matches!(next(&mut sub), ChangeKind::Flags { uid, .. } if uid == a.uid));
    f.store
        .expunge(mb.id, ExpungeWhich::Uids(vec![a.uid]))
        .await
        .expect("expunge");
    assert_eq!(next(&mut sub), ChangeKind::Expunged { uids: vec![a.uid] });
    assert_eq!(sub.try_recv(), None);
}

#[tokio::test]
async fn renaming_inbox_moves_its_messages_and_leaves_an_empty_inbox() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let old = inbox(&f.store, u).await;
    f.store.append(u, old.id, msg("x")).await.expect("append");
    f.store
        .mailbox_create(u, "INBOX/keep", None)
        .await
        .expect("child");
    let moved = f
        .store
        .mailbox_rename(u, "inbox", "Old mail")
        .await
        .expect("rename");
    assert_eq!(f.store.messages(moved.id).await.expect("list").len(), 1);
    let new_inbox = inbox(&f.store, u).await;
    assert!(
        f.store
            .messages(new_inbox.id)
            .await
            .expect("list")
            .is_empty()
    );
    assert_ne!(new_inbox.uidvalidity, old.uidvalidity);
    assert!(
        f.store
            .mailbox_get(u, "INBOX/keep")
            .await
            .expect("get")
            .is_some()
    );
}

#[tokio::test]
async fn renaming_a_parent_renames_its_children_and_delete_recreate_changes_uidvalidity() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    f.store
        .mailbox_create(u, "a/b", None)
        .await
        .expect("a/b creates a too");
    assert!(f.store.mailbox_get(u, "a").await.expect("get").is_some());
    assert!(matches!(
        f.store.mailbox_rename(u, "a", "a/b/c").await,
        Err(StoreError::Exists(_) | StoreError::Invalid(_))
    ));
    f.store.mailbox_rename(u, "a", "z").await.expect("rename");
    assert!(f.store.mailbox_get(u, "z/b").await.expect("get").is_some());
    let first = f.store.mailbox_get(u, "z").await.expect("get").expect("z");
    f.store.mailbox_delete(u, "z").await.expect("delete");
    let again = f
        .store
        .mailbox_create(u, "z", None)
        .await
        .expect("recreate");
    assert!(again.uidvalidity > first.uidvalidity);
    assert!(matches!(
        f.store.mailbox_delete(u, "INBOX").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        f.store.mailbox_delete(u, "nope").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        f.store.mailbox_create(u, "a//b", None).await,
        Err(StoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn a_second_server_cannot_open_the_directory_but_the_admin_cli_can() {
    let f = fixture().await;
    let err = open(f.store.dir(), OpenMode::Server)
        .err()
        .expect("second server refused");
    assert!(matches!(err, StoreError::Locked(_)), "{err}");
    let admin = open(f.store.dir(), OpenMode::Admin).expect("admin opens beside the server");
    admin.domain_add("example.net").await.expect("admin writes");
    let names: Vec<String> = f
        .store
        .domain_list()
        .await
        .expect("list")
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(
        names,
        ["example.net", "example.org"],
        "the server reads what the admin wrote"
    );
}

#[tokio::test]
async fn the_sweep_removes_orphan_files_temp_files_and_dead_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let s = Store::open(
            dir.path(),
            StoreOptions {
                inline_max: 0,
                ..StoreOptions::default()
            },
        )
        .expect("open");
        s.domain_add("example.org").await.expect("domain");
        let u = add_user(&s, "ann@example.org").await;
        s.deliver(msg("kept"), vec![to(u)]).await.expect("deliver");
        s.shutdown().await;
    }
    // What a crash leaves: a blob written but never committed, a temp file,
    // and a row whose count reached zero before its file was removed.
    let blobs = BlobDir::open(dir.path().join("blobs")).expect("blobs");
    let orphan = BlobId::of(b"orphan");
    blobs.write(&orphan, b"orphan").expect("write");
    std::fs::write(dir.path().join("blobs/tmp/partial.1.1"), b"half").expect("tmp");
    let c = Connection::open(dir.path().join("postern.db")).expect("db");
    c.execute(
        "INSERT INTO blobs (hash, size, refcount) VALUES (?1, 1, 0)",
        [BlobId::of(b"dead").as_str()],
    )
    .expect("dead row");
    drop(c);
    let s = open(dir.path(), OpenMode::Server).expect("reopen");
    assert_eq!(
        blob_files(dir.path()),
        1,
        "only the delivered message is left"
    );
    assert!(!blobs.exists(&orphan));
    assert_eq!(
        std::fs::read_dir(dir.path().join("blobs/tmp"))
            .expect("tmp")
            .count(),
        0
    );
    s.integrity_check().await.expect("integrity");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_share_commits() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let before = f.store.write_stats();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let s = f.store.clone();
        tasks.push(tokio::spawn(async move {
            s.deliver(msg(&format!("c{i}")), vec![to(u)]).await
        }));
    }
    for t in tasks {
        let r = t.await.expect("join").expect("deliver");
        assert!(r[0].is_ok());
    }
    let after = f.store.write_stats();
    let (batches, writes) = (after.batches - before.batches, after.writes - before.writes);
    assert_eq!(writes, 64);
    assert!(
        batches < writes,
        "64 concurrent deliveries took {batches} commits: no grouping"
    );
    let list = f
        .store
        .messages(inbox(&f.store, u).await.id)
        .await
        .expect("list");
    let uids: Vec<u32> = list.iter().map(|m| m.uid.get()).collect();
    assert_eq!(uids, (1..=64).collect::<Vec<_>>());
}

#[tokio::test]
async fn cached_meta_survives_the_round_trip_through_sqlite() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let a = f
        .store
        .append(u, mb.id, msg("hello"))
        .await
        .expect("append");
    let meta = f
        .store
        .message_meta(mb.id, a.uid)
        .await
        .expect("meta")
        .expect("present");
    assert_eq!(meta.envelope.subject.as_deref(), Some("hello"));
    assert_eq!(meta.envelope.from[0].host.as_deref(), Some("example.net"));
    assert_eq!(meta.body.media_type, "text");
}

#[tokio::test]
async fn oversized_messages_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(
        dir.path(),
        StoreOptions {
            max_message_size: 10,
            ..StoreOptions::default()
        },
    )
    .expect("open");
    s.domain_add("example.org").await.expect("domain");
    let u = add_user(&s, "ann@example.org").await;
    let err = s
        .deliver(msg("too big for ten bytes"), vec![to(u)])
        .await
        .expect_err("too large");
    assert!(matches!(err, StoreError::TooLarge { .. }));
    assert_eq!(blob_files(dir.path()), 0);
}

#[tokio::test]
async fn a_reference_to_a_blob_whose_file_is_gone_is_refused_and_redelivery_rewrites_it() {
    let f = fixture_with(0).await;
    let u = add_user(&f.store, "ann@example.org").await;
    let ghost = BlobId::of(b"never written");
    let r = f
        .store
        .inner
        .writer
        .write(move |ctx| ctx.add_blob_ref(&ghost, 13, None))
        .await;
    assert!(matches!(r, Err(StoreError::BlobMissing)), "{r:?}");
    // The same content delivered, collected, and delivered again.
    let mb = inbox(&f.store, u).await;
    let first = f
        .store
        .append(u, mb.id, msg("again"))
        .await
        .expect("append");
    f.store
        .expunge(mb.id, ExpungeWhich::Uids(vec![first.uid]))
        .await
        .expect("expunge");
    assert_eq!(eventually_blob_files(f.store.dir(), 0).await, 0);
    let second = f
        .store
        .append(u, mb.id, msg("again"))
        .await
        .expect("append again");
    let list = f.store.messages(mb.id).await.expect("list");
    assert_eq!(list.iter().map(|m| m.uid).collect::<Vec<_>>(), [second.uid]);
    assert_eq!(
        f.store
            .read_blob(&list[0].blob)
            .await
            .expect("file is back"),
        msg("again").raw
    );
}

/// `accept` (SMTP's store call), quota grace, and the blob grace period.
mod accept;
/// Backup, restore, verify and upgrades (`backup.rs`, `verify.rs`, `upgrade.rs`).
mod backup;
/// COPY and MOVE (`copy.rs`), in their own file to keep this one short.
mod copy_move;
/// A pipelined delete's STORE and EXPUNGE in one write.
mod delete;
/// Moving in: import marks, kept UIDs and UIDVALIDITY, POP3 UIDLs (`import.rs`).
mod import;
/// The per-user list feed (NOTIFY's MailboxName, SubscriptionChange).
mod list_feed;
/// The cached meta read back, damaged rows re-derived (`meta_cache.rs`).
mod meta_cache;
/// POP3's QUIT: seen, retrieval times, DELE and EXPIRE (`pop3.rs`).
mod pop3;
/// The outbound queue's state changes (`queue.rs`).
mod queue;
/// A user's own spam settings and sender rules (`spam_prefs.rs`).
mod spam_prefs;
/// The stored ENVELOPE and BODYSTRUCTURE and the FETCH scan (`structure.rs`).
mod structure;
/// The spam training journal, models and reputation (`training.rs`).
mod training;
/// Batches of flag changes alone commit without an fsync; others with one.
mod unsynced;

/// A mailbox listing (SELECT, FETCH, SEARCH start from it) is read from
/// the covering index alone, never from the rows with their cached meta.
#[tokio::test]
async fn a_mailbox_listing_reads_only_the_covering_index() {
    let f = fixture().await;
    let dir = f.store.dir().to_path_buf();
    let c = Connection::open(dir.join("postern.db")).expect("db");
    let plan: Vec<String> = c
        .prepare(&format!(
            "EXPLAIN QUERY PLAN SELECT {} FROM messages WHERE mailbox_id = ?1 ORDER BY uid",
            crate::messages::MSG_COLS
        ))
        .expect("prepare")
        .query_map([1], |r| r.get::<_, String>(3))
        .expect("plan")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    assert!(
        plan.iter()
            .any(|p| p.contains("COVERING INDEX messages_listing")),
        "{plan:?}"
    );
}

/// A read connection plans each statement once: reading message after
/// message through the messages-blobs join never prepares it again.
#[tokio::test]
async fn read_connections_do_not_prepare_statements_again_for_new_values() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let uids = append_n(&f.store, u, mb.id, "m", 3).await;
    let c = open_reader(&f.store.dir().join("postern.db"), "").expect("reader");
    let mut st = c
        .prepare(
            "SELECT m.blob, b.data FROM messages m JOIN blobs b ON b.hash = m.blob
             WHERE m.mailbox_id = ?1 AND m.uid = ?2",
        )
        .expect("prepare");
    for uid in uids.iter().chain(uids.iter().rev()) {
        let blob: String = st
            .query_row((mb.id.0, uid.get()), |r| r.get(0))
            .expect("row");
        assert!(!blob.is_empty());
    }
    assert_eq!(st.get_status(rusqlite::StatementStatus::RePrepare), 0);
}
