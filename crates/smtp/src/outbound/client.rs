//! Our SMTP client: one connection to one server, driven command by
//! command (RFC 5321 §3, §4): greeting, EHLO (HELO if refused), STARTTLS
//! when offered (RFC 3207), AUTH PLAIN/LOGIN for a smarthost (RFC 4954),
//! then mail transactions, MAIL and RCPT pipelined when the server offers
//! PIPELINING (RFC 2920), DATA or BDAT (RFC 3030), QUIT.
//!
//! Every wait has a deadline; every reply goes through the bounded reply
//! reader of `wire::client`; a broken server is an error value.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::wire::Reply;
use crate::wire::client::{Extensions, ReplyFrame, ReplyReader, dot_stuff, reply_text, xtext};

/// Why a connection could not be used (the caller tries the next host).
#[derive(Debug, Clone)]
pub struct ConnError(pub String);

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How to secure the connection.
#[derive(Clone)]
pub enum Security {
    /// Plain TCP, STARTTLS if offered (and `required` makes it a must).
    StartTls {
        connector: TlsConnector,
        required: bool,
    },
    /// TLS from the first byte (port 465).
    Implicit(TlsConnector),
    /// Never TLS.
    Plain,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The envelope of one transaction.
pub struct Envelope<'a> {
    pub from: &'a str,
    pub rcpts: Vec<Rcpt<'a>>,
    pub size: usize,
    pub body: Option<&'a str>,
    pub smtputf8: bool,
    pub ret: Option<&'a str>,
    pub envid: Option<&'a str>,
}

pub struct Rcpt<'a> {
    pub address: &'a str,
    pub notify: Option<&'a str>,
    pub orcpt: Option<&'a str>,
}

/// What the server said to one transaction.
#[derive(Debug)]
pub enum TxOutcome {
    /// MAIL was refused: this reply for every recipient.
    MailRefused(Reply),
    /// Per recipient (in order): its RCPT reply if refused, else the reply
    /// to DATA or to the end of data.
    Replies(Vec<Reply>),
}

/// One open, greeted connection.
pub struct Client {
    stream: Stream,
    buf: Vec<u8>,
    pub ext: Extensions,
    pub tls: bool,
    /// The host name and address, for logs and Remote-MTA.
    pub peer: String,
    command_timeout: Duration,
    data_timeout: Duration,
}

pub struct Timeouts {
    pub connect: Duration,
    pub command: Duration,
    pub data: Duration,
}

impl Client {
    /// Connects, reads the greeting, says EHLO, and upgrades with STARTTLS
    /// as `security` says.
    pub async fn connect(
        addr: SocketAddr,
        host: &str,
        ehlo: &str,
        security: &Security,
        t: &Timeouts,
    ) -> Result<Client, ConnError> {
        let peer = format!("{host} [{}]", addr.ip());
        let tcp = tokio::time::timeout(t.connect, TcpStream::connect(addr))
            .await
            .map_err(|_| ConnError(format!("4.4.1 connecting to {peer}: timed out")))?
            .map_err(|e| ConnError(format!("4.4.1 connecting to {peer}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let name = server_name(host, addr);
        let (stream, tls) = match security {
            Security::Implicit(c) => {
                let s = tokio::time::timeout(t.command, c.connect(name.clone(), tcp))
                    .await
                    .map_err(|_| ConnError(format!("4.7.5 TLS with {peer}: timed out")))?
                    .map_err(|e| ConnError(format!("4.7.5 TLS with {peer}: {e}")))?;
                (Stream::Tls(Box::new(s)), true)
            }
            _ => (Stream::Plain(tcp), false),
        };
        let mut c = Client {
            stream,
            buf: Vec::new(),
            ext: Extensions::default(),
            tls,
            peer,
            command_timeout: t.command,
            data_timeout: t.data,
        };
        let greeting = c.read_reply(t.command).await?;
        if greeting.code != 220 {
            return Err(ConnError(format!(
                "{} greeted with: {}",
                c.peer,
                reply_text(&greeting)
            )));
        }
        c.hello(ehlo).await?;
        if let Security::StartTls {
            connector,
            required,
        } = security
        {
            if c.ext.starttls {
                let r = c.command("STARTTLS\r\n").await?;
                if r.code != 220 {
                    if *required {
                        return Err(ConnError(format!(
                            "4.7.4 {} refused STARTTLS: {}",
                            c.peer,
                            reply_text(&r)
                        )));
                    }
                } else {
                    // RFC 3207 §4.2: nothing the server sent before the
                    // handshake counts.
                    c.buf.clear();
                    let Stream::Plain(tcp) = c.stream else {
                        return Err(ConnError("STARTTLS on a TLS stream".into()));
                    };
                    let s = tokio::time::timeout(t.command, connector.connect(name, tcp))
                        .await
                        .map_err(|_| ConnError(format!("4.7.5 TLS with {}: timed out", c.peer)))?
                        .map_err(|e| ConnError(format!("4.7.5 TLS with {}: {e}", c.peer)))?;
                    c.stream = Stream::Tls(Box::new(s));
                    c.tls = true;
                    c.hello(ehlo).await?;
                }
            } else if *required {
                return Err(ConnError(format!(
                    "4.7.4 {} does not offer STARTTLS",
                    c.peer
                )));
            }
        }
        Ok(c)
    }

    /// EHLO, or HELO when EHLO is refused (RFC 5321 §3.2).
    async fn hello(&mut self, name: &str) -> Result<(), ConnError> {
        let r = self.command(&format!("EHLO {name}\r\n")).await?;
        if r.code == 250 {
            self.ext = Extensions::parse(&r);
            return Ok(());
        }
        let r = self.command(&format!("HELO {name}\r\n")).await?;
        if r.code != 250 {
            return Err(ConnError(format!(
                "{} refused HELO: {}",
                self.peer,
                reply_text(&r)
            )));
        }
        self.ext = Extensions::default();
        Ok(())
    }

    /// AUTH PLAIN (or LOGIN when only that is offered), RFC 4954.
    pub async fn auth(&mut self, user: &str, password: &str) -> Result<(), ConnError> {
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let r = if self.ext.auth_plain || !self.ext.auth_login {
            let token = b64(format!("\0{user}\0{password}").as_bytes());
            self.command(&format!("AUTH PLAIN {token}\r\n")).await?
        } else {
            let r = self.command("AUTH LOGIN\r\n").await?;
            if r.code != 334 {
                r
            } else {
                let r = self
                    .command(&format!("{}\r\n", b64(user.as_bytes())))
                    .await?;
                if r.code != 334 {
                    r
                } else {
                    self.command(&format!("{}\r\n", b64(password.as_bytes())))
                        .await?
                }
            }
        };
        if r.code == 235 {
            Ok(())
        } else {
            Err(ConnError(format!(
                "{} refused authentication: {}",
                self.peer,
                reply_text(&r)
            )))
        }
    }

    /// One mail transaction. `Err` means the connection broke: the caller
    /// treats every recipient as not attempted.
    pub async fn send(
        &mut self,
        env: &Envelope<'_>,
        message: &[u8],
    ) -> Result<TxOutcome, ConnError> {
        let mut mail = format!("MAIL FROM:<{}>", env.from);
        if self.ext.size.is_some() {
            mail.push_str(&format!(" SIZE={}", env.size));
        }
        match env.body {
            Some("8BITMIME") if self.ext.eightbitmime => mail.push_str(" BODY=8BITMIME"),
            Some("BINARYMIME") => mail.push_str(" BODY=BINARYMIME"),
            _ => {}
        }
        if env.smtputf8 && self.ext.smtputf8 {
            mail.push_str(" SMTPUTF8");
        }
        if self.ext.dsn {
            if let Some(ret) = env.ret {
                mail.push_str(&format!(" RET={ret}"));
            }
            if let Some(id) = env.envid {
                mail.push_str(&format!(" ENVID={}", xtext(id)));
            }
        }
        mail.push_str("\r\n");
        let rcpt_lines: Vec<String> = env
            .rcpts
            .iter()
            .map(|r| {
                let mut l = format!("RCPT TO:<{}>", r.address);
                if self.ext.dsn {
                    if let Some(n) = r.notify {
                        l.push_str(&format!(" NOTIFY={n}"));
                    }
                    if let Some(o) = r.orcpt {
                        // Stored decoded as `type;address` (RFC 3461 §4.2).
                        if let Some((t, a)) = o.split_once(';') {
                            l.push_str(&format!(" ORCPT={t};{}", xtext(a)));
                        }
                    }
                }
                l.push_str("\r\n");
                l
            })
            .collect();
        let (mail_reply, rcpt_replies) = if self.ext.pipelining {
            // RFC 2920 §3.1: MAIL and RCPT in one write, replies in order.
            let mut batch = mail.clone();
            for l in &rcpt_lines {
                batch.push_str(l);
            }
            self.write(batch.as_bytes()).await?;
            let m = self.read_reply(self.command_timeout).await?;
            let mut rs = Vec::with_capacity(rcpt_lines.len());
            for _ in &rcpt_lines {
                rs.push(self.read_reply(self.command_timeout).await?);
            }
            (m, rs)
        } else {
            let m = self.command(&mail).await?;
            let mut rs = Vec::new();
            if m.code == 250 {
                for l in &rcpt_lines {
                    rs.push(self.command(l).await?);
                }
            }
            (m, rs)
        };
        if mail_reply.code != 250 {
            if !rcpt_replies.is_empty() || !self.ext.pipelining {
                self.rset().await?;
            }
            return Ok(TxOutcome::MailRefused(mail_reply));
        }
        let accepted = rcpt_replies.iter().filter(|r| r.code / 100 == 2).count();
        if accepted == 0 {
            self.rset().await?;
            return Ok(TxOutcome::Replies(rcpt_replies));
        }
        let end = if env.body == Some("BINARYMIME") {
            // RFC 3030 §3: binary content only with BDAT.
            let mut chunk = format!("BDAT {} LAST\r\n", message.len()).into_bytes();
            chunk.extend_from_slice(message);
            self.write(&chunk).await?;
            self.read_reply(self.data_timeout).await?
        } else {
            let r = self.command("DATA\r\n").await?;
            if r.code != 354 {
                r
            } else {
                self.write(&dot_stuff(message)).await?;
                self.read_reply(self.data_timeout).await?
            }
        };
        let replies = rcpt_replies
            .into_iter()
            .map(|r| if r.code / 100 == 2 { end.clone() } else { r })
            .collect();
        Ok(TxOutcome::Replies(replies))
    }

    async fn rset(&mut self) -> Result<(), ConnError> {
        self.command("RSET\r\n").await.map(|_| ())
    }

    /// QUIT, ignoring what happens: the work is done.
    pub async fn quit(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            if self.write(b"QUIT\r\n").await.is_ok() {
                let _ = self.read_reply(Duration::from_secs(5)).await;
            }
            let _ = self.stream.shutdown().await;
        })
        .await;
    }

    async fn command(&mut self, line: &str) -> Result<Reply, ConnError> {
        self.write(line.as_bytes()).await?;
        self.read_reply(self.command_timeout).await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        let w = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(self.data_timeout, w).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ConnError(format!("4.4.2 writing to {}: {e}", self.peer))),
            Err(_) => Err(ConnError(format!(
                "4.4.2 writing to {}: timed out",
                self.peer
            ))),
        }
    }

    async fn read_reply(&mut self, timeout: Duration) -> Result<Reply, ConnError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match ReplyReader::next(&self.buf) {
                ReplyFrame::Reply(r, n) => {
                    self.buf.drain(..n);
                    return Ok(r);
                }
                ReplyFrame::Malformed(why) => {
                    return Err(ConnError(format!(
                        "4.5.0 {} sent a bad reply: {why}",
                        self.peer
                    )));
                }
                ReplyFrame::Incomplete => {}
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, self.stream.read(&mut chunk))
                .await
                .map_err(|_| ConnError(format!("4.4.2 {} did not answer in time", self.peer)))?
                .map_err(|e| ConnError(format!("4.4.2 reading from {}: {e}", self.peer)))?;
            if n == 0 {
                return Err(ConnError(format!(
                    "4.4.2 {} closed the connection",
                    self.peer
                )));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn server_name(host: &str, addr: SocketAddr) -> ServerName<'static> {
    ServerName::try_from(host.trim_end_matches('.').to_string())
        .unwrap_or_else(|_| ServerName::IpAddress(addr.ip().into()))
}

/// TLS settings for opportunistic STARTTLS: any certificate is taken (RFC
/// 7435: encryption without authentication beats plaintext), signatures
/// are still checked so the handshake is real.
pub fn opportunistic_tls() -> TlsConnector {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
                .with_no_client_auth()
        });
    match config {
        Ok(c) => TlsConnector::from(Arc::new(c)),
        // The default protocol versions always exist; keep a sane fallback.
        Err(_) => TlsConnector::from(Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        )),
    }
}

/// TLS that checks the server's certificate against the PEM roots in `ca_file`.
pub fn verified_tls(ca_file: &std::path::Path) -> Result<TlsConnector, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| format!("reading {}: {e}", ca_file.display()))?;
    for c in certs {
        let c = c.map_err(|e| format!("reading {}: {e}", ca_file.display()))?;
        let _ = roots.add(c);
    }
    if roots.is_empty() {
        return Err(format!("{}: no certificates", ca_file.display()));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Takes any certificate, checking only the handshake's signatures (the
/// DANE verifier borrows those checks).
#[derive(Debug)]
pub(crate) struct AnyCert(pub(crate) Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
