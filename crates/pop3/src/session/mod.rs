//! The POP3 session: the RFC 1939 states (AUTHORIZATION, TRANSACTION,
//! UPDATE) over the store and the directory. The driver hands it lines; it
//! writes responses into a buffer and says what the driver does next.
//! `auth.rs` holds USER/PASS, AUTH and STLS; `maildrop.rs` the snapshot
//! and the TRANSACTION commands and UPDATE; `readahead.rs` reading for
//! RETR/TOP; `lock.rs` the maildrop lock.

mod auth;
mod lock;
mod maildrop;
mod readahead;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;

use postern_auth::Directory;
use postern_store::Store;

use crate::config::Pop3Config;
use crate::wire::{Command, RespCode, parse_command, response};

pub use lock::{MaildropLock, Maildrops, Refused};
use maildrop::Maildrop;

/// Everything a session needs from the server around it.
#[derive(Clone)]
pub struct Context {
    pub cfg: Arc<Pop3Config>,
    pub store: Store,
    pub directory: Directory,
    /// Whether STLS can be offered (a certificate is loaded).
    pub starttls: bool,
    /// The per-user maildrop locks, shared by every POP3 session.
    pub maildrops: Maildrops,
}

/// What the driver does after a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    /// Read the next command.
    Continue,
    /// A `+` challenge was written: read one SASL response line.
    Sasl,
    /// Start TLS now (after `+OK`; buffered plaintext is dropped).
    StartTls,
    /// Close the connection (after what is written).
    Close,
}

enum State {
    /// Before login; `user` is what USER named, waiting for PASS.
    Authorization { user: Option<String> },
    /// Logged in, with the maildrop locked and its snapshot.
    Transaction(Box<Maildrop>),
}

pub struct Session {
    ctx: Context,
    peer: SocketAddr,
    tls: bool,
    state: State,
    /// An AUTH waiting for the client's next line.
    sasl: Option<auth::Pending>,
    /// Bad commands and failed logins so far.
    errors: usize,
}

impl Session {
    pub fn new(ctx: Context, peer: SocketAddr, tls: bool) -> Session {
        Session {
            ctx,
            peer,
            tls,
            state: State::Authorization { user: None },
            sasl: None,
            errors: 0,
        }
    }

    /// The greeting (RFC 1939 §4). No APOP timestamp: APOP is not offered.
    pub fn greeting(&self, out: &mut Vec<u8>) {
        response::ok(
            out,
            &format!("{} Postern POP3 server ready", self.ctx.cfg.hostname),
        );
    }

    /// After STLS: the session is encrypted from now on.
    pub fn tls_started(&mut self) {
        self.tls = true;
    }

    /// Work for the next command, for the driver to call when it has
    /// answered everything and waits for the client: builds the answer of
    /// the next message read ahead.
    pub fn prepare(&mut self) {
        if let State::Transaction(md) = &mut self.state {
            md.prepare();
        }
    }

    pub fn is_authenticated(&self) -> bool {
        matches!(self.state, State::Transaction(_))
    }

    /// Whether USER/PASS and AUTH may be used on this connection now.
    fn login_allowed(&self) -> bool {
        self.tls || (self.ctx.cfg.plaintext_on_loopback && self.peer.ip().is_loopback())
    }

    /// Whether a LIST or UIDL answer is part way written: the driver sends
    /// what is in `out` and calls [`Session::more`] until it is not.
    pub fn listing_pending(&self) -> bool {
        matches!(&self.state, State::Transaction(md) if md.listing_pending())
    }

    /// The next piece of a pending LIST or UIDL answer (see
    /// [`Session::listing_pending`]).
    pub fn more(&mut self, out: &mut Vec<u8>) {
        if let State::Transaction(md) = &mut self.state {
            md.more(out);
        }
    }

    /// One command line (CRLF included or not).
    pub async fn command(&mut self, line: &[u8], out: &mut Vec<u8>) -> Flow {
        // A driver that did not ask for the rest of a listing gets it
        // before the next answer: answers never interleave.
        while self.listing_pending() {
            self.more(out);
        }
        let cmd = match parse_command(line) {
            Ok(cmd) => cmd,
            Err(e) => return self.error(None, &e.message(), out),
        };
        tracing::debug!(verb = cmd.verb(), "command");
        match cmd {
            Command::Capa => {
                self.capa(out);
                Flow::Continue
            }
            Command::Noop => {
                response::ok(out, "");
                Flow::Continue
            }
            Command::Quit => self.quit(out).await,
            cmd => match &mut self.state {
                State::Authorization { .. } => self.authorization(cmd, out).await,
                State::Transaction(md) => match md.command(&self.ctx, cmd, out).await {
                    maildrop::Outcome::Done => Flow::Continue,
                    maildrop::Outcome::Bad(text) => self.error(None, &text, out),
                },
            },
        }
    }

    /// Answers a line that was longer than `max_line`.
    pub fn line_too_long(&mut self, out: &mut Vec<u8>) -> Flow {
        // A SASL exchange in progress ends with it.
        self.sasl = None;
        self.error(None, "Line too long", out)
    }

    /// A client mistake: `-ERR`, and the session closes when there were
    /// too many.
    fn error(&mut self, code: Option<RespCode>, text: &str, out: &mut Vec<u8>) -> Flow {
        self.errors += 1;
        if self.errors >= self.ctx.cfg.max_errors {
            response::err(out, code, &format!("{text}; too many errors, closing"));
            tracing::info!(errors = self.errors, "too many errors, closing");
            // Counted as abuse: enough such sessions block the client.
            self.ctx.directory.abuse().report_detached(
                self.peer.ip(),
                postern_auth::AbuseKind::TooManyErrors,
                "pop3",
            );
            return Flow::Close;
        }
        response::err(out, code, text);
        Flow::Continue
    }

    /// CAPA (RFC 2449 §5): what this state allows.
    fn capa(&self, out: &mut Vec<u8>) {
        response::ok(out, "Capability list follows");
        for c in ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"] {
            response::line(out, c);
        }
        if !self.is_authenticated() {
            if self.login_allowed() {
                response::line(out, "USER");
                if self.ctx.directory.oauth_enabled() {
                    response::line(out, "SASL PLAIN LOGIN OAUTHBEARER XOAUTH2");
                } else {
                    response::line(out, "SASL PLAIN LOGIN");
                }
            }
            if !self.tls && self.ctx.starttls {
                response::line(out, "STLS");
            }
        }
        let delay = self.ctx.cfg.login_delay.as_secs();
        if delay > 0 {
            response::line(out, &format!("LOGIN-DELAY {delay}"));
        }
        // RFC 2449 §6.7: the least number of days a retrieved message stays.
        match self.ctx.cfg.expire {
            None => response::line(out, "EXPIRE NEVER"),
            Some(after) => response::line(out, &format!("EXPIRE {}", after.as_secs() / 86_400)),
        }
        response::line(out, "IMPLEMENTATION Postern");
        response::end(out);
    }

    /// QUIT: from TRANSACTION this is UPDATE (RFC 1939 §6).
    async fn quit(&mut self, out: &mut Vec<u8>) -> Flow {
        let state = std::mem::replace(&mut self.state, State::Authorization { user: None });
        match state {
            State::Authorization { .. } => response::ok(
                out,
                &format!("{} Postern POP3 server signing off", self.ctx.cfg.hostname),
            ),
            State::Transaction(md) => md.update(&self.ctx, out).await,
        }
        Flow::Close
    }
}
