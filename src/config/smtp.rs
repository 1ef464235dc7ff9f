//! The `[smtp]` section: what the file says, and its check into
//! `postern_smtp::SmtpConfig`.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSmtp {
    pub max_command_line: usize,
    /// 0 accepts message lines of any length.
    pub max_data_line: usize,
    pub max_recipients: usize,
    pub max_errors: usize,
    /// NOOP, RSET and the like between two messages before 421 and close.
    pub max_junk_commands: usize,
    /// Past this many of them each reply is slower (a tarpit).
    pub junk_before_delay: usize,
    pub junk_max_delay_ms: u64,
    /// More Received fields than this is a mail loop (554 5.4.6).
    pub max_received_headers: usize,
    /// "reject" (550 5.6.11) or "normalize" (bare CR/LF become CRLF).
    pub bare_line_endings: String,
    pub command_timeout_secs: u64,
    pub data_timeout_secs: u64,
    pub data_total_timeout_secs: u64,
    pub received_details: bool,
}

impl Default for RawSmtp {
    fn default() -> Self {
        let d = postern_smtp::SmtpConfig::default();
        RawSmtp {
            max_command_line: d.max_command_line,
            max_data_line: d.max_data_line,
            max_recipients: d.max_recipients,
            max_errors: d.max_errors,
            max_junk_commands: d.max_junk_commands,
            junk_before_delay: d.junk_before_delay,
            junk_max_delay_ms: d.junk_max_delay.as_millis() as u64,
            max_received_headers: d.max_received_headers,
            bare_line_endings: "reject".into(),
            command_timeout_secs: d.command_timeout.as_secs(),
            data_timeout_secs: d.data_timeout.as_secs(),
            data_total_timeout_secs: d.data_total_timeout.as_secs(),
            received_details: d.received_details,
        }
    }
}

impl RawSmtp {
    /// Checks the limits; `Err((key, reason))` for the first one refused.
    pub fn check(
        &self,
        hostname: &str,
        max_message_size: u64,
    ) -> Result<postern_smtp::SmtpConfig, (String, String)> {
        let refuse = |key: &str, reason: String| Err((key.to_string(), reason));
        let positive = |key: &str, v: u64| {
            if v == 0 {
                Err((key.to_string(), "must be greater than 0".to_string()))
            } else {
                Ok(v)
            }
        };
        if self.max_command_line < 512 {
            return refuse(
                "smtp.max_command_line",
                format!(
                    "{} is below 512, the least RFC 5321 §4.5.3.1.4 allows",
                    self.max_command_line
                ),
            );
        }
        if self.max_data_line != 0 && self.max_data_line < 1000 {
            return refuse(
                "smtp.max_data_line",
                format!(
                    "{} is below 1000 (RFC 5321 §4.5.3.1.6); 0 means no limit",
                    self.max_data_line
                ),
            );
        }
        if self.max_recipients < 100 {
            return refuse(
                "smtp.max_recipients",
                format!(
                    "{} is below 100, the least RFC 5321 §4.5.3.1.8 allows",
                    self.max_recipients
                ),
            );
        }
        positive("smtp.max_errors", self.max_errors as u64)?;
        positive(
            "smtp.max_received_headers",
            self.max_received_headers as u64,
        )?;
        positive("smtp.max_junk_commands", self.max_junk_commands as u64)?;
        positive("smtp.command_timeout_secs", self.command_timeout_secs)?;
        positive("smtp.data_timeout_secs", self.data_timeout_secs)?;
        positive("smtp.data_total_timeout_secs", self.data_total_timeout_secs)?;
        let bare_line_endings = match self.bare_line_endings.as_str() {
            "reject" => postern_smtp::wire::BareLineEndings::Reject,
            "normalize" => postern_smtp::wire::BareLineEndings::Normalize,
            other => {
                return refuse(
                    "smtp.bare_line_endings",
                    format!("{other:?} is not \"reject\" or \"normalize\""),
                );
            }
        };
        Ok(postern_smtp::SmtpConfig {
            hostname: hostname.to_string(),
            max_command_line: self.max_command_line,
            max_data_line: self.max_data_line,
            max_message_size,
            max_recipients: self.max_recipients,
            max_errors: self.max_errors,
            max_junk_commands: self.max_junk_commands,
            junk_before_delay: self.junk_before_delay,
            junk_max_delay: Duration::from_millis(self.junk_max_delay_ms),
            max_received_headers: self.max_received_headers,
            bare_line_endings,
            command_timeout: Duration::from_secs(self.command_timeout_secs),
            data_timeout: Duration::from_secs(self.data_timeout_secs),
            data_total_timeout: Duration::from_secs(self.data_total_timeout_secs),
            received_details: self.received_details,
            ..postern_smtp::SmtpConfig::default()
        })
    }
}
