//! ENABLE (RFC 5161) and the per-session state it switches on: CONDSTORE
//! and QRESYNC (RFC 7162), UTF8=ACCEPT (RFC 6855). Also the small pieces
//! CONDSTORE/QRESYNC share between SELECT, FETCH, STORE and SEARCH.

use crate::wire::{self, Code, CommandBody, SearchKey, SearchProgram, Tag};

use super::{Flow, Session, State};

/// What the client has ENABLEd (or switched on implicitly) on this
/// connection. Nothing is ever switched off again (RFC 5161 §3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Enabled {
    /// MODSEQ in every unsolicited FETCH, HIGHESTMODSEQ on SELECT (RFC 7162 §3.1).
    pub condstore: bool,
    /// VANISHED instead of EXPUNGE, SELECT (QRESYNC ...) (RFC 7162 §3.2).
    /// Implies `condstore`.
    pub qresync: bool,
    /// Mailbox names as UTF-8 both ways, not modified UTF-7 (RFC 6855 §3).
    pub utf8_accept: bool,
    /// IMAP4rev2 (RFC 9051 §6.3.1): SEARCH answers with ESEARCH, SELECT
    /// sends a LIST line and no RECENT/UNSEEN, CLOSED on reselect, and
    /// mailbox names are UTF-8 (§5.1).
    pub rev2: bool,
    /// UIDONLY (RFC 9586): no message numbers either way; FETCH data
    /// comes as `* uid UIDFETCH`, expunges as VANISHED.
    pub uid_only: bool,
}

impl Enabled {
    /// Switches on one capability named in ENABLE; returns its name when
    /// this call turned it on, `None` when unknown or already on.
    fn enable(&mut self, cap: &str) -> Option<&'static str> {
        let (flag, name) = match cap.to_ascii_uppercase().as_str() {
            "CONDSTORE" => (&mut self.condstore, "CONDSTORE"),
            "QRESYNC" => {
                // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
                self.condstore = true;
                (&mut self.qresync, "QRESYNC")
            }
            "UTF8=ACCEPT" => (&mut self.utf8_accept, "UTF8=ACCEPT"),
            "IMAP4REV2" => (&mut self.rev2, "IMAP4rev2"),
            "UIDONLY" => (&mut self.uid_only, "UIDONLY"),
            _ => return None,
        };
        if *flag {
            return None;
        }
        *flag = true;
        Some(name)
    }

    /// Whether mailbox names travel as UTF-8 rather than modified UTF-7.
    pub fn utf8_names(&self) -> bool {
        self.utf8_accept || self.rev2
    }

    /// The start of a FETCH response line: `* seq FETCH (`, or under
    /// UIDONLY `* uid UIDFETCH (` (RFC 9586 §3.3).
    pub fn fetch_head(&self, seq: u32, uid: u32) -> String {
        if self.uid_only {
            format!("* {uid} UIDFETCH (")
        } else {
            format!("* {seq} FETCH (")
        }
    }

    /// Whether expunges go out as VANISHED (QRESYNC, RFC 7162 §3.2.10;
    /// UIDONLY, RFC 9586 §3.4) rather than EXPUNGE.
    pub fn vanished(&self) -> bool {
        self.qresync || self.uid_only
    }

    /// Whether a reselect announces `[CLOSED]` (RFC 7162 §3.2.11, and
    /// always under IMAP4rev2: RFC 9051 §6.3.2).
    pub fn announces_closed(&self) -> bool {
        self.qresync || self.rev2
    }
}

/// Whether a SEARCH program uses the MODSEQ key (RFC 7162 §3.1.5: the
/// answer then carries the highest MODSEQ of the matches).
pub(super) fn uses_modseq(program: &SearchProgram) -> bool {
    fn key(k: &SearchKey) -> bool {
        match k {
            SearchKey::ModSeq { .. } => true,
            SearchKey::Not(k) => key(k),
            SearchKey::Or(a, b) => key(a) || key(b),
            SearchKey::And(ks) => ks.iter().any(key),
            _ => false,
        }
    }
    program.keys.iter().any(key)
}

/// Whether a command names messages by number (RFC 9586 §3.2: refused
/// under UIDONLY): the non-UID FETCH, STORE, SEARCH, SORT, THREAD, COPY,
/// MOVE and REPLACE, and UID commands whose search keys hold a sequence
/// set (`$`, the saved UIDs, is fine).
pub(super) fn uses_message_numbers(body: &CommandBody) -> bool {
    fn key(k: &SearchKey) -> bool {
        match k {
            SearchKey::SequenceSet(s) => !matches!(s, wire::SequenceSet::Saved),
            SearchKey::Not(k) => key(k),
            SearchKey::Or(a, b) => key(a) || key(b),
            SearchKey::And(ks) => ks.iter().any(key),
            _ => false,
        }
    }
    let program = |p: &SearchProgram| p.keys.iter().any(key);
    match body {
        CommandBody::Fetch { uid, .. }
        | CommandBody::Store { uid, .. }
        | CommandBody::Copy { uid, .. }
        | CommandBody::Move { uid, .. }
        | CommandBody::Replace { uid, .. } => !uid,
        CommandBody::Search {
            uid, program: p, ..
        }
        | CommandBody::Sort {
            uid, program: p, ..
        }
        | CommandBody::Thread {
            uid, program: p, ..
        } => !uid || program(p),
        _ => false,
    }
}

/// `* VANISHED [(EARLIER) ]uids` (RFC 7162 §3.2.10); nothing for no UIDs.
pub(super) fn vanished(out: &mut Vec<u8>, earlier: bool, uids: impl IntoIterator<Item = u32>) {
    if let Some(set) = wire::response::id_set(uids) {
        let earlier = if earlier { "(EARLIER) " } else { "" };
        out.extend_from_slice(format!("* VANISHED {earlier}{set}\r\n").as_bytes());
    }
}

impl Session {
    /// ENABLE (RFC 5161 §3.1): `* ENABLED` lists what this command turned on.
    pub(super) async fn enable(&mut self, tag: Tag, caps: Vec<String>, out: &mut Vec<u8>) -> Flow {
        let had_condstore = self.enabled.condstore;
        let mut line = b"* ENABLED".to_vec();
        for cap in &caps {
            if let Some(name) = self.enabled.enable(cap) {
                line.push(b' ');
                line.extend_from_slice(name.as_bytes());
            }
        }
        line.extend_from_slice(b"\r\n");
        out.extend_from_slice(&line);
        if !had_condstore && self.enabled.condstore {
            self.condstore_switched_on(out);
        }
        self.ok(tag, "ENABLE completed", out).await
    }

    /// A CONDSTORE enabling command (RFC 7162 §3.1: SELECT (CONDSTORE),
    /// FETCH MODSEQ or CHANGEDSINCE, STORE UNCHANGEDSINCE, SEARCH MODSEQ).
    pub(super) fn condstore_implied(&mut self, out: &mut Vec<u8>) {
        if !self.enabled.condstore {
            self.enabled.condstore = true;
            self.condstore_switched_on(out);
        }
    }

    /// RFC 7162 §3.1: CONDSTORE switched on with a mailbox selected: the
    /// client learns the mailbox's HIGHESTMODSEQ now.
    fn condstore_switched_on(&self, out: &mut Vec<u8>) {
        if let State::Selected(s) = &self.state {
            wire::StatusResponse::new(None, wire::Status::Ok, "Highest")
                .with_code(Code::HighestModSeq(s.highest_modseq()))
                .encode(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Enabled;

    #[test]
    fn enable_reports_only_what_it_turned_on_and_qresync_implies_condstore() {
        let mut e = Enabled::default();
        assert_eq!(e.enable("qresync"), Some("QRESYNC"));
        assert!(e.condstore && e.qresync && !e.utf8_accept);
        assert_eq!(e.enable("CONDSTORE"), None, "already on through QRESYNC");
        assert_eq!(e.enable("UTF8=ACCEPT"), Some("UTF8=ACCEPT"));
        assert_eq!(e.enable("UTF8=ACCEPT"), None);
        assert_eq!(e.enable("X-UNKNOWN"), None);
        assert!(!e.rev2);
        assert_eq!(e.enable("imap4rev2"), Some("IMAP4rev2"));
        assert!(e.rev2 && e.utf8_names() && e.announces_closed());
        assert_eq!(e.fetch_head(3, 30), "* 3 FETCH (");
        assert_eq!(e.enable("UIDONLY"), Some("UIDONLY"));
        assert_eq!(e.fetch_head(3, 30), "* 30 UIDFETCH (");
        assert!(e.vanished());
    }
}
