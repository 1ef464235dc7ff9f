//! The `[server]` section: which account the server runs as, and how often
//! it gives freed memory back to the system.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    /// Started as root, bind the listeners, then run as this user (as
    /// Postfix and Dovecot do). The data directory is given to it.
    pub user: Option<String>,
    /// The group to run as; the user's primary group when unset.
    pub group: Option<String>,
    /// Keep running as root when started as root with no `user`. Off:
    /// such a start is refused (the embedded default, loopback only,
    /// allows it with a warning).
    pub run_as_root: bool,
    /// Seconds between two returns of the allocator's free memory to the
    /// system (glibc keeps what thousands of closed connections freed)
    /// and of the executable's code pages from the page tables; 0: never.
    pub memory_trim_secs: u64,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            user: None,
            group: None,
            run_as_root: false,
            memory_trim_secs: 30,
        }
    }
}

/// Who the server runs as, checked at start (the effective user is known
/// only then).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    pub user: Option<String>,
    pub group: Option<String>,
    pub run_as_root: bool,
}

impl RawServer {
    /// `memory_trim_secs` as the server runs with it (`None`: never).
    pub fn memory_trim(&self) -> Option<std::time::Duration> {
        (self.memory_trim_secs > 0).then(|| std::time::Duration::from_secs(self.memory_trim_secs))
    }

    /// Checks the names; `Err((key, reason))` for the first one refused.
    pub fn check(&self) -> Result<RunAs, (String, String)> {
        for (key, v) in [("server.user", &self.user), ("server.group", &self.group)] {
            if let Some(name) = v
                && (name.is_empty()
                    || name.starts_with('-')
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
            {
                return Err((key.into(), format!("{name:?} is not an account name")));
            }
        }
        if self.group.is_some() && self.user.is_none() {
            return Err(("server.group".into(), "needs server.user".into()));
        }
        if self.user.is_some() && self.run_as_root {
            return Err((
                "server.run_as_root".into(),
                "cannot be combined with server.user".into(),
            ));
        }
        Ok(RunAs {
            user: self.user.clone(),
            group: self.group.clone(),
            run_as_root: self.run_as_root,
        })
    }
}
