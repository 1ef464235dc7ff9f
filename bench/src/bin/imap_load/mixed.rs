//! `imap-load mixed`: the mixed loop of mail-client sessions (the steps and
//! options are described at the top of `imap_load.rs`): the session's
//! commands, their pipelining in batches, the pacing of `--rate`, and the
//! summary table and JSON line.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postern_bench::imap_client::{Answer, Conn, Done, err, json_str, show};
use postern_bench::{Summary, message};

use super::{Opts, ms};

/// xorshift64*: enough to pick messages.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) % n.max(1) as u64) as u32
    }
}

const CMDS: [&str; 9] = [
    "LOGIN",
    "SELECT",
    "FETCH",
    "UID FETCH",
    "STORE",
    "APPEND",
    "UID STORE",
    "UID EXPUNGE",
    "LOGOUT",
];

#[derive(Default)]
struct Stats {
    lat: BTreeMap<&'static str, Vec<Duration>>,
    errs: BTreeMap<&'static str, u64>,
    connect: Vec<Duration>,
    io_errors: u64,
    loops: u64,
    /// UID STORE \Deleted that returned no FETCH for the appended message
    /// (the session did not see it: it would never be expunged).
    delete_misses: u64,
    /// Sequence numbers that contradicted the EXISTS/EXPUNGE count.
    seq_errors: u64,
    body_bytes: u64,
    samples: Vec<String>,
}

impl Stats {
    fn sample(&mut self, s: String) {
        if self.samples.len() < 5 {
            self.samples.push(s);
        }
    }
}

fn uids_of(untagged: &[Vec<u8>]) -> Vec<u32> {
    let mut out = Vec::new();
    for l in untagged {
        let up = l.to_ascii_uppercase();
        // find "UID " followed by digits
        let mut i = 0;
        while let Some(p) = up[i..].windows(4).position(|w| w == b"UID ") {
            let s = i + p + 4;
            let digits: Vec<u8> = up[s..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .copied()
                .collect();
            if !digits.is_empty() {
                out.push(std::str::from_utf8(&digits).unwrap().parse().unwrap_or(0));
                break;
            }
            i = s;
        }
    }
    out.retain(|&u| u > 0);
    out
}

fn appenduid(line: &[u8]) -> Option<u32> {
    let up = line.to_ascii_uppercase();
    let p = up.windows(10).position(|w| w == b"APPENDUID ")?;
    let rest = std::str::from_utf8(&up[p + 10..]).ok()?;
    let mut it = rest.split([' ', ']']);
    let _validity = it.next()?;
    it.next()?.parse().ok()
}

/// Runs `cmds` in order, `depth` at a time in one write (1: one command in
/// flight), each timed from its batch's write to its tagged answer; NO/BAD
/// are counted.
async fn batch(
    c: &mut Conn,
    st: &mut Stats,
    depth: usize,
    cmds: Vec<(&'static str, String)>,
) -> io::Result<Vec<Answer>> {
    let mut out = Vec::with_capacity(cmds.len());
    for chunk in cmds.chunks(depth.max(1)) {
        let wire: Vec<String> = chunk.iter().map(|(_, c)| c.clone()).collect();
        for ((name, _), a) in chunk.iter().zip(c.pipeline(&wire).await?) {
            st.lat.entry(name).or_default().push(a.latency);
            if let Done::No(line) = &a.done {
                *st.errs.entry(name).or_default() += 1;
                st.sample(format!("{name}: {}", show(line)));
            }
            out.push(a);
        }
    }
    Ok(out)
}

/// One session of the loop. Errors end the session (the caller reconnects).
/// With `--pipeline N` (N > 1) the commands go in three batches, as a mail
/// client that pipelines sends them: LOGIN + SELECT; FETCH + STORE + UID
/// FETCH (of a uid the previous session's FETCH showed: the UID command
/// last, as RFC 9051 §5.5 wants, since it may bring EXPUNGEs that would
/// shift the others' sequence numbers); after the APPEND (whose uid the
/// next batch needs), UID STORE + UID EXPUNGE + LOGOUT.
async fn session(
    o: &Opts,
    addr: SocketAddr,
    user: &str,
    rng: &mut Rng,
    st: &mut Stats,
    id: u64,
    known_uid: &mut Option<u32>,
) -> io::Result<()> {
    let p = o.pipeline as usize;
    let t0 = Instant::now();
    let mut c = Conn::connect(addr, o.timeout).await?;
    st.connect.push(t0.elapsed());
    let r = session_on(o, &mut c, user, rng, st, id, known_uid, p).await;
    st.seq_errors += c.seq_errors;
    if let Some(e) = c.seq_error_sample.take() {
        st.sample(format!("sequence error: {e}"));
    }
    r
}

#[allow(clippy::too_many_arguments)]
async fn session_on(
    o: &Opts,
    c: &mut Conn,
    user: &str,
    rng: &mut Rng,
    st: &mut Stats,
    id: u64,
    known_uid: &mut Option<u32>,
    p: usize,
) -> io::Result<()> {
    let login = vec![
        ("LOGIN", format!("LOGIN {user} \"{}\"", o.password)),
        ("SELECT", "SELECT INBOX".to_string()),
    ];
    let a = batch(c, st, p, login).await?;
    if !matches!(a[0].done, Done::Ok(_)) {
        return err("LOGIN refused");
    }
    if !matches!(a[1].done, Done::Ok(_)) {
        return err("SELECT refused");
    }
    let n = c.exists;
    if n == 0 {
        return err("INBOX is empty: prefill it first");
    }
    let range = if rng.below(2) == 0 || n <= 20 {
        format!("1:{}", n.min(20))
    } else {
        format!("{}:{}", n - 19, n)
    };
    // With one command in flight, the UID FETCH names a uid of this
    // session's FETCH, as before pipelining was an option.
    let early = known_uid.take().filter(|_| p > 1);
    let mut read = vec![
        ("FETCH", format!("FETCH {range} (UID FLAGS ENVELOPE)")),
        (
            "STORE",
            format!("STORE {} +FLAGS (\\Seen)", 1 + rng.below(n)),
        ),
    ];
    if let Some(uid) = early {
        read.push(("UID FETCH", format!("UID FETCH {uid} (BODY.PEEK[])")));
    }
    let a = batch(c, st, p, read).await?;
    let uids = uids_of(&a[0].untagged);
    let pick = uids.get(rng.below(uids.len() as u32) as usize).copied();
    if pick.is_none() {
        st.sample(format!(
            "FETCH {range} returned no UIDs ({} lines)",
            a[0].untagged.len()
        ));
    }
    let body = match (early, pick) {
        (Some(_), _) => a.get(2),
        (None, Some(uid)) => {
            let b = batch(
                c,
                st,
                p,
                vec![("UID FETCH", format!("UID FETCH {uid} (BODY.PEEK[])"))],
            )
            .await?;
            st.body_bytes += b[0].untagged.iter().map(|l| l.len() as u64).sum::<u64>();
            None
        }
        (None, None) => None,
    };
    if let Some(b) = body {
        st.body_bytes += b.untagged.iter().map(|l| l.len() as u64).sum::<u64>();
    }
    *known_uid = pick;
    let msg = message(o.append_size, id, user);
    let t = Instant::now();
    let d = c.append("INBOX", &msg).await?;
    st.lat.entry("APPEND").or_default().push(t.elapsed());
    let uid = match d {
        Done::Ok(line) => appenduid(&line),
        Done::No(line) => {
            *st.errs.entry("APPEND").or_default() += 1;
            st.sample(format!("APPEND: {}", show(&line)));
            None
        }
    };
    let mut last = Vec::new();
    if let Some(uid) = uid {
        last.push(("UID STORE", format!("UID STORE {uid} +FLAGS (\\Deleted)")));
        last.push(("UID EXPUNGE", format!("UID EXPUNGE {uid}")));
    } else {
        st.sample("APPEND: no APPENDUID".into());
    }
    last.push(("LOGOUT", "LOGOUT".to_string()));
    let a = batch(c, st, p, last).await?;
    // One command at a time, the FETCH answer must name the uid ("UID 123 "
    // or "UID 123)"). Pipelined, a server may run the UID EXPUNGE with the
    // UID STORE (RFC 9051 §5.5; Dovecot does) and send the EXPUNGE instead
    // of the FETCH: there the INBOX count at the end is the check.
    if let Some(uid) = uid.filter(|_| p == 1) {
        let want = format!("UID {uid}");
        let seen = a[0].untagged.iter().any(|l| {
            let up = l.to_ascii_uppercase();
            up.windows(want.len() + 1)
                .any(|w| w.starts_with(want.as_bytes()) && !w[want.len()].is_ascii_digit())
        });
        if !seen {
            st.delete_misses += 1;
        }
    }
    Ok(())
}

async fn client(o: Arc<Opts>, i: u32, deadline: Instant) -> Stats {
    let addr = SocketAddr::new(o.host, o.port);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((i as u64 + 1) << 20));
    let mut st = Stats::default();
    let mut k: u64 = 0;
    let mut known_uid = None;
    // `--rate`: client i starts a session every clients/rate seconds, the
    // clients spread over that period; one that falls behind starts at once
    // (and does not make up for lost sessions).
    let period = (o.rate > 0.0).then(|| Duration::from_secs_f64(f64::from(o.clients) / o.rate));
    let mut next = Instant::now() + period.map_or(Duration::ZERO, |p| p * i / o.clients);
    // bounded: by time, and by a generous count
    while Instant::now() < deadline && k < 10_000_000 {
        if let Some(p) = period {
            tokio::time::sleep_until(next.into()).await;
            next = (next + p).max(Instant::now());
            if Instant::now() >= deadline {
                break;
            }
        }
        k += 1;
        // `--user-pick random`: each session a user drawn from the M, as
        // devices of many users come and go; otherwise client i is always
        // user(first + i mod M).
        let n = if o.random_user {
            rng.below(o.users)
        } else {
            i % o.users
        };
        let user = format!("user{}@{}", o.first_user + n, o.domain);
        if o.random_user {
            known_uid = None; // a uid of another user's mailbox
        }
        let id = ((i as u64) << 40) | k | ((std::process::id() as u64) << 56);
        match session(&o, addr, &user, &mut rng, &mut st, id, &mut known_uid).await {
            Ok(()) => st.loops += 1,
            Err(e) => {
                st.io_errors += 1;
                st.sample(format!("client {i} ({user}): {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    st
}

pub async fn mixed(o: Opts) -> io::Result<bool> {
    let o = Arc::new(o);
    eprintln!(
        "imap_load mixed: {} clients over {} user(s) from user{}@{} ({}), {}:{} for {} s, {} command(s) in flight, {}",
        o.clients,
        o.users,
        o.first_user,
        o.domain,
        if o.random_user { "random" } else { "cycle" },
        o.host,
        o.port,
        o.seconds,
        o.pipeline,
        if o.rate > 0.0 {
            format!("{} sessions/s", o.rate)
        } else {
            "sessions back to back".into()
        }
    );
    let before = inbox_sizes(&o).await;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(o.seconds);
    let tasks: Vec<_> = (0..o.clients)
        .map(|i| tokio::spawn(client(o.clone(), i, deadline)))
        .collect();
    let mut all = Stats::default();
    for t in tasks {
        let s = t.await.map_err(io::Error::other)?;
        for (k, v) in s.lat {
            all.lat.entry(k).or_default().extend(v);
        }
        for (k, v) in s.errs {
            *all.errs.entry(k).or_default() += v;
        }
        all.connect.extend(s.connect);
        all.io_errors += s.io_errors;
        all.loops += s.loops;
        all.delete_misses += s.delete_misses;
        all.seq_errors += s.seq_errors;
        all.body_bytes += s.body_bytes;
        for x in s.samples {
            all.sample(x);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    // the mailbox size afterwards: where it started, or messages were lost
    // or left behind
    let after = inbox_sizes(&o).await;
    let inbox_kept = after == before;
    let commands: usize = all.lat.values().map(Vec::len).sum();
    let errors: u64 = all.errs.values().sum();
    let conn = Summary::of(all.connect.clone());
    eprintln!(
        "{}: {} commands in {:.2} s = {:.0} commands/s; {} sessions ({:.1}/s); {} NO/BAD, {} session errors, \
         {} \\Deleted misses, {} sequence errors; connect p50 {:.2} ms p99 {:.2} ms; INBOX before: {}, after: {}",
        o.label,
        commands,
        elapsed,
        commands as f64 / elapsed,
        all.loops,
        all.loops as f64 / elapsed,
        errors,
        all.io_errors,
        all.delete_misses,
        all.seq_errors,
        ms(conn.p50),
        ms(conn.p99),
        before.join(" "),
        after.join(" ")
    );
    eprintln!("| command | count | per s | p50 ms | p99 ms | max ms | NO/BAD |");
    eprintln!("|---|--:|--:|--:|--:|--:|--:|");
    let mut per = Vec::new();
    for name in CMDS {
        let v = all.lat.remove(name).unwrap_or_default();
        let s = Summary::of(v);
        let e = all.errs.get(name).copied().unwrap_or(0);
        eprintln!(
            "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {e} |",
            s.count,
            s.count as f64 / elapsed,
            ms(s.p50),
            ms(s.p99),
            ms(s.max)
        );
        per.push(format!(
            "{}:{{\"n\":{},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3},\"err\":{e}}}",
            json_str(name),
            s.count,
            ms(s.p50),
            ms(s.p99),
            ms(s.max)
        ));
    }
    for s in &all.samples {
        eprintln!("  error sample: {s}");
    }
    println!(
        "{{\"mode\":\"mixed\",\"label\":{},\"port\":{},\"clients\":{},\"users\":{},\"first_user\":{},\"seconds\":{},\
         \"elapsed_s\":{:.3},\"commands\":{},\"cmds_per_s\":{:.1},\"sessions\":{},\"sessions_per_s\":{:.2},\
         \"no_bad\":{},\"session_errors\":{},\"delete_misses\":{},\"seq_errors\":{},\"body_bytes\":{},\
         \"connect_p50_ms\":{:.3},\"connect_p99_ms\":{:.3},\"pipeline\":{},\"rate\":{},\"user_pick\":{},\"inbox_before\":{},\"inbox_after\":{},\"per_cmd\":{{{}}},\"error_samples\":[{}]}}",
        json_str(&o.label),
        o.port,
        o.clients,
        o.users,
        o.first_user,
        o.seconds,
        elapsed,
        commands,
        commands as f64 / elapsed,
        all.loops,
        all.loops as f64 / elapsed,
        errors,
        all.io_errors,
        all.delete_misses,
        all.seq_errors,
        all.body_bytes,
        ms(conn.p50),
        ms(conn.p99),
        o.pipeline,
        o.rate,
        json_str(if o.random_user { "random" } else { "cycle" }),
        json_str(&before.join(" ")),
        json_str(&after.join(" ")),
        per.join(","),
        all.samples
            .iter()
            .map(|s| json_str(s))
            .collect::<Vec<_>>()
            .join(",")
    );
    Ok(errors == 0 && all.io_errors == 0 && all.seq_errors == 0 && inbox_kept)
}

/// INBOX's message count for the first three users (`?` when it cannot be
/// read): the loop appends and expunges one message a session, so a run
/// leaves them where they were.
async fn inbox_sizes(o: &Opts) -> Vec<String> {
    let mut out = Vec::new();
    for u in 0..o.users.min(3) {
        let user = format!("user{}@{}", o.first_user + u, o.domain);
        let r: io::Result<u32> = async {
            let mut c = Conn::connect(SocketAddr::new(o.host, o.port), o.timeout).await?;
            c.command(&format!("LOGIN {user} \"{}\"", o.password))
                .await?;
            c.command("EXAMINE INBOX").await?;
            let n = c.exists;
            c.command("LOGOUT").await?;
            Ok(n)
        }
        .await;
        out.push(format!(
            "{user}={}",
            r.map_or("?".into(), |n| n.to_string())
        ));
    }
    out
}
