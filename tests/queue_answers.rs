//! The queue reads the answers (issue 20): a recording SMTP server replies
//! with the big providers' real refusal texts, and the queue retries a
//! greylisted recipient soon, pauses a provider that says "too fast" for
//! all its domains, and explains authentication refusals in the bounce and
//! in `postern queue show`.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::outbound::{remote_mx, submit, wait_inbox};
use crate::smtp::{mail_env_with, python};
use crate::support::dns::TestDns;
use crate::support::sink::SinkOpts;
use crate::support::{Env, Server};

const GMAIL_UNAUTHENTICATED: &str = "550-5.7.26 This mail has been blocked because the sender is\r\n\
    550-5.7.26 unauthenticated. Gmail requires all senders to authenticate with\r\n\
    550-5.7.26 either SPF or DKIM.\r\n\
    550-5.7.26\r\n\
    550-5.7.26  For instructions on setting up authentication, go to\r\n\
    550 5.7.26  https://support.google.com/mail/answer/81126#authentication a1si1 - gsmtp";

const GMAIL_RATE_LIMITED: &str = "421-4.7.28 [192.0.2.1] Our system has detected an unusual rate of\r\n\
    421-4.7.28 unsolicited mail originating from your IP address. To protect our\r\n\
    421-4.7.28 users from spam, mail sent from your IP address has been temporarily\r\n\
    421-4.7.28 rate limited. Please visit\r\n\
    421-4.7.28  https://support.google.com/mail/?p=UnsolicitedRateLimitError to\r\n\
    421 4.7.28  review our Bulk Email Senders Guidelines. a1si2 - gsmtp";

const OUTLOOK_BLOCKED: &str = "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. \
    Please contact your Internet service provider since part of their network is on our \
    block list (S3150). You can also refer your provider to \
    http://mail.live.com/mail/troubleshooting.aspx#errors. \
    [AM4PEPF00025F98.EURPRD83.prod.outlook.com 2026-12-07T00:00:00.000Z 08DD]";

/// The sending server with its own `[queue]` and `[outbound]` lines.
fn sender_with(dns: &TestDns, port: u16, queue: &str, outbound: &str) -> (Env, Server) {
    mail_env_with(&format!(
        "{}[queue]\nscan_interval_secs = 1\n{queue}[outbound]\nport = {port}\n{outbound}",
        dns.config()
    ))
}

/// Queue ids of the messages `queue list` shows with a deferred
/// recipient, once there are `n` (bounded wait).
fn wait_deferred_ids(env: &Env, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = env.ok(&["queue", "list"]);
        let mut ids = Vec::new();
        let mut current = None;
        for line in out.lines() {
            if !line.starts_with(' ') {
                current = line.split_whitespace().next().map(str::to_string);
            } else if line.trim_start().starts_with("deferred")
                && let Some(id) = current.take()
            {
                ids.push(id);
            }
        }
        if ids.len() >= n {
            return ids;
        }
        assert!(Instant::now() < deadline, "not {n} deferred:\n{out}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The seconds `queue show` says the first recipient waits.
fn next_try_secs(shown: &str) -> u64 {
    shown
        .lines()
        .find_map(|l| l.trim().strip_prefix("next try: in "))
        .and_then(|s| s.trim_end_matches('s').parse().ok())
        .unwrap_or_else(|| panic!("no next try in\n{shown}"))
}

#[tokio::test]
async fn a_greylisted_recipient_is_retried_soon_not_after_the_backoff() {
    let (dns, sink) = remote_mx(SinkOpts {
        rcpt_replies: vec![
            "450 4.2.0 <x@remote.test>: Recipient address rejected: Greylisted, see \
             http://postgrey.schweikert.ch/help/remote.test.html"
                .into(),
        ],
        ..SinkOpts::default()
    });
    // An ordinary deferral would wait an hour; a greylisted one a second.
    let (env, server) = sender_with(
        &dns,
        sink.port,
        "first_retry_secs = 3600\nmax_retry_secs = 3600\n",
        "greylist_retry_secs = 1\n",
    );
    submit(&env, &server, &["x@remote.test"], "greylisted");
    let txs = sink.wait_for(1, Duration::from_secs(30));
    assert!(txs[0].rcpts[0].contains("<x@remote.test>"));
    let log = sink.rcpt_log.lock().expect("log").clone();
    assert_eq!(log.len(), 2, "refused once, accepted at the retry: {log:?}");
}

#[tokio::test]
async fn a_providers_rate_limit_pauses_it_for_every_domain_it_serves() {
    let (dns, sink) = remote_mx(SinkOpts {
        rcpt_replies: vec![GMAIL_RATE_LIMITED.into()],
        ..SinkOpts::default()
    });
    // two.test is another customer of the same provider (by MX suffix).
    dns.mx("one.test", 10, "mx.remote.test");
    dns.mx("two.test", 10, "mx2.remote.test");
    dns.a("mx2.remote.test", Ipv4Addr::LOCALHOST);
    let (env, server) = sender_with(
        &dns,
        sink.port,
        "first_retry_secs = 1\nmax_retry_secs = 1\n",
        "rate_limit_pause_secs = 3600\n\
         [[outbound.providers]]\nname = \"Gmail\"\nmx_suffixes = [\"remote.test\"]\n\
         max_connections = 2\nmessages_per_minute = 600\n",
    );
    submit(&env, &server, &["x@one.test"], "first");
    let first = wait_deferred_ids(&env, 1);
    let shown = env.ok(&["queue", "show", &first[0]]);
    assert!(shown.contains("4.7.28"), "{shown}");
    assert!(
        shown.contains("advice:   Gmail is limiting how fast"),
        "{shown}"
    );
    // Not the one-second backoff: the pause.
    assert!(next_try_secs(&shown) > 600, "{shown}");

    submit(&env, &server, &["y@two.test"], "second");
    let both = wait_deferred_ids(&env, 2);
    let second = both.iter().find(|id| **id != first[0]).expect("second");
    let shown = env.ok(&["queue", "show", second]);
    assert!(shown.contains("y@two.test"), "{shown}");
    assert!(
        shown.contains("Gmail asked this server to slow down"),
        "{shown}"
    );
    assert!(next_try_secs(&shown) > 600, "{shown}");
    // Nothing more reached the provider.
    assert_eq!(sink.rcpt_log.lock().expect("log").len(), 1);
    assert!(sink.txs().is_empty());
}

#[tokio::test]
async fn authentication_refusals_are_explained_in_the_bounce() {
    let (dns, sink) = remote_mx(SinkOpts {
        rcpt_replies: vec![GMAIL_UNAUTHENTICATED.into(), OUTLOOK_BLOCKED.into()],
        ..SinkOpts::default()
    });
    let (env, server) = sender_with(&dns, sink.port, "", "");
    submit(
        &env,
        &server,
        &["a@remote.test", "b@remote.test"],
        "refused",
    );
    let bounce = wait_inbox(&env, 1).await;
    let text = String::from_utf8_lossy(&bounce[0]).replace("\r\n    ", " ");
    assert!(text.contains("5.7.26"), "{text}");
    assert!(
        text.contains("What to do: Gmail requires SPF or DKIM alignment"),
        "{text}"
    );
    assert!(text.contains("`postern doctor`"), "{text}");
    assert!(
        text.contains("What to do: Microsoft refuses this server's IP address (a block list)"),
        "{text}"
    );
    assert!(sink.txs().is_empty());
}

#[tokio::test]
async fn a_providers_domains_share_its_connection_limit() {
    let (dns, sink) = remote_mx(SinkOpts::default());
    // Twelve customer domains of one provider (by MX suffix).
    let rcpts: Vec<String> = (0..12)
        .map(|i| {
            dns.mx(&format!("d{i}.test"), 10, "mx.remote.test");
            format!("r@d{i}.test")
        })
        .collect();
    let (env, server) = sender_with(
        &dns,
        sink.port,
        "first_retry_secs = 1\nmax_retry_secs = 1\n",
        "[[outbound.providers]]\nname = \"Big\"\nmx_suffixes = [\"remote.test\"]\n\
         max_connections = 1\nmessages_per_minute = 0\n",
    );
    // Twelve messages, one recipient each, submitted back to back.
    let quoted: Vec<String> = rcpts.iter().map(|r| format!("'{r}'")).collect();
    python(
        &env,
        &server,
        &format!(
            "s = sub()\n\
             for r in [{}]:\n    s.sendmail('ann@example.org', [r], 'From: ann@example.org\\r\\nSubject: shared\\r\\n\\r\\nx\\r\\n')\n\
             s.quit()\n",
            quoted.join(", ")
        ),
    );
    let txs = sink.wait_for(12, Duration::from_secs(30));
    assert_eq!(txs.len(), 12);
    let (_, most) = *sink.conns.lock().expect("conns");
    assert_eq!(most, 1, "never more than one connection to the provider");
}
