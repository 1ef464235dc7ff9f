//! The tokio driver: reads with limits and deadlines, frames commands,
//! feeds DATA and BDAT bytes to their readers, writes replies, and upgrades
//! to TLS. Replies are buffered while complete commands remain in the input
//! and flushed before any read that could wait (RFC 2920 §3.2), so a
//! pipelining client gets its replies in groups and never deadlocks. A
//! blocked client gets `554` and only QUIT (`refuse_blocked`).

use std::sync::Arc;

use postern_net::{Connection, Handler, HandlerFuture, HandlerResult, MaybeTlsStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::config::Mode;
use crate::session::{Action, Context, Session};
use crate::wire::{ChunkReader, CommandFramer, DataReader, Frame, Reply};

/// Plugs SMTP into `postern-net`'s accept path for one listener.
pub struct SmtpHandler {
    ctx: Context,
    mode: Mode,
}

impl SmtpHandler {
    pub fn new(ctx: Context, mode: Mode) -> Arc<SmtpHandler> {
        Arc::new(SmtpHandler { ctx, mode })
    }
}

impl Handler for SmtpHandler {
    fn handle(&self, conn: Connection) -> HandlerFuture {
        Box::pin(run(self.ctx.clone(), self.mode, conn))
    }

    fn refuse(&self) -> &'static [u8] {
        b"421 4.3.2 Too many connections, try again later\r\n"
    }

    fn blocked(&self, conn: Connection) -> HandlerFuture {
        Box::pin(refuse_blocked(self.ctx.cfg.hostname.clone(), conn))
    }
}

/// Commands a blocked client may send before we close anyway.
const BLOCKED_COMMANDS: usize = 10;

/// How long a blocked client gets for each of them.
const BLOCKED_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// A blocked client's session, RFC 5321 §3.1: `554` instead of the `220`
/// greeting, then the server "MUST still wait for the client to send a
/// QUIT" and "SHOULD respond to any intervening commands with 503". The
/// wait is bounded (a few commands, a short timeout), so a blocked client
/// costs little.
async fn refuse_blocked(hostname: String, conn: Connection) -> HandlerResult {
    let mut stream = conn.stream;
    let mut out = Vec::new();
    Reply::new(
        554,
        (5, 7, 1),
        format!(
            "{hostname} Service unavailable; client [{}] blocked",
            conn.peer.ip().to_canonical()
        ),
    )
    .encode(&mut out);
    flush(&mut stream, &mut out).await?;
    let mut framer = CommandFramer::new(512);
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut answered = 0;
    while answered < BLOCKED_COMMANDS {
        if let Some((frame, n)) = framer.next(&buf) {
            let quit =
                matches!(frame, Frame::Line(l) if l.trim_ascii().eq_ignore_ascii_case(b"QUIT"));
            buf.drain(..n);
            if quit {
                Reply::new(221, (2, 0, 0), format!("{hostname} Bye")).encode(&mut out);
                flush(&mut stream, &mut out).await?;
                break;
            }
            Reply::new(503, (5, 5, 1), "Bad sequence of commands").encode(&mut out);
            answered += 1;
            continue;
        }
        flush(&mut stream, &mut out).await?;
        let start = buf.len();
        buf.resize(start + 1024, 0);
        match tokio::time::timeout(BLOCKED_WAIT, stream.read(&mut buf[start..])).await {
            Ok(Ok(n)) if n > 0 => buf.truncate(start + n),
            _ => return Ok(()),
        }
    }
    let _ = stream.shutdown().await;
    Ok(())
}

/// How the next input bytes are read.
enum Reading {
    Commands,
    Data(DataReader),
    Chunk {
        reader: ChunkReader,
        size: u64,
        last: bool,
    },
}

/// How much is read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

async fn run(ctx: Context, mode: Mode, conn: Connection) -> HandlerResult {
    let Connection {
        stream,
        peer,
        shutdown,
        tls,
        tls_handshake_timeout,
        ..
    } = conn;
    let cfg = ctx.cfg.clone();
    // A bearer token (RFC 7628) on submission can be longer than any
    // command; RFC 4954 §4 lets AUTH lines be longer than 512 octets.
    let max_line = match mode {
        Mode::Submission => cfg.max_command_line.max(ctx.directory.bearer_line_limit()),
        _ => cfg.max_command_line,
    };
    let mut stream = stream;
    let mut session = Session::new(ctx, mode, peer, stream.tls_info());
    let mut framer = CommandFramer::new(max_line);
    let mut reading = Reading::Commands;
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut out: Vec<u8> = Vec::with_capacity(1024);
    session.greeting().encode(&mut out);
    let mut deadline = Instant::now() + cfg.command_timeout;
    let mut data_deadline = deadline;

    loop {
        // Work through what is buffered before reading again.
        let action = match &mut reading {
            Reading::Commands => match framer.next(&buf) {
                // Part of an over-long line: dropped as it arrives.
                Some((Frame::Discarding, n)) => {
                    buf.drain(..n);
                    continue;
                }
                Some((frame, n)) => {
                    let a = session.line(frame).await;
                    buf.drain(..n);
                    Some(a)
                }
                None => None,
            },
            Reading::Data(reader) => {
                let (n, outcome) = reader.feed(&buf);
                buf.drain(..n);
                match outcome {
                    Some(o) => {
                        reading = Reading::Commands;
                        Some(session.data_done(o).await)
                    }
                    None => None,
                }
            }
            Reading::Chunk { reader, size, last } => {
                let (bytes, done) = reader.feed(&buf);
                let n = bytes.len();
                session.chunk_bytes(bytes);
                buf.drain(..n);
                if done {
                    let (size, last) = (*size, *last);
                    reading = Reading::Commands;
                    Some(session.chunk_done(size, last).await)
                } else {
                    None
                }
            }
        };
        if let Some(action) = action {
            deadline = Instant::now() + cfg.command_timeout;
            match action {
                Action::Reply(r) => r.encode(&mut out),
                Action::ReadData(r) => {
                    r.encode(&mut out);
                    reading = Reading::Data(DataReader::new(
                        cfg.max_message_size,
                        cfg.max_data_line,
                        cfg.bare_line_endings,
                    ));
                    data_deadline = Instant::now() + cfg.data_total_timeout;
                }
                Action::ReadChunk { size, last } => {
                    reading = Reading::Chunk {
                        reader: ChunkReader::new(size),
                        size,
                        last,
                    };
                    data_deadline = Instant::now() + cfg.data_total_timeout;
                }
                Action::StartTls(r) => {
                    r.encode(&mut out);
                    flush(&mut stream, &mut out).await?;
                    // RFC 3207 §4.2 / CVE-2011-0411: anything the client sent
                    // after STARTTLS in plaintext is thrown away.
                    buf.clear();
                    framer = CommandFramer::new(max_line);
                    let Some(tls) = &tls else {
                        return Ok(());
                    };
                    stream = stream
                        .starttls_within(&tls.acceptor(), tls_handshake_timeout)
                        .await?;
                    if let Some(info) = stream.tls_info() {
                        session.tls_started(info);
                    }
                }
                Action::Close(r) => {
                    r.encode(&mut out);
                    flush(&mut stream, &mut out).await?;
                    let _ = stream.shutdown().await;
                    return Ok(());
                }
            }
            continue;
        }

        // Nothing complete is buffered: send what is pending, then wait.
        flush(&mut stream, &mut out).await?;
        let wait_until = match reading {
            Reading::Commands => deadline,
            _ => (Instant::now() + cfg.data_timeout).min(data_deadline),
        };
        let start = buf.len();
        buf.resize(start + READ_CHUNK, 0);
        let read = tokio::select! {
            _ = shutdown.cancelled() => {
                buf.truncate(start);
                session.shutting_down().encode(&mut out);
                flush(&mut stream, &mut out).await?;
                let _ = stream.shutdown().await;
                return Ok(());
            }
            r = tokio::time::timeout_at(wait_until, stream.read(&mut buf[start..])) => r,
        };
        match read {
            Err(_) => {
                buf.truncate(start);
                tracing::info!("client timed out");
                session.timed_out().encode(&mut out);
                flush(&mut stream, &mut out).await?;
                let _ = stream.shutdown().await;
                return Ok(());
            }
            Ok(Ok(0)) => {
                tracing::debug!("client closed the connection");
                return Ok(());
            }
            Ok(Ok(n)) => buf.truncate(start + n),
            Ok(Err(e)) => return Err(e.into()),
        }
    }
}

async fn flush(stream: &mut MaybeTlsStream, out: &mut Vec<u8>) -> std::io::Result<()> {
    if !out.is_empty() {
        stream.write_all(out).await?;
        stream.flush().await?;
        out.clear();
    }
    Ok(())
}
