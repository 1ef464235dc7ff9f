//! Where a domain's mail goes: MX lookup per RFC 5321 §5.1 with
//! hickory-resolver. MX hosts in preference order, random among equal
//! preferences; no MX records: the domain itself (implicit MX); a null MX
//! (RFC 7505) or a domain that does not exist fails at once; any other DNS
//! trouble is temporary. This server among the MX hosts (by name or by
//! address) cuts the list at its preference, and a list cut to nothing is
//! a routing loop (5.4.6); at most `max_hosts` hosts are returned.

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::TokioResolver;
use hickory_resolver::net::NetError;
use hickory_resolver::proto::rr::{RData, RecordType};
use rand::seq::SliceRandom;

/// One host to try, with its addresses (IPv6 and IPv4 as DNS gave them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    pub addrs: Vec<IpAddr>,
}

/// Why there is no host to try.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// Try again later (DNS server trouble, timeouts).
    Temporary(String),
    /// Never deliverable (null MX, no such domain): bounce now.
    Permanent(String),
}

fn fqdn(name: &str) -> String {
    let n = name.trim_end_matches('.');
    format!("{n}.")
}

fn dns_error(what: &str, e: &NetError) -> RouteError {
    RouteError::Temporary(format!("4.4.3 DNS lookup of {what} failed: {e}"))
}

/// Who "this server" is, so that mail is never routed to itself, and how
/// many hosts an attempt may try.
#[derive(Clone, Debug, Default)]
pub struct Local {
    /// Our own names (the hostname), compared without case or final dot.
    pub names: Vec<String>,
    /// Where our port-25 listener is bound; an MX address with the
    /// outbound port that one of these accepts is us.
    pub listeners: Vec<SocketAddr>,
    /// The port remote MX hosts are reached on.
    pub port: u16,
    /// The most hosts returned (Postfix's `smtp_mx_address_limit`).
    pub max_hosts: usize,
}

impl Local {
    fn is_our_name(&self, name: &str) -> bool {
        let n = name.trim_end_matches('.');
        self.names
            .iter()
            .any(|o| o.trim_end_matches('.').eq_ignore_ascii_case(n))
    }

    fn is_our_address(&self, ip: IpAddr) -> bool {
        let target = SocketAddr::new(ip, self.port);
        self.listeners.iter().any(|l| {
            *l == target || (l.ip().is_unspecified() && l.port() == self.port && ip.is_loopback())
        })
    }
}

/// The hosts for `domain`, in the order to try them.
pub async fn route(
    resolver: &TokioResolver,
    domain: &str,
    local: &Local,
) -> Result<Vec<Host>, RouteError> {
    // An address literal (RFC 5321 §4.1.3): that address, no DNS.
    if let Some(lit) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        let ip = lit.strip_prefix("IPv6:").unwrap_or(lit);
        return match ip.parse::<IpAddr>() {
            Ok(ip) => Ok(vec![Host {
                name: domain.to_string(),
                addrs: vec![ip],
            }]),
            Err(_) => Err(RouteError::Permanent(format!(
                "5.1.2 bad address literal {domain}"
            ))),
        };
    }
    let names: Vec<(u16, String)> = match resolver.lookup(fqdn(domain), RecordType::MX).await {
        Ok(l) => l
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii())),
                _ => None,
            })
            .collect(),
        Err(e) if e.is_nx_domain() => {
            return Err(RouteError::Permanent(format!(
                "5.1.2 domain {domain} does not exist"
            )));
        }
        Err(e) if e.is_no_records_found() => Vec::new(),
        Err(e) => return Err(dns_error(&format!("MX {domain}"), &e)),
    };
    let implicit = names.is_empty();
    let mut names = if implicit {
        // RFC 5321 §5.1: no MX, so the domain is its own mail host.
        vec![(0, domain.to_string())]
    } else {
        names
    };
    // RFC 7505 §3: a null MX ("." as the only exchange) says the domain
    // takes no mail; "." among real hosts is skipped.
    let (null, real): (Vec<_>, Vec<_>) = names
        .drain(..)
        .partition(|(_, n)| n.trim_end_matches('.').is_empty());
    if real.is_empty() && !null.is_empty() {
        return Err(RouteError::Permanent(format!(
            "5.1.10 {domain} accepts no mail (null MX, RFC 7505)"
        )));
    }
    let mut ordered = real;
    ordered.sort_by_key(|(p, _)| *p);
    // Random order among equal preferences (RFC 5321 §5.1).
    shuffle_equal(&mut ordered);
    // RFC 5321 §5.1: when this host is in the list, records at or above
    // its preference are discarded (the hosts below it back us up, not we
    // them); with none left the mail would only come back here.
    let mut cut = ordered
        .iter()
        .find(|(_, n)| local.is_our_name(n))
        .map(|(p, n)| (*p, n.clone()));
    if let Some((p, _)) = &cut {
        ordered.retain(|(q, _)| q < p);
    }
    let mut hosts: Vec<(u16, Host)> = Vec::new();
    let mut temporary: Option<String> = None;
    for (pref, name) in ordered {
        if hosts.len() >= local.max_hosts.max(1) {
            break;
        }
        match resolver.lookup_ip(fqdn(&name)).await {
            Ok(ips) => {
                let addrs: Vec<IpAddr> = ips.iter().collect();
                if addrs.iter().any(|ip| local.is_our_address(*ip)) {
                    // This server by address: everything from here on
                    // (sorted, so at or above its preference) goes.
                    hosts.retain(|(q, _)| *q < pref);
                    cut = Some((pref, name));
                    break;
                }
                if !addrs.is_empty() {
                    hosts.push((
                        pref,
                        Host {
                            name: name.trim_end_matches('.').to_string(),
                            addrs,
                        },
                    ));
                }
            }
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => {}
            Err(e) => temporary = Some(format!("4.4.3 DNS lookup of {name} failed: {e}")),
        }
    }
    if !hosts.is_empty() {
        return Ok(hosts.into_iter().map(|(_, h)| h).collect());
    }
    match (temporary, cut) {
        (Some(t), _) => Err(RouteError::Temporary(t)),
        (None, Some((_, name))) => Err(RouteError::Permanent(format!(
            "5.4.6 mail for {domain} would loop back to this server: its MX {} is this host \
             and no host of better preference takes it (RFC 5321 5.1)",
            name.trim_end_matches('.')
        ))),
        (None, None) if implicit => Err(RouteError::Permanent(format!(
            "5.1.2 {domain} has no MX and no address records"
        ))),
        (None, None) => Err(RouteError::Temporary(format!(
            "4.4.4 no MX host of {domain} has an address"
        ))),
    }
}

/// Shuffles runs of equal preference in a sorted list.
fn shuffle_equal(ordered: &mut [(u16, String)]) {
    let mut rng = rand::rng();
    let mut i = 0;
    while i < ordered.len() {
        let j = ordered[i..]
            .iter()
            .position(|(p, _)| *p != ordered[i].0)
            .map(|k| i + k)
            .unwrap_or(ordered.len());
        ordered[i..j].shuffle(&mut rng);
        i = j;
    }
}

#[cfg(test)]
mod tests {
    use super::Local;

    #[test]
    fn this_server_is_known_by_name_and_by_listener_address() {
        let local = Local {
            names: vec!["Mail.Example.Org".into()],
            listeners: vec![
                "192.0.2.7:25".parse().expect("addr"),
                "[::]:25".parse().expect("addr"),
            ],
            port: 25,
            max_hosts: 10,
        };
        assert!(local.is_our_name("mail.example.org."));
        assert!(!local.is_our_name("mx.example.org"));
        assert!(local.is_our_address("192.0.2.7".parse().expect("ip")));
        assert!(!local.is_our_address("192.0.2.8".parse().expect("ip")));
        // A wildcard listener on the MX port answers on loopback too.
        assert!(local.is_our_address("127.0.0.1".parse().expect("ip")));
        // Another port (the tests' remote servers) is someone else.
        let elsewhere = Local {
            port: 2525,
            ..local
        };
        assert!(!elsewhere.is_our_address("192.0.2.7".parse().expect("ip")));
        assert!(!elsewhere.is_our_address("127.0.0.1".parse().expect("ip")));
    }
}
