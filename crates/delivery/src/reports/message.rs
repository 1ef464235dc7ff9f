//! The messages that carry our reports: a DMARC aggregate report as a
//! gzip attachment (RFC 7489 §7.2.1.1: the subject, the file name
//! `receiver!policy-domain!begin!end.xml.gz`), and a TLS report as
//! `multipart/report; report-type=tlsrpt` with its two header fields and
//! an `application/tlsrpt+gzip` part (RFC 8460 §5.3). Unsigned here; the
//! sender puts the DKIM signature on top.

use std::io::Write;

use base64::Engine as _;

/// What both kinds of report message share.
pub(crate) struct Envelope<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub policy_domain: &'a str,
    /// Our name as the report's submitter (the host name).
    pub submitter: &'a str,
    pub report_id: &'a str,
    pub begin: i64,
    pub end: i64,
    pub now: i64,
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = e.write_all(bytes);
    e.finish().unwrap_or_default()
}

/// Base64 in 76-character lines (RFC 2045 §6.8).
fn base64_lines(bytes: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(b64.len() + b64.len() / 38);
    for chunk in b64.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push_str("\r\n");
    }
    out
}

fn head(e: &Envelope<'_>, subject: &str) -> String {
    let date = mail_parser::DateTime::from_timestamp(e.now).to_rfc822();
    let id = e.report_id.replace(['<', '>', ' '], "");
    format!(
        "From: {from}\r\nTo: {to}\r\nDate: {date}\r\nSubject: {subject}\r\n\
         Message-ID: <{id}@{submitter}>\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n",
        from = e.from,
        to = e.to,
        submitter = e.submitter,
    )
}

/// A DMARC aggregate report message around the gzipped XML.
pub(crate) fn dmarc(e: &Envelope<'_>, xml_gz: &[u8]) -> Vec<u8> {
    // RFC 7489 §7.2.1.1: "Report Domain: … Submitter: … Report-ID: <…>".
    let subject = format!(
        "Report Domain: {} Submitter: {} Report-ID: <{}>",
        e.policy_domain, e.submitter, e.report_id
    );
    let file = format!(
        "{}!{}!{}!{}.xml.gz",
        e.submitter, e.policy_domain, e.begin, e.end
    );
    let boundary = format!("=_dmarc_{}", e.now);
    let mut m = head(e, &subject);
    m.push_str(&format!(
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n\
         This is a DMARC aggregate report (RFC 7489) for {} from {}.\r\n\r\n\
         --{boundary}\r\nContent-Type: application/gzip; name=\"{file}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"{file}\"\r\n\r\n{}\
         --{boundary}--\r\n",
        e.policy_domain,
        e.submitter,
        base64_lines(xml_gz)
    ));
    m.into_bytes()
}

/// A TLS report message around the gzipped JSON.
pub(crate) fn tls(e: &Envelope<'_>, json_gz: &[u8]) -> Vec<u8> {
    // RFC 8460 §5.3: the subject, and the two fields that let a receiver
    // sort reports without opening them.
    let subject = format!(
        "Report Domain: {} Submitter: {} Report-ID: <{}>",
        e.policy_domain, e.submitter, e.report_id
    );
    // §5.1: sender!policy-domain!begin!end!unique-id.json.gz
    let file = format!(
        "{}!{}!{}!{}!{}.json.gz",
        e.submitter,
        e.policy_domain,
        e.begin,
        e.end,
        e.report_id.replace(['!', '.', '/', '"'], "-")
    );
    let boundary = format!("=_tlsrpt_{}", e.now);
    let mut m = head(e, &subject);
    m.push_str(&format!(
        "TLS-Report-Domain: {}\r\nTLS-Report-Submitter: {}\r\n\
         Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n\
         This is an aggregate TLS report (RFC 8460) for {} from {}.\r\n\r\n\
         --{boundary}\r\nContent-Type: application/tlsrpt+gzip\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"{file}\"\r\n\r\n{}\
         --{boundary}--\r\n",
        e.policy_domain,
        e.submitter,
        e.policy_domain,
        e.submitter,
        base64_lines(json_gz)
    ));
    m.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Envelope<'static> {
        Envelope {
            from: "postmaster@example.org",
            to: "tls@remote.test",
            policy_domain: "remote.test",
            submitter: "mail.test",
            report_id: "20000.remote.test",
            begin: 100,
            end: 200,
            now: 300,
        }
    }

    #[test]
    fn a_tls_report_message_has_the_rfc_8460_fields_and_its_report_reads_back() {
        let json = b"{\"organization-name\":\"mail.test\",\"policies\":[]}";
        let raw = tls(&env(), &gzip(json));
        let text = String::from_utf8_lossy(&raw);
        assert!(
            text.contains("TLS-Report-Domain: remote.test\r\n"),
            "{text}"
        );
        assert!(
            text.contains("TLS-Report-Submitter: mail.test\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Subject: Report Domain: remote.test Submitter: mail.test Report-ID: <20000.remote.test>"),
            "{text}"
        );
        assert!(
            text.contains("multipart/report; report-type=\"tlsrpt\""),
            "{text}"
        );
        assert!(
            text.contains("mail.test!remote.test!100!200!20000-remote-test.json.gz"),
            "{text}"
        );
        let found = super::super::receive::reports_in(&raw, 1 << 20);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].org, "mail.test");
    }

    #[test]
    fn a_dmarc_report_message_carries_the_gzipped_xml_under_the_rfc_name() {
        let xml =
            b"<?xml version=\"1.0\"?><feedback><report_metadata><org_name>mail.test</org_name>\
                    <report_id>x</report_id></report_metadata></feedback>";
        let raw = dmarc(&env(), &gzip(xml));
        let text = String::from_utf8_lossy(&raw);
        assert!(
            text.contains("filename=\"mail.test!remote.test!100!200.xml.gz\""),
            "{text}"
        );
        assert!(text.contains("Content-Type: application/gzip"), "{text}");
        let found = super::super::receive::reports_in(&raw, 1 << 20);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].report_id, "x");
    }
}
