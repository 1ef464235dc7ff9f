//! `postern doctor [DOMAIN]`: checks the live setup the way the rest of
//! the internet sees it, and says per check OK, WARN or FAIL with the fix
//! in one line (`--json` for scripts). The exit status is non-zero when a
//! check failed.
//!
//! - `domain.rs`: per domain: MX, SPF (evaluated with mail-auth for the
//!   outbound addresses), DKIM (published keys against the active ones),
//!   DMARC, MTA-STS and TLS-RPT records, autoconfig names.
//! - `server.rs`: per server: the hostname's addresses, reverse DNS and
//!   FCrDNS of the outbound addresses, the configured DNS blocklists,
//!   outbound port 25, the certificate and CAA for ACME, and the TLSA
//!   record (DANE) against the served key.
//! - `lookup.rs`: every question through `[dns]`, each with a timeout.

mod domain;
mod lookup;
pub(super) mod server;

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use serde::Serialize;

use crate::config::Config;
use crate::out::outln;

/// The default target of the port-25 check: a big provider's MX, which
/// always answers (Postfix's and Mail-in-a-Box's checks use the same).
pub const DEFAULT_PROBE: &str = "gmail-smtp-in.l.google.com:25";

#[derive(Args)]
pub struct DoctorArgs {
    /// The domain to check (default: every domain of this server)
    pub domain: Option<String>,
    /// Print the results as JSON
    #[arg(long)]
    pub json: bool,
    /// This server's outbound address (repeat for several; default: the
    /// addresses the hostname resolves to)
    #[arg(long = "ip")]
    pub ips: Vec<IpAddr>,
    /// The mail server the port-25 check connects to, as HOST:PORT
    #[arg(long, default_value = DEFAULT_PROBE)]
    pub probe: String,
    /// Seconds each lookup or connection may take
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One check's result.
#[derive(Debug, Serialize)]
pub struct Check {
    pub check: &'static str,
    /// The domain it is about (none for the server's own checks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    pub status: Status,
    pub detail: String,
    /// What to do, in one line (none when OK).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(check: &'static str, detail: impl Into<String>) -> Check {
        Check {
            check,
            domain: None,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn warn(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: Status::Warn,
            fix: Some(fix.into()),
            ..Check::ok(check, detail)
        }
    }

    pub fn fail(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: Status::Fail,
            fix: Some(fix.into()),
            ..Check::ok(check, detail)
        }
    }

    fn about(mut self, domain: &str) -> Check {
        self.domain = Some(domain.to_string());
        self
    }
}

/// What every check may need.
pub struct Ctx<'a> {
    pub cfg: &'a Config,
    pub dns: lookup::Dns,
    /// The outbound addresses (given, or the hostname's).
    pub ips: Vec<IpAddr>,
    pub timeout: Duration,
}

pub async fn doctor(cfg: &Config, args: DoctorArgs) -> Result<()> {
    let timeout = Duration::from_secs(args.timeout.max(1));
    let resolver =
        postern_net::dns::public_resolver(&cfg.outbound.nameservers).map_err(anyhow::Error::msg)?;
    let domains = match &args.domain {
        Some(d) => vec![super::domain_name(d)?],
        None => {
            let store = super::open(cfg).await?;
            store
                .domain_list()
                .await?
                .into_iter()
                .map(|d| d.name)
                .collect()
        }
    };
    let mut ctx = Ctx {
        cfg,
        dns: lookup::Dns { resolver, timeout },
        ips: args.ips.clone(),
        timeout,
    };
    let mut checks = server::host(&mut ctx).await;
    checks.extend(server::reverse_dns(&ctx).await);
    checks.extend(server::blocklists(&ctx).await);
    checks.push(server::port25(&ctx, &args.probe).await);
    checks.extend(server::certificate(&ctx, &domains).await);
    checks.push(server::tlsa(&ctx).await);
    for d in &domains {
        for c in domain::checks(&ctx, d).await {
            checks.push(c.about(d));
        }
    }
    if domains.is_empty() {
        checks.push(Check::warn(
            "domains",
            "this server has no domains",
            "add one: postern domain add example.org",
        ));
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        print(&checks)?;
    }
    if failed > 0 {
        bail!("{failed} of {} checks failed", checks.len());
    }
    Ok(())
}

/// The checks of one domain's published records only (MX, SPF, DKIM,
/// DMARC, MTA-STS, ...): DNS lookups and no port-25 probe, so the web
/// console's domain page can ask for them. Failures are lines, not an
/// error.
pub async fn domain_records(cfg: &Config, domain: &str) -> Result<()> {
    let timeout = Duration::from_secs(5);
    let resolver =
        postern_net::dns::public_resolver(&cfg.outbound.nameservers).map_err(anyhow::Error::msg)?;
    let d = super::domain_name(domain)?;
    let mut ctx = Ctx {
        cfg,
        dns: lookup::Dns { resolver, timeout },
        ips: Vec::new(),
        timeout,
    };
    // SPF is judged against the hostname's addresses.
    let mut checks = server::host(&mut ctx).await;
    for c in domain::checks(&ctx, &d).await {
        checks.push(c.about(&d));
    }
    print(&checks)
}

fn print(checks: &[Check]) -> Result<()> {
    {
        for c in checks {
            let status = match c.status {
                Status::Ok => "OK",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
            };
            let about = c
                .domain
                .as_deref()
                .map(|d| format!(" {d}"))
                .unwrap_or_default();
            outln!("{status:<4}  {}{about}: {}", c.check, c.detail);
            if let Some(f) = &c.fix {
                outln!("      fix: {f}");
            }
        }
    }
    Ok(())
}
