//! ARC (RFC 8617) on port 25: the chain of ARC sets a forwarder or mailing
//! list adds when it passes a message on, verified with mail-auth through
//! the same resolver as DKIM. The result goes into Authentication-Results
//! (`arc=pass (i=N, d=sealer)`), into the spam verdict (a broken chain is
//! `ARC_FAIL`), and, when the last sealer is one the operator trusts
//! (`[spam] arc_trusted_sealers`) and its ARC-Authentication-Results show
//! the original message authenticated for the From domain (`aar.rs`),
//! stands in for a DMARC failure the forwarding caused (RFC 8617 §7.2.1, a
//! local policy override).
//!
//! A message without ARC header fields costs nothing here: mail-auth's
//! header scan already found none, so there is no lookup and no hashing.

use std::fmt::Write as _;
use std::net::IpAddr;

use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::{
    AuthenticatedMessage, DkimOutput, DkimResult, DmarcResult, MessageAuthenticator, SpfOutput,
    SpfResult,
};
use postern_spam::AuthOutcome;

use super::aar::{self, Saw};

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
        /// Every set, oldest first: what each sealer recorded.
        sets: Vec<Sealed>,
    },
    /// Broken, tampered with, expired or unverifiable; why.
    Fail(String),
    /// A key lookup failed for now. RFC 8617 §10.2 gives ARC no
    /// "temperror": the header says `none`, with the reason.
    TempError,
}

/// One ARC set of a passing chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub instance: u32,
    /// The ARC-Seal's `d=`, lowercase.
    pub sealer: String,
    /// The ARC-Authentication-Results value as it arrived.
    pub results: Vec<u8>,
}

/// A trusted sealer's word that the From domain was authenticated before
/// the message was changed on the way: the DMARC failure is overridden.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vouch {
    /// The chain's newest instance and sealer (who passed it to us).
    pub instance: u32,
    pub sealer: String,
    /// The trusted sealer whose results were used.
    pub witness: String,
    /// The original result it recorded (`dmarc=pass`,
    /// `dkim=pass header.d=...`, `spf=pass smtp.mailfrom=...`).
    pub saw: String,
}

impl Vouch {
    /// The aggregate report's `<reason><comment>` (RFC 7489 Appendix C).
    pub fn report_comment(&self) -> String {
        format!(
            "arc=pass i={} d={}",
            self.instance,
            comment_safe(&self.sealer)
        )
    }
}

/// What the trusted sealers said about a DMARC failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Not asked: DMARC did not fail, or the newest sealer is not trusted.
    NotAsked,
    /// The failure is overridden.
    Vouched(Vouch),
    /// A trusted sealer's results do not authenticate the From domain:
    /// who, and what it recorded.
    Declined { witness: String, saw: String },
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
                sealer: sealer_of(set.seal.header),
                sets: out
                    .sets()
                    .iter()
                    .map(|s| Sealed {
                        instance: s.seal.header.i,
                        sealer: sealer_of(s.seal.header),
                        results: s.results.value.to_vec(),
                    })
                    .collect(),
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

fn sealer_of(seal: &mail_auth::arc::Seal) -> String {
    seal.d.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether a trusted sealer of `chain` vouches for `from` (the From
/// domain, whose DMARC check failed). RFC 8617 §7.2: the override rests
/// on what the trusted sealer recorded in its ARC-Authentication-Results
/// when the message reached it. Walking down from the newest set while
/// the sealers are trusted, the oldest of them saw the message as it came
/// from outside that trusted run: its results are the ones used. A
/// `dmarc=pass` for `from` vouches; without a DMARC result, a DKIM or SPF
/// pass whose domain aligns with `from` as `auth`'s DMARC check aligns it
/// (the From domain's record, `adkim`/`aspf`, its organisational domain).
pub async fn vouch(
    auth: &MessageAuthenticator,
    msg: &AuthenticatedMessage<'_>,
    chain: &ArcChain,
    trusted: &[String],
    from: &str,
) -> Trust {
    let ArcChain::Pass {
        instance,
        sealer,
        sets,
    } = chain
    else {
        return Trust::NotAsked;
    };
    let Some(witness) = sets
        .iter()
        .rev()
        .take_while(|s| trusted.contains(&s.sealer))
        .last()
    else {
        return Trust::NotAsked;
    };
    let declined = |saw: String| Trust::Declined {
        witness: witness.sealer.clone(),
        saw,
    };
    let Some(results) = aar::parse(&witness.results).filter(|a| a.instance == witness.instance)
    else {
        return declined("unreadable results".into());
    };
    let saw = match aar::saw(&results, from) {
        Saw::DmarcPass => Some("dmarc=pass".to_string()),
        Saw::Nothing(what) => return declined(what),
        Saw::Passes { dkim, spf } => aligned(auth, msg, &dkim, &spf).await,
    };
    match saw {
        Some(saw) => Trust::Vouched(Vouch {
            instance: *instance,
            sealer: sealer.clone(),
            witness: witness.sealer.clone(),
            saw,
        }),
        None => declined(format!("no pass aligned with {from}")),
    }
}

/// The first of the DKIM domains and SPF MAIL FROM domains that DMARC
/// would align with the From domain of `msg`, as `<method>=pass <ptype>=`.
/// mail-auth's own DMARC check is asked, with the identity as if it had
/// passed here, so alignment is computed as for every other message.
async fn aligned(
    auth: &MessageAuthenticator,
    msg: &AuthenticatedMessage<'_>,
    dkim: &[String],
    spf: &[String],
) -> Option<String> {
    let none = SpfOutput::new(String::new());
    for d in dkim {
        let sig = mail_auth::dkim::Signature {
            d: d.clone(),
            ..Default::default()
        };
        let out = [DkimOutput::pass().with_signature(&sig)];
        let dmarc = auth
            .verify_dmarc(DmarcParameters::new(msg, &out, "", &none))
            .await;
        if *dmarc.dkim_result() == DmarcResult::Pass {
            return Some(format!("dkim=pass header.d={d}"));
        }
    }
    for d in spf {
        let passed = SpfOutput::new(d.clone()).with_result(SpfResult::Pass);
        let dmarc = auth
            .verify_dmarc(DmarcParameters::new(msg, &[], d, &passed))
            .await;
        if *dmarc.spf_result() == DmarcResult::Pass {
            return Some(format!("spf=pass smtp.mailfrom={d}"));
        }
    }
    None
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

    /// The `arc=` result of Authentication-Results with its `;` and folding
    /// in front (RFC 8601 §2.2; the method and `smtp.remote-ip` are RFC
    /// 8617 §10.1's, the results none/pass/fail §10.2's). The comment names
    /// the instance and sealer of a pass, the reason of a failure, and
    /// what a trusted sealer said about a DMARC failure.
    pub fn auth_result(&self, ip: IpAddr, trust: &Trust) -> String {
        let mut out = String::from(";\r\n\tarc=");
        match self {
            ArcChain::None => out.push_str("none"),
            ArcChain::TempError => out.push_str("none (a key lookup failed for now)"),
            ArcChain::Pass {
                instance, sealer, ..
            } => {
                let _ = write!(out, "pass (i={instance}, d={}", comment_safe(sealer));
                match trust {
                    Trust::NotAsked => {}
                    Trust::Vouched(v) => {
                        let _ = write!(
                            out,
                            ", trusted sealer {} saw {}, dmarc failure overridden",
                            comment_safe(&v.witness),
                            comment_safe(&v.saw)
                        );
                    }
                    Trust::Declined { witness, saw } => {
                        let _ = write!(
                            out,
                            ", trusted sealer {} saw {}, dmarc failure stands",
                            comment_safe(witness),
                            comment_safe(saw)
                        );
                    }
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

    use super::{ArcChain, Sealed, Trust, Vouch, verify, vouch};

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
        assert!(
            matches!(
                chain_of(&auth, &once).await,
                ArcChain::Pass { instance: 1, ref sealer, .. } if sealer == "lists.test"
            ),
            "one set"
        );
        let twice = seal(&auth, &once, "Forward.Test", second).await;
        let chain = chain_of(&auth, &twice).await;
        let ArcChain::Pass {
            instance,
            sealer,
            sets,
        } = &chain
        else {
            panic!("two sets pass: {chain:?}");
        };
        assert_eq!((*instance, sealer.as_str()), (2, "forward.test"));
        // Each set's sealer and results, oldest first.
        let seen: Vec<(u32, &str)> = sets
            .iter()
            .map(|s| (s.instance, s.sealer.as_str()))
            .collect();
        assert_eq!(seen, [(1, "lists.test"), (2, "forward.test")]);
        assert!(
            String::from_utf8_lossy(&sets[1].results).contains("i=2; Forward.Test"),
            "{sets:?}"
        );
        let ip = "192.0.2.1".parse().expect("ip");
        assert_eq!(
            chain.auth_result(ip, &Trust::NotAsked),
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
                .auth_result(ip, &Trust::NotAsked)
                .starts_with(";\r\n\tarc=fail ("),
            "{broken:?}"
        );
    }

    #[test]
    fn a_reason_from_the_message_cannot_end_the_comment_or_the_field() {
        let hostile = ArcChain::Fail("x) dkim=pass (\\\r\nX-Injected: yes".into());
        let ip = "192.0.2.1".parse().expect("ip");
        assert_eq!(
            hostile.auth_result(ip, &Trust::NotAsked),
            ";\r\n\tarc=fail (x dkim=pass X-Injected: yes) smtp.remote-ip=192.0.2.1"
        );
        assert_eq!(
            ArcChain::TempError.auth_result(ip, &Trust::NotAsked),
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
            ArcChain::None.auth_result("2001:db8::1".parse().expect("ip"), &Trust::NotAsked),
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

    /// A passing chain of `sets` (sealer, its ARC-Authentication-Results
    /// value), oldest first, as `verify` would return it.
    fn passing(sets: &[(&str, &str)]) -> ArcChain {
        let sets: Vec<Sealed> = sets
            .iter()
            .zip(1..)
            .map(|((sealer, results), instance)| Sealed {
                instance,
                sealer: sealer.to_string(),
                results: results.as_bytes().to_vec(),
            })
            .collect();
        let last = sets.last().expect("a set");
        ArcChain::Pass {
            instance: last.instance,
            sealer: last.sealer.clone(),
            sets,
        }
    }

    /// What the trusted sealers `trusted` say about `chain` for MESSAGE
    /// (From origin.test, whose DMARC record is in `auth`'s DNS).
    async fn trust(auth: &MessageAuthenticator, chain: &ArcChain, trusted: &[&str]) -> Trust {
        let msg = AuthenticatedMessage::parse(MESSAGE.as_bytes()).expect("parses");
        let trusted: Vec<String> = trusted.iter().map(|t| t.to_string()).collect();
        vouch(auth, &msg, chain, &trusted, "origin.test").await
    }

    fn vouched(instance: u32, sealer: &str, witness: &str, saw: &str) -> Trust {
        Trust::Vouched(Vouch {
            instance,
            sealer: sealer.into(),
            witness: witness.into(),
            saw: saw.into(),
        })
    }

    fn declined(witness: &str, saw: &str) -> Trust {
        Trust::Declined {
            witness: witness.into(),
            saw: saw.into(),
        }
    }

    #[tokio::test]
    async fn a_trusted_sealer_vouches_only_for_a_from_domain_it_saw_authenticated() {
        let mut records = HashMap::new();
        records.insert("_dmarc.origin.test".into(), "v=DMARC1; p=reject".into());
        let (addr, asked) = txt_server(records);
        let auth = MessageAuthenticator(postern_net::dns::resolver(&[addr]).expect("resolver"));
        let lists = ["lists.test"];

        let pass = passing(&[(
            "lists.test",
            "i=1; lists.test; dmarc=pass header.from=origin.test",
        )]);
        let trust_pass = trust(&auth, &pass, &lists).await;
        assert_eq!(
            trust_pass,
            vouched(1, "lists.test", "lists.test", "dmarc=pass")
        );
        assert_eq!(
            asked.load(Ordering::SeqCst),
            0,
            "a recorded DMARC pass asks nothing"
        );
        let Trust::Vouched(v) = &trust_pass else {
            unreachable!()
        };
        assert_eq!(v.report_comment(), "arc=pass i=1 d=lists.test");
        let ip = "192.0.2.1".parse().expect("ip");
        assert_eq!(
            pass.auth_result(ip, &trust_pass),
            ";\r\n\tarc=pass (i=1, d=lists.test, trusted sealer lists.test saw dmarc=pass, \
             dmarc failure overridden) smtp.remote-ip=192.0.2.1"
        );
        // Not trusted: not asked.
        assert_eq!(trust(&auth, &pass, &["other.test"]).await, Trust::NotAsked);

        // The list relayed a spoof: it recorded DMARC failing.
        let spoof = passing(&[(
            "lists.test",
            "i=1; lists.test; dkim=none; dmarc=fail (p=reject) header.from=origin.test",
        )]);
        let trust_spoof = trust(&auth, &spoof, &lists).await;
        assert_eq!(trust_spoof, declined("lists.test", "dmarc=fail"));
        assert!(
            spoof
                .auth_result(ip, &trust_spoof)
                .contains("trusted sealer lists.test saw dmarc=fail, dmarc failure stands)"),
            "{trust_spoof:?}"
        );
        // Results that do not parse vouch for nothing, nor do another
        // instance's.
        let garbled = passing(&[(
            "lists.test",
            "i=1; lists.test; dmarc=pass (header.from=origin.test",
        )]);
        assert_eq!(
            trust(&auth, &garbled, &lists).await,
            declined("lists.test", "unreadable results")
        );
        let misnumbered = passing(&[(
            "lists.test",
            "i=2; lists.test; dmarc=pass header.from=origin.test",
        )]);
        assert_eq!(
            trust(&auth, &misnumbered, &lists).await,
            declined("lists.test", "unreadable results")
        );

        // Without a DMARC result: a DKIM or SPF pass aligned with the From
        // domain as DMARC aligns it (relaxed: a subdomain of its
        // organisational domain).
        let dkim = passing(&[(
            "lists.test",
            "i=1; lists.test; dkim=pass header.d=Mail.Origin.Test header.s=s1",
        )]);
        assert_eq!(
            trust(&auth, &dkim, &lists).await,
            vouched(
                1,
                "lists.test",
                "lists.test",
                "dkim=pass header.d=mail.origin.test"
            )
        );
        let spf = passing(&[(
            "lists.test",
            "i=1; lists.test; spf=pass smtp.mailfrom=bounce@origin.test",
        )]);
        assert_eq!(
            trust(&auth, &spf, &lists).await,
            vouched(
                1,
                "lists.test",
                "lists.test",
                "spf=pass smtp.mailfrom=origin.test"
            )
        );
        let unaligned = passing(&[(
            "lists.test",
            "i=1; lists.test; dkim=pass header.d=origin.test.evil.test; spf=pass smtp.mailfrom=a@evil.test",
        )]);
        assert_eq!(
            trust(&auth, &unaligned, &lists).await,
            declined("lists.test", "no pass aligned with origin.test")
        );
    }

    #[tokio::test]
    async fn in_a_longer_chain_the_oldest_of_the_trusted_sealers_on_top_is_the_witness() {
        let (addr, _) = txt_server(HashMap::new());
        let auth = MessageAuthenticator(postern_net::dns::resolver(&[addr]).expect("resolver"));
        // The list saw the original; the trusted forwarder after it saw
        // only the list's changes (DMARC failing, the chain passing).
        let forwarded = passing(&[
            (
                "lists.test",
                "i=1; lists.test; dmarc=pass header.from=origin.test",
            ),
            (
                "forward.test",
                "i=2; forward.test; arc=pass; dmarc=fail header.from=origin.test",
            ),
        ]);
        assert_eq!(
            trust(&auth, &forwarded, &["lists.test", "forward.test"]).await,
            vouched(2, "forward.test", "lists.test", "dmarc=pass")
        );
        // Only the forwarder trusted: its own results are the evidence.
        assert_eq!(
            trust(&auth, &forwarded, &["forward.test"]).await,
            declined("forward.test", "dmarc=fail")
        );
        // An untrusted first hop's claim is not taken up by a trusted one
        // that recorded the failure.
        let laundered = passing(&[
            (
                "evil.test",
                "i=1; evil.test; dmarc=pass header.from=origin.test",
            ),
            (
                "lists.test",
                "i=2; lists.test; arc=pass; dmarc=fail header.from=origin.test",
            ),
        ]);
        assert_eq!(
            trust(&auth, &laundered, &["lists.test"]).await,
            declined("lists.test", "dmarc=fail")
        );
        // The newest sealer untrusted: nobody is asked.
        assert_eq!(
            trust(&auth, &laundered, &["evil.test"]).await,
            Trust::NotAsked
        );
    }
}
