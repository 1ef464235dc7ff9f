//! `store-bench`: durable deliveries per second through `postern-store`, set
//! against the raw fsync rate of the disk under it, measured in the same run
//! and on the same filesystem.
//!
//! Rows, in order:
//! - `fsync-4k`: write 4 KB and `fsync` in a loop, one at a time. The disk's
//!   commit rate, and the figure a peer server would be held to as well.
//! - `blob-4k`: new file, write 4 KB, fsync, rename, fsync the directory:
//!   what writing one message blob costs at the least.
//! - `deliver`: N tokio tasks, each looping `Store::deliver` of a unique
//!   message to one user's INBOX, on a fresh data directory per N. A
//!   delivery counts only once `deliver` returned, that is once its batch
//!   committed. `ops/fsync` above 1 is what group commit buys.
//!
//! Each `deliver` run is compared with a `fsync-4k` probe made just before
//! it, not with the first one: on shared (virtual) disks the fsync rate can
//! move by an order of magnitude within a minute, and a ratio taken across
//! such a change would measure the neighbours, not the store.
//!
//! The output is one Markdown table, then one `BENCH` line of `key=value`
//! pairs per row for scripts. Progress goes to stderr.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use postern_bench::{
    DEFAULT_SCRATCH_PARENT, PROBE_BLOCK, Rate, Summary, blob_rate, fsync_rate, message, mount_of,
    scratch_dir,
};
use postern_store::{DeliveryTarget, Flags, NewMessage, NewUser, Store, StoreOptions};

type BoxError = Box<dyn Error + Send + Sync>;

const USAGE: &str = "\
usage: store-bench [--seconds N] [--fsync-seconds N] [--writers 1,10,50] [--size BYTES]
                   [--storage row,file] [--dir PATH]

  --seconds N        how long each delivery run lasts (default 5)
  --fsync-seconds N  how long each raw fsync probe lasts (default 3); one runs
                     first and one just before each delivery run
  --writers LIST     concurrent delivering tasks, one run per value (default 1,10,50)
  --size BYTES       size of each delivered message (default 5120)
  --storage LIST     where message bytes go: `row` (inline in the database, the
                     default for messages up to 64 KiB) and/or `file` (one blob
                     file per message, as larger messages are); default row,file
  --dir PATH         where scratch directories go (default ./target/bench-tmp);
                     must be on the disk you want measured, not tmpfs
";

/// The domain and user every delivery goes to.
const DOMAIN: &str = "example.test";
const USER: &str = "user1@example.test";

#[derive(Clone, Debug, PartialEq)]
struct Args {
    seconds: Duration,
    fsync_seconds: Duration,
    writers: Vec<usize>,
    size: usize,
    /// Storage modes to run: true = inline rows, false = blob files.
    storage: Vec<bool>,
    dir: Option<PathBuf>,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            seconds: Duration::from_secs(5),
            fsync_seconds: Duration::from_secs(3),
            writers: vec![1, 10, 50],
            size: 5120,
            storage: vec![true, false],
            dir: None,
        }
    }
}

/// Parses the options; `Ok(None)` when help was asked for.
fn parse_args(argv: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args::default();
    let mut argv = argv.into_iter();
    while let Some(arg) = argv.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg, None),
        };
        if name == "-h" || name == "--help" {
            return Ok(None);
        }
        let value = match inline {
            Some(v) => v,
            None => argv.next().ok_or_else(|| format!("{name} needs a value"))?,
        };
        match name.as_str() {
            "--seconds" => args.seconds = parse_seconds(&name, &value)?,
            "--fsync-seconds" => args.fsync_seconds = parse_seconds(&name, &value)?,
            "--writers" => {
                args.writers = value
                    .split(',')
                    .map(|w| match w.trim().parse::<usize>() {
                        Ok(n) if n > 0 => Ok(n),
                        _ => Err(format!("--writers: {w:?} is not a positive number")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--size" => {
                args.size = value
                    .parse()
                    .map_err(|_| format!("--size: {value:?} is not a number of bytes"))?;
            }
            "--storage" => {
                args.storage = value
                    .split(',')
                    .map(|m| match m.trim() {
                        "row" => Ok(true),
                        "file" => Ok(false),
                        other => Err(format!("--storage: {other:?} is not row or file")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--dir" => args.dir = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown option {name:?}")),
        }
    }
    Ok(Some(args))
}

fn parse_seconds(name: &str, value: &str) -> Result<Duration, String> {
    match value.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{name}: {value:?} is not a positive number of seconds"
        )),
    }
}

/// One line of the results.
struct Row {
    name: &'static str,
    writers: usize,
    size: usize,
    rate: Rate,
    /// Commits the store made during the run (delivery rows only).
    batches: Option<u64>,
    /// Writes those commits carried (delivery rows only).
    writes: Option<u64>,
    /// The raw `fsync-4k` rate this row is compared with: the probe made
    /// just before it.
    fsync_per_s: f64,
}

impl Row {
    /// `ops/s ÷ fsync/s`: above 1, more durable writes than the disk's fsyncs.
    fn per_fsync(&self) -> f64 {
        self.rate.per_sec() / self.fsync_per_s.max(f64::MIN_POSITIVE)
    }

    fn per_batch(&self) -> Option<f64> {
        match (self.writes, self.batches) {
            (Some(w), Some(b)) if b > 0 => Some(w as f64 / b as f64),
            _ => None,
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn print_table(rows: &[Row]) {
    let header = [
        "benchmark",
        "writers",
        "bytes",
        "ops",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "batches",
        "ops/batch",
        "fsync/s",
        "ops/fsync",
    ];
    let cells: Vec<[String; 11]> = rows
        .iter()
        .map(|r| {
            [
                r.name.to_string(),
                r.writers.to_string(),
                r.size.to_string(),
                r.rate.ops.to_string(),
                format!("{:.0}", r.rate.per_sec()),
                format!("{:.2}", ms(r.rate.latency.p50)),
                format!("{:.2}", ms(r.rate.latency.p99)),
                r.batches.map_or("-".into(), |b| b.to_string()),
                r.per_batch().map_or("-".into(), |p| format!("{p:.1}")),
                format!("{:.0}", r.fsync_per_s),
                format!("{:.2}", r.per_fsync()),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(width)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    line(header.to_vec());
    // Markdown: the first column left-aligned, the figures right-aligned.
    let rule: Vec<String> = width
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            if i == 0 {
                "-".repeat(w + 2)
            } else {
                format!("{}:", "-".repeat(w + 1))
            }
        })
        .collect();
    println!("|{}|", rule.join("|"));
    for row in &cells {
        line(row.iter().map(String::as_str).collect());
    }
}

fn print_machine_lines(rows: &[Row]) {
    for r in rows {
        let mut s = format!(
            "BENCH store name={} writers={} size={} seconds={:.3} ops={} ops_per_s={:.1} \
             p50_ms={:.3} p99_ms={:.3} max_ms={:.3}",
            r.name,
            r.writers,
            r.size,
            r.rate.elapsed.as_secs_f64(),
            r.rate.ops,
            r.rate.per_sec(),
            ms(r.rate.latency.p50),
            ms(r.rate.latency.p99),
            ms(r.rate.latency.max),
        );
        if let (Some(b), Some(p)) = (r.batches, r.per_batch()) {
            s.push_str(&format!(" batches={b} ops_per_batch={p:.2}"));
        }
        s.push_str(&format!(
            " fsync_per_s={:.1} ops_per_fsync={:.3}",
            r.fsync_per_s,
            r.per_fsync()
        ));
        println!("{s}");
    }
}

/// What one delivery run measured.
struct DeliveryRun {
    rate: Rate,
    batches: u64,
    writes: u64,
}

/// `writers` tasks deliver to one INBOX for `duration` on a fresh store in
/// `dir`, which is removed afterwards.
async fn deliveries(
    dir: &Path,
    writers: usize,
    size: usize,
    duration: Duration,
    inline: bool,
) -> Result<DeliveryRun, BoxError> {
    let inline_max = if inline { u64::MAX } else { 0 };
    let store = Store::open(
        dir,
        StoreOptions {
            inline_max,
            ..StoreOptions::default()
        },
    )?;
    store.domain_add(DOMAIN).await?;
    let user = store
        .user_add(NewUser {
            address: USER.into(),
            display_name: "User One".into(),
            password_hash: "!".into(),
            quota_bytes: None,
            quota_messages: None,
        })
        .await?;
    let before = store.write_stats();
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(writers);
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut n: u64 = 0;
            while Instant::now() < deadline {
                // Unique per (writer, n): no two blobs share a hash.
                let raw = message(size, ((w as u64) << 32) | n, USER);
                let t = Instant::now();
                let results = store
                    .deliver(
                        NewMessage {
                            raw,
                            internal_date: None,
                            flags: Flags::default(),
                        },
                        vec![DeliveryTarget::inbox(user)],
                    )
                    .await?;
                results
                    .into_iter()
                    .next()
                    .ok_or("deliver returned no result")??;
                samples.push(t.elapsed());
                n += 1;
            }
            Ok::<_, BoxError>(samples)
        }));
    }
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await??);
    }
    let elapsed = start.elapsed();
    let after = store.write_stats();
    store.shutdown().await;
    drop(store);
    std::fs::remove_dir_all(dir)?;
    Ok(DeliveryRun {
        rate: Rate {
            ops: samples.len() as u64,
            elapsed,
            latency: Summary::of(samples),
        },
        batches: after.batches - before.batches,
        writes: after.writes - before.writes,
    })
}

fn run(args: &Args) -> Result<(), BoxError> {
    let parent = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SCRATCH_PARENT));
    let scratch = scratch_dir(&parent, "store-bench-")
        .map_err(|e| format!("making a scratch directory in {}: {e}", parent.display()))?;
    let root = scratch.path().canonicalize()?;
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("store-bench: nproc {nproc}");
    println!("scratch: {}", root.display());
    let mount = mount_of(&root);
    match &mount {
        Some(m) => {
            println!(
                "filesystem: {} ({}) mounted at {}",
                m.device,
                m.fs_type,
                m.mount_point.display()
            );
            if m.is_memory() {
                eprintln!(
                    "warning: {} is {}: fsync reaches no disk, these are not disk figures",
                    root.display(),
                    m.fs_type
                );
            }
        }
        None => println!("filesystem: unknown (no /proc/self/mounts)"),
    }
    println!();

    let mut rows = Vec::new();
    eprintln!("fsync-4k for {:.1} s", args.fsync_seconds.as_secs_f64());
    let fsync = fsync_rate(&root, args.fsync_seconds)?;
    eprintln!("blob-4k for {:.1} s", args.fsync_seconds.as_secs_f64());
    let blob = blob_rate(&root, args.fsync_seconds)?;
    for (name, rate) in [("fsync-4k", fsync), ("blob-4k", blob)] {
        rows.push(Row {
            name,
            writers: 1,
            size: PROBE_BLOCK,
            rate,
            batches: None,
            writes: None,
            fsync_per_s: fsync.per_sec(),
        });
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    for &inline in &args.storage {
        let name = if inline {
            "deliver-row"
        } else {
            "deliver-file"
        };
        for &writers in &args.writers {
            eprintln!("fsync-4k for {:.1} s", args.fsync_seconds.as_secs_f64());
            let fsync = fsync_rate(&root, args.fsync_seconds)?;
            eprintln!(
                "{name} {} B with {writers} writers for {:.1} s",
                args.size,
                args.seconds.as_secs_f64()
            );
            let dir = root.join(format!("store-{name}-{writers}w"));
            let run =
                runtime.block_on(deliveries(&dir, writers, args.size, args.seconds, inline))?;
            rows.push(Row {
                name,
                writers,
                size: args.size,
                rate: run.rate,
                batches: Some(run.batches),
                writes: Some(run.writes),
                fsync_per_s: fsync.per_sec(),
            });
        }
    }
    drop(runtime);

    print_table(&rows);
    println!();
    println!(
        "BENCH store-env nproc={nproc} dir={} fs_type={} device={}",
        root.display(),
        mount.as_ref().map_or("unknown", |m| m.fs_type.as_str()),
        mount.as_ref().map_or("unknown", |m| m.device.as_str()),
    );
    print_machine_lines(&rows);
    scratch.close()?;
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("store-bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("store-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &[&str]) -> Result<Option<Args>, String> {
        parse_args(s.iter().map(|s| s.to_string()))
    }

    #[test]
    fn no_options_gives_the_defaults() {
        assert_eq!(parse(&[]), Ok(Some(Args::default())));
    }

    #[test]
    fn options_take_separate_or_inline_values() {
        let a = parse(&[
            "--seconds",
            "1.5",
            "--writers=2,4",
            "--size",
            "100",
            "--dir=/x",
        ])
        .expect("valid")
        .expect("not help");
        assert_eq!(a.seconds, Duration::from_millis(1500));
        assert_eq!(a.writers, [2, 4]);
        assert_eq!(a.size, 100);
        assert_eq!(a.dir, Some(PathBuf::from("/x")));
        assert_eq!(a.fsync_seconds, Duration::from_secs(3));
    }

    #[test]
    fn bad_options_are_refused() {
        for bad in [
            &["--seconds", "0"][..],
            &["--seconds", "nan"],
            &["--writers", "1,0"],
            &["--writers", "a"],
            &["--size", "-1"],
            &["--seconds"],
            &["--verbose", "1"],
            &["--storage", "disk"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse(&["--help"]), Ok(None));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_delivery_run_counts_every_delivery_once() {
        for inline in [true, false] {
            let tmp = tempfile::tempdir().expect("temp dir");
            let dir = tmp.path().join("store");
            let run = deliveries(&dir, 3, 2000, Duration::from_millis(200), inline)
                .await
                .expect("deliveries run");
            assert!(run.rate.ops > 0);
            assert_eq!(run.writes, run.rate.ops);
            assert!(run.batches >= 1 && run.batches <= run.writes);
            assert!(!dir.exists(), "the run removes its data directory");
        }
    }
}
