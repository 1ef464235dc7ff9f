//! Mailbox commands: LIST (RFC 9051 §6.3.9 with the LIST-EXTENDED
//! selection and return options Postern implements: SUBSCRIBED, CHILDREN,
//! SPECIAL-USE), LSUB, STATUS, CREATE, DELETE, RENAME, SUBSCRIBE.
//! Subscriptions are names: a deleted mailbox's name stays subscribed and
//! is listed `\NonExistent \Subscribed` (RFC 3501 §6.3.9, RFC 5258 §3).
//! A user only ever sees their own mailboxes: every name is looked up
//! under their own user id, so no name reaches another account.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use postern_store::{Mailbox, SpecialUse};

use super::{Flow, Session};
use crate::wire::{self, Code, ListCommand, MailboxName, StatusAttr, Tag};

/// RFC 3501 §6.3.8 wildcards: `*` matches anything, `%` anything but the
/// hierarchy delimiter. One pass over the pattern, keeping which prefixes
/// of the name the pattern so far can match: time pattern × name, whatever
/// the wildcards. (Trying each split recursively took time exponential in
/// the number of wildcards: AFL's `LIST "" ****…x` on a 30-character name
/// ran for minutes.)
fn wildcard_match(pattern: &[char], name: &[char]) -> bool {
    // reach[j]: the pattern read so far matches name[..j].
    let mut reach = vec![false; name.len() + 1];
    reach[0] = true;
    let mut next = vec![false; name.len() + 1];
    for &p in pattern {
        match p {
            '*' => {
                let mut any = false;
                for (j, r) in reach.iter().enumerate() {
                    any |= *r;
                    next[j] = any;
                }
            }
            '%' => {
                // From a reached prefix on, up to the next delimiter.
                let mut any = false;
                for (j, r) in reach.iter().enumerate() {
                    if j > 0 && name[j - 1] == '/' {
                        any = false;
                    }
                    any |= *r;
                    next[j] = any;
                }
            }
            c => {
                next[0] = false;
                for j in 1..=name.len() {
                    next[j] = reach[j - 1] && name[j - 1] == c;
                }
            }
        }
        std::mem::swap(&mut reach, &mut next);
        if !reach.contains(&true) {
            return false;
        }
    }
    reach[name.len()]
}

/// Does `name` match `reference` + `pattern`? INBOX matches case-insensitively.
pub(super) fn list_match(reference: &str, pattern: &str, name: &str) -> bool {
    let full = format!("{reference}{pattern}");
    let mut p: Vec<char> = full.chars().collect();
    // `get`: the fifth byte may fall inside a character (found by AFL).
    if full
        .get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("INBOX"))
    {
        p.splice(0..5, "INBOX".chars());
    }
    let n: Vec<char> = name.chars().collect();
    wildcard_match(&p, &n)
}

fn special(u: SpecialUse) -> &'static str {
    u.as_str()
}

/// The special uses the store keeps; others (\Important, extensions) are refused.
fn to_store_special(u: &wire::SpecialUse) -> Option<SpecialUse> {
    Some(match u {
        wire::SpecialUse::All => SpecialUse::All,
        wire::SpecialUse::Archive => SpecialUse::Archive,
        wire::SpecialUse::Drafts => SpecialUse::Drafts,
        wire::SpecialUse::Flagged => SpecialUse::Flagged,
        wire::SpecialUse::Junk => SpecialUse::Junk,
        wire::SpecialUse::Sent => SpecialUse::Sent,
        wire::SpecialUse::Trash => SpecialUse::Trash,
        wire::SpecialUse::Important | wire::SpecialUse::Other(_) => return None,
    })
}

/// One name a LIST or LSUB can answer with: a mailbox, a subscribed name
/// (whose mailbox may be gone: RFC 3501 §6.3.9), or a level of hierarchy
/// that only exists because a name below it does (`a` for `a/b` after `a`
/// was deleted: RFC 9051 §6.3.9, RFC 5258 §3 `\NonExistent`).
struct Entry<'a> {
    name: &'a str,
    mailbox: Option<&'a Mailbox>,
    /// The name is in the user's subscriptions.
    subscribed: bool,
    /// The name is a mailbox or a subscription, not only a level above one.
    listed: bool,
    /// A mailbox exists below the name (subscriptions are not children).
    children: bool,
}

/// The mailboxes `all`, the subscribed names `subs` and the missing levels
/// above them, in name order.
fn entries<'a>(all: &'a [Mailbox], subs: &'a [String]) -> Vec<Entry<'a>> {
    let mut names: BTreeMap<&'a str, Entry<'a>> = BTreeMap::new();
    let mut add = |name: &'a str, mailbox: Option<&'a Mailbox>, subscribed: bool| {
        for (i, _) in name.match_indices('/') {
            names.entry(&name[..i]).or_insert(Entry {
                name: &name[..i],
                mailbox: None,
                subscribed: false,
                listed: false,
                children: false,
            });
        }
        let e = names.entry(name).or_insert(Entry {
            name,
            mailbox: None,
            subscribed: false,
            listed: false,
            children: false,
        });
        e.mailbox = e.mailbox.or(mailbox);
        e.subscribed |= subscribed;
        e.listed = true;
    };
    for m in all {
        add(&m.name, Some(m), m.subscribed);
    }
    for n in subs {
        add(n, None, true);
    }
    let boxes: BTreeSet<&str> = all.iter().map(|m| m.name.as_str()).collect();
    names
        .into_values()
        .map(|mut e| {
            // Names sort in order, so the mailboxes below `name/` follow it.
            let prefix = format!("{}/", e.name);
            e.children = boxes
                .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
                .next()
                .is_some_and(|n| n.starts_with(&prefix));
            e
        })
        .collect()
}

impl Session {
    /// One `* LIST`/`* LSUB` line. `placeholder` is the attribute of a
    /// name that is no mailbox (`\NonExistent` or, for RFC 3501 forms,
    /// `\Noselect`); `childinfo` the RFC 5258 §3.5 extended data.
    #[allow(clippy::too_many_arguments)]
    fn list_line(
        &self,
        e: &Entry<'_>,
        children: bool,
        subscribed_attr: bool,
        placeholder: &str,
        childinfo: Option<&str>,
        verb: &str,
        out: &mut Vec<u8>,
    ) {
        let mut attrs: Vec<&str> = Vec::new();
        if e.mailbox.is_none() {
            attrs.push(placeholder);
        }
        attrs.push(if children {
            "\\HasChildren"
        } else {
            "\\HasNoChildren"
        });
        if subscribed_attr && e.subscribed {
            attrs.push("\\Subscribed");
        }
        if let Some(u) = e.mailbox.and_then(|m| m.special_use) {
            attrs.push(special(u));
        }
        out.extend_from_slice(format!("* {verb} ({}) \"/\" ", attrs.join(" ")).as_bytes());
        wire::response::encode_mailbox_name(out, e.name, self.enabled.utf8_names());
        if let Some(info) = childinfo {
            out.extend_from_slice(format!(" (\"CHILDINFO\" (\"{info}\"))").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }

    pub(super) async fn list(&mut self, tag: Tag, l: ListCommand, out: &mut Vec<u8>) -> Flow {
        let Some(uid) = self.user_id() else {
            return Flow::Close;
        };
        // RFC 9051 §6.3.9: an empty pattern asks for the delimiter.
        if l.patterns.len() == 1 && l.patterns[0].is_empty() {
            out.extend_from_slice(b"* LIST (\\Noselect) \"/\" \"\"\r\n");
            return self.ok(tag, "LIST completed", out).await;
        }
        let all = match self.ctx.store.mailbox_list(uid).await {
            Ok(a) => a,
            Err(e) => return self.store_error(tag, e, out),
        };
        // RFC 5258 §3: with SUBSCRIBED, subscribed names whose mailbox is
        // gone are listed too (`\NonExistent \Subscribed`).
        let subs = if l.select.subscribed {
            match self.ctx.store.subscriptions(uid).await {
                Ok(s) => s,
                Err(e) => return self.store_error(tag, e, out),
            }
        } else {
            Vec::new()
        };
        let matches = |name: &str| l.patterns.iter().any(|p| list_match(&l.reference, p, name));
        // RFC 5258 §3: the selection options pick names; a name that
        // fails them is still listed under RECURSIVEMATCH when a
        // descendant passes and is not matched itself (§3.5, CHILDINFO).
        let selected = |e: &Entry<'_>| {
            e.listed
                && (!l.select.subscribed || e.subscribed)
                && (!l.select.special_use || e.mailbox.is_some_and(|m| m.special_use.is_some()))
        };
        let filtering = l.select.subscribed || l.select.special_use;
        let placeholder = if l.extended || self.enabled.rev2 {
            "\\NonExistent"
        } else {
            "\\Noselect"
        };
        let names = entries(&all, &subs);
        let info = if l.select.subscribed {
            "SUBSCRIBED"
        } else {
            "SPECIAL-USE"
        };
        for e in &names {
            if !matches(e.name) {
                continue;
            }
            // Without a selection option only mailboxes and the levels
            // above them are listed, never a name that is only subscribed.
            if !filtering && e.mailbox.is_none() && !e.children {
                continue;
            }
            let passes = selected(e);
            let childinfo = filtering && l.select.recursive_match && {
                let prefix = format!("{}/", e.name);
                names
                    .iter()
                    .any(|c| selected(c) && c.name.starts_with(&prefix) && !matches(c.name))
            };
            if filtering && !passes && !childinfo {
                continue;
            }
            // A placeholder for hierarchy only shows when nothing filters:
            // with SUBSCRIBED a missing parent is listed only for CHILDINFO.
            self.list_line(
                e,
                e.children,
                l.select.subscribed || l.ret.subscribed,
                placeholder,
                childinfo.then_some(info),
                "LIST",
                out,
            );
            if let (Some(items), Some(m)) = (&l.ret.status, e.mailbox) {
                self.status_line(m, items, out).await;
            }
        }
        self.ok(tag, "LIST completed", out).await
    }

    /// LSUB (RFC 3501 §6.3.9, kept for IMAP4rev1 clients): subscribed
    /// mailboxes, and `\Noselect` for a level above one that `%` stops at.
    pub(super) async fn lsub(
        &mut self,
        tag: Tag,
        reference: &str,
        pattern: &str,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Some(uid) = self.user_id() else {
            return Flow::Close;
        };
        let all = match self.ctx.store.mailbox_list(uid).await {
            Ok(a) => a,
            Err(e) => return self.store_error(tag, e, out),
        };
        let subs = match self.ctx.store.subscriptions(uid).await {
            Ok(s) => s,
            Err(e) => return self.store_error(tag, e, out),
        };
        let universe = entries(&all, &[]);
        // The subscribed part of the hierarchy: a level that is not
        // subscribed itself is no mailbox here, whether one exists or not.
        let subscribed: Vec<Mailbox> = all.iter().filter(|m| m.subscribed).cloned().collect();
        // RFC 3501 §6.3.9: levels above a subscribed name show only when
        // a trailing `%` stops above it.
        let levels = pattern.ends_with('%');
        for e in entries(&subscribed, &subs)
            .iter()
            .filter(|e| (levels || e.listed) && list_match(reference, pattern, e.name))
        {
            // Children as the whole hierarchy has them, not just the
            // subscribed part; an unsubscribed level and a subscribed name
            // without a mailbox show as \Noselect.
            let children = universe
                .iter()
                .find(|u| u.name == e.name)
                .is_some_and(|u| u.children);
            self.list_line(e, children, false, "\\Noselect", None, "LSUB", out);
        }
        self.ok(tag, "LSUB completed", out).await
    }

    async fn status_line(&self, m: &Mailbox, items: &[StatusAttr], out: &mut Vec<u8>) -> bool {
        let Ok(st) = self.ctx.store.mailbox_status(m.id).await else {
            return false;
        };
        // RFC 3501 §6.3.10: the messages the next session would see as recent.
        let recent = if items.contains(&StatusAttr::Recent) {
            match self.ctx.store.recent_count(m.id).await {
                Ok(n) => n,
                Err(_) => return false,
            }
        } else {
            0
        };
        let mut parts = Vec::new();
        for it in items {
            let v = match it {
                StatusAttr::Messages => st.messages.to_string(),
                StatusAttr::UidNext => st.mailbox.uidnext.to_string(),
                StatusAttr::UidValidity => st.mailbox.uidvalidity.0.to_string(),
                StatusAttr::Unseen => st.unseen.to_string(),
                StatusAttr::Deleted => st.deleted.to_string(),
                StatusAttr::Size => st.size.to_string(),
                // RFC 9208 §5.1: in units of 1024 octets, rounded up.
                StatusAttr::DeletedStorage => st.deleted_size.div_ceil(1024).to_string(),
                StatusAttr::HighestModSeq => st.mailbox.highest_modseq.0.to_string(),
                StatusAttr::Recent => recent.to_string(),
                StatusAttr::AppendLimit => self.ctx.cfg.max_literal.to_string(),
                // RFC 8474 §4.3: `MAILBOXID (id)`.
                StatusAttr::MailboxId => format!(
                    "({})",
                    postern_store::mailbox_object_id(st.mailbox.uidvalidity)
                ),
            };
            parts.push(format!("{} {v}", it.name()));
        }
        out.extend_from_slice(b"* STATUS ");
        wire::response::encode_mailbox_name(out, &m.name, self.enabled.utf8_names());
        out.extend_from_slice(format!(" ({})\r\n", parts.join(" ")).as_bytes());
        true
    }

    pub(super) async fn status(
        &mut self,
        tag: Tag,
        name: MailboxName,
        items: Vec<StatusAttr>,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Some(uid) = self.user_id() else {
            return Flow::Close;
        };
        match self.ctx.store.mailbox_get(uid, name.as_str()).await {
            Ok(Some(m)) => {
                if !self.status_line(&m, &items, out).await {
                    return self.no(tag, Some(Code::ServerBug), "STATUS failed", out);
                }
                self.ok(tag, "STATUS completed", out).await
            }
            Ok(None) => self.no(tag, Some(Code::NonExistent), "No such mailbox", out),
            Err(e) => self.store_error(tag, e, out),
        }
    }

    pub(super) async fn create(
        &mut self,
        tag: Tag,
        name: MailboxName,
        special_use: Vec<wire::SpecialUse>,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Some(uid) = self.user_id() else {
            return Flow::Close;
        };
        // RFC 9051 §6.3.4: a trailing delimiter only says the name will have children.
        let plain = name.as_str().trim_end_matches('/');
        if plain.eq_ignore_ascii_case("INBOX") {
            return self.no(tag, Some(Code::AlreadyExists), "INBOX always exists", out);
        }
        if special_use.len() > 1 {
            return self.no(tag, Some(Code::UseAttr), "One special use per mailbox", out);
        }
        let special = match special_use.first() {
            None => None,
            Some(u) => match to_store_special(u) {
                Some(s) => Some(s),
                None => return self.no(tag, Some(Code::UseAttr), "Unsupported special use", out),
            },
        };
        match self.ctx.store.mailbox_create(uid, plain, special).await {
            // RFC 8474 §4.1: CREATE's OK names the new MAILBOXID.
            Ok(m) => {
                self.sync(out, true).await;
                wire::StatusResponse::new(Some(tag), wire::Status::Ok, "CREATE completed")
                    .with_code(Code::MailboxId(postern_store::mailbox_object_id(
                        m.uidvalidity,
                    )))
                    .encode(out);
                Flow::Continue
            }
            Err(e) => self.store_error(tag, e, out),
        }
    }

    pub(super) async fn delete(&mut self, tag: Tag, name: MailboxName, out: &mut Vec<u8>) -> Flow {
        let Some(uid) = self.user_id() else {
            return Flow::Close;
        };
        if name.is_inbox() {
            return self.no(tag, Some(Code::Cannot), "INBOX cannot be deleted", out);
        }
        let r = self.ctx.store.mailbox_delete(uid, name.as_str()).await;
        self.done(tag, r, "DELETE completed", out).await
    }

    pub(super) async fn rename(
        &mut self,
        tag: Tag,
        from: MailboxName,
        to: MailboxName,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Some(uid) = self.user_id() else {
            return Flow::Close;
        };
        let r = self
            .ctx
            .store
            .mailbox_rename(uid, from.as_str(), to.as_str())
            .await;
        self.done(tag, r, "RENAME completed", out).await
    }

    pub(super) async fn subscribe(
        &mut self,
        tag: Tag,
        name: MailboxName,
        on: bool,
        out: &mut Vec<u8>,
    ) -> Flow {
        let Some(uid) = self.user_id() else {
            return Flow::Close;
        };
        let r = self
            .ctx
            .store
            .mailbox_subscribe(uid, name.as_str(), on)
            .await;
        let text = if on {
            "SUBSCRIBE completed"
        } else {
            "UNSUBSCRIBE completed"
        };
        self.done(tag, r, text, out).await
    }
}

#[cfg(test)]
mod tests {
    use super::list_match;

    #[test]
    fn list_wildcards_follow_rfc_3501() {
        for (reference, pattern, name, want) in [
            ("", "*", "INBOX", true),
            ("", "*", "a/b/c", true),
            ("", "%", "a", true),
            ("", "%", "a/b", false),
            ("", "a/%", "a/b", true),
            ("", "a/%", "a/b/c", false),
            ("a/", "%", "a/b", true),
            ("", "inbox", "INBOX", true),
            ("", "Inbox/%", "INBOX/x", true),
            ("", "S*t", "Sent", true),
            ("", "S*t", "Sens", false),
            ("", "", "INBOX", false),
            ("", "a%c", "abc", true),
            ("", "a%c", "ab/c", false),
            ("", "a*c", "ab/c", true),
            ("", "%/%", "a/b", true),
            ("", "%%/*%", "a/b/c", true),
            ("", "*b*", "abc", true),
            ("", "*%", "", true),
            ("", "a", "", false),
        ] {
            assert_eq!(
                list_match(reference, pattern, name),
                want,
                "{reference:?} {pattern:?} {name:?}"
            );
        }
    }

    /// Found by AFL (imap_session): a pattern of many wildcards that cannot
    /// match took time exponential in their number. Sixty of them against
    /// a 200-character name now answer at once (the old matcher would not
    /// have finished).
    #[test]
    fn many_wildcards_that_cannot_match_answer_at_once() {
        let name = "a".repeat(200);
        let pattern = format!("{}x", "*%".repeat(30));
        assert!(!list_match("", &pattern, &name));
        assert!(list_match("", &format!("{}a", "*%".repeat(30)), &name));
    }

    /// Found by AFL (imap_session): `LIST "" *étéd!hive` panicked, the
    /// check for a leading `INBOX` slicing the pattern's first five bytes,
    /// which end inside the `é`.
    #[test]
    fn a_pattern_whose_fifth_byte_is_inside_a_character_is_matched() {
        assert!(list_match("", "*étéd!hive", "Aétéd!hive"));
        assert!(!list_match("", "*étéd!hive", "INBOX"));
        assert!(list_match("Inbé", "%", "Inbéx"));
        assert!(list_match("", "inbox", "INBOX"));
    }
}
