//! NOTIFY (RFC 5465): one connection watches many mailboxes. The selected
//! mailbox keeps its usual updates; every other watched mailbox's change
//! feed is read by the session itself (`try_recv` at the end of each
//! command, so a change committed before the command is always seen),
//! and a small task per mailbox only wakes IDLE; the session answers a
//! change with `* STATUS name (MESSAGES UIDNEXT
//! UIDVALIDITY UNSEEN [HIGHESTMODSEQ])` wherever unsolicited data may go
//! (the end of a command, IDLE).
//!
//! Choices: the events served are MessageNew, MessageExpunge and
//! FlagChange (others: `NO [BADEVENT (...)]`, §5); the mailbox set is
//! resolved when NOTIFY SET runs (a mailbox created later is not
//! watched); a group with NONE takes its mailboxes out; at most `[imap]
//! notify_max_mailboxes` are watched (`NO [LIMIT]`). A deleted or renamed
//! mailbox gets `* LIST (\NonExistent) "/" name` and is no longer watched.

use std::collections::{BTreeMap, BTreeSet};

use postern_store::{ChangeKind, FeedEvent, Mailbox, MailboxId, Subscription};
use tokio::sync::mpsc;

use super::{Flow, Session, State};
use crate::wire::{self, Code, NotifyCommand, NotifyFilter, Tag};

/// RFC 5465 §5 events this server sends.
const EVENTS: [&str; 3] = ["MESSAGENEW", "MESSAGEEXPUNGE", "FLAGCHANGE"];

/// The watched mailboxes of a session after NOTIFY SET.
pub(crate) struct Notify {
    names: BTreeMap<MailboxId, String>,
    /// The feeds read at the end of each command: what was reported is
    /// what they held, so nothing is told twice or late.
    subs: Vec<(MailboxId, Subscription)>,
    /// FlagChange was asked for.
    flags: bool,
    /// Wake-ups for IDLE from the tasks (which read their own copy of the
    /// feeds); the mailbox each names is read again from `subs`.
    rx: mpsc::UnboundedReceiver<MailboxId>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Heard of during IDLE's wait, not yet reported.
    pending: BTreeSet<MailboxId>,
}

impl Drop for Notify {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Notify {
    /// Waits for a change in a watched mailbox.
    pub(super) async fn next(&mut self) {
        loop {
            if self.rx.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
            self.drain();
            if !self.pending.is_empty() {
                return;
            }
        }
    }

    /// Moves every change the feeds hold into `pending`.
    fn drain(&mut self) {
        while self.rx.try_recv().is_ok() {}
        for (id, sub) in &mut self.subs {
            while let Some(ev) = sub.try_recv() {
                if wanted(&ev, self.flags) {
                    self.pending.insert(*id);
                }
            }
        }
    }
}

/// Whether a feed event is one the client asked to hear of.
fn wanted(ev: &FeedEvent, flags: bool) -> bool {
    match ev {
        FeedEvent::Change(c) => flags || !matches!(c.kind, ChangeKind::Flags { .. }),
        FeedEvent::Resync => true,
    }
}

/// Whether `filter` covers the mailbox `m` (`subscribed`: the user's
/// subscribed names).
fn covers(filter: &NotifyFilter, m: &Mailbox, subscribed: &[String]) -> bool {
    match filter {
        NotifyFilter::Selected | NotifyFilter::SelectedDelayed => false,
        NotifyFilter::Inboxes => m.name == "INBOX",
        NotifyFilter::Personal => true,
        NotifyFilter::Subscribed => subscribed.contains(&m.name),
        NotifyFilter::Mailboxes(names) => names.iter().any(|n| n.as_str() == m.name),
        NotifyFilter::Subtree(names) => names
            .iter()
            .any(|n| m.name == n.as_str() || m.name.starts_with(&format!("{}/", n.as_str()))),
    }
}

impl Session {
    /// NOTIFY NONE / NOTIFY SET (RFC 5465 §3).
    pub(super) async fn notify(&mut self, tag: Tag, cmd: NotifyCommand, out: &mut Vec<u8>) -> Flow {
        let Some(user) = self.user_id() else {
            return Flow::Close;
        };
        let (status, groups) = match cmd {
            NotifyCommand::None => {
                self.notify = None;
                return self.ok(tag, "NOTIFY completed", out).await;
            }
            NotifyCommand::Set { status, groups } => (status, groups),
        };
        if groups
            .iter()
            .flat_map(|g| &g.events)
            .any(|e| !EVENTS.contains(&e.as_str()))
        {
            let list = "MessageNew MessageExpunge FlagChange";
            out.extend_from_slice(
                format!(
                    "{} NO [BADEVENT ({list})] Unsupported event\r\n",
                    tag.as_str()
                )
                .as_bytes(),
            );
            return Flow::Continue;
        }
        let (all, subscribed) = match (
            self.ctx.store.mailbox_list(user).await,
            self.ctx.store.subscriptions(user).await,
        ) {
            (Ok(a), Ok(s)) => (a, s),
            (Err(e), _) | (_, Err(e)) => return self.store_error(tag, e, out),
        };
        let mut names = BTreeMap::new();
        let mut flags = false;
        for m in &all {
            // The first group covering a mailbox decides (NONE: not watched).
            if let Some(g) = groups.iter().find(|g| covers(&g.filter, m, &subscribed))
                && !g.events.is_empty()
            {
                flags |= g.events.iter().any(|e| e == "FLAGCHANGE");
                names.insert(m.id, m.name.clone());
            }
        }
        if names.len() > self.ctx.cfg.notify_max_mailboxes {
            return self.no(tag, Some(Code::Limit), "Too many mailboxes to watch", out);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let mut tasks = Vec::with_capacity(names.len());
        let mut subs = Vec::with_capacity(names.len());
        for &id in names.keys() {
            subs.push((id, self.ctx.store.subscribe(id)));
            let mut wake = self.ctx.store.subscribe(id);
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(ev) = wake.recv().await {
                    if wanted(&ev, flags) && tx.send(id).is_err() {
                        break;
                    }
                }
            }));
        }
        let mut n = Notify {
            names,
            subs,
            flags,
            rx,
            tasks,
            pending: BTreeSet::new(),
        };
        if status {
            n.pending.extend(n.names.keys().copied());
        }
        self.notify = Some(n);
        self.ok(tag, "NOTIFY completed", out).await
    }

    /// STATUS for each watched mailbox that changed (not the selected one,
    /// whose changes go out as usual).
    pub(super) async fn notify_updates(&mut self, out: &mut Vec<u8>) {
        let selected = match &self.state {
            State::Selected(s) => Some(s.mailbox.id),
            _ => None,
        };
        let Some(n) = &mut self.notify else {
            return;
        };
        n.drain();
        let changed: Vec<(MailboxId, String)> = std::mem::take(&mut n.pending)
            .into_iter()
            .filter(|id| Some(*id) != selected)
            .filter_map(|id| n.names.get(&id).map(|name| (id, name.clone())))
            .collect();
        let utf8 = self.enabled.utf8_names();
        let condstore = self.enabled.condstore;
        for (id, name) in changed {
            match self.ctx.store.mailbox_status(id).await {
                Ok(st) if st.mailbox.name == name => {
                    out.extend_from_slice(b"* STATUS ");
                    wire::response::encode_mailbox_name(out, &name, utf8);
                    let modseq = if condstore {
                        format!(" HIGHESTMODSEQ {}", st.mailbox.highest_modseq.0)
                    } else {
                        String::new()
                    };
                    out.extend_from_slice(
                        format!(
                            " (MESSAGES {} UIDNEXT {} UIDVALIDITY {} UNSEEN {}{modseq})\r\n",
                            st.messages, st.mailbox.uidnext, st.mailbox.uidvalidity.0, st.unseen
                        )
                        .as_bytes(),
                    );
                }
                // Deleted, or renamed (RFC 5465 §5.4 would say more; we
                // say it is gone here and stop watching it).
                _ => {
                    out.extend_from_slice(b"* LIST (\\NonExistent) \"/\" ");
                    wire::response::encode_mailbox_name(out, &name, utf8);
                    out.extend_from_slice(b"\r\n");
                    if let Some(n) = &mut self.notify {
                        n.names.remove(&id);
                    }
                }
            }
        }
    }
}
