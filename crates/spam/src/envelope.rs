//! Tests on how the message came, not on what it says: the HELO name the
//! client gave, and the SPF, DKIM, DMARC and ARC results mail
//! authentication found. The results arrive as [`AuthFacts`] (plain outcomes, so this crate
//! needs no mail-auth types); each finding is a named [`Contribution`].

use std::net::IpAddr;

use crate::config::EnvelopeWeights;
use crate::verdict::Contribution;

/// One authentication method's result, as RFC 8601 names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    Pass,
    Fail,
    SoftFail,
    Neutral,
    None,
    TempError,
    PermError,
}

/// What SPF, DKIM, DMARC and ARC said; `None` when not checked (timed
/// out, switched off).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthFacts {
    pub spf: Option<AuthOutcome>,
    /// Pass when any signature passed, else the first failure.
    pub dkim: Option<AuthOutcome>,
    pub dmarc: Option<AuthOutcome>,
    /// The ARC chain (RFC 8617): Pass, Fail, or None without ARC sets.
    pub arc: Option<AuthOutcome>,
    /// DMARC failed, but a passing ARC chain whose last sealer the operator
    /// trusts vouches for the message (a list or forwarder that broke the
    /// From domain's SPF or DKIM): the failure does not count.
    pub dmarc_arc_override: bool,
    /// The From domain is authenticated: DMARC passed, or SPF passed for
    /// a MAIL FROM of exactly that domain, or a DKIM signature of exactly
    /// that domain passed (strict alignment, for domains without a DMARC
    /// record). What a user's allowed sender needs (`prefs.rs`).
    pub from_aligned: bool,
}

/// The envelope tests on one connection. `ours` are this server's host name
/// and local domains (lowercase); a client naming one of them in HELO
/// pretends to be us.
pub fn contributions(
    ip: IpAddr,
    helo: &str,
    auth: &AuthFacts,
    ours: &[String],
    w: &EnvelopeWeights,
) -> Vec<Contribution> {
    let mut out = Vec::new();
    let mut add = |test: &str, score: f64, detail: &str| {
        out.push(Contribution::new(test, score, detail));
    };
    let h = helo.trim().trim_end_matches('.').to_ascii_lowercase();
    if let Some(lit) = h.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        let lit = lit.strip_prefix("ipv6:").unwrap_or(lit);
        match lit.parse::<IpAddr>() {
            Ok(claimed) if same_ip(claimed, ip) => {}
            _ => add("HELO_LITERAL_MISMATCH", w.helo_literal_mismatch, &h),
        }
    } else if h.parse::<IpAddr>().is_ok() {
        add("HELO_BARE_IP", w.helo_bare_ip, &h);
    } else if ours.contains(&h) {
        add("HELO_CLAIMS_US", w.helo_claims_us, &h);
    } else if !h.contains('.') || h.starts_with('.') {
        add("HELO_NOT_FQDN", w.helo_not_fqdn, &h);
    }
    match auth.spf {
        Some(AuthOutcome::Fail) => add("SPF_FAIL", w.spf_fail, ""),
        Some(AuthOutcome::SoftFail) => add("SPF_SOFTFAIL", w.spf_softfail, ""),
        _ => {}
    }
    match auth.dkim {
        Some(AuthOutcome::Pass) => add("DKIM_PASS", w.dkim_pass, ""),
        Some(AuthOutcome::Fail) => add("DKIM_FAIL", w.dkim_fail, ""),
        _ => {}
    }
    match auth.dmarc {
        Some(AuthOutcome::Pass) => add("DMARC_PASS", w.dmarc_pass, ""),
        Some(AuthOutcome::Fail) if !auth.dmarc_arc_override => add("DMARC_FAIL", w.dmarc_fail, ""),
        _ => {}
    }
    // A broken chain: someone on the way sealed it and it no longer
    // verifies. No chain at all is the usual case and scores nothing.
    if auth.arc == Some(AuthOutcome::Fail) {
        add("ARC_FAIL", w.arc_fail, "");
    }
    out
}

/// IPv4-mapped IPv6 addresses are their IPv4 address.
fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    canon(a) == canon(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tests_fired(helo: &str, auth: AuthFacts) -> Vec<String> {
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        contributions(
            ip,
            helo,
            &auth,
            &["mx.example.org".into(), "example.org".into()],
            &EnvelopeWeights::default(),
        )
        .into_iter()
        .map(|c| c.test)
        .collect()
    }

    #[test]
    fn helo_checks_name_what_is_wrong() {
        let none = AuthFacts::default();
        assert!(tests_fired("mail.sender.example", none).is_empty());
        assert!(tests_fired("[192.0.2.7]", none).is_empty());
        assert!(tests_fired("[IPv6:::ffff:192.0.2.7]", none).is_empty());
        assert_eq!(tests_fired("[192.0.2.8]", none), ["HELO_LITERAL_MISMATCH"]);
        assert_eq!(tests_fired("[garbage]", none), ["HELO_LITERAL_MISMATCH"]);
        assert_eq!(tests_fired("192.0.2.7", none), ["HELO_BARE_IP"]);
        assert_eq!(tests_fired("MX.Example.org.", none), ["HELO_CLAIMS_US"]);
        assert_eq!(tests_fired("localhost", none), ["HELO_NOT_FQDN"]);
    }

    #[test]
    fn authentication_results_add_and_subtract() {
        let auth = AuthFacts {
            spf: Some(AuthOutcome::Fail),
            dkim: Some(AuthOutcome::Pass),
            dmarc: Some(AuthOutcome::Fail),
            arc: Some(AuthOutcome::Fail),
            ..AuthFacts::default()
        };
        assert_eq!(
            tests_fired("mail.sender.example", auth),
            ["SPF_FAIL", "DKIM_PASS", "DMARC_FAIL", "ARC_FAIL"]
        );
        let soft = AuthFacts {
            spf: Some(AuthOutcome::SoftFail),
            dkim: Some(AuthOutcome::TempError),
            dmarc: Some(AuthOutcome::None),
            arc: Some(AuthOutcome::None),
            ..AuthFacts::default()
        };
        assert_eq!(tests_fired("mail.sender.example", soft), ["SPF_SOFTFAIL"]);
    }

    #[test]
    fn a_trusted_arc_chain_silences_dmarc_fail_and_a_passing_chain_adds_nothing() {
        let vouched = AuthFacts {
            dmarc: Some(AuthOutcome::Fail),
            arc: Some(AuthOutcome::Pass),
            dmarc_arc_override: true,
            ..AuthFacts::default()
        };
        assert!(tests_fired("mail.sender.example", vouched).is_empty());
        let untrusted = AuthFacts {
            dmarc_arc_override: false,
            ..vouched
        };
        assert_eq!(
            tests_fired("mail.sender.example", untrusted),
            ["DMARC_FAIL"]
        );
    }
}
