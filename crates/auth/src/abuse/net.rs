//! `IpNet`: an address with a prefix length (CIDR), in the canonical text
//! the store keeps and the admin sees: a single host as the bare address
//! (`192.0.2.1`, `2001:db8::1`), a wider network as `addr/len` with its
//! host bits cleared (`192.0.2.0/24`). IPv4-mapped IPv6 is IPv4.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A network: its first address and its prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Text that is not an address or `address/prefix`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or network (such as 192.0.2.7, 192.0.2.0/24, 2001:db8::/64)")]
pub struct IpNetError(pub String);

impl IpNet {
    /// The network of `prefix` bits around `addr`, host bits cleared;
    /// `None` if `prefix` is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        match addr.to_canonical() {
            IpAddr::V4(v4) if prefix <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                Some(Self {
                    addr: IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask)),
                    prefix,
                })
            }
            IpAddr::V6(v6) if prefix <= 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                Some(Self {
                    addr: IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask)),
                    prefix,
                })
            }
            _ => None,
        }
    }

    /// What one client is counted, trusted and blocked as: an IPv4
    /// address, or the /64 of an IPv6 one (one host usually holds a whole
    /// /64, as the login throttle assumes).
    pub fn client(ip: IpAddr) -> Self {
        Self::widened(ip, 32, 64)
    }

    /// Greylisting's client network: IPv4 /24, IPv6 /64 (postgrey's
    /// `--lookup-by-subnet`: a sender's retry often leaves from another
    /// address of the same farm).
    pub fn greylist(ip: IpAddr) -> Self {
        Self::widened(ip, 24, 64)
    }

    fn widened(ip: IpAddr, v4: u8, v6: u8) -> Self {
        let ip = ip.to_canonical();
        let prefix = if ip.is_ipv4() { v4 } else { v6 };
        Self::new(ip, prefix).expect("prefixes within the address length")
    }

    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        Self::new(ip, self.prefix).is_some_and(|n| n == *self)
    }

    /// The network's first address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether this is one address (/32 or /128).
    fn is_host(&self) -> bool {
        self.prefix == if self.addr.is_ipv4() { 32 } else { 128 }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl FromStr for IpNet {
    type Err = IpNetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || IpNetError(s.chars().take(64).collect());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        // A mapped address's prefix counts IPv6 bits; keep it meaningful.
        let mapped = matches!(addr, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some());
        let full = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => full,
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => {
                p.parse::<u8>().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        if prefix > full {
            return Err(bad());
        }
        let prefix = if mapped {
            prefix.checked_sub(96).ok_or_else(bad)?
        } else {
            prefix
        };
        Self::new(addr, prefix).ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().expect("valid network")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("valid address")
    }

    #[test]
    fn text_is_canonical_and_round_trips() {
        for (input, shown) in [
            ("192.0.2.7", "192.0.2.7"),
            ("192.0.2.7/32", "192.0.2.7"),
            ("192.0.2.7/24", "192.0.2.0/24"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("2001:DB8:0:0::1", "2001:db8::1"),
            ("2001:db8:1:2:3:4:5:6/64", "2001:db8:1:2::/64"),
            ("::ffff:192.0.2.7", "192.0.2.7"),
            ("::ffff:192.0.2.7/120", "192.0.2.0/24"),
        ] {
            let n = net(input);
            assert_eq!(n.to_string(), shown, "{input}");
            assert_eq!(net(shown), n, "{shown} round-trips");
        }
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "",
            "localhost",
            "192.0.2.7/33",
            "2001:db8::/129",
            "192.0.2.7/",
            "192.0.2.7/+8",
            "192.0.2.7/8/8",
            "::ffff:192.0.2.7/64",
        ] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn contains_checks_the_prefix_only() {
        assert!(net("192.0.2.0/24").contains(ip("192.0.2.200")));
        assert!(!net("192.0.2.0/24").contains(ip("192.0.3.1")));
        assert!(net("127.0.0.0/8").contains(ip("::ffff:127.0.0.1")));
        assert!(net("::1").contains(ip("::1")));
        assert!(!net("::1").contains(ip("127.0.0.1")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.9")));
    }

    #[test]
    fn clients_are_ipv4_hosts_or_ipv6_64s() {
        assert_eq!(IpNet::client(ip("192.0.2.7")).to_string(), "192.0.2.7");
        assert_eq!(
            IpNet::client(ip("2001:db8:1:2:3::9")).to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            IpNet::client(ip("::ffff:192.0.2.7")).to_string(),
            "192.0.2.7"
        );
        assert_eq!(IpNet::greylist(ip("192.0.2.7")).to_string(), "192.0.2.0/24");
    }
}
