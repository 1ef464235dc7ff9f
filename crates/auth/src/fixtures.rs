//! Test fixtures shared by the directory and login tests: a small user
//! base on a `MemoryBackend` (and `MemoryAccounts`), cheap hashes and a
//! fast throttling config.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::accounts::memory::MemoryAccounts;
use crate::{
    AuthConfig, AuthOutcome, Directory, MemoryBackend, Principal, Secret,
    hash_password_cheap_for_tests,
};

pub(crate) const MS: Duration = Duration::from_millis(1);
pub(crate) const IP_A: &str = "192.0.2.1";
pub(crate) const IP_B: &str = "192.0.2.2";

pub(crate) fn pw(s: &str) -> Secret<String> {
    Secret::new(s.to_owned())
}

pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

pub(crate) fn cheap(s: &str) -> String {
    hash_password_cheap_for_tests(&pw(s)).expect("cheap hash")
}

/// Delays of 100, 200, 300 ms after two failures; lockout at five.
pub(crate) fn fast_cfg() -> AuthConfig {
    AuthConfig {
        max_concurrent_hashes: 2,
        failures_before_delay: 2,
        delay_step: 100 * MS,
        max_delay: 300 * MS,
        lockout_after: 5,
        lockout_for: Duration::from_secs(60),
        failure_window: Duration::from_secs(600),
        cache_ttl: Duration::from_secs(30),
        ..AuthConfig::default()
    }
}

/// alice (1, password "right"), bob (2, "bobpw"), carol (3, "carolpw",
/// disabled), all on example.org with cheap hashes.
pub(crate) fn setup(cfg: AuthConfig) -> (Directory, Arc<MemoryBackend>) {
    let (b, dummy) = users();
    let dir = Directory::new_with_dummy_hash(b.clone(), cfg, dummy);
    (dir, b)
}

/// Like [`setup`], with app passwords, TOTP and devices kept in memory.
pub(crate) fn setup_with_accounts(cfg: AuthConfig) -> (Directory, Arc<MemoryAccounts>) {
    let (b, dummy) = users();
    let accounts = Arc::new(MemoryAccounts::default());
    let dir = Directory::new_with_dummy_hash_and_accounts(b, cfg, dummy, accounts.clone());
    (dir, accounts)
}

/// The users of [`setup`] and the dummy hash to verify for unknown ones.
fn users() -> (Arc<MemoryBackend>, String) {
    let b = Arc::new(MemoryBackend::new());
    b.add_domain("example.org");
    b.add_user("alice@example.org", "Alice", &cheap("right"));
    b.add_user("bob@example.org", "Bob", &cheap("bobpw"));
    let carol = b.add_user("carol@example.org", "Carol", &cheap("carolpw"));
    b.set_disabled(carol, true);
    b.add_alias(
        "team@example.org",
        &["alice@example.org", "bob@example.org"],
    );
    (b, cheap("dummy"))
}

pub(crate) async fn login(dir: &Directory, from: &str, user: &str, pass: &str) -> AuthOutcome {
    dir.authenticate("imap", ip(from), user, &pw(pass)).await
}

pub(crate) fn alice() -> AuthOutcome {
    AuthOutcome::Success(Principal {
        user_id: 1,
        address: "alice@example.org".to_owned(),
    })
}
