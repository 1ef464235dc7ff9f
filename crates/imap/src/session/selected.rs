//! The selected state: SELECT/EXAMINE (with SELECT (QRESYNC ...), which
//! resynchronises a client's cache, RFC 7162 §3.2.5), CLOSE, UNSELECT and
//! EXPUNGE, and what a session knows of its mailbox ([`Selected`]): its
//! UIDs and, from the same pass over the listing, its flags
//! (`flag_memory.rs`). The change feed is turned into EXISTS / EXPUNGE /
//! FETCH FLAGS by `feed_sync.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use postern_store::{ExpungeWhich, Flags, Mailbox, ModSeq, RecentOwner, Subscription, Uid};

use super::flag_memory::FlagMemory;
use super::{Flow, Session, State};
use super::{condstore, keywords};
use crate::wire::{self, Code, MailboxName, QResync, SelectParams, SequenceSet, Tag};

/// Why an EXPUNGE is refused before it writes.
pub(super) enum ExpungeRefused {
    NotSelected,
    ReadOnly,
}

/// What a session knows of its selected mailbox.
pub struct Selected {
    pub(super) mailbox: Mailbox,
    pub(super) read_only: bool,
    /// UIDs by sequence number (index + 1), including expunged ones not
    /// yet reported. Changed only through `flag_memory.rs`'s methods
    /// (`push_message`, `retain_messages`, `remove_message`), which keep
    /// `memory` beside it.
    pub(super) uids: Vec<u32>,
    /// The messages' flags, kept in step by the feed (`flag_memory.rs`);
    /// `None`: the store answers.
    pub(super) memory: Option<FlagMemory>,
    /// Expunged elsewhere, not yet reported with EXPUNGE.
    pub(super) pending_expunged: BTreeSet<u32>,
    /// New flags (and the MODSEQ they came with) seen on the feed, not
    /// yet reported.
    pub(super) pending_flags: BTreeMap<u32, (Flags, ModSeq)>,
    /// The feed lagged or the mailbox went away: compare with the store
    /// at the next sync (set while IDLE too, where nobody else looks).
    pub(super) needs_reload: bool,
    /// Messages added since the last EXISTS.
    pub(super) pending_exists: bool,
    /// Per UID, the MODSEQ of the newest state shown to the client (a
    /// FETCH, STORE's answer, an unsolicited FETCH), kept while the feed
    /// may still bring an older change of that message. A change this
    /// session made itself (not `.SILENT`) is shown by its own answer, so
    /// its event is dropped the same way.
    pub(super) shown: HashMap<u32, u64>,
    /// Per UID, the MODSEQ of a `.SILENT` STORE this session made, whose
    /// flags the client was not sent: its feed event is dropped, unless
    /// an older change from elsewhere comes first (the client then needs
    /// the whole state at that MODSEQ).
    pub(super) silent: HashMap<u32, u64>,
    /// Every change still to come from the feed has a MODSEQ above this
    /// (events come in commit order; `Subscription::floor` at SELECT).
    pub(super) floor: u64,
    /// UIDs saved by `SEARCH RETURN (SAVE)`, for `$` (RFC 5182).
    pub(super) saved: Option<Vec<u32>>,
    /// Search results kept up to date (RFC 5267 §4, `context.rs`).
    pub(super) contexts: Vec<super::context::UpdateContext>,
    /// RFC 3501 §2.3.2: messages from this UID on are `\Recent` here
    /// (`u32::MAX`: none, in IMAP4rev2 and in a SELECT while another
    /// session holds them; EXAMINE shows them without holding them).
    pub(super) first_recent: u32,
    /// Held while this session owns the mailbox's recent messages;
    /// leaving the mailbox drops it and hands them on.
    pub(super) recent_owner: Option<RecentOwner>,
    /// The keywords the last `* FLAGS` named (session/keywords.rs).
    pub(super) keywords: BTreeSet<String>,
    /// The highest UID an EXISTS has told of.
    pub(super) told_exists: u32,
    /// UIDs told of by EXISTS since NOTIFY last looked (its MessageNew
    /// fetch attributes are sent for them, `notify.rs`).
    pub(super) fresh: Vec<u32>,
    pub(super) sub: Subscription,
}

/// FLAGS as a session shows them: `\Recent` is no stored flag but this
/// session's view of the message (RFC 3501 §2.3.2).
pub(super) fn flags_shown(f: &Flags, recent: bool) -> String {
    let mut v: Vec<&str> = f.system.names().collect();
    if recent {
        v.insert(0, "\\Recent");
    }
    v.extend(f.keywords.iter().map(String::as_str));
    format!("({})", v.join(" "))
}

impl Selected {
    /// The mailbox's HIGHESTMODSEQ as far as this session has heard.
    pub(super) fn highest_modseq(&self) -> u64 {
        self.mailbox.highest_modseq.0
    }

    /// Whether `uid` is `\Recent` in this session.
    pub(super) fn is_recent(&self, uid: u32) -> bool {
        uid >= self.first_recent
    }

    /// `* n RECENT`: how many of the session's messages are recent.
    pub(super) fn recent_count(&self) -> usize {
        let first = self.first_recent;
        self.uids.len() - self.uids.partition_point(|&u| u < first)
    }

    pub(super) fn seq_of(&self, uid: u32) -> Option<u32> {
        self.uids.binary_search(&uid).ok().map(|i| i as u32 + 1)
    }

    /// RFC 9051 §9 (seq-number): a message sequence number past the end
    /// of the mailbox is an error, unlike a UID no message has.
    pub(super) fn past_the_end(&self, set: &SequenceSet, uid: bool) -> bool {
        !uid && set
            .largest_written()
            .is_some_and(|n| n as usize > self.uids.len())
    }

    /// The sequence numbers (1-based) a set names, in ascending order.
    pub(super) fn resolve(&self, set: &SequenceSet, uid: bool) -> Vec<u32> {
        let n = self.uids.len() as u32;
        // RFC 5182 §2.1: `$` is the saved result, as UIDs, whatever the command.
        if matches!(set, SequenceSet::Saved) {
            let saved = self.saved.as_deref().unwrap_or_default();
            return (1..=n)
                .filter(|&s| saved.contains(&self.uids[s as usize - 1]))
                .collect();
        }
        if uid {
            let max = self.uids.last().copied().unwrap_or(0);
            (1..=n)
                .filter(|&s| set.contains(self.uids[s as usize - 1], max))
                .collect()
        } else {
            (1..=n).filter(|&s| set.contains(s, n)).collect()
        }
    }

    /// Up to `limit` of the messages `set` names from sequence number
    /// `from` on, as (sequence number, UID) in ascending order: a FETCH
    /// over a big mailbox takes them a batch at a time. Only the first
    /// `known` messages count (`*` is the last of them): those the
    /// session had when the command began, before it took the feed's
    /// events (`flag_memory.rs`).
    pub(super) fn batch(
        &self,
        set: &SequenceSet,
        uid: bool,
        (from, limit): (u32, usize),
        known: usize,
    ) -> Vec<(u32, u32)> {
        let uids = &self.uids[..known.min(self.uids.len())];
        let at = |q: u32| (q, uids[q as usize - 1]);
        let n = uids.len() as u32;
        if matches!(set, SequenceSet::Saved) {
            return self
                .resolve(set, uid)
                .into_iter()
                .filter(|&q| q >= from && q <= n)
                .take(limit)
                .map(at)
                .collect();
        }
        let max = uids.last().copied().unwrap_or(0);
        (from.max(1)..=n)
            .filter(|&q| {
                if uid {
                    set.contains(uids[q as usize - 1], max)
                } else {
                    set.contains(q, n)
                }
            })
            .take(limit)
            .map(at)
            .collect()
    }

    #[cfg(test)]
    pub(super) fn for_tests(uids: Vec<u32>, store: &postern_store::Store) -> Selected {
        let told_exists = uids.last().copied().unwrap_or(0);
        Selected {
            mailbox: Mailbox {
                id: postern_store::MailboxId(1),
                user: postern_store::UserId(1),
                name: "INBOX".into(),
                uidvalidity: postern_store::UidValidity(1),
                uidnext: uids.last().map_or(1, |u| u + 1),
                highest_modseq: ModSeq(1),
                subscribed: true,
                special_use: None,
            },
            read_only: false,
            uids,
            memory: None,
            pending_expunged: BTreeSet::new(),
            pending_flags: BTreeMap::new(),
            needs_reload: false,
            pending_exists: false,
            shown: HashMap::new(),
            silent: HashMap::new(),
            floor: 0,
            saved: None,
            contexts: Vec::new(),
            first_recent: u32::MAX,
            recent_owner: None,
            keywords: BTreeSet::new(),
            // As after SELECT: every message was told of.
            told_exists,
            fresh: Vec::new(),
            sub: store.subscribe(postern_store::MailboxId(1)),
        }
    }
}

impl Session {
    pub(super) async fn select(
        &mut self,
        tag: Tag,
        name: MailboxName,
        params: SelectParams,
        read_only: bool,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Some(user) = self.user_id() else {
            return Flow::Close;
        };
        // RFC 7162 §3.2.5: QRESYNC parameters need ENABLE QRESYNC first.
        if params.qresync.is_some() && !self.enabled.qresync {
            return self.bad(Some(tag), "ENABLE QRESYNC first", out);
        }
        // RFC 7162 §3.2.11: the responses before CLOSED are about the
        // mailbox being left; a failed SELECT closes it too (RFC 9051 §6.3.1).
        // Sent only once QRESYNC is on, as Dovecot does: only a client
        // resynchronising with VANISHED needs the boundary.
        if self.enabled.announces_closed() && matches!(self.state, State::Selected(_)) {
            wire::StatusResponse::new(None, wire::Status::Ok, "Previous mailbox closed")
                .with_code(Code::Closed)
                .encode(out);
        }
        self.state = State::Authenticated;
        if params.condstore {
            self.enabled.condstore = true;
        }
        let mailbox = match self.ctx.store.mailbox_get(user, name.as_str()).await {
            Ok(Some(m)) => m,
            Ok(None) => return self.no(tag, Some(Code::NonExistent), "No such mailbox", out),
            Err(e) => return self.store_error(tag, e, out),
        };
        // Watch before reading, so nothing committed in between is missed.
        let sub = self.ctx.store.subscribe(mailbox.id);
        // RFC 3501 §2.3.2, IMAP4rev1 only (RFC 9051 dropped \Recent): a
        // SELECT takes the mailbox's recent messages unless another session
        // holds them; EXAMINE shows them without taking them (§6.3.2).
        let recent = if self.enabled.rev2 {
            Ok((None, u32::MAX))
        } else if read_only {
            self.ctx
                .store
                .recent_from(mailbox.id)
                .await
                .map(|f| (None, f))
        } else {
            self.ctx.store.take_recent(mailbox.id).await.map(|o| {
                let first = o.as_ref().map_or(u32::MAX, RecentOwner::first_recent);
                (o, first)
            })
        };
        let (mut recent_owner, first_recent) = match recent {
            Ok(r) => r,
            Err(e) => return self.store_error(tag, e, out),
        };
        let floor = sub.floor(mailbox.highest_modseq).0;
        // One lean pass over the listing: UIDs, first unseen, keywords,
        // and the flags the session keeps (`flag_memory.rs`).
        let mut view = match self.ctx.store.mailbox_view(mailbox.id, ModSeq(floor)).await {
            Ok(v) => v,
            Err(e) => return self.store_error(tag, e, out),
        };
        let memory = (view.flag_slots.len() == view.uids.len()).then(|| {
            let slots = std::mem::take(&mut view.flag_slots);
            FlagMemory::from_view(slots, &mut view)
        });
        let postern_store::MailboxView {
            uids,
            first_unseen,
            keywords,
            ..
        } = view;
        keywords::flags_lines(out, &keywords, read_only);
        out.extend_from_slice(format!("* {} EXISTS\r\n", uids.len()).as_bytes());
        if self.enabled.rev2 {
            // RFC 9051 §6.3.2: a LIST line with the mailbox's name; RECENT
            // and the UNSEEN code are gone from IMAP4rev2.
            out.extend_from_slice(b"* LIST () \"/\" ");
            wire::response::encode_mailbox_name(out, &mailbox.name, true);
            out.extend_from_slice(b"\r\n");
        } else {
            let recent = uids.len() - uids.partition_point(|&u| u < first_recent);
            out.extend_from_slice(format!("* {recent} RECENT\r\n").as_bytes());
            // RFC 9586: no message numbers under UIDONLY, so no UNSEEN.
            if let Some(pos) = first_unseen.filter(|_| !self.enabled.uid_only) {
                out.extend_from_slice(
                    format!("* OK [UNSEEN {}] First unseen\r\n", pos + 1).as_bytes(),
                );
            }
        }
        out.extend_from_slice(
            format!(
                "* OK [UIDVALIDITY {}] UIDs valid\r\n* OK [UIDNEXT {}] Predicted next UID\r\n",
                mailbox.uidvalidity.0, mailbox.uidnext
            )
            .as_bytes(),
        );
        // RFC 8474 §4.1: SELECT and EXAMINE name the mailbox's MAILBOXID.
        wire::StatusResponse::new(None, wire::Status::Ok, "Mailbox id")
            .with_code(Code::MailboxId(postern_store::mailbox_object_id(
                mailbox.uidvalidity,
            )))
            .encode(out);
        // RFC 7162 §3.1.2.1: a server that keeps mod-sequences sends the
        // mailbox's HIGHESTMODSEQ with every successful SELECT/EXAMINE.
        wire::StatusResponse::new(None, wire::Status::Ok, "Highest")
            .with_code(Code::HighestModSeq(mailbox.highest_modseq.0))
            .encode(out);
        let verb = if read_only { "EXAMINE" } else { "SELECT" };
        let code = if read_only {
            Code::ReadOnly
        } else {
            Code::ReadWrite
        };
        let resync = params
            .qresync
            .filter(|q| q.uid_validity.get() == mailbox.uidvalidity.0);
        let id = mailbox.id;
        if let Some(o) = &mut recent_owner {
            // Every message listed here is told of by EXISTS.
            let listed = uids.last().map_or(0, |u| u.saturating_add(1));
            o.told_upto(listed.max(mailbox.uidnext));
        }
        self.state = State::Selected(Box::new(Selected {
            mailbox,
            read_only,
            told_exists: uids.last().copied().unwrap_or(0),
            uids,
            memory,
            pending_expunged: BTreeSet::new(),
            pending_flags: BTreeMap::new(),
            needs_reload: false,
            pending_exists: false,
            shown: HashMap::new(),
            silent: HashMap::new(),
            floor,
            saved: None,
            contexts: Vec::new(),
            first_recent,
            recent_owner,
            keywords,
            fresh: Vec::new(),
            sub,
        }));
        if let Some(q) = resync
            && let Err(e) = self.qresync(id, &q, out).await
        {
            return self.store_error(tag, e, out);
        }
        wire::StatusResponse::new(Some(tag), wire::Status::Ok, format!("{verb} completed"))
            .with_code(code)
            .encode(out);
        Flow::Continue
    }

    /// RFC 7162 §3.2.5.1: what the client's cache at `q.modseq` misses:
    /// `VANISHED (EARLIER)` for UIDs expunged since (those it says it knows,
    /// when it says), then FLAGS and MODSEQ of every message changed since.
    /// The sequence-match data is an optimisation the server may skip.
    async fn qresync(
        &mut self,
        mailbox: postern_store::MailboxId,
        q: &QResync,
        out: &mut Vec<u8>,
    ) -> Result<(), postern_store::StoreError> {
        let changes = self
            .ctx
            .store
            .changes_since(mailbox, ModSeq(q.modseq))
            .await?;
        let State::Selected(s) = &mut self.state else {
            return Ok(());
        };
        let max = changes
            .vanished
            .iter()
            .map(|u| u.get())
            .max()
            .unwrap_or(0)
            .max(s.uids.last().copied().unwrap_or(0));
        condstore::vanished(
            out,
            true,
            changes
                .vanished
                .iter()
                .map(|u| u.get())
                .filter(|&u| q.known_uids.as_ref().is_none_or(|k| k.contains(u, max)))
                // A UID expunged and then re-used cannot happen (UIDs only
                // grow), but one still listed is not gone.
                .filter(|&u| s.seq_of(u).is_none()),
        );
        let enabled = self.enabled;
        for m in &changes.changed {
            if let Some(seq) = s.seq_of(m.uid.get()) {
                s.mark_shown(m.uid.get(), m.modseq);
                let uid_item = if enabled.uid_only {
                    String::new()
                } else {
                    format!("UID {} ", m.uid)
                };
                out.extend_from_slice(
                    format!(
                        "{}{uid_item}FLAGS {} MODSEQ ({}))\r\n",
                        enabled.fetch_head(seq, m.uid.get()),
                        flags_shown(&m.flags, s.is_recent(m.uid.get())),
                        m.modseq.0
                    )
                    .as_bytes(),
                );
            }
        }
        Ok(())
    }

    /// CLOSE (expunges `\Deleted` silently when read-write) and UNSELECT.
    pub(super) async fn close(&mut self, tag: Tag, expunge: bool, out: &mut Vec<u8>) -> Flow {
        let State::Selected(s) = &self.state else {
            return self.bad(Some(tag), "No mailbox selected", out);
        };
        if expunge
            && !s.read_only
            && let Err(e) = self
                .ctx
                .store
                .expunge(s.mailbox.id, ExpungeWhich::Deleted)
                .await
        {
            return self.store_error(tag, e, out);
        }
        self.state = State::Authenticated;
        wire::StatusResponse::new(Some(tag), wire::Status::Ok, "Closed").encode(out);
        Flow::Continue
    }

    /// EXPUNGE and UID EXPUNGE (RFC 4315 §2.1).
    pub(super) async fn expunge(
        &mut self,
        tag: Tag,
        set: Option<SequenceSet>,
        out: &mut Vec<u8>,
    ) -> Flow {
        let (mailbox, which) = match self.expunge_which(set.as_ref()) {
            Ok(w) => w,
            Err(refused) => return self.expunge_refused(refused, tag, out),
        };
        let done = self.ctx.store.expunge(mailbox, which).await;
        self.expunge_answer(tag, done, out).await
    }

    /// What an EXPUNGE (`set` None) or UID EXPUNGE removes, or why it is
    /// refused.
    pub(super) fn expunge_which(
        &self,
        set: Option<&SequenceSet>,
    ) -> Result<(postern_store::MailboxId, ExpungeWhich), ExpungeRefused> {
        let State::Selected(s) = &self.state else {
            return Err(ExpungeRefused::NotSelected);
        };
        if s.read_only {
            return Err(ExpungeRefused::ReadOnly);
        }
        let which = match set {
            None => ExpungeWhich::Deleted,
            Some(set) => {
                let seqs = s.resolve(set, true);
                ExpungeWhich::DeletedAmong(
                    seqs.iter()
                        .filter_map(|&q| Uid::new(s.uids[q as usize - 1]))
                        .collect(),
                )
            }
        };
        Ok((s.mailbox.id, which))
    }

    pub(super) fn expunge_refused(
        &mut self,
        why: ExpungeRefused,
        tag: Tag,
        out: &mut Vec<u8>,
    ) -> Flow {
        match why {
            ExpungeRefused::NotSelected => self.bad(Some(tag), "No mailbox selected", out),
            ExpungeRefused::ReadOnly => {
                self.no(tag, Some(Code::ReadOnly), "Mailbox is read-only", out)
            }
        }
    }

    /// Answers an EXPUNGE whose write is done (`done`).
    pub(super) async fn expunge_answer(
        &mut self,
        tag: Tag,
        done: postern_store::Result<postern_store::Expunged>,
        out: &mut Vec<u8>,
    ) -> Flow {
        match done {
            Ok(done) => {
                if let State::Selected(s) = &mut self.state {
                    s.pending_expunged.extend(done.uids.iter().map(|u| u.get()));
                }
                self.sync(out, true).await;
                let mut r =
                    wire::StatusResponse::new(Some(tag), wire::Status::Ok, "EXPUNGE completed");
                // RFC 7162 §3.1: with CONDSTORE on, EXPUNGE tells the new HIGHESTMODSEQ.
                if self.enabled.condstore && !done.uids.is_empty() {
                    r = r.with_code(Code::HighestModSeq(done.modseq.0));
                }
                r.encode(out);
                Flow::Continue
            }
            Err(e) => self.store_error(tag, e, out),
        }
    }
}
