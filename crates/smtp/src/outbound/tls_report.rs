//! What each outbound connection's TLS did, counted for TLS-RPT (RFC
//! 8460 §4.3): per recipient domain, the policy that applied (MTA-STS, or
//! none: opportunistic STARTTLS; or the host's TLSA records under DANE,
//! `tlsa`), the MX host, and
//! success or the failure's result type. Nothing is counted for a
//! smarthost (not the recipient domain's MX) or with `[outbound] tls =
//! "off"`, nor for a connection that failed before TLS could be tried. A
//! published MTA-STS policy that could not be fetched is counted too
//! (RFC 8460 §4.3.2.3), once per delivery attempt that needed it.

use std::net::IpAddr;
use std::sync::Arc;

use postern_delivery::reports::{PolicyType, TlsOutcome, TlsResult};

use super::Runner;
use super::client::{Client, ConnError, Security};
use super::dane::{self, HostPolicy, ResultType};
use super::mta_sts::{FetchError, Mode, MtaSts, Policy};

/// RFC 8460 §4.3.1: the policy as `policy-string` lists it, one line each.
fn policy_lines(p: &Policy) -> Vec<String> {
    let mode = match p.mode {
        Mode::Enforce => "enforce",
        Mode::Testing => "testing",
        Mode::None => "none",
    };
    let mut lines = vec!["version: STSv1".to_string(), format!("mode: {mode}")];
    lines.extend(p.mx.iter().map(|m| format!("mx: {m}")));
    lines.push(format!("max_age: {}", p.max_age));
    lines
}

impl Runner {
    /// The MTA-STS policy of `domain` (`MtaSts::lookup`), a failed fetch
    /// counted for TLS-RPT under policy type `sts` with its result type
    /// (RFC 8460 §4.3.2.3) and no MX host, since none was tried for it.
    pub(crate) async fn sts_policy(&self, sts: &MtaSts, domain: &str) -> Option<Arc<Policy>> {
        let e = match sts.lookup(domain).await {
            Ok(p) => return p,
            Err(e) => e,
        };
        if let Some(rec) = &self.cfg.tls_reports
            && self.cfg.relay.is_none()
        {
            rec.tls(&TlsOutcome {
                policy_domain: domain.to_string(),
                policy_type: PolicyType::Sts,
                policy_string: Vec::new(),
                mx_host: String::new(),
                receiving_ip: String::new(),
                result: match e {
                    FetchError::Fetch(_) => TlsResult::StsPolicyFetchError,
                    FetchError::Invalid(_) => TlsResult::StsPolicyInvalid,
                    FetchError::Webpki(_) => TlsResult::StsWebpkiInvalid,
                },
            });
        }
        None
    }

    /// Counts one connection attempt to `host` at `ip` for `domain`.
    pub(crate) fn report_tls(
        &self,
        domain: &str,
        sts: Option<&Policy>,
        host: &str,
        ip: Option<IpAddr>,
        opened: Result<&Client, &ConnError>,
    ) {
        let Some(rec) = &self.cfg.tls_reports else {
            return;
        };
        if self.cfg.relay.is_some() || matches!(self.security, Security::Plain) {
            return;
        }
        let result = match opened {
            Ok(c) if c.tls => TlsResult::Success,
            Ok(_) => TlsResult::StarttlsNotSupported,
            Err(e) => match TlsResult::of_error(&e.0) {
                Some(r) => r,
                None => return,
            },
        };
        let (policy_type, policy_string) = match sts {
            Some(p) if p.mode != Mode::None => (PolicyType::Sts, policy_lines(p)),
            _ => (PolicyType::NoPolicyFound, Vec::new()),
        };
        rec.tls(&TlsOutcome {
            policy_domain: domain.to_string(),
            policy_type,
            policy_string,
            mx_host: host.trim_end_matches('.').to_string(),
            receiving_ip: ip.map(|i| i.to_string()).unwrap_or_default(),
            result,
        });
    }
    /// Records a connection to a host whose TLSA records DANE applied
    /// (policy type `tlsa`, RFC 8460 §4.4): success, or the DANE failure's
    /// result type (§4.3.2.2).
    pub(crate) fn report_dane(
        &self,
        domain: &str,
        policy: &HostPolicy,
        host: &str,
        ip: IpAddr,
        failure: Option<&dane::Failure>,
    ) {
        let Some(rec) = &self.cfg.tls_reports else {
            return;
        };
        let result = match failure.map(|f| f.result_type) {
            None => TlsResult::Success,
            Some(ResultType::TlsaInvalid) => TlsResult::TlsaInvalid,
            Some(ResultType::DnssecInvalid) => TlsResult::DnssecInvalid,
            Some(ResultType::DaneRequired) => TlsResult::DaneRequired,
            Some(ResultType::ValidationFailure) => TlsResult::ValidationFailure,
        };
        let policy_string = match policy {
            HostPolicy::Authenticate(records) => records
                .iter()
                .map(|r| format!("{} {} {} {}", r.usage, r.selector, r.matching, hex(&r.data)))
                .collect(),
            _ => Vec::new(),
        };
        rec.tls(&TlsOutcome {
            policy_domain: domain.to_string(),
            policy_type: PolicyType::Tlsa,
            policy_string,
            mx_host: host.trim_end_matches('.').to_string(),
            receiving_ip: ip.to_string(),
            result,
        });
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
