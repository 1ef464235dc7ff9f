//! DMARC aggregate reports (RFC 7489 §7.2): the XML we send, in the shape
//! of the RFC's Appendix C schema (`version`, `report_metadata`,
//! `policy_published`, one `record` per distinct result, with a `<reason>`
//! where a trusted ARC sealer overrode the policy), built from the
//! store's `dmarc_seen` rows; and the reports we receive read back into
//! rows with roxmltree (which refuses a DTD, so no entity is expanded).
//! Namespaces are ignored on reading: Microsoft's reports declare some,
//! Google's none.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use std::net::IpAddr;

use mail_auth::{DkimOutput, DkimResult, DmarcOutput, DmarcResult, SpfOutput, SpfResult};
use postern_store::{DmarcSeen, ReceivedReport, ReceivedRow, ReportKind};

use crate::mailauth::Disposition;

/// One message's checks, as `MailAuth::check` made them.
pub(crate) struct Evaluation<'a> {
    pub ip: IpAddr,
    /// The MAIL FROM domain (the HELO name for the null sender).
    pub mail_from_domain: &'a str,
    pub spf: &'a SpfOutput,
    pub dkim: &'a [DkimOutput<'a>],
    pub dmarc: &'a DmarcOutput,
    pub disposition: &'a Disposition,
    /// The `<reason><comment>` when a trusted ARC sealer overrode the
    /// policy (`arc=pass i=N d=sealer`).
    pub overridden: Option<String>,
}

/// The report row of one evaluation (count 1, today).
pub(crate) fn seen(e: Evaluation<'_>) -> DmarcSeen {
    let spf = match e.spf.result() {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
        SpfResult::None => "none",
    };
    let dkim: Vec<String> = e
        .dkim
        .iter()
        .filter_map(|d| {
            let sig = d.signature()?;
            let r = match d.result() {
                DkimResult::Pass => "pass",
                DkimResult::Fail(_) => "fail",
                DkimResult::Neutral(_) => "neutral",
                DkimResult::PermError(_) => "permerror",
                DkimResult::TempError(_) => "temperror",
                DkimResult::None => "none",
            };
            // Spaces and `;` separate the stored fields; a name with them
            // is no DNS name anyway.
            let clean = |s: &str| s.replace([' ', ';'], "").to_ascii_lowercase();
            Some(format!("{} {} {r}", clean(&sig.d), clean(&sig.s)))
        })
        .collect();
    let aligned = |r: &DmarcResult| {
        if *r == DmarcResult::Pass {
            "pass"
        } else {
            "fail"
        }
    };
    DmarcSeen {
        day: super::day_of(super::now_secs()),
        header_from: e.dmarc.domain().to_ascii_lowercase(),
        source_ip: e.ip.to_string(),
        envelope_from: e.mail_from_domain.to_ascii_lowercase(),
        spf_domain: e.spf.domain().to_ascii_lowercase(),
        spf_result: spf.into(),
        dkim: dkim.join(";"),
        disposition: match e.disposition {
            Disposition::Reject(_) => "reject",
            Disposition::Junk => "quarantine",
            Disposition::Deliver => "none",
        }
        .into(),
        dkim_aligned: aligned(e.dmarc.dkim_result()).into(),
        spf_aligned: aligned(e.dmarc.spf_result()).into(),
        override_reason: e.overridden,
        count: 1,
    }
}

/// The report's metadata (RFC 7489 §7.2.1.1's required fields).
pub struct Metadata<'a> {
    pub org_name: &'a str,
    pub email: &'a str,
    pub report_id: &'a str,
    pub begin: i64,
    pub end: i64,
}

/// The DMARC record as published when the report is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub domain: String,
    /// `r` or `s`.
    pub adkim: char,
    pub aspf: char,
    /// `none`, `quarantine` or `reject`.
    pub p: String,
    pub sp: String,
    pub pct: u8,
    pub fo: String,
}

/// The `pct=` tag of a DMARC record's text (RFC 7489 §6.3): the share of
/// failing messages the policy applies to; 100 when absent, and when not
/// an integer 0..=100 (§6.3: an invalid value is ignored). mail-auth's
/// parser drops the tag (DMARCbis removes it), so the text is read here.
pub fn pct_of(record: &str) -> u8 {
    record
        .split(';')
        .filter_map(|t| t.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("pct"))
        .and_then(|(_, v)| v.trim().parse::<u8>().ok())
        .filter(|p| *p <= 100)
        .unwrap_or(100)
}

/// The `fo=` tag as a report's `<fo>` shows it (RFC 7489 §6.3 and
/// Appendix C): `0` when absent. Postern sends no failure reports (`ruf`),
/// so `fo` is only recorded, never acted on.
pub fn fo_word(fo: &mail_auth::dmarc::Report) -> &'static str {
    use mail_auth::dmarc::Report;
    match fo {
        Report::All => "0",
        Report::Any => "1",
        Report::Dkim => "d",
        Report::Spf => "s",
        Report::DkimSpf => "d:s",
    }
}

/// RFC 7489 §6.6.4: whether a failing message falls in the `pct`% sample
/// its domain's policy is applied to. Deterministic by `key` (the
/// message's bytes, hashed), so a retried message is judged the same way
/// and tests can tell the outcome in advance.
pub fn sampled(pct: u8, key: &[u8]) -> bool {
    use sha2::Digest;
    if pct >= 100 {
        return true;
    }
    let h = sha2::Sha256::digest(key);
    let n = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    n % 100 < u32::from(pct)
}

/// `s` with the five XML special characters escaped.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 §2.2: control characters are not allowed at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The row fields that make a record (everything but day and count).
type RecordKey = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

/// RFC 7489 §7.2 and Appendix C's PolicyOverrideType for a DMARC failure a
/// trusted ARC sealer vouched for. Of its definitions, `trusted_forwarder`
/// ("authentication failure was anticipated by other evidence linking the
/// message to a locally maintained list of known and trusted forwarders")
/// is the one that says what happened: `[spam] arc_trusted_sealers` is
/// that locally maintained list, the verified chain that evidence.
/// `local_policy` says only that some local rule exempted the message,
/// and `forwarded`/`mailing_list` name heuristics, not a list.
const ARC_OVERRIDE: &str = "trusted_forwarder";

/// The report's XML. Rows of several days with the same results are one
/// record, their counts summed.
pub fn build(meta: &Metadata<'_>, policy: &Published, rows: &[DmarcSeen]) -> String {
    let mut records: BTreeMap<RecordKey, i64> = BTreeMap::new();
    for r in rows {
        let key = (
            r.source_ip.clone(),
            r.disposition.clone(),
            r.dkim_aligned.clone(),
            r.spf_aligned.clone(),
            r.envelope_from.clone(),
            r.header_from.clone(),
            r.dkim.clone(),
            r.spf_domain.clone(),
            r.spf_result.clone(),
            r.override_reason.clone(),
        );
        *records.entry(key).or_default() += r.count;
    }
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n");
    x.push_str("  <version>1.0</version>\n  <report_metadata>\n");
    let _ = write!(
        x,
        "    <org_name>{}</org_name>\n    <email>{}</email>\n    <report_id>{}</report_id>\n",
        esc(meta.org_name),
        esc(meta.email),
        esc(meta.report_id)
    );
    let _ = write!(
        x,
        "    <date_range>\n      <begin>{}</begin>\n      <end>{}</end>\n    </date_range>\n",
        meta.begin, meta.end
    );
    x.push_str("  </report_metadata>\n  <policy_published>\n");
    let _ = write!(
        x,
        "    <domain>{}</domain>\n    <adkim>{}</adkim>\n    <aspf>{}</aspf>\n    <p>{}</p>\n    \
         <sp>{}</sp>\n    <pct>{}</pct>\n    <fo>{}</fo>\n",
        esc(&policy.domain),
        policy.adkim,
        policy.aspf,
        esc(&policy.p),
        esc(&policy.sp),
        policy.pct,
        esc(&policy.fo)
    );
    x.push_str("  </policy_published>\n");
    for (k, count) in records {
        let (ip, disposition, dkim_al, spf_al, env_from, header_from, dkim, spf_dom, spf_res, why) =
            k;
        x.push_str("  <record>\n    <row>\n");
        let _ = write!(
            x,
            "      <source_ip>{}</source_ip>\n      <count>{count}</count>\n      <policy_evaluated>\n        \
             <disposition>{}</disposition>\n        <dkim>{}</dkim>\n        <spf>{}</spf>\n",
            esc(&ip),
            esc(&disposition),
            esc(&dkim_al),
            esc(&spf_al)
        );
        if let Some(why) = why {
            let _ = write!(
                x,
                "        <reason>\n          <type>{ARC_OVERRIDE}</type>\n          \
                 <comment>{}</comment>\n        </reason>\n",
                esc(&why)
            );
        }
        x.push_str("      </policy_evaluated>\n    </row>\n");
        let _ = write!(
            x,
            "    <identifiers>\n      <envelope_from>{}</envelope_from>\n      <header_from>{}</header_from>\n    \
             </identifiers>\n    <auth_results>\n",
            esc(&env_from),
            esc(&header_from)
        );
        for sig in dkim.split(';').filter(|s| !s.trim().is_empty()) {
            let mut parts = sig.split_whitespace();
            let (d, s, res) = (
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or("none"),
            );
            let _ = write!(
                x,
                "      <dkim>\n        <domain>{}</domain>\n        <selector>{}</selector>\n        \
                 <result>{}</result>\n      </dkim>\n",
                esc(d),
                esc(s),
                esc(res)
            );
        }
        let _ = write!(
            x,
            "      <spf>\n        <domain>{}</domain>\n        <scope>mfrom</scope>\n        \
             <result>{}</result>\n      </spf>\n    </auth_results>\n  </record>\n",
            esc(&spf_dom),
            esc(&spf_res)
        );
    }
    x.push_str("</feedback>\n");
    x
}

/// The text of the first child element of `n` named `name`, trimmed.
fn child_text<'a>(n: roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
        .and_then(|c| c.text())
        .map(str::trim)
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// A received aggregate report as rows (`None`: not a DMARC report).
pub fn parse(xml: &[u8]) -> Option<ReceivedReport> {
    let text = std::str::from_utf8(xml).ok()?;
    // A byte-order mark before the declaration (some senders write one).
    let text = text.trim_start_matches('\u{feff}');
    let doc = roxmltree::Document::parse(text).ok()?;
    let root = doc.root_element();
    if root.tag_name().name() != "feedback" {
        return None;
    }
    let meta = child(root, "report_metadata")?;
    let org = child_text(meta, "org_name").unwrap_or("").to_string();
    let report_id = child_text(meta, "report_id").unwrap_or("").to_string();
    let range = child(meta, "date_range");
    let time = |name| {
        range
            .and_then(|r| child_text(r, name))
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let (begin, end) = (time("begin"), time("end"));
    let domain = child(root, "policy_published")
        .and_then(|p| child_text(p, "domain"))
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut rows = Vec::new();
    for rec in root
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "record")
    {
        let Some(row) = child(rec, "row") else {
            continue;
        };
        let ip = child_text(row, "source_ip").unwrap_or("").to_string();
        let count = child_text(row, "count")
            .and_then(|c| c.parse::<i64>().ok())
            .unwrap_or(0);
        let eval = child(row, "policy_evaluated");
        let word = |name| {
            eval.and_then(|e| child_text(e, name))
                .unwrap_or("")
                .to_ascii_lowercase()
        };
        let (disposition, dkim, spf) = (word("disposition"), word("dkim"), word("spf"));
        // RFC 7489 §6.6.2: DMARC passes when either aligned result does.
        let result = if dkim == "pass" || spf == "pass" {
            "pass"
        } else {
            "fail"
        };
        let header_from = child(rec, "identifiers")
            .and_then(|i| child_text(i, "header_from"))
            .unwrap_or("");
        rows.push(ReceivedRow {
            source: ip,
            result: result.into(),
            detail: format!("dkim={dkim} spf={spf} disposition={disposition} from={header_from}"),
            count,
        });
    }
    Some(ReceivedReport {
        kind: ReportKind::Dmarc,
        org,
        report_id,
        domain,
        begin,
        end,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(ip: &str, day: i64, count: i64, dkim: &str) -> DmarcSeen {
        DmarcSeen {
            day,
            header_from: "remote.test".into(),
            source_ip: ip.into(),
            envelope_from: "remote.test".into(),
            spf_domain: "remote.test".into(),
            spf_result: "pass".into(),
            dkim: dkim.into(),
            disposition: "none".into(),
            dkim_aligned: "pass".into(),
            spf_aligned: "pass".into(),
            override_reason: None,
            count,
        }
    }

    fn policy() -> Published {
        Published {
            domain: "remote.test".into(),
            adkim: 'r',
            aspf: 'r',
            p: "none".into(),
            sp: "none".into(),
            pct: 100,
            fo: "0".into(),
        }
    }

    #[test]
    fn a_built_report_has_the_schema_elements_and_reads_back() {
        let meta = Metadata {
            org_name: "mail.test <&>",
            email: "postmaster@example.org",
            report_id: "r1",
            begin: 100,
            end: 200,
        };
        let rows = [
            seen("192.0.2.1", 1, 2, "remote.test s1 pass;other.test s2 fail"),
            seen("192.0.2.1", 2, 3, "remote.test s1 pass;other.test s2 fail"),
            seen("192.0.2.9", 1, 1, ""),
        ];
        let xml = build(&meta, &policy(), &rows);
        let doc = roxmltree::Document::parse(&xml).expect("well-formed");
        let root = doc.root_element();
        let names: Vec<&str> = root
            .children()
            .filter(|c| c.is_element())
            .map(|c| c.tag_name().name())
            .collect();
        assert_eq!(
            names,
            [
                "version",
                "report_metadata",
                "policy_published",
                "record",
                "record"
            ]
        );
        assert!(
            xml.contains("<org_name>mail.test &lt;&amp;&gt;</org_name>"),
            "{xml}"
        );
        for el in [
            "<p>none</p>",
            "<sp>none</sp>",
            "<pct>100</pct>",
            "<fo>0</fo>",
        ] {
            assert!(xml.contains(el), "{el} missing: {xml}");
        }
        assert!(xml.contains("<selector>s2</selector>"), "{xml}");
        assert!(xml.contains("<scope>mfrom</scope>"), "{xml}");

        let back = parse(xml.as_bytes()).expect("parses");
        assert_eq!(back.org, "mail.test <&>");
        assert_eq!((back.begin, back.end), (100, 200));
        assert_eq!(back.domain, "remote.test");
        // Two days of the same results are one record.
        assert_eq!(back.rows[0].source, "192.0.2.1");
        assert_eq!(back.rows[0].count, 5);
        assert_eq!(back.rows[1].count, 1);
        assert!(back.rows.iter().all(|r| r.result == "pass"));
    }

    #[test]
    fn an_overridden_row_carries_its_reason_and_a_plain_one_none() {
        let meta = Metadata {
            org_name: "mail.test",
            email: "postmaster@example.org",
            report_id: "r2",
            begin: 100,
            end: 200,
        };
        let mut overridden = seen("192.0.2.1", 1, 1, "");
        overridden.disposition = "none".into();
        overridden.dkim_aligned = "fail".into();
        overridden.spf_aligned = "fail".into();
        overridden.override_reason = Some("arc=pass i=1 d=lists.test & co".into());
        let plain = seen("192.0.2.2", 1, 1, "");
        let xml = build(&meta, &policy(), &[overridden, plain]);
        let doc = roxmltree::Document::parse(&xml).expect("well-formed");
        let evaluated: Vec<roxmltree::Node> = doc
            .descendants()
            .filter(|n| n.has_tag_name("policy_evaluated"))
            .collect();
        assert_eq!(evaluated.len(), 2, "{xml}");
        // RFC 7489 Appendix C: disposition, dkim, spf, then the reasons.
        let children = |n: roxmltree::Node| -> Vec<String> {
            n.children()
                .filter(|c| c.is_element())
                .map(|c| c.tag_name().name().to_string())
                .collect()
        };
        assert_eq!(
            children(evaluated[0]),
            ["disposition", "dkim", "spf", "reason"]
        );
        let reason = child(evaluated[0], "reason").expect("reason");
        assert_eq!(child_text(reason, "type"), Some("trusted_forwarder"));
        assert_eq!(
            child_text(reason, "comment"),
            Some("arc=pass i=1 d=lists.test & co")
        );
        assert_eq!(children(evaluated[1]), ["disposition", "dkim", "spf"]);
        // The reading side still counts both rows.
        let back = parse(xml.as_bytes()).expect("parses");
        assert_eq!(back.rows.len(), 2);
        assert_eq!(back.rows[0].result, "fail");
    }

    #[test]
    fn pct_is_read_from_the_record_text_and_defaults_to_100() {
        assert_eq!(pct_of("v=DMARC1; p=reject; pct=25; rua=mailto:a@b"), 25);
        assert_eq!(pct_of("v=DMARC1; p=reject; PCT = 0"), 0);
        assert_eq!(pct_of("v=DMARC1; p=reject"), 100);
        assert_eq!(pct_of("v=DMARC1; p=reject; pct=101"), 100);
        assert_eq!(pct_of("v=DMARC1; p=reject; pct=half"), 100);
    }

    #[test]
    fn sampling_is_deterministic_and_takes_about_pct_percent() {
        let keys: Vec<Vec<u8>> = (0..2000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let taken = |pct| keys.iter().filter(|k| sampled(pct, k)).count();
        assert_eq!(taken(100), 2000);
        assert_eq!(taken(0), 0);
        let quarter = taken(25);
        assert!((400..600).contains(&quarter), "{quarter} of 2000 at pct=25");
        assert_eq!(sampled(25, b"one message"), sampled(25, b"one message"));
    }

    #[test]
    fn fo_is_shown_as_published() {
        use mail_auth::common::parse::TxtRecordParser;
        let fo = |t: &str| {
            let d = mail_auth::dmarc::Dmarc::parse(t.as_bytes()).expect("record");
            fo_word(&d.fo)
        };
        assert_eq!(fo("v=DMARC1; p=none"), "0");
        assert_eq!(fo("v=DMARC1; p=none; fo=1"), "1");
        assert_eq!(fo("v=DMARC1; p=none; fo=d"), "d");
    }

    #[test]
    fn a_document_with_a_dtd_or_another_root_is_not_a_report() {
        let dtd = b"<?xml version=\"1.0\"?><!DOCTYPE feedback [<!ENTITY x \"y\">]><feedback>&x;</feedback>";
        assert!(parse(dtd).is_none());
        assert!(parse(b"<html><body/></html>").is_none());
        assert!(parse(b"\xff\xfe").is_none());
    }
}
