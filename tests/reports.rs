//! DMARC aggregate reports (RFC 7489 §7.2) and TLS reports (RFC 8460),
//! end to end (issue 20): mail received on port 25 and mail sent out
//! become, with `postern reports send --now`, a DMARC report that
//! validates against the RFC's schema (xmllint, tests/reports/rfc7489.xsd)
//! and a TLS report with RFC 8460's fields, each to the address its
//! domain publishes and to no other; and sample reports in the shapes
//! Google and Microsoft send, mailed to our report address, fill
//! `postern reports` and are still delivered.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::smtp::{HOLD_QUEUE, inbox, mail_env_with, mailbox, python, send_mx_to};
use crate::support::dns::TestDns;
use crate::support::sink::{Sink, SinkOpts, Tx};
use crate::support::{Env, root};

const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// ann@example.org submits a message to bob@remote.test.
const SEND_OUT: &str = "s = sub()\n\
    s.sendmail('ann@example.org', ['bob@remote.test'], 'From: ann@example.org\\r\\nTo: bob@remote.test\\r\\nSubject: out\\r\\n\\r\\nhi\\r\\n')\n\
    s.quit()\n";

/// The report a message carries: its attachment, gunzipped.
pub fn report_of(tx: &Tx) -> Vec<u8> {
    use std::io::Read;
    let msg = mail_parser::MessageParser::new()
        .parse(&tx.data)
        .expect("a MIME message");
    let gz = msg
        .parts
        .iter()
        .find_map(|p| match &p.body {
            mail_parser::PartType::Binary(b) => Some(b.to_vec()),
            _ => None,
        })
        .expect("an attachment");
    let mut out = Vec::new();
    mail_auth::flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut out)
        .expect("gzip");
    out
}

fn to(txs: &[Tx], address: &str) -> Vec<Tx> {
    txs.iter()
        .filter(|t| t.rcpts.iter().any(|r| r.contains(address)))
        .cloned()
        .collect()
}

/// Runs `postern reports send --now` until its output, over the runs,
/// has every `wanted` line (the counts reach the store just after each
/// event, and each run sends only what is new); returns all it said.
pub fn send_until(env: &Env, wanted: &[&str]) -> String {
    let mut said = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !wanted.iter().all(|w| said.contains(w)) {
        assert!(Instant::now() < deadline, "reports not all sent:\n{said}");
        said.push_str(&env.ok(&["reports", "send", "--now"]));
        std::thread::sleep(Duration::from_millis(200));
    }
    said
}

/// The DMARC report `tx` carries, checked against RFC 7489's schema
/// (xmllint, tests/reports/rfc7489.xsd).
pub fn valid_dmarc_report(env: &Env, tx: &Tx) -> String {
    let xml = report_of(tx);
    let file = env.dir.path().join("report.xml");
    std::fs::write(&file, &xml).expect("write");
    let xsd = root().join("tests/reports/rfc7489.xsd");
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&file)
        .output()
        .expect("xmllint runs (Debian package libxml2-utils)");
    let xml = String::from_utf8_lossy(&xml).into_owned();
    assert!(
        out.status.success(),
        "{}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
    xml
}

#[tokio::test]
async fn received_and_sent_mail_become_dmarc_and_tls_reports_to_the_published_addresses() {
    let dns = TestDns::start();
    let sink = Sink::start(
        SinkOpts {
            starttls: true,
            ..SinkOpts::default()
        },
        &["mx.remote.test"],
    );
    for d in ["remote.test", "elsewhere.test"] {
        dns.mx(d, 10, "mx.remote.test");
    }
    dns.a("mx.remote.test", LOCAL);
    dns.txt("remote.test", "v=spf1 ip4:127.0.0.1 -all");
    dns.txt(
        "_dmarc.remote.test",
        "v=DMARC1; p=none; pct=50; fo=1; rua=mailto:dmarc@remote.test",
    );
    dns.txt(
        "_smtp._tls.remote.test",
        "v=TLSRPTv1; rua=mailto:tls@remote.test",
    );
    // No rua: nothing is counted or sent.
    dns.txt("_dmarc.norua.test", "v=DMARC1; p=none");
    // An external destination that did not agree (RFC 7489 §7.1) ...
    dns.txt(
        "_dmarc.ext.test",
        "v=DMARC1; p=none; rua=mailto:agg@elsewhere.test",
    );
    // ... and one that did.
    dns.txt(
        "_dmarc.ok.test",
        "v=DMARC1; p=none; rua=mailto:agg@elsewhere.test",
    );
    dns.txt("ok.test._report._dmarc.elsewhere.test", "v=DMARC1");
    let (env, server) = mail_env_with(&format!(
        "{}[outbound]\nport = {}\n[queue]\nfirst_retry_secs = 1\nmax_retry_secs = 1\n\
         scan_interval_secs = 1\n[reports]\nflush_secs = 0\nfrom = \"postmaster@example.org\"\n",
        dns.config(),
        sink.port
    ));
    for from in ["ann@remote.test", "x@norua.test", "y@ext.test", "z@ok.test"] {
        let reply = send_mx_to(
            &env,
            &server,
            from,
            &["ann@example.org"],
            &format!("From: {from}\r\nTo: ann@example.org\r\nSubject: hello\r\n\r\nhello\r\n"),
        );
        assert!(reply.starts_with("250"), "{from}: {reply}");
    }
    python(&env, &server, SEND_OUT);
    assert!(sink.wait_for(1, Duration::from_secs(30))[0].tls);

    let said = send_until(
        &env,
        &[
            "queued: dmarc remote.test -> dmarc@remote.test",
            "queued: tlsrpt remote.test -> tls@remote.test",
            "queued: dmarc ok.test -> agg@elsewhere.test",
            "not sent: dmarc ext.test: agg@elsewhere.test is external",
        ],
    );
    assert!(!said.contains("norua.test"), "{said}");

    let txs = sink.wait_for(4, Duration::from_secs(30));
    let dmarc = to(&txs, "dmarc@remote.test");
    let tls = to(&txs, "tls@remote.test");
    let external = to(&txs, "agg@elsewhere.test");
    assert_eq!(
        (dmarc.len(), tls.len(), external.len()),
        (1, 1, 1),
        "{txs:?}"
    );
    let text = String::from_utf8_lossy(&external[0].data);
    assert!(text.contains("Report Domain: ok.test"), "{text}");

    // The DMARC report: signed, the RFC 7489 subject, a valid document.
    let text = String::from_utf8_lossy(&dmarc[0].data).into_owned();
    assert!(text.contains("DKIM-Signature:"), "{text}");
    assert!(text.contains("d=example.org"), "{text}");
    assert!(
        text.contains("Subject: Report Domain: remote.test Submitter: mail.test Report-ID: <"),
        "{text}"
    );
    let xml = valid_dmarc_report(&env, &dmarc[0]);
    for el in [
        "<domain>remote.test</domain>",
        "<source_ip>127.0.0.1</source_ip>",
        "<count>1</count>",
        "<header_from>remote.test</header_from>",
        "<envelope_from>remote.test</envelope_from>",
        "<spf>pass</spf>",
        "<result>pass</result>",
        "<email>postmaster@example.org</email>",
        // As published (RFC 7489 §6.3); Postern sends no failure reports.
        "<pct>50</pct>",
        "<fo>1</fo>",
    ] {
        assert!(xml.contains(el), "{el} missing:\n{xml}");
    }

    // The TLS report: RFC 8460 §5.3's headers and §4.4's fields.
    let text = String::from_utf8_lossy(&tls[0].data).into_owned();
    assert!(text.contains("TLS-Report-Domain: remote.test"), "{text}");
    assert!(text.contains("TLS-Report-Submitter: mail.test"), "{text}");
    assert!(text.contains("report-type=\"tlsrpt\""), "{text}");
    assert!(text.contains("DKIM-Signature:"), "{text}");
    let json: serde_json::Value = serde_json::from_slice(&report_of(&tls[0])).expect("json");
    for field in ["organization-name", "contact-info", "report-id"] {
        assert!(json[field].is_string(), "{field}: {json}");
    }
    assert!(json["date-range"]["start-datetime"].is_string(), "{json}");
    assert!(json["date-range"]["end-datetime"].is_string(), "{json}");
    let p = &json["policies"][0];
    assert_eq!(p["policy"]["policy-type"], "no-policy-found", "{json}");
    assert_eq!(p["policy"]["policy-domain"], "remote.test", "{json}");
    assert_eq!(p["policy"]["mx-host"][0], "mx.remote.test", "{json}");
    assert!(
        p["summary"]["total-successful-session-count"].as_u64() >= Some(1),
        "{json}"
    );
    assert_eq!(p["summary"]["total-failure-session-count"], 0, "{json}");

    // Reported once: nothing new, nothing sent again.
    let again = env.ok(&["reports", "send", "--now"]);
    assert!(!again.contains("dmarc remote.test"), "{again}");
}

#[tokio::test]
async fn google_and_microsoft_reports_to_our_address_fill_postern_reports_and_are_kept() {
    let (env, server) = mail_env_with(&format!("{HOLD_QUEUE}[reports]\nflush_secs = 0\n"));
    env.ok(&["alias", "add", "postmaster@example.org", "ann@example.org"]);
    let dir = root().join("tests/reports");
    python(
        &env,
        &server,
        &format!(
            r#"
import gzip, io, zipfile
from email import policy
from email.message import EmailMessage
D = {dir:?}
def read(name):
    return open(D + "/" + name, "rb").read()
def send(frm, subject, data, filename, ctype):
    m = EmailMessage()
    m["From"] = frm; m["To"] = "postmaster@example.org"; m["Subject"] = subject
    m.set_content("This is an aggregate report.")
    main, sub_ = ctype.split("/")
    m.add_attachment(data, maintype=main, subtype=sub_, filename=filename)
    s = mx(); s.sendmail(frm, ["postmaster@example.org"], m.as_bytes(policy=policy.SMTP)); s.quit()
z = io.BytesIO()
with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as f:
    f.writestr("google.com!example.org!1764979200!1765065599.xml", read("google_dmarc.xml"))
send("noreply-dmarc-support@google.com", "Report domain: example.org Submitter: google.com Report-ID: 1",
     z.getvalue(), "google.com!example.org!1764979200!1765065599.zip", "application/zip")
send("dmarcreport@microsoft.com", "Report Domain: example.org Submitted: outlook.com Report-ID: 2",
     gzip.compress(read("microsoft_dmarc.xml")), "enterprise.protection.outlook.com!example.org!1764979200!1765065600.xml.gz", "application/gzip")
send("noreply-smtp-tls-reporting@google.com", "Report Domain: example.org Submitter: google.com Report-ID: <3>",
     gzip.compress(read("google_tlsrpt.json")), "google.com!example.org!1764979200!1765065599!001.json.gz", "application/tlsrpt+gzip")
send("tlsrpt-noreply@microsoft.com", "Report Domain: example.org Submitter: microsoft.com Report-ID: <4>",
     gzip.compress(read("microsoft_tlsrpt.json")), "microsoft.com!example.org!1764979200!1765065599.json.gz", "application/tlsrpt+gzip")
"#
        ),
    );
    // Read after the 250, in a task: wait (bounded) for all four. The
    // samples are from December 2025, so ask for a long enough window.
    let deadline = Instant::now() + Duration::from_secs(20);
    let json = loop {
        let out = env.ok(&["reports", "--days", "3650", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        let n = |k: &str| v[k].as_array().map_or(0, Vec::len);
        if n("dmarc") >= 3 && n("tls") >= 3 {
            break v;
        }
        assert!(Instant::now() < deadline, "reports not read: {out}");
        std::thread::sleep(Duration::from_millis(200));
    };
    // Failures first: the source that fails DMARC tops the table.
    assert_eq!(json["dmarc"][0]["source_ip"], "203.0.113.66", "{json}");
    assert_eq!(json["dmarc"][0]["passed"], 0, "{json}");
    let line = |ip: &str, org: &str| {
        json["dmarc"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|d| d["source_ip"] == ip && d["reporter"] == org)
            })
            .map(|d| (d["messages"].as_i64(), d["passed"].as_i64()))
    };
    assert_eq!(line("192.0.2.25", "google.com"), Some((Some(12), Some(12))));
    assert_eq!(
        line("192.0.2.25", "Enterprise Outlook"),
        Some((Some(4), Some(4)))
    );
    assert_eq!(json["tls"][0]["result"], "certificate-expired", "{json}");
    assert_eq!(json["tls"][0]["mx_host"], "mail.example.org", "{json}");
    assert_eq!(json["tls"][0]["sessions"], 2, "{json}");

    let table = env.ok(&["reports", "--days", "3650"]);
    assert!(table.contains("203.0.113.66"), "{table}");
    assert!(table.contains("certificate-expired"), "{table}");
    assert!(table.contains("Microsoft Corporation"), "{table}");

    // The reports are mail too: all four were delivered (wherever the
    // spam verdict filed them).
    let kept = inbox(&env.data(), "ann@example.org").await.len()
        + mailbox(&env.data(), "ann@example.org", "Junk").await.len();
    assert_eq!(kept, 4);
}

#[tokio::test]
async fn an_mx_without_starttls_is_reported_as_starttls_not_supported() {
    let dns = TestDns::start();
    let sink = Sink::start(SinkOpts::default(), &["mx.remote.test"]);
    dns.mx("remote.test", 10, "mx.remote.test");
    dns.a("mx.remote.test", LOCAL);
    dns.txt(
        "_smtp._tls.remote.test",
        "v=TLSRPTv1; rua=mailto:tls@remote.test",
    );
    let (env, server) = mail_env_with(&format!(
        "{}[outbound]\nport = {}\n[queue]\nscan_interval_secs = 1\n[reports]\nflush_secs = 0\n",
        dns.config(),
        sink.port
    ));
    python(&env, &server, SEND_OUT);
    // Opportunistic TLS: delivered in plain text, and reported.
    assert!(!sink.wait_for(1, Duration::from_secs(30))[0].tls);
    send_until(&env, &["queued: tlsrpt remote.test -> tls@remote.test"]);
    let txs = sink.wait_for(2, Duration::from_secs(30));
    let tls = to(&txs, "tls@remote.test");
    let json: serde_json::Value = serde_json::from_slice(&report_of(&tls[0])).expect("json");
    let p = &json["policies"][0];
    assert_eq!(p["policy"]["policy-type"], "no-policy-found", "{json}");
    assert_eq!(p["summary"]["total-successful-session-count"], 0, "{json}");
    assert_eq!(p["summary"]["total-failure-session-count"], 1, "{json}");
    let f = &p["failure-details"][0];
    assert_eq!(f["result-type"], "starttls-not-supported", "{json}");
    assert_eq!(f["receiving-mx-hostname"], "mx.remote.test", "{json}");
    assert_eq!(f["receiving-ip"], "127.0.0.1", "{json}");
    // RFC 8460 §4.4: the address we sent from, to reach 127.0.0.1.
    assert_eq!(f["sending-mta-ip"], "127.0.0.1", "{json}");
    assert_eq!(f["failed-session-count"], 1, "{json}");
}

#[tokio::test]
async fn a_dmarc_failure_outside_the_pct_sample_gets_the_milder_policy() {
    // RFC 7489 §6.6.4: pct=0 samples no message, so p=reject becomes
    // quarantine (Junk) for every one; pct=100 (and no pct) refuses.
    let dns = TestDns::start();
    for (d, record) in [
        ("sampled.test", "v=DMARC1; p=reject; pct=0"),
        ("strict.test", "v=DMARC1; p=reject; pct=100"),
    ] {
        dns.txt(d, "v=spf1 ip4:192.0.2.1 -all");
        dns.txt(&format!("_dmarc.{d}"), record);
    }
    let (env, server) = mail_env_with(&dns.config());
    let msg =
        |from: &str| format!("From: {from}\r\nTo: ann@example.org\r\nSubject: hi\r\n\r\nhi\r\n");
    let reply = send_mx_to(
        &env,
        &server,
        "x@sampled.test",
        &["ann@example.org"],
        &msg("x@sampled.test"),
    );
    assert!(reply.starts_with("250"), "{reply}");
    let junk = mailbox(&env.data(), "ann@example.org", "Junk").await;
    assert_eq!(junk.len(), 1);
    assert!(inbox(&env.data(), "ann@example.org").await.is_empty());
    let reply = send_mx_to(
        &env,
        &server,
        "y@strict.test",
        &["ann@example.org"],
        &msg("y@strict.test"),
    );
    assert!(reply.starts_with("550"), "{reply}");
}

#[tokio::test]
async fn a_failed_mta_sts_policy_fetch_is_reported_as_sts_policy_fetch_error() {
    // RFC 8460 §4.3.2.3: remote.test publishes an MTA-STS policy that
    // cannot be fetched (nothing listens on the policy host's port); the
    // mail still goes (no policy), and the report says the fetch failed.
    let dns = TestDns::start();
    let sink = Sink::start(
        SinkOpts {
            starttls: true,
            ..SinkOpts::default()
        },
        &["mx.remote.test"],
    );
    dns.mx("remote.test", 10, "mx.remote.test");
    dns.a("mx.remote.test", LOCAL);
    dns.txt("_mta-sts.remote.test", "v=STSv1; id=1");
    dns.a("mta-sts.remote.test", LOCAL);
    dns.txt(
        "_smtp._tls.remote.test",
        "v=TLSRPTv1; rua=mailto:tls@remote.test",
    );
    let (_held, closed) = crate::outbound::refusing_port();
    let (env, server) = mail_env_with(&format!(
        "{}[outbound]\nport = {}\nmta_sts_port = {closed}\n[queue]\nscan_interval_secs = 1\n\
         [reports]\nflush_secs = 0\n",
        dns.config(),
        sink.port
    ));
    python(&env, &server, SEND_OUT);
    assert!(sink.wait_for(1, Duration::from_secs(30))[0].tls);
    send_until(&env, &["queued: tlsrpt remote.test -> tls@remote.test"]);
    let txs = sink.wait_for(2, Duration::from_secs(30));
    let tls = to(&txs, "tls@remote.test");
    let json: serde_json::Value = serde_json::from_slice(&report_of(&tls[0])).expect("json");
    let policies = json["policies"].as_array().expect("policies");
    let sts = policies
        .iter()
        .find(|p| p["policy"]["policy-type"] == "sts")
        .unwrap_or_else(|| panic!("no sts policy block: {json}"));
    assert_eq!(sts["policy"]["policy-domain"], "remote.test", "{json}");
    assert_eq!(sts["summary"]["total-failure-session-count"], 1, "{json}");
    assert_eq!(
        sts["failure-details"][0]["result-type"], "sts-policy-fetch-error",
        "{json}"
    );
    // The delivery itself, with no policy to apply, is counted as such.
    assert!(
        policies
            .iter()
            .any(|p| p["policy"]["policy-type"] == "no-policy-found"
                && p["summary"]["total-successful-session-count"] == 1),
        "{json}"
    );
}

#[tokio::test]
async fn a_tls_report_to_an_https_rua_is_posted_gzipped_and_a_failed_post_is_said() {
    // RFC 8460 §3: the report is the body of a POST, Content-Type
    // application/tlsrpt+gzip, to a server whose certificate the test's
    // CA file ([outbound] ca_file) holds. The first POST is answered 503,
    // the next 200.
    let dns = TestDns::start();
    let sink = Sink::start(
        SinkOpts {
            starttls: true,
            ..SinkOpts::default()
        },
        &["mx.remote.test"],
    );
    let busy = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let https = crate::support::sts::StsServer::serve(
        "tlsrpt.remote.test",
        vec![busy.to_string(), ok.to_string()],
    );
    dns.mx("remote.test", 10, "mx.remote.test");
    dns.a("mx.remote.test", LOCAL);
    dns.a("tlsrpt.remote.test", LOCAL);
    let uri = format!("https://tlsrpt.remote.test:{}/v1/tlsrpt", https.port);
    dns.txt("_smtp._tls.remote.test", &format!("v=TLSRPTv1; rua={uri}"));
    let (env, server) = mail_env_with(&format!(
        "{}[outbound]\nport = {}\nca_file = \"{}\"\n[queue]\nscan_interval_secs = 1\n\
         [reports]\nflush_secs = 0\n",
        dns.config(),
        sink.port,
        https.cert.display()
    ));
    python(&env, &server, SEND_OUT);
    assert!(sink.wait_for(1, Duration::from_secs(30))[0].tls);
    let said = send_until(
        &env,
        &[&format!(
            "not sent: tlsrpt remote.test: POST to {uri} failed"
        )],
    );
    assert!(said.contains("503"), "{said}");
    // `reports send` does not retry in the background: the counts stay,
    // and the next run posts them again.
    send_until(&env, &[&format!("queued: tlsrpt remote.test -> {uri}")]);
    let requests = https.requests.lock().expect("requests").clone();
    assert_eq!(requests.len(), 2);
    let raw = &requests[1];
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head");
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    assert!(head.starts_with("POST /v1/tlsrpt HTTP/1.1\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/tlsrpt+gzip"),
        "{head}"
    );
    let mut json = Vec::new();
    std::io::Read::read_to_end(
        &mut mail_auth::flate2::read::GzDecoder::new(&raw[end + 4..]),
        &mut json,
    )
    .expect("a gzip body");
    let json: serde_json::Value = serde_json::from_slice(&json).expect("json");
    let p = &json["policies"][0];
    assert_eq!(p["policy"]["policy-domain"], "remote.test", "{json}");
    assert_eq!(p["summary"]["total-successful-session-count"], 1, "{json}");
    drop(server);
}
