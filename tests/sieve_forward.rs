//! Mail that leaves again because of a user's rules (issue 16): vacation
//! replies (RFC 5230) sent from `<>` through the queue to a recording SMTP
//! server, once per sender and never to lists, bulk, automatic mail or the
//! null sender; forwarding by an alias and by Sieve `redirect` to a second
//! Postern, whose SPF check passes against the records `domain dns`
//! prints because the envelope sender is an SRS address of ours; a bounce
//! to that address reaches the original sender, a forged one is refused.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::imap::expect_all;
use crate::mailauth::txt_records;
use crate::outbound::{sender, wait_queue_empty};
use crate::sieve::activate;
use crate::smtp::{inbox, mail_env_with, python};
use crate::support::dns::TestDns;
use crate::support::sink::{Sink, SinkOpts};

const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;

#[tokio::test]
async fn vacation_replies_once_per_sender_and_never_to_lists_bulk_auto_or_null() {
    let dns = TestDns::start();
    let sink = Sink::start(SinkOpts::default(), &["mx.remote.test"]);
    dns.mx("remote.test", 10, "mx.remote.test");
    dns.a("mx.remote.test", LOCAL);
    let (env, server) = sender(&dns, sink.port, "[mailauth]\nverify = false\n");
    let text = env.data().join("away.txt");
    std::fs::write(&text, "I am away until Monday.\n.\nBack soon.\n").expect("write");
    let on = env.ok(&[
        "user",
        "vacation",
        "ann@example.org",
        "--on",
        "--subject",
        "Away",
        "--message",
        text.to_str().expect("utf-8 path"),
        "--days",
        "1",
    ]);
    assert!(on.contains("vacation reply on for ann@example.org"), "{on}");
    let send = |from: &str, extra: &str, id: &str| {
        format!(
            "print('{id}', code(m.sendmail, '{from}', ['ann@example.org'], \
             'From: <{from}>\\r\\nTo: ann@example.org\\r\\n{extra}Subject: question {id}\\r\\n\
Message-ID: <{id}@remote.test>\\r\\n\\r\\nAre you there?\\r\\n') or 'sent')\n"
        )
    };
    let script = [
        send("x@remote.test", "", "first"),
        send("x@remote.test", "", "second"),
        send(
            "list@remote.test",
            "List-Id: <news.remote.test>\\r\\n",
            "list",
        ),
        send("bulk@remote.test", "Precedence: bulk\\r\\n", "bulk"),
        send(
            "auto@remote.test",
            "Auto-Submitted: auto-generated\\r\\n",
            "auto",
        ),
        send("", "", "null"),
        send("y@remote.test", "", "other"),
    ]
    .concat();
    let out = python(&env, &server, &format!("m = mx()\n{script}m.quit()\n"));
    expect_all(&out, &["first sent", "null sent", "other sent"]);
    assert_eq!(
        inbox(&env.data(), "ann@example.org").await.len(),
        7,
        "all kept"
    );
    wait_queue_empty(&env);
    let txs = sink.txs();
    let mut to: Vec<&str> = txs.iter().map(|t| t.rcpts[0].as_str()).collect();
    to.sort();
    assert_eq!(
        to,
        ["RCPT TO:<x@remote.test>", "RCPT TO:<y@remote.test>"],
        "{txs:?}"
    );
    let reply = txs
        .iter()
        .find(|t| t.rcpts[0].contains("x@remote.test"))
        .expect("reply to x");
    assert!(reply.mail.starts_with("MAIL FROM:<>"), "{}", reply.mail);
    let data = String::from_utf8_lossy(&reply.data);
    for want in [
        "Auto-Submitted: auto-replied",
        "In-Reply-To: <first@remote.test>",
        "References: <first@remote.test>",
        "Subject: Away",
        "DKIM-Signature:",
        "I am away until Monday.",
        "Back soon.",
    ] {
        assert!(data.contains(want), "missing {want:?} in\n{data}");
    }
    let off = env.ok(&["user", "vacation", "ann@example.org", "--off"]);
    assert!(off.contains("vacation reply off"), "{off}");
    assert!(
        env.ok(&["user", "vacation", "ann@example.org"])
            .contains(": off")
    );
}

#[tokio::test]
async fn forwarded_mail_carries_an_srs_sender_that_passes_spf_and_its_bounce_comes_back() {
    let dns = TestDns::start();
    // The outside Postern: other.test, user dan, checking SPF.
    let recv = crate::support::Env::with_config(&dns.config());
    recv.ok(&["domain", "add", "other.test"]);
    recv.ok_with(&["user", "add", "dan@other.test"], "dan password\n");
    let receiver = recv.serve();
    dns.mx("other.test", 10, "mx.other.test");
    dns.a("mx.other.test", LOCAL);
    // Ours: example.org, whose MX is this host, as its SPF ("mx") needs.
    let (env, server) = mail_env_with(&format!(
        "{}[outbound]\nport = {}\n[mailauth]\nverify = false\n",
        dns.config(),
        receiver.port("smtp")
    ));
    dns.mx("example.org", 10, "mx.example.org");
    dns.a("mx.example.org", LOCAL);
    for (owner, value) in txt_records(&env.ok(&["domain", "dns", "example.org"])) {
        dns.txt(&owner, &value);
    }
    env.ok(&["alias", "add", "fwd@example.org", "dan@other.test"]);
    activate(
        &env,
        "bob@example.org",
        "away",
        "redirect \"dan@other.test\";\n",
    )
    .await;
    let out = python(
        &env,
        &server,
        "m = mx()\n\
         for to in ['fwd@example.org', 'bob@example.org']:\n\
         \x20   print(to, code(m.sendmail, 'cat@example.net', [to], \
         'From: cat@example.net\\r\\nSubject: via ' + to + '\\r\\n\\r\\nhello\\r\\n') or 'sent')\n\
         m.quit()\n",
    );
    expect_all(&out, &["fwd@example.org sent", "bob@example.org sent"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let msgs = loop {
        let m = inbox(&recv.data(), "dan@other.test").await;
        if m.len() >= 2 {
            break m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not forwarded; queue:\n{}",
            env.ok(&["queue", "list"])
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        inbox(&env.data(), "bob@example.org").await.is_empty(),
        "redirected, not kept"
    );
    let mut srs = String::new();
    for m in &msgs {
        let text = String::from_utf8_lossy(m);
        let rp = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("Return-Path: <"))
            .and_then(|l| l.strip_suffix('>'))
            .expect("Return-Path first");
        assert!(
            rp.starts_with("SRS0=") && rp.ends_with("=example.net=cat@example.org"),
            "{rp}"
        );
        assert!(text.contains("spf=pass"), "{text}");
        assert!(
            text.contains("From: cat@example.net\r\nSubject: via "),
            "{text}"
        );
        srs = rp.to_string();
    }
    // The bounce to the SRS address goes to cat; a forged one and a
    // non-bounce are refused at RCPT.
    let forged = srs
        .replacen("SRS0=", "SRS0=0", 1)
        .replacen("=cat@", "=eve@", 1);
    let out = python(
        &env,
        &server,
        &format!(
            "m = mx()\n\
             print('bounce', code(m.sendmail, '', ['{srs}'], 'From: MAILER-DAEMON@other.test\\r\\nSubject: Undelivered\\r\\n\\r\\nbounced\\r\\n') or 'sent')\n\
             print(code(m.docmd, 'MAIL', 'FROM:<>'))\n\
             print('forged', code(m.docmd, 'RCPT', 'TO:<{forged}>'))\n\
             m.docmd('RSET')\n\
             print(code(m.docmd, 'MAIL', 'FROM:<x@sender.test>'))\n\
             print('not a bounce', code(m.docmd, 'RCPT', 'TO:<{srs}>'))\n\
             m.quit()\n"
        ),
    );
    expect_all(
        &out,
        &["bounce sent", "forged 550 5.1.1", "not a bounce 550 5.7.1"],
    );
    let cat = inbox(&env.data(), "cat@example.net").await;
    assert_eq!(cat.len(), 1, "the bounce reached the original sender");
    assert!(String::from_utf8_lossy(&cat[0]).contains("Subject: Undelivered"));
}
