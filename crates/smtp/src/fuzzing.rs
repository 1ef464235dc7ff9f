//! Fuzzing entry points (issue 13): the bodies of the `fuzz/` targets, kept
//! here so the same code runs under AFL and in the workspace's smoke test
//! (`tests/fuzz_smoke.rs`). Not an API: nothing in the server calls them.
//! `session_wire` drives the wire layer alone; `smtp_session` the session
//! over a store.

use std::sync::Arc;

use postern_net::TlsInfo;
use postern_store::fuzzing::{
    ALIAS, DOMAIN, Mailstore, PASSWORD, PerProcess, USER, chunks, runtime, with_options,
};

use crate::config::{Mode as SmtpMode, SmtpConfig};
use crate::session::{Action, Context, Session};
use crate::wire::{
    BareLineEndings, ChunkReader, Command, CommandFramer, DataReader, Frame, Reply, parse_command,
};

/// Small limits, so that both sides of each are reached by short inputs.
const MAX_LINE: usize = 512;
const MAX_DATA: u64 = 64 * 1024;
const MAX_DATA_LINE: usize = 1000;

/// What the driver is reading.
enum Mode {
    Commands,
    Data(DataReader),
    Chunk(ChunkReader),
}

/// The SMTP wire layer as `server.rs` drives it: the bytes arrive in the
/// pieces `chunks` cuts; commands are framed and parsed (errors encoded as
/// their replies); `DATA` switches to the DATA ingester and `BDAT n` to the
/// chunk reader, each handing back what follows; the first byte after the
/// four split bytes also picks whether bare line endings are normalised.
/// Panics (the fuzzer's finding) when a layer takes more than it was given,
/// makes no progress with a full buffer, or outgrows its limit.
pub fn session_wire(data: &[u8]) {
    let bare = if data.get(4).is_some_and(|b| b & 1 == 1) {
        BareLineEndings::Normalize
    } else {
        BareLineEndings::Reject
    };
    let mut framer = CommandFramer::new(MAX_LINE);
    let mut mode = Mode::Commands;
    let mut buf: Vec<u8> = Vec::new();
    for piece in chunks(data) {
        buf.extend_from_slice(piece);
        loop {
            let consumed = match &mut mode {
                Mode::Commands => {
                    let Some((frame, n)) = framer.next(&buf) else {
                        assert!(buf.len() < MAX_LINE, "the framer sat on a full line");
                        break;
                    };
                    assert!(n > 0, "a frame of no bytes");
                    if let Frame::Line(line) = frame {
                        assert!(line.len() < MAX_LINE, "a framed line over the limit");
                        match parse_command(line) {
                            Ok(Command::Data) => {
                                mode = Mode::Data(DataReader::new(MAX_DATA, MAX_DATA_LINE, bare));
                            }
                            Ok(Command::Bdat { size, .. }) => {
                                mode = Mode::Chunk(ChunkReader::new(size));
                            }
                            Ok(command) => {
                                let _ = command.verb();
                            }
                            Err(e) => {
                                let mut out = Vec::new();
                                e.reply().encode(&mut out);
                                assert!(out.len() <= 512, "an error reply over 512 bytes");
                            }
                        }
                    }
                    n
                }
                Mode::Data(reader) => {
                    let (n, outcome) = reader.feed(&buf);
                    let Some(outcome) = outcome else {
                        assert_eq!(n, buf.len(), "the DATA reader left bytes mid-message");
                        buf.clear();
                        break;
                    };
                    assert!(outcome.message.len() as u64 <= MAX_DATA);
                    assert!(!outcome.too_large || outcome.message.is_empty());
                    mode = Mode::Commands;
                    n
                }
                Mode::Chunk(reader) => {
                    let (bytes, done) = reader.feed(&buf);
                    let n = bytes.len();
                    if !done {
                        assert_eq!(n, buf.len(), "the chunk reader left bytes mid-chunk");
                        buf.clear();
                        break;
                    }
                    mode = Mode::Commands;
                    n
                }
            };
            assert!(consumed <= buf.len(), "consumed more than the buffer");
            buf.drain(..consumed);
        }
    }
    // Whatever text a reply carries, it goes out as one line per entry.
    let text = String::from_utf8_lossy(data).into_owned();
    let mut out = Vec::new();
    Reply::multi(250, Some((2, 0, 0)), vec![text]).encode(&mut out);
    assert!(out.ends_with(b"\r\n") && out.len() <= 512);
}

/// What the SMTP session target keeps per process: a store with the
/// fixture's user, alias and messages, and the session's context.
struct SessionFixture {
    _mail: Mailstore,
    ctx: Context,
}

/// Inputs a fixture serves before it is made again (see `PerProcess`).
const FIXTURE_USES: u32 = 500;

static FIXTURE: PerProcess<SessionFixture> = PerProcess::new(FIXTURE_USES);

/// The fixture's directory: `ALIAS` to the user, `FORWARD` to an address
/// elsewhere (queued out), `LIST` to both.
const FORWARD: &str = "fwd@example.org";
const LIST: &str = "list@example.org";

async fn session_fixture() -> SessionFixture {
    let mail = Mailstore::new().await;
    let directory = postern_auth::fuzzing::directory(
        DOMAIN,
        USER,
        PASSWORD,
        &[
            (ALIAS, &[USER]),
            (FORWARD, &["someone@remote.example"]),
            (LIST, &[USER, "someone@remote.example"]),
        ],
    );
    let cfg = SmtpConfig {
        hostname: "mx.example.org".into(),
        max_command_line: MAX_LINE,
        max_data_line: MAX_DATA_LINE,
        max_message_size: MAX_DATA,
        max_recipients: 8,
        // The tarpit sleeps: inputs must not.
        junk_max_delay: std::time::Duration::ZERO,
        ..SmtpConfig::default()
    };
    let ctx = Context {
        cfg: Arc::new(cfg),
        store: mail.store.clone(),
        directory,
        starttls: true,
        queue_wake: Default::default(),
        // No SPF/DKIM/DMARC or spam verdict: they need DNS (the verdict
        // has a target of its own).
        delivery: None,
    };
    SessionFixture { _mail: mail, ctx }
}

/// The SMTP session over a real store, driven as `server.rs` drives it:
/// the bytes after the four split bytes and the options byte arrive in
/// the pieces `chunks` cuts, framed commands go to the session, DATA and
/// BDAT bytes to their readers and then to the session, until it closes.
/// The options byte (`with_options`) picks the listener and state: bit 0 submission (else
/// port 25), bit 1 TLS already on (AUTH is offered on submission), bit 2
/// greylisting on, bit 3 bare line endings normalised. A finding is a
/// panic, or a `4.3.0` reply (a local failure: the store is healthy, so
/// whatever the client sent, it must not break a command).
pub fn smtp_session(data: &[u8]) {
    let (flags, stream) = with_options(data);
    FIXTURE.with(
        || runtime().block_on(session_fixture()),
        |f| runtime().block_on(drive_session(f.ctx.clone(), flags, &stream)),
    );
}

/// How the next bytes are read (as the driver's `Reading`).
enum Reading {
    Commands,
    Data(DataReader),
    Chunk {
        reader: ChunkReader,
        size: u64,
        last: bool,
    },
}

async fn drive_session(ctx: Context, flags: u8, data: &[u8]) {
    let mode = if flags & 1 == 1 {
        SmtpMode::Submission
    } else {
        SmtpMode::Mx
    };
    let tls = (flags & 2 == 2).then(|| TlsInfo {
        version: "TLSv1.3".into(),
        cipher: "TLS13_AES_128_GCM_SHA256".into(),
    });
    let bare = if flags & 8 == 8 {
        BareLineEndings::Normalize
    } else {
        BareLineEndings::Reject
    };
    let mut ctx = ctx;
    if flags & 4 == 4 {
        let mut cfg = (*ctx.cfg).clone();
        cfg.greylist.enabled = true;
        ctx.cfg = Arc::new(cfg);
    }
    let peer = "192.0.2.1:4000".parse().expect("an address");
    let mut session = Session::new(ctx, mode, peer, tls);
    let mut framer = CommandFramer::new(MAX_LINE);
    let mut reading = Reading::Commands;
    let mut buf: Vec<u8> = Vec::new();
    for piece in chunks(data) {
        buf.extend_from_slice(piece);
        loop {
            let action = match &mut reading {
                Reading::Commands => match framer.next(&buf) {
                    Some((Frame::Discarding, n)) => {
                        buf.drain(..n);
                        continue;
                    }
                    Some((frame, n)) => {
                        let a = session.line(frame).await;
                        buf.drain(..n);
                        a
                    }
                    None => break,
                },
                Reading::Data(reader) => {
                    let (n, outcome) = reader.feed(&buf);
                    buf.drain(..n);
                    let Some(outcome) = outcome else { break };
                    reading = Reading::Commands;
                    session.data_done(outcome).await
                }
                Reading::Chunk { reader, size, last } => {
                    let (bytes, done) = reader.feed(&buf);
                    let n = bytes.len();
                    session.chunk_bytes(bytes);
                    buf.drain(..n);
                    if !done {
                        break;
                    }
                    let (size, last) = (*size, *last);
                    reading = Reading::Commands;
                    session.chunk_done(size, last).await
                }
            };
            let reply = match action {
                Action::Reply(r) => r,
                Action::ReadData(r) => {
                    reading = Reading::Data(DataReader::new(MAX_DATA, MAX_DATA_LINE, bare));
                    r
                }
                Action::ReadChunk { size, last } => {
                    reading = Reading::Chunk {
                        reader: ChunkReader::new(size),
                        size,
                        last,
                    };
                    continue;
                }
                // No TLS here: the session goes on as if the handshake
                // failed, which closes the connection.
                Action::StartTls(_) | Action::Close(_) => return,
            };
            assert_ne!(
                reply.status,
                Some((4, 3, 0)),
                "a local failure on a healthy store: {:?}",
                reply.lines
            );
        }
    }
}
