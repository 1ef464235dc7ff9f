//! Trace headers (RFC 5321 §4.4): `Return-Path` and `Received`, with the
//! protocol keyword of RFC 3848 (SMTP, ESMTP, ESMTPS, ESMTPSA) and the date in
//! RFC 5322 form.

use std::net::IpAddr;

/// What a Received header says about one hop.
pub(super) struct Hop<'a> {
    pub helo: &'a str,
    pub ip: IpAddr,
    pub by: &'a str,
    /// RFC 3848 keyword.
    pub with: &'static str,
    /// e.g. "TLSv1.3 with cipher TLS13_AES_256_GCM_SHA384".
    pub tls: Option<String>,
    pub user: Option<&'a str>,
    pub id: &'a str,
    /// Only when the message has exactly one recipient (RFC 5321 §4.4
    /// warns that listing several discloses Bcc recipients).
    pub for_rcpt: Option<&'a str>,
    pub date: i64,
}

/// `Return-Path: <sender>` followed by `Received: ...`, each folded to
/// stay well under 998 octets per line, ending with CRLF.
pub(super) fn headers(reverse_path: &str, hop: &Hop<'_>) -> Vec<u8> {
    let mut out = format!("Return-Path: <{}>\r\n", sanitize(reverse_path));
    let ip = match hop.ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => format!("IPv6:{v6}"),
        },
    };
    out.push_str(&format!(
        "Received: from {} ([{ip}])\r\n",
        sanitize(hop.helo)
    ));
    out.push_str(&format!("\tby {} (Postern) with {}", hop.by, hop.with));
    if let Some(tls) = &hop.tls {
        out.push_str(&format!("\r\n\t(using {tls})"));
    }
    if let Some(u) = hop.user {
        out.push_str(&format!("\r\n\t(authenticated as {})", sanitize(u)));
    }
    out.push_str(&format!("\r\n\tid {}", hop.id));
    if let Some(r) = hop.for_rcpt {
        out.push_str(&format!("\r\n\tfor <{}>", sanitize(r)));
    }
    out.push_str(&format!(";\r\n\t{}\r\n", rfc5322_date(hop.date)));
    out.into_bytes()
}

/// Keeps a client-supplied string from breaking the header: no CR, LF or
/// other controls, at most 200 characters.
fn sanitize(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// `Wed, 25 Nov 2026 01:25:23 +0000` (RFC 5322 §3.3), in UTC.
pub(crate) fn rfc5322_date(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = postern_net::civil_from_days(days);
    let weekday = DAYS[days.rem_euclid(7) as usize];
    format!(
        "{weekday}, {d} {} {y} {:02}:{:02}:{:02} +0000",
        MONTHS[usize::from(m) - 1],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc5322_in_utc() {
        assert_eq!(rfc5322_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_795_570_523),
            "Wed, 25 Nov 2026 01:35:23 +0000"
        );
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn received_names_the_hop_and_cannot_be_broken_by_the_client() {
        let h = headers(
            "ann@example.org",
            &Hop {
                helo: "evil\r\nX-Injected: yes",
                ip: "::ffff:192.0.2.1".parse().expect("ip"),
                by: "mail.test",
                with: "ESMTPSA",
                tls: Some("TLSv1.3 with cipher TLS13_AES_128_GCM_SHA256".into()),
                user: Some("ann@example.org"),
                id: "abc123",
                for_rcpt: Some("bob@example.org"),
                date: 0,
            },
        );
        let text = String::from_utf8(h).expect("utf8");
        assert!(text.starts_with("Return-Path: <ann@example.org>\r\nReceived: from evilX-Injected: yes ([192.0.2.1])\r\n"), "{text}");
        assert!(
            text.contains("\tby mail.test (Postern) with ESMTPSA\r\n\t(using TLSv1.3"),
            "{text}"
        );
        assert!(
            text.contains("(authenticated as ann@example.org)"),
            "{text}"
        );
        assert!(
            text.ends_with("\tfor <bob@example.org>;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n"),
            "{text}"
        );
        assert!(!text.contains("\r\nX-Injected"), "no header injection");
    }
}
