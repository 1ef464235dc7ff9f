//! Domains, users and aliases: the rows behind the auth directory.
//!
//! The store does not judge addresses (the auth crate normalises and checks
//! them); it keeps the rows consistent: a user's domain exists, a domain with
//! users or aliases cannot be dropped, a new user gets the default mailboxes.
//! The `*_blocking` readers serve the auth crate's backend trait, which calls
//! them off the async threads.

use rusqlite::{Connection, OptionalExtension, Row};

use crate::error::{Result, StoreError};
use crate::mailboxes::{create_mailbox_row, delete_mailbox_rows};
use crate::types::{DEFAULT_MAILBOXES, UserId};
use crate::{Store, now_secs};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainRow {
    pub name: String,
    pub users: u64,
    pub aliases: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    pub id: UserId,
    pub address: String,
    pub display_name: String,
    pub password_hash: String,
    pub disabled: bool,
    pub quota_bytes: Option<u64>,
    pub quota_messages: Option<u64>,
    pub used_bytes: u64,
    pub used_messages: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AliasRow {
    pub source: String,
    pub target: String,
}

/// What `user_add` needs; the address must already be normalised.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub address: String,
    pub display_name: String,
    pub password_hash: String,
    pub quota_bytes: Option<u64>,
    pub quota_messages: Option<u64>,
}

const USER_COLS: &str = "id, address, display_name, password_hash, disabled, quota_bytes, \
                         quota_messages, used_bytes, used_messages";

fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: UserId(r.get(0)?),
        address: r.get(1)?,
        display_name: r.get(2)?,
        password_hash: r.get(3)?,
        disabled: r.get(4)?,
        quota_bytes: r.get::<_, Option<i64>>(5)?.map(|v| v.max(0) as u64),
        quota_messages: r.get::<_, Option<i64>>(6)?.map(|v| v.max(0) as u64),
        used_bytes: r.get::<_, i64>(7)?.max(0) as u64,
        used_messages: r.get::<_, i64>(8)?.max(0) as u64,
    })
}

fn domain_of(address: &str) -> Result<&str> {
    address
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| StoreError::Invalid(format!("{address:?} is not an address")))
}

fn domain_id(conn: &Connection, domain: &str) -> Result<i64> {
    conn.query_row("SELECT id FROM domains WHERE name = ?1", [domain], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("domain {domain}")))
}

fn user_id_of(conn: &Connection, address: &str) -> Result<UserId> {
    conn.query_row("SELECT id FROM users WHERE address = ?1", [address], |r| {
        r.get(0)
    })
    .optional()?
    .map(UserId)
    .ok_or_else(|| StoreError::NotFound(format!("user {address}")))
}

fn quota_sql(v: Option<u64>) -> Option<i64> {
    v.map(|v| i64::try_from(v).unwrap_or(i64::MAX))
}

impl Store {
    pub async fn domain_add(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        self.inner
            .writer
            .write(move |ctx| {
                let n = ctx.conn.execute(
                    "INSERT INTO domains (name, created_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    (&name, now_secs()),
                )?;
                if n == 0 {
                    return Err(StoreError::Exists(format!("domain {name}")));
                }
                Ok(())
            })
            .await
    }

    /// Removes a domain that has no users and no aliases left.
    pub async fn domain_delete(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        self.inner
            .writer
            .write(move |ctx| {
                let id = domain_id(ctx.conn, &name)?;
                let users: i64 =
                    ctx.conn
                        .query_row("SELECT COUNT(*) FROM users WHERE domain_id = ?1", [id], |r| r.get(0))?;
                let aliases: i64 = ctx.conn.query_row(
                    "SELECT COUNT(*) FROM aliases WHERE substr(source, -length(?1) - 1) = '@' || ?1",
                    [&name],
                    |r| r.get(0),
                )?;
                if users > 0 || aliases > 0 {
                    return Err(StoreError::Invalid(format!(
                        "domain {name} still has {users} users and {aliases} aliases; delete them first"
                    )));
                }
                ctx.conn.execute("DELETE FROM domains WHERE id = ?1", [id])?;
                Ok(())
            })
            .await
    }

    pub async fn domain_list(&self) -> Result<Vec<DomainRow>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT d.name,
                        (SELECT COUNT(*) FROM users u WHERE u.domain_id = d.id),
                        (SELECT COUNT(*) FROM aliases a WHERE substr(a.source, -length(d.name) - 1) = '@' || d.name)
                 FROM domains d ORDER BY d.name",
            )?;
            let rows = st
                .query_map([], |r| {
                    Ok(DomainRow {
                        name: r.get(0)?,
                        users: r.get::<_, i64>(1)?.max(0) as u64,
                        aliases: r.get::<_, i64>(2)?.max(0) as u64,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// Adds a user and their default mailboxes (INBOX, Sent, Drafts, Trash,
    /// Junk, Archive with their special use), in one commit.
    pub async fn user_add(&self, user: NewUser) -> Result<UserId> {
        self.inner
            .writer
            .write(move |ctx| {
                let did = domain_id(ctx.conn, domain_of(&user.address)?)?;
                let alias: bool = ctx
                    .conn
                    .query_row("SELECT 1 FROM aliases WHERE source = ?1", [&user.address], |_| Ok(true))
                    .optional()?
                    .unwrap_or(false);
                if alias {
                    return Err(StoreError::Exists(format!("alias {}", user.address)));
                }
                let n = ctx.conn.execute(
                    "INSERT INTO users (address, domain_id, display_name, password_hash, quota_bytes,
                                        quota_messages, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                    (
                        &user.address,
                        did,
                        &user.display_name,
                        &user.password_hash,
                        quota_sql(user.quota_bytes),
                        quota_sql(user.quota_messages),
                        now_secs(),
                    ),
                )?;
                if n == 0 {
                    return Err(StoreError::Exists(format!("user {}", user.address)));
                }
                let id = UserId(ctx.conn.last_insert_rowid());
                for (name, special) in DEFAULT_MAILBOXES {
                    create_mailbox_row(ctx, id, name, special, true)?;
                }
                Ok(id)
            })
            .await
    }

    /// Replaces a user's password hash.
    pub async fn user_set_password(&self, address: &str, password_hash: String) -> Result<()> {
        self.user_update(address, "password_hash = ?2", password_hash)
            .await
    }

    pub async fn user_set_disabled(&self, address: &str, disabled: bool) -> Result<()> {
        self.user_update(address, "disabled = ?2", disabled).await
    }

    pub async fn user_set_display_name(&self, address: &str, name: String) -> Result<()> {
        self.user_update(address, "display_name = ?2", name).await
    }

    /// Sets the quota; `None` means unlimited.
    pub async fn user_set_quota(
        &self,
        address: &str,
        bytes: Option<u64>,
        messages: Option<u64>,
    ) -> Result<()> {
        let address = address.to_string();
        self.inner
            .writer
            .write(move |ctx| {
                let n = ctx.conn.execute(
                    "UPDATE users SET quota_bytes = ?2, quota_messages = ?3 WHERE address = ?1",
                    (&address, quota_sql(bytes), quota_sql(messages)),
                )?;
                if n == 0 {
                    return Err(StoreError::NotFound(format!("user {address}")));
                }
                Ok(())
            })
            .await
    }

    async fn user_update<V: rusqlite::ToSql + Send + 'static>(
        &self,
        address: &str,
        set: &'static str,
        value: V,
    ) -> Result<()> {
        let address = address.to_string();
        self.inner
            .writer
            .write(move |ctx| {
                let sql = format!("UPDATE users SET {set} WHERE address = ?1");
                if ctx.conn.execute(&sql, (&address, value))? == 0 {
                    return Err(StoreError::NotFound(format!("user {address}")));
                }
                Ok(())
            })
            .await
    }

    /// Deletes a user, their mailboxes and messages, and alias entries that
    /// pointed at them.
    pub async fn user_delete(&self, address: &str) -> Result<()> {
        let address = address.to_string();
        self.inner
            .writer
            .write(move |ctx| {
                let id = user_id_of(ctx.conn, &address)?;
                let boxes: Vec<i64> = {
                    let mut st = ctx
                        .conn
                        .prepare("SELECT id FROM mailboxes WHERE user_id = ?1")?;
                    st.query_map([id.0], |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()?
                };
                for b in boxes {
                    delete_mailbox_rows(ctx, crate::MailboxId(b))?;
                }
                ctx.conn
                    .execute("DELETE FROM aliases WHERE target = ?1", [&address])?;
                ctx.conn
                    .execute("DELETE FROM subscriptions WHERE user_id = ?1", [id.0])?;
                crate::training::delete_user_rows(ctx, id)?;
                crate::sieve::delete_user_rows(ctx, id)?;
                crate::accounts::delete_user_rows(ctx, id)?;
                crate::web::delete_user_rows(ctx, id)?;
                crate::spam_prefs::delete_user_rows(ctx, id)?;
                ctx.conn
                    .execute("DELETE FROM users WHERE id = ?1", [id.0])?;
                Ok(())
            })
            .await
    }

    /// Users, optionally of one domain, by address.
    pub async fn user_list(&self, domain: Option<&str>) -> Result<Vec<UserRow>> {
        let domain = domain.map(String::from);
        self.read(move |c| {
            let sql = format!(
                "SELECT {USER_COLS} FROM users
                 WHERE ?1 IS NULL OR domain_id = (SELECT id FROM domains WHERE name = ?1)
                 ORDER BY address"
            );
            let mut st = c.prepare(&sql)?;
            let rows = st
                .query_map([domain], user_row)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    pub async fn user_get(&self, address: &str) -> Result<Option<UserRow>> {
        let this = self.clone();
        let address = address.to_string();
        self.read(move |_| this.user_by_address_blocking(&address))
            .await
    }

    pub fn user_by_address_blocking(&self, address: &str) -> Result<Option<UserRow>> {
        self.read_blocking(|c| {
            // Every RCPT and login reads this: a cached statement, not a
            // parse of the SQL each time.
            let sql = format!("SELECT {USER_COLS} FROM users WHERE address = ?1");
            Ok(c.prepare_cached(&sql)?
                .query_row([address], user_row)
                .optional()?)
        })
    }

    pub fn user_by_id_blocking(&self, id: UserId) -> Result<Option<UserRow>> {
        self.read_blocking(|c| {
            let sql = format!("SELECT {USER_COLS} FROM users WHERE id = ?1");
            Ok(c.prepare_cached(&sql)?
                .query_row([id.0], user_row)
                .optional()?)
        })
    }

    pub fn domain_exists_blocking(&self, domain: &str) -> Result<bool> {
        self.read_blocking(|c| {
            Ok(c.prepare_cached("SELECT 1 FROM domains WHERE name = ?1")?
                .exists([domain])?)
        })
    }

    pub fn alias_targets_blocking(&self, source: &str) -> Result<Vec<String>> {
        self.read_blocking(|c| {
            let mut st =
                c.prepare_cached("SELECT target FROM aliases WHERE source = ?1 ORDER BY target")?;
            let rows = st
                .query_map([source], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    pub fn alias_sources_for_blocking(&self, target: &str) -> Result<Vec<String>> {
        self.read_blocking(|c| {
            let mut st =
                c.prepare_cached("SELECT source FROM aliases WHERE target = ?1 ORDER BY source")?;
            let rows = st
                .query_map([target], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    /// Adds `source → target`. The source (`a@d` or catch-all `@d`) must be
    /// at a local domain and must not be a user's address.
    pub async fn alias_add(&self, source: &str, target: &str) -> Result<()> {
        let (source, target) = (source.to_string(), target.to_string());
        self.inner
            .writer
            .write(move |ctx| {
                domain_id(ctx.conn, domain_of(&source)?)?;
                if ctx
                    .conn
                    .prepare_cached("SELECT 1 FROM users WHERE address = ?1")?
                    .exists([&source])?
                {
                    return Err(StoreError::Exists(format!("user {source}")));
                }
                let n = ctx.conn.execute(
                    "INSERT INTO aliases (source, target) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    (&source, &target),
                )?;
                if n == 0 {
                    return Err(StoreError::Exists(format!("alias {source} -> {target}")));
                }
                Ok(())
            })
            .await
    }

    /// Removes one target of an alias, or the whole alias when `target` is None.
    pub async fn alias_delete(&self, source: &str, target: Option<&str>) -> Result<()> {
        let (source, target) = (source.to_string(), target.map(String::from));
        self.inner
            .writer
            .write(move |ctx| {
                let n = ctx.conn.execute(
                    "DELETE FROM aliases WHERE source = ?1 AND (?2 IS NULL OR target = ?2)",
                    (&source, &target),
                )?;
                if n == 0 {
                    return Err(StoreError::NotFound(match target {
                        Some(t) => format!("alias {source} -> {t}"),
                        None => format!("alias {source}"),
                    }));
                }
                Ok(())
            })
            .await
    }

    pub async fn alias_list(&self, domain: Option<&str>) -> Result<Vec<AliasRow>> {
        let domain = domain.map(String::from);
        self.read(move |c| {
            let mut st = c.prepare(
                "SELECT source, target FROM aliases
                 WHERE ?1 IS NULL OR substr(source, -length(?1) - 1) = '@' || ?1
                 ORDER BY source, target",
            )?;
            let rows = st
                .query_map([domain], |r| {
                    Ok(AliasRow {
                        source: r.get(0)?,
                        target: r.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }
}
