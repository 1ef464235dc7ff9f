//! The one thing read from an Outlook autodiscover (POX) request: the
//! `EMailAddress` element. A tiny scanner, not an XML parser: no DTDs, no
//! entities beyond XML's five predefined ones, so nothing can be expanded
//! or fetched (the XXE and "billion laughs" classes do not exist here).

/// The address in `<EMailAddress>…</EMailAddress>` (any namespace prefix),
/// or `None` when the body is not such a request: not UTF-8, has a
/// `<!DOCTYPE`/`<!ENTITY`, no `Autodiscover` root, no or an empty element.
pub fn email_from_pox(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if !text.starts_with('<') || text.contains("<!") {
        return None;
    }
    let mut saw_root = false;
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let end = rest.find('>')?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.starts_with('/') {
            continue;
        }
        let name = tag
            .split(|c: char| c.is_ascii_whitespace() || c == '/')
            .next()?;
        let local = name.rsplit(':').next().unwrap_or(name);
        if !saw_root {
            if local != "Autodiscover" {
                return None;
            }
            saw_root = true;
            continue;
        }
        if local == "EMailAddress" && !tag.ends_with('/') {
            let close = rest.find('<')?;
            let closing = &rest[close..];
            if !closing.starts_with(&format!("</{name}>")) {
                return None;
            }
            let value = unescape(rest[..close].trim())?;
            return (!value.is_empty()).then_some(value);
        }
    }
    None
}

/// XML's predefined entities and numeric references; `None` for any other.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp + 1..];
        let semi = rest.find(';')?;
        let ent = &rest[..semi];
        rest = &rest[semi + 1..];
        let c = match ent {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let n = if let Some(h) = ent.strip_prefix("#x") {
                    u32::from_str_radix(h, 16).ok()?
                } else {
                    ent.strip_prefix('#')?.parse().ok()?
                };
                char::from_u32(n)?
            }
        };
        out.push(c);
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress> ann@example.org </EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>"#;

    #[test]
    fn reads_the_address() {
        assert_eq!(
            email_from_pox(REQ.as_bytes()).as_deref(),
            Some("ann@example.org")
        );
        let prefixed = "<a:Autodiscover xmlns:a=\"x\"><a:Request><a:EMailAddress>b&amp;c@d.org</a:EMailAddress></a:Request></a:Autodiscover>";
        assert_eq!(
            email_from_pox(prefixed.as_bytes()).as_deref(),
            Some("b&c@d.org")
        );
    }

    #[test]
    fn refuses_what_is_not_a_request() {
        for bad in [
            "",
            "hello",
            "<Other><EMailAddress>a@b.org</EMailAddress></Other>",
            "<Autodiscover><Request></Request></Autodiscover>",
            "<Autodiscover><EMailAddress></EMailAddress></Autodiscover>",
            "<Autodiscover><EMailAddress>a@b.org</Other></Autodiscover>",
            "<Autodiscover><EMailAddress>a@b.org",
            "<Autodiscover><EMailAddress>&xxe;</EMailAddress></Autodiscover>",
            "<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><Autodiscover><EMailAddress>&xxe;</EMailAddress></Autodiscover>",
            "<Autodiscover><EMailAddress>a&#xFFFFFFFF;</EMailAddress></Autodiscover>",
        ] {
            assert_eq!(email_from_pox(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(email_from_pox(&[0xff, 0xfe, b'<']), None);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a client POSTs, the scanner returns rather than panics.
        #[test]
        fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = email_from_pox(&body);
        }

        /// Near-misses of a real request (XML-ish pieces in any order).
        #[test]
        fn never_panics_on_xmlish(parts in proptest::collection::vec(
            prop_oneof![
                Just("<Autodiscover>"), Just("<EMailAddress>"), Just("</EMailAddress>"),
                Just("<a:EMailAddress>"), Just("&"), Just("&#x"), Just(";"), Just("<"),
                Just(">"), Just("/"), Just("a@b.org"), Just("é"), Just("<?x?>"),
            ], 0..24)) {
            let _ = email_from_pox(parts.concat().as_bytes());
        }
    }
}
