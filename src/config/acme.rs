//! The `[acme]` section (certificates from Let's Encrypt or another ACME
//! CA): what the file says, and its check into `postern_web::acme::AcmeConfig`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use postern_web::acme::{AcmeConfig, Challenge, LETS_ENCRYPT};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAcme {
    /// Get and renew the certificate from an ACME CA (agreeing to its terms).
    pub enabled: bool,
    /// The CA's directory URL; Let's Encrypt by default.
    pub directory: String,
    /// Addresses the CA may write to about the certificates (expiry, revocation).
    pub contact: Vec<String>,
    /// Names besides `hostname` on the certificate, e.g. autoconfig.example.org,
    /// autodiscover.example.org, mta-sts.example.org. Each must resolve here.
    pub names: Vec<String>,
    /// "tls-alpn-01" (answered on the https listener, port 443) or "http-01"
    /// (the http listener, port 80).
    pub challenge: String,
    /// Renew this many days before expiry; 0: in the last third of the lifetime.
    pub renew_before_days: u64,
    /// Longest wait between two looks at the certificate, in seconds.
    pub check_secs: u64,
    /// First wait after a failed attempt, in seconds (doubled each time after).
    pub retry_secs: u64,
    /// A PEM root certificate to trust for the CA instead of the system's.
    pub ca_file: Option<PathBuf>,
}

impl Default for RawAcme {
    fn default() -> Self {
        RawAcme {
            enabled: false,
            directory: LETS_ENCRYPT.into(),
            contact: Vec::new(),
            names: Vec::new(),
            challenge: "tls-alpn-01".into(),
            renew_before_days: 0,
            check_secs: 12 * 3600,
            retry_secs: 600,
            ca_file: None,
        }
    }
}

/// What the rest of the config says that ACME depends on.
pub struct Around<'a> {
    pub hostname: &'a str,
    pub data_dir: &'a Path,
    pub tls_files: bool,
    pub http_listener: bool,
    pub https_listener: bool,
}

impl RawAcme {
    /// `Ok(None)` when off; `Err((key, reason))` for the first refusal.
    pub fn check(
        &self,
        around: &Around<'_>,
        resolve: impl Fn(&Path) -> PathBuf,
    ) -> Result<Option<AcmeConfig>, (String, String)> {
        let refuse = |key: &str, reason: String| Err((format!("acme.{key}"), reason));
        if !self.enabled {
            return Ok(None);
        }
        if around.tls_files {
            return refuse(
                "enabled",
                "tls.cert and tls.key are set too: use one or the other".into(),
            );
        }
        if !(self.directory.starts_with("https://") || self.directory.starts_with("http://")) {
            return refuse(
                "directory",
                format!("{:?} is not an http(s) URL", self.directory),
            );
        }
        let challenge = match self.challenge.to_ascii_lowercase().as_str() {
            "tls-alpn-01" if around.https_listener => Challenge::TlsAlpn01,
            "tls-alpn-01" => {
                return refuse(
                    "challenge",
                    "tls-alpn-01 is answered on the https listener, and listen.https is empty"
                        .into(),
                );
            }
            "http-01" if around.http_listener => Challenge::Http01,
            "http-01" => {
                return refuse(
                    "challenge",
                    "http-01 is answered on the http listener, and listen.http is empty".into(),
                );
            }
            other => {
                return refuse(
                    "challenge",
                    format!("{other:?} is not \"tls-alpn-01\" or \"http-01\""),
                );
            }
        };
        let mut names = vec![around.hostname.to_ascii_lowercase()];
        for n in &self.names {
            let n = n.trim().to_ascii_lowercase();
            if !names.contains(&n) {
                names.push(n);
            }
        }
        for (i, n) in names.iter().enumerate() {
            let key = if i == 0 {
                "hostname".to_string()
            } else {
                "acme.names".to_string()
            };
            if !public_name(n) {
                return Err((
                    key,
                    format!(
                        "{n:?} cannot be on a CA's certificate: it must be a DNS name with a dot, \
                         not an address or localhost"
                    ),
                ));
            }
        }
        let contact = self
            .contact
            .iter()
            .map(|c| {
                if c.contains(':') {
                    c.clone()
                } else {
                    format!("mailto:{c}")
                }
            })
            .collect();
        if self.check_secs == 0 {
            return refuse("check_secs", "must be greater than 0".into());
        }
        if self.retry_secs == 0 {
            return refuse("retry_secs", "must be greater than 0".into());
        }
        let ca_file = match &self.ca_file {
            Some(p) => {
                let p = resolve(p);
                if !p.is_file() {
                    return refuse("ca_file", format!("{} is not a readable file", p.display()));
                }
                Some(p)
            }
            None => None,
        };
        Ok(Some(AcmeConfig {
            directory: self.directory.clone(),
            contact,
            names,
            challenge,
            renew_before: (self.renew_before_days > 0)
                .then(|| Duration::from_secs(self.renew_before_days.saturating_mul(86_400))),
            check_interval: Duration::from_secs(self.check_secs),
            retry_interval: Duration::from_secs(self.retry_secs),
            ca_file,
            dir: around.data_dir.join("acme"),
        }))
    }
}

/// A name a public CA could certify: letters, digits and hyphens in
/// labels, at least two labels, not all digits (an address), not localhost.
fn public_name(n: &str) -> bool {
    let labels: Vec<&str> = n.split('.').collect();
    super::dns_labels(n)
        && labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.starts_with('-') && !l.ends_with('-'))
        && !labels.iter().all(|l| l.bytes().all(|b| b.is_ascii_digit()))
        && labels.last() != Some(&"localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn around(hostname: &str) -> Around<'_> {
        Around {
            hostname,
            data_dir: Path::new("/var/lib/postern"),
            tls_files: false,
            http_listener: true,
            https_listener: true,
        }
    }

    fn on(extra: impl FnOnce(&mut RawAcme)) -> RawAcme {
        let mut raw = RawAcme {
            enabled: true,
            ..RawAcme::default()
        };
        extra(&mut raw);
        raw
    }

    fn refusal(raw: &RawAcme, around: &Around<'_>) -> (String, String) {
        raw.check(around, |p| p.to_path_buf())
            .expect_err("must be refused")
    }

    #[test]
    fn off_by_default() {
        let cfg = RawAcme::default()
            .check(&around("mail.example.org"), |p| p.to_path_buf())
            .expect("ok");
        assert!(cfg.is_none());
    }

    #[test]
    fn hostname_first_then_the_extra_names_once_each() {
        let raw = on(|r| {
            r.names = vec![
                "autoconfig.example.org".into(),
                "Mail.Example.org".into(),
                "mta-sts.example.org".into(),
            ];
            r.contact = vec!["postmaster@example.org".into()];
        });
        let cfg = raw
            .check(&around("mail.example.org"), |p| p.to_path_buf())
            .expect("ok")
            .expect("on");
        assert_eq!(
            cfg.names,
            [
                "mail.example.org",
                "autoconfig.example.org",
                "mta-sts.example.org"
            ]
        );
        assert_eq!(cfg.contact, ["mailto:postmaster@example.org"]);
        assert_eq!(cfg.challenge, Challenge::TlsAlpn01);
        assert_eq!(cfg.renew_before, None);
        assert_eq!(cfg.dir, Path::new("/var/lib/postern/acme"));
    }

    #[test]
    fn refusals_name_the_key() {
        let (key, why) = refusal(&on(|_| {}), &around("localhost"));
        assert_eq!(key, "hostname");
        assert!(why.contains("localhost"), "{why}");
        let (key, _) = refusal(
            &on(|r| r.names = vec!["10.0.0.1".into()]),
            &around("m.example.org"),
        );
        assert_eq!(key, "acme.names");
        let (key, _) = refusal(
            &on(|r| r.challenge = "dns-01".into()),
            &around("m.example.org"),
        );
        assert_eq!(key, "acme.challenge");
        let mut no_https = around("m.example.org");
        no_https.https_listener = false;
        let (key, why) = refusal(&on(|_| {}), &no_https);
        assert_eq!(key, "acme.challenge");
        assert!(why.contains("listen.https"), "{why}");
        let mut files = around("m.example.org");
        files.tls_files = true;
        assert_eq!(refusal(&on(|_| {}), &files).0, "acme.enabled");
        let (key, _) = refusal(
            &on(|r| r.directory = "ftp://x".into()),
            &around("m.example.org"),
        );
        assert_eq!(key, "acme.directory");
        let (key, _) = refusal(
            &on(|r| r.ca_file = Some("/nonexistent/ca.pem".into())),
            &around("m.example.org"),
        );
        assert_eq!(key, "acme.ca_file");
    }
}
