//! Running it: `/metrics` scraped and parsed after real traffic (SMTP in
//! and out, a relay refusal, a failed IMAP login) with each counter moved
//! by exactly what was done; JSON log lines with the transaction events;
//! `postern status` against a running server and without one.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::outbound::{remote_mx, sender, submit};
use crate::smtp::{HOLD_QUEUE, mail_env_with, python, send_mx_to};
use crate::support::sink::SinkOpts;
use crate::support::{Env, Server};

const METRICS_JSON_LOG: &str = "[metrics]\nlisten = [\"127.0.0.1:0\"]\n[log]\nformat = \"json\"\n";

/// One scrape: sample (`name{k="v",...}` with labels sorted) to value.
/// Every line must be a comment, blank, or a well-formed sample of a family
/// declared by a `# TYPE` line before it, or the test fails.
pub(crate) fn scrape(server: &Server) -> HashMap<String, f64> {
    let mut c = std::net::TcpStream::connect(server.addr("metrics")).expect("connect to metrics");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    c.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("send request");
    let mut raw = String::new();
    c.read_to_string(&mut raw).expect("read response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    parse_exposition(body)
}

fn parse_exposition(body: &str) -> HashMap<String, f64> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = HashMap::new();
    for line in body.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary"].contains(&kind),
                "{line}"
            );
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with('#') {
            assert!(line.starts_with("# HELP "), "unknown comment: {line}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, parse_labels(l.strip_suffix('}').expect("closing brace"))),
            None => (series, Vec::new()),
        };
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':'),
            "bad name: {line}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| types.contains_key(*f)))
            .unwrap_or(name);
        assert!(types.contains_key(family), "no # TYPE before {line}");
        samples.insert(key(name, &labels), value);
    }
    samples
}

/// `k="v",k2="v2"` with the text format's escapes (`\\`, `\"`, `\n`).
fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (k, after) = rest.split_once("=\"").expect("label=\"value\"");
        let mut v = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("closing quote") {
                (i, '"') => break i,
                (_, '\\') => match chars.next().expect("escape").1 {
                    'n' => v.push('\n'),
                    c => v.push(c),
                },
                (_, c) => v.push(c),
            }
        };
        out.push((k.to_string(), v));
        rest = after[end + 1..].trim_start_matches(',');
    }
    out
}

fn key(name: &str, labels: &[(String, String)]) -> String {
    let mut l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    l.sort();
    format!("{name}{{{}}}", l.join(","))
}

/// How much a sample grew between two scrapes (absent counts as 0).
pub(crate) fn moved(
    before: &HashMap<String, f64>,
    after: &HashMap<String, f64>,
    sample: &str,
) -> f64 {
    let get = |m: &HashMap<String, f64>| m.get(sample).copied().unwrap_or(0.0);
    get(after) - get(before)
}

/// `name{k="v",...}` as `key` writes it, from `name` and `k=v` pairs.
pub(crate) fn s(name: &str, labels: &[(&str, &str)]) -> String {
    let l: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    key(name, &l)
}

#[tokio::test]
async fn metrics_count_smtp_in_and_out_refusals_and_logins_and_json_logs_carry_the_events() {
    let (_dns, sink) = remote_mx(SinkOpts::default());
    let (env, server) = sender(&_dns, sink.port, METRICS_JSON_LOG);
    let before = scrape(&server);

    let reply = send_mx_to(
        &env,
        &server,
        "someone@elsewhere.test",
        &["ann@example.org"],
        "From: someone@elsewhere.test\r\nTo: ann@example.org\r\nSubject: counted\r\n\r\nHello.\r\n",
    );
    assert!(reply.starts_with("250 "), "{reply}");
    let relay = python(
        &env,
        &server,
        "m = mx()\nm.mail('someone@elsewhere.test')\nprint(code(m.rcpt, 'victim@gmail.test'))\nm.quit()\n",
    );
    assert!(relay.starts_with("550 "), "{relay}");
    let login = crate::imap::py(
        &env,
        &server,
        "try:\n    login(pw='wrong'); print('accepted')\nexcept imaplib.IMAP4.error:\n    print('refused')\n",
    );
    assert_eq!(login.trim(), "refused");
    submit(&env, &server, &["x@remote.test"], "counted out");
    sink.wait_for(1, Duration::from_secs(30));

    // The queue runner counts the result after the remote's 250 and then
    // commits it: wait for the count and for the queue to empty.
    let delivered = s("postern_outbound_total", &[("result", "delivered")]);
    let queued = s("postern_queue_messages", &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        let now = scrape(&server);
        if moved(&before, &now, &delivered) >= 1.0 && now.get(&queued) == Some(&0.0) {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "no outbound delivery counted or queue not empty"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    for (sample, want) in [
        (s("postern_smtp_accepted_total", &[("mode", "mx")]), 1.0),
        (
            s("postern_smtp_accepted_total", &[("mode", "submission")]),
            1.0,
        ),
        (
            s(
                "postern_smtp_rejected_total",
                &[("mode", "mx"), ("reason", "relay")],
            ),
            1.0,
        ),
        (s("postern_delivered_local_total", &[]), 1.0),
        (s("postern_queued_outbound_total", &[]), 1.0),
        (delivered.clone(), 1.0),
        (s("postern_outbound_total", &[("result", "deferred")]), 0.0),
        (
            s(
                "postern_logins_total",
                &[("proto", "imap"), ("result", "failed")],
            ),
            1.0,
        ),
        (
            s(
                "postern_logins_total",
                &[("proto", "imap"), ("result", "ok")],
            ),
            0.0,
        ),
        (
            s(
                "postern_logins_total",
                &[("proto", "smtp-submission"), ("result", "ok")],
            ),
            1.0,
        ),
        // Two port-25 clients (the message, the relay attempt); one
        // submission client whose STARTTLS handshake succeeded; one IMAPS
        // client.
        (
            s(
                "postern_connections_accepted_total",
                &[("listener", "smtp")],
            ),
            2.0,
        ),
        (
            s(
                "postern_connections_accepted_total",
                &[("listener", "submission")],
            ),
            1.0,
        ),
        (
            s(
                "postern_tls_handshakes_total",
                &[("listener", "submission"), ("result", "ok")],
            ),
            1.0,
        ),
        (
            s(
                "postern_tls_handshakes_total",
                &[("listener", "imaps"), ("result", "ok")],
            ),
            1.0,
        ),
    ] {
        assert_eq!(moved(&before, &after, &sample), want, "{sample}");
    }
    let verdicts = moved(
        &before,
        &after,
        &s("postern_spam_verdicts_total", &[("result", "inbox")]),
    ) + moved(
        &before,
        &after,
        &s("postern_spam_verdicts_total", &[("result", "junk")]),
    );
    assert_eq!(verdicts, 1.0, "one recipient judged");
    let batches = s("postern_store_batches_total", &[]);
    let commits = s("postern_store_commit_seconds_count", &[]);
    assert!(moved(&before, &after, &batches) >= 2.0);
    assert!(moved(&before, &after, &commits) >= 2.0);
    assert_eq!(
        after.get(&s("postern_store_commit_seconds_bucket", &[("le", "+Inf")])),
        after.get(&commits),
        "every commit is in the +Inf bucket"
    );
    assert!(
        after
            .get(&s("postern_data_dir_free_bytes", &[]))
            .is_some_and(|&f| f > 0.0)
    );

    // Every line of the log is a JSON object; the transaction events carry
    // their fields.
    let (_, _, log) = server.stop();
    let events: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let find = |message: &str, pick: &dyn Fn(&serde_json::Value) -> bool| {
        events
            .iter()
            .map(|e| &e["fields"])
            .find(|f| f["message"] == message && pick(f))
            .unwrap_or_else(|| panic!("no {message:?} event in:\n{log}"))
            .clone()
    };
    let inbound = find("smtp transaction", &|f| f["mode"] == "mx");
    let queue_id = reply.rsplit(' ').next().expect("queued as ID");
    assert_eq!(inbound["queue_id"], queue_id, "{inbound}");
    assert_eq!(inbound["client"], "127.0.0.1");
    assert_eq!(inbound["helo"], "client.test");
    assert_eq!(inbound["from"], "<someone@elsewhere.test>");
    assert_eq!(inbound["to"], "ann@example.org");
    assert_eq!(inbound["nrcpt"], 1);
    assert_eq!(inbound["code"], 250);
    assert_eq!(inbound["dsn"], "2.0.0");
    assert!(
        inbound["size"].as_u64().is_some_and(|n| n > 50),
        "{inbound}"
    );
    assert!(
        inbound["verdict"] == "inbox" || inbound["verdict"] == "junk",
        "{inbound}"
    );
    let submitted = find("smtp transaction", &|f| f["mode"] == "submission");
    assert_eq!(submitted["sasl_username"], "ann@example.org");
    assert_eq!(submitted["to"], "x@remote.test");
    assert_eq!(submitted["verdict"], "none");
    assert!(submitted["queued"].as_i64().is_some(), "{submitted}");
    let out = find("outbound delivery", &|f| f["status"] == "sent");
    assert_eq!(out["to"], "<x@remote.test>");
    assert_eq!(out["queue_id"], submitted["queued"]);
    assert_eq!(out["dsn"], "2.0.0");
    assert!(
        out["relay"]
            .as_str()
            .is_some_and(|r| r.contains("mx.remote.test")),
        "{out}"
    );
}

#[test]
fn status_shows_listeners_queue_and_recent_warnings_and_says_when_no_server_runs() {
    let idle = Env::new();
    let err = idle.fails(&["status"], "");
    assert!(err.contains("postern is not running"), "{err}");

    let (env, server) = mail_env_with(HOLD_QUEUE);
    // A queued message (its DNS never answers) and a warning (a failed login).
    crate::outbound::submit(&env, &server, &["x@remote.test"], "waits");
    crate::imap::py(
        &env,
        &server,
        "try:\n    login(pw='wrong')\nexcept imaplib.IMAP4.error:\n    pass\n",
    );
    let out = env.ok(&["status"]);
    assert!(
        out.starts_with("postern 0.1.0 running on mail.test"),
        "{out}"
    );
    for name in ["smtp", "submission", "imaps", "pop3", "managesieve"] {
        let line = format!("  {name:<12} {}", server.addr(name));
        assert!(out.contains(&line), "missing {line:?} in:\n{out}");
    }
    assert!(out.contains("queue: 1 messages (0 held), "), "{out}");
    assert!(out.contains(" free; "), "{out}");
    assert!(out.contains("recent warnings and errors ("), "{out}");
    assert!(out.contains("auth failed: proto=imap"), "{out}");

    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["status", "--json"])).expect("status --json is JSON");
    assert_eq!(json["queue"]["messages"], 1);
    assert_eq!(json["hostname"], "mail.test");

    server.stop();
    let err = env.fails(&["status"], "");
    assert!(err.contains("postern is not running"), "{err}");
}
