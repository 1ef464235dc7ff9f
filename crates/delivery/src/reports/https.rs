//! TLS reports to an `https:` `rua` (RFC 8460 §3): the gzipped JSON is
//! the body of one HTTP/1.1 POST with `Content-Type:
//! application/tlsrpt+gzip`, over TLS verified against the same roots as
//! MTA-STS (`[outbound] ca_file`, else the system's). Any 2xx answer is
//! taken as delivered (§3: the status says whether it was). A failure is
//! retried in the background, like the queue retries a mailto report:
//! after `[reports] https_retry_secs`, doubling up to four hours, for at
//! most `https_give_up_secs`. Retries live in memory: a restart drops
//! them (the report's counts were marked sent when it was built).

use std::net::SocketAddr;
use std::time::Duration;

use postern_net::dns::hickory_resolver::TokioResolver;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::ReportsConfig;

/// The longest wait between two tries (as the queue's default).
const MAX_RETRY: Duration = Duration::from_secs(4 * 3600);
/// The most of an answer read (its status line and headers matter).
const MAX_ANSWER: usize = 64 * 1024;

/// Where a report goes: `https://host[:port]/path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Target {
    /// The parts of an `https:` URI (RFC 3986 §3); None for anything
    /// else, userinfo and IPv6 literals included.
    pub fn parse(uri: &str) -> Option<Target> {
        let rest = uri
            .get(..8)
            .filter(|s| s.eq_ignore_ascii_case("https://"))?;
        let rest = &uri[rest.len()..];
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        if authority.contains('@') || authority.starts_with('[') {
            return None;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (authority, 443),
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() || path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return None;
        }
        Some(Target { host, port, path })
    }
}

/// Posts reports; cheap to clone.
#[derive(Clone)]
pub struct Poster {
    resolver: TokioResolver,
    connector: TlsConnector,
    timeout: Duration,
}

impl Poster {
    pub fn new(resolver: TokioResolver, cfg: &ReportsConfig) -> Result<Poster, String> {
        let ca = cfg
            .https_ca_file
            .clone()
            .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into());
        Ok(Poster {
            resolver,
            connector: TlsConnector::from(
                postern_net::client_config_trusting(&ca)
                    .map_err(|e| format!("the CA roots for https reports: {e}"))?,
            ),
            timeout: cfg.https_timeout,
        })
    }

    /// One POST of `body`; Err says why it did not arrive.
    pub async fn post(&self, t: &Target, body: &[u8]) -> Result<(), String> {
        tokio::time::timeout(self.timeout, self.post_once(t, body))
            .await
            .map_err(|_| format!("{}: timed out", t.host))?
    }

    async fn post_once(&self, t: &Target, body: &[u8]) -> Result<(), String> {
        let ips = self
            .resolver
            .lookup_ip(format!("{}.", t.host))
            .await
            .map_err(|e| format!("resolving {}: {e}", t.host))?;
        let name = ServerName::try_from(t.host.clone()).map_err(|e| format!("{}: {e}", t.host))?;
        let mut last = format!("{} has no address", t.host);
        for ip in ips.iter() {
            let tcp = match TcpStream::connect(SocketAddr::new(ip, t.port)).await {
                Ok(s) => s,
                Err(e) => {
                    last = format!("connecting to {ip}: {e}");
                    continue;
                }
            };
            let mut tls = self
                .connector
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| format!("TLS with {}: {e}", t.host))?;
            let head = format!(
                "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/tlsrpt+gzip\r\n\
                 Content-Length: {}\r\nConnection: close\r\nUser-Agent: postern\r\n\r\n",
                t.path,
                t.host,
                body.len()
            );
            let mut out = head.into_bytes();
            out.extend_from_slice(body);
            tls.write_all(&out)
                .await
                .map_err(|e| format!("writing to {}: {e}", t.host))?;
            let mut answer = Vec::new();
            let mut chunk = [0u8; 4096];
            while !answer.windows(2).any(|w| w == b"\r\n") && answer.len() < MAX_ANSWER {
                let n = tls.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                answer.extend_from_slice(&chunk[..n]);
            }
            let line = String::from_utf8_lossy(&answer);
            let status = line.lines().next().unwrap_or("").trim().to_string();
            return match status.split_whitespace().nth(1) {
                Some(code) if code.starts_with('2') && code.len() == 3 => Ok(()),
                _ => Err(format!("{} answered {status:?}", t.host)),
            };
        }
        Err(last)
    }

    /// Tries again in the background until it arrives or `give_up` has
    /// passed, waiting `first` and then twice as long each time.
    pub fn retry(&self, t: Target, body: Vec<u8>, first: Duration, give_up: Duration) {
        let me = self.clone();
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            let mut wait = first.max(Duration::from_secs(1));
            loop {
                let Some(w) = next_try(start.elapsed(), wait, give_up) else {
                    tracing::warn!(
                        host = t.host,
                        "TLS report not delivered over https; given up"
                    );
                    return;
                };
                wait = w;
                tokio::time::sleep(wait).await;
                match me.post(&t, &body).await {
                    Ok(()) => {
                        tracing::info!(host = t.host, "TLS report delivered over https on a retry");
                        return;
                    }
                    Err(e) => tracing::info!(host = t.host, error = %e, "TLS report POST failed"),
                }
                wait = wait.saturating_mul(2);
            }
        });
    }
}

/// The wait before the next try (`wait`, at most four hours), or None
/// when that try would come after `give_up` from the first.
fn next_try(elapsed: Duration, wait: Duration, give_up: Duration) -> Option<Duration> {
    let wait = wait.min(MAX_RETRY);
    (elapsed + wait <= give_up).then_some(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_uris_are_split_into_host_port_and_path() {
        let t = Target::parse("https://Reports.Example.com/tlsrpt?x=1").expect("uri");
        assert_eq!(
            t,
            Target {
                host: "reports.example.com".into(),
                port: 443,
                path: "/tlsrpt?x=1".into()
            }
        );
        let t = Target::parse("https://r.example:8443").expect("uri");
        assert_eq!((t.port, t.path.as_str()), (8443, "/"));
        assert!(Target::parse("http://r.example/").is_none());
        assert!(Target::parse("https://user@r.example/").is_none());
        assert!(Target::parse("https://r.example:port/").is_none());
        assert!(Target::parse("https:///path").is_none());
    }

    #[test]
    fn retries_wait_at_most_four_hours_and_stop_at_give_up() {
        let (m, h) = (Duration::from_secs(60), Duration::from_secs(3600));
        let day = 24 * h;
        assert_eq!(next_try(Duration::ZERO, 5 * m, day), Some(5 * m));
        assert_eq!(next_try(h, 16 * h, day), Some(4 * h));
        assert_eq!(next_try(21 * h, 4 * h, day), None);
    }
}
