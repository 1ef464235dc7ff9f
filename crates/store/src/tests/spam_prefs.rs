//! A user's own spam settings (`spam_prefs.rs`): set and read back, a
//! pattern on one list at a time, the per-user bound, removal, the
//! generation a scorer's cache watches, and a user's deletion.

use super::*;
use crate::{SenderPattern, SenderRuleKind};

fn pat(s: &str) -> SenderPattern {
    SenderPattern::parse(s).expect("pattern")
}

#[tokio::test]
async fn settings_and_rules_round_trip_and_move_the_generation() {
    let f = fixture().await;
    let ann = add_user(&f.store, "ann@example.org").await;
    let bob = add_user(&f.store, "bob@example.org").await;
    assert!(f.store.spam_prefs(ann).await.expect("read").is_empty());
    let g0 = f.store.spam_prefs_generation();

    f.store
        .spam_prefs_set(ann, Some(3.5), Some(false))
        .await
        .expect("set");
    assert!(f.store.spam_prefs_generation() > g0);
    let s = &f.store;
    s.spam_sender_rule_add(ann, &pat("Friend@Remote.test"), SenderRuleKind::Allow, 10)
        .await
        .expect("allow");
    s.spam_sender_rule_add(ann, &pat("@spam.test"), SenderRuleKind::Block, 10)
        .await
        .expect("block");
    let p = s.spam_prefs(ann).await.expect("read");
    assert_eq!(p.junk_threshold, Some(3.5));
    assert_eq!(p.reject, Some(false));
    assert_eq!(
        p.senders,
        vec![
            (pat("@spam.test"), SenderRuleKind::Block),
            (pat("friend@remote.test"), SenderRuleKind::Allow),
        ]
    );
    assert!(s.spam_prefs(bob).await.expect("read").is_empty());
    assert_eq!(s.spam_prefs_users().await.expect("count"), 1);

    // Blocking an allowed sender moves it; it is then not on the allow list.
    s.spam_sender_rule_add(ann, &pat("friend@remote.test"), SenderRuleKind::Block, 10)
        .await
        .expect("block");
    let e = s
        .spam_sender_rule_remove(ann, &pat("friend@remote.test"), SenderRuleKind::Allow)
        .await
        .expect_err("not allowed any more");
    assert!(matches!(e, StoreError::NotFound(_)), "{e}");
    s.spam_sender_rule_remove(ann, &pat("friend@remote.test"), SenderRuleKind::Block)
        .await
        .expect("unblock");
    s.spam_prefs_set(ann, None, None).await.expect("reset");
    let p = s.spam_prefs(ann).await.expect("read");
    assert_eq!((p.junk_threshold, p.reject), (None, None));
    assert_eq!(p.senders.len(), 1);

    s.user_delete("ann@example.org").await.expect("delete");
    let again = add_user(s, "ann@example.org").await;
    assert!(s.spam_prefs(again).await.expect("read").is_empty());
    assert_eq!(s.spam_prefs_users().await.expect("count"), 0);
}

#[tokio::test]
async fn sender_rules_stop_at_the_bound_but_a_known_one_changes_list() {
    let f = fixture().await;
    let ann = add_user(&f.store, "ann@example.org").await;
    let s = &f.store;
    for i in 0..3 {
        s.spam_sender_rule_add(ann, &pat(&format!("s{i}@x.test")), SenderRuleKind::Block, 3)
            .await
            .expect("under the bound");
    }
    let e = s
        .spam_sender_rule_add(ann, &pat("s3@x.test"), SenderRuleKind::Block, 3)
        .await
        .expect_err("over the bound");
    assert!(e.is_user_error(), "{e}");
    assert!(e.to_string().contains("max_sender_rules = 3"), "{e}");
    s.spam_sender_rule_add(ann, &pat("s0@x.test"), SenderRuleKind::Allow, 3)
        .await
        .expect("a known pattern only changes list");
    assert_eq!(s.spam_prefs(ann).await.expect("read").senders.len(), 3);
}
