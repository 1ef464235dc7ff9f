//! The spam verdict end to end, against the real binary with the loopback
//! DNS server answering blocklist queries: a listed client is refused at
//! DATA with the list named, a mid-score message is filed in Junk with the
//! headers that explain it, a clean one reaches INBOX; each recipient's own
//! thresholds file their copy; GTUBE always counts as spam on port 25 and
//! never on submission; a DNS server that never answers loses no mail.

use std::net::Ipv4Addr;

use crate::smtp::{inbox, mail_env_with, mailbox, python, send_mx_to};
use crate::support::dns::TestDns;

/// A message no content rule fires on.
pub(crate) fn clean(subject: &str, body: &str) -> String {
    clean_from("Sender <x@sender.test>", subject, body)
}

/// The same with another From field.
pub(crate) fn clean_from(from: &str, subject: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: ann@example.org\r\nSubject: {subject}\r\n\
Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{subject}@sender.test>\r\n\r\n{body}\r\n"
    )
}

/// Config for a server whose spam lookups go to `dns` (SPF/DKIM/DMARC off,
/// so only the spam verdict decides).
pub(crate) fn spam_env(dns: &TestDns, spam: &str) -> (crate::support::Env, crate::support::Server) {
    mail_env_with(&format!(
        "{}[mailauth]\nverify = false\n[spam]\n{spam}",
        dns.config()
    ))
}

pub(crate) fn text(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

#[tokio::test]
async fn a_client_in_a_dnsbl_is_refused_at_data_with_the_list_named() {
    let dns = TestDns::start();
    // RFC 5782 §2.1: 127.0.0.1 is asked as 1.0.0.127.<zone>.
    dns.a("1.0.0.127.bl.test", Ipv4Addr::new(127, 0, 0, 2));
    let (env, server) = spam_env(&dns, "dnsbl = [{ zone = \"bl.test\", weight = 20.0 }]\n");
    let reply = send_mx_to(
        &env,
        &server,
        "x@sender.test",
        &["ann@example.org"],
        &clean("hello", "nothing to see"),
    );
    assert!(reply.starts_with("550 5.7.1"), "{reply}");
    assert!(reply.contains("DNSBL"), "{reply}");
    assert!(inbox(&env.data(), "ann@example.org").await.is_empty());
    assert!(
        mailbox(&env.data(), "ann@example.org", "Junk")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_listed_link_files_in_junk_with_readable_headers_and_a_clean_message_reaches_inbox() {
    let dns = TestDns::start();
    dns.a("spam.test.dbl.test", Ipv4Addr::new(127, 0, 1, 2));
    let (env, server) = spam_env(&dns, "rhsbl = [{ zone = \"dbl.test\", weight = 6.0 }]\n");
    let junk = clean("offer", "see http://www.spam.test/buy now");
    let reply = send_mx_to(&env, &server, "x@sender.test", &["ann@example.org"], &junk);
    assert!(reply.starts_with("250"), "{reply}");
    let reply = send_mx_to(
        &env,
        &server,
        "x@sender.test",
        &["ann@example.org"],
        &clean("lunch", "see you at noon at http://www.cafe.test/"),
    );
    assert!(reply.starts_with("250"), "{reply}");

    let filed = mailbox(&env.data(), "ann@example.org", "Junk").await;
    assert_eq!(filed.len(), 1, "one message in Junk");
    let m = text(&filed[0].1);
    assert!(
        m.contains("X-Spam-Status: Yes, score=6.0 required=5.0\r\n"),
        "{m}"
    );
    assert!(m.contains("X-Spam-Result: Junk, score=6.00"), "{m}");
    assert!(
        m.contains("\r\n\tRHSBL=6.00 [spam.test in dbl.test (127.0.1.2)]"),
        "{m}"
    );
    assert!(m.contains("Subject: offer"), "{m}");

    let inbox = inbox(&env.data(), "ann@example.org").await;
    assert_eq!(inbox.len(), 1, "one message in INBOX");
    let m = text(&inbox[0]);
    assert!(m.contains("X-Spam-Status: No, score=0.0"), "{m}");
    assert!(m.contains("Subject: lunch"), "{m}");

    // The operator asks why, by UID and by Message-ID.
    let why = env.ok(&[
        "spam",
        "explain",
        "ann@example.org",
        "--mailbox",
        "Junk",
        "--uid",
        "1",
    ]);
    for want in [
        "ann@example.org Junk UID 1",
        "Subject: offer",
        "X-Spam-Status: Yes, score=6.0 required=5.0",
        "  Junk, score=6.00",
        "    RHSBL=6.00 [spam.test in dbl.test (127.0.1.2)]",
        "now (content rules",
    ] {
        assert!(why.contains(want), "missing {want:?} in\n{why}");
    }
    let by_id = env.ok(&[
        "spam",
        "explain",
        "ann@example.org",
        "--message-id",
        "<lunch@sender.test>",
    ]);
    assert!(by_id.contains("ann@example.org INBOX UID 1"), "{by_id}");
    assert!(by_id.contains("X-Spam-Status: No"), "{by_id}");
    let missing = env.fails(
        &[
            "spam",
            "explain",
            "ann@example.org",
            "--message-id",
            "<none@sender.test>",
        ],
        "",
    );
    assert!(missing.contains("no message with Message-ID"), "{missing}");
}

#[tokio::test]
async fn each_recipient_is_filed_by_their_own_thresholds() {
    let dns = TestDns::start();
    dns.a("spam.test.dbl.test", Ipv4Addr::new(127, 0, 1, 2));
    let (env, server) = spam_env(
        &dns,
        "rhsbl = [{ zone = \"dbl.test\", weight = 4.0 }]\n\
[spam.users.\"ann@example.org\"]\njunk_threshold = 3.0\n",
    );
    let msg = clean("offer", "see http://www.spam.test/buy now");
    let reply = send_mx_to(
        &env,
        &server,
        "x@sender.test",
        &["ann@example.org", "bob@example.org"],
        &msg,
    );
    assert!(reply.starts_with("250"), "{reply}");
    let ann = mailbox(&env.data(), "ann@example.org", "Junk").await;
    assert_eq!(ann.len(), 1, "ann's threshold is 3: Junk");
    assert!(text(&ann[0].1).contains("X-Spam-Status: Yes, score=4.0 required=3.0"));
    assert!(inbox(&env.data(), "ann@example.org").await.is_empty());
    let bob = inbox(&env.data(), "bob@example.org").await;
    assert_eq!(bob.len(), 1, "bob's threshold is the default 5: INBOX");
    assert!(text(&bob[0]).contains("X-Spam-Status: No, score=4.0 required=5.0"));
}

#[tokio::test]
async fn gtube_is_spam_on_port_25_and_not_on_submission() {
    let dns = TestDns::start();
    let (env, server) = spam_env(&dns, "");
    let gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
    let reply = send_mx_to(
        &env,
        &server,
        "x@sender.test",
        &["ann@example.org"],
        &clean("test", gtube),
    );
    assert!(reply.starts_with("550 5.7.1"), "{reply}");
    assert!(reply.contains("GTUBE"), "{reply}");

    let out = python(
        &env,
        &server,
        &format!(
            "s = sub('bob@example.org', 'bob password')\n\
print('sent', s.sendmail('bob@example.org', ['ann@example.org'], \
b'From: bob@example.org\\r\\nSubject: gtube\\r\\n\\r\\n{gtube}\\r\\n'))\n"
        ),
    );
    assert!(out.contains("sent {}"), "{out}");
    let inbox = inbox(&env.data(), "ann@example.org").await;
    assert_eq!(inbox.len(), 1, "submitted mail is never scored");
    assert!(!text(&inbox[0]).contains("X-Spam-"), "{}", text(&inbox[0]));
}

#[tokio::test]
async fn a_forged_verdict_is_dropped_and_only_ours_is_left() {
    let dns = TestDns::start();
    let (env, server) = spam_env(&dns, "");
    let msg = format!(
        "X-Spam-Status: No, score=-100.0\r\nX-Spam-Flag: NO\r\n{}",
        clean("hello", "hi")
    );
    let reply = send_mx_to(&env, &server, "x@sender.test", &["ann@example.org"], &msg);
    assert!(reply.starts_with("250"), "{reply}");
    let m = text(&inbox(&env.data(), "ann@example.org").await[0]);
    assert_eq!(m.matches("X-Spam-Status:").count(), 1, "{m}");
    assert!(
        m.contains("X-Spam-Status: No, score=0.0 required=5.0"),
        "{m}"
    );
    assert!(!m.contains("X-Spam-Flag"), "{m}");
}

#[tokio::test]
async fn a_dns_server_that_never_answers_costs_the_deadline_and_loses_no_mail() {
    let dns = TestDns::start();
    dns.mute();
    let (env, server) = mail_env_with(&format!(
        "{}[mailauth]\ntimeout_secs = 1\n[spam]\nlookup_timeout_ms = 500\n\
dnsbl = [{{ zone = \"bl.test\", weight = 20.0 }}]\n\
rhsbl = [{{ zone = \"dbl.test\", weight = 20.0 }}]\n",
        dns.config()
    ));
    let reply = send_mx_to(
        &env,
        &server,
        "x@sender.test",
        &["ann@example.org"],
        &clean("hello", "see http://www.spam.test/"),
    );
    assert!(reply.starts_with("250"), "{reply}");
    let inbox = inbox(&env.data(), "ann@example.org").await;
    assert_eq!(inbox.len(), 1);
    let m = text(&inbox[0]);
    assert!(m.contains("X-Spam-Status: No"), "{m}");
    assert!(!m.contains("DNSBL") && !m.contains("RHSBL"), "{m}");
    assert!(m.contains("Authentication-Results: mail.test; none"), "{m}");
}

#[tokio::test]
async fn mail_from_someone_the_user_wrote_to_scores_lower_once_dmarc_vouches_for_the_from() {
    let dns = TestDns::start();
    dns.txt("remote.test", "v=spf1 ip4:127.0.0.1 -all");
    dns.txt("_dmarc.remote.test", "v=DMARC1; p=none");
    let (env, server) = mail_env_with(&dns.config());
    let reply_from = |subject: &str| {
        format!(
            "From: Friend <friend@remote.test>\r\nTo: ann@example.org\r\nSubject: {subject}\r\n\
Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{subject}@remote.test>\r\n\r\nhi\r\n"
        )
    };
    let reply = send_mx_to(
        &env,
        &server,
        "friend@remote.test",
        &["ann@example.org"],
        &reply_from("before"),
    );
    assert!(reply.starts_with("250"), "{reply}");
    let out = python(
        &env,
        &server,
        "s = sub()\n\
print('sent', s.sendmail('ann@example.org', ['Friend@Remote.test'], \
b'From: ann@example.org\\r\\nSubject: hello\\r\\n\\r\\nhi\\r\\n'))\n",
    );
    assert!(out.contains("sent {}"), "{out}");
    let reply = send_mx_to(
        &env,
        &server,
        "friend@remote.test",
        &["ann@example.org"],
        &reply_from("after"),
    );
    assert!(reply.starts_with("250"), "{reply}");
    let inbox = inbox(&env.data(), "ann@example.org").await;
    let find = |subject: &str| {
        inbox
            .iter()
            .map(|m| text(m))
            .find(|m| m.contains(&format!("Subject: {subject}\r\n")))
            .unwrap_or_else(|| panic!("no message {subject}"))
    };
    let before = find("before");
    assert!(before.contains("dmarc=pass"), "{before}");
    assert!(!before.contains("SENDER_REPUTATION"), "{before}");
    let after = find("after");
    assert!(
        after.contains("\tSENDER_REPUTATION=-3.00 [sent 1 ham 0 spam 0]"),
        "{after}"
    );
}
