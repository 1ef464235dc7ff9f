//! NOTIFY (RFC 5465): one connection watches many mailboxes. The selected
//! mailbox keeps its usual updates; every other watched mailbox's change
//! feed is read by the session itself (`try_recv` at the end of each
//! command, so a change committed before the command is always seen),
//! and a small task per mailbox only wakes IDLE; the session answers a
//! change with `* STATUS name (MESSAGES UIDNEXT
//! UIDVALIDITY UNSEEN [HIGHESTMODSEQ])` wherever unsolicited data may go
//! (the end of a command, IDLE).
//!
//! The user's list feed (the store's `subscribe_list`) brings
//! MailboxName (§5.4: `* LIST` for a created, deleted or renamed name,
//! with `OLDNAME`) and SubscriptionChange (§5.5), and keeps the watched
//! set true: a mailbox created, renamed or subscribed into a group's
//! filter is watched from then on, one that leaves it no longer is.
//! MessageNew's fetch attributes for the selected mailbox (§5.2) come as a
//! FETCH after the EXISTS. Choices: AnnotationChange and the METADATA
//! events get `NO [BADEVENT (...)]` (§5); SELECTED-DELAYED is served as
//! SELECTED, whose expunges already wait for a command that may carry
//! them (RFC 9051 §7.5.1); a group with NONE takes its mailboxes out; at
//! most `[imap] notify_max_mailboxes` are watched (`NO [LIMIT]`).

use std::collections::{BTreeMap, BTreeSet};

use postern_store::{
    ChangeKind, FeedEvent, ListChange, ListEvent, ListSubscription, MailboxId, Subscription, UserId,
};
use tokio::sync::mpsc;

use super::{Flow, Session, State};
use crate::wire::{
    self, Code, EventGroup, FetchAttr, FetchModifiers, NotifyCommand, NotifyFilter, SequenceSet,
    Tag,
};

/// RFC 5465 §5 events this server sends.
const EVENTS: [&str; 5] = [
    "MESSAGENEW",
    "MESSAGEEXPUNGE",
    "FLAGCHANGE",
    "MAILBOXNAME",
    "SUBSCRIPTIONCHANGE",
];

/// The events that concern messages (the rest concern names).
const MESSAGE_EVENTS: [&str; 3] = ["MESSAGENEW", "MESSAGEEXPUNGE", "FLAGCHANGE"];

/// One watched mailbox.
struct Watched {
    name: String,
    /// FlagChange was asked for it.
    flags: bool,
    sub: Subscription,
    /// Wakes IDLE; the change itself is read from `sub`.
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The watched mailboxes of a session after NOTIFY SET.
pub(crate) struct Notify {
    user: UserId,
    /// The groups as given (the selected ones are not kept here).
    groups: Vec<EventGroup>,
    /// MessageNew's fetch attributes for the selected mailbox.
    fetch: Option<Vec<FetchAttr>>,
    watched: BTreeMap<MailboxId, Watched>,
    /// The user's subscribed names (for the `subscribed` filter).
    subscribed: BTreeSet<String>,
    list: ListSubscription,
    list_task: tokio::task::JoinHandle<()>,
    wake_tx: mpsc::UnboundedSender<()>,
    wake: mpsc::UnboundedReceiver<()>,
    /// Heard of, not yet reported.
    pending: BTreeSet<MailboxId>,
    list_pending: Vec<ListEvent>,
}

impl Drop for Notify {
    fn drop(&mut self) {
        self.list_task.abort();
    }
}

impl Notify {
    /// Waits for a change in a watched mailbox or the mailbox list.
    pub(super) async fn next(&mut self) {
        loop {
            if self.wake.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
            self.drain();
            if !self.pending.is_empty() || !self.list_pending.is_empty() {
                return;
            }
        }
    }

    /// Moves every change the feeds hold into `pending`.
    fn drain(&mut self) {
        while self.wake.try_recv().is_ok() {}
        for (id, w) in &mut self.watched {
            while let Some(ev) = w.sub.try_recv() {
                if wanted(&ev, w.flags) {
                    self.pending.insert(*id);
                }
            }
        }
        while let Some(ev) = self.list.try_recv() {
            self.list_pending.push(ev);
        }
    }

    /// The first group whose filter covers `name` (the first decides,
    /// RFC 5465 §6), if it is not one for the selected mailbox.
    fn group(&self, name: &str) -> Option<&EventGroup> {
        self.groups
            .iter()
            .find(|g| covers(&g.filter, name, &self.subscribed))
    }

    /// Whether `name`'s group asks for `event`.
    fn asks(&self, name: &str, event: &str) -> bool {
        self.group(name)
            .is_some_and(|g| g.events.iter().any(|e| e == event))
    }

    /// Whether `name`'s messages are watched, and with FlagChange.
    fn message_events(&self, name: &str) -> Option<bool> {
        let g = self.group(name)?;
        g.events
            .iter()
            .any(|e| MESSAGE_EVENTS.contains(&e.as_str()))
            .then(|| g.events.iter().any(|e| e == "FLAGCHANGE"))
    }

    fn watch(&mut self, store: &postern_store::Store, id: MailboxId, name: String, flags: bool) {
        let mut wake = store.subscribe(id);
        let tx = self.wake_tx.clone();
        let task = tokio::spawn(async move {
            while let Some(ev) = wake.recv().await {
                if wanted(&ev, flags) && tx.send(()).is_err() {
                    break;
                }
            }
        });
        self.watched.insert(
            id,
            Watched {
                name,
                flags,
                sub: store.subscribe(id),
                task,
            },
        );
    }

    fn watched_by_name(&self, name: &str) -> Option<MailboxId> {
        self.watched
            .iter()
            .find(|(_, w)| w.name == name)
            .map(|(id, _)| *id)
    }
}

/// Whether a feed event is one the client asked to hear of.
fn wanted(ev: &FeedEvent, flags: bool) -> bool {
    match ev {
        FeedEvent::Change(c) => flags || !matches!(c.kind, ChangeKind::Flags { .. }),
        FeedEvent::Resync => true,
    }
}

/// Whether `filter` covers the mailbox `name` (`subscribed`: the user's
/// subscribed names).
fn covers(filter: &NotifyFilter, name: &str, subscribed: &BTreeSet<String>) -> bool {
    match filter {
        NotifyFilter::Selected | NotifyFilter::SelectedDelayed => false,
        NotifyFilter::Inboxes => name == "INBOX",
        NotifyFilter::Personal => true,
        NotifyFilter::Subscribed => subscribed.contains(name),
        NotifyFilter::Mailboxes(names) => names.iter().any(|n| n.as_str() == name),
        NotifyFilter::Subtree(names) => names.iter().any(|n| {
            name == n.as_str()
                || name
                    .strip_prefix(n.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        }),
    }
}

fn is_selected(f: &NotifyFilter) -> bool {
    matches!(f, NotifyFilter::Selected | NotifyFilter::SelectedDelayed)
}

/// RFC 5465 §5 and §5.2: why a NOTIFY SET is malformed, if it is.
fn malformed(groups: &[EventGroup]) -> Option<&'static str> {
    for g in groups {
        let has = |e: &str| g.events.iter().any(|x| x == e);
        // §5: MessageNew and MessageExpunge go together, and FlagChange
        // needs them.
        if has("MESSAGENEW") != has("MESSAGEEXPUNGE") {
            return Some("MessageNew and MessageExpunge go together");
        }
        if has("FLAGCHANGE") && !has("MESSAGENEW") {
            return Some("FlagChange needs MessageNew and MessageExpunge");
        }
        if is_selected(&g.filter) {
            if has("MAILBOXNAME") || has("SUBSCRIPTIONCHANGE") {
                return Some("Mailbox events are not for the selected mailbox");
            }
        } else if g.fetch.is_some() {
            return Some("Fetch attributes only with the selected mailbox");
        }
    }
    None
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
        if let Some(why) = malformed(&groups) {
            return self.bad(Some(tag), why, out);
        }
        if groups
            .iter()
            .flat_map(|g| &g.events)
            .any(|e| !EVENTS.contains(&e.as_str()))
        {
            let list = "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange";
            out.extend_from_slice(
                format!(
                    "{} NO [BADEVENT ({list})] Unsupported event\r\n",
                    tag.as_str()
                )
                .as_bytes(),
            );
            return Flow::Continue;
        }
        // Listen before listing, so no change between the two is missed.
        let list = self.ctx.store.subscribe_list(user);
        let (all, subscribed) = match (
            self.ctx.store.mailbox_list(user).await,
            self.ctx.store.subscriptions(user).await,
        ) {
            (Ok(a), Ok(s)) => (a, s),
            (Err(e), _) | (_, Err(e)) => return self.store_error(tag, e, out),
        };
        let fetch = groups
            .iter()
            .find(|g| is_selected(&g.filter))
            .and_then(|g| g.fetch.clone());
        let (wake_tx, wake) = mpsc::unbounded_channel();
        let mut list_wake = self.ctx.store.subscribe_list(user);
        let tx = wake_tx.clone();
        let list_task = tokio::spawn(async move {
            while list_wake.recv().await.is_some() {
                if tx.send(()).is_err() {
                    break;
                }
            }
        });
        let mut n = Notify {
            user,
            groups: groups
                .into_iter()
                .filter(|g| !is_selected(&g.filter))
                .collect(),
            fetch,
            watched: BTreeMap::new(),
            subscribed: subscribed.into_iter().collect(),
            list,
            list_task,
            wake_tx,
            wake,
            pending: BTreeSet::new(),
            list_pending: Vec::new(),
        };
        let chosen: Vec<(MailboxId, String, bool)> = all
            .iter()
            .filter_map(|m| {
                n.message_events(&m.name)
                    .map(|flags| (m.id, m.name.clone(), flags))
            })
            .collect();
        if chosen.len() > self.ctx.cfg.notify_max_mailboxes {
            return self.no(tag, Some(Code::Limit), "Too many mailboxes to watch", out);
        }
        for (id, name, flags) in chosen {
            n.watch(&self.ctx.store, id, name, flags);
        }
        if status {
            n.pending.extend(n.watched.keys().copied());
        }
        self.notify = Some(n);
        self.ok(tag, "NOTIFY completed", out).await
    }

    /// What NOTIFY adds at the end of a command and during IDLE, after
    /// the selected mailbox's own updates: MessageNew's FETCH for the
    /// selected mailbox's new messages, the list events, and STATUS for
    /// each other watched mailbox that changed.
    pub(super) async fn notify_updates(&mut self, out: &mut Vec<u8>) {
        let fresh = match &mut self.state {
            State::Selected(s) => std::mem::take(&mut s.fresh),
            _ => Vec::new(),
        };
        if self.notify.is_none() {
            return;
        }
        self.notify_fetch(fresh, out).await;
        self.notify_lists(out).await;
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
            .filter_map(|id| n.watched.get(&id).map(|w| (id, w.name.clone())))
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
                // Gone without the list feed having said so yet: it will.
                _ => {}
            }
        }
    }

    /// RFC 5465 §5.2: the fetch attributes of MessageNew, for the selected
    /// mailbox's messages an EXISTS has just told of.
    async fn notify_fetch(&mut self, fresh: Vec<u32>, out: &mut Vec<u8>) {
        let Some(items) = self.notify.as_ref().and_then(|n| n.fetch.clone()) else {
            return;
        };
        let Some(set) = SequenceSet::from_ids(fresh) else {
            return;
        };
        let Some(tag) = Tag::new(b"N") else {
            return;
        };
        let mut lines = Vec::new();
        Box::pin(self.fetch(tag, true, set, items, FetchModifiers::default(), &mut lines)).await;
        // Only the untagged lines: the tagged end belongs to no command.
        let keep = lines
            .strip_suffix(b"\r\n")
            .and_then(|l| l.iter().rposition(|&b| b == b'\n'))
            .map_or(0, |i| i + 1);
        if lines[keep..].starts_with(b"N ") {
            lines.truncate(keep);
        }
        out.extend_from_slice(&lines);
    }

    /// MailboxName and SubscriptionChange (RFC 5465 §5.4, §5.5), and the
    /// watched set kept true as names come, go and move.
    async fn notify_lists(&mut self, out: &mut Vec<u8>) {
        let Some(n) = &mut self.notify else {
            return;
        };
        n.drain();
        let events = std::mem::take(&mut n.list_pending);
        let user = n.user;
        let utf8 = self.enabled.utf8_names();
        for ev in events {
            let change = match ev {
                ListEvent::Change(c) => c,
                ListEvent::Resync => {
                    self.notify_rewatch(user).await;
                    continue;
                }
            };
            let Some(n) = &mut self.notify else {
                return;
            };
            match &*change {
                ListChange::Created { name } => {
                    if n.asks(name, "MAILBOXNAME") {
                        list_line(out, "", name, None, utf8);
                    }
                }
                ListChange::Deleted { name } => {
                    let was = n.watched_by_name(name);
                    if n.asks(name, "MAILBOXNAME") || was.is_some() {
                        list_line(out, "\\NonExistent", name, None, utf8);
                    }
                    if let Some(id) = was {
                        n.watched.remove(&id);
                        n.pending.remove(&id);
                    }
                }
                ListChange::Renamed { from, to } => {
                    if n.asks(to, "MAILBOXNAME") || n.asks(from, "MAILBOXNAME") {
                        list_line(out, "", to, Some(from), utf8);
                    }
                    if let Some(id) = n.watched_by_name(from)
                        && let Some(w) = n.watched.get_mut(&id)
                    {
                        w.name = to.clone();
                    }
                }
                ListChange::Subscription { name, on } => {
                    if *on {
                        n.subscribed.insert(name.clone());
                    } else {
                        n.subscribed.remove(name);
                    }
                    if n.asks(name, "SUBSCRIPTIONCHANGE") {
                        let attr = if *on { "\\Subscribed" } else { "" };
                        list_line(out, attr, name, None, utf8);
                    }
                }
            }
            if !matches!(&*change, ListChange::Deleted { .. }) {
                self.notify_rewatch(user).await;
            }
        }
    }

    /// Brings the watched set in line with the groups and today's names:
    /// a mailbox now covered is watched (its STATUS follows), one no
    /// longer covered is not.
    async fn notify_rewatch(&mut self, user: UserId) {
        let all = match self.ctx.store.mailbox_list(user).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "NOTIFY: listing mailboxes failed");
                return;
            }
        };
        let max = self.ctx.cfg.notify_max_mailboxes;
        let Some(n) = &mut self.notify else {
            return;
        };
        let want: BTreeMap<MailboxId, (String, bool)> = all
            .iter()
            .filter_map(|m| {
                n.message_events(&m.name)
                    .map(|flags| (m.id, (m.name.clone(), flags)))
            })
            .collect();
        n.watched.retain(|id, _| want.contains_key(id));
        for (id, (name, flags)) in want {
            if n.watched.len() >= max {
                tracing::info!(max, "NOTIFY: watching no more mailboxes");
                break;
            }
            match n.watched.get_mut(&id) {
                Some(w) => w.name = name,
                None => {
                    n.watch(&self.ctx.store, id, name, flags);
                    n.pending.insert(id);
                }
            }
        }
    }
}

/// `* LIST (attr) "/" name`, with `("OLDNAME" (old))` after a rename
/// (RFC 5465 §5.4).
fn list_line(out: &mut Vec<u8>, attr: &str, name: &str, old: Option<&str>, utf8: bool) {
    out.extend_from_slice(format!("* LIST ({attr}) \"/\" ").as_bytes());
    wire::response::encode_mailbox_name(out, name, utf8);
    if let Some(old) = old {
        out.extend_from_slice(b" (\"OLDNAME\" (");
        wire::response::encode_mailbox_name(out, old, utf8);
        out.extend_from_slice(b"))");
    }
    out.extend_from_slice(b"\r\n");
}
