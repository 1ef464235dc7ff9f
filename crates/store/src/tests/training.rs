//! The spam training journal (`training.rs`): which COPY, MOVE and STORE
//! write rows and which do not, the blob references the rows hold, the
//! models' compare-and-swap, the sender reputation and a user's deletion.

use super::*;

/// Ann with one message in INBOX; her INBOX, Junk and Trash.
struct Ann {
    f: Fixture,
    user: UserId,
    inbox: Mailbox,
    junk: Mailbox,
    trash: Mailbox,
    uid: Uid,
    blob: BlobId,
}

async fn ann() -> Ann {
    let f = fixture().await;
    let user = add_user(&f.store, "ann@example.org").await;
    let get = async |name: &str| {
        f.store
            .mailbox_get(user, name)
            .await
            .expect("get")
            .expect(name)
    };
    let (inbox, junk, trash) = (get("INBOX").await, get("Junk").await, get("Trash").await);
    let uid = append_n(&f.store, user, inbox.id, "cheap pills ", 1).await[0];
    let blob = f.store.messages(inbox.id).await.expect("list")[0]
        .blob
        .clone();
    Ann {
        f,
        user,
        inbox,
        junk,
        trash,
        uid,
        blob,
    }
}

/// The journal as (class, undo) pairs, oldest first.
async fn journal(s: &Store) -> Vec<(TrainClass, bool)> {
    s.training_journal(100)
        .await
        .expect("journal")
        .into_iter()
        .map(|e| (e.class, e.undo))
        .collect()
}

fn refcount(dir: &Path, blob: &BlobId) -> i64 {
    let c = Connection::open(dir.join("postern.db")).expect("db");
    c.query_row(
        "SELECT refcount FROM blobs WHERE hash = ?1",
        [blob.as_str()],
        |r| r.get(0),
    )
    .expect("blob row")
}

async fn move_one(a: &Ann, from: &Mailbox, uid: Uid, to: &Mailbox) -> Uid {
    let (c, _) =
        a.f.store
            .move_messages(a.user, from.id, vec![uid], to.id)
            .await
            .expect("move");
    c.pairs[0].1
}

#[tokio::test]
async fn move_into_junk_journals_spam_and_keeps_the_blob_after_expunge() {
    let a = ann().await;
    let in_junk = move_one(&a, &a.inbox, a.uid, &a.junk).await;
    let entries = a.f.store.training_journal(10).await.expect("journal");
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (
            entries[0].user,
            &entries[0].blob,
            entries[0].class,
            entries[0].undo
        ),
        (a.user, &a.blob, TrainClass::Spam, false)
    );
    a.f.store
        .expunge(a.junk.id, ExpungeWhich::Uids(vec![in_junk]))
        .await
        .expect("expunge");
    assert_eq!(
        a.f.store.read_blob(&a.blob).await.expect("bytes kept"),
        msg("cheap pills 0").raw,
        "the journal row holds the message for the trainer"
    );
}

#[tokio::test]
async fn move_out_of_junk_to_inbox_journals_ham_but_to_trash_nothing() {
    let a = ann().await;
    let in_junk = move_one(&a, &a.inbox, a.uid, &a.junk).await;
    let back = move_one(&a, &a.junk, in_junk, &a.inbox).await;
    assert_eq!(
        journal(&a.f.store).await,
        [(TrainClass::Spam, false), (TrainClass::Ham, false)]
    );
    let in_junk = move_one(&a, &a.inbox, back, &a.junk).await;
    move_one(&a, &a.junk, in_junk, &a.trash).await;
    assert_eq!(
        journal(&a.f.store).await.len(),
        3,
        "spam again, then no ham for Trash"
    );
}

#[tokio::test]
async fn copy_into_junk_journals_spam_and_moves_elsewhere_journal_nothing() {
    let a = ann().await;
    let archive =
        a.f.store
            .mailbox_get(a.user, "Archive")
            .await
            .expect("get")
            .expect("Archive");
    let in_archive = move_one(&a, &a.inbox, a.uid, &archive).await;
    move_one(&a, &archive, in_archive, &a.trash).await;
    assert_eq!(journal(&a.f.store).await, []);
    let b = append_n(&a.f.store, a.user, a.inbox.id, "other ", 1).await[0];
    a.f.store
        .copy_messages(a.user, a.inbox.id, vec![b], a.junk.id)
        .await
        .expect("copy");
    assert_eq!(journal(&a.f.store).await, [(TrainClass::Spam, false)]);
}

#[tokio::test]
async fn append_and_delivery_into_junk_journal_nothing() {
    let a = ann().await;
    append_n(&a.f.store, a.user, a.junk.id, "synced ", 2).await;
    a.f.store
        .deliver(
            msg("filed by the filter"),
            vec![DeliveryTarget::junk(a.user)],
        )
        .await
        .expect("deliver");
    assert_eq!(journal(&a.f.store).await, []);
}

#[tokio::test]
async fn junk_keywords_set_and_removed_journal_train_and_undo() {
    let a = ann().await;
    let kw = |k: &str| Flags::new(SystemFlags::empty(), [k.to_string()]);
    let store = |op, k: &str| {
        a.f.store
            .set_flags(a.inbox.id, vec![a.uid], op, kw(k), None)
    };
    store(FlagOp::Add, "$Junk").await.expect("store");
    store(FlagOp::Add, "$Junk").await.expect("again: no change");
    store(FlagOp::Remove, "$Junk").await.expect("store");
    store(FlagOp::Add, "$NotJunk").await.expect("store");
    store(FlagOp::Add, "\\Seen").await.expect("store");
    store(FlagOp::Replace, "NonJunk").await.expect("store");
    assert_eq!(
        journal(&a.f.store).await,
        [
            (TrainClass::Spam, false),
            (TrainClass::Spam, true),
            (TrainClass::Ham, false),
        ],
        "replacing $NotJunk by NonJunk keeps a ham keyword: nothing"
    );
}

#[tokio::test]
async fn a_training_commit_drops_the_journal_and_its_blob_references() {
    let a = ann().await;
    move_one(&a, &a.inbox, a.uid, &a.junk).await;
    assert_eq!(refcount(a.f.store.dir(), &a.blob), 2);
    let entries = a.f.store.training_journal(10).await.expect("journal");
    let owner = ModelOwner::User(a.user);
    let ok =
        a.f.store
            .training_commit(TrainingCommit {
                models: vec![ModelWrite {
                    owner,
                    expected: None,
                    bytes: b"model one".to_vec(),
                }],
                trained: vec![(a.user, a.blob.clone(), Some(TrainClass::Spam))],
                senders: vec![SenderDelta {
                    user: a.user,
                    address: "a@example.net".into(),
                    ham: 0,
                    spam: 1,
                }],
                done: entries.iter().map(|e| e.id).collect(),
                max_senders: 10,
            })
            .await
            .expect("commit");
    assert!(ok);
    assert_eq!(journal(&a.f.store).await, []);
    assert_eq!(refcount(a.f.store.dir(), &a.blob), 1);
    assert_eq!(
        a.f.store
            .trained_as(vec![(a.user, a.blob.clone())])
            .await
            .expect("state"),
        [Some(TrainClass::Spam)]
    );
    assert_eq!(
        a.f.store
            .sender_record(a.user, "A@Example.NET")
            .await
            .expect("rep"),
        Some(SenderRecord {
            sent: 0,
            ham: 0,
            spam: 1
        })
    );
    let stats = a.f.store.training_stats(a.user).await.expect("stats");
    assert_eq!(
        (stats.pending, stats.trained_spam, stats.senders),
        (0, 1, 1)
    );
}

#[tokio::test]
async fn a_stale_model_version_writes_nothing() {
    let a = ann().await;
    let owner = ModelOwner::User(a.user);
    let write = |expected, bytes: &[u8]| TrainingCommit {
        models: vec![ModelWrite {
            owner,
            expected,
            bytes: bytes.to_vec(),
        }],
        trained: vec![(a.user, a.blob.clone(), Some(TrainClass::Ham))],
        max_senders: 10,
        ..TrainingCommit::default()
    };
    assert!(
        a.f.store
            .training_commit(write(None, b"v1"))
            .await
            .expect("first")
    );
    let v1 = match &a
        .f
        .store
        .spam_models(vec![(owner, None)])
        .await
        .expect("read")[0]
    {
        ModelRead::Found(m) => m.version,
        other => panic!("expected a model, got {other:?}"),
    };
    assert_eq!(
        a.f.store
            .spam_models(vec![(owner, Some(v1)), (ModelOwner::Global, None)])
            .await
            .expect("read"),
        [ModelRead::Unchanged, ModelRead::Missing]
    );
    assert!(
        a.f.store
            .training_commit(write(Some(v1), b"v2"))
            .await
            .expect("second")
    );
    let mut stale = write(Some(v1), b"lost");
    stale.trained = vec![(a.user, a.blob.clone(), None)];
    assert!(!a.f.store.training_commit(stale).await.expect("conflict"));
    match &a
        .f
        .store
        .spam_models(vec![(owner, Some(v1))])
        .await
        .expect("read")[0]
    {
        ModelRead::Found(m) => assert_eq!((m.bytes.as_slice(), m.version > v1), (&b"v2"[..], true)),
        other => panic!("expected the second model, got {other:?}"),
    }
    assert_eq!(
        a.f.store
            .trained_as(vec![(a.user, a.blob.clone())])
            .await
            .expect("state"),
        [Some(TrainClass::Ham)],
        "the conflicting commit's rows were not written"
    );
}

#[tokio::test]
async fn sent_mail_counts_per_address_and_the_oldest_senders_go_past_the_cap() {
    let a = ann().await;
    let s = &a.f.store;
    s.record_sent(a.user, vec!["Bob@Example.NET".into()], 2)
        .await
        .expect("sent");
    s.record_sent(a.user, vec!["bob@example.net".into()], 2)
        .await
        .expect("sent");
    assert_eq!(
        s.sender_record(a.user, "bob@example.net")
            .await
            .expect("rep")
            .map(|r| r.sent),
        Some(2)
    );
    s.record_sent(
        a.user,
        vec!["c@example.net".into(), "d@example.net".into()],
        2,
    )
    .await
    .expect("sent");
    assert_eq!(s.training_stats(a.user).await.expect("stats").senders, 2);
}

#[tokio::test]
async fn deleting_a_user_releases_the_journal_blobs() {
    let a = ann().await;
    move_one(&a, &a.inbox, a.uid, &a.junk).await;
    a.f.store
        .record_sent(a.user, vec!["b@example.net".into()], 10)
        .await
        .expect("sent");
    a.f.store
        .user_delete("ann@example.org")
        .await
        .expect("delete");
    assert_eq!(journal(&a.f.store).await, []);
    let c = Connection::open(a.f.store.dir().join("postern.db")).expect("db");
    let live: i64 = c
        .query_row("SELECT COUNT(*) FROM blobs WHERE refcount > 0", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert_eq!(live, 0);
}

#[tokio::test]
async fn a_journaling_commit_wakes_the_trainer() {
    let a = ann().await;
    move_one(&a, &a.inbox, a.uid, &a.junk).await;
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        a.f.store.training_notified(),
    )
    .await
    .expect("woken");
}
