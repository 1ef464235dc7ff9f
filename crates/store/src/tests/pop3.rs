//! POP3's QUIT in the store: `\Seen`, first-retrieval times, DELE and
//! EXPIRE removals in one commit.

use std::time::Duration;

use super::*;

async fn setup(n: usize) -> (Fixture, MailboxId, Vec<Uid>) {
    let f = fixture().await;
    let u = add_user(&f.store, "ann@example.org").await;
    let mb = inbox(&f.store, u).await;
    let uids = append_n(&f.store, u, mb.id, "m", n).await;
    (f, mb.id, uids)
}

async fn quit(s: &Store, mb: MailboxId, update: Pop3Update) -> Pop3Updated {
    s.pop3_update(mb, update).await.expect("pop3_update")
}

async fn left(s: &Store, mb: MailboxId) -> Vec<Uid> {
    s.messages(mb)
        .await
        .expect("list")
        .iter()
        .map(|m| m.uid)
        .collect()
}

#[tokio::test]
async fn expiry_counts_from_first_retrieval_and_spares_mail_never_retrieved() {
    let (f, mb, uids) = setup(4).await;
    // 30 days' retention: retrieving starts the clock, removes nothing.
    let got = quit(
        &f.store,
        mb,
        Pop3Update {
            retrieved: vec![uids[0], uids[1]],
            expire_after: Some(Duration::from_secs(30 * 86_400)),
            ..Pop3Update::default()
        },
    )
    .await;
    assert_eq!(got, Pop3Updated::default());
    assert_eq!(left(&f.store, mb).await, uids);
    // Zero retention (EXPIRE 0): whatever was ever retrieved goes, with
    // the DELEs; message 4, never retrieved, stays.
    let got = quit(
        &f.store,
        mb,
        Pop3Update {
            retrieved: vec![uids[1]],
            deleted: vec![uids[2]],
            expire_after: Some(Duration::ZERO),
            ..Pop3Update::default()
        },
    )
    .await;
    assert_eq!(
        got,
        Pop3Updated {
            deleted: 1,
            expired: 2
        }
    );
    assert_eq!(left(&f.store, mb).await, [uids[3]]);
    // No expiry configured: retrieval alone never removes.
    let got = quit(
        &f.store,
        mb,
        Pop3Update {
            retrieved: vec![uids[3]],
            ..Pop3Update::default()
        },
    )
    .await;
    assert_eq!(got, Pop3Updated::default());
    assert_eq!(left(&f.store, mb).await, [uids[3]]);
}

#[tokio::test]
async fn seen_and_deletes_are_one_commit_and_the_feed_sees_them() {
    let (f, mb, uids) = setup(3).await;
    let mut sub = f.store.subscribe(mb);
    let got = quit(
        &f.store,
        mb,
        Pop3Update {
            seen: vec![uids[0]],
            retrieved: vec![uids[0]],
            deleted: vec![uids[1]],
            expire_after: None,
        },
    )
    .await;
    assert_eq!(
        got,
        Pop3Updated {
            deleted: 1,
            expired: 0
        }
    );
    let msgs = f.store.messages(mb).await.expect("list");
    assert_eq!(msgs.len(), 2);
    assert!(msgs[0].flags.system.contains(SystemFlags::SEEN));
    assert!(!msgs[1].flags.system.contains(SystemFlags::SEEN));
    let mut kinds = Vec::new();
    while let Some(FeedEvent::Change(c)) = sub.try_recv() {
        kinds.push(c.kind.clone());
    }
    assert!(
        matches!(kinds[0], ChangeKind::Flags { uid, .. } if uid == uids[0]),
        "{kinds:?}"
    );
    assert_eq!(
        kinds[1],
        ChangeKind::Expunged {
            uids: vec![uids[1]]
        }
    );
}

#[tokio::test]
async fn an_expunge_elsewhere_forgets_the_retrieval_time() {
    let (f, mb, uids) = setup(2).await;
    quit(
        &f.store,
        mb,
        Pop3Update {
            retrieved: vec![uids[0], uids[1]],
            ..Pop3Update::default()
        },
    )
    .await;
    f.store
        .expunge(mb, ExpungeWhich::Uids(vec![uids[0]]))
        .await
        .expect("expunge");
    let c = Connection::open(f._dir.path().join("postern.db")).expect("db");
    let rows: i64 = c
        .query_row("SELECT COUNT(*) FROM pop3_retrieved", [], |r| r.get(0))
        .expect("count");
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn mail_retrieved_longer_ago_than_the_retention_goes_at_the_next_quit() {
    let (f, mb, uids) = setup(3).await;
    let month = Some(Duration::from_secs(30 * 86_400));
    quit(
        &f.store,
        mb,
        Pop3Update {
            retrieved: vec![uids[0], uids[1]],
            expire_after: month,
            ..Pop3Update::default()
        },
    )
    .await;
    // Message 1 was first retrieved 31 days ago, message 2 29 days ago.
    let c = Connection::open(f._dir.path().join("postern.db")).expect("db");
    for (uid, days) in [(uids[0], 31), (uids[1], 29)] {
        c.execute(
            "UPDATE pop3_retrieved SET at = at - ?2 WHERE mailbox_id = ?1 AND uid = ?3",
            (mb.0, days * 86_400, uid.get()),
        )
        .expect("backdate");
    }
    // Retrieving again does not restart the clock.
    let got = quit(
        &f.store,
        mb,
        Pop3Update {
            retrieved: vec![uids[0]],
            expire_after: month,
            ..Pop3Update::default()
        },
    )
    .await;
    assert_eq!(
        got,
        Pop3Updated {
            deleted: 0,
            expired: 1
        }
    );
    assert_eq!(left(&f.store, mb).await, [uids[1], uids[2]]);
}
