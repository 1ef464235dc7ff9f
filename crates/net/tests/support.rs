//! Shared test helpers: a served listener that stops cleanly, TLS clients
//! that trust exactly the server's certificate, bounded reads.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use postern_net::{
    CertSource, ConnLimits, Connection, Handler, HandlerResult, ListenerSpec, NetError, TlsManager,
    bind, client_config_trusting,
};
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Upper bound for anything a test waits on.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Awaits `fut`, failing the test if it takes longer than [`LIMIT`].
pub async fn within<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(LIMIT, fut)
        .await
        .expect("test step timed out")
}

pub fn self_signed(dir: &Path) -> TlsManager {
    TlsManager::load(CertSource::SelfSigned {
        hostname: "mail.example.org".into(),
        dir: dir.to_path_buf(),
    })
    .expect("self-signed certificate")
}

pub fn spec(implicit_tls: bool, limits: ConnLimits) -> ListenerSpec {
    ListenerSpec {
        name: if implicit_tls { "imaps" } else { "imap" },
        proto: "imap",
        addr: "127.0.0.1:0".parse().expect("addr"),
        implicit_tls,
        limits,
    }
}

/// A listener being served in the background.
pub struct Server {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
    pub serve: JoinHandle<Result<(), NetError>>,
}

pub async fn start(
    spec: ListenerSpec,
    handler: Arc<dyn Handler>,
    tls: Option<TlsManager>,
) -> Server {
    let bound = bind(spec).await.expect("bind");
    let addr = bound.local_addr();
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let serve = tokio::spawn(bound.serve(handler, tls, shutdown.clone(), tracker.clone()));
    Server {
        addr,
        shutdown,
        tracker,
        serve,
    }
}

impl Server {
    /// Cancels, waits for the accept loop and then for every connection.
    pub async fn stop(self) {
        self.shutdown.cancel();
        within(self.serve)
            .await
            .expect("serve task panicked")
            .expect("serve failed");
        self.tracker.close();
        within(self.tracker.wait()).await;
    }
}

/// Writes a greeting, then echoes until EOF; says `bye` on shutdown.
pub struct Greeter {
    pub refusal: &'static [u8],
}

impl Handler for Greeter {
    fn handle(&self, mut conn: Connection) -> postern_net::HandlerFuture {
        Box::pin(async move {
            conn.stream.write_all(b"hi\r\n").await?;
            echo_until_shutdown(&mut conn).await
        })
    }

    fn refuse(&self) -> &'static [u8] {
        self.refusal
    }

    fn blocked_line(&self) -> &'static [u8] {
        b"blocked\r\n"
    }
}

/// Echoes what the client sends until EOF; on shutdown writes `bye`.
pub async fn echo_until_shutdown(conn: &mut Connection) -> HandlerResult {
    let mut buf = [0u8; 1024];
    loop {
        tokio::select! {
            () = conn.shutdown.cancelled() => {
                conn.stream.write_all(b"bye\r\n").await?;
                conn.stream.shutdown().await?;
                return Ok(());
            }
            n = conn.stream.read(&mut buf) => {
                let n = n?;
                if n == 0 {
                    return Ok(());
                }
                conn.stream.write_all(&buf[..n]).await?;
            }
        }
    }
}

/// Reads one CRLF-terminated line byte by byte (so nothing past it is
/// consumed), bounded by [`LIMIT`]. Returns "" at EOF.
pub async fn read_line<S: AsyncRead + Unpin>(stream: &mut S) -> String {
    within(async {
        let mut line = Vec::new();
        loop {
            let mut byte = [0u8; 1];
            let n = stream.read(&mut byte).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            line.push(byte[0]);
            if byte[0] == b'\n' {
                break;
            }
        }
        String::from_utf8(line).expect("utf-8 line")
    })
    .await
}

/// Connects with TLS, trusting exactly the certificate in `cert_pem`.
pub async fn tls_connect_over(tcp: TcpStream, cert_pem: &Path) -> TlsStream<TcpStream> {
    let config = client_config_trusting(cert_pem).expect("client config");
    let name = ServerName::try_from("localhost").expect("server name");
    within(TlsConnector::from(config).connect(name, tcp))
        .await
        .expect("TLS handshake")
}

pub async fn tls_connect(addr: SocketAddr, cert_pem: &Path) -> TlsStream<TcpStream> {
    let tcp = within(TcpStream::connect(addr)).await.expect("connect");
    tls_connect_over(tcp, cert_pem).await
}

/// The leaf certificate the server presented.
pub fn peer_cert(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .expect("server presented a certificate")
        .clone()
}
