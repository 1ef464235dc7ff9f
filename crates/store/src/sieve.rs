//! Sieve (RFC 5228) rows: each user's scripts by name, at most one active
//! (ManageSieve, RFC 5804, and `postern user vacation` write them; delivery
//! reads the active one), and what scripts remember between messages:
//! vacation replies sent (RFC 5230 §4.2) and ids `duplicate` has seen
//! (RFC 7352), each kept until its expiry. Names and sizes are checked by
//! the caller (the protocol's rules and `[sieve]` limits); the store keeps
//! the "one active" and "names unique" invariants itself.

use rusqlite::OptionalExtension;

use crate::error::Result;
use crate::types::UserId;
use crate::writer::WriteCtx;
use crate::{Store, now_secs};

/// One of a user's scripts as LISTSCRIPTS shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SieveScript {
    pub name: String,
    pub active: bool,
    /// The script's length in bytes.
    pub size: u64,
}

/// How a change to a user's scripts went. Refusals are values: they are
/// answers to the client (RFC 5804 §1.3 response codes), not failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SieveChange {
    Done,
    /// No script of that name.
    NotFound,
    /// The script is the active one (DELETESCRIPT refuses it, RFC 5804 §2.10).
    Active,
    /// The new name is taken (RENAMESCRIPT, RFC 5804 §2.11.1).
    Exists,
}

/// Which memory of the scripts a key belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SieveMemory {
    /// A vacation reply was sent (key: sender and handle).
    Vacation,
    /// `duplicate` saw this id.
    Duplicate,
}

impl SieveMemory {
    fn table(self) -> &'static str {
        match self {
            SieveMemory::Vacation => "sieve_vacation",
            SieveMemory::Duplicate => "sieve_duplicate",
        }
    }
}

/// A key to remember, written in the same commit as the delivery that
/// decided it (so a reply is recorded exactly when it is queued).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SieveMark {
    pub user: UserId,
    pub memory: SieveMemory,
    pub key: String,
    /// Seconds since the epoch after which the key is forgotten.
    pub expires_at: i64,
}

impl Store {
    /// `user`'s scripts, by name.
    pub async fn sieve_list(&self, user: UserId) -> Result<Vec<SieveScript>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT name, active, length(CAST(content AS BLOB)) FROM sieve_scripts
                 WHERE user_id = ?1 ORDER BY name",
            )?;
            let rows = st.query_map([user.0], |r| {
                Ok(SieveScript {
                    name: r.get(0)?,
                    active: r.get(1)?,
                    size: r.get::<_, i64>(2)? as u64,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    /// The text of `user`'s script `name`.
    pub async fn sieve_get(&self, user: UserId, name: &str) -> Result<Option<String>> {
        let name = name.to_string();
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT content FROM sieve_scripts WHERE user_id = ?1 AND name = ?2",
            )?
            .query_row((user.0, &name), |r| r.get(0))
            .optional()?)
        })
        .await
    }

    /// Creates or replaces `name`; a replaced script keeps its active state.
    pub async fn sieve_put(&self, user: UserId, name: &str, content: String) -> Result<()> {
        let name = name.to_string();
        self.inner
            .writer
            .write(move |ctx| {
                ctx.conn
                    .prepare_cached(
                        "INSERT INTO sieve_scripts (user_id, name, content, updated_at)
                         VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT DO UPDATE SET content = excluded.content,
                             updated_at = excluded.updated_at",
                    )?
                    .execute((user.0, &name, &content, now_secs()))?;
                Ok(())
            })
            .await
    }

    /// Removes `name` unless it is the active script.
    pub async fn sieve_delete(&self, user: UserId, name: &str) -> Result<SieveChange> {
        let name = name.to_string();
        self.inner
            .writer
            .write(move |ctx| {
                match active_of(ctx, user, &name)? {
                    None => return Ok(SieveChange::NotFound),
                    Some(true) => return Ok(SieveChange::Active),
                    Some(false) => {}
                }
                ctx.conn
                    .prepare_cached("DELETE FROM sieve_scripts WHERE user_id = ?1 AND name = ?2")?
                    .execute((user.0, &name))?;
                Ok(SieveChange::Done)
            })
            .await
    }

    /// Renames `old` to `new` (an active script stays active).
    pub async fn sieve_rename(&self, user: UserId, old: &str, new: &str) -> Result<SieveChange> {
        let (old, new) = (old.to_string(), new.to_string());
        self.inner
            .writer
            .write(move |ctx| {
                if active_of(ctx, user, &old)?.is_none() {
                    return Ok(SieveChange::NotFound);
                }
                if old == new {
                    return Ok(SieveChange::Done);
                }
                if active_of(ctx, user, &new)?.is_some() {
                    return Ok(SieveChange::Exists);
                }
                ctx.conn
                    .prepare_cached(
                        "UPDATE sieve_scripts SET name = ?3 WHERE user_id = ?1 AND name = ?2",
                    )?
                    .execute((user.0, &old, &new))?;
                Ok(SieveChange::Done)
            })
            .await
    }

    /// Makes `name` the active script (the one before it stops being
    /// active); `None` deactivates all (RFC 5804 §2.8: SETACTIVE "").
    pub async fn sieve_activate(&self, user: UserId, name: Option<&str>) -> Result<SieveChange> {
        let name = name.map(str::to_string);
        self.inner
            .writer
            .write(move |ctx| {
                if let Some(n) = &name
                    && active_of(ctx, user, n)?.is_none()
                {
                    return Ok(SieveChange::NotFound);
                }
                ctx.conn
                    .prepare_cached(
                        "UPDATE sieve_scripts SET active = 0 WHERE user_id = ?1 AND active = 1",
                    )?
                    .execute([user.0])?;
                if let Some(n) = &name {
                    ctx.conn
                        .prepare_cached(
                            "UPDATE sieve_scripts SET active = 1 WHERE user_id = ?1 AND name = ?2",
                        )?
                        .execute((user.0, n))?;
                }
                Ok(SieveChange::Done)
            })
            .await
    }

    /// `user`'s active script: (name, content).
    pub async fn sieve_active(&self, user: UserId) -> Result<Option<(String, String)>> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT name, content FROM sieve_scripts WHERE user_id = ?1 AND active = 1",
            )?
            .query_row([user.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
        })
        .await
    }

    /// Whether `key` is remembered (and not expired) for `user`.
    pub async fn sieve_seen(&self, user: UserId, memory: SieveMemory, key: &str) -> Result<bool> {
        let key = key.to_string();
        self.read(move |c| {
            let sql = format!(
                "SELECT 1 FROM {} WHERE user_id = ?1 AND key = ?2 AND expires_at > ?3",
                memory.table()
            );
            Ok(c.prepare_cached(&sql)?
                .query_row((user.0, &key, now_secs()), |_| Ok(()))
                .optional()?
                .is_some())
        })
        .await
    }
}

/// `Some(active)` if `user` has a script `name`.
fn active_of(ctx: &WriteCtx<'_>, user: UserId, name: &str) -> Result<Option<bool>> {
    Ok(ctx
        .conn
        .prepare_cached("SELECT active FROM sieve_scripts WHERE user_id = ?1 AND name = ?2")?
        .query_row((user.0, name), |r| r.get(0))
        .optional()?)
}

/// Writes `marks` (a key seen again gets the later expiry) and forgets the
/// marked users' expired keys, so the tables stay as small as the periods.
pub(crate) fn record_marks(ctx: &mut WriteCtx<'_>, marks: &[SieveMark]) -> Result<()> {
    let now = now_secs();
    for m in marks {
        let table = m.memory.table();
        ctx.conn
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE user_id = ?1 AND expires_at <= ?2"
            ))?
            .execute((m.user.0, now))?;
        ctx.conn
            .prepare_cached(&format!(
                "INSERT INTO {table} (user_id, key, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)"
            ))?
            .execute((m.user.0, &m.key, m.expires_at))?;
    }
    Ok(())
}

/// A deleted user's scripts and memories go with them.
pub(crate) fn delete_user_rows(ctx: &mut WriteCtx<'_>, user: UserId) -> Result<()> {
    for table in ["sieve_scripts", "sieve_vacation", "sieve_duplicate"] {
        ctx.conn
            .execute(&format!("DELETE FROM {table} WHERE user_id = ?1"), [user.0])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::add_user;
    use crate::{OpenMode, StoreOptions};

    async fn store() -> (tempfile::TempDir, Store, UserId) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(
            dir.path(),
            StoreOptions {
                mode: OpenMode::Server,
                ..StoreOptions::default()
            },
        )
        .expect("open");
        store.domain_add("example.org").await.expect("domain");
        let u = add_user(&store, "ann@example.org").await;
        (dir, store, u)
    }

    #[tokio::test]
    async fn scripts_keep_one_active_and_refuse_deleting_it() {
        let (_d, s, u) = store().await;
        s.sieve_put(u, "a", "keep;".into()).await.expect("put a");
        s.sieve_put(u, "b", "discard;".into()).await.expect("put b");
        assert_eq!(
            s.sieve_activate(u, Some("a")).await.expect("on"),
            SieveChange::Done
        );
        assert_eq!(
            s.sieve_activate(u, Some("b")).await.expect("on"),
            SieveChange::Done
        );
        let list = s.sieve_list(u).await.expect("list");
        assert_eq!(
            list.iter()
                .map(|x| (x.name.as_str(), x.active, x.size))
                .collect::<Vec<_>>(),
            vec![("a", false, 5), ("b", true, 8)]
        );
        assert_eq!(
            s.sieve_delete(u, "b").await.expect("del"),
            SieveChange::Active
        );
        assert_eq!(
            s.sieve_delete(u, "zz").await.expect("del"),
            SieveChange::NotFound
        );
        // Replacing the active script keeps it active.
        s.sieve_put(u, "b", "stop;".into()).await.expect("replace");
        assert_eq!(
            s.sieve_active(u).await.expect("active"),
            Some(("b".into(), "stop;".into()))
        );
        assert_eq!(
            s.sieve_activate(u, None).await.expect("off"),
            SieveChange::Done
        );
        assert_eq!(s.sieve_active(u).await.expect("active"), None);
        assert_eq!(
            s.sieve_delete(u, "b").await.expect("del"),
            SieveChange::Done
        );
        assert_eq!(s.sieve_get(u, "b").await.expect("get"), None);
        assert_eq!(
            s.sieve_get(u, "a").await.expect("get"),
            Some("keep;".into())
        );
    }

    #[tokio::test]
    async fn quota_and_sieve_says_whether_a_script_is_active() {
        let (_d, s, u) = store().await;
        let (q, scripted) = s.quota_and_sieve(u).await.expect("read");
        assert_eq!(q, s.quota(u).await.expect("quota"));
        assert!(!scripted, "no script yet");
        s.sieve_put(u, "a", "keep;".into()).await.expect("put");
        assert!(
            !s.quota_and_sieve(u).await.expect("read").1,
            "stored but not active"
        );
        s.sieve_activate(u, Some("a")).await.expect("on");
        assert!(s.quota_and_sieve(u).await.expect("read").1, "active");
        s.sieve_activate(u, None).await.expect("off");
        assert!(!s.quota_and_sieve(u).await.expect("read").1, "off again");
    }

    #[tokio::test]
    async fn rename_refuses_a_taken_name_and_keeps_active() {
        let (_d, s, u) = store().await;
        s.sieve_put(u, "a", "keep;".into()).await.expect("put");
        s.sieve_put(u, "b", "keep;".into()).await.expect("put");
        s.sieve_activate(u, Some("a")).await.expect("on");
        assert_eq!(
            s.sieve_rename(u, "a", "b").await.expect("mv"),
            SieveChange::Exists
        );
        assert_eq!(
            s.sieve_rename(u, "x", "y").await.expect("mv"),
            SieveChange::NotFound
        );
        assert_eq!(
            s.sieve_rename(u, "a", "c").await.expect("mv"),
            SieveChange::Done
        );
        assert_eq!(
            s.sieve_active(u).await.expect("active").map(|a| a.0),
            Some("c".into())
        );
        assert_eq!(
            s.sieve_activate(u, Some("a")).await.expect("on"),
            SieveChange::NotFound
        );
    }

    #[tokio::test]
    async fn marks_are_seen_until_they_expire() {
        let (_d, s, u) = store().await;
        let mark = |key: &str, expires_at| SieveMark {
            user: u,
            memory: SieveMemory::Vacation,
            key: key.into(),
            expires_at,
        };
        let marks = vec![mark("old", now_secs() - 1), mark("new", now_secs() + 3600)];
        s.inner
            .writer
            .write(move |ctx| record_marks(ctx, &marks))
            .await
            .expect("record");
        assert!(
            s.sieve_seen(u, SieveMemory::Vacation, "new")
                .await
                .expect("seen")
        );
        assert!(
            !s.sieve_seen(u, SieveMemory::Vacation, "old")
                .await
                .expect("seen")
        );
        assert!(
            !s.sieve_seen(u, SieveMemory::Duplicate, "new")
                .await
                .expect("seen")
        );
    }
}
