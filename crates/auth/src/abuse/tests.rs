//! The tracker against an in-memory store: thresholds block with a reason
//! and an expiry, the allowlist and recent logins prevent blocks, refresh
//! follows the store.

use std::sync::Mutex;

use super::*;

#[derive(Default)]
struct Mem {
    blocks: Mutex<Vec<BlockRecord>>,
    logins: Mutex<HashMap<IpNet, i64>>,
}

impl AbuseStore for Mem {
    fn add_block(&self, block: BlockRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            lock(&self.blocks).push(block);
            Ok(())
        })
    }
    fn active_blocks(&self, now: i64) -> StoreFuture<'_, Vec<BlockRecord>> {
        Box::pin(async move {
            Ok(lock(&self.blocks)
                .iter()
                .filter(|b| b.expires.is_none_or(|e| e > now))
                .cloned()
                .collect())
        })
    }
    fn record_login(&self, net: IpNet, at: i64) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            lock(&self.logins).insert(net, at);
            Ok(())
        })
    }
    fn last_login(&self, net: IpNet) -> StoreFuture<'_, Option<i64>> {
        Box::pin(async move { Ok(lock(&self.logins).get(&net).copied()) })
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn tracker(cfg: AbuseConfig) -> (Abuse, Arc<Mem>) {
    let mem = Arc::new(Mem::default());
    (Abuse::new(cfg, mem.clone()), mem)
}

fn small() -> AbuseConfig {
    AbuseConfig {
        auth_failures: 3,
        protocol_abuses: 2,
        allowlist: vec!["203.0.113.0/24".parse().expect("net")],
        spam_traps: vec!["trap@example.org".into()],
        ..AbuseConfig::default()
    }
}

#[tokio::test]
async fn failures_at_the_threshold_block_with_reason_and_expiry() {
    let (a, mem) = tracker(small());
    let bad = ip("192.0.2.9");
    assert!(!a.report(bad, AbuseKind::AuthFailure, "imap").await);
    assert!(!a.report(bad, AbuseKind::AuthFailure, "pop3").await);
    assert!(!a.is_blocked(bad));
    assert!(a.report(bad, AbuseKind::AuthFailure, "smtp").await);
    assert!(a.is_blocked(bad), "at once, before any refresh");
    assert!(!a.is_blocked(ip("192.0.2.10")));
    let stored = lock(&mem.blocks).clone();
    assert_eq!(stored.len(), 1);
    let b = &stored[0];
    assert_eq!(b.net.to_string(), "192.0.2.9");
    assert_eq!(
        b.reason,
        "3 failed logins within 1h; last: failed login (smtp)"
    );
    assert!(!b.manual);
    assert_eq!(b.expires, Some(b.created + 86_400));
}

#[tokio::test]
async fn a_recent_login_prevents_the_block() {
    let (a, _mem) = tracker(small());
    let user = ip("2001:db8:5::1");
    a.login_succeeded(user);
    // Another address of the same /64 is the same client.
    let same = ip("2001:db8:5::2");
    for _ in 0..10 {
        assert!(!a.report(same, AbuseKind::AuthFailure, "imap").await);
    }
    assert!(!a.is_blocked(same));
}

#[tokio::test]
async fn a_login_older_than_trusted_for_does_not_protect() {
    let (a, mem) = tracker(small());
    let client = ip("192.0.2.50");
    let old = unix_now() - 31 * 86_400;
    lock(&mem.logins).insert(IpNet::client(client), old);
    for _ in 0..2 {
        a.report(client, AbuseKind::AuthFailure, "imap").await;
    }
    assert!(a.report(client, AbuseKind::AuthFailure, "imap").await);
    // A login the store knows of within the window does protect.
    let other = ip("192.0.2.51");
    lock(&mem.logins).insert(IpNet::client(other), unix_now() - 86_400);
    for _ in 0..5 {
        assert!(!a.report(other, AbuseKind::AuthFailure, "imap").await);
    }
}

#[tokio::test]
async fn remembered_logins_stay_within_max_tracked() {
    let (a, mem) = tracker(AbuseConfig {
        max_tracked: 3,
        ..small()
    });
    for n in 1..=10 {
        a.login_succeeded(ip(&format!("192.0.2.{n}")));
        assert!(lock(&a.inner.logins).len() <= 3, "after login {n}");
    }
    // What memory forgot, the store still has: the client stays trusted.
    tokio::task::yield_now().await;
    let first = ip("192.0.2.1");
    for _ in 0..5 {
        assert!(!a.report(first, AbuseKind::AuthFailure, "imap").await);
    }
    assert_eq!(lock(&mem.logins).len(), 10);
}

#[tokio::test]
async fn allowlisted_clients_are_never_blocked() {
    let (a, mem) = tracker(small());
    let friend = ip("203.0.113.40");
    for _ in 0..20 {
        assert!(!a.report(friend, AbuseKind::AuthFailure, "imap").await);
        assert!(
            !a.report(friend, AbuseKind::SpamTrap, "trap@example.org")
                .await
        );
    }
    assert!(lock(&mem.blocks).is_empty());
    // Even a stored block does not refuse an allowlisted client.
    lock(&mem.blocks).push(BlockRecord {
        net: "203.0.113.0/24".parse().expect("net"),
        reason: "manual".into(),
        manual: true,
        created: 0,
        expires: None,
    });
    a.refresh().await.expect("refresh");
    assert!(!a.is_blocked(friend));
}

#[tokio::test]
async fn loopback_is_allowlisted_by_default() {
    let a = Abuse::new(AbuseConfig::default(), Arc::new(Mem::default()));
    assert!(a.is_allowlisted(ip("127.0.0.1")));
    assert!(a.is_allowlisted(ip("::1")));
    assert!(!a.is_allowlisted(ip("192.0.2.1")));
}

#[tokio::test]
async fn one_spam_trap_hit_blocks_and_protocol_abuse_counts_apart() {
    let (a, mem) = tracker(small());
    assert!(a.is_spam_trap("trap@example.org"));
    assert!(!a.is_spam_trap("ann@example.org"));
    let spammer = ip("198.51.100.3");
    assert!(
        a.report(spammer, AbuseKind::SpamTrap, "trap@example.org")
            .await
    );
    let noisy = ip("198.51.100.4");
    assert!(!a.report(noisy, AbuseKind::AuthFailure, "imap").await);
    assert!(!a.report(noisy, AbuseKind::JunkCommands, "smtp").await);
    assert!(a.report(noisy, AbuseKind::MailLoop, "smtp").await);
    let reasons: Vec<String> = lock(&mem.blocks).iter().map(|b| b.reason.clone()).collect();
    assert_eq!(
        reasons,
        [
            "1 spam trap hits within 1h; last: spam trap (trap@example.org)",
            "2 protocol abuses within 1h; last: mail loop (smtp)"
        ]
    );
}

#[tokio::test]
async fn refresh_follows_the_store_and_ignores_expired_blocks() {
    let (a, mem) = tracker(small());
    let now = unix_now();
    lock(&mem.blocks).push(BlockRecord {
        net: "198.51.100.0/24".parse().expect("net"),
        reason: "manual".into(),
        manual: true,
        created: now,
        expires: None,
    });
    lock(&mem.blocks).push(BlockRecord {
        net: "192.0.2.1".parse().expect("net"),
        reason: "old".into(),
        manual: false,
        created: now - 100,
        expires: Some(now - 1),
    });
    assert_eq!(a.refresh().await.expect("refresh"), 1);
    assert!(a.is_blocked(ip("198.51.100.200")));
    assert!(!a.is_blocked(ip("192.0.2.1")));
    lock(&mem.blocks).clear();
    a.refresh().await.expect("refresh");
    assert!(!a.is_blocked(ip("198.51.100.200")), "deleted elsewhere");
}

#[tokio::test]
async fn a_disabled_tracker_counts_nothing() {
    let a = Abuse::disabled();
    for _ in 0..50 {
        assert!(
            !a.report(ip("192.0.2.1"), AbuseKind::AuthFailure, "imap")
                .await
        );
    }
    assert!(!a.is_blocked(ip("192.0.2.1")));
}

#[test]
fn durations_are_short_words() {
    assert_eq!(short_duration(Duration::from_secs(90)), "90s");
    assert_eq!(short_duration(Duration::from_secs(600)), "10m");
    assert_eq!(short_duration(Duration::from_secs(7200)), "2h");
    assert_eq!(short_duration(Duration::from_secs(172_800)), "2d");
}

#[tokio::test]
async fn the_directory_reports_failed_and_successful_logins() {
    use crate::fixtures::{cheap, fast_cfg, pw};
    use crate::{AuthOutcome, Directory, MemoryBackend};
    let b = Arc::new(MemoryBackend::new());
    b.add_domain("example.org");
    b.add_user("alice@example.org", "Alice", &cheap("right"));
    let (abuse, mem) = tracker(small());
    let dir = Directory::with_abuse(b, fast_cfg(), abuse);
    let (bad, good) = (ip("192.0.2.66"), ip("192.0.2.77"));
    let login = |from, pass: &'static str| {
        let dir = dir.clone();
        async move {
            dir.authenticate("pop3", from, "alice@example.org", &pw(pass))
                .await
        }
    };
    assert!(matches!(
        login(good, "right").await,
        AuthOutcome::Success(_)
    ));
    for _ in 0..3 {
        assert_eq!(login(bad, "wrong").await, AuthOutcome::Failed);
        assert_eq!(login(good, "wrong").await, AuthOutcome::Failed);
    }
    assert!(dir.abuse().is_blocked(bad));
    assert!(!dir.abuse().is_blocked(good), "logged in before");
    assert_eq!(lock(&mem.blocks).len(), 1);
}

#[tokio::test]
async fn a_reload_keeps_our_unstored_blocks_and_drops_deleted_ones() {
    struct Failing;
    impl AbuseStore for Failing {
        fn add_block(&self, _: BlockRecord) -> StoreFuture<'_, ()> {
            Box::pin(async { Err(BackendError("disk on fire".into())) })
        }
        fn active_blocks(&self, _: i64) -> StoreFuture<'_, Vec<BlockRecord>> {
            Box::pin(async { Ok(Vec::new()) })
        }
        fn record_login(&self, _: IpNet, _: i64) -> StoreFuture<'_, ()> {
            Box::pin(async { Ok(()) })
        }
        fn last_login(&self, _: IpNet) -> StoreFuture<'_, Option<i64>> {
            Box::pin(async { Ok(None) })
        }
    }
    let a = Abuse::new(small(), Arc::new(Failing));
    let bad = ip("192.0.2.9");
    a.report(bad, AbuseKind::SpamTrap, "trap@example.org").await;
    a.refresh().await.expect("refresh");
    assert!(a.is_blocked(bad), "the write failed, the block holds");

    // Stored, then deleted by the admin: the next reload lets it go.
    let (a, mem) = tracker(small());
    a.report(bad, AbuseKind::SpamTrap, "trap@example.org").await;
    a.refresh().await.expect("refresh");
    assert!(a.is_blocked(bad));
    lock(&mem.blocks).clear();
    a.refresh().await.expect("refresh");
    assert!(!a.is_blocked(bad));
}
