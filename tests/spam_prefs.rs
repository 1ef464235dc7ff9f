//! A user's own spam settings (issues 15 and 18) end to end: a lowered
//! junk threshold files one recipient's copy in Junk while another
//! recipient of the same message gets it in INBOX; an allowed sender whose
//! domain is authenticated reaches INBOX with `USER_ALLOW` in the header,
//! and a forged From of that sender does not; a blocked sender lands in
//! Junk; the account page sets all of it (and the running server uses it
//! at the next message); the CLI round-trips and refuses bad input with a
//! clear reason.

use std::net::Ipv4Addr;

use crate::smtp::{inbox, mail_env_with, mailbox, send_mx_to};
use crate::spam::{clean, clean_from, spam_env, text};
use crate::support::dns::TestDns;
use crate::support::{Env, python};
use crate::web_console::HELPERS;

/// The first message of `user`'s `name` mailbox whose Subject is `subject`.
async fn find(env: &Env, user: &str, name: &str, subject: &str) -> Option<String> {
    mailbox(&env.data(), user, name)
        .await
        .into_iter()
        .map(|(_, raw)| text(&raw))
        .find(|m| m.contains(&format!("Subject: {subject}\r\n")))
}

#[tokio::test]
async fn own_thresholds_and_blocks_file_per_recipient_from_one_scoring() {
    let dns = TestDns::start();
    dns.a("spam.test.dbl.test", Ipv4Addr::new(127, 0, 1, 2));
    let (env, server) = spam_env(&dns, "rhsbl = [{ zone = \"dbl.test\", weight = 4.0 }]\n");
    let said = env.ok(&[
        "spam",
        "settings",
        "ann@example.org",
        "--junk-threshold",
        "3",
    ]);
    assert!(
        said.contains("junk threshold: 3.0 (own setting; the server's is 5.0)"),
        "{said}"
    );
    env.ok(&["spam", "block", "ann@example.org", "@Blocked.test"]);

    let offer = clean("offer", "see http://www.spam.test/buy now");
    let reply = send_mx_to(
        &env,
        &server,
        "x@sender.test",
        &["ann@example.org", "bob@example.org"],
        &offer,
    );
    assert!(reply.starts_with("250"), "{reply}");
    let ann = find(&env, "ann@example.org", "Junk", "offer").await;
    let ann = ann.expect("ann's threshold is 3: her copy is in Junk");
    assert!(
        ann.contains("X-Spam-Status: Yes, score=4.0 required=3.0"),
        "{ann}"
    );
    let bob = find(&env, "bob@example.org", "INBOX", "offer").await;
    let bob = bob.expect("bob keeps the server's 5: his copy is in INBOX");
    assert!(
        bob.contains("X-Spam-Status: No, score=4.0 required=5.0"),
        "{bob}"
    );

    // A clean message from a blocked domain: Junk for ann, INBOX for bob.
    let hello = clean_from("News <news@mail.blocked.test>", "hello", "nothing to see");
    let reply = send_mx_to(
        &env,
        &server,
        "news@mail.blocked.test",
        &["ann@example.org", "bob@example.org"],
        &hello,
    );
    assert!(reply.starts_with("250"), "{reply}");
    let ann = find(&env, "ann@example.org", "Junk", "hello").await;
    let ann = ann.expect("a blocked sender lands in Junk");
    assert!(ann.contains("\tUSER_BLOCK=10.00 [@blocked.test]"), "{ann}");
    let bob = find(&env, "bob@example.org", "INBOX", "hello").await;
    assert!(bob.is_some_and(|m| !m.contains("USER_BLOCK")));
    assert!(inbox(&env.data(), "ann@example.org").await.is_empty());
}

#[tokio::test]
async fn an_allowed_sender_passes_only_when_its_domain_is_authenticated() {
    let dns = TestDns::start();
    dns.txt("remote.test", "v=spf1 ip4:127.0.0.1 -all");
    dns.txt("_dmarc.remote.test", "v=DMARC1; p=none");
    dns.a("spam.test.dbl.test", Ipv4Addr::new(127, 0, 1, 2));
    let (env, server) = mail_env_with(&format!(
        "{}[spam]\nrhsbl = [{{ zone = \"dbl.test\", weight = 6.0 }}]\n",
        dns.config()
    ));
    let said = env.ok(&["spam", "allow", "ann@example.org", "Friend@Remote.test"]);
    assert!(
        said.contains("ann@example.org: friend@remote.test allowed"),
        "{said}"
    );
    let body = "the link you asked for: http://www.spam.test/";
    // From and MAIL FROM in remote.test, sent from the IP its SPF names.
    let reply = send_mx_to(
        &env,
        &server,
        "friend@remote.test",
        &["ann@example.org"],
        &clean_from("Friend <friend@remote.test>", "real", body),
    );
    assert!(reply.starts_with("250"), "{reply}");
    let real = find(&env, "ann@example.org", "INBOX", "real").await;
    let real = real.expect("the allowed sender's message is in INBOX");
    assert!(real.contains("dmarc=pass"), "{real}");
    assert!(real.contains("X-Spam-Result: Inbox"), "{real}");
    assert!(real.contains("\tRHSBL=6.00"), "{real}");
    assert!(
        real.contains("\tUSER_ALLOW=-100.00 [friend@remote.test]"),
        "{real}"
    );

    // The same From, sent by someone else: DMARC fails, no allowance.
    let reply = send_mx_to(
        &env,
        &server,
        "x@forger.test",
        &["ann@example.org"],
        &clean_from("Friend <friend@remote.test>", "forged", body),
    );
    assert!(reply.starts_with("250"), "{reply}");
    let forged = find(&env, "ann@example.org", "Junk", "forged").await;
    let forged = forged.expect("the forged From is scored as anyone's mail: Junk");
    assert!(forged.contains("dmarc=fail"), "{forged}");
    assert!(!forged.contains("USER_ALLOW"), "{forged}");
}

/// Logs ann in, changes her settings and lists on /account/spam (each
/// change a 303 back to the page, which says what was done once), and
/// checks each refusal (the page again, with the reason and what was
/// typed).
const ACCOUNT_PAGE: &str = r#"
import html as h
c = Client()
st, hs, _ = c.login('ann@example.org', 'ann password')
assert st == 303, (st, hs)
st, _, body = c.get('/account')
assert '/account/spam' in body
st, _, body = c.get('/account/spam')
assert st == 200, (st, body)
assert 'junk threshold: 5.0 (the server' in h.unescape(body), body
assert '<label for="junk_threshold">' in body and '<legend>Clear spam</legend>' in body
t = csrf(body)
st, _, _ = c.post('/account/spam/settings', {'junk_threshold': '3', 'reject': 'off'})
assert st == 403, st
def done(path, fields):
    st, hs, body = c.post(path, dict(fields, csrf=t))
    assert st == 303 and hs['location'] == '/account/spam', (st, hs, body)
    st, _, body = c.get('/account/spam')
    assert st == 200, (st, body)
    return body
body = done('/account/spam/settings', {'junk_threshold': '3', 'reject': 'off'})
text = h.unescape(body)
assert 'spam settings saved' in text, text
assert 'junk threshold: 3.0 (own setting; the server' in text, text
assert 'filed in Junk, never refused (own setting' in text, text
assert 'value="off" checked' in body, body
st, _, body = c.get('/account/spam')
assert 'spam settings saved' not in h.unescape(body), 'shown once'
for fields, why in [
    ({'junk_threshold': '99', 'reject': 'default'}, 'must be a number from 1 to 15'),
    ({'junk_threshold': 'lots', 'reject': 'default'}, 'is not a number'),
]:
    st, _, body = c.post('/account/spam/settings', dict(fields, csrf=t))
    assert st == 400 and why in h.unescape(body), (st, fields, body)
    assert 'value="%s"' % fields['junk_threshold'] in body, body
body = done('/account/spam/senders/add', {'sender': 'Friend@Remote.test', 'list': 'allow'})
assert 'friend@remote.test allowed' in h.unescape(body), body
body = done('/account/spam/senders/add', {'sender': '@Blocked.test', 'list': 'block'})
assert '<td>@blocked.test</td>' in body, body
st, _, body = c.post('/account/spam/senders/add', {'csrf': t, 'sender': 'not an address', 'list': 'block'})
assert st == 400 and 'is not an address' in h.unescape(body), (st, body)
assert 'value="not an address"' in body, body
st, _, body = c.post('/account/spam/senders/add', {'csrf': t, 'sender': 'x@y.test', 'list': 'both'})
assert st == 400, st
st, _, body = c.post('/account/spam/senders/remove', {'csrf': t, 'sender': 'friend@remote.test', 'list': 'block'})
assert st == 404 and 'is not among your blocked senders' in h.unescape(body), (st, body)
body = done('/account/spam/senders/remove', {'sender': 'friend@remote.test', 'list': 'allow'})
assert '<td>friend@remote.test</td>' not in body, body
assert 'aria-label="Remove @blocked.test"' in body, body
# bob, an admin, sees one user with settings of her own.
b = Client()
b.login('bob@example.org', 'bob password')
st, _, body = b.get('/admin/spam')
assert st == 200 and 'settings of their own (thresholds, allowed or blocked senders): 1.' in body, (st, body)
print('ok')
"#;

#[tokio::test]
async fn the_account_page_sets_thresholds_and_senders_and_the_server_uses_them_at_once() {
    let dns = TestDns::start();
    dns.a("spam.test.dbl.test", Ipv4Addr::new(127, 0, 1, 2));
    let (env, server) = spam_env(&dns, "rhsbl = [{ zone = \"dbl.test\", weight = 4.0 }]\n");
    env.ok(&["user", "admin", "bob@example.org", "--on"]);
    let offer = |subject: &str| clean(subject, "see http://www.spam.test/buy now");
    // Scored (and ann's settings cached) before she changes anything.
    let reply = send_mx_to(
        &env,
        &server,
        "x@sender.test",
        &["ann@example.org"],
        &offer("before"),
    );
    assert!(reply.starts_with("250"), "{reply}");
    assert!(
        find(&env, "ann@example.org", "INBOX", "before")
            .await
            .is_some()
    );

    let out = python(&env, &server, &format!("{HELPERS}{ACCOUNT_PAGE}"), &[]);
    assert_eq!(out.trim(), "ok");

    let reply = send_mx_to(
        &env,
        &server,
        "x@sender.test",
        &["ann@example.org"],
        &offer("after"),
    );
    assert!(reply.starts_with("250"), "{reply}");
    let after = find(&env, "ann@example.org", "Junk", "after").await;
    let after = after.expect("the page's threshold of 3 applies to the next message");
    assert!(after.contains("required=3.0"), "{after}");
    let listed = env.ok(&["spam", "senders", "ann@example.org"]);
    assert_eq!(listed.trim(), "block @blocked.test");
}

#[test]
fn cli_round_trips_and_refuses_bad_input_with_the_reason() {
    let env = Env::with_config("[spam]\nmax_sender_rules = 2\nreject = false\n");
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "ann password\n");
    let s = |args: &[&str]| {
        let mut all = vec!["spam"];
        all.extend_from_slice(args);
        env.ok(&all)
    };
    let said = s(&["settings", "ann@example.org"]);
    for want in [
        "junk threshold: 5.0 (the server's)",
        "clear spam: never refused (the server's)",
        "senders: 0 allowed, 0 blocked (at most 2 in all)",
    ] {
        assert!(said.contains(want), "missing {want:?} in\n{said}");
    }
    let said = s(&["settings", "ann@example.org", "--junk-threshold", "2.5"]);
    assert!(said.contains("junk threshold: 2.5 (own setting"), "{said}");
    s(&["allow", "ann@example.org", "a@friend.test"]);
    let said = s(&["block", "ann@example.org", "a@friend.test"]);
    assert!(
        said.contains("a@friend.test blocked (no longer allowed)"),
        "{said}"
    );
    s(&["block", "ann@example.org", "@spam.test"]);
    assert_eq!(
        s(&["senders", "ann@example.org"]).trim(),
        "block @spam.test\nblock a@friend.test"
    );
    let stats = s(&["stats", "ann@example.org"]);
    assert!(stats.contains("senders: 0 allowed, 2 blocked"), "{stats}");

    let fails = |args: &[&str], why: &str| {
        let mut all = vec!["spam"];
        all.extend_from_slice(args);
        let err = env.fails(&all, "");
        assert!(err.contains(why), "{args:?}: want {why:?} in {err}");
    };
    fails(
        &["block", "ann@example.org", "third@spam2.test"],
        "already 2 allowed and blocked senders, the most one user may have ([spam] max_sender_rules = 2)",
    );
    fails(&["allow", "ann@example.org", "ann@"], "is not an address");
    fails(
        &["allow", "ann@example.org", "no at sign"],
        "is not an address",
    );
    fails(
        &["block", "ann@example.org", "a@exa_mple.test"],
        "cannot appear in a domain",
    );
    fails(
        &["settings", "ann@example.org", "--junk-threshold", "0"],
        "the junk threshold must be a number from 1 to 15",
    );
    fails(
        &["settings", "ann@example.org", "--junk-threshold", "NaN"],
        "the junk threshold must be a number",
    );
    fails(
        &["settings", "ann@example.org", "--reject", "on"],
        "refusal cannot be turned on",
    );
    fails(
        &["settings", "ann@example.org", "--reject", "maybe"],
        "is not on, off or default",
    );
    fails(
        &["unallow", "ann@example.org", "x@y.test"],
        "is not among the allowed senders",
    );
    fails(
        &["senders", "nobody@example.org"],
        "no user nobody@example.org",
    );
    // Nothing refused changed anything.
    let said = s(&["settings", "ann@example.org", "--junk-threshold", "default"]);
    assert!(
        said.contains("junk threshold: 5.0 (the server's)"),
        "{said}"
    );
    assert!(said.contains("senders: 0 allowed, 2 blocked"), "{said}");
}
