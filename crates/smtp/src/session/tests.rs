//! Session tests without sockets: what EHLO offers per port and TLS state,
//! what STARTTLS resets, and the refusals that need no directory lookup.

use std::sync::Arc;

use postern_auth::{AuthConfig, Directory, MemoryBackend};
use postern_net::TlsInfo;
use postern_store::{Store, StoreOptions};

use super::*;
use crate::wire::Frame;

fn session(mode: Mode, tls: bool) -> (tempfile::TempDir, Session) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), StoreOptions::default()).expect("store");
    let ctx = Context {
        cfg: Arc::new(SmtpConfig {
            hostname: "mx.test".into(),
            ..SmtpConfig::default()
        }),
        store,
        directory: Directory::new(Arc::new(MemoryBackend::new()), AuthConfig::default()),
        starttls: true,
        queue_wake: Default::default(),
        mailauth: None,
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
