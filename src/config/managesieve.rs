//! The `[managesieve]` section: what the file says, and its check into
//! `postern_managesieve::ManageSieveConfig`. The script limits are
//! `[sieve]`'s.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawManageSieve {
    /// Longest command text in bytes, literals' octets not counted.
    pub max_line: usize,
    /// Silence allowed before the connection is closed.
    pub idle_timeout_secs: u64,
    /// AUTHENTICATE without TLS from 127.0.0.1/::1; off by default.
    pub plaintext_on_loopback: bool,
    /// Bad commands and failed logins before the session is closed.
    pub max_errors: usize,
}

impl Default for RawManageSieve {
    fn default() -> Self {
        let d = postern_managesieve::ManageSieveConfig::default();
        RawManageSieve {
            max_line: d.max_line,
            idle_timeout_secs: d.idle_timeout.as_secs(),
            plaintext_on_loopback: d.plaintext_on_loopback,
            max_errors: d.max_errors,
        }
    }
}

impl RawManageSieve {
    /// Checks the limits; `Err((key, reason))` for the first one refused.
    pub fn check(
        &self,
        hostname: &str,
    ) -> Result<postern_managesieve::ManageSieveConfig, (String, String)> {
        let refuse = |key: &str, reason: String| Err((format!("managesieve.{key}"), reason));
        // A SASL PLAIN response of three 255-octet fields, base64 and
        // quoted, with AUTHENTICATE before it, needs about 1,100 bytes.
        if self.max_line < 1024 {
            return refuse(
                "max_line",
                format!(
                    "{} is below 1024, too short for AUTHENTICATE with a response",
                    self.max_line
                ),
            );
        }
        if self.idle_timeout_secs == 0 {
            return refuse("idle_timeout_secs", "must be greater than 0".into());
        }
        if self.max_errors == 0 {
            return refuse("max_errors", "must be greater than 0".into());
        }
        Ok(postern_managesieve::ManageSieveConfig {
            hostname: hostname.to_string(),
            max_line: self.max_line,
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            plaintext_on_loopback: self.plaintext_on_loopback,
            max_errors: self.max_errors,
        })
    }
}
