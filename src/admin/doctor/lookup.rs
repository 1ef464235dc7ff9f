//! The doctor's DNS: every question through the `[dns]` resolver, each
//! under the doctor's timeout, and the answer sorted into "found", "there
//! is nothing" (NXDOMAIN or no records: a fact about the zone) and "could
//! not tell" (a DNS failure or timeout: a fact about the network).

use std::net::IpAddr;
use std::time::Duration;

use postern_net::dns::hickory_resolver::TokioResolver;
use postern_net::dns::hickory_resolver::net::NetError;
use postern_net::dns::hickory_resolver::proto::rr::{RData, RecordType};

pub enum Answer<T> {
    Found(T),
    Nothing,
    Failed(String),
}

pub struct Dns {
    pub resolver: TokioResolver,
    pub timeout: Duration,
}

fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// A name as DNS wrote it, without the final dot and lowercased.
pub fn plain(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Dns {
    async fn records(&self, name: &str, t: RecordType) -> Answer<Vec<RData>> {
        let asked = tokio::time::timeout(self.timeout, self.resolver.lookup(fqdn(name), t)).await;
        match asked {
            Err(_) => Answer::Failed(format!("{t} {name}: no answer within {:?}", self.timeout)),
            Ok(Ok(l)) => {
                let data: Vec<RData> = l
                    .answers()
                    .iter()
                    .filter(|r| r.record_type() == t)
                    .map(|r| r.data.clone())
                    .collect();
                if data.is_empty() {
                    Answer::Nothing
                } else {
                    Answer::Found(data)
                }
            }
            Ok(Err(e)) => nothing_or_failed(&format!("{t} {name}"), &e),
        }
    }

    /// The TXT records of `name`, each one string (RFC 7208 §3.3).
    pub async fn txt(&self, name: &str) -> Answer<Vec<String>> {
        self.records(name, RecordType::TXT).await.map(|data| {
            data.iter()
                .filter_map(|d| match d {
                    RData::TXT(t) => Some(
                        t.txt_data
                            .iter()
                            .map(|s| String::from_utf8_lossy(s).into_owned())
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()
        })
    }

    /// The TXT record of `name` that starts with `prefix` (`v=spf1`).
    pub async fn txt_starting(&self, name: &str, prefix: &str) -> Answer<String> {
        match self.txt(name).await {
            Answer::Found(v) => v
                .into_iter()
                .find(|t| {
                    t.trim_start()
                        .to_ascii_lowercase()
                        .starts_with(&prefix.to_ascii_lowercase())
                })
                .map_or(Answer::Nothing, Answer::Found),
            Answer::Nothing => Answer::Nothing,
            Answer::Failed(e) => Answer::Failed(e),
        }
    }

    pub async fn mx(&self, domain: &str) -> Answer<Vec<(u16, String)>> {
        self.records(domain, RecordType::MX).await.map(|data| {
            let mut mx: Vec<(u16, String)> = data
                .iter()
                .filter_map(|d| match d {
                    RData::MX(m) => Some((m.preference, plain(&m.exchange.to_ascii()))),
                    _ => None,
                })
                .collect();
            mx.sort();
            mx
        })
    }

    /// The A and AAAA addresses of `name` (CNAMEs followed).
    pub async fn ips(&self, name: &str) -> Answer<Vec<IpAddr>> {
        let asked = tokio::time::timeout(self.timeout, self.resolver.lookup_ip(fqdn(name))).await;
        match asked {
            Err(_) => Answer::Failed(format!("{name}: no answer within {:?}", self.timeout)),
            Ok(Ok(l)) => {
                let ips: Vec<IpAddr> = l.iter().collect();
                if ips.is_empty() {
                    Answer::Nothing
                } else {
                    Answer::Found(ips)
                }
            }
            Ok(Err(e)) => nothing_or_failed(name, &e),
        }
    }

    /// The PTR names of `ip`.
    pub async fn ptr(&self, ip: IpAddr) -> Answer<Vec<String>> {
        let asked = tokio::time::timeout(self.timeout, self.resolver.reverse_lookup(ip)).await;
        match asked {
            Err(_) => Answer::Failed(format!("PTR {ip}: no answer within {:?}", self.timeout)),
            Ok(Ok(l)) => {
                let names: Vec<String> = l
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::PTR(p) => Some(plain(&p.0.to_ascii())),
                        _ => None,
                    })
                    .collect();
                if names.is_empty() {
                    Answer::Nothing
                } else {
                    Answer::Found(names)
                }
            }
            Ok(Err(e)) => nothing_or_failed(&format!("PTR {ip}"), &e),
        }
    }

    /// The TLSA records of `name` (RFC 6698).
    pub async fn tlsa(&self, name: &str) -> Answer<Vec<postern_smtp::outbound::dane::Tlsa>> {
        self.records(name, RecordType::TLSA).await.map(|data| {
            data.iter()
                .filter_map(|d| match d {
                    RData::TLSA(t) => Some(postern_smtp::outbound::dane::Tlsa {
                        usage: t.cert_usage.into(),
                        selector: t.selector.into(),
                        matching: t.matching.into(),
                        data: t.cert_data.clone(),
                    }),
                    _ => None,
                })
                .collect()
        })
    }

    /// The CAA records of `name` in presentation form (`0 issue "ca.example"`).
    pub async fn caa(&self, name: &str) -> Answer<Vec<String>> {
        self.records(name, RecordType::CAA)
            .await
            .map(|data| data.iter().map(|d| d.to_string()).collect())
    }
}

impl<T> Answer<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Answer<U> {
        match self {
            Answer::Found(t) => Answer::Found(f(t)),
            Answer::Nothing => Answer::Nothing,
            Answer::Failed(e) => Answer::Failed(e),
        }
    }
}

fn nothing_or_failed<T>(what: &str, e: &NetError) -> Answer<T> {
    if e.is_nx_domain() || e.is_no_records_found() {
        Answer::Nothing
    } else {
        Answer::Failed(format!("{what}: {e}"))
    }
}
