//! DNSSEC validated by Postern itself (`[dns] dnssec = "validate"`): the
//! trust anchors (the IANA root KSKs built into hickory, or the DNSKEY
//! records of `[dns] trust_anchor`), and the reading of hickory's
//! validating resolver's answers into what DANE needs (RFC 7672 §2.1):
//! secure (every RRset of the answer, or the NSEC/NSEC3 denial, chains to
//! an anchor, RFC 4035 §4.3), insecure (a proven unsigned delegation on
//! the way, or an unsigned answer from an upstream) or bogus (a signature
//! that fails, a missing one where a DS says there must be one, a denial
//! that proves nothing).
//!
//! The upstream resolvers only have to pass DNSSEC records through (DO
//! bit): one that strips them makes signed zones bogus, and DANE then
//! defers their mail, as RFC 7672 §2.1 requires of a bogus answer.

use std::path::Path;
use std::sync::Arc;

use hickory_resolver::TokioResolver;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::dnssec::{DnssecSummary, Proof, TrustAnchors};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Record, RecordType};

use crate::dns_secure::{SecureAnswer, SecureError};

/// The trust anchors DNSSEC is validated from (hickory's set, which has
/// no `Debug`); cheap to clone.
#[derive(Clone)]
pub struct Anchors(pub Arc<TrustAnchors>);

impl std::fmt::Debug for Anchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Anchors({} root keys)", self.0.len())
    }
}

/// The trust anchors of `path` (a file of DNSKEY records in zone-file
/// syntax, e.g. `. IN DNSKEY 257 3 8 AwEAA...`), or the IANA root zone's
/// KSKs (20326 and 38696) when there is none.
pub fn trust_anchors(path: Option<&Path>) -> Result<Anchors, String> {
    let Some(path) = path else {
        return Ok(Anchors(Arc::new(TrustAnchors::default())));
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let anchors: TrustAnchors = text
        .parse()
        .map_err(|e| format!("{}: not DNSKEY records: {e}", path.display()))?;
    if anchors.is_empty() && !text.to_ascii_uppercase().contains("DNSKEY") {
        return Err(format!("{}: no DNSKEY record", path.display()));
    }
    Ok(Anchors(Arc::new(anchors)))
}

/// The records of `fqdn` and `rtype` through the validating `resolver`.
pub(crate) async fn lookup(
    resolver: &TokioResolver,
    fqdn: &str,
    rtype: RecordType,
) -> Result<SecureAnswer, SecureError> {
    match resolver.lookup(fqdn, rtype).await {
        Ok(found) => Ok(positive(found.answers(), rtype)),
        Err(e) => negative(e),
    }
}

/// A positive answer is secure when every RRset in it is, CNAMEs
/// followed on the way included (RFC 4035 §5.3: each is validated).
fn positive(answers: &[Record], rtype: RecordType) -> SecureAnswer {
    let records: Vec<Record> = answers
        .iter()
        .filter(|r| r.record_type() == rtype)
        .cloned()
        .collect();
    let secure = !records.is_empty()
        && answers
            .iter()
            .filter(|r| r.record_type() != RecordType::RRSIG)
            .all(|r| r.proof == Proof::Secure);
    SecureAnswer {
        records,
        secure,
        nx_domain: false,
    }
}

fn negative(e: NetError) -> Result<SecureAnswer, SecureError> {
    match e {
        // NODATA or NXDOMAIN: secure when the denial (NSEC/NSEC3 and
        // SOA) validated (RFC 4035 §5.4), insecure when it lies in an
        // unsigned zone.
        NetError::Dns(DnsError::NoRecordsFound(nr)) => Ok(SecureAnswer {
            records: Vec::new(),
            secure: nr
                .authorities
                .as_ref()
                .is_some_and(|a| DnssecSummary::from_records(a.iter()) == DnssecSummary::Secure),
            nx_domain: nr.response_code == ResponseCode::NXDomain,
        }),
        NetError::Dns(DnsError::Nsec {
            proof: Proof::Bogus,
            ..
        })
        | NetError::Dns(DnsError::DnssecBogus) => Err(SecureError::Bogus),
        // A denial that is not proven, in a zone not known to be signed.
        NetError::Dns(DnsError::Nsec { response, .. }) => Ok(SecureAnswer {
            records: Vec::new(),
            secure: false,
            nx_domain: response.response_code == ResponseCode::NXDomain,
        }),
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => Err(SecureError::ServFail),
        other => Err(SecureError::Unreachable(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::rr::rdata::A;
    use hickory_resolver::proto::rr::{Name, RData};

    fn a(proof: Proof) -> Record {
        let mut r = Record::from_rdata(
            Name::from_ascii("mx.example.").expect("name"),
            60,
            RData::A(A::new(192, 0, 2, 1)),
        );
        r.proof = proof;
        r
    }

    #[test]
    fn an_answer_is_secure_only_when_every_rrset_in_it_validated() {
        assert!(positive(&[a(Proof::Secure)], RecordType::A).secure);
        assert!(!positive(&[a(Proof::Insecure)], RecordType::A).secure);
        assert!(!positive(&[a(Proof::Secure), a(Proof::Indeterminate)], RecordType::A).secure);
        // No record of the asked type is no proof of anything.
        assert!(!positive(&[a(Proof::Secure)], RecordType::TLSA).secure);
    }

    #[test]
    fn bogus_and_servfail_are_errors_never_unsigned() {
        assert_eq!(
            negative(NetError::Dns(DnsError::DnssecBogus)).err(),
            Some(SecureError::Bogus)
        );
        assert_eq!(
            negative(NetError::Dns(DnsError::ResponseCode(
                ResponseCode::ServFail
            )))
            .err(),
            Some(SecureError::ServFail)
        );
    }

    #[test]
    fn the_built_in_anchors_are_the_root_ksks_and_a_file_is_read() {
        assert_eq!(trust_anchors(None).expect("built in").0.len(), 2);
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), "not a key\n").expect("write");
        assert!(trust_anchors(Some(file.path())).is_err());
        assert!(trust_anchors(Some(Path::new("/nonexistent/anchor"))).is_err());
    }
}
