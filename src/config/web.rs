//! The `[web]` section (client discovery over HTTP(S)): what the file says,
//! and its check into `postern_web::WebConfig`.

use postern_smtp::outbound::mta_sts;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawWeb {
    /// Largest request body read (an autodiscover POST); more gets a 400.
    pub max_body_bytes: usize,
    /// The ports clients are told to use (the public ones, not the bound
    /// ones when a firewall or port forward sits in between).
    pub imaps_port: u16,
    pub imap_port: u16,
    pub pop3s_port: u16,
    pub pop3_port: u16,
    pub submissions_port: u16,
    pub submission_port: u16,
    pub managesieve_port: u16,
    /// Serve an MTA-STS policy at mta-sts.<domain> for every domain.
    pub mta_sts: bool,
    /// "enforce", "testing" or "none" (RFC 8461 §5).
    pub mta_sts_mode: String,
    /// MX host names (or `*.` patterns) the policy allows; empty: the hostname.
    pub mta_sts_mx: Vec<String>,
    /// How long senders may cache the policy (RFC 8461 §3.2: at most a year).
    pub mta_sts_max_age_secs: u64,
    /// Serve the web console (/admin, /account) on the https listener.
    pub console: bool,
    /// The https port the http listener redirects to (the public one);
    /// unset: the https listener's own port.
    pub https_port: Option<u16>,
    /// A console session ends after this long without a request...
    pub session_idle_secs: u64,
    /// ...and this long after its login, whatever happens.
    pub session_max_secs: u64,
}

impl Default for RawWeb {
    fn default() -> Self {
        let p = postern_web::Ports::default();
        RawWeb {
            max_body_bytes: postern_web::WebConfig::default().max_body,
            imaps_port: p.imaps,
            imap_port: p.imap,
            pop3s_port: p.pop3s,
            pop3_port: p.pop3,
            submissions_port: p.submissions,
            submission_port: p.submission,
            managesieve_port: p.managesieve,
            mta_sts: false,
            mta_sts_mode: "enforce".into(),
            mta_sts_mx: Vec::new(),
            mta_sts_max_age_secs: 604_800,
            console: true,
            https_port: None,
            session_idle_secs: 1800,
            session_max_secs: 43_200,
        }
    }
}

impl RawWeb {
    /// Checks the section; `Err((key, reason))` for the first refusal.
    pub fn check(&self, hostname: &str) -> Result<postern_web::WebConfig, (String, String)> {
        let refuse = |key: &str, reason: String| Err((format!("web.{key}"), reason));
        if self.max_body_bytes < 1024 {
            return refuse(
                "max_body_bytes",
                format!(
                    "{} is too small for an autodiscover request (at least 1024)",
                    self.max_body_bytes
                ),
            );
        }
        for (key, port) in [
            ("imaps_port", self.imaps_port),
            ("imap_port", self.imap_port),
            ("pop3s_port", self.pop3s_port),
            ("pop3_port", self.pop3_port),
            ("submissions_port", self.submissions_port),
            ("submission_port", self.submission_port),
            ("managesieve_port", self.managesieve_port),
        ] {
            if port == 0 {
                return refuse(key, "must be a port clients can reach, not 0".into());
            }
        }
        if self.https_port == Some(0) {
            return refuse(
                "https_port",
                "must be a port clients can reach, not 0".into(),
            );
        }
        if !(60..=86_400 * 30).contains(&self.session_idle_secs) {
            return refuse(
                "session_idle_secs",
                "must be between 60 and 2592000 (30 days)".into(),
            );
        }
        if !(self.session_idle_secs..=86_400 * 365).contains(&self.session_max_secs) {
            return refuse(
                "session_max_secs",
                "must be at least session_idle_secs and at most 31536000 (a year)".into(),
            );
        }
        let mta_sts = if self.mta_sts {
            let mode = self.mta_sts_mode.to_ascii_lowercase();
            if !matches!(mode.as_str(), "enforce" | "testing" | "none") {
                return refuse(
                    "mta_sts_mode",
                    format!(
                        "{:?} is not \"enforce\", \"testing\" or \"none\"",
                        self.mta_sts_mode
                    ),
                );
            }
            if !(1..=31_557_600).contains(&self.mta_sts_max_age_secs) {
                return refuse(
                    "mta_sts_max_age_secs",
                    "must be between 1 and 31557600 (RFC 8461 §3.2)".into(),
                );
            }
            let mx = if self.mta_sts_mx.is_empty() {
                vec![hostname.to_string()]
            } else {
                self.mta_sts_mx
                    .iter()
                    .map(|m| m.trim().to_ascii_lowercase())
                    .collect()
            };
            let host_like = |m: &str| super::dns_labels(m.strip_prefix("*.").unwrap_or(m));
            if let Some(bad) = mx.iter().find(|m| !host_like(m)) {
                return refuse(
                    "mta_sts_mx",
                    format!("{bad:?} is not a host name or a *. pattern"),
                );
            }
            // RFC 8461 §3.2: lines end in CRLF.
            let mut body = format!("version: STSv1\r\nmode: {mode}\r\n");
            for m in &mx {
                body.push_str(&format!("mx: {m}\r\n"));
            }
            body.push_str(&format!("max_age: {}\r\n", self.mta_sts_max_age_secs));
            // The policy must read back with the parser our own sender uses.
            match mta_sts::parse_policy(&body) {
                Some(p) if p.mx == mx => {}
                _ => {
                    return refuse(
                        "mta_sts_mx",
                        format!("{:?} are not host names or *. patterns", self.mta_sts_mx),
                    );
                }
            }
            Some(body)
        } else {
            None
        };
        Ok(postern_web::WebConfig {
            hostname: hostname.to_string(),
            ports: postern_web::Ports {
                imaps: self.imaps_port,
                imap: self.imap_port,
                pop3s: self.pop3s_port,
                pop3: self.pop3_port,
                submissions: self.submissions_port,
                submission: self.submission_port,
                managesieve: self.managesieve_port,
            },
            max_body: self.max_body_bytes,
            mta_sts,
            console: self.console,
            https_port: self.https_port,
            session: postern_store::SessionLimits {
                idle_secs: self.session_idle_secs as i64,
                absolute_secs: self.session_max_secs as i64,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mta_sts_policy_reads_back() {
        let w = RawWeb {
            mta_sts: true,
            mta_sts_mx: vec!["mx1.example.org".into(), "*.example.net".into()],
            ..RawWeb::default()
        };
        let c = w.check("mail.example.org").expect("valid");
        let p = mta_sts::parse_policy(c.mta_sts.as_deref().expect("on")).expect("parses");
        assert_eq!(p.mode, mta_sts::Mode::Enforce);
        assert!(p.allows("a.example.net") && p.allows("mx1.example.org"));
        let bad = RawWeb {
            mta_sts: true,
            mta_sts_mx: vec!["bad host".into()],
            ..RawWeb::default()
        };
        assert_eq!(
            bad.check("h").err().map(|e| e.0).as_deref(),
            Some("web.mta_sts_mx")
        );
        let bad = RawWeb {
            mta_sts: true,
            mta_sts_mode: "strict".into(),
            ..RawWeb::default()
        };
        assert!(bad.check("h").is_err());
    }

    #[test]
    fn console_session_limits_are_checked() {
        let c = RawWeb::default().check("h").expect("defaults");
        assert!(c.console && c.https_port.is_none());
        assert_eq!(
            (c.session.idle_secs, c.session.absolute_secs),
            (1800, 43_200)
        );
        for (idle, max, key) in [
            (10, 43_200, "web.session_idle_secs"),
            (1800, 600, "web.session_max_secs"),
        ] {
            let w = RawWeb {
                session_idle_secs: idle,
                session_max_secs: max,
                ..RawWeb::default()
            };
            assert_eq!(w.check("h").err().map(|e| e.0).as_deref(), Some(key));
        }
        let w = RawWeb {
            https_port: Some(0),
            ..RawWeb::default()
        };
        assert_eq!(
            w.check("h").err().map(|e| e.0).as_deref(),
            Some("web.https_port")
        );
    }
}
