//! Postern's users, domains, aliases and logins: who may log in, where mail
//! for an address goes, which senders a user may use, and the SASL
//! mechanisms (PLAIN, LOGIN) every protocol shares.
//!
//! # Implementation notes
//!
//! - **Storage is elsewhere.** This crate reads through [`DirectoryBackend`]
//!   (synchronous; the store implements it over SQLite) and calls it inside
//!   `spawn_blocking`. No SQL here. [`MemoryBackend`] and [`MemoryAccounts`]
//!   are for tests and tools.
//! - **Addresses are case-insensitive, local part included.** Every lookup
//!   key is [`normalize_address`]'s output: trimmed, lowercased (full
//!   Unicode lowercasing; no NFC normalisation and no IDNA, so a U-label and
//!   its `xn--` form are different domains). RFC 5321 §2.4 allows
//!   case-sensitive local parts; we choose not to have `Alice@` and `alice@`
//!   be two mailboxes. Quoted local parts and domain literals are refused.
//! - **Login is by full address** and passwords are argon2id PHC strings
//!   ([`hash_password`]; verification accepts any argon2 variant and takes
//!   the cost from the string).
//! - **Timing neutrality.** Unknown, invalid and disabled usernames still run
//!   one argon2 verification (a built-in dummy hash with the default cost for
//!   unknown ones, the user's own hash for disabled ones), and all failures
//!   look the same to the client and in the warn line.
//! - **Disabled users still receive mail.** Disabling stops logins only, so
//!   suspending an account does not bounce mail to it; delete the user (or
//!   its address) to refuse mail.
//! - **Hashing is bounded.** At most `max_concurrent_hashes` verifications
//!   run at once, on the blocking pool; the rest wait on a semaphore.
//! - **Throttling** counts failures per client address: an IPv4 address, or
//!   the /64 of an IPv6 one (IPv4-mapped counts as IPv4); loopback is not
//!   exempt. Failures older than `failure_window` are forgotten. Past
//!   `failures_before_delay` each failure is answered after `delay_step` per
//!   extra failure (capped at `max_delay`); at `lockout_after` the address is
//!   locked out for `lockout_for`, during which attempts get `Throttled`
//!   without any hashing (also attempts already queued for a hash). A success
//!   clears only its own address's count. The table holds at most 100,000
//!   addresses, evicting forgotten ones and then the oldest.
//! - **Logging for fail2ban.** Each failed login logs exactly one warn line,
//!   target `postern_auth`: `auth failed: proto=P ip=A user=U`, with `U`
//!   stripped of control characters and cut at 128 characters, `A` in
//!   canonical form (IPv4-mapped shown as IPv4). Refusals of a locked-out
//!   address log `auth throttled: ...` instead. Passwords are never logged.
//! - **Success cache** (Dovecot's `auth_cache` idea): after a successful
//!   verification, SHA-256(per-process random key ‖ user ‖ stored PHC ‖
//!   password) is kept for `cache_ttl` (at most 10,000 entries); the same
//!   triple then skips argon2. The stored hash is part of the key, so a
//!   password change makes old entries unreachable. The user record is
//!   always fetched first, so disabling a user takes effect at once. Failures
//!   are never cached. Trade-off: someone able to read process memory could
//!   test password guesses against live entries at SHA-256 speed, for at
//!   most `cache_ttl`.
//! - **Recipient resolution** is described on
//!   [`Directory::resolve_recipient`]: exact user, exact alias (recursive,
//!   depth-limited, cycle-safe, deduplicated, at most 1,000 targets looked
//!   at), plus-address base, catch-all, else unknown.
//! - **Abuse** ([`abuse`]): every login outcome is reported to the
//!   directory's [`Abuse`] tracker (failures and throttled attempts count
//!   towards an automatic block, successes make the client trusted); the
//!   protocols report their own abuse events to the same tracker
//!   ([`Directory::abuse`]). [`Directory::new`] has a disabled one.
//! - **Account security** ([`accounts`]): app passwords (scoped to mail
//!   protocols, hashed with SHA-256 since they are random, never cached),
//!   TOTP for the web login with recovery codes (once on, the account
//!   password no longer opens the mail protocols unless
//!   `password_on_mail_with_totp`), and each user's recent logins, written
//!   at most once per `record_interval` per key.
//! - **SASL** ([`sasl`]) is sans-IO: the protocol crates read lines, call
//!   [`decode_base64`], and feed PLAIN or the [`LoginExchange`]. An authzid
//!   other than the authcid is refused: no proxy authentication.
//! - **OAuth** ([`oauth`], off unless configured): OAUTHBEARER and XOAUTH2
//!   carry a bearer token from one OpenID Connect issuer, checked as a JWT
//!   against its JWKS or by introspection; its user claim must name an
//!   enabled user (or an alias of exactly one). Failures are throttled and
//!   logged like wrong passwords.

pub mod abuse;
pub mod accounts;
mod address;
mod backend;
mod cache;
mod config;
mod directory;
#[cfg(test)]
mod fixtures;
#[doc(hidden)]
pub mod fuzzing;
mod login;
pub mod oauth;
mod password;
mod resolve;
pub mod sasl;
mod secret;
mod throttle;

use thiserror::Error;

pub use abuse::{
    Abuse, AbuseConfig, AbuseKind, AbuseStore, BlockRecord, IpNet, IpNetError, StoreFuture,
};
pub use accounts::api::{
    CreatedAppPassword, MAX_APP_PASSWORD_NAME, RECOVERY_CODES, SecondFactor, TotpEnrollment,
    TotpStatus,
};
pub use accounts::memory::MemoryAccounts;
pub use accounts::{
    AccountError, AccountStore, AppPasswordRecord, ClientId, DeviceRecord, LoginState, Scopes,
    TotpRecord,
};
pub use address::{
    AddressError, MAX_DOMAIN, MAX_LABEL, MAX_LOCAL_PART, normalize_address, normalize_domain,
    split_plus,
};
pub use backend::{BackendError, DirectoryBackend, MemoryBackend, UserRecord};
pub use config::AuthConfig;
pub use directory::Directory;
pub use login::{AuthOutcome, Principal};
pub use oauth::sasl::{BearerMechanism, BearerRequest, BearerSyntaxError, decode_bearer};
pub use oauth::{Introspection, OAuth, OAuthConfig};
#[doc(hidden)]
pub use password::hash_password_cheap_for_tests;
pub use password::{hash_password, verify_password};
pub use resolve::{LocalRecipient, Resolution};
pub use sasl::{
    LoginExchange, LoginStep, PlainCredentials, SaslError, decode_base64, decode_plain,
    write_challenge,
};
pub use secret::Secret;

/// Failures of the directory itself (as opposed to a refused login, which is
/// an [`AuthOutcome`]). All are temporary from a client's point of view.
#[derive(Debug, Error)]
pub enum AuthError {
    /// The backend could not answer.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Argon2 refused to hash (bad parameters, RNG failure).
    #[error("password hashing: {0}")]
    Hash(String),
    /// A blocking task panicked or the runtime is shutting down.
    #[error("directory task failed: {0}")]
    Task(String),
}
