//! A server-side stream that is either plain TCP or TLS, and the STARTTLS
//! upgrade from one to the other.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::NetError;

/// A connection as the protocol drivers see it: plain TCP (before STARTTLS,
/// or on a port without TLS) or TLS (implicit-TLS ports, after STARTTLS).
#[derive(Debug)]
pub enum MaybeTlsStream {
    Plain(TcpStream),
    /// Boxed: a rustls connection is a few kilobytes, a `TcpStream` is not.
    Tls(Box<TlsStream<TcpStream>>),
}

/// What was negotiated on a TLS stream, for logs and `Received:` headers
/// (RFC 8314 §4.3 asks for the TLS version and cipher).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    /// E.g. `TLSv1.3`.
    pub version: String,
    /// The IANA name, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
}

impl MaybeTlsStream {
    /// Whether the stream is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Tls(_))
    }

    /// Asks the kernel to acknowledge what arrives next at once (Linux
    /// `TCP_QUICKACK`, which lapses by itself after use). For a driver
    /// waiting for the rest of a command: a client under Nagle's algorithm
    /// holds back a short tail (imaplib sends an APPEND literal and its
    /// closing CRLF in two writes) until what it sent is acknowledged, and
    /// a delayed ACK makes that ~40 ms per command. Best effort.
    pub fn quick_ack(&self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let fd = match self {
                Self::Plain(t) => t.as_raw_fd(),
                Self::Tls(t) => t.get_ref().0.as_raw_fd(),
            };
            let one: libc::c_int = 1;
            // SAFETY: setsockopt on a socket this stream owns, with a
            // pointer to a live c_int and its size.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::IPPROTO_TCP,
                    libc::TCP_QUICKACK,
                    (&one as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
    }

    /// The negotiated version and cipher suite; `None` on a plain stream.
    pub fn tls_info(&self) -> Option<TlsInfo> {
        let Self::Tls(tls) = self else {
            return None;
        };
        let conn = tls.get_ref().1;
        let version = match conn.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
            other => format!("{other:?}"),
        };
        let suite = conn.negotiated_cipher_suite()?.suite();
        let cipher = suite
            .as_str()
            .map_or_else(|| format!("{suite:?}"), str::to_owned);
        Some(TlsInfo { version, cipher })
    }

    /// The SNI host name the client sent, if any (TLS streams only).
    pub fn sni(&self) -> Option<&str> {
        match self {
            Self::Tls(tls) => tls.get_ref().1.server_name(),
            Self::Plain(_) => None,
        }
    }

    /// The underlying TCP stream (e.g. for socket options).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(tcp) => tcp,
            Self::Tls(tls) => tls.get_ref().0,
        }
    }

    /// Upgrades a plain stream to TLS (STARTTLS, RFC 3207 / RFC 9051 §6.2.1 /
    /// RFC 2595), after the "go ahead" response has been written and flushed.
    ///
    /// **The caller must first discard (or refuse the connection over) any
    /// plaintext it has read past the STARTTLS command line.** Bytes a client
    /// pipelined after STARTTLS were sent unencrypted, and a man in the middle
    /// can inject commands there that would otherwise run as if they came
    /// over TLS (CVE-2011-0411). This function only sees the socket, not the
    /// driver's read buffer, so it cannot check that: with a `BufReader`,
    /// check `reader.buffer().is_empty()` before `into_inner()`.
    ///
    /// No timeout is applied; use [`starttls_within`](Self::starttls_within)
    /// in servers. Fails with [`NetError::AlreadyTls`] on a TLS stream.
    pub async fn starttls(self, acceptor: &TlsAcceptor) -> Result<Self, NetError> {
        match self {
            Self::Plain(tcp) => {
                let tls = acceptor.accept(tcp).await.map_err(NetError::Handshake)?;
                Ok(Self::Tls(Box::new(tls)))
            }
            Self::Tls(_) => Err(NetError::AlreadyTls),
        }
    }

    /// [`starttls`](Self::starttls) bounded by `timeout` (pass
    /// [`Connection::tls_handshake_timeout`](crate::Connection)); the same
    /// caller duty about buffered plaintext applies.
    pub async fn starttls_within(
        self,
        acceptor: &TlsAcceptor,
        timeout: Duration,
    ) -> Result<Self, NetError> {
        let r = tokio::time::timeout(timeout, self.starttls(acceptor))
            .await
            .map_err(|_| NetError::HandshakeTimeout)?;
        crate::metrics::starttls(r.is_ok());
        r
    }
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
