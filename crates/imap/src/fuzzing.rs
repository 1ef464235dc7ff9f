//! Fuzzing entry points (issue 13): the bodies of the `fuzz/` targets, kept
//! here so the same code runs under AFL and in the workspace's smoke test
//! (`tests/fuzz_smoke.rs`). Not an API: nothing in the server calls them.
//! `command_wire` drives the wire layer alone, `message_render` the
//! message path, `imap_session` the session over a store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use postern_store::fuzzing::{DOMAIN, Mailstore, PASSWORD, PerProcess, USER, chunks, runtime};

use postern_store::{MailboxId, MailboxStatus};

use crate::config::ImapConfig;
use crate::render::{SectionSpec, binary, body_structure, envelope, partial, section};
use crate::session::{Context, Flow, PerUser, Session};
use crate::wire::{
    CommandBody, CommandFramer, FrameErrorKind, FrameLimits, Framed, NonSyncLiterals, ParseOptions,
    Tag, is_idle_done, parse_command, parse_sasl_line, utf7,
};

/// Small limits, so that both sides of each are reached by short inputs.
const LIMITS: FrameLimits = FrameLimits {
    max_line: 512,
    max_literal: 8 * 1024,
    max_command: 16 * 1024,
    non_sync: NonSyncLiterals::Minus,
};

/// How the next line is read.
#[derive(PartialEq)]
enum Mode {
    Commands,
    /// After AUTHENTICATE: one SASL line.
    Sasl,
    /// During IDLE: lines until DONE.
    Idle,
}

/// The IMAP wire layer as `server.rs` drives it: the bytes arrive in the
/// pieces `chunks` cuts; the framer frames commands with their literals,
/// every framed command is parsed, AUTHENTICATE and IDLE switch to line
/// framing as the driver does. The byte after the four split bytes picks
/// UTF8=ACCEPT, LITERAL+ or LITERAL-, and which synchronizing literals are
/// refused (bit k for the k-th, in turn). Panics (the fuzzer's finding)
/// when the framer takes more than it was given or sits on a full buffer.
pub fn command_wire(data: &[u8]) {
    let flags = data.get(4).copied().unwrap_or(0);
    let limits = FrameLimits {
        non_sync: if flags & 1 == 1 {
            NonSyncLiterals::Plus
        } else {
            NonSyncLiterals::Minus
        },
        ..LIMITS
    };
    let opts = ParseOptions {
        utf8_accept: flags & 2 == 2,
        ..ParseOptions::default()
    };
    let mut framer = CommandFramer::new(limits);
    let mut mode = Mode::Commands;
    let mut literals = 0u32;
    let mut buf: Vec<u8> = Vec::new();
    for piece in chunks(data) {
        buf.extend_from_slice(piece);
        loop {
            let framed = if mode == Mode::Commands {
                framer.next(&buf)
            } else {
                framer.next_line(&buf)
            };
            let n = match framed {
                Ok(None) => {
                    // Pending bytes stay within a command's limit.
                    assert!(
                        buf.len() as u64 <= limits.max_command + limits.max_line as u64 + 256,
                        "the framer holds {} bytes",
                        buf.len()
                    );
                    break;
                }
                Ok(Some(Framed::Command { len })) => {
                    assert!(len > 0 && len <= buf.len(), "a command past the buffer");
                    let line = &buf[..len];
                    match mode {
                        Mode::Commands => {
                            if let Ok(command) = parse_command(line, &opts) {
                                mode = match command.body {
                                    CommandBody::Authenticate { initial: None, .. } => Mode::Sasl,
                                    CommandBody::Idle => Mode::Idle,
                                    _ => Mode::Commands,
                                };
                            }
                        }
                        Mode::Sasl => {
                            let _ = parse_sasl_line(line);
                            mode = Mode::Commands;
                        }
                        Mode::Idle => {
                            if is_idle_done(line) {
                                mode = Mode::Commands;
                            }
                        }
                    }
                    len
                }
                Ok(Some(Framed::NeedLiteral(req))) => {
                    assert!(req.len <= buf.len(), "a literal request past the buffer");
                    let refuse = flags >> (literals % 8) & 1 == 1;
                    literals += 1;
                    if refuse {
                        framer.literal_refused()
                    } else {
                        framer.literal_accepted();
                        0
                    }
                }
                Ok(Some(Framed::Discarding { consumed })) => consumed,
                Err(e) => e.consumed,
            };
            assert!(n <= buf.len(), "consumed more than the buffer");
            buf.drain(..n);
        }
    }
    // Mailbox names as a client may send them.
    if let Ok(name) = utf7::decode(data) {
        assert_eq!(
            utf7::decode(utf7::encode(&name).as_bytes()).ok(),
            Some(name)
        );
    }
}

/// Section specs a client may ask for, picked by the input's first byte.
const SECTIONS: &[&str] = &[
    "",
    "HEADER",
    "TEXT",
    "1",
    "1.MIME",
    "2",
    "2.HEADER",
    "2.TEXT",
    "1.2",
    "2.1.MIME",
    "HEADER.FIELDS (FROM SUBJECT DATE)",
    "HEADER.FIELDS.NOT (TO CC)",
    "3.1.2",
    "1.1.1.1",
];

/// A message from delivery to FETCH: the store's parse and cache round
/// trip (`postern_store::fuzzing::message`), then ENVELOPE, BODY,
/// BODYSTRUCTURE, a `BODY[section]<partial>` and a `BINARY[part]` rendered
/// from the meta as a session would. The first byte picks the section,
/// the next two the partial's origin and count; the rest is the message.
pub fn message_render(data: &[u8]) {
    let (pick, raw) = data.split_at(data.len().min(3));
    let [which, origin, count] = [0, 1, 2].map(|i| pick.get(i).copied().unwrap_or(0));
    let meta = postern_store::fuzzing::message(raw);
    let _ = envelope(&meta.envelope);
    let _ = body_structure(&meta, raw, false);
    let _ = body_structure(&meta, raw, true);
    let spec = SECTIONS[usize::from(which) % SECTIONS.len()];
    let spec = SectionSpec::parse(spec).expect("the listed sections parse");
    if let Some(bytes) = section(raw, &meta, &spec) {
        let cut = partial(&bytes, u32::from(origin), Some(u32::from(count)));
        assert!(
            cut.len() <= usize::from(count),
            "a partial longer than asked"
        );
    }
    let _ = binary(raw, &meta, &spec.parts);
}

/// What the IMAP session target keeps per process: a store with the
/// fixture's user and messages, and the session's context.
struct SessionFixture {
    mail: Mailstore,
    ctx: Context,
    /// Each mailbox as it was when it last passed the invariant; an input
    /// that left a mailbox's status as it was is not read again.
    verified: Mutex<HashMap<MailboxId, MailboxStatus>>,
    /// Inputs since every mailbox was last read whatever its status.
    since_full: AtomicU32,
    /// The store's count of write jobs when the invariant last passed: an
    /// input that queued none changed no mailbox (`every_mailbox_reads`).
    verified_writes: AtomicU64,
}

/// Every this many inputs, every mailbox is read again even when its status
/// did not move, for what a status does not show (the render cache).
const FULL_CHECK_EVERY: u32 = 16;

/// Inputs a fixture serves before it is made again (see `PerProcess`).
const FIXTURE_USES: u32 = 500;

/// Messages the fixture's user may hold, over all mailboxes, before the
/// fixture is made again: the invariant FETCHes whole mailboxes, and
/// inputs that APPEND or COPY in a loop grew the INBOX to hundreds of
/// (small) messages, which made the check most of every input's time.
const FIXTURE_MESSAGES: u32 = 64;

static FIXTURE: PerProcess<SessionFixture> = PerProcess::new(FIXTURE_USES);

/// The session's limits: small, so that both sides of each are reached by
/// short inputs, and so that APPEND adds at most 8 KiB a message.
const SESSION_LINE: usize = 1024;
const SESSION_LITERAL: u64 = 8 * 1024;

async fn session_fixture() -> SessionFixture {
    let mail = Mailstore::new().await;
    let cfg = ImapConfig {
        max_line: SESSION_LINE,
        max_literal: SESSION_LITERAL,
        max_append_messages: 4,
        max_catenate_parts: 4,
        ..ImapConfig::default()
    };
    let ctx = Context {
        cfg: Arc::new(cfg),
        store: mail.store.clone(),
        directory: postern_auth::fuzzing::directory(DOMAIN, USER, PASSWORD, &[]),
        starttls: false,
        per_user: PerUser::default(),
        render: Default::default(),
    };
    SessionFixture {
        mail,
        ctx,
        verified: Mutex::default(),
        since_full: AtomicU32::new(0),
        // No input has run: the first one is checked whatever it wrote.
        verified_writes: AtomicU64::new(u64::MAX),
    }
}

/// The IMAP session over a real store, logged in as the fixture's user
/// (over TLS, as far as the session knows), driven as `server.rs` drives
/// it: the bytes after the four split bytes arrive in the pieces `chunks`
/// cuts; commands are framed with their literals (accepted up to the
/// literal limit), parsed with the session's options and run; AUTHENTICATE
/// and IDLE read lines, IDLE's updates are sent at its start and DONE.
/// After the input, the invariant: a new session of the same user SELECTs
/// every mailbox the user has and FETCHes `1:*` (flags, envelope,
/// structure, body) with a tagged OK. A mailbox whose status (counts,
/// UIDNEXT, HIGHESTMODSEQ, name) is as it was when it last passed is
/// skipped, except on every `FULL_CHECK_EVERY`th input: the check was most
/// of the target's time. A finding is a panic, a `SERVERBUG`
/// response (the store is healthy) or a mailbox the input made unreadable.
pub fn imap_session(data: &[u8]) {
    let grown = FIXTURE.with(
        || runtime().block_on(session_fixture()),
        |f| {
            runtime().block_on(async {
                let mut session = logged_in(&f.ctx).await;
                drive_session(&mut session, data).await;
                drop(session);
                every_mailbox_reads(f).await
            })
        },
    );
    if grown {
        FIXTURE.renew();
    }
}

/// A session of the fixture's user after `LOGIN`.
async fn logged_in(ctx: &Context) -> Session {
    let mut session = Session::new(ctx.clone(), "127.0.0.1:5000".parse().expect("addr"), true);
    let login = format!("l LOGIN {USER} {PASSWORD}\r\n");
    run(&mut session, login.as_bytes(), "l").await;
    session
}

/// Runs one complete command and returns its responses, whose last line
/// (the tagged completion, after any literal) must be the tagged `OK`.
async fn run(session: &mut Session, command: &[u8], tag: &str) -> Vec<u8> {
    let cmd = parse_command(command, &session.parse_options()).expect("a well-formed command");
    let mut out = Vec::new();
    session.command(cmd, &mut out).await;
    let ok = format!("{tag} OK");
    assert!(
        last_line(&out).starts_with(ok.as_bytes()),
        "{} answered {}",
        String::from_utf8_lossy(command),
        String::from_utf8_lossy(&out)
    );
    out
}

/// The last line of a command's responses: its tagged completion, which
/// follows every literal. Only that line is looked at, since a message's
/// text (which an input can APPEND and FETCH) may read like a response.
fn last_line(out: &[u8]) -> &[u8] {
    let body = out.strip_suffix(b"\r\n").unwrap_or(out);
    body.rsplit(|&b| b == b'\n').next().unwrap_or(body)
}

/// Whether a command failed on the server's side: `NO [SERVERBUG]` is
/// only ever a command's tagged completion (`Session::store_error`).
fn server_bug(out: &[u8]) -> bool {
    let line = last_line(out);
    line.windows(11).any(|w| w == b"[SERVERBUG]")
}

/// The invariant after each input (see `imap_session`). What it reads is
/// the store's (mailboxes, messages, flags, blobs, cached metas), which
/// changes only through the store's writer: when the writer ran no job
/// since the invariant last passed, every mailbox is as it was then and
/// the check is skipped (listing the mailboxes and reading each status was
/// still most of an input's time). What a session can change without a
/// write (the render cache, the \Recent book) is what the full check
/// every `FULL_CHECK_EVERY`th input is for.
/// Returns whether the user holds more than `FIXTURE_MESSAGES` messages
/// (known only when it read the statuses; messages come only with writes).
async fn every_mailbox_reads(f: &SessionFixture) -> bool {
    let full = f
        .since_full
        .fetch_add(1, Ordering::Relaxed)
        .is_multiple_of(FULL_CHECK_EVERY);
    if !full && f.mail.store.write_stats().writes == f.verified_writes.load(Ordering::Relaxed) {
        return false;
    }
    let mailboxes = f
        .mail
        .store
        .mailbox_list(f.mail.user)
        .await
        .expect("the mailbox list");
    let mut changed = Vec::new();
    let mut messages = 0u32;
    for m in mailboxes {
        let status = f
            .mail
            .store
            .mailbox_status(m.id)
            .await
            .expect("a listed mailbox's status");
        messages = messages.saturating_add(status.messages);
        let verified = f.verified.lock().expect("not poisoned");
        if full || verified.get(&m.id) != Some(&status) {
            changed.push(status);
        }
    }
    if !changed.is_empty() {
        read_each(f, changed).await;
    }
    // After the check's own reads, which may write too (SELECT's \Recent).
    f.verified_writes
        .store(f.mail.store.write_stats().writes, Ordering::Relaxed);
    messages > FIXTURE_MESSAGES
}

/// A new session of the fixture's user SELECTs each of `changed` and
/// FETCHes all its messages with `OK` and no `SERVERBUG`.
async fn read_each(f: &SessionFixture, changed: Vec<MailboxStatus>) {
    let mut session = logged_in(&f.ctx).await;
    for status in changed {
        let m = &status.mailbox;
        let name = utf7::encode(&m.name);
        let select = format!("s SELECT {{{}+}}\r\n{name}\r\n", name.len());
        run(&mut session, select.as_bytes(), "s").await;
        let fetch = b"f FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[])\r\n";
        let out = run(&mut session, fetch, "f").await;
        assert!(!server_bug(&out), "{}", m.name);
        let id = m.id;
        f.verified.lock().expect("not poisoned").insert(id, status);
    }
}

async fn drive_session(session: &mut Session, data: &[u8]) {
    let limits = FrameLimits {
        max_line: SESSION_LINE,
        max_literal: SESSION_LITERAL,
        max_command: SESSION_LITERAL + SESSION_LINE as u64 * 4,
        non_sync: NonSyncLiterals::Plus,
    };
    let mut framer = CommandFramer::new(limits);
    let mut idle: Option<Tag> = None;
    let mut sasl = false;
    let mut buf: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::new();
    for piece in chunks(data) {
        buf.extend_from_slice(piece);
        loop {
            let step = if sasl || idle.is_some() {
                framer.next_line(&buf)
            } else {
                framer.next(&buf)
            };
            let flow = match step {
                Ok(None) => break,
                Ok(Some(Framed::Command { len })) => {
                    let bytes: Vec<u8> = buf.drain(..len).collect();
                    let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if let Some(tag) = idle.take() {
                        if is_idle_done(line) {
                            session.idle_done(tag, &mut out).await;
                        }
                        Flow::Continue
                    } else if std::mem::take(&mut sasl) {
                        session.sasl_line(line, &mut out).await
                    } else {
                        match parse_command(&bytes, &session.parse_options()) {
                            Ok(cmd) => session.command(cmd, &mut out).await,
                            Err(e) => session.refuse(&e, &mut out),
                        }
                    }
                }
                Ok(Some(Framed::NeedLiteral(req))) => {
                    if req.size > SESSION_LITERAL {
                        let n = framer.literal_refused();
                        buf.drain(..n.min(buf.len()));
                    } else {
                        framer.literal_accepted();
                    }
                    Flow::Continue
                }
                Ok(Some(Framed::Discarding { consumed })) => {
                    buf.drain(..consumed.min(buf.len()));
                    Flow::Continue
                }
                Err(e) => {
                    buf.drain(..e.consumed.min(buf.len()));
                    // As the driver: a literal over the limit is a NO, the
                    // rest a counted BAD.
                    if matches!(e.kind, FrameErrorKind::LiteralTooBig { .. }) {
                        Flow::Continue
                    } else {
                        session.bad(e.tag, "refused", &mut out)
                    }
                }
            };
            assert!(!server_bug(&out), "{}", String::from_utf8_lossy(&out));
            out.clear();
            match flow {
                Flow::Continue => {}
                Flow::SaslContinue => sasl = true,
                Flow::Idle(tag) => {
                    session.updates(&mut out).await;
                    idle = Some(tag);
                }
                // No TLS here; both end the connection.
                Flow::StartTls | Flow::Close => return,
            }
        }
    }
}
