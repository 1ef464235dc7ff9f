//! `postern reports`: what other servers reported about our mail (DMARC
//! aggregate reports: pass rates by source IP and reporter; TLS reports:
//! sessions to our MX hosts by result), and `postern reports send` to send
//! our own reports without waiting for `[reports] hour`.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use postern_delivery::reports::send::Sender;
use postern_store::{ReceivedLine, ReportKind};
use serde::Serialize;

use crate::config::Config;
use crate::out::outln;

#[derive(Args)]
pub struct ReportsArgs {
    #[command(subcommand)]
    cmd: Option<ReportsCmd>,
    /// Reports whose period ended in the last N days
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// One JSON document for scripts
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum ReportsCmd {
    /// Send the DMARC and TLS reports of the days not yet reported (what
    /// the server does daily at [reports] hour); the queue delivers them
    Send {
        /// Include today, up to now
        #[arg(long)]
        now: bool,
    },
}

/// DMARC: one source IP as one reporter saw it.
#[derive(Serialize, Default)]
struct DmarcLine {
    source_ip: String,
    reporter: String,
    messages: i64,
    passed: i64,
}

/// TLS: sessions to one MX host with one result, per reporter.
#[derive(Serialize, Default)]
struct TlsLine {
    mx_host: String,
    result: String,
    reporter: String,
    sessions: i64,
}

#[derive(Serialize)]
struct Summary {
    days: u32,
    dmarc: Vec<DmarcLine>,
    tls: Vec<TlsLine>,
}

fn summarize(lines: Vec<ReceivedLine>, days: u32) -> Summary {
    let mut dmarc: BTreeMap<(String, String), DmarcLine> = BTreeMap::new();
    let mut tls: BTreeMap<(String, String, String), TlsLine> = BTreeMap::new();
    for l in lines {
        match l.kind {
            ReportKind::Dmarc => {
                let e = dmarc
                    .entry((l.row.source.clone(), l.org.clone()))
                    .or_insert_with(|| DmarcLine {
                        source_ip: l.row.source.clone(),
                        reporter: l.org.clone(),
                        ..DmarcLine::default()
                    });
                e.messages += l.row.count;
                if l.row.result == "pass" {
                    e.passed += l.row.count;
                }
            }
            ReportKind::Tls => {
                let key = (l.row.source.clone(), l.row.result.clone(), l.org.clone());
                tls.entry(key)
                    .or_insert_with(|| TlsLine {
                        mx_host: l.row.source.clone(),
                        result: l.row.result.clone(),
                        reporter: l.org.clone(),
                        sessions: 0,
                    })
                    .sessions += l.row.count;
            }
        }
    }
    let mut dmarc: Vec<DmarcLine> = dmarc.into_values().collect();
    // Failures first: what needs fixing is at the top.
    dmarc.sort_by_key(|d| (d.passed * 1000 / d.messages.max(1), -d.messages));
    let mut tls: Vec<TlsLine> = tls.into_values().collect();
    tls.sort_by_key(|t| (t.result == "success", -t.sessions));
    Summary { days, dmarc, tls }
}

pub async fn reports(cfg: &Config, args: ReportsArgs) -> Result<()> {
    let store = super::open(cfg).await?;
    if let Some(ReportsCmd::Send { now }) = args.cmd {
        return send(cfg, &store, now).await;
    }
    let now = postern_delivery::reports::now_secs();
    let since = now - i64::from(args.days) * 86400;
    let summary = summarize(store.reports_received_since(since).await?, args.days);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    outln!(
        "DMARC: mail from our domains as receivers saw it (reports of the last {} days)",
        args.days
    );
    if summary.dmarc.is_empty() {
        outln!("  no DMARC reports received");
    } else {
        outln!(
            "  {:<40} {:<28} {:>9} {:>6}",
            "SOURCE IP",
            "REPORTER",
            "MESSAGES",
            "PASS"
        );
        for d in &summary.dmarc {
            outln!(
                "  {:<40} {:<28} {:>9} {:>5}%",
                d.source_ip,
                d.reporter,
                d.messages,
                d.passed * 100 / d.messages.max(1)
            );
        }
    }
    outln!("TLS: sessions to our MX hosts as senders saw them");
    if summary.tls.is_empty() {
        outln!("  no TLS reports received");
    } else {
        outln!(
            "  {:<32} {:<28} {:>9}  {}",
            "MX HOST",
            "RESULT",
            "SESSIONS",
            "REPORTER"
        );
        for t in &summary.tls {
            outln!(
                "  {:<32} {:<28} {:>9}  {}",
                t.mx_host,
                t.result,
                t.sessions,
                t.reporter
            );
        }
    }
    Ok(())
}

async fn send(cfg: &Config, store: &postern_store::Store, through_today: bool) -> Result<()> {
    let resolver = postern_net::dns::resolver(&cfg.outbound.nameservers)
        .map_err(anyhow::Error::msg)
        .context("setting up DNS")?;
    let mailauth = postern_delivery::MailAuth::new(
        cfg.mailauth.clone(),
        cfg.data_dir.clone(),
        cfg.hostname.clone(),
        &cfg.outbound.nameservers,
    )
    .map_err(anyhow::Error::msg)
    .context("setting up DKIM signing")?;
    let sign = |raw: &[u8]| mailauth.sign(raw);
    let sender = Sender {
        store,
        resolver: &resolver,
        cfg: &cfg.reports,
        hostname: &cfg.hostname,
        sign: &sign,
        https_retries: false,
    };
    let sent = sender
        .run(postern_delivery::reports::now_secs(), through_today)
        .await?;
    for q in &sent.queued {
        outln!("queued: {q}");
    }
    for s in &sent.skipped {
        outln!("not sent: {s}");
    }
    if sent.queued.is_empty() && sent.skipped.is_empty() {
        outln!("nothing to report");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use postern_store::ReceivedRow;

    fn line(kind: ReportKind, org: &str, source: &str, result: &str, count: i64) -> ReceivedLine {
        ReceivedLine {
            kind,
            org: org.into(),
            domain: "example.org".into(),
            end: 0,
            row: ReceivedRow {
                source: source.into(),
                result: result.into(),
                detail: String::new(),
                count,
            },
        }
    }

    #[test]
    fn failures_come_first_and_counts_add_up_per_source_and_reporter() {
        let s = summarize(
            vec![
                line(ReportKind::Dmarc, "google.com", "192.0.2.1", "pass", 10),
                line(ReportKind::Dmarc, "google.com", "192.0.2.1", "fail", 0),
                line(ReportKind::Dmarc, "Outlook", "198.51.100.9", "fail", 3),
                line(ReportKind::Dmarc, "google.com", "192.0.2.1", "pass", 2),
                line(
                    ReportKind::Tls,
                    "Google Inc.",
                    "mx.example.org",
                    "success",
                    5,
                ),
                line(
                    ReportKind::Tls,
                    "Microsoft",
                    "mx.example.org",
                    "certificate-expired",
                    1,
                ),
            ],
            7,
        );
        assert_eq!(s.dmarc[0].source_ip, "198.51.100.9");
        assert_eq!((s.dmarc[0].messages, s.dmarc[0].passed), (3, 0));
        assert_eq!((s.dmarc[1].messages, s.dmarc[1].passed), (12, 12));
        assert_eq!(s.tls[0].result, "certificate-expired");
        assert_eq!(s.tls[1].sessions, 5);
    }
}
