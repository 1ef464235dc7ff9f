//! The script commands of an authenticated session (RFC 5804 §2.5-2.12):
//! HAVESPACE, PUTSCRIPT, LISTSCRIPTS, SETACTIVE, GETSCRIPT, DELETESCRIPT,
//! RENAMESCRIPT, CHECKSCRIPT. Scripts live in the store; each is compiled
//! by delivery's checker before it is stored.

use postern_auth::Principal;
use postern_delivery::sieve::{Quota, SieveError, quota};
use postern_store::{SieveChange, UserId};

use super::{Flow, Session};
use crate::wire::{Code, Command, ScriptName, response};

impl Session {
    pub(super) async fn script_command(
        &mut self,
        user: &Principal,
        cmd: Command,
        out: &mut Vec<u8>,
    ) -> Flow {
        let uid = UserId(user.user_id);
        match cmd {
            Command::HaveSpace { name, size } => {
                match self.quota(uid, &name, size).await {
                    Err(e) => return self.failure("HAVESPACE", e, out),
                    Ok(Some(q)) => self.over_quota(q, out),
                    Ok(None) => response::ok(out, None, "Putscript would succeed"),
                }
                Flow::Continue
            }
            Command::PutScript { name, script } => self.putscript(uid, name, script, out).await,
            Command::CheckScript { script } => {
                if let Some(text) = self.compile(script).await.err() {
                    response::no(out, None, &text);
                } else {
                    response::ok(out, None, "Script is valid");
                }
                Flow::Continue
            }
            Command::ListScripts => {
                match self.ctx.store.sieve_list(uid).await {
                    Err(e) => return self.failure("LISTSCRIPTS", e, out),
                    Ok(list) => {
                        for s in list {
                            response::script_line(out, &s.name, s.active);
                        }
                        response::ok(out, None, "Listscripts completed");
                    }
                }
                Flow::Continue
            }
            Command::GetScript { name } => {
                match self.ctx.store.sieve_get(uid, name.as_str()).await {
                    Err(e) => return self.failure("GETSCRIPT", e, out),
                    Ok(None) => nonexistent(out, &name),
                    Ok(Some(text)) => {
                        // RFC 5804 §2.9: the script as a string, then OK.
                        response::literal(out, text.as_bytes());
                        out.extend_from_slice(b"\r\n");
                        response::ok(out, None, "Getscript completed");
                    }
                }
                Flow::Continue
            }
            Command::SetActive { name } => {
                let r = self
                    .ctx
                    .store
                    .sieve_activate(uid, name.as_ref().map(ScriptName::as_str))
                    .await;
                match (r, &name) {
                    (Err(e), _) => return self.failure("SETACTIVE", e, out),
                    (Ok(SieveChange::Done), Some(_)) => {
                        response::ok(out, None, "Script activated");
                    }
                    (Ok(SieveChange::Done), None) => {
                        response::ok(out, None, "All scripts deactivated");
                    }
                    (Ok(_), Some(name)) => nonexistent(out, name),
                    (Ok(_), None) => response::ok(out, None, "All scripts deactivated"),
                }
                Flow::Continue
            }
            Command::DeleteScript { name } => {
                match self.ctx.store.sieve_delete(uid, name.as_str()).await {
                    Err(e) => return self.failure("DELETESCRIPT", e, out),
                    Ok(SieveChange::Done) => response::ok(out, None, "Script deleted"),
                    // RFC 5804 §2.10: the active script cannot be deleted.
                    Ok(SieveChange::Active) => response::no(
                        out,
                        Some(&Code::Active),
                        "The active script cannot be deleted; deactivate it first",
                    ),
                    Ok(_) => nonexistent(out, &name),
                }
                Flow::Continue
            }
            Command::RenameScript { old, new } => {
                match self
                    .ctx
                    .store
                    .sieve_rename(uid, old.as_str(), new.as_str())
                    .await
                {
                    Err(e) => return self.failure("RENAMESCRIPT", e, out),
                    Ok(SieveChange::Done) => response::ok(out, None, "Script renamed"),
                    Ok(SieveChange::Exists) => response::no(
                        out,
                        Some(&Code::AlreadyExists),
                        &format!("A script named {new} already exists"),
                    ),
                    Ok(_) => nonexistent(out, &old),
                }
                Flow::Continue
            }
            // The rest are handled in every state by `command`.
            _ => self.error(None, "Unexpected command", out),
        }
    }

    async fn putscript(
        &mut self,
        uid: UserId,
        name: ScriptName,
        script: Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Flow {
        match self.quota(uid, &name, script.len() as u64).await {
            Err(e) => return self.failure("PUTSCRIPT", e, out),
            Ok(Some(q)) => {
                self.over_quota(q, out);
                return Flow::Continue;
            }
            Ok(None) => {}
        }
        let text = match self.compile(script).await {
            Ok(text) => text,
            Err(why) => {
                response::no(out, None, &why);
                return Flow::Continue;
            }
        };
        match self.ctx.store.sieve_put(uid, name.as_str(), text).await {
            Err(e) => self.failure("PUTSCRIPT", e, out),
            Ok(()) => {
                tracing::info!(script = %name, "script stored");
                response::ok(out, None, "Putscript completed");
                Flow::Continue
            }
        }
    }

    /// What PUTSCRIPT of `size` bytes under `name` would break (RFC 5804
    /// §2.5: HAVESPACE asks exactly this; the web console asks the same).
    async fn quota(
        &self,
        uid: UserId,
        name: &ScriptName,
        size: u64,
    ) -> Result<Option<Quota>, postern_store::StoreError> {
        let list = self.ctx.store.sieve_list(uid).await?;
        Ok(quota(&self.ctx.limits, &list, name.as_str(), size))
    }

    fn over_quota(&self, q: Quota, out: &mut Vec<u8>) {
        let code = match q {
            Quota::Size => Code::QuotaMaxSize,
            Quota::Count => Code::QuotaMaxScripts,
        };
        response::no(out, Some(&code), &q.describe(&self.ctx.limits));
    }

    /// Checks a script as delivery will compile it (off the async
    /// threads: a large script takes a while); the script's text, or the
    /// `NO` text with the line and column of the first error.
    async fn compile(&self, script: Vec<u8>) -> Result<String, String> {
        let text = String::from_utf8(script).map_err(|e| {
            let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = before.len()
                - before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1)
                + 1;
            format!("line {line}, column {column}: the script is not UTF-8")
        })?;
        let limits = self.ctx.limits.clone();
        let checked = tokio::task::spawn_blocking(move || {
            let r = postern_delivery::sieve::check(&text, &limits);
            (text, r)
        })
        .await;
        match checked {
            Ok((text, Ok(()))) => Ok(text),
            Ok((_, Err(e))) => Err(describe(&e)),
            Err(e) => {
                tracing::warn!(error = %e, "the script checker failed");
                Err("The script could not be checked".into())
            }
        }
    }
}

/// The `NO` text for a script the checker refused: where, then why. The
/// checker gives line 0 when the interpreter's error has no position.
fn describe(e: &SieveError) -> String {
    if e.line == 0 {
        return e.message.clone();
    }
    format!("line {}, column {}: {}", e.line, e.column, e.message)
}

fn nonexistent(out: &mut Vec<u8>, name: &ScriptName) {
    response::no(
        out,
        Some(&Code::Nonexistent),
        &format!("There is no script named {name}"),
    );
}
