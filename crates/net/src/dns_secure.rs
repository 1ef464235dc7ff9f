//! DNSSEC-aware lookups for DANE (RFC 7672): whether an answer is
//! authenticated, which the ordinary resolver (`dns.rs`) does not say.
//!
//! Two ways, by `[dns] dnssec`. With `validate`, Postern validates the
//! answers itself from trust anchors (`dns_validate.rs`). With `trust_ad`
//! (the default) it asks a validating resolver
//! (unbound, BIND, systemd-resolved, Knot Resolver) and believes the AD bit
//! of its answers (RFC 6698 §1.3 and RFC 7672 §1.3 allow this when the path
//! to the resolver is trusted; RFC 6840 §5.7: a query with AD set asks for
//! it). Which resolvers are believed is `[dns] trust_ad`: by default only
//! ones reached over loopback (a resolver on the machine itself, where no
//! one on the network can forge the bit); `always` believes the configured
//! ones wherever they are (a resolver on a private network the operator
//! trusts); `off` treats every answer as unsigned, so DANE never applies.
//!
//! A validating resolver answers SERVFAIL for a bogus answer (RFC 4035
//! §5.5), so SERVFAIL is an error here and never "unsigned". Queries go
//! over UDP with an EDNS0 payload of 1232 octets and the DO bit, and again
//! over TCP when the answer is truncated. No cache: DANE asks for a few
//! records per delivery attempt, and the resolver caches.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::TokioResolver;

use crate::dns_validate::Anchors;
use hickory_resolver::proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Which resolvers' AD bit is believed (`[dns] trust_ad`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrustAd {
    /// Only resolvers on a loopback address (RFC 7672 §1.3).
    #[default]
    Loopback,
    /// The configured resolvers wherever they are.
    Always,
    /// None: every answer is treated as unsigned (no DANE).
    Off,
}

impl TrustAd {
    pub fn parse(s: &str) -> Option<TrustAd> {
        match s {
            "loopback" => Some(TrustAd::Loopback),
            "always" => Some(TrustAd::Always),
            "off" => Some(TrustAd::Off),
            _ => None,
        }
    }
}

/// EDNS0 payload size offered (the DNS flag day 2020 value).
const UDP_PAYLOAD: u16 = 1232;
/// The largest answer read over TCP (a DNS message's limit).
const MAX_TCP_ANSWER: usize = 65_535;

/// One answer: the records of the asked type (CNAMEs followed by the
/// resolver are left out) and whether the resolver vouched for it.
#[derive(Clone, Debug)]
pub struct SecureAnswer {
    pub records: Vec<Record>,
    /// The AD bit of a believed resolver: the answer, or the denial that
    /// the name or type exists, validated (RFC 4035 §3.2.3).
    pub secure: bool,
    /// The name does not exist (NXDOMAIN).
    pub nx_domain: bool,
}

/// Why no answer came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecureError {
    /// SERVFAIL: from a validating resolver, most often a bogus answer
    /// (RFC 4035 §5.5); a temporary failure either way.
    ServFail,
    /// Our own validation found the answer bogus (RFC 4035 §5.5).
    Bogus,
    /// No resolver answered (timeouts, refused, unreadable answers).
    Unreachable(String),
}

impl std::fmt::Display for SecureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecureError::ServFail => {
                f.write_str("the resolver answered SERVFAIL (DNSSEC validation failed?)")
            }
            SecureError::Bogus => f.write_str("DNSSEC validation failed: the answer is bogus"),
            SecureError::Unreachable(why) => f.write_str(why),
        }
    }
}

/// Asks the believed validating resolvers, or validates; see the module
/// doc.
#[derive(Clone, Debug)]
pub struct SecureResolver {
    servers: Vec<SocketAddr>,
    timeout: Duration,
    /// `[dns] dnssec = "validate"`: hickory's validating resolver.
    validator: Option<TokioResolver>,
}

impl SecureResolver {
    /// What `[dns]` configures: our own validation when `anchors` are
    /// given (`dnssec = "validate"`), else the resolvers `trust` believes.
    /// None when DANE is off.
    pub fn configured(
        nameservers: &[SocketAddr],
        trust: TrustAd,
        anchors: Option<&Anchors>,
        timeout: Duration,
    ) -> Result<Option<SecureResolver>, String> {
        match anchors {
            Some(a) => Ok(Some(SecureResolver::validating(
                nameservers,
                a.0.clone(),
                timeout,
            )?)),
            None => Ok(SecureResolver::new(nameservers, trust, timeout)),
        }
    }

    /// Validates DNSSEC itself from `anchors`, asking `nameservers` (or
    /// the system's) for the records and their signatures.
    pub fn validating(
        nameservers: &[SocketAddr],
        anchors: Arc<hickory_resolver::proto::dnssec::TrustAnchors>,
        timeout: Duration,
    ) -> Result<SecureResolver, String> {
        Ok(SecureResolver {
            servers: Vec::new(),
            timeout,
            validator: Some(crate::dns::validating_resolver(nameservers, anchors)?),
        })
    }

    /// Whether answers are validated here rather than believed.
    pub fn validates(&self) -> bool {
        self.validator.is_some()
    }

    /// The resolvers of `nameservers` (or of /etc/resolv.conf when empty)
    /// whose AD bit `trust` believes; None when there is none, and DANE
    /// is then off.
    pub fn new(
        nameservers: &[SocketAddr],
        trust: TrustAd,
        timeout: Duration,
    ) -> Option<SecureResolver> {
        if trust == TrustAd::Off {
            return None;
        }
        let all: Vec<SocketAddr> = if nameservers.is_empty() {
            system_nameservers()
        } else {
            nameservers.to_vec()
        };
        let servers: Vec<SocketAddr> = all
            .into_iter()
            .filter(|s| trust == TrustAd::Always || s.ip().is_loopback())
            .collect();
        (!servers.is_empty()).then_some(SecureResolver {
            servers,
            timeout,
            validator: None,
        })
    }

    /// The records of `name` and `rtype`, and whether they are secure.
    pub async fn lookup(&self, name: &str, rtype: RecordType) -> Result<SecureAnswer, SecureError> {
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let qname = Name::from_ascii(&fqdn)
            .map_err(|e| SecureError::Unreachable(format!("bad name {fqdn}: {e}")))?;
        if let Some(v) = &self.validator {
            return tokio::time::timeout(
                self.timeout,
                crate::dns_validate::lookup(v, &fqdn, rtype),
            )
            .await
            .map_err(|_| SecureError::Unreachable(format!("looking up {fqdn}: timed out")))?;
        }
        let mut last = SecureError::Unreachable("no resolver to ask".into());
        for server in &self.servers {
            match self.ask(*server, &qname, rtype).await {
                Ok(m) => return interpret(m, rtype),
                Err(e) => last = SecureError::Unreachable(format!("asking {server}: {e}")),
            }
        }
        Err(last)
    }

    async fn ask(
        &self,
        server: SocketAddr,
        qname: &Name,
        rtype: RecordType,
    ) -> Result<Message, String> {
        let query = query(qname, rtype);
        let bytes = query.to_vec().map_err(|e| e.to_string())?;
        let m = tokio::time::timeout(self.timeout, udp(server, &bytes, &query))
            .await
            .map_err(|_| "timed out".to_string())??;
        if !m.metadata.truncation {
            return Ok(m);
        }
        tokio::time::timeout(self.timeout, tcp(server, &bytes, &query))
            .await
            .map_err(|_| "timed out over TCP".to_string())?
    }
}

fn query(qname: &Name, rtype: RecordType) -> Message {
    let mut m = Message::new(rand_id(), MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    // RFC 6840 §5.7: AD in a query asks the resolver to say whether the
    // answer validated; DO (RFC 3225) is needed by some resolvers too.
    m.metadata.authentic_data = true;
    let mut edns = Edns::new();
    edns.set_max_payload(UDP_PAYLOAD);
    edns.set_dnssec_ok(true);
    m.set_edns(edns);
    m.add_query(Query::query(qname.clone(), rtype));
    m
}

/// The query ID is one of the defences against forged answers (RFC
/// 5452 §4), so it is random.
fn rand_id() -> u16 {
    rand::random()
}

/// Whether `answer` answers `query` (same ID and question).
fn answers(answer: &Message, query: &Message) -> bool {
    answer.metadata.id == query.metadata.id
        && answer.metadata.message_type == MessageType::Response
        && answer.queries.first().map(|q| (q.name(), q.query_type()))
            == query.queries.first().map(|q| (q.name(), q.query_type()))
}

async fn udp(server: SocketAddr, bytes: &[u8], query: &Message) -> Result<Message, String> {
    let bind: SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
    sock.connect(server).await.map_err(|e| e.to_string())?;
    sock.send(bytes).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; usize::from(UDP_PAYLOAD).max(512)];
    loop {
        let n = sock.recv(&mut buf).await.map_err(|e| e.to_string())?;
        // Anything that is not the answer to this query is ignored (a
        // late answer to an earlier one, or a forgery with a wrong ID).
        if let Ok(m) = Message::from_vec(&buf[..n])
            && answers(&m, query)
        {
            return Ok(m);
        }
    }
}

async fn tcp(server: SocketAddr, bytes: &[u8], query: &Message) -> Result<Message, String> {
    let mut s = TcpStream::connect(server)
        .await
        .map_err(|e| e.to_string())?;
    let len = u16::try_from(bytes.len()).map_err(|_| "query too long".to_string())?;
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    s.write_all(&out).await.map_err(|e| e.to_string())?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await.map_err(|e| e.to_string())?;
    let n = usize::from(u16::from_be_bytes(len)).min(MAX_TCP_ANSWER);
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
    let m = Message::from_vec(&buf).map_err(|e| e.to_string())?;
    if !answers(&m, query) {
        return Err("the answer over TCP is not for the query".into());
    }
    Ok(m)
}

fn interpret(m: Message, rtype: RecordType) -> Result<SecureAnswer, SecureError> {
    let secure = m.metadata.authentic_data;
    match m.metadata.response_code {
        ResponseCode::NoError => Ok(SecureAnswer {
            records: m
                .answers
                .into_iter()
                .filter(|r| r.record_type() == rtype)
                .collect(),
            secure,
            nx_domain: false,
        }),
        ResponseCode::NXDomain => Ok(SecureAnswer {
            records: Vec::new(),
            secure,
            nx_domain: true,
        }),
        ResponseCode::ServFail => Err(SecureError::ServFail),
        other => Err(SecureError::Unreachable(format!(
            "the resolver answered {other}"
        ))),
    }
}

/// The nameservers of /etc/resolv.conf (none when it cannot be read).
fn system_nameservers() -> Vec<SocketAddr> {
    match hickory_resolver::system_conf::read_system_conf() {
        Ok((cfg, _)) => cfg
            .name_servers()
            .iter()
            .map(|ns| SocketAddr::new(ns.ip, 53))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_resolvers_are_believed_by_default() {
        let t = Duration::from_secs(1);
        let lo: SocketAddr = "127.0.0.1:53".parse().expect("addr");
        let remote: SocketAddr = "192.0.2.1:53".parse().expect("addr");
        let r = SecureResolver::new(&[remote, lo], TrustAd::Loopback, t).expect("one");
        assert_eq!(r.servers, [lo]);
        assert!(SecureResolver::new(&[remote], TrustAd::Loopback, t).is_none());
        let r = SecureResolver::new(&[remote], TrustAd::Always, t).expect("trusted");
        assert_eq!(r.servers, [remote]);
        assert!(SecureResolver::new(&[lo], TrustAd::Off, t).is_none());
        assert_eq!(TrustAd::parse("loopback"), Some(TrustAd::Loopback));
        assert_eq!(TrustAd::parse("yes"), None);
    }

    #[test]
    fn a_query_asks_for_the_ad_bit_and_dnssec_records() {
        let name = Name::from_ascii("_25._tcp.mx.example.").expect("name");
        let q = query(&name, RecordType::TLSA);
        assert!(q.metadata.authentic_data);
        assert!(q.metadata.recursion_desired);
        let edns = q.edns.as_ref().expect("edns");
        assert!(edns.flags().dnssec_ok);
        let back = Message::from_vec(&q.to_vec().expect("encode")).expect("decode");
        assert!(answers(
            &{
                let mut r = back.clone();
                r.metadata.message_type = MessageType::Response;
                r
            },
            &q
        ));
    }
}
