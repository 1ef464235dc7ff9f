//! The change feed: after each commit the writer publishes what changed per
//! mailbox, and every session watching that mailbox hears it.
//!
//! One bounded broadcast channel per watched mailbox; a mailbox nobody
//! watches costs nothing. A subscriber that falls behind never slows the
//! writer: it is told to resync (from its last MODSEQ, through
//! `Store::changes_since`).
//!
//! A change of flags carries the message's whole flags, and new messages
//! the flags each was written with, as a read of the row gives them back
//! (`Flags::as_stored`): a session that applies the events in order after
//! a read holds what the store holds (IMAP's `session/flag_memory.rs`).
//!
//! A batch is committed before it is published, so a read can see a change
//! whose event has not reached the subscribers yet. The writer marks the
//! mailboxes of a batch it is committing (`committing`), and `subscribe`
//! tells the new subscriber the lowest MODSEQ still on its way, so a
//! session knows which events can still arrive late.
//!
//! Beside the per-mailbox channels, one channel per watched user carries
//! the changes to that user's list of mailboxes and subscriptions (IMAP
//! NOTIFY's MailboxName and SubscriptionChange), and one store-wide signal
//! tells the spam trainer that a commit wrote training journal rows
//! (`training.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::types::{Flags, MailboxId, ModSeq, Uid, UserId};

/// One committed change to a mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxChange {
    pub mailbox: MailboxId,
    /// The mailbox's HIGHESTMODSEQ after this change.
    pub modseq: ModSeq,
    pub kind: ChangeKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// Messages added (delivery, APPEND, import, COPY), ascending UIDs,
    /// and the flags each was written with (beside `uids`, as a read of
    /// its row gives them back).
    New { uids: Vec<Uid>, flags: Vec<Flags> },
    /// A message's flags changed.
    Flags { uid: Uid, flags: Flags },
    /// Messages removed (IMAP EXPUNGE, POP3 DELE at QUIT, mailbox import).
    Expunged { uids: Vec<Uid> },
    /// The mailbox was deleted or renamed away; sessions on it must close it.
    Gone,
}

/// What a subscriber receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedEvent {
    Change(Arc<MailboxChange>),
    /// Changes were dropped because this subscriber fell behind: ask the
    /// store what changed since the last MODSEQ seen.
    Resync,
}

/// One committed change to a user's mailbox list or subscriptions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListChange {
    Created {
        name: String,
    },
    Deleted {
        name: String,
    },
    /// A mailbox (or an inferior of one) now has another name; one change
    /// per name moved.
    Renamed {
        from: String,
        to: String,
    },
    /// The name was subscribed (`on`) or unsubscribed.
    Subscription {
        name: String,
        on: bool,
    },
}

/// What a list subscriber receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListEvent {
    Change(Arc<ListChange>),
    /// Changes were dropped: read the list again.
    Resync,
}

/// A session's view of one user's list changes.
pub struct ListSubscription {
    rx: broadcast::Receiver<Arc<ListChange>>,
}

impl ListSubscription {
    /// The next change; `None` once the store is gone.
    pub async fn recv(&mut self) -> Option<ListEvent> {
        match self.rx.recv().await {
            Ok(c) => Some(ListEvent::Change(c)),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(ListEvent::Resync),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// A change if one is ready, without waiting.
    pub fn try_recv(&mut self) -> Option<ListEvent> {
        match self.rx.try_recv() {
            Ok(c) => Some(ListEvent::Change(c)),
            Err(broadcast::error::TryRecvError::Lagged(_)) => Some(ListEvent::Resync),
            Err(_) => None,
        }
    }
}

pub(crate) struct Feed {
    capacity: usize,
    state: Mutex<State>,
    /// Rung after a commit that wrote spam-training journal rows (a message
    /// entering or leaving `\Junk`, `$Junk`/`$NotJunk` set): the trainer
    /// waits on it. A `Notify` keeps one permit, so a ring while the
    /// trainer is busy is not lost, and many rings cost one wake-up.
    training: tokio::sync::Notify,
    /// Rung after a commit that added messages: the full-text indexer
    /// has work (`fts.rs`).
    indexing: tokio::sync::Notify,
}

#[derive(Default)]
struct State {
    channels: HashMap<MailboxId, broadcast::Sender<Arc<MailboxChange>>>,
    lists: HashMap<UserId, broadcast::Sender<Arc<ListChange>>>,
    /// The batch being committed and not yet published: per mailbox, its
    /// lowest MODSEQ.
    committing: HashMap<MailboxId, ModSeq>,
    /// `channels` is swept of channels nobody listens to when a new one
    /// would make it this long (see `subscribe`).
    sweep_at: usize,
}

/// The fewest channels a sweep waits for.
const SWEEP_MIN: usize = 64;

impl Feed {
    pub(crate) fn new(capacity: usize) -> Feed {
        Feed {
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
            training: tokio::sync::Notify::new(),
            indexing: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn subscribe(&self, mailbox: MailboxId) -> Subscription {
        let mut state = self.lock();
        let in_flight = state.committing.get(&mailbox).copied();
        // A channel outlives its last subscriber until its mailbox changes
        // (`publish` drops it then), and each holds a buffer of `capacity`
        // slots: mailboxes selected once and never changed again would
        // keep theirs for ever (issue 13, memory that comes back). So
        // before a new channel, once the map has doubled since the last
        // sweep, the channels nobody listens to go: at most twice the
        // watched mailboxes (or `SWEEP_MIN`) stay, and each sweep is paid
        // for by as many new channels as it looks at.
        if !state.channels.contains_key(&mailbox) && state.channels.len() >= state.sweep_at {
            state.channels.retain(|_, tx| tx.receiver_count() > 0);
            state.sweep_at = state.channels.len().saturating_mul(2).max(SWEEP_MIN);
        }
        let tx = state
            .channels
            .entry(mailbox)
            .or_insert_with(|| broadcast::channel(self.capacity).0);
        Subscription {
            mailbox,
            rx: tx.subscribe(),
            in_flight,
        }
    }

    pub(crate) fn subscribe_list(&self, user: UserId) -> ListSubscription {
        let mut state = self.lock();
        let tx = state
            .lists
            .entry(user)
            .or_insert_with(|| broadcast::channel(self.capacity).0);
        ListSubscription { rx: tx.subscribe() }
    }

    /// Publishes committed list changes to the users' watchers.
    pub(crate) fn publish_lists(&self, changes: Vec<(UserId, ListChange)>) {
        if changes.is_empty() {
            return;
        }
        let mut state = self.lock();
        for (user, c) in changes {
            if let Some(tx) = state.lists.get(&user)
                && tx.send(Arc::new(c)).is_err()
            {
                state.lists.remove(&user);
            }
        }
    }

    /// The writer is about to commit `changes`: until they are published
    /// (or the commit fails: `abandon`), a new subscriber may hear changes
    /// committed before it subscribed.
    pub(crate) fn committing(&self, changes: &[MailboxChange]) {
        if changes.is_empty() {
            return;
        }
        let mut state = self.lock();
        for c in changes {
            let low = state.committing.entry(c.mailbox).or_insert(c.modseq);
            *low = (*low).min(c.modseq);
        }
    }

    /// The batch marked by `committing` did not commit.
    pub(crate) fn abandon(&self) {
        self.lock().committing.clear();
    }

    /// Waits until a commit added or expunged messages (at once if one did
    /// since the last wait).
    pub(crate) async fn indexing_notified(&self) {
        self.indexing.notified().await;
    }

    /// A committed batch wrote training journal rows.
    pub(crate) fn training_written(&self) {
        self.training.notify_one();
    }

    /// Waits for the next `training_written` (or returns at once if one
    /// came since the last wait).
    pub(crate) async fn training_notified(&self) {
        self.training.notified().await;
    }

    pub(crate) fn publish(&self, changes: Vec<MailboxChange>) {
        // Nothing was marked either (`committing`).
        if changes.is_empty() {
            return;
        }
        if changes
            .iter()
            .any(|c| matches!(c.kind, ChangeKind::New { .. } | ChangeKind::Expunged { .. }))
        {
            self.indexing.notify_one();
        }
        let mut state = self.lock();
        state.committing.clear();
        let map = &mut state.channels;
        for c in changes {
            let id = c.mailbox;
            if let Some(tx) = map.get(&id)
                && tx.send(Arc::new(c)).is_err()
            {
                map.remove(&id);
            }
        }
    }
}

/// A session's view of one mailbox's changes.
pub struct Subscription {
    mailbox: MailboxId,
    rx: broadcast::Receiver<Arc<MailboxChange>>,
    /// The lowest MODSEQ of a change committed but not yet published when
    /// this subscription began.
    in_flight: Option<ModSeq>,
}

impl Subscription {
    pub fn mailbox(&self) -> MailboxId {
        self.mailbox
    }

    /// A MODSEQ below every change this subscription will deliver, given
    /// `before`, the mailbox's HIGHESTMODSEQ read before subscribing: later
    /// commits are above it, and a commit already made but not published
    /// when the subscription began is at least `in_flight`.
    pub fn floor(&self, before: ModSeq) -> ModSeq {
        match self.in_flight {
            Some(m) => ModSeq(before.0.min(m.0.saturating_sub(1))),
            None => before,
        }
    }

    /// The next change; `None` once the store is gone.
    pub async fn recv(&mut self) -> Option<FeedEvent> {
        match self.rx.recv().await {
            Ok(c) => Some(FeedEvent::Change(c)),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(FeedEvent::Resync),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// A change if one is ready, without waiting.
    pub fn try_recv(&mut self) -> Option<FeedEvent> {
        match self.rx.try_recv() {
            Ok(c) => Some(FeedEvent::Change(c)),
            Err(broadcast::error::TryRecvError::Lagged(_)) => Some(FeedEvent::Resync),
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(m: i64, n: u64) -> MailboxChange {
        MailboxChange {
            mailbox: MailboxId(m),
            modseq: ModSeq(n),
            kind: ChangeKind::Gone,
        }
    }

    #[test]
    fn subscribers_hear_only_their_mailbox() {
        let feed = Feed::new(8);
        let mut a = feed.subscribe(MailboxId(1));
        let mut b = feed.subscribe(MailboxId(2));
        feed.publish(vec![change(1, 5)]);
        assert_eq!(
            a.try_recv(),
            Some(FeedEvent::Change(Arc::new(change(1, 5))))
        );
        assert_eq!(b.try_recv(), None);
    }

    #[test]
    fn a_slow_subscriber_is_told_to_resync_and_never_blocks_publish() {
        let feed = Feed::new(2);
        let mut a = feed.subscribe(MailboxId(1));
        for n in 0..10 {
            feed.publish(vec![change(1, n)]);
        }
        assert_eq!(a.try_recv(), Some(FeedEvent::Resync));
        assert!(matches!(a.try_recv(), Some(FeedEvent::Change(_))));
    }

    #[test]
    fn channels_of_dropped_subscribers_are_forgotten() {
        let feed = Feed::new(2);
        drop(feed.subscribe(MailboxId(7)));
        feed.publish(vec![change(7, 1)]);
        assert!(feed.lock().channels.is_empty());
    }

    #[test]
    fn channels_of_mailboxes_watched_once_and_never_changed_do_not_pile_up() {
        let feed = Feed::new(2);
        let live: Vec<Subscription> = (0..100).map(|n| feed.subscribe(MailboxId(n))).collect();
        for n in 1_000..11_000 {
            drop(feed.subscribe(MailboxId(n)));
        }
        let kept = feed.lock().channels.len();
        assert!(kept <= 2 * live.len() + 1, "{kept} channels kept");
        assert!(
            (0..100).all(|n| feed.lock().channels.contains_key(&MailboxId(n))),
            "the watched mailboxes keep theirs"
        );
        // Once nobody watches anything, the churn keeps only a few.
        drop(live);
        for n in 20_000..21_000 {
            drop(feed.subscribe(MailboxId(n)));
        }
        assert!(feed.lock().channels.len() <= SWEEP_MIN);
    }

    #[test]
    fn a_subscriber_during_a_commit_learns_the_floor_of_what_is_on_its_way() {
        let feed = Feed::new(8);
        assert_eq!(feed.subscribe(MailboxId(1)).floor(ModSeq(9)), ModSeq(9));
        feed.committing(&[change(1, 8), change(1, 9), change(2, 3)]);
        let a = feed.subscribe(MailboxId(1));
        assert_eq!(a.floor(ModSeq(9)), ModSeq(7), "8 and 9 are still to come");
        feed.publish(vec![change(1, 8), change(1, 9), change(2, 3)]);
        assert_eq!(feed.subscribe(MailboxId(1)).floor(ModSeq(9)), ModSeq(9));
        feed.committing(&[change(1, 10)]);
        feed.abandon();
        assert_eq!(feed.subscribe(MailboxId(1)).floor(ModSeq(9)), ModSeq(9));
    }
}
