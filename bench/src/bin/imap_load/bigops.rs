//! `imap-load bigops`: the operations of issue 19 on one large mailbox,
//! timed on two servers in the same run, alternating which goes first at
//! each rep (bench/imap/bigbox_ops.sh).
//!
//! Per server, one session (the "main" one) logs in and stays; per rep it
//! times, in order:
//!
//! 1. `SELECT INBOX`
//! 2. `UID FETCH 1:* (UID FLAGS)`
//! 3. `UID FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)`
//! 4. `UID SEARCH UNSEEN`
//! 5. `UID SORT (DATE) UTF-8 ALL`
//! 6. `UID THREAD REFERENCES UTF-8 ALL`
//! 7. QRESYNC: a second session (`SELECT INBOX (CONDSTORE)`, which names
//!    the HIGHESTMODSEQ) makes 100 flag changes (`UID STORE u +FLAGS` or
//!    `-FLAGS (\Flagged)`, one UID each, spread over the mailbox); then a
//!    new session logs in, `ENABLE QRESYNC` (untimed), and times
//!    `SELECT INBOX (QRESYNC (uidvalidity modseq))` with the modseq from
//!    before the changes, reading the VANISHED and FETCH answers.
//!
//! Rep 0 is a warm-up, not counted. Answers are read line by line and
//! counted, not kept (a 100,000-message FETCH would otherwise cost the
//! client more than the server). With `--hold-file F`, a first session per
//! server does every op once and logs out (warming the servers' shared
//! caches), `F.pre` is written and the tool waits for `F.prego` (the
//! script reads the memory before the main session's login); after the
//! reps the main sessions `SELECT INBOX` once more, `F.ready` is written with each
//! server's label and the local port of its main session (so the script
//! finds the process serving it), then the tool waits for `F.go`, logs the
//! main sessions out, writes `F.out` and waits for `F.go2` (each wait at
//! most 300 s): the script measures memory with the session open and after.
//!
//! Prints a table to stderr and one JSON line to stdout.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use postern_bench::imap_client::{Conn, err, json_str, show};

use super::Opts;

/// The timed operations, in the order a rep runs them.
pub const OPS: [&str; 7] = [
    "SELECT",
    "FETCH (UID FLAGS)",
    "FETCH (UID FLAGS ENVELOPE BODYSTRUCTURE)",
    "UID SEARCH UNSEEN",
    "UID SORT (DATE)",
    "UID THREAD REFERENCES",
    "QRESYNC after 100 changes",
];

const COMMANDS: [&str; 6] = [
    "SELECT INBOX",
    "UID FETCH 1:* (UID FLAGS)",
    "UID FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)",
    "UID SEARCH UNSEEN",
    "UID SORT (DATE) UTF-8 ALL",
    "UID THREAD REFERENCES UTF-8 ALL",
];

/// How many flag changes the QRESYNC resync catches up with.
const CHANGES: u32 = 100;

/// What one command's answer held.
#[derive(Default, Clone, Copy)]
struct Answer {
    lines: u64,
    fetches: u64,
    bytes: u64,
    ok: bool,
}

/// Sends `cmd` and reads to its tagged answer, counting untagged lines
/// (and those with ` FETCH `) without keeping them.
async fn run(c: &mut Conn, cmd: &str) -> io::Result<Answer> {
    let tag = c.tag();
    c.bytes = 0;
    c.write(format!("{tag} {cmd}\r\n").as_bytes()).await?;
    let mut a = Answer::default();
    loop {
        let line = c.read_response().await?;
        if line.starts_with(b"* ") {
            c.note_untagged(&line);
            a.lines += 1;
            if line.windows(7).any(|w| w.eq_ignore_ascii_case(b" FETCH ")) {
                a.fetches += 1;
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix(tag.as_bytes()) {
            a.ok = rest.len() >= 3 && rest[1..3].eq_ignore_ascii_case(b"OK");
            a.bytes = c.bytes;
            if !a.ok {
                eprintln!("{cmd}: {}", show(&line));
            }
            return Ok(a);
        }
        return err(format!("{cmd}: unexpected: {}", show(&line)));
    }
}

/// Runs `cmd` and keeps its untagged lines (small answers only).
async fn ask(c: &mut Conn, cmd: &str) -> io::Result<Vec<Vec<u8>>> {
    match c.command(cmd).await? {
        postern_bench::imap_client::Done::Ok(_) => Ok(std::mem::take(&mut c.untagged)),
        postern_bench::imap_client::Done::No(l) => err(format!("{cmd}: {}", show(&l))),
    }
}

/// The number after `[NAME ` in a response code among `lines`.
fn code_number(lines: &[Vec<u8>], name: &str) -> Option<u64> {
    let pat = format!("[{name} ");
    lines.iter().find_map(|l| {
        let s = std::str::from_utf8(l).ok()?;
        let at = s.find(&pat)? + pat.len();
        s[at..].split(']').next()?.trim().parse().ok()
    })
}

async fn login(o: &Opts, port: u16, user: &str) -> io::Result<Conn> {
    let mut c = Conn::connect(SocketAddr::new(o.host, port), o.timeout).await?;
    ask(&mut c, &format!("LOGIN {user} \"{}\"", o.password)).await?;
    Ok(c)
}

/// One server under test.
struct Server {
    label: String,
    port: u16,
    main: Conn,
    /// The main session's local port (the script finds the server's
    /// process for it).
    local_port: u16,
    /// Per op, the timed reps in ms.
    times: Vec<Vec<f64>>,
    /// Per op, the last answer (for the table).
    answers: Vec<Answer>,
    flip: bool,
}

impl Server {
    async fn open(o: &Opts, label: &str, port: u16, user: &str) -> io::Result<Server> {
        let before = ports_to(port)?;
        let mut c = Conn::connect(SocketAddr::new(o.host, port), o.timeout).await?;
        let local_port = ports_to(port)?
            .into_iter()
            .find(|p| !before.contains(p))
            .ok_or_else(|| io::Error::other("cannot find the session's local port"))?;
        ask(&mut c, &format!("LOGIN {user} \"{}\"", o.password)).await?;
        Ok(Server {
            label: label.into(),
            port,
            main: c,
            local_port,
            times: vec![Vec::new(); OPS.len()],
            answers: vec![Answer::default(); OPS.len()],
            flip: false,
        })
    }

    /// One rep of every op; `timed` keeps the figures.
    async fn rep(&mut self, o: &Opts, user: &str, timed: bool) -> io::Result<()> {
        for (i, cmd) in COMMANDS.iter().enumerate() {
            let t = Instant::now();
            let a = run(&mut self.main, cmd).await?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if !a.ok {
                return err(format!("{}: {cmd} failed", self.label));
            }
            if timed {
                self.times[i].push(ms);
            }
            self.answers[i] = a;
        }
        // QRESYNC: changes from another session, then a resync.
        let mut w = login(o, self.port, user).await?;
        let sel = ask(&mut w, "SELECT INBOX (CONDSTORE)").await?;
        let exists = w.exists;
        let validity =
            code_number(&sel, "UIDVALIDITY").ok_or_else(|| io::Error::other("no UIDVALIDITY"))?;
        let modseq = code_number(&sel, "HIGHESTMODSEQ")
            .ok_or_else(|| io::Error::other("no HIGHESTMODSEQ"))?;
        if exists < CHANGES {
            return err("the mailbox has fewer than 100 messages");
        }
        let sign = if self.flip { '-' } else { '+' };
        self.flip = !self.flip;
        let step = exists / CHANGES;
        for k in 0..CHANGES {
            // sequence numbers spread over the mailbox
            let seq = 1 + k * step;
            run(
                &mut w,
                &format!("STORE {seq} {sign}FLAGS.SILENT (\\Flagged)"),
            )
            .await?;
        }
        run(&mut w, "LOGOUT").await?;
        let mut q = login(o, self.port, user).await?;
        ask(&mut q, "ENABLE QRESYNC").await?;
        let t = Instant::now();
        let a = run(
            &mut q,
            &format!("SELECT INBOX (QRESYNC ({validity} {modseq}))"),
        )
        .await?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if !a.ok {
            return err(format!("{}: SELECT (QRESYNC) failed", self.label));
        }
        if timed {
            self.times[6].push(ms);
        }
        self.answers[6] = a;
        run(&mut q, "LOGOUT").await?;
        Ok(())
    }
}

/// The local ports of this process's established connections to `port`
/// (from /proc: the client keeps no socket address of its own).
fn ports_to(port: u16) -> io::Result<Vec<u16>> {
    let me = std::process::id();
    let mut inodes = Vec::new();
    for f in std::fs::read_dir(format!("/proc/{me}/fd"))?.flatten() {
        if let Ok(t) = std::fs::read_link(f.path())
            && let Some(s) = t.to_str()
            && let Some(n) = s.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']'))
        {
            inodes.push(n.to_string());
        }
    }
    let table = std::fs::read_to_string("/proc/net/tcp")?;
    let want = format!(":{port:04X}");
    let mut out = Vec::new();
    for l in table.lines().skip(1) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() > 9
            && f[2].ends_with(&want)
            && f[3] == "01"
            && inodes.iter().any(|i| i == f[9])
            && let Some(p) = f[1]
                .rsplit(':')
                .next()
                .and_then(|h| u16::from_str_radix(h, 16).ok())
        {
            out.push(p);
        }
    }
    Ok(out)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

async fn wait_for(path: &Path) -> io::Result<()> {
    let t = Instant::now();
    while !path.exists() {
        if t.elapsed() > Duration::from_secs(300) {
            return err(format!("{} never came", path.display()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

pub async fn bigops(o: Opts) -> io::Result<bool> {
    let user = o
        .user
        .clone()
        .unwrap_or_else(|| format!("user{}@{}", o.first_user, o.domain));
    let (Some(port2), Some(label2)) = (o.port2, o.label2.clone()) else {
        return err("bigops needs --port2 and --label2 (the second server)");
    };
    if let Some(f) = &o.hold_file {
        // A first session does every op once and logs out, so the
        // servers' shared caches are warm before "before login" is read.
        for (label, port) in [(o.label.as_str(), o.port), (label2.as_str(), port2)] {
            let mut w = Server::open(&o, label, port, &user).await?;
            w.rep(&o, &user, false).await?;
            run(&mut w.main, "LOGOUT").await?;
        }
        std::fs::write(format!("{f}.pre"), "")?;
        wait_for(Path::new(&format!("{f}.prego"))).await?;
    }
    let mut servers = vec![
        Server::open(&o, &o.label, o.port, &user).await?,
        Server::open(&o, &label2, port2, &user).await?,
    ];
    for r in 0..=o.reps {
        // alternate which server goes first
        let order: [usize; 2] = if r % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            servers[i].rep(&o, &user, r > 0).await?;
        }
        eprintln!("rep {r} done{}", if r == 0 { " (warm-up)" } else { "" });
    }
    eprintln!(
        "| operation | {} ms (median of {}) | {} ms | ratio | answer lines |",
        servers[0].label, o.reps, servers[1].label
    );
    eprintln!("|---|--:|--:|--:|--:|");
    let mut json = Vec::new();
    for (i, op) in OPS.iter().enumerate() {
        let (a, b) = (median(&servers[0].times[i]), median(&servers[1].times[i]));
        eprintln!(
            "| {op} | {a:.1} | {b:.1} | {:.2} | {} / {} |",
            a / b,
            servers[0].answers[i].lines,
            servers[1].answers[i].lines
        );
        let list = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.2}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        json.push(format!(
            "{{\"op\":{},\"a_ms\":{a:.2},\"b_ms\":{b:.2},\"ratio\":{:.3},\"a_reps\":[{}],\"b_reps\":[{}],\
             \"a_lines\":{},\"b_lines\":{},\"a_fetches\":{},\"b_fetches\":{},\"a_bytes\":{},\"b_bytes\":{}}}",
            json_str(op),
            a / b,
            list(&servers[0].times[i]),
            list(&servers[1].times[i]),
            servers[0].answers[i].lines,
            servers[1].answers[i].lines,
            servers[0].answers[i].fetches,
            servers[1].answers[i].fetches,
            servers[0].answers[i].bytes,
            servers[1].answers[i].bytes,
        ));
    }
    let exists: Vec<u32> = servers.iter().map(|s| s.main.exists).collect();
    println!(
        "{{\"mode\":\"bigops\",\"a\":{},\"b\":{},\"user\":{},\"exists\":[{},{}],\"reps\":{},\"ops\":[{}]}}",
        json_str(&servers[0].label),
        json_str(&servers[1].label),
        json_str(&user),
        exists[0],
        exists[1],
        o.reps,
        json.join(",")
    );
    if let Some(f) = &o.hold_file {
        for s in &mut servers {
            run(&mut s.main, "SELECT INBOX").await?;
        }
        let ready: String = servers
            .iter()
            .map(|s| format!("{} {}\n", s.label, s.local_port))
            .collect();
        std::fs::write(format!("{f}.ready"), ready)?;
        wait_for(Path::new(&format!("{f}.go"))).await?;
        for s in &mut servers {
            run(&mut s.main, "LOGOUT").await?;
        }
        std::fs::write(format!("{f}.out"), "")?;
        wait_for(Path::new(&format!("{f}.go2"))).await?;
    }
    Ok(servers.iter().all(|s| s.answers.iter().all(|a| a.ok)))
}
