//! The web console's rows (migration 19): server-side sessions and the
//! admin role on users.
//!
//! A session is found by the SHA-256 of the cookie's random id, so the
//! database (or a backup of it) never holds a usable cookie. It belongs to
//! a user's id *and* address: SQLite may give a deleted user's id to the
//! next user, whose session table must not inherit the old cookies. A
//! session whose user is gone or disabled is not live. Expiry is decided
//! at each lookup from the limits the caller passes (`[web]` config), and
//! `web_sessions_sweep` removes what has expired.

use rusqlite::OptionalExtension;
use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};
use crate::types::UserId;
use crate::{Store, now_secs};

/// A live console session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSession {
    pub user_id: UserId,
    pub address: String,
    /// The token every form of this session carries back (CSRF).
    pub csrf: String,
    /// The password was right but a second factor (TOTP) is still owed:
    /// the session reaches only the code form.
    pub pending_second_factor: bool,
    /// Whether the user has the admin role (read with the session, so a
    /// role taken away applies at the next request).
    pub admin: bool,
    /// Unix seconds.
    pub created_at: i64,
    pub last_seen: i64,
}

/// A new session's fields; `id` is the cookie's value (only its hash is kept).
#[derive(Clone, Debug)]
pub struct NewWebSession {
    pub id: String,
    pub user_id: UserId,
    pub address: String,
    pub csrf: String,
    pub pending_second_factor: bool,
    pub ip: String,
}

/// How long a session lives: since its last request, and since login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle_secs: i64,
    pub absolute_secs: i64,
}

fn id_hash(id: &str) -> String {
    let d = Sha256::digest(id.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A deleted user's sessions go in the same commit as the user.
pub(crate) fn delete_user_rows(ctx: &mut crate::writer::WriteCtx<'_>, user: UserId) -> Result<()> {
    ctx.conn
        .execute("DELETE FROM web_sessions WHERE user_id = ?1", [user.0])?;
    Ok(())
}

impl Store {
    pub async fn web_session_create(&self, s: NewWebSession) -> Result<()> {
        let hash = id_hash(&s.id);
        self.inner
            .writer
            .write(move |ctx| {
                let now = now_secs();
                ctx.conn.execute(
                    "INSERT INTO web_sessions (id_hash, user_id, address, csrf, pending_second_factor,
                                               created_at, last_seen, ip)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
                    (
                        &hash,
                        s.user_id.0,
                        &s.address,
                        &s.csrf,
                        s.pending_second_factor,
                        now,
                        &s.ip,
                    ),
                )?;
                Ok(())
            })
            .await
    }

    /// The live session with cookie value `id`: not expired by `limits` at
    /// `now`, its user still there under the same address and enabled.
    pub async fn web_session_get(
        &self,
        id: &str,
        now: i64,
        limits: SessionLimits,
    ) -> Result<Option<WebSession>> {
        let hash = id_hash(id);
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT s.user_id, s.address, s.csrf, s.pending_second_factor, u.admin,
                        s.created_at, s.last_seen
                 FROM web_sessions s JOIN users u ON u.id = s.user_id AND u.address = s.address
                 WHERE s.id_hash = ?1 AND u.disabled = 0
                   AND s.last_seen > ?2 - ?3 AND s.created_at > ?2 - ?4",
                (&hash, now, limits.idle_secs, limits.absolute_secs),
                |r| {
                    Ok(WebSession {
                        user_id: UserId(r.get(0)?),
                        address: r.get(1)?,
                        csrf: r.get(2)?,
                        pending_second_factor: r.get(3)?,
                        admin: r.get(4)?,
                        created_at: r.get(5)?,
                        last_seen: r.get(6)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    /// Records a request on the session (its idle limit starts again).
    pub async fn web_session_touch(&self, id: &str) -> Result<()> {
        let hash = id_hash(id);
        self.inner
            .writer
            .write(move |ctx| {
                ctx.conn.execute(
                    "UPDATE web_sessions SET last_seen = ?2 WHERE id_hash = ?1",
                    (&hash, now_secs()),
                )?;
                Ok(())
            })
            .await
    }

    /// Ends one session (logout); ending one that is gone is no error.
    pub async fn web_session_delete(&self, id: &str) -> Result<()> {
        let hash = id_hash(id);
        self.inner
            .writer
            .write(move |ctx| {
                ctx.conn
                    .execute("DELETE FROM web_sessions WHERE id_hash = ?1", [&hash])?;
                Ok(())
            })
            .await
    }

    /// Ends every session of a user but `keep` (a password change keeps
    /// the session that made it); returns how many ended.
    pub async fn web_sessions_end_for_user(&self, user: UserId, keep: Option<&str>) -> Result<u64> {
        let keep = keep.map(id_hash).unwrap_or_default();
        self.inner
            .writer
            .write(move |ctx| {
                let n = ctx.conn.execute(
                    "DELETE FROM web_sessions WHERE user_id = ?1 AND id_hash != ?2",
                    (user.0, &keep),
                )?;
                Ok(n as u64)
            })
            .await
    }

    /// Removes the sessions expired at `now`; returns how many.
    pub async fn web_sessions_sweep(&self, now: i64, limits: SessionLimits) -> Result<u64> {
        self.inner
            .writer
            .write(move |ctx| {
                let n = ctx.conn.execute(
                    "DELETE FROM web_sessions WHERE last_seen <= ?1 - ?2 OR created_at <= ?1 - ?3",
                    (now, limits.idle_secs, limits.absolute_secs),
                )?;
                Ok(n as u64)
            })
            .await
    }

    /// Gives or takes the admin role (`postern user admin USER --on|--off`).
    pub async fn user_set_admin(&self, address: &str, admin: bool) -> Result<()> {
        let address = address.to_string();
        self.inner
            .writer
            .write(move |ctx| {
                let n = ctx.conn.execute(
                    "UPDATE users SET admin = ?2 WHERE address = ?1",
                    (&address, admin),
                )?;
                if n == 0 {
                    return Err(StoreError::NotFound(format!("user {address}")));
                }
                Ok(())
            })
            .await
    }

    /// The addresses of the users with the admin role, sorted.
    pub async fn admins(&self) -> Result<Vec<String>> {
        self.read(|c| {
            let mut st = c.prepare("SELECT address FROM users WHERE admin = 1 ORDER BY address")?;
            let rows = st
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::add_user;
    use crate::{OpenMode, StoreOptions};

    async fn temp_store() -> (tempfile::TempDir, Store) {
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
        (dir, store)
    }

    const LIMITS: SessionLimits = SessionLimits {
        idle_secs: 600,
        absolute_secs: 3600,
    };

    async fn with_user(store: &Store, address: &str) -> UserId {
        add_user(store, address).await
    }

    fn session(id: &str, user: UserId, address: &str) -> NewWebSession {
        NewWebSession {
            id: id.into(),
            user_id: user,
            address: address.into(),
            csrf: "token".into(),
            pending_second_factor: false,
            ip: "127.0.0.1".into(),
        }
    }

    #[tokio::test]
    async fn sessions_expire_idle_and_absolute_and_end_with_their_user() {
        let (_dir, store) = temp_store().await;
        let ann = with_user(&store, "ann@example.org").await;
        store
            .web_session_create(session("cookie-1", ann, "ann@example.org"))
            .await
            .expect("create");
        let now = now_secs();
        let s = store
            .web_session_get("cookie-1", now, LIMITS)
            .await
            .expect("get")
            .expect("live");
        assert_eq!((s.user_id, s.csrf.as_str(), s.admin), (ann, "token", false));
        assert!(
            store
                .web_session_get("cookie-2", now, LIMITS)
                .await
                .expect("get")
                .is_none()
        );
        // Idle past the limit, and past the absolute limit.
        assert!(
            store
                .web_session_get("cookie-1", now + 601, LIMITS)
                .await
                .expect("get")
                .is_none()
        );
        let long = SessionLimits {
            idle_secs: 1 << 40,
            absolute_secs: 3600,
        };
        assert!(
            store
                .web_session_get("cookie-1", now + 3601, long)
                .await
                .expect("get")
                .is_none()
        );
        assert_eq!(
            store
                .web_sessions_sweep(now + 601, LIMITS)
                .await
                .expect("sweep"),
            1
        );

        // The admin role shows on the session; disabling the user ends it.
        store
            .web_session_create(session("cookie-3", ann, "ann@example.org"))
            .await
            .expect("create");
        store
            .user_set_admin("ann@example.org", true)
            .await
            .expect("admin");
        let s = store
            .web_session_get("cookie-3", now, LIMITS)
            .await
            .expect("get")
            .expect("live");
        assert!(s.admin);
        assert_eq!(store.admins().await.expect("admins"), ["ann@example.org"]);
        store
            .user_set_disabled("ann@example.org", true)
            .await
            .expect("disable");
        assert!(
            store
                .web_session_get("cookie-3", now, LIMITS)
                .await
                .expect("get")
                .is_none()
        );
        assert!(matches!(
            store.user_set_admin("nobody@example.org", true).await,
            Err(StoreError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_session_needs_its_user_id_and_address_to_match() {
        let (_dir, store) = temp_store().await;
        let ann = with_user(&store, "ann@example.org").await;
        store
            .web_session_create(session("old", ann, "ann@example.org"))
            .await
            .expect("create");
        store.user_delete("ann@example.org").await.expect("delete");
        let bob = with_user(&store, "bob@example.org").await;
        assert!(
            store
                .web_session_get("old", now_secs(), LIMITS)
                .await
                .expect("get")
                .is_none()
        );
        // A row naming bob's id under another address (an id SQLite gave
        // again) is not bob's session.
        store
            .web_session_create(session("stale", bob, "ann@example.org"))
            .await
            .expect("create");
        assert!(
            store
                .web_session_get("stale", now_secs(), LIMITS)
                .await
                .expect("get")
                .is_none()
        );
        // Ending a user's sessions keeps the one asked for.
        for id in ["a", "b"] {
            store
                .web_session_create(session(id, bob, "bob@example.org"))
                .await
                .expect("create");
        }
        assert_eq!(
            store
                .web_sessions_end_for_user(bob, Some("a"))
                .await
                .expect("end"),
            2
        );
        assert!(
            store
                .web_session_get("a", now_secs(), LIMITS)
                .await
                .expect("get")
                .is_some()
        );
        assert!(
            store
                .web_session_get("b", now_secs(), LIMITS)
                .await
                .expect("get")
                .is_none()
        );
    }
}
