//! The maildrop lock (RFC 1939 §8: exclusive access from PASS to the end of
//! UPDATE) and LOGIN-DELAY bookkeeping, per user, in this process. One
//! server owns a data directory (`server.lock`), so a process-wide table is
//! the whole truth; IMAP sessions and deliveries do not take it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Who holds which maildrop, and when each user last logged in.
#[derive(Clone, Default)]
pub struct Maildrops(Arc<Mutex<HashMap<i64, Entry>>>);

#[derive(Default)]
struct Entry {
    locked: bool,
    /// Kept only while a login delay is configured.
    last_login: Option<Instant>,
}

/// Why a maildrop could not be locked.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Another POP3 session has it: `-ERR [IN-USE]`.
    InUse,
    /// The last login was less than the login delay ago: `-ERR [LOGIN-DELAY]`.
    TooSoon,
}

/// Holds a user's maildrop until dropped (QUIT, a dropped connection, a
/// panic: the lock never outlives the session).
pub struct MaildropLock {
    table: Maildrops,
    user: i64,
}

impl Maildrops {
    fn table(&self) -> MutexGuard<'_, HashMap<i64, Entry>> {
        // Only plain field updates happen under the lock.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks `user`'s maildrop. With a nonzero `login_delay`, a login
    /// sooner than that after the previous one is refused (RFC 2449 §8.1.2).
    pub fn lock(&self, user: i64, login_delay: Duration) -> Result<MaildropLock, Refused> {
        let now = Instant::now();
        let mut t = self.table();
        let e = t.entry(user).or_default();
        if e.locked {
            return Err(Refused::InUse);
        }
        if !login_delay.is_zero()
            && e.last_login
                .is_some_and(|at| now.duration_since(at) < login_delay)
        {
            return Err(Refused::TooSoon);
        }
        e.locked = true;
        e.last_login = (!login_delay.is_zero()).then_some(now);
        Ok(MaildropLock {
            table: self.clone(),
            user,
        })
    }
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        let mut t = self.table.table();
        if let Some(e) = t.get_mut(&self.user) {
            e.locked = false;
            if e.last_login.is_none() {
                t.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_per_user_until_dropped() {
        let m = Maildrops::default();
        let a = m.lock(1, Duration::ZERO).expect("first");
        assert_eq!(m.lock(1, Duration::ZERO).err(), Some(Refused::InUse));
        let b = m.lock(2, Duration::ZERO).expect("another user");
        drop(a);
        let _a2 = m.lock(1, Duration::ZERO).expect("free again");
        drop(b);
        assert_eq!(m.table().len(), 1, "unlocked users leave no entry");
    }

    #[test]
    fn login_delay_refuses_a_quick_second_login() {
        let m = Maildrops::default();
        drop(m.lock(1, Duration::from_secs(3600)).expect("first"));
        assert_eq!(
            m.lock(1, Duration::from_secs(3600)).err(),
            Some(Refused::TooSoon)
        );
        let _ = m.lock(1, Duration::ZERO).expect("no delay configured");
    }
}
