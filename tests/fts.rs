//! The full-text index through the real server (issue 19): SEARCH BODY
//! and TEXT answer the same before the indexer has run (a message appended
//! just before the SEARCH), after it, and after an EXPUNGE, which drops
//! the message's row; `postern index rebuild` indexes every message again
//! and `postern index stats` says so; `[store] fts = false` still searches.

use std::time::{Duration, Instant};

use crate::imap_transcript::{append, login, message, play};
use crate::smtp::mail_env_with;
use crate::support::Env;

/// `postern index stats` as (indexed, queued).
fn stats(env: &Env) -> (u64, u64) {
    let out = env.ok(&["index", "stats"]);
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {out}"))
    };
    (field("indexed"), field("queued"))
}

/// Waits (bounded) until the server's indexer has `indexed` rows and an
/// empty queue.
fn wait_indexed(env: &Env, indexed: u64) {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let s = stats(env);
        if s == (indexed, 0) {
            return;
        }
        assert!(
            Instant::now() < until,
            "index stuck at {s:?}, want {indexed}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn three_messages() -> String {
    let mut t = String::new();
    let msgs = [
        message(&["Subject: Harbour plans"], "Meet at the Straße corner"),
        message(&["Subject: lunch"], "the harbourmaster said NOON"),
        message(
            &[
                "Subject: report",
                "Content-Type: text/plain; charset=iso-8859-1",
                "Content-Transfer-Encoding: quoted-printable",
            ],
            "caf=E9 au lait",
        ),
    ];
    for m in msgs {
        t.push_str(&append("INBOX", "", "", &m));
    }
    t
}

/// The searches whose answers must not depend on the index.
const SEARCHES: &str = r#"
!C: s SELECT INBOX
C: a1 UID SEARCH TEXT harbour
S: * SEARCH 1 2
S: a1 OK <<*>>
C: a2 UID SEARCH BODY harbour
S: * SEARCH 2
S: a2 OK <<*>>
C: a3 UID SEARCH CHARSET UTF-8 BODY "CAFÉ"
S: * SEARCH 3
S: a3 OK <<*>>
C: a4 UID SEARCH OR BODY strasse BODY "noon"
S: * SEARCH 2
S: a4 OK <<*>>
C: a5 UID SEARCH NOT TEXT "ß"
S: * SEARCH 2 3
S: a5 OK <<*>>
C: a6 UID SEARCH TEXT "master said" NOT BODY plans
S: * SEARCH 2
S: a6 OK <<*>>
"#;

#[test]
fn search_answers_the_same_before_and_after_indexing_and_expunge_drops_the_row() {
    let (env, server) = mail_env_with("[store]\nfts = true\n");
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    t.push_str(&three_messages());
    // Straight after the APPENDs: some or all not indexed yet.
    t.push_str(SEARCHES);
    play(&env, &server, &t);

    wait_indexed(&env, 3);
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    t.push_str(SEARCHES);
    t.push_str(
        r#"C: e1 UID STORE 2 +FLAGS.SILENT (\Deleted)
S: e1 OK <<*>>
C: e2 EXPUNGE
S: * 2 EXPUNGE
S: e2 OK <<*>>
C: e3 UID SEARCH TEXT harbour
S: * SEARCH 1
S: e3 OK <<*>>
"#,
    );
    play(&env, &server, &t);
    wait_indexed(&env, 2);
}

#[test]
fn index_rebuild_indexes_every_message_again() {
    let (env, server) = mail_env_with("[store]\nfts = true\n");
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    t.push_str(&three_messages());
    play(&env, &server, &t);
    wait_indexed(&env, 3);
    drop(server);

    let out = env.ok(&["index", "rebuild"]);
    assert!(out.contains("indexed 3 messages"), "{out}");
    assert_eq!(stats(&env), (3, 0));
    let out = env.ok(&["index", "rebuild", "ann@example.org"]);
    assert!(out.contains("indexed 3 messages"), "{out}");
    let out = env.ok(&["index", "rebuild", "bob@example.org"]);
    assert!(out.contains("indexed 0 messages"), "{out}");
    assert_eq!(stats(&env), (3, 0));

    let server = env.serve();
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    t.push_str(SEARCHES);
    play(&env, &server, &t);
}

#[test]
fn with_the_index_off_search_still_answers_and_nothing_is_indexed() {
    let (env, server) = mail_env_with("[store]\nfts = false\n");
    let mut t = String::from("@a\n");
    t.push_str(&login("ann@example.org"));
    t.push_str(&three_messages());
    t.push_str(SEARCHES);
    play(&env, &server, &t);
    assert_eq!(stats(&env).0, 0);
    let out = env.fails(&["index", "rebuild"], "");
    assert!(out.contains("index is off"), "{out}");
}
