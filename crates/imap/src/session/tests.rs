//! Session tests without sockets: capabilities per state and TLS, and the
//! sequence-number / UID resolution every selected-state command relies on.

use std::sync::Arc;

use postern_auth::{AuthConfig, Directory, MemoryBackend};
use postern_store::{Store, StoreOptions};

use super::*;
use crate::wire::parse_sequence_set;

fn session(tls: bool, loopback_plaintext: bool) -> (tempfile::TempDir, Session) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), StoreOptions::default()).expect("store");
    let ctx = Context {
        cfg: Arc::new(ImapConfig {
            plaintext_on_loopback: loopback_plaintext,
            ..ImapConfig::default()
        }),
        store,
        directory: Directory::new(Arc::new(MemoryBackend::new()), AuthConfig::default()),
        starttls: true,
        per_user: PerUser::default(),
    };
    (
        dir,
        Session::new(ctx, "127.0.0.1:5000".parse().expect("addr"), tls),
    )
}

#[test]
fn login_is_disabled_before_tls_unless_loopback_plaintext_is_allowed() {
    let (_d, s) = session(false, false);
    let caps = s.capabilities();
    assert!(caps.contains(&"LOGINDISABLED".to_string()), "{caps:?}");
    assert!(caps.contains(&"STARTTLS".to_string()));
    assert!(!caps.iter().any(|c| c.starts_with("AUTH=")));
    let (_d, s) = session(true, false);
    let caps = s.capabilities();
    assert!(
        caps.contains(&"AUTH=PLAIN".to_string()) && !caps.contains(&"STARTTLS".to_string()),
        "{caps:?}"
    );
    let (_d, s) = session(false, true);
    assert!(
        s.capabilities().contains(&"AUTH=PLAIN".to_string()),
        "loopback plaintext allowed by config"
    );
}

#[test]
fn sequence_sets_resolve_against_sequence_numbers_and_uids() {
    let (_d, s) = session(true, false);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), StoreOptions::default()).expect("store");
    let sel = selected::Selected::for_tests(vec![3, 7, 9, 20], &store);
    let set = |t: &str| parse_sequence_set(t.as_bytes(), 100).expect("set");
    assert_eq!(sel.resolve(&set("1:*"), false), [1, 2, 3, 4]);
    assert_eq!(sel.resolve(&set("2,4"), false), [2, 4]);
    assert_eq!(
        sel.resolve(&set("5:9"), false),
        Vec::<u32>::new(),
        "past the end"
    );
    assert_eq!(sel.resolve(&set("7:9"), true), [2, 3], "UIDs");
    assert_eq!(sel.resolve(&set("*"), true), [4], "* is the largest UID");
    assert_eq!(
        sel.resolve(&set("10:8"), true),
        [3],
        "a reversed range is the same range"
    );
    assert_eq!(sel.seq_of(20), Some(4));
    assert_eq!(sel.seq_of(8), None);
    drop(s);
}

#[test]
fn the_per_user_count_holds_places_until_sessions_end() {
    let counts = PerUser::default();
    let a = counts.take(7, 2).expect("first");
    let b = counts.take(7, 2).expect("second");
    assert!(counts.take(7, 2).is_none(), "third refused");
    assert!(counts.take(8, 2).is_some(), "another user is not affected");
    drop(a);
    assert!(counts.take(7, 2).is_some(), "a freed place is used again");
    drop(b);
}
