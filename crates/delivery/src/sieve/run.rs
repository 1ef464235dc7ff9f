//! One script run for one recipient: the interpreter's event loop, with
//! what it asks of the world (included scripts, mailboxes, what
//! `duplicate` and vacation remember) answered from the store, and its
//! actions collected as an [`Outcome`] for `actions.rs` to file. Nothing
//! is done here: the outcome becomes part of the message's one commit.

use std::collections::HashMap;
use std::sync::Arc;

use ::sieve::{Envelope, Event, Input, Mailbox, Recipient as SieveRcpt, Script, Sieve, SpamStatus};
use postern_store::{DeliveryTarget, SieveMark, SieveMemory, Store, UserId};

use super::vacation;
use super::{Engine, SieveRecipient};

/// Events one run may produce before it is stopped (the interpreter's
/// instruction budget usually stops it first; this bounds the loop itself).
const MAX_EVENTS: usize = 10_000;

/// What a script decided for one recipient.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Copies to file: the target and, for an edited message
    /// (editheader), its bytes (`None`: the copy as it came).
    pub files: Vec<(DeliveryTarget, Option<Vec<u8>>)>,
    /// Redirects: the address and, if edited, the bytes.
    pub redirects: Vec<(String, Option<Vec<u8>>)>,
    /// A vacation reply: the sender it goes to and the message.
    pub reply: Option<(String, Vec<u8>)>,
    pub marks: Vec<SieveMark>,
    /// `reject`/`ereject`'s reason.
    pub reject: Option<String>,
}

/// What a run is given besides the script.
pub(crate) struct RunInput<'a> {
    pub store: &'a Store,
    pub rcpt: &'a SieveRecipient,
    pub mail_from: &'a str,
    /// The copy as it would be filed (trace and verdict headers on top).
    pub raw: &'a [u8],
    /// Where the implicit keep files it (INBOX, or Junk by the verdict).
    pub keep: &'a DeliveryTarget,
    pub spam: SpamStatus,
}

impl Engine {
    /// Runs `script` (named `name`) over `m`. `Err` says why the run failed
    /// (the caller keeps the message and logs it).
    pub(crate) async fn run(
        &self,
        name: Script,
        script: Arc<Sieve>,
        m: &RunInput<'_>,
    ) -> Result<Outcome, String> {
        let mut ctx = self
            .runtime
            .filter(m.raw)
            .with_envelope(Envelope::From, m.mail_from)
            .with_envelope(Envelope::To, m.rcpt.envelope_to.as_str())
            .with_user_address(m.rcpt.address.as_str())
            .with_spam_status(m.spam);
        let user = m.rcpt.user;
        let mut out = Outcome::default();
        let mut created: HashMap<usize, Vec<u8>> = HashMap::new();
        let mut vacation_pending = false;
        let mut vacation_id = None;
        let mut mailboxes: Option<Vec<postern_store::Mailbox>> = None;
        let mut input = Input::script(name, script);
        for _ in 0..MAX_EVENTS {
            let Some(result) = ctx.run(input) else {
                return Ok(out);
            };
            let event = result.map_err(|e| format!("{e:?}"))?;
            input = Input::True;
            match event {
                Event::IncludeScript { name, optional } => {
                    input = match self.include(m.store, user, &name).await? {
                        Some(s) => Input::script(name, s),
                        None if optional => Input::False,
                        None => return Err(format!("included script {:?} not found", &*name)),
                    };
                }
                Event::MailboxExists {
                    mailboxes: wanted,
                    special_use,
                } => {
                    if mailboxes.is_none() {
                        mailboxes = Some(
                            m.store
                                .mailbox_list(user)
                                .await
                                .map_err(|e| e.to_string())?,
                        );
                    }
                    let have = mailboxes.as_deref().unwrap_or_default();
                    let all = wanted.iter().all(|w| match w {
                        Mailbox::Name(n) => have.iter().any(|b| same_name(&b.name, n)),
                        Mailbox::Id(id) => have.iter().any(|b| object_id(b) == *id),
                    }) && special_use.iter().all(|s| {
                        postern_store::SpecialUse::parse(s)
                            .is_some_and(|u| have.iter().any(|b| b.special_use == Some(u)))
                    });
                    input = all.into();
                }
                Event::ListContains { .. } => input = Input::False,
                Event::DuplicateId { id, expiry, .. } => {
                    let vacation = id.starts_with("_v");
                    let (memory, expiry) = if vacation {
                        let min = self.limits.vacation_min_secs;
                        (SieveMemory::Vacation, expiry.max(min))
                    } else {
                        (SieveMemory::Duplicate, expiry)
                    };
                    // RFC 5230 §4.6 (and RFC 3834 §2): no reply to lists,
                    // bulk mail or other automatic mail, nor to what the
                    // verdict filed as spam (its sender is likely forged:
                    // a reply would be backscatter); answered as "seen".
                    let junk = m.keep.special == Some(postern_store::SpecialUse::Junk);
                    if vacation && (junk || vacation::suppressed(m.raw, m.mail_from)) {
                        input = Input::True;
                        continue;
                    }
                    let key = vacation::key(&id);
                    let seen = m
                        .store
                        .sieve_seen(user, memory, &key)
                        .await
                        .map_err(|e| e.to_string())?;
                    if !seen {
                        out.marks.push(SieveMark {
                            user,
                            memory,
                            key,
                            expires_at: now() + expiry.min(i64::MAX as u64 / 2) as i64,
                        });
                        vacation_pending = vacation;
                    }
                    input = seen.into();
                }
                Event::SetEnvelope { .. } | Event::Notify { .. } => {}
                Event::Function { .. } => input = Input::False,
                Event::CreatedMessage {
                    message_id,
                    message,
                } => {
                    if vacation_pending {
                        vacation_id = Some(message_id);
                        vacation_pending = false;
                    }
                    created.insert(message_id, message);
                }
                Event::Keep { flags, message_id } => {
                    let mut t = m.keep.clone();
                    t.flags = flags_of(&flags);
                    out.files.push((t, created.get(&message_id).cloned()));
                }
                Event::Discard => {}
                Event::Reject { reason, .. } => out.reject = Some(reason),
                Event::FileInto {
                    folder,
                    flags,
                    mailbox_id,
                    special_use,
                    create,
                    message_id,
                } => {
                    let mut folder = folder;
                    // RFC 9042 §2: the mailbox with that id if it exists,
                    // else the name.
                    if let Some(id) = mailbox_id {
                        if mailboxes.is_none() {
                            mailboxes = m.store.mailbox_list(user).await.ok();
                        }
                        if let Some(b) = mailboxes
                            .as_deref()
                            .unwrap_or_default()
                            .iter()
                            .find(|b| object_id(b) == id)
                        {
                            folder = b.name.clone();
                        }
                    }
                    let t = DeliveryTarget {
                        user,
                        mailbox: Some(folder),
                        special: special_use
                            .as_deref()
                            .and_then(postern_store::SpecialUse::parse),
                        create,
                        flags: flags_of(&flags),
                    };
                    out.files.push((t, created.get(&message_id).cloned()));
                }
                Event::SendMessage {
                    recipient,
                    message_id,
                    ..
                } => {
                    let to = match recipient {
                        SieveRcpt::Address(a) => vec![a],
                        SieveRcpt::Group(g) => g,
                        SieveRcpt::List(_) => Vec::new(),
                    };
                    if vacation_id.is_some() && vacation_id == Some(message_id) {
                        if let (Some(to), Some(msg)) =
                            (to.into_iter().next(), created.get(&message_id))
                        {
                            out.reply = Some((to, msg.clone()));
                        }
                    } else {
                        for a in to {
                            out.redirects.push((a, created.get(&message_id).cloned()));
                        }
                    }
                }
            }
        }
        Err(format!("more than {MAX_EVENTS} events"))
    }

    /// An included script (RFC 6609): the user's own by name, or the
    /// admin's from the global scripts' directory.
    async fn include(
        &self,
        store: &Store,
        user: UserId,
        name: &Script,
    ) -> Result<Option<Arc<Sieve>>, String> {
        let text = match name {
            Script::Personal(n) => store.sieve_get(user, n).await.map_err(|e| e.to_string())?,
            Script::Global(n) => self.global_text(n),
        };
        match text {
            Some(t) => self.compiled(&t).map(Some).map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }
}

/// Mailbox names compare exactly, except INBOX (RFC 3501 §5.1).
fn same_name(have: &str, want: &str) -> bool {
    have == want || (have.eq_ignore_ascii_case("INBOX") && want.eq_ignore_ascii_case("INBOX"))
}

fn object_id(b: &postern_store::Mailbox) -> String {
    postern_store::mailbox_object_id(b.uidvalidity)
}

/// imap4flags' flag list (RFC 5232) as store flags; `None` when empty
/// (the copy keeps the message's own flags).
fn flags_of(flags: &[String]) -> Option<postern_store::Flags> {
    if flags.is_empty() {
        return None;
    }
    let mut system = postern_store::SystemFlags::empty();
    let mut keywords = Vec::new();
    for f in flags {
        match postern_store::SystemFlags::from_name(f) {
            Some(s) => system = system.union(s),
            // `\Recent` and unknown `\` names cannot be set (RFC 5232 §3).
            None if f.starts_with('\\') => {}
            None if is_atom(f) => keywords.push(f.clone()),
            None => {}
        }
    }
    Some(postern_store::Flags::new(system, keywords))
}

/// An IMAP atom (RFC 9051 §9 flag-keyword), printable and without specials.
fn is_atom(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
