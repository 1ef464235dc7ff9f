//! Counting abuse events per client and class over a sliding window, as
//! fail2ban does (`maxretry` events within `findtime`). Sans-IO: the caller
//! passes `now`. Each client keeps at most `threshold` times per class (the
//! newest), so memory per client is bounded, and the table holds at most
//! `capacity` clients, evicting the least recently active.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use super::IpNet;

/// What events count towards one threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Class {
    Auth,
    Trap,
    Protocol,
}

const CLASSES: usize = 3;

impl Class {
    fn index(self) -> usize {
        match self {
            Class::Auth => 0,
            Class::Trap => 1,
            Class::Protocol => 2,
        }
    }
}

#[derive(Debug, Default)]
struct Entry {
    times: [VecDeque<Instant>; CLASSES],
    last: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct Counter {
    window: Duration,
    thresholds: [u32; CLASSES],
    capacity: usize,
    entries: HashMap<IpNet, Entry>,
}

impl Counter {
    /// `thresholds` per class (auth, trap, protocol); 0 counts nothing.
    pub(crate) fn new(window: Duration, thresholds: [u32; CLASSES], capacity: usize) -> Self {
        Self {
            window,
            thresholds,
            capacity: capacity.max(1),
            entries: HashMap::new(),
        }
    }

    /// Counts one event; `Some(count)` when it brings `key` to its class's
    /// threshold within the window.
    pub(crate) fn record(&mut self, key: IpNet, class: Class, now: Instant) -> Option<u32> {
        let threshold = self.thresholds[class.index()];
        if threshold == 0 {
            return None;
        }
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.make_room(now);
        }
        let window = self.window;
        let entry = self.entries.entry(key).or_default();
        entry.last = Some(now);
        let times = &mut entry.times[class.index()];
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > window)
        {
            times.pop_front();
        }
        times.push_back(now);
        let cap = usize::try_from(threshold).unwrap_or(usize::MAX);
        while times.len() > cap {
            times.pop_front();
        }
        (times.len() >= cap).then(|| u32::try_from(times.len()).unwrap_or(u32::MAX))
    }

    /// Forgets `key` (blocked, or found trusted).
    pub(crate) fn clear(&mut self, key: IpNet) {
        self.entries.remove(&key);
    }

    /// Drops clients idle past the window, then if still full the least
    /// recently active eighth, so the scan is paid once per many inserts.
    fn make_room(&mut self, now: Instant) {
        let window = self.window;
        let idle = |e: &Entry| {
            e.last
                .is_none_or(|t| now.saturating_duration_since(t) > window)
        };
        self.entries.retain(|_, e| !idle(e));
        if self.entries.len() >= self.capacity {
            let keep = self.capacity - self.capacity / 8 - 1;
            let mut by_age: Vec<(Option<Instant>, IpNet)> =
                self.entries.iter().map(|(k, e)| (e.last, *k)).collect();
            by_age.sort_unstable_by_key(|(t, _)| *t);
            let excess = self.entries.len().saturating_sub(keep);
            for (_, k) in by_age.into_iter().take(excess) {
                self.entries.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn key(s: &str) -> IpNet {
        IpNet::client(s.parse().expect("test address"))
    }

    #[test]
    fn threshold_within_the_window_is_reported() {
        let mut c = Counter::new(100 * S, [3, 1, 2], 10);
        let t = Instant::now();
        let k = key("192.0.2.1");
        assert_eq!(c.record(k, Class::Auth, t), None);
        assert_eq!(c.record(k, Class::Auth, t + S), None);
        assert_eq!(c.record(k, Class::Auth, t + 2 * S), Some(3));
        assert_eq!(c.record(key("192.0.2.2"), Class::Trap, t), Some(1));
    }

    #[test]
    fn events_older_than_the_window_do_not_count() {
        let mut c = Counter::new(100 * S, [3, 1, 2], 10);
        let t = Instant::now();
        let k = key("192.0.2.1");
        c.record(k, Class::Auth, t);
        c.record(k, Class::Auth, t + 50 * S);
        assert_eq!(c.record(k, Class::Auth, t + 120 * S), None, "first left");
        assert_eq!(c.record(k, Class::Auth, t + 121 * S), Some(3));
    }

    #[test]
    fn classes_count_separately_and_zero_counts_nothing() {
        let mut c = Counter::new(100 * S, [3, 0, 2], 10);
        let t = Instant::now();
        let k = key("192.0.2.1");
        c.record(k, Class::Auth, t);
        c.record(k, Class::Auth, t);
        assert_eq!(c.record(k, Class::Protocol, t), None);
        for _ in 0..10 {
            assert_eq!(c.record(k, Class::Trap, t), None);
        }
        assert_eq!(c.record(k, Class::Protocol, t), Some(2));
    }

    #[test]
    fn cleared_clients_start_again() {
        let mut c = Counter::new(100 * S, [2, 1, 2], 10);
        let t = Instant::now();
        let k = key("2001:db8::1");
        c.record(k, Class::Auth, t);
        c.clear(key("2001:db8::2"));
        assert_eq!(c.record(k, Class::Auth, t), None, "same /64 was cleared");
        assert_eq!(c.record(k, Class::Auth, t), Some(2));
        c.clear(k);
        assert_eq!(c.record(k, Class::Auth, t), None);
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut c = Counter::new(1000 * S, [5, 1, 2], 16);
        let t = Instant::now();
        for i in 0..200u32 {
            let k = IpNet::client(std::net::IpAddr::from(std::net::Ipv4Addr::from(
                0xC000_0200 + i,
            )));
            c.record(k, Class::Auth, t + Duration::from_millis(u64::from(i)));
            assert!(c.entries.len() <= 16);
        }
    }
}
