//! SORT (RFC 5256 §3, RFC 5957 DISPLAYFROM / DISPLAYTO) and the base
//! subject of RFC 5256 §2.1, which THREAD uses too.

use std::cmp::Ordering;

use postern_store::{Envelope, EnvelopeAddress};

use super::MessageView;
use super::text::{envelope_text, sent_date, subject_of, unfold, utf8_or_latin1};
use crate::wire::{SortCriterion, SortKey};

/// Indices into `msgs` in sorted order. Messages equal on every criterion
/// keep sequence-number order (RFC 5256 §3), REVERSE included: it
/// reverses its key, not the tie-break (as Dovecot does).
pub fn sort(criteria: &[SortCriterion], msgs: &[MessageView]) -> Vec<usize> {
    let keys: Vec<Vec<Value>> = msgs
        .iter()
        .map(|m| criteria.iter().map(|c| value(c.key, m)).collect())
        .collect();
    let mut order: Vec<usize> = (0..msgs.len()).collect();
    order.sort_by(|&a, &b| {
        for (i, c) in criteria.iter().enumerate() {
            let o = keys[a][i].cmp(&keys[b][i]);
            let o = if c.reverse { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        msgs[a].seq.cmp(&msgs[b].seq)
    });
    order
}

/// Whether some criterion reads the cached meta: all but ARRIVAL and
/// SIZE, which the listing holds, and DATE, which the store keeps
/// ([`sort_needs_dates`]).
pub fn sort_needs_meta(criteria: &[SortCriterion]) -> bool {
    criteria
        .iter()
        .any(|c| !matches!(c.key, SortKey::Arrival | SortKey::Size | SortKey::Date))
}

/// Whether some criterion is DATE, whose values the session reads from
/// the store ([`MessageView::sort_date`]).
pub fn sort_needs_dates(criteria: &[SortCriterion]) -> bool {
    criteria.iter().any(|c| c.key == SortKey::Date)
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    Num(i64),
    Text(String),
}

/// Folding for sort keys: Dovecot compares titlecased strings, so `_`
/// sorts after letters, as with uppercase.
pub(crate) fn sort_fold(s: &str) -> String {
    s.to_uppercase()
}

fn value(key: SortKey, m: &MessageView) -> Value {
    let env = &m.meta.envelope;
    match key {
        SortKey::Arrival => Value::Num(m.internal_date),
        SortKey::Size => Value::Num(i64::try_from(m.size).unwrap_or(i64::MAX)),
        // RFC 5256 §3: without a usable Date, the INTERNALDATE.
        SortKey::Date => Value::Num(
            m.sort_date
                .unwrap_or_else(|| sent_date(m).map_or(m.internal_date, |(_, t)| t)),
        ),
        SortKey::Subject => Value::Text(sort_fold(&base_subject(&subject(m)))),
        SortKey::From => Value::Text(first_mailbox(&env.from, env)),
        SortKey::To => Value::Text(first_mailbox(&env.to, env)),
        SortKey::Cc => Value::Text(first_mailbox(&env.cc, env)),
        SortKey::DisplayFrom => Value::Text(display(&env.from, env)),
        SortKey::DisplayTo => Value::Text(display(&env.to, env)),
    }
}

/// The decoded Subject ("" when absent).
pub(crate) fn subject(m: &MessageView) -> String {
    subject_of(m).unwrap_or_default()
}

fn raw(s: &str, env: &Envelope) -> String {
    utf8_or_latin1(&postern_store::raw_bytes(s, env.latin1)).into_owned()
}

/// RFC 5256 §3: the addr-mailbox of the first address; "" sorts first.
fn first_mailbox(list: &[EnvelopeAddress], env: &Envelope) -> String {
    let mailbox = list.first().and_then(|a| a.mailbox.as_deref());
    sort_fold(&mailbox.map(|m| raw(m, env)).unwrap_or_default())
}

/// RFC 5957 §4: the decoded display name of the first address, or its
/// addr-spec when it has none.
fn display(list: &[EnvelopeAddress], env: &Envelope) -> String {
    let Some(a) = list.first() else {
        return String::new();
    };
    let name = a
        .name
        .as_deref()
        .map(|n| envelope_text(n, env).trim().to_string())
        .filter(|n| !n.is_empty());
    let text = match name {
        Some(n) => n,
        None => {
            let mut s = raw(a.mailbox.as_deref().unwrap_or_default(), env);
            if let Some(h) = &a.host {
                s.push('@');
                s.push_str(&raw(h, env));
            }
            s
        }
    };
    sort_fold(&text)
}

/// RFC 5256 §2.1: the subject without reply/forward markers, list tags
/// and trailing "(fwd)", white space normalised. Case is kept; compare
/// folded.
pub fn base_subject(subject: &str) -> String {
    base_subject_ext(subject).0
}

/// [`base_subject`] and whether a reply or forward marker was removed
/// (REFERENCES step 5 needs to know).
pub(crate) fn base_subject_ext(subject: &str) -> (String, bool) {
    // (1) Unfold, TABs to spaces, runs of white space to one space.
    let mut s = String::with_capacity(subject.len());
    for c in unfold(subject).chars() {
        if c == ' ' && s.ends_with(' ') {
            continue;
        }
        s.push(c);
    }
    let mut reply = false;
    loop {
        // (2) Trailing white space and "(fwd)".
        loop {
            if let Some(t) = s.strip_suffix(' ') {
                s.truncate(t.len());
            } else if s
                .get(s.len().saturating_sub(5)..)
                .is_some_and(|t| t.eq_ignore_ascii_case("(fwd)"))
            {
                s.truncate(s.len() - 5);
                reply = true;
            } else {
                break;
            }
        }
        // (3)-(5) Leaders and a leading blob, until nothing changes.
        loop {
            let before = s.len();
            while let Some((n, refwd)) = leader(&s) {
                reply |= refwd;
                s.drain(..n);
            }
            if let Some(n) = blob(&s)
                && n < s.len()
            {
                s.drain(..n);
            }
            if s.len() == before {
                break;
            }
        }
        // (6) "[fwd: subject]".
        if s.len() >= 6
            && s.get(..5).is_some_and(|t| t.eq_ignore_ascii_case("[fwd:"))
            && s.ends_with(']')
        {
            s = s[5..s.len() - 1].to_string();
            reply = true;
            continue;
        }
        return (s, reply);
    }
}

/// `subj-blob = "[" *BLOBCHAR "]" *WSP`: its length.
fn blob(s: &str) -> Option<usize> {
    let rest = s.strip_prefix('[')?;
    let close = rest.find(['[', ']'])?;
    if !rest[close..].starts_with(']') {
        return None;
    }
    let after = &rest[close + 1..];
    Some(s.len() - after.trim_start_matches(' ').len())
}

/// `subj-leader = (*subj-blob subj-refwd) / WSP`: its length, and whether
/// it held a reply/forward marker.
fn leader(s: &str) -> Option<(usize, bool)> {
    if s.starts_with(' ') {
        return Some((1, false));
    }
    let mut at = 0;
    loop {
        if let Some(n) = refwd(&s[at..]) {
            return Some((at + n, true));
        }
        at += blob(&s[at..])?;
    }
}

/// `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`.
fn refwd(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut at = if b.len() >= 3 && b[..3].eq_ignore_ascii_case(b"fwd") {
        3
    } else if b.len() >= 2
        && (b[..2].eq_ignore_ascii_case(b"fw") || b[..2].eq_ignore_ascii_case(b"re"))
    {
        2
    } else {
        return None;
    };
    while b.get(at) == Some(&b' ') {
        at += 1;
    }
    if let Some(n) = blob(&s[at..]) {
        at += n;
    }
    (b.get(at) == Some(&b':')).then_some(at + 1)
}
