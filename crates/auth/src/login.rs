//! Login: `Directory::authenticate` with throttling, bounded argon2 on the
//! blocking pool, the success cache and the fail2ban log line.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::accounts::app_passwords::app_password_hash;
use crate::cache::CacheKey;
use crate::directory::lock;
use crate::password::verify_password;
use crate::throttle::ThrottleKey;
use crate::{AbuseKind, Directory, Secret, UserRecord, normalize_address};

/// Longest username written to the log, in characters.
const MAX_LOGGED_USERNAME: usize = 128;

/// The answer to a login attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The password is right and the user may log in.
    Success(Principal),
    /// Wrong password, unknown or disabled user: the client is not told which.
    Failed,
    /// This address failed too often; refused without checking the password.
    Throttled {
        /// When the lockout ends.
        retry_after: Duration,
    },
    /// We could not decide (backend down, hashing task lost): try again later.
    TempFail,
}

/// Who logged in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The user's id.
    pub user_id: i64,
    /// The user's primary address (normalised), whatever case was typed.
    pub address: String,
}

/// Why a login failed, for the debug log only (the client and the warn line
/// never say).
#[derive(Clone, Copy, Debug)]
pub(crate) enum FailReason {
    InvalidUsername,
    UnknownUser,
    Disabled,
    WrongPassword,
    /// A valid app password, for a protocol outside its scopes.
    OutOfScope,
    /// The account password on a mail protocol while TOTP is on.
    PasswordWithTotp,
    /// A wrong, replayed or used TOTP or recovery code.
    WrongSecondFactor,
    /// A bearer token that was malformed, refused, or names nobody here.
    BadToken,
}

/// What the account security rows say about a login before argon2.
enum Gate {
    /// A valid app password for this protocol.
    AppPassword(i64),
    /// A valid app password outside its scopes.
    OutOfScope,
    /// Only the account password can open it; `refused` when TOTP keeps it
    /// off the mail protocols.
    Password {
        refused: bool,
    },
    TempFail,
}

/// The protocols app passwords open and TOTP keeps the account password off.
fn is_mail_protocol(proto: &str) -> bool {
    matches!(proto, "imap" | "pop3" | "smtp" | "managesieve")
}

/// Counts a login on `postern_logins_total{proto, result}`. SMTP logins are
/// submission's (port 25 offers no AUTH). Literal labels: a static metric
/// key, no allocation per login.
pub(crate) fn count_login(proto: &str, outcome: &AuthOutcome) {
    macro_rules! count {
        ($proto:literal) => {
            match outcome {
                AuthOutcome::Success(_) => metrics::counter!("postern_logins_total", "proto" => $proto, "result" => "ok"),
                AuthOutcome::Failed => metrics::counter!("postern_logins_total", "proto" => $proto, "result" => "failed"),
                AuthOutcome::Throttled { .. } => metrics::counter!("postern_logins_total", "proto" => $proto, "result" => "throttled"),
                AuthOutcome::TempFail => metrics::counter!("postern_logins_total", "proto" => $proto, "result" => "tempfail"),
            }
            .increment(1)
        };
    }
    match proto {
        "smtp" => count!("smtp-submission"),
        "imap" => count!("imap"),
        "pop3" => count!("pop3"),
        "managesieve" => count!("managesieve"),
        _ => count!("other"),
    }
}

/// A peer-supplied string made safe for one log line: control characters
/// (CR, LF, ESC, ...) removed, at most 128 characters kept.
/// The fail2ban line for one failure, exactly as logged at warn:
/// `auth failed: proto=imap ip=192.0.2.7 user=name` (IPv4-mapped addresses
/// shown as IPv4, the user without control characters and cut at 128).
fn failure_line(proto: &str, ip: IpAddr, username: &str) -> String {
    format!(
        "auth failed: proto={} ip={} user={}",
        loggable(proto),
        ip.to_canonical(),
        loggable(username)
    )
}

pub(crate) fn loggable(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_LOGGED_USERNAME)
        .collect()
}

impl Directory {
    /// Checks a login by full address and password, from `ip` over `proto`
    /// (`"imap"`, `"smtp"`, `"pop3"`; used in the log line).
    ///
    /// - An address locked out gets `Throttled` with no password check.
    /// - The user is looked up; unknown, invalid and disabled usernames still
    ///   cost one argon2 verification, so timing does not tell them apart.
    /// - A recent success with the same user, stored hash and password (the
    ///   cache) skips argon2.
    /// - Argon2 runs on the blocking pool, at most `max_concurrent_hashes` at
    ///   once; an attempt waiting for its turn re-checks the lockout.
    /// - A failure logs `auth failed: proto=.. ip=.. user=..` at warn, counts
    ///   against the address and may be answered after a delay.
    /// - The outcome goes to the abuse tracker: a failure or a throttled
    ///   attempt counts towards a block, a success makes the client trusted.
    pub async fn authenticate(
        &self,
        proto: &str,
        ip: IpAddr,
        username: &str,
        password: &Secret<String>,
    ) -> AuthOutcome {
        let outcome = self.check_login(proto, ip, username, password).await;
        self.settle_login(proto, ip, outcome).await
    }

    /// What every login's outcome is followed by, whatever proved it (a
    /// password or a bearer token): the metric, and the abuse tracker's
    /// record of the client.
    pub(crate) async fn settle_login(
        &self,
        proto: &str,
        ip: IpAddr,
        outcome: AuthOutcome,
    ) -> AuthOutcome {
        count_login(proto, &outcome);
        match &outcome {
            AuthOutcome::Success(_) => self.inner.abuse.login_succeeded(ip),
            AuthOutcome::Failed | AuthOutcome::Throttled { .. } => {
                self.inner
                    .abuse
                    .report(ip, AbuseKind::AuthFailure, proto)
                    .await;
            }
            AuthOutcome::TempFail => {}
        }
        outcome
    }

    async fn check_login(
        &self,
        proto: &str,
        ip: IpAddr,
        username: &str,
        password: &Secret<String>,
    ) -> AuthOutcome {
        let key = ThrottleKey::of(ip);
        if let Some(outcome) = self.throttled(key, proto, ip, username) {
            return outcome;
        }
        let address = normalize_address(username).ok();
        let record = match address.clone() {
            Some(a) => match self.on_backend(move |b, _| b.user_by_address(&a)).await {
                Ok(record) => record,
                Err(e) => {
                    error!(error = %e, proto, "auth: user lookup failed");
                    return AuthOutcome::TempFail;
                }
            },
            None => None,
        };
        // What to verify: the user's hash even when disabled (same cost as
        // an enabled user), the dummy when there is no user.
        let (phc, user, reason) = match record {
            Some(r) if !r.disabled => (r.password_hash.clone(), Some(r), FailReason::WrongPassword),
            Some(r) => (r.password_hash, None, FailReason::Disabled),
            None if address.is_some() => {
                (self.inner.dummy_hash.clone(), None, FailReason::UnknownUser)
            }
            None => (
                self.inner.dummy_hash.clone(),
                None,
                FailReason::InvalidUsername,
            ),
        };
        let (user, reason) = match user {
            Some(u) => match self.gate(&u, proto, password).await {
                Gate::AppPassword(id) => {
                    self.record_app_password_use(id, ip);
                    return self.succeed(key, u, None, proto, ip, "app-password");
                }
                Gate::OutOfScope => {
                    return self
                        .fail(key, proto, ip, username, FailReason::OutOfScope)
                        .await;
                }
                // Still one argon2, so timing does not tell that TOTP is on.
                Gate::Password { refused: true } => (None, FailReason::PasswordWithTotp),
                Gate::Password { refused: false } => (Some(u), reason),
                Gate::TempFail => return AuthOutcome::TempFail,
            },
            None => (None, reason),
        };

        let digest = match &user {
            Some(u) if !self.inner.cfg.cache_ttl.is_zero() => {
                Some(lock(&self.inner.cache).digest(&u.address, &phc, password))
            }
            _ => None,
        };
        let cached = digest.is_some_and(|d| lock(&self.inner.cache).hit(&d, Instant::now()));
        if cached && let Some(u) = user {
            return self.succeed(key, u, None, proto, ip, "cache");
        }

        let verified = match self.verify(phc, password, key, proto, ip, username).await {
            Ok(verified) => verified,
            Err(outcome) => return outcome,
        };
        match user {
            Some(u) if verified => self.succeed(key, u, digest, proto, ip, "argon2"),
            _ => self.fail(key, proto, ip, username, reason).await,
        }
    }

    /// App passwords and the TOTP rule, for an enabled user: a password of
    /// an app password's shape is looked up by hash (never cached, so a
    /// revoked one fails at once); the TOTP state is read only when it
    /// matters (a mail protocol with `password_on_mail_with_totp` off).
    async fn gate(&self, user: &UserRecord, proto: &str, password: &Secret<String>) -> Gate {
        let mail = is_mail_protocol(proto);
        let app_hash = mail.then(|| app_password_hash(password)).flatten();
        let totp_matters = mail && !self.inner.cfg.password_on_mail_with_totp;
        if app_hash.is_none() && !totp_matters {
            return Gate::Password { refused: false };
        }
        match self.inner.accounts.login_state(user.id, app_hash).await {
            Ok(state) => match state.app_password {
                Some(a) if a.scopes.allows(proto) => Gate::AppPassword(a.id),
                Some(_) => Gate::OutOfScope,
                None => Gate::Password {
                    refused: totp_matters && state.totp_active,
                },
            },
            Err(e) => {
                error!(error = %e, proto, "auth: account state lookup failed");
                Gate::TempFail
            }
        }
    }

    /// `Some(Throttled)` (logged) while `key` is locked out.
    pub(crate) fn throttled(
        &self,
        key: ThrottleKey,
        proto: &str,
        ip: IpAddr,
        user: &str,
    ) -> Option<AuthOutcome> {
        let retry_after = lock(&self.inner.throttle).locked(key, Instant::now())?;
        warn!(
            target: "postern_auth",
            "auth throttled: proto={} ip={} user={} retry_after={}s",
            loggable(proto),
            ip.to_canonical(),
            loggable(user),
            retry_after.as_secs()
        );
        Some(AuthOutcome::Throttled { retry_after })
    }

    /// Runs one argon2 verification under the hashing bound.
    async fn verify(
        &self,
        phc: String,
        password: &Secret<String>,
        key: ThrottleKey,
        proto: &str,
        ip: IpAddr,
        user: &str,
    ) -> Result<bool, AuthOutcome> {
        let Ok(_permit) = self.inner.hashing.acquire().await else {
            error!(proto, "auth: hashing semaphore closed");
            return Err(AuthOutcome::TempFail);
        };
        // Attempts queued behind the bound may find their address locked
        // out by the time their turn comes; they must not hash.
        if let Some(outcome) = self.throttled(key, proto, ip, user) {
            return Err(outcome);
        }
        let inner = Arc::clone(&self.inner);
        let password = password.clone();
        let joined = tokio::task::spawn_blocking(move || {
            inner.verifications.fetch_add(1, Ordering::Relaxed);
            verify_password(&phc, &password)
        })
        .await;
        joined.map_err(|e| {
            error!(error = %e, proto, "auth: hashing task failed");
            AuthOutcome::TempFail
        })
    }

    /// Records a success: clears the address's failures, caches, logs.
    pub(crate) fn succeed(
        &self,
        key: ThrottleKey,
        user: UserRecord,
        digest: Option<CacheKey>,
        proto: &str,
        ip: IpAddr,
        via: &str,
    ) -> AuthOutcome {
        lock(&self.inner.throttle).record_success(key);
        self.record_login(user.id, proto, ip);
        if let Some(d) = digest {
            lock(&self.inner.cache).insert(d, Instant::now());
        }
        info!(
            target: "postern_auth",
            "auth ok: proto={} ip={} user={} via={via}",
            loggable(proto),
            ip.to_canonical(),
            user.address
        );
        AuthOutcome::Success(Principal {
            user_id: user.id,
            address: user.address,
        })
    }

    /// Records a failure: one warn line, the count, then the delay.
    pub(crate) async fn fail(
        &self,
        key: ThrottleKey,
        proto: &str,
        ip: IpAddr,
        username: &str,
        reason: FailReason,
    ) -> AuthOutcome {
        let delay = lock(&self.inner.throttle).record_failure(key, Instant::now());
        warn!(target: "postern_auth", "{}", failure_line(proto, ip, username));
        debug!(?reason, delay_ms = delay.as_millis(), "auth failure detail");
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        AuthOutcome::Failed
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::AuthConfig;
    use crate::fixtures::*;

    #[tokio::test]
    async fn right_password_succeeds_whatever_the_case_of_the_address() {
        let (dir, _) = setup(fast_cfg());
        assert_eq!(
            login(&dir, IP_A, "alice@example.org", "right").await,
            alice()
        );
        assert_eq!(
            login(&dir, IP_A, " Alice@EXAMPLE.org", "right").await,
            alice()
        );
    }

    #[tokio::test]
    async fn wrong_password_fails() {
        let (dir, _) = setup(fast_cfg());
        assert_eq!(
            login(&dir, IP_A, "alice@example.org", "wrong").await,
            AuthOutcome::Failed
        );
        assert_eq!(
            login(&dir, IP_A, "alice@example.org", "").await,
            AuthOutcome::Failed
        );
        assert_eq!(dir.password_verifications(), 2);
    }

    #[tokio::test]
    async fn unknown_invalid_and_disabled_users_still_cost_one_verification() {
        let (dir, _) = setup(AuthConfig {
            cache_ttl: Duration::ZERO,
            ..fast_cfg()
        });
        for user in ["nobody@example.org", "not an address", "carol@example.org"] {
            let before = dir.password_verifications();
            // Each case from its own address, so no delay builds up.
            let from = format!("198.51.100.{}", before + 1);
            assert_eq!(
                login(&dir, &from, user, "carolpw").await,
                AuthOutcome::Failed,
                "{user}"
            );
            assert_eq!(dir.password_verifications(), before + 1, "{user}");
        }
        // Same count as a known user with a wrong password.
        let before = dir.password_verifications();
        login(&dir, IP_B, "alice@example.org", "wrong").await;
        assert_eq!(dir.password_verifications(), before + 1);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_beyond_the_threshold_are_answered_later_and_later() {
        let (dir, _) = setup(AuthConfig {
            lockout_after: 0,
            ..fast_cfg()
        });
        let mut delays = Vec::new();
        for _ in 0..6 {
            let start = Instant::now();
            assert_eq!(
                login(&dir, IP_A, "alice@example.org", "wrong").await,
                AuthOutcome::Failed
            );
            delays.push(start.elapsed());
        }
        let want: Vec<Duration> = [0, 0, 100, 200, 300, 300].iter().map(|&n| n * MS).collect();
        assert_eq!(delays, want);
    }

    #[tokio::test(start_paused = true)]
    async fn locked_out_address_is_throttled_without_hashing_until_lockout_ends() {
        let (dir, _) = setup(fast_cfg());
        for _ in 0..5 {
            assert_eq!(
                login(&dir, IP_A, "alice@example.org", "wrong").await,
                AuthOutcome::Failed
            );
        }
        let hashed = dir.password_verifications();
        let outcome = login(&dir, IP_A, "alice@example.org", "right").await;
        let AuthOutcome::Throttled { retry_after } = outcome else {
            panic!("expected Throttled, got {outcome:?}");
        };
        assert!(retry_after <= Duration::from_secs(60) && retry_after > Duration::from_secs(59));
        assert_eq!(
            dir.password_verifications(),
            hashed,
            "no argon2 while locked out"
        );
        // Other addresses are not affected, loopback included.
        assert_eq!(
            login(&dir, IP_B, "alice@example.org", "right").await,
            alice()
        );
        assert_eq!(
            login(&dir, "127.0.0.1", "alice@example.org", "right").await,
            alice()
        );
        tokio::time::advance(retry_after).await;
        assert_eq!(
            login(&dir, IP_A, "alice@example.org", "right").await,
            alice()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn loopback_is_throttled_like_any_address() {
        let (dir, _) = setup(fast_cfg());
        for _ in 0..5 {
            login(&dir, "::1", "alice@example.org", "wrong").await;
        }
        let outcome = login(&dir, "::1", "alice@example.org", "right").await;
        assert!(
            matches!(outcome, AuthOutcome::Throttled { .. }),
            "{outcome:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn success_clears_only_its_own_address() {
        let (dir, _) = setup(fast_cfg());
        for from in [IP_A, IP_B] {
            for _ in 0..3 {
                login(&dir, from, "alice@example.org", "wrong").await;
            }
        }
        assert_eq!(
            login(&dir, IP_A, "alice@example.org", "right").await,
            alice()
        );
        let start = Instant::now();
        login(&dir, IP_A, "alice@example.org", "wrong").await;
        assert_eq!(start.elapsed(), Duration::ZERO, "A starts over");
        let start = Instant::now();
        login(&dir, IP_B, "alice@example.org", "wrong").await;
        assert_eq!(start.elapsed(), 200 * MS, "B keeps its count");
    }

    #[tokio::test(start_paused = true)]
    async fn cache_skips_argon2_until_ttl_and_never_caches_failures() {
        let (dir, _) = setup(fast_cfg());
        assert_eq!(
            login(&dir, IP_A, "alice@example.org", "right").await,
            alice()
        );
        assert_eq!(dir.password_verifications(), 1);
        assert_eq!(
            login(&dir, IP_B, "ALICE@example.org", "right").await,
            alice()
        );
        assert_eq!(dir.password_verifications(), 1, "cache hit");
        assert_eq!(
            login(&dir, IP_A, "alice@example.org", "wrong").await,
            AuthOutcome::Failed
        );
        assert_eq!(
            login(&dir, IP_A, "alice@example.org", "wrong").await,
            AuthOutcome::Failed
        );
        assert_eq!(dir.password_verifications(), 3, "failures always hash");
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(
            login(&dir, IP_A, "alice@example.org", "right").await,
            alice()
        );
        assert_eq!(dir.password_verifications(), 4, "expired entry");
    }

    #[tokio::test]
    async fn password_change_invalidates_the_cache() {
        let (dir, b) = setup(fast_cfg());
        assert_eq!(
            login(&dir, IP_A, "alice@example.org", "right").await,
            alice()
        );
        b.set_password_hash(1, &cheap("new"));
        assert_eq!(
            login(&dir, IP_A, "alice@example.org", "right").await,
            AuthOutcome::Failed
        );
        assert_eq!(login(&dir, IP_A, "alice@example.org", "new").await, alice());
        assert_eq!(dir.password_verifications(), 3);
    }

    #[tokio::test]
    async fn disabling_a_user_takes_effect_despite_the_cache() {
        let (dir, b) = setup(fast_cfg());
        assert_eq!(
            login(&dir, IP_A, "alice@example.org", "right").await,
            alice()
        );
        b.set_disabled(1, true);
        assert_eq!(
            login(&dir, IP_A, "alice@example.org", "right").await,
            AuthOutcome::Failed
        );
    }

    #[tokio::test]
    async fn zero_ttl_disables_the_cache() {
        let (dir, _) = setup(AuthConfig {
            cache_ttl: Duration::ZERO,
            ..fast_cfg()
        });
        for _ in 0..2 {
            assert_eq!(
                login(&dir, IP_A, "alice@example.org", "right").await,
                alice()
            );
        }
        assert_eq!(dir.password_verifications(), 2);
    }

    #[tokio::test]
    async fn backend_failure_is_tempfail_and_not_counted() {
        let (dir, b) = setup(fast_cfg());
        b.set_failing(Some("database locked"));
        for _ in 0..10 {
            assert_eq!(
                login(&dir, IP_A, "alice@example.org", "right").await,
                AuthOutcome::TempFail
            );
        }
        assert_eq!(dir.password_verifications(), 0);
        assert!(dir.resolve_recipient("alice@example.org").await.is_err());
        assert!(dir.is_local_domain("example.org").await.is_err());
        b.set_failing(None);
        assert_eq!(
            login(&dir, IP_A, "alice@example.org", "right").await,
            alice()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn hashing_waits_for_a_permit() {
        let (dir, _) = setup(AuthConfig {
            max_concurrent_hashes: 1,
            ..fast_cfg()
        });
        let permit = dir.inner.hashing.acquire().await.expect("semaphore open");
        let d = dir.clone();
        let task = tokio::spawn(async move { login(&d, IP_A, "alice@example.org", "right").await });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!task.is_finished());
        assert_eq!(dir.password_verifications(), 0);
        drop(permit);
        assert_eq!(task.await.expect("task ran"), alice());
    }

    #[tokio::test(start_paused = true)]
    async fn attempt_queued_for_hashing_rechecks_the_lockout() {
        let (dir, _) = setup(AuthConfig {
            max_concurrent_hashes: 1,
            ..fast_cfg()
        });
        let permit = dir.inner.hashing.acquire().await.expect("semaphore open");
        let d = dir.clone();
        let task = tokio::spawn(async move { login(&d, IP_A, "alice@example.org", "right").await });
        tokio::time::sleep(Duration::from_secs(1)).await;
        {
            let mut t = lock(&dir.inner.throttle);
            for _ in 0..5 {
                t.record_failure(ThrottleKey::of(ip(IP_A)), Instant::now());
            }
        }
        drop(permit);
        let outcome = task.await.expect("task ran");
        assert!(
            matches!(outcome, AuthOutcome::Throttled { .. }),
            "{outcome:?}"
        );
        assert_eq!(dir.password_verifications(), 0);
    }

    // The line is tested as built rather than captured from a subscriber:
    // a thread-local subscriber in a parallel test run races tracing's global
    // callsite-interest cache and loses lines at random.
    #[test]
    fn the_fail2ban_line_is_stable_and_sanitised() {
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(
            failure_line("imap", mapped, "evil\r\nauth failed: ip=10.0.0.1\u{1b}[0m"),
            "auth failed: proto=imap ip=192.0.2.7 user=evilauth failed: ip=10.0.0.1[0m"
        );
        let v6: IpAddr = "2001:db8::5".parse().expect("ip");
        assert_eq!(
            failure_line("pop3", v6, &"a".repeat(300)),
            format!(
                "auth failed: proto=pop3 ip=2001:db8::5 user={}",
                "a".repeat(128)
            )
        );
    }
}
