//! A delete in one write: `set_flags_then_expunge` (IMAP's pipelined
//! `STORE +FLAGS (\Deleted)` and `EXPUNGE`).

use super::*;

fn deleted() -> Flags {
    Flags {
        system: SystemFlags::DELETED,
        keywords: Vec::new(),
    }
}

#[tokio::test]
async fn a_store_and_the_expunge_behind_it_share_one_commit() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let uids = append_n(&f.store, u, mb.id, "m", 3).await;
    let mut sub = f.store.subscribe(mb.id);
    let before = f.store.write_stats();
    let (stored, expunged) = f
        .store
        .set_flags_then_expunge(
            mb.id,
            vec![uids[1]],
            FlagOp::Add,
            deleted(),
            None,
            ExpungeWhich::DeletedAmong(vec![uids[1]]),
        )
        .await
        .expect("committed");
    let after = f.store.write_stats();
    assert_eq!(
        (after.batches - before.batches, after.writes - before.writes),
        (1, 1),
        "one write, one commit"
    );
    let stored = stored.expect("store");
    assert_eq!(stored.updated.len(), 1);
    let (uid, flags, flag_modseq) = &stored.updated[0];
    assert_eq!(
        (*uid, flags.system.contains(SystemFlags::DELETED)),
        (uids[1], true)
    );
    let expunged = expunged.expect("expunge");
    assert_eq!(expunged.uids, [uids[1]]);
    assert!(
        expunged.modseq > *flag_modseq,
        "the EXPUNGE comes after the STORE: {expunged:?} after {flag_modseq:?}"
    );
    let left: Vec<Uid> = f
        .store
        .messages(mb.id)
        .await
        .expect("list")
        .iter()
        .map(|m| m.uid)
        .collect();
    assert_eq!(left, [uids[0], uids[2]]);
    // Other sessions hear both, in order.
    let mut kinds = Vec::new();
    while let Some(FeedEvent::Change(c)) = sub.try_recv() {
        kinds.push(c.kind.clone());
    }
    assert!(
        matches!(
            kinds.as_slice(),
            [ChangeKind::Flags { .. }, ChangeKind::Expunged { .. }]
        ),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_failing_store_leaves_the_expunge_behind_it_to_run() {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let uids = append_n(&f.store, u, mb.id, "m", 2).await;
    f.store
        .set_flags(mb.id, vec![uids[0]], FlagOp::Add, deleted(), None)
        .await
        .expect("flag");
    // A mailbox that does not exist fails the STORE part alone.
    let (stored, expunged) = f
        .store
        .set_flags_then_expunge(
            MailboxId(mb.id.0 + 1000),
            vec![uids[1]],
            FlagOp::Add,
            deleted(),
            None,
            ExpungeWhich::Deleted,
        )
        .await
        .expect("committed");
    assert!(stored.is_err(), "{stored:?}");
    assert!(
        expunged.is_err(),
        "the EXPUNGE names the same mailbox: {expunged:?}"
    );
    let (stored, expunged) = f
        .store
        .set_flags_then_expunge(
            mb.id,
            vec![uids[1]],
            FlagOp::Add,
            Flags {
                system: SystemFlags::SEEN,
                keywords: Vec::new(),
            },
            Some(ModSeq(0)),
            ExpungeWhich::Deleted,
        )
        .await
        .expect("committed");
    assert_eq!(
        stored.expect("store").modified,
        [uids[1]],
        "UNCHANGEDSINCE 0 refuses the change"
    );
    assert_eq!(
        expunged.expect("expunge").uids,
        [uids[0]],
        "the one flagged before"
    );
}
