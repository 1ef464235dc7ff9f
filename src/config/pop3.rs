//! The `[pop3]` section: what the file says, and its check into
//! `postern_pop3::Pop3Config`.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPop3 {
    /// Longest command line in bytes, CRLF included (RFC 2449: at least 255).
    pub max_line: usize,
    /// Silence allowed before the connection is closed (RFC 1939: at least 600).
    pub idle_timeout_secs: u64,
    /// USER/PASS and AUTH without TLS from 127.0.0.1/::1; off by default.
    pub plaintext_on_loopback: bool,
    /// Bad commands and failed logins before the session is closed.
    pub max_errors: usize,
    /// RETR marks messages \Seen (at QUIT); off by default.
    pub retr_sets_seen: bool,
    /// Least seconds between two logins of one user (LOGIN-DELAY); 0: off.
    pub login_delay_secs: u64,
    /// Remove messages this many days after a POP3 client first retrieved
    /// them (advertised as EXPIRE); 0: at that session's QUIT; unset: never.
    pub expire_days: Option<u32>,
    /// Messages a session lists at most (the oldest by UID); bounds a
    /// session's memory on a huge maildrop.
    pub max_messages: usize,
}

impl Default for RawPop3 {
    fn default() -> Self {
        let d = postern_pop3::Pop3Config::default();
        RawPop3 {
            max_line: d.max_line,
            idle_timeout_secs: d.idle_timeout.as_secs(),
            plaintext_on_loopback: d.plaintext_on_loopback,
            max_errors: d.max_errors,
            retr_sets_seen: d.retr_sets_seen,
            login_delay_secs: d.login_delay.as_secs(),
            expire_days: None,
            max_messages: d.max_messages,
        }
    }
}

impl RawPop3 {
    /// Checks the limits; `Err((key, reason))` for the first one refused.
    pub fn check(&self, hostname: &str) -> Result<postern_pop3::Pop3Config, (String, String)> {
        let refuse = |key: &str, reason: String| Err((format!("pop3.{key}"), reason));
        if self.max_line < 255 {
            return refuse(
                "max_line",
                format!(
                    "{} is below 255, the least RFC 2449 §4 allows",
                    self.max_line
                ),
            );
        }
        if self.idle_timeout_secs < 600 {
            return refuse(
                "idle_timeout_secs",
                format!(
                    "{} is below 600 (RFC 1939 §3: at least 10 minutes)",
                    self.idle_timeout_secs
                ),
            );
        }
        if self.max_messages == 0 {
            return refuse("max_messages", "must be greater than 0".into());
        }
        if self.max_errors == 0 {
            return refuse("max_errors", "must be greater than 0".into());
        }
        Ok(postern_pop3::Pop3Config {
            hostname: hostname.to_string(),
            max_line: self.max_line,
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            plaintext_on_loopback: self.plaintext_on_loopback,
            max_errors: self.max_errors,
            retr_sets_seen: self.retr_sets_seen,
            login_delay: Duration::from_secs(self.login_delay_secs),
            expire: self
                .expire_days
                .map(|d| Duration::from_secs(u64::from(d) * 86_400)),
            max_messages: self.max_messages,
        })
    }
}
