//! A recording SMTP server on 127.0.0.1 for the outbound tests: what
//! Postern's queue runner sends arrives here and is kept for the test to
//! check (envelope, data, TLS, AUTH). It offers STARTTLS (or implicit TLS)
//! with a certificate made by rcgen, PIPELINING, 8BITMIME, SMTPUTF8, DSN,
//! and AUTH PLAIN/LOGIN when asked; RCPT replies can be scripted.
//!
//! It runs on its own thread and runtime, so sync and async tests can use it.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A certificate chain (DER, leaf first) and its PKCS#8 key.
pub type Identity = (Vec<Vec<u8>>, Vec<u8>);

#[derive(Clone, Debug, Default)]
pub struct SinkOpts {
    pub starttls: bool,
    pub implicit_tls: bool,
    /// Required AUTH credentials (offered only after TLS).
    pub auth: Option<(String, String)>,
    /// Replies to RCPT, used in order; "250 2.1.5 Ok" once they run out.
    pub rcpt_replies: Vec<String>,
    /// A fixed port (0: any free one).
    pub port: u16,
    /// Leave SMTPUTF8 out of the EHLO reply.
    pub no_smtputf8: bool,
    /// Leave DSN out of the EHLO reply.
    pub no_dsn: bool,
    /// Offer AUTH LOGIN only (not PLAIN).
    pub auth_login_only: bool,
    /// The certificate chain (DER, leaf first) and PKCS#8 key to present;
    /// None: a self-signed certificate for the names given to `start`.
    pub identity: Option<Identity>,
}

/// One transaction that reached the end of DATA.
#[derive(Clone, Debug)]
pub struct Tx {
    pub mail: String,
    /// RCPT lines the sink accepted.
    pub rcpts: Vec<String>,
    pub data: Vec<u8>,
    pub tls: bool,
    pub auth: Option<String>,
}

pub struct Sink {
    pub port: u16,
    /// The certificate (PEM) the sink presents, for relay_ca_file.
    pub cert: PathBuf,
    txs: Arc<Mutex<Vec<Tx>>>,
    /// Every RCPT line with the reply it got.
    pub rcpt_log: Arc<Mutex<Vec<(String, String)>>>,
    /// Connections open now and the most ever open at once.
    pub conns: Arc<Mutex<(usize, usize)>>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

struct Shared {
    opts: SinkOpts,
    script: Mutex<VecDeque<String>>,
    txs: Arc<Mutex<Vec<Tx>>>,
    rcpt_log: Arc<Mutex<Vec<(String, String)>>>,
    conns: Arc<Mutex<(usize, usize)>>,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl Sink {
    pub fn start(opts: SinkOpts, names: &[&str]) -> Sink {
        let dir = tempfile::tempdir().expect("tempdir");
        let ck = rcgen::generate_simple_self_signed(
            names.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
        .expect("rcgen");
        let cert = dir.path().join("sink-cert.pem");
        std::fs::write(&cert, ck.cert.pem()).expect("write cert");
        let (chain, key) = match &opts.identity {
            Some((chain, key)) => (chain.clone(), key.clone()),
            None => (vec![ck.cert.der().to_vec()], ck.signing_key.serialize_der()),
        };
        let key = rustls::pki_types::PrivateKeyDer::try_from(key).expect("key");
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain.into_iter().map(Into::into).collect(), key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let txs: Arc<Mutex<Vec<Tx>>> = Arc::default();
        let rcpt_log: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let conns: Arc<Mutex<(usize, usize)>> = Arc::default();
        let shared = Arc::new(Shared {
            script: Mutex::new(opts.rcpt_replies.iter().cloned().collect()),
            opts,
            txs: txs.clone(),
            rcpt_log: rcpt_log.clone(),
            conns: conns.clone(),
            acceptor,
        });
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let l = TcpListener::bind(("127.0.0.1", shared.opts.port))
                    .await
                    .expect("bind sink");
                port_tx
                    .send(l.local_addr().expect("addr").port())
                    .expect("send port");
                let accept = async {
                    loop {
                        let Ok((tcp, _)) = l.accept().await else {
                            continue;
                        };
                        let sh = shared.clone();
                        tokio::spawn(async move {
                            {
                                let mut c = sh.conns.lock().expect("conns");
                                c.0 += 1;
                                c.1 = c.1.max(c.0);
                            }
                            let _ = serve(sh.clone(), tcp).await;
                            sh.conns.lock().expect("conns").0 -= 1;
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stop_rx => {}
                }
            });
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("sink port");
        Sink {
            port,
            cert,
            txs,
            rcpt_log,
            conns,
            _dir: dir,
            stop: Some(stop_tx),
        }
    }

    pub fn txs(&self) -> Vec<Tx> {
        self.txs.lock().expect("txs").clone()
    }

    /// Waits (bounded) until `n` transactions arrived; returns them.
    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Tx> {
        let deadline = Instant::now() + within;
        loop {
            let t = self.txs();
            if t.len() >= n {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} transactions arrived within {within:?}; RCPTs: {:?}",
                t.len(),
                self.rcpt_log.lock().expect("log")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

enum Next {
    StartTls,
    Done,
}

async fn serve(sh: Arc<Shared>, tcp: tokio::net::TcpStream) -> std::io::Result<()> {
    if sh.opts.implicit_tls {
        let tls = sh.acceptor.accept(tcp).await?;
        let mut r = BufReader::new(tls);
        r.get_mut().write_all(b"220 sink.test ESMTP\r\n").await?;
        session(&sh, &mut r, true).await?;
        return Ok(());
    }
    let mut r = BufReader::new(tcp);
    r.get_mut().write_all(b"220 sink.test ESMTP\r\n").await?;
    if let Next::StartTls = session(&sh, &mut r, false).await? {
        let tls = sh.acceptor.accept(r.into_inner()).await?;
        let mut r = BufReader::new(tls);
        session(&sh, &mut r, true).await?;
    }
    Ok(())
}

async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    sh: &Shared,
    r: &mut BufReader<S>,
    tls: bool,
) -> std::io::Result<Next> {
    let mut mail: Option<String> = None;
    let mut rcpts: Vec<String> = Vec::new();
    let mut auth: Option<String> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(Next::Done);
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            let mut caps = vec!["sink.test", "PIPELINING", "SIZE 10000000", "8BITMIME"];
            if !sh.opts.no_smtputf8 {
                caps.push("SMTPUTF8");
            }
            if !sh.opts.no_dsn {
                caps.push("DSN");
            }
            if sh.opts.starttls && !tls {
                caps.push("STARTTLS");
            }
            if sh.opts.auth.is_some() && tls {
                caps.push(if sh.opts.auth_login_only {
                    "AUTH LOGIN"
                } else {
                    "AUTH PLAIN LOGIN"
                });
            }
            let n = caps.len();
            caps.iter()
                .enumerate()
                .map(|(i, c)| format!("250{}{c}\r\n", if i + 1 == n { ' ' } else { '-' }))
                .collect()
        } else if upper == "STARTTLS" && sh.opts.starttls && !tls {
            r.get_mut().write_all(b"220 2.0.0 Go ahead\r\n").await?;
            return Ok(Next::StartTls);
        } else if upper.starts_with("AUTH PLAIN ") {
            let token = cmd[11..].trim();
            let got = base64::engine::general_purpose::STANDARD
                .decode(token)
                .unwrap_or_default();
            let ok = sh
                .opts
                .auth
                .as_ref()
                .is_some_and(|(u, p)| got == format!("\0{u}\0{p}").into_bytes());
            if ok {
                auth = sh.opts.auth.as_ref().map(|(u, _)| u.clone());
                "235 2.7.0 Authenticated\r\n".into()
            } else {
                "535 5.7.8 Bad credentials\r\n".into()
            }
        } else if upper == "AUTH LOGIN" && sh.opts.auth.is_some() {
            // RFC 4954 with the LOGIN exchange: user, then password.
            let b64 = base64::engine::general_purpose::STANDARD;
            r.get_mut().write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            let mut user = String::new();
            r.read_line(&mut user).await?;
            r.get_mut().write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            let mut pass = String::new();
            r.read_line(&mut pass).await?;
            let user = b64.decode(user.trim()).unwrap_or_default();
            let pass = b64.decode(pass.trim()).unwrap_or_default();
            let ok = sh
                .opts
                .auth
                .as_ref()
                .is_some_and(|(u, p)| user == u.as_bytes() && pass == p.as_bytes());
            if ok {
                auth = sh.opts.auth.as_ref().map(|(u, _)| format!("{u} (LOGIN)"));
                "235 2.7.0 Authenticated\r\n".into()
            } else {
                "535 5.7.8 Bad credentials\r\n".into()
            }
        } else if upper.starts_with("MAIL FROM:") {
            if sh.opts.auth.is_some() && auth.is_none() {
                "530 5.7.0 Authentication required\r\n".into()
            } else {
                mail = Some(cmd.clone());
                rcpts.clear();
                "250 2.1.0 Ok\r\n".into()
            }
        } else if upper.starts_with("RCPT TO:") {
            let rep = sh
                .script
                .lock()
                .expect("script")
                .pop_front()
                .unwrap_or_else(|| "250 2.1.5 Ok".into());
            sh.rcpt_log
                .lock()
                .expect("log")
                .push((cmd.clone(), rep.clone()));
            if rep.starts_with('2') {
                rcpts.push(cmd.clone());
            }
            format!("{rep}\r\n")
        } else if upper == "DATA" {
            if mail.is_none() || rcpts.is_empty() {
                "554 5.5.1 No valid recipients\r\n".into()
            } else {
                r.get_mut().write_all(b"354 End with .\r\n").await?;
                let mut data = Vec::new();
                loop {
                    let mut l = Vec::new();
                    if r.read_until(b'\n', &mut l).await? == 0 {
                        return Ok(Next::Done);
                    }
                    if l == b".\r\n" {
                        break;
                    }
                    if l.starts_with(b".") {
                        l.remove(0);
                    }
                    data.extend_from_slice(&l);
                }
                sh.txs.lock().expect("txs").push(Tx {
                    mail: mail.take().unwrap_or_default(),
                    rcpts: std::mem::take(&mut rcpts),
                    data,
                    tls,
                    auth: auth.clone(),
                });
                "250 2.0.0 Ok: queued\r\n".into()
            }
        } else if upper == "RSET" {
            mail = None;
            rcpts.clear();
            "250 2.0.0 Ok\r\n".into()
        } else if upper == "QUIT" {
            r.get_mut().write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(Next::Done);
        } else {
            "250 2.0.0 Ok\r\n".into()
        };
        r.get_mut().write_all(reply.as_bytes()).await?;
    }
}
