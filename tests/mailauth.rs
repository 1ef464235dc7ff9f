//! Mail authentication end to end: DKIM signatures Postern puts on
//! submitted mail verify with mail-auth against the keys `postern domain
//! dns` prints (published in the loopback DNS); mail arriving on port 25
//! gets Authentication-Results for SPF, DKIM and DMARC, and a DMARC
//! p=reject failure is refused.

use std::net::Ipv4Addr;
use std::time::Duration;

use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator};

use crate::smtp::{inbox, mail_env_with, python};
use crate::support::dns::TestDns;
use crate::support::sink::{Sink, SinkOpts};

/// The TXT records of `postern domain dns` as (owner, value) pairs.
pub fn txt_records(dns_out: &str) -> Vec<(String, String)> {
    dns_out
        .lines()
        .filter(|l| !l.starts_with(';') && l.contains(" IN TXT "))
        .filter_map(|l| {
            let (owner, rest) = l.split_once(" IN TXT ")?;
            let value: String = rest
                .trim()
                .split("\" \"")
                .collect::<String>()
                .trim_matches('"')
                .to_string();
            Some((owner.trim().trim_end_matches('.').to_string(), value))
        })
        .collect()
}

/// The result of each DKIM-Signature on `message`, its keys looked up in
/// `dns`.
pub async fn dkim_results(dns: &TestDns, message: &[u8]) -> Vec<DkimResult> {
    let resolver =
        postern_net::dns::resolver(&[format!("127.0.0.1:{}", dns.port).parse().expect("addr")])
            .expect("resolver");
    let msg = AuthenticatedMessage::parse(message).expect("parses");
    MessageAuthenticator(resolver)
        .verify_dkim(&msg)
        .await
        .iter()
        .map(|r| r.result().clone())
        .collect()
}

#[tokio::test]
async fn submitted_mail_is_signed_with_ed25519_and_rsa_and_verifies_against_the_printed_records() {
    let dns = TestDns::start();
    let sink = Sink::start(SinkOpts::default(), &["mx.remote.test"]);
    dns.mx("remote.test", 10, "mx.remote.test");
    dns.a("mx.remote.test", Ipv4Addr::LOCALHOST);
    let (env, server) = mail_env_with(&format!(
        "{}[outbound]\nport = {}\n",
        dns.config(),
        sink.port
    ));
    let printed = env.ok(&["domain", "dns", "example.org"]);
    for want in [
        "example.org.",
        "IN MX    10 mail.test.",
        "\"v=spf1 mx -all\"",
        "_dmarc.example.org.",
        "_submissions._tcp.example.org.",
        "IN SRV   0 1 465 mail.test.",
        "autoconfig.example.org.",
    ] {
        assert!(printed.contains(want), "missing {want:?} in\n{printed}");
    }
    let records = txt_records(&printed);
    let dkim: Vec<_> = records
        .iter()
        .filter(|(o, _)| o.ends_with("._domainkey.example.org"))
        .collect();
    assert_eq!(dkim.len(), 2, "an Ed25519 and an RSA key: {records:?}");
    for (owner, value) in &records {
        dns.txt(owner, value);
    }
    python(
        &env,
        &server,
        "s = sub()\n\
         s.sendmail('ann@example.org', ['x@remote.test'], 'From: Ann <ann@example.org>\\r\\nTo: x@remote.test\\r\\nSubject: signed\\r\\nDate: Wed, 25 Nov 2026 04:00:00 +0000\\r\\nMessage-ID: <s1@example.org>\\r\\n\\r\\nSigned body.\\r\\n')\n\
         s.quit()\n",
    );
    let txs = sink.wait_for(1, Duration::from_secs(30));
    let data = &txs[0].data;
    let text = String::from_utf8_lossy(data);
    assert_eq!(text.matches("DKIM-Signature: ").count(), 2, "{text}");
    assert!(text.contains("a=ed25519-sha256"), "{text}");
    assert!(text.contains("a=rsa-sha256"), "{text}");
    let results = dkim_results(&dns, data).await;
    assert_eq!(results.len(), 2);
    for r in &results {
        assert_eq!(r, &DkimResult::Pass, "{r:?}");
    }
    // The same bytes with the body changed no longer verify.
    let tampered = text.replace("Signed body.", "Changed body.");
    for r in dkim_results(&dns, tampered.as_bytes()).await {
        // mail-auth calls a body hash mismatch "neutral" (RFC 6376 §6.1.3).
        assert!(
            matches!(r, DkimResult::Neutral(_) | DkimResult::Fail(_)),
            "{r:?}"
        );
    }
    // Rotation makes a new active pair; the old keys stay listed.
    let rotated = env.ok(&["dkim", "rotate", "example.org"]);
    assert!(rotated.contains("._domainkey.example.org."), "{rotated}");
    let listed = env.ok(&["dkim", "list", "example.org"]);
    assert_eq!(listed.matches("retired").count(), 2, "{listed}");
    assert_eq!(listed.matches("active").count(), 2, "{listed}");
}

/// Sends `message` from `mail_from` to ann over port 25; returns the reply
/// to the end of data.
fn send_mx(
    env: &crate::support::Env,
    server: &crate::support::Server,
    mail_from: &str,
    message: &str,
) -> String {
    crate::smtp::send_mx_to(env, server, mail_from, &["ann@example.org"], message)
}

#[tokio::test]
async fn inbound_mail_is_labelled_with_spf_dkim_and_dmarc_and_dmarc_reject_is_refused() {
    let dns = TestDns::start();
    dns.txt("pass.test", "v=spf1 ip4:127.0.0.1 -all");
    dns.txt("fail.test", "v=spf1 ip4:192.0.2.1 -all");
    dns.txt("soft.test", "v=spf1 ~all");
    dns.txt("evil.test", "v=spf1 ip4:192.0.2.1 -all");
    dns.txt("_dmarc.evil.test", "v=DMARC1; p=reject");
    dns.txt("_dmarc.signed.test", "v=DMARC1; p=none");
    // A sender that signs with its own Ed25519 key.
    let pkcs8 = Ed25519Key::generate_pkcs8().expect("key");
    let key = Ed25519Key::from_pkcs8_der(&pkcs8).expect("key");
    use base64::Engine as _;
    dns.txt(
        "sel._domainkey.signed.test",
        &format!(
            "v=DKIM1; k=ed25519; p={}",
            base64::engine::general_purpose::STANDARD.encode(key.public_key())
        ),
    );
    let (env, server) = mail_env_with(&dns.config());

    let plain = |from: &str| {
        format!("From: {from}\r\nTo: ann@example.org\r\nSubject: from {from}\r\n\r\nhello\r\n")
    };
    assert!(send_mx(&env, &server, "a@pass.test", &plain("a@pass.test")).starts_with("250"));
    assert!(send_mx(&env, &server, "b@fail.test", &plain("b@fail.test")).starts_with("250"));
    assert!(send_mx(&env, &server, "c@soft.test", &plain("c@soft.test")).starts_with("250"));
    let body = plain("d@signed.test");
    let sig = DkimSigner::from_key(key)
        .domain("signed.test")
        .selector("sel")
        .headers(["From", "To", "Subject"])
        .sign(body.as_bytes())
        .expect("sign");
    let signed = format!("{}{body}", sig.to_header());
    assert!(send_mx(&env, &server, "d@signed.test", &signed).starts_with("250"));
    let tampered = signed.replace("hello", "jello");
    assert!(send_mx(&env, &server, "e@signed.test", &tampered).starts_with("250"));
    // RFC 8601 §5: results that claim to be ours are removed on the way in;
    // another host's stay.
    let forged = format!(
        "Authentication-Results: mail.test;\r\n dkim=pass header.d=bank.example\r\n\
         Authentication-Results: other.test; spf=pass\r\n{}",
        plain("f@fail.test")
    );
    assert!(send_mx(&env, &server, "f@fail.test", &forged).starts_with("250"));
    let refused = send_mx(&env, &server, "x@evil.test", &plain("x@evil.test"));
    assert!(refused.starts_with("550"), "{refused}");
    assert!(refused.contains("5.7.1"), "{refused}");
    assert!(refused.contains("DMARC"), "{refused}");

    let msgs: Vec<String> = inbox(&env.data(), "ann@example.org")
        .await
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    assert_eq!(msgs.len(), 6, "the DMARC-refused message is not there");
    let ar = |i: usize| -> String {
        let m = &msgs[i];
        let start = m
            .find("Authentication-Results: mail.test")
            .expect("A-R header");
        let end = m[start..]
            .find("\r\nFrom: ")
            .map(|e| start + e)
            .unwrap_or(m.len());
        m[start..end].to_string()
    };
    assert!(ar(0).contains("spf=pass"), "{}", ar(0));
    assert!(ar(1).contains("spf=fail"), "{}", ar(1));
    assert!(ar(2).contains("spf=softfail"), "{}", ar(2));
    assert!(ar(3).contains("dkim=pass"), "{}", ar(3));
    assert!(ar(3).contains("dmarc=pass"), "{}", ar(3));
    assert!(!ar(4).contains("dkim=pass"), "{}", ar(4));
    assert!(ar(4).contains("dkim=neutral"), "{}", ar(4));
    assert_eq!(
        msgs[5].matches("Authentication-Results: mail.test").count(),
        1,
        "{}",
        msgs[5]
    );
    assert!(!msgs[5].contains("bank.example"), "{}", msgs[5]);
    assert!(msgs[5].contains("Authentication-Results: other.test; spf=pass"));
    assert!(ar(5).contains("spf=fail"), "{}", ar(5));
}

#[tokio::test]
async fn with_quarantine_a_dmarc_reject_failure_goes_to_junk() {
    let dns = TestDns::start();
    dns.txt("evil.test", "v=spf1 ip4:192.0.2.1 -all");
    dns.txt("_dmarc.evil.test", "v=DMARC1; p=reject");
    let (env, server) = mail_env_with(&format!(
        "{}[mailauth]\ndmarc_reject = \"quarantine\"\n",
        dns.config()
    ));
    let msg = "From: x@evil.test\r\nTo: ann@example.org\r\nSubject: phish\r\n\r\nclick\r\n";
    assert!(send_mx(&env, &server, "x@evil.test", msg).starts_with("250"));
    assert!(inbox(&env.data(), "ann@example.org").await.is_empty());
    let store = postern_store::Store::open(
        &env.data(),
        postern_store::StoreOptions {
            mode: postern_store::OpenMode::Admin,
            ..postern_store::StoreOptions::default()
        },
    )
    .expect("open");
    let ann = store
        .user_get("ann@example.org")
        .await
        .expect("get")
        .expect("ann");
    let junk = store
        .mailbox_get(ann.id, "Junk")
        .await
        .expect("get")
        .expect("Junk");
    let msgs = store.messages(junk.id).await.expect("list");
    assert_eq!(msgs.len(), 1);
    let raw = store.read_blob(&msgs[0].blob).await.expect("blob");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("dmarc=fail"), "{text}");
    assert!(text.contains("policy.dmarc=reject"), "{text}");
}

#[tokio::test]
async fn postern_to_postern_over_starttls_with_dkim_spf_and_dmarc_passing() {
    let dns = TestDns::start();
    // The receiving Postern: other.test, user dan.
    let recv = crate::support::Env::with_config(&dns.config());
    recv.ok(&["domain", "add", "other.test"]);
    recv.ok_with(&["user", "add", "dan@other.test"], "dan password\n");
    let receiver = recv.serve();
    dns.mx("other.test", 10, "mx.other.test");
    dns.a("mx.other.test", Ipv4Addr::LOCALHOST);
    // The sending Postern (example.org), its MX port the receiver's.
    let (env, server) = mail_env_with(&format!(
        "{}[outbound]\nport = {}\n",
        dns.config(),
        receiver.port("smtp")
    ));
    for (owner, value) in txt_records(&env.ok(&["domain", "dns", "example.org"])) {
        // The printed SPF says "mx"; the sender here is 127.0.0.1.
        let value = if value.starts_with("v=spf1") {
            "v=spf1 ip4:127.0.0.1 -all".to_string()
        } else {
            value
        };
        dns.txt(&owner, &value);
    }
    python(
        &env,
        &server,
        "s = sub()\n\
         s.sendmail('ann@example.org', ['dan@other.test'], 'From: Ann <ann@example.org>\\r\\nTo: dan@other.test\\r\\nSubject: hello dan\\r\\nDate: Wed, 25 Nov 2026 04:00:00 +0000\\r\\nMessage-ID: <p2p@example.org>\\r\\n\\r\\nHi Dan.\\r\\n')\n\
         s.quit()\n",
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let msgs = loop {
        let m = inbox(&recv.data(), "dan@other.test").await;
        if !m.is_empty() {
            break m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not delivered; sender queue:\n{}",
            env.ok(&["queue", "list"])
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let text = String::from_utf8_lossy(&msgs[0]);
    assert!(text.contains("Subject: hello dan"), "{text}");
    assert!(
        text.contains("with ESMTPS"),
        "STARTTLS between the two: {text}"
    );
    for want in ["dkim=pass", "spf=pass", "dmarc=pass"] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }
    assert_eq!(text.matches("Return-Path:").count(), 1, "{text}");
}
