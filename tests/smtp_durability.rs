//! kill -9 of the real server while several SMTP clients flood it: after
//! each restart every message that got `250` is in the mailbox, intact and
//! exactly once; a message whose `250` was lost in the kill may be there
//! once (the client did not retry) but never twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::smtp::inbox;
use crate::support::Env;

const ROUNDS: u32 = 20;
const CLIENTS: u32 = 4;

pub fn body(round: u32, client: u32, n: u32) -> String {
    let mut b = format!("Subject: r{round}-c{client}-n{n}\r\nFrom: flood@elsewhere.test\r\n\r\n");
    for l in 0..(20 + (round * 31 + client * 7 + n * 13) % 200) {
        b.push_str(&format!("line {l} of message r{round}-c{client}-n{n}\r\n"));
    }
    b
}

/// Sends up to `limit` messages until the connection breaks; records each
/// one that got 250.
pub async fn flood(
    addr: String,
    (round, client, limit): (u32, u32, u32),
    acked: Arc<Mutex<Vec<String>>>,
    sent: Arc<Mutex<Vec<String>>>,
) {
    let Ok(Ok(tcp)) = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(&addr)).await
    else {
        return;
    };
    let mut io = BufReader::new(tcp);
    async fn reply(io: &mut BufReader<TcpStream>) -> Option<String> {
        loop {
            let mut line = String::new();
            match tokio::time::timeout(Duration::from_secs(5), io.read_line(&mut line)).await {
                Ok(Ok(n)) if n > 0 => {
                    if line.len() >= 4 && line.as_bytes()[3] == b'-' {
                        continue;
                    }
                    return Some(line);
                }
                _ => return None,
            }
        }
    }
    if reply(&mut io).await.is_none() {
        return;
    }
    let _ = io.get_mut().write_all(b"EHLO flood.test\r\n").await;
    if reply(&mut io).await.is_none() {
        return;
    }
    for n in 0..limit {
        let tag = format!("r{round}-c{client}-n{n}");
        let msg = format!(
            "MAIL FROM:<flood@elsewhere.test>\r\nRCPT TO:<ann@example.org>\r\nDATA\r\n{}.\r\n",
            body(round, client, n)
        );
        sent.lock().expect("lock").push(tag.clone());
        if io.get_mut().write_all(msg.as_bytes()).await.is_err() {
            return;
        }
        for want in ["250", "250", "354", "250"] {
            match reply(&mut io).await {
                Some(l) if l.starts_with(want) => {}
                _ => return,
            }
        }
        acked.lock().expect("lock").push(tag);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_a_flood_loses_no_acknowledged_message() {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "pw\n");
    let acked = Arc::new(Mutex::new(Vec::new()));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    eprintln!("smtp durability seed {seed}");
    for round in 0..ROUNDS {
        let server = env.serve();
        let addr = server.addr("smtp");
        let mut tasks = Vec::new();
        for c in 0..CLIENTS {
            tasks.push(tokio::spawn(flood(
                addr.clone(),
                (round, c, 10_000),
                acked.clone(),
                sent.clone(),
            )));
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(100 + seed % 400)).await;
        server.kill9();
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }
    let acked = acked.lock().expect("lock").clone();
    let sent = sent.lock().expect("lock").clone();
    assert!(
        acked.len() >= ROUNDS as usize,
        "the flood got messages through: {}",
        acked.len()
    );
    let stored = inbox(&env.data(), "ann@example.org").await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for raw in &stored {
        let text = String::from_utf8_lossy(raw);
        let tag = text
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .expect("every stored message has its subject")
            .to_string();
        let (r, rest) = tag[1..].split_once("-c").expect("tag");
        let (c, n) = rest.split_once("-n").expect("tag");
        let expect = body(
            r.parse().expect("r"),
            c.parse().expect("c"),
            n.parse().expect("n"),
        );
        assert!(raw.ends_with(expect.as_bytes()), "{tag} is intact");
        *seen.entry(tag).or_default() += 1;
    }
    for tag in &acked {
        assert_eq!(
            seen.get(tag),
            Some(&1),
            "{tag} got 250 and must be stored exactly once"
        );
    }
    for (tag, count) in &seen {
        assert_eq!(*count, 1, "{tag} stored {count} times");
        assert!(sent.contains(tag), "{tag} was sent");
    }
    eprintln!(
        "smtp durability: {ROUNDS} rounds, {} acknowledged, {} stored ({} whose 250 was lost in the kill)",
        acked.len(),
        stored.len(),
        stored.len() - acked.len()
    );
}
