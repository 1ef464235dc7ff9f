//! The account security API on [`Directory`]: what the admin CLI and the
//! web console's account pages call (app passwords, TOTP, devices), and the
//! coalesced background writes the login path makes.
//!
//! Every function takes the directory's user id (`Principal::user_id`, the
//! store's `UserId`); none checks who is asking: the caller has
//! authenticated the user (or is the admin).

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;
use tracing::warn;

use super::app_passwords::{
    app_password_hash, generate_app_password, generate_recovery_code, recovery_code_hash,
};
use super::totp::{base32, generate_secret, matching_step, otpauth_uri, step_at};
use super::{AccountError, AppPasswordRecord, ClientId, DeviceRecord, Scopes};
use crate::directory::lock;
use crate::login::FailReason;
use crate::throttle::ThrottleKey;
use crate::{Directory, Secret};

/// Longest app password name, in characters.
pub const MAX_APP_PASSWORD_NAME: usize = 64;
/// Recovery codes made at each enrolment.
pub const RECOVERY_CODES: usize = 10;

/// A new app password: shown to the user once, then only its hash is kept.
#[derive(Debug)]
pub struct CreatedAppPassword {
    pub password: Secret<String>,
    pub record: AppPasswordRecord,
}

/// What a new enrolment shows the user once.
#[derive(Debug)]
pub struct TotpEnrollment {
    /// The shared secret in base32, for typing into an app.
    pub secret_base32: Secret<String>,
    /// The `otpauth://` URI, for a QR code or an app that imports it.
    pub uri: Secret<String>,
    /// Single-use codes for when the authenticator is lost.
    pub recovery_codes: Vec<Secret<String>>,
}

/// Where a user's TOTP stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TotpStatus {
    Off,
    /// Enrolled, waiting for a first code.
    Pending,
    Active {
        recovery_left: u32,
    },
}

/// The answer to a second-factor check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondFactor {
    /// A current code, or an unused recovery code (`recovery: true`; it is
    /// now used).
    Accepted { recovery: bool },
    /// Wrong, replayed or used code, or TOTP is not active.
    Refused,
    /// This address failed too often (the login throttle).
    Throttled { retry_after: std::time::Duration },
}

/// Runs a record write on the current tokio runtime without making the
/// login wait for it; outside a runtime (a caller driving `authenticate`
/// with another executor) the write is skipped rather than panicking.
fn in_background(write: impl std::future::Future<Output = ()> + Send + 'static) {
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(write);
    }
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn check_name(name: &str) -> Result<String, AccountError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_APP_PASSWORD_NAME
        || name.chars().any(char::is_control)
    {
        return Err(AccountError::Invalid(format!(
            "an app password's name is 1 to {MAX_APP_PASSWORD_NAME} printable characters"
        )));
    }
    Ok(name.to_owned())
}

impl Directory {
    /// Creates an app password named `name` for `scopes`; the password is in
    /// the answer and nowhere else. `Exists` when the name is taken.
    pub async fn app_password_create(
        &self,
        user_id: i64,
        name: &str,
        scopes: Scopes,
    ) -> Result<CreatedAppPassword, AccountError> {
        let name = check_name(name)?;
        let password = generate_app_password();
        let hash = app_password_hash(&password)
            .ok_or_else(|| AccountError::Invalid("generated password has no hash".into()))?;
        let record = self
            .inner
            .accounts
            .app_password_add(user_id, name.clone(), scopes, hash)
            .await?
            .ok_or_else(|| AccountError::Exists(format!("an app password named {name:?}")))?;
        Ok(CreatedAppPassword { password, record })
    }

    /// The user's app passwords, by name, with their last use.
    pub async fn app_password_list(
        &self,
        user_id: i64,
    ) -> Result<Vec<AppPasswordRecord>, AccountError> {
        Ok(self.inner.accounts.app_password_list(user_id).await?)
    }

    /// Revokes (deletes) the user's app password `name`; false when there
    /// is none. Logins with it fail from the next attempt on (app passwords
    /// are never cached); sessions already open stay open.
    pub async fn app_password_revoke(
        &self,
        user_id: i64,
        name: &str,
    ) -> Result<bool, AccountError> {
        Ok(self
            .inner
            .accounts
            .app_password_revoke(user_id, name.trim().to_owned())
            .await?)
    }

    /// Starts enrolling the user in TOTP: a new secret and recovery codes,
    /// inactive until [`Directory::totp_confirm`] sees a first code. Starting
    /// again replaces a pending enrolment; `Exists` while one is active
    /// (disable it first). `account` labels the entry in the app.
    pub async fn totp_enroll(
        &self,
        user_id: i64,
        account: &str,
    ) -> Result<TotpEnrollment, AccountError> {
        let secret = generate_secret();
        let codes: Vec<Secret<String>> = (0..RECOVERY_CODES)
            .map(|_| generate_recovery_code())
            .collect();
        let hashes = codes
            .iter()
            .filter_map(|c| recovery_code_hash(c.expose()))
            .collect();
        let enrollment = TotpEnrollment {
            secret_base32: Secret::new(base32(secret.expose())),
            uri: Secret::new(otpauth_uri(
                &self.inner.cfg.totp_issuer,
                account,
                secret.expose(),
            )),
            recovery_codes: codes,
        };
        if !self
            .inner
            .accounts
            .totp_begin(user_id, secret, hashes)
            .await?
        {
            return Err(AccountError::Exists(
                "TOTP is already on; disable it first".into(),
            ));
        }
        Ok(enrollment)
    }

    /// Confirms a pending enrolment with a current code; true when it is
    /// now active. False for a wrong code, or nothing pending (an active
    /// enrolment is left alone: logins check codes with `totp_verify`,
    /// behind the throttle).
    pub async fn totp_confirm(&self, user_id: i64, code: &str) -> Result<bool, AccountError> {
        let Some(t) = self.inner.accounts.totp_get(user_id).await? else {
            return Ok(false);
        };
        if t.confirmed {
            return Ok(false);
        }
        let now = step_at(u64::try_from(unix_now()).unwrap_or(0));
        let Some(step) = matching_step(t.secret.expose(), code, now) else {
            return Ok(false);
        };
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        Ok(self
            .inner
            .accounts
            .totp_take_step(user_id, step, true)
            .await?)
    }

    /// Where the user's TOTP stands.
    pub async fn totp_status(&self, user_id: i64) -> Result<TotpStatus, AccountError> {
        Ok(match self.inner.accounts.totp_get(user_id).await? {
            None => TotpStatus::Off,
            Some(t) if !t.confirmed => TotpStatus::Pending,
            Some(t) => TotpStatus::Active {
                recovery_left: t.recovery_left,
            },
        })
    }

    /// Whether the web login must ask this user for a second factor.
    pub async fn totp_is_enrolled(&self, user_id: i64) -> Result<bool, AccountError> {
        Ok(matches!(
            self.totp_status(user_id).await?,
            TotpStatus::Active { .. }
        ))
    }

    /// The second step of the web login: a current 6-digit code (each time
    /// step accepted once: RFC 6238 §5.2) or an unused recovery code (then
    /// used up). Refusals count against `ip` in the login throttle and log
    /// the fail2ban line with `proto=totp`; a locked-out address is refused
    /// without looking.
    pub async fn totp_verify(
        &self,
        ip: IpAddr,
        user_id: i64,
        code_or_recovery: &str,
    ) -> Result<SecondFactor, AccountError> {
        let key = ThrottleKey::of(ip);
        let who = format!("user#{user_id}");
        if let Some(crate::AuthOutcome::Throttled { retry_after }) =
            self.throttled(key, "totp", ip, &who)
        {
            return Ok(SecondFactor::Throttled { retry_after });
        }
        let accepted = self.second_factor(user_id, code_or_recovery).await?;
        match accepted {
            Some(recovery) => {
                lock(&self.inner.throttle).record_success(key);
                Ok(SecondFactor::Accepted { recovery })
            }
            None => {
                self.fail(key, "totp", ip, &who, FailReason::WrongSecondFactor)
                    .await;
                Ok(SecondFactor::Refused)
            }
        }
    }

    /// `Some(is_recovery)` when the code is accepted (and now used).
    async fn second_factor(&self, user_id: i64, typed: &str) -> Result<Option<bool>, AccountError> {
        let Some(t) = self.inner.accounts.totp_get(user_id).await? else {
            return Ok(None);
        };
        if !t.confirmed {
            return Ok(None);
        }
        let now = step_at(u64::try_from(unix_now()).unwrap_or(0));
        if let Some(step) = matching_step(t.secret.expose(), typed, now) {
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            let taken = self
                .inner
                .accounts
                .totp_take_step(user_id, step, false)
                .await?;
            return Ok(taken.then_some(false));
        }
        match recovery_code_hash(typed) {
            Some(h) => Ok(self
                .inner
                .accounts
                .totp_use_recovery(user_id, h)
                .await?
                .then_some(true)),
            None => Ok(None),
        }
    }

    /// Turns TOTP off (pending or active) and drops the recovery codes;
    /// false when it was off.
    pub async fn totp_disable(&self, user_id: i64) -> Result<bool, AccountError> {
        Ok(self.inner.accounts.totp_remove(user_id).await?)
    }

    /// The user's recent logins, newest first: protocol, address, what an
    /// IMAP client said it was, first and last time.
    pub async fn devices(&self, user_id: i64) -> Result<Vec<DeviceRecord>, AccountError> {
        Ok(self.inner.accounts.login_list(user_id).await?)
    }

    /// Records what a logged-in client said it was (IMAP `ID`) against its
    /// login row; in the background, at most once per `record_interval`
    /// per user, protocol, address and client.
    pub fn record_client(&self, user_id: i64, proto: &str, ip: IpAddr, client: ClientId) {
        self.record_device(user_id, proto, ip, client);
    }

    /// Records a successful login (from `succeed`), coalesced like
    /// [`Directory::record_client`].
    pub(crate) fn record_login(&self, user_id: i64, proto: &str, ip: IpAddr) {
        self.record_device(user_id, proto, ip, ClientId::default());
    }

    fn record_device(&self, user_id: i64, proto: &str, ip: IpAddr, client: ClientId) {
        let ip = ip.to_canonical();
        let key = format!(
            "login\0{user_id}\0{proto}\0{ip}\0{}\0{}\0{}",
            client.name, client.version, client.os
        );
        if !lock(&self.inner.recorded).due(key, Instant::now()) {
            return;
        }
        let now = unix_now();
        let row = DeviceRecord {
            user_id,
            proto: proto.to_owned(),
            ip: ip.to_string(),
            client,
            first_seen: now,
            last_seen: now,
        };
        let keep = self.inner.cfg.devices_per_user.max(1);
        let inner = std::sync::Arc::clone(&self.inner);
        in_background(async move {
            if let Err(e) = inner.accounts.login_record(row, keep).await {
                warn!(error = %e, "recording a login failed");
            }
        });
    }

    /// Records that app password `id` opened a session from `ip`, coalesced.
    pub(crate) fn record_app_password_use(&self, id: i64, ip: IpAddr) {
        if !lock(&self.inner.recorded).due(format!("app\0{id}"), Instant::now()) {
            return;
        }
        let inner = std::sync::Arc::clone(&self.inner);
        let at = unix_now();
        in_background(async move {
            if let Err(e) = inner
                .accounts
                .app_password_touch(id, at, ip.to_canonical())
                .await
            {
                warn!(error = %e, "recording an app password's use failed");
            }
        });
    }
}
