//! A delete as clients pipeline it: `STORE <set> +FLAGS (\Deleted)` (or
//! `UID STORE`) with `EXPUNGE` or `UID EXPUNGE` right behind it in the same
//! read. Run one after the other, each waits for a commit of its own (two
//! fsyncs, one after the other, before the client has both answers); the
//! driver (`server.rs`) hands such a pair to [`Session::store_then_expunge`],
//! and the STORE takes the EXPUNGE into its write
//! ([`postern_store::Store::set_flags_then_expunge`]): one job, one commit.
//!
//! Nothing else changes: the STORE is checked and answered as on its own,
//! then the EXPUNGE, both only after the commit (RFC 9051 §5.5: the
//! EXPUNGE runs after the STORE, in the same transaction), and each part
//! fails on its own as two commands would. A STORE refused before it
//! writes leaves the EXPUNGE to run on its own.

use postern_store::{Expunged, FlagOp, FlagUpdate, Flags, MailboxId, ModSeq, StoreError, Uid};

use super::{Flow, Session};
use crate::wire::{Command, CommandBody, SequenceSet, Tag};

/// The EXPUNGE of a pair: waiting for the STORE's write, then its result.
pub(super) enum Fused {
    Pending {
        tag: Tag,
        set: Option<SequenceSet>,
    },
    Done {
        tag: Tag,
        result: postern_store::Result<Expunged>,
    },
}

impl Session {
    /// Whether a command line (without its line ending) is an `EXPUNGE` or
    /// `UID EXPUNGE`, which can follow a STORE into its write. A line that
    /// announces a literal is not.
    pub fn expunge_line(line: &[u8]) -> bool {
        if line.ends_with(b"}") {
            return false;
        }
        let mut words = line.split(|&b| b == b' ');
        let _tag = words.next();
        match words.next() {
            Some(w) if w.eq_ignore_ascii_case(b"EXPUNGE") => words.next().is_none(),
            Some(w) if w.eq_ignore_ascii_case(b"UID") => words
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(b"EXPUNGE")),
            _ => false,
        }
    }

    /// Runs `store` (a STORE or UID STORE) and `expunge` (EXPUNGE or UID
    /// EXPUNGE, pipelined right behind it) with one write, and answers both
    /// in order. Anything else in `expunge` just runs after the STORE.
    pub async fn store_then_expunge(
        &mut self,
        store: Command,
        expunge: Command,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Command { tag, body } = expunge;
        let set = match body {
            CommandBody::Expunge => None,
            CommandBody::UidExpunge(set) => Some(set),
            body => {
                let flow = self.command(store, out).await;
                if !matches!(flow, Flow::Continue) {
                    return flow;
                }
                return self.command(Command { tag, body }, out).await;
            }
        };
        self.fused = Some(Fused::Pending { tag, set });
        let flow = self.command(store, out).await;
        match self.fused.take() {
            Some(Fused::Done { tag, result }) => self.expunge_answer(tag, result, out).await,
            // The STORE was refused before it wrote (BAD, no mailbox,
            // read-only): the EXPUNGE on its own, as if not paired.
            Some(Fused::Pending { tag, set }) if matches!(flow, Flow::Continue) => {
                let body = match set {
                    Some(set) => CommandBody::UidExpunge(set),
                    None => CommandBody::Expunge,
                };
                self.command(Command { tag, body }, out).await
            }
            _ => flow,
        }
    }

    /// The STORE being answered wrote an EXPUNGE with it, which answers next.
    pub(super) fn expunge_follows(&self) -> bool {
        matches!(self.fused, Some(Fused::Done { .. }))
    }

    /// STORE's write: with an EXPUNGE pipelined behind it, both in one job
    /// (its result kept for [`Session::store_then_expunge`] to answer).
    pub(super) async fn set_flags_write(
        &mut self,
        mailbox: MailboxId,
        uids: Vec<Uid>,
        op: FlagOp,
        flags: Flags,
        unchanged_since: Option<ModSeq>,
    ) -> postern_store::Result<FlagUpdate> {
        let (tag, set) = match self.fused.take() {
            Some(Fused::Pending { tag, set }) => (tag, set),
            other => {
                self.fused = other;
                return self
                    .ctx
                    .store
                    .set_flags(mailbox, uids, op, flags, unchanged_since)
                    .await;
            }
        };
        let which = match self.expunge_which(set.as_ref()) {
            Ok((m, which)) if m == mailbox => which,
            // Not in this mailbox's state after all: on its own, later.
            _ => {
                self.fused = Some(Fused::Pending { tag, set });
                return self
                    .ctx
                    .store
                    .set_flags(mailbox, uids, op, flags, unchanged_since)
                    .await;
            }
        };
        let (stored, expunged) = match self
            .ctx
            .store
            .set_flags_then_expunge(mailbox, uids, op, flags, unchanged_since, which)
            .await
        {
            Ok(both) => both,
            // The commit both shared failed: both are answered with it.
            Err(e) => (Err(e.twin()), Err(e)),
        };
        self.fused = Some(Fused::Done {
            tag,
            result: expunged,
        });
        stored
    }
}

/// A commit's error, for the second command that shared the commit.
trait Twin {
    fn twin(&self) -> StoreError;
}

impl Twin for StoreError {
    fn twin(&self) -> StoreError {
        match self {
            StoreError::Closed => StoreError::Closed,
            e if e.is_disk_full() => StoreError::DiskFull(e.to_string()),
            e => StoreError::Commit(e.to_string()),
        }
    }
}
