//! Mailboxes: names, hierarchy, UIDVALIDITY, subscriptions, special use.
//!
//! Names are UTF-8 with `/` as the hierarchy delimiter; `INBOX` is matched
//! case-insensitively (RFC 9051 §5.1) and stored as `INBOX`. Subscriptions
//! are names of their own (the `subscriptions` table): deleting a mailbox
//! leaves its name subscribed (RFC 3501 §6.3.9), renaming one takes its
//! subscriptions along.

use rusqlite::{Connection, OptionalExtension, Row};

use crate::error::{Result, StoreError};
use crate::feed::{ChangeKind, ListChange, MailboxChange};
use crate::types::{DELIMITER, MailboxId, ModSeq, SpecialUse, SystemFlags, UidValidity, UserId};
use crate::writer::WriteCtx;
use crate::{BlobId, Store};

/// A mailbox as the protocols see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub id: MailboxId,
    pub user: UserId,
    pub name: String,
    pub uidvalidity: UidValidity,
    /// The UID the next message will get.
    pub uidnext: u32,
    pub highest_modseq: ModSeq,
    /// Whether the mailbox's name is in the owner's subscriptions.
    pub subscribed: bool,
    pub special_use: Option<SpecialUse>,
}

/// Counts for STATUS and SELECT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxStatus {
    pub mailbox: Mailbox,
    pub messages: u32,
    pub unseen: u32,
    pub deleted: u32,
    /// Sum of message sizes in octets (STATUS SIZE, RFC 8438).
    pub size: u64,
    /// Sum of the sizes of `\Deleted` messages (STATUS DELETED-STORAGE).
    pub deleted_size: u64,
}

/// The longest mailbox name accepted, in bytes, and the longest component.
const MAX_NAME: usize = 1024;
const MAX_COMPONENT: usize = 255;

/// Checks a mailbox name and returns its stored form (`INBOX` canonical).
pub fn normalize_mailbox_name(name: &str) -> Result<String> {
    let bad = |why: &str| StoreError::Invalid(format!("mailbox name {name:?}: {why}"));
    if name.is_empty() {
        return Err(bad("empty"));
    }
    if name.len() > MAX_NAME {
        return Err(bad("too long"));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(bad("control characters are not allowed"));
    }
    let mut parts: Vec<&str> = name.split(DELIMITER).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad(
            "empty hierarchy level (leading, trailing or doubled '/')",
        ));
    }
    if parts.iter().any(|p| p.len() > MAX_COMPONENT) {
        return Err(bad("a hierarchy level is too long"));
    }
    if parts[0].eq_ignore_ascii_case("INBOX") {
        parts[0] = "INBOX";
    }
    Ok(parts.join("/"))
}

/// Checks the name of a mailbox about to be made (CREATE, the target of
/// RENAME, import): `normalize_mailbox_name`, and no `.` or `..` level.
/// Such levels mean nothing to IMAP but walk out of a directory once a
/// name becomes a path (a Maildir folder on export). Existing mailboxes
/// with such names stay reachable, to be renamed or deleted.
pub(crate) fn new_mailbox_name(name: &str) -> Result<String> {
    let name = normalize_mailbox_name(name)?;
    if name.split(DELIMITER).any(|l| l == "." || l == "..") {
        return Err(StoreError::Invalid(format!(
            "mailbox name {name:?}: \".\" and \"..\" cannot be hierarchy levels"
        )));
    }
    Ok(name)
}

const MAILBOX_COLS: &str = "id, user_id, name, uidvalidity, uidnext, highestmodseq,
    EXISTS (SELECT 1 FROM subscriptions s
            WHERE s.user_id = mailboxes.user_id AND s.name = mailboxes.name),
    special_use";

fn mailbox_row(r: &Row<'_>) -> rusqlite::Result<Mailbox> {
    let special: Option<String> = r.get(7)?;
    Ok(Mailbox {
        id: MailboxId(r.get(0)?),
        user: UserId(r.get(1)?),
        name: r.get(2)?,
        uidvalidity: UidValidity(r.get(3)?),
        uidnext: r.get(4)?,
        highest_modseq: ModSeq(r.get::<_, i64>(5)?.max(0) as u64),
        subscribed: r.get(6)?,
        special_use: special.as_deref().and_then(SpecialUse::parse),
    })
}

pub(crate) fn mailbox_by_id(conn: &Connection, id: MailboxId) -> Result<Option<Mailbox>> {
    let sql = format!("SELECT {MAILBOX_COLS} FROM mailboxes WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id.0], mailbox_row)
        .optional()?)
}

pub(crate) fn mailbox_by_name(
    conn: &Connection,
    user: UserId,
    name: &str,
) -> Result<Option<Mailbox>> {
    let sql = format!("SELECT {MAILBOX_COLS} FROM mailboxes WHERE user_id = ?1 AND name = ?2");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row((user.0, name), mailbox_row)
        .optional()?)
}

/// The user's first mailbox (by id) marked with `special` use.
pub(crate) fn mailbox_by_special_use(
    conn: &Connection,
    user: UserId,
    special: SpecialUse,
) -> Result<Option<Mailbox>> {
    let sql = format!(
        "SELECT {MAILBOX_COLS} FROM mailboxes WHERE user_id = ?1 AND special_use = ?2 ORDER BY id LIMIT 1"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row((user.0, special.as_str()), mailbox_row)
        .optional()?)
}

/// The next UIDVALIDITY: the clock, or one more than the last one given out.
fn next_uidvalidity(conn: &Connection) -> Result<u32> {
    let last: i64 = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'uidvalidity'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    let now = crate::now_secs().clamp(1, i64::from(u32::MAX));
    let next = now.max(last + 1);
    let next = u32::try_from(next)
        .map_err(|_| StoreError::Invalid("UIDVALIDITY space exhausted".into()))?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('uidvalidity', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [i64::from(next)],
    )?;
    Ok(next)
}

/// Creates `name` and the superior names it needs (RFC 9051 §6.3.4); only
/// `name` itself gets `special` and, with `subscribed`, a subscription.
pub(crate) fn create_with_parents(
    ctx: &mut WriteCtx<'_>,
    user: UserId,
    name: &str,
    special: Option<SpecialUse>,
    subscribed: bool,
) -> Result<Mailbox> {
    let name = new_mailbox_name(name)?;
    let mut parent = String::new();
    let levels: Vec<&str> = name.split(DELIMITER).collect();
    for level in &levels[..levels.len() - 1] {
        if !parent.is_empty() {
            parent.push(DELIMITER);
        }
        parent.push_str(level);
        if mailbox_by_name(ctx.conn, user, &parent)?.is_none() {
            create_mailbox_row(ctx, user, &parent, None, false)?;
        }
    }
    create_mailbox_row(ctx, user, &name, special, subscribed)
}

pub(crate) fn create_mailbox_row(
    ctx: &mut WriteCtx<'_>,
    user: UserId,
    name: &str,
    special: Option<SpecialUse>,
    subscribed: bool,
) -> Result<Mailbox> {
    let name = new_mailbox_name(name)?;
    if mailbox_by_name(ctx.conn, user, &name)?.is_some() {
        return Err(StoreError::Exists(format!("mailbox {name}")));
    }
    let uidvalidity = next_uidvalidity(ctx.conn)?;
    ctx.conn.execute(
        "INSERT INTO mailboxes (user_id, name, uidvalidity, special_use)
         VALUES (?1, ?2, ?3, ?4)",
        (user.0, &name, uidvalidity, special.map(SpecialUse::as_str)),
    )?;
    let id = MailboxId(ctx.conn.last_insert_rowid());
    ctx.publish_list(user, ListChange::Created { name: name.clone() });
    if subscribed
        && ctx.conn.execute(
            "INSERT OR IGNORE INTO subscriptions (user_id, name) VALUES (?1, ?2)",
            (user.0, &name),
        )? > 0
    {
        ctx.publish_list(
            user,
            ListChange::Subscription {
                name: name.clone(),
                on: true,
            },
        );
    }
    mailbox_by_id(ctx.conn, id)?.ok_or_else(|| StoreError::NotFound(format!("mailbox {name}")))
}

/// Deletes a mailbox with its messages (dropping blob references and quota
/// usage) and its expunge history, and tells watchers it is gone. Its name
/// stays subscribed if it was (RFC 3501 §6.3.9).
pub(crate) fn delete_mailbox_rows(ctx: &mut WriteCtx<'_>, id: MailboxId) -> Result<()> {
    let Some(mb) = mailbox_by_id(ctx.conn, id)? else {
        return Ok(());
    };
    let rows: Vec<(String, i64)> = {
        let mut st = ctx
            .conn
            .prepare("SELECT blob, size FROM messages WHERE mailbox_id = ?1")?;
        st.query_map([id.0], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let total: i64 = rows.iter().map(|(_, s)| *s).sum();
    for (blob, _) in &rows {
        if let Some(b) = BlobId::parse(blob) {
            ctx.drop_blob_ref(&b)?;
        }
    }
    ctx.conn.execute(
        "UPDATE users SET used_bytes = MAX(used_bytes - ?2, 0), used_messages = MAX(used_messages - ?3, 0)
         WHERE id = ?1",
        (mb.user.0, total, rows.len() as i64),
    )?;
    ctx.conn
        .execute("DELETE FROM messages WHERE mailbox_id = ?1", [id.0])?;
    ctx.conn.execute(
        "DELETE FROM message_structure WHERE mailbox_id = ?1",
        [id.0],
    )?;
    ctx.conn
        .execute("DELETE FROM expunged WHERE mailbox_id = ?1", [id.0])?;
    ctx.conn
        .execute("DELETE FROM metadata WHERE mailbox_id = ?1", [id.0])?;
    ctx.conn
        .execute("DELETE FROM pop3_retrieved WHERE mailbox_id = ?1", [id.0])?;
    ctx.conn
        .execute("DELETE FROM pop3_uidls WHERE mailbox_id = ?1", [id.0])?;
    ctx.conn
        .execute("DELETE FROM mailboxes WHERE id = ?1", [id.0])?;
    ctx.publish(MailboxChange {
        mailbox: id,
        modseq: mb.highest_modseq,
        kind: ChangeKind::Gone,
    });
    ctx.publish_list(mb.user, ListChange::Deleted { name: mb.name });
    Ok(())
}

impl Store {
    /// A user's mailboxes, by name.
    pub async fn mailbox_list(&self, user: UserId) -> Result<Vec<Mailbox>> {
        self.read(move |c| {
            let sql =
                format!("SELECT {MAILBOX_COLS} FROM mailboxes WHERE user_id = ?1 ORDER BY name");
            let mut st = c.prepare(&sql)?;
            let rows = st
                .query_map([user.0], mailbox_row)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// A user's mailbox by name (`inbox` finds `INBOX`).
    pub async fn mailbox_get(&self, user: UserId, name: &str) -> Result<Option<Mailbox>> {
        let name = match normalize_mailbox_name(name) {
            Ok(n) => n,
            Err(_) => return Ok(None),
        };
        self.read(move |c| mailbox_by_name(c, user, &name)).await
    }

    pub async fn mailbox_by_id(&self, id: MailboxId) -> Result<Option<Mailbox>> {
        self.read(move |c| mailbox_by_id(c, id)).await
    }

    /// Message counts and size of a mailbox.
    pub async fn mailbox_status(&self, id: MailboxId) -> Result<MailboxStatus> {
        self.read(move |c| {
            let mailbox =
                mailbox_by_id(c, id)?.ok_or_else(|| StoreError::NotFound("mailbox".into()))?;
            let (messages, unseen, deleted, size, deleted_size): (i64, i64, i64, i64, i64) = c
                .query_row(
                    "SELECT COUNT(*),
                        COALESCE(SUM((flags & ?2) = 0), 0),
                        COALESCE(SUM((flags & ?3) != 0), 0),
                        COALESCE(SUM(size), 0),
                        COALESCE(SUM(CASE WHEN (flags & ?3) != 0 THEN size ELSE 0 END), 0)
                 FROM messages WHERE mailbox_id = ?1",
                    (id.0, SystemFlags::SEEN.0, SystemFlags::DELETED.0),
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )?;
            let n = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
            Ok(MailboxStatus {
                mailbox,
                messages: n(messages),
                unseen: n(unseen),
                deleted: n(deleted),
                size: size.max(0) as u64,
                deleted_size: deleted_size.max(0) as u64,
            })
        })
        .await
    }

    /// Creates a mailbox and the superior names it needs. None of them is
    /// subscribed by this (an IMAP client subscribes what it wants, and
    /// clients expect CREATE not to), unless the name already was.
    pub async fn mailbox_create(
        &self,
        user: UserId,
        name: &str,
        special: Option<SpecialUse>,
    ) -> Result<Mailbox> {
        let name = name.to_string();
        self.inner
            .writer
            .write(move |ctx| create_with_parents(ctx, user, &name, special, false))
            .await
    }

    /// Deletes a mailbox and its messages. INBOX cannot be deleted; inferior
    /// mailboxes are left in place (RFC 9051 §6.3.5).
    pub async fn mailbox_delete(&self, user: UserId, name: &str) -> Result<()> {
        let name = normalize_mailbox_name(name)?;
        if name == "INBOX" {
            return Err(StoreError::Invalid("INBOX cannot be deleted".into()));
        }
        self.inner
            .writer
            .write(move |ctx| {
                let mb = mailbox_by_name(ctx.conn, user, &name)?
                    .ok_or_else(|| StoreError::NotFound(format!("mailbox {name}")))?;
                delete_mailbox_rows(ctx, mb.id)
            })
            .await
    }

    /// Renames a mailbox and its inferiors (RFC 9051 §6.3.6). Renaming INBOX
    /// moves its messages to the new name and leaves an empty INBOX behind
    /// (with a new UIDVALIDITY); INBOX's inferiors stay where they are.
    pub async fn mailbox_rename(&self, user: UserId, from: &str, to: &str) -> Result<Mailbox> {
        let from = normalize_mailbox_name(from)?;
        let to = new_mailbox_name(to)?;
        self.inner
            .writer
            .write(move |ctx| {
                let src = mailbox_by_name(ctx.conn, user, &from)?
                    .ok_or_else(|| StoreError::NotFound(format!("mailbox {from}")))?;
                if mailbox_by_name(ctx.conn, user, &to)?.is_some() {
                    return Err(StoreError::Exists(format!("mailbox {to}")));
                }
                if to.starts_with(&format!("{from}/")) {
                    return Err(StoreError::Invalid(format!("cannot rename {from} into itself")));
                }
                ctx.conn
                    .execute("UPDATE mailboxes SET name = ?2 WHERE id = ?1", (src.id.0, &to))?;
                rename_subscription(ctx, user, &from, &to)?;
                ctx.publish_list(
                    user,
                    ListChange::Renamed {
                        from: from.clone(),
                        to: to.clone(),
                    },
                );
                if from == "INBOX" {
                    create_mailbox_row(ctx, user, "INBOX", None, true)?;
                } else {
                    let children: Vec<(i64, String)> = {
                        let mut st = ctx.conn.prepare(
                            "SELECT id, name FROM mailboxes WHERE user_id = ?1 AND substr(name, 1, ?3) = ?2",
                        )?;
                        let prefix = format!("{from}/");
                        st.query_map((user.0, &prefix, prefix.len() as i64), |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })?
                        .collect::<rusqlite::Result<_>>()?
                    };
                    for (id, name) in children {
                        let new = format!("{to}{}", &name[from.len()..]);
                        if mailbox_by_name(ctx.conn, user, &new)?.is_some() {
                            return Err(StoreError::Exists(format!("mailbox {new}")));
                        }
                        ctx.conn
                            .execute("UPDATE mailboxes SET name = ?2 WHERE id = ?1", (id, &new))?;
                        rename_subscription(ctx, user, &name, &new)?;
                        ctx.publish_list(user, ListChange::Renamed { from: name, to: new });
                    }
                }
                ctx.publish(MailboxChange {
                    mailbox: src.id,
                    modseq: src.highest_modseq,
                    kind: ChangeKind::Gone,
                });
                mailbox_by_id(ctx.conn, src.id)?
                    .ok_or_else(|| StoreError::NotFound(format!("mailbox {to}")))
            })
            .await
    }

    /// SUBSCRIBE (the mailbox must exist) and UNSUBSCRIBE (any name,
    /// subscribed or not: RFC 9051 §6.3.8 makes that no error, and a
    /// deleted mailbox's name is still subscribed).
    pub async fn mailbox_subscribe(
        &self,
        user: UserId,
        name: &str,
        subscribed: bool,
    ) -> Result<()> {
        let name = normalize_mailbox_name(name)?;
        self.inner
            .writer
            .write(move |ctx| {
                let changed = if subscribed {
                    if mailbox_by_name(ctx.conn, user, &name)?.is_none() {
                        return Err(StoreError::NotFound(format!("mailbox {name}")));
                    }
                    ctx.conn.execute(
                        "INSERT OR IGNORE INTO subscriptions (user_id, name) VALUES (?1, ?2)",
                        (user.0, &name),
                    )?
                } else {
                    ctx.conn.execute(
                        "DELETE FROM subscriptions WHERE user_id = ?1 AND name = ?2",
                        (user.0, &name),
                    )?
                };
                if changed > 0 {
                    ctx.publish_list(
                        user,
                        ListChange::Subscription {
                            name,
                            on: subscribed,
                        },
                    );
                }
                Ok(())
            })
            .await
    }

    /// A user's subscribed names, by name, whether a mailbox has the name
    /// or not (LSUB, LIST (SUBSCRIBED)).
    pub async fn subscriptions(&self, user: UserId) -> Result<Vec<String>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT name FROM subscriptions WHERE user_id = ?1 ORDER BY name",
            )?;
            let rows = st
                .query_map([user.0], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }
}

/// A renamed mailbox keeps its subscription under the new name (replacing
/// a subscription the new name had).
fn rename_subscription(ctx: &mut WriteCtx<'_>, user: UserId, from: &str, to: &str) -> Result<()> {
    ctx.conn.execute(
        "UPDATE OR REPLACE subscriptions SET name = ?3 WHERE user_id = ?1 AND name = ?2",
        (user.0, from, to),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_inbox_is_canonical() {
        assert_eq!(normalize_mailbox_name("inbox").expect("ok"), "INBOX");
        assert_eq!(
            normalize_mailbox_name("InBox/Sub").expect("ok"),
            "INBOX/Sub"
        );
        assert_eq!(normalize_mailbox_name("Inboxes").expect("ok"), "Inboxes");
        assert_eq!(
            normalize_mailbox_name("Été/Привет").expect("ok"),
            "Été/Привет"
        );
        for bad in ["", "/a", "a/", "a//b", "a\u{0}b", "a\r\nb"] {
            assert!(normalize_mailbox_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(normalize_mailbox_name(&"x".repeat(300)).is_err());
    }

    #[test]
    fn new_names_have_no_dot_or_dot_dot_levels() {
        for bad in ["..", ".", "../../x", "INBOX/../x", "a/./b", "a/.."] {
            let e = new_mailbox_name(bad).expect_err(bad);
            assert!(matches!(e, StoreError::Invalid(_)), "{bad:?}: {e}");
            assert!(
                normalize_mailbox_name(bad).is_ok(),
                "{bad:?} still reachable"
            );
        }
        for good in ["...", ".hidden", "a..b", "x/..y", "Archive/2026.01"] {
            assert_eq!(new_mailbox_name(good).expect(good), good);
        }
    }
}
