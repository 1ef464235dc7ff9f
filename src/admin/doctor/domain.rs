//! The doctor's checks of one mail domain's records: MX points here, SPF
//! passes for the outbound addresses (mail-auth evaluates it, with the
//! void-lookup limit), the DKIM keys in use are the ones published, DMARC
//! is there and sane, MTA-STS and TLS-RPT are announced, and the
//! autoconfig names resolve.

use mail_auth::{MessageAuthenticator, SpfResult};
use postern_delivery::mailauth::{keys, spf};

use super::lookup::{Answer, plain};
use super::{Check, Ctx};

pub async fn checks(ctx: &Ctx<'_>, domain: &str) -> Vec<Check> {
    let mut out = vec![mx(ctx, domain).await, spf_check(ctx, domain).await];
    out.extend(dkim(ctx, domain).await);
    out.push(dmarc(ctx, domain).await);
    out.push(mta_sts(ctx, domain).await);
    out.push(
        announced(
            ctx,
            domain,
            "tls-rpt",
            &format!("_smtp._tls.{domain}"),
            "v=TLSRPTv1",
        )
        .await,
    );
    for name in ["autoconfig", "autodiscover"] {
        let n = format!("{name}.{domain}");
        out.push(match ctx.dns.ips(&n).await {
            Answer::Found(_) => Check::ok("autoconfig", format!("{n} resolves")),
            _ => Check::warn(
                "autoconfig",
                format!("{n} does not resolve, so mail clients cannot find their settings"),
                format!(
                    "publish {n}. IN CNAME {}. (see postern domain dns {domain})",
                    ctx.cfg.hostname
                ),
            ),
        });
    }
    out
}

async fn mx(ctx: &Ctx<'_>, domain: &str) -> Check {
    let host = plain(&ctx.cfg.hostname);
    let fix = format!("publish {domain}. IN MX 10 {host}.");
    match ctx.dns.mx(domain).await {
        Answer::Found(list) if list.iter().any(|(_, n)| *n == host) => {
            Check::ok("mx", format!("{domain} takes mail at {host}"))
        }
        Answer::Found(list) => Check::fail(
            "mx",
            format!(
                "the MX of {domain} is {}, not this server ({host})",
                list.iter()
                    .map(|(p, n)| format!("{p} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            fix,
        ),
        Answer::Nothing => Check::fail("mx", format!("{domain} has no MX record"), fix),
        Answer::Failed(e) => Check::warn("mx", format!("could not look up: {e}"), "check [dns]"),
    }
}

async fn spf_check(ctx: &Ctx<'_>, domain: &str) -> Check {
    let fix =
        format!("publish {domain}. IN TXT \"v=spf1 mx -all\" (or name the outbound addresses)");
    match ctx.dns.txt_starting(domain, "v=spf1").await {
        Answer::Found(_) => {}
        Answer::Nothing => {
            return Check::fail("spf", format!("{domain} publishes no SPF record"), fix);
        }
        Answer::Failed(e) => {
            return Check::warn("spf", format!("could not look up: {e}"), "check [dns]");
        }
    }
    if ctx.ips.is_empty() {
        return Check::warn(
            "spf",
            "published, but no outbound address is known to test it with",
            "give --ip ADDRESS",
        );
    }
    let auth = MessageAuthenticator(ctx.dns.resolver.clone());
    let host = &ctx.cfg.hostname;
    let sender = format!("postmaster@{domain}");
    let mut bad = Vec::new();
    for &ip in &ctx.ips {
        let run = spf::verify(&auth, ip, host, host, &sender);
        let result = match tokio::time::timeout(ctx.timeout, run).await {
            Ok(out) => out.result(),
            Err(_) => SpfResult::TempError,
        };
        if result != SpfResult::Pass {
            bad.push(format!("{ip}: {result}"));
        }
    }
    if bad.is_empty() {
        Check::ok("spf", format!("passes for {}", list(&ctx.ips)))
    } else {
        Check::fail("spf", format!("does not pass for {}", bad.join(", ")), fix)
    }
}

fn list(ips: &[std::net::IpAddr]) -> String {
    ips.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `p=` value of a DKIM record or key text.
fn public_key(record: &str) -> Option<String> {
    record.split(';').find_map(|t| {
        let (k, v) = t.split_once('=')?;
        (k.trim() == "p").then(|| v.split_whitespace().collect::<String>())
    })
}

async fn dkim(ctx: &Ctx<'_>, domain: &str) -> Vec<Check> {
    let active = keys::active(&ctx.cfg.data_dir, domain);
    if active.is_empty() {
        return vec![Check::fail(
            "dkim",
            format!("no DKIM keys for {domain}, so its mail is not signed"),
            format!("postern dkim rotate {domain}, then publish what it prints"),
        )];
    }
    let mut out = Vec::new();
    for k in &active {
        let owner = format!("{}._domainkey.{domain}", k.selector);
        let fix = format!("publish the {owner} record `postern domain dns {domain}` prints");
        let want = k.txt().ok().and_then(|t| public_key(&t));
        out.push(match ctx.dns.txt_starting(&owner, "v=DKIM1").await {
            Answer::Found(r) if public_key(&r) == want => Check::ok(
                "dkim",
                format!("{owner} matches the key in use ({})", k.algo.k()),
            ),
            Answer::Found(_) => Check::fail(
                "dkim",
                format!("{owner} publishes another key than the one signing"),
                fix,
            ),
            Answer::Nothing => Check::fail("dkim", format!("{owner} is not published"), fix),
            Answer::Failed(e) => {
                Check::warn("dkim", format!("could not look up: {e}"), "check [dns]")
            }
        });
    }
    let retired = keys::all(&ctx.cfg.data_dir, domain)
        .len()
        .saturating_sub(active.len());
    if retired > 0 {
        out.push(Check::ok(
            "dkim",
            format!("{retired} retired keys; keep their records a few days after a rotation"),
        ));
    }
    out
}

async fn dmarc(ctx: &Ctx<'_>, domain: &str) -> Check {
    let owner = format!("_dmarc.{domain}");
    let fix = format!(
        "publish {owner}. IN TXT \"v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}\""
    );
    match ctx.dns.txt_starting(&owner, "v=DMARC1").await {
        Answer::Found(r) => {
            let policy = r.split(';').find_map(|t| {
                let (k, v) = t.split_once('=')?;
                (k.trim() == "p").then(|| v.trim().to_ascii_lowercase())
            });
            match policy.as_deref() {
                Some("reject" | "quarantine") => {
                    Check::ok("dmarc", format!("{owner}: {}", r.trim()))
                }
                Some("none") => Check::warn(
                    "dmarc",
                    format!("{owner} has p=none: forgeries of {domain} are not refused"),
                    "once SPF and DKIM pass, raise it to p=quarantine",
                ),
                _ => Check::fail(
                    "dmarc",
                    format!("{owner} has no valid p= ({})", r.trim()),
                    fix,
                ),
            }
        }
        Answer::Nothing => Check::fail("dmarc", format!("{domain} publishes no DMARC record"), fix),
        Answer::Failed(e) => Check::warn("dmarc", format!("could not look up: {e}"), "check [dns]"),
    }
}

/// MTA-STS (RFC 8461): when the TXT record announces a policy, the policy
/// served at mta-sts.DOMAIN must be fetchable over verified HTTPS and list
/// this server, or senders that enforce it stop delivering.
async fn mta_sts(ctx: &Ctx<'_>, domain: &str) -> Check {
    let owner = format!("_mta-sts.{domain}");
    let announced = announced(ctx, domain, "mta-sts", &owner, "v=STSv1").await;
    if announced.status != super::Status::Ok {
        return announced;
    }
    let out = &ctx.cfg.outbound;
    let ca = out
        .ca_file
        .clone()
        .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into());
    let connector = match postern_smtp::outbound::client::verified_tls(&ca) {
        Ok(c) => c,
        Err(e) => {
            return Check::warn(
                "mta-sts",
                format!("no CA roots to check the policy: {e}"),
                "set [outbound] ca_file",
            );
        }
    };
    let sts = postern_smtp::outbound::mta_sts::MtaSts::new(
        ctx.dns.resolver.clone(),
        connector,
        out.mta_sts_port,
        ctx.timeout,
        1,
    );
    let url = format!("https://mta-sts.{domain}/.well-known/mta-sts.txt");
    let host = plain(&ctx.cfg.hostname);
    match tokio::time::timeout(ctx.timeout * 2, sts.policy(domain)).await {
        Ok(Some(p)) if p.allows(&host) => Check::ok(
            "mta-sts",
            format!("{owner} and {url} agree: mode {:?}, {host} listed", p.mode),
        ),
        Ok(Some(_)) => Check::fail(
            "mta-sts",
            format!("the policy at {url} does not list {host}"),
            format!("add \"mx: {host}\" to the policy (senders enforcing it will not deliver)"),
        ),
        _ => Check::fail(
            "mta-sts",
            format!("{owner} announces a policy, but none could be fetched from {url}"),
            format!("serve the policy at {url} with a valid certificate, or remove {owner}"),
        ),
    }
}

/// A TXT record that announces a policy (MTA-STS, TLS-RPT): WARN when absent.
async fn announced(
    ctx: &Ctx<'_>,
    domain: &str,
    check: &'static str,
    owner: &str,
    prefix: &str,
) -> Check {
    match ctx.dns.txt_starting(owner, prefix).await {
        Answer::Found(r) => Check::ok(check, format!("{owner}: {}", r.trim())),
        Answer::Nothing => Check::warn(
            check,
            format!("{owner} is not published"),
            format!("optional, but senders use it: see postern domain dns {domain}"),
        ),
        Answer::Failed(e) => Check::warn(check, format!("could not look up: {e}"), "check [dns]"),
    }
}
