//! The index against a real store: queued at delivery, indexed by a batch,
//! found by substring, case-insensitively only through the folding the
//! caller does, and dropped when the last copy is expunged.

use super::index_text;
use crate::tests::{add_user, inbox};
use crate::*;

fn q(body_only: bool, needle: &str) -> FtsQuery {
    FtsQuery {
        body_only,
        needle: needle.into(),
    }
}

async fn deliver(s: &Store, u: UserId, raw: &str) -> Uid {
    let m = NewMessage {
        raw: raw.as_bytes().to_vec(),
        ..NewMessage::default()
    };
    let d = s
        .deliver(m, vec![DeliveryTarget::inbox(u)])
        .await
        .expect("deliver")
        .pop()
        .expect("one")
        .expect("delivered");
    d.uid
}

async fn drain(s: &Store) {
    while s.fts_index_batch().await.expect("index") > 0 {}
}

#[tokio::test]
async fn delivered_mail_is_queued_then_found_by_substring_in_head_or_body() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(dir.path(), StoreOptions::default()).expect("open");
    s.domain_add("example.org").await.expect("domain");
    let u = add_user(&s, "ann@example.org").await;
    let mb = inbox(&s, u).await.id;
    let a = deliver(&s, u, "Subject: Quarterly\r\n\r\nthe Numbers are in\r\n").await;
    let b = deliver(&s, u, "Subject: lunch\r\n\r\nsee you at noon\r\n").await;
    let asked = vec![
        q(false, "quarterly"),
        q(true, "quarterly"),
        q(true, "numbers"),
    ];
    let before = s.fts_search(mb, asked.clone()).await.expect("search");
    let before = before.expect("on by default");
    assert!(
        before.docs.is_empty(),
        "nothing indexed before the indexer ran"
    );
    assert_eq!(before.decide(a.get(), &asked[0]), None);
    assert_eq!(s.fts_stats().await.expect("stats").queued, 2);

    drain(&s).await;
    let after = s.fts_search(mb, asked.clone()).await.expect("search");
    let after = after.expect("on");
    assert_eq!(
        after.decide(a.get(), &asked[0]),
        Some(true),
        "TEXT reads the header"
    );
    assert_eq!(
        after.decide(a.get(), &asked[1]),
        Some(false),
        "BODY does not"
    );
    assert_eq!(after.decide(a.get(), &asked[2]), Some(true));
    assert_eq!(after.decide(b.get(), &asked[2]), Some(false));
    let stats = s.fts_stats().await.expect("stats");
    assert_eq!((stats.docs, stats.queued), (2, 0));

    s.expunge(mb, ExpungeWhich::Uids(vec![a]))
        .await
        .expect("expunge");
    drain(&s).await;
    assert_eq!(s.fts_stats().await.expect("stats").docs, 1, "row dropped");
}

#[test]
fn a_text_over_the_limit_is_cut_and_marked_incomplete() {
    let raw = format!("Subject: x\r\n\r\n{}\r\n", "word ".repeat(1000));
    let (head, body, complete) = index_text(raw.as_bytes(), 400);
    assert!(!complete);
    assert!(head.len() + body.len() <= 400);
    let (_, body, complete) = index_text(raw.as_bytes(), 1 << 20);
    assert!(complete);
    assert!(body.starts_with("word word"));
}
