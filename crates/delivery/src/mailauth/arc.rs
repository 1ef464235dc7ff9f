//! ARC (RFC 8617) on port 25: the chain of ARC sets a forwarder or mailing
//! list adds when it passes a message on, verified with mail-auth through
//! the same resolver as DKIM. The result goes into Authentication-Results
//! (`arc=pass (i=N, d=sealer)`), into the spam verdict (a broken chain is
//! `ARC_FAIL`), and, when the last sealer is one the operator trusts
//! (`[spam] arc_trusted_sealers`), stands in for a DMARC failure the
//! forwarding caused (RFC 8617 §7.2.1, a local policy override).
//!
//! A message without ARC header fields costs nothing here: mail-auth's
//! header scan already found none, so there is no lookup and no hashing.

use std::fmt::Write as _;
use std::net::IpAddr;

use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator};
use postern_spam::AuthOutcome;

/// What the chain said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArcChain {
    /// No ARC header fields.
    None,
    /// Every seal and the newest message signature verified.
    Pass {
        /// The highest instance (`i=`), the number of sets.
        instance: u32,
        /// The `d=` of that instance's ARC-Seal, lowercase: who passed the
        /// message on to us.
        sealer: String,
    },
    /// Broken, tampered with, expired or unverifiable; why.
    Fail(String),
    /// A key lookup failed for now. RFC 8617 §10.2 gives ARC no
    /// "temperror": the header says `none`, with the reason.
    TempError,
}

/// Whether `msg` carries any ARC header field (well-formed or not).
fn has_arc(msg: &AuthenticatedMessage<'_>) -> bool {
    msg.has_arc_errors
        || !msg.as_headers.is_empty()
        || !msg.ams_headers.is_empty()
        || !msg.aar_headers.is_empty()
}

/// Verifies the chain of `msg` (RFC 8617 §5.2).
pub async fn verify(auth: &MessageAuthenticator, msg: &AuthenticatedMessage<'_>) -> ArcChain {
    if !has_arc(msg) {
        return ArcChain::None;
    }
    let out = auth.verify_arc(msg).await;
    match out.result() {
        DkimResult::Pass => match out.sets().last() {
            Some(set) => ArcChain::Pass {
                instance: set.seal.header.i,
                sealer: set.seal.header.d.trim_end_matches('.').to_ascii_lowercase(),
            },
            None => ArcChain::Fail("no ARC set".into()),
        },
        DkimResult::None => ArcChain::None,
        DkimResult::TempError(_) => ArcChain::TempError,
        // RFC 8617 §5.2: a chain that cannot be validated, for whatever
        // reason (mail-auth says "neutral" for a body hash mismatch and an
        // expired signature, "permerror" for a key not found), has failed.
        DkimResult::Fail(e) | DkimResult::Neutral(e) | DkimResult::PermError(e) => {
            ArcChain::Fail(e.to_string())
        }
    }
}

impl ArcChain {
    /// The outcome the spam verdict reads.
    pub fn outcome(&self) -> AuthOutcome {
        match self {
            ArcChain::None => AuthOutcome::None,
            ArcChain::Pass { .. } => AuthOutcome::Pass,
            ArcChain::Fail(_) => AuthOutcome::Fail,
            ArcChain::TempError => AuthOutcome::TempError,
        }
    }

    /// The last sealer, when the chain passed and it is one of `trusted`
    /// (lowercase domains, exact match: a sealer's subdomain is another
    /// operator's signing name as far as we know).
    pub fn trusted_sealer(&self, trusted: &[String]) -> Option<&str> {
        match self {
            ArcChain::Pass { sealer, .. } if trusted.iter().any(|t| t == sealer) => Some(sealer),
            _ => None,
        }
    }

    /// The `arc=` result of Authentication-Results with its `;` and folding
    /// in front (RFC 8601 §2.2; the method and `smtp.remote-ip` are RFC
    /// 8617 §10.1's, the results none/pass/fail §10.2's). The comment names
    /// the instance and sealer of a pass, the reason of a failure, and
    /// whether the pass overrode a DMARC failure.
    pub fn auth_result(&self, ip: IpAddr, overrode_dmarc: bool) -> String {
        let mut out = String::from(";\r\n\tarc=");
        match self {
            ArcChain::None => out.push_str("none"),
            ArcChain::TempError => out.push_str("none (a key lookup failed for now)"),
            ArcChain::Pass { instance, sealer } => {
                let _ = write!(out, "pass (i={instance}, d={}", comment_safe(sealer));
                if overrode_dmarc {
                    out.push_str(", trusted sealer: dmarc failure overridden");
                }
                out.push(')');
            }
            ArcChain::Fail(why) => {
                let _ = write!(out, "fail ({})", comment_safe(why));
            }
        }
        out.push_str(" smtp.remote-ip=");
        match ip {
            IpAddr::V4(v4) => {
                let _ = write!(out, "{v4}");
            }
            // RFC 8601 §2.2: a pvalue with ':' in it is quoted.
            IpAddr::V6(v6) => {
                let _ = write!(out, "\"{v6}\"");
            }
        }
        out
    }
}

/// `s` as comment text (RFC 5322 §3.2.2): printable ASCII without the
/// parentheses and backslash that would end or escape the comment, at most
/// 100 characters. A sealer's domain and mail-auth's reasons come from the
/// message, so from anyone.
fn comment_safe(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .filter(|c| !matches!(c, '(' | ')' | '\\'))
        .take(100)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::{SocketAddr, UdpSocket};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use base64::Engine as _;
    use mail_auth::arc::ArcSealer;
    use mail_auth::common::crypto::Ed25519Key;
    use mail_auth::common::headers::HeaderWriter;
    use mail_auth::{AuthenticatedMessage, AuthenticationResults, MessageAuthenticator};
    use postern_net::dns::hickory_resolver::proto::op::{Message, OpCode, ResponseCode};
    use postern_net::dns::hickory_resolver::proto::rr::rdata::TXT;
    use postern_net::dns::hickory_resolver::proto::rr::{RData, Record, RecordType};

    use super::{ArcChain, verify};

    /// A DNS server on loopback that answers TXT queries from `records`
    /// (owner without the final dot → text), NXDOMAIN otherwise, and counts
    /// the queries it was sent. Its thread ends with the test process.
    fn txt_server(records: HashMap<String, String>) -> (SocketAddr, Arc<AtomicUsize>) {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let addr = sock.local_addr().expect("addr");
        let asked = Arc::new(AtomicUsize::new(0));
        let count = asked.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok((n, peer)) = sock.recv_from(&mut buf) {
                count.fetch_add(1, Ordering::SeqCst);
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let Some(q) = query.queries.first().cloned() else {
                    continue;
                };
                let mut reply = Message::response(query.metadata.id, OpCode::Query);
                reply.metadata.recursion_available = true;
                reply.add_query(q.clone());
                let owner = q.name.to_ascii().trim_end_matches('.').to_ascii_lowercase();
                match records.get(&owner) {
                    Some(text) if q.query_type == RecordType::TXT => {
                        let txt = RData::TXT(TXT::new(vec![text.clone()]));
                        reply.add_answer(Record::from_rdata(q.name.clone(), 60, txt));
                    }
                    _ => reply.metadata.response_code = ResponseCode::NXDomain,
                }
                if let Ok(bytes) = reply.to_vec() {
                    let _ = sock.send_to(&bytes, peer);
                }
            }
        });
        (addr, asked)
    }

    const MESSAGE: &str = "From: ann@origin.test\r\nTo: list@lists.test\r\n\
                           Subject: [list] hello\r\n\r\nThe body.\r\n";

    /// `raw` with one more ARC set on top, sealed by `domain` with `key`.
    async fn seal(auth: &MessageAuthenticator, raw: &str, domain: &str, key: Ed25519Key) -> String {
        let msg = AuthenticatedMessage::parse(raw.as_bytes()).expect("parses");
        let chain = auth.verify_arc(&msg).await;
        let results = AuthenticationResults::new(domain);
        let set = ArcSealer::from_key(key)
            .domain(domain)
            .selector("arc")
            .headers(["From", "To", "Subject"])
            .seal(&msg, &results, &chain)
            .expect("seal");
        format!("{}{raw}", set.to_header())
    }

    /// A new Ed25519 key and its DNS record at `arc._domainkey.<domain>`.
    fn key_for(domain: &str, records: &mut HashMap<String, String>) -> Ed25519Key {
        let pkcs8 = Ed25519Key::generate_pkcs8().expect("key");
        let key = Ed25519Key::from_pkcs8_der(&pkcs8).expect("key");
        let p = base64::engine::general_purpose::STANDARD.encode(key.public_key());
        records.insert(
            format!("arc._domainkey.{}", domain.to_ascii_lowercase()),
            format!("v=DKIM1; k=ed25519; p={p}"),
        );
        key
    }

    async fn chain_of(auth: &MessageAuthenticator, raw: &str) -> ArcChain {
        let msg = AuthenticatedMessage::parse(raw.as_bytes()).expect("parses");
        verify(auth, &msg).await
    }

    #[tokio::test]
    async fn a_sealed_chain_passes_and_names_its_last_sealer_and_tampering_fails_it() {
        let mut records = HashMap::new();
        let first = key_for("lists.test", &mut records);
        let second = key_for("Forward.Test", &mut records);
        let (addr, _) = txt_server(records);
        let auth = MessageAuthenticator(postern_net::dns::resolver(&[addr]).expect("resolver"));
        let once = seal(&auth, MESSAGE, "lists.test", first).await;
        assert_eq!(
            chain_of(&auth, &once).await,
            ArcChain::Pass {
                instance: 1,
                sealer: "lists.test".into()
            }
        );
        let twice = seal(&auth, &once, "Forward.Test", second).await;
        let chain = chain_of(&auth, &twice).await;
        assert_eq!(
            chain,
            ArcChain::Pass {
                instance: 2,
                sealer: "forward.test".into()
            }
        );
        assert_eq!(
            chain.trusted_sealer(&["forward.test".into()]),
            Some("forward.test")
        );
        assert_eq!(chain.trusted_sealer(&["lists.test".into()]), None);
        let ip = "192.0.2.1".parse().expect("ip");
        assert_eq!(
            chain.auth_result(ip, false),
            ";\r\n\tarc=pass (i=2, d=forward.test) smtp.remote-ip=192.0.2.1"
        );

        // The body changed after the last seal: the newest signature no
        // longer covers it.
        let body_changed = twice.replace("The body.", "The body, changed.");
        let ArcChain::Fail(why) = chain_of(&auth, &body_changed).await else {
            panic!("a changed body must fail the chain");
        };
        assert!(why.contains("body hash"), "{why}");
        // A signed header changed: the newest message signature fails.
        let subject_changed = twice.replace("[list] hello", "[list] hullo");
        assert!(matches!(
            chain_of(&auth, &subject_changed).await,
            ArcChain::Fail(_)
        ));
        // The oldest set's results altered (a pass claimed that the first
        // sealer never saw): its seal no longer verifies.
        let seal_changed = twice.replace(
            "ARC-Authentication-Results: i=1; lists.test\r\n",
            "ARC-Authentication-Results: i=1; lists.test; dkim=pass\r\n",
        );
        assert_ne!(seal_changed, twice);
        let broken = chain_of(&auth, &seal_changed).await;
        assert!(matches!(broken, ArcChain::Fail(_)), "{broken:?}");
        assert!(
            broken
                .auth_result(ip, false)
                .starts_with(";\r\n\tarc=fail ("),
            "{broken:?}"
        );
    }

    #[test]
    fn a_reason_from_the_message_cannot_end_the_comment_or_the_field() {
        let hostile = ArcChain::Fail("x) dkim=pass (\\\r\nX-Injected: yes".into());
        let ip = "192.0.2.1".parse().expect("ip");
        assert_eq!(
            hostile.auth_result(ip, false),
            ";\r\n\tarc=fail (x dkim=pass X-Injected: yes) smtp.remote-ip=192.0.2.1"
        );
        assert_eq!(
            ArcChain::TempError.auth_result(ip, false),
            ";\r\n\tarc=none (a key lookup failed for now) smtp.remote-ip=192.0.2.1"
        );
    }

    #[tokio::test]
    async fn a_message_without_arc_fields_asks_no_dns_and_one_with_them_does() {
        let (addr, asked) = txt_server(HashMap::new());
        let auth = MessageAuthenticator(postern_net::dns::resolver(&[addr]).expect("resolver"));
        assert_eq!(chain_of(&auth, MESSAGE).await, ArcChain::None);
        assert_eq!(asked.load(Ordering::SeqCst), 0, "no lookup without ARC");
        assert_eq!(
            ArcChain::None.auth_result("2001:db8::1".parse().expect("ip"), false),
            ";\r\n\tarc=none smtp.remote-ip=\"2001:db8::1\""
        );
        // The same message sealed by a domain whose key is not published:
        // the lookup is made, and the chain fails.
        let pkcs8 = Ed25519Key::generate_pkcs8().expect("key");
        let key = Ed25519Key::from_pkcs8_der(&pkcs8).expect("key");
        let sealed = seal(&auth, MESSAGE, "unknown.test", key).await;
        let chain = tokio::time::timeout(Duration::from_secs(30), chain_of(&auth, &sealed))
            .await
            .expect("answered");
        assert!(matches!(chain, ArcChain::Fail(_)), "{chain:?}");
        assert!(asked.load(Ordering::SeqCst) > 0);
    }
}
