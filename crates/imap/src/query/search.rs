//! Evaluating a SEARCH program against one message (RFC 9051 §6.4.4,
//! RFC 5032 OLDER/YOUNGER, RFC 5182 `$`, RFC 7162 MODSEQ, RFC 8514 SAVED*).

use std::cell::OnceCell;

use postern_store::{FtsQuery, SystemFlags};

use super::text::{
    address_text, body_text, envelope_text, fold, header_values, sent_date, subject_of,
};
use super::{MessageView, SearchContext};
use crate::wire::{Date, SearchKey, SearchProgram, SequenceSet};

/// True when some key reads more than the cached meta: BODY, TEXT, or a
/// HEADER field the envelope does not hold.
pub fn needs_raw(program: &SearchProgram) -> bool {
    program.keys.iter().any(key_needs_raw)
}

fn key_needs_raw(key: &SearchKey) -> bool {
    match key {
        SearchKey::Body(_) | SearchKey::Text(_) => true,
        SearchKey::Header(field, _) => cached_field(field).is_none(),
        SearchKey::Not(k) => key_needs_raw(k),
        SearchKey::Or(a, b) => key_needs_raw(a) || key_needs_raw(b),
        SearchKey::And(keys) => keys.iter().any(key_needs_raw),
        _ => false,
    }
}

/// True when some key reads the cached meta (envelope, MIME tree) or the
/// bytes; flag, size, date, UID and sequence keys need only the listing,
/// which is all a `SEARCH UNSEEN` on a large mailbox then reads.
pub fn needs_meta(program: &SearchProgram) -> bool {
    let meta = |k: &SearchKey| {
        use SearchKey::*;
        matches!(
            k,
            Bcc(_)
                | Body(_)
                | Cc(_)
                | From(_)
                | Subject(_)
                | Text(_)
                | To(_)
                | Header(..)
                | SentBefore(_)
                | SentOn(_)
                | SentSince(_)
        )
    };
    program.keys.iter().any(|k| any_key(k, &meta))
}

/// True when some key compares save dates (RFC 8514), which the session
/// then reads into [`SearchContext::saved_dates`].
pub fn needs_saved_dates(program: &SearchProgram) -> bool {
    let saved = |k: &SearchKey| {
        matches!(
            k,
            SearchKey::SavedBefore(_) | SearchKey::SavedOn(_) | SearchKey::SavedSince(_)
        )
    };
    program.keys.iter().any(|k| any_key(k, &saved))
}

/// True when some key names an EMAILID or THREADID (RFC 8474), which the
/// session then reads into [`SearchContext::object_ids`].
pub fn needs_object_ids(program: &SearchProgram) -> bool {
    let ids = |k: &SearchKey| matches!(k, SearchKey::EmailId(_) | SearchKey::ThreadId(_));
    program.keys.iter().any(|k| any_key(k, &ids))
}

/// Whether `key` or a key inside it satisfies `pred`.
fn any_key(key: &SearchKey, pred: &dyn Fn(&SearchKey) -> bool) -> bool {
    pred(key)
        || match key {
            SearchKey::Not(k) => any_key(k, pred),
            SearchKey::Or(a, b) => any_key(a, pred) || any_key(b, pred),
            SearchKey::And(keys) => keys.iter().any(|k| any_key(k, pred)),
            _ => false,
        }
}

/// Header fields the envelope answers for HEADER searches.
#[derive(Clone, Copy)]
enum Cached {
    Subject,
    Date,
    MessageId,
    InReplyTo,
}

fn cached_field(field: &str) -> Option<Cached> {
    Some(match field.to_ascii_lowercase().as_str() {
        "subject" => Cached::Subject,
        "date" => Cached::Date,
        "message-id" => Cached::MessageId,
        "in-reply-to" => Cached::InReplyTo,
        _ => return None,
    })
}

/// RFC 9051 §6.4.4: UTF-8 and US-ASCII must be supported; anything else
/// is `NO [BADCHARSET (UTF-8 US-ASCII)]`. The `Err` is that response's
/// text. Strings that are not valid in the named charset are refused too.
pub fn check_charset(program: &SearchProgram) -> Result<(), String> {
    let refuse = |why: String| Err(format!("[BADCHARSET (UTF-8 US-ASCII)] {why}"));
    let ascii = match program.charset.as_deref() {
        None => return Ok(()),
        Some(cs) if cs.eq_ignore_ascii_case("UTF-8") => false,
        Some(cs) if cs.eq_ignore_ascii_case("US-ASCII") => true,
        Some(cs) => return refuse(format!("Unknown charset {cs}")),
    };
    let mut bad = false;
    for k in &program.keys {
        visit_strings(k, &mut |s| {
            bad |= if ascii {
                !s.is_ascii()
            } else {
                std::str::from_utf8(s).is_err()
            };
        });
    }
    if bad {
        return refuse(format!(
            "String not valid {}",
            program.charset.as_deref().unwrap_or_default()
        ));
    }
    Ok(())
}

fn visit_strings(key: &SearchKey, f: &mut dyn FnMut(&[u8])) {
    use SearchKey::*;
    match key {
        Bcc(s) | Body(s) | Cc(s) | From(s) | Subject(s) | Text(s) | To(s) | Header(_, s) => f(s),
        Not(k) => visit_strings(k, f),
        Or(a, b) => {
            visit_strings(a, f);
            visit_strings(b, f);
        }
        And(keys) => keys.iter().for_each(|k| visit_strings(k, f)),
        _ => {}
    }
}

/// The BODY and TEXT keys of `program` the full-text index can answer
/// exactly ([`FtsQuery::answerable`]), needles folded as the scan folds
/// them; the session asks the store about these before reading bytes.
pub fn fts_queries(program: &SearchProgram) -> Vec<FtsQuery> {
    let mut out = Vec::new();
    for k in &program.keys {
        collect_fts(k, &mut out);
    }
    out.dedup();
    out
}

fn collect_fts(key: &SearchKey, out: &mut Vec<FtsQuery>) {
    match key {
        SearchKey::Not(k) => collect_fts(k, out),
        SearchKey::Or(a, b) => {
            collect_fts(a, out);
            collect_fts(b, out);
        }
        SearchKey::And(keys) => keys.iter().for_each(|k| collect_fts(k, out)),
        k => {
            if let Some(q) = fts_query(k)
                && !out.contains(&q)
            {
                out.push(q);
            }
        }
    }
}

pub(super) fn fts_query(key: &SearchKey) -> Option<FtsQuery> {
    let (body_only, s) = match key {
        SearchKey::Body(s) => (true, s),
        SearchKey::Text(s) => (false, s),
        _ => return None,
    };
    let needle = needle(s);
    FtsQuery::answerable(&needle).then_some(FtsQuery { body_only, needle })
}

/// Whether the message matches `program` as far as it can be told without
/// its bytes, the index answering BODY and TEXT ([`SearchContext::fts`]):
/// `None` when the bytes must be read and [`matches`] asked. A `Some` is
/// always what [`matches`] would answer.
pub fn decide(program: &SearchProgram, msg: &MessageView, ctx: &SearchContext) -> Option<bool> {
    let eval = Eval {
        msg,
        ctx,
        body: OnceCell::new(),
        text: OnceCell::new(),
    };
    all3(program.keys.iter().map(|k| eval.key3(k)))
}

/// Three-valued AND: false wins, then unknown.
fn all3(values: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut out = Some(true);
    for v in values {
        match v {
            Some(false) => return Some(false),
            None => out = None,
            Some(true) => {}
        }
    }
    out
}

/// True when every key of `program` matches the message.
pub fn matches(program: &SearchProgram, msg: &MessageView, ctx: &SearchContext) -> bool {
    let eval = Eval {
        msg,
        ctx,
        body: OnceCell::new(),
        text: OnceCell::new(),
    };
    program.keys.iter().all(|k| eval.key(k))
}

/// One message under evaluation; decoded and folded bodies are computed once.
struct Eval<'a, 'b> {
    msg: &'b MessageView<'a>,
    ctx: &'b SearchContext<'a>,
    body: OnceCell<String>,
    text: OnceCell<String>,
}

fn needle(s: &[u8]) -> String {
    fold(&String::from_utf8_lossy(s))
}

fn contains(hay: &str, s: &[u8]) -> bool {
    fold(hay).contains(&needle(s))
}

impl Eval<'_, '_> {
    fn key(&self, key: &SearchKey) -> bool {
        use SearchKey::*;
        let m = self.msg;
        let env = &m.meta.envelope;
        let flag = |f: SystemFlags| m.flags.system.contains(f);
        match key {
            All => true,
            Answered => flag(SystemFlags::ANSWERED),
            Deleted => flag(SystemFlags::DELETED),
            Draft => flag(SystemFlags::DRAFT),
            Flagged => flag(SystemFlags::FLAGGED),
            Seen => flag(SystemFlags::SEEN),
            Unanswered => !flag(SystemFlags::ANSWERED),
            Undeleted => !flag(SystemFlags::DELETED),
            Undraft => !flag(SystemFlags::DRAFT),
            Unflagged => !flag(SystemFlags::FLAGGED),
            Unseen => !flag(SystemFlags::SEEN),
            // RFC 3501 §6.4.4: NEW is RECENT UNSEEN; OLD is NOT RECENT.
            Recent => m.uid >= self.ctx.first_recent,
            New => m.uid >= self.ctx.first_recent && !flag(SystemFlags::SEEN),
            Old => m.uid < self.ctx.first_recent,
            Keyword(k) => m.flags.has_keyword(k),
            Unkeyword(k) => !m.flags.has_keyword(k),
            From(s) => contains(&address_text(&env.from, env), s),
            To(s) => contains(&address_text(&env.to, env), s),
            Cc(s) => contains(&address_text(&env.cc, env), s),
            Bcc(s) => contains(&address_text(&env.bcc, env), s),
            // A Subject field that is there, even empty, matches "".
            Subject(s) => subject_of(m).is_some_and(|v| contains(&v, s)),
            Header(field, s) => self.header(field, s),
            Body(s) => self.body_text(false).contains(&needle(s)),
            Text(s) => self.body_text(true).contains(&needle(s)),
            Before(d) => utc_day(m.internal_date) < day(d),
            On(d) => utc_day(m.internal_date) == day(d),
            Since(d) => utc_day(m.internal_date) >= day(d),
            SentBefore(d) => self.sent_day() < day(d),
            SentOn(d) => self.sent_day() == day(d),
            SentSince(d) => self.sent_day() >= day(d),
            // A message without a save date (expunged since the listing)
            // matches none of the SAVED* keys.
            SavedBefore(d) => self.saved_day().is_some_and(|s| s < day(d)),
            SavedOn(d) => self.saved_day().is_some_and(|s| s == day(d)),
            SavedSince(d) => self.saved_day().is_some_and(|s| s >= day(d)),
            // Every mailbox keeps save dates.
            SaveDateSupported => true,
            EmailId(id) => self.object_ids().is_some_and(|o| o.email_id == *id),
            ThreadId(id) => self.object_ids().is_some_and(|o| o.thread_id == *id),
            Larger(n) => m.size > *n,
            Smaller(n) => m.size < *n,
            // RFC 5032 §3: OLDER is "older than" the interval, YOUNGER
            // "within" it; a message exactly at the edge is YOUNGER only,
            // so `OLDER n` and `YOUNGER n` split a mailbox in two.
            Older(secs) => self.ctx.now - m.internal_date > i64::from(*secs),
            Younger(secs) => self.ctx.now - m.internal_date <= i64::from(*secs),
            Uid(set) => self.in_set(set, m.uid, self.ctx.max_uid),
            SequenceSet(set) => self.in_set(set, m.seq, self.ctx.max_seq),
            // RFC 7162 §3.1.5: the per-flag entry may be ignored (we keep
            // one MODSEQ per message).
            ModSeq { modseq, .. } => m.modseq >= *modseq,
            Not(k) => !self.key(k),
            Or(a, b) => self.key(a) || self.key(b),
            And(keys) => keys.iter().all(|k| self.key(k)),
        }
    }

    /// [`Eval::key`] without the bytes: BODY and TEXT from the index
    /// when it knows, HEADER (read from the raw header when bytes are
    /// read) never.
    fn key3(&self, key: &SearchKey) -> Option<bool> {
        use SearchKey::*;
        match key {
            Body(_) | Text(_) => {
                let q = fts_query(key)?;
                self.ctx.fts?.decide(self.msg.uid, &q)
            }
            Header(..) => None,
            Not(k) => self.key3(k).map(|b| !b),
            Or(a, b) => match (self.key3(a), self.key3(b)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            And(keys) => all3(keys.iter().map(|k| self.key3(k))),
            k => Some(self.key(k)),
        }
    }

    fn in_set(&self, set: &SequenceSet, n: u32, largest: u32) -> bool {
        match set {
            // RFC 5182 §2.1: `$` holds UIDs, whichever key it appears in.
            SequenceSet::Saved => self.ctx.saved.is_some_and(|s| s.contains(&self.msg.uid)),
            ranges => ranges.contains(n, largest),
        }
    }

    /// Days since the epoch of the Date field in its own zone; before
    /// every date when missing or unparsable.
    fn sent_day(&self) -> i64 {
        sent_date(self.msg).map_or(i64::MIN, |(d, _)| d)
    }

    fn object_ids(&self) -> Option<&postern_store::ObjectIds> {
        self.ctx.object_ids?.get(&self.msg.uid)
    }

    /// The UTC day of the save date, as INTERNALDATE's is taken.
    fn saved_day(&self) -> Option<i64> {
        let dates = self.ctx.saved_dates?;
        dates.get(&self.msg.uid).map(|&t| utc_day(t))
    }

    /// The decoded text BODY (or, with `headers`, TEXT) searches, folded.
    fn body_text(&self, headers: bool) -> &str {
        let cell = if headers { &self.text } else { &self.body };
        cell.get_or_init(|| match self.msg.raw {
            Some(raw) => fold(&body_text(raw, &self.msg.meta.body, headers)),
            None => String::new(),
        })
    }

    /// RFC 9051 §6.4.4 HEADER: a field with that name whose value holds
    /// the string; "" matches any such field.
    fn header(&self, field: &str, s: &[u8]) -> bool {
        let m = self.msg;
        let env = &m.meta.envelope;
        if let Some(raw) = m.raw {
            let body = &m.meta.body;
            let h = raw
                .get(body.header_start as usize..body.body_start as usize)
                .unwrap_or_default();
            return header_values(h, field).iter().any(|v| contains(v, s));
        }
        // With a duplicated Subject or Date, either field may hold it.
        let values = match cached_field(field) {
            Some(Cached::Subject) => [env.subject.as_deref(), env.first_subject.as_deref()],
            Some(Cached::Date) => [env.date.as_deref(), env.first_date.as_deref()],
            Some(Cached::MessageId) => [env.message_id.as_deref(), None],
            Some(Cached::InReplyTo) => [env.in_reply_to.as_deref(), None],
            None => [None, None],
        };
        values
            .into_iter()
            .flatten()
            .any(|v| contains(&envelope_text(v, env), s))
    }
}

fn day(d: &Date) -> i64 {
    d.days_since_epoch()
}

fn utc_day(unix: i64) -> i64 {
    unix.div_euclid(86_400)
}
