//! The SMTP session: RFC 5321's state machine over the store and the
//! directory. The driver (`server.rs`) feeds it framed lines, DATA outcomes
//! and BDAT chunks; it answers with an [`Action`] that says what to send and
//! how to read next. One file per command family: `envelope.rs` (MAIL,
//! RCPT), `greylist.rs` (greylisting at RCPT), `auth.rs` (AUTH),
//! `deliver.rs` (DATA, BDAT and the store call), `trace.rs` (Received and
//! Return-Path). Abuse (the junk-command limit, a mail loop, a session
//! closed for too many errors, a spam trap) is reported to the directory's
//! abuse tracker, which may block the client.

mod auth;
mod deliver;
mod envelope;
mod events;
mod greylist;
pub(crate) mod trace;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use postern_auth::{AbuseKind, Directory, Principal};
use postern_net::TlsInfo;
use postern_store::Store;

use crate::config::{Mode, SmtpConfig};
use crate::wire::{
    Command, ForwardPath, Frame, HopCounter, MailParams, Reply, ReversePath, parse_command,
};

pub(crate) use envelope::Recipient;
use events::Stage;
pub use greylist::GreylistConfig;

/// What the driver does after a step.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this reply and read the next command.
    Reply(Reply),
    /// Send this `354` and read the message with a `DataReader`.
    ReadData(Reply),
    /// Read `size` bytes of a BDAT chunk, pass them to `chunk_bytes`, then
    /// call `chunk_done` (RFC 3030: the bytes are read even if refused).
    ReadChunk { size: u64, last: bool },
    /// Send this `220`, drop every buffered byte, start TLS, then call
    /// `tls_started` (RFC 3207 §4.2, CVE-2011-0411).
    StartTls(Reply),
    /// Send this reply and close the connection.
    Close(Reply),
}

/// A mail transaction in progress (between MAIL and the end of data).
#[derive(Debug)]
struct Transaction {
    from: ReversePath,
    params: MailParams,
    rcpts: Vec<Recipient>,
    /// BDAT chunks so far, when the message comes by CHUNKING.
    chunks: Option<Vec<u8>>,
    /// The chunks overflowed the size limit: refuse at LAST.
    chunks_too_large: bool,
    /// `Received:` fields in the chunks so far (the loop check).
    chunk_hops: HopCounter,
    /// RCPTs refused with `452` because `rcpts` was full.
    overshoot: usize,
}

/// Everything the session needs from the server around it.
#[derive(Clone)]
pub struct Context {
    pub cfg: Arc<SmtpConfig>,
    pub store: Store,
    pub directory: Directory,
    /// Whether STARTTLS can be offered (a certificate is loaded).
    pub starttls: bool,
    /// Wakes the queue runner when a message was queued for other servers.
    pub queue_wake: crate::outbound::Wake,
    /// The inbound pipeline (port 25: SPF/DKIM/DMARC and the spam verdict)
    /// and DKIM signing (submission).
    pub delivery: Option<Arc<postern_delivery::Delivery>>,
}

pub struct Session {
    ctx: Context,
    mode: Mode,
    peer: SocketAddr,
    tls: Option<TlsInfo>,
    /// The EHLO/HELO argument, and whether it was EHLO.
    greeting: Option<(String, bool)>,
    user: Option<Principal>,
    tx: Option<Transaction>,
    errors: usize,
    /// Commands since the last accepted message that moved no mail
    /// forward (`is_junk`); bounded by `max_junk_commands`.
    junk: usize,
    /// A SASL exchange waiting for the client's next line.
    sasl: Option<auth::Exchange>,
    /// Messages accepted in this session (for log lines and ids).
    accepted: u64,
}

impl Session {
    pub fn new(ctx: Context, mode: Mode, peer: SocketAddr, tls: Option<TlsInfo>) -> Session {
        Session {
            ctx,
            mode,
            peer,
            tls,
            greeting: None,
            user: None,
            tx: None,
            errors: 0,
            junk: 0,
            sasl: None,
            accepted: 0,
        }
    }

    /// The `220` greeting (RFC 5321 §4.3.1).
    pub fn greeting(&self) -> Reply {
        Reply::multi(
            220,
            None,
            vec![format!("{} ESMTP Postern", self.ctx.cfg.hostname)],
        )
    }

    /// The reply when the server shuts down mid-session.
    pub fn shutting_down(&self) -> Reply {
        Reply::new(
            421,
            (4, 3, 2),
            format!("{} Service shutting down", self.ctx.cfg.hostname),
        )
    }

    /// The reply when the client was silent for too long (RFC 5321 §4.5.3.2).
    pub fn timed_out(&self) -> Reply {
        Reply::new(
            421,
            (4, 4, 2),
            format!("{} Timeout, closing connection", self.ctx.cfg.hostname),
        )
    }

    /// Whether the driver should read with the DATA timeout.
    pub fn in_sasl(&self) -> bool {
        self.sasl.is_some()
    }

    /// A line from the client: a command, or the next step of an AUTH exchange.
    pub async fn line(&mut self, frame: Frame<'_>) -> Action {
        if let Some(ex) = self.sasl.take() {
            return self.auth_step(ex, frame).await;
        }
        let line = match frame {
            Frame::Line(l) => l,
            // RFC 5321 §4.5.3.1.4: 500 for a line over the limit.
            Frame::TooLong | Frame::Discarding => {
                return self.error(Reply::new(500, (5, 5, 2), "Line too long"));
            }
        };
        match parse_command(line) {
            Ok(cmd) => {
                tracing::debug!(verb = cmd.verb(), "command");
                self.command(cmd).await
            }
            Err(e) => self.error(e.reply()),
        }
    }

    async fn command(&mut self, cmd: Command) -> Action {
        if self.is_junk(&cmd)
            && let Some(close) = self.junk().await
        {
            return close;
        }
        match cmd {
            Command::Ehlo(d) => self.hello(d, true),
            Command::Helo(d) => self.hello(d, false),
            Command::Mail { from, params } => {
                let mode = self.mode;
                self.mail(from, params).await.counted(mode, Stage::Mail)
            }
            Command::Rcpt { to, params } => {
                let mode = self.mode;
                self.rcpt(to, params).await.counted(mode, Stage::Rcpt)
            }
            Command::Data => self.data(),
            Command::Bdat { size, last } => self.bdat(size, last),
            Command::Rset => {
                self.tx = None;
                Action::Reply(Reply::new(250, (2, 0, 0), "Ok"))
            }
            Command::Noop => Action::Reply(Reply::new(250, (2, 0, 0), "Ok")),
            Command::Quit => Action::Close(Reply::new(
                221,
                (2, 0, 0),
                format!("{} Bye", self.ctx.cfg.hostname),
            )),
            // RFC 5321 §3.5.3: 252 when the server will not verify; nothing disclosed.
            Command::Vrfy(_) => Action::Reply(Reply::new(
                252,
                (2, 5, 0),
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Command::Expn(_) => Action::Reply(Reply::new(502, (5, 5, 1), "EXPN not available")),
            Command::Help => Action::Reply(Reply::new(
                214,
                (2, 0, 0),
                "Postern SMTP: see RFC 5321 for the commands this server implements",
            )),
            Command::Starttls => self.starttls(),
            Command::Auth { mechanism, initial } => self.auth(mechanism, initial).await,
        }
    }

    /// EHLO / HELO (RFC 5321 §4.1.1.1): a new greeting resets the transaction.
    fn hello(&mut self, domain: String, extended: bool) -> Action {
        self.tx = None;
        self.greeting = Some((domain.clone(), extended));
        let host = &self.ctx.cfg.hostname;
        if !extended {
            return Action::Reply(Reply::multi(
                250,
                None,
                vec![format!("{host} Hello {domain}")],
            ));
        }
        let mut lines = vec![
            format!("{host} Hello {domain}"),
            "PIPELINING".to_string(),
            format!("SIZE {}", self.ctx.cfg.max_message_size),
            "8BITMIME".to_string(),
            "SMTPUTF8".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
            "CHUNKING".to_string(),
            "BINARYMIME".to_string(),
            "DSN".to_string(),
        ];
        if self.tls.is_none() && self.ctx.starttls {
            lines.push("STARTTLS".to_string());
        }
        if self.mode == Mode::Submission && self.tls.is_some() && self.user.is_none() {
            if self.ctx.directory.oauth_enabled() {
                lines.push("AUTH PLAIN LOGIN OAUTHBEARER XOAUTH2".to_string());
            } else {
                lines.push("AUTH PLAIN LOGIN".to_string());
            }
        }
        Action::Reply(Reply::multi(250, None, lines))
    }

    fn starttls(&mut self) -> Action {
        if self.tls.is_some() {
            return self.error(Reply::new(503, (5, 5, 1), "TLS already active"));
        }
        if !self.ctx.starttls {
            return self.error(Reply::new(502, (5, 5, 1), "STARTTLS not available"));
        }
        Action::StartTls(Reply::new(220, (2, 0, 0), "Ready to start TLS"))
    }

    /// After the TLS handshake: forget everything said in plaintext
    /// (RFC 3207 §4.2): the client must greet again.
    pub fn tls_started(&mut self, info: TlsInfo) {
        self.tls = Some(info);
        self.greeting = None;
        self.user = None;
        self.tx = None;
        self.sasl = None;
    }

    /// Whether `cmd` can move no mail forward: without a bound, a client
    /// could hold a connection for ever with them (as Postfix's
    /// smtpd_junk_command_limit, which counts NOOP, VRFY, ETRN and RSET).
    /// The first greeting, and the one RFC 3207 §4.2 requires after
    /// STARTTLS, are not junk; MAIL, a new RCPT, DATA and BDAT are the
    /// transaction itself, and errors have their own counter.
    ///
    /// A RCPT past `max_recipients` gets `452` and the client sends it
    /// again later (RFC 5321 §4.5.3.1.10); a client pipelining a long list
    /// may overshoot by as many again before it sees the first `452`, so
    /// only RCPTs past that are junk (as Postfix's
    /// smtpd_recipient_overshoot_limit).
    fn is_junk(&self, cmd: &Command) -> bool {
        let max_rcpts = self.ctx.cfg.max_recipients;
        match cmd {
            Command::Noop | Command::Rset | Command::Vrfy(_) | Command::Expn(_) | Command::Help => {
                true
            }
            Command::Ehlo(_) | Command::Helo(_) => self.greeting.is_some(),
            Command::Rcpt { to, .. } => self.tx.as_ref().is_some_and(|tx| {
                let full = tx.rcpts.len() >= max_rcpts && tx.overshoot >= max_rcpts;
                full || matches!(to, ForwardPath::Mailbox(m)
                    if tx.rcpts.iter().any(|r| r.address == m.address()))
            }),
            _ => false,
        }
    }

    /// Counts a junk command: past `max_junk_commands` since the last
    /// accepted message the session ends with `421 4.7.0`; before that,
    /// past `junk_before_delay`, the reply waits a growing, bounded time.
    async fn junk(&mut self) -> Option<Action> {
        self.junk = self.junk.saturating_add(1);
        let cfg = &self.ctx.cfg;
        if self.junk > cfg.max_junk_commands {
            tracing::info!(junk = self.junk, "too many commands without mail, closing");
            self.abuse(AbuseKind::JunkCommands);
            return Some(Action::Close(Reply::new(
                421,
                (4, 7, 0),
                format!(
                    "{} Too many commands without mail, closing connection",
                    cfg.hostname
                ),
            )));
        }
        let delay = junk_delay(cfg, self.junk);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        None
    }

    /// Counts a client error; too many close the session (`421`). A mail
    /// loop (`5.4.6`, RFC 3463: routing loop detected) and the close are
    /// abuse events too.
    fn error(&mut self, reply: Reply) -> Action {
        self.errors += 1;
        if reply.status == Some((5, 4, 6)) {
            self.abuse(AbuseKind::MailLoop);
        }
        if self.errors >= self.ctx.cfg.max_errors {
            tracing::info!(errors = self.errors, "too many errors, closing");
            self.abuse(AbuseKind::TooManyErrors);
            return Action::Close(Reply::new(
                421,
                (4, 7, 0),
                format!(
                    "{} Too many errors, closing connection",
                    self.ctx.cfg.hostname
                ),
            ));
        }
        Action::Reply(reply)
    }
}

impl Session {
    /// Reports an abuse event by this client (counted on a task of its
    /// own: the reply does not wait).
    fn abuse(&self, kind: AbuseKind) {
        self.ctx
            .directory
            .abuse()
            .report_detached(self.peer.ip(), kind, "smtp");
    }
}

/// How long the reply to the `junk`-th junk command waits: nothing up to
/// `junk_before_delay`, then one `junk_delay_step` more per command, never
/// more than `junk_max_delay`.
fn junk_delay(cfg: &SmtpConfig, junk: usize) -> Duration {
    let beyond = u32::try_from(junk.saturating_sub(cfg.junk_before_delay)).unwrap_or(u32::MAX);
    cfg.junk_delay_step
        .saturating_mul(beyond)
        .min(cfg.junk_max_delay)
}

#[cfg(test)]
mod tests;
