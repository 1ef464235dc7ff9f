//! The list feed: a user's watchers hear creations, deletions, renames and
//! (un)subscriptions once committed, and other users' changes not at all.

use super::*;

fn drain(s: &mut ListSubscription) -> Vec<ListChange> {
    let mut out = Vec::new();
    while let Some(ev) = s.try_recv() {
        match ev {
            ListEvent::Change(c) => out.push((*c).clone()),
            ListEvent::Resync => panic!("no resync expected"),
        }
    }
    out
}

fn created(n: &str) -> ListChange {
    ListChange::Created { name: n.into() }
}

#[tokio::test]
async fn list_watchers_hear_creates_renames_deletes_and_subscriptions() {
    let f = fixture().await;
    let ann = add_user(&f.store, "ann@example.org").await;
    let bob = add_user(&f.store, "bob@example.org").await;
    let mut sub = f.store.subscribe_list(ann);
    let mut other = f.store.subscribe_list(bob);

    f.store
        .mailbox_create(ann, "Work/Reports", None)
        .await
        .expect("create");
    assert_eq!(drain(&mut sub), [created("Work"), created("Work/Reports")]);

    f.store
        .mailbox_subscribe(ann, "Work", true)
        .await
        .expect("subscribe");
    // Subscribing again changes nothing and says nothing.
    f.store
        .mailbox_subscribe(ann, "Work", true)
        .await
        .expect("subscribe again");
    assert_eq!(
        drain(&mut sub),
        [ListChange::Subscription {
            name: "Work".into(),
            on: true
        }]
    );

    f.store
        .mailbox_rename(ann, "Work", "Job")
        .await
        .expect("rename");
    assert_eq!(
        drain(&mut sub),
        [
            ListChange::Renamed {
                from: "Work".into(),
                to: "Job".into()
            },
            ListChange::Renamed {
                from: "Work/Reports".into(),
                to: "Job/Reports".into()
            },
        ]
    );

    f.store
        .mailbox_delete(ann, "Job/Reports")
        .await
        .expect("delete");
    f.store
        .mailbox_subscribe(ann, "Job", false)
        .await
        .expect("unsubscribe");
    assert_eq!(
        drain(&mut sub),
        [
            ListChange::Deleted {
                name: "Job/Reports".into()
            },
            ListChange::Subscription {
                name: "Job".into(),
                on: false
            },
        ]
    );
    // A failed create publishes nothing.
    assert!(f.store.mailbox_create(ann, "Job", None).await.is_err());
    assert_eq!(drain(&mut sub), []);
    assert_eq!(
        drain(&mut other),
        [],
        "bob hears nothing of ann's mailboxes"
    );
}
