//! Mailbox commands: LIST (RFC 9051 §6.3.9 with the LIST-EXTENDED
//! selection and return options Postern implements: SUBSCRIBED, CHILDREN,
//! SPECIAL-USE), LSUB, STATUS, CREATE, DELETE, RENAME, SUBSCRIBE.
//! A user only ever sees their own mailboxes: every name is looked up
//! under their own user id, so no name reaches another account.

use postern_store::{Mailbox, SpecialUse};

use super::{Flow, Session};
use crate::wire::{self, Code, ListCommand, MailboxName, StatusAttr, Tag};

/// RFC 3501 §6.3.8 wildcards: `*` matches anything, `%` anything but the
/// hierarchy delimiter.
fn wildcard_match(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|i| wildcard_match(rest, &name[i..])),
        Some(('%', rest)) => {
            let stop = name.iter().position(|&c| c == '/').unwrap_or(name.len());
            (0..=stop).any(|i| wildcard_match(rest, &name[i..]))
        }
        Some((p, rest)) => name
            .split_first()
            .is_some_and(|(n, nrest)| n == p && wildcard_match(rest, nrest)),
    }
}

/// Does `name` match `reference` + `pattern`? INBOX matches case-insensitively.
pub(super) fn list_match(reference: &str, pattern: &str, name: &str) -> bool {
    let full = format!("{reference}{pattern}");
    let mut p: Vec<char> = full.chars().collect();
    if full.len() >= 5 && full[..5].eq_ignore_ascii_case("INBOX") {
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

impl Session {
    fn list_line(
        &self,
        m: &Mailbox,
        all: &[Mailbox],
        subscribed_attr: bool,
        verb: &str,
        out: &mut Vec<u8>,
    ) {
        let prefix = format!("{}/", m.name);
        let children = all.iter().any(|o| o.name.starts_with(&prefix));
        let mut attrs: Vec<&str> = vec![if children {
            "\\HasChildren"
        } else {
            "\\HasNoChildren"
        }];
        if subscribed_attr && m.subscribed {
            attrs.push("\\Subscribed");
        }
        if let Some(u) = m.special_use {
            attrs.push(special(u));
        }
        out.extend_from_slice(format!("* {verb} ({}) \"/\" ", attrs.join(" ")).as_bytes());
        wire::response::encode_mailbox_name(out, &m.name, self.enabled.utf8_accept);
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
        for m in &all {
            if !l
                .patterns
                .iter()
                .any(|p| list_match(&l.reference, p, &m.name))
            {
                continue;
            }
            if l.select.subscribed && !m.subscribed {
                continue;
            }
            if l.select.special_use && m.special_use.is_none() {
                continue;
            }
            self.list_line(
                m,
                &all,
                l.select.subscribed || l.ret.subscribed,
                "LIST",
                out,
            );
            if let Some(items) = &l.ret.status {
                self.status_line(m, items, out).await;
            }
        }
        self.ok(tag, "LIST completed", out).await
    }

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
        for m in all
            .iter()
            .filter(|m| m.subscribed && list_match(reference, pattern, &m.name))
        {
            self.list_line(m, &all, false, "LSUB", out);
        }
        self.ok(tag, "LSUB completed", out).await
    }

    async fn status_line(&self, m: &Mailbox, items: &[StatusAttr], out: &mut Vec<u8>) -> bool {
        let Ok(st) = self.ctx.store.mailbox_status(m.id).await else {
            return false;
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
                StatusAttr::HighestModSeq => st.mailbox.highest_modseq.0.to_string(),
                StatusAttr::Recent => "0".to_string(),
                StatusAttr::AppendLimit => self.ctx.cfg.max_literal.to_string(),
            };
            parts.push(format!("{} {v}", it.name()));
        }
        out.extend_from_slice(b"* STATUS ");
        wire::response::encode_mailbox_name(out, &m.name, self.enabled.utf8_accept);
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
        let r = self.ctx.store.mailbox_create(uid, plain, special).await;
        self.done(tag, r, "CREATE completed", out).await
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
        ] {
            assert_eq!(
                list_match(reference, pattern, name),
                want,
                "{reference:?} {pattern:?} {name:?}"
            );
        }
    }
}
