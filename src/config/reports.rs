//! The `[reports]` section: DMARC aggregate (RFC 7489 §7.2) and TLS-RPT
//! (RFC 8460) reports, sent once a day and read when they arrive at our
//! own report address; checked into `postern_delivery::reports::ReportsConfig`.

use std::time::Duration;

use postern_delivery::reports::ReportsConfig;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawReports {
    pub send_dmarc: bool,
    pub send_tls: bool,
    pub hour: u8,
    pub retain_days: u32,
    pub max_report_bytes: u64,
    pub flush_secs: u64,
    pub address: String,
    pub from: String,
    pub org_name: String,
    /// TLS reports POSTed to an https `rua` (RFC 8460 §3).
    pub https_timeout_secs: u64,
    pub https_retry_secs: u64,
    pub https_give_up_secs: u64,
}

impl Default for RawReports {
    fn default() -> Self {
        let d = ReportsConfig::default();
        RawReports {
            send_dmarc: d.send_dmarc,
            send_tls: d.send_tls,
            hour: d.hour,
            retain_days: d.retain_days,
            max_report_bytes: d.max_report_bytes,
            flush_secs: d.flush.as_secs(),
            address: d.address,
            from: d.from,
            org_name: d.org_name,
            https_timeout_secs: d.https_timeout.as_secs(),
            https_retry_secs: d.https_retry.as_secs(),
            https_give_up_secs: d.https_give_up.as_secs(),
        }
    }
}

impl RawReports {
    /// `Err((key, reason))` for the first value refused.
    pub fn check(&self) -> Result<ReportsConfig, (String, String)> {
        let refuse = |key: &str, reason: String| Err((format!("reports.{key}"), reason));
        if self.hour > 23 {
            return refuse("hour", format!("{} is not an hour (0 to 23)", self.hour));
        }
        if self.retain_days == 0 || self.retain_days > 3660 {
            return refuse(
                "retain_days",
                format!("{} is not between 1 and 3660", self.retain_days),
            );
        }
        if self.max_report_bytes < 1024 {
            return refuse(
                "max_report_bytes",
                format!("{} is below 1024", self.max_report_bytes),
            );
        }
        for (key, v) in [
            ("https_timeout_secs", self.https_timeout_secs),
            ("https_retry_secs", self.https_retry_secs),
        ] {
            if v == 0 {
                return refuse(key, "0 is not a time".into());
            }
        }
        if self.flush_secs > 3600 {
            return refuse("flush_secs", format!("{} is above 3600", self.flush_secs));
        }
        let local_ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
        };
        if !local_ok(&self.address) {
            return refuse(
                "address",
                format!("{:?} is not the local part of an address", self.address),
            );
        }
        if !self.from.is_empty()
            && !self
                .from
                .rsplit_once('@')
                .is_some_and(|(l, d)| local_ok(l) && !d.is_empty() && !d.contains(' '))
        {
            return refuse("from", format!("{:?} is not an address", self.from));
        }
        Ok(ReportsConfig {
            send_dmarc: self.send_dmarc,
            send_tls: self.send_tls,
            hour: self.hour,
            retain_days: self.retain_days,
            max_report_bytes: self.max_report_bytes,
            flush: Duration::from_secs(self.flush_secs),
            address: self.address.to_ascii_lowercase(),
            from: self.from.clone(),
            org_name: self.org_name.clone(),
            // Filled in from `[outbound] ca_file` by the caller.
            https_ca_file: None,
            https_timeout: Duration::from_secs(self.https_timeout_secs),
            https_retry: Duration::from_secs(self.https_retry_secs),
            https_give_up: Duration::from_secs(self.https_give_up_secs),
        })
    }
}
