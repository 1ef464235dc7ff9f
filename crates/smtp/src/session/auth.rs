//! AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, and OAUTHBEARER (RFC
//! 7628) and XOAUTH2 when `[oauth]` is set, on submission ports only and
//! only over TLS. Failures count toward the directory's per-IP
//! throttle and the session's error limit.

use base64::Engine;
use postern_auth::{
    AuthOutcome, BearerMechanism, LoginExchange, LoginStep, SaslError, decode_base64, decode_plain,
};

use super::{Action, Session};
use crate::config::Mode;
use crate::wire::{Frame, Reply};

/// A SASL exchange waiting for the client's next line.
pub(super) enum Exchange {
    Plain,
    Login(LoginExchange),
    /// Waiting for the bearer message.
    Bearer(BearerMechanism),
    /// The error challenge was sent (RFC 7628 §3.2.3): whatever the client
    /// answers, the AUTH fails.
    BearerRefused,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Exchange::Plain => "Exchange::Plain",
            Exchange::Login(_) => "Exchange::Login",
            Exchange::Bearer(_) => "Exchange::Bearer",
            Exchange::BearerRefused => "Exchange::BearerRefused",
        })
    }
}

fn challenge(bytes: &[u8]) -> Reply {
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    Reply::multi(334, None, vec![text])
}

impl Session {
    pub(super) async fn auth(&mut self, mechanism: String, initial: Option<String>) -> Action {
        if self.mode != Mode::Submission {
            return self.error(Reply::new(
                502,
                (5, 5, 1),
                "AUTH not available on this port",
            ));
        }
        if self.tls.is_none() {
            // RFC 4954 §6.
            return self.error(Reply::new(
                538,
                (5, 7, 11),
                "Encryption required for requested authentication mechanism",
            ));
        }
        if self.greeting.is_none() {
            return self.error(Reply::new(503, (5, 5, 1), "Send EHLO first"));
        }
        if self.user.is_some() {
            return self.error(Reply::new(503, (5, 5, 1), "Already authenticated"));
        }
        if self.tx.is_some() {
            return self.error(Reply::new(
                503,
                (5, 5, 1),
                "AUTH not allowed during a mail transaction",
            ));
        }
        let initial = initial.as_deref().map(|s| decode_base64(s.as_bytes()));
        if let Some(m) =
            BearerMechanism::from_name(&mechanism).filter(|_| self.ctx.directory.oauth_enabled())
        {
            return match initial {
                None => {
                    self.sasl = Some(Exchange::Bearer(m));
                    Action::Reply(Reply::multi(334, None, vec![String::new()]))
                }
                Some(Ok(bytes)) => self.bearer(m, &bytes).await,
                Some(Err(e)) => self.sasl_error(e),
            };
        }
        match mechanism.as_str() {
            "PLAIN" => match initial {
                None => {
                    self.sasl = Some(Exchange::Plain);
                    Action::Reply(Reply::multi(334, None, vec![String::new()]))
                }
                Some(Ok(bytes)) => self.plain(&bytes).await,
                Some(Err(e)) => self.sasl_error(e),
            },
            "LOGIN" => {
                let mut ex = LoginExchange::new();
                let first = match initial {
                    None => None,
                    Some(Ok(b)) => Some(b),
                    Some(Err(e)) => return self.sasl_error(e),
                };
                match ex.start(first.as_deref()) {
                    Ok(LoginStep::Challenge(c)) => {
                        self.sasl = Some(Exchange::Login(ex));
                        Action::Reply(challenge(c))
                    }
                    Ok(LoginStep::Done(creds)) => self.check(&creds.authcid, &creds.password).await,
                    Err(e) => self.sasl_error(e),
                }
            }
            _ => self.error(Reply::new(
                504,
                (5, 5, 4),
                "Unrecognized authentication type",
            )),
        }
    }

    /// The client's answer to a `334` challenge.
    pub(super) async fn auth_step(&mut self, ex: Exchange, frame: Frame<'_>) -> Action {
        let Frame::Line(line) = frame else {
            return self.error(Reply::new(
                500,
                (5, 5, 6),
                "Authentication exchange line is too long",
            ));
        };
        if let Exchange::BearerRefused = ex {
            return self.error(Reply::new(
                535,
                (5, 7, 8),
                "Authentication credentials invalid",
            ));
        }
        let bytes = match decode_base64(line) {
            Ok(b) => b,
            Err(e) => return self.sasl_error(e),
        };
        match ex {
            Exchange::Plain => self.plain(&bytes).await,
            Exchange::Bearer(m) => self.bearer(m, &bytes).await,
            // Answered above, before decoding.
            Exchange::BearerRefused => self.error(Reply::new(
                535,
                (5, 7, 8),
                "Authentication credentials invalid",
            )),
            Exchange::Login(mut login) => match login.step(&bytes) {
                Ok(LoginStep::Challenge(c)) => {
                    self.sasl = Some(Exchange::Login(login));
                    Action::Reply(challenge(c))
                }
                Ok(LoginStep::Done(creds)) => self.check(&creds.authcid, &creds.password).await,
                Err(e) => self.sasl_error(e),
            },
        }
    }

    async fn plain(&mut self, bytes: &[u8]) -> Action {
        match decode_plain(bytes) {
            Ok(creds) => self.check(&creds.authcid, &creds.password).await,
            Err(e) => self.sasl_error(e),
        }
    }

    /// A bearer message: checked; a refusal is answered with the error
    /// challenge first (RFC 7628 §3.2.2), the 535 after the reply.
    async fn bearer(&mut self, m: BearerMechanism, message: &[u8]) -> Action {
        let directory = &self.ctx.directory;
        let outcome = directory
            .authenticate_bearer("smtp", self.peer.ip(), m, message)
            .await;
        if outcome != AuthOutcome::Failed {
            return self.finish(outcome);
        }
        let error = directory.bearer_error_challenge(m);
        self.sasl = Some(Exchange::BearerRefused);
        Action::Reply(challenge(&error))
    }

    async fn check(&mut self, user: &str, password: &postern_auth::Secret<String>) -> Action {
        let outcome = self
            .ctx
            .directory
            .authenticate("smtp", self.peer.ip(), user, password)
            .await;
        self.finish(outcome)
    }

    /// Answers a login's outcome.
    fn finish(&mut self, outcome: AuthOutcome) -> Action {
        match outcome {
            AuthOutcome::Success(p) => {
                tracing::Span::current().record("user", p.address.as_str());
                tracing::info!(user = %p.address, "authenticated");
                self.user = Some(p);
                Action::Reply(Reply::new(235, (2, 7, 0), "Authentication successful"))
            }
            AuthOutcome::Failed => self.error(Reply::new(
                535,
                (5, 7, 8),
                "Authentication credentials invalid",
            )),
            AuthOutcome::Throttled { .. } => {
                self.errors += 1;
                Action::Reply(Reply::new(
                    454,
                    (4, 7, 0),
                    "Too many failed logins from your address, try again later",
                ))
            }
            AuthOutcome::TempFail => Action::Reply(Reply::new(
                454,
                (4, 7, 0),
                "Temporary authentication failure",
            )),
        }
    }

    fn sasl_error(&mut self, e: SaslError) -> Action {
        match e {
            // RFC 4954 §4: "*" cancels the exchange.
            SaslError::Cancelled => {
                self.error(Reply::new(501, (5, 7, 0), "Authentication cancelled"))
            }
            SaslError::InvalidBase64 => {
                self.error(Reply::new(501, (5, 5, 2), "Invalid base64 data"))
            }
            SaslError::AuthzidNotPermitted => self.error(Reply::new(
                535,
                (5, 7, 8),
                "Authorization identity not permitted",
            )),
            other => {
                tracing::debug!(error = ?other, "bad SASL response");
                self.error(Reply::new(
                    535,
                    (5, 7, 8),
                    "Authentication credentials invalid",
                ))
            }
        }
    }
}
