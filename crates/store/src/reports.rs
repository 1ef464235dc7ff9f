//! The rows behind DMARC aggregate reports (RFC 7489 §7.2) and TLS-RPT
//! (RFC 8460), migration 16: inbound DMARC evaluations and outbound TLS
//! sessions counted per day and per distinct result (`dmarc_seen`,
//! `tls_seen`), and the reports other servers sent us (`reports_received`
//! with their rows).
//!
//! The store does not interpret results: they arrive as the words the
//! reports use (`pass`, `fail`, `starttls-not-supported`, ...), days as
//! days since the Unix epoch (UTC) and times as Unix seconds chosen by the
//! caller. A counted row is reported once: sending marks it with the time
//! (`sent_at`), and counts of the same day that come later start a row of
//! their own. Migration 23 adds a DMARC row's policy override reason.

use rusqlite::Row;

use crate::Store;
use crate::error::Result;

/// One DMARC evaluation (or `count` identical ones) of mail we received.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DmarcSeen {
    /// Days since the epoch, UTC.
    pub day: i64,
    /// The RFC5322.From domain, the domain whose policy was evaluated.
    pub header_from: String,
    pub source_ip: String,
    /// The RFC5321.MailFrom domain (the HELO name for the null sender).
    pub envelope_from: String,
    /// The domain SPF checked and its result (`pass`, `fail`, `softfail`,
    /// `neutral`, `none`, `temperror`, `permerror`).
    pub spf_domain: String,
    pub spf_result: String,
    /// Each DKIM signature as `domain selector result`, joined by `;`
    /// (empty: no signature).
    pub dkim: String,
    /// The policy applied: `none`, `quarantine` or `reject`.
    pub disposition: String,
    /// DMARC's own verdicts: an aligned DKIM pass and an aligned SPF pass
    /// (`pass` or `fail`).
    pub dkim_aligned: String,
    pub spf_aligned: String,
    /// Why the policy was not applied, as the report's `<reason><comment>`
    /// says it (`arc=pass i=N d=sealer`: a trusted ARC sealer vouched);
    /// `None`: applied as published. Not part of the row's key (migration
    /// 16's): an evaluation that differs from a counted one only by this
    /// adds to it, and the row keeps the first reason it was given.
    pub override_reason: Option<String>,
    pub count: i64,
}

/// One outcome (or `count` identical ones) of outbound TLS.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TlsSeen {
    pub day: i64,
    /// The recipient domain whose policy applied.
    pub policy_domain: String,
    /// `sts`, `tlsa` or `no-policy-found` (RFC 8460 §4.3).
    pub policy_type: String,
    /// The MX host connected to.
    pub mx_host: String,
    /// Its address (empty when no connection was made).
    pub receiving_ip: String,
    /// `success`, or an RFC 8460 §4.3.2 result type.
    pub result: String,
    /// The policy as RFC 8460 §4.3.1's `policy-string` wants it, one
    /// element per line (empty for `no-policy-found`).
    pub policy_string: String,
    pub count: i64,
}

/// What a received report was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    Dmarc,
    Tls,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Dmarc => "dmarc",
            ReportKind::Tls => "tlsrpt",
        }
    }

    fn parse(s: &str) -> ReportKind {
        if s == "tlsrpt" {
            ReportKind::Tls
        } else {
            ReportKind::Dmarc
        }
    }
}

/// A report another server sent about our mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedReport {
    pub kind: ReportKind,
    /// Who sent it (`org_name`, `organization-name`).
    pub org: String,
    pub report_id: String,
    /// Our domain it is about.
    pub domain: String,
    /// The period it covers, Unix seconds.
    pub begin: i64,
    pub end: i64,
    pub rows: Vec<ReceivedRow>,
}

/// A row of a received report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedRow {
    /// DMARC: the source IP; TLS-RPT: the MX host (or the policy domain).
    pub source: String,
    /// DMARC: `pass` when DKIM or SPF passed aligned, else `fail`;
    /// TLS-RPT: `success` or the failure's result type.
    pub result: String,
    /// DMARC: `dkim=… spf=… disposition=…`; TLS-RPT: the policy type.
    pub detail: String,
    pub count: i64,
}

/// A received report's row with what the report said around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedLine {
    pub kind: ReportKind,
    pub org: String,
    pub domain: String,
    pub end: i64,
    pub row: ReceivedRow,
}

fn dmarc_row(r: &Row<'_>) -> rusqlite::Result<DmarcSeen> {
    Ok(DmarcSeen {
        day: r.get(0)?,
        header_from: r.get(1)?,
        source_ip: r.get(2)?,
        envelope_from: r.get(3)?,
        spf_domain: r.get(4)?,
        spf_result: r.get(5)?,
        dkim: r.get(6)?,
        disposition: r.get(7)?,
        dkim_aligned: r.get(8)?,
        spf_aligned: r.get(9)?,
        count: r.get(10)?,
        override_reason: r.get(11)?,
    })
}

fn tls_row(r: &Row<'_>) -> rusqlite::Result<TlsSeen> {
    Ok(TlsSeen {
        day: r.get(0)?,
        policy_domain: r.get(1)?,
        policy_type: r.get(2)?,
        mx_host: r.get(3)?,
        receiving_ip: r.get(4)?,
        result: r.get(5)?,
        policy_string: r.get(6)?,
        count: r.get(7)?,
    })
}

impl Store {
    /// Adds evaluations to the day's unreported counts (one commit).
    pub async fn reports_record_dmarc(&self, rows: Vec<DmarcSeen>) -> Result<()> {
        self.inner
            .writer
            .write(move |ctx| {
                let mut st = ctx.conn.prepare_cached(
                    "INSERT INTO dmarc_seen (sent_at, day, header_from, source_ip, envelope_from,
                         spf_domain, spf_result, dkim, disposition, dkim_aligned, spf_aligned, count,
                         override_reason)
                     VALUES (0, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                     ON CONFLICT DO UPDATE SET count = count + excluded.count,
                         override_reason = coalesce(override_reason, excluded.override_reason)",
                )?;
                for r in &rows {
                    st.execute(rusqlite::params![
                        r.day,
                        r.header_from,
                        r.source_ip,
                        r.envelope_from,
                        r.spf_domain,
                        r.spf_result,
                        r.dkim,
                        r.disposition,
                        r.dkim_aligned,
                        r.spf_aligned,
                        r.count,
                        r.override_reason
                    ])?;
                }
                Ok(())
            })
            .await
    }

    /// Adds TLS outcomes to the day's unreported counts (one commit).
    pub async fn reports_record_tls(&self, rows: Vec<TlsSeen>) -> Result<()> {
        self.inner
            .writer
            .write(move |ctx| {
                let mut st = ctx.conn.prepare_cached(
                    "INSERT INTO tls_seen (sent_at, day, policy_domain, policy_type, mx_host,
                         receiving_ip, result, policy_string, count)
                     VALUES (0, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT DO UPDATE SET count = count + excluded.count,
                         policy_string = excluded.policy_string",
                )?;
                for r in &rows {
                    st.execute(rusqlite::params![
                        r.day,
                        r.policy_domain,
                        r.policy_type,
                        r.mx_host,
                        r.receiving_ip,
                        r.result,
                        r.policy_string,
                        r.count
                    ])?;
                }
                Ok(())
            })
            .await
    }

    /// Unreported DMARC counts of days before `before_day`.
    pub async fn reports_unsent_dmarc(&self, before_day: i64) -> Result<Vec<DmarcSeen>> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT day, header_from, source_ip, envelope_from, spf_domain, spf_result, dkim,
                        disposition, dkim_aligned, spf_aligned, count, override_reason
                 FROM dmarc_seen WHERE sent_at = 0 AND day < ?1
                 ORDER BY header_from, day, source_ip",
            )?
            .query_map([before_day], dmarc_row)?
            .collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    /// Unreported TLS counts of days before `before_day`.
    pub async fn reports_unsent_tls(&self, before_day: i64) -> Result<Vec<TlsSeen>> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT day, policy_domain, policy_type, mx_host, receiving_ip, result,
                        policy_string, count
                 FROM tls_seen WHERE sent_at = 0 AND day < ?1
                 ORDER BY policy_domain, day, mx_host",
            )?
            .query_map([before_day], tls_row)?
            .collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    /// Marks the unreported counts of `domain` (the From domain for DMARC,
    /// the policy domain for TLS) of days before `before_day` as reported
    /// at `now`, whether or not a report could go (a domain without a
    /// reporting address is not asked again about the same days).
    pub async fn reports_mark_sent(
        &self,
        kind: ReportKind,
        domain: String,
        before_day: i64,
        now: i64,
    ) -> Result<()> {
        self.inner
            .writer
            .write(move |ctx| {
                let sql = match kind {
                    ReportKind::Dmarc => {
                        "UPDATE dmarc_seen SET sent_at = ?3 WHERE sent_at = 0 AND header_from = ?1 AND day < ?2"
                    }
                    ReportKind::Tls => {
                        "UPDATE tls_seen SET sent_at = ?3 WHERE sent_at = 0 AND policy_domain = ?1 AND day < ?2"
                    }
                };
                ctx.conn
                    .prepare_cached(sql)?
                    .execute(rusqlite::params![domain, before_day, now.max(1)])?;
                Ok(())
            })
            .await
    }

    /// Stores a report we received; false when the same sender's report
    /// of that id is already stored (a report sent twice counts once).
    pub async fn reports_received_add(&self, report: ReceivedReport, now: i64) -> Result<bool> {
        self.inner
            .writer
            .write(move |ctx| {
                let n = ctx
                    .conn
                    .prepare_cached(
                        "INSERT INTO reports_received (kind, org, report_id, domain, date_begin,
                             date_end, received_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                    )?
                    .execute(rusqlite::params![
                        report.kind.as_str(),
                        report.org,
                        report.report_id,
                        report.domain,
                        report.begin,
                        report.end,
                        now
                    ])?;
                if n == 0 {
                    return Ok(false);
                }
                let id = ctx.conn.last_insert_rowid();
                let mut st = ctx.conn.prepare_cached(
                    "INSERT INTO reports_received_rows (report, source, result, detail, count)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for r in &report.rows {
                    st.execute(rusqlite::params![id, r.source, r.result, r.detail, r.count])?;
                }
                Ok(true)
            })
            .await
    }

    /// The rows of received reports whose period ended at `since` or later.
    pub async fn reports_received_since(&self, since: i64) -> Result<Vec<ReceivedLine>> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT r.kind, r.org, r.domain, r.date_end, w.source, w.result, w.detail, w.count
                 FROM reports_received r JOIN reports_received_rows w ON w.report = r.id
                 WHERE r.date_end >= ?1 ORDER BY r.date_end, r.id",
            )?
            .query_map([since], |r| {
                Ok(ReceivedLine {
                    kind: ReportKind::parse(&r.get::<_, String>(0)?),
                    org: r.get(1)?,
                    domain: r.get(2)?,
                    end: r.get(3)?,
                    row: ReceivedRow {
                        source: r.get(4)?,
                        result: r.get(5)?,
                        detail: r.get(6)?,
                        count: r.get(7)?,
                    },
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    /// Removes counts of days before `before_day` and received reports
    /// whose period ended before `before_day` (the retention limit).
    pub async fn reports_sweep(&self, before_day: i64) -> Result<()> {
        self.inner
            .writer
            .write(move |ctx| {
                ctx.conn
                    .prepare_cached("DELETE FROM dmarc_seen WHERE day < ?1")?
                    .execute([before_day])?;
                ctx.conn
                    .prepare_cached("DELETE FROM tls_seen WHERE day < ?1")?
                    .execute([before_day])?;
                ctx.conn
                    .prepare_cached("DELETE FROM reports_received WHERE date_end < ?1")?
                    .execute([before_day.saturating_mul(86400)])?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreOptions;

    fn seen(ip: &str, count: i64) -> DmarcSeen {
        DmarcSeen {
            day: 20_000,
            header_from: "remote.test".into(),
            source_ip: ip.into(),
            envelope_from: "remote.test".into(),
            spf_domain: "remote.test".into(),
            spf_result: "pass".into(),
            dkim: "remote.test s1 pass".into(),
            disposition: "none".into(),
            dkim_aligned: "pass".into(),
            spf_aligned: "pass".into(),
            override_reason: None,
            count,
        }
    }

    #[tokio::test]
    async fn an_override_reason_is_kept_with_its_row() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), StoreOptions::default()).expect("open");
        let overridden = DmarcSeen {
            override_reason: Some("arc=pass i=1 d=lists.test".into()),
            ..seen("192.0.2.1", 1)
        };
        store
            .reports_record_dmarc(vec![overridden.clone(), seen("192.0.2.2", 1)])
            .await
            .expect("record");
        store
            .reports_record_dmarc(vec![overridden])
            .await
            .expect("record");
        let rows = store.reports_unsent_dmarc(20_001).await.expect("unsent");
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(
            rows[0].override_reason.as_deref(),
            Some("arc=pass i=1 d=lists.test")
        );
        assert_eq!(rows[0].count, 2);
        assert_eq!(rows[1].override_reason, None);
    }

    #[tokio::test]
    async fn counts_add_up_per_row_and_a_reported_row_is_not_counted_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), StoreOptions::default()).expect("open");
        store
            .reports_record_dmarc(vec![seen("192.0.2.1", 1), seen("192.0.2.2", 1)])
            .await
            .expect("record");
        store
            .reports_record_dmarc(vec![seen("192.0.2.1", 2)])
            .await
            .expect("record");
        let rows = store.reports_unsent_dmarc(20_001).await.expect("unsent");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].count, 3, "{rows:?}");
        // Not yet due: today's rows wait for the day to end.
        assert!(
            store
                .reports_unsent_dmarc(20_000)
                .await
                .expect("unsent")
                .is_empty()
        );

        store
            .reports_mark_sent(ReportKind::Dmarc, "remote.test".into(), 20_001, 1_000)
            .await
            .expect("mark");
        assert!(
            store
                .reports_unsent_dmarc(20_001)
                .await
                .expect("unsent")
                .is_empty()
        );
        store
            .reports_record_dmarc(vec![seen("192.0.2.1", 1)])
            .await
            .expect("record");
        let rows = store.reports_unsent_dmarc(20_001).await.expect("unsent");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].count, 1, "a reported count came back: {rows:?}");

        store.reports_sweep(20_001).await.expect("sweep");
        assert!(
            store
                .reports_unsent_dmarc(30_000)
                .await
                .expect("unsent")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_received_report_is_stored_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), StoreOptions::default()).expect("open");
        let report = ReceivedReport {
            kind: ReportKind::Tls,
            org: "Google Inc.".into(),
            report_id: "r1".into(),
            domain: "example.org".into(),
            begin: 86_400,
            end: 2 * 86_400,
            rows: vec![ReceivedRow {
                source: "mail.example.org".into(),
                result: "success".into(),
                detail: "sts".into(),
                count: 7,
            }],
        };
        assert!(
            store
                .reports_received_add(report.clone(), 5)
                .await
                .expect("add")
        );
        assert!(!store.reports_received_add(report, 6).await.expect("add"));
        let lines = store.reports_received_since(0).await.expect("read");
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].kind, ReportKind::Tls);
        assert_eq!(lines[0].row.count, 7);
        assert!(
            store
                .reports_received_since(3 * 86_400)
                .await
                .expect("read")
                .is_empty()
        );
        store.reports_sweep(3).await.expect("sweep");
        assert!(
            store
                .reports_received_since(0)
                .await
                .expect("read")
                .is_empty()
        );
    }
}
