//! The doctor's checks of the server itself: the hostname's addresses,
//! reverse DNS (FCrDNS: the PTR name must resolve back to the address and
//! be the EHLO name), the configured DNS blocklists, outbound port 25, the
//! certificate, and CAA when ACME issues it.

use std::net::IpAddr;
use std::time::SystemTime;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use postern_net::dns::hickory_resolver::proto::rr::RecordType;
use postern_net::dns_secure::SecureResolver;

use super::lookup::{Answer, plain};
use super::{Check, Ctx};

/// The hostname's addresses; they are the outbound ones unless `--ip`
/// named others.
pub async fn host(ctx: &mut Ctx<'_>) -> Vec<Check> {
    let host = ctx.cfg.hostname.clone();
    let fix = format!("publish an A (and AAAA) record for {host} with this server's address");
    let check = match ctx.dns.ips(&host).await {
        Answer::Found(ips) => {
            if ctx.ips.is_empty() {
                ctx.ips = ips.clone();
            }
            let list: Vec<String> = ips.iter().map(|i| i.to_string()).collect();
            Check::ok("host", format!("{host} has {}", list.join(", ")))
        }
        Answer::Nothing => Check::fail("host", format!("{host} has no address"), fix),
        Answer::Failed(e) => Check::warn("host", format!("could not look up {host}: {e}"), fix),
    };
    vec![check]
}

/// PTR of each outbound address, resolving back, naming the EHLO name.
pub async fn reverse_dns(ctx: &Ctx<'_>) -> Vec<Check> {
    let host = plain(&ctx.cfg.hostname);
    let fix =
        format!("ask whoever owns the address (the hosting provider) to set its PTR to {host}");
    let mut out = Vec::new();
    for &ip in &ctx.ips {
        let names = match ctx.dns.ptr(ip).await {
            Answer::Found(n) => n,
            Answer::Nothing => {
                out.push(Check::fail(
                    "ptr",
                    format!("{ip} has no PTR record"),
                    fix.clone(),
                ));
                continue;
            }
            Answer::Failed(e) => {
                out.push(Check::warn(
                    "ptr",
                    format!("could not look up: {e}"),
                    fix.clone(),
                ));
                continue;
            }
        };
        let mut confirmed = Vec::new();
        for n in &names {
            if let Answer::Found(back) = ctx.dns.ips(n).await
                && back.contains(&ip)
            {
                confirmed.push(n.clone());
            }
        }
        out.push(if confirmed.contains(&host) {
            Check::ok(
                "ptr",
                format!("{ip} is {host}, and {host} is {ip} (FCrDNS)"),
            )
        } else if let Some(n) = confirmed.first() {
            Check::warn(
                "ptr",
                format!("{ip} is {n}, which resolves back, but the EHLO name is {host}"),
                format!("set the PTR to {host}, or make [server] hostname {n}"),
            )
        } else {
            Check::fail(
                "ptr",
                format!(
                    "{ip} is {} but that name does not resolve to {ip}",
                    names.join(", ")
                ),
                fix.clone(),
            )
        });
    }
    out
}

/// The outbound addresses in `[spam] dnsbl`'s zones (RFC 5782).
pub async fn blocklists(ctx: &Ctx<'_>) -> Vec<Check> {
    let zones = &ctx.cfg.spam.config.dnsbl;
    if zones.is_empty() {
        return vec![Check::warn(
            "dnsbl",
            "no blocklist zones configured, so none was asked",
            "name the zones to check in [spam] dnsbl (e.g. zen.spamhaus.org)",
        )];
    }
    let mut out = Vec::new();
    for &ip in &ctx.ips {
        for z in zones {
            let Ok(query) = postern_spam::dnsbl_query(ip, &z.zone) else {
                continue;
            };
            out.push(match ctx.dns.ips(&query).await {
                Answer::Nothing => Check::ok("dnsbl", format!("{ip} is not on {}", z.zone)),
                // RFC 5782 §2.1: 127.0.0.0/8 answers list; 127.255.255.x is
                // how Spamhaus refuses queries from public resolvers.
                Answer::Found(a)
                    if a.iter().all(
                        |x| matches!(x, IpAddr::V4(v) if v.octets()[..3] == [127, 255, 255]),
                    ) =>
                {
                    Check::warn(
                        "dnsbl",
                        format!("{} refused the query for {ip}", z.zone),
                        "ask through your own resolver, not a public one ([dns] nameservers)",
                    )
                }
                Answer::Found(a) => Check::fail(
                    "dnsbl",
                    format!(
                        "{ip} is listed on {} ({})",
                        z.zone,
                        a.iter()
                            .map(|x| x.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    format!(
                        "find why on the list's site and ask {} for delisting",
                        z.zone
                    ),
                ),
                Answer::Failed(e) => Check::warn(
                    "dnsbl",
                    format!("could not ask {}: {e}", z.zone),
                    "check [dns] nameservers",
                ),
            });
        }
    }
    out
}

/// Outbound port 25: connect to `probe`, read the greeting, EHLO, QUIT.
pub async fn port25(ctx: &Ctx<'_>, probe: &str) -> Check {
    if let Some(r) = &ctx.cfg.outbound.relay {
        return Check::ok(
            "port25",
            format!("mail leaves through the smarthost {}:{}", r.host, r.port),
        );
    }
    let fix = "outbound port 25 looks blocked (common on home and cloud connections): \
               ask the provider to open it, or send through a smarthost ([outbound] relay_host)";
    let Some((host, port)) = probe
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
    else {
        return Check::warn(
            "port25",
            format!("{probe:?} is not HOST:PORT"),
            "give --probe HOST:PORT",
        );
    };
    let ip = match host.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => match ctx.dns.ips(host).await {
            Answer::Found(ips) => ips[0],
            _ => return Check::warn("port25", format!("could not resolve {host}"), fix),
        },
    };
    match tokio::time::timeout(ctx.timeout, talk(ip, port, &ctx.cfg.hostname)).await {
        Ok(Ok(greeting)) => Check::ok(
            "port25",
            format!(
                "{host}:{port} answered: {}",
                greeting.chars().take(60).collect::<String>()
            ),
        ),
        Ok(Err(e)) => Check::fail("port25", format!("{host}:{port}: {e}"), fix),
        Err(_) => Check::fail(
            "port25",
            format!("{host}:{port} did not answer within {:?}", ctx.timeout),
            fix,
        ),
    }
}

/// Greeting, EHLO and QUIT; the greeting's first line.
async fn talk(ip: IpAddr, port: u16, ehlo: &str) -> std::io::Result<String> {
    let tcp = tokio::net::TcpStream::connect((ip, port)).await?;
    let mut r = BufReader::new(tcp);
    let greeting = reply(&mut r).await?;
    if !greeting.starts_with("220") {
        return Err(std::io::Error::other(format!("greeted with {greeting}")));
    }
    r.get_mut()
        .write_all(format!("EHLO {ehlo}\r\n").as_bytes())
        .await?;
    let ehlo_reply = reply(&mut r).await?;
    if !ehlo_reply.starts_with("250") {
        return Err(std::io::Error::other(format!("EHLO answered {ehlo_reply}")));
    }
    r.get_mut().write_all(b"QUIT\r\n").await?;
    Ok(greeting)
}

/// One SMTP reply (its last line), bounded.
async fn reply<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> std::io::Result<String> {
    for _ in 0..100 {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::other("the connection closed"));
        }
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            return Ok(line.trim_end().to_string());
        }
    }
    Err(std::io::Error::other("a reply of more than 100 lines"))
}

/// Where the served certificate is, and its chain (leaf first; empty
/// when there is none yet: a self-signed one is made at the first start).
pub(crate) fn served_chain(
    cfg: &crate::config::Config,
) -> (std::path::PathBuf, Vec<CertificateDer<'static>>) {
    let path = match (&cfg.tls_files, &cfg.acme) {
        (Some((cert, _)), _) => cert.clone(),
        (None, Some(a)) => a.dir.join("cert.pem"),
        (None, None) => cfg.data_dir.join("tls").join("selfsigned-cert.pem"),
    };
    let chain = std::fs::read(&path)
        .map(|pem| {
            CertificateDer::pem_slice_iter(&pem)
                .map_while(Result::ok)
                .collect()
        })
        .unwrap_or_default();
    (path, chain)
}

/// The TLSA records of `_25._tcp.<hostname>`, when published, must match
/// the served certificate, or DANE senders (RFC 7672) defer all mail:
/// DANE-EE records the leaf, DANE-TA records a CA certificate of the chain.
pub async fn tlsa(ctx: &Ctx<'_>) -> Check {
    let host = plain(&ctx.cfg.hostname);
    let owner = format!("_25._tcp.{host}");
    let (_, chain) = served_chain(ctx.cfg);
    let Some(leaf) = chain.first() else {
        return Check::warn(
            "tlsa",
            "no certificate to compare (yet)",
            "start the server once",
        );
    };
    let want = postern_smtp::outbound::dane::sha256_spki_hex(leaf.as_ref()).unwrap_or_default();
    let fix = format!("publish {owner}. IN TLSA 3 1 1 {want} (postern domain dns shows it)");
    let records = match ctx.dns.tlsa(&owner).await {
        Answer::Nothing => {
            return Check::ok(
                "tlsa",
                format!("no TLSA at {owner}: DANE senders use opportunistic TLS"),
            );
        }
        Answer::Failed(e) => {
            return Check::warn("tlsa", format!("could not look up: {e}"), "check [dns]");
        }
        Answer::Found(r) => r,
    };
    let matched = records
        .iter()
        .filter(|r| r.usable())
        .any(|r| match r.usage {
            3 => r.matches(leaf.as_ref()),
            _ => chain[1..].iter().any(|c| r.matches(c.as_ref())),
        });
    if !matched {
        return Check::fail(
            "tlsa",
            format!(
                "no TLSA record of {owner} matches the served certificate: DANE senders will defer mail"
            ),
            fix,
        );
    }
    // DANE senders believe TLSA records only from a signed zone (RFC 7672
    // §2.2); ask the way the queue runner does, when a trusted validating
    // resolver is configured.
    let out = &ctx.cfg.outbound;
    let secure = match SecureResolver::configured(
        &out.nameservers,
        out.trust_ad,
        out.dnssec_anchors.as_ref(),
        ctx.timeout,
    )
    .ok()
    .flatten()
    {
        Some(r) => r
            .lookup(&owner, RecordType::TLSA)
            .await
            .ok()
            .map(|a| a.secure),
        None => None,
    };
    match secure {
        Some(false) => Check::warn(
            "tlsa",
            format!(
                "{owner} matches the served certificate, but the answer is not DNSSEC-validated: DANE senders ignore it"
            ),
            format!("sign the zone of {host} with DNSSEC and publish its DS record at the parent"),
        ),
        _ => Check::ok(
            "tlsa",
            format!("a TLSA record of {owner} matches the served certificate"),
        ),
    }
}

/// The certificate served: its names and how long it has left; CAA for
/// the ACME CA.
pub async fn certificate(ctx: &Ctx<'_>, domains: &[String]) -> Vec<Check> {
    let cfg = ctx.cfg;
    let mut out = Vec::new();
    let (path, chain) = served_chain(cfg);
    let Some(der) = chain.into_iter().next() else {
        out.push(Check::warn(
            "certificate",
            format!("no certificate at {} (yet)", path.display()),
            "start the server once (postern serve), or set [tls] files",
        ));
        return out;
    };
    let self_signed = cfg.tls_files.is_none() && cfg.acme.is_none();
    let host = plain(&cfg.hostname);
    let names = postern_net::dns_names(&der).unwrap_or_default();
    let covers = |n: &str| {
        names.iter().any(|c| {
            let c = plain(c);
            c == n
                || c.strip_prefix("*.")
                    .is_some_and(|w| n.split_once('.').is_some_and(|(_, r)| r == w))
        })
    };
    if let Some(v) = postern_net::validity(&der) {
        let left = v
            .not_after
            .duration_since(SystemTime::now())
            .map(|d| d.as_secs() / 86400);
        out.push(match left {
            Err(_) => Check::fail("certificate", "expired", "renew it (or turn on [acme])"),
            Ok(days) if days < 14 => Check::warn(
                "certificate",
                format!("expires in {days} days"),
                "renew it soon (or turn on [acme])",
            ),
            Ok(days) => Check::ok("certificate", format!("valid for {days} more days")),
        });
    }
    if self_signed {
        out.push(Check::warn(
            "certificate",
            "self-signed: mail clients warn and MTA-STS senders will not deliver",
            "turn on [acme], or set [tls] files from a CA",
        ));
    }
    if !covers(&host) {
        out.push(Check::fail(
            "certificate",
            format!("does not cover {host} (it names {})", names.join(", ")),
            format!("get a certificate for {host}"),
        ));
    }
    for d in domains {
        for n in [format!("autoconfig.{d}"), format!("autodiscover.{d}")] {
            if matches!(ctx.dns.ips(&n).await, Answer::Found(_)) && !covers(&n) {
                out.push(Check::warn(
                    "certificate",
                    format!("does not cover {n}, which resolves"),
                    format!("add {n} to the certificate's names"),
                ));
            }
        }
    }
    if let Some(acme) = &cfg.acme {
        out.push(caa(ctx, &host, &acme.directory).await);
    }
    out
}

/// RFC 8659: CAA records on the hostname (or the closest parent that has
/// some) must let the ACME CA issue.
async fn caa(ctx: &Ctx<'_>, host: &str, directory: &str) -> Check {
    // The CA's domain: the directory URL's host without its first labels
    // (acme-v02.api.letsencrypt.org → letsencrypt.org).
    let ca_host = directory
        .split("://")
        .nth(1)
        .and_then(|r| r.split(['/', ':']).next())
        .unwrap_or("");
    let labels: Vec<&str> = ca_host.split('.').collect();
    let ca = labels[labels.len().saturating_sub(2)..].join(".");
    let mut name = host.to_string();
    loop {
        match ctx.dns.caa(&name).await {
            Answer::Found(records) => {
                let issue: Vec<&String> = records.iter().filter(|r| r.contains("issue")).collect();
                return if issue.is_empty() || issue.iter().any(|r| r.contains(&ca)) {
                    Check::ok("caa", format!("CAA of {name} lets {ca} issue"))
                } else {
                    Check::fail(
                        "caa",
                        format!("CAA of {name} does not name {ca}"),
                        format!("add a CAA record: {name}. IN CAA 0 issue \"{ca}\""),
                    )
                };
            }
            Answer::Failed(e) => {
                return Check::warn("caa", format!("could not look up: {e}"), "check [dns]");
            }
            Answer::Nothing => match name.split_once('.') {
                Some((_, parent)) if parent.contains('.') => name = parent.to_string(),
                _ => return Check::ok("caa", "no CAA records: any CA may issue"),
            },
        }
    }
}
