//! The ManageSieve session: the two states of RFC 5804 (not authenticated,
//! authenticated) over the store and the directory. The driver hands it
//! whole commands (literals inside); it writes responses into a buffer and
//! says what the driver does next. `auth.rs` holds AUTHENTICATE, STARTTLS
//! and UNAUTHENTICATE; `scripts.rs` the script commands.

mod auth;
mod scripts;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;

use postern_auth::{Directory, Principal};
use postern_delivery::SieveLimits;
use postern_store::Store;

use crate::config::ManageSieveConfig;
use crate::wire::{Code, Command, Refusal, parse_command, response};

/// Everything a session needs from the server around it.
#[derive(Clone)]
pub struct Context {
    pub cfg: Arc<ManageSieveConfig>,
    pub store: Store,
    pub directory: Directory,
    /// Whether STARTTLS can be offered (a certificate is loaded).
    pub starttls: bool,
    /// `[sieve]`'s limits: the script size and count are this protocol's
    /// quota, and PUTSCRIPT checks scripts as delivery will run them.
    pub limits: Arc<SieveLimits>,
}

/// What the driver does after a command.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    /// Read the next command.
    Continue,
    /// A SASL challenge was written: read the client's response string.
    Sasl,
    /// Start TLS now (after `OK`; buffered plaintext is dropped), then
    /// call [`Session::tls_started`].
    StartTls,
    /// Close the connection (after what is written).
    Close,
}

pub struct Session {
    ctx: Context,
    peer: SocketAddr,
    tls: bool,
    /// Who logged in; `None` before AUTHENTICATE succeeds.
    user: Option<Principal>,
    /// An AUTHENTICATE waiting for the client's next response.
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
            user: None,
            sasl: None,
            errors: 0,
        }
    }

    /// The largest literal the driver's framer lets through: a script of
    /// the largest size allowed.
    pub fn max_literal(&self) -> u64 {
        self.ctx.limits.max_script_bytes as u64
    }

    /// The greeting (RFC 5804 §1.7): the capabilities, then `OK`.
    pub fn greeting(&self, out: &mut Vec<u8>) {
        self.capabilities(out);
        response::ok(out, None, "Postern ManageSieve ready");
    }

    /// After STARTTLS: RFC 5804 §2.2 has the server send its capabilities
    /// again, unasked, since they may have changed (SASL now offered).
    pub fn tls_started(&mut self, out: &mut Vec<u8>) {
        self.tls = true;
        self.greeting(out);
    }

    pub fn is_authenticated(&self) -> bool {
        self.user.is_some()
    }

    /// Whether AUTHENTICATE may be used on this connection now.
    fn login_allowed(&self) -> bool {
        self.tls || (self.ctx.cfg.plaintext_on_loopback && self.peer.ip().is_loopback())
    }

    /// One framed command (its literals inside).
    pub async fn command(&mut self, input: &[u8], out: &mut Vec<u8>) -> Flow {
        let cmd = match parse_command(input) {
            Ok(cmd) => cmd,
            Err(e) => return self.error(None, &e.to_string(), out),
        };
        tracing::debug!(verb = cmd.verb(), "command");
        match cmd {
            Command::Capability => {
                self.capabilities(out);
                response::ok(out, None, "Capability completed");
                Flow::Continue
            }
            Command::Noop { tag } => {
                // RFC 5804 §2.13: the tag comes back in a TAG code.
                let code = tag.map(Code::Tag);
                response::ok(out, code.as_ref(), "Done");
                Flow::Continue
            }
            Command::Logout => {
                response::ok(out, None, "Logout completed");
                Flow::Close
            }
            Command::StartTls => self.starttls(out),
            Command::Authenticate { mechanism, initial } => {
                self.authenticate(&mechanism, initial, out).await
            }
            Command::Unauthenticate => self.unauthenticate(out),
            cmd => match self.user.clone() {
                None => self.error(None, "Authenticate first", out),
                Some(user) => self.script_command(&user, cmd, out).await,
            },
        }
    }

    /// Answers a command the framer refused as it arrived.
    pub fn refused(&mut self, why: Refusal, out: &mut Vec<u8>) -> Flow {
        // A SASL exchange in progress ends with it.
        self.sasl = None;
        match why {
            Refusal::LineTooLong => self.error(None, "Command line too long", out),
            Refusal::LiteralTooLarge { .. } => self.error(
                Some(Code::QuotaMaxSize),
                &format!(
                    "Too large: scripts are at most {} bytes",
                    self.ctx.limits.max_script_bytes
                ),
                out,
            ),
        }
    }

    /// A client mistake: `NO`, and `BYE` and close when there were too
    /// many.
    fn error(&mut self, code: Option<Code>, text: &str, out: &mut Vec<u8>) -> Flow {
        self.errors += 1;
        if self.errors >= self.ctx.cfg.max_errors {
            response::bye(
                out,
                code.as_ref(),
                &format!("{text}; too many errors, closing"),
            );
            tracing::info!(errors = self.errors, "too many errors, closing");
            // Counted as abuse: enough such sessions block the client.
            self.ctx.directory.abuse().report_detached(
                self.peer.ip(),
                postern_auth::AbuseKind::TooManyErrors,
                "managesieve",
            );
            return Flow::Close;
        }
        response::no(out, code.as_ref(), text);
        Flow::Continue
    }

    /// Our own failure (the store): `NO (TRYLATER)`, not the client's fault.
    fn failure(&self, what: &str, e: impl std::fmt::Display, out: &mut Vec<u8>) -> Flow {
        tracing::warn!(error = %e, "{what} failed");
        response::no(
            out,
            Some(&Code::TryLater),
            "Temporary failure, try again later",
        );
        Flow::Continue
    }

    /// The capability lines (RFC 5804 §1.7), without the final `OK`.
    fn capabilities(&self, out: &mut Vec<u8>) {
        response::capability(out, "IMPLEMENTATION", Some("Postern"));
        let sasl = if self.login_allowed() {
            "PLAIN LOGIN"
        } else {
            ""
        };
        response::capability(out, "SASL", Some(sasl));
        response::capability(
            out,
            "SIEVE",
            Some(&postern_delivery::sieve::EXTENSIONS.join(" ")),
        );
        if !self.tls && self.ctx.starttls && !self.is_authenticated() {
            response::capability(out, "STARTTLS", None);
        }
        response::capability(
            out,
            "MAXREDIRECTS",
            Some(&self.ctx.limits.max_redirects.to_string()),
        );
        // RFC 5804 §1.7: NOTIFY lists the enotify methods, when offered.
        if postern_delivery::sieve::EXTENSIONS.contains(&"enotify") {
            response::capability(out, "NOTIFY", Some("mailto"));
        }
        if let Some(user) = &self.user {
            response::capability(out, "OWNER", Some(&user.address));
        }
        response::capability(out, "UNAUTHENTICATE", None);
        response::capability(out, "VERSION", Some("1.0"));
    }
}
