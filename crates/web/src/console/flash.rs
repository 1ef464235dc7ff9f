//! Post-redirect-get: a form that did its work answers 303 to the page it
//! came from, and what it did is shown once there. The message waits on
//! the server, in memory, under the session's id and the exact path (and
//! query) the redirect names; the GET of that path takes it. Nothing is in
//! the URL, so a reload shows the page without the message and never
//! posts again.
//!
//! Bounded: a session keeps at most [`PER_SESSION`] messages, a message
//! not taken within [`TTL`] is dropped, and past [`MAX_TOTAL`] the oldest
//! goes. A message lost to a restart or a bound costs only its display:
//! the action was done and the page shows its result.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::pages::layout::Flash;

/// A message not shown within this long is dropped (the redirect is
/// followed at once; this covers a slow phone).
pub const TTL: Duration = Duration::from_secs(600);
/// Messages waiting per session (a few tabs posting at once).
pub const PER_SESSION: usize = 4;
/// Messages waiting in all, so sessions posting and never reading cannot
/// grow the map without end.
pub const MAX_TOTAL: usize = 4096;

struct Waiting {
    to: String,
    flash: Flash,
    at: Instant,
}

/// The messages waiting for their page, per session id.
#[derive(Default)]
pub struct Flashes {
    by_session: Mutex<HashMap<String, Vec<Waiting>>>,
}

impl Flashes {
    /// Keeps `flash` for the session `sid`'s next GET of `to`.
    pub fn put(&self, sid: &str, to: &str, flash: Flash) {
        self.put_at(sid, to, flash, Instant::now());
    }

    fn put_at(&self, sid: &str, to: &str, flash: Flash, now: Instant) {
        let mut map = self.by_session.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = map.values().map(Vec::len).sum();
        if total >= MAX_TOTAL {
            map.retain(|_, w| {
                w.retain(|f| now.duration_since(f.at) < TTL);
                !w.is_empty()
            });
            let total: usize = map.values().map(Vec::len).sum();
            if total >= MAX_TOTAL
                && let Some(oldest) = map
                    .iter()
                    .filter_map(|(k, w)| w.first().map(|f| (f.at, k.clone())))
                    .min()
                    .map(|(_, k)| k)
                && let Some(w) = map.get_mut(&oldest)
            {
                w.remove(0);
                if w.is_empty() {
                    map.remove(&oldest);
                }
            }
        }
        let w = map.entry(sid.to_string()).or_default();
        // A second post to the same page replaces the first's message.
        w.retain(|f| f.to != to && now.duration_since(f.at) < TTL);
        if w.len() >= PER_SESSION {
            w.remove(0);
        }
        w.push(Waiting {
            to: to.to_string(),
            flash,
            at: now,
        });
    }

    /// The message waiting for the session `sid` on `path_and_query`,
    /// taken (shown once); `Flash::None` if there is none.
    pub fn take(&self, sid: &str, path_and_query: &str) -> Flash {
        self.take_at(sid, path_and_query, Instant::now())
    }

    fn take_at(&self, sid: &str, path_and_query: &str, now: Instant) -> Flash {
        let mut map = self.by_session.lock().unwrap_or_else(|e| e.into_inner());
        let Some(w) = map.get_mut(sid) else {
            return Flash::None;
        };
        w.retain(|f| now.duration_since(f.at) < TTL);
        let found = w
            .iter()
            .position(|f| f.to == path_and_query)
            .map(|i| w.remove(i).flash);
        if w.is_empty() {
            map.remove(sid);
        }
        found.unwrap_or(Flash::None)
    }

    /// Drops every message of the session `sid` (it ended).
    pub fn forget(&self, sid: &str) {
        self.by_session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(sid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(s: &str) -> Flash {
        Flash::Done(vec![s.into()])
    }

    fn text(f: Flash) -> String {
        match f {
            Flash::None => "none".into(),
            Flash::Done(l) => l.join(" "),
            Flash::Error(e) => format!("error {e}"),
        }
    }

    #[test]
    fn a_message_is_shown_once_on_its_page_for_its_session() {
        let f = Flashes::default();
        f.put("s1", "/admin/users", done("added user a"));
        assert_eq!(text(f.take("s2", "/admin/users")), "none");
        assert_eq!(text(f.take("s1", "/admin/domains")), "none");
        assert_eq!(text(f.take("s1", "/admin/users")), "added user a");
        assert_eq!(text(f.take("s1", "/admin/users")), "none", "a reload");
    }

    #[test]
    fn messages_expire_and_are_bounded_per_session_and_in_all() {
        let f = Flashes::default();
        let t0 = Instant::now();
        f.put_at("s", "/a", done("old"), t0);
        assert_eq!(text(f.take_at("s", "/a", t0 + TTL)), "none");
        for i in 0..PER_SESSION + 2 {
            f.put_at("s", &format!("/p{i}"), done(&i.to_string()), t0);
        }
        assert_eq!(text(f.take_at("s", "/p0", t0)), "none", "pushed out");
        let last = PER_SESSION + 1;
        assert_eq!(
            text(f.take_at("s", &format!("/p{last}"), t0)),
            last.to_string()
        );
        f.put_at("s", "/same", done("first"), t0);
        f.put_at("s", "/same", done("second"), t0);
        assert_eq!(text(f.take_at("s", "/same", t0)), "second");
        f.forget("s");
        for i in 0..MAX_TOTAL + 10 {
            let at = t0 + Duration::from_millis(i as u64);
            f.put_at(&format!("s{i}"), "/x", done(&i.to_string()), at);
        }
        let total: usize = f
            .by_session
            .lock()
            .expect("lock")
            .values()
            .map(Vec::len)
            .sum();
        assert_eq!(total, MAX_TOTAL);
        assert_eq!(text(f.take_at("s0", "/x", t0)), "none", "the oldest went");
        let newest = MAX_TOTAL + 9;
        assert_eq!(
            text(f.take_at(&format!("s{newest}"), "/x", t0)),
            newest.to_string()
        );
    }
}
