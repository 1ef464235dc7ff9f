//! Account security (issue 18): app passwords, TOTP two-factor with
//! recovery codes, and the record of each user's recent logins (devices).
//!
//! The rows live behind [`AccountStore`] (the binary implements it over the
//! store); generation, hashing and checking are here, and the API the admin
//! CLI and the web console call is on [`Directory`](crate::Directory)
//! (`api.rs`). How they meet a login is in `login.rs`:
//!
//! - **App passwords** open the mail protocols of their scopes (`imap`,
//!   `pop3`, `smtp`, `managesieve`), never the web login. A typed password
//!   that has an app password's shape is looked up by its hash first (one
//!   indexed read, no argon2); anything else is the account password. They
//!   never enter the success cache, so a revoked one is refused at once.
//! - **TOTP** guards the web login. Once it is confirmed, the account
//!   password stops opening the mail protocols (the way Google and Fastmail
//!   do it: mail clients get app passwords) unless
//!   `password_on_mail_with_totp` is set.
//! - **Writes on the login path are coalesced**: an app password's last use
//!   and a device row are written at most once per `record_interval` per
//!   key, in the background, so a login storm is not a write storm.
//!
//! # For the web console
//!
//! All calls are on [`Directory`](crate::Directory) and take the user's id
//! (`Principal::user_id`):
//!
//! - Login: `authenticate("web", ip, address, password)` (app passwords are
//!   refused there; the account password works whatever TOTP says; the
//!   login is recorded as a `web` device), then, when
//!   `totp_is_enrolled(user_id)`, `totp_verify(ip, user_id, code)` with a
//!   6-digit code or a recovery code (refusals count in the same throttle).
//! - App passwords: `app_password_create(user_id, name, scopes)` (show
//!   `password` once), `app_password_list`, `app_password_revoke`.
//! - TOTP: `totp_enroll(user_id, address)` (show the secret, the URI as a
//!   QR code and the recovery codes once), `totp_confirm(user_id, code)`,
//!   `totp_status`, `totp_disable`.
//! - Devices: `devices(user_id)`, newest first.

pub mod api;
pub mod app_passwords;
#[cfg(test)]
mod login_tests;
pub mod memory;
pub mod totp;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use thiserror::Error;
use tokio::time::Instant;

use crate::{BackendError, Secret, StoreFuture};

/// The protocols an app password opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

/// Scope names, in display order, and their bits. The names are the
/// `proto` strings the protocols pass to `authenticate`.
const SCOPE_NAMES: [(&str, u8); 4] = [("imap", 1), ("pop3", 2), ("smtp", 4), ("managesieve", 8)];

impl Scopes {
    /// Every mail protocol.
    pub const ALL: Scopes = Scopes(15);

    /// Parses `imap,pop3,smtp` (any order, any case, spaces allowed).
    pub fn parse(s: &str) -> Result<Scopes, AccountError> {
        let mut bits = 0;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let part = part.to_ascii_lowercase();
            let bit = SCOPE_NAMES
                .iter()
                .find(|(n, _)| *n == part)
                .map(|(_, b)| *b)
                .ok_or_else(|| {
                    AccountError::Invalid(format!(
                        "unknown scope {part:?} (imap, pop3, smtp, managesieve)"
                    ))
                })?;
            bits |= bit;
        }
        if bits == 0 {
            return Err(AccountError::Invalid("no scope given".into()));
        }
        Ok(Scopes(bits))
    }

    /// Whether a login over `proto` is allowed.
    pub fn allows(self, proto: &str) -> bool {
        SCOPE_NAMES
            .iter()
            .any(|(n, b)| *n == proto && self.0 & b != 0)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = SCOPE_NAMES
            .iter()
            .filter(|(_, b)| self.0 & b != 0)
            .map(|(n, _)| *n)
            .collect();
        f.write_str(&names.join(","))
    }
}

/// One app password as stored (its hash is not part of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppPasswordRecord {
    /// Stable id, for recording its use.
    pub id: i64,
    /// The user's label for it, unique per user.
    pub name: String,
    pub scopes: Scopes,
    /// Unix seconds.
    pub created: i64,
    /// When it last opened a session (to within `record_interval`).
    pub last_used: Option<i64>,
    /// From where.
    pub last_ip: Option<String>,
}

/// A user's TOTP enrolment as stored.
#[derive(Clone, Debug)]
pub struct TotpRecord {
    pub secret: Secret<Vec<u8>>,
    /// False until a first code confirmed it.
    pub confirmed: bool,
    /// The newest time step accepted.
    pub last_step: i64,
    /// Unused recovery codes.
    pub recovery_left: u32,
}

/// What a client said it was (IMAP `ID`, RFC 2971); empty when not said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientId {
    pub name: String,
    pub version: String,
    pub os: String,
}

/// Longest client field kept, in characters (RFC 2971 §3.3 allows 1024).
const MAX_CLIENT_FIELD: usize = 64;

impl ClientId {
    /// Builds one from an `ID` list's pairs: `name`, `version` and `os`
    /// (keys case-insensitive, RFC 2971 §3.3), control characters removed,
    /// each cut at 64 characters; other fields are ignored.
    pub fn from_id_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Self {
        let mut id = ClientId::default();
        for (k, v) in pairs {
            let v: String = v
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_CLIENT_FIELD)
                .collect();
            match k.to_ascii_lowercase().as_str() {
                "name" => id.name = v,
                "version" => id.version = v,
                "os" => id.os = v,
                _ => {}
            }
        }
        id
    }

    /// Nothing was said.
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.version.is_empty() && self.os.is_empty()
    }
}

/// One row of a user's recent logins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    pub user_id: i64,
    /// `imap`, `pop3`, `smtp`, `managesieve` or `web`.
    pub proto: String,
    pub ip: String,
    pub client: ClientId,
    /// Unix seconds of the first and the latest login of this row.
    pub first_seen: i64,
    pub last_seen: i64,
}

/// What a login needs to know beyond the user record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginState {
    /// The app password whose hash was asked for, if the user has it.
    pub app_password: Option<AppPasswordRecord>,
    /// A confirmed TOTP enrolment exists.
    pub totp_active: bool,
}

/// Where app passwords, TOTP enrolments and logins are kept (the binary
/// implements it over the store). `user_id` is the directory's user id.
pub trait AccountStore: Send + Sync + 'static {
    /// The user's app password with hash `app_hash` (when given) and whether
    /// TOTP is active, in one call per login.
    fn login_state(&self, user_id: i64, app_hash: Option<String>) -> StoreFuture<'_, LoginState>;
    /// Adds an app password; `None` when the name is taken.
    fn app_password_add(
        &self,
        user_id: i64,
        name: String,
        scopes: Scopes,
        hash: String,
    ) -> StoreFuture<'_, Option<AppPasswordRecord>>;
    /// The user's app passwords, by name.
    fn app_password_list(&self, user_id: i64) -> StoreFuture<'_, Vec<AppPasswordRecord>>;
    /// Deletes one; false when there is none of that name.
    fn app_password_revoke(&self, user_id: i64, name: String) -> StoreFuture<'_, bool>;
    /// Records a use.
    fn app_password_touch(&self, id: i64, at: i64, ip: IpAddr) -> StoreFuture<'_, ()>;
    /// The user's enrolment, confirmed or not.
    fn totp_get(&self, user_id: i64) -> StoreFuture<'_, Option<TotpRecord>>;
    /// Starts an unconfirmed enrolment (replacing an unconfirmed one); false
    /// while a confirmed one exists.
    fn totp_begin(
        &self,
        user_id: i64,
        secret: Secret<Vec<u8>>,
        recovery_hashes: Vec<String>,
    ) -> StoreFuture<'_, bool>;
    /// Takes time step `step` if newer than the last one (`confirm`: also
    /// confirms a pending enrolment; else only a confirmed one takes steps).
    fn totp_take_step(&self, user_id: i64, step: i64, confirm: bool) -> StoreFuture<'_, bool>;
    /// Uses a recovery code of a confirmed enrolment, once.
    fn totp_use_recovery(&self, user_id: i64, hash: String) -> StoreFuture<'_, bool>;
    /// Removes the enrolment; false when there was none.
    fn totp_remove(&self, user_id: i64) -> StoreFuture<'_, bool>;
    /// Records a login, keeping the user's `keep` most recent rows.
    fn login_record(&self, login: DeviceRecord, keep: usize) -> StoreFuture<'_, ()>;
    /// The user's recent logins, newest first.
    fn login_list(&self, user_id: i64) -> StoreFuture<'_, Vec<DeviceRecord>>;
}

/// The account store of a directory built without one: no app passwords,
/// no TOTP, nothing recorded; changes are refused.
pub(crate) struct NoAccounts;

fn unsupported<T>() -> StoreFuture<'static, T> {
    Box::pin(async { Err(BackendError("no account store configured".into())) })
}

fn ok<T: Send + 'static>(v: T) -> StoreFuture<'static, T> {
    Box::pin(async move { Ok(v) })
}

impl AccountStore for NoAccounts {
    fn login_state(&self, _: i64, _: Option<String>) -> StoreFuture<'_, LoginState> {
        ok(LoginState::default())
    }
    fn app_password_add(
        &self,
        _: i64,
        _: String,
        _: Scopes,
        _: String,
    ) -> StoreFuture<'_, Option<AppPasswordRecord>> {
        unsupported()
    }
    fn app_password_list(&self, _: i64) -> StoreFuture<'_, Vec<AppPasswordRecord>> {
        ok(Vec::new())
    }
    fn app_password_revoke(&self, _: i64, _: String) -> StoreFuture<'_, bool> {
        ok(false)
    }
    fn app_password_touch(&self, _: i64, _: i64, _: IpAddr) -> StoreFuture<'_, ()> {
        ok(())
    }
    fn totp_get(&self, _: i64) -> StoreFuture<'_, Option<TotpRecord>> {
        ok(None)
    }
    fn totp_begin(&self, _: i64, _: Secret<Vec<u8>>, _: Vec<String>) -> StoreFuture<'_, bool> {
        unsupported()
    }
    fn totp_take_step(&self, _: i64, _: i64, _: bool) -> StoreFuture<'_, bool> {
        ok(false)
    }
    fn totp_use_recovery(&self, _: i64, _: String) -> StoreFuture<'_, bool> {
        ok(false)
    }
    fn totp_remove(&self, _: i64) -> StoreFuture<'_, bool> {
        ok(false)
    }
    fn login_record(&self, _: DeviceRecord, _: usize) -> StoreFuture<'_, ()> {
        ok(())
    }
    fn login_list(&self, _: i64) -> StoreFuture<'_, Vec<DeviceRecord>> {
        ok(Vec::new())
    }
}

/// Why an account operation was refused.
#[derive(Debug, Error)]
pub enum AccountError {
    /// Bad input (a name, a scope list); the message says which.
    #[error("{0}")]
    Invalid(String),
    /// The name is taken, or TOTP is already active.
    #[error("{0}")]
    Exists(String),
    /// The store could not answer.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Remembers when each key was last written, so the login path writes a
/// key at most once per interval. Bounded: when full, keys older than the
/// interval go, and if that frees nothing, everything (a few extra writes).
pub(crate) struct Coalescer {
    interval: Duration,
    capacity: usize,
    seen: HashMap<String, Instant>,
}

impl Coalescer {
    pub(crate) fn new(interval: Duration, capacity: usize) -> Self {
        Self {
            interval,
            capacity: capacity.max(1),
            seen: HashMap::new(),
        }
    }

    /// Whether `key` should be written now (and if so, notes that it was).
    pub(crate) fn due(&mut self, key: String, now: Instant) -> bool {
        if let Some(t) = self.seen.get(&key)
            && now.duration_since(*t) < self.interval
        {
            return false;
        }
        if self.seen.len() >= self.capacity && !self.seen.contains_key(&key) {
            let interval = self.interval;
            self.seen.retain(|_, t| now.duration_since(*t) < interval);
            if self.seen.len() >= self.capacity {
                self.seen.clear();
            }
        }
        self.seen.insert(key, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_display_and_allow() {
        let s = Scopes::parse("SMTP, imap").expect("valid");
        assert_eq!(s.to_string(), "imap,smtp");
        assert!(s.allows("imap") && s.allows("smtp"));
        assert!(!s.allows("pop3") && !s.allows("web") && !s.allows("managesieve"));
        assert_eq!(Scopes::ALL.to_string(), "imap,pop3,smtp,managesieve");
        assert!(
            !Scopes::ALL.allows("web"),
            "app passwords never open the web login"
        );
        assert!(Scopes::parse("imap,ftp").is_err());
        assert!(Scopes::parse(" , ").is_err());
    }

    #[test]
    fn client_id_keeps_name_version_os_sanitised_and_bounded() {
        let long = "x".repeat(300);
        let id = ClientId::from_id_pairs([
            ("NAME", Some("Thunder\r\nbird")),
            ("version", Some("128.0")),
            ("os", Some(long.as_str())),
            ("vendor", Some("ignored")),
            ("support-url", None),
        ]);
        assert_eq!(id.name, "Thunderbird");
        assert_eq!(id.version, "128.0");
        assert_eq!(id.os.len(), 64);
        assert!(ClientId::from_id_pairs([("vendor", Some("x"))]).is_empty());
    }

    #[test]
    fn coalescer_lets_a_key_through_once_per_interval_and_stays_bounded() {
        let mut c = Coalescer::new(Duration::from_secs(60), 3);
        let t0 = Instant::now();
        assert!(c.due("a".into(), t0));
        assert!(!c.due("a".into(), t0 + Duration::from_secs(59)));
        assert!(c.due("a".into(), t0 + Duration::from_secs(60)));
        for (i, k) in ["b", "c", "d", "e"].into_iter().enumerate() {
            assert!(c.due(k.into(), t0 + Duration::from_secs(61 + i as u64)));
            assert!(c.seen.len() <= 3);
        }
    }
}
