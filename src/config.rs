//! Configuration in two stages: `RawConfig` is what the TOML file says
//! (serde, unknown keys refused, every field defaulted so an empty file is the
//! embedded default), `Config` is what the server runs with: paths resolved,
//! addresses parsed, limits checked. Every refusal names the file, the key and
//! the reason.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

mod abuse;
mod acme;
mod auth;
mod imap;
mod managesieve;
mod oauth;
mod ops;
mod outbound;
mod pop3;
mod reports;
mod server;
mod sieve;
mod smtp;
mod spam;
mod spam_training;
mod store;
mod web;
pub use abuse::AbuseSettings;
use acme::RawAcme;
use auth::RawAuth;
use imap::RawImap;
use managesieve::RawManageSieve;
pub use ops::LogFormat;
use ops::{RawLog, RawMetrics};
use pop3::RawPop3;
use server::RawServer;
pub use server::RunAs;
use smtp::RawSmtp;
use spam::RawSpam;
use store::RawStore;
use web::RawWeb;

/// Whether every dot-separated label of `name` is 1-63 letters, digits or
/// hyphens (so an empty name is not): the host-name shape the sections
/// check before adding their own rules.
pub(crate) fn dns_labels(name: &str) -> bool {
    name.split('.').all(|l| {
        !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// Where a configuration came from, for error messages.
pub const EMBEDDED: &str = "<embedded default>";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// The name this server greets with and puts in its certificate.
    pub hostname: String,
    /// Where the database, blobs, certificates and locks live. Relative paths
    /// are relative to the config file's directory (or the current directory
    /// for the embedded default).
    pub data_dir: PathBuf,
    pub listen: RawListen,
    pub tls: RawTls,
    pub acme: RawAcme,
    pub limits: RawLimits,
    pub auth: RawAuth,
    pub smtp: RawSmtp,
    pub imap: RawImap,
    pub pop3: RawPop3,
    pub managesieve: RawManageSieve,
    pub web: RawWeb,
    pub dns: outbound::RawDns,
    pub queue: outbound::RawQueue,
    pub outbound: outbound::RawOutbound,
    pub mailauth: outbound::RawMailAuth,
    pub spam: RawSpam,
    pub sieve: sieve::RawSieve,
    pub reports: reports::RawReports,
    pub store: RawStore,
    pub log: RawLog,
    pub metrics: RawMetrics,
    pub server: RawServer,
    pub abuse: abuse::RawAbuse,
    pub greylist: abuse::RawGreylist,
    pub oauth: oauth::RawOAuth,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            hostname: "localhost".into(),
            data_dir: PathBuf::from("postern-data"),
            listen: RawListen::default(),
            tls: RawTls::default(),
            acme: RawAcme::default(),
            limits: RawLimits::default(),
            auth: RawAuth::default(),
            smtp: RawSmtp::default(),
            imap: RawImap::default(),
            pop3: RawPop3::default(),
            managesieve: RawManageSieve::default(),
            web: RawWeb::default(),
            dns: Default::default(),
            queue: Default::default(),
            outbound: Default::default(),
            mailauth: Default::default(),
            spam: RawSpam::default(),
            sieve: Default::default(),
            reports: Default::default(),
            store: RawStore::default(),
            log: RawLog::default(),
            metrics: RawMetrics::default(),
            server: RawServer::default(),
            abuse: Default::default(),
            greylist: Default::default(),
            oauth: Default::default(),
        }
    }
}

/// Addresses each service listens on; an empty list turns the service off.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawListen {
    pub smtp: Vec<String>,
    pub submission: Vec<String>,
    pub submissions: Vec<String>,
    pub imap: Vec<String>,
    pub imaps: Vec<String>,
    pub pop3: Vec<String>,
    pub pop3s: Vec<String>,
    /// ManageSieve (RFC 5804, STARTTLS); 4190 in production.
    pub managesieve: Vec<String>,
    /// Client discovery (autoconfig, autodiscover, MTA-STS); 80 in production.
    pub http: Vec<String>,
    /// The same over implicit TLS; 443 in production.
    pub https: Vec<String>,
}

impl Default for RawListen {
    fn default() -> Self {
        let on = |port: u16| vec![format!("127.0.0.1:{port}")];
        RawListen {
            smtp: on(2525),
            submission: on(2587),
            submissions: on(2465),
            imap: on(2143),
            imaps: on(2993),
            pop3: on(2110),
            pop3s: on(2995),
            managesieve: on(24190),
            http: on(2080),
            https: on(2443),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTls {
    /// PEM certificate chain; with `key`. Neither: a self-signed certificate
    /// for `hostname` is made on first start and kept in the data directory.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// How often to look for renewed certificate files, in seconds (0: only on SIGHUP).
    pub watch_secs: u64,
    /// TLS sessions remembered for resumption, across all listeners.
    pub session_cache: usize,
}

impl Default for RawTls {
    fn default() -> Self {
        RawTls {
            cert: None,
            key: None,
            watch_secs: 0,
            session_cache: postern_net::TlsOptions::default().session_cache,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLimits {
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub idle_timeout_secs: u64,
    pub tls_handshake_timeout_secs: u64,
    pub max_message_size: u64,
    /// Threads for blocking work (store reads, password hashing, parsing).
    pub blocking_threads: usize,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            max_connections: 1000,
            max_connections_per_ip: 20,
            idle_timeout_secs: 600,
            tls_handshake_timeout_secs: 30,
            max_message_size: 50 * 1024 * 1024,
            blocking_threads: 64,
        }
    }
}

/// One service's listening addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub name: &'static str,
    pub proto: &'static str,
    pub implicit_tls: bool,
    pub addrs: Vec<SocketAddr>,
}

/// The checked configuration the server runs with.
#[derive(Debug)]
pub struct Config {
    pub source: String,
    pub hostname: String,
    pub data_dir: PathBuf,
    pub services: Vec<Service>,
    pub tls_files: Option<(PathBuf, PathBuf)>,
    pub tls_watch: Option<Duration>,
    pub tls_options: postern_net::TlsOptions,
    /// Certificates from an ACME CA instead of files or self-signed.
    pub acme: Option<postern_web::acme::AcmeConfig>,
    pub limits: postern_net::ConnLimits,
    /// The most threads the runtime starts for blocking work.
    pub blocking_threads: usize,
    pub auth: postern_auth::AuthConfig,
    pub smtp: postern_smtp::SmtpConfig,
    pub imap: postern_imap::ImapConfig,
    pub pop3: postern_pop3::Pop3Config,
    pub managesieve: postern_managesieve::ManageSieveConfig,
    pub web: postern_web::WebConfig,
    pub outbound: postern_smtp::outbound::OutboundConfig,
    pub mailauth: postern_delivery::mailauth::MailAuthConfig,
    /// The spam verdict on port 25 (`[spam]`).
    pub spam: postern_delivery::SpamSettings,
    /// `[spam.training]`: stored models, the trainer, sender reputation.
    pub spam_training: postern_spam::training::TrainingConfig,
    /// Sieve's limits and the admin's scripts (`[sieve]`).
    pub sieve: postern_delivery::SieveLimits,
    /// DMARC and TLS reports (`[reports]`).
    pub reports: postern_delivery::reports::ReportsConfig,
    pub store: postern_store::StoreOptions,
    pub log_level: String,
    pub log_format: LogFormat,
    /// Warnings and errors kept for `postern status` (`[log] recent_errors`).
    pub recent_errors: usize,
    /// Where `/metrics` is served (`[metrics] listen`; empty: off).
    pub metrics: Vec<SocketAddr>,
    /// Which account to run as (`[server]`).
    pub run_as: RunAs,
    /// How often freed memory goes back to the system (`[server]`).
    pub memory_trim: Option<Duration>,
    /// Automatic blocking (`[abuse]`).
    pub abuse: AbuseSettings,
    /// Bearer tokens on the mail protocols (`[oauth]`); `None`: off.
    pub oauth: Option<postern_auth::OAuthConfig>,
}

/// A refusal: `file: key: reason`.
#[derive(Debug)]
pub struct ConfigError {
    pub source: String,
    pub key: String,
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.source, self.reason)
        } else {
            write!(f, "{}: {}: {}", self.source, self.key, self.reason)
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Loads `path`, or the embedded default when `None`.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            None => Config::check(RawConfig::default(), EMBEDDED, Path::new(".")),
            Some(p) => {
                let source = p.display().to_string();
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError {
                    source: source.clone(),
                    key: String::new(),
                    reason: format!("cannot read: {e}"),
                })?;
                let base = p
                    .parent()
                    .filter(|b| !b.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                Config::parse(&text, &source, base)
            }
        }
    }

    /// Parses and checks TOML text; relative paths are resolved against `base`.
    pub fn parse(text: &str, source: &str, base: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            // One line: where, what is written there, and why it is refused.
            let reason = match e.span() {
                Some(span) => {
                    let start = span.start.min(text.len());
                    let n = text[..start].matches('\n').count() + 1;
                    let line: String = text
                        .lines()
                        .nth(n - 1)
                        .unwrap_or("")
                        .trim()
                        .chars()
                        .take(80)
                        .collect();
                    format!(
                        "line {n} `{line}`: {}",
                        e.message().trim_end().replace('\n', " ")
                    )
                }
                None => e.message().trim_end().replace('\n', " "),
            };
            ConfigError {
                source: source.to_string(),
                key: String::new(),
                reason,
            }
        })?;
        Config::check(raw, source, base)
    }

    fn check(raw: RawConfig, source: &str, base: &Path) -> Result<Config, ConfigError> {
        let err = |key: &str, reason: String| ConfigError {
            source: source.to_string(),
            key: key.to_string(),
            reason,
        };
        let hostname = raw.hostname.trim().to_ascii_lowercase();
        if hostname.len() > 253 || !dns_labels(&hostname) {
            return Err(err(
                "hostname",
                format!("{:?} is not a host name", raw.hostname),
            ));
        }
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let data_dir = resolve(&raw.data_dir);
        if raw.data_dir.as_os_str().is_empty() {
            return Err(err("data_dir", "must not be empty".into()));
        }

        let l = &raw.listen;
        let table: [(&'static str, &'static str, bool, &Vec<String>); 10] = [
            ("smtp", "smtp", false, &l.smtp),
            ("submission", "smtp", false, &l.submission),
            ("submissions", "smtp", true, &l.submissions),
            ("imap", "imap", false, &l.imap),
            ("imaps", "imap", true, &l.imaps),
            ("pop3", "pop3", false, &l.pop3),
            ("pop3s", "pop3", true, &l.pop3s),
            ("managesieve", "managesieve", false, &l.managesieve),
            ("http", "http", false, &l.http),
            ("https", "http", true, &l.https),
        ];
        let mut services = Vec::new();
        let mut seen: Vec<(SocketAddr, String)> = Vec::new();
        for (name, proto, implicit_tls, list) in table {
            let mut addrs = Vec::new();
            for (i, a) in list.iter().enumerate() {
                let key = format!("listen.{name}[{i}]");
                let addr: SocketAddr = a.parse().map_err(|_| {
                    err(
                        &key,
                        format!("{a:?} is not an address:port such as 127.0.0.1:25 or [::]:993"),
                    )
                })?;
                if addr.port() != 0
                    && let Some((_, other)) = seen.iter().find(|(s, _)| *s == addr)
                {
                    return Err(err(&key, format!("{addr} is already used by {other}")));
                }
                seen.push((addr, key));
                addrs.push(addr);
            }
            services.push(Service {
                name,
                proto,
                implicit_tls,
                addrs,
            });
        }

        let tls_files = match (&raw.tls.cert, &raw.tls.key) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(err(
                    "tls.key",
                    "tls.cert is set, so tls.key must be too".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(err(
                    "tls.cert",
                    "tls.key is set, so tls.cert must be too".into(),
                ));
            }
            (Some(c), Some(k)) => {
                let (c, k) = (resolve(c), resolve(k));
                for (key, p) in [("tls.cert", &c), ("tls.key", &k)] {
                    if !p.is_file() {
                        return Err(err(key, format!("{} is not a readable file", p.display())));
                    }
                }
                Some((c, k))
            }
        };

        let has = |name: &str| {
            services
                .iter()
                .any(|s| s.name == name && !s.addrs.is_empty())
        };
        let acme = raw
            .acme
            .check(
                &acme::Around {
                    hostname: &hostname,
                    data_dir: &data_dir,
                    tls_files: tls_files.is_some(),
                    http_listener: has("http"),
                    https_listener: has("https"),
                },
                resolve,
            )
            .map_err(|(key, reason)| err(&key, reason))?;

        let lim = &raw.limits;
        let positive = |key: &str, v: u64| {
            if v == 0 {
                Err(err(key, "must be greater than 0".into()))
            } else {
                Ok(v)
            }
        };
        positive("limits.max_connections", lim.max_connections as u64)?;
        positive(
            "limits.max_connections_per_ip",
            lim.max_connections_per_ip as u64,
        )?;
        positive("limits.idle_timeout_secs", lim.idle_timeout_secs)?;
        positive(
            "limits.tls_handshake_timeout_secs",
            lim.tls_handshake_timeout_secs,
        )?;
        positive("limits.max_message_size", lim.max_message_size)?;
        positive("limits.blocking_threads", lim.blocking_threads as u64)?;
        if lim.max_connections_per_ip > lim.max_connections {
            return Err(err(
                "limits.max_connections_per_ip",
                format!(
                    "{} is more than limits.max_connections ({})",
                    lim.max_connections_per_ip, lim.max_connections
                ),
            ));
        }
        let limits = postern_net::ConnLimits {
            max_connections: lim.max_connections,
            max_per_ip: lim.max_connections_per_ip,
            idle_timeout: Duration::from_secs(lim.idle_timeout_secs),
            tls_handshake_timeout: Duration::from_secs(lim.tls_handshake_timeout_secs),
        };

        let auth = raw
            .auth
            .check()
            .map_err(|(key, reason)| err(&key, reason))?;

        let mut smtp = raw
            .smtp
            .check(&hostname, lim.max_message_size)
            .map_err(|(key, reason)| err(&key, reason))?;
        smtp.greylist = raw
            .greylist
            .check()
            .map_err(|(key, reason)| err(&key, reason))?;
        let abuse = raw
            .abuse
            .check()
            .map_err(|(key, reason)| err(&key, reason))?;

        let imap = raw
            .imap
            .check(&hostname, lim.max_message_size)
            .map_err(|(key, reason)| err(&key, reason))?;

        let web = raw
            .web
            .check(&hostname)
            .map_err(|(key, reason)| err(&key, reason))?;
        let pop3 = raw
            .pop3
            .check(&hostname)
            .map_err(|(key, reason)| err(&key, reason))?;

        let managesieve = raw
            .managesieve
            .check(&hostname)
            .map_err(|(key, reason)| err(&key, reason))?;

        let outbound = outbound::check(&raw.dns, &raw.queue, &raw.outbound, &hostname, resolve)
            .map_err(|(key, reason)| err(&key, reason))?;
        let mut mailauth =
            outbound::check_mailauth(&raw.mailauth).map_err(|(key, reason)| err(&key, reason))?;
        mailauth.arc_trusted_sealers = raw
            .spam
            .check_arc_sealers()
            .map_err(|(key, reason)| err(&key, reason))?;
        let spam = raw
            .spam
            .check()
            .map_err(|(key, reason)| err(&key, reason))?;
        let spam_training = raw
            .spam
            .check_training()
            .map_err(|(key, reason)| err(&key, reason))?;
        let sieve = raw
            .sieve
            .check(resolve)
            .map_err(|(key, reason)| err(&key, reason))?;
        let mut reports = raw
            .reports
            .check()
            .map_err(|(key, reason)| err(&key, reason))?;
        reports.https_ca_file = outbound.ca_file.clone();

        let store = raw
            .store
            .check(lim.max_message_size)
            .map_err(|(key, reason)| err(&key, reason))?;
        if tracing_subscriber::EnvFilter::try_new(&raw.log.level).is_err() {
            return Err(err(
                "log.level",
                format!("{:?} is not a log filter such as \"info\"", raw.log.level),
            ));
        }
        let metrics = raw
            .metrics
            .check()
            .map_err(|(key, reason)| err(&key, reason))?;
        let run_as = raw
            .server
            .check()
            .map_err(|(key, reason)| err(&key, reason))?;
        let oauth = raw
            .oauth
            .check(resolve)
            .map_err(|(key, reason)| err(&key, reason))?;
        Ok(Config {
            source: source.to_string(),
            hostname,
            data_dir,
            services,
            tls_files,
            tls_watch: (raw.tls.watch_secs > 0).then(|| Duration::from_secs(raw.tls.watch_secs)),
            tls_options: postern_net::TlsOptions {
                session_cache: raw.tls.session_cache,
            },
            acme,
            limits,
            blocking_threads: raw.limits.blocking_threads,
            auth,
            smtp,
            imap,
            pop3,
            managesieve,
            web,
            outbound,
            mailauth,
            spam,
            spam_training,
            sieve,
            reports,
            store,
            log_level: raw.log.level,
            log_format: raw.log.format,
            recent_errors: raw.log.recent_errors,
            metrics,
            run_as,
            memory_trim: raw.server.memory_trim(),
            abuse,
            oauth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> String {
        Config::parse(text, "test.toml", Path::new("/etc/postern"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("accepted: {text}"))
    }

    #[test]
    fn empty_file_is_the_embedded_default() {
        let c = Config::parse("", "test.toml", Path::new("/etc/postern")).expect("parse");
        let d = Config::load(None).expect("default");
        assert_eq!(c.services, d.services);
        assert_eq!(c.hostname, "localhost");
        assert_eq!(c.data_dir, Path::new("/etc/postern/postern-data"));
        let imaps = c
            .services
            .iter()
            .find(|s| s.name == "imaps")
            .expect("imaps");
        assert!(imaps.implicit_tls);
        assert_eq!(
            imaps.addrs,
            ["127.0.0.1:2993".parse::<SocketAddr>().expect("addr")]
        );
    }

    #[test]
    fn the_annotated_example_parses() {
        let text = include_str!("../config/postern.toml");
        let c = Config::parse(text, "config/postern.toml", Path::new("/etc/postern"))
            .expect("example parses");
        assert_eq!(c.hostname, "mail.example.org");
        assert!(c.services.iter().all(|s| !s.addrs.is_empty()));
    }

    #[test]
    fn every_bad_value_names_file_key_and_reason() {
        for (text, want) in [
            (
                "nope = 1",
                "test.toml: line 1 `nope = 1`: unknown field `nope`, expected one of",
            ),
            (
                "[limits]\nmax_connections = \"many\"",
                "test.toml: line 2 `max_connections = \"many\"`: invalid type",
            ),
            (
                "[listen]\nimap = [\"localhost\"]",
                "test.toml: listen.imap[0]: \"localhost\" is not an address:port",
            ),
            (
                "[listen]\nimap = [\"127.0.0.1:25\"]\nsmtp = [\"127.0.0.1:25\"]",
                "listen.imap[0]: 127.0.0.1:25 is already used by listen.smtp[0]",
            ),
            (
                "hostname = \"bad host\"",
                "test.toml: hostname: \"bad host\" is not a host name",
            ),
            (
                "[tls]\ncert = \"c.pem\"",
                "test.toml: tls.key: tls.cert is set",
            ),
            (
                "[auth]\ndevices_per_user = 0",
                "test.toml: auth.devices_per_user: must be greater than 0",
            ),
            (
                "[auth]\ntotp_issuer = \"Mail:Co\"",
                "test.toml: auth.totp_issuer: \"Mail:Co\" must be a non-empty name without \":\"",
            ),
            (
                "[tls]\ncert = \"/nonexistent/c.pem\"\nkey = \"/nonexistent/k.pem\"",
                "tls.cert: /nonexistent/c.pem is not a readable file",
            ),
            (
                "[limits]\nmax_connections = 0",
                "test.toml: limits.max_connections: must be greater than 0",
            ),
            (
                "[limits]\nblocking_threads = 0",
                "test.toml: limits.blocking_threads: must be greater than 0",
            ),
            (
                "[limits]\nmax_connections = 5\nmax_connections_per_ip = 9",
                "limits.max_connections_per_ip: 9 is more than",
            ),
            ("[limits]\nidle_timeout_secs = -1", "test.toml: "),
            (
                "[auth]\nplus_separator = \"ab\"",
                "auth.plus_separator: \"ab\" must be one punctuation character",
            ),
            ("[log]\nlevel = \"[[[\"", "log.level:"),
            (
                "[smtp]\nbare_line_endings = \"allow\"",
                "smtp.bare_line_endings: \"allow\" is not",
            ),
            (
                "[smtp]\nmax_recipients = 5",
                "smtp.max_recipients: 5 is below 100",
            ),
            (
                "[smtp]\nmax_junk_commands = 0",
                "smtp.max_junk_commands: must be greater than 0",
            ),
            (
                "[pop3]\nidle_timeout_secs = 60",
                "pop3.idle_timeout_secs: 60 is below 600",
            ),
            ("[pop3]\nmax_line = 100", "pop3.max_line: 100 is below 255"),
            (
                "[managesieve]\nmax_line = 100",
                "managesieve.max_line: 100 is below 1024",
            ),
            (
                "[managesieve]\nmax_errors = 0",
                "managesieve.max_errors: must be greater than 0",
            ),
            (
                "[reports]\nhour = 24",
                "reports.hour: 24 is not an hour (0 to 23)",
            ),
            (
                "[reports]\nhttps_retry_secs = 0",
                "reports.https_retry_secs: 0 is not a time",
            ),
            (
                "[dns]\ndnssec = \"yes\"",
                "dns.dnssec: \"yes\" is not one of \"validate\", \"trust_ad\", \"off\"",
            ),
            (
                "[dns]\ndnssec = \"validate\"\ntrust_anchor = \"/nonexistent/root.key\"",
                "dns.trust_anchor: reading /nonexistent/root.key:",
            ),
            (
                "[reports]\naddress = \"dmarc reports\"",
                "reports.address: \"dmarc reports\" is not the local part of an address",
            ),
            (
                "[listen]\nmanagesieve = [\"4190\"]",
                "listen.managesieve[0]: \"4190\" is not an address",
            ),
            (
                "[imap]\npreview_chars = 300",
                "imap.preview_chars: 300 is outside 1..=256",
            ),
            (
                "[imap]\npreview_scan_kib = 0",
                "imap.preview_scan_kib: must be greater than 0",
            ),
        ] {
            let got = refused(text);
            assert!(
                got.contains(want),
                "for {text:?}\n got: {got}\nwant: {want}"
            );
        }
    }

    #[test]
    fn an_empty_listen_list_turns_a_service_off() {
        let c =
            Config::parse("[listen]\npop3 = []\npop3s = []", "t", Path::new(".")).expect("parse");
        assert!(
            c.services
                .iter()
                .filter(|s| s.proto == "pop3")
                .all(|s| s.addrs.is_empty())
        );
    }
}
