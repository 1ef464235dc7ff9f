//! COPY and MOVE tests: shared blobs, COPYUID pairs, quota all or nothing,
//! ownership, one commit per MOVE, the feed on both mailboxes, collection.

use super::*;

fn uid(n: u32) -> Uid {
    Uid::new(n).expect("nonzero")
}

fn uids(ns: &[u32]) -> Vec<Uid> {
    ns.iter().map(|n| uid(*n)).collect()
}

async fn mailbox(s: &Store, u: UserId, name: &str) -> Mailbox {
    s.mailbox_get(u, name).await.expect("get").expect(name)
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

fn next_change(s: &mut Subscription) -> MailboxChange {
    match s.try_recv() {
        Some(FeedEvent::Change(c)) => (*c).clone(),
        other => panic!("expected a change, got {other:?}"),
    }
}

#[tokio::test]
async fn copy_keeps_bytes_flags_and_date_and_shares_the_blob() {
    for (inline_max, inline) in [(0, false), (1 << 16, true)] {
        let f = fixture_with(inline_max).await;
        let u = add_user(&f.store, "ann@example.org").await;
        let (src, dst) = (
            inbox(&f.store, u).await,
            mailbox(&f.store, u, "Archive").await,
        );
        let mut m = msg("kept");
        m.flags = Flags::new(
            SystemFlags::SEEN.union(SystemFlags::DELETED),
            ["$Important".to_string()],
        );
        let a = f.store.append(u, src.id, m.clone()).await.expect("append");
        let c = f
            .store
            .copy_messages(u, src.id, vec![a.uid], dst.id)
            .await
            .expect("copy");
        assert_eq!(c.pairs, [(a.uid, uid(1))]);
        let (orig, copy) = (
            f.store.messages(src.id).await.expect("src").remove(0),
            f.store.messages(dst.id).await.expect("dst").remove(0),
        );
        assert_eq!(copy.flags, m.flags, "\\Deleted and keywords travel too");
        assert_eq!(copy.internal_date, 1_700_000_000);
        assert_eq!((copy.size, &copy.blob), (orig.size, &orig.blob));
        assert_eq!(copy.modseq, c.modseq);
        assert_eq!(f.store.read_blob(&copy.blob).await.expect("read"), m.raw);
        assert_eq!(
            f.store.message_meta(dst.id, copy.uid).await.expect("meta"),
            f.store.message_meta(src.id, a.uid).await.expect("meta"),
        );
        let subject: String = Connection::open(f.store.dir().join("postern.db"))
            .expect("db")
            .query_row(
                "SELECT hdr_subject FROM messages WHERE mailbox_id = ?1",
                [dst.id.0],
                |r| r.get(0),
            )
            .expect("sort column");
        assert_eq!(subject, "kept");
        assert_eq!(blob_rows(f.store.dir()), (1, i64::from(inline)));
        assert_eq!(blob_files(f.store.dir()), usize::from(!inline));
        assert_eq!(refcount(f.store.dir(), &copy.blob), 2);
        let q = f.store.quota(u).await.expect("quota");
        assert_eq!((q.used_messages, q.used_bytes), (2, 2 * orig.size));
    }
}

#[tokio::test]
async fn copy_continues_from_uidnext_with_copyuid_pairs_in_source_order() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let (src, dst) = (
        inbox(&f.store, u).await,
        mailbox(&f.store, u, "Archive").await,
    );
    append_n(&f.store, u, src.id, "s", 3).await;
    append_n(&f.store, u, dst.id, "d", 2).await;
    f.store
        .expunge(dst.id, ExpungeWhich::Uids(uids(&[2])))
        .await
        .expect("expunge");
    let c = f
        .store
        .copy_messages(u, src.id, uids(&[3, 1, 3]), dst.id)
        .await
        .expect("copy");
    assert_eq!(c.uidvalidity, dst.uidvalidity);
    assert_eq!(c.pairs, [(uid(1), uid(3)), (uid(3), uid(4))]);
    let after = f.store.mailbox_status(dst.id).await.expect("status");
    assert_eq!((after.messages, after.mailbox.uidnext), (3, 5));
    assert_eq!(after.mailbox.highest_modseq, c.modseq);
    let same = f
        .store
        .copy_messages(u, src.id, uids(&[2]), src.id)
        .await
        .expect("copy into the same mailbox");
    assert_eq!(same.pairs, [(uid(2), uid(4))]);
    assert_eq!(f.store.messages(src.id).await.expect("list").len(), 4);
}

#[tokio::test]
async fn copy_over_quota_copies_nothing() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let (src, dst) = (
        inbox(&f.store, u).await,
        mailbox(&f.store, u, "Archive").await,
    );
    append_n(&f.store, u, src.id, "m", 2).await;
    let size = f.store.quota(u).await.expect("quota").used_bytes / 2;
    for (bytes, messages) in [(None, Some(3)), (Some(3 * size), None)] {
        f.store
            .user_set_quota("ann@example.org", bytes, messages)
            .await
            .expect("quota");
        let err = f
            .store
            .copy_messages(u, src.id, uids(&[1, 2]), dst.id)
            .await
            .expect_err("two do not fit");
        assert!(matches!(err, StoreError::QuotaExceeded(_)), "{err}");
        assert!(f.store.messages(dst.id).await.expect("list").is_empty());
        let q = f.store.quota(u).await.expect("quota");
        assert_eq!((q.used_messages, q.used_bytes), (2, 2 * size));
        let blob = &f.store.messages(src.id).await.expect("list")[0].blob;
        assert_eq!(refcount(f.store.dir(), blob), 1);
    }
    let one = f
        .store
        .copy_messages(u, src.id, uids(&[2]), dst.id)
        .await
        .expect("one fits");
    assert_eq!(one.pairs, [(uid(2), uid(1))]);
}

#[tokio::test]
async fn copy_skips_uids_that_do_not_exist() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let (src, dst) = (
        inbox(&f.store, u).await,
        mailbox(&f.store, u, "Archive").await,
    );
    f.store.append(u, src.id, msg("x")).await.expect("append");
    let c = f
        .store
        .copy_messages(u, src.id, uids(&[1, 99]), dst.id)
        .await
        .expect("copy");
    assert_eq!(c.pairs, [(uid(1), uid(1))]);
    let mut sub = f.store.subscribe(dst.id);
    let before = f
        .store
        .mailbox_by_id(dst.id)
        .await
        .expect("get")
        .expect("mb");
    let none = f
        .store
        .copy_messages(u, src.id, uids(&[98, 99]), dst.id)
        .await
        .expect("copy of nothing");
    assert_eq!(
        none,
        Copied {
            uidvalidity: dst.uidvalidity,
            pairs: Vec::new(),
            modseq: before.highest_modseq,
        }
    );
    let after = f
        .store
        .mailbox_by_id(dst.id)
        .await
        .expect("get")
        .expect("mb");
    assert_eq!(after, before, "UIDNEXT and MODSEQ untouched");
    assert_eq!(sub.try_recv(), None);
}

#[tokio::test]
async fn copy_and_move_refuse_another_users_mailbox_and_move_into_the_same_one_renumbers() {
    let f = fixture().await;
    let ann = add_user(&f.store, "ann@example.org").await;
    let bob = add_user(&f.store, "bob@example.org").await;
    let (a, b) = (inbox(&f.store, ann).await, inbox(&f.store, bob).await);
    f.store.append(ann, a.id, msg("x")).await.expect("append");
    for (user, from, to) in [
        (ann, a.id, b.id),
        (bob, a.id, b.id),
        (ann, MailboxId(9999), a.id),
    ] {
        let c = f.store.copy_messages(user, from, uids(&[1]), to).await;
        assert!(matches!(c, Err(StoreError::NotFound(_))), "{c:?}");
        let m = f.store.move_messages(user, from, uids(&[1]), to).await;
        assert!(matches!(m, Err(StoreError::NotFound(_))), "{m:?}");
    }
    // RFC 6851 §3.3 lets a server move into the same mailbox: a new UID,
    // the old one expunged, usage as it was.
    let before = f.store.quota(ann).await.expect("quota");
    let (copied, gone) = f
        .store
        .move_messages(ann, a.id, uids(&[1]), a.id)
        .await
        .expect("move into the same mailbox");
    assert_eq!(copied.pairs, [(uid(1), uid(2))]);
    assert_eq!(gone.uids, [uid(1)]);
    let left: Vec<Uid> = f
        .store
        .messages(a.id)
        .await
        .expect("list")
        .iter()
        .map(|m| m.uid)
        .collect();
    assert_eq!(left, [uid(2)]);
    let after = f.store.quota(ann).await.expect("quota");
    assert_eq!(
        (after.used_messages, after.used_bytes),
        (before.used_messages, before.used_bytes)
    );
    assert!(f.store.messages(b.id).await.expect("list").is_empty());
}

#[tokio::test]
async fn move_removes_from_the_source_in_one_commit_and_keeps_quota_usage() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let (src, dst) = (
        inbox(&f.store, u).await,
        mailbox(&f.store, u, "Archive").await,
    );
    append_n(&f.store, u, src.id, "m", 3).await;
    // A full account can still move: usage does not change.
    f.store
        .user_set_quota("ann@example.org", None, Some(3))
        .await
        .expect("quota");
    let usage = f.store.quota(u).await.expect("quota");
    let from_modseq = f
        .store
        .mailbox_by_id(src.id)
        .await
        .expect("get")
        .expect("mb");
    let before = f.store.write_stats();
    let (c, ex) = f
        .store
        .move_messages(u, src.id, uids(&[1, 3, 7]), dst.id)
        .await
        .expect("move");
    let after = f.store.write_stats();
    assert_eq!(
        (after.batches - before.batches, after.writes - before.writes),
        (1, 1),
        "one write, one commit"
    );
    assert_eq!(c.pairs, [(uid(1), uid(1)), (uid(3), uid(2))]);
    assert_eq!(ex.uids, uids(&[1, 3]));
    let left: Vec<Uid> = f
        .store
        .messages(src.id)
        .await
        .expect("src")
        .iter()
        .map(|m| m.uid)
        .collect();
    assert_eq!(left, uids(&[2]));
    assert_eq!(f.store.messages(dst.id).await.expect("dst").len(), 2);
    let ch = f
        .store
        .changes_since(src.id, from_modseq.highest_modseq)
        .await
        .expect("changes");
    assert_eq!((ch.vanished, ch.highest_modseq), (uids(&[1, 3]), ex.modseq));
    assert_eq!(f.store.quota(u).await.expect("quota"), usage);
}

#[tokio::test]
async fn copy_and_move_are_published_on_both_mailboxes() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let (src, dst) = (
        inbox(&f.store, u).await,
        mailbox(&f.store, u, "Archive").await,
    );
    append_n(&f.store, u, src.id, "m", 2).await;
    // The copies' flags go with them, as a read of their rows gives them.
    let work = Flags::new(SystemFlags::SEEN, ["$Work".to_string()]);
    f.store
        .set_flags(src.id, uids(&[2]), FlagOp::Add, work.clone(), None)
        .await
        .expect("flags");
    let (mut from, mut into) = (f.store.subscribe(src.id), f.store.subscribe(dst.id));
    let c = f
        .store
        .copy_messages(u, src.id, uids(&[1, 2]), dst.id)
        .await
        .expect("copy");
    let ev = next_change(&mut into);
    assert_eq!((ev.mailbox, ev.modseq), (dst.id, c.modseq));
    assert_eq!(
        ev.kind,
        ChangeKind::New {
            uids: uids(&[1, 2]),
            flags: vec![Flags::default(), work.clone()],
        }
    );
    assert_eq!(into.try_recv(), None, "one event for the whole copy");
    assert_eq!(from.try_recv(), None, "COPY leaves the source alone");
    let (c, ex) = f
        .store
        .move_messages(u, src.id, uids(&[1, 2]), dst.id)
        .await
        .expect("move");
    let ev = next_change(&mut into);
    assert_eq!(ev.modseq, c.modseq);
    assert_eq!(
        ev.kind,
        ChangeKind::New {
            uids: uids(&[3, 4]),
            flags: vec![Flags::default(), work.clone()],
        }
    );
    let ev = next_change(&mut from);
    assert_eq!(ev.modseq, ex.modseq);
    assert_eq!(
        ev.kind,
        ChangeKind::Expunged {
            uids: uids(&[1, 2])
        }
    );
    assert_eq!((into.try_recv(), from.try_recv()), (None, None));
}

#[tokio::test]
async fn a_moved_message_expunged_from_its_new_mailbox_frees_its_blob() {
    let f = fixture_with(0).await;
    let u = add_user(&f.store, "ann@example.org").await;
    let (src, dst) = (
        inbox(&f.store, u).await,
        mailbox(&f.store, u, "Archive").await,
    );
    let a = f.store.append(u, src.id, msg("m")).await.expect("append");
    let blob = f.store.messages(src.id).await.expect("list")[0]
        .blob
        .clone();
    let (c, _) = f
        .store
        .move_messages(u, src.id, vec![a.uid], dst.id)
        .await
        .expect("move");
    assert_eq!(refcount(f.store.dir(), &blob), 1, "one row refers to it");
    assert_eq!(blob_files(f.store.dir()), 1, "a move keeps the file");
    f.store
        .expunge(dst.id, ExpungeWhich::Uids(vec![c.pairs[0].1]))
        .await
        .expect("expunge");
    assert_eq!(eventually_blob_files(f.store.dir(), 0).await, 0);
    for _ in 0..200 {
        if blob_rows(f.store.dir()).0 == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(blob_rows(f.store.dir()), (0, 0));
    assert_eq!(f.store.quota(u).await.expect("quota").used_messages, 0);
}
