//! Many CONDSTORE sessions on one mailbox at once (issue 14, items 6 and 7):
//! each loops random UID STORE (+/-FLAGS with keywords), UID FETCH, APPEND,
//! UID EXPUNGE and re-SELECT, and every untagged FETCH it receives is checked
//! against the session's own model: per UID the MODSEQ never goes back
//! (RFC 7162 §3.1), one MODSEQ always comes with the same flags (in every
//! session), and no command is refused (a FETCH touching a message another
//! session expunged answers OK, not `NO [EXPUNGEISSUED]`). Every session
//! also follows its sequence numbers (EXISTS, EXPUNGE, the UID in each
//! FETCH) and must agree with a fresh SELECT at the end.
//!
//! Pipelining (issue 19, many devices on one mailbox): sessions that send
//! FETCH, STORE, APPEND (LITERAL+), NOOP and UID FETCH in one write while
//! others change the mailbox get their tagged answers in the order sent,
//! all OK, with sequence numbers that stay consistent (RFC 9051 §5.5).
//!
//! A delete pipelined (`STORE +FLAGS (\Deleted)` then `EXPUNGE`, which
//! the server runs in one write) answers as the two commands one after the
//! other would, and a STORE refused leaves the EXPUNGE behind it to run.
//!
//! The CI run is short; `POSTERN_STRESS_ROUNDS` (commands per session,
//! default 150) and `POSTERN_STRESS_SESSIONS` (default 8) make it as long
//! as wanted, e.g. `POSTERN_STRESS_ROUNDS=20000 cargo test --test e2e
//! imap_stress::` runs for minutes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::smtp::mail_env_with;
use crate::support::{Env, Server};

/// Every read waits at most this long: a server that stops answering
/// fails the test instead of hanging it.
const READ_LIMIT: Duration = Duration::from_secs(30);

const KEYWORDS: [&str; 5] = ["$k1", "$k2", "$k3", "\\Flagged", "\\Seen"];

/// A small deterministic generator (xorshift64*): each session's run can
/// be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }

    fn coin(&mut self) -> bool {
        self.below(2) == 0
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The (MODSEQ, flags) pairs any session saw, per UID: one MODSEQ of one
/// message is one state, whoever is told about it.
type Seen = Arc<Mutex<HashMap<(u32, u64), Vec<String>>>>;

struct Client {
    rd: BufReader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
    tag: u32,
    name: usize,
    /// Per UID, the newest (MODSEQ, sorted flags) this session was sent.
    model: HashMap<u32, (u64, Vec<String>)>,
    /// UIDs this session knows of, for picking targets.
    uids: Vec<u32>,
    seen: Seen,
    fetches: u64,
    /// The UID at each sequence number as the server told it (0: not yet
    /// named by a FETCH), from EXISTS, EXPUNGE and FETCH.
    seq_uids: Vec<u32>,
}

impl Client {
    async fn connect(port: u16, name: usize, seen: Seen) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let (r, w) = s.into_split();
        let mut c = Client {
            rd: BufReader::new(r),
            wr: w,
            tag: 0,
            name,
            model: HashMap::new(),
            uids: Vec::new(),
            seen,
            fetches: 0,
            seq_uids: Vec::new(),
        };
        let greeting = c.line().await;
        assert!(greeting.starts_with("* OK"), "greeting: {greeting}");
        c.run("LOGIN ann@example.org \"ann password\"").await;
        c.run("ENABLE CONDSTORE").await;
        c.run("SELECT INBOX").await;
        c
    }

    /// One response line, with any literal it announces folded in.
    async fn line(&mut self) -> String {
        let mut buf = Vec::new();
        loop {
            let n = tokio::time::timeout(READ_LIMIT, self.rd.read_until(b'\n', &mut buf))
                .await
                .expect("server answered in time")
                .expect("read");
            assert!(n > 0, "session {}: connection closed", self.name);
            let text = String::from_utf8_lossy(&buf).into_owned();
            let Some(len) = text
                .trim_end()
                .strip_suffix('}')
                .and_then(|t| t.rsplit_once('{'))
                .and_then(|(_, n)| n.parse::<usize>().ok())
            else {
                return text.trim_end().to_string();
            };
            let mut lit = vec![0; len];
            tokio::time::timeout(READ_LIMIT, self.rd.read_exact(&mut lit))
                .await
                .expect("literal in time")
                .expect("read literal");
            buf.extend_from_slice(&lit);
        }
    }

    /// Sends `cmd` and reads to its tagged answer, checking every line;
    /// the answer must be OK.
    async fn run(&mut self, cmd: &str) -> Vec<String> {
        self.send(cmd.as_bytes()).await
    }

    /// `APPEND INBOX` of `msg`, as [`Client::run`].
    async fn append(&mut self, msg: &str) -> Vec<String> {
        self.send(&append_command(msg)).await
    }

    async fn send(&mut self, cmd: &[u8]) -> Vec<String> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        let mut wire = format!("{tag} ").into_bytes();
        wire.extend_from_slice(cmd);
        wire.extend_from_slice(b"\r\n");
        self.wr.write_all(&wire).await.expect("write");
        if cmd.starts_with(b"SELECT ") {
            self.seq_uids.clear();
        }
        let mut lines = Vec::new();
        loop {
            let l = self.line().await;
            if let Some(rest) = l.strip_prefix(&format!("{tag} ")) {
                assert!(
                    rest.starts_with("OK"),
                    "session {}: {} refused: {l}\n{}",
                    self.name,
                    String::from_utf8_lossy(cmd),
                    lines.join("\n")
                );
                return lines;
            }
            self.check(&l);
            self.follow(&l);
            lines.push(l);
        }
    }

    /// Sends `cmds` in one write and reads every answer: the tagged ones
    /// must come in the order sent (RFC 9051 §5.5: a server running them
    /// one after the other), each OK. Returns each command's untagged lines.
    async fn pipelined(&mut self, cmds: &[Vec<u8>]) -> Vec<Vec<String>> {
        let first = self.tag + 1;
        let mut wire = Vec::new();
        for c in cmds {
            self.tag += 1;
            wire.extend_from_slice(format!("t{} ", self.tag).as_bytes());
            wire.extend_from_slice(c);
            wire.extend_from_slice(b"\r\n");
        }
        self.wr.write_all(&wire).await.expect("write");
        let mut answers = Vec::new();
        let mut lines = Vec::new();
        for want in first..=self.tag {
            loop {
                let l = self.line().await;
                if l.starts_with("* ") {
                    self.check(&l);
                    self.follow(&l);
                    lines.push(l);
                    continue;
                }
                let ok = format!("t{want} OK");
                assert!(
                    l.starts_with(&ok),
                    "session {}: wanted {ok} (command {} of the batch), got {l}\n{}",
                    self.name,
                    want - first + 1,
                    lines.join("\n")
                );
                answers.push(std::mem::take(&mut lines));
                break;
            }
        }
        answers
    }

    /// Follows sequence numbers (RFC 9051 §7.4.1, §7.5.1): EXISTS never
    /// goes down, an EXPUNGE or a FETCH names a message there is, and a
    /// FETCH's UID is the one that sequence number had.
    fn follow(&mut self, l: &str) {
        let mut w = l.split(' ');
        let (Some("*"), Some(n), Some(kw)) = (w.next(), w.next(), w.next()) else {
            return;
        };
        let Ok(n) = n.parse::<usize>() else { return };
        let len = self.seq_uids.len();
        let who = self.name;
        match kw {
            "EXISTS" => {
                assert!(n >= len, "session {who}: EXISTS went from {len} to {n}");
                self.seq_uids.resize(n, 0);
            }
            "EXPUNGE" => {
                assert!((1..=len).contains(&n), "session {who}: {l} of {len}");
                self.seq_uids.remove(n - 1);
            }
            "FETCH" => {
                assert!((1..=len).contains(&n), "session {who}: {l} of {len}");
                let Some(uid) = item(l, "UID ").and_then(|v| v.parse::<u32>().ok()) else {
                    return;
                };
                let at = &mut self.seq_uids[n - 1];
                assert!(
                    *at == 0 || *at == uid,
                    "session {who}: sequence {n} was UID {at}, now {l}"
                );
                *at = uid;
            }
            _ => {}
        }
    }

    /// One pipelined batch, sequence-number commands first: none of them
    /// may bring an EXPUNGE (RFC 9051 §7.5.1), so the numbers the client
    /// chose still name the same messages when the server runs them.
    async fn pipelined_round(&mut self, rng: &mut Rng) {
        let n = self.seq_uids.len();
        let mut cmds = Vec::new();
        if n > 0 {
            let a = 1 + rng.below(n);
            cmds.push(format!("FETCH {a}:{} (UID FLAGS MODSEQ)", n.min(a + 4)).into_bytes());
            let kw = KEYWORDS[rng.below(KEYWORDS.len())];
            cmds.push(format!("STORE {} +FLAGS ({kw})", 1 + rng.below(n)).into_bytes());
        }
        let msg = format!("Subject: p{}\r\n\r\npipelined {}\r\n", self.name, self.tag);
        cmds.push(append_command(&msg));
        cmds.push(b"NOOP".to_vec());
        let from = self.uids.last().copied().unwrap_or(1);
        cmds.push(format!("UID FETCH {from}:* (UID FLAGS MODSEQ)").into_bytes());
        let answers = self.pipelined(&cmds).await;
        assert_eq!(answers.len(), cmds.len());
    }

    /// Checks one untagged line against the model.
    fn check(&mut self, l: &str) {
        if let Some(n) = l.strip_prefix("* ").and_then(|r| r.strip_suffix(" EXISTS"))
            && n.parse::<u32>().is_ok()
        {
            return;
        }
        let Some(body) = l
            .split_once(" FETCH (")
            .filter(|(head, _)| head.starts_with("* "))
            .map(|(_, b)| b)
        else {
            return;
        };
        self.fetches += 1;
        let uid = item(body, "UID ")
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or_else(|| panic!("session {}: FETCH without UID: {l}", self.name));
        let modseq = item(body, "MODSEQ (")
            .and_then(|v| v.trim_end_matches(')').parse::<u64>().ok())
            .unwrap_or_else(|| panic!("session {}: FETCH without MODSEQ: {l}", self.name));
        if let Err(p) = self.uids.binary_search(&uid) {
            self.uids.insert(p, uid);
        }
        let Some(flags) = body.split_once("FLAGS (").map(|(_, f)| {
            let mut v: Vec<String> = f
                .split(')')
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            v.sort();
            v
        }) else {
            // STORE .SILENT: the MODSEQ alone still may not go back.
            if let Some((m, _)) = self.model.get(&uid) {
                assert!(
                    modseq >= *m,
                    "session {}: UID {uid} MODSEQ went back {m} -> {modseq}: {l}",
                    self.name
                );
            }
            return;
        };
        if let Some((m, f)) = self.model.get(&uid) {
            assert!(
                modseq > *m || (modseq == *m && flags == *f),
                "session {}: UID {uid} went from MODSEQ {m} {f:?} to {modseq} {flags:?}: {l}",
                self.name
            );
        }
        let mut seen = self.seen.lock().expect("lock");
        let known = seen.entry((uid, modseq)).or_insert_with(|| flags.clone());
        assert_eq!(
            *known, flags,
            "session {}: UID {uid} MODSEQ {modseq} came with other flags elsewhere: {l}",
            self.name
        );
        drop(seen);
        self.model.insert(uid, (modseq, flags));
    }

    fn some_uids(&self, rng: &mut Rng) -> String {
        if self.uids.is_empty() {
            return "1:*".into();
        }
        let a = self.uids[rng.below(self.uids.len())];
        if rng.coin() {
            a.to_string()
        } else {
            format!("{a}:{}", a + 1 + rng.below(5) as u32)
        }
    }

    async fn round(&mut self, rng: &mut Rng) {
        match rng.below(100) {
            0..40 => {
                let sign = if rng.coin() { '+' } else { '-' };
                let kw = KEYWORDS[rng.below(KEYWORDS.len())];
                let silent = if rng.below(5) == 0 { ".SILENT" } else { "" };
                let set = self.some_uids(rng);
                self.run(&format!("UID STORE {set} {sign}FLAGS{silent} ({kw})"))
                    .await;
            }
            40..65 => {
                let set = self.some_uids(rng);
                self.run(&format!("UID FETCH {set} (FLAGS MODSEQ)")).await;
            }
            65..69 => {
                self.run("UID FETCH 1:* (UID FLAGS MODSEQ)").await;
            }
            69..72 => {
                // Reads the message itself, which another session may be
                // expunging meanwhile.
                let set = self.some_uids(rng);
                self.run(&format!(
                    "UID FETCH {set} (FLAGS MODSEQ BODY.PEEK[HEADER.FIELDS (SUBJECT)])"
                ))
                .await;
            }
            72..82 => {
                let msg = format!("Subject: s{}\r\n\r\nround {}\r\n", self.name, self.tag);
                self.append(&msg).await;
            }
            82..92 => {
                let set = self.some_uids(rng);
                self.run(&format!("UID STORE {set} +FLAGS.SILENT (\\Deleted)"))
                    .await;
                self.run(&format!("UID EXPUNGE {set}")).await;
            }
            92..96 => {
                self.run("SELECT INBOX").await;
            }
            _ => {
                self.run("NOOP").await;
            }
        }
    }
}

/// The value after `name` in a FETCH body, up to the next space.
fn item<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let at = body.find(name)?;
    body[at + name.len()..]
        .split([' ', ')'])
        .next()
        .filter(|v| !v.is_empty())
}

/// `APPEND INBOX` of `msg` with a non-synchronizing literal (RFC 7888).
fn append_command(msg: &str) -> Vec<u8> {
    let mut cmd = format!("APPEND INBOX {{{}+}}\r\n", msg.len()).into_bytes();
    cmd.extend_from_slice(msg.as_bytes());
    cmd
}

/// A server that takes `room` IMAP sessions of one user from one address.
fn server_for(room: usize) -> (Env, Server) {
    mail_env_with(&format!(
        "[limits]\nmax_connections_per_ip = {room}\n\
         [imap]\nplaintext_on_loopback = true\nmax_connections_per_user = {room}\n"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_condstore_sessions_never_see_modseq_go_back_or_a_refusal() {
    let sessions = env_number("POSTERN_STRESS_SESSIONS", 8);
    let rounds = env_number("POSTERN_STRESS_ROUNDS", 150);
    // Room for every session (and the seeding one) from one address.
    let room = sessions + 2;
    let (_env, server) = server_for(room);
    let port = server.port("imap");
    let seen: Seen = Arc::default();
    let mut seed = Client::connect(port, usize::MAX, seen.clone()).await;
    for i in 0..30 {
        let msg = format!("Subject: seed {i}\r\n\r\nseed\r\n");
        seed.append(&msg).await;
    }
    let mut tasks = Vec::new();
    for name in 0..sessions {
        let seen = seen.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (name as u64 + 1));
            let mut c = Client::connect(port, name, seen).await;
            c.run("UID FETCH 1:* (FLAGS MODSEQ)").await;
            for _ in 0..rounds {
                c.round(&mut rng).await;
            }
            c.run("LOGOUT").await;
            c.fetches
        }));
    }
    let mut fetches = 0;
    for t in tasks {
        fetches += t.await.expect("a session failed its checks");
    }
    // The checks above ran on real traffic: every session heard flag
    // changes (its own and the others').
    assert!(
        fetches > (sessions * rounds / 4) as u64,
        "only {fetches} FETCH responses checked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_commands_are_answered_in_order_while_others_change_the_mailbox() {
    let (changers, pipeliners, rounds) = (3, 2, 60);
    let room = changers + pipeliners + 2;
    let (_env, server) = server_for(room);
    let port = server.port("imap");
    let seen: Seen = Arc::default();
    let mut seed = Client::connect(port, usize::MAX, seen.clone()).await;
    for i in 0..20 {
        let msg = format!("Subject: seed {i}\r\n\r\nseed\r\n");
        seed.append(&msg).await;
    }
    let mut others = Vec::new();
    for name in 0..changers {
        let seen = seen.clone();
        others.push(tokio::spawn(async move {
            let mut rng = Rng(0x51_7cc1_b727_220a ^ (name as u64 + 1));
            let mut c = Client::connect(port, name, seen).await;
            for _ in 0..rounds {
                c.round(&mut rng).await;
            }
            c.run("LOGOUT").await;
        }));
    }
    let mut piped = Vec::new();
    for name in 100..100 + pipeliners {
        let seen = seen.clone();
        piped.push(tokio::spawn(async move {
            let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ (name as u64 + 1));
            let mut c = Client::connect(port, name, seen).await;
            for _ in 0..rounds {
                c.pipelined_round(&mut rng).await;
            }
            c
        }));
    }
    for t in others {
        t.await.expect("a changing session failed its checks");
    }
    let mut clients = Vec::new();
    for t in piped {
        clients.push(t.await.expect("a pipelining session failed its checks"));
    }
    // Everything is committed: each pipelining session, brought up to date
    // and told every UID, holds the mailbox a fresh SELECT sees.
    let mut fresh = Client::connect(port, usize::MAX - 1, seen).await;
    let all = fresh.run("UID SEARCH ALL").await;
    let mut want: Vec<u32> = all
        .iter()
        .filter_map(|l| l.strip_prefix("* SEARCH"))
        .flat_map(|r| r.split_whitespace().map(|u| u.parse::<u32>().expect("uid")))
        .collect();
    want.sort_unstable();
    assert!(
        want.len() >= rounds * pipeliners / 2,
        "the pipelined APPENDs are there: {want:?}"
    );
    for mut c in clients {
        let answers = c
            .pipelined(&[b"NOOP".to_vec(), b"FETCH 1:* (UID MODSEQ)".to_vec()])
            .await;
        assert_eq!(answers.len(), 2);
        assert_eq!(
            c.seq_uids, want,
            "session {}: its sequence numbers against a fresh SELECT",
            c.name
        );
        c.run("LOGOUT").await;
    }
}

/// Reads until the tagged answer of `tag`; returns the untagged lines and
/// the tagged one.
async fn answer(c: &mut Client, tag: &str) -> (Vec<String>, String) {
    let mut lines = Vec::new();
    loop {
        let l = c.line().await;
        if l.starts_with(&format!("{tag} ")) {
            return (lines, l);
        }
        c.follow(&l);
        lines.push(l);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelined_delete_answers_the_store_then_the_expunge() {
    let (_env, server) = mail_env_with("[imap]\nplaintext_on_loopback = true\n");
    let port = server.port("imap");
    let seen: Seen = Arc::default();
    let mut c = Client::connect(port, 0, seen.clone()).await;
    for i in 0..4 {
        let msg = format!("Subject: d{i}\r\n\r\nd\r\n");
        c.append(&msg).await;
    }
    c.run("NOOP").await;
    let uids = c.run("UID SEARCH ALL").await;
    let uids: Vec<u32> = uids
        .iter()
        .filter_map(|l| l.strip_prefix("* SEARCH"))
        .flat_map(|r| r.split_whitespace().map(|u| u.parse::<u32>().expect("uid")))
        .collect();
    assert_eq!(uids.len(), 4, "{uids:?}");
    let u2 = uids[1];
    // UID STORE + UID EXPUNGE, then STORE + EXPUNGE (sequence numbers after
    // the first pair: message 1 is still uids[0]), then a NOOP.
    let answers = c
        .pipelined(&[
            format!("UID STORE {u2} +FLAGS (\\Deleted)").into_bytes(),
            format!("UID EXPUNGE {u2}").into_bytes(),
            b"STORE 1 +FLAGS (\\Deleted)".to_vec(),
            b"EXPUNGE".to_vec(),
            b"NOOP".to_vec(),
        ])
        .await;
    assert_eq!(answers.len(), 5);
    assert!(
        answers[0].len() == 1
            && answers[0][0].starts_with("* 2 FETCH (")
            && answers[0][0].contains("\\Deleted")
            && answers[0][0].contains(&format!("UID {u2}")),
        "UID STORE: its FETCH, no EXPUNGE yet: {:?}",
        answers[0]
    );
    assert_eq!(answers[1], ["* 2 EXPUNGE"], "UID EXPUNGE");
    assert!(
        answers[2].len() == 1
            && answers[2][0].starts_with("* 1 FETCH (")
            && answers[2][0].contains("\\Deleted"),
        "STORE: {:?}",
        answers[2]
    );
    assert_eq!(answers[3], ["* 1 EXPUNGE"], "EXPUNGE");
    assert!(answers[4].is_empty(), "NOOP: {:?}", answers[4]);
    c.run("FETCH 1:* (UID MODSEQ)").await;
    assert_eq!(c.seq_uids, [uids[2], uids[3]]);

    // A STORE refused (past the end) before an EXPUNGE: the EXPUNGE still
    // runs, after it. Message 1 (uids[2]) is flagged first.
    c.run("STORE 1 +FLAGS (\\Deleted)").await;
    c.wr.write_all(b"x1 STORE 9 +FLAGS (\\Deleted)\r\nx2 EXPUNGE\r\n")
        .await
        .expect("write");
    let (lines, tagged) = answer(&mut c, "x1").await;
    assert!(
        tagged.starts_with("x1 BAD") && lines.is_empty(),
        "{lines:?} {tagged}"
    );
    let (lines, tagged) = answer(&mut c, "x2").await;
    assert_eq!(
        (lines, tagged.starts_with("x2 OK")),
        (vec!["* 1 EXPUNGE".to_string()], true)
    );

    // Read-only: both refused, nothing removed.
    c.run("EXAMINE INBOX").await;
    c.wr.write_all(b"y1 STORE 1 +FLAGS (\\Deleted)\r\ny2 EXPUNGE\r\n")
        .await
        .expect("write");
    let (_, tagged) = answer(&mut c, "y1").await;
    assert!(tagged.starts_with("y1 NO"), "{tagged}");
    let (_, tagged) = answer(&mut c, "y2").await;
    assert!(tagged.starts_with("y2 NO"), "{tagged}");
    let mut fresh = Client::connect(port, 1, seen).await;
    let left = fresh.run("UID SEARCH ALL").await;
    assert_eq!(left, [format!("* SEARCH {}", uids[3])]);
}
