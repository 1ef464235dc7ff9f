//! The outbound section of the configuration as the queue runner uses it:
//! `[dns]`, `[queue]` and `[outbound]` in postern.toml, filled by the binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How hard to insist on TLS when talking to other servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsPolicy {
    /// STARTTLS when offered, certificate not checked (RFC 7435).
    Opportunistic,
    /// STARTTLS must be offered and succeed (certificate not checked);
    /// otherwise the attempt fails like a connection error.
    Required,
    /// Never STARTTLS (for testing and broken peers).
    Off,
}

/// Smarthost: every message goes to one relay with AUTH.
#[derive(Clone, Debug)]
pub struct Relay {
    pub host: String,
    pub port: u16,
    /// Implicit TLS (port 465, RFC 8314); otherwise STARTTLS is required.
    pub implicit_tls: bool,
    pub username: String,
    pub password: String,
    /// PEM roots that the relay's certificate must chain to; None: the
    /// system's (`/etc/ssl/certs/ca-certificates.crt`).
    pub ca_file: Option<PathBuf>,
}

/// A big mailbox provider's limits (`[[outbound.providers]]`): its MX
/// hosts are known by their names' suffixes, and all its domains share
/// these limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderLimits {
    pub name: String,
    /// `google.com` matches `alt1.gmail-smtp-in.l.google.com`.
    pub mx_suffixes: Vec<String>,
    /// Connections open at once to the provider, over all its domains.
    pub max_connections: usize,
    /// Messages sent per minute at most (0: no pacing).
    pub messages_per_minute: u32,
}

/// Slow start for a new sending IP: from `start_day` (days since the
/// epoch) for `days` days, the providers' rates start at 1/2^days and
/// double each day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Warmup {
    pub start_day: i64,
    pub days: u32,
}

/// Gmail, Microsoft (Outlook, Hotmail, Microsoft 365) and Yahoo (with
/// AOL), by the MX names they use today; modest rates, ample for a
/// server of people rather than a bulk sender.
pub fn default_providers() -> Vec<ProviderLimits> {
    let p = |name: &str, suffixes: &[&str], conns: usize, rate: u32| ProviderLimits {
        name: name.into(),
        mx_suffixes: suffixes.iter().map(|s| s.to_string()).collect(),
        max_connections: conns,
        messages_per_minute: rate,
    };
    vec![
        p("Gmail", &["google.com", "googlemail.com"], 5, 120),
        p("Microsoft", &["outlook.com", "hotmail.com"], 3, 60),
        p("Yahoo", &["yahoodns.net"], 3, 60),
    ]
}

#[derive(Clone, Debug)]
pub struct OutboundConfig {
    /// The EHLO name, and the Reporting-MTA of bounces.
    pub hostname: String,
    /// DNS servers (`ip:port`); empty: the system resolver (/etc/resolv.conf).
    pub nameservers: Vec<SocketAddr>,
    /// `[dns] cache_size`: answers each resolver keeps (set process-wide
    /// at start, `postern_net::dns::set_cache_size`).
    pub dns_cache_size: u64,
    /// `[dns] trust_ad`: whose DNSSEC answers (AD bit) DANE believes.
    pub trust_ad: postern_net::dns_secure::TrustAd,
    /// `[dns] dnssec = "validate"`: the trust anchors Postern validates
    /// DNSSEC from itself (then `trust_ad` is not used); None: AD bit.
    pub dnssec_anchors: Option<postern_net::dns_validate::Anchors>,
    /// `[dns] dnssec_timeout_secs`: one DNSSEC-aware lookup, at most.
    pub dnssec_timeout: Duration,
    /// The port of remote MX hosts (25; tests point it elsewhere).
    pub port: u16,
    pub tls: TlsPolicy,
    pub relay: Option<Relay>,
    /// Connections open at once, in all.
    pub max_connections: usize,
    /// Connections open at once to one destination domain.
    pub max_per_domain: usize,
    /// Messages sent over one connection before it is closed.
    pub max_messages_per_connection: usize,
    /// Recipients per transaction; more go in further transactions
    /// (RFC 5321 §4.5.3.1.8 only promises 100; Postfix sends 50).
    pub max_recipients: usize,
    /// MX hosts tried per attempt, at most (Postfix's
    /// `smtp_mx_address_limit`): a domain listing fifty does not get fifty
    /// connection attempts each time.
    pub max_mx_hosts: usize,
    /// MTA-STS policies kept in memory, at most (the domains mail went to
    /// lately; an expired or the oldest one makes room).
    pub mta_sts_cache_max: usize,
    /// Where this server's port-25 listener is bound (filled by `serve`
    /// once bound): an MX address that reaches it is this server.
    pub local_listeners: Vec<SocketAddr>,
    pub connect_timeout: Duration,
    /// Waiting for the greeting and each reply (RFC 5321 §4.5.3.2: 5 minutes).
    pub command_timeout: Duration,
    /// Waiting for the reply to the end of data (RFC 5321 §4.5.3.2.6: 10 minutes).
    pub data_timeout: Duration,
    /// The first retry after a temporary failure; each later one doubles,
    /// up to `max_retry`; ±10 % jitter.
    pub first_retry: Duration,
    pub max_retry: Duration,
    /// A greylisted recipient is tried again after this (not the
    /// doubling backoff): postgrey's default delay is 300 s.
    pub greylist_retry: Duration,
    /// After a provider answers "too fast" (`answer.rs`), nothing goes to
    /// it for this long.
    pub rate_limit_pause: Duration,
    pub providers: Vec<ProviderLimits>,
    pub warmup: Option<Warmup>,
    /// After this long in the queue a message bounces (Postfix: 5 days).
    pub max_age: Duration,
    /// Send a "delayed" DSN after this long, if NOTIFY asks (or by default
    /// when NOTIFY is absent); None: never.
    pub delay_warning: Option<Duration>,
    /// The runner looks at the queue at least this often (admin commands
    /// run in another process and cannot wake it).
    pub scan_interval: Duration,
    /// The most of the original message a bounce carries with RET=FULL;
    /// larger ones are returned as headers only.
    pub bounce_max_original: usize,
    /// Honour MTA-STS policies (RFC 8461).
    pub mta_sts: bool,
    /// The HTTPS port policies are fetched from (443).
    pub mta_sts_port: u16,
    /// PEM roots for MTA-STS (the policy server and the MX certificates);
    /// None: the system's (`/etc/ssl/certs/ca-certificates.crt`).
    pub ca_file: Option<PathBuf>,
    /// The key of the SRS senders forwarded mail leaves with: a bounce
    /// this queue makes for one goes straight to the original sender.
    pub srs: Option<postern_delivery::sieve::srs::Srs>,
    /// Where TLS outcomes are counted for TLS-RPT (RFC 8460; none: not).
    pub tls_reports: Option<postern_delivery::reports::Recorder>,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        OutboundConfig {
            hostname: "localhost".into(),
            nameservers: Vec::new(),
            dns_cache_size: postern_net::dns::DEFAULT_CACHE_SIZE,
            trust_ad: postern_net::dns_secure::TrustAd::Loopback,
            dnssec_anchors: None,
            dnssec_timeout: Duration::from_secs(5),
            port: 25,
            tls: TlsPolicy::Opportunistic,
            relay: None,
            max_connections: 50,
            max_per_domain: 5,
            max_messages_per_connection: 100,
            max_recipients: 50,
            max_mx_hosts: 10,
            mta_sts_cache_max: 10_000,
            local_listeners: Vec::new(),
            connect_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(600),
            first_retry: Duration::from_secs(300),
            max_retry: Duration::from_secs(4 * 3600),
            greylist_retry: Duration::from_secs(330),
            rate_limit_pause: Duration::from_secs(1800),
            providers: default_providers(),
            warmup: None,
            max_age: Duration::from_secs(5 * 24 * 3600),
            delay_warning: Some(Duration::from_secs(4 * 3600)),
            scan_interval: Duration::from_secs(60),
            bounce_max_original: 1024 * 1024,
            mta_sts: true,
            mta_sts_port: 443,
            ca_file: None,
            srs: None,
            tls_reports: None,
        }
    }
}
