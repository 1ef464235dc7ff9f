//! Sieve (RFC 5228) at delivery: users' and the admin's scripts, compiled
//! by the `sieve-rs` interpreter (`compile.rs`, cached by content), run
//! for each local recipient after the spam verdict (`run.rs`), and their
//! actions turned into the store's one commit (`actions.rs`): targets with
//! flags, redirects with an SRS sender (`srs.rs`), vacation replies
//! (`vacation.rs`), and rejects the session answers at SMTP time.
//!
//! The interpreter is the dependency; what it sees (envelope, spam score,
//! environment), what it may cost and what its actions become are ours.
//! A script that fails or runs out of budget keeps the message where the
//! verdict filed it: a broken script never loses mail.

mod actions;
mod compile;
mod quota;
mod run;
pub mod srs;
pub mod vacation;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ::sieve::{Runtime, Script, Sieve};
use postern_store::{DeliveryTarget, NewMessage, Outbound, SieveMark, Store, UserId};

pub use actions::refusal;
pub use compile::{EXTENSIONS, SieveError, check};
pub use quota::{Quota, quota};

use crate::config::SieveLimits;

/// Compiled scripts kept, by content; past this the cache starts again.
const CACHE_ENTRIES: usize = 1024;

/// The interpreter as this server configures it, with its script cache.
pub(crate) struct Engine {
    runtime: Runtime,
    limits: SieveLimits,
    cache: Mutex<HashMap<[u8; 32], Arc<Sieve>>>,
    srs: Option<srs::Srs>,
}

/// A local recipient as its script sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SieveRecipient {
    pub user: UserId,
    /// The user's primary address (vacation never answers it).
    pub address: String,
    /// The address the message was sent to (`envelope "to"`, subaddress).
    pub envelope_to: String,
    /// Whether the user had an active script when the session asked (at
    /// RCPT, with the quota: `Store::quota_and_sieve`). `Some(false)`:
    /// none, so none is read again for this message (one store read
    /// less per message); `Some(true)` or `None`: the script is read when
    /// the message is filed.
    pub scripted: Option<bool>,
}

/// A message about to be committed, for the recipients' scripts.
pub struct SieveJob<'a> {
    pub store: &'a Store,
    /// The envelope sender, `""` for the null sender.
    pub mail_from: &'a str,
    /// Our trace headers, and the message as received below them: what a
    /// redirect sends on (unchanged, so its DKIM signatures hold).
    pub trace: &'a [u8],
    pub body: &'a [u8],
    pub recipients: &'a [SieveRecipient],
    /// The copies as the verdict filed them.
    pub variants: Vec<(NewMessage, Vec<DeliveryTarget>)>,
}

/// What the scripts made of a message: the copies to file (the given
/// variants first, in their order, then edited copies), messages to queue,
/// memories to record, and the recipients who refused it.
#[derive(Debug, Default)]
pub struct SievePlan {
    pub variants: Vec<(NewMessage, Vec<DeliveryTarget>)>,
    pub sends: Vec<(NewMessage, Outbound)>,
    pub marks: Vec<SieveMark>,
    /// (recipient's primary address, reason) of each `reject`.
    pub rejected: Vec<(String, String)>,
}

impl Engine {
    pub(crate) fn new(limits: &SieveLimits, hostname: &str) -> Self {
        let runtime = compile::runtime()
            .with_cpu_limit(limits.max_instructions)
            .with_max_nested_includes(limits.max_include_depth + 1)
            .with_max_redirects(limits.max_redirects)
            .with_max_out_messages(limits.max_redirects + limits.max_sent)
            .with_max_received_headers(100)
            .with_default_vacation_expiry(limits.vacation_default_secs)
            .with_default_duplicate_expiry(limits.duplicate_default_secs)
            // RFC 5293 §4.6: the trace and auto-reply fields stay as they are.
            .with_protected_header("Received")
            .with_protected_header("Auto-Submitted")
            .with_protected_header("Return-Path")
            .with_local_hostname(hostname.to_string())
            .with_env_variable("name", "Postern")
            .with_env_variable("version", env!("CARGO_PKG_VERSION"))
            .with_env_variable("domain", hostname.to_string())
            .with_env_variable("host", hostname.to_string())
            .with_env_variable("location", "MDA")
            .with_env_variable("phase", "during");
        Self {
            runtime,
            limits: limits.clone(),
            cache: Mutex::new(HashMap::new()),
            srs: None,
        }
    }

    pub(crate) fn set_srs(&mut self, srs: srs::Srs) {
        self.srs = Some(srs);
    }

    pub(crate) fn srs(&self) -> Option<&srs::Srs> {
        self.srs.as_ref()
    }

    /// `text` compiled, from the cache when it was seen before.
    pub(crate) fn compiled(&self, text: &str) -> Result<Arc<Sieve>, SieveError> {
        use sha2::{Digest, Sha256};
        let key: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        if let Some(s) = self.lock().get(&key) {
            return Ok(s.clone());
        }
        let s = Arc::new(compile::compile(text, &self.limits)?);
        let mut cache = self.lock();
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, s.clone());
        Ok(s)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<Sieve>>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The admin's script `name`: `before` and `after` are the configured
    /// files; another name is a file beside them (`include :global`).
    fn global_text(&self, name: &str) -> Option<String> {
        let path = match name {
            "before" => self.limits.before.clone()?,
            "after" => self.limits.after.clone()?,
            n if n.is_empty() || n.starts_with('.') || n.contains(['/', '\\']) => return None,
            n => {
                let dir = self.limits.before.as_ref().or(self.limits.after.as_ref())?;
                dir.parent()?.join(n)
            }
        };
        match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "reading a global Sieve script failed");
                None
            }
        }
    }

    /// The script to run for `user`: theirs alone, or, with the admin's
    /// before/after scripts, a wrapper that includes each in turn (RFC
    /// 6609: a `stop` in any of them ends all). `None`: nothing to run.
    async fn main_script(
        &self,
        store: &Store,
        rcpt: &SieveRecipient,
    ) -> Result<Option<(Script, Arc<Sieve>)>, String> {
        let active = match rcpt.scripted {
            Some(false) => None,
            _ => store
                .sieve_active(rcpt.user)
                .await
                .map_err(|e| e.to_string())?,
        };
        let (before, after) = (self.limits.before.is_some(), self.limits.after.is_some());
        if !before && !after {
            return match active {
                Some((name, text)) => {
                    let s = self.compiled(&text).map_err(|e| e.to_string())?;
                    Ok(Some((Script::Personal(name), s)))
                }
                None => Ok(None),
            };
        }
        let mut w = String::from("require \"include\";\r\n");
        if before {
            w.push_str("include :global \"before\";\r\n");
        }
        if let Some((name, _)) = &active {
            let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
            w.push_str(&format!("include :personal \"{quoted}\";\r\n"));
        }
        if after {
            w.push_str("include :global \"after\";\r\n");
        }
        let s = self.compiled(&w).map_err(|e| e.to_string())?;
        Ok(Some((Script::Global("main".into()), s)))
    }
}

impl crate::Delivery {
    /// Uses `srs` for the envelope sender of forwarded mail.
    pub fn with_srs(mut self, srs: srs::Srs) -> Self {
        self.sieve.set_srs(srs);
        self
    }

    /// The SRS key, when forwarding rewrites senders.
    pub fn srs(&self) -> Option<&srs::Srs> {
        self.sieve.srs()
    }

    /// Whether `user`'s active script could refuse a message (`reject`,
    /// `ereject`): such a recipient gets a transaction of their own, so a
    /// refusal is an SMTP reply rather than a bounce (RFC 5429 §2.1).
    pub async fn may_reject(&self, store: &Store, user: UserId) -> bool {
        match store.sieve_active(user).await {
            Ok(Some((_, text))) => text.to_ascii_lowercase().contains("reject"),
            _ => false,
        }
    }

    /// Runs the recipients' scripts over a message about to be committed.
    /// Never fails: a script that cannot run keeps the message.
    pub async fn sieve(&self, job: SieveJob<'_>) -> SievePlan {
        actions::plan(&self.sieve, job, |raw| self.sign(raw)).await
    }
}
