//! DKIM keys and DNS records: `postern dkim rotate|list DOMAIN`, the keys
//! `postern domain add` makes, and `postern domain dns DOMAIN`, which prints
//! every record the domain needs, ready to paste into a zone file.

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use postern_delivery::mailauth::keys;
use postern_store::Store;

use crate::config::Config;
use crate::out::outln;

#[derive(Subcommand)]
pub enum DkimCmd {
    /// Make a new Ed25519 and RSA-2048 key pair for DOMAIN and sign with it
    /// from now on (publish its records first: see `postern domain dns`)
    Rotate { domain: String },
    /// List DOMAIN's keys, active ones marked
    List { domain: String },
}

/// Makes the first keys of a new domain (called by `domain add`).
pub fn first_keys(cfg: &Config, domain: &str) -> Result<()> {
    if keys::active(&cfg.data_dir, domain).is_empty() {
        keys::rotate(&cfg.data_dir, domain, &keys::today())
            .map_err(|e| anyhow!("making DKIM keys for {domain}: {e}"))?;
    }
    Ok(())
}

pub async fn dkim(cfg: &Config, cmd: DkimCmd) -> Result<()> {
    let store = super::open(cfg).await?;
    dkim_on(cfg, &store, cmd).await
}

/// `dkim` on an open store (the web console runs it on the server's).
pub async fn dkim_on(cfg: &Config, store: &Store, cmd: DkimCmd) -> Result<()> {
    match cmd {
        DkimCmd::Rotate { domain } => {
            let d = super::domain_name(&domain)?;
            if !store.domain_list().await?.iter().any(|r| r.name == d) {
                bail!("no domain {d}");
            }
            let new = keys::rotate(&cfg.data_dir, &d, &keys::today())
                .map_err(|e| anyhow!("making DKIM keys for {d}: {e}"))?;
            outln!("new DKIM keys for {d}; publish these records:");
            for k in &new {
                outln!(
                    "{}",
                    txt_line(
                        &format!("{}._domainkey.{d}.", k.selector),
                        &k.txt().map_err(anyhow::Error::msg)?
                    )
                );
            }
            outln!(
                "Mail is signed with them from now on (a running server picks them up within a minute)."
            );
        }
        DkimCmd::List { domain } => {
            let d = super::domain_name(&domain)?;
            let active: Vec<String> = keys::active(&cfg.data_dir, &d)
                .into_iter()
                .map(|k| k.selector)
                .collect();
            for k in keys::all(&cfg.data_dir, &d) {
                let mark = if active.contains(&k.selector) {
                    "active"
                } else {
                    "retired"
                };
                outln!("{:<24} {:<8} {mark}", k.selector, k.algo.k());
            }
        }
    }
    Ok(())
}

/// A TXT record line; long values split into 255-octet strings (RFC 1035 §3.3.14).
fn txt_line(owner: &str, value: &str) -> String {
    let parts: Vec<String> = value
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    format!("{owner:<40} IN TXT   {}", parts.join(" "))
}

/// `postern domain dns DOMAIN` on an open store (the web console shows
/// the same lines).
pub async fn dns_on(cfg: &Config, store: &Store, domain: &str) -> Result<()> {
    let d = super::domain_name(domain)?;
    if !store.domain_list().await?.iter().any(|r| r.name == d) {
        bail!("no domain {d}");
    }
    let host = format!("{}.", cfg.hostname);
    let apex = format!("{d}.");
    outln!("; DNS records for {d}, served by {}.", cfg.hostname);
    outln!("; Mail routing: {d} receives mail at {}.", cfg.hostname);
    outln!("{apex:<40} IN MX    10 {host}");
    if cfg.hostname.ends_with(&format!(".{d}")) {
        outln!(
            "; {} needs A/AAAA records with this server's public addresses, and a PTR",
            cfg.hostname
        );
        outln!(
            "; (reverse DNS) back to {} from your hosting provider.",
            cfg.hostname
        );
    }
    outln!("; SPF (RFC 7208): only the MX hosts send for {d}.");
    outln!("{}", txt_line(&apex, "v=spf1 mx -all"));
    outln!("; DKIM (RFC 6376, RFC 8463): mail from {d} is signed with these keys.");
    let all = keys::all(&cfg.data_dir, &d);
    if all.is_empty() {
        outln!("; (no keys yet: run `postern dkim rotate {d}`)");
    }
    for k in all {
        let txt = k.txt().map_err(anyhow::Error::msg)?;
        outln!(
            "{}",
            txt_line(&format!("{}._domainkey.{d}.", k.selector), &txt)
        );
    }
    outln!(
        "; DMARC (RFC 7489): start with p=none, move to quarantine/reject once reports look right."
    );
    // Reports to this address are read by the server (`postern reports`)
    // and kept in its mailbox.
    let rua = format!("{}@{d}", cfg.reports.address);
    outln!(
        "{}",
        txt_line(
            &format!("_dmarc.{d}."),
            &format!("v=DMARC1; p=none; rua=mailto:{rua}")
        )
    );
    outln!("; TLS-RPT (RFC 8460): senders report failed TLS to {d}'s MX to the same address.");
    outln!(
        "{}",
        txt_line(
            &format!("_smtp._tls.{d}."),
            &format!("v=TLSRPTv1; rua=mailto:{rua}")
        )
    );
    outln!(
        "; {rua} must be a user or an alias (`postern alias add {rua} you@{d}`); `postern reports` shows what arrives."
    );
    outln!("; Client setup (RFC 6186 SRV records; the ports are [web]'s advertised ones).");
    let p = &cfg.web.ports;
    for (svc, port) in [
        ("_submissions._tcp", p.submissions),
        ("_submission._tcp", p.submission),
        ("_imaps._tcp", p.imaps),
        ("_imap._tcp", p.imap),
        ("_pop3s._tcp", p.pop3s),
        ("_pop3._tcp", p.pop3),
        // RFC 5804 §1.8: ManageSieve's own service name.
        ("_sieve._tcp", p.managesieve),
        // Outlook's fallback when autodiscover.<domain> does not answer.
        ("_autodiscover._tcp", 443),
    ] {
        outln!("{:<40} IN SRV   0 1 {port} {host}", format!("{svc}.{d}."));
    }
    outln!(
        "; Names mail clients try for automatic setup (Thunderbird autoconfig, Outlook autodiscover),"
    );
    outln!("; answered by the http/https listeners (ports 80 and 443 in production).");
    outln!("{:<40} IN CNAME {host}", format!("autoconfig.{d}."));
    outln!("{:<40} IN CNAME {host}", format!("autodiscover.{d}."));
    match &cfg.web.mta_sts {
        Some(policy) => {
            // RFC 8461 §3.1: the id changes whenever the policy does.
            let mut h = std::hash::DefaultHasher::new();
            std::hash::Hash::hash(policy, &mut h);
            let id = format!("{:016x}", std::hash::Hasher::finish(&h));
            outln!(
                "; MTA-STS (RFC 8461): the policy is served at https://mta-sts.{d}/.well-known/mta-sts.txt."
            );
            outln!("{:<40} IN CNAME {host}", format!("mta-sts.{d}."));
            outln!(
                "{}",
                txt_line(&format!("_mta-sts.{d}."), &format!("v=STSv1; id={id}"))
            );
        }
        None => outln!("; MTA-STS: off ([web] mta_sts = false), so no records for it."),
    }
    tlsa_record(cfg)?;
    certificate_names(cfg, &d)
}

/// DANE (RFC 7672): the `3 1 1` TLSA record of the served key, and what
/// changes it.
fn tlsa_record(cfg: &Config) -> Result<()> {
    let owner = format!("_25._tcp.{}.", cfg.hostname);
    outln!(
        "; DANE (RFC 7672): in a DNSSEC-signed zone, senders that check DANE then require TLS with this key."
    );
    let (path, chain) = super::doctor::server::served_chain(cfg);
    let hex = chain
        .first()
        .and_then(|c| postern_smtp::outbound::dane::sha256_spki_hex(c.as_ref()));
    let Some(hex) = hex else {
        outln!(
            "; (no certificate at {} yet: start the server once, then run this again)",
            path.display()
        );
        return Ok(());
    };
    outln!("{owner:<40} IN TLSA  3 1 1 {hex}");
    if cfg.acme.is_some() {
        outln!(
            "; ACME here makes a new key at each renewal, which changes this record: publish the new one"
        );
        outln!(
            "; right after each renewal (DANE senders defer mail until it matches; `postern doctor` checks),"
        );
        outln!("; or publish 2 1 1 records of the CA's intermediates instead.");
    } else {
        outln!(
            "; A certificate with a new key changes it: publish the new key's record next to this one first."
        );
    }
    Ok(())
}

/// Which of the domain's HTTPS names the certificate will not cover: the
/// clients fetching them would refuse the connection.
fn certificate_names(cfg: &Config, d: &str) -> Result<()> {
    let mut wanted = vec![format!("autoconfig.{d}"), format!("autodiscover.{d}")];
    if cfg.web.mta_sts.is_some() {
        wanted.push(format!("mta-sts.{d}"));
    }
    match &cfg.acme {
        Some(acme) => {
            let missing: Vec<&String> = wanted.iter().filter(|n| !acme.names.contains(n)).collect();
            if missing.is_empty() {
                outln!(
                    "; TLS: the ACME certificate covers these names; each must resolve to this server."
                );
            } else {
                let list: Vec<String> = missing.iter().map(|n| format!("\"{n}\"")).collect();
                outln!(
                    "; TLS: add {} to [acme] names, or clients will not trust HTTPS on them.",
                    list.join(", ")
                );
            }
        }
        None if cfg.tls_files.is_some() => {
            outln!(
                "; TLS: the certificate in [tls] cert must cover {}.",
                wanted.join(", ")
            );
        }
        None => outln!(
            "; TLS: self-signed; turn on [acme] with names {} for clients to trust it.",
            wanted.join(", ")
        ),
    }
    Ok(())
}
