//! A small read-only IMAP client over TLS for `import imap`: implicit TLS
//! (imaps) or STARTTLS (RFC 9051 §6.2.1), AUTHENTICATE PLAIN (RFC 4616) or
//! LOGIN, LIST with special-use (RFC 6154) or XLIST, EXAMINE, UID FETCH.
//! It never sends a command that changes the source: EXAMINE opens
//! read-only and BODY.PEEK leaves `\Seen` alone (RFC 9051 §6.3.3, §6.4.5).
//!
//! Memory stays bounded: one response is read at a time, and a response
//! (a message's literal included) larger than the limit ends the session.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

use super::wire::{self, Fetched, Listed, Value};

/// The longest response line (without its literals) taken.
const MAX_LINE: usize = 1 << 20;

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Where the old server is: `imaps://` (implicit TLS) or `imap://`
/// (STARTTLS, required).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub implicit_tls: bool,
    pub host: String,
    pub port: u16,
}

impl Source {
    pub fn parse(url: &str) -> Result<Source> {
        let (implicit_tls, rest) = if let Some(r) = url.strip_prefix("imaps://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("imap://") {
            (false, r)
        } else {
            bail!("--from must be imaps://HOST[:PORT] or imap://HOST[:PORT], not {url:?}");
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => {
                let port = p
                    .parse()
                    .map_err(|_| anyhow!("bad port {p:?} in --from {url:?}"))?;
                (h, port)
            }
            _ => (rest, if implicit_tls { 993 } else { 143 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') || host.contains('@') {
            bail!("no host name in --from {url:?}");
        }
        Ok(Source {
            implicit_tls,
            host: host.to_string(),
            port,
        })
    }

    /// How the import's marks name this source (with the login).
    pub fn key(&self, login: &str) -> String {
        let scheme = if self.implicit_tls { "imaps" } else { "imap" };
        format!("{scheme}://{}@{}:{}", login, self.host, self.port)
    }
}

/// How the server's certificate is checked.
pub enum Trust {
    /// The system's roots (rustls-native-certs).
    System,
    /// The PEM certificates of a file.
    CaFile(std::path::PathBuf),
    /// None (`--insecure`, for a test server with a self-signed certificate).
    Insecure,
}

pub fn connector(trust: &Trust) -> Result<TlsConnector> {
    match trust {
        Trust::Insecure => Ok(postern_smtp::outbound::client::opportunistic_tls()),
        Trust::CaFile(p) => pinned_or_signed(p),
        Trust::System => {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for c in found.certs {
                let _ = roots.add(c);
            }
            if roots.is_empty() {
                bail!("no system CA certificates found; give --ca-file");
            }
            let config = rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(TlsConnector::from(Arc::new(config)))
        }
    }
}

/// TLS that takes a certificate signed by one in `ca_file`, or one that is
/// in it byte for byte (a self-signed server certificate pinned, as
/// mbsync's CertificateFile does; webpki refuses a CA certificate as the
/// server's own).
fn pinned_or_signed(ca_file: &std::path::Path) -> Result<TlsConnector> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_file_iter(ca_file)
        .with_context(|| format!("reading {}", ca_file.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading {}", ca_file.display()))?;
    if certs.is_empty() {
        bail!("{}: no certificates", ca_file.display());
    }
    let mut roots = rustls::RootCertStore::empty();
    for c in &certs {
        let _ = roots.add(c.clone());
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .with_context(|| format!("{}: no usable CA certificate", ca_file.display()))?;
    let verifier = Arc::new(Pinned {
        webpki,
        pinned: certs,
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

#[derive(Debug)]
struct Pinned {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    pinned: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Ok(v) => Ok(v),
            Err(_)
                if self
                    .pinned
                    .iter()
                    .any(|c| c.as_ref() == end_entity.as_ref()) =>
            {
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            }
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// A logged-in (or about to be) session.
pub struct Client {
    io: BufReader<Box<dyn Io>>,
    tag: u32,
    pub caps: Vec<String>,
    timeout: Duration,
    max_response: usize,
    /// The connection can no longer be trusted (closed, cut, or a response
    /// we could not read): nothing more is sent.
    pub broken: bool,
}

/// A refusal by the server (tagged NO or BAD): the command failed, the
/// session goes on.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// What EXAMINE said about a folder.
#[derive(Clone, Copy, Debug, Default)]
pub struct Examined {
    pub uidvalidity: u32,
    pub exists: u32,
}

impl Client {
    pub async fn connect(
        src: &Source,
        tls: &TlsConnector,
        timeout: Duration,
        max_response: usize,
    ) -> Result<Client> {
        let addr = (src.host.as_str(), src.port);
        let tcp = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| anyhow!("connecting to {}:{}: timed out", src.host, src.port))?
            .with_context(|| format!("connecting to {}:{}", src.host, src.port))?;
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Io> = if src.implicit_tls {
            Box::new(handshake(tls, &src.host, Box::new(tcp), timeout).await?)
        } else {
            Box::new(tcp)
        };
        let mut c = Client {
            io: BufReader::with_capacity(64 * 1024, io),
            tag: 0,
            caps: Vec::new(),
            timeout,
            max_response,
            broken: false,
        };
        let greeting = c.read_response().await?;
        let text = String::from_utf8_lossy(&greeting).into_owned();
        if !text.starts_with("* OK") && !text.starts_with("* PREAUTH") {
            bail!("the server's greeting is not OK: {}", text.trim_end());
        }
        c.take_caps(&text);
        if !src.implicit_tls {
            if c.caps.is_empty() {
                c.capability().await?;
            }
            if !c.has("STARTTLS") {
                bail!(
                    "{} offers no STARTTLS; use imaps:// (the password is never sent in the clear)",
                    src.host
                );
            }
            c.command("STARTTLS", |_| Ok(())).await?;
            if !c.io.buffer().is_empty() {
                // RFC 9051 §11.1: anything sent before the handshake could
                // have been injected in the clear.
                bail!("the server sent data after STARTTLS before the TLS handshake");
            }
            let plain = std::mem::replace(
                &mut c.io,
                BufReader::new(Box::new(tokio::io::empty()) as Box<dyn Io>),
            )
            .into_inner();
            let tls_io = handshake(tls, &src.host, plain, timeout).await?;
            c.io = BufReader::with_capacity(64 * 1024, Box::new(tls_io));
            c.caps.clear();
        }
        if c.caps.is_empty() {
            c.capability().await?;
        }
        Ok(c)
    }

    pub fn has(&self, cap: &str) -> bool {
        self.caps.iter().any(|c| c.eq_ignore_ascii_case(cap))
    }

    fn take_caps(&mut self, text: &str) {
        let after = text
            .split_once("[CAPABILITY ")
            .or_else(|| text.split_once("[capability "));
        if let Some((_, rest)) = after {
            let list = rest.split(']').next().unwrap_or_default();
            self.caps = list.split_whitespace().map(String::from).collect();
        }
    }

    async fn capability(&mut self) -> Result<()> {
        let mut caps = Vec::new();
        self.command("CAPABILITY", |v| {
            if v.get(1).and_then(Value::atom) == Some("CAPABILITY") {
                caps = v[2..]
                    .iter()
                    .filter_map(Value::atom)
                    .map(String::from)
                    .collect();
            }
            Ok(())
        })
        .await?;
        self.caps = caps;
        Ok(())
    }

    /// AUTHENTICATE PLAIN when offered, else LOGIN.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<()> {
        let ok = if self.has("AUTH=PLAIN") {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
            self.tag += 1;
            let tag = format!("L{}", self.tag);
            self.send(format!("{tag} AUTHENTICATE PLAIN\r\n").as_bytes())
                .await?;
            self.wait_continuation(&tag).await?;
            self.send(format!("{token}\r\n").as_bytes()).await?;
            self.finish(&tag, "AUTHENTICATE", &mut |_| Ok(())).await
        } else if self.has("LOGINDISABLED") {
            bail!("the server allows neither AUTHENTICATE PLAIN nor LOGIN");
        } else {
            self.command_args("LOGIN", &[user.as_bytes(), password.as_bytes()], |_| Ok(()))
                .await
        };
        let text = ok.map_err(|e| match e.downcast::<Refused>() {
            Ok(r) => anyhow!("login as {user} refused: {r}"),
            Err(e) => e,
        })?;
        self.caps.clear();
        self.take_caps(&text);
        if self.caps.is_empty() {
            self.capability().await?;
        }
        Ok(())
    }

    /// Every folder, with special-use attributes where the server has them
    /// (RFC 6154 §3 LIST RETURN, else Gmail's older XLIST).
    pub async fn list(&mut self) -> Result<Vec<Listed>> {
        let (cmd, kind) = if self.has("SPECIAL-USE") && self.has("LIST-EXTENDED") {
            (r#"LIST "" "*" RETURN (SPECIAL-USE)"#, "LIST")
        } else if !self.has("SPECIAL-USE") && self.has("XLIST") {
            (r#"XLIST "" "*""#, "XLIST")
        } else {
            (r#"LIST "" "*""#, "LIST")
        };
        let mut out = Vec::new();
        self.command(cmd, |v| {
            if v.get(1).and_then(Value::atom) == Some(kind) {
                out.push(wire::listed(&v[2..])?);
            }
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Opens a folder read-only (EXAMINE never changes `\Recent` or flags).
    pub async fn examine(&mut self, raw_name: &[u8]) -> Result<Examined> {
        let mut e = Examined::default();
        self.command_args("EXAMINE", &[raw_name], |v| {
            match (v.get(1), v.get(2)) {
                (Some(n), Some(Value::Atom(w))) if w.eq_ignore_ascii_case("EXISTS") => {
                    e.exists = n.number().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
                }
                (Some(Value::Atom(ok)), Some(Value::Atom(c))) if ok == "OK" => {
                    if let Some((name, arg)) = wire::code(c)
                        && name == "UIDVALIDITY"
                    {
                        e.uidvalidity = arg.parse().unwrap_or(0);
                    }
                }
                _ => {}
            }
            Ok(())
        })
        .await?;
        if e.uidvalidity == 0 {
            bail!("the server gave no UIDVALIDITY for the folder");
        }
        Ok(e)
    }

    /// `UID FETCH set (items)`, each FETCH response to `each`.
    pub async fn uid_fetch(
        &mut self,
        set: &str,
        items: &str,
        mut each: impl FnMut(Fetched) -> Result<()>,
    ) -> Result<()> {
        self.command(&format!("UID FETCH {set} ({items})"), |v| {
            if let (Some(Value::Atom(w)), Some(Value::List(l))) = (v.get(2), v.get(3))
                && w.eq_ignore_ascii_case("FETCH")
            {
                each(wire::fetched(l)?)?;
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    pub async fn logout(&mut self) {
        if !self.broken {
            let _ = self.command("LOGOUT", |_| Ok(())).await;
        }
    }

    /// Sends `NAME arg...`, each argument quoted or, when it must be, a
    /// synchronising literal (RFC 9051 §4.3).
    async fn command_args(
        &mut self,
        name: &str,
        args: &[&[u8]],
        mut untagged: impl FnMut(&[Value]) -> Result<()>,
    ) -> Result<String> {
        self.tag += 1;
        let tag = format!("A{}", self.tag);
        let mut line = format!("{tag} {name}").into_bytes();
        for a in args {
            line.push(b' ');
            match wire::quoted(a) {
                Some(q) => line.extend_from_slice(q.as_bytes()),
                None => {
                    line.extend_from_slice(format!("{{{}}}\r\n", a.len()).as_bytes());
                    self.send(&line).await?;
                    self.wait_continuation(&tag).await?;
                    line = a.to_vec();
                }
            }
        }
        line.extend_from_slice(b"\r\n");
        self.send(&line).await?;
        self.finish(&tag, name, &mut untagged).await
    }

    async fn command(
        &mut self,
        cmd: &str,
        mut untagged: impl FnMut(&[Value]) -> Result<()>,
    ) -> Result<String> {
        self.tag += 1;
        let tag = format!("A{}", self.tag);
        self.send(format!("{tag} {cmd}\r\n").as_bytes()).await?;
        let name = cmd.split(' ').take(2).collect::<Vec<_>>().join(" ");
        self.finish(&tag, &name, &mut untagged).await
    }

    /// Reads responses up to `tag`'s; its OK text, or [`Refused`].
    async fn finish(
        &mut self,
        tag: &str,
        name: &str,
        untagged: &mut dyn FnMut(&[Value]) -> Result<()>,
    ) -> Result<String> {
        loop {
            let raw = self.read_response().await?;
            if raw.starts_with(b"* ") {
                let v = wire::values(&raw).map_err(|e| self.broke(e))?;
                if v.get(1).and_then(Value::atom) == Some("BYE") {
                    self.broken = true;
                    bail!(
                        "the server ended the session: {}",
                        String::from_utf8_lossy(&raw).trim_end()
                    );
                }
                untagged(&v).map_err(|e| self.broke(e))?;
                continue;
            }
            let text = String::from_utf8_lossy(&raw);
            let Some(rest) = text.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) else {
                // A continuation request or someone else's tag: not ours
                // to answer, and nothing we sent asks for it.
                if raw.starts_with(b"+") {
                    self.broken = true;
                    bail!("{name}: the server asked for more input than the command has");
                }
                continue;
            };
            let (status, text) = rest.split_once(' ').unwrap_or((rest, ""));
            return match status.to_ascii_uppercase().as_str() {
                "OK" => Ok(text.trim_end().to_string()),
                "NO" | "BAD" => Err(Refused(format!(
                    "{name}: the server answered {status} {}",
                    text.trim_end()
                ))
                .into()),
                _ => {
                    self.broken = true;
                    bail!("{name}: unreadable answer {:?}", rest.trim_end())
                }
            };
        }
    }

    async fn wait_continuation(&mut self, tag: &str) -> Result<()> {
        loop {
            let raw = self.read_response().await?;
            if raw.starts_with(b"+") {
                return Ok(());
            }
            if raw.starts_with(tag.as_bytes()) {
                let text = String::from_utf8_lossy(&raw);
                return Err(Refused(format!("the server answered {}", text.trim_end())).into());
            }
        }
    }

    fn broke(&mut self, e: anyhow::Error) -> anyhow::Error {
        self.broken = true;
        e
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        if self.broken {
            bail!("the connection to the server is gone");
        }
        let w = self.io.get_mut();
        let r = tokio::time::timeout(self.timeout, async {
            w.write_all(bytes).await?;
            w.flush().await
        })
        .await;
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.broke(anyhow!("writing to the server: {e}"))),
            Err(_) => Err(self.broke(anyhow!("writing to the server: timed out"))),
        }
    }

    /// One response: a line, and for each `{n}` it ends with, n bytes and
    /// the line that goes on after them.
    async fn read_response(&mut self) -> Result<Vec<u8>> {
        let timeout = self.timeout;
        let r = tokio::time::timeout(timeout, self.read_response_inner()).await;
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.broke(e)),
            Err(_) => Err(self.broke(anyhow!(
                "no answer from the server within {} s",
                timeout.as_secs()
            ))),
        }
    }

    async fn read_response_inner(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let line_start = out.len();
            self.read_line(&mut out).await?;
            let Some(n) = literal_length(&out[line_start..]) else {
                return Ok(out);
            };
            if out.len() + n > self.max_response {
                bail!(
                    "the server sent a response of over {} bytes (see --max-message-size)",
                    self.max_response
                );
            }
            out.reserve(n);
            let got = (&mut self.io).take(n as u64).read_to_end(&mut out).await?;
            if got < n {
                bail!("the server closed the connection in the middle of a message");
            }
        }
    }

    async fn read_line(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        loop {
            let buf = self.io.fill_buf().await?;
            if buf.is_empty() {
                bail!("the server closed the connection");
            }
            if let Some(p) = buf.iter().position(|&b| b == b'\n') {
                out.extend_from_slice(&buf[..=p]);
                self.io.consume(p + 1);
                return Ok(());
            }
            let n = buf.len();
            out.extend_from_slice(buf);
            self.io.consume(n);
            if out.len() - start > MAX_LINE {
                bail!("the server sent a line of over {MAX_LINE} bytes");
            }
        }
    }
}

/// The `n` of a line ending in `{n}` CRLF (or `{n+}`, LITERAL+).
fn literal_length(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 12 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

async fn handshake(
    tls: &TlsConnector,
    host: &str,
    io: Box<dyn Io>,
    timeout: Duration,
) -> Result<tokio_rustls::client::TlsStream<Box<dyn Io>>> {
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| anyhow!("{host:?} is not a host name"))?;
    tokio::time::timeout(timeout, tls.connect(name, io))
        .await
        .map_err(|_| anyhow!("TLS handshake with {host}: timed out"))?
        .with_context(|| format!("TLS handshake with {host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_with_default_and_explicit_ports() {
        let s = Source::parse("imaps://mail.example.net").expect("imaps");
        assert_eq!(
            (s.implicit_tls, s.host.as_str(), s.port),
            (true, "mail.example.net", 993)
        );
        let s = Source::parse("imap://127.0.0.1:10143/").expect("imap");
        assert_eq!(
            (s.implicit_tls, s.host.as_str(), s.port),
            (false, "127.0.0.1", 10143)
        );
        let s = Source::parse("imaps://[::1]:993").expect("v6");
        assert_eq!(s.host, "::1");
        for bad in [
            "pop3://x",
            "imaps://",
            "imaps://host:port",
            "imaps://u@host",
        ] {
            assert!(Source::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn literal_lengths_are_read_from_line_ends_only() {
        assert_eq!(literal_length(b"* 1 FETCH (BODY[] {12}\r\n"), Some(12));
        assert_eq!(literal_length(b"* 1 FETCH (BODY[] {12+}\r\n"), Some(12));
        assert_eq!(literal_length(b"* OK {12} text\r\n"), None);
        assert_eq!(literal_length(b"* OK {}\r\n"), None);
        assert_eq!(literal_length(b"* OK {9999999999999}\r\n"), None);
    }
}
