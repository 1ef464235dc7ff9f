//! `postern status`: what a running server says about itself. The server
//! answers on a unix socket in its data directory, `status.sock` (0600 in
//! the 0700 directory: only the server's account, which the admin commands
//! switch to, and root can connect), with one JSON document and closes.
//! A socket rather than an HTTP endpoint: it works with metrics off, needs
//! no port, and the file system's permissions are its access control.
//! No socket, or nobody answering on it (a server killed with -9 leaves
//! the file), is "not running".

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Ops;
use super::recent::Recent;
use crate::out::outln;

/// The socket's name in the data directory.
const SOCKET: &str = "status.sock";
/// How long either side waits for the other.
const DEADLINE: Duration = Duration::from_secs(10);
/// The most the client reads: the document is a few KiB.
const MAX_STATUS: u64 = 1 << 20;

/// What the server says.
#[derive(Debug, Serialize, Deserialize)]
pub struct Status {
    pub version: String,
    pub pid: u32,
    pub hostname: String,
    pub data_dir: String,
    /// Unix seconds.
    pub started_at: i64,
    pub uptime_secs: u64,
    pub listeners: Vec<Listener>,
    /// `None` when the store could not be read.
    pub queue: Option<Queue>,
    pub disk: Disk,
    /// The last warnings and errors, oldest first.
    pub recent: Vec<Recent>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Listener {
    pub name: String,
    pub addr: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Queue {
    pub messages: u64,
    pub held: u64,
    pub pending: u64,
    pub deferred: u64,
    pub oldest_age_secs: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Disk {
    pub free_bytes: Option<u64>,
    /// Measured every few minutes; `None` until the first measurement.
    pub database_bytes: Option<u64>,
    pub blob_file_bytes: Option<u64>,
}

fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

impl Ops {
    pub(crate) async fn status(&self) -> Status {
        let queue = match self.store.queue_summary().await {
            Ok(q) => Some(Queue {
                messages: q.messages,
                held: q.held,
                pending: q.pending,
                deferred: q.deferred,
                oldest_age_secs: q.oldest.map(|t| (super::now() - t).max(0)),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "status: reading the queue failed");
                None
            }
        };
        let disk = self.disk();
        Status {
            version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
            hostname: self.hostname.clone(),
            data_dir: self.data_dir.display().to_string(),
            started_at: self.started_at(),
            uptime_secs: self.uptime().as_secs(),
            listeners: self
                .listeners
                .iter()
                .map(|(name, addr)| Listener {
                    name: name.clone(),
                    addr: addr.clone(),
                })
                .collect(),
            queue,
            disk: Disk {
                free_bytes: self.store.free_space(),
                database_bytes: disk.map(|d| d.database_bytes),
                blob_file_bytes: disk.map(|d| d.blob_file_bytes),
            },
            recent: super::recent::snapshot(),
        }
    }
}

/// Binds the status socket (replacing one a killed server left: the store's
/// lock says no other server runs here) and answers until shutdown, then
/// removes it.
pub fn spawn(ops: Arc<Ops>, shutdown: CancellationToken, tracker: &TaskTracker) -> Result<()> {
    let path = socket_path(&ops.data_dir);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing the old {}", path.display())),
    }
    let listener =
        UnixListener::bind(&path).with_context(|| format!("listening on {}", path.display()))?;
    // A socket is made 0777 less the umask (0700 under ours); the data
    // directory's files are 0600, and nobody needs to execute a socket.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("making {} private", path.display()))?;
    }
    let conns = tracker.clone();
    tracker.spawn(async move {
        loop {
            let stream = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((s, _)) => s,
                    Err(e) => {
                        tracing::debug!(error = %e, "status: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let ops = ops.clone();
            conns.spawn(async move {
                let mut stream = stream;
                let doc = serde_json::to_vec(&ops.status().await).unwrap_or_default();
                let write = async {
                    stream.write_all(&doc).await?;
                    stream.shutdown().await
                };
                if let Ok(Err(e)) = tokio::time::timeout(DEADLINE, write).await {
                    tracing::debug!(error = %e, "status: answer failed");
                }
            });
        }
        let _ = std::fs::remove_file(&path);
    });
    Ok(())
}

/// Asks the server on `data_dir` and prints its answer (as JSON with
/// `json`); an error saying it is not running when nobody answers.
pub async fn run(data_dir: &Path, json: bool) -> Result<()> {
    let path = socket_path(data_dir);
    let not_running = || {
        anyhow!(
            "postern is not running (no server answers on {})",
            path.display()
        )
    };
    let mut stream = match tokio::net::UnixStream::connect(&path).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(not_running());
        }
        Err(e) => return Err(e).with_context(|| format!("connecting to {}", path.display())),
    };
    let mut doc = Vec::new();
    tokio::time::timeout(
        DEADLINE,
        (&mut stream).take(MAX_STATUS).read_to_end(&mut doc),
    )
    .await
    .map_err(|_| anyhow!("the server did not answer within {DEADLINE:?}"))?
    .context("reading the server's status")?;
    if doc.is_empty() {
        return Err(not_running());
    }
    if json {
        outln!("{}", String::from_utf8_lossy(&doc));
        return Ok(());
    }
    let s: Status = serde_json::from_slice(&doc).context("reading the server's status")?;
    print(&s)
}

fn print(s: &Status) -> Result<()> {
    outln!(
        "postern {} running on {} (pid {}), up {} since {}",
        s.version,
        s.hostname,
        s.pid,
        span(s.uptime_secs),
        utc(s.started_at)
    );
    outln!("data directory: {}", s.data_dir);
    outln!("listeners:");
    for l in &s.listeners {
        outln!("  {:<12} {}", l.name, l.addr);
    }
    match &s.queue {
        Some(q) => outln!(
            "queue: {} messages ({} held), {} recipients pending, {} deferred, oldest {}",
            q.messages,
            q.held,
            q.pending,
            q.deferred,
            q.oldest_age_secs
                .map_or_else(|| "-".to_string(), |a| span(a.max(0) as u64))
        ),
        None => outln!("queue: unknown (the server could not read it; see its log)"),
    }
    let b = |v: Option<u64>| v.map_or_else(|| "not measured yet".to_string(), bytes);
    outln!(
        "disk: {} free; database {}, message files {}",
        b(s.disk.free_bytes),
        b(s.disk.database_bytes),
        b(s.disk.blob_file_bytes)
    );
    if s.recent.is_empty() {
        outln!("recent warnings and errors: none");
    } else {
        outln!("recent warnings and errors ({}):", s.recent.len());
        for r in &s.recent {
            outln!("  {} {:<5} {}: {}", utc(r.time), r.level, r.target, r.text);
        }
    }
    Ok(())
}

/// `3d 4h`, `2h 5m`, `7m 3s`, `12s`.
fn span(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

/// `2026-12-07 03:04:05 UTC`.
fn utc(t: i64) -> String {
    let (y, mo, d) = postern_net::civil_from_days(t.div_euclid(86400));
    let s = t.rem_euclid(86400);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02} UTC",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Bytes in the largest binary unit that keeps the number at least 1.
fn bytes(n: u64) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB"];
    let Some(i) = (1..=units.len()).rev().find(|&i| n >> (10 * i) > 0) else {
        return format!("{n} B");
    };
    format!(
        "{:.1} {}",
        n as f64 / (1u64 << (10 * i)) as f64,
        units[i - 1]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_times_and_sizes_read_as_people_write_them() {
        assert_eq!(span(12), "12s");
        assert_eq!(span(7 * 60 + 3), "7m 3s");
        assert_eq!(span(2 * 3600 + 5 * 60), "2h 5m");
        assert_eq!(span(3 * 86400 + 4 * 3600 + 59), "3d 4h");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_796_612_645), "2026-12-07 03:04:05 UTC");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }
}
