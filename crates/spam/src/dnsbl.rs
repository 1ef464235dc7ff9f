//! DNS blocklists without the DNS: the query names for an IP (DNSBL, RFC
//! 5782 §2.1 for IPv4, §2.4 for IPv6) and a domain (RHSBL, §3), and the
//! types a verdict takes its lookup results in. The lookups themselves (and
//! FCrDNS) run elsewhere, concurrently and under a deadline, through the
//! server's resolver; a lookup that failed or timed out is simply absent.

use std::net::{IpAddr, Ipv4Addr};

use crate::config::SpamConfig;
use crate::verdict::Contribution;

/// Why no query name could be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("invalid DNS name {0:?}")]
    BadName(String),
    #[error("query name for {0:?} is longer than 253 octets")]
    TooLong(String),
}

/// `2.0.0.127.zone` for 127.0.0.2; for IPv6, the 32 nibbles in reverse
/// order, dot-separated (RFC 5782 §2.4), then the zone.
pub fn dnsbl_query(ip: IpAddr, zone: &str) -> Result<String, QueryError> {
    let zone = check_name(zone)?;
    let mut name = String::with_capacity(80);
    match ip {
        IpAddr::V4(v4) => {
            for o in v4.octets().iter().rev() {
                name.push_str(&format!("{o}."));
            }
        }
        IpAddr::V6(v6) => {
            for b in v6.octets().iter().rev() {
                name.push_str(&format!("{:x}.{:x}.", b & 0x0f, b >> 4));
            }
        }
    }
    name.push_str(&zone);
    finish(name)
}

/// `domain.zone` (RFC 5782 §3), lowercased, without a trailing dot. Give
/// the domain in A-label (ASCII) form.
pub fn rhsbl_query(domain: &str, zone: &str) -> Result<String, QueryError> {
    let domain = check_name(domain)?;
    let zone = check_name(zone)?;
    finish(format!("{domain}.{zone}"))
}

fn check_name(name: &str) -> Result<String, QueryError> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    let ok = !n.is_empty()
        && n.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        Ok(n)
    } else {
        Err(QueryError::BadName(name.to_string()))
    }
}

fn finish(name: String) -> Result<String, QueryError> {
    if name.len() > 253 {
        return Err(QueryError::TooLong(name));
    }
    Ok(name)
}

/// The A records a blocklist returned for one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocklistAnswer {
    /// The configured zone that was asked.
    pub zone: String,
    /// What was looked up (the IP or the domain), for the reader.
    pub queried: String,
    pub records: Vec<Ipv4Addr>,
}

impl BlocklistAnswer {
    /// RFC 5782 §2.3: listings are in 127.0.0.0/8. Answers outside it, and
    /// 127.255.255.0/24 (which lists use for "query refused", for example to
    /// public resolvers), are errors, not listings.
    pub fn is_listed(&self) -> bool {
        self.records.iter().any(|a| {
            let o = a.octets();
            o[0] == 127 && !(o[1] == 255 && o[2] == 255)
        })
    }
}

/// Forward-confirmed reverse DNS of the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fcrdns {
    /// A PTR name whose A/AAAA records include the client's IP.
    Confirmed(String),
    /// No PTR, or none resolving back to the IP.
    Failed,
}

/// What the network lookups found, made before scoring.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Lookups {
    pub dnsbl: Vec<BlocklistAnswer>,
    pub rhsbl: Vec<BlocklistAnswer>,
    /// `None` when not looked up (or timed out).
    pub fcrdns: Option<Fcrdns>,
}

impl Lookups {
    /// One contribution per listing zone (a zone counts once, however many
    /// of the message's domains it lists), weighted from `config`; answers
    /// from zones no longer configured count nothing.
    pub fn contributions(&self, config: &SpamConfig) -> Vec<Contribution> {
        let mut out = Vec::new();
        for (test, answers, zones) in [
            ("DNSBL", &self.dnsbl, &config.dnsbl),
            ("RHSBL", &self.rhsbl, &config.rhsbl),
        ] {
            for z in zones {
                let zone = z.zone.trim_end_matches('.').to_ascii_lowercase();
                if let Some(a) = answers.iter().find(|a| {
                    a.zone.trim_end_matches('.').eq_ignore_ascii_case(&zone) && a.is_listed()
                }) {
                    let codes: Vec<String> = a.records.iter().map(|r| r.to_string()).collect();
                    let detail = format!("{} in {zone} ({})", a.queried, codes.join(" "));
                    out.push(Contribution::new(test, z.weight, &detail));
                }
            }
        }
        if self.fcrdns == Some(Fcrdns::Failed) {
            out.push(Contribution::new(
                "FCRDNS_MISSING",
                config.weights.fcrdns_missing,
                "",
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BlocklistZone;

    #[test]
    fn ipv4_query_reverses_octets() {
        let ip: IpAddr = "192.0.2.99".parse().expect("ip");
        assert_eq!(
            dnsbl_query(ip, "bl.example.net.").as_deref(),
            Ok("99.2.0.192.bl.example.net")
        );
    }

    #[test]
    fn ipv6_query_reverses_nibbles() {
        // RFC 5782 §2.4's example address.
        let ip: IpAddr = "2001:db8:1:2:3:4:567:89ab".parse().expect("ip");
        assert_eq!(
            dnsbl_query(ip, "ugly.example.com").as_deref(),
            Ok("b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com")
        );
    }

    #[test]
    fn rhsbl_query_appends_the_zone() {
        assert_eq!(
            rhsbl_query("Spammer.Example.", "dbl.example.net").as_deref(),
            Ok("spammer.example.dbl.example.net")
        );
        assert!(matches!(
            rhsbl_query("a..b", "z.example"),
            Err(QueryError::BadName(_))
        ));
        assert!(matches!(
            rhsbl_query("ex ample.com", "z.example"),
            Err(QueryError::BadName(_))
        ));
        // Four labels of 63: each valid, together past RFC 1035's 253.
        let long = [0; 4].map(|_| "a".repeat(63)).join(".");
        assert!(matches!(
            rhsbl_query(&long, "zone.example.net"),
            Err(QueryError::TooLong(_))
        ));
    }

    #[test]
    fn only_127_answers_are_listings() {
        let answer = |r: &str| BlocklistAnswer {
            zone: "bl.example".into(),
            queried: "192.0.2.1".into(),
            records: vec![r.parse().expect("ip")],
        };
        assert!(answer("127.0.0.2").is_listed());
        assert!(!answer("127.255.255.254").is_listed());
        assert!(!answer("192.0.2.1").is_listed());
    }

    #[test]
    fn listings_add_the_configured_weight_once_per_zone() {
        let mut config = SpamConfig::default();
        config.dnsbl.push(BlocklistZone {
            zone: "bl.example".into(),
            weight: 6.0,
        });
        let hit = BlocklistAnswer {
            zone: "BL.example.".into(),
            queried: "192.0.2.1".into(),
            records: vec![Ipv4Addr::new(127, 0, 0, 2)],
        };
        let lookups = Lookups {
            dnsbl: vec![hit.clone(), hit],
            rhsbl: vec![],
            fcrdns: Some(Fcrdns::Failed),
        };
        let c = lookups.contributions(&config);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].test.as_str(), c[0].score), ("DNSBL", 6.0));
        assert_eq!(c[0].detail, "192.0.2.1 in bl.example (127.0.0.2)");
        assert_eq!(c[1].test, "FCRDNS_MISSING");
        // A zone not configured counts nothing.
        assert!(
            Lookups {
                fcrdns: None,
                ..lookups
            }
            .contributions(&SpamConfig::default())
            .is_empty()
        );
    }
}
