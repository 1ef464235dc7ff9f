//! The IMAP transcript runner shared by the RFC-example tests (imap_rfc*.rs)
//! and the client-like sessions (imap_clients.rs): exact client lines and
//! patterns for the server's lines, played over raw TLS sockets against the
//! real server by `imap_transcript.py` (its header documents the format).

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::{self, Env, Server};

const RUNNER: &str = include_str!("imap_transcript.py");

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// Plays `transcript` against `server`; fails the test (printing the whole
/// exchange) when a step does not match. Returns the exchange.
pub fn play(env: &Env, server: &Server, transcript: &str) -> String {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let path = env.dir.path().join(format!("transcript-{n}.txt"));
    std::fs::write(&path, transcript).expect("write transcript");
    let out = support::python(env, server, RUNNER, &[("TRANSCRIPT", &path)]);
    assert!(
        out.contains("TRANSCRIPT DONE"),
        "runner stopped early:\n{out}"
    );
    out
}

/// Logs `user` in on the current connection (a setup step).
pub fn login(user: &str) -> String {
    let pw = format!("{} password", user.split('@').next().unwrap_or(user));
    format!("!C: s LOGIN {user} \"{pw}\"\n")
}

/// A message as literal text for a transcript (CRLF written `\r\n`): the
/// headers given, then an empty line and `body`.
pub fn message(headers: &[&str], body: &str) -> String {
    let mut s = String::new();
    for h in headers {
        s.push_str(h);
        s.push_str("\\r\\n");
    }
    s.push_str("\\r\\n");
    s.push_str(body);
    s.push_str("\\r\\n");
    s
}

/// A plain message from `from` with `subject` and a `Date:` header.
pub fn simple(from: &str, subject: &str, date: &str, body: &str) -> String {
    message(
        &[
            &format!("From: {from}"),
            "To: ann@example.org",
            &format!("Subject: {subject}"),
            &format!("Date: {date}"),
        ],
        body,
    )
}

/// A setup step APPENDing `msg` to `mailbox` with `flags` and an internal
/// date (`""` for now).
pub fn append(mailbox: &str, flags: &str, internal: &str, msg: &str) -> String {
    let date = if internal.is_empty() {
        String::new()
    } else {
        format!(" \"{internal}\"")
    };
    format!("!C: s APPEND {mailbox} ({flags}){date} <<lit+:{msg}>>\n")
}

/// A setup step that selects `mailbox` and leaves it, as another client
/// would have: the messages so far are then no longer `\Recent` (RFC 3501
/// §2.3.2), for examples written without it.
pub fn seen(mailbox: &str) -> String {
    format!("!C: s SELECT {mailbox}\n!C: s UNSELECT\n")
}

/// `count` small messages appended to INBOX, `Subject: 1` upwards, and
/// INBOX selected and left once (`seen`), so the examples need no
/// `\Recent`.
pub fn numbered(count: u32) -> String {
    let appends: String = (1..=count)
        .map(|i| {
            append(
                "INBOX",
                "",
                "",
                &format!("Subject: {i}\\r\\n\\r\\nbody {i}\\r\\n"),
            )
        })
        .collect();
    appends + &seen("INBOX")
}

/// A pattern for a line starting with `prefix` that names every capability
/// in `has` and none in `lacks` (space-separated), in any order, among others.
pub fn caps(prefix: &str, has: &str, lacks: &str) -> String {
    let esc = |c: &str| c.replace('+', "\\+").replace('.', "\\.");
    let mut re = String::new();
    for c in has.split_whitespace() {
        re.push_str(&format!("(?=.* {}(?:[ \\]]|$))", esc(c)));
    }
    for c in lacks.split_whitespace() {
        re.push_str(&format!("(?!.* {}(?:[ \\]]|$))", esc(c)));
    }
    format!("{prefix}<<{re}.*>>")
}

/// The runner itself: a wrong expectation, and a `BUG:` step that no longer
/// deviates, must both fail the test.
#[test]
fn transcript_runner_fails_on_a_mismatch_and_on_a_fixed_bug() {
    let (env, server) = crate::smtp::mail_env();
    let ok = "@a\nC: a1 NOOP\nS: a1 OK <<*>>\n";
    assert!(play(&env, &server, ok).contains("0 failures"));
    for bad in [
        "@a\nC: a1 NOOP\nS: a1 BAD <<*>>\n",
        "@a\nC: a1 NOOP\nS: * 1 EXISTS\nS: a1 OK <<*>>\n",
        "@a\nBUG: not a bug\nC: a1 NOOP\nS: a1 OK <<*>>\n",
    ] {
        let res =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| play(&env, &server, bad)));
        assert!(res.is_err(), "no failure for {bad:?}");
    }
}
