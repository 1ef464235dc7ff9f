//! Outbound delivery end to end: mail submitted to the real binary leaves
//! through its queue runner, found by MX lookups against a DNS server on
//! loopback, and arrives at a recording SMTP server (support::sink); bounces
//! come back into the sender's INBOX and are read over IMAP with imaplib.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::smtp::{inbox, mail_env_with, python};
use crate::support::dns::TestDns;
use crate::support::sink::{Sink, SinkOpts};
use crate::support::{Env, Server};

const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A loopback port that refuses connections: bound but not listening, and
/// held until the socket is dropped, so no other test's listener can take
/// it meanwhile (a port read from a listener and released could be, and
/// then the "refused" attempt meets that server instead).
pub(crate) fn refusing_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind((LOCAL, 0).into())
        .expect("bind a loopback port");
    let port = socket.local_addr().expect("addr").port();
    (socket, port)
}

/// The sending server: example.org users, DNS at `dns`, remote servers on
/// `port`, retries after about a second.
pub(crate) fn sender(dns: &TestDns, port: u16, extra: &str) -> (Env, Server) {
    mail_env_with(&format!(
        "{}[queue]\nfirst_retry_secs = 1\nmax_retry_secs = 1\nscan_interval_secs = 1\n\
         [outbound]\nport = {port}\ngreylist_retry_secs = 1\n{extra}",
        dns.config()
    ))
}

/// Submits one message as ann over 587 (STARTTLS + AUTH).
pub(crate) fn submit(env: &Env, server: &Server, rcpts: &[&str], subject: &str) {
    let list: Vec<String> = rcpts.iter().map(|r| format!("{r:?}")).collect();
    python(
        env,
        server,
        &format!(
            "s = sub()\n\
             s.sendmail('ann@example.org', [{}], 'From: ann@example.org\\r\\nTo: someone\\r\\nSubject: {subject}\\r\\n\\r\\nHello over there.\\r\\n.leading dot\\r\\n')\n\
             s.quit()\n",
            list.join(", ")
        ),
    );
}

/// Waits (bounded) until ann's INBOX holds `n` messages; returns them.
pub(crate) async fn wait_inbox(env: &Env, n: usize) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let msgs = inbox(&env.data(), "ann@example.org").await;
        if msgs.len() >= n {
            return msgs;
        }
        assert!(
            Instant::now() < deadline,
            "ann's INBOX has {} of {n} messages; queue:\n{}",
            msgs.len(),
            env.ok(&["queue", "list"])
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (bounded) until `postern queue list` says the queue is empty.
pub(crate) fn wait_queue_empty(env: &Env) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = env.ok(&["queue", "list"]);
        if out.contains("The queue is empty.") {
            return;
        }
        assert!(Instant::now() < deadline, "queue not empty:\n{out}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The first message of ann's INBOX fetched over IMAPS with imaplib.
fn imap_first(env: &Env, server: &Server) -> String {
    crate::support::python(
        env,
        server,
        r#"
import os, imaplib, ssl
ctx = ssl.create_default_context(cafile=os.environ["CERT"]); ctx.check_hostname = False
c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["IMAPS_PORT"]), ssl_context=ctx, timeout=10)
c.login("ann@example.org", "ann password")
c.select("INBOX")
typ, data = c.fetch("1", "(RFC822)")
print(data[0][1].decode("utf-8", "replace"))
c.logout()
"#,
        &[],
    )
}

/// A DNS server and a recording SMTP server that is remote.test's one MX
/// (mx.remote.test, on loopback).
pub(crate) fn remote_mx(opts: SinkOpts) -> (TestDns, Sink) {
    let dns = TestDns::start();
    let sink = Sink::start(opts, &["mx.remote.test"]);
    dns.mx("remote.test", 10, "mx.remote.test");
    dns.a("mx.remote.test", LOCAL);
    (dns, sink)
}

#[tokio::test]
async fn mail_goes_to_each_domains_mx_grouped_per_domain_over_starttls() {
    let dns = TestDns::start();
    let sink = Sink::start(
        SinkOpts {
            starttls: true,
            ..SinkOpts::default()
        },
        &["mx.remote.test"],
    );
    // remote.test: two MX hosts, the preferred one resolving to the sink;
    // other.test: no MX, so its own A record (implicit MX).
    dns.mx("remote.test", 10, "mx.remote.test");
    dns.mx("remote.test", 20, "backup.remote.test");
    dns.a("mx.remote.test", LOCAL);
    dns.a("other.test", LOCAL);
    let (env, server) = sender(&dns, sink.port, "");
    submit(
        &env,
        &server,
        &["x@remote.test", "y@remote.test", "z@other.test"],
        "grouped",
    );
    let txs = sink.wait_for(2, Duration::from_secs(30));
    assert_eq!(txs.len(), 2, "one transaction per domain: {txs:?}");
    let mut by_count: Vec<_> = txs.iter().map(|t| t.rcpts.len()).collect();
    by_count.sort();
    assert_eq!(by_count, [1, 2]);
    let remote = txs
        .iter()
        .find(|t| t.rcpts.len() == 2)
        .expect("remote.test");
    assert!(remote.rcpts.iter().any(|r| r.contains("<x@remote.test>")));
    assert!(remote.rcpts.iter().any(|r| r.contains("<y@remote.test>")));
    for t in &txs {
        assert!(t.tls, "STARTTLS was offered, so it was used");
        assert!(
            t.mail.starts_with("MAIL FROM:<ann@example.org>"),
            "{}",
            t.mail
        );
        let text = String::from_utf8_lossy(&t.data);
        assert!(text.contains("Subject: grouped"), "{text}");
        // Dot-stuffing survived the round trip.
        assert!(text.contains("\r\n.leading dot\r\n"), "{text}");
        assert!(text.contains("Received: "), "{text}");
        // RFC 5321 §4.4: no Return-Path on mail sent on.
        assert!(!text.contains("Return-Path:"), "{text}");
    }
    wait_queue_empty(&env);
    // Nothing came back to the sender.
    assert!(inbox(&env.data(), "ann@example.org").await.is_empty());
}

#[tokio::test]
async fn a_temporary_failure_is_retried_and_then_delivered() {
    let (dns, sink) = remote_mx(SinkOpts {
        rcpt_replies: vec!["451 4.3.0 Try again later".into()],
        ..SinkOpts::default()
    });
    let (env, server) = sender(&dns, sink.port, "");
    submit(&env, &server, &["x@remote.test"], "retry");
    let txs = sink.wait_for(1, Duration::from_secs(30));
    let log = sink.rcpt_log.lock().expect("log").clone();
    assert!(log.len() >= 2, "refused once, then accepted: {log:?}");
    assert!(log[0].1.starts_with("451"), "{log:?}");
    assert!(txs[0].rcpts[0].contains("<x@remote.test>"));
    wait_queue_empty(&env);
    assert!(inbox(&env.data(), "ann@example.org").await.is_empty());
}

#[tokio::test]
async fn a_permanent_failure_bounces_into_the_senders_inbox_readable_over_imap() {
    let (dns, sink) = remote_mx(SinkOpts {
        rcpt_replies: vec!["550 5.1.1 <nobody@remote.test>: no such user here".into()],
        ..SinkOpts::default()
    });
    let (env, server) = sender(&dns, sink.port, "");
    submit(&env, &server, &["nobody@remote.test"], "doomed");
    wait_inbox(&env, 1).await;
    wait_queue_empty(&env);
    assert!(sink.txs().is_empty(), "nothing was accepted");
    let dsn = imap_first(&env, &server);
    for want in [
        "From: Mail Delivery System <MAILER-DAEMON@mail.test>",
        "Subject: Undelivered Mail Returned to Sender",
        "Content-Type: multipart/report; report-type=delivery-status;",
        "Content-Type: message/delivery-status",
        "Reporting-MTA: dns; mail.test",
        "Final-Recipient: rfc822; nobody@remote.test",
        "Action: failed",
        "Status: 5.1.1",
        "Remote-MTA: dns; mx.remote.test",
        "Diagnostic-Code: smtp; 550 5.1.1 <nobody@remote.test>: no such user here",
        "Content-Type: message/rfc822",
        "Subject: doomed",
        "Return-Path: <>",
    ] {
        assert!(dsn.contains(want), "missing {want:?} in the bounce:\n{dsn}");
    }
}

#[tokio::test]
async fn a_null_mx_bounces_at_once_without_a_connection() {
    let dns = TestDns::start();
    let sink = Sink::start(SinkOpts::default(), &["mx.remote.test"]);
    dns.mx("nomail.test", 0, ".");
    // Long retries: a bounce within the test's wait can only be the
    // immediate one.
    let (env, server) = mail_env_with(&format!(
        "{}[queue]\nfirst_retry_secs = 3600\nmax_retry_secs = 3600\n[outbound]\nport = {}\n",
        dns.config(),
        sink.port
    ));
    submit(&env, &server, &["a@nomail.test"], "to nowhere");
    let msgs = wait_inbox(&env, 1).await;
    let dsn = String::from_utf8_lossy(&msgs[0]);
    assert!(dsn.contains("Action: failed"), "{dsn}");
    assert!(dsn.contains("Status: 5.1.10"), "{dsn}");
    assert!(dsn.contains("null MX"), "{dsn}");
    assert!(sink.rcpt_log.lock().expect("log").is_empty());
    wait_queue_empty(&env);
}

#[tokio::test]
async fn the_queue_survives_kill_9_between_acceptance_and_delivery() {
    let dns = TestDns::start();
    dns.mx("remote.test", 10, "mx.remote.test");
    dns.a("mx.remote.test", LOCAL);
    // A port with nothing listening yet: delivery fails until the sink starts.
    let (reserved, port) = refusing_port();
    let (env, server) = sender(&dns, port, "");
    submit(&env, &server, &["x@remote.test"], "survivor");
    // Accepted (250 came back to smtplib): now kill the server outright.
    server.kill9();
    let listed = env.ok(&["queue", "list"]);
    assert!(listed.contains("x@remote.test"), "{listed}");
    assert!(listed.contains("ann@example.org"), "{listed}");
    drop(reserved);
    let sink = Sink::start(
        SinkOpts {
            port,
            ..SinkOpts::default()
        },
        &["mx.remote.test"],
    );
    let server = env.serve();
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(String::from_utf8_lossy(&txs[0].data).contains("Subject: survivor"));
    wait_queue_empty(&env);
    drop(server);
}

#[tokio::test]
async fn a_smarthost_gets_everything_with_auth_over_tls() {
    let dns = TestDns::start();
    dns.a("relay.test", LOCAL);
    let sink = Sink::start(
        SinkOpts {
            starttls: true,
            auth: Some(("relayuser".into(), "relay secret".into())),
            ..SinkOpts::default()
        },
        &["relay.test"],
    );
    // No MX for remote.test at all: the relay makes DNS for it irrelevant.
    let (env, server) = sender(
        &dns,
        25,
        &format!(
            "relay_host = \"relay.test\"\nrelay_port = {}\nrelay_tls = \"starttls\"\n\
             relay_username = \"relayuser\"\nrelay_password = \"relay secret\"\nrelay_ca_file = \"{}\"\n",
            sink.port,
            sink.cert.display()
        ),
    );
    submit(
        &env,
        &server,
        &["x@remote.test", "y@elsewhere.test"],
        "relayed",
    );
    let txs = sink.wait_for(1, Duration::from_secs(30));
    let all: Vec<&String> = txs.iter().flat_map(|t| &t.rcpts).collect();
    assert_eq!(all.len(), 2, "{txs:?}");
    for t in &txs {
        assert!(t.tls);
        assert_eq!(t.auth.as_deref(), Some("relayuser"));
    }
    wait_queue_empty(&env);
}

#[tokio::test]
async fn queue_commands_show_hold_release_and_delete() {
    let dns = TestDns::start();
    dns.mx("remote.test", 10, "mx.remote.test");
    dns.a("mx.remote.test", LOCAL);
    let (_reserved, port) = refusing_port();
    let (env, server) = mail_env_with(&format!(
        "{}[queue]\nfirst_retry_secs = 3600\nmax_retry_secs = 3600\nscan_interval_secs = 1\n\
         [outbound]\nport = {port}\n",
        dns.config()
    ));
    submit(&env, &server, &["x@remote.test"], "held");
    // The first attempt finds nothing listening and defers.
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        let out = env.ok(&["queue", "list"]);
        if out.contains("deferred") {
            break out.split_whitespace().next().expect("an id").to_string();
        }
        assert!(Instant::now() < deadline, "never deferred:\n{out}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let show = env.ok(&["queue", "show", &id]);
    assert!(
        show.contains("state:    deferred after 1 attempts"),
        "{show}"
    );
    assert!(
        show.contains("4.4.1 connecting to mx.remote.test"),
        "{show}"
    );
    assert!(env.ok(&["queue", "hold", &id]).contains("held"));
    assert!(env.ok(&["queue", "show", &id]).contains("held:      yes"));
    assert!(env.ok(&["queue", "list"]).contains("HELD"));
    env.ok(&["queue", "release", &id]);
    assert!(env.ok(&["queue", "show", &id]).contains("held:      no"));
    // retry makes it due now; the runner's next scan tries again.
    assert!(
        env.ok(&["queue", "retry", &id])
            .contains("1 recipients due now")
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let show = env.ok(&["queue", "show", &id]);
        if show.contains("deferred after 2 attempts") {
            break;
        }
        assert!(Instant::now() < deadline, "not retried:\n{show}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        env.fails(&["queue", "show", "999999"], "")
            .contains("no queued message 999999")
    );
    env.ok(&["queue", "delete", &id]);
    wait_queue_empty(&env);
    // Deleted without a bounce.
    assert!(inbox(&env.data(), "ann@example.org").await.is_empty());
}

#[tokio::test]
async fn a_refused_connection_moves_to_the_next_mx_over_ipv6_and_cname() {
    let dns = TestDns::start();
    let sink = Sink::start(SinkOpts::default(), &["mx.remote.test"]);
    // The preferred MX has only an IPv6 address where nothing listens; the
    // next is a CNAME to the sink's name.
    dns.mx("remote.test", 10, "v6only.remote.test");
    dns.aaaa("v6only.remote.test", std::net::Ipv6Addr::LOCALHOST);
    dns.mx("remote.test", 20, "alias.remote.test");
    dns.cname("alias.remote.test", "mx.remote.test");
    dns.a("mx.remote.test", LOCAL);
    let (env, server) = sender(&dns, sink.port, "");
    submit(&env, &server, &["x@remote.test"], "second choice");
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(String::from_utf8_lossy(&txs[0].data).contains("Subject: second choice"));
    wait_queue_empty(&env);
}

#[tokio::test]
async fn a_dns_failure_defers_instead_of_bouncing() {
    let dns = TestDns::start();
    dns.servfail("remote.test");
    let (env, server) = mail_env_with(&format!(
        "{}[queue]\nfirst_retry_secs = 3600\nmax_retry_secs = 3600\n",
        dns.config()
    ));
    submit(&env, &server, &["x@remote.test"], "dns trouble");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = env.ok(&["queue", "list"]);
        if out.contains("deferred") {
            break;
        }
        assert!(Instant::now() < deadline, "never deferred:\n{out}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let id = env
        .ok(&["queue", "list"])
        .split_whitespace()
        .next()
        .expect("id")
        .to_string();
    let show = env.ok(&["queue", "show", &id]);
    assert!(
        show.contains("4.4.3 DNS lookup of MX remote.test failed"),
        "{show}"
    );
    assert!(
        inbox(&env.data(), "ann@example.org").await.is_empty(),
        "no bounce"
    );
}

#[tokio::test]
async fn dsn_parameters_are_passed_on_and_success_is_reported_when_asked() {
    let (dns, sink) = remote_mx(SinkOpts::default());
    let (env, server) = sender(&dns, sink.port, "");
    python(
        &env,
        &server,
        "s = sub()\n\
         s.sendmail('ann@example.org', ['x@remote.test'], 'From: ann@example.org\\r\\nSubject: tracked\\r\\n\\r\\nbody\\r\\n', \
           mail_options=['RET=HDRS', 'ENVID=track+2Bme'], rcpt_options=['NOTIFY=SUCCESS,FAILURE', 'ORCPT=rfc822;x@remote.test'])\n\
         s.quit()\n",
    );
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(txs[0].mail.contains("RET=HDRS"), "{}", txs[0].mail);
    assert!(txs[0].mail.contains("ENVID=track+2Bme"), "{}", txs[0].mail);
    assert!(
        txs[0].rcpts[0].contains("NOTIFY=SUCCESS,FAILURE"),
        "{:?}",
        txs[0].rcpts
    );
    assert!(
        txs[0].rcpts[0].contains("ORCPT=rfc822;x@remote.test"),
        "{:?}",
        txs[0].rcpts
    );
    let msgs = wait_inbox(&env, 1).await;
    let dsn = String::from_utf8_lossy(&msgs[0]);
    assert!(
        dsn.contains("Subject: Successful Mail Delivery Report"),
        "{dsn}"
    );
    assert!(dsn.contains("Action: delivered"), "{dsn}");
    assert!(dsn.contains("Original-Envelope-Id: track+me"), "{dsn}");
    assert!(dsn.contains("Status: 2.0.0"), "{dsn}");
    // RET=HDRS: the headers come back, not the body.
    assert!(dsn.contains("text/rfc822-headers"), "{dsn}");
    assert!(dsn.contains("Subject: tracked"), "{dsn}");
    wait_queue_empty(&env);
}

#[tokio::test]
async fn a_long_delay_sends_one_warning_and_keeps_trying() {
    let (dns, sink) = remote_mx(SinkOpts {
        rcpt_replies: vec!["451 4.7.1 Greylisted".into(); 50],
        ..SinkOpts::default()
    });
    let (env, server) = sender(&dns, sink.port, "");
    // The warning is due once the message is a second old (tiny on purpose).
    drop(server);
    let mut cfg = std::fs::read_to_string(&env.config).expect("config");
    cfg = cfg.replace("[queue]\n", "[queue]\ndelay_warning_secs = 1\n");
    std::fs::write(&env.config, cfg).expect("config");
    let server = env.serve();
    submit(&env, &server, &["x@remote.test"], "slow");
    let msgs = wait_inbox(&env, 1).await;
    let dsn = String::from_utf8_lossy(&msgs[0]);
    assert!(
        dsn.contains("Subject: Delayed Mail (still being retried)"),
        "{dsn}"
    );
    assert!(dsn.contains("Action: delayed"), "{dsn}");
    assert!(dsn.contains("Will-Retry-Until: "), "{dsn}");
    assert!(dsn.contains("451 4.7.1 Greylisted"), "{dsn}");
    // Still queued, and tried again later without a second warning.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sink.rcpt_log.lock().expect("log").len() < 4 {
        assert!(Instant::now() < deadline, "no further attempts");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(env.ok(&["queue", "list"]).contains("deferred"));
    assert_eq!(
        inbox(&env.data(), "ann@example.org").await.len(),
        1,
        "one warning"
    );
}

#[tokio::test]
async fn a_message_needing_smtputf8_bounces_when_the_server_lacks_it() {
    let (dns, sink) = remote_mx(SinkOpts {
        no_smtputf8: true,
        ..SinkOpts::default()
    });
    let (env, server) = sender(&dns, sink.port, "");
    python(
        &env,
        &server,
        "s = sub()\n\
         s.sendmail('ann@example.org', ['j\\u00fcrgen@remote.test'], 'From: ann@example.org\\r\\nSubject: utf8\\r\\n\\r\\nbody\\r\\n'.encode(), mail_options=['SMTPUTF8'])\n\
         s.quit()\n",
    );
    let msgs = wait_inbox(&env, 1).await;
    let dsn = String::from_utf8_lossy(&msgs[0]);
    assert!(dsn.contains("Status: 5.6.7"), "{dsn}");
    assert!(dsn.contains("SMTPUTF8"), "{dsn}");
    assert!(sink.txs().is_empty());
    wait_queue_empty(&env);
}

#[tokio::test]
async fn the_per_domain_connection_limit_holds() {
    let (dns, sink) = remote_mx(SinkOpts::default());
    let (env, server) = sender(&dns, sink.port, "max_connections_per_domain = 1\n");
    let rcpts: Vec<String> = (0..12).map(|i| format!("'r{i}@remote.test'")).collect();
    // Twelve messages, one recipient each, submitted back to back.
    python(
        &env,
        &server,
        &format!(
            "s = sub()\n\
             for r in [{}]:\n    s.sendmail('ann@example.org', [r], 'From: ann@example.org\\r\\nSubject: many\\r\\n\\r\\nx\\r\\n')\n\
             s.quit()\n",
            rcpts.join(", ")
        ),
    );
    let txs = sink.wait_for(12, Duration::from_secs(30));
    assert_eq!(txs.len(), 12);
    let (_, most) = *sink.conns.lock().expect("conns");
    assert_eq!(
        most, 1,
        "never more than one connection to remote.test at once"
    );
    wait_queue_empty(&env);
}

#[tokio::test]
async fn required_tls_defers_when_the_server_offers_no_starttls() {
    let (dns, sink) = remote_mx(SinkOpts::default());
    let (env, server) = mail_env_with(&format!(
        "{}[queue]\nfirst_retry_secs = 3600\nmax_retry_secs = 3600\n[outbound]\nport = {}\ntls = \"required\"\n",
        dns.config(),
        sink.port
    ));
    submit(&env, &server, &["x@remote.test"], "must be private");
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        let out = env.ok(&["queue", "list"]);
        if out.contains("deferred") {
            break out.split_whitespace().next().expect("id").to_string();
        }
        assert!(Instant::now() < deadline, "never deferred:\n{out}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let show = env.ok(&["queue", "show", &id]);
    assert!(show.contains("4.7.4"), "{show}");
    assert!(show.contains("does not offer STARTTLS"), "{show}");
    assert!(sink.txs().is_empty(), "nothing went in plaintext");
}

#[tokio::test]
async fn a_failed_message_from_the_null_sender_bounces_nowhere() {
    let (dns, sink) = remote_mx(SinkOpts {
        rcpt_replies: vec!["550 5.1.1 gone".into()],
        ..SinkOpts::default()
    });
    let (env, server) = sender(&dns, sink.port, "[mailauth]\nverify = false\n");
    // An alias that forwards outside: a bounce arriving for it from <> is
    // queued as is, from <>.
    env.ok(&["alias", "add", "fwd@example.org", "nobody@remote.test"]);
    let out = python(
        &env,
        &server,
        "m = mx()\n\
         print(code(m.docmd, 'MAIL', 'FROM:<>'))\n\
         print(code(m.docmd, 'RCPT', 'TO:<fwd@example.org>'))\n\
         m.docmd('DATA'); m.send(b'From: MAILER-DAEMON@elsewhere.test\\r\\nSubject: a bounce\\r\\n\\r\\nx\\r\\n.\\r\\n'); print('END', m.getreply()[0])\n",
    );
    assert!(out.contains("END 250"), "{out}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while sink.rcpt_log.lock().expect("log").is_empty() {
        assert!(Instant::now() < deadline, "never attempted");
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_queue_empty(&env);
    // Nothing was reported to anyone: no DSN queued, none delivered.
    for user in ["ann@example.org", "bob@example.org"] {
        assert!(inbox(&env.data(), user).await.is_empty(), "{user}");
    }
    assert_eq!(
        sink.rcpt_log.lock().expect("log").len(),
        1,
        "one attempt only"
    );
}

#[tokio::test]
async fn a_smarthost_on_implicit_tls_with_auth_login_gets_the_mail_too() {
    let dns = TestDns::start();
    dns.a("relay.test", LOCAL);
    let sink = Sink::start(
        SinkOpts {
            implicit_tls: true,
            auth: Some(("relayuser".into(), "pw".into())),
            auth_login_only: true,
            ..SinkOpts::default()
        },
        &["relay.test"],
    );
    let (env, server) = sender(
        &dns,
        25,
        &format!(
            "relay_host = \"relay.test\"\nrelay_port = {}\nrelay_tls = \"implicit\"\n\
             relay_username = \"relayuser\"\nrelay_password = \"pw\"\nrelay_ca_file = \"{}\"\n",
            sink.port,
            sink.cert.display()
        ),
    );
    submit(&env, &server, &["x@remote.test"], "over 465");
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(txs[0].tls);
    // Only LOGIN was offered, so that is what was used.
    assert_eq!(txs[0].auth.as_deref(), Some("relayuser (LOGIN)"));
    wait_queue_empty(&env);
}

/// A sender with an MTA-STS policy for remote.test served over HTTPS, and
/// both test certificates as its CA roots.
pub(crate) fn sts_setup(
    policy: &str,
    sink: &Sink,
) -> (TestDns, crate::support::sts::StsServer, Env, Server) {
    let dns = TestDns::start();
    let sts = crate::support::sts::StsServer::start("remote.test", policy);
    dns.mx("remote.test", 10, "mx.remote.test");
    dns.a("mx.remote.test", LOCAL);
    dns.txt("_mta-sts.remote.test", "v=STSv1; id=20261125");
    dns.a("mta-sts.remote.test", LOCAL);
    let roots = sts.cert.with_file_name("roots.pem");
    let mut pem = std::fs::read(&sink.cert).expect("sink cert");
    pem.extend(std::fs::read(&sts.cert).expect("sts cert"));
    std::fs::write(&roots, pem).expect("roots");
    let (env, server) = mail_env_with(&format!(
        "{}[queue]\nfirst_retry_secs = 3600\nmax_retry_secs = 3600\n\
         [outbound]\nport = {}\nmta_sts_port = {}\nca_file = \"{}\"\n",
        dns.config(),
        sink.port,
        sts.port,
        roots.display()
    ));
    (dns, sts, env, server)
}

/// Waits until the queue shows a deferred recipient; returns `queue show`.
pub(crate) fn wait_deferred(env: &Env) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = env.ok(&["queue", "list"]);
        if out.contains("deferred") {
            let id = out.split_whitespace().next().expect("id").to_string();
            return env.ok(&["queue", "show", &id]);
        }
        assert!(Instant::now() < deadline, "never deferred:\n{out}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn mta_sts_enforce_delivers_over_verified_tls_to_a_listed_mx() {
    let sink = Sink::start(
        SinkOpts {
            starttls: true,
            ..SinkOpts::default()
        },
        &["mx.remote.test"],
    );
    let policy = "version: STSv1\r\nmode: enforce\r\nmx: mx.remote.test\r\nmax_age: 86400\r\n";
    let (_dns, _sts, env, server) = sts_setup(policy, &sink);
    submit(&env, &server, &["x@remote.test"], "sts");
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(txs[0].tls);
    wait_queue_empty(&env);
}

#[tokio::test]
async fn mta_sts_enforce_defers_an_unlisted_mx_and_a_server_without_tls() {
    // The policy names another host: nothing is sent.
    let sink = Sink::start(
        SinkOpts {
            starttls: true,
            ..SinkOpts::default()
        },
        &["mx.remote.test"],
    );
    let policy = "version: STSv1\nmode: enforce\nmx: *.elsewhere.test\nmax_age: 86400\n";
    let (_dns, _sts, env, server) = sts_setup(policy, &sink);
    submit(&env, &server, &["x@remote.test"], "sts");
    let show = wait_deferred(&env);
    assert!(
        show.contains("4.7.5 no MX host of remote.test matches its MTA-STS policy"),
        "{show}"
    );
    assert!(sink.rcpt_log.lock().expect("log").is_empty());
    drop(server);

    // The MX is listed but offers no STARTTLS: nothing goes in plaintext.
    let plain = Sink::start(SinkOpts::default(), &["mx.remote.test"]);
    let policy = "version: STSv1\nmode: enforce\nmx: mx.remote.test\nmax_age: 86400\n";
    let (_dns, _sts, env, server) = sts_setup(policy, &plain);
    submit(&env, &server, &["x@remote.test"], "sts");
    let show = wait_deferred(&env);
    assert!(show.contains("does not offer STARTTLS"), "{show}");
    assert!(plain.txs().is_empty());
    drop(server);
}

#[tokio::test]
async fn a_bounce_for_a_remote_sender_goes_out_from_the_null_sender() {
    let dns = TestDns::start();
    // nobody@gone.test refuses; the original sender is at remote.test.
    let sink = Sink::start(
        SinkOpts {
            rcpt_replies: vec!["550 5.1.1 gone".into()],
            ..SinkOpts::default()
        },
        &["mx.remote.test"],
    );
    for d in ["remote.test", "gone.test"] {
        dns.mx(d, 10, "mx.remote.test");
    }
    dns.a("mx.remote.test", LOCAL);
    let (env, server) = sender(&dns, sink.port, "[mailauth]\nverify = false\n");
    env.ok(&["alias", "add", "fwd@example.org", "nobody@gone.test"]);
    let out = python(
        &env,
        &server,
        "m = mx()\n\
         print(code(m.docmd, 'MAIL', 'FROM:<someone@remote.test>'))\n\
         print(code(m.docmd, 'RCPT', 'TO:<fwd@example.org>'))\n\
         m.docmd('DATA'); m.send(b'From: someone@remote.test\\r\\nSubject: please forward\\r\\n\\r\\nx\\r\\n.\\r\\n'); print('END', m.getreply()[0])\n",
    );
    assert!(out.contains("END 250"), "{out}");
    // The forward fails (550); the DSN goes to someone@remote.test from <>.
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(txs[0].mail.starts_with("MAIL FROM:<>"), "{}", txs[0].mail);
    assert!(
        txs[0].rcpts[0].contains("<someone@remote.test>"),
        "{:?}",
        txs[0].rcpts
    );
    let dsn = String::from_utf8_lossy(&txs[0].data);
    assert!(
        dsn.contains("Final-Recipient: rfc822; nobody@gone.test"),
        "{dsn}"
    );
    assert!(
        dsn.contains("Diagnostic-Code: smtp; 550 5.1.1 gone"),
        "{dsn}"
    );
    assert!(dsn.contains("Subject: please forward"), "{dsn}");
    wait_queue_empty(&env);
}

#[tokio::test]
async fn many_recipients_at_one_domain_are_split_into_transactions() {
    let (dns, sink) = remote_mx(SinkOpts::default());
    let (env, server) = sender(&dns, sink.port, "max_recipients = 25\n");
    let rcpts: Vec<String> = (0..60).map(|i| format!("r{i}@remote.test")).collect();
    let refs: Vec<&str> = rcpts.iter().map(String::as_str).collect();
    submit(&env, &server, &refs, "to many");
    let txs = sink.wait_for(3, Duration::from_secs(30));
    let mut sizes: Vec<usize> = txs.iter().map(|t| t.rcpts.len()).collect();
    sizes.sort();
    assert_eq!(sizes, [10, 25, 25], "{txs:?}");
    wait_queue_empty(&env);
}
