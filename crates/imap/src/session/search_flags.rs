//! SEARCH on flags alone, and SORT (DATE) over such a search (issue 19:
//! `UID SEARCH UNSEEN` and `UID SORT (DATE) UTF-8 ALL` on 100,000
//! messages). A program whose keys look only at flags, keywords, UIDs,
//! sequence numbers and MODSEQ (`flag_keys_only`) is matched against the
//! flags the session keeps (`flag_memory.rs`) when it names no MODSEQ,
//! after the feed's events and a look at the store's HIGHESTMODSEQ (for
//! UNSEEN only the sets without `\Seen` are looked at); else during one
//! compact pass over the listing index (`Store::scan_flags`), with the
//! same `query::matches` as the per-message way; one that asks for
//! UNSEEN (or NEW, or NOT SEEN) at its top level reads only the
//! messages without `\Seen`, from their partial index (store migration
//! 25), and matches those few on the session's side, without copying
//! its UIDs to the reading thread as the pass over every message does. SORT (DATE) then reads `(uid, sort_date)` alone from its index;
//! a message without a stored date (a row from before migration 22)
//! sends the SORT the per-message way (`search.rs`).

use std::sync::LazyLock;

use postern_store::{FlagRow, Flags, MailboxId, SystemFlags};

use super::condstore;
use super::search::NO_META;
use super::search_index::Found;
use super::{Session, State};
use crate::query::{self, MessageView, SearchContext};
use crate::wire::{SearchKey, SearchProgram, SortCriterion, SortKey};

/// The flags a view shows for a message SORT (DATE) orders but does not
/// match on.
static NO_FLAGS: LazyLock<Flags> = LazyLock::new(|| Flags::new(SystemFlags::empty(), []));

fn flag_key(k: &SearchKey) -> bool {
    use SearchKey::*;
    match k {
        All
        | Answered
        | Deleted
        | Draft
        | Flagged
        | Seen
        | Unanswered
        | Undeleted
        | Undraft
        | Unflagged
        | Unseen
        | New
        | Old
        | Recent
        | Keyword(_)
        | Unkeyword(_)
        | Uid(_)
        | SequenceSet(_)
        | ModSeq { .. } => true,
        Not(k) => flag_key(k),
        Or(a, b) => flag_key(a) && flag_key(b),
        And(keys) => keys.iter().all(flag_key),
        _ => false,
    }
}

/// Whether every key of `program` looks only at what the compact pass reads.
pub(super) fn flag_keys_only(program: &SearchProgram) -> bool {
    program.keys.iter().all(flag_key)
}

/// Whether `keys` (ANDed) can match only a message without `\Seen`.
fn needs_unseen(keys: &[SearchKey]) -> bool {
    keys.iter().any(|k| match k {
        SearchKey::Unseen | SearchKey::New => true,
        SearchKey::Not(k) => **k == SearchKey::Seen,
        SearchKey::And(keys) => needs_unseen(keys),
        _ => false,
    })
}

/// What a row is matched against: the program, the session's UIDs (a
/// message's sequence number is its place there), `$`, the first recent
/// UID and now.
struct Against<'a> {
    program: &'a SearchProgram,
    uids: &'a [u32],
    saved: Option<&'a [u32]>,
    first_recent: u32,
    now: i64,
}

impl Against<'_> {
    /// Adds `r` to `found` when it matches.
    fn row(&self, r: FlagRow, found: &mut Vec<Found>) {
        // A message the session does not show yet matches nothing.
        let Ok(i) = self.uids.binary_search(&r.uid) else {
            return;
        };
        let view = MessageView {
            seq: i as u32 + 1,
            uid: r.uid,
            flags: &r.flags,
            modseq: r.modseq.0,
            size: 0,
            internal_date: 0,
            meta: &NO_META,
            raw: None,
            sort_date: None,
        };
        let ctx = SearchContext {
            max_seq: self.uids.len() as u32,
            max_uid: self.uids.last().copied().unwrap_or(0),
            saved: self.saved,
            now: self.now,
            first_recent: self.first_recent,
            saved_dates: None,
            object_ids: None,
            fts: None,
        };
        if query::matches(self.program, &view, &ctx) {
            found.push(Found {
                seq: view.seq,
                uid: r.uid,
                modseq: r.modseq.0,
            });
        }
    }
}

/// What the pass over every message carries on the reading thread: its
/// own copies of what [`Against`] borrows, and the matches so far.
struct Matcher {
    program: SearchProgram,
    uids: Vec<u32>,
    saved: Option<Vec<u32>>,
    first_recent: u32,
    now: i64,
    found: Vec<Found>,
}

impl Matcher {
    fn row(&mut self, r: FlagRow) {
        let against = Against {
            program: &self.program,
            uids: &self.uids,
            saved: self.saved.as_deref(),
            first_recent: self.first_recent,
            now: self.now,
        };
        against.row(r, &mut self.found);
    }
}

impl Session {
    /// The matches of a [`flag_keys_only`] program, ascending: from the
    /// flags the session keeps when the program names no MODSEQ and
    /// memory holds the store's state, else from the compact pass; `None`
    /// for any other program (or a store error: the per-message way then
    /// answers, or reports it).
    pub(super) async fn flag_matches_now(&mut self, program: &SearchProgram) -> Option<Vec<Found>> {
        let State::Selected(s) = &self.state else {
            return None;
        };
        if !flag_keys_only(program) || query::check_charset(program).is_err() {
            return None;
        }
        // The messages the SEARCH is about: those the session has before
        // it takes the feed's events.
        let known = s.uids.len();
        if !condstore::uses_modseq(program)
            && s.memory.is_some()
            && self.memory_ready().await
            && let Some(found) = self.memory_matches(program, known)
        {
            return Some(found);
        }
        self.flag_matches(program, known).await
    }

    /// The matches of `program` among the first `known` messages, from
    /// the flags in memory (`flag_memory.rs`).
    fn memory_matches(&self, program: &SearchProgram, known: usize) -> Option<Vec<Found>> {
        let State::Selected(s) = &self.state else {
            return None;
        };
        let memory = s.memory.as_ref()?;
        let uids = s.uids.get(..known)?;
        let ctx = SearchContext {
            max_seq: known as u32,
            max_uid: uids.last().copied().unwrap_or(0),
            saved: s.saved.as_deref(),
            now: super::search::now(),
            first_recent: s.first_recent,
            saved_dates: None,
            object_ids: None,
            fts: None,
        };
        // The sets a match can have: for UNSEEN, those without `\Seen`
        // (`NO_SET`, a message the store does not have, is none of them).
        let unseen = needs_unseen(&program.keys);
        let mut gone = s.pending_expunged.iter().peekable();
        let mut found = Vec::new();
        memory.each_with(
            known,
            |f| !unseen || !f.system.contains(SystemFlags::SEEN),
            |i, flags| {
                let uid = uids[i];
                // Expunged, not yet reported: the store has no row.
                while gone.next_if(|&&g| g < uid).is_some() {}
                if gone.peek() == Some(&&uid) {
                    return;
                }
                let view = MessageView {
                    seq: i as u32 + 1,
                    uid,
                    flags,
                    modseq: 0,
                    size: 0,
                    internal_date: 0,
                    meta: &NO_META,
                    raw: None,
                    sort_date: None,
                };
                if query::matches(program, &view, &ctx) {
                    found.push(Found {
                        seq: view.seq,
                        uid,
                        modseq: 0,
                    });
                }
            },
        );
        Some(found)
    }

    /// The matches of a [`flag_keys_only`] program among the first
    /// `known` messages, ascending, from the compact pass; `None` on a
    /// store error (the per-message way then answers, or reports it).
    pub(super) async fn flag_matches(
        &self,
        program: &SearchProgram,
        known: usize,
    ) -> Option<Vec<Found>> {
        let State::Selected(s) = &self.state else {
            return None;
        };
        if !flag_keys_only(program) || query::check_charset(program).is_err() {
            return None;
        }
        let uids = s.uids.get(..known)?;
        let last = uids.last().copied().unwrap_or(0);
        let now = super::search::now();
        let store = &self.ctx.store;
        let mailbox = s.mailbox.id;
        let scanned = if needs_unseen(&program.keys) {
            // Few rows (the unseen ones): read them, then match them here
            // against the session's own UIDs, which are not copied.
            store
                .scan_flags(mailbox, (1, last), true, Vec::new(), |v, r| v.push(r))
                .await
                .map(|rows| {
                    let against = Against {
                        program,
                        uids,
                        saved: s.saved.as_deref(),
                        first_recent: s.first_recent,
                        now,
                    };
                    let mut found = Vec::new();
                    for r in rows {
                        against.row(r, &mut found);
                    }
                    found
                })
        } else {
            let m = Matcher {
                program: program.clone(),
                uids: uids.to_vec(),
                saved: s.saved.clone(),
                first_recent: s.first_recent,
                now,
                found: Vec::new(),
            };
            store
                .scan_flags(mailbox, (1, last), false, m, Matcher::row)
                .await
                .map(|m| m.found)
        };
        match scanned {
            Ok(found) => Some(found),
            Err(e) => {
                tracing::debug!(error = %e, "flag pass not used");
                None
            }
        }
    }

    /// (sequence number, UID) of the matches of `program` in the order
    /// of `criteria`, when they are DATE alone (or REVERSE DATE) and the
    /// program looks at flags alone, and every match has its stored date;
    /// `None` otherwise.
    pub(super) async fn date_sorted(
        &mut self,
        criteria: &[SortCriterion],
        program: &SearchProgram,
    ) -> Option<Vec<(u32, u32)>> {
        let State::Selected(s) = &self.state else {
            return None;
        };
        if criteria.is_empty() || criteria.iter().any(|c| c.key != SortKey::Date) {
            return None;
        }
        let mailbox: MailboxId = s.mailbox.id;
        // ALL needs no pass: every message of the view that still exists
        // (the dates list those) matches.
        let hits: Option<Vec<Found>> = if program.keys.iter().all(|k| *k == SearchKey::All)
            && query::check_charset(program).is_ok()
        {
            None
        } else {
            Some(self.flag_matches_now(program).await?)
        };
        let dates = match self.ctx.store.sort_dates(mailbox).await {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(error = %e, "stored sort dates not used");
                return None;
            }
        };
        let State::Selected(s) = &self.state else {
            return None;
        };
        // (seq, uid, date) of the matches; the lists are in UID order.
        let mut rows: Vec<(u32, u32, i64)> = Vec::new();
        let mut dates = dates.into_iter().peekable();
        let mut push = |seq: u32, uid: u32| -> Option<()> {
            while dates.next_if(|d| d.0 < uid).is_some() {}
            if let Some((_, date)) = dates.next_if(|d| d.0 == uid) {
                // A row from before migration 22: the per-message way.
                rows.push((seq, uid, date?));
            }
            Some(())
        };
        match hits {
            Some(hits) => {
                for h in hits {
                    push(h.seq, h.uid)?;
                }
            }
            None => {
                for (i, &u) in s.uids.iter().enumerate() {
                    push(i as u32 + 1, u)?;
                }
            }
        }
        let views: Vec<MessageView<'_>> = rows
            .iter()
            .map(|&(seq, uid, date)| MessageView {
                seq,
                uid,
                flags: &NO_FLAGS,
                modseq: 0,
                size: 0,
                internal_date: 0,
                meta: &NO_META,
                raw: None,
                sort_date: Some(date),
            })
            .collect();
        Some(
            query::sort(criteria, &views)
                .into_iter()
                .filter_map(|i| views.get(i).map(|v| (v.seq, v.uid)))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(keys: Vec<SearchKey>) -> SearchProgram {
        SearchProgram {
            charset: None,
            keys,
        }
    }

    #[test]
    fn flag_programs_take_the_compact_pass_and_others_do_not() {
        use SearchKey::*;
        assert!(flag_keys_only(&program(vec![Unseen])));
        assert!(flag_keys_only(&program(vec![
            Or(Box::new(Flagged), Box::new(Keyword("$Work".into()))),
            Not(Box::new(Uid(crate::wire::SequenceSet::Saved))),
        ])));
        assert!(!flag_keys_only(&program(vec![Unseen, Larger(10)])));
        assert!(!flag_keys_only(&program(vec![Not(Box::new(Subject(
            b"x".to_vec()
        )))])));
    }

    #[test]
    fn only_a_program_that_needs_unseen_reads_the_unseen_index() {
        use SearchKey::*;
        assert!(needs_unseen(&[All, Unseen]));
        assert!(needs_unseen(&[Not(Box::new(Seen))]));
        assert!(needs_unseen(&[And(vec![Flagged, New])]));
        assert!(!needs_unseen(&[Or(Box::new(Unseen), Box::new(Flagged))]));
        assert!(!needs_unseen(&[Not(Box::new(Unseen))]));
        assert!(!needs_unseen(&[Not(Box::new(And(vec![Seen])))]));
    }
}
