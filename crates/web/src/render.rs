//! The documents clients read. Every value from a request or the config is
//! escaped with [`xml_escape`] (plists are XML too).

use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::WebConfig;

/// Escapes the five XML special characters.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Thunderbird's `config-v1.1.xml`: each protocol's implicit-TLS server
/// first (RFC 8314 §3 prefers it), then its STARTTLS one. `%EMAILADDRESS%`
/// is Thunderbird's placeholder for the address the user typed.
///
/// ManageSieve is not listed: the format defines server types for mail
/// (`imap`, `pop3`, `smtp`, and Exchange's), none for Sieve, and a
/// reader that does not know a type may refuse the document. Outlook's
/// POX and Apple's profile have no element for it either. Clients find
/// it through the `_sieve._tcp` SRV record (RFC 5804 §1.8) that
/// `postern domain dns` prints.
pub fn autoconfig(cfg: &WebConfig, domain: &str) -> String {
    let host = xml_escape(&cfg.hostname);
    let d = xml_escape(domain);
    let p = &cfg.ports;
    let mut x = String::new();
    let _ = write!(
        x,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <clientConfig version=\"1.1\">\n\
         \x20 <emailProvider id=\"{d}\">\n\
         \x20   <domain>{d}</domain>\n\
         \x20   <displayName>{d}</displayName>\n\
         \x20   <displayShortName>{d}</displayShortName>\n"
    );
    let servers = [
        ("incomingServer", "imap", p.imaps, "SSL"),
        ("incomingServer", "imap", p.imap, "STARTTLS"),
        ("incomingServer", "pop3", p.pop3s, "SSL"),
        ("incomingServer", "pop3", p.pop3, "STARTTLS"),
        ("outgoingServer", "smtp", p.submissions, "SSL"),
        ("outgoingServer", "smtp", p.submission, "STARTTLS"),
    ];
    for (element, kind, port, socket) in servers {
        let _ = write!(
            x,
            "    <{element} type=\"{kind}\">\n\
             \x20     <hostname>{host}</hostname>\n\
             \x20     <port>{port}</port>\n\
             \x20     <socketType>{socket}</socketType>\n\
             \x20     <username>%EMAILADDRESS%</username>\n\
             \x20     <authentication>password-cleartext</authentication>\n\
             \x20   </{element}>\n"
        );
    }
    x.push_str("  </emailProvider>\n</clientConfig>\n");
    x
}

/// The Outlook POX response ([MS-OXDSCLI] §2.2.4): one `Protocol` per
/// server. For an implicit-TLS port `<SSL>on</SSL>` alone; for a STARTTLS
/// port also `<Encryption>TLS</Encryption>`, which overrides `SSL` and
/// means STARTTLS to Outlook. Sending `Encryption TLS` for 993/465/995
/// would make Outlook wait for a plaintext greeting there (the bug other
/// servers had). Outlook uses the first block of each type: implicit TLS.
pub fn autodiscover(cfg: &WebConfig, email: &str) -> String {
    let host = xml_escape(&cfg.hostname);
    let e = xml_escape(email);
    let p = &cfg.ports;
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n\
         \x20 <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n",
    );
    let _ = write!(
        x,
        "    <User>\n      <DisplayName>{e}</DisplayName>\n    </User>\n\
         \x20   <Account>\n\
         \x20     <AccountType>email</AccountType>\n\
         \x20     <Action>settings</Action>\n"
    );
    let protocols = [
        ("IMAP", p.imaps, false),
        ("SMTP", p.submissions, false),
        ("POP3", p.pop3s, false),
        ("IMAP", p.imap, true),
        ("SMTP", p.submission, true),
        ("POP3", p.pop3, true),
    ];
    for (kind, port, starttls) in protocols {
        let _ = write!(
            x,
            "      <Protocol>\n\
             \x20       <Type>{kind}</Type>\n\
             \x20       <Server>{host}</Server>\n\
             \x20       <Port>{port}</Port>\n\
             \x20       <DomainRequired>off</DomainRequired>\n\
             \x20       <LoginName>{e}</LoginName>\n\
             \x20       <SPA>off</SPA>\n\
             \x20       <SSL>on</SSL>\n"
        );
        if starttls {
            x.push_str("        <Encryption>TLS</Encryption>\n");
        }
        x.push_str("        <AuthRequired>on</AuthRequired>\n      </Protocol>\n");
    }
    x.push_str("    </Account>\n  </Response>\n</Autodiscover>\n");
    x
}

/// Autodiscover v2 (`autodiscover.json`): for `Protocol=AutodiscoverV1`
/// the answer is the URL of the POX endpoint, which Outlook then POSTs to.
pub fn autodiscover_json(cfg: &WebConfig) -> String {
    format!(
        "{{\"Protocol\":\"AutodiscoverV1\",\"Url\":\"https://{}/autodiscover/autodiscover.xml\"}}\n",
        cfg.hostname
    )
}

/// The v2 error for any other protocol (Exchange answers 400 likewise).
pub fn autodiscover_json_error() -> String {
    "{\"ErrorCode\":\"InvalidProtocol\",\"ErrorMessage\":\"Only AutodiscoverV1 is served here.\"}\n"
        .to_owned()
}

/// A UUID-shaped identifier that is the same for the same inputs, so a
/// re-downloaded profile replaces the installed one instead of adding one.
fn stable_uuid(parts: &[&str]) -> String {
    let mut a = DefaultHasher::new();
    let mut b = DefaultHasher::new();
    ("postern-a", parts).hash(&mut a);
    ("postern-b", parts).hash(&mut b);
    let (a, b) = (a.finish(), b.finish());
    format!(
        "{:08X}-{:04X}-4{:03X}-8{:03X}-{:012X}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

/// An unsigned Apple configuration profile with one mail account (IMAP over
/// implicit TLS, SMTP submission over implicit TLS). The password is left
/// out: the device asks for it when the profile is installed.
pub fn mobileconfig(cfg: &WebConfig, email: &str) -> String {
    let host = xml_escape(&cfg.hostname);
    let e = xml_escape(email);
    let rev: String = cfg.hostname.split('.').rev().collect::<Vec<_>>().join(".");
    let ident = xml_escape(&rev);
    let p = &cfg.ports;
    let outer = stable_uuid(&[&cfg.hostname, email, "profile"]);
    let inner = stable_uuid(&[&cfg.hostname, email, "mail"]);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
<plist version=\"1.0\">\n\
<dict>\n\
\x20 <key>PayloadContent</key>\n\
\x20 <array>\n\
\x20   <dict>\n\
\x20     <key>EmailAccountDescription</key><string>{e}</string>\n\
\x20     <key>EmailAccountName</key><string>{e}</string>\n\
\x20     <key>EmailAccountType</key><string>EmailTypeIMAP</string>\n\
\x20     <key>EmailAddress</key><string>{e}</string>\n\
\x20     <key>IncomingMailServerAuthentication</key><string>EmailAuthPassword</string>\n\
\x20     <key>IncomingMailServerHostName</key><string>{host}</string>\n\
\x20     <key>IncomingMailServerPortNumber</key><integer>{imaps}</integer>\n\
\x20     <key>IncomingMailServerUseSSL</key><true/>\n\
\x20     <key>IncomingMailServerUsername</key><string>{e}</string>\n\
\x20     <key>OutgoingMailServerAuthentication</key><string>EmailAuthPassword</string>\n\
\x20     <key>OutgoingMailServerHostName</key><string>{host}</string>\n\
\x20     <key>OutgoingMailServerPortNumber</key><integer>{subs}</integer>\n\
\x20     <key>OutgoingMailServerUseSSL</key><true/>\n\
\x20     <key>OutgoingMailServerUsername</key><string>{e}</string>\n\
\x20     <key>OutgoingPasswordSameAsIncomingPassword</key><true/>\n\
\x20     <key>PayloadDescription</key><string>Mail account {e}</string>\n\
\x20     <key>PayloadDisplayName</key><string>{e}</string>\n\
\x20     <key>PayloadIdentifier</key><string>{ident}.mail.{inner}</string>\n\
\x20     <key>PayloadType</key><string>com.apple.mail.managed</string>\n\
\x20     <key>PayloadUUID</key><string>{inner}</string>\n\
\x20     <key>PayloadVersion</key><integer>1</integer>\n\
\x20   </dict>\n\
\x20 </array>\n\
\x20 <key>PayloadDescription</key><string>Mail settings for {e} on {host}</string>\n\
\x20 <key>PayloadDisplayName</key><string>{e}</string>\n\
\x20 <key>PayloadIdentifier</key><string>{ident}.profile.{outer}</string>\n\
\x20 <key>PayloadRemovalDisallowed</key><false/>\n\
\x20 <key>PayloadType</key><string>Configuration</string>\n\
\x20 <key>PayloadUUID</key><string>{outer}</string>\n\
\x20 <key>PayloadVersion</key><integer>1</integer>\n\
</dict>\n\
</plist>\n",
        imaps = p.imaps,
        subs = p.submissions,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let cfg = WebConfig::default();
        let x = autodiscover(&cfg, "a<b>&\"'@example.org");
        assert!(x.contains("a&lt;b&gt;&amp;&quot;&apos;@example.org"));
        assert!(!x.contains("a<b>"));
        let m = mobileconfig(&cfg, "x</string>@example.org");
        assert!(!m.contains("x</string>@"));
    }

    #[test]
    fn encryption_only_on_starttls_ports() {
        let x = autodiscover(&WebConfig::default(), "a@example.org");
        for block in x.split("<Protocol>").skip(1) {
            let starttls = ["<Port>143<", "<Port>587<", "<Port>110<"]
                .iter()
                .any(|p| block.contains(p));
            assert_eq!(
                block.contains("<Encryption>TLS</Encryption>"),
                starttls,
                "{block}"
            );
        }
    }

    #[test]
    fn uuids_are_stable_and_shaped() {
        let a = stable_uuid(&["h", "e"]);
        assert_eq!(a, stable_uuid(&["h", "e"]));
        assert_ne!(a, stable_uuid(&["h", "f"]));
        assert_eq!(a.len(), 36);
    }
}
