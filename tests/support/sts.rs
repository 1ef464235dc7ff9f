//! An HTTPS server on 127.0.0.1 serving one MTA-STS policy at
//! `/.well-known/mta-sts.txt` (any request gets it), with an rcgen
//! certificate for `mta-sts.<domain>`. For the MTA-STS tests; `serve`
//! is the same server for any host name and answers, keeping each
//! request (TLS reports POSTed to an https `rua`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub struct StsServer {
    pub port: u16,
    pub cert: PathBuf,
    /// Every request, whole (head and body), in order.
    pub requests: Arc<Mutex<Vec<Vec<u8>>>>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl StsServer {
    pub fn start(domain: &str, policy: &str) -> StsServer {
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{policy}",
            policy.len()
        );
        StsServer::serve(&format!("mta-sts.{domain}"), vec![response])
    }

    /// A server with a certificate for `host`; the n-th request gets the
    /// n-th of `responses` (whole HTTP responses), the last one after that.
    pub fn serve(host: &str, responses: Vec<String>) -> StsServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let ck = rcgen::generate_simple_self_signed(vec![host.to_string()]).expect("rcgen");
        let cert = dir.path().join("sts-cert.pem");
        std::fs::write(&cert, ck.cert.pem()).expect("write cert");
        let key = rustls::pki_types::PrivateKeyDer::try_from(ck.signing_key.serialize_der())
            .expect("key");
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![ck.cert.der().clone()], key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let requests: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let kept = requests.clone();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                port_tx
                    .send(l.local_addr().expect("addr").port())
                    .expect("port");
                let serve = async {
                    loop {
                        let Ok((tcp, _)) = l.accept().await else {
                            continue;
                        };
                        let a = acceptor.clone();
                        let kept = kept.clone();
                        let responses = responses.clone();
                        tokio::spawn(async move {
                            let Ok(mut tls) = a.accept(tcp).await else {
                                return;
                            };
                            let request = read_request(&mut tls).await;
                            let r = {
                                let mut k = kept.lock().expect("requests");
                                k.push(request);
                                let n = (k.len() - 1).min(responses.len() - 1);
                                responses[n].clone()
                            };
                            let _ = tls.write_all(r.as_bytes()).await;
                            let _ = tls.shutdown().await;
                        });
                    }
                };
                tokio::select! {
                    _ = serve => {}
                    _ = stop_rx => {}
                }
            });
        });
        let port = port_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("port");
        StsServer {
            port,
            cert,
            requests,
            _dir: dir,
            stop: Some(stop_tx),
        }
    }
}

/// One request: the head, and as much body as its Content-Length says
/// (bounded, and with a time limit, so a bad client cannot hold it).
async fn read_request<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = std::time::Duration::from_secs(10);
    let _ = tokio::time::timeout(deadline, async {
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    return;
                }
            }
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if buf.len() > 1 << 20 {
                return;
            }
        }
    })
    .await;
    buf
}

impl Drop for StsServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
