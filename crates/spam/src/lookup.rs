//! The network lookups a verdict uses, made through the server's one
//! resolver (`[dns] nameservers`): the client's IP in each DNS blocklist
//! (RFC 5782), the domains of the message's links and of its From address
//! in each domain blocklist, and forward-confirmed reverse DNS of the
//! client. All run at once under one total deadline; what has not answered
//! by then scores nothing and is logged, so a dead DNS server costs a
//! session at most the deadline and never refuses mail.

use std::net::IpAddr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::RData;
use tokio::task::JoinSet;

use crate::config::SpamConfig;
use crate::dnsbl::{BlocklistAnswer, Fcrdns, Lookups, dnsbl_query, rhsbl_query};
use crate::message::MessageView;
use crate::rules::org_domain;

/// Bounds on the lookups for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupLimits {
    /// The total time all lookups together may take.
    pub deadline: Duration,
    /// Distinct domains looked up in each domain blocklist.
    pub max_domains: usize,
    /// PTR names of the client checked for forward confirmation.
    pub max_ptr_names: usize,
}

impl Default for LookupLimits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(5),
            max_domains: 20,
            max_ptr_names: 3,
        }
    }
}

enum Found {
    Dnsbl(BlocklistAnswer),
    Rhsbl(BlocklistAnswer),
    Fcrdns(Fcrdns),
}

/// The domains a message's domain blocklists are asked about: the
/// registrable part of each link host and of the From address, deduplicated,
/// at most `max`; IP-address hosts are left to the rules.
pub fn domains_of(view: &MessageView, max: usize) -> Vec<String> {
    let from = view
        .from_address
        .as_deref()
        .and_then(|a| a.rsplit_once('@'))
        .map(|(_, d)| d.to_ascii_lowercase());
    let mut out: Vec<String> = Vec::new();
    for host in from.iter().chain(view.links.iter().map(|l| &l.host)) {
        if out.len() >= max {
            break;
        }
        let host = host.trim_end_matches('.');
        if host.parse::<IpAddr>().is_ok() || !host.contains('.') {
            continue;
        }
        let d = org_domain(host);
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// Runs every configured lookup for a message from `ip` and returns what
/// answered before the deadline. `fcrdns` false skips the reverse DNS
/// check (the client is on loopback or the operator turned it off).
pub async fn lookups(
    resolver: &TokioResolver,
    ip: IpAddr,
    view: &MessageView,
    config: &SpamConfig,
    limits: &LookupLimits,
    fcrdns: bool,
) -> Lookups {
    let mut set = JoinSet::new();
    for z in &config.dnsbl {
        if let Ok(name) = dnsbl_query(ip, &z.zone) {
            let (r, zone) = (resolver.clone(), z.zone.clone());
            set.spawn(async move {
                Found::Dnsbl(BlocklistAnswer {
                    records: a_records(&r, &name).await,
                    zone,
                    queried: ip.to_string(),
                })
            });
        }
    }
    if !config.rhsbl.is_empty() {
        for d in domains_of(view, limits.max_domains) {
            for z in &config.rhsbl {
                if let Ok(name) = rhsbl_query(&d, &z.zone) {
                    let (r, zone, d) = (resolver.clone(), z.zone.clone(), d.clone());
                    set.spawn(async move {
                        Found::Rhsbl(BlocklistAnswer {
                            records: a_records(&r, &name).await,
                            zone,
                            queried: d,
                        })
                    });
                }
            }
        }
    }
    if fcrdns {
        let (r, max) = (resolver.clone(), limits.max_ptr_names);
        set.spawn(async move { Found::Fcrdns(forward_confirmed(&r, ip, max).await) });
    }
    let mut out = Lookups::default();
    // Nothing to ask (no list configured, a loopback client): no timer.
    if set.is_empty() {
        return out;
    }
    let deadline = tokio::time::Instant::now() + limits.deadline;
    loop {
        match tokio::time::timeout_at(deadline, set.join_next()).await {
            Ok(Some(Ok(found))) => match found {
                Found::Dnsbl(a) => out.dnsbl.push(a),
                Found::Rhsbl(a) => out.rhsbl.push(a),
                Found::Fcrdns(f) => out.fcrdns = Some(f),
            },
            Ok(Some(Err(e))) => tracing::warn!(error = %e, "a spam lookup task failed"),
            Ok(None) => break,
            Err(_) => {
                tracing::warn!(
                    %ip,
                    pending = set.len(),
                    deadline_ms = limits.deadline.as_millis() as u64,
                    "spam lookups timed out; the unanswered ones score nothing"
                );
                // Dropping the set aborts what is still running.
                break;
            }
        }
    }
    out
}

/// The A records of `name`; none on NXDOMAIN (not listed) and on any error
/// (a failing list must not count as a listing).
async fn a_records(resolver: &TokioResolver, name: &str) -> Vec<std::net::Ipv4Addr> {
    match resolver.ipv4_lookup(format!("{name}.")).await {
        Ok(l) => l
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(a.0),
                _ => None,
            })
            .collect(),
        Err(e) => {
            if !(e.is_nx_domain() || e.is_no_records_found()) {
                tracing::debug!(name, error = %e, "blocklist lookup failed");
            }
            Vec::new()
        }
    }
}

/// FCrDNS: a PTR name of `ip` whose addresses include `ip`.
async fn forward_confirmed(resolver: &TokioResolver, ip: IpAddr, max: usize) -> Fcrdns {
    let zone = if ip.is_ipv4() {
        "in-addr.arpa"
    } else {
        "ip6.arpa"
    };
    let Ok(ptr) = dnsbl_query(ip, zone) else {
        return Fcrdns::Failed;
    };
    let names: Vec<String> = match resolver.reverse_lookup(format!("{ptr}.")).await {
        Ok(l) => l
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::PTR(p) => Some(p.0.to_ascii()),
                _ => None,
            })
            .take(max)
            .collect(),
        Err(_) => return Fcrdns::Failed,
    };
    for name in names {
        if let Ok(ips) = resolver.lookup_ip(name.as_str()).await
            && ips.iter().any(|a| a == ip)
        {
            return Fcrdns::Confirmed(name.trim_end_matches('.').to_string());
        }
    }
    Fcrdns::Failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReadLimits;

    #[test]
    fn domains_are_registrable_parts_from_first_then_links() {
        let raw = b"From: a@mail.sender.example\r\nContent-Type: text/html\r\n\r\n\
<a href=\"http://x.spam.example/p\">a</a> <a href=\"https://www.spam.example/\">b</a>\
<a href=\"http://192.0.2.1/\">c</a> <a href=\"http://other.example.net/\">d</a>\r\n";
        let view = MessageView::parse(raw, &ReadLimits::default());
        assert_eq!(
            domains_of(&view, 10),
            ["sender.example", "spam.example", "example.net"]
        );
        assert_eq!(domains_of(&view, 1), ["sender.example"]);
    }
}
