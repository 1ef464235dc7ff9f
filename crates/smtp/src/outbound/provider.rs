//! The big mailbox providers as destinations: many domains (every Google
//! Workspace or Microsoft 365 customer) share one provider's MX hosts and
//! one judgement of our IP address, so their limits are per provider, not
//! per domain. A provider is known by its MX host names' suffixes
//! (`[[outbound.providers]]`); it gets at most `max_connections` at once,
//! messages spaced to `messages_per_minute` (lower while a new IP warms
//! up), and a pause after it answers with a rate limit (`answer.rs`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::config::{ProviderLimits, Warmup};

/// One provider's moment-to-moment state.
#[derive(Default)]
struct State {
    /// The earliest time the next message may go.
    next_slot: Option<Instant>,
    /// Paused after a rate-limit answer, until then (unix seconds).
    paused_until: Option<i64>,
}

pub struct Providers {
    limits: Vec<ProviderLimits>,
    connections: Vec<Arc<Semaphore>>,
    state: Mutex<Vec<State>>,
    warmup: Option<Warmup>,
}

impl Providers {
    pub fn new(limits: Vec<ProviderLimits>, warmup: Option<Warmup>) -> Providers {
        Providers {
            connections: limits
                .iter()
                .map(|l| Arc::new(Semaphore::new(l.max_connections.max(1))))
                .collect(),
            state: Mutex::new(limits.iter().map(|_| State::default()).collect()),
            limits,
            warmup,
        }
    }

    /// The provider whose MX host `host` is.
    pub fn find(&self, host: &str) -> Option<usize> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.limits.iter().position(|l| {
            l.mx_suffixes.iter().any(|s| {
                let s = s.trim_start_matches('.').to_ascii_lowercase();
                host == s || host.ends_with(&format!(".{s}"))
            })
        })
    }

    /// The provider called `name` (as `answer.rs` names them).
    pub fn by_name(&self, name: &str) -> Option<usize> {
        self.limits
            .iter()
            .position(|l| l.name.eq_ignore_ascii_case(name))
    }

    pub fn name(&self, i: usize) -> &str {
        self.limits.get(i).map_or("", |l| l.name.as_str())
    }

    /// One of the provider's connections, waited for.
    pub async fn connection(&self, i: usize) -> Option<OwnedSemaphorePermit> {
        self.connections.get(i)?.clone().acquire_owned().await.ok()
    }

    /// When the pause of provider `i` ends (unix seconds), if it is paused.
    pub fn paused(&self, i: usize, now: i64) -> Option<i64> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state
            .get(i)
            .and_then(|s| s.paused_until)
            .filter(|&until| until > now)
    }

    /// Pauses provider `i` until `until` (unix seconds).
    pub fn pause(&self, i: usize, until: i64) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = state.get_mut(i) {
            s.paused_until = Some(s.paused_until.unwrap_or(0).max(until));
        }
    }

    /// Messages per minute for provider `i` on day `today` (days since
    /// the epoch): the configured rate, or during the warm-up of a new IP
    /// half of it for each day still ahead (RFC-less, but what the
    /// providers' sender guidelines ask: volume that grows gradually).
    pub fn rate(&self, i: usize, today: i64) -> f64 {
        let full = f64::from(self.limits.get(i).map_or(0, |l| l.messages_per_minute));
        match &self.warmup {
            Some(w) if today >= w.start_day && today < w.start_day + i64::from(w.days) => {
                let ahead = w.start_day + i64::from(w.days) - today;
                full / 2f64.powi(ahead.min(30) as i32)
            }
            _ => full,
        }
    }

    /// Waits for provider `i`'s next slot (no wait with no rate set).
    pub async fn pace(&self, i: usize, today: i64) {
        let rate = self.rate(i, today);
        if rate <= 0.0 {
            return;
        }
        let interval = Duration::from_secs_f64(60.0 / rate);
        let wait = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let Some(s) = state.get_mut(i) else { return };
            let now = Instant::now();
            let slot = s.next_slot.map_or(now, |n| n.max(now));
            s.next_slot = Some(slot + interval);
            slot - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Providers;
    use crate::outbound::config::{ProviderLimits, Warmup, default_providers};

    #[test]
    fn providers_are_found_by_mx_suffix() {
        let p = Providers::new(default_providers(), None);
        let gmail = p.find("alt1.gmail-smtp-in.l.google.com.").expect("gmail");
        assert_eq!(p.name(gmail), "Gmail");
        let ms = p
            .find("example-org.mail.protection.outlook.com")
            .expect("microsoft");
        assert_eq!(p.name(ms), "Microsoft");
        let y = p.find("mta5.am0.yahoodns.net").expect("yahoo");
        assert_eq!(p.name(y), "Yahoo");
        assert_eq!(p.find("mx.example.org"), None);
        // A suffix matches whole labels only.
        assert_eq!(p.find("notgoogle.com"), None);
    }

    #[test]
    fn a_new_ip_starts_slow_and_doubles_daily() {
        let limits = vec![ProviderLimits {
            name: "Big".into(),
            mx_suffixes: vec!["big.test".into()],
            max_connections: 2,
            messages_per_minute: 64,
        }];
        let p = Providers::new(
            limits,
            Some(Warmup {
                start_day: 100,
                days: 3,
            }),
        );
        assert_eq!(p.rate(0, 100), 8.0);
        assert_eq!(p.rate(0, 101), 16.0);
        assert_eq!(p.rate(0, 102), 32.0);
        assert_eq!(p.rate(0, 103), 64.0);
        assert_eq!(p.rate(0, 99), 64.0);
        let p = Providers::new(p.limits.clone(), None);
        assert_eq!(p.rate(0, 100), 64.0);
    }

    #[test]
    fn a_pause_holds_until_its_end() {
        let p = Providers::new(default_providers(), None);
        assert_eq!(p.paused(0, 1000), None);
        p.pause(0, 2000);
        assert_eq!(p.paused(0, 1000), Some(2000));
        assert_eq!(p.paused(0, 2000), None);
        assert_eq!(p.paused(1, 1000), None);
    }
}
