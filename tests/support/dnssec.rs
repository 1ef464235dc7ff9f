//! A really signed DNS tree for the test DNS server (`dns.rs`), made at
//! test time: an Ed25519 key generated for the root zone "." is the trust
//! anchor Postern is configured with (`[dns] dnssec = "validate"`,
//! `trust_anchor`), and every answer from a zone marked signed carries
//! RRSIGs by it (RFC 4034 §3, RFC 4035 §3.1.1).
//!
//! The tree: the zones marked signed (`dnssec_zone`) are part of the
//! signed root zone itself, so no DS is needed for them. Every other name
//! lies in an unsigned zone delegated from the root at its last two
//! labels (`mx.plain.test` in `plain.test`): the root answers DS for that
//! cut with a signed NSEC that shows NS and no DS (RFC 4035 §5.2, an
//! insecure delegation), and the child's answers are unsigned. Negative
//! answers in the root zone carry the SOA and the NSEC records that prove
//! them (RFC 4035 §3.1.3): the NSEC at the name (NODATA), or the ones
//! covering the name and the wildcards above it (NXDOMAIN).
//!
//! A name marked bogus is served with its signatures broken (one octet
//! flipped), as a forged or corrupted answer is.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use hickory_proto::dnssec::crypto::Ed25519SigningKey;
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, NSEC, RRSIG, SigInput};
use hickory_proto::dnssec::{Algorithm, SigningKey, TBS};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{NS, SOA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, SerialNumber};

use super::dns::{Zone, key, name};

/// TTL of every record served (the RRSIGs' Original TTL too).
const TTL: u32 = 60;

/// The root zone's key, and what it signs.
pub struct RootSigner {
    key: Ed25519SigningKey,
    dnskey: DNSKEY,
    tag: u16,
}

impl RootSigner {
    pub fn generate() -> RootSigner {
        let pkcs8 = Ed25519SigningKey::generate_pkcs8().expect("generate a key");
        let key = Ed25519SigningKey::from_pkcs8(&pkcs8).expect("read the key");
        // 257: a zone key and a secure entry point (RFC 4034 §2.1.1).
        let dnskey = DNSKEY::with_flags(257, key.to_public_key().expect("public key"));
        let tag = dnskey.calculate_key_tag().expect("key tag");
        RootSigner { key, dnskey, tag }
    }

    /// The trust anchor, as `[dns] trust_anchor` reads it.
    pub fn anchor(&self) -> String {
        format!(". 3600 IN DNSKEY {}\n", self.dnskey)
    }

    /// The RRSIG over `records` (one RRset of `owner`), broken when asked.
    fn rrsig(&self, owner: &Name, rtype: RecordType, records: &[Record], broken: bool) -> Record {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs() as u32;
        let input = SigInput {
            type_covered: rtype,
            algorithm: Algorithm::ED25519,
            num_labels: owner.num_labels(),
            original_ttl: TTL,
            sig_expiration: SerialNumber::new(now + 86_400),
            sig_inception: SerialNumber::new(now - 3_600),
            key_tag: self.tag,
            signer_name: Name::root(),
        };
        let tbs = TBS::from_input(owner, DNSClass::IN, &input, records.iter()).expect("tbs");
        let mut sig = self.key.sign(&tbs).expect("sign");
        if broken {
            sig[0] ^= 0xff;
        }
        Record::from_rdata(
            owner.clone(),
            TTL,
            RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, sig))),
        )
    }

    /// `records` (RRsets in order) each followed by its RRSIG.
    fn signed(&self, records: Vec<Record>, bogus: &[String]) -> Vec<Record> {
        let mut sets: Vec<((Name, RecordType), Vec<Record>)> = Vec::new();
        for r in records {
            let k = (r.name.clone(), r.record_type());
            match sets.iter_mut().find(|(s, _)| *s == k) {
                Some((_, v)) => v.push(r),
                None => sets.push((k, vec![r])),
            }
        }
        let mut out = Vec::new();
        for ((owner, rtype), rrset) in sets {
            let broken = bogus.contains(&key(&owner.to_ascii()));
            out.push(self.rrsig(&owner, rtype, &rrset, broken));
            out.extend(rrset);
        }
        out
    }
}

/// Which names are signed and where the unsigned cuts are.
pub struct Tree<'a> {
    pub zone: &'a Zone,
    pub signed: &'a [String],
}

impl Tree<'_> {
    fn is_signed(&self, owner: &str) -> bool {
        owner.is_empty()
            || self
                .signed
                .iter()
                .any(|z| owner == z || owner.ends_with(&format!(".{z}")))
    }

    /// The unsigned zone `owner` lies in, named by its cut.
    pub fn cut_of(&self, owner: &str) -> Option<String> {
        if self.is_signed(owner) {
            return None;
        }
        let labels: Vec<&str> = owner.split('.').collect();
        (labels.len() >= 2).then(|| labels[labels.len() - 2..].join("."))
    }

    /// The root zone's owner names and their types (NSEC and RRSIG left
    /// to `NSEC::new_cover_self`).
    fn owners(&self) -> BTreeMap<Name, BTreeSet<RecordType>> {
        let mut out: BTreeMap<Name, BTreeSet<RecordType>> = BTreeMap::new();
        out.insert(
            Name::root(),
            [RecordType::SOA, RecordType::NS, RecordType::DNSKEY].into(),
        );
        for (owner, t) in self.zone.keys() {
            match self.cut_of(owner) {
                Some(cut) => {
                    out.entry(name(&cut)).or_default().insert(RecordType::NS);
                }
                None if self.is_signed(owner) => {
                    out.entry(name(owner)).or_default().insert(*t);
                }
                None => {}
            }
        }
        out
    }

    /// The NSEC record at `owner` of the chain (RFC 4034 §4).
    fn nsec_at(owners: &BTreeMap<Name, BTreeSet<RecordType>>, owner: &Name) -> Record {
        let next = owners
            .range((
                std::ops::Bound::Excluded(owner.clone()),
                std::ops::Bound::Unbounded,
            ))
            .next()
            .map(|(n, _)| n.clone())
            .unwrap_or_else(Name::root);
        let types = owners.get(owner).cloned().unwrap_or_default();
        Record::from_rdata(
            owner.clone(),
            TTL,
            RData::DNSSEC(DNSSECRData::NSEC(NSEC::new_cover_self(next, types))),
        )
    }

    /// The NSEC whose span holds `n` (the last owner before it).
    fn covering(owners: &BTreeMap<Name, BTreeSet<RecordType>>, n: &Name) -> Record {
        let owner = owners
            .range(..n.clone())
            .next_back()
            .map(|(o, _)| o.clone())
            .unwrap_or_else(Name::root);
        Self::nsec_at(owners, &owner)
    }

    fn soa() -> Record {
        let ns = Name::from_ascii("ns.root-servers.test.").expect("name");
        let rname = Name::from_ascii("hostmaster.root-servers.test.").expect("name");
        Record::from_rdata(
            Name::root(),
            TTL,
            RData::SOA(SOA::new(ns, rname, 1, 3600, 600, 86400, TTL)),
        )
    }

    /// The answer to `q` from the signed root zone, or None when the name
    /// is in an unsigned child zone (answered as before, unsigned).
    pub fn answer(
        &self,
        signer: &RootSigner,
        bogus: &[String],
        qname: &Name,
        qtype: RecordType,
        reply: &mut Message,
    ) -> Option<()> {
        let owner = key(&qname.to_ascii());
        let at_cut = self.cut_of(&owner).as_deref() == Some(owner.as_str());
        // RFC 4035 §3.1.4.1: DS at a cut is the parent's (the root's).
        if !(qtype == RecordType::DS && at_cut)
            && let Some(cut) = self.cut_of(&owner)
        {
            if qtype == RecordType::NS && cut == owner {
                let ns = name(&format!("ns.{cut}"));
                reply.add_answer(Record::from_rdata(qname.clone(), TTL, RData::NS(NS(ns))));
                return Some(());
            }
            return None;
        }
        let mut answers = Vec::new();
        if qtype != RecordType::DS || !at_cut {
            if owner.is_empty() {
                let r = match qtype {
                    RecordType::DNSKEY => {
                        Some(RData::DNSSEC(DNSSECRData::DNSKEY(signer.dnskey.clone())))
                    }
                    RecordType::SOA => Some(Self::soa().data),
                    RecordType::NS => Some(RData::NS(NS(Name::from_ascii(
                        "ns.root-servers.test.",
                    )
                    .expect("name")))),
                    _ => None,
                };
                answers.extend(r.map(|d| Record::from_rdata(Name::root(), TTL, d)));
            } else if let Some(rs) = self.zone.get(&(owner.clone(), qtype)) {
                answers.extend(
                    rs.iter()
                        .map(|d| Record::from_rdata(qname.clone(), TTL, d.clone())),
                );
            }
        }
        if !answers.is_empty() {
            for r in signer.signed(answers, bogus) {
                reply.add_answer(r);
            }
            return Some(());
        }
        // A negative answer and its proof (RFC 4035 §3.1.3).
        let owners = self.owners();
        let exists = owners.contains_key(qname);
        let non_terminal = owners.keys().any(|o| o != qname && qname.zone_of(o));
        if !exists && !non_terminal {
            reply.metadata.response_code = ResponseCode::NXDomain;
        }
        let mut proof = vec![Self::soa()];
        let mut push = |r: Record| {
            if !proof.contains(&r) {
                proof.push(r);
            }
        };
        if exists {
            push(Self::nsec_at(&owners, qname));
        } else {
            push(Self::covering(&owners, qname));
            let mut up = qname.base_name();
            loop {
                if let Ok(w) = up.prepend_label("*") {
                    push(Self::covering(&owners, &w));
                }
                if up.is_root() {
                    break;
                }
                up = up.base_name();
            }
        }
        for r in signer.signed(proof, bogus) {
            reply.add_authority(r);
        }
        Some(())
    }
}
