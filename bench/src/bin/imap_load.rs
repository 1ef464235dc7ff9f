//! `imap-load`: a mixed IMAP load on any IMAP server (Postern, Dovecot), over
//! plain TCP with LOGIN, so the same bytes go to both.
//!
//! `mixed` (the default): N clients, each looping for a fixed time over one
//! session of what a mail client does on open:
//!
//! 1. connect, greeting (timed as `CONNECT`, not counted as a command)
//! 2. `LOGIN userK@domain pass`
//! 3. `SELECT INBOX`
//! 4. `FETCH 1:20 (UID FLAGS ENVELOPE)` or the last 20 (`N-19:N`), half each
//! 5. `STORE <seq> +FLAGS (\Seen)`, a random message
//! 6. `UID FETCH <uid> (BODY.PEEK[])`, a uid seen in step 4 (pipelined: in
//!    the previous session's step 4)
//! 7. `APPEND INBOX {n}` a small message (synchronizing literal), uid from
//!    the `APPENDUID` code (UIDPLUS)
//! 8. `UID STORE <that uid> +FLAGS (\Deleted)`, then `UID EXPUNGE <that uid>`
//!    (UIDPLUS), so the mailbox keeps its size and only that message goes
//! 9. `LOGOUT`
//!
//! Client i logs in as user(first + i mod users), or with `--user-pick
//! random` each session as a user drawn from the M. `--rate R` paces the
//! sessions (R per second over all clients) so that two servers get the
//! same load and their latencies compare; without it each client loops
//! back to back (a closed loop: the faster server gets more work). `--pipeline N` sends up
//! to N commands in one write (steps 2-3, 4-6 and 8-9 together; see
//! `mixed.rs`'s `session_on`), each timed from that write to its tagged answer. The
//! client tracks `EXISTS` and `EXPUNGE` so sequence numbers stay valid
//! while others expunge, and counts any that contradict them; the first
//! three users' INBOX must hold as many messages after the run as before.
//! It prints a table to stderr and one JSON line to stdout: commands/s over
//! all clients, and count, errors, p50/p99/max latency per command.
//!
//! `sync`: one client, `LOGIN`, `SELECT INBOX`, then `UID FETCH 1:* (UID
//! FLAGS ENVELOPE BODYSTRUCTURE)` (a client's first sync of the mailbox) and
//! `SEARCH TEXT <word>`, each timed, `--reps` times in one session (the first
//! one is the cold one).
//!
//! `bigops`: issue 19's operations on one large mailbox, on two servers in
//! one run (`bigops.rs`).
//!
//! Bounds: loopback only, clients <= 1000, seconds <= 600, every read and
//! write under `--timeout` seconds.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postern_bench::imap_client::{Conn, Done, err, json_str, pinned_tls, show};

#[path = "imap_load/bigops.rs"]
mod bigops;
#[path = "imap_load/mixed.rs"]
mod mixed;

const USAGE: &str = "usage: imap_load [mixed|sync] [--host 127.0.0.1] [--port 10143] [--users M] \
[--first-user 1] [--domain example.test] [--password pass] [--clients N] [--seconds S] \
[--label TEXT] [--timeout 30] [--append-size 2048] [--reps 3] [--search WORD] [--user NAME] \
[--hold 30] [--ready-file F] [--tls-pin CERT.pem] [--port2 P --label2 TEXT] [--hold-file F] \
[--pipeline 1] [--user-pick cycle|random] [--rate SESSIONS_PER_S]";

#[derive(Clone, Debug)]
struct Opts {
    mode: String,
    host: IpAddr,
    port: u16,
    users: u32,
    first_user: u32,
    user: Option<String>,
    domain: String,
    password: String,
    clients: u32,
    seconds: f64,
    label: String,
    timeout: Duration,
    append_size: usize,
    reps: u32,
    search: String,
    hold: f64,
    ready_file: Option<String>,
    /// IMAPS, accepting only this certificate (idle mode).
    tls_pin: Option<String>,
    /// bigops: the second server, and the files it waits on.
    port2: Option<u16>,
    label2: Option<String>,
    hold_file: Option<String>,
    /// mixed: commands in flight per connection (1: wait for each answer).
    pipeline: u32,
    /// mixed: each session logs in as a user drawn at random.
    random_user: bool,
    /// mixed: sessions per second over all clients (0: each client starts
    /// its next session as soon as one ends).
    rate: f64,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        mode: "mixed".into(),
        host: "127.0.0.1".parse().unwrap(),
        port: 10143,
        users: 1,
        first_user: 1,
        user: None,
        domain: "example.test".into(),
        password: "pass".into(),
        clients: 10,
        seconds: 10.0,
        label: String::new(),
        timeout: Duration::from_secs(30),
        append_size: 2048,
        reps: 3,
        search: "deadline".into(),
        hold: 30.0,
        ready_file: None,
        tls_pin: None,
        port2: None,
        label2: None,
        hold_file: None,
        pipeline: 1,
        random_user: false,
        rate: 0.0,
    };
    let mut args = std::env::args().skip(1).peekable();
    if let Some(m) = args.peek()
        && (m == "mixed" || m == "sync" || m == "idle" || m == "bigops")
    {
        o.mode = args.next().unwrap();
    }
    while let Some(a) = args.next() {
        if a == "-h" || a == "--help" {
            return Err(USAGE.into());
        }
        let v = args
            .next()
            .ok_or_else(|| format!("{a} needs a value\n{USAGE}"))?;
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{a}: not a number: {v}"))
        };
        match a.as_str() {
            "--host" => {
                o.host = v
                    .parse()
                    .map_err(|_| format!("--host: not an IP address: {v}"))?
            }
            "--port" => o.port = num(&v)? as u16,
            "--users" => o.users = num(&v)? as u32,
            "--first-user" => o.first_user = num(&v)? as u32,
            "--user" => o.user = Some(v),
            "--domain" => o.domain = v,
            "--password" => o.password = v,
            "--clients" => o.clients = num(&v)? as u32,
            "--seconds" => o.seconds = v.parse().map_err(|_| format!("--seconds: {v}"))?,
            "--label" => o.label = v,
            "--timeout" => o.timeout = Duration::from_secs(num(&v)?),
            "--append-size" => o.append_size = num(&v)? as usize,
            "--reps" => o.reps = num(&v)? as u32,
            "--search" => o.search = v,
            "--hold" => o.hold = v.parse().map_err(|_| format!("--hold: {v}"))?,
            "--ready-file" => o.ready_file = Some(v),
            "--tls-pin" => o.tls_pin = Some(v),
            "--port2" => o.port2 = Some(num(&v)? as u16),
            "--label2" => o.label2 = Some(v),
            "--hold-file" => o.hold_file = Some(v),
            "--pipeline" => o.pipeline = num(&v)? as u32,
            "--rate" => o.rate = v.parse().map_err(|_| format!("--rate: {v}"))?,
            "--user-pick" => {
                o.random_user = match v.as_str() {
                    "random" => true,
                    "cycle" => false,
                    _ => return Err(format!("--user-pick: cycle or random, not {v}")),
                }
            }
            _ => return Err(format!("unknown option {a}\n{USAGE}")),
        }
    }
    if !o.host.is_loopback() {
        return Err(format!("refusing non-loopback host {}", o.host));
    }
    // Idle connections cost little on either side; busy ones a task each.
    let max_clients = if o.mode == "idle" { 30_000 } else { 1000 };
    let in_bounds = (1..=max_clients).contains(&o.clients)
        && (1..=10_000).contains(&o.users)
        && o.seconds > 0.0
        && o.seconds <= 600.0
        && (1..=20).contains(&o.reps)
        && (1..=16).contains(&o.pipeline)
        && (0.0..=100_000.0).contains(&o.rate)
        && (0.0..=600.0).contains(&o.hold)
        && !o.timeout.is_zero()
        && o.timeout <= Duration::from_secs(600)
        && (64..=1 << 20).contains(&o.append_size)
        && o.search.bytes().all(|b| b.is_ascii_alphanumeric());
    if !in_bounds {
        return Err(
            "bounds: 1<=clients<=1000 (idle: 30000), 1<=users<=10000, 0<seconds<=600, 1<=reps<=20, 1<=pipeline<=16, 0<=rate<=100000, \
             timeout<=600, 64<=append-size<=1MiB, --search one alphanumeric word"
                .into(),
        );
    }
    if o.label.is_empty() {
        o.label = format!("{}:{}", o.host, o.port);
    }
    Ok(o)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn sync(o: Opts) -> io::Result<bool> {
    let user = o
        .user
        .clone()
        .unwrap_or_else(|| format!("user{}@{}", o.first_user, o.domain));
    let mut c = Conn::connect(SocketAddr::new(o.host, o.port), o.timeout).await?;
    let mut ok = true;
    let mut check = |d: Done, what: &str| {
        if let Done::No(l) = d {
            eprintln!("{what}: {}", show(&l));
            ok = false;
        }
    };
    check(
        c.command(&format!("LOGIN {user} \"{}\"", o.password))
            .await?,
        "LOGIN",
    );
    let t = Instant::now();
    check(c.command("SELECT INBOX").await?, "SELECT");
    let select_ms = ms(t.elapsed());
    let exists = c.exists;
    let mut reps = Vec::new();
    for r in 0..o.reps {
        let t = Instant::now();
        check(
            c.command("UID FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)")
                .await?,
            "UID FETCH",
        );
        let fetch_ms = ms(t.elapsed());
        let lines = c
            .untagged
            .iter()
            .filter(|l| l.windows(7).any(|w| w.eq_ignore_ascii_case(b" FETCH ")))
            .count();
        let bytes = c.bytes;
        let t = Instant::now();
        check(
            c.command(&format!("SEARCH TEXT {}", o.search)).await?,
            "SEARCH",
        );
        let search_ms = ms(t.elapsed());
        let hits = c
            .untagged
            .iter()
            .filter(|l| l.starts_with(b"* SEARCH"))
            .map(|l| {
                l[8..]
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|w| !w.is_empty())
                    .count()
            })
            .sum::<usize>();
        eprintln!(
            "{} rep {}: UID FETCH 1:* {lines} messages, {bytes} bytes in {fetch_ms:.1} ms; SEARCH TEXT {} {hits} hits in {search_ms:.1} ms",
            o.label,
            r + 1,
            o.search
        );
        reps.push(format!(
            "{{\"fetch_ms\":{fetch_ms:.2},\"fetched\":{lines},\"fetch_bytes\":{bytes},\"search_ms\":{search_ms:.2},\"hits\":{hits}}}"
        ));
    }
    c.command("LOGOUT").await?;
    println!(
        "{{\"mode\":\"sync\",\"label\":{},\"port\":{},\"user\":{},\"exists\":{exists},\"select_ms\":{select_ms:.2},\"search\":{},\"reps\":[{}]}}",
        json_str(&o.label),
        o.port,
        json_str(&user),
        json_str(&o.search),
        reps.join(",")
    );
    Ok(ok)
}

/// `idle`: what ../shared/peers/idle_conns.py does (LOGIN, SELECT INBOX,
/// IDLE on N connections, 20 logins at a time; when all idle, print
/// ALL_IDLE and touch --ready-file; hold; DONE, LOGOUT), but logging in with
/// the full address, which Postern needs (idle_conns.py sends "userN", which
/// only Dovecot's auth_default_realm completes).
async fn idle(o: Opts) -> io::Result<bool> {
    let tls = o.tls_pin.as_deref().map(pinned_tls).transpose()?;
    let o = Arc::new(o);
    let sem = Arc::new(tokio::sync::Semaphore::new(20));
    let idling = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let all = Arc::new(tokio::sync::Notify::new());
    let (rel_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..o.clients {
        let (o, sem, idling, all) = (o.clone(), sem.clone(), idling.clone(), all.clone());
        let tls = tls.clone();
        let mut rel = rel_tx.subscribe();
        tasks.push(tokio::spawn(async move {
            let user = format!("user{}@{}", o.first_user + i % o.users, o.domain);
            let permit = sem.acquire_owned().await.expect("semaphore");
            let r: io::Result<(Conn, String)> = async {
                let addr = SocketAddr::new(o.host, o.port);
                let mut c = Conn::connect_with(addr, o.timeout, tls.as_ref()).await?;
                if let Done::No(l) = c
                    .command(&format!("LOGIN {user} \"{}\"", o.password))
                    .await?
                {
                    return err(format!("LOGIN: {}", show(&l)));
                }
                if let Done::No(l) = c.command("SELECT INBOX").await? {
                    return err(format!("SELECT: {}", show(&l)));
                }
                c.untagged.clear();
                let tag = c.tag();
                c.write(format!("{tag} IDLE\r\n").as_bytes()).await?;
                if let Some(Done::No(l)) = c.until_tagged(&tag, true).await? {
                    return err(format!("IDLE: {}", show(&l)));
                }
                Ok((c, tag))
            }
            .await;
            drop(permit);
            let (mut c, idle_tag) = match r {
                Ok(c) => c,
                Err(e) => return Err(format!("{user}: {e}")),
            };
            if idling.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == o.clients {
                all.notify_one();
            }
            let _ = rel.recv().await;
            let r: io::Result<()> = async {
                c.write(b"DONE\r\n").await?;
                c.until_tagged(&idle_tag, false).await?;
                c.command("LOGOUT").await?;
                Ok(())
            }
            .await;
            r.map_err(|e| format!("{user}: after IDLE: {e}"))
        }));
    }
    // 20 logins at a time: allow thousands of TLS handshakes to ramp up.
    let ramp_limit = Duration::from_secs(120.max(u64::from(o.clients) / 20));
    let ramp = tokio::time::timeout(ramp_limit, all.notified()).await;
    let n = idling.load(std::sync::atomic::Ordering::SeqCst);
    if ramp.is_ok() {
        println!(
            "ALL_IDLE n={} ramp_secs={:.2}",
            o.clients,
            t0.elapsed().as_secs_f64()
        );
        if let Some(f) = &o.ready_file {
            std::fs::write(f, format!("{}\n", o.clients))?;
        }
    } else {
        println!("ramp timeout: idling={n}");
    }
    tokio::time::sleep(Duration::from_secs_f64(o.hold)).await;
    let _ = rel_tx.send(());
    let (mut ok, mut fail, mut errs) = (0, 0, Vec::new());
    for t in tasks {
        match tokio::time::timeout(o.timeout * 4, t).await {
            Ok(Ok(Ok(()))) => ok += 1,
            Ok(Ok(Err(e))) => {
                fail += 1;
                if errs.len() < 5 {
                    errs.push(e)
                }
            }
            _ => fail += 1,
        }
    }
    println!("done: idling_peak={n} clean_logout={ok} fail={fail} errors={errs:?}");
    Ok(n == o.clients && fail == 0)
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let r = rt.block_on(async move {
        match o.mode.as_str() {
            "sync" => sync(o).await,
            "idle" => idle(o).await,
            "bigops" => bigops::bigops(o).await,
            _ => mixed::mixed(o).await,
        }
    });
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("imap_load: {e}");
            ExitCode::from(1)
        }
    }
}
