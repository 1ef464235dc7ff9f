//! The tokio driver: frames commands and their literals (answering `+` for
//! synchronizing ones, refusing over-limit ones without reading them),
//! hands parsed commands to the session one after the other, writes its
//! responses (each as soon as its command ends when more are pipelined), runs
//! STARTTLS, COMPRESS=DEFLATE (RFC 4978), and IDLE (RFC 2177), where the
//! socket and the mailbox's change feed are watched together so updates go
//! out at once. A FETCH's answer is written while it runs, chunk by chunk
//! (`streamed`), so a big mailbox's answer is never held whole. A STORE
//! with an EXPUNGE pipelined right behind it (a client's delete) runs with
//! it in one write, one commit (`pipelined_expunge`, `session/pipelined.rs`).

use std::sync::Arc;

use postern_net::{Connection, Handler, HandlerFuture, HandlerResult, MaybeTlsStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::compress::Deflate;
use crate::session::{Context, Flow, Session};
use crate::wire::{
    self, CommandFramer, FrameErrorKind, FrameLimits, Framed, NonSyncLiterals, Status,
    StatusResponse, Tag,
};

/// Plugs IMAP into `postern-net`'s accept path.
pub struct ImapHandler {
    ctx: Context,
}

impl ImapHandler {
    pub fn new(ctx: Context) -> Arc<ImapHandler> {
        Arc::new(ImapHandler { ctx })
    }
}

impl Handler for ImapHandler {
    fn handle(&self, conn: Connection) -> HandlerFuture {
        Box::pin(run(self.ctx.clone(), conn))
    }

    fn refuse(&self) -> &'static [u8] {
        b"* BYE [UNAVAILABLE] Too many connections, try again later\r\n"
    }

    // RFC 9051 §7.1.5: BYE may be the greeting when the server will not
    // accept the connection.
    fn blocked_line(&self) -> &'static [u8] {
        b"* BYE Access denied, your address is blocked\r\n"
    }
}

enum Mode {
    Commands,
    Sasl,
    Idle(Tag),
}

/// Largest literal before login: enough for any credentials.
const PRE_AUTH_LITERAL: u64 = 8 * 1024;
/// Read size while a command or literal is arriving.
const READ_CHUNK: usize = 16 * 1024;
/// Read size when nothing is pending: most connections spend their life
/// waiting (IDLE, a client's poll interval), and what they hold meanwhile
/// is the server's memory per connection. Larger input continues in
/// `READ_CHUNK` reads.
const WAIT_CHUNK: usize = 1024;
/// A response buffer above this is given back once flushed (after a large
/// FETCH) rather than kept for the connection's life.
const KEEP_OUT: usize = 8 * 1024;

async fn run(ctx: Context, conn: Connection) -> HandlerResult {
    let Connection {
        stream,
        peer,
        shutdown,
        tls,
        tls_handshake_timeout,
        ..
    } = conn;
    let cfg = ctx.cfg.clone();
    let limits = FrameLimits {
        max_line: cfg.max_line,
        max_literal: cfg.max_literal,
        max_command: cfg.max_literal + cfg.max_line as u64 * 4,
        non_sync: NonSyncLiterals::Plus,
    };
    let mut stream = stream;
    let mut session = Session::new(ctx, peer, stream.is_tls());
    let mut framer = CommandFramer::new(limits);
    let mut mode = Mode::Commands;
    let mut buf: Vec<u8> = Vec::new();
    let mut out: Vec<u8> = Vec::new();
    let mut deflate: Option<Box<Deflate>> = None;
    session.greeting(&mut out);

    loop {
        // Handle everything complete in the buffer.
        let step = match &mode {
            Mode::Commands => framer.next(&buf),
            Mode::Sasl | Mode::Idle(_) => framer.next_line(&buf),
        };
        let mut flow = None;
        match step {
            Ok(Some(Framed::Command { len })) => {
                let bytes: Vec<u8> = buf.drain(..len).collect();
                match std::mem::replace(&mut mode, Mode::Commands) {
                    Mode::Commands => {
                        let opts = session.parse_options();
                        flow = Some(match wire::parse_command(&bytes, &opts) {
                            // COMPRESS changes the stream, so the driver runs it.
                            Ok(wire::Command {
                                tag,
                                body: wire::CommandBody::Compress(alg),
                            }) => {
                                if !session.is_authenticated() {
                                    session.bad(Some(tag), "Log in first", &mut out)
                                } else if deflate.is_some() {
                                    StatusResponse::new(
                                        Some(tag),
                                        Status::No,
                                        "Already compressing",
                                    )
                                    .with_code(wire::Code::CompressionActive)
                                    .encode(&mut out);
                                    Flow::Continue
                                } else if alg != "DEFLATE" {
                                    session.bad(
                                        Some(tag),
                                        "Unknown compression algorithm",
                                        &mut out,
                                    )
                                } else {
                                    StatusResponse::new(Some(tag), Status::Ok, "DEFLATE active")
                                        .encode(&mut out);
                                    flush(&mut stream, &mut out, &mut None).await?;
                                    deflate = Some(Deflate::new());
                                    Flow::Continue
                                }
                            }
                            // A FETCH may answer a big mailbox: its
                            // lines go out as they are made.
                            Ok(cmd) if matches!(cmd.body, wire::CommandBody::Fetch { .. }) => {
                                streamed(&mut session, cmd, &mut out, &mut stream, &mut deflate)
                                    .await?
                            }
                            // A delete (STORE +FLAGS (\Deleted), then
                            // EXPUNGE) pipelined: one write for both.
                            Ok(cmd) if matches!(cmd.body, wire::CommandBody::Store { .. }) => {
                                match pipelined_expunge(&mut framer, &mut buf) {
                                    Some(next) => match wire::parse_command(&next, &opts) {
                                        Ok(next) => {
                                            session.store_then_expunge(cmd, next, &mut out).await
                                        }
                                        Err(e) => match session.command(cmd, &mut out).await {
                                            Flow::Continue => session.refuse(&e, &mut out),
                                            flow => flow,
                                        },
                                    },
                                    None => session.command(cmd, &mut out).await,
                                }
                            }
                            Ok(cmd) => session.command(cmd, &mut out).await,
                            Err(e) => session.refuse(&e, &mut out),
                        });
                    }
                    Mode::Sasl => {
                        let line = trim_eol(&bytes);
                        flow = Some(session.sasl_line(line, &mut out).await);
                    }
                    Mode::Idle(tag) => {
                        if wire::is_idle_done(trim_eol(&bytes)) {
                            session.idle_done(tag, &mut out).await;
                        } else {
                            StatusResponse::new(Some(tag), Status::Bad, "Expected DONE")
                                .encode(&mut out);
                        }
                        flow = Some(Flow::Continue);
                    }
                }
            }
            Ok(Some(Framed::NeedLiteral(req))) => {
                let limit = if session.is_authenticated() {
                    cfg.max_literal
                } else {
                    PRE_AUTH_LITERAL
                };
                if req.size > limit {
                    let n = framer.literal_refused();
                    buf.drain(..n.min(buf.len()));
                    StatusResponse::new(req.tag, Status::No, "Literal too big")
                        .with_code(wire::Code::TooBig)
                        .encode(&mut out);
                } else {
                    framer.literal_accepted();
                    wire::response::continuation(&mut out, "Ready for literal data");
                }
            }
            Ok(Some(Framed::Discarding { consumed })) => {
                buf.drain(..consumed.min(buf.len()));
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                buf.drain(..e.consumed.min(buf.len()));
                let (status, text) = match e.kind {
                    FrameErrorKind::LiteralTooBig { .. } => (Status::No, "Literal too big"),
                    FrameErrorKind::NonSyncTooBig { .. } => {
                        (Status::Bad, "Non-synchronizing literal too big")
                    }
                    FrameErrorKind::LineTooLong => (Status::Bad, "Line too long"),
                    FrameErrorKind::CommandTooBig => (Status::Bad, "Command too big"),
                };
                if status == Status::No {
                    StatusResponse::new(e.tag, status, text)
                        .with_code(wire::Code::TooBig)
                        .encode(&mut out);
                } else {
                    flow = Some(session.bad(e.tag, text, &mut out));
                }
            }
        }
        match flow {
            Some(Flow::Continue) => {
                // Pipelined input follows (RFC 9051 §5.5): this command's
                // answer is complete, so it goes now rather than after the
                // next one's work (a STORE waiting for its commit).
                if !buf.is_empty() {
                    flush(&mut stream, &mut out, &mut deflate).await?;
                }
                continue;
            }
            Some(Flow::SaslContinue) => {
                mode = Mode::Sasl;
                continue;
            }
            Some(Flow::Idle(tag)) => {
                session.updates(&mut out).await;
                wire::response::continuation(&mut out, "idling");
                mode = Mode::Idle(tag);
                continue;
            }
            Some(Flow::StartTls) => {
                flush(&mut stream, &mut out, &mut deflate).await?;
                // RFC 9051 §6.2.1: plaintext after STARTTLS is discarded.
                buf.clear();
                framer = CommandFramer::new(limits);
                let Some(tls) = &tls else { return Ok(()) };
                stream = stream
                    .starttls_within(&tls.acceptor(), tls_handshake_timeout)
                    .await?;
                session.tls_started();
                continue;
            }
            Some(Flow::Close) => {
                flush(&mut stream, &mut out, &mut deflate).await?;
                let _ = stream.shutdown().await;
                return Ok(());
            }
            None => {}
        }

        // Nothing complete. Commands may still wait inside the decompressor
        // (a pipelined batch arrives in one compressed chunk): take them
        // before waiting on a socket the client will not write to again
        // until it has its answers.
        if let Some(d) = &mut deflate
            && d.has_pending()
        {
            d.inflate_into(&mut buf, READ_CHUNK)?;
            continue;
        }
        // Send what is pending, then wait for input (and, while idling, for
        // mailbox changes).
        flush(&mut stream, &mut out, &mut deflate).await?;
        let timeout = if session.is_authenticated() {
            cfg.idle_timeout
        } else {
            cfg.login_timeout
        };
        let deadline = Instant::now() + timeout;
        if out.capacity() > KEEP_OUT {
            out = Vec::new();
        }
        let start = buf.len();
        let chunk = if start == 0 {
            if buf.capacity() > 4 * WAIT_CHUNK {
                buf = Vec::new();
            }
            WAIT_CHUNK
        } else {
            // Part of a command is here: acknowledge at once, so a client
            // holding back its tail for the ACK (Nagle) is not kept waiting.
            stream.quick_ack();
            READ_CHUNK
        };
        buf.resize(start + chunk, 0);
        let idling = matches!(mode, Mode::Idle(_));
        let compressed = deflate.is_some();
        let read = tokio::select! {
            _ = shutdown.cancelled() => {
                buf.truncate(start);
                session.bye(&mut out, "Server shutting down");
                flush(&mut stream, &mut out, &mut deflate).await?;
                return Ok(());
            }
            () = async {
                if idling {
                    session.idle_event().await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => {
                buf.truncate(start);
                session.updates(&mut out).await;
                continue;
            }
            r = tokio::time::timeout_at(deadline, stream.read(&mut buf[start..])) => r,
        };
        match read {
            Err(_) => {
                buf.truncate(start);
                session.bye(&mut out, "Autologout; idle for too long");
                flush(&mut stream, &mut out, &mut deflate).await?;
                return Ok(());
            }
            Ok(Ok(0)) => return Ok(()),
            Ok(Ok(n)) if compressed => {
                if let Some(d) = &mut deflate {
                    d.feed(&buf[start..start + n]);
                    buf.truncate(start);
                    d.inflate_into(&mut buf, READ_CHUNK)?;
                }
            }
            Ok(Ok(n)) => buf.truncate(start + n),
            Ok(Err(e)) => return Err(e.into()),
        }
    }
}

/// Longest line looked at for an EXPUNGE pipelined behind a STORE.
const PEEK_LINE: usize = 512;

/// When the next complete command in `buf` is an `EXPUNGE` or `UID
/// EXPUNGE` (no literal), takes it out of `buf` (the framer stepping past
/// it) for the STORE before it to run with (`session/pipelined.rs`).
fn pipelined_expunge(framer: &mut CommandFramer, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let end = buf.iter().take(PEEK_LINE).position(|&b| b == b'\n')?;
    if !Session::expunge_line(trim_eol(&buf[..=end])) {
        return None;
    }
    let mut ahead = framer.clone();
    match ahead.next(buf) {
        Ok(Some(Framed::Command { len })) => {
            *framer = ahead;
            Some(buf.drain(..len).collect())
        }
        _ => None,
    }
}

fn trim_eol(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}

/// Runs `cmd`, writing the parts of its answer the session hands on
/// meanwhile (`Session::set_sink`): a FETCH of a 100,000-message mailbox
/// holds a chunk at a time, not its whole answer. What the command leaves
/// in `out` (its last lines, the tagged status) follows them.
async fn streamed(
    session: &mut Session,
    cmd: wire::Command,
    out: &mut Vec<u8>,
    stream: &mut MaybeTlsStream,
    deflate: &mut Option<Box<Deflate>>,
) -> std::io::Result<Flow> {
    // One chunk waiting while another is written: the session makes the
    // next meanwhile, and waits when the client reads slower.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    session.set_sink(Some(tx));
    let flow = {
        let run = session.command(cmd, out);
        tokio::pin!(run);
        loop {
            tokio::select! {
                biased;
                flow = &mut run => break flow,
                Some(mut chunk) = rx.recv() => flush(stream, &mut chunk, deflate).await?,
            }
        }
    };
    session.set_sink(None);
    while let Ok(mut chunk) = rx.try_recv() {
        flush(stream, &mut chunk, deflate).await?;
    }
    Ok(flow)
}

async fn flush(
    stream: &mut MaybeTlsStream,
    out: &mut Vec<u8>,
    deflate: &mut Option<Box<Deflate>>,
) -> std::io::Result<()> {
    if !out.is_empty() {
        match deflate {
            Some(d) => stream.write_all(&d.deflate(out)?).await?,
            None => stream.write_all(out).await?,
        }
        stream.flush().await?;
        out.clear();
    }
    Ok(())
}
