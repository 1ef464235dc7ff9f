//! SEARCH answered by the full-text index alone (issue 19): when every key
//! is a BODY or TEXT the index answers exactly, possibly ANDed and ORed
//! together, beside `ALL` and UID or sequence ranges, the matches are
//! sets of UIDs from the index's hits and the session's UIDs; no message
//! is listed and no meta is read. Anything else (flags, dates, NOT, a
//! needle of fewer than three characters) goes the per-message way
//! ([`super::matches`]), which gives the same answers.
//!
//! A match must be a hit of some text key, so an answer never holds a
//! message the index does not know (one expunged since the session's
//! view, or not delivered then): only the keys that narrow (UID,
//! sequence numbers, `$`) reach past the hits, and they only filter.

use std::collections::HashMap;

use postern_store::FtsQuery;

use super::search::fts_query;
use crate::wire::{SearchKey, SearchProgram, SequenceSet};

/// The index's queries for `program` when the index answers it alone
/// ([`answer`]); `None` when it needs the per-message evaluation.
pub fn index_only(program: &SearchProgram) -> Option<Vec<FtsQuery>> {
    let mut queries = Vec::new();
    let mut narrowed = false;
    for k in &program.keys {
        match k {
            SearchKey::All | SearchKey::Uid(_) | SearchKey::SequenceSet(_) => {}
            k => {
                text_expr(k, &mut queries)?;
                narrowed = true;
            }
        }
    }
    narrowed.then_some(queries)
}

/// Collects the queries of `key` if it is BODY/TEXT the index answers,
/// or an AND/OR of such keys only.
fn text_expr(key: &SearchKey, out: &mut Vec<FtsQuery>) -> Option<()> {
    match key {
        SearchKey::Body(_) | SearchKey::Text(_) => {
            let q = fts_query(key)?;
            if !out.contains(&q) {
                out.push(q);
            }
            Some(())
        }
        SearchKey::Or(a, b) => {
            text_expr(a, out)?;
            text_expr(b, out)
        }
        SearchKey::And(keys) if !keys.is_empty() => keys.iter().try_for_each(|k| text_expr(k, out)),
        _ => None,
    }
}

/// What [`answer`] needs beside the program.
pub struct IndexedContext<'a> {
    /// The session's UIDs by sequence number (ascending).
    pub uids: &'a [u32],
    /// Per query of [`index_only`], the UIDs whose text holds the needle,
    /// ascending; every message of the view must be known to the index.
    pub hits: &'a HashMap<FtsQuery, Vec<u32>>,
    /// `$` (RFC 5182), UIDs.
    pub saved: Option<&'a [u32]>,
}

/// The sequence numbers (ascending) of the messages of the session's
/// view that `program` matches, for a program [`index_only`] accepted.
pub fn answer(program: &SearchProgram, cx: &IndexedContext<'_>) -> Vec<u32> {
    let n = cx.uids.len();
    let mut saved: Vec<u32> = cx.saved.map(<[u32]>::to_vec).unwrap_or_default();
    saved.sort_unstable();
    let eval = Evaluator { cx, saved };
    let mut keep = vec![true; n];
    for k in &program.keys {
        let bits = eval.key(k);
        keep.iter_mut().zip(bits).for_each(|(a, b)| *a &= b);
    }
    keep.iter()
        .enumerate()
        .filter(|(_, k)| **k)
        .map(|(i, _)| i as u32 + 1)
        .collect()
}

struct Evaluator<'a> {
    cx: &'a IndexedContext<'a>,
    saved: Vec<u32>,
}

impl Evaluator<'_> {
    /// One bit per message of the view.
    fn key(&self, key: &SearchKey) -> Vec<bool> {
        let uids = self.cx.uids;
        let max_uid = uids.last().copied().unwrap_or(0);
        let max_seq = uids.len() as u32;
        match key {
            SearchKey::Body(_) | SearchKey::Text(_) => {
                let hits = fts_query(key)
                    .and_then(|q| self.cx.hits.get(&q))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                in_sorted(uids, hits)
            }
            SearchKey::Or(a, b) => {
                let mut x = self.key(a);
                x.iter_mut().zip(self.key(b)).for_each(|(a, b)| *a |= b);
                x
            }
            SearchKey::And(keys) => {
                let mut x = vec![true; uids.len()];
                for k in keys {
                    x.iter_mut().zip(self.key(k)).for_each(|(a, b)| *a &= b);
                }
                x
            }
            // RFC 5182 §2.1: `$` holds UIDs, whichever key it appears in.
            SearchKey::Uid(SequenceSet::Saved) | SearchKey::SequenceSet(SequenceSet::Saved) => {
                in_sorted(uids, &self.saved)
            }
            SearchKey::Uid(set) => uids.iter().map(|&u| set.contains(u, max_uid)).collect(),
            SearchKey::SequenceSet(set) => {
                (1..=max_seq).map(|s| set.contains(s, max_seq)).collect()
            }
            // ALL, and nothing else reaches here (`index_only`).
            _ => vec![true; uids.len()],
        }
    }
}

/// For each of `uids` (ascending), whether it is in `set` (ascending).
fn in_sorted(uids: &[u32], set: &[u32]) -> Vec<bool> {
    let mut out = Vec::with_capacity(uids.len());
    let mut j = 0;
    for &u in uids {
        while set.get(j).is_some_and(|&s| s < u) {
            j += 1;
        }
        out.push(set.get(j) == Some(&u));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::parse_sequence_set;

    fn text(s: &str) -> SearchKey {
        SearchKey::Text(s.as_bytes().to_vec())
    }

    fn program(keys: Vec<SearchKey>) -> SearchProgram {
        SearchProgram {
            charset: None,
            keys,
        }
    }

    fn q(s: &str) -> FtsQuery {
        FtsQuery {
            body_only: false,
            needle: s.into(),
        }
    }

    #[test]
    fn only_text_keys_with_ranges_are_answered_by_the_index() {
        let set = |s: &str| parse_sequence_set(s.as_bytes(), 10).expect("set");
        assert!(index_only(&program(vec![text("deadline")])).is_some());
        assert!(
            index_only(&program(vec![
                SearchKey::Uid(set("1:*")),
                SearchKey::Or(Box::new(text("abc")), Box::new(text("def"))),
            ]))
            .is_some()
        );
        // No text key: the ranges alone would answer past the index.
        assert!(index_only(&program(vec![SearchKey::Uid(set("1:*"))])).is_none());
        // Too short for a trigram, NOT, flags: per message.
        assert!(index_only(&program(vec![text("ab")])).is_none());
        assert!(index_only(&program(vec![SearchKey::Not(Box::new(text("abc")))])).is_none());
        assert!(index_only(&program(vec![text("abc"), SearchKey::Seen])).is_none());
        assert!(
            index_only(&program(vec![SearchKey::Or(
                Box::new(text("abc")),
                Box::new(SearchKey::All)
            )]))
            .is_none()
        );
    }

    #[test]
    fn answer_is_the_sequence_numbers_of_hits_in_the_view_within_the_ranges() {
        let uids = [3, 5, 8, 13, 21];
        // 4 is not in the view (expunged), 34 came after it.
        let hits = HashMap::from([(q("abc"), vec![3, 4, 8, 13, 34]), (q("xyz"), vec![5, 8])]);
        let cx = IndexedContext {
            uids: &uids,
            hits: &hits,
            saved: Some(&[21, 13]),
        };
        let set = |s: &str| parse_sequence_set(s.as_bytes(), 10).expect("set");
        assert_eq!(answer(&program(vec![text("abc")]), &cx), vec![1, 3, 4]);
        assert_eq!(
            answer(
                &program(vec![SearchKey::Or(
                    Box::new(text("abc")),
                    Box::new(text("XYZ"))
                )]),
                &cx
            ),
            vec![1, 2, 3, 4]
        );
        assert_eq!(
            answer(&program(vec![text("abc"), SearchKey::Uid(set("4:*"))]), &cx),
            vec![3, 4]
        );
        assert_eq!(
            answer(
                &program(vec![SearchKey::SequenceSet(set("2:3")), text("abc")]),
                &cx
            ),
            vec![3]
        );
        assert_eq!(
            answer(
                &program(vec![text("abc"), SearchKey::Uid(SequenceSet::Saved)]),
                &cx
            ),
            vec![4]
        );
        assert_eq!(
            answer(
                &program(vec![SearchKey::And(vec![text("abc"), text("xyz")])]),
                &cx
            ),
            vec![3]
        );
    }
}
