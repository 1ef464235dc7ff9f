//! The outbound queue's state changes as the queue runner and the admin
//! CLI make them: due recipients, outcomes, owed DSNs, hold, retry, delete,
//! and the blob reference dropped when a message leaves the queue.

use super::*;
use crate::{Outbound, Outcome, QueuedRecipient, RecipientUpdate};

fn refcount(dir: &Path) -> i64 {
    let c = Connection::open(dir.join("postern.db")).expect("db");
    c.query_row("SELECT COALESCE(SUM(refcount), 0) FROM blobs", [], |r| {
        r.get(0)
    })
    .expect("sum")
}

async fn queue_two(f: &Fixture) -> i64 {
    let out = Outbound {
        reverse_path: "ann@example.org".into(),
        recipients: ["a@remote.test", "b@remote.test"]
            .into_iter()
            .map(|a| QueuedRecipient {
                address: a.into(),
                orcpt: None,
                notify: None,
            })
            .collect(),
        ..Outbound::default()
    };
    f.store
        .accept(msg("queued"), vec![], Some(out), false)
        .await
        .expect("accept")
        .queued
        .expect("queued")
}

fn update(address: &str, outcome: Outcome, dsn: Option<&str>) -> RecipientUpdate {
    RecipientUpdate {
        address: address.into(),
        outcome,
        text: Some("250 2.0.0 Ok".into()),
        remote_mta: Some("mx.remote.test [127.0.0.1]".into()),
        dsn: dsn.map(str::to_string),
        attempted: true,
    }
}

#[tokio::test]
async fn a_message_leaves_the_queue_once_delivered_failed_and_reported() {
    let f = fixture().await;
    let id = queue_two(&f).await;
    let now = now_secs();
    assert_eq!(f.store.queue_due(now, 10).await.expect("due").len(), 1);
    assert_eq!(refcount(f.store.dir()), 1);
    f.store
        .queue_update(
            id,
            vec![
                update("a@remote.test", Outcome::Delivered, None),
                update(
                    "b@remote.test",
                    Outcome::Deferred {
                        next_attempt: now + 100,
                    },
                    None,
                ),
            ],
        )
        .await
        .expect("update");
    assert!(f.store.queue_due(now, 10).await.expect("due").is_empty());
    assert_eq!(
        f.store.queue_next_attempt().await.expect("next"),
        Some(now + 100)
    );
    let e = f
        .store
        .queue_get(id)
        .await
        .expect("get")
        .expect("still queued");
    assert_eq!(e.recipients[0].state, "delivered");
    assert_eq!(e.recipients[1].state, "deferred");
    assert_eq!(e.recipients[1].attempts, 1);
    assert_eq!(f.store.queue_retry(Some(id)).await.expect("retry"), 1);
    assert_eq!(
        f.store.queue_due(now_secs(), 10).await.expect("due").len(),
        1
    );
    f.store
        .queue_update(
            id,
            vec![update("b@remote.test", Outcome::Failed, Some("failed"))],
        )
        .await
        .expect("update");
    // The failure still owes its DSN, so the message stays.
    let owed = f.store.queue_dsn_due(10).await.expect("dsn due");
    assert_eq!(owed.len(), 1);
    assert_eq!(owed[0].recipients[1].dsn_due.as_deref(), Some("failed"));
    assert_eq!(f.store.queue_next_attempt().await.expect("next"), None);
    f.store
        .queue_dsn_sent(id, vec!["b@remote.test".into()])
        .await
        .expect("sent");
    assert!(f.store.queue_get(id).await.expect("get").is_none());
    assert!(f.store.queue_list().await.expect("list").is_empty());
    assert_eq!(
        refcount(f.store.dir()),
        0,
        "the blob reference went with it"
    );
}

#[tokio::test]
async fn held_messages_are_not_due_and_delete_drops_the_blob() {
    let f = fixture().await;
    let id = queue_two(&f).await;
    let now = now_secs();
    assert!(f.store.queue_hold(id, true).await.expect("hold"));
    assert!(f.store.queue_due(now, 10).await.expect("due").is_empty());
    assert_eq!(f.store.queue_next_attempt().await.expect("next"), None);
    assert!(f.store.queue_hold(id, false).await.expect("release"));
    assert_eq!(f.store.queue_due(now, 10).await.expect("due").len(), 1);
    assert!(!f.store.queue_hold(id + 1, true).await.expect("no such"));
    assert!(f.store.queue_delete(id).await.expect("delete"));
    assert!(!f.store.queue_delete(id).await.expect("gone"));
    assert_eq!(refcount(f.store.dir()), 0);
}
