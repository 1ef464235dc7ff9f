//! Where a domain's mail goes: MX lookup per RFC 5321 §5.1 with
//! hickory-resolver. MX hosts in preference order, random among equal
//! preferences; no MX records: the domain itself (implicit MX); a null MX
//! (RFC 7505) or a domain that does not exist fails at once; any other DNS
//! trouble is temporary.

use std::net::IpAddr;

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

/// The hosts for `domain`, in the order to try them.
pub async fn route(resolver: &TokioResolver, domain: &str) -> Result<Vec<Host>, RouteError> {
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
    let mut hosts = Vec::new();
    let mut temporary: Option<String> = None;
    for (_, name) in ordered {
        match resolver.lookup_ip(fqdn(&name)).await {
            Ok(ips) => {
                let addrs: Vec<IpAddr> = ips.iter().collect();
                if !addrs.is_empty() {
                    hosts.push(Host {
                        name: name.trim_end_matches('.').to_string(),
                        addrs,
                    });
                }
            }
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => {}
            Err(e) => temporary = Some(format!("4.4.3 DNS lookup of {name} failed: {e}")),
        }
    }
    if !hosts.is_empty() {
        return Ok(hosts);
    }
    match temporary {
        Some(t) => Err(RouteError::Temporary(t)),
        None if implicit => Err(RouteError::Permanent(format!(
            "5.1.2 {domain} has no MX and no address records"
        ))),
        None => Err(RouteError::Temporary(format!(
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
