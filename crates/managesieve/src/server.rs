//! The tokio driver: frames commands (literals inside, over-long ones and
//! over-large literals dropped as they arrive), hands them to the session,
//! writes its responses, runs STARTTLS, and closes on the idle timeout
//! (with `BYE`, RFC 5804 §1.3 allows it unasked) or at shutdown.

use std::sync::Arc;

use postern_net::{Connection, Handler, HandlerFuture, HandlerResult, MaybeTlsStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::session::{Context, Flow, Session};
use crate::wire::{Code, Frame, Framer, response};

/// Plugs ManageSieve into `postern-net`'s accept path.
pub struct ManageSieveHandler {
    ctx: Context,
}

impl ManageSieveHandler {
    pub fn new(ctx: Context) -> Arc<ManageSieveHandler> {
        Arc::new(ManageSieveHandler { ctx })
    }
}

impl Handler for ManageSieveHandler {
    fn handle(&self, conn: Connection) -> HandlerFuture {
        Box::pin(run(self.ctx.clone(), conn))
    }

    fn refuse(&self) -> &'static [u8] {
        b"BYE (TRYLATER) \"Too many connections, try again later\"\r\n"
    }

    // RFC 5804 §1.7: a server may greet with BYE and close.
    fn blocked_line(&self) -> &'static [u8] {
        b"BYE \"Access denied, your address is blocked\"\r\n"
    }
}

const READ_CHUNK: usize = 16 * 1024;

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
    let mut stream = stream;
    let mut session = Session::new(ctx, peer, stream.is_tls());
    let new_framer = |s: &Session| Framer::new(cfg.max_line, s.max_literal());
    let mut framer = new_framer(&session);
    let mut sasl = false;
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    session.greeting(&mut out);

    loop {
        let flow = match framer.next(&buf) {
            Some(Frame::Command { len }) => {
                let input = &buf[..len];
                let flow = if sasl {
                    session.sasl_response(input, &mut out).await
                } else {
                    session.command(input, &mut out).await
                };
                buf.drain(..len);
                Some(flow)
            }
            Some(Frame::Discarding { consumed }) => {
                // What follows may be in the buffer already (the octets
                // of a literal being dropped): frame again before reading.
                buf.drain(..consumed.min(buf.len()));
                continue;
            }
            Some(Frame::Refused { consumed, why }) => {
                buf.drain(..consumed.min(buf.len()));
                Some(session.refused(why, &mut out))
            }
            None => None,
        };
        match flow {
            Some(Flow::Continue) => {
                sasl = false;
                continue;
            }
            Some(Flow::Sasl) => {
                sasl = true;
                continue;
            }
            Some(Flow::StartTls) => {
                sasl = false;
                flush(&mut stream, &mut out).await?;
                // CVE-2011-0411: what was pipelined after STARTTLS came in
                // plaintext and is dropped.
                buf.clear();
                framer = new_framer(&session);
                let Some(tls) = &tls else { return Ok(()) };
                stream = stream
                    .starttls_within(&tls.acceptor(), tls_handshake_timeout)
                    .await?;
                session.tls_started(&mut out);
                continue;
            }
            Some(Flow::Close) => {
                flush(&mut stream, &mut out).await?;
                let _ = stream.shutdown().await;
                return Ok(());
            }
            None => {}
        }

        // Nothing complete: send what is pending, then wait for input.
        flush(&mut stream, &mut out).await?;
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let read = tokio::select! {
            _ = shutdown.cancelled() => {
                response::bye(&mut out, Some(&Code::TryLater), "Server shutting down");
                let _ = flush(&mut stream, &mut out).await;
                let _ = stream.shutdown().await;
                return Ok(());
            }
            r = tokio::time::timeout(cfg.idle_timeout, stream.read_buf(&mut buf)) => r,
        };
        match read {
            Err(_) => {
                tracing::debug!("idle timeout, closing");
                response::bye(&mut out, None, "Idle for too long, closing");
                let _ = flush(&mut stream, &mut out).await;
                let _ = stream.shutdown().await;
                return Ok(());
            }
            Ok(Ok(0)) => return Ok(()),
            Ok(Ok(_)) => {}
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
