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
