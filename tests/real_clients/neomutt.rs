//! neomutt (Debian's package) in batch mode sending with SMTP AUTH over
//! 465 (implicit TLS) and 587 (STARTTLS), trusting the server through
//! `ssl_ca_certificates_file`; the message arrives in the recipient's
//! INBOX carrying DKIM signatures that verify against the published keys.

use mail_auth::DkimResult;

use super::{Home, require, run};
use crate::mailauth::{dkim_results, txt_records};
use crate::smtp::{inbox, mail_env_with};
use crate::support::dns::TestDns;

/// The muttrc a user writes to send through their own server: the URL
/// names the login (`%40` is the `@` of the address) and `localhost`,
/// which the certificate covers.
fn muttrc(smtp_url: &str, cert: &std::path::Path, starttls: bool) -> String {
    let mut rc = format!(
        "set from = \"Ann <ann@example.org>\"\n\
         set use_from = yes\n\
         set smtp_url = \"{smtp_url}\"\n\
         set smtp_pass = \"ann password\"\n\
         set ssl_ca_certificates_file = \"{}\"\n\
         set record = \"\"\n\
         set copy = no\n",
        cert.display()
    );
    if starttls {
        rc.push_str("set ssl_starttls = yes\nset ssl_force_tls = yes\n");
    }
    rc
}

#[tokio::test]
async fn batch_mode_sends_over_465_and_587_with_auth_and_the_mail_arrives_dkim_signed() {
    require("neomutt");
    let dns = TestDns::start();
    let (env, server) = mail_env_with(&dns.config());
    for (owner, value) in txt_records(&env.ok(&["domain", "dns", "example.org"])) {
        dns.txt(&owner, &value);
    }
    let sends = [
        (
            "over 465",
            format!(
                "smtps://ann%40example.org@localhost:{}/",
                server.port("submissions")
            ),
            false,
        ),
        (
            "over 587",
            format!(
                "smtp://ann%40example.org@localhost:{}/",
                server.port("submission")
            ),
            true,
        ),
    ];
    for (subject, url, starttls) in &sends {
        let home = Home::new();
        let rc = home.write("muttrc", &muttrc(url, &env.cert(), *starttls));
        // -n: no system muttrc; -F: only ours; the body comes on stdin.
        run(
            home.command("neomutt").args(["-n", "-F"]).arg(&rc).args([
                "-s",
                subject,
                "--",
                "bob@example.org",
            ]),
            format!("Hello Bob, sent {subject}.\n").as_bytes(),
        )
        .expect_code(&format!("neomutt {subject}"), 0);
    }

    let got = inbox(&env.data(), "bob@example.org").await;
    assert_eq!(got.len(), 2, "both messages arrived");
    for ((subject, _, _), raw) in sends.iter().zip(&got) {
        let text = String::from_utf8_lossy(raw);
        for want in [
            &format!("Subject: {subject}\r\n"),
            "From: Ann <ann@example.org>\r\n",
            "To: bob@example.org\r\n",
            &format!("Hello Bob, sent {subject}."),
            "(authenticated as ann@example.org)",
            "d=example.org;",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        // One signature per active key (Ed25519 and RSA), both valid.
        let results = dkim_results(&dns, raw).await;
        assert_eq!(results, [DkimResult::Pass, DkimResult::Pass], "{text}");
    }
    drop(server);
}
