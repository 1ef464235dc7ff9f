//! The blocks in force, in memory, so that every accepted connection is
//! checked without a database read: hosts and IPv6 /64s in hash maps
//! (what automatic blocks are), other prefixes in a short list.

use std::collections::HashMap;
use std::net::IpAddr;

use super::IpNet;

/// Blocked networks with their expiry (Unix seconds; `None`: until removed).
#[derive(Debug, Default)]
pub(crate) struct BlockSet {
    exact: HashMap<IpNet, Option<i64>>,
    wide: Vec<(IpNet, Option<i64>)>,
}

/// Prefix lengths kept in the maps: IPv4 hosts, IPv6 /64s and hosts.
fn exact_prefixes(ip: IpAddr) -> &'static [u8] {
    if ip.is_ipv4() { &[32] } else { &[64, 128] }
}

impl BlockSet {
    pub(crate) fn insert(&mut self, net: IpNet, expires: Option<i64>) {
        if [32, 64, 128].contains(&net.prefix()) {
            self.exact.insert(net, expires);
        } else {
            self.wide.retain(|(n, _)| *n != net);
            self.wide.push((net, expires));
        }
    }

    /// Whether `ip` is in a block that has not expired at `now`.
    pub(crate) fn contains(&self, ip: IpAddr, now: i64) -> bool {
        let ip = ip.to_canonical();
        let live = |e: &Option<i64>| e.is_none_or(|t| t > now);
        exact_prefixes(ip).iter().any(|&p| {
            IpNet::new(ip, p)
                .and_then(|n| self.exact.get(&n))
                .is_some_and(live)
        }) || self.wide.iter().any(|(n, e)| live(e) && n.contains(ip))
    }

    pub(crate) fn len(&self) -> usize {
        self.exact.len() + self.wide.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn net(s: &str) -> IpNet {
        s.parse().expect("test network")
    }

    #[test]
    fn hosts_64s_and_wider_networks_match() {
        let mut b = BlockSet::default();
        b.insert(net("192.0.2.7"), None);
        b.insert(net("2001:db8:1:2::/64"), None);
        b.insert(net("198.51.100.0/24"), None);
        b.insert(net("2001:db8:ff::9"), None);
        assert!(b.contains(ip("192.0.2.7"), 0));
        assert!(b.contains(ip("::ffff:192.0.2.7"), 0));
        assert!(!b.contains(ip("192.0.2.8"), 0));
        assert!(b.contains(ip("2001:db8:1:2:ffff::1"), 0));
        assert!(b.contains(ip("198.51.100.77"), 0));
        assert!(b.contains(ip("2001:db8:ff::9"), 0));
        assert!(!b.contains(ip("2001:db8:ff::8"), 0));
        assert_eq!(b.len(), 4);
    }

    #[test]
    fn expired_blocks_do_not_match() {
        let mut b = BlockSet::default();
        b.insert(net("192.0.2.7"), Some(100));
        b.insert(net("10.0.0.0/8"), Some(100));
        assert!(b.contains(ip("192.0.2.7"), 99));
        assert!(!b.contains(ip("192.0.2.7"), 100));
        assert!(!b.contains(ip("10.1.2.3"), 100));
    }
}
