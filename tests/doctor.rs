//! `postern doctor` against a loopback DNS server with a good zone and a
//! broken one, a recording SMTP server standing in for the well-known MX
//! of the port-25 check, and a blocklist zone of our own.

use std::net::Ipv4Addr;

use crate::mailauth::txt_records;
use crate::outbound::refusing_port;
use crate::support::Env;
use crate::support::dns::TestDns;
use crate::support::sink::{Sink, SinkOpts};
use crate::support::sts::StsServer;

/// The server's address in these tests (TEST-NET-1: reverse lookups of
/// loopback would be answered from /etc/hosts' names).
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

/// A server for example.org (hostname mail.test, at 127.0.0.1) whose DNS
/// is `dns`, asking the blocklist bl.test.
fn doctor_env(dns: &TestDns, outbound: &str) -> Env {
    let env = Env::with_config(&format!(
        "{}[spam]\ndnsbl = [{{ zone = \"bl.test\", weight = 6.0 }}]\n[outbound]\n{outbound}",
        dns.config()
    ));
    env.ok(&["domain", "add", "example.org"]);
    env
}

/// The lines of `out` with `status` for `check`.
fn lines<'a>(out: &'a str, status: &str, check: &str) -> Vec<&'a str> {
    out.lines()
        .filter(|l| l.starts_with(status) && l[4..].trim_start().starts_with(check))
        .collect()
}

#[test]
fn doctor_passes_a_well_published_domain() {
    let dns = TestDns::start();
    let sink = Sink::start(SinkOpts::default(), &["probe.test"]);
    // The MTA-STS policy, served over HTTPS with a certificate the
    // doctor is told to trust.
    let sts = StsServer::start(
        "example.org",
        "version: STSv1\r\nmode: enforce\r\nmx: mail.test\r\nmax_age: 86400\r\n",
    );
    dns.a("mta-sts.example.org", Ipv4Addr::LOCALHOST);
    let env = doctor_env(
        &dns,
        &format!(
            "mta_sts_port = {}\nca_file = \"{}\"\n",
            sts.port,
            sts.cert.display()
        ),
    );
    dns.mx("example.org", 10, "mail.test");
    dns.a("mail.test", SERVER);
    dns.ptr(SERVER, "mail.test");
    // Everything `postern domain dns` says to publish ("v=spf1 mx -all"
    // passes: the MX is the server's address).
    for (owner, value) in txt_records(&env.ok(&["domain", "dns", "example.org"])) {
        // The printed DMARC starts at p=none, which the doctor warns about.
        let value = if owner == "_dmarc.example.org" {
            value.replace("p=none", "p=quarantine")
        } else {
            value
        };
        dns.txt(&owner, &value);
    }
    dns.txt("_mta-sts.example.org", "v=STSv1; id=20261207");
    dns.txt(
        "_smtp._tls.example.org",
        "v=TLSRPTv1; rua=mailto:tls@example.org",
    );
    dns.cname("autoconfig.example.org", "mail.test");
    dns.cname("autodiscover.example.org", "mail.test");
    let probe = format!("127.0.0.1:{}", sink.port);
    let out = env.ok(&["doctor", "--probe", &probe, "--timeout", "5"]);
    for check in [
        "host",
        "ptr",
        "dnsbl",
        "port25",
        "mx",
        "spf",
        "dkim",
        "dmarc",
        "mta-sts",
        "tls-rpt",
        "autoconfig",
    ] {
        assert!(
            !lines(&out, "OK", check).is_empty(),
            "no OK {check} in\n{out}"
        );
    }
    assert!(lines(&out, "FAIL", "").is_empty(), "{out}");
    assert_eq!(
        lines(&out, "OK", "dkim").len(),
        2,
        "both keys published: {out}"
    );
    assert!(
        out.contains("and https://mta-sts.example.org/.well-known/mta-sts.txt agree"),
        "{out}"
    );
    assert!(
        out.contains("OK    ptr: 192.0.2.10 is mail.test, and mail.test is 192.0.2.10 (FCrDNS)"),
        "{out}"
    );
}

#[test]
fn doctor_names_each_broken_record_with_its_fix_and_exits_non_zero() {
    let dns = TestDns::start();
    let env = doctor_env(&dns, "");
    let (_held, closed) = refusing_port();
    // MX elsewhere, no SPF, DMARC or DKIM, no PTR, listed on bl.test, an
    // MTA-STS policy announced and served nowhere.
    dns.txt("_mta-sts.example.org", "v=STSv1; id=1");
    dns.mx("example.org", 10, "mx.elsewhere.test");
    dns.a("mail.test", SERVER);
    dns.a("10.2.0.192.bl.test", Ipv4Addr::new(127, 0, 0, 2));
    let probe = format!("127.0.0.1:{closed}");
    let out = env.run(
        &["doctor", "example.org", "--probe", &probe, "--timeout", "5"],
        "",
    );
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("checks failed"), "{err}");
    for check in [
        "ptr", "dnsbl", "port25", "mx", "spf", "dkim", "dmarc", "mta-sts",
    ] {
        assert!(
            !lines(&text, "FAIL", check).is_empty(),
            "no FAIL {check} in\n{text}"
        );
    }
    assert!(
        text.contains("fix: publish example.org. IN MX 10 mail.test."),
        "{text}"
    );
    assert!(
        text.contains("192.0.2.10 is listed on bl.test (127.0.0.2)"),
        "{text}"
    );
    assert!(text.contains("[outbound] relay_host"), "{text}");
    // The same for a script.
    let out = env.run(
        &[
            "doctor",
            "example.org",
            "--json",
            "--probe",
            &probe,
            "--timeout",
            "5",
        ],
        "",
    );
    assert!(!out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let checks = json.as_array().expect("an array");
    let spf = checks
        .iter()
        .find(|c| c["check"] == "spf")
        .expect("an spf check");
    assert_eq!(spf["status"], "fail");
    assert_eq!(spf["domain"], "example.org");
    assert!(spf["fix"].as_str().expect("fix").contains("v=spf1"));
}
