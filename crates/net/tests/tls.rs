//! Certificates: self-signed generation and reuse, implicit TLS, hot reload
//! (explicit and by watching the files), and failed reloads keeping the old
//! certificate.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use postern_net::{CertSource, ConnLimits, Connection, NetError, TlsManager, handler_fn};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::support::{
    Greeter, echo_until_shutdown, peer_cert, read_line, self_signed, spec, start, tls_connect,
    within,
};

/// Writes the negotiated TLS version and cipher, then echoes.
fn tls_echo() -> Arc<dyn postern_net::Handler> {
    handler_fn(|mut conn: Connection| async move {
        let info = conn.stream.tls_info().ok_or("not TLS")?;
        let line = format!("{} {}\r\n", info.version, info.cipher);
        conn.stream.write_all(line.as_bytes()).await?;
        echo_until_shutdown(&mut conn).await
    })
}

/// Copies a self-signed pair into `dir/cert.pem`, `dir/key.pem`.
fn install(from: &TlsManager, dir: &Path) -> CertSource {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    fs::copy(from.cert_path(), &cert).expect("copy cert");
    fs::copy(from.key_path(), &key).expect("copy key");
    CertSource::Files { cert, key }
}

#[test]
fn self_signed_cert_is_generated_once_then_loaded_from_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = self_signed(dir.path());
    assert!(dir.path().join("selfsigned-cert.pem").is_file());
    assert!(dir.path().join("selfsigned-key.pem").is_file());
    let second = self_signed(dir.path());
    assert_eq!(first.current_cert_der(), second.current_cert_der());
    assert_eq!(first.cert_path(), second.cert_path());
}

#[test]
fn self_signed_dir_is_created_when_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nested = dir.path().join("a/b/tls");
    let tls = self_signed(&nested);
    assert!(tls.cert_path().starts_with(&nested));
}

#[tokio::test]
async fn implicit_tls_listener_echoes_to_a_client_trusting_the_cert() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = self_signed(dir.path());
    let server = start(
        spec(true, ConnLimits::default()),
        tls_echo(),
        Some(tls.clone()),
    )
    .await;

    let mut client = tls_connect(server.addr, tls.cert_path()).await;
    let info = read_line(&mut client).await;
    assert!(info.starts_with("TLSv1.3 TLS13_"), "{info:?}");
    assert_eq!(peer_cert(&client), tls.current_cert_der());
    within(client.write_all(b"ping\r\n")).await.expect("write");
    assert_eq!(read_line(&mut client).await, "ping\r\n");
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn implicit_tls_without_a_certificate_is_refused() {
    let bound = postern_net::bind(spec(true, ConnLimits::default()))
        .await
        .expect("bind");
    let greeter = Arc::new(Greeter { refusal: b"" });
    let err = bound
        .serve(greeter, None, CancellationToken::new(), TaskTracker::new())
        .await
        .expect_err("must refuse");
    assert!(
        matches!(err, NetError::TlsRequired { listener: "imaps" }),
        "{err}"
    );
}

#[tokio::test]
async fn silent_client_is_dropped_after_the_handshake_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = self_signed(dir.path());
    let limits = ConnLimits {
        tls_handshake_timeout: Duration::from_millis(200),
        ..ConnLimits::default()
    };
    let server = start(spec(true, limits), tls_echo(), Some(tls)).await;
    let mut raw = within(TcpStream::connect(server.addr))
        .await
        .expect("connect");
    let mut buf = [0u8; 16];
    let n = within(raw.read(&mut buf)).await.unwrap_or(0);
    assert_eq!(n, 0, "server should close without sending");
    server.stop().await;
}

#[tokio::test]
async fn reload_swaps_the_cert_for_new_handshakes_and_a_bad_key_keeps_the_old() {
    let (a, b, c, live) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let (old, new, other) = (
        self_signed(a.path()),
        self_signed(b.path()),
        self_signed(c.path()),
    );
    let source = install(&old, live.path());
    let tls = TlsManager::load(source).expect("load");
    let server = start(
        spec(true, ConnLimits::default()),
        tls_echo(),
        Some(tls.clone()),
    )
    .await;

    let before = tls_connect(server.addr, old.cert_path()).await;
    assert_eq!(peer_cert(&before), old.current_cert_der());

    install(&new, live.path());
    tls.reload().expect("reload");
    let after = tls_connect(server.addr, new.cert_path()).await;
    assert_eq!(peer_cert(&after), new.current_cert_der());
    assert_eq!(tls.current_cert_der(), new.current_cert_der());

    // A renewal that left a key of another certificate: refused, old kept.
    fs::copy(other.key_path(), live.path().join("key.pem")).expect("copy key");
    let err = tls.reload().expect_err("mismatched key must fail");
    assert!(matches!(err, NetError::KeyMismatch { .. }), "{err}");
    // A truncated key file: refused, old kept.
    fs::write(
        live.path().join("key.pem"),
        b"-----BEGIN PRIVATE KEY-----\n",
    )
    .expect("write");
    let err = tls.reload().expect_err("broken key must fail");
    assert!(err.to_string().contains("key.pem"), "{err}");

    let still = tls_connect(server.addr, new.cert_path()).await;
    assert_eq!(peer_cert(&still), new.current_cert_der());
    drop((before, after, still));
    server.stop().await;
}

#[tokio::test]
async fn watch_files_reloads_when_the_files_change() {
    let (a, b, live) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let (old, new) = (self_signed(a.path()), self_signed(b.path()));
    let tls = TlsManager::load(install(&old, live.path())).expect("load");
    let stop = CancellationToken::new();
    let watcher = tls.watch_files(Duration::from_millis(20), stop.clone());

    // File timestamps come from a coarse clock (a few ms): let it tick so
    // the rewrite below gets a different mtime than the first copy.
    tokio::time::sleep(Duration::from_millis(50)).await;
    install(&new, live.path());
    within(async {
        while tls.current_cert_der() != new.current_cert_der() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;

    stop.cancel();
    within(watcher).await.expect("watcher panicked");
}

/// `[tls] session_cache`: a client that reconnects resumes its session
/// while the cache has room, and makes a full handshake with no cache.
#[tokio::test]
async fn sessions_resume_while_the_cache_keeps_them() {
    use rustls::HandshakeKind;
    for (cache, want) in [(256, HandshakeKind::Resumed), (0, HandshakeKind::Full)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let made = self_signed(dir.path());
        let tls = TlsManager::load_with(
            install(&made, dir.path()),
            postern_net::TlsOptions {
                session_cache: cache,
            },
        )
        .expect("load");
        let server = start(
            spec(true, ConnLimits::default()),
            tls_echo(),
            Some(tls.clone()),
        )
        .await;
        // One client configuration, so the second connection can offer the
        // session the first one was given.
        let config = postern_net::client_config_trusting(tls.cert_path()).expect("client config");
        let mut kinds = Vec::new();
        for _ in 0..2 {
            let tcp = within(TcpStream::connect(server.addr))
                .await
                .expect("connect");
            let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
            let mut client =
                within(tokio_rustls::TlsConnector::from(config.clone()).connect(name, tcp))
                    .await
                    .expect("TLS handshake");
            // Reading takes in the session ticket sent after the handshake.
            read_line(&mut client).await;
            kinds.push(client.get_ref().1.handshake_kind());
            drop(client);
        }
        assert_eq!(
            kinds,
            [Some(HandshakeKind::Full), Some(want)],
            "cache {cache}"
        );
        server.stop().await;
    }
}
