//! SMTP TLS Reporting (RFC 8460): the result types of outbound TLS, the
//! report we send (§4.4's JSON, built from the store's `tls_seen` rows),
//! and the reports we receive read back into rows, in the shapes Google
//! and Microsoft send (Microsoft leaves out `receiving-mx-hostname` at
//! times and adds `failure-reason-code`; both are taken as they come).

use std::collections::BTreeMap;

use postern_store::{ReceivedReport, ReceivedRow, ReportKind, TlsSeen};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The policy that applied to a delivery (RFC 8460 §4.3.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyType {
    /// MTA-STS (RFC 8461), testing or enforce.
    Sts,
    /// DANE (RFC 7672): the MX host's TLSA records.
    Tlsa,
    /// Neither: opportunistic STARTTLS.
    NoPolicyFound,
}

impl PolicyType {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Sts => "sts",
            PolicyType::Tlsa => "tlsa",
            PolicyType::NoPolicyFound => "no-policy-found",
        }
    }
}

/// How a TLS session went (RFC 8460 §4.3.2): success, or a failure's
/// result type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsResult {
    Success,
    // §4.3.2.1, negotiation failures.
    StarttlsNotSupported,
    CertificateHostMismatch,
    CertificateExpired,
    CertificateNotTrusted,
    ValidationFailure,
    // §4.3.2.2, DANE policy failures.
    TlsaInvalid,
    DnssecInvalid,
    DaneRequired,
    // §4.3.2.3, MTA-STS policy failures.
    StsPolicyFetchError,
    StsPolicyInvalid,
    StsWebpkiInvalid,
}

impl TlsResult {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsResult::Success => "success",
            TlsResult::StarttlsNotSupported => "starttls-not-supported",
            TlsResult::CertificateHostMismatch => "certificate-host-mismatch",
            TlsResult::CertificateExpired => "certificate-expired",
            TlsResult::CertificateNotTrusted => "certificate-not-trusted",
            TlsResult::ValidationFailure => "validation-failure",
            TlsResult::TlsaInvalid => "tlsa-invalid",
            TlsResult::DnssecInvalid => "dnssec-invalid",
            TlsResult::DaneRequired => "dane-required",
            TlsResult::StsPolicyFetchError => "sts-policy-fetch-error",
            TlsResult::StsPolicyInvalid => "sts-policy-invalid",
            TlsResult::StsWebpkiInvalid => "sts-webpki-invalid",
        }
    }

    /// What a failed connection attempt was, read from the client's error
    /// text (`4.7.4 …` STARTTLS missing or refused, `4.7.5 TLS with …`
    /// the handshake, with rustls's reason); `None` when it was no TLS
    /// failure (a refused connection, a timeout before STARTTLS).
    pub fn of_error(text: &str) -> Option<TlsResult> {
        let t = text.to_ascii_lowercase();
        if t.starts_with("4.7.4") {
            return Some(TlsResult::StarttlsNotSupported);
        }
        if !t.starts_with("4.7.5") {
            return None;
        }
        Some(
            if t.contains("not valid for name") || t.contains("notvalidforname") {
                TlsResult::CertificateHostMismatch
            } else if t.contains("expired") {
                TlsResult::CertificateExpired
            } else if t.contains("unknownissuer")
                || t.contains("unknown issuer")
                || t.contains("badsignature")
            {
                TlsResult::CertificateNotTrusted
            } else {
                TlsResult::ValidationFailure
            },
        )
    }
}

/// One outcome for the recorder: which policy, which MX host, what result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsOutcome {
    pub policy_domain: String,
    pub policy_type: PolicyType,
    /// The policy's lines (`version: STSv1`, `mode: …`, `mx: …`,
    /// `max_age: …` for MTA-STS; the TLSA records for DANE).
    pub policy_string: Vec<String>,
    pub mx_host: String,
    pub receiving_ip: String,
    pub result: TlsResult,
}

/// What a report says about its sender.
pub struct Submitter<'a> {
    pub org_name: &'a str,
    pub contact: &'a str,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct Report {
    #[serde(default)]
    organization_name: String,
    #[serde(default)]
    date_range: DateRange,
    #[serde(default)]
    contact_info: String,
    #[serde(default)]
    report_id: String,
    #[serde(default)]
    policies: Vec<PolicyBlock>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct DateRange {
    #[serde(default)]
    start_datetime: String,
    #[serde(default)]
    end_datetime: String,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct PolicyBlock {
    #[serde(default)]
    policy: Policy,
    #[serde(default)]
    summary: Summary,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    failure_details: Vec<FailureDetail>,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct Policy {
    #[serde(default)]
    policy_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    policy_string: Vec<String>,
    #[serde(default)]
    policy_domain: String,
    /// A list in RFC 8460 §4.4; some senders write one string.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    mx_host: Value,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct Summary {
    #[serde(default)]
    total_successful_session_count: u64,
    #[serde(default)]
    total_failure_session_count: u64,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct FailureDetail {
    #[serde(default)]
    result_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    sending_mta_ip: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    receiving_mx_hostname: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    receiving_ip: String,
    #[serde(default)]
    failed_session_count: u64,
}

/// RFC 8460 §4.4 `sending-mta-ip`: the address this host sends from to
/// reach `receiving`. Postern does not bind its outbound connections to a
/// chosen address, so that is the kernel's choice for the destination,
/// asked by connecting a UDP socket (no packet is sent); empty when there
/// is no route (or no connection was made).
fn sending_ip(receiving: &str) -> String {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
    let Ok(dest) = receiving.parse::<IpAddr>() else {
        return String::new();
    };
    let any: SocketAddr = match dest {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    UdpSocket::bind(any)
        .and_then(|s| {
            s.connect((dest, 25))?;
            s.local_addr()
        })
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

/// RFC 3339 UTC time of Unix seconds (`2026-12-06T00:00:00Z`).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let s = secs.rem_euclid(86400);
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Days since the epoch to (year, month, day), Howard Hinnant's
/// days-to-civil algorithm.
pub(crate) fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The inverse of [`rfc3339`] for the shapes reports use (`Z` or an
/// offset, fractions ignored); `None` when it is not a date-time.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let num = |a: usize, b: usize| s.get(a..b).and_then(|x| x.parse::<i64>().ok());
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, se) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (the inverse of `civil`).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2.rem_euclid(400);
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let mut t = days * 86400 + h * 3600 + mi * 60 + se;
    // An offset after the seconds (and any fraction): local = UTC + offset.
    let rest = s.get(19..).unwrap_or("");
    let rest = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    if let Some(sign) = rest.chars().next().filter(|c| *c == '+' || *c == '-') {
        let oh = rest
            .get(1..3)
            .and_then(|x| x.parse::<i64>().ok())
            .unwrap_or(0);
        let om = rest
            .get(4..6)
            .and_then(|x| x.parse::<i64>().ok())
            .unwrap_or(0);
        let off = oh * 3600 + om * 60;
        t += if sign == '+' { -off } else { off };
    }
    Some(t)
}

/// The JSON report (RFC 8460 §4.4) for one policy domain's rows, covering
/// `begin..end` (Unix seconds; `end` exclusive, shown as the second before).
pub fn build(
    who: &Submitter<'_>,
    report_id: &str,
    begin: i64,
    end: i64,
    rows: &[TlsSeen],
) -> String {
    // One policy block per (policy domain, type, policy string).
    let mut blocks: BTreeMap<(String, String, String), PolicyBlock> = BTreeMap::new();
    let mut mx_hosts: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    for r in rows {
        let key = (
            r.policy_domain.clone(),
            r.policy_type.clone(),
            r.policy_string.clone(),
        );
        let b = blocks.entry(key.clone()).or_insert_with(|| PolicyBlock {
            policy: Policy {
                policy_type: r.policy_type.clone(),
                policy_string: r
                    .policy_string
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
                policy_domain: r.policy_domain.clone(),
                mx_host: Value::Null,
            },
            ..PolicyBlock::default()
        });
        let n = r.count.max(0) as u64;
        if r.result == TlsResult::Success.as_str() {
            b.summary.total_successful_session_count += n;
        } else {
            b.summary.total_failure_session_count += n;
            match b.failure_details.iter_mut().find(|f| {
                f.result_type == r.result
                    && f.receiving_mx_hostname == r.mx_host
                    && f.receiving_ip == r.receiving_ip
            }) {
                Some(f) => f.failed_session_count += n,
                None => b.failure_details.push(FailureDetail {
                    result_type: r.result.clone(),
                    sending_mta_ip: sending_ip(&r.receiving_ip),
                    receiving_mx_hostname: r.mx_host.clone(),
                    receiving_ip: r.receiving_ip.clone(),
                    failed_session_count: n,
                }),
            }
        }
        let hosts = mx_hosts.entry(key).or_default();
        if !r.mx_host.is_empty() && !hosts.contains(&r.mx_host) {
            hosts.push(r.mx_host.clone());
        }
    }
    let policies = blocks
        .into_iter()
        .map(|(key, mut b)| {
            if let Some(hosts) = mx_hosts.remove(&key)
                && !hosts.is_empty()
            {
                b.policy.mx_host = Value::from(hosts);
            }
            b
        })
        .collect();
    let report = Report {
        organization_name: who.org_name.to_string(),
        date_range: DateRange {
            start_datetime: rfc3339(begin),
            end_datetime: rfc3339(end - 1),
        },
        contact_info: who.contact.to_string(),
        report_id: report_id.to_string(),
        policies,
    };
    serde_json::to_string_pretty(&report).unwrap_or_default()
}

/// A received TLS report as rows (`None`: not an RFC 8460 report).
pub fn parse(json: &[u8]) -> Option<ReceivedReport> {
    let r: Report = serde_json::from_slice(json).ok()?;
    if r.policies.is_empty() && r.organization_name.is_empty() {
        return None;
    }
    let mut rows = Vec::new();
    let mut domain = String::new();
    for p in &r.policies {
        let policy_domain = p.policy.policy_domain.to_ascii_lowercase();
        if domain.is_empty() {
            domain = policy_domain.clone();
        }
        let first_mx = match &p.policy.mx_host {
            Value::String(s) => Some(s.clone()),
            Value::Array(a) => a.first().and_then(|v| v.as_str()).map(str::to_string),
            _ => None,
        };
        let kind = p.policy.policy_type.clone();
        if p.summary.total_successful_session_count > 0 {
            rows.push(ReceivedRow {
                source: first_mx.clone().unwrap_or_else(|| policy_domain.clone()),
                result: TlsResult::Success.as_str().into(),
                detail: kind.clone(),
                count: p
                    .summary
                    .total_successful_session_count
                    .min(i64::MAX as u64) as i64,
            });
        }
        let mut listed = 0u64;
        for f in &p.failure_details {
            listed += f.failed_session_count;
            let source = if !f.receiving_mx_hostname.is_empty() {
                f.receiving_mx_hostname.to_ascii_lowercase()
            } else if !f.receiving_ip.is_empty() {
                f.receiving_ip.clone()
            } else {
                first_mx.clone().unwrap_or_else(|| policy_domain.clone())
            };
            rows.push(ReceivedRow {
                source,
                result: f.result_type.clone(),
                detail: kind.clone(),
                count: f.failed_session_count.min(i64::MAX as u64) as i64,
            });
        }
        // Failures counted in the summary but not detailed.
        let rest = p.summary.total_failure_session_count.saturating_sub(listed);
        if rest > 0 {
            rows.push(ReceivedRow {
                source: first_mx.unwrap_or_else(|| policy_domain.clone()),
                result: "failure".into(),
                detail: kind,
                count: rest.min(i64::MAX as u64) as i64,
            });
        }
    }
    let begin = parse_rfc3339(&r.date_range.start_datetime).unwrap_or(0);
    let end = parse_rfc3339(&r.date_range.end_datetime).unwrap_or(begin);
    Some(ReceivedReport {
        kind: ReportKind::Tls,
        org: r.organization_name,
        report_id: r.report_id,
        domain,
        begin,
        end,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(result: &str, mx: &str, count: i64) -> TlsSeen {
        TlsSeen {
            day: 20_000,
            policy_domain: "remote.test".into(),
            policy_type: "sts".into(),
            mx_host: mx.into(),
            receiving_ip: "192.0.2.25".into(),
            result: result.into(),
            policy_string: "version: STSv1\nmode: enforce\nmx: mx.remote.test\nmax_age: 86400"
                .into(),
            count,
        }
    }

    #[test]
    fn a_built_report_has_the_rfc_8460_fields_and_reads_back() {
        let who = Submitter {
            org_name: "mail.test",
            contact: "postmaster@example.org",
        };
        let rows = [
            row("success", "mx.remote.test", 5),
            row("certificate-expired", "mx.remote.test", 2),
            row("certificate-expired", "mx.remote.test", 1),
        ];
        let json = build(&who, "r-1", 20_000 * 86400, 20_001 * 86400, &rows);
        let v: Value = serde_json::from_str(&json).expect("json");
        assert_eq!(v["organization-name"], "mail.test");
        assert_eq!(v["contact-info"], "postmaster@example.org");
        assert_eq!(v["report-id"], "r-1");
        assert_eq!(v["date-range"]["start-datetime"], "2024-10-04T00:00:00Z");
        assert_eq!(v["date-range"]["end-datetime"], "2024-10-04T23:59:59Z");
        let p = &v["policies"][0];
        assert_eq!(p["policy"]["policy-type"], "sts");
        assert_eq!(p["policy"]["policy-domain"], "remote.test");
        assert_eq!(p["policy"]["policy-string"][1], "mode: enforce");
        assert_eq!(p["policy"]["mx-host"][0], "mx.remote.test");
        assert_eq!(p["summary"]["total-successful-session-count"], 5);
        assert_eq!(p["summary"]["total-failure-session-count"], 3);
        let f = &p["failure-details"][0];
        assert_eq!(f["result-type"], "certificate-expired");
        assert_eq!(f["receiving-mx-hostname"], "mx.remote.test");
        assert_eq!(f["failed-session-count"], 3);
        assert_eq!(p["failure-details"].as_array().map(Vec::len), Some(1));

        let back = parse(json.as_bytes()).expect("parses");
        assert_eq!(back.org, "mail.test");
        assert_eq!(back.domain, "remote.test");
        assert_eq!(back.begin, 20_000 * 86400);
        let counts: Vec<(&str, i64)> = back
            .rows
            .iter()
            .map(|r| (r.result.as_str(), r.count))
            .collect();
        assert_eq!(counts, [("success", 5), ("certificate-expired", 3)]);
    }

    #[test]
    fn error_texts_map_to_result_types() {
        let cases = [
            (
                "4.7.4 mx [192.0.2.1] does not offer STARTTLS",
                Some("starttls-not-supported"),
            ),
            (
                "4.7.5 TLS with mx [192.0.2.1]: invalid peer certificate: certificate not valid for name \"mx\"",
                Some("certificate-host-mismatch"),
            ),
            (
                "4.7.5 TLS with mx: invalid peer certificate: certificate expired: verification time 5",
                Some("certificate-expired"),
            ),
            (
                "4.7.5 TLS with mx: invalid peer certificate: UnknownIssuer",
                Some("certificate-not-trusted"),
            ),
            ("4.7.5 TLS with mx: timed out", Some("validation-failure")),
            ("4.4.1 connecting to mx: connection refused", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                TlsResult::of_error(text).map(|r| r.as_str()),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn times_round_trip_and_offsets_count() {
        for t in [0, 951_782_400, 1_733_529_599, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t), "{t}");
        }
        assert_eq!(
            parse_rfc3339("2024-10-04T02:00:00+02:00"),
            parse_rfc3339("2024-10-04T00:00:00Z")
        );
        assert_eq!(
            parse_rfc3339("2024-10-04T00:00:00.123Z"),
            parse_rfc3339("2024-10-04T00:00:00Z")
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
