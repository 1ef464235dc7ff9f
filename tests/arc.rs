//! ARC (RFC 8617) on port 25 end to end: mail a list seals with mail-auth's
//! own sealer, its key in the loopback DNS. A DMARC failure the list caused
//! is delivered when the list is a trusted sealer (`[spam]
//! arc_trusted_sealers`) and refused as before when it is not; a chain
//! broken on the way is `arc=fail` and scores `ARC_FAIL`.

use base64::Engine as _;
use mail_auth::arc::ArcSealer;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::{AuthenticatedMessage, AuthenticationResults, MessageAuthenticator};

use crate::smtp::{inbox, mail_env_with, send_mx_to};
use crate::support::dns::TestDns;

/// A new Ed25519 key, published at `arc._domainkey.<domain>`.
fn published_key(dns: &TestDns, domain: &str) -> Ed25519Key {
    let pkcs8 = Ed25519Key::generate_pkcs8().expect("key");
    let key = Ed25519Key::from_pkcs8_der(&pkcs8).expect("key");
    dns.txt(
        &format!("arc._domainkey.{domain}"),
        &format!(
            "v=DKIM1; k=ed25519; p={}",
            base64::engine::general_purpose::STANDARD.encode(key.public_key())
        ),
    );
    key
}

/// `message` as `domain` passes it on: with its ARC set on top.
async fn sealed(dns: &TestDns, domain: &str, key: Ed25519Key, message: &str) -> String {
    let resolver =
        postern_net::dns::resolver(&[format!("127.0.0.1:{}", dns.port).parse().expect("addr")])
            .expect("resolver");
    let auth = MessageAuthenticator(resolver);
    let msg = AuthenticatedMessage::parse(message.as_bytes()).expect("parses");
    let chain = auth.verify_arc(&msg).await;
    let results = AuthenticationResults::new(domain);
    let set = ArcSealer::from_key(key)
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

    let trusted = sealed(&dns, "lists.test", lists, &post("x@origin.test", "one")).await;
    let reply = send("bounces@lists.test", &trusted);
    assert!(reply.starts_with("250"), "{reply}");
    // Without the chain, the same post is refused: the trust is in the
    // sealer's chain, not in the From domain nor the relay.
    let reply = send("bounces@lists.test", &post("x@origin.test", "two"));
    assert!(reply.starts_with("550"), "{reply}");
    assert!(reply.contains("DMARC"), "{reply}");
    // Sealed by a list the operator does not trust: the DMARC failure
    // stands, as without ARC.
    let untrusted = sealed(&dns, "other.test", other, &post("x@origin.test", "three")).await;
    let reply = send("bounces@other.test", &untrusted);
    assert!(reply.starts_with("550"), "{reply}");
    assert!(reply.contains("DMARC policy of origin.test"), "{reply}");

    let msgs = inbox(&env.data(), "ann@example.org").await;
    assert_eq!(msgs.len(), 1, "only the trusted list's post is delivered");
    let m = text(&msgs[0]);
    assert!(m.contains("Subject: [list] one"), "{m}");
    assert!(m.contains("dmarc=fail"), "{m}");
    assert!(
        m.contains("arc=pass (i=1, d=lists.test, trusted sealer: dmarc failure overridden)"),
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
    let good = sealed(&dns, "lists.test", lists, &post("y@plain.test", "intact")).await;
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
