//! DANE for outbound SMTP (RFC 7672): TLSA records of an MX host, found
//! through DNSSEC-validated answers (`postern_net::dns_secure`), make
//! STARTTLS mandatory and say which certificate the host may present.
//!
//! Per destination: the MX RRset must be secure (RFC 7672 §2.2.1; with no
//! MX, the secure denial of it); per MX host: its address records must be
//! secure, and then `_PORT._tcp.HOST` TLSA is asked (§2.2.2). A secure,
//! non-empty TLSA RRset makes TLS mandatory; its usable records (DANE-TA(2)
//! and DANE-EE(3) with a known selector and matching type, §3.1.3: PKIX-TA
//! and PKIX-EE are unusable for SMTP) must authenticate the server; when
//! none is usable, TLS is still mandatory but not authenticated (§2.2). A
//! TLSA lookup that fails (SERVFAIL: bogus) means that host is not used
//! (§2.2: not even in the clear). Insecure answers: no DANE, today's
//! opportunistic TLS.
//!
//! Matching (§3.1): DANE-EE compares the server's own certificate (or its
//! public key), with no name or date checks; DANE-TA finds the trust
//! anchor among the certificates the server sent and checks the chain to
//! it, its dates, and the name against the MX host (§3.2.2).

use std::collections::HashMap;
use std::sync::Arc;

use hickory_resolver::proto::rr::{RData, RecordType};
use postern_net::dns_secure::{SecureError, SecureResolver};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::Digest;
use tokio_rustls::TlsConnector;

use super::route::Host;

/// Certificate usages (RFC 6698 §2.1.1).
const DANE_TA: u8 = 2;
const DANE_EE: u8 = 3;

/// One TLSA record (RFC 6698 §2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    /// 0: the full certificate; 1: its SubjectPublicKeyInfo.
    pub selector: u8,
    /// 0: the data itself; 1: SHA-256; 2: SHA-512.
    pub matching: u8,
    pub data: Vec<u8>,
}

impl Tlsa {
    /// RFC 7672 §3.1.3: only DANE-TA and DANE-EE, with selectors and
    /// matching types we know, are usable for SMTP.
    pub fn usable(&self) -> bool {
        matches!(self.usage, DANE_TA | DANE_EE) && self.selector <= 1 && self.matching <= 2
    }

    /// Whether `cert` (DER) is what this record names.
    pub fn matches(&self, cert: &[u8]) -> bool {
        let selected = match self.selector {
            0 => cert.to_vec(),
            1 => match spki(cert) {
                Some(s) => s,
                None => return false,
            },
            _ => return false,
        };
        match self.matching {
            0 => selected == self.data,
            1 => sha2::Sha256::digest(&selected).as_slice() == self.data.as_slice(),
            2 => sha2::Sha512::digest(&selected).as_slice() == self.data.as_slice(),
            _ => false,
        }
    }
}

/// The DER SubjectPublicKeyInfo of a DER certificate.
pub fn spki(cert: &[u8]) -> Option<Vec<u8>> {
    let der = CertificateDer::from(cert);
    let parsed = rustls::server::ParsedCertificate::try_from(&der).ok()?;
    Some(parsed.subject_public_key_info().as_ref().to_vec())
}

/// The `3 1 1` association data of a certificate: SHA-256 of its public
/// key, in hex (what `postern domain dns` tells operators to publish).
pub fn sha256_spki_hex(cert: &[u8]) -> Option<String> {
    let digest = sha2::Sha256::digest(spki(cert)?);
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// What DANE says about one MX host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPolicy {
    /// DANE does not apply (insecure DNS, or no TLSA): today's behaviour.
    None,
    /// Mandatory STARTTLS, the certificate authenticated by these usable
    /// records.
    Authenticate(Vec<Tlsa>),
    /// RFC 7672 §2.2: a secure TLSA RRset with no usable record still
    /// makes TLS mandatory, unauthenticated.
    EncryptOnly,
    /// This host is not to be used (a failed or bogus TLSA lookup).
    Unusable(Failure),
}

impl HostPolicy {
    /// Whether DANE governs this host (and MTA-STS, RFC 8461 §2, not).
    pub fn applies(&self) -> bool {
        !matches!(self, HostPolicy::None)
    }
}

/// A DANE failure, with its TLS-RPT result type (RFC 8460 §4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub result_type: ResultType,
    /// The deferral text (an enhanced status code first).
    pub text: String,
}

/// RFC 8460 §4.3 result types a DANE attempt can end in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultType {
    /// No TLSA record matches the presented certificate (§4.3.2).
    TlsaInvalid,
    /// A DNSSEC-bogus answer, or a lookup that failed (§4.3.2).
    DnssecInvalid,
    /// TLSA records exist but STARTTLS was not offered (§4.3.2).
    DaneRequired,
    /// Another TLS failure with a host DANE requires TLS of (§4.3.2).
    ValidationFailure,
}

impl ResultType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultType::TlsaInvalid => "tlsa-invalid",
            ResultType::DnssecInvalid => "dnssec-invalid",
            ResultType::DaneRequired => "dane-required",
            ResultType::ValidationFailure => "validation-failure",
        }
    }
}

fn lookup_failed(what: &str, e: &SecureError) -> Failure {
    Failure {
        result_type: ResultType::DnssecInvalid,
        text: format!("4.7.5 DANE: the DNSSEC lookup of {what} failed: {e}"),
    }
}

/// A failed connection to a host under `policy`, read for DANE: a TLS
/// failure (no STARTTLS, a refused STARTTLS, a failed handshake or
/// certificate) where DANE requires TLS becomes a DANE failure, with the
/// TLSA owner named so `queue show` says why (`Err`); anything else, such
/// as a refused connection, is returned as it was.
pub fn failure(
    policy: &HostPolicy,
    host: &str,
    port: u16,
    e: super::client::ConnError,
) -> Result<super::client::ConnError, Failure> {
    let tls = e.0.starts_with("4.7.4") || e.0.starts_with("4.7.5");
    if !policy.applies() || !tls {
        return Ok(e);
    }
    let result_type = if e.0.contains("STARTTLS") {
        ResultType::DaneRequired
    } else if e.0.contains("DANE:") {
        ResultType::TlsaInvalid
    } else {
        ResultType::ValidationFailure
    };
    // The verifier's own words when it refused the certificate (rustls
    // wraps them), else the client's.
    let detail = match e.0.rfind("DANE: ") {
        Some(i) => &e.0[i + 6..],
        None => e.0.get(6..).unwrap_or(&e.0),
    };
    Err(Failure {
        result_type,
        text: format!(
            "4.7.5 DANE: _{port}._tcp.{} has TLSA records, so TLS is required and nothing \
             is sent in the clear: {detail}",
            host.trim_end_matches('.')
        ),
    })
}

/// The DANE policy of each of `domain`'s `hosts` (by host name); `port`
/// is the SMTP port (the TLSA owner is `_PORT._tcp.HOST`, RFC 6698 §3).
pub async fn policies(
    resolver: &SecureResolver,
    domain: &str,
    hosts: &[Host],
    port: u16,
) -> HashMap<String, HostPolicy> {
    let mut out: HashMap<String, HostPolicy> = HashMap::new();
    // An address literal has no DNS name, so no TLSA records.
    if domain.starts_with('[') {
        return out;
    }
    // RFC 7672 §2.2.1: DANE only for MX hosts from a secure MX RRset (or
    // a secure denial of one, when the domain is its own host).
    let mx = match resolver.lookup(domain, RecordType::MX).await {
        Ok(a) => a,
        Err(e) => {
            let f = lookup_failed(&format!("MX {domain}"), &e);
            for h in hosts {
                out.insert(h.name.clone(), HostPolicy::Unusable(f.clone()));
            }
            return out;
        }
    };
    for h in hosts {
        let p = if mx.secure {
            host_policy(resolver, &h.name, port).await
        } else {
            HostPolicy::None
        };
        out.insert(h.name.clone(), p);
    }
    out
}

async fn host_policy(resolver: &SecureResolver, host: &str, port: u16) -> HostPolicy {
    // RFC 7672 §2.2.2: TLSA records only of a host whose address records
    // are secure (an A answer, or AAAA when there is no A).
    let mut addrs = match resolver.lookup(host, RecordType::A).await {
        Ok(a) => a,
        Err(e) => return HostPolicy::Unusable(lookup_failed(&format!("A {host}"), &e)),
    };
    if addrs.records.is_empty() {
        addrs = match resolver.lookup(host, RecordType::AAAA).await {
            Ok(a) => a,
            Err(e) => return HostPolicy::Unusable(lookup_failed(&format!("AAAA {host}"), &e)),
        };
    }
    if !addrs.secure {
        return HostPolicy::None;
    }
    let owner = format!("_{port}._tcp.{}", host.trim_end_matches('.'));
    let tlsa = match resolver.lookup(&owner, RecordType::TLSA).await {
        Ok(a) => a,
        Err(e) => return HostPolicy::Unusable(lookup_failed(&format!("TLSA {owner}"), &e)),
    };
    if !tlsa.secure || tlsa.records.is_empty() {
        return HostPolicy::None;
    }
    let usable: Vec<Tlsa> = tlsa
        .records
        .iter()
        .filter_map(|r| match &r.data {
            RData::TLSA(t) => Some(Tlsa {
                usage: t.cert_usage.into(),
                selector: t.selector.into(),
                matching: t.matching.into(),
                data: t.cert_data.clone(),
            }),
            _ => None,
        })
        .filter(Tlsa::usable)
        .collect();
    if usable.is_empty() {
        HostPolicy::EncryptOnly
    } else {
        HostPolicy::Authenticate(usable)
    }
}

/// Why the presented chain does not satisfy `records`, or Ok.
pub fn verify_chain(
    records: &[Tlsa],
    end_entity: &[u8],
    intermediates: &[CertificateDer<'_>],
    name: &ServerName<'_>,
    now: UnixTime,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<(), String> {
    // RFC 7672 §3.1.1: DANE-EE binds the key or certificate itself;
    // names and dates are not checked.
    if records
        .iter()
        .any(|r| r.usage == DANE_EE && r.matches(end_entity))
    {
        return Ok(());
    }
    // RFC 7672 §3.1.2: DANE-TA names a trust anchor the server sends in
    // its chain; the chain to it is checked like any other, names per
    // §3.2.2 against the MX host name.
    let mut reason = None;
    for ta in intermediates {
        if !records
            .iter()
            .any(|r| r.usage == DANE_TA && r.matches(ta.as_ref()))
        {
            continue;
        }
        let mut roots = rustls::RootCertStore::empty();
        if let Err(e) = roots.add(ta.clone()) {
            reason = Some(format!("the trust anchor the server sent is unusable: {e}"));
            continue;
        }
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| e.to_string())?;
        let ee = CertificateDer::from(end_entity);
        match verifier.verify_server_cert(&ee, intermediates, name, &[], now) {
            Ok(_) => return Ok(()),
            Err(e) => reason = Some(format!("the chain to the DANE-TA trust anchor fails: {e}")),
        }
    }
    Err(reason.unwrap_or_else(|| {
        format!(
            "the certificate matches none of the {} usable TLSA records",
            records.len()
        )
    }))
}

/// A TLS verifier that accepts exactly what the host's TLSA records allow.
#[derive(Debug)]
struct DaneVerifier {
    records: Vec<Tlsa>,
    signatures: super::client::AnyCert,
}

impl ServerCertVerifier for DaneVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        verify_chain(
            &self.records,
            end_entity.as_ref(),
            intermediates,
            server_name,
            now,
            &self.signatures.0,
        )
        .map(|()| ServerCertVerified::assertion())
        .map_err(|why| rustls::Error::General(format!("DANE: {why}")))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.signatures.supported_verify_schemes()
    }
}

/// TLS that authenticates the server by `records` (SNI: the MX host,
/// RFC 7672 §8.1, which the client sends as the server name).
pub fn connector(records: Vec<Tlsa>) -> TlsConnector {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(DaneVerifier {
        records,
        signatures: super::client::AnyCert(provider.clone()),
    });
    match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => TlsConnector::from(Arc::new(
            b.dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth(),
        )),
        // The default protocol versions always exist; a config that
        // trusts nothing keeps DANE failing closed.
        Err(_) => TlsConnector::from(Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

    fn sha256(b: &[u8]) -> Vec<u8> {
        sha2::Sha256::digest(b).to_vec()
    }

    fn rec(usage: u8, selector: u8, matching: u8, data: Vec<u8>) -> Tlsa {
        Tlsa {
            usage,
            selector,
            matching,
            data,
        }
    }

    /// A test CA and a server certificate for `name` it issued:
    /// (CA DER, leaf DER, leaf key's SPKI DER).
    fn ca_and_leaf(name: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("key")).expect("ca");
        let key = KeyPair::generate().expect("key");
        let leaf = CertificateParams::new(vec![name.to_string()])
            .expect("params")
            .signed_by(&key, &ca)
            .expect("leaf");
        (
            ca.der().to_vec(),
            leaf.der().to_vec(),
            rcgen::PublicKeyData::subject_public_key_info(&key),
        )
    }

    fn verify(records: &[Tlsa], leaf: &[u8], chain: &[Vec<u8>], name: &str) -> Result<(), String> {
        let chain: Vec<CertificateDer<'_>> = chain
            .iter()
            .map(|c| CertificateDer::from(c.as_slice()))
            .collect();
        let name = ServerName::try_from(name.to_string()).expect("name");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        verify_chain(records, leaf, &chain, &name, UnixTime::now(), &provider)
    }

    #[test]
    fn dane_ee_matches_the_key_or_the_whole_certificate_by_each_matching_type() {
        let (_, leaf, key) = ca_and_leaf("mx.example.test");
        assert_eq!(spki(&leaf).expect("spki"), key);
        let full512 = sha2::Sha512::digest(&leaf).to_vec();
        for r in [
            rec(3, 1, 1, sha256(&key)),
            rec(3, 0, 1, sha256(&leaf)),
            rec(3, 1, 0, key.clone()),
            rec(3, 0, 2, full512),
        ] {
            assert!(r.usable());
            assert!(r.matches(&leaf), "{r:?}");
            // DANE-EE checks no name: another name still passes.
            assert_eq!(verify(&[r], &leaf, &[], "other.example.test"), Ok(()));
        }
        let mut wrong = sha256(&key);
        wrong[0] ^= 1;
        let r = rec(3, 1, 1, wrong);
        assert!(!r.matches(&leaf));
        let err = verify(&[r], &leaf, &[], "mx.example.test").expect_err("mismatch");
        assert!(err.contains("matches none of the 1 usable"), "{err}");
    }

    #[test]
    fn dane_ta_needs_the_anchor_in_the_chain_and_the_mx_name_in_the_certificate() {
        let (ca, leaf, _) = ca_and_leaf("mx.example.test");
        let ca_spki = spki(&ca).expect("ca spki");
        for r in [rec(2, 1, 1, sha256(&ca_spki)), rec(2, 0, 1, sha256(&ca))] {
            assert_eq!(
                verify(
                    std::slice::from_ref(&r),
                    &leaf,
                    std::slice::from_ref(&ca),
                    "mx.example.test"
                ),
                Ok(())
            );
            // §3.2.2: the name is checked for DANE-TA.
            let err = verify(
                std::slice::from_ref(&r),
                &leaf,
                std::slice::from_ref(&ca),
                "mx.evil.test",
            )
            .expect_err("wrong name");
            assert!(err.contains("DANE-TA"), "{err}");
            // The anchor must be in the chain the server sent.
            assert!(verify(&[r], &leaf, &[], "mx.example.test").is_err());
        }
        // The TA record does not match the leaf as if it were DANE-EE.
        let (_, other_leaf, _) = ca_and_leaf("mx.example.test");
        let r = rec(2, 1, 1, sha256(&ca_spki));
        assert!(verify(&[r], &other_leaf, &[], "mx.example.test").is_err());
    }

    #[tokio::test]
    async fn an_address_literal_has_no_dane_and_asks_no_dns() {
        // The resolver is a closed port: any lookup would fail and make
        // the host unusable.
        let closed: std::net::SocketAddr = "127.0.0.1:1".parse().expect("addr");
        let r = SecureResolver::new(
            &[closed],
            postern_net::dns_secure::TrustAd::Loopback,
            std::time::Duration::from_secs(1),
        )
        .expect("a loopback resolver");
        let hosts = [Host {
            name: "[192.0.2.1]".into(),
            addrs: vec!["192.0.2.1".parse().expect("ip")],
        }];
        assert!(policies(&r, "[192.0.2.1]", &hosts, 25).await.is_empty());
        // A name does ask, and a resolver that cannot answer makes the
        // host unusable rather than unsigned.
        let hosts = [Host {
            name: "mx.example.test".into(),
            addrs: vec!["192.0.2.1".parse().expect("ip")],
        }];
        let p = policies(&r, "example.test", &hosts, 25).await;
        match p.get("mx.example.test") {
            Some(HostPolicy::Unusable(f)) => {
                assert_eq!(f.result_type, ResultType::DnssecInvalid)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pkix_usages_and_unknown_parameters_are_unusable_for_smtp() {
        // RFC 7672 §3.1.3.
        assert!(!rec(0, 1, 1, vec![0; 32]).usable());
        assert!(!rec(1, 1, 1, vec![0; 32]).usable());
        assert!(!rec(3, 2, 1, vec![0; 32]).usable());
        assert!(!rec(3, 1, 3, vec![0; 32]).usable());
        assert!(!rec(4, 1, 1, vec![0; 32]).usable());
        assert!(rec(2, 0, 0, vec![0; 32]).usable());
    }

    #[test]
    fn tls_failures_under_dane_name_the_tlsa_owner_and_their_rpt_result() {
        use super::super::client::ConnError;
        let dane = HostPolicy::EncryptOnly;
        let f = failure(
            &dane,
            "mx.example.test.",
            25,
            ConnError("4.7.4 mx.example.test [192.0.2.1] does not offer STARTTLS".into()),
        )
        .expect_err("a DANE failure");
        assert_eq!(f.result_type, ResultType::DaneRequired);
        assert!(
            f.text.starts_with("4.7.5 DANE: _25._tcp.mx.example.test "),
            "{}",
            f.text
        );
        let f = failure(
            &dane,
            "mx.example.test",
            25,
            ConnError(
                "4.7.5 TLS with mx: unexpected error: DANE: the certificate matches none".into(),
            ),
        )
        .expect_err("a DANE failure");
        assert_eq!(f.result_type.as_str(), "tlsa-invalid");
        assert!(
            f.text
                .ends_with("in the clear: the certificate matches none"),
            "{}",
            f.text
        );
        // A refused connection is not a DANE matter; nor is anything
        // when DANE does not apply.
        let refused = ConnError("4.4.1 connecting to mx: refused".into());
        assert!(failure(&dane, "mx", 25, refused.clone()).is_ok());
        let plain = ConnError("4.7.4 mx does not offer STARTTLS".into());
        assert!(failure(&HostPolicy::None, "mx", 25, plain).is_ok());
    }
}
