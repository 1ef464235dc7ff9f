//! SEARCH answered from the full-text index alone (issue 19): a program
//! of BODY/TEXT keys (with ranges beside them, `query::index_only`) on a
//! mailbox the index knows whole takes the UIDs of the index's hits and
//! the session's UIDs, without listing the mailbox or reading a meta
//! (SEARCH TEXT on 100,000 messages: bench/README.md "Full-text SEARCH").
//! When some message of the session's view is not indexed (yet), or its
//! text was cut at the limit, the per-message way (`search.rs`) answers.

use postern_store::FtsQuery;

use super::{Session, State};
use crate::query::{self, IndexedContext};
use crate::wire::SearchProgram;

/// One match of a SEARCH.
#[derive(Clone, Copy, Debug)]
pub(super) struct Found {
    pub seq: u32,
    pub uid: u32,
    pub modseq: u64,
}

impl Session {
    /// The matches of `program` from the index alone, ascending; `None`
    /// when the index cannot answer it alone (or failed: the per-message
    /// way then answers, or reports the store's error).
    pub(super) async fn indexed_matches(&self, program: &SearchProgram) -> Option<Vec<Found>> {
        let State::Selected(s) = &self.state else {
            return None;
        };
        if !self.ctx.store.fts_enabled() || query::check_charset(program).is_err() {
            return None;
        }
        let queries: Vec<FtsQuery> = query::index_only(program)?;
        let answer = match self.ctx.store.fts_hits(s.mailbox.id, queries).await {
            Ok(a) => a?,
            Err(e) => {
                tracing::debug!(error = %e, "full-text index not used");
                return None;
            }
        };
        // The session's view is what SEARCH answers about: a message of
        // it the index cannot answer for sends the whole SEARCH the
        // per-message way.
        if answer
            .unsure
            .iter()
            .any(|u| s.uids.binary_search(u).is_ok())
        {
            return None;
        }
        let cx = IndexedContext {
            uids: &s.uids,
            hits: &answer.hits,
            saved: s.saved.as_deref(),
        };
        let found = query::indexed_answer(program, &cx)
            .into_iter()
            .filter_map(|seq| {
                let uid = *s.uids.get(seq as usize - 1)?;
                Some(Found {
                    seq,
                    uid,
                    modseq: 0,
                })
            })
            .collect();
        Some(found)
    }
}
