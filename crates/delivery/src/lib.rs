//! Postern's inbound pipeline: what happens to a message between the SMTP
//! session that accepted its envelope and the one store commit that makes
//! it durable. Mail authentication (SPF, DKIM, DMARC, ARC, `mailauth/`),
//! then the spam verdict (`verdict.rs`: crates/spam's rules, its DNS lookups and the
//! recipient's classifier), give a [`Decision`]: refuse at DATA, or file
//! each recipient's copy in INBOX or Junk with headers a person can read.
//! Then each recipient's Sieve script (`sieve/`, on every path that files
//! locally, submission included) refiles, flags, edits, redirects (with an
//! SRS sender), answers (vacation) or refuses their copy.
//!
//! # Implementation notes
//! - The decision is made before the one `Store::accept_variants`, and the
//!   session answers `250` only after that commit (the durability
//!   contract); nothing is decided after the `250`, so nothing bounces
//!   later (no backscatter).
//! - Port 25 only: submission is signed (DKIM) and never scored.
//! - Sieve decides before the commit too: its copies, redirects, replies
//!   and memories are part of the same `Store::accept_all`, so a `250`
//!   means all of it is durable and a refusal is an SMTP reply. A script
//!   that fails or exceeds a limit keeps the message where the verdict put
//!   it, and says why in the log.
//! - The network parts run at once: SPF/DKIM/DMARC/ARC and the blocklist
//!   and reverse-DNS lookups, each under its own deadline; a lookup that does
//!   not answer scores nothing and never holds mail back.
//! - Scored once, filed per recipient: the rules and lookups are shared;
//!   the recipient's classifier and sender reputation, and their own
//!   thresholds, make their copy's verdict. Copies whose headers differ are
//!   separate blobs in the same commit. The message is refused only if
//!   every recipient's verdict refuses it; a recipient who would refuse it
//!   while others accept gets it in Junk.
//! - Dependencies: store, net (the resolver) and spam; never a protocol
//!   crate (SMTP depends on this crate, not the other way).

pub mod config;
mod events;
pub mod mailauth;
pub mod reports;
pub mod sieve;
mod verdict;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use postern_spam::training::Classifiers;

use postern_store::{DeliveryTarget, UserId};

pub use config::{DeliveryConfig, SieveLimits, SpamSettings, Thresholds};
pub use mailauth::{MailAuth, MailAuthConfig, RejectAction, strip_inbound, strip_own_results};

/// The pipeline, shared by every SMTP session.
pub struct Delivery {
    cfg: DeliveryConfig,
    mailauth: Option<MailAuth>,
    /// Stored models and sender reputation (none in unit tests).
    classifiers: Option<Arc<Classifiers>>,
    resolver: Option<postern_net::dns::hickory_resolver::TokioResolver>,
    hostname: String,
    /// Sieve's interpreter, script cache and SRS key.
    sieve: sieve::Engine,
    /// Where DMARC evaluations are counted for aggregate reports (none:
    /// not counted), and `[reports]`.
    reports: Option<(reports::Recorder, reports::ReportsConfig)>,
}

/// A message accepted on port 25, before its verdict.
pub struct Inbound<'a> {
    /// The message as received (our trace headers not yet added).
    pub raw: &'a [u8],
    pub ip: IpAddr,
    pub helo: &'a str,
    /// The envelope sender, `""` for the null sender.
    pub mail_from: &'a str,
    /// Local recipients, each once.
    pub recipients: &'a [Recipient],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user: UserId,
    /// The user's primary address (per-user settings are keyed by it).
    pub address: String,
}

/// What to do with an inbound message.
#[derive(Debug, PartialEq)]
pub enum Decision {
    /// `550 5.7.1` with this text (enhanced code not included).
    Reject(String),
    /// One copy per filing, each with its own header block.
    Deliver(Vec<Filing>),
}

/// One copy of the message: headers to put above it (below the trace
/// headers) and the recipients whose mailboxes get it.
#[derive(Debug, Clone, PartialEq)]
pub struct Filing {
    pub headers: Vec<u8>,
    pub targets: Vec<DeliveryTarget>,
}

impl Delivery {
    /// `nameservers` as `[dns]` names them (empty: the system's resolver).
    pub fn new(
        cfg: DeliveryConfig,
        mailauth: Option<MailAuth>,
        classifiers: Option<Arc<Classifiers>>,
        hostname: String,
        nameservers: &[SocketAddr],
    ) -> Result<Self, String> {
        let resolver = if cfg.spam.enabled {
            Some(postern_net::dns::resolver(nameservers)?)
        } else {
            None
        };
        let sieve = sieve::Engine::new(&cfg.sieve, &hostname);
        Ok(Self {
            cfg,
            mailauth,
            classifiers,
            resolver,
            hostname,
            sieve,
            reports: None,
        })
    }

    /// Counts DMARC evaluations through `recorder`, and reads reports sent
    /// to `cfg.address` at our domains.
    pub fn with_reports(
        mut self,
        recorder: reports::Recorder,
        cfg: reports::ReportsConfig,
    ) -> Self {
        self.reports = Some((recorder, cfg));
        self
    }

    /// Counts one message's DMARC evaluation for the aggregate reports.
    fn record_dmarc(&self, auth: Option<&mailauth::Verdict>) {
        if let (Some((rec, _)), Some(seen)) = (&self.reports, auth.and_then(|a| a.seen.clone())) {
            rec.dmarc(seen);
        }
    }

    /// A message accepted on port 25 for `recipients` (as given at RCPT):
    /// when one is our report address, the DMARC and TLS reports it
    /// carries are stored (the message is delivered as usual too). Runs
    /// after the `250`, in a task of its own.
    pub fn received_reports(&self, store: &postern_store::Store, recipients: &[&str], raw: &[u8]) {
        let Some((_, cfg)) = &self.reports else {
            return;
        };
        let ours = recipients.iter().any(|r| {
            r.rsplit_once('@')
                .is_some_and(|(local, _)| local.eq_ignore_ascii_case(&cfg.address))
        });
        if !ours {
            return;
        }
        let (store, raw, max) = (store.clone(), raw.to_vec(), cfg.max_report_bytes);
        tokio::spawn(async move {
            let found =
                tokio::task::spawn_blocking(move || reports::receive::reports_in(&raw, max))
                    .await
                    .unwrap_or_default();
            for r in found {
                let (org, id) = (r.org.clone(), r.report_id.clone());
                match store.reports_received_add(r, reports::now_secs()).await {
                    Ok(true) => tracing::info!(org, id, "report received"),
                    Ok(false) => tracing::info!(org, id, "report received again; ignored"),
                    Err(e) => {
                        tracing::warn!(org, id, error = %e, "storing a received report failed")
                    }
                }
            }
        });
    }

    pub fn config(&self) -> &DeliveryConfig {
        &self.cfg
    }

    /// DKIM-Signature headers for a submitted message (empty when signing is
    /// off or the From domain has no keys).
    pub fn sign(&self, raw: &[u8]) -> Vec<u8> {
        self.mailauth
            .as_ref()
            .map(|m| m.sign(raw))
            .unwrap_or_default()
    }

    /// A message `user` submitted: its recipients become correspondents in
    /// their sender reputation (mail from them scores lower). A failure is
    /// logged; the message is already accepted.
    pub async fn submitted(&self, user: UserId, recipients: &[String]) {
        if let Some(c) = &self.classifiers
            && let Err(e) = c.record_sent(user, recipients).await
        {
            tracing::warn!(error = %e, user = user.0, "recording sent mail for the reputation failed");
        }
    }

    /// The message as it is stored: without header fields that claim to be
    /// our verdicts (RFC 8601 §5; `X-Spam-*` when the filter is on).
    pub fn strip<'a>(&self, raw: &'a [u8], inbound: bool) -> std::borrow::Cow<'a, [u8]> {
        strip_inbound(raw, &self.hostname, inbound && self.cfg.spam.enabled)
    }
}
