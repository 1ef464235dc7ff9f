//! TRANSACTION and UPDATE over a snapshot of INBOX taken at login: STAT,
//! LIST, UIDL, RETR, TOP, DELE, RSET (RFC 1939 §5-7), and QUIT's removal
//! of the deleted messages as one store expunge.
//!
//! Message numbers index the snapshot and never shift during the session.
//! A message that IMAP expunges meanwhile keeps its number and its LIST and
//! UIDL lines (RFC 1939 has no way to tell the client); RETR and TOP of it
//! answer `-ERR` plainly, and DELE of it is accepted and has nothing to
//! remove at QUIT.

use postern_store::{MailboxId, Pop3Update, Pop3Updated, Uid, UidValidity};

use super::Context;
use super::lock::MaildropLock;
use super::readahead::Reader;
use crate::wire::{Command, MsgNum, RespCode, response};

/// One message of the snapshot (16 bytes: a session on a 100,000-message
/// maildrop holds 1.6 MB of these, and at most `max_messages`).
struct Entry {
    uid: Uid,
    size: u64,
    deleted: bool,
    seen: bool,
    /// Retrieved with RETR this session (for `retr_sets_seen`).
    retrieved: bool,
}

/// Bytes of a LIST or UIDL answer written at a time: the driver sends each
/// piece before the next is made, so a session never holds the whole
/// listing of a large maildrop (100,000 UIDL lines are about 2.5 MB).
#[cfg(not(test))]
pub(super) const LISTING_PIECE: usize = 64 * 1024;
/// Small in tests, so that a few messages make several pieces.
#[cfg(test)]
pub(super) const LISTING_PIECE: usize = 100;

/// A multi-line LIST or UIDL answer part way written.
#[derive(Clone, Copy)]
struct Listing {
    uidl: bool,
    /// The snapshot index to write next.
    next: usize,
}

/// The locked maildrop of a logged-in session.
pub(super) struct Maildrop {
    mailbox: MailboxId,
    uidvalidity: UidValidity,
    msgs: Vec<Entry>,
    /// UIDLs messages brought from the server they were imported from
    /// (`postern mailbox import` of a Dovecot maildir), shown instead of ours
    /// so POP3 clients do not download them again.
    imported_uidls: std::collections::HashMap<Uid, String>,
    /// Reads for RETR and TOP: read-ahead, and IMAP's expunges.
    reader: Reader,
    /// A LIST or UIDL answer not yet written to its end.
    listing: Option<Listing>,
    /// Released when the session ends, however it ends.
    _lock: MaildropLock,
}

/// How a TRANSACTION command went.
pub(super) enum Outcome {
    /// Answered (with `+OK`, or `-ERR` for something that is not the
    /// client's mistake).
    Done,
    /// The client's mistake: the session answers `-ERR text` and counts it.
    Bad(String),
}

/// The unique-id of a message (RFC 1939 §7 UIDL: 1-70 characters of
/// 0x21-0x7E). Dovecot's default `pop3_uidl_format` is `%08Xu%08Xv`; the
/// same shape here means a mailbox migrated with its UIDs and UIDVALIDITY
/// keeps its UIDLs and clients do not download everything again. UIDs are
/// never reused within a UIDVALIDITY and UIDVALIDITY values only grow, so
/// a UIDL is never given to another message.
pub fn uidl(uidvalidity: UidValidity, uid: Uid) -> String {
    format!("{:08X}{:08X}", uid.get(), uidvalidity.0)
}

impl Maildrop {
    /// The snapshot of the user's INBOX (RFC 1939 §7: taken when the
    /// maildrop is locked).
    pub(super) async fn open(
        ctx: &Context,
        user: i64,
        lock: MaildropLock,
    ) -> postern_store::Result<Maildrop> {
        let user = postern_store::UserId(user);
        let mb = ctx
            .store
            .mailbox_get(user, "INBOX")
            .await?
            .ok_or_else(|| postern_store::StoreError::NotFound("INBOX".into()))?;
        // Watch before listing, so no expunge falls between the two.
        let feed = ctx.store.subscribe(mb.id);
        let msgs: Vec<Entry> = ctx
            .store
            .pop3_snapshot(mb.id, ctx.cfg.max_messages)
            .await?
            .into_iter()
            .map(|m| Entry {
                uid: m.uid,
                size: m.size,
                deleted: false,
                seen: m.seen,
                retrieved: false,
            })
            .collect();
        let max_uid = msgs.last().map(|m| m.uid);
        let imported_uidls = ctx.store.pop3_uidls(mb.id).await?;
        Ok(Maildrop {
            mailbox: mb.id,
            uidvalidity: mb.uidvalidity,
            msgs,
            imported_uidls,
            reader: Reader::new(feed, max_uid),
            listing: None,
            _lock: lock,
        })
    }

    /// While the driver waits for the client: see `Reader::prepare`.
    pub(super) fn prepare(&mut self) {
        self.reader.prepare();
    }

    /// A message's unique-id: the one it was imported with, else ours.
    fn uidl_of(&self, uid: Uid) -> String {
        match self.imported_uidls.get(&uid) {
            Some(u) => u.clone(),
            None => uidl(self.uidvalidity, uid),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.msgs.len()
    }

    /// Messages not marked deleted, and their total size.
    pub(super) fn stat(&self) -> (usize, u64) {
        self.msgs
            .iter()
            .filter(|m| !m.deleted)
            .fold((0, 0), |(n, s), m| (n + 1, s + m.size))
    }

    /// Whether a LIST or UIDL answer is part way written.
    pub(super) fn listing_pending(&self) -> bool {
        self.listing.is_some()
    }

    /// Writes the next piece (about [`LISTING_PIECE`] bytes) of the
    /// pending LIST or UIDL answer, its final `.` line with the last one.
    pub(super) fn more(&mut self, out: &mut Vec<u8>) {
        let Some(mut l) = self.listing.take() else {
            return;
        };
        let stop = out.len() + LISTING_PIECE;
        while let Some(m) = self.msgs.get(l.next) {
            let n = l.next + 1;
            l.next += 1;
            if m.deleted {
                continue;
            }
            let line = if l.uidl {
                format!("{n} {}", self.uidl_of(m.uid))
            } else {
                format!("{n} {}", m.size)
            };
            response::line(out, &line);
            if out.len() >= stop {
                if l.next < self.msgs.len() {
                    self.listing = Some(l);
                    return;
                }
                break;
            }
        }
        response::end(out);
    }

    /// The message `n` names, if it exists and is not deleted.
    fn get(&self, n: MsgNum) -> Result<&Entry, String> {
        match self.msgs.get(n.index()) {
            None => Err(format!(
                "No such message: {n} (maildrop has {})",
                self.msgs.len()
            )),
            Some(m) if m.deleted => Err(format!("Message {n} is already deleted")),
            Some(m) => Ok(m),
        }
    }

    pub(super) async fn command(
        &mut self,
        ctx: &Context,
        cmd: Command,
        out: &mut Vec<u8>,
    ) -> Outcome {
        match cmd {
            Command::Stat => {
                let (n, size) = self.stat();
                response::ok(out, &format!("{n} {size}"));
            }
            Command::List(None) => {
                let (n, size) = self.stat();
                response::ok(out, &format!("{n} messages ({size} octets)"));
                self.listing = Some(Listing {
                    uidl: false,
                    next: 0,
                });
                self.more(out);
            }
            Command::List(Some(n)) => match self.get(n) {
                Ok(m) => response::ok(out, &format!("{n} {}", m.size)),
                Err(e) => return Outcome::Bad(e),
            },
            Command::Uidl(None) => {
                response::ok(out, "Unique-id listing follows");
                self.listing = Some(Listing {
                    uidl: true,
                    next: 0,
                });
                self.more(out);
            }
            Command::Uidl(Some(n)) => match self.get(n) {
                Ok(m) => response::ok(out, &format!("{n} {}", self.uidl_of(m.uid))),
                Err(e) => return Outcome::Bad(e),
            },
            Command::Retr(n) => return self.send(ctx, n, None, out).await,
            Command::Top(n, lines) => return self.send(ctx, n, Some(lines), out).await,
            Command::Dele(n) => match self.get(n) {
                Ok(m) => {
                    let uid = m.uid;
                    self.reader.forget(uid);
                    self.msgs[n.index()].deleted = true;
                    response::ok(out, &format!("Message {n} deleted"));
                }
                Err(e) => return Outcome::Bad(e),
            },
            Command::Rset => {
                for m in &mut self.msgs {
                    m.deleted = false;
                }
                let (n, size) = self.stat();
                response::ok(out, &format!("Maildrop has {n} messages ({size} octets)"));
            }
            Command::Stls => {
                return Outcome::Bad("Already logged in (STLS comes before login)".into());
            }
            Command::User(_) | Command::Pass(_) | Command::Auth { .. } => {
                return Outcome::Bad("Already logged in".into());
            }
            // Handled by the session in every state.
            Command::Capa | Command::Noop | Command::Quit => response::ok(out, ""),
        }
        Outcome::Done
    }

    /// RETR (`lines` None) or TOP.
    async fn send(
        &mut self,
        ctx: &Context,
        n: MsgNum,
        lines: Option<u32>,
        out: &mut Vec<u8>,
    ) -> Outcome {
        let uid = match self.get(n) {
            Ok(m) => m.uid,
            Err(e) => return Outcome::Bad(e),
        };
        let index = n.index();
        // Whether the message was there and is answered.
        let found = match lines {
            None => {
                let run = self.msgs[index..]
                    .iter()
                    .filter(|m| !m.deleted)
                    .map(|m| (m.uid, m.size));
                let found = self
                    .reader
                    .retr(&ctx.store, self.mailbox, index, run, out)
                    .await;
                if let Ok(true) = found {
                    self.msgs[index].retrieved = true;
                }
                found
            }
            Some(lines) => {
                let bytes = self.reader.top(&ctx.store, self.mailbox, uid).await;
                bytes.map(|b| match b {
                    Some(b) => {
                        response::ok(out, "Top of message follows");
                        response::message(out, &b, Some(lines));
                        true
                    }
                    None => false,
                })
            }
        };
        match found {
            Ok(true) => {}
            Ok(false) => response::err(
                out,
                None,
                &format!("Message {n} was removed by another session"),
            ),
            Err(e) => {
                tracing::warn!(error = %e, uid = uid.get(), "could not read a message");
                response::err(out, Some(RespCode::SysTemp), "Cannot read the message now");
            }
        }
        Outcome::Done
    }

    /// UPDATE (RFC 1939 §6): one store commit sets `\Seen` on what was
    /// retrieved (with `retr_sets_seen`), records first retrievals, and
    /// removes the deleted messages and those past the EXPIRE retention;
    /// IMAP sessions see EXPUNGE/VANISHED from its feed entry.
    pub(super) async fn update(self, ctx: &Context, out: &mut Vec<u8>) {
        let pick = |want: fn(&Entry) -> bool| -> Vec<Uid> {
            self.msgs
                .iter()
                .filter(|m| want(m))
                .map(|m| m.uid)
                .collect()
        };
        let update = Pop3Update {
            seen: if ctx.cfg.retr_sets_seen {
                pick(|m| m.retrieved && !m.seen && !m.deleted)
            } else {
                Vec::new()
            },
            // The retention clock matters only while expiry is on.
            retrieved: if ctx.cfg.expire.is_some() {
                pick(|m| m.retrieved && !m.deleted)
            } else {
                Vec::new()
            },
            deleted: pick(|m| m.deleted),
            expire_after: ctx.cfg.expire,
        };
        // With expiry on, every QUIT looks for mail past its retention.
        let work =
            !update.seen.is_empty() || !update.deleted.is_empty() || ctx.cfg.expire.is_some();
        let mut removed = Pop3Updated::default();
        let mut failed = false;
        if work {
            match ctx.store.pop3_update(self.mailbox, update).await {
                Ok(r) => removed = r,
                Err(e) => {
                    tracing::warn!(error = %e, "could not update the maildrop at QUIT");
                    failed = true;
                }
            }
        }
        if removed.expired > 0 {
            tracing::info!(
                expired = removed.expired,
                "POP3 EXPIRE removed retrieved messages"
            );
        }
        if failed {
            // RFC 1939 §6: -ERR when some deleted messages were not removed.
            response::err(
                out,
                Some(RespCode::SysTemp),
                "Could not update the maildrop",
            );
        } else {
            let left = self.stat().0.saturating_sub(removed.expired);
            let expired = if removed.expired > 0 {
                format!(" ({} expired)", removed.expired)
            } else {
                String::new()
            };
            response::ok(
                out,
                &format!(
                    "Bye: {} messages removed{expired}, {left} left",
                    removed.deleted + removed.expired
                ),
            );
        }
    }
}
