//! `smtp-sink`: the receiving end of the outbound benchmark. Accepts SMTP
//! on 127.0.0.1 (EHLO with PIPELINING and 8BITMIME, every MAIL and RCPT
//! taken, DATA read to the end marker), one thread per connection, and
//! counts messages. Every 20 ms (and at each message while a watcher waits)
//! it writes `messages recipients first_unix last_unix` to `--status FILE`
//! (atomically), so a driver can time a queue flush on the same clock.
//!
//! With `--dns-port P` it also answers DNS on 127.0.0.1:P (UDP, hickory-proto
//! for the message format): MX of any name `--mx-suffix` (bench.test) ends
//! in → `mx.<suffix>`, A of `mx.<suffix>` → 127.0.0.1; anything else
//! NXDOMAIN. Postern's resolver is pointed at it; Postfix uses a transport
//! map instead.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, MX};
use hickory_proto::rr::{Name, RData, Record, RecordType};

const USAGE: &str = "usage: smtp-sink --port P --status FILE [--dns-port P --mx-suffix bench.test]";

#[derive(Default)]
struct Counts {
    messages: AtomicU64,
    recipients: AtomicU64,
    /// Unix time in microseconds of the first and the last message.
    first_us: AtomicU64,
    last_us: AtomicU64,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(port), Some(status)) = (get("--port"), get("--status")) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("smtp-sink: bind 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(dns) = get("--dns-port") {
        let suffix = get("--mx-suffix").unwrap_or_else(|| "bench.test".into());
        let Ok(sock) = dns
            .parse::<u16>()
            .map_err(|e| e.to_string())
            .and_then(|p| UdpSocket::bind((Ipv4Addr::LOCALHOST, p)).map_err(|e| e.to_string()))
        else {
            eprintln!("smtp-sink: cannot bind the DNS port {dns}");
            return ExitCode::FAILURE;
        };
        std::thread::spawn(move || dns_loop(sock, &suffix));
    }
    let counts = Arc::new(Counts::default());
    {
        let c = counts.clone();
        std::thread::spawn(move || {
            let mut last = u64::MAX;
            loop {
                let n = c.messages.load(Ordering::Relaxed);
                if n != last {
                    let text = format!(
                        "{} {} {:.6} {:.6}\n",
                        n,
                        c.recipients.load(Ordering::Relaxed),
                        c.first_us.load(Ordering::Relaxed) as f64 / 1e6,
                        c.last_us.load(Ordering::Relaxed) as f64 / 1e6
                    );
                    let tmp = format!("{status}.tmp");
                    if std::fs::write(&tmp, text).is_ok() {
                        let _ = std::fs::rename(&tmp, &status);
                    }
                    last = n;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
    }
    eprintln!("smtp-sink: listening on 127.0.0.1:{port}");
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let c = counts.clone();
        std::thread::spawn(move || {
            let _ = session(conn, &c);
        });
    }
    ExitCode::SUCCESS
}

fn session(conn: TcpStream, c: &Counts) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(300)))?;
    let _ = conn.set_nodelay(true);
    let mut w = conn.try_clone()?;
    let mut r = BufReader::new(conn);
    w.write_all(b"220 sink.bench.test ESMTP\r\n")?;
    let mut line = Vec::new();
    let mut rcpts = 0u64;
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let upper = String::from_utf8_lossy(&line)
            .trim_end()
            .to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.bench.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n"
        } else if upper.starts_with("MAIL") {
            rcpts = 0;
            b"250 2.1.0 Ok\r\n"
        } else if upper.starts_with("RCPT") {
            rcpts += 1;
            b"250 2.1.5 Ok\r\n"
        } else if upper == "DATA" {
            w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
            loop {
                line.clear();
                if r.read_until(b'\n', &mut line)? == 0 {
                    return Ok(());
                }
                if line == b".\r\n" {
                    break;
                }
            }
            let t = now_us();
            let _ = c
                .first_us
                .compare_exchange(0, t, Ordering::Relaxed, Ordering::Relaxed);
            c.last_us.fetch_max(t, Ordering::Relaxed);
            c.recipients.fetch_add(rcpts, Ordering::Relaxed);
            c.messages.fetch_add(1, Ordering::Relaxed);
            b"250 2.0.0 Ok: queued\r\n"
        } else if upper == "QUIT" {
            w.write_all(b"221 2.0.0 Bye\r\n")?;
            return Ok(());
        } else {
            b"250 2.0.0 Ok\r\n"
        };
        w.write_all(reply)?;
    }
}

fn dns_loop(sock: UdpSocket, suffix: &str) {
    let suffix = suffix.trim_end_matches('.').to_ascii_lowercase();
    let mx_host = format!("mx.{suffix}.");
    let mut buf = [0u8; 2048];
    loop {
        let Ok((n, peer)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let Ok(q) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        let Some(query) = q.queries.first().cloned() else {
            continue;
        };
        let mut reply = Message::response(q.metadata.id, OpCode::Query);
        reply.metadata.message_type = MessageType::Response;
        reply.metadata.authoritative = true;
        reply.metadata.recursion_desired = q.metadata.recursion_desired;
        reply.metadata.recursion_available = true;
        reply.add_query(query.clone());
        let name = query.name.to_ascii().to_ascii_lowercase();
        let ours = name.trim_end_matches('.').ends_with(&suffix);
        match query.query_type {
            RecordType::MX if ours && name != mx_host => {
                if let Ok(ex) = Name::from_ascii(&mx_host) {
                    reply.add_answer(Record::from_rdata(
                        query.name.clone(),
                        3600,
                        RData::MX(MX::new(10, ex)),
                    ));
                }
            }
            RecordType::A if name == mx_host => {
                reply.add_answer(Record::from_rdata(
                    query.name.clone(),
                    3600,
                    RData::A(A(Ipv4Addr::LOCALHOST)),
                ));
            }
            _ if ours => {}
            _ => reply.metadata.response_code = ResponseCode::NXDomain,
        }
        if let Ok(bytes) = reply.to_vec() {
            let _ = sock.send_to(&bytes, peer);
        }
    }
}
