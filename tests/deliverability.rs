//! Deliverability faults (issue 20), end to end: DKIM signatures that a
//! header added on top breaks (oversigning), port 25 refusing messages
//! without exactly one From, the queue never talking to itself when a
//! domain's MX is this server, SPF's void-lookup limit, and the bound on
//! MX hosts tried per attempt.

use std::net::Ipv4Addr;
use std::time::Duration;

use mail_auth::DkimResult;

use crate::mailauth::{dkim_results, txt_records};
use crate::smtp::{inbox, mail_env_with, python, send_mx_to};
use crate::support::dns::TestDns;
use crate::support::sink::{Sink, SinkOpts};

const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// The Authentication-Results header our server put on `msg`.
fn our_results(msg: &[u8]) -> String {
    let text = String::from_utf8_lossy(msg);
    let start = text
        .find("Authentication-Results: mail.test")
        .expect("our Authentication-Results");
    let end = text[start..]
        .find("\r\n")
        .map(|e| start + e)
        .unwrap_or(text.len());
    // Folded continuation lines belong to it too.
    let mut end = end;
    while text[end..].starts_with("\r\n ") || text[end..].starts_with("\r\n\t") {
        end += 2 + text[end + 2..].find("\r\n").unwrap_or(text.len() - end - 2);
    }
    text[start..end].to_string()
}

#[tokio::test]
async fn a_header_added_on_top_of_a_signed_message_breaks_its_dkim_signature() {
    let dns = TestDns::start();
    let sink = Sink::start(SinkOpts::default(), &["mx.remote.test"]);
    dns.mx("remote.test", 10, "mx.remote.test");
    dns.a("mx.remote.test", LOCAL);
    let (env, server) = mail_env_with(&format!(
        "{}[outbound]\nport = {}\n",
        dns.config(),
        sink.port
    ));
    // Only the DKIM keys: no SPF or DMARC to decide for DKIM.
    for (owner, value) in txt_records(&env.ok(&["domain", "dns", "example.org"])) {
        if owner.contains("._domainkey.") {
            dns.txt(&owner, &value);
        }
    }
    python(
        &env,
        &server,
        "s = sub()\n\
         s.sendmail('ann@example.org', ['x@remote.test'], 'From: Ann <ann@example.org>\\r\\nTo: x@remote.test\\r\\nSubject: pay the invoice\\r\\nDate: Wed, 25 Nov 2026 04:00:00 +0000\\r\\nMessage-ID: <o1@example.org>\\r\\n\\r\\nPlease pay.\\r\\n')\n\
         s.quit()\n",
    );
    let signed =
        String::from_utf8_lossy(&sink.wait_for(1, Duration::from_secs(30))[0].data).into_owned();
    let results = dkim_results(&dns, signed.as_bytes()).await;
    assert_eq!(results, [DkimResult::Pass, DkimResult::Pass], "{signed}");

    // RFC 6376 §8.15: a second From (or Subject) above the signed one is
    // what a reader sees; the signature must not cover it by accident.
    let forged_from = format!("From: CEO <ceo@evil.example>\r\n{signed}");
    for r in dkim_results(&dns, forged_from.as_bytes()).await {
        assert_ne!(r, DkimResult::Pass, "a forged From verifies");
    }
    let forged_subject = format!("Subject: new bank details\r\n{signed}");
    for r in dkim_results(&dns, forged_subject.as_bytes()).await {
        assert_ne!(r, DkimResult::Pass, "a forged Subject verifies");
    }

    // Our own port 25 agrees: the original passes, the forged Subject does
    // not, and the doubled From is refused outright.
    let rcpt = ["ann@example.org"];
    let reply = send_mx_to(&env, &server, "ann@example.org", &rcpt, &signed);
    assert!(reply.starts_with("250"), "{reply}");
    let reply = send_mx_to(&env, &server, "ann@example.org", &rcpt, &forged_subject);
    assert!(reply.starts_with("250"), "{reply}");
    let reply = send_mx_to(&env, &server, "ann@example.org", &rcpt, &forged_from);
    assert!(reply.starts_with("550 5.7.1"), "{reply}");
    let msgs = inbox(&env.data(), "ann@example.org").await;
    assert_eq!(msgs.len(), 2);
    assert!(
        our_results(&msgs[0]).contains("dkim=pass"),
        "{}",
        our_results(&msgs[0])
    );
    let forged = our_results(&msgs[1]);
    assert!(!forged.contains("dkim=pass"), "{forged}");
}

#[tokio::test]
async fn port_25_refuses_messages_without_exactly_one_from_with_550_5_7_1() {
    let dns = TestDns::start();
    let (env, server) = mail_env_with(&dns.config());
    let rcpt = ["ann@example.org"];
    let none = "To: ann@example.org\r\nSubject: who\r\n\r\nno author\r\n";
    let reply = send_mx_to(&env, &server, "a@elsewhere.test", &rcpt, none);
    assert!(reply.starts_with("550 5.7.1"), "{reply}");
    assert!(reply.contains("From"), "{reply}");
    let two = "From: a@elsewhere.test\r\nFrom: b@elsewhere.test\r\nTo: ann@example.org\r\n\
               Subject: two\r\n\r\ntwo authors\r\n";
    let reply = send_mx_to(&env, &server, "a@elsewhere.test", &rcpt, two);
    assert!(reply.starts_with("550 5.7.1"), "{reply}");
    let one = "From: a@elsewhere.test\r\nTo: ann@example.org\r\nSubject: one\r\n\r\nfine\r\n";
    let reply = send_mx_to(&env, &server, "a@elsewhere.test", &rcpt, one);
    assert!(reply.starts_with("250"), "{reply}");
    let msgs = inbox(&env.data(), "ann@example.org").await;
    assert_eq!(
        msgs.len(),
        1,
        "only the message with one From was delivered"
    );
}

#[tokio::test]
async fn an_mx_that_is_this_server_is_never_connected_to_and_alone_bounces_5_4_6() {
    let (dns, sink) = crate::outbound::remote_mx(SinkOpts::default());
    // mail.test is the sending server's own name. Its A record leads to
    // the sink, so a connection "to itself" would show there.
    dns.a("mail.test", LOCAL);
    // loop.test: only this server (and a worse backup): nowhere to go.
    dns.mx("loop.test", 10, "mail.test");
    dns.mx("loop.test", 20, "mx.remote.test");
    // backed.test: a better host than this server takes it.
    dns.mx("backed.test", 5, "mx.remote.test");
    dns.mx("backed.test", 10, "mail.test");
    let (env, server) = crate::outbound::sender(&dns, sink.port, "");
    crate::outbound::submit(&env, &server, &["x@loop.test", "y@backed.test"], "loop");
    let bounce = crate::outbound::wait_inbox(&env, 1).await;
    crate::outbound::wait_queue_empty(&env);
    let text = String::from_utf8_lossy(&bounce[0]);
    assert!(text.contains("x@loop.test"), "{text}");
    assert!(text.contains("5.4.6"), "{text}");
    let txs = sink.txs();
    assert_eq!(txs.len(), 1, "only backed.test's mail went out: {txs:?}");
    assert_eq!(txs[0].rcpts.len(), 1, "{txs:?}");
    assert!(txs[0].rcpts[0].contains("<y@backed.test>"), "{txs:?}");
}

#[tokio::test]
async fn at_most_max_mx_hosts_are_tried_per_attempt() {
    let (dns, sink) = crate::outbound::remote_mx(SinkOpts::default());
    // Nine (then ten) MX hosts on loopback addresses where nothing
    // listens, before the sink: with the default of ten hosts per attempt
    // the sink is the tenth for near.test and the eleventh for far.test.
    for (domain, dead) in [("near.test", 9u8), ("far.test", 10)] {
        for i in 0..dead {
            let host = format!("mx{i}.{domain}");
            dns.mx(domain, u16::from(i) + 1, &host);
            dns.a(&host, Ipv4Addr::new(127, 0, 0, 2 + i));
        }
        dns.mx(domain, 100, "mx.remote.test");
    }
    let (env, server) = crate::outbound::sender(&dns, sink.port, "");
    crate::outbound::submit(&env, &server, &["x@near.test"], "near");
    crate::outbound::submit(&env, &server, &["y@far.test"], "far");
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(txs[0].rcpts[0].contains("<x@near.test>"), "{txs:?}");
    // far.test's recipient is retried (about every second) and never
    // reaches the sink: wait for a few attempts, then look again.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let shown = crate::outbound::wait_deferred(&env);
        let attempts: u32 = shown
            .lines()
            .find_map(|l| l.trim().strip_prefix("state:"))
            .and_then(|s| s.split_whitespace().nth(2))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if attempts >= 3 {
            assert!(shown.contains("y@far.test"), "{shown}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{shown}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(sink.txs().len(), 1, "far.test's eleventh host was tried");
    drop(server);
}

#[tokio::test]
async fn a_third_spf_lookup_that_finds_nothing_is_permerror() {
    let dns = TestDns::start();
    // RFC 7208 §4.6.4: names that do not exist (NXDOMAIN) and one that
    // exists without an address (NODATA) are void lookups.
    dns.txt("two.test", "v=spf1 a:nx1.two.test a:nx2.two.test -all");
    dns.txt(
        "three.test",
        "v=spf1 a:nx1.three.test mx:nx2.three.test a:empty.three.test -all",
    );
    dns.txt("empty.three.test", "not an address");
    let (env, server) = mail_env_with(&dns.config());
    let rcpt = ["ann@example.org"];
    for from in ["a@two.test", "b@three.test"] {
        let msg = format!("From: {from}\r\nTo: ann@example.org\r\nSubject: spf\r\n\r\nhi\r\n");
        let reply = send_mx_to(&env, &server, from, &rcpt, &msg);
        assert!(reply.starts_with("250"), "{reply}");
    }
    let msgs = inbox(&env.data(), "ann@example.org").await;
    assert_eq!(msgs.len(), 2);
    let two = our_results(&msgs[0]);
    assert!(
        two.contains("spf=fail"),
        "two void lookups are allowed: {two}"
    );
    let three = our_results(&msgs[1]);
    assert!(three.contains("spf=permerror"), "{three}");
}
