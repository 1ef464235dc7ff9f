//! Helpers shared by Postern's benchmarks: where scratch data goes and which
//! filesystem that is, realistic messages that never repeat, the disk's raw
//! fsync rates (the ceiling any durable write path is measured against), and
//! latency percentiles.
//!
//! Only std, tokio and tempfile: a benchmark should not pull in more than the
//! code it measures.

pub mod imap_client;

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where scratch directories go when no `--dir` is given: under the build
/// tree, so on the project's disk and not on a `/tmp` that may be tmpfs
/// (where fsync costs nothing and every figure would be meaningless).
pub const DEFAULT_SCRATCH_PARENT: &str = "target/bench-tmp";

/// Makes a fresh scratch directory under `parent` (created if missing),
/// removed when the returned guard drops.
pub fn scratch_dir(parent: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    fs::create_dir_all(parent)?;
    tempfile::Builder::new().prefix(prefix).tempdir_in(parent)
}

/// The mounted filesystem a path lives on, from `/proc/self/mounts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub device: String,
    pub mount_point: PathBuf,
    pub fs_type: String,
}

impl Mount {
    /// True for filesystems where fsync reaches no disk.
    pub fn is_memory(&self) -> bool {
        matches!(self.fs_type.as_str(), "tmpfs" | "ramfs")
    }
}

/// The mount holding `path` (the longest mount point that is a prefix of the
/// canonical path; the last listed wins, as the kernel stacks them), or None
/// where `/proc` is not there to ask.
pub fn mount_of(path: &Path) -> Option<Mount> {
    let path = path.canonicalize().ok()?;
    let table = fs::read_to_string("/proc/self/mounts").ok()?;
    let mut best: Option<Mount> = None;
    for line in table.lines() {
        let mut f = line.split_whitespace();
        let (Some(device), Some(point), Some(fs_type)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let point = PathBuf::from(unescape_mount_field(point));
        let longer = best
            .as_ref()
            .is_none_or(|b| point.as_os_str().len() >= b.mount_point.as_os_str().len());
        if path.starts_with(&point) && longer {
            best = Some(Mount {
                device: device.to_string(),
                mount_point: point,
                fs_type: fs_type.to_string(),
            });
        }
    }
    best
}

/// `/proc/self/mounts` writes space, tab, newline and backslash as `\ooo`.
fn unescape_mount_field(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                let v = d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Latency percentiles of a set of timed operations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub count: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Summary {
    /// Nearest-rank percentiles (the p-th value is one that was measured).
    pub fn of(mut samples: Vec<Duration>) -> Summary {
        samples.sort_unstable();
        let rank = |p: f64| -> Duration {
            if samples.is_empty() {
                return Duration::ZERO;
            }
            let i = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i]
        };
        Summary {
            count: samples.len(),
            p50: rank(0.50),
            p99: rank(0.99),
            max: samples.last().copied().unwrap_or_default(),
        }
    }
}

/// How often an operation completed in a timed loop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub ops: u64,
    pub elapsed: Duration,
    pub latency: Summary,
}

impl Rate {
    pub fn per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { self.ops as f64 / s } else { 0.0 }
    }
}

/// Runs `op(i)` for i = 0, 1, … until `duration` has passed, timing each call.
pub fn run_for(duration: Duration, mut op: impl FnMut(u64) -> io::Result<()>) -> io::Result<Rate> {
    let mut samples = Vec::new();
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < duration {
        let t = Instant::now();
        op(i)?;
        samples.push(t.elapsed());
        i += 1;
    }
    Ok(Rate {
        ops: i,
        elapsed: start.elapsed(),
        latency: Summary::of(samples),
    })
}

/// The size of one write in the raw fsync probes: one page.
pub const PROBE_BLOCK: usize = 4096;

/// Blocks the overwrite probe cycles over (1 MiB), like a WAL that has grown.
const PROBE_BLOCKS: u64 = 256;

/// The disk's raw commit rate: write 4 KB then `fsync` (`File::sync_all`),
/// one after the other, in a file in `dir`. The file is written and synced
/// in full first, so the timed writes overwrite in place as SQLite's WAL does
/// once it has grown; each fsync still commits the inode's new mtime.
pub fn fsync_rate(dir: &Path, duration: Duration) -> io::Result<Rate> {
    let path = dir.join("fsync-probe");
    let block = [b'x'; PROBE_BLOCK];
    let mut f = File::create(&path)?;
    for _ in 0..PROBE_BLOCKS {
        f.write_all(&block)?;
    }
    f.sync_all()?;
    let rate = run_for(duration, |i| {
        f.write_all_at(&block, (i % PROBE_BLOCKS) * PROBE_BLOCK as u64)?;
        f.sync_all()
    })?;
    drop(f);
    fs::remove_file(&path)?;
    Ok(rate)
}

/// What one message blob costs the store: create a temp file, write 4 KB,
/// fsync it, rename it into place, fsync the directory it landed in.
pub fn blob_rate(dir: &Path, duration: Duration) -> io::Result<Rate> {
    let tmp = dir.join("blob-probe-tmp");
    let dest = dir.join("blob-probe");
    fs::create_dir_all(&tmp)?;
    fs::create_dir_all(&dest)?;
    let block = [b'x'; PROBE_BLOCK];
    let rate = run_for(duration, |i| {
        let name = format!("{i:016x}");
        let from = tmp.join(&name);
        let mut f = File::create(&from)?;
        f.write_all(&block)?;
        f.sync_all()?;
        fs::rename(&from, dest.join(&name))?;
        File::open(&dest)?.sync_all()
    })?;
    fs::remove_dir_all(&tmp)?;
    fs::remove_dir_all(&dest)?;
    Ok(rate)
}

const WORDS: &[&str] = &[
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by",
    "on", "not", "this", "are", "or", "from", "at", "which", "but", "have", "an", "they", "you",
    "were", "there", "been", "one", "all", "we", "their", "has", "would", "when", "if", "so",
    "server", "mailbox", "message", "folder", "delivery", "queue", "index", "cache", "protocol",
    "client", "release", "schedule", "meeting", "budget", "invoice", "report", "review",
    "deadline", "project",
];

/// A small deterministic generator (SplitMix64): messages are reproducible
/// from their id without a `rand` dependency.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A plain-text message of exactly `size` bytes (CRLF line ends) addressed to
/// `to`, with the headers an MX adds and a body of words. Each `id` gives
/// different bytes (Message-ID, subject and body), so a content-addressed
/// store never deduplicates two of them. When `size` is smaller than the
/// headers the message is the headers and one short line.
pub fn message(size: usize, id: u64, to: &str) -> Vec<u8> {
    let mut rng = SplitMix(id ^ 0x0005_eed0_f905_7e12);
    let sender = rng.below(97);
    let mut m = format!(
        "Return-Path: <sender{sender}@example.org>\r\n\
         Received: from mail.example.org (mail.example.org [192.0.2.{host}])\r\n\
         \tby mx.example.test (Postern) with ESMTPS id {id:016X}\r\n\
         \tfor <{to}>; Tue, 14 Nov 2023 22:13:20 +0000\r\n\
         From: Sender {sender} <sender{sender}@example.org>\r\n\
         To: <{to}>\r\n\
         Subject: Quarterly delivery report and queue review #{id}\r\n\
         Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n\
         Message-ID: <{id:016x}.{nonce:016x}@example.org>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 7bit\r\n\
         \r\n",
        host = 1 + rng.below(254),
        nonce = rng.next(),
    )
    .into_bytes();
    let body_start = m.len();
    while m.len() < size || m.len() == body_start {
        let mut line = String::new();
        for _ in 0..8 + rng.below(5) {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(WORDS[rng.below(WORDS.len())]);
        }
        line.truncate(72);
        m.extend_from_slice(line.as_bytes());
        m.extend_from_slice(b"\r\n");
    }
    if m.len() > size && size >= body_start + 2 {
        // Cut the last line short and end it properly.
        m.truncate(size - 2);
        if m.last() == Some(&b'\r') {
            m.pop();
            m.push(b'.');
        }
        m.extend_from_slice(b"\r\n");
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_has_the_size_asked_and_crlf_lines() {
        for size in [700, 1000, 5120, 5121, 65536] {
            let m = message(size, 7, "user1@example.test");
            assert_eq!(m.len(), size, "size {size}");
            assert!(m.ends_with(b"\r\n"));
            for (i, &b) in m.iter().enumerate() {
                if b == b'\n' {
                    assert_eq!(m[i - 1], b'\r', "bare LF at {i} for size {size}");
                }
                if b == b'\r' {
                    assert_eq!(m.get(i + 1), Some(&b'\n'), "bare CR at {i} for size {size}");
                }
            }
        }
    }

    #[test]
    fn message_smaller_than_its_headers_still_has_a_body_line() {
        let m = message(10, 1, "user1@example.test");
        assert!(m.len() > 10);
        assert!(!m.ends_with(b"\r\n\r\n"));
    }

    #[test]
    fn messages_with_different_ids_differ() {
        let a = message(5120, 1, "user1@example.test");
        let b = message(5120, 2, "user1@example.test");
        assert_ne!(a, b);
        assert_eq!(a, message(5120, 1, "user1@example.test"));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let s = Summary::of((1..=100).rev().map(Duration::from_millis).collect());
        assert_eq!(s.count, 100);
        assert_eq!(s.p50, Duration::from_millis(50));
        assert_eq!(s.p99, Duration::from_millis(99));
        assert_eq!(s.max, Duration::from_millis(100));
        assert_eq!(Summary::of(Vec::new()), Summary::default());
    }

    #[test]
    fn mount_fields_are_unescaped() {
        assert_eq!(unescape_mount_field(r"/mnt/my\040disk"), "/mnt/my disk");
        assert_eq!(unescape_mount_field(r"/a\\b"), r"/a\\b");
        assert_eq!(unescape_mount_field(r"/a\134b"), r"/a\b");
    }

    #[test]
    fn mount_of_root_is_found() {
        if Path::new("/proc/self/mounts").exists() {
            let m = mount_of(Path::new("/")).expect("/ is mounted");
            assert_eq!(m.mount_point, Path::new("/"));
        }
    }
}
