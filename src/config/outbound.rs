//! The `[dns]`, `[queue]`, `[outbound]` and `[mailauth]` sections: what the
//! file says, and their check into `postern_smtp::outbound::OutboundConfig`
//! and `postern_delivery::mailauth::MailAuthConfig`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use postern_delivery::mailauth::{MailAuthConfig, RejectAction};
use postern_smtp::outbound::{OutboundConfig, ProviderLimits, Relay, TlsPolicy, Warmup};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDns {
    /// DNS servers as "ip:port"; empty: the system's (/etc/resolv.conf).
    pub nameservers: Vec<String>,
    /// Answers each resolver keeps in memory.
    pub cache_size: u64,
    /// How DANE knows an answer is DNSSEC-signed: "validate" (ourselves,
    /// from `trust_anchor`), "trust_ad" (a validating resolver's AD bit,
    /// as `trust_ad` says) or "off".
    pub dnssec: String,
    /// DNSKEY records (zone-file syntax) to validate from; empty: the
    /// IANA root KSKs.
    pub trust_anchor: String,
    /// Whose AD bit (DNSSEC validated) DANE believes: "loopback", "always", "off".
    pub trust_ad: String,
    /// One DNSSEC-aware lookup (DANE's MX, address and TLSA), at most.
    pub dnssec_timeout_secs: u64,
}

impl Default for RawDns {
    fn default() -> Self {
        Self {
            nameservers: Vec::new(),
            cache_size: postern_net::dns::DEFAULT_CACHE_SIZE,
            dnssec: "trust_ad".into(),
            trust_anchor: String::new(),
            trust_ad: "loopback".into(),
            dnssec_timeout_secs: 5,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawQueue {
    pub first_retry_secs: u64,
    pub max_retry_secs: u64,
    pub max_age_secs: u64,
    /// 0: no delay warnings.
    pub delay_warning_secs: u64,
    pub scan_interval_secs: u64,
    pub bounce_max_original_bytes: usize,
}

impl Default for RawQueue {
    fn default() -> Self {
        let d = OutboundConfig::default();
        RawQueue {
            first_retry_secs: d.first_retry.as_secs(),
            max_retry_secs: d.max_retry.as_secs(),
            max_age_secs: d.max_age.as_secs(),
            delay_warning_secs: d.delay_warning.map(|d| d.as_secs()).unwrap_or(0),
            scan_interval_secs: d.scan_interval.as_secs(),
            bounce_max_original_bytes: d.bounce_max_original,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawOutbound {
    /// The port of remote mail servers (25).
    pub port: u16,
    /// "opportunistic", "required" or "off".
    pub tls: String,
    pub max_connections: usize,
    pub max_connections_per_domain: usize,
    pub max_messages_per_connection: usize,
    /// Recipients per transaction (more: further transactions).
    pub max_recipients: usize,
    /// MX hosts tried per attempt (Postfix's smtp_mx_address_limit).
    pub max_mx_hosts: usize,
    /// MTA-STS policies kept in memory.
    pub mta_sts_cache_max: usize,
    pub connect_timeout_secs: u64,
    pub command_timeout_secs: u64,
    pub data_timeout_secs: u64,
    /// Smarthost: "" sends directly to each domain's MX.
    pub relay_host: String,
    pub relay_port: u16,
    /// "starttls" (port 587) or "implicit" (port 465).
    pub relay_tls: String,
    pub relay_username: String,
    pub relay_password: String,
    /// PEM roots for the relay's certificate; unset: the system's.
    pub relay_ca_file: Option<PathBuf>,
    /// Honour MTA-STS policies (RFC 8461).
    pub mta_sts: bool,
    /// The HTTPS port MTA-STS policies are fetched from (443).
    pub mta_sts_port: u16,
    /// PEM roots for MTA-STS (policy servers and MX certificates); unset:
    /// the system's.
    pub ca_file: Option<PathBuf>,
    /// A greylisted recipient's next try.
    pub greylist_retry_secs: u64,
    /// How long a provider that answered "too fast" gets nothing.
    pub rate_limit_pause_secs: u64,
    /// The big providers' shared limits; the list replaces the default.
    pub providers: Vec<RawProvider>,
    /// A new IP's first sending day ("2026-12-01"); "" for no warm-up.
    pub warmup_start: String,
    /// How many days the warm-up lasts (rates double each day).
    pub warmup_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    pub name: String,
    pub mx_suffixes: Vec<String>,
    pub max_connections: usize,
    pub messages_per_minute: u32,
}

impl Default for RawOutbound {
    fn default() -> Self {
        let d = OutboundConfig::default();
        RawOutbound {
            port: d.port,
            tls: "opportunistic".into(),
            max_connections: d.max_connections,
            max_connections_per_domain: d.max_per_domain,
            max_messages_per_connection: d.max_messages_per_connection,
            max_recipients: d.max_recipients,
            max_mx_hosts: d.max_mx_hosts,
            mta_sts_cache_max: d.mta_sts_cache_max,
            connect_timeout_secs: d.connect_timeout.as_secs(),
            command_timeout_secs: d.command_timeout.as_secs(),
            data_timeout_secs: d.data_timeout.as_secs(),
            relay_host: String::new(),
            relay_port: 587,
            relay_tls: "starttls".into(),
            relay_username: String::new(),
            relay_password: String::new(),
            relay_ca_file: None,
            mta_sts: d.mta_sts,
            mta_sts_port: d.mta_sts_port,
            ca_file: None,
            greylist_retry_secs: d.greylist_retry.as_secs(),
            rate_limit_pause_secs: d.rate_limit_pause.as_secs(),
            providers: d
                .providers
                .into_iter()
                .map(|p| RawProvider {
                    name: p.name,
                    mx_suffixes: p.mx_suffixes,
                    max_connections: p.max_connections,
                    messages_per_minute: p.messages_per_minute,
                })
                .collect(),
            warmup_start: String::new(),
            warmup_days: 7,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMailAuth {
    /// DKIM-sign submitted mail of domains with keys.
    pub sign: bool,
    /// SPF, DKIM and DMARC checks on port 25.
    pub verify: bool,
    /// A DMARC p=reject failure: "reject", "quarantine" (Junk) or "accept".
    pub dmarc_reject: String,
    /// The longest the inbound checks may take (then: delivered unlabelled).
    pub timeout_secs: u64,
}

impl Default for RawMailAuth {
    fn default() -> Self {
        let d = MailAuthConfig::default();
        RawMailAuth {
            sign: d.sign,
            verify: d.verify,
            dmarc_reject: "reject".into(),
            timeout_secs: d.timeout.as_secs(),
        }
    }
}

/// Checks `[mailauth]`; `Err((key, reason))` when refused.
pub fn check_mailauth(m: &RawMailAuth) -> Result<MailAuthConfig, (String, String)> {
    let dmarc_reject = match m.dmarc_reject.as_str() {
        "reject" => RejectAction::Reject,
        "quarantine" => RejectAction::Quarantine,
        "accept" => RejectAction::Accept,
        other => {
            return Err((
                "mailauth.dmarc_reject".into(),
                format!("{other:?} is not \"reject\", \"quarantine\" or \"accept\""),
            ));
        }
    };
    if m.timeout_secs == 0 {
        return Err((
            "mailauth.timeout_secs".into(),
            "must be greater than 0".into(),
        ));
    }
    Ok(MailAuthConfig {
        sign: m.sign,
        verify: m.verify,
        dmarc_reject,
        timeout: Duration::from_secs(m.timeout_secs),
        // Read from `[spam]` (`RawSpam::check_arc_sealers`).
        arc_trusted_sealers: Vec::new(),
    })
}

/// Checks the three sections; `Err((key, reason))` for the first refusal.
pub fn check(
    dns: &RawDns,
    q: &RawQueue,
    o: &RawOutbound,
    hostname: &str,
    resolve: impl Fn(&std::path::Path) -> PathBuf,
) -> Result<OutboundConfig, (String, String)> {
    let err = |k: &str, r: String| Err((k.to_string(), r));
    let mut nameservers = Vec::new();
    for (i, n) in dns.nameservers.iter().enumerate() {
        let parsed: Option<SocketAddr> = n.parse().ok().or_else(|| {
            n.parse::<std::net::IpAddr>()
                .ok()
                .map(|ip| SocketAddr::new(ip, 53))
        });
        match parsed {
            Some(a) => nameservers.push(a),
            None => {
                return err(
                    &format!("dns.nameservers[{i}]"),
                    format!("{n:?} is not an address such as 9.9.9.9 or 127.0.0.1:5353"),
                );
            }
        }
    }
    let Some(trust_ad) = postern_net::dns_secure::TrustAd::parse(&dns.trust_ad) else {
        return err(
            "dns.trust_ad",
            format!(
                "{:?} is not one of \"loopback\", \"always\", \"off\"",
                dns.trust_ad
            ),
        );
    };
    let (trust_ad, dnssec_anchors) = match dns.dnssec.as_str() {
        "trust_ad" => (trust_ad, None),
        "off" => (postern_net::dns_secure::TrustAd::Off, None),
        "validate" => {
            let path = (!dns.trust_anchor.is_empty())
                .then(|| resolve(std::path::Path::new(&dns.trust_anchor)));
            match postern_net::dns_validate::trust_anchors(path.as_deref()) {
                Ok(a) => (trust_ad, Some(a)),
                Err(e) => return err("dns.trust_anchor", e),
            }
        }
        other => {
            return err(
                "dns.dnssec",
                format!("{other:?} is not one of \"validate\", \"trust_ad\", \"off\""),
            );
        }
    };
    for (key, v) in [
        ("dns.cache_size", dns.cache_size),
        ("dns.dnssec_timeout_secs", dns.dnssec_timeout_secs),
        ("queue.first_retry_secs", q.first_retry_secs),
        ("queue.max_retry_secs", q.max_retry_secs),
        ("queue.max_age_secs", q.max_age_secs),
        ("queue.scan_interval_secs", q.scan_interval_secs),
        ("outbound.port", u64::from(o.port)),
        ("outbound.max_connections", o.max_connections as u64),
        (
            "outbound.max_connections_per_domain",
            o.max_connections_per_domain as u64,
        ),
        (
            "outbound.max_messages_per_connection",
            o.max_messages_per_connection as u64,
        ),
        ("outbound.max_recipients", o.max_recipients as u64),
        ("outbound.max_mx_hosts", o.max_mx_hosts as u64),
        ("outbound.mta_sts_cache_max", o.mta_sts_cache_max as u64),
        ("outbound.connect_timeout_secs", o.connect_timeout_secs),
        ("outbound.command_timeout_secs", o.command_timeout_secs),
        ("outbound.data_timeout_secs", o.data_timeout_secs),
        ("outbound.greylist_retry_secs", o.greylist_retry_secs),
        ("outbound.rate_limit_pause_secs", o.rate_limit_pause_secs),
    ] {
        if v == 0 {
            return err(key, "must be greater than 0".into());
        }
    }
    if q.max_retry_secs < q.first_retry_secs {
        return err(
            "queue.max_retry_secs",
            format!(
                "{} is less than queue.first_retry_secs ({})",
                q.max_retry_secs, q.first_retry_secs
            ),
        );
    }
    if o.mta_sts_port == 0 {
        return err("outbound.mta_sts_port", "must be greater than 0".into());
    }
    let ca_file = o.ca_file.as_deref().map(&resolve);
    if let Some(p) = &ca_file
        && !p.is_file()
    {
        return err(
            "outbound.ca_file",
            format!("{} is not a readable file", p.display()),
        );
    }
    let tls = match o.tls.as_str() {
        "opportunistic" => TlsPolicy::Opportunistic,
        "required" => TlsPolicy::Required,
        "off" => TlsPolicy::Off,
        other => {
            return err(
                "outbound.tls",
                format!("{other:?} is not \"opportunistic\", \"required\" or \"off\""),
            );
        }
    };
    let relay = if o.relay_host.trim().is_empty() {
        None
    } else {
        let implicit_tls = match o.relay_tls.as_str() {
            "starttls" => false,
            "implicit" => true,
            other => {
                return err(
                    "outbound.relay_tls",
                    format!("{other:?} is not \"starttls\" or \"implicit\""),
                );
            }
        };
        if o.relay_port == 0 {
            return err("outbound.relay_port", "must be greater than 0".into());
        }
        if o.relay_username.is_empty() || o.relay_password.is_empty() {
            return err(
                "outbound.relay_username",
                "a relay needs relay_username and relay_password (AUTH)".into(),
            );
        }
        let ca_file = o.relay_ca_file.as_deref().map(&resolve);
        if let Some(p) = &ca_file
            && !p.is_file()
        {
            return err(
                "outbound.relay_ca_file",
                format!("{} is not a readable file", p.display()),
            );
        }
        Some(Relay {
            host: o.relay_host.trim().to_string(),
            port: o.relay_port,
            implicit_tls,
            username: o.relay_username.clone(),
            password: o.relay_password.clone(),
            ca_file,
        })
    };
    let mut providers = Vec::new();
    for (i, p) in o.providers.iter().enumerate() {
        if p.name.trim().is_empty() || p.mx_suffixes.is_empty() || p.max_connections == 0 {
            return err(
                &format!("outbound.providers[{i}]"),
                "needs a name, at least one of mx_suffixes and max_connections above 0".into(),
            );
        }
        providers.push(ProviderLimits {
            name: p.name.trim().to_string(),
            mx_suffixes: p.mx_suffixes.clone(),
            max_connections: p.max_connections,
            messages_per_minute: p.messages_per_minute,
        });
    }
    let warmup = match o.warmup_start.trim() {
        "" => None,
        date => match day_number(date) {
            Some(start_day) if o.warmup_days > 0 => Some(Warmup {
                start_day,
                days: o.warmup_days,
            }),
            Some(_) => None,
            None => {
                return err(
                    "outbound.warmup_start",
                    format!("{date:?} is not a date such as 2026-12-01"),
                );
            }
        },
    };
    Ok(OutboundConfig {
        hostname: hostname.to_string(),
        nameservers,
        dns_cache_size: dns.cache_size,
        trust_ad,
        dnssec_anchors,
        dnssec_timeout: Duration::from_secs(dns.dnssec_timeout_secs),
        port: o.port,
        tls,
        relay,
        max_connections: o.max_connections,
        max_per_domain: o.max_connections_per_domain,
        max_messages_per_connection: o.max_messages_per_connection,
        max_recipients: o.max_recipients,
        max_mx_hosts: o.max_mx_hosts,
        mta_sts_cache_max: o.mta_sts_cache_max,
        local_listeners: Vec::new(),
        connect_timeout: Duration::from_secs(o.connect_timeout_secs),
        command_timeout: Duration::from_secs(o.command_timeout_secs),
        data_timeout: Duration::from_secs(o.data_timeout_secs),
        first_retry: Duration::from_secs(q.first_retry_secs),
        max_retry: Duration::from_secs(q.max_retry_secs),
        max_age: Duration::from_secs(q.max_age_secs),
        delay_warning: (q.delay_warning_secs > 0)
            .then(|| Duration::from_secs(q.delay_warning_secs)),
        scan_interval: Duration::from_secs(q.scan_interval_secs),
        bounce_max_original: q.bounce_max_original_bytes,
        mta_sts: o.mta_sts,
        mta_sts_port: o.mta_sts_port,
        srs: None,
        tls_reports: None,
        ca_file,
        greylist_retry: Duration::from_secs(o.greylist_retry_secs),
        rate_limit_pause: Duration::from_secs(o.rate_limit_pause_secs),
        providers,
        warmup,
    })
}

/// Days since 1970-01-01 of a "YYYY-MM-DD" date (the proleptic Gregorian
/// calendar; Howard Hinnant's days_from_civil).
fn day_number(date: &str) -> Option<i64> {
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146097 + doe - 719468)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, "t.toml", Path::new("/etc/postern")).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_postfix_like() {
        let o = parse("").expect("default").outbound;
        assert_eq!(o.port, 25);
        assert_eq!(o.first_retry.as_secs(), 300);
        assert_eq!(o.max_age.as_secs(), 5 * 86400);
        assert!(o.relay.is_none());
        assert!(o.nameservers.is_empty());
    }

    #[test]
    fn deliverability_keys_have_defaults_and_are_read() {
        let o = parse("").expect("default").outbound;
        assert_eq!(o.max_mx_hosts, 10);
        assert_eq!(o.greylist_retry.as_secs(), 330);
        let names: Vec<_> = o.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Gmail", "Microsoft", "Yahoo"]);
        assert_eq!(o.warmup, None);
        let o = parse(
            "[outbound]\nmax_mx_hosts = 3\nrate_limit_pause_secs = 60\n\
             warmup_start = \"1970-01-11\"\nwarmup_days = 5\n\
             [[outbound.providers]]\nname = \"Big\"\nmx_suffixes = [\"big.test\"]\n\
             max_connections = 1\nmessages_per_minute = 6\n",
        )
        .expect("parses")
        .outbound;
        assert_eq!(o.max_mx_hosts, 3);
        assert_eq!(o.rate_limit_pause.as_secs(), 60);
        assert_eq!(o.providers.len(), 1);
        assert_eq!(o.providers[0].mx_suffixes, ["big.test"]);
        assert_eq!(
            o.warmup,
            Some(postern_smtp::outbound::Warmup {
                start_day: 10,
                days: 5
            })
        );
        assert_eq!(super::day_number("2026-12-07"), Some(20794));
        let bad = parse("[outbound]\nwarmup_start = \"soon\"\n").expect_err("refused");
        assert!(bad.contains("outbound.warmup_start"), "{bad}");
        let bad = parse("[outbound]\nmax_mx_hosts = 0\n").expect_err("refused");
        assert!(bad.contains("outbound.max_mx_hosts"), "{bad}");
        let bad = parse("[outbound]\nmta_sts_cache_max = 0\n").expect_err("refused");
        assert!(bad.contains("outbound.mta_sts_cache_max"), "{bad}");
        let bad = parse("[dns]\ncache_size = 0\n").expect_err("refused");
        assert!(bad.contains("dns.cache_size"), "{bad}");
        let o = parse("[dns]\ncache_size = 100\n[outbound]\nmta_sts_cache_max = 7\n")
            .expect("parses")
            .outbound;
        assert_eq!((o.dns_cache_size, o.mta_sts_cache_max), (100, 7));
    }

    #[test]
    fn keys_are_read_and_bad_values_named() {
        let o = parse(
            "[dns]\nnameservers = [\"127.0.0.1:5353\", \"9.9.9.9\"]\n[queue]\nfirst_retry_secs = 1\n\
             [outbound]\nport = 2525\nrelay_host = \"smtp.example.net\"\nrelay_port = 465\n\
             relay_tls = \"implicit\"\nrelay_username = \"u\"\nrelay_password = \"p\"\n",
        )
        .expect("parses")
        .outbound;
        assert_eq!(o.nameservers.len(), 2);
        assert_eq!(o.nameservers[1].port(), 53);
        assert_eq!(o.port, 2525);
        let r = o.relay.expect("relay");
        assert!(r.implicit_tls);
        assert_eq!(r.port, 465);
        for (text, want) in [
            (
                "[dns]\nnameservers = [\"dns.example\"]",
                "dns.nameservers[0]",
            ),
            (
                "[queue]\nmax_age_secs = 0",
                "queue.max_age_secs: must be greater than 0",
            ),
            (
                "[queue]\nfirst_retry_secs = 600\nmax_retry_secs = 60",
                "queue.max_retry_secs: 60 is less than",
            ),
            (
                "[outbound]\ntls = \"maybe\"",
                "outbound.tls: \"maybe\" is not",
            ),
            (
                "[outbound]\nrelay_host = \"r.example\"",
                "outbound.relay_username: a relay needs",
            ),
            (
                "[outbound]\nrelay_host = \"r\"\nrelay_tls = \"ssl\"",
                "outbound.relay_tls: \"ssl\" is not",
            ),
            (
                "[mailauth]\ndmarc_reject = \"drop\"",
                "mailauth.dmarc_reject: \"drop\" is not",
            ),
        ] {
            let got = parse(text).err().unwrap_or_default();
            assert!(
                got.contains(want),
                "for {text:?}\n got: {got}\nwant: {want}"
            );
        }
    }
}
