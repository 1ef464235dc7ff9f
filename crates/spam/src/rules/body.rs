//! Body heuristics: HTML with no text alternative, HTML text hidden from the
//! reader, links through shorteners, links to bare IP addresses, links whose
//! shown text names another domain than their target, attachments of
//! executable types, and text sent in base64.

use std::net::IpAddr;

use super::{Hit, org_domain};
use crate::config::SpamConfig;
use crate::message::MessageView;

/// Every body rule that fires on `view`.
pub fn hits(view: &MessageView, config: &SpamConfig) -> Vec<Hit> {
    let mut out = Vec::new();
    if view.is_html_only() {
        out.push(Hit::new("HTML_ONLY", ""));
    }
    let hidden: usize = view.html.iter().map(|h| h.hidden_chars).sum();
    if hidden >= config.hidden_text_min_chars {
        out.push(Hit::new("HTML_HIDDEN_TEXT", &format!("{hidden} chars")));
    }
    if let Some(l) = view
        .links
        .iter()
        .find(|l| is_shortener(&l.host, &config.shortener_domains))
    {
        out.push(Hit::new("URL_SHORTENER", &l.host));
    }
    if let Some(l) = view.links.iter().find(|l| is_numeric_host(&l.host)) {
        out.push(Hit::new("URL_NUMERIC_IP", &l.host));
    }
    if let Some((l, shown)) = view.links.iter().find_map(|l| {
        let shown = l.shown_host.as_deref()?;
        (org_domain(shown) != org_domain(&l.host)).then_some((l, shown))
    }) {
        out.push(Hit::new(
            "HREF_TEXT_MISMATCH",
            &format!("{shown} -> {}", l.host),
        ));
    }
    if view.base64_text_parts > 0 {
        out.push(Hit::new(
            "TEXT_IN_BASE64",
            &format!("{} parts", view.base64_text_parts),
        ));
    }
    if let Some(name) = view.attachment_names.iter().find(|n| {
        let ext = n
            .trim()
            .trim_end_matches('.')
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase());
        ext.is_some_and(|e| config.bad_attachment_extensions.contains(&e))
    }) {
        out.push(Hit::new("BAD_ATTACHMENT", name));
    }
    out
}

fn is_shortener(host: &str, list: &[String]) -> bool {
    list.iter().any(|s| {
        host == s
            || host
                .strip_suffix(s.as_str())
                .is_some_and(|p| p.ends_with('.'))
    })
}

/// An IP literal in any of the forms browsers accept: dotted quad, IPv6 in
/// brackets, or the obfuscated forms (one decimal number, hex or octal parts:
/// `http://3232235777/`, `http://0xC0.0xA8.1.1/`).
fn is_numeric_host(host: &str) -> bool {
    if let Some(v6) = host.strip_prefix('[') {
        return v6.trim_end_matches(']').parse::<IpAddr>().is_ok();
    }
    if host.parse::<IpAddr>().is_ok() {
        return true;
    }
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() <= 4
        && labels.iter().all(|l| {
            !l.is_empty()
                && (l.chars().all(|c| c.is_ascii_digit())
                    || l.strip_prefix("0x")
                        .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit())))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "From: Ann <ann@example.org>\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\n\
Message-ID: <1@example.org>\r\nSubject: Hello\r\n";

    fn fired(raw: &str) -> Vec<&'static str> {
        super::super::fired(hits, raw)
    }

    fn html(body: &str) -> String {
        format!("{HEAD}Content-Type: text/html\r\n\r\n{body}\r\n")
    }

    #[test]
    fn a_plain_message_fires_no_body_rule() {
        let raw = format!("{HEAD}\r\nSee https://www.example.org/news and www.example.com.\r\n");
        assert_eq!(fired(&raw), Vec::<&str>::new());
    }

    #[test]
    fn html_only_fires_and_an_alternative_silences_it() {
        assert_eq!(fired(&html("<p>Hello</p>")), ["HTML_ONLY"]);
        let alt = format!(
            "{HEAD}Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHello\r\n\
--b\r\nContent-Type: text/html\r\n\r\n<p>Hello</p>\r\n--b--\r\n"
        );
        assert_eq!(fired(&alt), Vec::<&str>::new());
    }

    #[test]
    fn hidden_text_fires_past_its_threshold() {
        let words = "lorem ipsum dolor sit amet ".repeat(20);
        let raw = html(&format!(
            "<p>Buy</p><div style=\"display:none\">{words}</div>"
        ));
        assert_eq!(fired(&raw), ["HTML_ONLY", "HTML_HIDDEN_TEXT"]);
        let preheader = html("<p>Buy</p><div style=\"display:none\">a short preview</div>");
        assert_eq!(fired(&preheader), ["HTML_ONLY"]);
    }

    #[test]
    fn shortener_links_fire() {
        let raw = format!("{HEAD}\r\nclick https://bit.ly/3xYz now\r\n");
        assert_eq!(fired(&raw), ["URL_SHORTENER"]);
        let lookalike = format!("{HEAD}\r\nsee https://notbit.ly/page\r\n");
        assert_eq!(fired(&lookalike), Vec::<&str>::new());
    }

    #[test]
    fn numeric_ip_links_fire_in_every_spelling() {
        for url in [
            "http://192.0.2.7/login",
            "http://3232235777/",
            "http://0xC0.0xA8.1.1/",
            "http://[2001:db8::1]/",
        ] {
            let raw = format!("{HEAD}\r\ngo {url}\r\n");
            assert_eq!(fired(&raw), ["URL_NUMERIC_IP"], "{url}");
        }
    }

    #[test]
    fn href_showing_another_domain_fires() {
        let raw = format!(
            "{HEAD}Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHi\r\n\
--b\r\nContent-Type: text/html\r\n\r\n<a href=\"http://evil.example/b\">https://www.mybank.example/login</a>\r\n--b--\r\n"
        );
        assert_eq!(fired(&raw), ["HREF_TEXT_MISMATCH"]);
        let same = raw.replace("evil.example", "secure.mybank.example");
        assert_eq!(fired(&same), Vec::<&str>::new());
    }

    #[test]
    fn executable_attachments_fire() {
        let raw = format!(
            "{HEAD}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nInvoice attached\r\n\
--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"invoice.pdf.SCR\"\r\n\r\nMZ\r\n--b--\r\n"
        );
        assert_eq!(fired(&raw), ["BAD_ATTACHMENT"]);
        let pdf = raw.replace("invoice.pdf.SCR", "invoice.pdf");
        assert_eq!(fired(&pdf), Vec::<&str>::new());
    }

    #[test]
    fn text_in_base64_fires_and_quoted_printable_does_not() {
        // "Hello there" in base64.
        let raw = format!(
            "{HEAD}Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gdGhlcmU=\r\n"
        );
        assert_eq!(fired(&raw), ["TEXT_IN_BASE64"]);
        let qp = format!(
            "{HEAD}Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello=20there\r\n"
        );
        assert_eq!(fired(&qp), Vec::<&str>::new());
    }
}
