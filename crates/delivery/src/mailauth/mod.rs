//! Mail authentication with the mail-auth crate (DKIM, SPF, DMARC and ARC
//! are not hand-written): DKIM signing of submitted mail with the domain's
//! active keys (`keys.rs`), and on port 25 SPF (RFC 7208), DKIM
//! verification (RFC 6376), DMARC (RFC 7489) and the ARC chain (RFC 8617,
//! `arc.rs`), summed up in an Authentication-Results header (RFC 8601) and
//! the DMARC policy's action, which a trusted ARC sealer can override when
//! its ARC-Authentication-Results (`aar.rs`) show the From domain
//! authenticated before the message reached it.
//!
//! mail-auth resolves through the server's one resolver setup
//! (`postern_net::dns`), so `[dns] nameservers` covers it too. The results
//! also reach the spam verdict, as [`AuthFacts`].

pub mod aar;
pub mod arc;
pub mod keys;
pub mod spf;
mod strip;
pub use strip::{strip_inbound, strip_own_results};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use mail_auth::dmarc::Policy;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::{
    AuthenticatedMessage, AuthenticationResults, DkimResult, DmarcResult, MessageAuthenticator,
    SpfResult,
};
use postern_spam::{AuthFacts, AuthOutcome};

/// What to do with mail that fails DMARC under a `p=reject` policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectAction {
    /// `550 5.7.1` at the end of DATA.
    Reject,
    /// Deliver into Junk.
    Quarantine,
    /// Deliver as usual with the Authentication-Results label.
    Accept,
}

#[derive(Clone, Debug)]
pub struct MailAuthConfig {
    /// Sign submitted mail when the From domain has keys.
    pub sign: bool,
    /// Check SPF, DKIM and DMARC of mail arriving on port 25.
    pub verify: bool,
    pub dmarc_reject: RejectAction,
    /// The longest the inbound checks (their DNS lookups) may take; past it
    /// the message is delivered with `Authentication-Results: …; none`.
    pub timeout: Duration,
    /// Domains (lowercase) whose passing ARC chain, when they sealed it
    /// last and recorded the From domain authenticated, stands in for a
    /// DMARC failure (`[spam] arc_trusted_sealers`; `arc::vouch`).
    pub arc_trusted_sealers: Vec<String>,
}

impl Default for MailAuthConfig {
    fn default() -> Self {
        MailAuthConfig {
            sign: true,
            verify: true,
            dmarc_reject: RejectAction::Reject,
            timeout: Duration::from_secs(20),
            arc_trusted_sealers: Vec::new(),
        }
    }
}

/// The headers a signature covers (RFC 6376 §5.4.1's list, the ones mail
/// clients show or act on).
const SIGNED: [&str; 12] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// The headers signed once more than they occur (RFC 6376 §8.15): the
/// extra `h=` entry stands for an instance that is not there, so a copy of
/// the field added on top (a second From) breaks the signature instead of
/// being shown to the reader as signed.
const OVERSIGNED: [&str; 9] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "MIME-Version",
    "Content-Type",
];

/// The `h=` list for `raw`. mail-auth's signer lists every instance of a
/// named field that the message has, then each name it did not find at
/// all; naming an oversigned field twice makes the second name one it
/// "did not find", so the field is listed once more than it occurs. A
/// field the message lacks is named once (that already forbids adding it).
fn header_list(raw: &[u8]) -> Vec<&'static str> {
    let present = field_names(raw);
    let mut list: Vec<&'static str> = SIGNED.to_vec();
    for name in OVERSIGNED {
        if present.iter().any(|p| p.eq_ignore_ascii_case(name)) {
            list.push(name);
        }
    }
    list
}

/// The names of the fields in `raw`'s header block (continuation lines
/// skipped; the block ends at the first empty line).
pub(crate) fn field_names(raw: &[u8]) -> Vec<&str> {
    let mut names = Vec::new();
    for line in raw.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if matches!(line[0], b' ' | b'\t') {
            continue;
        }
        if let Some(colon) = line.iter().position(|&b| b == b':')
            && let Ok(name) = std::str::from_utf8(&line[..colon])
        {
            // RFC 5322 §4.5.8 (obsolete syntax): spaces before the colon.
            names.push(name.trim_end());
        }
    }
    names
}

/// How long loaded keys are used before the files are read again (so
/// `postern dkim rotate` takes effect without a restart).
const KEY_TTL: Duration = Duration::from_secs(60);

/// A domain's active keys and when they were read.
type CachedKeys = (Instant, Arc<Vec<keys::DkimKey>>);

pub struct MailAuth {
    pub cfg: MailAuthConfig,
    data_dir: PathBuf,
    hostname: String,
    auth: MessageAuthenticator,
    keys: Mutex<HashMap<String, CachedKeys>>,
}

/// What inbound checks decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Disposition {
    Deliver,
    Junk,
    Reject(String),
}

#[derive(Debug)]
pub struct Verdict {
    /// The whole `Authentication-Results: …` header with CRLF.
    pub header: String,
    pub disposition: Disposition,
    /// The results as the spam verdict reads them.
    pub facts: AuthFacts,
    /// The evaluation as a DMARC aggregate report row, when the From
    /// domain's record asks for reports (`rua=`).
    pub seen: Option<postern_store::DmarcSeen>,
}

/// Why a message arriving on port 25 is refused for its From fields, if
/// it is: RFC 5322 §3.6 wants exactly one, and with none or several the
/// author domain DMARC judges is unknown (RFC 7489 §6.6.1), so a second
/// From could borrow a passing domain's name for the one a reader sees.
pub fn from_count_refusal(raw: &[u8]) -> Option<String> {
    let n = field_names(raw)
        .iter()
        .filter(|n| n.eq_ignore_ascii_case("From"))
        .count();
    match n {
        1 => None,
        0 => Some("A message must have a From header field (RFC 5322 3.6)".into()),
        n => Some(format!(
            "A message must have one From header field, not {n} (RFC 5322 3.6)"
        )),
    }
}

/// Whether the From domain is authenticated without DMARC's help (a domain
/// with no DMARC record still signs or publishes SPF): an SPF pass for a
/// MAIL FROM in exactly the From domain, or a passing DKIM signature whose
/// `d=` is exactly it (RFC 7489 §3.1's strict alignment; relaxed alignment
/// needs the public suffix list, which only DMARC's own check uses).
fn strictly_aligned(
    msg: &AuthenticatedMessage<'_>,
    dkim: &[mail_auth::DkimOutput<'_>],
    spf: &mail_auth::SpfOutput,
    mail_from_domain: &str,
) -> bool {
    let Some((_, from)) = msg.from().rsplit_once('@') else {
        return false;
    };
    let from = from.trim_end_matches('.');
    (spf.result() == mail_auth::SpfResult::Pass
        && mail_from_domain
            .trim_end_matches('.')
            .eq_ignore_ascii_case(from))
        || dkim.iter().any(|d| {
            d.result() == &DkimResult::Pass
                && d.signature()
                    .is_some_and(|s| s.d.trim_end_matches('.').eq_ignore_ascii_case(from))
        })
}

/// The domain of the first From address, lowercased.
pub fn from_domain(raw: &[u8]) -> Option<String> {
    let parsed = mail_parser::MessageParser::new().parse_headers(raw)?;
    let addr = parsed.from()?.first()?.address.as_deref()?.to_string();
    addr.rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
}

impl MailAuth {
    pub fn new(
        cfg: MailAuthConfig,
        data_dir: PathBuf,
        hostname: String,
        nameservers: &[SocketAddr],
    ) -> Result<MailAuth, String> {
        let resolver = postern_net::dns::resolver(nameservers)?;
        Ok(MailAuth {
            cfg,
            data_dir,
            hostname,
            auth: MessageAuthenticator(resolver),
            keys: Mutex::new(HashMap::new()),
        })
    }

    fn active_keys(&self, domain: &str) -> Arc<Vec<keys::DkimKey>> {
        let mut cache = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, k)) = cache.get(domain)
            && at.elapsed() < KEY_TTL
        {
            return k.clone();
        }
        let k = Arc::new(keys::active(&self.data_dir, domain));
        cache.insert(domain.to_string(), (Instant::now(), k.clone()));
        k
    }

    /// DKIM-Signature headers (CRLF-ended) to put in front of `raw`, one per
    /// active key of the From domain; empty when it has none.
    pub fn sign(&self, raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.cfg.sign {
            return out;
        }
        let Some(domain) = from_domain(raw) else {
            return out;
        };
        let headers = header_list(raw);
        for k in self.active_keys(&domain).iter() {
            let signed = if let Some(ed) = k.ed25519() {
                DkimSigner::from_key(ed)
                    .domain(domain.clone())
                    .selector(k.selector.clone())
                    .headers(headers.iter().copied())
                    .sign(raw)
            } else if let Some(rsa) = k.rsa() {
                DkimSigner::from_key(rsa)
                    .domain(domain.clone())
                    .selector(k.selector.clone())
                    .headers(headers.iter().copied())
                    .sign(raw)
            } else {
                tracing::warn!(domain, selector = k.selector, "unreadable DKIM key");
                continue;
            };
            match signed {
                Ok(sig) => out.extend_from_slice(sig.to_header().as_bytes()),
                Err(e) => {
                    tracing::warn!(domain, selector = k.selector, error = %e, "DKIM signing failed")
                }
            }
        }
        out
    }

    /// Whether a message failing `domain`'s DMARC is in the record's
    /// `pct` sample (`reports::dmarc::sampled`). mail-auth does not keep
    /// `pct`, so the record is read again (from the resolver's cache);
    /// without it, the policy applies in full.
    async fn in_pct_sample(&self, domain: &str, raw: &[u8]) -> bool {
        let Ok(found) = self.auth.0.txt_lookup(format!("_dmarc.{domain}.")).await else {
            return true;
        };
        let pct = found
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                postern_net::dns::hickory_resolver::proto::rr::RData::TXT(t) => Some(
                    t.txt_data
                        .iter()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .collect::<String>(),
                ),
                _ => None,
            })
            .find(|t| t.trim_start().starts_with("v=DMARC1"))
            .map_or(100, |t| crate::reports::dmarc::pct_of(&t));
        crate::reports::dmarc::sampled(pct, raw)
    }

    /// SPF for the MAIL FROM (or HELO) identity, DKIM, and DMARC of the
    /// From domain; the header that reports them and what to do.
    pub async fn check(&self, raw: &[u8], ip: IpAddr, helo: &str, mail_from: &str) -> Verdict {
        match tokio::time::timeout(self.cfg.timeout, self.check_inner(raw, ip, helo, mail_from))
            .await
        {
            Ok(v) => v,
            Err(_) => {
                tracing::warn!(%ip, mail_from, "SPF/DKIM/DMARC checks timed out; delivering unlabelled");
                Verdict {
                    // RFC 8601 §2.2: "none", no result to report.
                    header: format!("Authentication-Results: {}; none\r\n", self.hostname),
                    disposition: Disposition::Deliver,
                    facts: AuthFacts::default(),
                    seen: None,
                }
            }
        }
    }

    async fn check_inner(&self, raw: &[u8], ip: IpAddr, helo: &str, mail_from: &str) -> Verdict {
        let spf = spf::verify(&self.auth, ip, helo, &self.hostname, mail_from);
        let Some(msg) = AuthenticatedMessage::parse(raw) else {
            let spf = spf.await;
            let header = AuthenticationResults::new(&self.hostname)
                .with_spf_mailfrom_result(&spf, ip, mail_from, helo)
                .to_header();
            return Verdict {
                header,
                disposition: Disposition::Deliver,
                facts: AuthFacts {
                    spf: Some(spf_outcome(spf.result())),
                    ..AuthFacts::default()
                },
                seen: None,
            };
        };
        // The three are independent (DMARC needs SPF's and DKIM's); their
        // lookups overlap, all under `check`'s one deadline.
        let (spf, dkim, arc) = tokio::join!(
            spf,
            self.auth.verify_dkim(&msg),
            arc::verify(&self.auth, &msg)
        );
        let mail_from_domain = mail_from
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or(helo)
            .to_string();
        let dmarc = self
            .auth
            .verify_dmarc(DmarcParameters::new(&msg, &dkim, &mail_from_domain, &spf))
            .await;
        // Fail: neither an aligned SPF pass nor an aligned DKIM pass; a
        // temporary DNS error is never a reason to refuse.
        let failed = matches!(dmarc.result(), DmarcResult::Fail(_));
        // RFC 7489 §6.7 and RFC 8617 §7.2.1: the receiver may override the
        // policy; a list or forwarder the operator trusts vouches, with a
        // chain that verifies, for the results it recorded before it
        // changed the message or its envelope. Asked only on a failure.
        let trust = if failed {
            arc::vouch(
                &self.auth,
                &msg,
                &arc,
                &self.cfg.arc_trusted_sealers,
                dmarc.domain(),
            )
            .await
        } else {
            arc::Trust::NotAsked
        };
        let vouch = match &trust {
            arc::Trust::Vouched(v) => {
                tracing::info!(
                    from = dmarc.domain(),
                    sealer = v.sealer,
                    witness = v.witness,
                    saw = v.saw,
                    "DMARC failure overridden by a trusted ARC sealer"
                );
                Some(v)
            }
            _ => None,
        };
        let vouched = vouch.is_some();
        let mut header = AuthenticationResults::new(&self.hostname)
            .with_dkim_results(&dkim, msg.from())
            .with_spf_mailfrom_result(&spf, ip, mail_from, helo)
            .with_dmarc_result(&dmarc)
            .to_header();
        // mail-auth's arc= has no room for the sealer: ours goes last,
        // before the header's CRLF.
        header.truncate(header.trim_end_matches("\r\n").len());
        header.push_str(&arc.auth_result(ip, &trust));
        header.push_str("\r\n");
        let mut policy = if vouched {
            Policy::None
        } else {
            dmarc.policy()
        };
        // RFC 7489 §6.6.4: a failing message outside the record's `pct`
        // sample gets the next milder policy.
        if failed
            && matches!(policy, Policy::Reject | Policy::Quarantine)
            && !self.in_pct_sample(dmarc.domain(), raw).await
        {
            policy = match policy {
                Policy::Reject => Policy::Quarantine,
                _ => Policy::None,
            };
        }
        let disposition = match (failed, policy) {
            (true, Policy::Reject) => match self.cfg.dmarc_reject {
                RejectAction::Reject => Disposition::Reject(format!(
                    "5.7.1 Rejected by the DMARC policy of {}",
                    dmarc.domain()
                )),
                RejectAction::Quarantine => Disposition::Junk,
                RejectAction::Accept => Disposition::Deliver,
            },
            (true, Policy::Quarantine) => Disposition::Junk,
            _ => Disposition::Deliver,
        };
        let dkim_outcome = if dkim.iter().any(|d| d.result() == &DkimResult::Pass) {
            AuthOutcome::Pass
        } else {
            dkim.first()
                .map_or(AuthOutcome::None, |d| dkim_outcome(d.result()))
        };
        let dmarc_pass = matches!(dmarc.result(), DmarcResult::Pass);
        let facts = AuthFacts {
            spf: Some(spf_outcome(spf.result())),
            dkim: Some(dkim_outcome),
            dmarc: Some(dmarc_outcome(&dmarc.result())),
            arc: Some(arc.outcome()),
            dmarc_arc_override: vouched,
            from_aligned: dmarc_pass || strictly_aligned(&msg, &dkim, &spf, &mail_from_domain),
        };
        let seen = dmarc
            .dmarc_record()
            .is_some_and(|r| !r.rua.is_empty())
            .then(|| {
                crate::reports::dmarc::seen(crate::reports::dmarc::Evaluation {
                    ip,
                    mail_from_domain: &mail_from_domain,
                    spf: &spf,
                    dkim: &dkim,
                    dmarc: &dmarc,
                    disposition: &disposition,
                    // Only when the override changed what the record asked
                    // for (a `p=none` record had nothing to override).
                    overridden: vouch
                        .filter(|_| matches!(dmarc.policy(), Policy::Reject | Policy::Quarantine))
                        .map(arc::Vouch::report_comment),
                })
            });
        Verdict {
            header,
            disposition,
            facts,
            seen,
        }
    }
}

fn spf_outcome(r: SpfResult) -> AuthOutcome {
    match r {
        SpfResult::Pass => AuthOutcome::Pass,
        SpfResult::Fail => AuthOutcome::Fail,
        SpfResult::SoftFail => AuthOutcome::SoftFail,
        SpfResult::Neutral => AuthOutcome::Neutral,
        SpfResult::TempError => AuthOutcome::TempError,
        SpfResult::PermError => AuthOutcome::PermError,
        SpfResult::None => AuthOutcome::None,
    }
}

fn dkim_outcome(r: &DkimResult) -> AuthOutcome {
    match r {
        DkimResult::Pass => AuthOutcome::Pass,
        DkimResult::Fail(_) => AuthOutcome::Fail,
        DkimResult::Neutral(_) => AuthOutcome::Neutral,
        DkimResult::PermError(_) => AuthOutcome::PermError,
        DkimResult::TempError(_) => AuthOutcome::TempError,
        DkimResult::None => AuthOutcome::None,
    }
}

fn dmarc_outcome(r: &DmarcResult) -> AuthOutcome {
    match r {
        DmarcResult::Pass => AuthOutcome::Pass,
        DmarcResult::Fail(_) => AuthOutcome::Fail,
        DmarcResult::TempError(_) => AuthOutcome::TempError,
        DmarcResult::PermError(_) => AuthOutcome::PermError,
        DmarcResult::None => AuthOutcome::None,
    }
}

#[cfg(test)]
mod tests {
    use super::{from_count_refusal, header_list};

    #[test]
    fn present_fields_are_oversigned_and_absent_ones_named_once() {
        let raw = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n \
                    continued\r\nX-Other: 1\r\n\r\nFrom: not a header\r\n";
        let list = header_list(raw);
        let count = |n: &str| list.iter().filter(|h| h.eq_ignore_ascii_case(n)).count();
        assert_eq!(count("From"), 2, "{list:?}");
        assert_eq!(count("To"), 2, "{list:?}");
        assert_eq!(count("Subject"), 2, "{list:?}");
        // Absent: named once, so adding one breaks the signature anyway.
        assert_eq!(count("Cc"), 1, "{list:?}");
        assert_eq!(count("Reply-To"), 1, "{list:?}");
        // Not in the oversigned set: once.
        assert_eq!(count("References"), 1, "{list:?}");
        assert_eq!(count("X-Other"), 0, "{list:?}");
    }

    #[test]
    fn only_exactly_one_from_field_passes() {
        assert_eq!(
            from_count_refusal(b"From: a@x\r\nTo: b@y\r\n\r\nbody"),
            None
        );
        assert_eq!(from_count_refusal(b"FROM : a@x\r\n\r\n"), None);
        let none = from_count_refusal(b"To: b@y\r\n\r\nFrom: a@x\r\n").expect("refused");
        assert!(none.contains("must have a From"), "{none}");
        let two = from_count_refusal(b"From: evil@z\r\nfrom: a@x\r\n\r\n").expect("refused");
        assert!(two.contains("not 2"), "{two}");
        // A folded From is one field, not two.
        assert_eq!(from_count_refusal(b"From:\r\n a@x\r\n\r\n"), None);
    }
}
