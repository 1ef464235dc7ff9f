//! AUTHORIZATION: USER/PASS (RFC 1939 §7), AUTH PLAIN and LOGIN (and
//! OAUTHBEARER and XOAUTH2 when `[oauth]` is set) with or without an
//! initial response (RFC 5034), STLS (RFC 2595 §4). Logins are
//! refused before TLS unless the config allows plaintext on loopback (then
//! CAPA stops offering USER and SASL, RFC 2595 §4). Credentials go through
//! the directory, which throttles failures; success takes the maildrop lock
//! and the snapshot.

use postern_auth::{
    AuthOutcome, BearerMechanism, LoginExchange, LoginStep, SaslError, Secret, decode_base64,
    decode_plain,
};

use super::lock::Refused;
use super::maildrop::Maildrop;
use super::{Flow, Session, State};
use crate::wire::{Command, RespCode, response};

/// An AUTH exchange waiting for the client's next line.
pub(super) enum Pending {
    Plain,
    Login(LoginExchange),
    /// Waiting for the bearer message.
    Bearer(BearerMechanism),
    /// The error challenge was sent (RFC 7628 §3.2.3): the AUTH fails
    /// whatever the client answers.
    BearerRefused,
}

impl Session {
    pub(super) async fn authorization(&mut self, cmd: Command, out: &mut Vec<u8>) -> Flow {
        match cmd {
            Command::Stls => self.stls(out),
            Command::User(name) => {
                if !self.login_allowed() {
                    return self.plaintext_refused(out);
                }
                // RFC 1939 §7: +OK whether or not the user exists; PASS decides.
                self.state = State::Authorization { user: Some(name) };
                response::ok(out, "Send PASS");
                Flow::Continue
            }
            Command::Pass(password) => {
                if !self.login_allowed() {
                    return self.plaintext_refused(out);
                }
                let State::Authorization { user } = &mut self.state else {
                    return Flow::Continue;
                };
                let Some(user) = user.take() else {
                    return self.error(None, "Send USER first", out);
                };
                let Ok(password) = String::from_utf8(password.0) else {
                    return self.failed(out);
                };
                self.check(&user, &Secret::new(password), out).await
            }
            Command::Auth {
                mechanism: None, ..
            } => {
                // The mechanism list, as the unextended AUTH of RFC 1734
                // gave it (Outlook asks this way).
                response::ok(out, "Mechanisms follow");
                if self.login_allowed() {
                    response::line(out, "PLAIN");
                    response::line(out, "LOGIN");
                    if self.ctx.directory.oauth_enabled() {
                        for m in BearerMechanism::ALL {
                            response::line(out, m.name());
                        }
                    }
                }
                response::end(out);
                Flow::Continue
            }
            Command::Auth {
                mechanism: Some(mechanism),
                initial,
            } => self.auth(&mechanism, initial.as_deref(), out).await,
            _ => self.error(None, "Not logged in", out),
        }
    }

    fn plaintext_refused(&mut self, out: &mut Vec<u8>) -> Flow {
        self.error(
            Some(RespCode::Auth),
            "Plaintext authentication disallowed; use STLS first",
            out,
        )
    }

    fn stls(&mut self, out: &mut Vec<u8>) -> Flow {
        if self.tls {
            return self.error(None, "TLS is already active", out);
        }
        if !self.ctx.starttls {
            return self.error(None, "STLS is not available", out);
        }
        response::ok(out, "Begin TLS negotiation");
        Flow::StartTls
    }

    async fn auth(&mut self, mechanism: &str, initial: Option<&str>, out: &mut Vec<u8>) -> Flow {
        if !self.login_allowed() {
            return self.plaintext_refused(out);
        }
        // RFC 5034 §4: "=" is an empty initial response.
        let initial = match initial {
            None => None,
            Some("=") => Some(Vec::new()),
            Some(b64) => match decode_base64(b64.as_bytes()) {
                Ok(v) => Some(v),
                Err(_) => return self.error(None, "Invalid base64", out),
            },
        };
        if let Some(m) =
            BearerMechanism::from_name(mechanism).filter(|_| self.ctx.directory.oauth_enabled())
        {
            return match initial {
                Some(bytes) => self.bearer(m, &bytes, out).await,
                None => {
                    self.sasl = Some(Pending::Bearer(m));
                    out.extend_from_slice(b"+ \r\n");
                    Flow::Sasl
                }
            };
        }
        match mechanism {
            "PLAIN" => match initial {
                Some(bytes) => self.plain(&bytes, out).await,
                None => {
                    self.sasl = Some(Pending::Plain);
                    out.extend_from_slice(b"+ \r\n");
                    Flow::Sasl
                }
            },
            "LOGIN" => {
                let mut ex = LoginExchange::new();
                let step = ex.start(initial.as_deref());
                self.login_step(ex, step, out).await
            }
            _ => self.error(None, "Unsupported mechanism", out),
        }
    }

    /// The client's answer to a `+` challenge (RFC 5034 §4); `*` cancels.
    pub async fn sasl_line(&mut self, line: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(pending) = self.sasl.take() else {
            return self.command(line, out).await;
        };
        let line = crate::wire::trim_eol(line);
        if line == b"*" {
            return self.error(None, "Authentication cancelled", out);
        }
        let bytes = match decode_base64(line) {
            Ok(v) => v,
            Err(_) => return self.error(None, "Invalid base64", out),
        };
        match pending {
            Pending::Plain => self.plain(&bytes, out).await,
            Pending::Bearer(m) => self.bearer(m, &bytes, out).await,
            Pending::BearerRefused => self.failed(out),
            Pending::Login(mut ex) => {
                let step = ex.step(&bytes);
                self.login_step(ex, step, out).await
            }
        }
    }

    /// Sends the next LOGIN challenge, or checks the credentials.
    async fn login_step(
        &mut self,
        ex: LoginExchange,
        step: Result<LoginStep, SaslError>,
        out: &mut Vec<u8>,
    ) -> Flow {
        match step {
            Ok(LoginStep::Challenge(c)) => {
                postern_auth::write_challenge(c, out);
                self.sasl = Some(Pending::Login(ex));
                Flow::Sasl
            }
            Ok(LoginStep::Done(creds)) => self.check(&creds.authcid, &creds.password, out).await,
            Err(_) => self.failed(out),
        }
    }

    async fn plain(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Flow {
        match decode_plain(bytes) {
            Ok(c) => self.check(&c.authcid, &c.password, out).await,
            Err(_) => self.failed(out),
        }
    }

    /// A bearer message: checked; a refusal is answered with the error
    /// challenge first (RFC 7628 §3.2.2), the failure after the reply.
    async fn bearer(&mut self, m: BearerMechanism, message: &[u8], out: &mut Vec<u8>) -> Flow {
        let directory = &self.ctx.directory;
        let outcome = directory
            .authenticate_bearer("pop3", self.peer.ip(), m, message)
            .await;
        if outcome != AuthOutcome::Failed {
            return self.finish(outcome, out).await;
        }
        postern_auth::write_challenge(&directory.bearer_error_challenge(m), out);
        self.sasl = Some(Pending::BearerRefused);
        Flow::Sasl
    }

    fn failed(&mut self, out: &mut Vec<u8>) -> Flow {
        self.error(Some(RespCode::Auth), "Authentication failed", out)
    }

    /// Checks the credentials, then locks the maildrop and takes its
    /// snapshot (RFC 1939 §7: the lock comes with a successful PASS; if it
    /// cannot be had the session stays in AUTHORIZATION).
    async fn check(&mut self, user: &str, password: &Secret<String>, out: &mut Vec<u8>) -> Flow {
        let outcome = self
            .ctx
            .directory
            .authenticate("pop3", self.peer.ip(), user, password)
            .await;
        self.finish(outcome, out).await
    }

    /// Answers a login's outcome; a success locks and opens the maildrop.
    async fn finish(&mut self, outcome: AuthOutcome, out: &mut Vec<u8>) -> Flow {
        let p = match outcome {
            AuthOutcome::Success(p) => p,
            AuthOutcome::Failed => return self.failed(out),
            AuthOutcome::Throttled { .. } => {
                return self.error(
                    Some(RespCode::SysTemp),
                    "Too many failed logins, try again later",
                    out,
                );
            }
            AuthOutcome::TempFail => {
                response::err(out, Some(RespCode::SysTemp), "Temporary failure, try again");
                return Flow::Continue;
            }
        };
        let lock = match self.ctx.maildrops.lock(p.user_id, self.ctx.cfg.login_delay) {
            Ok(lock) => lock,
            Err(Refused::InUse) => {
                response::err(
                    out,
                    Some(RespCode::InUse),
                    "Maildrop is in use by another POP3 session",
                );
                return Flow::Continue;
            }
            Err(Refused::TooSoon) => {
                response::err(
                    out,
                    Some(RespCode::LoginDelay),
                    &format!(
                        "Wait {} seconds between logins",
                        self.ctx.cfg.login_delay.as_secs()
                    ),
                );
                return Flow::Continue;
            }
        };
        match Maildrop::open(&self.ctx, p.user_id, lock).await {
            Ok(md) => {
                tracing::Span::current().record("user", p.address.as_str());
                tracing::info!(user = %p.address, messages = md.len(), "logged in");
                let (n, size) = md.stat();
                response::ok(out, &format!("Logged in, {n} messages ({size} octets)"));
                self.state = State::Transaction(Box::new(md));
                Flow::Continue
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not open the maildrop");
                response::err(out, Some(RespCode::SysTemp), "Cannot open the maildrop");
                Flow::Continue
            }
        }
    }
}
