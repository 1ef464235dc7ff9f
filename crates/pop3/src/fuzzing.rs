//! Fuzzing entry points (issue 13): the bodies of the `fuzz/` targets, kept
//! here so the same code runs under AFL and in the workspace's smoke test
//! (`tests/fuzz_smoke.rs`). Not an API: nothing in the server calls them.
//! `command_wire` drives the wire layer alone, `pop3_session` the session
//! over a store.

use std::sync::Arc;

use postern_store::fuzzing::{
    DOMAIN, Mailstore, PASSWORD, PerProcess, USER, chunks, runtime, with_options,
};

use crate::config::Pop3Config;
use crate::session::{Context, Flow, Maildrops, Session};
use crate::wire::{Frame, LineFramer, parse_command, response};

/// A small line limit, so over-long lines are reached by short inputs.
const MAX_LINE: usize = 255;

/// The POP3 wire layer as `server.rs` drives it: the bytes arrive in the
/// pieces `chunks` cuts, lines are framed and parsed (errors turned into
/// their `-ERR` text); then the whole input goes out as RETR and TOP
/// bodies (the fifth byte is TOP's line count), which must be
/// dot-stuffed: no line of the answer but the terminator is a lone dot.
/// Panics (the fuzzer's finding) when a layer breaks that or takes more
/// than it was given.
pub fn command_wire(data: &[u8]) {
    let mut framer = LineFramer::new(MAX_LINE);
    let mut buf: Vec<u8> = Vec::new();
    for piece in chunks(data) {
        buf.extend_from_slice(piece);
        while let Some(frame) = framer.next(&buf) {
            let n = match frame {
                Frame::Line { len } => {
                    assert!(len <= MAX_LINE, "a framed line over the limit");
                    match parse_command(&buf[..len]) {
                        Ok(command) => {
                            let _ = command.verb();
                        }
                        Err(e) => {
                            let _ = e.message();
                        }
                    }
                    len
                }
                Frame::Discarding { consumed } | Frame::TooLong { consumed } => consumed,
            };
            assert!(n > 0 && n <= buf.len(), "a frame of {n} bytes");
            buf.drain(..n);
        }
        assert!(buf.len() < MAX_LINE, "the framer sat on a full line");
    }
    let top = data.get(4).copied().map(u32::from);
    for body_lines in [None, top] {
        let mut out = Vec::new();
        response::message(&mut out, data, body_lines);
        assert!(out.ends_with(b"\r\n.\r\n") || out == b".\r\n");
        let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
        let terminator = lines.len().saturating_sub(2);
        for (i, line) in lines.iter().enumerate() {
            if i != terminator && line.first() == Some(&b'.') {
                assert!(line.starts_with(b".."), "an unstuffed line {i}");
            }
        }
    }
}

/// What the POP3 session target keeps per process: a store with the
/// fixture's user and messages, and the session's context.
struct SessionFixture {
    mail: Mailstore,
    ctx: Context,
}

/// Inputs a fixture serves before it is made again (see `PerProcess`).
const FIXTURE_USES: u32 = 500;

static FIXTURE: PerProcess<SessionFixture> = PerProcess::new(FIXTURE_USES);

async fn session_fixture() -> SessionFixture {
    let mail = Mailstore::new().await;
    let ctx = Context {
        cfg: Arc::new(Pop3Config {
            max_line: MAX_LINE,
            ..Pop3Config::default()
        }),
        store: mail.store.clone(),
        directory: postern_auth::fuzzing::directory(DOMAIN, USER, PASSWORD, &[]),
        starttls: false,
        maildrops: Maildrops::default(),
    };
    SessionFixture { mail, ctx }
}

/// The POP3 session over a real store (over TLS, as far as it knows),
/// driven as `server.rs` drives it: the bytes after the four split bytes
/// and the options byte arrive in the pieces `chunks` cuts, lines are
/// framed and go to the session (SASL lines after a `+` challenge), and
/// the read-ahead is prepared whenever the input waits. When the options
/// byte (`with_options`) is odd the session starts logged in as the
/// fixture's user.
/// After the input (and its QUIT's removals), the invariant: a new
/// session logs in, and LISTs and RETRs every message with `+OK`. The
/// INBOX is refilled when an input emptied it. A finding is a panic or a
/// broken invariant.
pub fn pop3_session(data: &[u8]) {
    let (options, stream) = with_options(data);
    let login = options & 1 == 1;
    FIXTURE.with(
        || runtime().block_on(session_fixture()),
        |f| {
            runtime().block_on(async {
                let mut session = Session::new(f.ctx.clone(), peer(), true);
                if login {
                    log_in(&mut session).await;
                }
                drive_session(&mut session, &stream).await;
                drop(session);
                every_message_reads(f).await;
                f.mail.refill().await;
            })
        },
    );
}

fn peer() -> std::net::SocketAddr {
    "127.0.0.1:5000".parse().expect("an address")
}

async fn log_in(session: &mut Session) {
    for line in [format!("USER {USER}\r\n"), format!("PASS {PASSWORD}\r\n")] {
        let mut out = Vec::new();
        session.command(line.as_bytes(), &mut out).await;
        assert!(out.starts_with(b"+OK"), "{}", String::from_utf8_lossy(&out));
    }
}

/// The invariant after each input (see `pop3_session`).
async fn every_message_reads(f: &SessionFixture) {
    let mut session = Session::new(f.ctx.clone(), peer(), true);
    log_in(&mut session).await;
    let mut out = Vec::new();
    session.command(b"STAT\r\n", &mut out).await;
    let stat = String::from_utf8_lossy(&out).into_owned();
    let count: usize = stat
        .strip_prefix("+OK ")
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("STAT answered {stat}"));
    for i in 1..=count {
        for command in [format!("LIST {i}\r\n"), format!("RETR {i}\r\n")] {
            out.clear();
            session.command(command.as_bytes(), &mut out).await;
            assert!(
                out.starts_with(b"+OK"),
                "{command}: {}",
                String::from_utf8_lossy(&out)
            );
        }
    }
}

async fn drive_session(session: &mut Session, data: &[u8]) {
    let mut framer = LineFramer::new(MAX_LINE);
    let mut sasl = false;
    let mut buf: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::new();
    for piece in chunks(data) {
        buf.extend_from_slice(piece);
        while let Some(frame) = framer.next(&buf) {
            let flow = match frame {
                Frame::Line { len } => {
                    let line = &buf[..len];
                    let flow = if std::mem::take(&mut sasl) {
                        session.sasl_line(line, &mut out).await
                    } else {
                        session.command(line, &mut out).await
                    };
                    buf.drain(..len);
                    flow
                }
                Frame::Discarding { consumed } => {
                    buf.drain(..consumed.min(buf.len()));
                    Flow::Continue
                }
                Frame::TooLong { consumed } => {
                    buf.drain(..consumed.min(buf.len()));
                    session.line_too_long(&mut out)
                }
            };
            out.clear();
            match flow {
                Flow::Continue => {}
                Flow::Sasl => sasl = true,
                // No TLS here; both end the connection.
                Flow::StartTls | Flow::Close => return,
            }
        }
        session.prepare();
    }
}
