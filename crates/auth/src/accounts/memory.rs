//! `MemoryAccounts`: an [`AccountStore`] in memory for tests (this crate's
//! and the web console's handler tests), with the store's single-use
//! rules, and a count of the writes the login path makes (to pin their
//! coalescing).

use std::net::IpAddr;
use std::sync::Mutex;

use super::{AccountStore, AppPasswordRecord, DeviceRecord, LoginState, Scopes, TotpRecord};
use crate::directory::lock;
use crate::{Secret, StoreFuture};

/// A user's enrolment and recovery code hashes with their used flag.
type Enrolment = (i64, TotpRecord, Vec<(String, bool)>);

#[derive(Default)]
struct State {
    next_id: i64,
    /// (user, hash, record)
    app: Vec<(i64, String, AppPasswordRecord)>,
    /// (user, record, recovery hashes with used flag)
    totp: Vec<Enrolment>,
    logins: Vec<DeviceRecord>,
    touches: usize,
}

#[derive(Default)]
pub struct MemoryAccounts {
    state: Mutex<State>,
}

impl MemoryAccounts {
    /// App password uses and login rows written so far.
    #[cfg(test)]
    pub(crate) fn writes(&self) -> (usize, usize) {
        let st = lock(&self.state);
        (st.touches, st.logins.len())
    }
}

fn ready<T: Send + 'static>(v: T) -> StoreFuture<'static, T> {
    Box::pin(async move { Ok(v) })
}

impl AccountStore for MemoryAccounts {
    fn login_state(&self, user_id: i64, app_hash: Option<String>) -> StoreFuture<'_, LoginState> {
        let st = lock(&self.state);
        let app_password = app_hash.and_then(|h| {
            st.app
                .iter()
                .find(|(u, hash, _)| *u == user_id && *hash == h)
                .map(|(_, _, r)| r.clone())
        });
        let totp_active = st.totp.iter().any(|(u, t, _)| *u == user_id && t.confirmed);
        ready(LoginState {
            app_password,
            totp_active,
        })
    }

    fn app_password_add(
        &self,
        user_id: i64,
        name: String,
        scopes: Scopes,
        hash: String,
    ) -> StoreFuture<'_, Option<AppPasswordRecord>> {
        let mut st = lock(&self.state);
        if st
            .app
            .iter()
            .any(|(u, _, r)| *u == user_id && r.name == name)
        {
            return ready(None);
        }
        st.next_id += 1;
        let record = AppPasswordRecord {
            id: st.next_id,
            name,
            scopes,
            created: 0,
            last_used: None,
            last_ip: None,
        };
        st.app.push((user_id, hash, record.clone()));
        ready(Some(record))
    }

    fn app_password_list(&self, user_id: i64) -> StoreFuture<'_, Vec<AppPasswordRecord>> {
        let st = lock(&self.state);
        ready(
            st.app
                .iter()
                .filter(|(u, _, _)| *u == user_id)
                .map(|(_, _, r)| r.clone())
                .collect(),
        )
    }

    fn app_password_revoke(&self, user_id: i64, name: String) -> StoreFuture<'_, bool> {
        let mut st = lock(&self.state);
        let before = st.app.len();
        st.app
            .retain(|(u, _, r)| !(*u == user_id && r.name == name));
        ready(st.app.len() < before)
    }

    fn app_password_touch(&self, id: i64, at: i64, ip: IpAddr) -> StoreFuture<'_, ()> {
        let mut st = lock(&self.state);
        st.touches += 1;
        if let Some((_, _, r)) = st.app.iter_mut().find(|(_, _, r)| r.id == id) {
            r.last_used = Some(at);
            r.last_ip = Some(ip.to_string());
        }
        ready(())
    }

    fn totp_get(&self, user_id: i64) -> StoreFuture<'_, Option<TotpRecord>> {
        let st = lock(&self.state);
        ready(
            st.totp
                .iter()
                .find(|(u, _, _)| *u == user_id)
                .map(|(_, t, codes)| TotpRecord {
                    recovery_left: codes.iter().filter(|(_, used)| !used).count() as u32,
                    ..t.clone()
                }),
        )
    }

    fn totp_begin(
        &self,
        user_id: i64,
        secret: Secret<Vec<u8>>,
        recovery_hashes: Vec<String>,
    ) -> StoreFuture<'_, bool> {
        let mut st = lock(&self.state);
        if st.totp.iter().any(|(u, t, _)| *u == user_id && t.confirmed) {
            return ready(false);
        }
        st.totp.retain(|(u, _, _)| *u != user_id);
        let record = TotpRecord {
            secret,
            confirmed: false,
            last_step: 0,
            recovery_left: 0,
        };
        let codes = recovery_hashes.into_iter().map(|h| (h, false)).collect();
        st.totp.push((user_id, record, codes));
        ready(true)
    }

    fn totp_take_step(&self, user_id: i64, step: i64, confirm: bool) -> StoreFuture<'_, bool> {
        let mut st = lock(&self.state);
        let taken = match st.totp.iter_mut().find(|(u, _, _)| *u == user_id) {
            Some((_, t, _)) if t.last_step < step && (confirm || t.confirmed) => {
                t.last_step = step;
                t.confirmed = true;
                true
            }
            _ => false,
        };
        ready(taken)
    }

    fn totp_use_recovery(&self, user_id: i64, hash: String) -> StoreFuture<'_, bool> {
        let mut st = lock(&self.state);
        let used = st
            .totp
            .iter_mut()
            .find(|(u, t, _)| *u == user_id && t.confirmed)
            .and_then(|(_, _, codes)| codes.iter_mut().find(|(h, used)| *h == hash && !used))
            .map(|(_, used)| *used = true)
            .is_some();
        ready(used)
    }

    fn totp_remove(&self, user_id: i64) -> StoreFuture<'_, bool> {
        let mut st = lock(&self.state);
        let before = st.totp.len();
        st.totp.retain(|(u, _, _)| *u != user_id);
        ready(st.totp.len() < before)
    }

    fn login_record(&self, login: DeviceRecord, _keep: usize) -> StoreFuture<'_, ()> {
        lock(&self.state).logins.push(login);
        ready(())
    }

    fn login_list(&self, user_id: i64) -> StoreFuture<'_, Vec<DeviceRecord>> {
        let st = lock(&self.state);
        ready(
            st.logins
                .iter()
                .filter(|l| l.user_id == user_id)
                .cloned()
                .collect(),
        )
    }
}
