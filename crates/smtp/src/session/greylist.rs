//! Greylisting at RCPT on port 25 (off by default), postgrey's way: the
//! triplet is the client's network (IPv4 /24, IPv6 /64), the envelope
//! sender and the recipient. A new triplet is answered `451 4.7.1`; a real
//! MTA retries (RFC 5321 §4.5.4.1), and a retry after `delay` and within
//! `retry_window` is accepted and lets the whole network through for
//! `allow_for`. State lives in the store (`greylist_check`).
//!
//! Never greylisted: submission, an authenticated session, an allowlisted
//! client (`[abuse] allowlist`). The null sender is greylisted like any
//! other (postgrey does too): a real bounce is retried, forged backscatter
//! rarely is.

use std::time::Duration;

use postern_auth::IpNet;
use postern_store::{GreylistPolicy, GreylistTriplet, GreylistVerdict};

use super::Session;
use crate::config::Mode;
use crate::wire::{Reply, ReversePath};

/// The `[greylist]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GreylistConfig {
    /// Default off.
    pub enabled: bool,
    /// How long a new triplet is deferred. Default 5 min.
    pub delay: Duration,
    /// A triplet not retried within this starts again. Default 24 h.
    pub retry_window: Duration,
    /// How long a network that retried successfully skips greylisting.
    /// Default 35 days (postgrey's `max-age`).
    pub allow_for: Duration,
}

impl Default for GreylistConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            delay: Duration::from_secs(300),
            retry_window: Duration::from_secs(86_400),
            allow_for: Duration::from_secs(35 * 86_400),
        }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The sender as greylisting keys it (postgrey's sender substitutions):
/// lowercase, BATV's `prvs=tag=` and a `+extension` removed, and digit runs
/// folded to `#`, so VERP and per-message bounce addresses of one list or
/// sender make one triplet rather than one per message. `<>` is empty.
pub(crate) fn sender_key(from: &ReversePath) -> String {
    let ReversePath::Mailbox(m) = from else {
        return String::new();
    };
    let local = m.local.to_lowercase();
    let local = match local.strip_prefix("prvs=").and_then(|r| r.split_once('=')) {
        Some((_, user)) => user.to_string(),
        None => local,
    };
    let local = local.split('+').next().unwrap_or_default();
    let mut folded = String::with_capacity(local.len());
    for c in local.chars() {
        if c.is_ascii_digit() {
            if !folded.ends_with('#') {
                folded.push('#');
            }
        } else {
            folded.push(c);
        }
    }
    format!("{folded}@{}", m.domain.to_lowercase())
}

impl Session {
    /// `Some(451)` while `rcpt` is greylisted for this client and sender.
    /// A store failure lets the mail through (logged): greylisting only
    /// delays mail, it must never be why mail is lost or held.
    pub(super) async fn greylist(&self, from: &ReversePath, rcpt: &str) -> Option<Reply> {
        let cfg = &self.ctx.cfg.greylist;
        let ip = self.peer.ip();
        if !cfg.enabled
            || self.mode != Mode::Mx
            || self.user.is_some()
            || self.ctx.directory.abuse().is_allowlisted(ip)
        {
            return None;
        }
        let triplet = GreylistTriplet {
            net: IpNet::greylist(ip).to_string(),
            sender: sender_key(from),
            recipient: rcpt.to_lowercase(),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(secs)
            .unwrap_or(0);
        let policy = GreylistPolicy {
            now,
            delay: secs(cfg.delay),
            retry_window: secs(cfg.retry_window),
            allow_for: secs(cfg.allow_for),
        };
        match self.ctx.store.greylist_check(triplet, policy).await {
            Ok(GreylistVerdict::Allowed) => None,
            Ok(GreylistVerdict::Passed) => {
                tracing::info!(%ip, "greylisting passed; client network allowed");
                None
            }
            Ok(GreylistVerdict::Deferred { retry_in }) => {
                tracing::info!(%ip, retry_in, "greylisted");
                Some(Reply::new(
                    451,
                    (4, 7, 1),
                    format!(
                        "<{rcpt}>: greylisted, please try again in {} seconds",
                        retry_in.max(1)
                    ),
                ))
            }
            Err(e) => {
                tracing::error!(error = %e, "greylisting failed; accepting");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Mailbox;

    fn from(local: &str, domain: &str) -> ReversePath {
        ReversePath::Mailbox(Mailbox {
            local: local.into(),
            domain: domain.into(),
        })
    }

    #[test]
    fn senders_are_folded_as_postgrey_does() {
        for ((local, domain), key) in [
            (("Alice", "Example.NET"), "alice@example.net"),
            (
                ("bounce-12345-678", "list.example"),
                "bounce-#-#@list.example",
            ),
            (("prvs=1234abcd=bob", "example.com"), "bob@example.com"),
            (("carol+news", "example.com"), "carol@example.com"),
        ] {
            assert_eq!(sender_key(&from(local, domain)), key, "{local}@{domain}");
        }
        assert_eq!(sender_key(&ReversePath::Null), "");
    }
}
