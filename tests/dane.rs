//! DANE for outbound mail (RFC 7672, issue 20), end to end: the test DNS
//! server plays the validating resolver on loopback that Postern trusts
//! (`[dns] trust_ad = "loopback"`, the default) and marks remote.test as
//! a signed zone; a recording SMTP server on loopback is its MX and
//! presents a certificate the test made. TLSA records decide: a match
//! delivers over TLS, a mismatch or a missing STARTTLS defers with the
//! reason and sends nothing, an unsigned zone keeps opportunistic TLS,
//! and DANE decides over MTA-STS. The `validated_` tests do the same
//! with a really signed tree (`TestDns::sign`): Postern validates the
//! signatures itself (`[dns] dnssec = "validate"`) from the test's root
//! key, and broken signatures are bogus.

use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, PublicKeyData};
use rustls::pki_types::pem::PemObject;
use sha2::Digest;

use crate::outbound::{remote_mx, sender, submit, wait_deferred, wait_queue_empty};
use crate::smtp::mail_env_with;
use crate::support::dns::TestDns;
use crate::support::sink::{Identity, Sink, SinkOpts};
use crate::support::{Env, Server};

/// A server certificate for mx.remote.test, issued by a test CA when
/// `ca` (chain: leaf, CA), else self-signed: (sink identity, leaf SPKI,
/// CA SPKI).
fn identity(ca: bool) -> (Option<Identity>, Vec<u8>, Vec<u8>) {
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(vec!["mx.remote.test".to_string()]).expect("params");
    let spki = key.subject_public_key_info();
    if !ca {
        let cert = params.self_signed(&key).expect("self-signed");
        let id = (vec![cert.der().to_vec()], key.serialize_der());
        return (Some(id), spki, Vec::new());
    }
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("ca key");
    let ca_spki = ca_key.subject_public_key_info();
    let issuer = CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca");
    let leaf = params.signed_by(&key, &issuer).expect("leaf");
    let chain = vec![leaf.der().to_vec(), issuer.der().to_vec()];
    (Some((chain, key.serialize_der())), spki, ca_spki)
}

fn sha256(b: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(b).to_vec()
}

/// The TLSA owner of the sink (RFC 6698 §3: `_PORT._tcp.HOST`).
fn owner(sink: &Sink) -> String {
    format!("_{}._tcp.mx.remote.test", sink.port)
}

/// A sender whose retries wait an hour, so a deferral stays to be read.
fn patient_sender(dns: &TestDns, sink: &Sink) -> (Env, Server) {
    mail_env_with(&format!(
        "{}[queue]\nfirst_retry_secs = 3600\nmax_retry_secs = 3600\n[outbound]\nport = {}\n",
        dns.config(),
        sink.port
    ))
}

fn starttls_with(identity: Option<Identity>) -> SinkOpts {
    SinkOpts {
        starttls: true,
        identity,
        ..SinkOpts::default()
    }
}

#[tokio::test]
async fn a_matching_dane_ee_3_1_1_record_delivers_over_tls() {
    let (id, spki, _) = identity(false);
    let (dns, sink) = remote_mx(starttls_with(id));
    dns.dnssec_zone("remote.test");
    dns.tlsa(&owner(&sink), 3, 1, 1, &sha256(&spki));
    let (env, server) = sender(&dns, sink.port, "");
    submit(&env, &server, &["x@remote.test"], "dane");
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(txs[0].tls, "DANE delivers over TLS only");
    wait_queue_empty(&env);
    server.wait_for_log("DANE: TLS with the MX host", Duration::from_secs(10));
}

#[tokio::test]
async fn a_tlsa_mismatch_defers_with_the_reason_and_sends_nothing_in_the_clear() {
    let (id, spki, _) = identity(false);
    let (dns, sink) = remote_mx(starttls_with(id));
    dns.dnssec_zone("remote.test");
    let mut wrong = sha256(&spki);
    wrong[0] ^= 0xff;
    dns.tlsa(&owner(&sink), 3, 1, 1, &wrong);
    let (env, server) = patient_sender(&dns, &sink);
    submit(&env, &server, &["x@remote.test"], "dane mismatch");
    let show = wait_deferred(&env);
    assert!(
        show.contains(&format!("4.7.5 DANE: {} has TLSA records", owner(&sink))),
        "{show}"
    );
    assert!(
        show.contains("the certificate matches none of the 1 usable TLSA records"),
        "{show}"
    );
    // No MAIL (it would come with its RCPT, pipelined) and no message.
    assert!(sink.rcpt_log.lock().expect("log").is_empty());
    assert!(sink.txs().is_empty());
    server.wait_for_log("tlsa-invalid", Duration::from_secs(10));
}

#[tokio::test]
async fn a_dane_mx_without_starttls_defers() {
    let (id, spki, _) = identity(false);
    let (dns, sink) = remote_mx(SinkOpts {
        starttls: false,
        identity: id,
        ..SinkOpts::default()
    });
    dns.dnssec_zone("remote.test");
    dns.tlsa(&owner(&sink), 3, 1, 1, &sha256(&spki));
    let (env, server) = patient_sender(&dns, &sink);
    submit(&env, &server, &["x@remote.test"], "dane without starttls");
    let show = wait_deferred(&env);
    assert!(show.contains("4.7.5 DANE:"), "{show}");
    assert!(show.contains("does not offer STARTTLS"), "{show}");
    assert!(sink.rcpt_log.lock().expect("log").is_empty());
    server.wait_for_log("dane-required", Duration::from_secs(10));
}

#[tokio::test]
async fn tlsa_records_none_usable_still_make_tls_mandatory() {
    // RFC 7672 §2.2 and §3.1.3: a PKIX-EE record is unusable for SMTP, so
    // it authenticates nothing (a key it does not name is fine), but the
    // secure TLSA RRset still rules out the clear.
    let (dns, sink) = remote_mx(starttls_with(None));
    dns.dnssec_zone("remote.test");
    dns.tlsa(&owner(&sink), 1, 1, 1, &[0u8; 32]);
    let (env, server) = sender(&dns, sink.port, "");
    submit(&env, &server, &["x@remote.test"], "encrypted anyway");
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(txs[0].tls);
    drop(server);

    let (dns, plain) = remote_mx(SinkOpts::default());
    dns.dnssec_zone("remote.test");
    dns.tlsa(&owner(&plain), 1, 1, 1, &[0u8; 32]);
    let (env, server) = patient_sender(&dns, &plain);
    submit(&env, &server, &["x@remote.test"], "not in the clear");
    let show = wait_deferred(&env);
    assert!(show.contains("4.7.5 DANE:"), "{show}");
    assert!(show.contains("does not offer STARTTLS"), "{show}");
    assert!(plain.rcpt_log.lock().expect("log").is_empty());
}

#[tokio::test]
async fn a_dane_ta_2_1_1_record_of_the_issuing_ca_delivers() {
    let (id, _, ca_spki) = identity(true);
    let (dns, sink) = remote_mx(starttls_with(id));
    dns.dnssec_zone("remote.test");
    dns.tlsa(&owner(&sink), 2, 1, 1, &sha256(&ca_spki));
    let (env, server) = sender(&dns, sink.port, "");
    submit(&env, &server, &["x@remote.test"], "dane-ta");
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(txs[0].tls);
    wait_queue_empty(&env);
}

#[tokio::test]
async fn tlsa_records_of_an_unsigned_zone_are_ignored() {
    // The same mismatching record, but nothing vouches for it: today's
    // opportunistic TLS, and the mail goes.
    let (id, spki, _) = identity(false);
    let (dns, sink) = remote_mx(starttls_with(id));
    let mut wrong = sha256(&spki);
    wrong[0] ^= 0xff;
    dns.tlsa(&owner(&sink), 3, 1, 1, &wrong);
    let (env, server) = sender(&dns, sink.port, "");
    submit(&env, &server, &["x@remote.test"], "unsigned");
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(txs[0].tls);
    wait_queue_empty(&env);
}

#[tokio::test]
async fn a_bogus_tlsa_answer_defers() {
    let (id, _, _) = identity(false);
    let (dns, sink) = remote_mx(starttls_with(id));
    dns.dnssec_zone("remote.test");
    dns.bogus(&owner(&sink));
    let (env, server) = patient_sender(&dns, &sink);
    submit(&env, &server, &["x@remote.test"], "bogus");
    let show = wait_deferred(&env);
    assert!(
        show.contains("4.7.5 DANE: the DNSSEC lookup of TLSA"),
        "{show}"
    );
    assert!(sink.rcpt_log.lock().expect("log").is_empty());
    server.wait_for_log("dnssec-invalid", Duration::from_secs(10));
}

#[tokio::test]
async fn dane_decides_over_mta_sts_in_both_directions() {
    // RFC 8461 §2. An enforce policy that lists another MX and whose CA
    // roots do not hold the sink's certificate would defer; the MX's
    // matching TLSA record delivers.
    let (id, spki, _) = identity(false);
    let sink = Sink::start(starttls_with(id), &["mx.remote.test"]);
    let policy = "version: STSv1\nmode: enforce\nmx: *.elsewhere.test\nmax_age: 86400\n";
    let (dns, _sts, env, server) = crate::outbound::sts_setup(policy, &sink);
    dns.dnssec_zone("remote.test");
    dns.tlsa(&owner(&sink), 3, 1, 1, &sha256(&spki));
    submit(&env, &server, &["x@remote.test"], "dane over sts");
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(txs[0].tls);
    wait_queue_empty(&env);
    drop(server);

    // A policy that lists the MX, and a certificate valid for it (the
    // sink's own, among the roots), does not save a TLSA mismatch.
    let sink = Sink::start(starttls_with(None), &["mx.remote.test"]);
    let policy = "version: STSv1\nmode: enforce\nmx: mx.remote.test\nmax_age: 86400\n";
    let (dns, _sts, env, server) = crate::outbound::sts_setup(policy, &sink);
    dns.dnssec_zone("remote.test");
    dns.tlsa(&owner(&sink), 3, 1, 1, &[0u8; 32]);
    submit(
        &env,
        &server,
        &["x@remote.test"],
        "sts cannot override dane",
    );
    let show = wait_deferred(&env);
    assert!(show.contains("the certificate matches none"), "{show}");
    assert!(sink.txs().is_empty());
    drop(server);
}

#[tokio::test]
async fn domain_dns_prints_the_tlsa_record_of_the_served_key_and_doctor_checks_it() {
    let dns = TestDns::start();
    // The server makes its self-signed certificate at the first start.
    let (env, _server) = mail_env_with(&dns.config());
    let out = env.ok(&["domain", "dns", "example.org"]);
    let pem = std::fs::read_to_string(env.cert()).expect("served certificate");
    let der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).expect("pem");
    let parsed = rustls::server::ParsedCertificate::try_from(&der).expect("parse");
    let spki = sha256(parsed.subject_public_key_info().as_ref());
    let want: String = spki.iter().map(|b| format!("{b:02x}")).collect();
    let line = out
        .lines()
        .find(|l| l.starts_with("_25._tcp.mail.test."))
        .unwrap_or_else(|| panic!("no TLSA line:\n{out}"));
    assert!(line.ends_with(&format!("IN TLSA  3 1 1 {want}")), "{line}");
    // A new key changes the record, and the output says so.
    assert!(
        out.contains("A certificate with a new key changes it"),
        "{out}"
    );

    // The doctor compares what is published with the served key.
    let (_held, closed) = crate::outbound::refusing_port();
    let probe = format!("127.0.0.1:{closed}");
    let doctor = || {
        let out = env.run(&["doctor", "--probe", &probe, "--timeout", "5"], "");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    dns.tlsa("_25._tcp.mail.test", 3, 1, 1, &[0u8; 32]);
    let out = doctor();
    assert!(
        out.contains(
            "FAIL  tlsa: no TLSA record of _25._tcp.mail.test matches the served certificate"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "fix: publish _25._tcp.mail.test. IN TLSA 3 1 1 {want}"
        )),
        "{out}"
    );
    dns.tlsa("_25._tcp.mail.test", 3, 1, 1, &spki);
    // Right, but in an unsigned zone: DANE senders ignore it.
    let out = doctor();
    assert!(
        out.contains("WARN  tlsa: _25._tcp.mail.test matches the served certificate, but the answer is not DNSSEC-validated"),
        "{out}"
    );
    dns.dnssec_zone("mail.test");
    let out = doctor();
    assert!(
        out.contains(
            "OK    tlsa: a TLSA record of _25._tcp.mail.test matches the served certificate"
        ),
        "{out}"
    );
}

/// remote.test's MX is the sink, in a zone really signed with a key the
/// test made, which Postern validates from (`[dns] dnssec = "validate"`).
fn signed_remote_mx(opts: SinkOpts) -> (TestDns, Sink) {
    let (dns, sink) = remote_mx(opts);
    dns.sign();
    dns.dnssec_zone("remote.test");
    (dns, sink)
}

#[tokio::test]
async fn validated_a_matching_tlsa_record_of_a_signed_zone_delivers_over_tls() {
    let (id, spki, _) = identity(false);
    let (dns, sink) = signed_remote_mx(starttls_with(id));
    dns.tlsa(&owner(&sink), 3, 1, 1, &sha256(&spki));
    let (env, server) = sender(&dns, sink.port, "");
    submit(&env, &server, &["x@remote.test"], "validated dane");
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(txs[0].tls, "DANE delivers over TLS only");
    wait_queue_empty(&env);
    server.wait_for_log("DANE: TLS with the MX host", Duration::from_secs(10));
}

#[tokio::test]
async fn validated_a_tlsa_mismatch_in_a_signed_zone_defers() {
    let (id, spki, _) = identity(false);
    let (dns, sink) = signed_remote_mx(starttls_with(id));
    let mut wrong = sha256(&spki);
    wrong[0] ^= 0xff;
    dns.tlsa(&owner(&sink), 3, 1, 1, &wrong);
    let (env, server) = patient_sender(&dns, &sink);
    submit(&env, &server, &["x@remote.test"], "validated mismatch");
    let show = wait_deferred(&env);
    assert!(
        show.contains("the certificate matches none of the 1 usable TLSA records"),
        "{show}"
    );
    assert!(sink.rcpt_log.lock().expect("log").is_empty());
    assert!(sink.txs().is_empty());
}

#[tokio::test]
async fn validated_broken_signatures_on_the_tlsa_records_defer_as_bogus() {
    // The record matches, but its signature does not verify: bogus, and
    // RFC 7672 §2.1 says defer, never fall back.
    let (id, spki, _) = identity(false);
    let (dns, sink) = signed_remote_mx(starttls_with(id));
    dns.tlsa(&owner(&sink), 3, 1, 1, &sha256(&spki));
    dns.bogus(&owner(&sink));
    let (env, server) = patient_sender(&dns, &sink);
    submit(&env, &server, &["x@remote.test"], "validated bogus");
    let show = wait_deferred(&env);
    assert!(
        show.contains(&format!(
            "4.7.5 DANE: the DNSSEC lookup of TLSA {} failed: DNSSEC validation failed: the answer is bogus",
            owner(&sink)
        )),
        "{show}"
    );
    assert!(sink.rcpt_log.lock().expect("log").is_empty());
    server.wait_for_log("dnssec-invalid", Duration::from_secs(10));
}

#[tokio::test]
async fn validated_broken_signatures_on_the_mx_records_defer() {
    let (id, spki, _) = identity(false);
    let (dns, sink) = signed_remote_mx(starttls_with(id));
    dns.tlsa(&owner(&sink), 3, 1, 1, &sha256(&spki));
    dns.bogus("remote.test");
    let (env, server) = patient_sender(&dns, &sink);
    submit(&env, &server, &["x@remote.test"], "validated bogus mx");
    let show = wait_deferred(&env);
    assert!(
        show.contains("4.7.5 DANE: the DNSSEC lookup of MX remote.test failed"),
        "{show}"
    );
    assert!(sink.rcpt_log.lock().expect("log").is_empty());
}

#[tokio::test]
async fn validated_a_signed_zone_without_tlsa_records_keeps_opportunistic_tls() {
    // The MX and address are secure; the absence of TLSA is proven by a
    // signed NSEC (NXDOMAIN): no DANE, and the mail goes.
    let (dns, sink) = signed_remote_mx(starttls_with(None));
    let (env, server) = sender(&dns, sink.port, "");
    submit(&env, &server, &["x@remote.test"], "secure, no tlsa");
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(txs[0].tls);
    wait_queue_empty(&env);
}

#[tokio::test]
async fn validated_tlsa_records_under_an_unsigned_delegation_are_ignored() {
    // The root is signed, remote.test is delegated without a DS (a signed
    // NSEC proves it): insecure, so a mismatching record changes nothing.
    let (id, spki, _) = identity(false);
    let (dns, sink) = remote_mx(starttls_with(id));
    dns.sign();
    let mut wrong = sha256(&spki);
    wrong[0] ^= 0xff;
    dns.tlsa(&owner(&sink), 3, 1, 1, &wrong);
    let (env, server) = sender(&dns, sink.port, "");
    submit(&env, &server, &["x@remote.test"], "unsigned delegation");
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(txs[0].tls);
    wait_queue_empty(&env);
}

#[tokio::test]
async fn validated_a_zone_signed_by_a_key_that_is_not_the_trust_anchor_is_bogus() {
    // The same signed tree, but Postern trusts another root key: nothing
    // chains to its anchor, so the MX answer is bogus and the mail waits.
    let (id, spki, _) = identity(false);
    let (dns, sink) = signed_remote_mx(starttls_with(id));
    dns.tlsa(&owner(&sink), 3, 1, 1, &sha256(&spki));
    let dir = tempfile::tempdir().expect("temp dir");
    let other = dir.path().join("other-root.key");
    let key = crate::support::dnssec::RootSigner::generate();
    std::fs::write(&other, key.anchor()).expect("write the other anchor");
    let (env, server) = mail_env_with(&format!(
        "[dns]\nnameservers = [\"127.0.0.1:{}\"]\ndnssec = \"validate\"\ntrust_anchor = \"{}\"\n\
         [queue]\nfirst_retry_secs = 3600\nmax_retry_secs = 3600\n[outbound]\nport = {}\n",
        dns.port,
        other.display(),
        sink.port
    ));
    submit(&env, &server, &["x@remote.test"], "wrong anchor");
    let show = wait_deferred(&env);
    assert!(
        show.contains("4.7.5 DANE: the DNSSEC lookup of MX remote.test failed"),
        "{show}"
    );
    assert!(sink.rcpt_log.lock().expect("log").is_empty());
}
