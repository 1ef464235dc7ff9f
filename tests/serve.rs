//! `postern serve` as a user runs it: every listener bound on port 0 and
//! answering (implicit-TLS ones after a real handshake with the self-signed
//! certificate), the admin CLI working beside it, a second server refused,
//! SIGHUP swapping certificates, SIGTERM stopping cleanly.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

use crate::support::Env;

const TIMEOUT: Duration = Duration::from_secs(10);

async fn first_line_plain(addr: &str) -> String {
    let tcp = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    let mut r = BufReader::new(tcp);
    let mut line = String::new();
    tokio::time::timeout(TIMEOUT, r.read_line(&mut line))
        .await
        .expect("line in time")
        .expect("read");
    line
}

/// Connects with TLS trusting exactly `cert`; returns the greeting and the
/// certificate the server presented.
async fn first_line_tls(addr: &str, cert: &std::path::Path) -> (String, CertificateDer<'static>) {
    postern_net::install_default_crypto_provider();
    let config = postern_net::client_config_trusting(cert).expect("client config");
    let tcp = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let tls = tokio::time::timeout(
        TIMEOUT,
        TlsConnector::from(Arc::clone(&config)).connect(name, tcp),
    )
    .await
    .expect("handshake in time")
    .expect("handshake with the self-signed certificate");
    let presented = tls.get_ref().1.peer_certificates().expect("peer certs")[0]
        .clone()
        .into_owned();
    let mut r = BufReader::new(tls);
    let mut line = String::new();
    tokio::time::timeout(TIMEOUT, r.read_line(&mut line))
        .await
        .expect("line in time")
        .expect("read");
    (line, presented)
}

#[tokio::test]
async fn every_listener_binds_on_port_0_and_answers_in_its_protocol() {
    let env = Env::new();
    let server = env.serve();
    for (name, want) in [
        ("smtp", "220 mail.test ESMTP Postern"),
        ("submission", "220 mail.test ESMTP Postern"),
        ("imap", "* OK [CAPABILITY IMAP4rev1 "),
        ("pop3", "+OK mail.test Postern POP3"),
        // RFC 5804 §1.7: the greeting is the capability list.
        ("managesieve", "\"IMPLEMENTATION\" \"Postern\""),
    ] {
        let line = first_line_plain(&server.addr(name)).await;
        assert!(
            line.starts_with(want) && line.ends_with("\r\n"),
            "{name}: {line:?}"
        );
    }
    for (name, want) in [
        ("submissions", "220 mail.test ESMTP Postern"),
        ("imaps", "* OK [CAPABILITY IMAP4rev1 "),
        ("pop3s", "+OK mail.test Postern POP3"),
    ] {
        let (line, _) = first_line_tls(&server.addr(name), &env.cert()).await;
        assert!(line.starts_with(want), "{name} over TLS: {line:?}");
    }
    let (status, stdout, stderr) = server.stop();
    assert!(status.success(), "clean exit on SIGTERM: {stderr}");
    assert!(stdout.contains("No users yet"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "postern --config {} user add you@example.org",
            env.config.display()
        )),
        "{stdout}"
    );
    assert!(stderr.contains("stopped"), "{stderr}");
}

#[tokio::test]
async fn the_cli_works_while_the_server_runs_and_a_second_server_is_refused() {
    let env = Env::new();
    let server = env.serve();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "pw\n");
    assert!(env.ok(&["user", "list"]).contains("ann@example.org"));
    let err = env.fails(&["serve"], "");
    assert!(err.contains("in use by another postern server"), "{err}");
    let (status, _, stderr) = server.stop();
    assert!(status.success(), "{stderr}");
    // The self-signed certificate is kept: a restart presents the same one.
    let first = std::fs::read(env.cert()).expect("cert kept in the data dir");
    let server = env.serve();
    let (_, presented) = first_line_tls(&server.addr("imaps"), &env.cert()).await;
    assert_eq!(std::fs::read(env.cert()).expect("cert"), first);
    assert!(!presented.is_empty());
    let (_, stdout, _) = server.stop();
    assert!(stdout.contains("1 users"), "{stdout}");
}

fn make_cert(dir: &std::path::Path, tag: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), format!("{tag}.test")])
            .expect("rcgen");
    let cert = dir.join(format!("{tag}-cert.pem"));
    let key = dir.join(format!("{tag}-key.pem"));
    std::fs::write(&cert, ck.cert.pem()).expect("write cert");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("write key");
    (cert, key)
}

#[tokio::test]
async fn sighup_swaps_the_certificate_without_a_restart() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (c1, k1) = make_cert(scratch.path(), "one");
    let (c2, k2) = make_cert(scratch.path(), "two");
    let live_c = scratch.path().join("live-cert.pem");
    let live_k = scratch.path().join("live-key.pem");
    std::fs::copy(&c1, &live_c).expect("copy");
    std::fs::copy(&k1, &live_k).expect("copy");
    let env = Env::with_config(&format!(
        "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        live_c.display(),
        live_k.display()
    ));
    let mut server = env.serve();
    let (_, before) = first_line_tls(&server.addr("imaps"), &c1).await;
    std::fs::copy(&c2, &live_c).expect("copy");
    std::fs::copy(&k2, &live_k).expect("copy");
    server.signal("HUP");
    let mut after = None;
    for _ in 0..100 {
        let cfg = postern_net::client_config_trusting(&c2).expect("config");
        let tcp = TcpStream::connect(server.addr("imaps"))
            .await
            .expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        if let Ok(Ok(tls)) =
            tokio::time::timeout(TIMEOUT, TlsConnector::from(cfg).connect(name, tcp)).await
        {
            after = Some(
                tls.get_ref().1.peer_certificates().expect("certs")[0]
                    .clone()
                    .into_owned(),
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = after.expect("the new certificate is served after SIGHUP");
    assert_ne!(before, after);
    let (status, _, stderr) = server.stop();
    assert!(status.success());
    assert!(stderr.contains("certificate reloaded"), "{stderr}");
}
