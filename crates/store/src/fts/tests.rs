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

#[tokio::test]
async fn hits_name_uids_in_order_and_unsure_are_the_unindexed_and_the_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = StoreOptions {
        fts_max_text: 200,
        ..StoreOptions::default()
    };
    let s = Store::open(dir.path(), opts).expect("open");
    s.domain_add("example.org").await.expect("domain");
    let u = add_user(&s, "ann@example.org").await;
    let mb = inbox(&s, u).await.id;
    let a = deliver(&s, u, "Subject: one\r\n\r\nthe harbour at dawn\r\n").await;
    let long = format!("Subject: two\r\n\r\n{}harbour\r\n", "filler ".repeat(100));
    let b = deliver(&s, u, &long).await;
    let c = deliver(&s, u, "Subject: three\r\n\r\nharbourmaster\r\n").await;
    let asked = vec![q(false, "harbour"), q(true, "three")];
    // More hits than the test build seeks one by one: the merge.
    let many = vec![q(false, "subject: "), q(false, "harbour")];
    let before = s.fts_hits(mb, asked.clone()).await.expect("hits");
    let before = before.expect("on by default");
    assert_eq!(before.unsure, vec![a.get(), b.get(), c.get()]);

    drain(&s).await;
    let after = s.fts_hits(mb, asked.clone()).await.expect("hits");
    let after = after.expect("on");
    assert_eq!(after.unsure, vec![b.get()], "cut at the limit");
    assert_eq!(after.hits[&asked[0]], vec![a.get(), c.get()]);
    assert_eq!(after.hits[&asked[1]], Vec::<u32>::new(), "BODY only");
    let merged = s.fts_hits(mb, many.clone()).await.expect("hits");
    let merged = merged.expect("on");
    assert_eq!(merged.unsure, vec![b.get()]);
    assert_eq!(merged.hits[&many[0]], vec![a.get(), c.get()]);
    assert_eq!(merged.hits[&many[1]], vec![a.get(), c.get()]);

    let dir = tempfile::tempdir().expect("tempdir");
    let off = StoreOptions {
        fts: false,
        ..StoreOptions::default()
    };
    let s = Store::open(dir.path(), off).expect("open");
    assert!(s.fts_hits(mb, asked).await.expect("hits").is_none());
}

#[tokio::test]
async fn a_copy_of_an_indexed_message_is_found_without_indexing_and_rebuild_forgets_then_relinks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(dir.path(), StoreOptions::default()).expect("open");
    s.domain_add("example.org").await.expect("domain");
    let u = add_user(&s, "ann@example.org").await;
    let mb = inbox(&s, u).await.id;
    let a = deliver(&s, u, "Subject: one\r\n\r\nthe harbour at dawn\r\n").await;
    drain(&s).await;
    let other = s.mailbox_create(u, "Kept", None).await.expect("create").id;
    s.copy_messages(u, mb, vec![a], other).await.expect("copy");
    let asked = vec![q(false, "harbour")];
    let hits = s.fts_hits(other, asked.clone()).await.expect("hits");
    let hits = hits.expect("on");
    assert!(hits.unsure.is_empty(), "the copy shares the indexed row");
    assert_eq!(hits.hits[&asked[0]], vec![1]);

    let p = s.fts_rebuild(None, &|_| {}).await.expect("rebuild");
    assert_eq!(p.done, 1, "one blob for both messages");
    let hits = s.fts_hits(mb, asked.clone()).await.expect("hits");
    let hits = hits.expect("on");
    assert!(hits.unsure.is_empty());
    assert_eq!(hits.hits[&asked[0]], vec![a.get()]);
}

/// The number of index triggers in the database of `dir` and its queue's
/// length, read with a connection of the test's own.
fn triggers_and_queue(dir: &std::path::Path) -> (i64, i64) {
    let c = rusqlite::Connection::open(dir.join("postern.db")).expect("open db");
    let n = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).expect("count");
    (
        n(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'fts\\_%' ESCAPE '\\'",
        ),
        n("SELECT count(*) FROM fts_queue"),
    )
}

#[tokio::test]
async fn with_the_index_off_mail_queues_nothing_and_turning_it_on_catches_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let with = |fts: bool| StoreOptions {
        fts,
        ..StoreOptions::default()
    };
    let s = Store::open(dir.path(), with(true)).expect("open");
    s.domain_add("example.org").await.expect("domain");
    let u = add_user(&s, "ann@example.org").await;
    let mb = inbox(&s, u).await.id;
    let a = deliver(&s, u, "Subject: one\r\n\r\nthe harbour at dawn\r\n").await;
    let gone = deliver(&s, u, "Subject: two\r\n\r\na lighthouse keeper\r\n").await;
    drain(&s).await;
    s.shutdown().await;
    drop(s);
    assert_eq!(triggers_and_queue(dir.path()), (3, 0));

    // Off: filing, copying and expunging leave the queue empty.
    let s = Store::open(dir.path(), with(false)).expect("open");
    assert_eq!(triggers_and_queue(dir.path()), (0, 0));
    let b = deliver(&s, u, "Subject: three\r\n\r\nharbourmaster on duty\r\n").await;
    let kept = s.mailbox_create(u, "Kept", None).await.expect("create").id;
    s.copy_messages(u, mb, vec![a], kept).await.expect("copy");
    s.expunge(mb, ExpungeWhich::Uids(vec![gone]))
        .await
        .expect("expunge");
    assert_eq!(triggers_and_queue(dir.path()), (0, 0));
    assert_eq!(s.fts_index_batch().await.expect("index"), 0);
    s.shutdown().await;
    drop(s);

    // On again: the new message is queued, the expunged one's row goes,
    // and the copy made meanwhile is linked to its blob's row.
    let s = Store::open(dir.path(), with(true)).expect("open");
    assert_eq!(triggers_and_queue(dir.path()), (3, 2));
    drain(&s).await;
    let asked = vec![q(false, "harbour"), q(false, "lighthouse")];
    let inbox_hits = s.fts_hits(mb, asked.clone()).await.expect("hits");
    let inbox_hits = inbox_hits.expect("on");
    assert!(inbox_hits.unsure.is_empty(), "{:?}", inbox_hits.unsure);
    assert_eq!(inbox_hits.hits[&asked[0]], vec![a.get(), b.get()]);
    assert_eq!(inbox_hits.hits[&asked[1]], Vec::<u32>::new());
    let copy_hits = s.fts_hits(kept, asked.clone()).await.expect("hits");
    let copy_hits = copy_hits.expect("on");
    assert!(
        copy_hits.unsure.is_empty(),
        "the copy is linked, not unsure"
    );
    assert_eq!(copy_hits.hits[&asked[0]], vec![1]);
    let stats = s.fts_stats().await.expect("stats");
    assert_eq!(
        (stats.docs, stats.queued),
        (2, 0),
        "the expunged one's row dropped"
    );
    // And the triggers work again.
    let c = deliver(&s, u, "Subject: four\r\n\r\nharbour lights\r\n").await;
    assert_eq!(s.fts_stats().await.expect("stats").queued, 1);
    drain(&s).await;
    let hits = s
        .fts_hits(mb, asked.clone())
        .await
        .expect("hits")
        .expect("on");
    assert_eq!(hits.hits[&asked[0]], vec![a.get(), b.get(), c.get()]);
}
