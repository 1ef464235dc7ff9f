//! `pop3-load`: POP3 download load on any POP3 server (Postern, Dovecot),
//! over plain TCP with USER/PASS, so the same bytes go to both.
//!
//! `retr`: one connection: `USER`, `PASS`, `STAT`, `UIDL`, then `RETR 1`
//! .. `RETR N` one at a time (what a client does: send, read the whole
//! answer, send the next), then `QUIT` without `DELE`, so it can be
//! repeated. With `--pipeline W` up to W RETRs are outstanding at once
//! (RFC 2449 PIPELINING), which measures the server rather than the round
//! trips. `--reps` sessions, one JSON line each.
//!
//! `drain`: `--clients C` connections at once, client i as
//! user(first + i)@domain: `USER`, `PASS`, `STAT`, `UIDL`, `RETR` every
//! message, `DELE` every message, `QUIT` (the deletes happen there), all
//! one at a time. One JSON line: messages and bytes retrieved over the
//! wall time from the first connect to the last `+OK` of QUIT.
//!
//! Every response is checked: `-ERR` anywhere is a failure. A retrieved
//! message is counted in octets as the server sent them after unstuffing
//! (what LIST reports), and checked against the size `LIST` gave.
//! Bounds: loopback only, clients <= 200, every read and write under
//! `--timeout` seconds.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use postern_bench::imap_client::{err, json_str};

const USAGE: &str = "usage: pop3-load retr|drain [--host 127.0.0.1] [--port 10110] \
[--user user60@example.test] [--domain example.test] [--first-user 1] [--password pass] \
[--clients 20] [--reps 3] [--pipeline 0] [--label TEXT] [--timeout 60]";

#[derive(Clone, Debug)]
struct Opts {
    mode: String,
    addr: SocketAddr,
    user: String,
    domain: String,
    first_user: u32,
    password: String,
    clients: u32,
    reps: u32,
    pipeline: usize,
    label: String,
    timeout: Duration,
}

fn parse_opts() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or(USAGE)?;
    if mode != "retr" && mode != "drain" {
        return Err(USAGE.into());
    }
    let mut host: IpAddr = [127, 0, 0, 1].into();
    let mut o = Opts {
        mode,
        addr: SocketAddr::new(host, 10110),
        user: "user60@example.test".into(),
        domain: "example.test".into(),
        first_user: 1,
        password: "pass".into(),
        clients: 20,
        reps: 3,
        pipeline: 0,
        label: String::new(),
        timeout: Duration::from_secs(60),
    };
    let mut port = 10110u16;
    while let Some(k) = args.next() {
        let v = args
            .next()
            .ok_or_else(|| format!("{k} needs a value\n{USAGE}"))?;
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{k}: not a number: {v}"))
        };
        match k.as_str() {
            "--host" => host = v.parse().map_err(|_| format!("--host: not an IP: {v}"))?,
            "--port" => port = num(&v)? as u16,
            "--user" => o.user = v,
            "--domain" => o.domain = v,
            "--first-user" => o.first_user = num(&v)? as u32,
            "--password" => o.password = v,
            "--clients" => o.clients = num(&v)? as u32,
            "--reps" => o.reps = num(&v)? as u32,
            "--pipeline" => o.pipeline = num(&v)? as usize,
            "--label" => o.label = v,
            "--timeout" => o.timeout = Duration::from_secs(num(&v)?.max(1)),
            _ => return Err(format!("unknown option {k}\n{USAGE}")),
        }
    }
    if !host.is_loopback() {
        return Err("refusing a non-loopback host".into());
    }
    if o.clients == 0 || o.clients > 200 || o.reps == 0 || o.reps > 20 || o.pipeline > 1000 {
        return Err("bounds: 1 <= clients <= 200, 1 <= reps <= 20, pipeline <= 1000".into());
    }
    o.addr = SocketAddr::new(host, port);
    Ok(o)
}

/// One POP3 connection.
struct Pop3 {
    r: BufReader<TcpStream>,
    w: TcpStream,
    line: Vec<u8>,
}

impl Pop3 {
    fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Pop3> {
        let s = TcpStream::connect_timeout(&addr, timeout)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        s.set_nodelay(true)?;
        let mut c = Pop3 {
            r: BufReader::with_capacity(256 * 1024, s.try_clone()?),
            w: s,
            line: Vec::with_capacity(1024),
        };
        c.status("greeting")?;
        Ok(c)
    }

    fn send(&mut self, cmd: &str) -> io::Result<()> {
        self.w.write_all(format!("{cmd}\r\n").as_bytes())
    }

    /// Reads one status line; `-ERR` is an error naming `what`.
    fn status(&mut self, what: &str) -> io::Result<String> {
        self.line.clear();
        if self.r.read_until(b'\n', &mut self.line)? == 0 {
            return err(format!("{what}: connection closed"));
        }
        let text = String::from_utf8_lossy(&self.line).trim_end().to_string();
        if !text.starts_with("+OK") {
            return err(format!("{what}: {text}"));
        }
        Ok(text)
    }

    fn cmd(&mut self, cmd: &str) -> io::Result<String> {
        self.send(cmd)?;
        let what = if cmd.starts_with("PASS") { "PASS" } else { cmd };
        self.status(what)
    }

    /// Reads a multi-line body after its status line; returns the octets
    /// after unstuffing (CRLF included) and, if `lines`, the lines.
    fn body(&mut self, mut lines: Option<&mut Vec<String>>) -> io::Result<u64> {
        let mut octets = 0u64;
        loop {
            self.line.clear();
            if self.r.read_until(b'\n', &mut self.line)? == 0 {
                return err("connection closed inside a multi-line response");
            }
            if self.line == b".\r\n" {
                return Ok(octets);
            }
            let l = self.line.strip_prefix(b".").unwrap_or(&self.line);
            octets += l.len() as u64;
            if let Some(v) = lines.as_deref_mut() {
                v.push(String::from_utf8_lossy(l).trim_end().to_string());
            }
        }
    }

    fn login(&mut self, user: &str, password: &str) -> io::Result<()> {
        self.cmd(&format!("USER {user}"))?;
        self.cmd(&format!("PASS {password}"))?;
        Ok(())
    }

    /// STAT, LIST (sizes), UIDL; returns the sizes.
    fn list(&mut self) -> io::Result<Vec<u64>> {
        self.cmd("STAT")?;
        self.cmd("LIST")?;
        let mut lines = Vec::new();
        self.body(Some(&mut lines))?;
        let sizes = lines
            .iter()
            .map(|l| {
                l.split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0)
            })
            .collect();
        self.cmd("UIDL")?;
        self.body(None)?;
        Ok(sizes)
    }

    /// RETR 1..=n, at most `window` outstanding (0 or 1: one at a time);
    /// checks each size against LIST's; returns the octets.
    fn retr_all(&mut self, sizes: &[u64], window: usize) -> io::Result<u64> {
        let n = sizes.len();
        let window = window.max(1);
        let (mut sent, mut got, mut total) = (0usize, 0usize, 0u64);
        while got < n {
            let mut batch = String::new();
            while sent < n && sent - got < window {
                sent += 1;
                batch.push_str(&format!("RETR {sent}\r\n"));
            }
            if !batch.is_empty() {
                self.w.write_all(batch.as_bytes())?;
            }
            self.status(&format!("RETR {}", got + 1))?;
            let octets = self.body(None)?;
            if octets != sizes[got] {
                return err(format!(
                    "RETR {}: {octets} octets, LIST said {}",
                    got + 1,
                    sizes[got]
                ));
            }
            total += octets;
            got += 1;
        }
        Ok(total)
    }
}

/// This process's user+system CPU seconds so far (from /proc/self/stat).
fn cpu_secs() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some(rest) = s.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of stat(5), counted from after the ")" at 3.
    (ticks(11) + ticks(12)) / 100.0
}

fn retr_once(o: &Opts, rep: u32) -> io::Result<String> {
    let cpu0 = cpu_secs();
    let t0 = Instant::now();
    let mut c = Pop3::connect(o.addr, o.timeout)?;
    c.login(&o.user, &o.password)?;
    let t_login = t0.elapsed();
    let sizes = c.list()?;
    let t1 = Instant::now();
    let bytes = c.retr_all(&sizes, o.pipeline)?;
    let retr = t1.elapsed().as_secs_f64();
    c.cmd("QUIT")?;
    let n = sizes.len() as f64;
    Ok(format!(
        "{{\"mode\":\"retr\",\"label\":{},\"rep\":{rep},\"pipeline\":{},\"messages\":{},\"bytes\":{bytes},\
\"login_ms\":{:.1},\"retr_secs\":{retr:.3},\"msgs_per_s\":{:.1},\"mb_per_s\":{:.2},\"total_secs\":{:.3},\"client_cpu_secs\":{:.2}}}",
        json_str(&o.label),
        o.pipeline,
        sizes.len(),
        t_login.as_secs_f64() * 1000.0,
        n / retr,
        bytes as f64 / retr / 1e6,
        t0.elapsed().as_secs_f64(),
        cpu_secs() - cpu0,
    ))
}

/// One drain client: everything retrieved and deleted; (messages, bytes).
fn drain_one(o: &Opts, user: String) -> io::Result<(u64, u64)> {
    let mut c = Pop3::connect(o.addr, o.timeout)?;
    c.login(&user, &o.password)?;
    let sizes = c.list()?;
    let bytes = c.retr_all(&sizes, 1)?;
    for i in 1..=sizes.len() {
        c.cmd(&format!("DELE {i}"))?;
    }
    c.cmd("QUIT")?;
    Ok((sizes.len() as u64, bytes))
}

fn drain(o: &Opts) -> io::Result<String> {
    let cpu0 = cpu_secs();
    let t0 = Instant::now();
    let handles: Vec<_> = (0..o.clients)
        .map(|i| {
            let o = o.clone();
            let user = format!("user{}@{}", o.first_user + i, o.domain);
            std::thread::spawn(move || drain_one(&o, user))
        })
        .collect();
    let (mut msgs, mut bytes, mut fails) = (0u64, 0u64, 0u32);
    for h in handles {
        match h.join() {
            Ok(Ok((m, b))) => {
                msgs += m;
                bytes += b;
            }
            Ok(Err(e)) => {
                eprintln!("client failed: {e}");
                fails += 1;
            }
            Err(_) => fails += 1,
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let line = format!(
        "{{\"mode\":\"drain\",\"label\":{},\"clients\":{},\"messages\":{msgs},\"bytes\":{bytes},\"fails\":{fails},\
\"secs\":{secs:.3},\"msgs_per_s\":{:.1},\"mb_per_s\":{:.2},\"client_cpu_secs\":{:.2}}}",
        json_str(&o.label),
        o.clients,
        msgs as f64 / secs,
        bytes as f64 / secs / 1e6,
        cpu_secs() - cpu0,
    );
    if fails > 0 {
        println!("{line}");
        return err(format!("{fails} client(s) failed"));
    }
    Ok(line)
}

fn main() -> ExitCode {
    let o = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let result = if o.mode == "retr" {
        (1..=o.reps).try_for_each(|rep| {
            let line = retr_once(&o, rep)?;
            println!("{line}");
            Ok(())
        })
    } else {
        drain(&o).map(|line| println!("{line}"))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pop3-load {}: {e}", o.mode);
            ExitCode::FAILURE
        }
    }
}
