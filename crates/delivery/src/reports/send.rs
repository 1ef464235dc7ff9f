//! The daily run: the counted days not yet reported become one DMARC
//! aggregate report per From domain that publishes `rua=mailto:` (RFC
//! 7489 §7.2) and one TLS report per policy domain whose `_smtp._tls`
//! record names a `mailto:` `rua` (RFC 8460 §3), each DKIM-signed and
//! queued through the store like a vacation reply; then counts past the
//! retention limit go. A TLS report to an `https:` `rua` is POSTed
//! instead (RFC 8460 §3, `https.rs`), and retried in the background when
//! that fails and the run is the server's own.

use std::collections::BTreeMap;

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::dmarc::{Alignment, Dmarc, Policy};
use mail_auth::mta_sts::{ReportUri, TlsRpt};
use postern_net::dns::hickory_resolver::TokioResolver;
use postern_net::dns::hickory_resolver::proto::rr::{RData, RecordType};
use postern_store::{
    Acceptance, DmarcSeen, NewMessage, Outbound, QueuedRecipient, ReportKind, Store, StoreError,
    TlsSeen,
};

use super::message::{self, Envelope};
use super::{ReportsConfig, day_of, dmarc, https, tls};

/// What a run needs.
pub struct Sender<'a> {
    pub store: &'a Store,
    pub resolver: &'a TokioResolver,
    pub cfg: &'a ReportsConfig,
    pub hostname: &'a str,
    /// DKIM-Signature fields for a message (empty: unsigned).
    pub sign: &'a (dyn Fn(&[u8]) -> Vec<u8> + Sync),
    /// Retry a failed https POST in the background (the server's daily
    /// run; not `postern reports send`, which exits).
    pub https_retries: bool,
}

/// What a run did, for the log and `postern reports send`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sent {
    /// `dmarc <domain> -> <address>` / `tlsrpt <domain> -> <address>`.
    pub queued: Vec<String>,
    /// Why a domain's report did not go.
    pub skipped: Vec<String>,
}

/// The TXT strings at `name` (each record's strings joined); empty when
/// there are none, `Err` on a DNS failure.
async fn txt(resolver: &TokioResolver, name: &str) -> Result<Vec<String>, String> {
    match resolver.lookup(format!("{name}."), RecordType::TXT).await {
        Ok(l) => Ok(l
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::TXT(t) => Some(
                    t.txt_data
                        .iter()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .collect(),
                ),
                _ => None,
            })
            .collect()),
        Err(e) if e.is_nx_domain() || e.is_no_records_found() => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    }
}

fn policy_word(p: Policy) -> &'static str {
    match p {
        Policy::Quarantine => "quarantine",
        Policy::Reject => "reject",
        Policy::None | Policy::Unspecified => "none",
    }
}

fn align(a: Alignment) -> char {
    match a {
        Alignment::Strict => 's',
        Alignment::Relaxed => 'r',
    }
}

/// Whether `a` and `b` are the same domain or one is under the other (no
/// external-destination check is needed then; a stand-in for comparing
/// Organizational Domains without the public suffix list).
fn same_organization(a: &str, b: &str) -> bool {
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

impl Sender<'_> {
    /// Reports every counted day before today (`through_today`: today too)
    /// that was not reported yet.
    pub async fn run(&self, now: i64, through_today: bool) -> Result<Sent, StoreError> {
        let before = day_of(now) + i64::from(through_today);
        let from = self.sender_address().await?;
        let mut sent = Sent::default();
        if self.cfg.send_dmarc {
            let rows = self.store.reports_unsent_dmarc(before).await?;
            for (domain, rows) in group(rows, |r| r.header_from.clone()) {
                // A DNS failure leaves the rows for the next run.
                if !self
                    .dmarc_report(&domain, &rows, &from, now, &mut sent)
                    .await?
                {
                    continue;
                }
                self.store
                    .reports_mark_sent(ReportKind::Dmarc, domain, before, now)
                    .await?;
            }
        }
        if self.cfg.send_tls {
            let rows = self.store.reports_unsent_tls(before).await?;
            for (domain, rows) in group(rows, |r| r.policy_domain.clone()) {
                if !self
                    .tls_report(&domain, &rows, &from, now, &mut sent)
                    .await?
                {
                    continue;
                }
                self.store
                    .reports_mark_sent(ReportKind::Tls, domain, before, now)
                    .await?;
            }
        }
        let keep_from = day_of(now) - i64::from(self.cfg.retain_days);
        self.store.reports_sweep(keep_from).await?;
        Ok(sent)
    }

    /// `[reports] from`, else `address` at the first local domain (the
    /// host name when there is none).
    async fn sender_address(&self) -> Result<String, StoreError> {
        if !self.cfg.from.is_empty() {
            return Ok(self.cfg.from.clone());
        }
        let domain = self
            .store
            .domain_list()
            .await?
            .into_iter()
            .map(|d| d.name)
            .next()
            .unwrap_or_else(|| self.hostname.to_string());
        Ok(format!("{}@{domain}", self.cfg.address))
    }

    fn org_name(&self) -> &str {
        if self.cfg.org_name.is_empty() {
            self.hostname
        } else {
            &self.cfg.org_name
        }
    }

    async fn dmarc_report(
        &self,
        domain: &str,
        rows: &[DmarcSeen],
        from: &str,
        now: i64,
        sent: &mut Sent,
    ) -> Result<bool, StoreError> {
        let record = match txt(self.resolver, &format!("_dmarc.{domain}")).await {
            Ok(v) => v
                .iter()
                .find(|t| t.trim_start().starts_with("v=DMARC1"))
                .and_then(|t| Some((Dmarc::parse(t.as_bytes()).ok()?, dmarc::pct_of(t)))),
            Err(e) => {
                sent.skipped.push(format!(
                    "dmarc {domain}: DNS lookup failed, trying again next run: {e}"
                ));
                return Ok(false);
            }
        };
        let Some((record, pct)) = record.filter(|(r, _)| !r.rua.is_empty()) else {
            sent.skipped.push(format!(
                "dmarc {domain}: no rua=mailto: in its DMARC record"
            ));
            return Ok(true);
        };
        let (begin, end) = period(rows.iter().map(|r| r.day), now);
        let report_id = format!("{}.{}.{}", domain, begin, now);
        let published = dmarc::Published {
            domain: domain.to_string(),
            adkim: align(record.adkim),
            aspf: align(record.aspf),
            p: policy_word(record.p).into(),
            sp: policy_word(if record.sp == Policy::Unspecified {
                record.p
            } else {
                record.sp
            })
            .into(),
            pct,
            fo: dmarc::fo_word(&record.fo).into(),
        };
        let meta = dmarc::Metadata {
            org_name: self.org_name(),
            email: from,
            report_id: &report_id,
            begin,
            end,
        };
        let gz = message::gzip(dmarc::build(&meta, &published, rows).as_bytes());
        for uri in &record.rua {
            let to = uri.uri();
            let Some((_, dest)) = to.rsplit_once('@') else {
                continue;
            };
            let dest = dest.to_ascii_lowercase();
            // RFC 7489 §7.1: a destination outside the domain must say it
            // takes reports for it, or it gets none.
            if !same_organization(&dest, domain) {
                let name = format!("{domain}._report._dmarc.{dest}");
                let ok = txt(self.resolver, &name)
                    .await
                    .map(|v| v.iter().any(|t| t.trim_start().starts_with("v=DMARC1")))
                    .unwrap_or(false);
                if !ok {
                    sent.skipped.push(format!(
                        "dmarc {domain}: {to} is external and {name} has no v=DMARC1 record"
                    ));
                    continue;
                }
            }
            // RFC 7489 §6.2: `!size` caps what the address takes.
            if uri.max_size > 0 && gz.len() > uri.max_size {
                sent.skipped.push(format!(
                    "dmarc {domain}: the report ({} bytes) is over {to}'s limit of {} bytes",
                    gz.len(),
                    uri.max_size
                ));
                continue;
            }
            let env = Envelope {
                from,
                to,
                policy_domain: domain,
                submitter: self.hostname,
                report_id: &report_id,
                begin,
                end,
                now,
            };
            self.queue(message::dmarc(&env, &gz), from, to).await?;
            sent.queued.push(format!("dmarc {domain} -> {to}"));
        }
        Ok(true)
    }

    async fn tls_report(
        &self,
        domain: &str,
        rows: &[TlsSeen],
        from: &str,
        now: i64,
        sent: &mut Sent,
    ) -> Result<bool, StoreError> {
        let record = match txt(self.resolver, &format!("_smtp._tls.{domain}")).await {
            Ok(v) => v
                .iter()
                .find(|t| t.trim_start().starts_with("v=TLSRPTv1"))
                .and_then(|t| TlsRpt::parse(t.as_bytes()).ok()),
            Err(e) => {
                sent.skipped.push(format!(
                    "tlsrpt {domain}: DNS lookup failed, trying again next run: {e}"
                ));
                return Ok(false);
            }
        };
        let Some(record) = record else {
            sent.skipped
                .push(format!("tlsrpt {domain}: no _smtp._tls record"));
            return Ok(true);
        };
        let (begin, end) = period(rows.iter().map(|r| r.day), now);
        let report_id = format!("{}.{}.{}", domain, begin, now);
        let who = tls::Submitter {
            org_name: self.org_name(),
            contact: from,
        };
        let json = tls::build(&who, &report_id, begin, end, rows);
        let gz = message::gzip(json.as_bytes());
        // Whether the report went somewhere (or is being retried), and
        // whether a POST failed for good: with nothing gone, the counts
        // stay for the next run.
        let (mut gone, mut failed) = (false, false);
        for uri in &record.rua {
            let to = match uri {
                ReportUri::Mail(to) => to.as_str(),
                ReportUri::Http(u) => {
                    match self.post(domain, u, &gz, sent).await {
                        true => gone = true,
                        false => failed = true,
                    }
                    continue;
                }
            };
            let env = Envelope {
                from,
                to,
                policy_domain: domain,
                submitter: self.hostname,
                report_id: &report_id,
                begin,
                end,
                now,
            };
            self.queue(message::tls(&env, &gz), from, to).await?;
            sent.queued.push(format!("tlsrpt {domain} -> {to}"));
            gone = true;
        }
        Ok(gone || !failed)
    }

    /// POSTs a TLS report to `uri` (RFC 8460 §3); a failure is retried in
    /// the background when `https_retries`, else said. False when the
    /// report neither arrived nor is being retried.
    async fn post(&self, domain: &str, uri: &str, gz: &[u8], sent: &mut Sent) -> bool {
        let Some(target) = https::Target::parse(uri) else {
            sent.skipped
                .push(format!("tlsrpt {domain}: {uri} is not an https URI"));
            return true;
        };
        let poster = match https::Poster::new(self.resolver.clone(), self.cfg) {
            Ok(p) => p,
            Err(e) => {
                sent.skipped.push(format!("tlsrpt {domain}: {uri}: {e}"));
                return true;
            }
        };
        match poster.post(&target, gz).await {
            Ok(()) => {
                sent.queued.push(format!("tlsrpt {domain} -> {uri}"));
                true
            }
            Err(e) if self.https_retries => {
                poster.retry(
                    target,
                    gz.to_vec(),
                    self.cfg.https_retry,
                    self.cfg.https_give_up,
                );
                sent.skipped.push(format!(
                    "tlsrpt {domain}: POST to {uri} failed, retrying in the background: {e}"
                ));
                true
            }
            Err(e) => {
                sent.skipped.push(format!(
                    "tlsrpt {domain}: POST to {uri} failed, trying again next run: {e}"
                ));
                false
            }
        }
    }

    /// Signs and queues one report (one commit).
    async fn queue(&self, unsigned: Vec<u8>, from: &str, to: &str) -> Result<(), StoreError> {
        let mut raw = (self.sign)(&unsigned);
        raw.extend_from_slice(&unsigned);
        let out = Outbound {
            reverse_path: from.to_string(),
            recipients: vec![QueuedRecipient {
                address: to.to_string(),
                orcpt: None,
                notify: None,
            }],
            ..Outbound::default()
        };
        self.store
            .accept_all(Acceptance {
                sends: vec![(
                    NewMessage {
                        raw,
                        internal_date: None,
                        flags: Default::default(),
                    },
                    out,
                )],
                ..Acceptance::default()
            })
            .await?;
        Ok(())
    }
}

/// Runs [`Sender::run`] every day at `cfg.hour` UTC (and a minute after
/// start when that hour has passed today, so a restart catches up); stops
/// when `shutdown` fires. Reports are signed with `mailauth`'s keys.
pub fn spawn_daily(
    store: Store,
    cfg: ReportsConfig,
    hostname: String,
    resolver: TokioResolver,
    mailauth: Option<crate::MailAuth>,
    shutdown: tokio_util::sync::CancellationToken,
    tracker: &tokio_util::task::TaskTracker,
) {
    if !cfg.send_dmarc && !cfg.send_tls {
        return;
    }
    tracker.spawn(async move {
        let at = i64::from(cfg.hour) * 3600;
        let now = super::now_secs();
        let mut next = day_of(now) * 86400 + at;
        if next <= now {
            next = now + 60;
        }
        let sign = move |raw: &[u8]| mailauth.as_ref().map(|m| m.sign(raw)).unwrap_or_default();
        loop {
            let wait = u64::try_from(next - super::now_secs()).unwrap_or(0);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(std::time::Duration::from_secs(wait)) => {}
            }
            let sender = Sender {
                store: &store,
                resolver: &resolver,
                cfg: &cfg,
                hostname: &hostname,
                sign: &sign,
                https_retries: true,
            };
            let now = super::now_secs();
            match sender.run(now, false).await {
                Ok(sent) => {
                    for q in &sent.queued {
                        tracing::info!(report = q.as_str(), "report queued");
                    }
                    for s in &sent.skipped {
                        tracing::info!(reason = s.as_str(), "report not sent");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "sending the daily reports failed"),
            }
            next = (day_of(now) + 1) * 86400 + at;
        }
    });
}

/// Rows grouped by a key, in key order.
fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> String) -> BTreeMap<String, Vec<T>> {
    let mut out: BTreeMap<String, Vec<T>> = BTreeMap::new();
    for r in rows {
        out.entry(key(&r)).or_default().push(r);
    }
    out
}

/// The period rows of these days cover: from the first day's start to the
/// last day's end, but never past `now`.
fn period(days: impl Iterator<Item = i64>, now: i64) -> (i64, i64) {
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for d in days {
        lo = lo.min(d);
        hi = hi.max(d);
    }
    if lo > hi {
        return (now, now);
    }
    (lo * 86400, ((hi + 1) * 86400).min(now.max(lo * 86400 + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_organization_means_equal_or_nested() {
        assert!(same_organization("remote.test", "remote.test"));
        assert!(same_organization("reports.remote.test", "remote.test"));
        assert!(!same_organization("elsewhere.test", "remote.test"));
        assert!(!same_organization("notremote.test", "remote.test"));
    }

    #[test]
    fn a_period_ends_at_the_last_day_or_now() {
        assert_eq!(
            period([3, 2].into_iter(), 10 * 86400),
            (2 * 86400, 4 * 86400)
        );
        assert_eq!(
            period([3].into_iter(), 3 * 86400 + 5),
            (3 * 86400, 3 * 86400 + 5)
        );
    }
}
