//! Account security rows (issue 18): app passwords, TOTP enrolments with
//! their recovery codes, and each user's recent logins ("devices").
//!
//! The store keeps rows and makes the single-use rules atomic; it does not
//! generate, hash or check secrets (the auth crate does, and passes hashes
//! in). The rules that must hold under concurrent logins are each one SQL
//! statement: a TOTP time step is taken only if it is newer than the last one
//! taken, a recovery code only if it was not used.

use rusqlite::{Connection, OptionalExtension, Row};

use crate::error::{Result, StoreError};
use crate::types::UserId;
use crate::writer::WriteCtx;
use crate::{Store, now_secs};

/// One app password as listed (the hash stays in the store).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppPasswordRow {
    pub id: i64,
    pub user_id: UserId,
    /// The user's label for it ("phone", "laptop Thunderbird").
    pub name: String,
    /// The protocols it opens, comma-separated (`imap,pop3,smtp`).
    pub scopes: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
}

/// A user's TOTP enrolment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpRow {
    /// The shared secret (RFC 6238 K). It must be kept in the clear to
    /// compute codes; the database file is readable by the server alone.
    pub secret: Vec<u8>,
    /// Set once the user proved their authenticator works; before that the
    /// enrolment changes nothing.
    pub confirmed_at: Option<i64>,
    /// The newest time step accepted: a code of this step or an older one
    /// is not accepted again (RFC 6238 §5.2).
    pub last_step: i64,
    /// Recovery codes not used yet.
    pub recovery_left: u32,
}

/// One row of a user's recent logins: a protocol, an address and, for IMAP,
/// what the client said it was (RFC 2971 ID); empty strings when unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginRow {
    pub user_id: UserId,
    pub proto: String,
    pub ip: String,
    pub client_name: String,
    pub client_version: String,
    pub client_os: String,
    pub first_at: i64,
    pub last_at: i64,
}

const APP_COLS: &str = "id, user_id, name, scopes, created_at, last_used_at, last_used_ip";

fn app_row(r: &Row<'_>) -> rusqlite::Result<AppPasswordRow> {
    Ok(AppPasswordRow {
        id: r.get(0)?,
        user_id: UserId(r.get(1)?),
        name: r.get(2)?,
        scopes: r.get(3)?,
        created_at: r.get(4)?,
        last_used_at: r.get(5)?,
        last_used_ip: r.get(6)?,
    })
}

fn login_row(r: &Row<'_>) -> rusqlite::Result<LoginRow> {
    Ok(LoginRow {
        user_id: UserId(r.get(0)?),
        proto: r.get(1)?,
        ip: r.get(2)?,
        client_name: r.get(3)?,
        client_version: r.get(4)?,
        client_os: r.get(5)?,
        first_at: r.get(6)?,
        last_at: r.get(7)?,
    })
}

/// Removes a deleted user's account security rows (inside `user_delete`).
pub(crate) fn delete_user_rows(ctx: &WriteCtx<'_>, user: UserId) -> Result<()> {
    for table in ["app_passwords", "totp", "totp_recovery", "logins"] {
        ctx.conn
            .execute(&format!("DELETE FROM {table} WHERE user_id = ?1"), [user.0])?;
    }
    Ok(())
}

fn totp_of(c: &Connection, user: UserId) -> Result<Option<TotpRow>> {
    let row = c
        .prepare_cached("SELECT secret, confirmed_at, last_step FROM totp WHERE user_id = ?1")?
        .query_row([user.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((secret, confirmed_at, last_step)) = row else {
        return Ok(None);
    };
    let left: i64 = c
        .prepare_cached(
            "SELECT COUNT(*) FROM totp_recovery WHERE user_id = ?1 AND used_at IS NULL",
        )?
        .query_row([user.0], |r| r.get(0))?;
    Ok(Some(TotpRow {
        secret,
        confirmed_at,
        last_step,
        recovery_left: u32::try_from(left).unwrap_or(0),
    }))
}

impl Store {
    /// Adds an app password; `Exists` when the user already has one of
    /// that name.
    pub async fn app_password_add(
        &self,
        user: UserId,
        name: &str,
        scopes: &str,
        hash: &str,
    ) -> Result<AppPasswordRow> {
        let (name, scopes, hash) = (name.to_string(), scopes.to_string(), hash.to_string());
        self.inner
            .writer
            .write(move |ctx| {
                let n = ctx.conn.execute(
                    "INSERT INTO app_passwords (user_id, name, hash, scopes, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                    (user.0, &name, &hash, &scopes, now_secs()),
                )?;
                if n == 0 {
                    return Err(StoreError::Exists(format!("app password {name}")));
                }
                let sql = format!("SELECT {APP_COLS} FROM app_passwords WHERE id = ?1");
                Ok(ctx
                    .conn
                    .query_row(&sql, [ctx.conn.last_insert_rowid()], app_row)?)
            })
            .await
    }

    /// A user's app passwords, by name.
    pub async fn app_password_list(&self, user: UserId) -> Result<Vec<AppPasswordRow>> {
        self.read(move |c| {
            let sql =
                format!("SELECT {APP_COLS} FROM app_passwords WHERE user_id = ?1 ORDER BY name");
            let rows = c
                .prepare(&sql)?
                .query_map([user.0], app_row)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// Deletes the user's app password `name`; `NotFound` when there is none.
    pub async fn app_password_revoke(&self, user: UserId, name: &str) -> Result<()> {
        let name = name.to_string();
        self.inner
            .writer
            .write(move |ctx| {
                let n = ctx.conn.execute(
                    "DELETE FROM app_passwords WHERE user_id = ?1 AND name = ?2",
                    (user.0, &name),
                )?;
                if n == 0 {
                    return Err(StoreError::NotFound(format!("app password {name}")));
                }
                Ok(())
            })
            .await
    }

    /// Records a use of app password `id` (gone since: nothing happens).
    pub async fn app_password_touch(&self, id: i64, at: i64, ip: &str) -> Result<()> {
        let ip = ip.to_string();
        self.inner
            .writer
            .write(move |ctx| {
                ctx.conn
                    .prepare_cached(
                        "UPDATE app_passwords SET last_used_at = ?2, last_used_ip = ?3
                         WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at <= ?2)",
                    )?
                    .execute((id, at, &ip))?;
                Ok(())
            })
            .await
    }

    /// What a login needs beyond the user row, in one read: the user's app
    /// password with hash `app_hash` (when given) and whether a confirmed
    /// TOTP enrolment exists.
    pub async fn account_login_state(
        &self,
        user: UserId,
        app_hash: Option<String>,
    ) -> Result<(Option<AppPasswordRow>, bool)> {
        self.read(move |c| {
            let app = match app_hash {
                Some(h) => {
                    let sql = format!(
                        "SELECT {APP_COLS} FROM app_passwords WHERE hash = ?1 AND user_id = ?2"
                    );
                    c.prepare_cached(&sql)?
                        .query_row((&h, user.0), app_row)
                        .optional()?
                }
                None => None,
            };
            let totp = c
                .prepare_cached(
                    "SELECT 1 FROM totp WHERE user_id = ?1 AND confirmed_at IS NOT NULL",
                )?
                .exists([user.0])?;
            Ok((app, totp))
        })
        .await
    }

    /// The user's TOTP enrolment, confirmed or not.
    pub async fn totp_get(&self, user: UserId) -> Result<Option<TotpRow>> {
        self.read(move |c| totp_of(c, user)).await
    }

    /// Starts (or restarts) an enrolment with a new secret and recovery code
    /// hashes, unconfirmed. `Exists` while a confirmed one is active: it must
    /// be disabled first, so a stolen session cannot silently re-key it.
    pub async fn totp_begin(
        &self,
        user: UserId,
        secret: Vec<u8>,
        recovery_hashes: Vec<String>,
    ) -> Result<()> {
        self.inner
            .writer
            .write(move |ctx| {
                if let Some(t) = totp_of(ctx.conn, user)?
                    && t.confirmed_at.is_some()
                {
                    return Err(StoreError::Exists("an active TOTP enrolment".into()));
                }
                ctx.conn
                    .execute("DELETE FROM totp_recovery WHERE user_id = ?1", [user.0])?;
                ctx.conn.execute(
                    "INSERT INTO totp (user_id, secret, created_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT(user_id) DO UPDATE SET secret = excluded.secret,
                         confirmed_at = NULL, last_step = 0, created_at = excluded.created_at",
                    (user.0, &secret, now_secs()),
                )?;
                for h in &recovery_hashes {
                    ctx.conn.execute(
                        "INSERT OR IGNORE INTO totp_recovery (user_id, hash) VALUES (?1, ?2)",
                        (user.0, h),
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// Takes time step `step` for the user: true when it is newer than the
    /// last step taken (and, with `confirm`, marks the enrolment confirmed);
    /// false for a replayed or older code, or no enrolment. With `confirm`
    /// false, only a confirmed enrolment takes steps.
    pub async fn totp_take_step(&self, user: UserId, step: i64, confirm: bool) -> Result<bool> {
        self.inner
            .writer
            .write(move |ctx| {
                let n = ctx
                    .conn
                    .prepare_cached(
                        "UPDATE totp SET last_step = ?2,
                             confirmed_at = coalesce(confirmed_at, CASE WHEN ?3 THEN ?4 END)
                         WHERE user_id = ?1 AND last_step < ?2
                           AND (?3 OR confirmed_at IS NOT NULL)",
                    )?
                    .execute((user.0, step, confirm, now_secs()))?;
                Ok(n == 1)
            })
            .await
    }

    /// Uses a recovery code of a confirmed enrolment: true once per code.
    pub async fn totp_use_recovery(&self, user: UserId, hash: &str) -> Result<bool> {
        let hash = hash.to_string();
        self.inner
            .writer
            .write(move |ctx| {
                let n = ctx
                    .conn
                    .prepare_cached(
                        "UPDATE totp_recovery SET used_at = ?3
                         WHERE user_id = ?1 AND hash = ?2 AND used_at IS NULL
                           AND EXISTS (SELECT 1 FROM totp t WHERE t.user_id = ?1
                                       AND t.confirmed_at IS NOT NULL)",
                    )?
                    .execute((user.0, &hash, now_secs()))?;
                Ok(n == 1)
            })
            .await
    }

    /// Removes the user's enrolment and recovery codes; false when there
    /// was none.
    pub async fn totp_remove(&self, user: UserId) -> Result<bool> {
        self.inner
            .writer
            .write(move |ctx| {
                ctx.conn
                    .execute("DELETE FROM totp_recovery WHERE user_id = ?1", [user.0])?;
                Ok(ctx
                    .conn
                    .execute("DELETE FROM totp WHERE user_id = ?1", [user.0])?
                    == 1)
            })
            .await
    }

    /// Records a login. A row without client details refreshes the newest
    /// row of the same user, protocol and address (whatever client it
    /// names), else starts one; a row with client details refreshes its
    /// exact row, else names the anonymous row of that address, else starts
    /// one. Then the user's rows beyond the `keep` most recent go.
    pub async fn login_record(&self, login: LoginRow, keep: usize) -> Result<()> {
        self.inner
            .writer
            .write(move |ctx| {
                let c = ctx.conn;
                let l = &login;
                let anonymous = l.client_name.is_empty()
                    && l.client_version.is_empty()
                    && l.client_os.is_empty();
                let touched = if anonymous {
                    let newest: Option<(String, String, String)> = c
                        .prepare_cached(
                            "SELECT client_name, client_version, client_os FROM logins
                             WHERE user_id = ?1 AND proto = ?2 AND ip = ?3
                             ORDER BY last_at DESC LIMIT 1",
                        )?
                        .query_row((l.user_id.0, &l.proto, &l.ip), |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                        })
                        .optional()?;
                    match newest {
                        Some((n, v, o)) => c
                            .prepare_cached(
                                "UPDATE logins SET last_at = max(last_at, ?7)
                                 WHERE user_id = ?1 AND proto = ?2 AND ip = ?3
                                   AND client_name = ?4 AND client_version = ?5 AND client_os = ?6",
                            )?
                            .execute((l.user_id.0, &l.proto, &l.ip, &n, &v, &o, l.last_at))?,
                        None => 0,
                    }
                } else {
                    let exact = c
                        .prepare_cached(
                            "UPDATE logins SET last_at = max(last_at, ?7)
                             WHERE user_id = ?1 AND proto = ?2 AND ip = ?3
                               AND client_name = ?4 AND client_version = ?5 AND client_os = ?6",
                        )?
                        .execute((
                            l.user_id.0,
                            &l.proto,
                            &l.ip,
                            &l.client_name,
                            &l.client_version,
                            &l.client_os,
                            l.last_at,
                        ))?;
                    if exact > 0 {
                        exact
                    } else {
                        c.prepare_cached(
                            "UPDATE logins SET client_name = ?4, client_version = ?5,
                                 client_os = ?6, last_at = max(last_at, ?7)
                             WHERE user_id = ?1 AND proto = ?2 AND ip = ?3
                               AND client_name = '' AND client_version = '' AND client_os = ''",
                        )?
                        .execute((
                            l.user_id.0,
                            &l.proto,
                            &l.ip,
                            &l.client_name,
                            &l.client_version,
                            &l.client_os,
                            l.last_at,
                        ))?
                    }
                };
                if touched == 0 {
                    c.prepare_cached(
                        "INSERT OR IGNORE INTO logins (user_id, proto, ip, client_name,
                             client_version, client_os, first_at, last_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                    )?
                    .execute((
                        l.user_id.0,
                        &l.proto,
                        &l.ip,
                        &l.client_name,
                        &l.client_version,
                        &l.client_os,
                        l.last_at,
                    ))?;
                }
                let keep = i64::try_from(keep.max(1)).unwrap_or(i64::MAX);
                c.prepare_cached(
                    "DELETE FROM logins WHERE user_id = ?1 AND (proto, ip, client_name,
                         client_version, client_os, last_at) IN (
                         SELECT proto, ip, client_name, client_version, client_os, last_at
                         FROM logins WHERE user_id = ?1
                         ORDER BY last_at DESC LIMIT -1 OFFSET ?2)",
                )?
                .execute((l.user_id.0, keep))?;
                Ok(())
            })
            .await
    }

    /// A user's recent logins, newest first.
    pub async fn login_list(&self, user: UserId) -> Result<Vec<LoginRow>> {
        self.read(move |c| {
            let rows = c
                .prepare(
                    "SELECT user_id, proto, ip, client_name, client_version, client_os,
                            first_at, last_at
                     FROM logins WHERE user_id = ?1 ORDER BY last_at DESC, proto, ip",
                )?
                .query_map([user.0], login_row)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreOptions;
    use crate::tests::add_user;

    async fn store_with_user() -> (tempfile::TempDir, Store, UserId) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(dir.path(), StoreOptions::default()).expect("open");
        s.domain_add("example.org").await.expect("domain");
        let user = add_user(&s, "ann@example.org").await;
        (dir, s, user)
    }

    fn login(user: UserId, ip: &str, client: &str, at: i64) -> LoginRow {
        LoginRow {
            user_id: user,
            proto: "imap".into(),
            ip: ip.into(),
            client_name: client.into(),
            client_version: String::new(),
            client_os: String::new(),
            first_at: at,
            last_at: at,
        }
    }

    #[tokio::test]
    async fn app_password_names_are_unique_per_user_and_revoke_deletes() -> Result<()> {
        let (_d, s, user) = store_with_user().await;
        let row = s.app_password_add(user, "phone", "imap", "h1").await?;
        assert_eq!((row.name.as_str(), row.last_used_at), ("phone", None));
        assert!(matches!(
            s.app_password_add(user, "phone", "smtp", "h2").await,
            Err(StoreError::Exists(_))
        ));
        let (found, totp) = s.account_login_state(user, Some("h1".into())).await?;
        assert_eq!((found.map(|r| r.id), totp), (Some(row.id), false));
        let other = s
            .account_login_state(UserId(user.0 + 1), Some("h1".into()))
            .await?;
        assert_eq!(other.0, None, "another user's hash does not match");
        s.app_password_touch(row.id, 100, "192.0.2.1").await?;
        s.app_password_touch(row.id, 50, "192.0.2.9").await?;
        let listed = s.app_password_list(user).await?;
        assert_eq!(listed[0].last_used_at, Some(100), "an older touch loses");
        assert_eq!(listed[0].last_used_ip.as_deref(), Some("192.0.2.1"));
        s.app_password_revoke(user, "phone").await?;
        assert_eq!(
            s.account_login_state(user, Some("h1".into())).await?.0,
            None
        );
        assert!(matches!(
            s.app_password_revoke(user, "phone").await,
            Err(StoreError::NotFound(_))
        ));
        Ok(())
    }

    #[tokio::test]
    async fn totp_steps_and_recovery_codes_are_single_use() -> Result<()> {
        let (_d, s, user) = store_with_user().await;
        s.totp_begin(user, vec![1; 20], vec!["r1".into(), "r2".into()])
            .await?;
        assert!(!s.totp_take_step(user, 5, false).await?, "unconfirmed");
        assert!(!s.totp_use_recovery(user, "r1").await?, "unconfirmed");
        assert!(!s.account_login_state(user, None).await?.1, "unconfirmed");
        assert!(s.totp_take_step(user, 5, true).await?, "confirms");
        assert!(s.account_login_state(user, None).await?.1);
        assert!(!s.totp_take_step(user, 5, false).await?, "replay");
        assert!(!s.totp_take_step(user, 4, false).await?, "older step");
        assert!(s.totp_take_step(user, 6, false).await?);
        assert!(s.totp_use_recovery(user, "r1").await?);
        assert!(!s.totp_use_recovery(user, "r1").await?, "used");
        let t = s.totp_get(user).await?.expect("enrolled");
        assert_eq!((t.last_step, t.recovery_left), (6, 1));
        assert!(matches!(
            s.totp_begin(user, vec![2; 20], vec![]).await,
            Err(StoreError::Exists(_))
        ));
        assert!(s.totp_remove(user).await?);
        assert_eq!(s.totp_get(user).await?, None);
        Ok(())
    }

    #[tokio::test]
    async fn logins_merge_the_imap_id_and_keep_the_newest_rows() -> Result<()> {
        let (_d, s, user) = store_with_user().await;
        s.login_record(login(user, "192.0.2.1", "", 10), 2).await?;
        s.login_record(login(user, "192.0.2.1", "Thunderbird", 11), 2)
            .await?;
        s.login_record(login(user, "192.0.2.1", "", 12), 2).await?;
        let rows = s.login_list(user).await?;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(
            (
                rows[0].client_name.as_str(),
                rows[0].first_at,
                rows[0].last_at
            ),
            ("Thunderbird", 10, 12)
        );
        s.login_record(login(user, "192.0.2.2", "", 20), 2).await?;
        s.login_record(login(user, "192.0.2.3", "", 30), 2).await?;
        let ips: Vec<String> = s
            .login_list(user)
            .await?
            .into_iter()
            .map(|r| r.ip)
            .collect();
        assert_eq!(ips, ["192.0.2.3", "192.0.2.2"], "bounded to the newest two");
        Ok(())
    }
}
