//! An HTTPS server on 127.0.0.1 serving one MTA-STS policy at
//! `/.well-known/mta-sts.txt` (any request gets it), with an rcgen
//! certificate for `mta-sts.<domain>`. For the MTA-STS tests.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub struct StsServer {
    pub port: u16,
    pub cert: PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl StsServer {
    pub fn start(domain: &str, policy: &str) -> StsServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let ck =
            rcgen::generate_simple_self_signed(vec![format!("mta-sts.{domain}")]).expect("rcgen");
        let cert = dir.path().join("sts-cert.pem");
        std::fs::write(&cert, ck.cert.pem()).expect("write cert");
        let key = rustls::pki_types::PrivateKeyDer::try_from(ck.signing_key.serialize_der())
            .expect("key");
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![ck.cert.der().clone()], key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{policy}",
            policy.len()
        );
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
                        let (a, r) = (acceptor.clone(), response.clone());
                        tokio::spawn(async move {
                            let Ok(mut tls) = a.accept(tcp).await else {
                                return;
                            };
                            let mut buf = [0u8; 4096];
                            let _ = tls.read(&mut buf).await;
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
            _dir: dir,
            stop: Some(stop_tx),
        }
    }
}

impl Drop for StsServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
