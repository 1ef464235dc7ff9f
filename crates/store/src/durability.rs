//! The durability contract under kill -9.
//!
//! `kill_9_loses_nothing_acknowledged` re-runs this test binary as a child
//! (`child_process`, which does nothing unless `POSTERN_DURABILITY_CHILD` is
//! set) that delivers messages from eight concurrent tasks, expunges some, and
//! prints a line after each acknowledgement. The parent SIGKILLs it at a random
//! moment, reopens the store (which sweeps), and checks: every acknowledged
//! delivery is present and byte-identical, every row's blob exists and hashes
//! to its name, reference counts match the rows, no file is left without a
//! row, and `PRAGMA integrity_check` is ok. Twenty rounds on one directory.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::*;

const ENV_DIR: &str = "POSTERN_DURABILITY_CHILD";
const ENV_ROUND: &str = "POSTERN_DURABILITY_ROUND";
const ROUNDS: u32 = 20;

/// The message the child sends as delivery `i` of round `r`: 1 to 40 KB.
fn message(r: u32, i: u32) -> Vec<u8> {
    let lines = 10 + (r * 7919 + i * 104_729) % 500;
    let mut m =
        format!("From: t@example.net\r\nSubject: round {r} message {i}\r\n\r\n").into_bytes();
    for l in 0..lines {
        m.extend_from_slice(
            format!("{r:04} {i:06} line {l:04} of the durability test body\r\n").as_bytes(),
        );
    }
    m
}

/// Messages are 1 to 40 KB: an inline limit of 16 KB sends some through each
/// path (row and file).
fn options() -> StoreOptions {
    StoreOptions {
        inline_max: 16 * 1024,
        ..StoreOptions::default()
    }
}

/// Entry point of the child; a no-op in a normal test run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn child_process() {
    let Ok(dir) = std::env::var(ENV_DIR) else {
        return;
    };
    let round: u32 = std::env::var(ENV_ROUND)
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let store = Store::open(Path::new(&dir), options()).expect("child open");
    match store.domain_add("example.org").await {
        Ok(()) | Err(StoreError::Exists(_)) => {}
        Err(e) => panic!("domain: {e}"),
    }
    let user = match store.user_get("t@example.org").await.expect("user_get") {
        Some(u) => u.id,
        None => store
            .user_add(NewUser {
                address: "t@example.org".into(),
                display_name: String::new(),
                password_hash: String::new(),
                quota_bytes: None,
                quota_messages: None,
            })
            .await
            .expect("user_add"),
    };
    let inbox = store
        .mailbox_get(user, "INBOX")
        .await
        .expect("get")
        .expect("INBOX")
        .id;
    let mut tasks = Vec::new();
    for t in 0..8u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let i = n * 8 + t;
                let raw = message(round, i);
                let target = DeliveryTarget::inbox(user);
                let r = store
                    .deliver(
                        NewMessage {
                            raw,
                            internal_date: None,
                            flags: Flags::default(),
                        },
                        vec![target],
                    )
                    .await
                    .expect("deliver");
                let d = r
                    .into_iter()
                    .next()
                    .expect("one result")
                    .expect("delivered");
                println!("ok {round} {i} {}", d.uid);
                if i % 5 == 4 {
                    // Announced before it starts: the parent then no longer
                    // requires this message, whether or not the expunge lands.
                    println!("del {round} {i} {}", d.uid);
                    store
                        .expunge(inbox, ExpungeWhich::Uids(vec![d.uid]))
                        .await
                        .expect("expunge");
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// A small xorshift generator seeded from the clock; the seed is printed.
struct Rng(u64);
impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[tokio::test]
async fn kill_9_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    eprintln!("durability seed {seed}");
    let mut rng = Rng(seed);
    let exe = std::env::current_exe().expect("test binary");
    // (round, i) -> uid of every acknowledged delivery not announced for expunge.
    let mut must_have: HashMap<(u32, u32), u32> = HashMap::new();
    let mut total_acked = 0usize;
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "durability::child_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV_DIR, dir.path())
            .env(ENV_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for the first acknowledgement (bounded), then a random while.
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(l) => {
                    let first = l.starts_with("ok ");
                    lines.push(l);
                    if first {
                        break;
                    }
                }
                Err(_) => {
                    if child.try_wait().expect("try_wait").is_some() {
                        break;
                    }
                }
            }
        }
        assert!(
            lines.iter().any(|l| l.starts_with("ok ")),
            "round {round}: child acknowledged nothing: {lines:?}"
        );
        std::thread::sleep(Duration::from_millis(10 + rng.next(400)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        reader.join().expect("reader");
        lines.extend(rx.try_iter());
        for l in &lines {
            let f: Vec<&str> = l.split(' ').collect();
            let [kind, r, i, uid] = f[..] else { continue };
            let (Ok(r), Ok(i), Ok(uid)) = (r.parse::<u32>(), i.parse::<u32>(), uid.parse::<u32>())
            else {
                continue;
            };
            match kind {
                "ok" => {
                    total_acked += 1;
                    must_have.insert((r, i), uid);
                }
                "del" => {
                    must_have.remove(&(r, i));
                }
                _ => {}
            }
        }
        verify(dir.path(), &must_have, round).await;
    }
    eprintln!("durability: {ROUNDS} rounds, {total_acked} acknowledged deliveries checked");
    assert!(total_acked >= ROUNDS as usize);
}

async fn verify(dir: &Path, must_have: &HashMap<(u32, u32), u32>, round: u32) {
    let store = Store::open(dir, options()).expect("reopen after kill");
    store.integrity_check().await.expect("integrity_check");
    let user = store
        .user_get("t@example.org")
        .await
        .expect("user")
        .expect("user exists")
        .id;
    let inbox = store
        .mailbox_get(user, "INBOX")
        .await
        .expect("get")
        .expect("INBOX")
        .id;
    let present: HashMap<u32, MessageInfo> = store
        .messages(inbox)
        .await
        .expect("list")
        .into_iter()
        .map(|m| (m.uid.get(), m))
        .collect();
    for ((r, i), uid) in must_have {
        let m = present.get(uid).unwrap_or_else(|| {
            panic!("round {round}: acknowledged delivery {r}/{i} (uid {uid}) is missing")
        });
        let bytes = store.read_blob(&m.blob).await.expect("blob readable");
        assert!(
            bytes == message(*r, *i),
            "round {round}: delivery {r}/{i} differs"
        );
    }
    let mut referenced: HashMap<String, i64> = HashMap::new();
    for m in present.values() {
        let bytes = store
            .read_blob(&m.blob)
            .await
            .expect("every row's blob exists");
        assert_eq!(
            BlobId::of(&bytes),
            m.blob,
            "round {round}: blob content matches its name"
        );
        assert_eq!(bytes.len() as u64, m.size);
        *referenced.entry(m.blob.as_str().to_string()).or_default() += 1;
    }
    let db = Connection::open(dir.join("postern.db")).expect("db");
    let counts: HashMap<String, i64> = db
        .prepare("SELECT hash, refcount FROM blobs")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    assert_eq!(
        counts, referenced,
        "round {round}: reference counts match the rows"
    );
    let files: HashSet<String> = BlobDir::open(dir.join("blobs"))
        .expect("blobs")
        .scan()
        .expect("scan")
        .0
        .into_iter()
        .map(|b| b.as_str().to_string())
        .collect();
    let file_rows: HashSet<String> = db
        .prepare("SELECT hash FROM blobs WHERE data IS NULL")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    assert_eq!(
        files, file_rows,
        "round {round}: no orphan blob file, no file-backed row without its file"
    );
    let inline: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM blobs WHERE data IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert!(
        round < 2 || (inline > 0 && !files.is_empty()),
        "round {round}: both storage paths exercised"
    );
    store.shutdown().await;
}
