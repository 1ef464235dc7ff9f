//! LOGIN and AUTHENTICATE (PLAIN, LOGIN, and OAUTHBEARER and XOAUTH2 when
//! `[oauth]` is set; SASL-IR, RFC 4959), refused before TLS unless the
//! config allows plaintext on loopback (then LOGINDISABLED is not
//! advertised). Failures go through the directory's throttle.
//! UNAUTHENTICATE (RFC 8437) goes back the other way.

use postern_auth::{
    AuthOutcome, BearerMechanism, LoginExchange, LoginStep, Secret, decode_base64, decode_plain,
};

use super::{Enabled, Flow, Session, State};
use crate::wire::{Code, SaslResponse, Status, StatusResponse, Tag};

/// An AUTHENTICATE waiting for the client's next line.
pub(super) struct Pending {
    tag: Tag,
    mechanism: Mechanism,
}

enum Mechanism {
    Plain,
    Login(LoginExchange),
    /// Waiting for the bearer message (no initial response was sent).
    Bearer(BearerMechanism),
    /// The error challenge was sent (RFC 7628 §3.2.3); whatever the client
    /// answers, the command fails.
    BearerRefused,
}

impl Session {
    pub(super) async fn login(
        &mut self,
        tag: Tag,
        user: &[u8],
        password: &[u8],
        out: &mut Vec<u8>,
    ) -> Flow {
        if !self.login_allowed() {
            return self.no(
                tag,
                Some(Code::PrivacyRequired),
                "LOGIN is disabled until STARTTLS",
                out,
            );
        }
        let (Ok(user), Ok(password)) = (std::str::from_utf8(user), std::str::from_utf8(password))
        else {
            return self.no(
                tag,
                Some(Code::AuthenticationFailed),
                "Invalid credentials",
                out,
            );
        };
        let password = Secret::new(password.to_string());
        self.check(tag, user, &password, out).await
    }

    pub(super) async fn authenticate(
        &mut self,
        tag: Tag,
        mechanism: &str,
        initial: Option<SaslResponse>,
        out: &mut Vec<u8>,
    ) -> Flow {
        if !self.login_allowed() {
            return self.no(
                tag,
                Some(Code::PrivacyRequired),
                "AUTHENTICATE is disabled until STARTTLS",
                out,
            );
        }
        let initial = match initial {
            None => None,
            Some(SaslResponse::Empty) => Some(Vec::new()),
            Some(SaslResponse::Base64(b)) => match decode_base64(b.as_bytes()) {
                Ok(v) => Some(v),
                Err(_) => return self.bad(Some(tag), "Invalid base64", out),
            },
        };
        if let Some(m) =
            BearerMechanism::from_name(mechanism).filter(|_| self.ctx.directory.oauth_enabled())
        {
            return match initial {
                Some(bytes) => self.bearer(tag, m, &bytes, out).await,
                None => {
                    self.sasl = Some(Pending {
                        tag,
                        mechanism: Mechanism::Bearer(m),
                    });
                    out.extend_from_slice(b"+ \r\n");
                    Flow::SaslContinue
                }
            };
        }
        match mechanism {
            "PLAIN" => match initial {
                Some(bytes) => self.plain(tag, &bytes, out).await,
                None => {
                    self.sasl = Some(Pending {
                        tag,
                        mechanism: Mechanism::Plain,
                    });
                    out.extend_from_slice(b"+ \r\n");
                    Flow::SaslContinue
                }
            },
            "LOGIN" => {
                let mut ex = LoginExchange::new();
                match ex.start(initial.as_deref()) {
                    Ok(LoginStep::Challenge(c)) => {
                        postern_auth::write_challenge(c, out);
                        self.sasl = Some(Pending {
                            tag,
                            mechanism: Mechanism::Login(ex),
                        });
                        Flow::SaslContinue
                    }
                    Ok(LoginStep::Done(creds)) => {
                        self.check(tag, &creds.authcid, &creds.password, out).await
                    }
                    Err(_) => self.no(
                        tag,
                        Some(Code::AuthenticationFailed),
                        "Invalid credentials",
                        out,
                    ),
                }
            }
            _ => self.no(tag, Some(Code::Cannot), "Unsupported mechanism", out),
        }
    }

    /// The client's answer to a `+` challenge; `None` is `*` (cancel).
    pub async fn sasl_line(&mut self, line: &[u8], out: &mut Vec<u8>) -> Flow {
        let Some(p) = self.sasl.take() else {
            return Flow::Continue;
        };
        let bytes = match crate::wire::parse_sasl_line(line) {
            Ok(None) => {
                StatusResponse::new(Some(p.tag), Status::Bad, "AUTHENTICATE cancelled").encode(out);
                return Flow::Continue;
            }
            Ok(Some(SaslResponse::Empty)) => Vec::new(),
            Ok(Some(SaslResponse::Base64(b))) => match decode_base64(b.as_bytes()) {
                Ok(v) => v,
                Err(_) => return self.bad(Some(p.tag), "Invalid base64", out),
            },
            Err(_) => return self.bad(Some(p.tag), "Invalid SASL response", out),
        };
        match p.mechanism {
            Mechanism::Plain => self.plain(p.tag, &bytes, out).await,
            Mechanism::Bearer(m) => self.bearer(p.tag, m, &bytes, out).await,
            Mechanism::BearerRefused => self.no(
                p.tag,
                Some(Code::AuthenticationFailed),
                "Invalid credentials",
                out,
            ),
            Mechanism::Login(mut ex) => match ex.step(&bytes) {
                Ok(LoginStep::Challenge(c)) => {
                    postern_auth::write_challenge(c, out);
                    self.sasl = Some(Pending {
                        tag: p.tag,
                        mechanism: Mechanism::Login(ex),
                    });
                    Flow::SaslContinue
                }
                Ok(LoginStep::Done(creds)) => {
                    self.check(p.tag, &creds.authcid, &creds.password, out)
                        .await
                }
                Err(_) => self.no(
                    p.tag,
                    Some(Code::AuthenticationFailed),
                    "Invalid credentials",
                    out,
                ),
            },
        }
    }

    async fn plain(&mut self, tag: Tag, bytes: &[u8], out: &mut Vec<u8>) -> Flow {
        match decode_plain(bytes) {
            Ok(c) => self.check(tag, &c.authcid, &c.password, out).await,
            Err(_) => self.no(
                tag,
                Some(Code::AuthenticationFailed),
                "Invalid credentials",
                out,
            ),
        }
    }

    /// A bearer message: checked, and when refused answered with the
    /// error challenge first (RFC 7628 §3.2.2), the failure after the
    /// client's reply.
    async fn bearer(
        &mut self,
        tag: Tag,
        m: BearerMechanism,
        message: &[u8],
        out: &mut Vec<u8>,
    ) -> Flow {
        let directory = &self.ctx.directory;
        let outcome = directory
            .authenticate_bearer("imap", self.peer.ip(), m, message)
            .await;
        if outcome != AuthOutcome::Failed {
            return self.finish(tag, outcome, out);
        }
        self.errors += 1;
        postern_auth::write_challenge(&directory.bearer_error_challenge(m), out);
        self.sasl = Some(Pending {
            tag,
            mechanism: Mechanism::BearerRefused,
        });
        Flow::SaslContinue
    }

    async fn check(
        &mut self,
        tag: Tag,
        user: &str,
        password: &Secret<String>,
        out: &mut Vec<u8>,
    ) -> Flow {
        let outcome = self
            .ctx
            .directory
            .authenticate("imap", self.peer.ip(), user, password)
            .await;
        self.finish(tag, outcome, out)
    }

    /// Answers a login's outcome.
    fn finish(&mut self, tag: Tag, outcome: AuthOutcome, out: &mut Vec<u8>) -> Flow {
        match outcome {
            AuthOutcome::Success(p) => {
                let Some(slot) = self
                    .ctx
                    .per_user
                    .take(p.user_id, self.ctx.cfg.max_connections_per_user)
                else {
                    return self.no(
                        tag,
                        Some(Code::Limit),
                        "Too many connections for this user",
                        out,
                    );
                };
                self.slot = Some(slot);
                tracing::Span::current().record("user", p.address.as_str());
                tracing::info!(user = %p.address, "logged in");
                self.user = Some(p);
                self.record_client();
                self.state = State::Authenticated;
                StatusResponse::new(Some(tag), Status::Ok, "Logged in")
                    .with_code(Code::Capability(self.capabilities()))
                    .encode(out);
                Flow::Continue
            }
            AuthOutcome::Failed => {
                self.errors += 1;
                self.no(
                    tag,
                    Some(Code::AuthenticationFailed),
                    "Invalid credentials",
                    out,
                )
            }
            AuthOutcome::Throttled { .. } => {
                self.errors += 1;
                self.no(
                    tag,
                    Some(Code::Unavailable),
                    "Too many failed logins, try again later",
                    out,
                )
            }
            AuthOutcome::TempFail => self.no(
                tag,
                Some(Code::Unavailable),
                "Temporary failure, try again",
                out,
            ),
        }
    }

    /// UNAUTHENTICATE (RFC 8437 §3): back to not authenticated on the same
    /// connection, for a client that serves several users over one. What
    /// belonged to the user goes: the selected mailbox (released as
    /// UNSELECT releases it, without expunging: a reset must not destroy
    /// mail), the ENABLEd extensions, the per-user connection slot. TLS and
    /// COMPRESS, being the connection's, stay. The OK carries the
    /// capabilities of the new state.
    pub(super) fn unauthenticate(&mut self, tag: Tag, out: &mut Vec<u8>) -> Flow {
        if let Some(p) = self.user.take() {
            tracing::info!(user = %p.address, "unauthenticated");
        }
        tracing::Span::current().record("user", "");
        self.state = State::NotAuthenticated;
        self.slot = None;
        self.sasl = None;
        self.enabled = Enabled::default();
        self.notify = None;
        StatusResponse::new(Some(tag), Status::Ok, "Not authenticated")
            .with_code(Code::Capability(self.capabilities()))
            .encode(out);
        Flow::Continue
    }
}
