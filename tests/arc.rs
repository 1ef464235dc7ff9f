//! ARC (RFC 8617) on port 25 end to end: mail a list seals with mail-auth's
//! own sealer, its key in the loopback DNS. A DMARC failure the list caused
//! is delivered when the list is a trusted sealer (`[spam]
//! arc_trusted_sealers`) whose ARC-Authentication-Results show the post
//! passing DMARC when it arrived, and refused as before when it is not
//! trusted or recorded a failure (a spoof it relayed); the DMARC aggregate
//! report gives the override as its reason. A chain broken on the way is
//! `arc=fail` and scores `ARC_FAIL`.

use std::time::Duration;

use base64::Engine as _;
use mail_auth::arc::ArcSealer;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::{
    AuthenticatedMessage, AuthenticationResults, DmarcOutput, DmarcResult, MessageAuthenticator,
};

use crate::reports::{send_until, valid_dmarc_report};
use crate::smtp::{inbox, mail_env_with, send_mx_to};
use crate::support::dns::TestDns;
use crate::support::sink::{Sink, SinkOpts};

/// A new Ed25519 key (PKCS #8), published at `arc._domainkey.<domain>`.
fn published_key(dns: &TestDns, domain: &str) -> Vec<u8> {
    let pkcs8 = Ed25519Key::generate_pkcs8().expect("key");
    let key = Ed25519Key::from_pkcs8_der(&pkcs8).expect("key");
    dns.txt(
        &format!("arc._domainkey.{domain}"),
        &format!(
            "v=DKIM1; k=ed25519; p={}",
            base64::engine::general_purpose::STANDARD.encode(key.public_key())
        ),
    );
    pkcs8
}

/// `message` as `domain` passes it on: with its ARC set on top, whose
/// ARC-Authentication-Results record `dmarc` (the From domain's DMARC
/// result as the sealer saw it) when given.
async fn sealed(
    dns: &TestDns,
    domain: &str,
    key: &[u8],
    message: &str,
    dmarc: Option<DmarcResult>,
) -> String {
    let resolver =
        postern_net::dns::resolver(&[format!("127.0.0.1:{}", dns.port).parse().expect("addr")])
            .expect("resolver");
    let auth = MessageAuthenticator(resolver);
    let msg = AuthenticatedMessage::parse(message.as_bytes()).expect("parses");
    let chain = auth.verify_arc(&msg).await;
    let mut results = AuthenticationResults::new(domain);
    if let Some(r) = dmarc {
        let from = msg.from().rsplit_once('@').map_or("", |(_, d)| d);
        results = results.with_dmarc_result(&DmarcOutput::new(from.into()).with_dkim_result(r));
    }
    let set = ArcSealer::from_key(Ed25519Key::from_pkcs8_der(key).expect("key"))
        .domain(domain)
        .selector("arc")
        .headers(["From", "To", "Subject", "Date", "Message-ID"])
        .seal(&msg, &results, &chain)
        .expect("seal");
    format!("{}{message}", set.to_header())
}

/// A post from `from` as a list relays it.
fn post(from: &str, id: &str) -> String {
    format!(
        "From: {from}\r\nTo: list@lists.test\r\nSubject: [list] {id}\r\n\
         Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{id}@origin.test>\r\n\r\n\
         A post to the list.\r\n"
    )
}

/// The From domain publishes p=reject and an SPF record the list's server
/// is not in: relayed by the list (its own MAIL FROM), DMARC fails.
fn origin_rejects(dns: &TestDns) {
    dns.txt("origin.test", "v=spf1 ip4:192.0.2.1 -all");
    dns.txt("_dmarc.origin.test", "v=DMARC1; p=reject");
    dns.txt("lists.test", "v=spf1 ip4:127.0.0.1 -all");
    dns.txt("other.test", "v=spf1 ip4:127.0.0.1 -all");
}

fn text(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

#[tokio::test]
async fn a_dmarc_failure_is_delivered_only_through_a_trusted_sealers_passing_chain() {
    let dns = TestDns::start();
    origin_rejects(&dns);
    let lists = published_key(&dns, "lists.test");
    let other = published_key(&dns, "other.test");
    let (env, server) = mail_env_with(&format!(
        "{}[spam]\narc_trusted_sealers = [\"Lists.Test\"]\n",
        dns.config()
    ));
    let send = |from: &str, msg: &str| send_mx_to(&env, &server, from, &["ann@example.org"], msg);

    let trusted = sealed(
        &dns,
        "lists.test",
        &lists,
        &post("x@origin.test", "one"),
        Some(DmarcResult::Pass),
    )
    .await;
    let reply = send("bounces@lists.test", &trusted);
    assert!(reply.starts_with("250"), "{reply}");
    // The trusted list relayed a spoof: it recorded the post failing
    // DMARC when it arrived, so its chain vouches for nothing.
    let spoof = sealed(
        &dns,
        "lists.test",
        &lists,
        &post("x@origin.test", "spoof"),
        Some(DmarcResult::Fail(mail_auth::Error::NotAligned)),
    )
    .await;
    let reply = send("bounces@lists.test", &spoof);
    assert!(reply.starts_with("550"), "{reply}");
    assert!(reply.contains("DMARC policy of origin.test"), "{reply}");
    // Without the chain, the same post is refused: the trust is in the
    // sealer's chain, not in the From domain nor the relay.
    let reply = send("bounces@lists.test", &post("x@origin.test", "two"));
    assert!(reply.starts_with("550"), "{reply}");
    assert!(reply.contains("DMARC"), "{reply}");
    // Sealed by a list the operator does not trust: the DMARC failure
    // stands, as without ARC.
    let untrusted = sealed(
        &dns,
        "other.test",
        &other,
        &post("x@origin.test", "three"),
        Some(DmarcResult::Pass),
    )
    .await;
    let reply = send("bounces@other.test", &untrusted);
    assert!(reply.starts_with("550"), "{reply}");
    assert!(reply.contains("DMARC policy of origin.test"), "{reply}");

    let msgs = inbox(&env.data(), "ann@example.org").await;
    assert_eq!(msgs.len(), 1, "only the trusted list's post is delivered");
    let m = text(&msgs[0]);
    assert!(m.contains("Subject: [list] one"), "{m}");
    assert!(m.contains("dmarc=fail"), "{m}");
    assert!(
        m.contains(
            "arc=pass (i=1, d=lists.test, trusted sealer lists.test saw dmarc=pass, \
             dmarc failure overridden)"
        ),
        "{m}"
    );
    // Nor does the failure score.
    assert!(m.contains("X-Spam-Result: "), "{m}");
    assert!(!m.contains("DMARC_FAIL"), "{m}");
    assert!(!m.contains("ARC_FAIL"), "{m}");
}

#[tokio::test]
async fn a_chain_broken_on_the_way_is_arc_fail_and_scores_arc_fail() {
    let dns = TestDns::start();
    dns.txt("lists.test", "v=spf1 ip4:127.0.0.1 -all");
    let lists = published_key(&dns, "lists.test");
    let (env, server) = mail_env_with(&format!(
        "{}[spam]\narc_trusted_sealers = [\"lists.test\"]\n",
        dns.config()
    ));
    let send = |msg: &str| {
        send_mx_to(
            &env,
            &server,
            "bounces@lists.test",
            &["ann@example.org"],
            msg,
        )
    };

    // The From domain has no DMARC record: delivered either way, so the
    // headers can be read.
    let good = sealed(
        &dns,
        "lists.test",
        &lists,
        &post("y@plain.test", "intact"),
        None,
    )
    .await;
    let tampered = good
        .replace("[list] intact", "[list] altered")
        .replace("A post to the list.", "A post, altered after sealing.");
    assert!(send(&tampered).starts_with("250"));
    assert!(send(&post("y@plain.test", "unsealed")).starts_with("250"));

    let msgs = inbox(&env.data(), "ann@example.org").await;
    assert_eq!(msgs.len(), 2);
    let broken = text(&msgs[0]);
    assert!(broken.contains("Subject: [list] altered"), "{broken}");
    assert!(broken.contains("\tarc=fail ("), "{broken}");
    assert!(broken.contains("\r\n\tARC_FAIL=1.00"), "{broken}");
    // No ARC fields: arc=none, and nothing scored for it.
    let plain = text(&msgs[1]);
    assert!(
        plain.contains("\tarc=none smtp.remote-ip=127.0.0.1"),
        "{plain}"
    );
    assert!(!plain.contains("ARC_FAIL"), "{plain}");

    // The operator's explanation lists it like every other test.
    let why = env.ok(&[
        "spam",
        "explain",
        "ann@example.org",
        "--mailbox",
        "INBOX",
        "--uid",
        "1",
    ]);
    assert!(why.contains("    ARC_FAIL=1.00"), "{why}");
}

#[tokio::test]
async fn an_overridden_failure_is_reported_to_the_from_domain_with_its_reason() {
    let dns = TestDns::start();
    let sink = Sink::start(SinkOpts::default(), &["mx.origin.test"]);
    dns.mx("origin.test", 10, "mx.origin.test");
    dns.a("mx.origin.test", std::net::Ipv4Addr::LOCALHOST);
    dns.txt("origin.test", "v=spf1 ip4:192.0.2.1 -all");
    dns.txt(
        "_dmarc.origin.test",
        "v=DMARC1; p=reject; rua=mailto:dmarc@origin.test",
    );
    dns.txt("lists.test", "v=spf1 ip4:127.0.0.1 -all");
    let lists = published_key(&dns, "lists.test");
    let (env, server) = mail_env_with(&format!(
        "{}[outbound]\nport = {}\n[queue]\nfirst_retry_secs = 1\nmax_retry_secs = 1\n\
         scan_interval_secs = 1\n[reports]\nflush_secs = 0\nfrom = \"postmaster@example.org\"\n\
         [spam]\narc_trusted_sealers = [\"lists.test\"]\n",
        dns.config(),
        sink.port
    ));
    let post = sealed(
        &dns,
        "lists.test",
        &lists,
        &post("x@origin.test", "reported"),
        Some(DmarcResult::Pass),
    )
    .await;
    let reply = send_mx_to(
        &env,
        &server,
        "bounces@lists.test",
        &["ann@example.org"],
        &post,
    );
    assert!(reply.starts_with("250"), "{reply}");

    send_until(&env, &["queued: dmarc origin.test -> dmarc@origin.test"]);
    let txs = sink.wait_for(1, Duration::from_secs(30));
    let xml = valid_dmarc_report(&env, &txs[0]);
    // RFC 7489 Appendix C: the policy was not applied, and why.
    for el in [
        "<p>reject</p>",
        "<disposition>none</disposition>",
        "<dkim>fail</dkim>",
        "<spf>fail</spf>",
        "<reason>",
        "<type>trusted_forwarder</type>",
        "<comment>arc=pass i=1 d=lists.test</comment>",
    ] {
        assert!(xml.contains(el), "{el} missing:\n{xml}");
    }
}
