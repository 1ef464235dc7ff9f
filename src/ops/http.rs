//! The metrics endpoint: `GET /metrics` over plain HTTP/1.1 on `[metrics]
//! listen`, answered with the Prometheus text format and closed. A scraper
//! sends one small request; that is all this reads (a bounded head, with a
//! deadline), so it needs no HTTP stack. Its listeners are bound with the
//! others, before the switch from root.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Ops;

/// The most a request head may take; a scraper's is a few hundred bytes.
const MAX_REQUEST: usize = 8 * 1024;
/// How long a client has to send its request head.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// The Prometheus text exposition format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Binds every `[metrics] listen` address.
pub async fn bind(addrs: &[SocketAddr]) -> Result<Vec<TcpListener>> {
    let mut out = Vec::new();
    for addr in addrs {
        let l = TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening for metrics on {addr}"))?;
        out.push(l);
    }
    Ok(out)
}

/// `("metrics", address)` per listener, for the listen report and banner.
pub fn report(listeners: &[TcpListener]) -> impl Iterator<Item = (String, String)> + '_ {
    listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .map(|a| ("metrics".to_string(), a.to_string()))
}

/// Serves the listeners until shutdown; one request per connection.
pub fn spawn(
    listeners: Vec<TcpListener>,
    ops: Arc<Ops>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    for l in listeners {
        let (ops, shutdown, conns) = (ops.clone(), shutdown.clone(), tracker.clone());
        tracker.spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    () = shutdown.cancelled() => return,
                    accepted = l.accept() => match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::debug!(error = %e, "metrics: accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                };
                let ops = ops.clone();
                conns.spawn(async move {
                    if let Err(e) = answer(stream, &ops).await {
                        tracing::debug!(%peer, error = %e, "metrics: request failed");
                    }
                });
            }
        });
    }
}

async fn answer(mut stream: TcpStream, ops: &Ops) -> std::io::Result<()> {
    let head = match tokio::time::timeout(REQUEST_DEADLINE, read_head(&mut stream)).await {
        Ok(r) => r?,
        Err(_) => return Ok(()),
    };
    let (status, body) = match route(&head) {
        Ok(()) => ("200 OK", ops.render_metrics().await),
        Err(status) => (status, format!("{status}\n")),
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(reply.as_bytes()).await?;
    if !head.starts_with(b"HEAD ") {
        stream.write_all(body.as_bytes()).await?;
    }
    stream.shutdown().await
}

/// Reads up to the blank line ending the head (or `MAX_REQUEST` bytes, or
/// the end of the stream).
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(head)
}

/// `Ok` for a GET or HEAD of `/metrics` (a query string is ignored), the
/// error status otherwise.
fn route(head: &[u8]) -> Result<(), &'static str> {
    let line = head
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or(b"");
    let mut parts = line.split(|&b| b == b' ');
    let (method, target) = (parts.next().unwrap_or(b""), parts.next().unwrap_or(b""));
    if method != b"GET" && method != b"HEAD" {
        return Err("405 Method Not Allowed");
    }
    let path = target.split(|&b| b == b'?').next().unwrap_or(b"");
    if path != b"/metrics" {
        return Err("404 Not Found");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::route;

    #[test]
    fn only_get_or_head_of_metrics_is_served() {
        assert_eq!(route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), Ok(()));
        assert_eq!(route(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"), Ok(()));
        assert_eq!(route(b"HEAD /metrics HTTP/1.1\r\n\r\n"), Ok(()));
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Err("404 Not Found"));
        assert_eq!(
            route(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Err("405 Method Not Allowed")
        );
        assert_eq!(route(b""), Err("405 Method Not Allowed"));
    }
}
