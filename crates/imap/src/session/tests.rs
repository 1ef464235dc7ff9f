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
        render: Default::default(),
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

#[tokio::test]
async fn a_message_that_came_and_went_between_updates_gets_no_expunge() {
    use postern_store::{ChangeKind, FeedEvent, MailboxChange, MailboxId, ModSeq, Uid};
    let (_d, mut s) = session(true, false);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), StoreOptions::default()).expect("store");
    let mut sel = selected::Selected::for_tests(vec![1, 2], &store);
    let uids = |u: &[u32]| u.iter().map(|&u| Uid::new(u).expect("uid")).collect();
    let change = |modseq, kind| {
        FeedEvent::Change(Arc::new(MailboxChange {
            mailbox: MailboxId(1),
            modseq: ModSeq(modseq),
            kind,
        }))
    };
    // Another session appended UID 3 and expunged it, and expunged UID 2,
    // all before this one reported anything.
    sel.apply(change(
        2,
        ChangeKind::New {
            uids: uids(&[3]),
            flags: vec![postern_store::Flags::default()],
        },
    ));
    sel.apply(change(3, ChangeKind::Expunged { uids: uids(&[3]) }));
    sel.apply(change(4, ChangeKind::Expunged { uids: uids(&[2]) }));
    s.state = State::Selected(Box::new(sel));
    let mut out = Vec::new();
    s.sync(&mut out, true).await;
    assert_eq!(
        String::from_utf8_lossy(&out),
        "* 2 EXPUNGE\r\n* 1 EXISTS\r\n",
        "the client knows two messages: no EXPUNGE of a third"
    );
}

#[test]
fn a_set_past_the_range_limit_is_no_limit_and_bad_syntax_is_a_counted_bad() {
    let (_d, mut s) = session(true, false);
    let opts = ParseOptions {
        max_ranges: 2,
        ..s.parse_options()
    };
    let mut out = Vec::new();
    let e = crate::wire::parse_command(b"a1 FETCH 1,2,3 FLAGS\r\n", &opts).expect_err("refused");
    s.refuse(&e, &mut out);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "a1 NO [LIMIT] sequence set has more than 2 ranges\r\n"
    );
    assert_eq!(s.errors, 0, "a limit is not a client error");
    out.clear();
    let e = crate::wire::parse_command(b"a2 FETCH x FLAGS\r\n", &opts).expect_err("refused");
    s.refuse(&e, &mut out);
    assert!(
        out.starts_with(b"a2 BAD "),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(s.errors, 1);
}

#[test]
fn the_range_limit_follows_the_line_limit() {
    let (_d, s) = session(true, false);
    assert_eq!(
        s.parse_options().max_ranges,
        crate::wire::max_ranges_for_line(s.ctx.cfg.max_line)
    );
    assert_eq!(s.ctx.cfg.max_line, 64 * 1024, "Dovecot's default");
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

mod random_sessions {
    //! Random command sequences through a logged-in session over a real
    //! store: nothing a client sends may panic it, whatever the order.

    use postern_auth::Principal;
    use postern_store::{NewUser, Store};
    use proptest::prelude::*;

    use super::super::*;
    use crate::wire::parse_command;

    const TEMPLATES: &[&str] = &[
        "SELECT INBOX",
        "EXAMINE Sent",
        "SELECT INBOX (CONDSTORE)",
        "SELECT INBOX (QRESYNC (1 1 1:9))",
        "ENABLE QRESYNC UTF8=ACCEPT",
        "FETCH {set} (FLAGS UID RFC822.SIZE ENVELOPE BODYSTRUCTURE)",
        "FETCH {set} (BODY[] BODY.PEEK[1.2.MIME]<0.10> BINARY[1] BINARY.SIZE[1])",
        "UID FETCH {set} (FLAGS) (CHANGEDSINCE 1 VANISHED)",
        "STORE {set} +FLAGS (\\Seen \\Deleted $x)",
        "UID STORE {set} (UNCHANGEDSINCE 2) FLAGS.SILENT ()",
        "APPEND INBOX (\\Flagged) {18+}\r\nSubject: x\r\n\r\nbody",
        "APPEND Nope {1+}\r\nx",
        "EXPUNGE",
        "UID EXPUNGE {set}",
        "SEARCH OR TEXT body NOT SEEN",
        "UID SEARCH RETURN (SAVE MIN COUNT) ALL",
        "FETCH $ (UID)",
        "SORT (REVERSE DATE SUBJECT) UTF-8 ALL",
        "THREAD REFERENCES UTF-8 ALL",
        "COPY {set} Trash",
        "UID MOVE {set} Archive",
        "CREATE a/b",
        "RENAME a c",
        "DELETE c",
        "LIST \"\" *",
        "STATUS INBOX (MESSAGES UNSEEN SIZE HIGHESTMODSEQ)",
        "GETQUOTAROOT INBOX",
        "NOOP",
        "CHECK",
        "CLOSE",
        "UNSELECT",
        "IDLE",
    ];

    fn command() -> impl Strategy<Value = Vec<u8>> {
        let template =
            (0..TEMPLATES.len(), 0u32..12, 0u32..12, any::<bool>()).prop_map(|(i, a, b, star)| {
                let set = if star {
                    format!("{a}:*")
                } else {
                    format!("{a}:{b}")
                };
                format!("t {}", TEMPLATES[i].replace("{set}", &set)).into_bytes()
            });
        let junk = prop::collection::vec(any::<u8>(), 0..64).prop_map(|mut v| {
            v.splice(0..0, b"t ".iter().copied());
            v
        });
        prop_oneof![8 => template, 1 => junk]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn random_command_sequences_never_panic_a_session(cmds in prop::collection::vec(command(), 1..16)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let (_dir, mut s) = super::session(true, false);
                let store: Store = s.ctx.store.clone();
                store.domain_add("example.org").await.expect("domain");
                let id = store
                    .user_add(NewUser {
                        address: "ann@example.org".into(),
                        display_name: String::new(),
                        password_hash: String::new(),
                        quota_bytes: Some(4096),
                        quota_messages: Some(5),
                    })
                    .await
                    .expect("user");
                s.user = Some(Principal { user_id: id.0, address: "ann@example.org".into() });
                s.state = State::Authenticated;
                let mut out = Vec::new();
                for c in cmds {
                    let flow = match parse_command(&c, &s.parse_options()) {
                        Ok(cmd) => s.command(cmd, &mut out).await,
                        Err(e) => s.bad(e.tag.clone(), &e.message(), &mut out),
                    };
                    if flow == Flow::Close {
                        break;
                    }
                    if let Flow::Idle(tag) = flow {
                        s.idle_done(tag, &mut out).await;
                    }
                }
                // Every response line is CRLF-terminated.
                prop_assert!(out.is_empty() || out.ends_with(b"\r\n"));
                Ok(())
            })?;
        }
    }
}
