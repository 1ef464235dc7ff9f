//! The flags a session keeps of its mailbox (issue 19,
//! `crates/imap/src/session/flag_memory.rs`): `UID FETCH ... (UID FLAGS)`
//! and SEARCH on flags answer from them, and must answer what the store
//! holds. Checked against the store's own answers: the same FETCH with
//! MODSEQ and the same SEARCH with a MODSEQ key, which read the store, in
//! the same session at the same point, and a fresh session's.
//!
//! Every session here but `holder` SELECTs after `holder`, which keeps the
//! mailbox's `\Recent` messages, so the sessions compared show none.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::smtp::mail_env_with;
use crate::support::{Env, Server};

/// Every read waits at most this long.
const READ_LIMIT: Duration = Duration::from_secs(30);

struct Client {
    rd: BufReader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
    tag: u32,
}

impl Client {
    async fn connect(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let (r, w) = s.into_split();
        let mut c = Client {
            rd: BufReader::new(r),
            wr: w,
            tag: 0,
        };
        let greeting = c.line().await;
        assert!(greeting.starts_with("* OK"), "greeting: {greeting}");
        c.run("LOGIN ann@example.org \"ann password\"").await;
        c
    }

    async fn selected(port: u16) -> Client {
        let mut c = Client::connect(port).await;
        c.run("SELECT INBOX").await;
        c
    }

    async fn line(&mut self) -> String {
        let mut buf = String::new();
        let n = tokio::time::timeout(READ_LIMIT, self.rd.read_line(&mut buf))
            .await
            .expect("server answered in time")
            .expect("read");
        assert!(n > 0, "connection closed");
        buf.trim_end().to_string()
    }

    /// Sends `cmd`, returns its untagged lines; the answer must be OK.
    async fn run(&mut self, cmd: &str) -> Vec<String> {
        self.tag += 1;
        let tag = format!("m{}", self.tag);
        self.wr
            .write_all(format!("{tag} {cmd}\r\n").as_bytes())
            .await
            .expect("write");
        let mut lines = Vec::new();
        loop {
            let l = self.line().await;
            if let Some(rest) = l.strip_prefix(&format!("{tag} ")) {
                assert!(rest.starts_with("OK"), "{cmd}: {l}\n{}", lines.join("\n"));
                return lines;
            }
            lines.push(l);
        }
    }

    async fn append(&mut self, flags: &str, n: usize) {
        let msg = format!("Subject: m{n}\r\n\r\nbody {n}\r\n");
        self.run(&format!(
            "APPEND INBOX ({flags}) {{{}+}}\r\n{msg}",
            msg.len()
        ))
        .await;
    }

    /// `UID FETCH 1:* (UID FLAGS)`: answered from memory.
    async fn flags(&mut self) -> Vec<String> {
        self.run("UID FETCH 1:* (UID FLAGS)").await
    }

    /// The same from the store: MODSEQ is not kept in memory. The lines
    /// with MODSEQ taken out, and the HIGHESTMODSEQ the first FETCH of
    /// MODSEQ sends (it turns CONDSTORE on, RFC 7162 §3.1).
    async fn flags_from_store(&mut self) -> Vec<String> {
        self.run("UID FETCH 1:* (UID FLAGS MODSEQ)")
            .await
            .into_iter()
            .filter(|l| !l.starts_with("* OK [HIGHESTMODSEQ "))
            .map(|l| match l.split_once(" MODSEQ (") {
                Some((head, rest)) => {
                    format!("{head}{}", rest.split_once(')').map_or("", |r| r.1))
                }
                None => l,
            })
            .collect()
    }

    /// The UIDs `UID SEARCH <keys>` finds (`* SEARCH` line alone).
    async fn search(&mut self, keys: &str) -> Vec<u32> {
        let lines = self.run(&format!("UID SEARCH {keys}")).await;
        let line = lines
            .iter()
            .find(|l| l.starts_with("* SEARCH"))
            .unwrap_or_else(|| panic!("no SEARCH answer to {keys}: {lines:?}"));
        line["* SEARCH".len()..]
            .split_whitespace()
            .take_while(|w| !w.starts_with('('))
            .map(|w| w.parse().expect("a UID"))
            .collect()
    }

    /// The same SEARCH read from the store (a MODSEQ key every message
    /// passes sends it there).
    async fn search_in_store(&mut self, keys: &str) -> Vec<u32> {
        self.search(&format!("{keys} MODSEQ 1")).await
    }
}

/// FLAGS per UID of `UID FETCH` lines, other lines left out.
fn by_uid(lines: &[String]) -> BTreeMap<u32, String> {
    lines
        .iter()
        .filter(|l| l.contains(" FETCH ("))
        .map(|l| {
            let uid = l
                .split_once("UID ")
                .and_then(|(_, r)| r.split([' ', ')']).next())
                .and_then(|u| u.parse().ok())
                .unwrap_or_else(|| panic!("FETCH without UID: {l}"));
            let flags = l
                .split_once("FLAGS (")
                .map(|(_, r)| r.split(')').next().unwrap_or_default().to_string())
                .unwrap_or_else(|| panic!("FETCH without FLAGS: {l}"));
            (uid, flags)
        })
        .collect()
}

fn server(room: usize) -> (Env, Server) {
    mail_env_with(&format!(
        "[limits]\nmax_connections_per_ip = {room}\n\
         [imap]\nplaintext_on_loopback = true\nmax_connections_per_user = {room}\n"
    ))
}

/// The searches compared, flags and keywords both ways.
const SEARCHES: [&str; 6] = [
    "UNSEEN",
    "KEYWORD $Work",
    "UNKEYWORD $Work UNSEEN",
    "OR FLAGGED DELETED",
    "NOT SEEN NOT KEYWORD $Later",
    "ALL",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_flags_and_search_after_another_sessions_store_and_expunge_give_the_stores_answer() {
    let (_env, server) = server(6);
    let port = server.port("imap");
    let mut holder = Client::selected(port).await;
    for i in 0..12 {
        let flags = ["\\Seen", "", "$Work", "\\Seen $Later", "\\Flagged"][i % 5];
        holder.append(flags, i).await;
    }
    holder.run("NOOP").await;
    let mut b = Client::selected(port).await;
    let before = b.flags().await;
    assert_eq!(before.len(), 12, "{before:?}");
    assert_eq!(before, b.flags_from_store().await);

    // Another session changes flags and keywords, expunges one message,
    // and appends one with flags; `b` has heard nothing yet.
    let mut other = Client::selected(port).await;
    other.run("UID STORE 2 +FLAGS (\\Seen $Work)").await;
    other.run("UID STORE 5 -FLAGS (\\Flagged)").await;
    other.run("UID STORE 7 FLAGS ($Later $work)").await;
    other.run("UID STORE 1,4 -FLAGS.SILENT (\\Seen)").await;
    other.run("UID STORE 3 +FLAGS.SILENT (\\Deleted)").await;
    other.run("UID EXPUNGE 3").await;
    other.append("\\Flagged $New", 99).await;

    // A FETCH by sequence number may not send EXPUNGE (RFC 9051 §7.5.1):
    // the expunged message keeps its number but has no line, the new one
    // is not told of yet.
    let now = b.run("FETCH 1:* (UID FLAGS)").await;
    let fetched: Vec<&String> = now.iter().filter(|l| l.contains(" FETCH (")).collect();
    assert_eq!(fetched.len(), 11, "{now:?}");
    assert!(
        now.iter().all(|l| !l.contains("UID 3 ")),
        "the expunged message: {now:?}"
    );
    let mut fresh = Client::selected(port).await;
    let fresh_flags = by_uid(&fresh.flags().await);
    let mut expected = fresh_flags.clone();
    expected.remove(&13);
    assert_eq!(
        by_uid(&now),
        expected,
        "b's FETCH against a fresh session's"
    );
    assert_eq!(
        fresh_flags.get(&2).map(String::as_str),
        Some("\\Seen $Work")
    );
    assert_eq!(
        fresh_flags.get(&7).map(String::as_str),
        Some("$Later $work")
    );
    assert_eq!(
        fresh_flags.get(&13).map(String::as_str),
        Some("\\Flagged $New")
    );

    // Searches: the store's answer, before and after another change.
    other.run("UID STORE 6 +FLAGS ($Work)").await;
    for keys in SEARCHES {
        let got = b.search(keys).await;
        assert_eq!(got, b.search_in_store(keys).await, "UID SEARCH {keys}");
        assert_eq!(got, fresh.search(keys).await, "UID SEARCH {keys}, fresh");
    }
    assert!(b.search("KEYWORD $Work").await.contains(&6));
    assert!(!b.search("ALL").await.contains(&3), "expunged");

    // Told of everything, `b` answers as a fresh session does, line for line.
    b.run("NOOP").await;
    let after = b.flags().await;
    assert_eq!(after, b.flags_from_store().await);
    assert_eq!(after, fresh.flags().await);
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_changing_flags_at_once_each_answer_as_a_fresh_session_after_a_noop() {
    let (sessions, rounds, seeded) = (6, 60, 40);
    // Each session and a fresh one beside it at the end, and `holder`.
    let (_env, server) = server(2 * sessions + 2);
    let port = server.port("imap");
    let mut holder = Client::selected(port).await;
    for i in 0..seeded {
        holder
            .append(if i % 3 == 0 { "\\Seen" } else { "" }, i)
            .await;
    }
    let flags = [
        "\\Seen",
        "\\Flagged",
        "\\Answered",
        "$k1",
        "$k2",
        "$K1",
        "\\Draft",
    ];
    let done = std::sync::Arc::new(tokio::sync::Barrier::new(sessions));
    let mut tasks = Vec::new();
    for name in 0..sessions {
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x2545_f491 ^ ((name as u64 + 1) * 0x9e37_79b9));
            let mut c = Client::selected(port).await;
            for r in 0..rounds {
                let uid = 1 + rng.below(seeded + rounds / 4);
                let f = flags[rng.below(flags.len())];
                match rng.below(10) {
                    0..4 => {
                        let sign = ["+", "-", ""][rng.below(3)];
                        let silent = if rng.below(4) == 0 { ".SILENT" } else { "" };
                        c.run(&format!(
                            "UID STORE {uid}:{} {sign}FLAGS{silent} ({f})",
                            uid + 2
                        ))
                        .await;
                    }
                    4..6 => {
                        c.flags().await;
                    }
                    6 => {
                        c.search("UNSEEN").await;
                    }
                    7 => {
                        c.append(f, 1000 * name + r).await;
                    }
                    8 => {
                        c.run(&format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"))
                            .await;
                        c.run(&format!("UID EXPUNGE {uid}")).await;
                    }
                    _ => {
                        c.run("NOOP").await;
                    }
                }
            }
            // Everybody's changes are made: each session, told of them
            // by a NOOP, answers as a fresh session does.
            done.wait().await;
            c.run("NOOP").await;
            let mine = (c.flags().await, c.search("UNSEEN").await);
            let theirs = {
                let mut fresh = Client::selected(port).await;
                (fresh.flags().await, fresh.search("UNSEEN").await)
            };
            assert_eq!(mine.0, theirs.0, "session {name}: FETCH FLAGS");
            assert_eq!(mine.1, theirs.1, "session {name}: SEARCH UNSEEN");
            assert_eq!(mine.0, c.flags_from_store().await, "session {name}: store");
            for k in ["$k1", "$K1", "$k2"] {
                let got = c.search(&format!("KEYWORD {k}")).await;
                assert_eq!(got, c.search_in_store(&format!("KEYWORD {k}")).await);
            }
            mine.0.len()
        }));
    }
    for t in tasks {
        let n = t.await.expect("a session's answers differed");
        assert!(n > seeded / 2, "the mailbox kept {n} messages");
    }
}
