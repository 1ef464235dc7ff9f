//! A DNS server on 127.0.0.1 for the tests: a UDP responder (hickory-proto
//! for the message format) answering from records the test sets. Postern's
//! resolver is pointed at it with `[dns] nameservers = ["127.0.0.1:PORT"]`.
//!
//! It answers authoritatively: the records of the asked name and type; a
//! CNAME of the name (followed, its target's records added); NODATA when
//! the name has other records; NXDOMAIN otherwise. A name can be made to
//! fail with SERVFAIL, to test that DNS errors are temporary.
//!
//! For DANE it plays one of two things. By default, a validating resolver
//! on loopback (what Postern trusts by default, `[dns] dnssec =
//! "trust_ad"`, `trust_ad = "loopback"`): names in a zone marked with
//! `dnssec_zone` are answered with the AD bit set (RFC 4035 §3.2.3: the
//! answer, or the denial, validated), when the query asks for DNSSEC (AD
//! or DO set); a name marked `bogus` answers SERVFAIL, as a validating
//! resolver does when validation fails (RFC 4035 §5.5). After `sign()`,
//! a really signed tree instead (`dnssec.rs`): the zones marked with
//! `dnssec_zone` are signed with a key made for the test, which `config()`
//! makes Postern's trust anchor (`[dns] dnssec = "validate"`), and a name
//! marked `bogus` is served with broken signatures.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, TLSA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::dnssec::{RootSigner, Tree};

pub type Zone = HashMap<(String, RecordType), Vec<RData>>;

/// What `sign()` turns on: the root key, and the file naming it as the
/// trust anchor.
struct Signing {
    signer: RootSigner,
    anchor: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// The state the answering thread reads.
#[derive(Default)]
struct State {
    servfail: Vec<String>,
    /// Zones whose answers carry the AD bit, or are signed.
    secure: Vec<String>,
    /// Names whose validation fails (SERVFAIL, or broken signatures).
    bogus: Vec<String>,
    signing: Option<Signing>,
}

/// The running server; stops when dropped.
pub struct TestDns {
    pub port: u16,
    zone: Arc<Mutex<Zone>>,
    state: Arc<Mutex<State>>,
    /// Read every query and answer none (a DNS server that hangs).
    mute: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

pub fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

pub fn name(n: &str) -> Name {
    Name::from_ascii(format!("{}.", key(n))).expect("a valid DNS name")
}

impl TestDns {
    pub fn start() -> TestDns {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind DNS socket");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let port = sock.local_addr().expect("addr").port();
        let zone: Arc<Mutex<Zone>> = Arc::default();
        let state: Arc<Mutex<State>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let mute = Arc::new(AtomicBool::new(false));
        let (z, s, st, mu) = (zone.clone(), state.clone(), stop.clone(), mute.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !st.load(Ordering::Relaxed) {
                let Ok((n, peer)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if mu.load(Ordering::Relaxed) {
                    continue;
                }
                if let Some(reply) = answer(&buf[..n], &z, &s) {
                    let _ = sock.send_to(&reply, peer);
                }
            }
        });
        TestDns {
            port,
            zone,
            state,
            mute,
            stop,
        }
    }

    /// From now on, queries are read and never answered.
    pub fn mute(&self) {
        self.mute.store(true, Ordering::Relaxed);
    }

    /// The config line that points Postern at this server.
    /// After `sign()`, also the trust anchor Postern validates from.
    pub fn config(&self) -> String {
        let mut c = format!("[dns]\nnameservers = [\"127.0.0.1:{}\"]\n", self.port);
        if let Some(s) = &self.state.lock().expect("state").signing {
            c.push_str(&format!(
                "dnssec = \"validate\"\ntrust_anchor = \"{}\"\n",
                s.anchor.display()
            ));
        }
        c
    }

    /// From now on the zones marked with `dnssec_zone` are really signed,
    /// by a root key made now that `config()` names as the trust anchor;
    /// every other name lies in an unsigned zone (see `dnssec.rs`).
    pub fn sign(&self) {
        let signer = RootSigner::generate();
        let dir = tempfile::tempdir().expect("temp dir");
        let anchor = dir.path().join("root.key");
        std::fs::write(&anchor, signer.anchor()).expect("write the trust anchor");
        self.state.lock().expect("state").signing = Some(Signing {
            signer,
            anchor,
            _dir: dir,
        });
    }

    fn add(&self, owner: &str, t: RecordType, data: RData) {
        self.zone
            .lock()
            .expect("zone")
            .entry((key(owner), t))
            .or_default()
            .push(data);
    }

    pub fn mx(&self, domain: &str, preference: u16, host: &str) {
        let exchange = if host == "." {
            Name::root()
        } else {
            name(host)
        };
        self.add(
            domain,
            RecordType::MX,
            RData::MX(MX::new(preference, exchange)),
        );
    }

    pub fn a(&self, host: &str, ip: Ipv4Addr) {
        self.add(host, RecordType::A, RData::A(A(ip)));
    }

    pub fn aaaa(&self, host: &str, ip: Ipv6Addr) {
        self.add(host, RecordType::AAAA, RData::AAAA(AAAA(ip)));
    }

    pub fn txt(&self, owner: &str, text: &str) {
        // One TXT record of 255-octet strings (RFC 1035 §3.3.14).
        let parts = text
            .as_bytes()
            .chunks(255)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        self.add(owner, RecordType::TXT, RData::TXT(TXT::new(parts)));
    }

    /// The reverse name of `ip` (RFC 1035 §3.5) points at `host`.
    pub fn ptr(&self, ip: Ipv4Addr, host: &str) {
        let o = ip.octets();
        let owner = format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0]);
        self.add(&owner, RecordType::PTR, RData::PTR(PTR(name(host))));
    }

    pub fn cname(&self, owner: &str, target: &str) {
        self.add(owner, RecordType::CNAME, RData::CNAME(CNAME(name(target))));
    }

    /// A TLSA record (RFC 6698 §2.1), e.g. at `_25._tcp.mx.example.test`.
    pub fn tlsa(&self, owner: &str, usage: u8, selector: u8, matching: u8, data: &[u8]) {
        let t = TLSA::new(
            usage.into(),
            selector.into(),
            matching.into(),
            data.to_vec(),
        );
        self.add(owner, RecordType::TLSA, RData::TLSA(t));
    }

    /// Answers for `zone` and every name under it are DNSSEC-validated
    /// (AD set), as a validating resolver says of a signed zone.
    pub fn dnssec_zone(&self, zone: &str) {
        self.state.lock().expect("state").secure.push(key(zone));
    }

    /// Validation of `owner` fails: SERVFAIL, as a validating resolver
    /// answers for a bogus signature; once signed, its signatures are
    /// broken instead.
    pub fn bogus(&self, owner: &str) {
        self.state.lock().expect("state").bogus.push(key(owner));
    }

    /// Every query for `owner` gets SERVFAIL.
    pub fn servfail(&self, owner: &str) {
        self.state.lock().expect("state").servfail.push(key(owner));
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn answer(packet: &[u8], zone: &Mutex<Zone>, state: &Mutex<State>) -> Option<Vec<u8>> {
    let query = Message::from_vec(packet).ok()?;
    let q = query.queries.first()?.clone();
    let mut reply = Message::response(query.metadata.id, OpCode::Query);
    reply.metadata.message_type = MessageType::Response;
    reply.metadata.authoritative = true;
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.add_query(q.clone());
    let mut owner = key(&q.name.to_ascii());
    let state = state.lock().ok()?;
    let zone = zone.lock().ok()?;
    if state.servfail.contains(&owner) {
        reply.metadata.response_code = ResponseCode::ServFail;
        return reply.to_vec().ok();
    }
    if let Some(s) = &state.signing {
        let tree = Tree {
            zone: &zone,
            signed: &state.secure,
        };
        if tree
            .answer(&s.signer, &state.bogus, &q.name, q.query_type, &mut reply)
            .is_some()
        {
            return reply.to_vec().ok();
        }
    } else {
        let wants_dnssec = query.metadata.authentic_data
            || query.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
        reply.metadata.authentic_data = wants_dnssec
            && state
                .secure
                .iter()
                .any(|z| owner == *z || owner.ends_with(&format!(".{z}")));
        if state.bogus.contains(&owner) {
            reply.metadata.response_code = ResponseCode::ServFail;
            return reply.to_vec().ok();
        }
    }
    // Follow CNAMEs (a few hops at most), adding each to the answer.
    for _ in 0..8 {
        if q.query_type != RecordType::CNAME
            && let Some(targets) = zone.get(&(owner.clone(), RecordType::CNAME))
            && let Some(RData::CNAME(CNAME(target))) = targets.first()
        {
            reply.add_answer(Record::from_rdata(name(&owner), 60, targets[0].clone()));
            owner = key(&target.to_ascii());
            continue;
        }
        break;
    }
    match zone.get(&(owner.clone(), q.query_type)) {
        Some(records) => {
            for r in records {
                reply.add_answer(Record::from_rdata(name(&owner), 60, r.clone()));
            }
        }
        None if reply.answers.is_empty() && !zone.keys().any(|(o, _)| *o == owner) => {
            reply.metadata.response_code = ResponseCode::NXDomain;
        }
        None => {}
    }
    reply.to_vec().ok()
}
