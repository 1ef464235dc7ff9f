//! A minimal IMAP client for the load generator: one connection that reads
//! whole responses (literals included), tags commands, follows the selected
//! mailbox's EXISTS/EXPUNGE count (counting sequence numbers that break
//! it), pipelines several commands and matches their answers by tag, and
//! APPENDs with a synchronizing literal. Over plain TCP or TLS (pinned to the server's own certificate,
//! see [`pinned_tls`]). Loopback benchmarking only; every read is under a
//! timeout.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

pub fn err<T>(msg: impl Into<String>) -> io::Result<T> {
    Err(io::Error::other(msg.into()))
}

/// How a tagged command ended.
pub enum Done {
    Ok(Vec<u8>),
    No(Vec<u8>),
}

/// One IMAP connection: reads whole response lines (literals included),
/// tracks the selected mailbox's message count.
pub struct Conn {
    pub rd: BufReader<Box<dyn AsyncRead + Send + Unpin>>,
    pub wr: Box<dyn AsyncWrite + Send + Unpin>,
    pub next_tag: u32,
    pub timeout: Duration,
    pub exists: u32,
    /// Untagged responses of the last command.
    pub untagged: Vec<Vec<u8>>,
    /// Bytes read for the last command.
    pub bytes: u64,
    /// Untagged responses whose sequence number was impossible: a FETCH or
    /// EXPUNGE of 0 or above the count the server had told us, an EXISTS
    /// below it (RFC 9051 §7.4.1: only EXPUNGE makes the count smaller).
    pub seq_errors: u64,
    /// The first of them, with the count it broke.
    pub seq_error_sample: Option<String>,
}

/// One pipelined command's answer.
pub struct Answer {
    pub done: Done,
    /// The untagged responses read after the previous command's tagged one
    /// and before this one's (a server answering in order sends each
    /// command's data just before its tagged response).
    pub untagged: Vec<Vec<u8>>,
    /// From the batch's write to this command's tagged response.
    pub latency: Duration,
}

impl Conn {
    pub async fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Conn> {
        Conn::connect_with(addr, timeout, None).await
    }

    /// [`Conn::connect`], over TLS from the first byte (IMAPS) when `tls`
    /// is given. The read buffer is small: the idle benchmark holds
    /// thousands of these in one process.
    pub async fn connect_with(
        addr: SocketAddr,
        timeout: Duration,
        tls: Option<&TlsConnector>,
    ) -> io::Result<Conn> {
        let s = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timeout"))??;
        s.set_nodelay(true)?;
        let (r, w): (
            Box<dyn AsyncRead + Send + Unpin>,
            Box<dyn AsyncWrite + Send + Unpin>,
        ) = match tls {
            None => {
                let (r, w) = s.into_split();
                (Box::new(r), Box::new(w))
            }
            Some(tls) => {
                let name = ServerName::IpAddress(addr.ip().into());
                let t = tokio::time::timeout(timeout, tls.connect(name, s))
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS timeout"))??;
                let (r, w) = tokio::io::split(t);
                (Box::new(r), Box::new(w))
            }
        };
        let mut c = Conn {
            rd: BufReader::with_capacity(if tls.is_some() { 4096 } else { 64 * 1024 }, r),
            wr: w,
            next_tag: 1,
            timeout,
            exists: 0,
            untagged: Vec::new(),
            bytes: 0,
            seq_errors: 0,
            seq_error_sample: None,
        };
        let g = c.read_response().await?;
        if !g.starts_with(b"* OK") {
            return err(format!("greeting: {}", show(&g)));
        }
        Ok(c)
    }

    /// One response: a line, plus any literal it announces and the rest of
    /// the line after the literal, up to the final CRLF.
    pub async fn read_response(&mut self) -> io::Result<Vec<u8>> {
        let t = self.timeout;
        tokio::time::timeout(t, async {
            let mut out = Vec::new();
            loop {
                let start = out.len();
                let n = self.rd.read_until(b'\n', &mut out).await?;
                if n == 0 {
                    return err("connection closed by server");
                }
                if out.len() > 64 << 20 {
                    return err("response over 64 MiB");
                }
                self.bytes += n as u64;
                let line = &out[start..];
                // literal at the end of the line: {N}\r\n
                let l = line.strip_suffix(b"\r\n").unwrap_or(line);
                if l.ends_with(b"}")
                    && let Some(open) = l.iter().rposition(|&b| b == b'{')
                    && let Ok(s) = std::str::from_utf8(&l[open + 1..l.len() - 1])
                    && let Ok(len) = s.trim_end_matches('+').parse::<usize>()
                {
                    if len > 64 << 20 {
                        return err("literal over 64 MiB");
                    }
                    let at = out.len();
                    out.resize(at + len, 0);
                    self.rd.read_exact(&mut out[at..]).await?;
                    self.bytes += len as u64;
                    continue;
                }
                return Ok(out);
            }
        })
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "response timeout"))?
    }

    pub fn note_untagged(&mut self, line: &[u8]) {
        // "* N EXISTS" / "* N EXPUNGE"
        let mut it = line.split(|&b| b == b' ');
        if it.next() != Some(b"*") {
            return;
        }
        let (Some(n), Some(kw)) = (it.next(), it.next()) else {
            return;
        };
        let Some(n) = std::str::from_utf8(n)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            return;
        };
        let kw = kw.strip_suffix(b"\r\n").unwrap_or(kw);
        let bad = if kw.eq_ignore_ascii_case(b"EXISTS") {
            let bad = n < self.exists;
            self.exists = n;
            bad
        } else if kw.eq_ignore_ascii_case(b"EXPUNGE") {
            let bad = n == 0 || n > self.exists;
            self.exists = self.exists.saturating_sub(1);
            bad
        } else {
            kw.eq_ignore_ascii_case(b"FETCH") && (n == 0 || n > self.exists)
        };
        if bad {
            self.seq_errors += 1;
            if self.seq_error_sample.is_none() {
                self.seq_error_sample = Some(format!("{} (count {})", show(line), self.exists));
            }
        }
    }

    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        tokio::time::timeout(self.timeout, self.wr.write_all(bytes))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timeout"))?
    }

    pub fn tag(&mut self) -> String {
        let t = format!("a{}", self.next_tag);
        self.next_tag += 1;
        t
    }

    /// Reads until the tagged response for `tag`, keeping untagged ones.
    /// A "+" continuation ends the wait too when `cont` is set.
    pub async fn until_tagged(&mut self, tag: &str, cont: bool) -> io::Result<Option<Done>> {
        loop {
            let line = self.read_response().await?;
            if cont && line.starts_with(b"+") {
                return Ok(None);
            }
            if line.starts_with(b"* ") {
                self.note_untagged(&line);
                self.untagged.push(line);
                continue;
            }
            if let Some(rest) = line.strip_prefix(tag.as_bytes())
                && let Some(rest) = rest.strip_prefix(b" ")
            {
                return Ok(Some(
                    if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"OK") {
                        Done::Ok(line)
                    } else {
                        Done::No(line)
                    },
                ));
            }
            // a stray continuation or someone else's tag: protocol error
            return err(format!("unexpected: {}", show(&line)));
        }
    }

    pub async fn command(&mut self, cmd: &str) -> io::Result<Done> {
        self.untagged.clear();
        self.bytes = 0;
        let tag = self.tag();
        self.write(format!("{tag} {cmd}\r\n").as_bytes()).await?;
        Ok(self
            .until_tagged(&tag, false)
            .await?
            .expect("no continuation asked for"))
    }

    /// Sends `cmds` in one write, each with its own tag, then reads until
    /// every one is answered. Answers are returned in the order of `cmds`;
    /// a tagged response may come in any order (RFC 9051 §5.5), and the
    /// untagged ones go to the oldest command still unanswered.
    pub async fn pipeline(&mut self, cmds: &[String]) -> io::Result<Vec<Answer>> {
        self.untagged.clear();
        self.bytes = 0;
        let tags: Vec<String> = cmds.iter().map(|_| self.tag()).collect();
        let mut wire = Vec::new();
        for (tag, cmd) in tags.iter().zip(cmds) {
            wire.extend_from_slice(format!("{tag} {cmd}\r\n").as_bytes());
        }
        let t0 = std::time::Instant::now();
        self.write(&wire).await?;
        let mut answers: Vec<Option<Answer>> = cmds.iter().map(|_| None).collect();
        let mut pending: Vec<Vec<Vec<u8>>> = cmds.iter().map(|_| Vec::new()).collect();
        while let Some(oldest) = answers.iter().position(Option::is_none) {
            let line = self.read_response().await?;
            if line.starts_with(b"* ") {
                self.note_untagged(&line);
                pending[oldest].push(line);
                continue;
            }
            let hit = tags.iter().enumerate().find_map(|(i, tag)| {
                let rest = line.strip_prefix(tag.as_bytes())?.strip_prefix(b" ")?;
                Some((i, rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"OK")))
            });
            let Some((i, ok)) = hit.filter(|(i, _)| answers[*i].is_none()) else {
                return err(format!("unexpected: {}", show(&line)));
            };
            answers[i] = Some(Answer {
                done: if ok { Done::Ok(line) } else { Done::No(line) },
                untagged: std::mem::take(&mut pending[i]),
                latency: t0.elapsed(),
            });
        }
        Ok(answers
            .into_iter()
            .map(|a| a.expect("loop ends when all are answered"))
            .collect())
    }

    pub async fn append(&mut self, mailbox: &str, msg: &[u8]) -> io::Result<Done> {
        self.untagged.clear();
        self.bytes = 0;
        let tag = self.tag();
        self.write(format!("{tag} APPEND {mailbox} {{{}}}\r\n", msg.len()).as_bytes())
            .await?;
        if let Some(done) = self.until_tagged(&tag, true).await? {
            return Ok(done); // refused before the literal
        }
        let mut m = Vec::with_capacity(msg.len() + 2);
        m.extend_from_slice(msg);
        m.extend_from_slice(b"\r\n");
        self.write(&m).await?;
        Ok(self
            .until_tagged(&tag, false)
            .await?
            .expect("no continuation asked for"))
    }
}

pub fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(200)]);
    s.trim_end().to_string()
}

pub fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A TLS client that accepts exactly the certificate in `pem_file` (the
/// server's own self-signed one: `data_dir/tls/selfsigned-cert.pem`), with
/// the handshake's signatures checked as usual.
pub fn pinned_tls(pem_file: &str) -> io::Result<TlsConnector> {
    let cert = CertificateDer::from_pem_file(pem_file)
        .map_err(|e| io::Error::other(format!("{pem_file}: {e}")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(Pinned {
        cert: cert.into_owned(),
        provider: provider.clone(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

#[derive(Debug)]
struct Pinned {
    cert: CertificateDer<'static>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("not the pinned certificate".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
