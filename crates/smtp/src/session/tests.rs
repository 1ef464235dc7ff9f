//! Session tests without sockets: what EHLO offers per port and TLS state,
//! what STARTTLS resets, the refusals that need no directory lookup, and
//! the junk-command limit.

use std::sync::Arc;

use postern_auth::{AuthConfig, Directory, MemoryBackend};
use postern_net::TlsInfo;
use postern_store::{Store, StoreOptions};

use super::*;
use crate::wire::Frame;

fn session(mode: Mode, tls: bool) -> (tempfile::TempDir, Session) {
    session_with(SmtpConfig::default(), mode, tls)
}

/// A session with `cfg` (its hostname is always mx.test).
fn session_with(cfg: SmtpConfig, mode: Mode, tls: bool) -> (tempfile::TempDir, Session) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), StoreOptions::default()).expect("store");
    let ctx = Context {
        cfg: Arc::new(SmtpConfig {
            hostname: "mx.test".into(),
            ..cfg
        }),
        store,
        directory: Directory::new(Arc::new(MemoryBackend::new()), AuthConfig::default()),
        starttls: true,
        queue_wake: Default::default(),
        delivery: None,
    };
    let info = tls.then(|| TlsInfo {
        version: "TLSv1.3".into(),
        cipher: "TLS13_AES_128_GCM_SHA256".into(),
    });
    (
        dir,
        Session::new(ctx, mode, "127.0.0.1:4000".parse().expect("addr"), info),
    )
}

async fn say(s: &mut Session, line: &str) -> Action {
    s.line(Frame::Line(line.as_bytes())).await
}

fn text(a: &Action) -> String {
    let r = match a {
        Action::Reply(r) | Action::ReadData(r) | Action::StartTls(r) | Action::Close(r) => r,
        Action::ReadChunk { .. } => return "chunk".into(),
    };
    let mut out = Vec::new();
    r.encode(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn ehlo_offers_auth_only_on_submission_over_tls_and_starttls_only_before_it() {
    for (mode, tls, starttls, auth) in [
        (Mode::Mx, false, true, false),
        (Mode::Mx, true, false, false),
        (Mode::Submission, false, true, false),
        (Mode::Submission, true, false, true),
    ] {
        let (_d, mut s) = session(mode, tls);
        let r = text(&say(&mut s, "EHLO client.test").await);
        assert!(r.starts_with("250-mx.test Hello client.test\r\n"), "{r}");
        assert_eq!(r.contains("STARTTLS"), starttls, "{mode:?} tls={tls}: {r}");
        assert_eq!(
            r.contains("AUTH PLAIN LOGIN"),
            auth,
            "{mode:?} tls={tls}: {r}"
        );
        for ext in [
            "PIPELINING",
            "SIZE 52428800",
            "8BITMIME",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
            "CHUNKING",
            "DSN",
        ] {
            assert!(r.contains(ext), "{ext} in {r}");
        }
    }
}

#[tokio::test]
async fn starttls_forgets_the_plaintext_greeting() {
    let (_d, mut s) = session(Mode::Mx, false);
    say(&mut s, "EHLO client.test").await;
    assert!(matches!(say(&mut s, "STARTTLS").await, Action::StartTls(_)));
    s.tls_started(TlsInfo {
        version: "TLSv1.3".into(),
        cipher: "x".into(),
    });
    let r = text(&say(&mut s, "MAIL FROM:<a@b.test>").await);
    assert!(r.starts_with("503 5.5.1 Send EHLO or HELO first"), "{r}");
    let again = text(&say(&mut s, "STARTTLS").await);
    assert!(again.starts_with("503 5.5.1"), "{again}");
}

#[tokio::test]
async fn the_greeting_and_helo_carry_no_enhanced_code_and_auth_is_refused_on_port_25() {
    let (_d, mut s) = session(Mode::Mx, true);
    let mut g = Vec::new();
    s.greeting().encode(&mut g);
    assert_eq!(g, b"220 mx.test ESMTP Postern\r\n");
    assert_eq!(
        text(&say(&mut s, "HELO client.test").await),
        "250 mx.test Hello client.test\r\n"
    );
    let r = text(&say(&mut s, "AUTH PLAIN").await);
    assert!(r.starts_with("502 5.5.1"), "{r}");
    assert!(text(&say(&mut s, "QUIT").await).starts_with("221 2.0.0"));
}

#[tokio::test]
async fn too_many_errors_close_with_421() {
    let (_d, mut s) = session(Mode::Mx, false);
    let mut last = Action::Reply(crate::wire::Reply::new(250, (2, 0, 0), "x"));
    for _ in 0..SmtpConfig::default().max_errors {
        last = say(&mut s, "FROB").await;
    }
    assert!(matches!(last, Action::Close(_)), "{last:?}");
    assert!(text(&last).starts_with("421 4.7.0"));
}

#[tokio::test]
async fn rcpt_relay_is_550_5_7_1_and_the_transaction_goes_on() {
    // No local domains: every recipient is someone else's.
    let (_d, mut s) = session(Mode::Mx, false);
    say(&mut s, "EHLO client.test").await;
    assert!(text(&say(&mut s, "MAIL FROM:<a@b.test>").await).starts_with("250 2.1.0"));
    assert_eq!(
        text(&say(&mut s, "RCPT TO:<victim@remote.test>").await),
        "550 5.7.1 <victim@remote.test>: relay access denied\r\n"
    );
    assert!(
        text(&say(&mut s, "DATA").await).starts_with("554 5.5.1 No valid recipients"),
        "the transaction is still open"
    );
}

/// The default limits without the tarpit, so tests take no time.
fn no_tarpit() -> SmtpConfig {
    SmtpConfig {
        junk_max_delay: Duration::ZERO,
        ..SmtpConfig::default()
    }
}

#[tokio::test]
async fn junk_commands_past_100_close_with_421_4_7_0() {
    let (_d, mut s) = session_with(no_tarpit(), Mode::Mx, false);
    assert!(text(&say(&mut s, "EHLO client.test").await).starts_with("250"));
    let junk = [
        "NOOP",
        "RSET",
        "VRFY ann",
        "EXPN list",
        "HELP",
        "EHLO again.test",
        "HELO again.test",
    ];
    for i in 0..100 {
        let a = say(&mut s, junk[i % junk.len()]).await;
        assert!(!matches!(a, Action::Close(_)), "command {i}: {a:?}");
    }
    let last = say(&mut s, "NOOP").await;
    assert!(matches!(last, Action::Close(_)), "{last:?}");
    assert_eq!(
        text(&last),
        "421 4.7.0 mx.test Too many commands without mail, closing connection\r\n"
    );
}

#[tokio::test]
async fn the_first_greeting_and_the_one_after_starttls_are_not_junk() {
    let cfg = SmtpConfig {
        max_junk_commands: 1,
        ..no_tarpit()
    };
    let (_d, mut s) = session_with(cfg, Mode::Mx, false);
    say(&mut s, "EHLO client.test").await;
    say(&mut s, "STARTTLS").await;
    s.tls_started(TlsInfo {
        version: "TLSv1.3".into(),
        cipher: "x".into(),
    });
    assert!(text(&say(&mut s, "EHLO client.test").await).starts_with("250"));
    assert!(text(&say(&mut s, "MAIL FROM:<a@b.test>").await).starts_with("250"));
    assert!(
        text(&say(&mut s, "NOOP").await).starts_with("250"),
        "the one allowed"
    );
    assert!(text(&say(&mut s, "EHLO client.test").await).starts_with("421 4.7.0"));
}

#[test]
fn junk_replies_slow_down_step_by_step_up_to_the_cap() {
    let cfg = SmtpConfig::default();
    let ms = Duration::from_millis;
    for (junk, want) in [
        (1, ms(0)),
        (50, ms(0)),
        (51, ms(100)),
        (52, ms(200)),
        (59, ms(900)),
        (60, ms(1000)),
        (100, ms(1000)),
        (usize::MAX, ms(1000)),
    ] {
        assert_eq!(junk_delay(&cfg, junk), want, "junk command {junk}");
    }
    assert_eq!(junk_delay(&no_tarpit(), 99), Duration::ZERO);
}
