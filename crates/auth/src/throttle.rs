//! Per-address failure counting: growing delays, then lockout. Sans-IO: the
//! caller passes `now` and applies the returned delay, so tests need no clock.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use tokio::time::Instant;

use crate::AuthConfig;

/// Longest lockout we compute with, so `now + lockout_for` cannot overflow.
const MAX_LOCKOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// What failures are counted against: an IPv4 address, or the /64 network of
/// an IPv6 address (one host usually holds a whole /64, so per-address
/// counting would be trivially escaped). IPv4-mapped IPv6 counts as IPv4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ThrottleKey(IpAddr);

impl ThrottleKey {
    /// The key `ip` is counted under.
    pub(crate) fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let net = u128::from(v6) & !u128::from(u64::MAX);
                    Self(IpAddr::V6(Ipv6Addr::from(net)))
                }
            },
        }
    }
}

/// The failure record of one key.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Failures within the window (or leading to the current lockout).
    failures: u32,
    /// When the latest one happened; the window counts from here.
    last_failure: Instant,
    /// Set once `failures` reached `lockout_after`.
    locked_until: Option<Instant>,
}

/// The failure table; `Directory` keeps one behind a mutex.
#[derive(Debug)]
pub(crate) struct Throttle {
    failures_before_delay: u32,
    delay_step: Duration,
    max_delay: Duration,
    lockout_after: u32,
    lockout_for: Duration,
    failure_window: Duration,
    capacity: usize,
    entries: HashMap<ThrottleKey, Entry>,
}

impl Throttle {
    /// A table following `cfg` that tracks at most `capacity` keys.
    pub(crate) fn new(cfg: &AuthConfig, capacity: usize) -> Self {
        Self {
            failures_before_delay: cfg.failures_before_delay,
            delay_step: cfg.delay_step,
            max_delay: cfg.max_delay,
            lockout_after: cfg.lockout_after,
            lockout_for: cfg.lockout_for.min(MAX_LOCKOUT),
            failure_window: cfg.failure_window,
            capacity: capacity.max(1),
            entries: HashMap::new(),
        }
    }

    /// `Some(time left)` while `key` is locked out.
    pub(crate) fn locked(&mut self, key: ThrottleKey, now: Instant) -> Option<Duration> {
        let entry = self.entries.get(&key)?;
        if let Some(until) = entry.locked_until
            && until > now
        {
            return Some(until - now);
        }
        if self.is_stale(entry, now) {
            self.entries.remove(&key);
        }
        None
    }

    /// Counts a failure and returns how long to wait before answering it.
    pub(crate) fn record_failure(&mut self, key: ThrottleKey, now: Instant) -> Duration {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.make_room(now);
        }
        let stale = self
            .entries
            .get(&key)
            .is_some_and(|e| self.is_stale(e, now));
        let entry = self.entries.entry(key).or_insert(Entry {
            failures: 0,
            last_failure: now,
            locked_until: None,
        });
        if stale {
            entry.failures = 0;
            entry.locked_until = None;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        if self.lockout_after > 0
            && entry.failures >= self.lockout_after
            && entry.locked_until.is_none()
        {
            entry.locked_until = Some(now + self.lockout_for);
        }
        let beyond = entry.failures.saturating_sub(self.failures_before_delay);
        self.delay_step.saturating_mul(beyond).min(self.max_delay)
    }

    /// Forgets `key`'s failures after a successful login from it.
    pub(crate) fn record_success(&mut self, key: ThrottleKey) {
        self.entries.remove(&key);
    }

    /// An entry whose lockout is over, or whose last failure left the window.
    fn is_stale(&self, e: &Entry, now: Instant) -> bool {
        match e.locked_until {
            Some(until) => until <= now,
            None => now.saturating_duration_since(e.last_failure) > self.failure_window,
        }
    }

    /// Drops stale entries, then if still full the oldest eighth, so that
    /// the scan is paid once per many insertions.
    fn make_room(&mut self, now: Instant) {
        let mut entries = std::mem::take(&mut self.entries);
        entries.retain(|_, e| !self.is_stale(e, now));
        if entries.len() >= self.capacity {
            let keep = self.capacity - self.capacity / 8 - 1;
            let mut by_age: Vec<(Instant, ThrottleKey)> =
                entries.iter().map(|(k, e)| (e.last_failure, *k)).collect();
            by_age.sort_unstable_by_key(|(t, _)| *t);
            let excess = entries.len().saturating_sub(keep);
            for (_, k) in by_age.into_iter().take(excess) {
                entries.remove(&k);
            }
        }
        self.entries = entries;
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn cfg() -> AuthConfig {
        AuthConfig {
            failures_before_delay: 2,
            delay_step: S,
            max_delay: 3 * S,
            lockout_after: 6,
            lockout_for: 60 * S,
            failure_window: 100 * S,
            ..AuthConfig::default()
        }
    }

    fn key(s: &str) -> ThrottleKey {
        ThrottleKey::of(s.parse().expect("test address"))
    }

    #[test]
    fn delays_grow_per_failure_then_cap() {
        let mut t = Throttle::new(&cfg(), 10);
        let now = Instant::now();
        let k = key("192.0.2.1");
        let delays: Vec<_> = (0..5).map(|_| t.record_failure(k, now)).collect();
        assert_eq!(delays, [Duration::ZERO, Duration::ZERO, S, 2 * S, 3 * S]);
        assert_eq!(t.locked(k, now), None);
    }

    #[test]
    fn lockout_starts_at_the_threshold_and_ends_after_lockout_for() {
        let mut t = Throttle::new(&cfg(), 10);
        let start = Instant::now();
        let k = key("192.0.2.1");
        for _ in 0..5 {
            t.record_failure(k, start);
        }
        assert_eq!(t.locked(k, start), None);
        t.record_failure(k, start);
        assert_eq!(t.locked(k, start), Some(60 * S));
        assert_eq!(t.locked(k, start + 59 * S), Some(S));
        assert_eq!(t.locked(k, start + 60 * S), None);
        // After the lockout the address starts from zero.
        assert_eq!(t.record_failure(k, start + 61 * S), Duration::ZERO);
    }

    #[test]
    fn lockout_zero_never_locks() {
        let mut t = Throttle::new(
            &AuthConfig {
                lockout_after: 0,
                ..cfg()
            },
            10,
        );
        let now = Instant::now();
        let k = key("192.0.2.1");
        for _ in 0..100 {
            t.record_failure(k, now);
        }
        assert_eq!(t.locked(k, now), None);
    }

    #[test]
    fn failures_older_than_the_window_are_forgotten() {
        let mut t = Throttle::new(&cfg(), 10);
        let start = Instant::now();
        let k = key("192.0.2.1");
        for _ in 0..4 {
            t.record_failure(k, start);
        }
        assert_eq!(t.record_failure(k, start + 101 * S), Duration::ZERO);
        assert_eq!(t.record_failure(k, start + 102 * S), Duration::ZERO);
        assert_eq!(t.record_failure(k, start + 103 * S), S);
    }

    #[test]
    fn success_clears_only_that_address() {
        let mut t = Throttle::new(&cfg(), 10);
        let now = Instant::now();
        let (a, b) = (key("192.0.2.1"), key("192.0.2.2"));
        for _ in 0..3 {
            t.record_failure(a, now);
            t.record_failure(b, now);
        }
        t.record_success(a);
        assert_eq!(t.record_failure(a, now), Duration::ZERO);
        assert_eq!(t.record_failure(b, now), 2 * S);
    }

    #[test]
    fn ipv6_is_counted_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), key("2001:db8:1:2::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
    }

    #[test]
    fn table_stays_bounded_evicting_oldest_first() {
        let mut t = Throttle::new(&cfg(), 16);
        let start = Instant::now();
        for i in 0..200u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0xC000_0200 + i));
            t.record_failure(
                ThrottleKey::of(ip),
                start + Duration::from_millis(u64::from(i)),
            );
            assert!(t.len() <= 16, "len {} after {i}", t.len());
        }
        // The newest address survived the evictions.
        let newest = ThrottleKey::of(IpAddr::V4(std::net::Ipv4Addr::from(0xC000_0200 + 199)));
        assert!(t.entries.contains_key(&newest));
    }

    #[test]
    fn stale_entries_are_evicted_before_live_ones() {
        let mut t = Throttle::new(&cfg(), 2);
        let start = Instant::now();
        let (old, live, new) = (key("192.0.2.1"), key("192.0.2.2"), key("192.0.2.3"));
        t.record_failure(old, start);
        t.record_failure(live, start + 50 * S);
        t.record_failure(new, start + 120 * S);
        assert!(!t.entries.contains_key(&old));
        assert!(t.entries.contains_key(&live));
        assert!(t.entries.contains_key(&new));
    }
}
