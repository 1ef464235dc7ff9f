//! Automatic blocking of abusive clients (fail2ban's idea, inside the
//! server): every protocol reports abuse events here (failed logins through
//! the directory itself; spam-trap recipients, the SMTP junk-command limit,
//! mail loops and sessions closed for too many errors from the protocol
//! crates); a client that reaches a class's threshold within the window is
//! blocked for `block_for`, unless it is allowlisted or logged in
//! successfully within `trusted_for`.
//!
//! Blocks live in the store (through [`AbuseStore`], which the binary
//! implements), because `postern block` runs in another process; the
//! server keeps the blocks in force in memory ([`Abuse::is_blocked`] costs
//! no I/O), reloads them with [`Abuse::refresh`] at a short interval, and
//! adds its own new blocks at once.

mod blocks;
mod counter;
mod net;

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::BackendError;
use crate::directory::lock;
use crate::login::loggable;
use blocks::BlockSet;
use counter::{Class, Counter};
pub use net::{IpNet, IpNetError};

/// A successful login is written to the store at most this often per
/// client, so clients that log in every few minutes cost no write each.
const LOGIN_RECORD_EVERY: i64 = 3600;

/// Settings of [`Abuse`]; the binary's `[abuse]` section maps onto this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbuseConfig {
    /// Off: nothing is counted or blocked automatically (manual blocks
    /// still refuse). Default on.
    pub enabled: bool,
    /// Events older than this no longer count. Default 1 h.
    pub window: Duration,
    /// Failed logins (any protocol) within the window that block; 0: never.
    /// Attempts refused while the login throttle locks the client out
    /// count too. Default 10.
    pub auth_failures: u32,
    /// RCPTs to a spam trap within the window that block; 0: never.
    /// Default 1.
    pub spam_trap_hits: u32,
    /// Protocol abuses (the SMTP junk-command limit, a mail loop, a
    /// session closed for too many errors) within the window that block;
    /// 0: never. Default 5.
    pub protocol_abuses: u32,
    /// How long an automatic block lasts. Default 1 day.
    pub block_for: Duration,
    /// A client (IPv4 address, IPv6 /64) that logged in successfully within
    /// this is never blocked automatically; zero: no such trust. Default
    /// 30 days.
    pub trusted_for: Duration,
    /// Networks never blocked (nor greylisted). Default loopback
    /// (`127.0.0.0/8`, `::1`), as fail2ban's `ignoreip`.
    pub allowlist: Vec<IpNet>,
    /// Addresses no real mail goes to (normalised): a RCPT to one counts.
    pub spam_traps: Vec<String>,
    /// Clients whose events are tracked at most; the least recently active
    /// are forgotten past it. Also bounds the clients whose last login is
    /// remembered in memory (the store keeps them all). Default 100,000.
    pub max_tracked: usize,
}

impl Default for AbuseConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window: Duration::from_secs(3600),
            auth_failures: 10,
            spam_trap_hits: 1,
            protocol_abuses: 5,
            block_for: Duration::from_secs(86_400),
            trusted_for: Duration::from_secs(30 * 86_400),
            allowlist: vec![
                IpNet::new(IpAddr::from([127, 0, 0, 0]), 8).expect("valid prefix"),
                IpNet::new(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), 128).expect("valid prefix"),
            ],
            spam_traps: Vec::new(),
            max_tracked: 100_000,
        }
    }
}

/// An abuse event a protocol reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbuseKind {
    /// A failed login (wrong password, unknown user, or an attempt while
    /// locked out).
    AuthFailure,
    /// A RCPT to a spam trap.
    SpamTrap,
    /// The SMTP session ended at the junk-command limit (`421 4.7.0`).
    JunkCommands,
    /// A message refused as a mail loop (`554 5.4.6`).
    MailLoop,
    /// A session closed for too many errors.
    TooManyErrors,
}

impl AbuseKind {
    fn class(self) -> Class {
        match self {
            AbuseKind::AuthFailure => Class::Auth,
            AbuseKind::SpamTrap => Class::Trap,
            AbuseKind::JunkCommands | AbuseKind::MailLoop | AbuseKind::TooManyErrors => {
                Class::Protocol
            }
        }
    }

    /// For the block's reason and the log.
    fn label(self) -> &'static str {
        match self {
            AbuseKind::AuthFailure => "failed login",
            AbuseKind::SpamTrap => "spam trap",
            AbuseKind::JunkCommands => "junk-command limit",
            AbuseKind::MailLoop => "mail loop",
            AbuseKind::TooManyErrors => "too many errors",
        }
    }
}

/// One block as [`AbuseStore`] keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRecord {
    pub net: IpNet,
    pub reason: String,
    /// Made by an administrator rather than by counting.
    pub manual: bool,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds; `None`: until removed.
    pub expires: Option<i64>,
}

/// The future an [`AbuseStore`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BackendError>> + Send + 'a>>;

/// Where blocks and logins are kept (the binary implements it over the
/// store). Writes are async: they go through the store's group commit.
pub trait AbuseStore: Send + Sync + 'static {
    /// Adds a block; an automatic one never replaces a manual one.
    fn add_block(&self, block: BlockRecord) -> StoreFuture<'_, ()>;
    /// The blocks in force at `now` (Unix seconds).
    fn active_blocks(&self, now: i64) -> StoreFuture<'_, Vec<BlockRecord>>;
    /// Records a successful login from `net` at `at`.
    fn record_login(&self, net: IpNet, at: i64) -> StoreFuture<'_, ()>;
    /// When `net` last logged in successfully.
    fn last_login(&self, net: IpNet) -> StoreFuture<'_, Option<i64>>;
}

/// The abuse tracker. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Abuse {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: AbuseConfig,
    store: Option<Arc<dyn AbuseStore>>,
    counter: Mutex<Counter>,
    blocked: RwLock<BlockSet>,
    /// Last known successful login per client (Unix seconds).
    logins: Mutex<HashMap<IpNet, i64>>,
    /// Blocks this process made that a reload may not see yet: being
    /// written, or whose write failed (kept until they expire).
    own: Mutex<Vec<OwnBlock>>,
}

struct OwnBlock {
    net: IpNet,
    expires: Option<i64>,
    /// When the store's commit returned; `None` while pending or failed.
    stored: Option<Instant>,
}

impl std::fmt::Debug for Abuse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Abuse")
            .field("cfg", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// `90s`, `10m`, `1h`, `2d`: a window or duration in a reason.
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

impl Abuse {
    /// A tracker over `store`.
    pub fn new(cfg: AbuseConfig, store: Arc<dyn AbuseStore>) -> Self {
        Self::build(cfg, Some(store))
    }

    /// A tracker that counts nothing and blocks nothing (tests, tools).
    pub fn disabled() -> Self {
        Self::build(
            AbuseConfig {
                enabled: false,
                allowlist: Vec::new(),
                ..AbuseConfig::default()
            },
            None,
        )
    }

    fn build(cfg: AbuseConfig, store: Option<Arc<dyn AbuseStore>>) -> Self {
        let counter = Counter::new(
            cfg.window,
            [cfg.auth_failures, cfg.spam_trap_hits, cfg.protocol_abuses],
            cfg.max_tracked,
        );
        Self {
            inner: Arc::new(Inner {
                cfg,
                store,
                counter: Mutex::new(counter),
                blocked: RwLock::new(BlockSet::default()),
                logins: Mutex::new(HashMap::new()),
                own: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn config(&self) -> &AbuseConfig {
        &self.inner.cfg
    }

    /// Whether `ip` is in the allowlist.
    pub fn is_allowlisted(&self, ip: IpAddr) -> bool {
        self.inner.cfg.allowlist.iter().any(|n| n.contains(ip))
    }

    /// Whether connections from `ip` are refused: a block in force and no
    /// allowlist entry. Memory only.
    pub fn is_blocked(&self, ip: IpAddr) -> bool {
        let blocked = self
            .inner
            .blocked
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(ip, unix_now());
        blocked && !self.is_allowlisted(ip)
    }

    /// Whether `address` (normalised) is a spam trap.
    pub fn is_spam_trap(&self, address: &str) -> bool {
        self.inner.cfg.spam_traps.iter().any(|t| t == address)
    }

    /// Reloads the blocks in force from the store (those `postern block`
    /// added or removed, and expiries); returns how many there are.
    pub async fn refresh(&self) -> Result<usize, BackendError> {
        let Some(store) = &self.inner.store else {
            return Ok(0);
        };
        let started = Instant::now();
        let now = unix_now();
        let rows = store.active_blocks(now).await?;
        let mut set = BlockSet::default();
        for b in rows {
            set.insert(b.net, b.expires);
        }
        // Our own blocks committed before this read began are in `rows`
        // (or were deleted since, by `postern block del`); the others
        // would be lost by the swap.
        let mut own = lock(&self.inner.own);
        own.retain(|o| o.stored.is_none_or(|t| t > started) && o.expires.is_none_or(|e| e > now));
        for o in own.iter() {
            set.insert(o.net, o.expires);
        }
        let n = set.len();
        *self
            .inner
            .blocked
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = set;
        Ok(n)
    }

    /// Counts one event from `ip` (`detail`: the protocol, or the trap
    /// address) and blocks the client when it reaches its threshold.
    /// Returns whether this event blocked it. A failure of the store is
    /// logged and the block kept in memory: abuse is stopped either way.
    pub async fn report(&self, ip: IpAddr, kind: AbuseKind, detail: &str) -> bool {
        let cfg = &self.inner.cfg;
        if !cfg.enabled || self.inner.store.is_none() || self.is_allowlisted(ip) {
            return false;
        }
        let key = IpNet::client(ip);
        let Some(count) = lock(&self.inner.counter).record(key, kind.class(), Instant::now())
        else {
            return false;
        };
        lock(&self.inner.counter).clear(key);
        if self.is_blocked(ip) {
            return false;
        }
        if let Some(at) = self.trusted(key).await {
            info!(
                target: "postern_auth",
                "not blocking: ip={key} logged in successfully at {at} (trusted); last: {}",
                kind.label()
            );
            return false;
        }
        let now = unix_now();
        let noun = match kind.class() {
            Class::Auth => "failed logins",
            Class::Trap => "spam trap hits",
            Class::Protocol => "protocol abuses",
        };
        let reason = format!(
            "{count} {noun} within {}; last: {} ({})",
            short_duration(cfg.window),
            kind.label(),
            loggable(detail)
        );
        let expires = now.saturating_add(secs(cfg.block_for));
        lock(&self.inner.own).push(OwnBlock {
            net: key,
            expires: Some(expires),
            stored: None,
        });
        self.inner
            .blocked
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, Some(expires));
        warn!(
            target: "postern_auth",
            "blocked: ip={key} for={} reason={reason}",
            short_duration(cfg.block_for)
        );
        let record = BlockRecord {
            net: key,
            reason,
            manual: false,
            created: now,
            expires: Some(expires),
        };
        if let Some(store) = &self.inner.store {
            match store.add_block(record).await {
                Ok(()) => {
                    let done = Instant::now();
                    for o in lock(&self.inner.own).iter_mut().filter(|o| o.net == key) {
                        o.stored = Some(done);
                    }
                }
                Err(e) => {
                    warn!(error = %e, ip = %key, "could not store the block; it holds in memory")
                }
            }
        }
        true
    }

    /// [`Abuse::report`] from code that cannot wait (a session closing on
    /// a synchronous path): the event is counted on a task of its own.
    pub fn report_detached(&self, ip: IpAddr, kind: AbuseKind, detail: &str) {
        if !self.inner.cfg.enabled || self.inner.store.is_none() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (this, detail) = (self.clone(), detail.to_string());
        rt.spawn(async move {
            this.report(ip, kind, &detail).await;
        });
    }

    /// Records a successful login from `ip`: remembered at once in memory,
    /// written to the store at most once an hour per client (on a task of
    /// its own, so the login does not wait for it).
    pub fn login_succeeded(&self, ip: IpAddr) {
        let Some(store) = self.inner.store.clone() else {
            return;
        };
        let key = IpNet::client(ip);
        let now = unix_now();
        {
            let mut logins = lock(&self.inner.logins);
            if logins
                .get(&key)
                .is_some_and(|&at| now - at < LOGIN_RECORD_EVERY)
            {
                return;
            }
            // Bounded as the event counter is (`max_tracked`); the store
            // still knows the logins forgotten here.
            if logins.len() >= self.inner.cfg.max_tracked.max(1) {
                logins.clear();
            }
            logins.insert(key, now);
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            if let Err(e) = store.record_login(key, now).await {
                warn!(error = %e, ip = %key, "could not record the login");
            }
        });
    }

    /// `Some(when)` if `key` logged in successfully within `trusted_for`.
    async fn trusted(&self, key: IpNet) -> Option<i64> {
        let window = secs(self.inner.cfg.trusted_for);
        if window == 0 {
            return None;
        }
        let since = unix_now().saturating_sub(window);
        let known = lock(&self.inner.logins).get(&key).copied();
        let at = match known {
            Some(at) => Some(at),
            None => match &self.inner.store {
                Some(store) => store.last_login(key).await.unwrap_or_else(|e| {
                    debug!(error = %e, ip = %key, "could not read the last login");
                    None
                }),
                None => None,
            },
        };
        at.filter(|&at| at >= since)
    }
}

#[cfg(test)]
mod tests;
