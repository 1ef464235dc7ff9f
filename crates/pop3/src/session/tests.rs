//! Session tests without sockets, over a real store in a temp directory:
//! CAPA per state and TLS, a whole session, each bad input answered with
//! `-ERR` and the session going on, the error limit, the lock, and random
//! command sequences that never panic and never remove without QUIT.

use std::sync::Arc;

use postern_auth::{AuthConfig, Directory, MemoryBackend, Secret, hash_password_cheap_for_tests};
use postern_store::{DeliveryTarget, Flags, NewMessage, NewUser, Store, StoreOptions, UserId};

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    ctx: Context,
    user: UserId,
}

async fn fixture(cfg: Pop3Config, messages: usize) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), StoreOptions::default()).expect("store");
    store.domain_add("example.org").await.expect("domain");
    let user = store
        .user_add(NewUser {
            address: "ann@example.org".into(),
            display_name: String::new(),
            password_hash: String::new(),
            quota_bytes: None,
            quota_messages: None,
        })
        .await
        .expect("user");
    let backend = MemoryBackend::new();
    backend.add_domain("example.org");
    let hash = hash_password_cheap_for_tests(&Secret::new("pw".to_string())).expect("hash");
    let id = backend.add_user("ann@example.org", "", &hash);
    assert_eq!(id, user.0, "the directory and the store agree on the id");
    for i in 1..=messages {
        store
            .deliver(
                NewMessage {
                    raw: format!("Subject: m{i}\r\n\r\nline 1\r\n.dot\r\nline 3\r\n").into_bytes(),
                    internal_date: None,
                    flags: Flags::default(),
                },
                vec![DeliveryTarget::inbox(user)],
            )
            .await
            .expect("deliver");
    }
    let ctx = Context {
        cfg: Arc::new(cfg),
        store,
        directory: Directory::new(Arc::new(backend), AuthConfig::default()),
        starttls: true,
        maildrops: Maildrops::default(),
    };
    Fixture {
        _dir: dir,
        ctx,
        user,
    }
}

fn session(f: &Fixture, tls: bool) -> Session {
    Session::new(f.ctx.clone(), "127.0.0.1:5000".parse().expect("addr"), tls)
}

/// A TLS session logged in as ann, in TRANSACTION.
async fn logged_in(f: &Fixture) -> Session {
    let mut s = session(f, true);
    ok(&mut s, "USER ann@example.org").await;
    ok(&mut s, "PASS pw").await;
    s
}

/// Sends one line; returns the response text and the flow.
async fn say(s: &mut Session, line: &str) -> (String, Flow) {
    let mut out = Vec::new();
    let flow = s.command(format!("{line}\r\n").as_bytes(), &mut out).await;
    // As the driver does: a long listing is asked for piece by piece.
    while s.listing_pending() {
        s.more(&mut out);
    }
    (String::from_utf8_lossy(&out).into_owned(), flow)
}

async fn ok(s: &mut Session, line: &str) -> String {
    let (text, flow) = say(s, line).await;
    assert!(text.starts_with("+OK"), "{line}: {text}");
    assert_eq!(flow, Flow::Continue, "{line}");
    text
}

async fn inbox_count(f: &Fixture) -> usize {
    inbox_uids(f).await.1.len()
}

/// The user's INBOX and its UIDs, from the store.
async fn inbox_uids(f: &Fixture) -> (postern_store::MailboxId, Vec<postern_store::Uid>) {
    let mb = f
        .ctx
        .store
        .mailbox_get(f.user, "INBOX")
        .await
        .expect("get")
        .expect("inbox");
    let uids = f
        .ctx
        .store
        .messages(mb.id)
        .await
        .expect("list")
        .iter()
        .map(|m| m.uid)
        .collect();
    (mb.id, uids)
}

#[tokio::test]
async fn capa_offers_login_only_where_it_is_allowed() {
    let f = fixture(Pop3Config::default(), 0).await;
    let plain = ok(&mut session(&f, false), "CAPA").await;
    assert!(
        plain.contains("STLS\r\n") && !plain.contains("USER\r\n"),
        "{plain}"
    );
    assert!(!plain.contains("SASL"), "{plain}");
    assert!(
        plain.contains("\r\nEXPIRE NEVER\r\n") && !plain.contains("LOGIN-DELAY"),
        "{plain}"
    );
    let tls = ok(&mut session(&f, true), "CAPA").await;
    for c in [
        "TOP",
        "UIDL",
        "USER",
        "SASL PLAIN LOGIN",
        "RESP-CODES",
        "AUTH-RESP-CODE",
        "PIPELINING",
    ] {
        assert!(tls.contains(&format!("\r\n{c}\r\n")), "{c} in {tls}");
    }
    assert!(!tls.contains("STLS"), "{tls}");
    let (text, _) = say(&mut session(&f, false), "USER ann@example.org").await;
    assert!(text.starts_with("-ERR [AUTH] Plaintext"), "{text}");

    let f = fixture(
        Pop3Config {
            plaintext_on_loopback: true,
            login_delay: std::time::Duration::from_secs(900),
            ..Pop3Config::default()
        },
        0,
    )
    .await;
    let loopback = ok(&mut session(&f, false), "CAPA").await;
    assert!(
        loopback.contains("USER\r\n") && loopback.contains("LOGIN-DELAY 900\r\n"),
        "{loopback}"
    );
}

#[tokio::test]
async fn a_whole_session_lists_reads_deletes_and_removes_at_quit() {
    let f = fixture(Pop3Config::default(), 3).await;
    let mut s = session(&f, true);
    ok(&mut s, "USER ann@example.org").await;
    let login = ok(&mut s, "PASS pw").await;
    assert!(login.contains("3 messages"), "{login}");
    let size = "Subject: m1\r\n\r\nline 1\r\n.dot\r\nline 3\r\n".len();
    assert_eq!(ok(&mut s, "STAT").await, format!("+OK 3 {}\r\n", size * 3));
    let list = ok(&mut s, "LIST").await;
    assert!(
        list.ends_with(&format!("1 {size}\r\n2 {size}\r\n3 {size}\r\n.\r\n")),
        "{list}"
    );
    let uidl = ok(&mut s, "UIDL 2").await;
    let mb = f
        .ctx
        .store
        .mailbox_get(f.user, "INBOX")
        .await
        .expect("get")
        .expect("inbox");
    assert_eq!(uidl, format!("+OK 2 00000002{:08X}\r\n", mb.uidvalidity.0));
    assert_eq!(
        ok(&mut s, "RETR 1").await,
        format!("+OK {size} octets\r\nSubject: m1\r\n\r\nline 1\r\n..dot\r\nline 3\r\n.\r\n")
    );
    assert_eq!(
        ok(&mut s, "TOP 2 1").await,
        "+OK Top of message follows\r\nSubject: m2\r\n\r\nline 1\r\n.\r\n"
    );
    ok(&mut s, "DELE 1").await;
    ok(&mut s, "DELE 3").await;
    assert_eq!(ok(&mut s, "STAT").await, format!("+OK 1 {size}\r\n"));
    ok(&mut s, "RSET").await;
    assert_eq!(ok(&mut s, "STAT").await, format!("+OK 3 {}\r\n", size * 3));
    ok(&mut s, "DELE 2").await;
    assert_eq!(inbox_count(&f).await, 3, "nothing removed before QUIT");
    let (bye, flow) = say(&mut s, "QUIT").await;
    assert_eq!(flow, Flow::Close);
    assert!(
        bye.starts_with("+OK Bye: 1 messages removed, 2 left"),
        "{bye}"
    );
    assert_eq!(inbox_count(&f).await, 2);
}

#[tokio::test]
async fn bad_input_gets_err_and_the_session_goes_on() {
    let f = fixture(
        Pop3Config {
            max_errors: 100,
            ..Pop3Config::default()
        },
        2,
    )
    .await;
    let mut s = session(&f, true);
    for (line, want) in [
        ("STAT", "-ERR Not logged in"),
        ("PASS pw", "-ERR Send USER first"),
        ("XYZZY", "-ERR Unknown command"),
        ("APOP ann 0123456789abcdef", "-ERR Unknown command"),
        ("AUTH CRAM-MD5", "-ERR Unsupported mechanism"),
        ("AUTH PLAIN !!!", "-ERR Invalid base64"),
        ("STLS", "-ERR TLS is already active"),
    ] {
        let (text, flow) = say(&mut s, line).await;
        assert!(text.starts_with(want), "{line}: {text}");
        assert_eq!(flow, Flow::Continue);
    }
    ok(&mut s, "USER ann@example.org").await;
    let (text, _) = say(&mut s, "PASS wrong").await;
    assert!(
        text.starts_with("-ERR [AUTH] Authentication failed"),
        "{text}"
    );
    // AUTH PLAIN with an initial response: \0ann@example.org\0pw.
    let (text, _) = say(&mut s, "AUTH PLAIN AGFubkBleGFtcGxlLm9yZwBwdw==").await;
    assert!(text.starts_with("+OK Logged in, 2 messages"), "{text}");
    ok(&mut s, "DELE 2").await;
    for (line, want) in [
        (
            "RETR 0",
            "-ERR Invalid message number: messages are numbered from 1",
        ),
        ("RETR -1", "-ERR Invalid message number: not a number"),
        ("RETR 3", "-ERR No such message: 3 (maildrop has 2)"),
        ("RETR 99999999999", "-ERR Invalid message number: too large"),
        ("DELE 2", "-ERR Message 2 is already deleted"),
        ("LIST 2", "-ERR Message 2 is already deleted"),
        ("TOP 1", "-ERR Missing argument: number of lines"),
        ("TOP 1 -1", "-ERR Invalid number of lines: not a number"),
        ("TOP 1 x y", "-ERR Too many arguments for TOP"),
        ("USER bob", "-ERR Already logged in"),
        ("STLS", "-ERR Already logged in"),
        ("RETR\x001", "-ERR NUL byte in command"),
    ] {
        let (text, flow) = say(&mut s, line).await;
        assert!(text.starts_with(want), "{line}: {text}");
        assert_eq!(flow, Flow::Continue);
    }
    let mut out = Vec::new();
    assert_eq!(s.line_too_long(&mut out), Flow::Continue);
    assert_eq!(out, b"-ERR Line too long\r\n");
    assert!(ok(&mut s, "RETR 1").await.contains("Subject: m1"));
    assert_eq!(inbox_count(&f).await, 2);
}

#[tokio::test]
async fn auth_login_asks_for_the_user_then_the_password_and_star_cancels() {
    let f = fixture(Pop3Config::default(), 1).await;
    let mut s = session(&f, true);
    let mut out = Vec::new();
    assert_eq!(s.command(b"AUTH LOGIN\r\n", &mut out).await, Flow::Sasl);
    assert_eq!(s.sasl_line(b"*\r\n", &mut out).await, Flow::Continue);
    assert_eq!(s.command(b"AUTH LOGIN\r\n", &mut out).await, Flow::Sasl);
    // "ann@example.org", then "pw".
    assert_eq!(
        s.sasl_line(b"YW5uQGV4YW1wbGUub3Jn\r\n", &mut out).await,
        Flow::Sasl
    );
    assert_eq!(s.sasl_line(b"cHc=\r\n", &mut out).await, Flow::Continue);
    let text = String::from_utf8_lossy(&out);
    assert_eq!(
        text,
        "+ VXNlcm5hbWU6\r\n-ERR Authentication cancelled\r\n+ VXNlcm5hbWU6\r\n\
         + UGFzc3dvcmQ6\r\n+OK Logged in, 1 messages (37 octets)\r\n"
    );
    // With the user name as initial response, only the password is asked.
    let mut s = session(&f, true);
    let mut out = Vec::new();
    assert_eq!(
        s.command(b"AUTH LOGIN YW5uQGV4YW1wbGUub3Jn\r\n", &mut out)
            .await,
        Flow::Sasl
    );
    assert_eq!(out, b"+ UGFzc3dvcmQ6\r\n");
}

#[tokio::test]
async fn a_message_expunged_after_it_was_read_ahead_is_gone_for_retr() {
    let f = fixture(Pop3Config::default(), 5).await;
    let mut s = logged_in(&f).await;
    ok(&mut s, "RETR 1").await;
    // In order: 2 comes with 3, 4 and 5 read ahead.
    assert!(ok(&mut s, "RETR 2").await.contains("Subject: m2"));
    let (mb, uids) = inbox_uids(&f).await;
    f.ctx
        .store
        .expunge(mb, postern_store::ExpungeWhich::Uids(vec![uids[3]]))
        .await
        .expect("expunge");
    assert!(ok(&mut s, "RETR 3").await.contains("Subject: m3"));
    let (text, flow) = say(&mut s, "RETR 4").await;
    assert_eq!(text, "-ERR Message 4 was removed by another session\r\n");
    assert_eq!(flow, Flow::Continue);
    let (text, _) = say(&mut s, "TOP 4 0").await;
    assert!(text.starts_with("-ERR Message 4 was removed"), "{text}");
    assert!(ok(&mut s, "TOP 5 0").await.contains("Subject: m5"));
    assert!(ok(&mut s, "RETR 5").await.contains("Subject: m5"));
    // Out of order again: read from the store one at a time.
    assert!(ok(&mut s, "RETR 1").await.contains("Subject: m1"));
    ok(&mut s, "DELE 4").await;
    let (bye, _) = say(&mut s, "QUIT").await;
    assert!(
        bye.starts_with("+OK Bye: 0 messages removed, 4 left"),
        "{bye}"
    );
}

#[tokio::test]
async fn reading_in_order_through_many_read_aheads_stays_coherent_with_expunges() {
    let f = fixture(Pop3Config::default(), 60).await;
    let mut s = logged_in(&f).await;
    let (mb, uids) = inbox_uids(&f).await;
    for n in 1..=60usize {
        if n == 10 {
            // Ahead of the reader now: in its read-ahead, in the background
            // read, or not read yet.
            let gone = vec![uids[11], uids[19], uids[29], uids[49]];
            f.ctx
                .store
                .expunge(mb, postern_store::ExpungeWhich::Uids(gone))
                .await
                .expect("expunge");
        }
        let (text, flow) = say(&mut s, &format!("RETR {n}")).await;
        assert_eq!(flow, Flow::Continue);
        if [12, 20, 30, 50].contains(&n) {
            assert_eq!(
                text,
                format!("-ERR Message {n} was removed by another session\r\n")
            );
        } else {
            assert!(
                text.starts_with("+OK") && text.contains(&format!("Subject: m{n}\r\n")),
                "{n}: {text}"
            );
        }
    }
}

#[tokio::test]
async fn retr_from_the_read_ahead_is_byte_for_byte_retr_from_the_store() {
    let f = fixture(Pop3Config::default(), 40).await;
    let mut s = logged_in(&f).await;
    // In order: from the second RETR on, messages are read ahead; every
    // other one has its answer built while "the driver waits".
    let mut in_order = Vec::new();
    for n in 1..=40 {
        in_order.push(ok(&mut s, &format!("RETR {n}")).await);
        if n % 2 == 0 {
            s.prepare();
        }
    }
    let raw = "Subject: m7\r\n\r\nline 1\r\n.dot\r\nline 3\r\n";
    assert_eq!(
        in_order[6],
        format!(
            "+OK {} octets\r\nSubject: m7\r\n\r\nline 1\r\n..dot\r\nline 3\r\n.\r\n",
            raw.len()
        )
    );
    // Backwards: each one read from the store alone.
    for n in (1..=40).rev() {
        assert_eq!(
            ok(&mut s, &format!("RETR {n}")).await,
            in_order[n - 1],
            "{n}"
        );
    }
    // Pipelined: answers built ahead go after what is pending.
    for n in 1..=3 {
        ok(&mut s, &format!("RETR {n}")).await;
    }
    let mut out = Vec::new();
    for n in 4..=6 {
        s.prepare();
        let flow = s
            .command(format!("RETR {n}\r\n").as_bytes(), &mut out)
            .await;
        assert_eq!(flow, Flow::Continue);
    }
    assert_eq!(String::from_utf8_lossy(&out), in_order[3..6].concat());
}

#[tokio::test]
async fn too_many_errors_close_the_session() {
    let f = fixture(
        Pop3Config {
            max_errors: 3,
            ..Pop3Config::default()
        },
        0,
    )
    .await;
    let mut s = session(&f, true);
    assert_eq!(say(&mut s, "NOPE").await.1, Flow::Continue);
    assert_eq!(say(&mut s, "NOPE").await.1, Flow::Continue);
    let (text, flow) = say(&mut s, "NOPE").await;
    assert_eq!(flow, Flow::Close);
    assert_eq!(text, "-ERR Unknown command; too many errors, closing\r\n");
}

#[tokio::test]
async fn a_second_login_is_in_use_until_the_first_session_ends() {
    let f = fixture(Pop3Config::default(), 1).await;
    let mut a = session(&f, true);
    ok(&mut a, "USER ann@example.org").await;
    ok(&mut a, "PASS pw").await;
    let mut b = session(&f, true);
    ok(&mut b, "USER ann@example.org").await;
    let (text, flow) = say(&mut b, "PASS pw").await;
    assert_eq!(
        text,
        "-ERR [IN-USE] Maildrop is in use by another POP3 session\r\n"
    );
    assert_eq!(flow, Flow::Continue);
    ok(&mut a, "DELE 1").await;
    drop(a); // a dropped connection: no UPDATE
    assert_eq!(inbox_count(&f).await, 1);
    ok(&mut b, "USER ann@example.org").await;
    assert!(ok(&mut b, "PASS pw").await.contains("1 messages"));
}

#[tokio::test]
async fn retr_sets_seen_only_when_configured() {
    for (on, want) in [(false, false), (true, true)] {
        let f = fixture(
            Pop3Config {
                retr_sets_seen: on,
                ..Pop3Config::default()
            },
            1,
        )
        .await;
        let mut s = logged_in(&f).await;
        ok(&mut s, "RETR 1").await;
        say(&mut s, "QUIT").await;
        let (mb, _) = inbox_uids(&f).await;
        let m = &f.ctx.store.messages(mb).await.expect("list")[0];
        assert_eq!(
            m.flags.system.contains(postern_store::SystemFlags::SEEN),
            want,
            "retr_sets_seen = {on}"
        );
    }
}

mod random {
    use proptest::prelude::*;

    use super::*;

    const TEMPLATES: &[&str] = &[
        "STAT",
        "LIST",
        "LIST {n}",
        "UIDL",
        "UIDL {n}",
        "RETR {n}",
        "TOP {n} {n}",
        "DELE {n}",
        "RSET",
        "NOOP",
        "CAPA",
        "USER ann@example.org",
        "PASS pw",
        "PASS nope",
        "STLS",
        "AUTH",
        "AUTH PLAIN",
        "AUTH LOGIN",
        "AUTH PLAIN =",
        "*",
        "TOP {n}",
        "LIST {n} {n}",
    ];

    fn line() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (0..TEMPLATES.len(), prop::collection::vec(0i64..6, 2)).prop_map(|(t, ns)| {
                let mut s = TEMPLATES[t].to_string();
                for n in ns {
                    s = s.replacen("{n}", &n.to_string(), 1);
                }
                s.into_bytes()
            }),
            prop::collection::vec(any::<u8>(), 0..40),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn random_lines_never_panic_and_never_remove_without_quit(
            lines in prop::collection::vec(line(), 1..24)
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let f = fixture(Pop3Config { max_errors: 1000, ..Pop3Config::default() }, 3).await;
                let mut s = session(&f, true);
                let mut out = Vec::new();
                ok(&mut s, "USER ann@example.org").await;
                ok(&mut s, "PASS pw").await;
                let mut sasl = false;
                for mut l in lines {
                    l.extend_from_slice(b"\r\n");
                    let flow = if sasl {
                        s.sasl_line(&l, &mut out).await
                    } else {
                        s.command(&l, &mut out).await
                    };
                    sasl = flow == Flow::Sasl;
                    assert!(flow != Flow::Close, "only QUIT closes, and it is not generated");
                }
                drop(s);
                assert_eq!(inbox_count(&f).await, 3);
            });
        }
    }
}

#[tokio::test]
async fn a_long_listing_comes_in_pieces_that_add_up_to_it() {
    let f = fixture(Pop3Config::default(), 30).await;
    let mut s = logged_in(&f).await;
    ok(&mut s, "DELE 7").await;
    for (verb, header) in [("LIST", "+OK 29 messages"), ("UIDL", "+OK Unique-id")] {
        let mut out = Vec::new();
        let flow = s.command(format!("{verb}\r\n").as_bytes(), &mut out).await;
        assert_eq!(flow, Flow::Continue);
        let mut pieces = 1;
        let mut piece = out.len();
        while s.listing_pending() {
            // Each piece stops soon after the piece size, never at the end.
            assert!(
                piece < 2 * super::maildrop::LISTING_PIECE,
                "{verb}: a piece too big"
            );
            assert!(!out.ends_with(b"\r\n.\r\n"), "{verb}: ended yet pending");
            pieces += 1;
            let mut next = Vec::new();
            s.more(&mut next);
            piece = next.len();
            out.extend_from_slice(&next);
        }
        assert!(pieces >= 2, "{verb}: {pieces} pieces");
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with(header), "{text}");
        assert!(text.ends_with("\r\n.\r\n"), "{text}");
        let numbers: Vec<usize> = text
            .lines()
            .skip(1)
            .filter(|l| *l != ".")
            .map(|l| {
                l.split(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("number")
            })
            .collect();
        let want: Vec<usize> = (1..=30).filter(|&n| n != 7).collect();
        assert_eq!(numbers, want, "{verb}");
    }
    // The next command's answer follows a listing the driver left unfinished.
    let mut out = Vec::new();
    s.command(b"LIST\r\n", &mut out).await;
    assert!(s.listing_pending());
    s.command(b"NOOP\r\n", &mut out).await;
    assert!(!s.listing_pending());
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.ends_with("\r\n.\r\n+OK \r\n") || text.ends_with("\r\n.\r\n+OK\r\n"),
        "{text}"
    );
}

#[tokio::test]
async fn a_maildrop_over_max_messages_shows_its_oldest_and_then_the_rest() {
    let cfg = Pop3Config {
        max_messages: 3,
        ..Pop3Config::default()
    };
    let f = fixture(cfg, 5).await;
    let mut s = logged_in(&f).await;
    assert!(ok(&mut s, "STAT").await.starts_with("+OK 3 "));
    let first = ok(&mut s, "UIDL").await;
    assert_eq!(first.lines().count(), 5, "{first}");
    for n in 1..=3 {
        ok(&mut s, &format!("DELE {n}")).await;
    }
    say(&mut s, "QUIT").await;
    assert_eq!(inbox_count(&f).await, 2);
    let mut s = logged_in(&f).await;
    assert!(ok(&mut s, "STAT").await.starts_with("+OK 2 "));
    let second = ok(&mut s, "UIDL").await;
    for line in second.lines().skip(1).filter(|l| *l != ".") {
        let uidl = line.split(' ').nth(1).expect("uidl");
        assert!(!first.contains(uidl), "{uidl} listed twice");
    }
}
