//! CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4): `SEARCH`/`SORT RETURN
//! (UPDATE)` keeps the result and, while the mailbox stays selected, tells
//! the client how it changes: `* ESEARCH (TAG "t") ADDTO (...)` and
//! `REMOVEFROM (...)`, at the points where the session may send
//! unsolicited data (the end of a command, IDLE). `CANCELUPDATE` ends one.
//!
//! A context is evaluated again only when the mailbox changed since its
//! last evaluation (HIGHESTMODSEQ, message count, last UID); a session
//! keeps at most `[imap] max_search_contexts` (past it: `NOUPDATE`).
//! SEARCH positions are 0 (§4.3: unordered); SORT positions are 1-based
//! places in the sorted result, each change on its own.

use super::{Flow, Session, State};
use crate::query;
use crate::wire::{self, Code, SearchProgram, SortCriterion, Tag};

/// One updated search or sort result.
pub(crate) struct UpdateContext {
    tag: Tag,
    uid: bool,
    program: SearchProgram,
    /// `Some` for a SORT context.
    sort: Option<Vec<SortCriterion>>,
    /// UIDs in result order.
    result: Vec<u32>,
    /// The mailbox's state when `result` was computed.
    seen: Generation,
}

/// The search a context repeats, as its command gave it.
pub(super) struct ContextSpec<'a> {
    pub tag: &'a Tag,
    pub uid: bool,
    pub program: &'a SearchProgram,
    /// `Some` for SORT.
    pub sort: Option<&'a [SortCriterion]>,
}

/// What tells that a mailbox may have changed.
type Generation = (u64, usize, u32);

fn generation(s: &super::Selected) -> Generation {
    (
        s.highest_modseq(),
        s.uids.len(),
        s.uids.last().copied().unwrap_or(0),
    )
}

impl Session {
    /// Keeps a context whose first answer (`result`, UIDs in result order)
    /// was just sent, or says `NOUPDATE` when there are too many.
    pub(super) fn keep_context(
        &mut self,
        spec: ContextSpec<'_>,
        result: Vec<u32>,
        out: &mut Vec<u8>,
    ) {
        let ContextSpec {
            tag,
            uid,
            program,
            sort,
        } = spec;
        let max = self.ctx.cfg.max_search_contexts;
        let State::Selected(s) = &mut self.state else {
            return;
        };
        s.contexts.retain(|c| c.tag != *tag);
        if s.contexts.len() >= max {
            wire::StatusResponse::new(None, wire::Status::No, "Too many search contexts")
                .with_code(Code::NoUpdate(tag.as_str().to_string()))
                .encode(out);
            return;
        }
        let seen = generation(s);
        s.contexts.push(UpdateContext {
            tag: tag.clone(),
            uid,
            program: program.clone(),
            sort: sort.map(<[SortCriterion]>::to_vec),
            result,
            seen,
        });
    }

    /// CANCELUPDATE (RFC 5267 §4.2): unknown tags are no error.
    pub(super) async fn cancel_update(
        &mut self,
        tag: Tag,
        tags: Vec<String>,
        out: &mut Vec<u8>,
    ) -> Flow {
        let State::Selected(s) = &mut self.state else {
            return self.bad(Some(tag), "No mailbox selected", out);
        };
        s.contexts
            .retain(|c| !tags.iter().any(|t| t == c.tag.as_str()));
        self.ok(tag, "CANCELUPDATE completed", out).await
    }

    /// Evaluates again the contexts whose mailbox changed and sends the
    /// differences. Called by `sync` once expunges have been reported, so
    /// message numbers are the client's.
    pub(super) async fn update_contexts(&mut self, out: &mut Vec<u8>) {
        let State::Selected(s) = &mut self.state else {
            return;
        };
        if s.contexts.is_empty() || s.contexts.iter().all(|c| c.seen == generation(s)) {
            return;
        }
        let contexts = std::mem::take(&mut s.contexts);
        let mut kept = Vec::with_capacity(contexts.len());
        for mut c in contexts {
            let mut scratch = Vec::new();
            let need = c
                .sort
                .as_deref()
                .map(super::search::Need::sorting)
                .unwrap_or_default();
            let Ok(loaded) = self
                .matching(&c.tag, &c.program, false, need, &mut scratch)
                .await
            else {
                // The search cannot run now: the context ends (§4.3).
                wire::StatusResponse::new(None, wire::Status::No, "Search context ended")
                    .with_code(Code::NoUpdate(c.tag.as_str().to_string()))
                    .encode(out);
                continue;
            };
            let views = loaded.views();
            let now: Vec<u32> = match &c.sort {
                Some(criteria) => query::sort(criteria, &views)
                    .into_iter()
                    .filter_map(|i| views.get(i).map(|v| v.uid))
                    .collect(),
                None => views.iter().map(|v| v.uid).collect(),
            };
            let State::Selected(s) = &self.state else {
                return;
            };
            report(out, &c, &now, s);
            c.result = now;
            c.seen = generation(s);
            kept.push(c);
        }
        if let State::Selected(s) = &mut self.state {
            s.contexts = kept;
        }
    }
}

/// `* ESEARCH (TAG "t") [UID] REMOVEFROM/ADDTO (...)` lines for the change
/// from `c.result` to `now`.
fn report(out: &mut Vec<u8>, c: &UpdateContext, now: &[u32], s: &super::Selected) {
    let id = |u: u32| if c.uid { Some(u) } else { s.seq_of(u) };
    let head = format!(
        "* ESEARCH (TAG \"{}\"){}",
        c.tag.as_str(),
        if c.uid { " UID" } else { "" }
    );
    let new: std::collections::HashSet<u32> = now.iter().copied().collect();
    let old: std::collections::HashSet<u32> = c.result.iter().copied().collect();
    if c.sort.is_none() {
        let gone = wire::response::id_set(
            c.result
                .iter()
                .filter(|u| !new.contains(u))
                .filter_map(|&u| id(u)),
        );
        let added = wire::response::id_set(
            now.iter()
                .filter(|u| !old.contains(u))
                .filter_map(|&u| id(u)),
        );
        if let Some(g) = gone {
            out.extend_from_slice(format!("{head} REMOVEFROM (0 {g})\r\n").as_bytes());
        }
        if let Some(a) = added {
            out.extend_from_slice(format!("{head} ADDTO (0 {a})\r\n").as_bytes());
        }
        return;
    }
    // SORT: removals in the old order, each at its place at that moment;
    // then additions in the new order, each at its final place (what is
    // kept keeps its relative order: sort keys do not change).
    let mut cur: Vec<u32> = c.result.clone();
    for u in &c.result {
        if new.contains(u) {
            continue;
        }
        if let Some(pos) = cur.iter().position(|x| x == u) {
            cur.remove(pos);
            // An expunged message has no number any more: EXPUNGE said it.
            if let Some(i) = id(*u) {
                out.extend_from_slice(
                    format!("{head} REMOVEFROM ({} {i})\r\n", pos + 1).as_bytes(),
                );
            }
        }
    }
    for (pos, u) in now.iter().enumerate() {
        if !old.contains(u)
            && let Some(i) = id(*u)
        {
            out.extend_from_slice(format!("{head} ADDTO ({} {i})\r\n", pos + 1).as_bytes());
        }
    }
}
