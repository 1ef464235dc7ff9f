//! AUTHENTICATE with PLAIN and LOGIN, with or without an initial response
//! (RFC 5804 §2.1), STARTTLS (§2.2) and UNAUTHENTICATE (§2.14). Logins
//! are refused before TLS unless the config allows plaintext on loopback.
//! Credentials go through the directory, which throttles failures.

use base64::Engine as _;
use postern_auth::{
    AuthOutcome, LoginExchange, LoginStep, SaslError, Secret, decode_base64, decode_plain,
};

use super::{Flow, Session};
use crate::wire::{Code, parse_sasl_response, response};

/// An AUTHENTICATE waiting for the client's next response.
pub(super) enum Pending {
    Plain,
    Login(LoginExchange),
}

impl Session {
    pub(super) fn starttls(&mut self, out: &mut Vec<u8>) -> Flow {
        if self.tls {
            return self.error(None, "TLS is already active", out);
        }
        if self.is_authenticated() {
            return self.error(None, "STARTTLS comes before AUTHENTICATE", out);
        }
        if !self.ctx.starttls {
            return self.error(None, "STARTTLS is not available", out);
        }
        response::ok(out, None, "Begin TLS negotiation now");
        Flow::StartTls
    }

    /// RFC 5804 §2.14: back to the state before AUTHENTICATE; TLS stays.
    pub(super) fn unauthenticate(&mut self, out: &mut Vec<u8>) -> Flow {
        if self.user.take().is_none() {
            return self.error(None, "Not authenticated", out);
        }
        tracing::info!("unauthenticated");
        response::ok(out, None, "Unauthenticate completed");
        Flow::Continue
    }

    pub(super) async fn authenticate(
        &mut self,
        mechanism: &str,
        initial: Option<Vec<u8>>,
        out: &mut Vec<u8>,
    ) -> Flow {
        if self.is_authenticated() {
            return self.error(None, "Already authenticated", out);
        }
        if !self.login_allowed() {
            return self.error(
                Some(Code::EncryptNeeded),
                "Authentication needs TLS: use STARTTLS first",
                out,
            );
        }
        let initial = match initial {
            None => None,
            Some(b64) => match decode_base64(&b64) {
                Ok(v) => Some(v),
                Err(_) => return self.error(None, "Invalid base64", out),
            },
        };
        match mechanism {
            "PLAIN" => match initial {
                Some(bytes) => self.plain(&bytes, out).await,
                None => {
                    self.sasl = Some(Pending::Plain);
                    response::challenge(out, "");
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

    /// The client's response to a challenge (RFC 5804 §2.1: a string;
    /// `"*"` cancels).
    pub async fn sasl_response(&mut self, input: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(pending) = self.sasl.take() else {
            return self.command(input, out).await;
        };
        let bytes = match parse_sasl_response(input) {
            Ok(Some(b64)) => match decode_base64(&b64) {
                Ok(v) => v,
                Err(_) => return self.error(None, "Invalid base64", out),
            },
            Ok(None) => return self.error(None, "Authentication cancelled", out),
            Err(e) => return self.error(None, &e.to_string(), out),
        };
        match pending {
            Pending::Plain => self.plain(&bytes, out).await,
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
                let b64 = base64::engine::general_purpose::STANDARD.encode(c);
                response::challenge(out, &b64);
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

    fn failed(&mut self, out: &mut Vec<u8>) -> Flow {
        self.error(None, "Authentication failed", out)
    }

    async fn check(&mut self, user: &str, password: &Secret<String>, out: &mut Vec<u8>) -> Flow {
        match self
            .ctx
            .directory
            .authenticate("managesieve", self.peer.ip(), user, password)
            .await
        {
            AuthOutcome::Success(p) => {
                tracing::Span::current().record("user", p.address.as_str());
                tracing::info!(user = %p.address, "logged in");
                self.user = Some(p);
                response::ok(out, None, "Logged in");
                Flow::Continue
            }
            AuthOutcome::Failed => self.failed(out),
            AuthOutcome::Throttled { .. } => self.error(
                Some(Code::TryLater),
                "Too many failed logins, try again later",
                out,
            ),
            AuthOutcome::TempFail => {
                response::no(out, Some(&Code::TryLater), "Temporary failure, try again");
                Flow::Continue
            }
        }
    }
}
