//! The web console's account pages that write Sieve and read mailboxes
//! (issue 18), against the real binary with the Python HTTP client of
//! `web_console.rs`: a vacation reply set on the page answers mail that
//! arrives over SMTP once per sender (seen at a recording SMTP server); a
//! filter rule files mail into its folder (seen with imaplib); a script
//! active from elsewhere is not replaced unless the user asks; the raw
//! editor refuses a broken script with its line and keeps the active
//! one, within the `[sieve]` limits; a mailbox downloads as an mbox that
//! Python's mailbox module reads back, and another user's mailbox is
//! 404; bad input to every handler. A form that did its work answers 303
//! to its page, which says so once (post-redirect-get, no notice in the
//! URL).

use std::net::Ipv4Addr;

use crate::outbound::{sender, wait_queue_empty};
use crate::sieve::activate;
use crate::smtp::{HOLD_QUEUE, admin_store, mail_env_with};
use crate::support::dns::TestDns;
use crate::support::sink::{Sink, SinkOpts};
use crate::support::{Env, Server, python};
use crate::web_console::HELPERS;

/// Python: the console helpers, `send(from, subject, body)` over port 25
/// and `imap(user)` logged in over IMAPS.
fn run(env: &Env, server: &Server, script: &str) -> String {
    let prelude = r#"
import imaplib, smtplib
def send(frm, subject, body='Hello.'):
    s = smtplib.SMTP('127.0.0.1', int(os.environ['SMTP_PORT']), timeout=10)
    s.sendmail(frm, ['ann@example.org'], f'From: <{frm}>\r\nTo: ann@example.org\r\nSubject: {subject}\r\nMessage-ID: <{abs(hash(subject))}@remote.test>\r\n\r\n{body}\r\n')
    s.quit()
def imap(user):
    c = imaplib.IMAP4_SSL('127.0.0.1', int(os.environ['IMAPS_PORT']), ssl_context=ctx, timeout=10)
    c.login(user, user.split('@')[0] + ' password')
    return c
def user(address):
    c = Client()
    st, h, _ = c.login(address, address.split('@')[0] + ' password')
    assert st == 303, st
    return c
def form(c, path):
    st, _, body = c.get(path)
    assert st == 200, (path, st, body)
    return csrf(body), body
"#;
    python(env, server, &format!("{HELPERS}{prelude}{script}"), &[])
}

#[tokio::test]
async fn vacation_set_on_the_page_answers_each_sender_once() {
    let dns = TestDns::start();
    let sink = Sink::start(SinkOpts::default(), &["mx.remote.test"]);
    dns.mx("remote.test", 10, "mx.remote.test");
    dns.a("mx.remote.test", Ipv4Addr::LOCALHOST);
    let (env, server) = sender(&dns, sink.port, "[mailauth]\nverify = false\n");
    let out = run(
        &env,
        &server,
        r#"
ann = user('ann@example.org')
token, body = form(ann, '/account/vacation')
assert 'name="subject"' in body and 'type="date"' in body, body
st, h, _ = ann.post('/account/vacation', {'csrf': token, 'on': '1', 'subject': 'Away <now>',
    'body': 'I am away.\n.\nBack on Monday.', 'days': '2', 'addresses': 'ann@example.net'})
assert st == 303 and h['location'] == '/account/vacation', (st, h)
st, _, body = ann.get(h['location'])
assert 'Saved.' in body and 'value="Away &lt;now&gt;"' in body and 'checked' in body, body
assert 'Back on Monday.' in body and 'value="2"' in body, body
st, _, body = ann.get(h['location'])
assert 'Saved.' not in body and 'Back on Monday.' in body, 'the notice is shown once'
send('x@remote.test', 'question 1')
send('x@remote.test', 'question 2')
print('sent')
"#,
    );
    assert_eq!(out.trim(), "sent");
    wait_queue_empty(&env);
    let txs = sink.txs();
    assert_eq!(txs.len(), 1, "one reply for two messages: {txs:?}");
    assert_eq!(txs[0].rcpts, ["RCPT TO:<x@remote.test>"], "{txs:?}");
    let data = String::from_utf8_lossy(&txs[0].data).into_owned();
    for want in [
        "Subject: Away <now>",
        "Auto-Submitted: auto-replied",
        "I am away.",
        "Back on Monday.",
    ] {
        assert!(data.contains(want), "missing {want:?} in\n{data}");
    }
    let store = admin_store(&env.data());
    let ann = store
        .user_get("ann@example.org")
        .await
        .expect("get")
        .expect("ann");
    let active = store.sieve_active(ann.id).await.expect("active");
    assert_eq!(active.map(|a| a.0).as_deref(), Some("postern-web"));
}

#[tokio::test]
async fn a_filter_rule_files_mail_and_a_script_active_elsewhere_stays_until_replaced() {
    let (env, server) = mail_env_with(HOLD_QUEUE);
    activate(&env, "bob@example.org", "mine", "keep;\r\n").await;
    let out = run(
        &env,
        &server,
        r#"
ann = user('ann@example.org')
token, body = form(ann, '/account/filters')
assert 'No rules yet.' in body, body
st, h, _ = ann.post('/account/filters/add', {'csrf': token, 'field': 'subject',
    'contains': 'invoice', 'action': 'move', 'target': 'Invoices'})
assert st == 303 and h['location'] == '/account/filters', (st, h)
ann.post('/account/filters/add', {'csrf': token, 'field': 'from', 'contains': '<script>', 'action': 'read'})
st, _, body = ann.get('/account/filters')
assert 'If Subject contains \u201cinvoice\u201d: move to Invoices' in body, body
assert '&lt;script&gt;' in body and '<script>' not in body.split('</head>')[1], body
# Reordered, then the second rule deleted: the invoice rule is first again.
st, h, _ = ann.post('/account/filters/move', {'csrf': token, 'rule': '1', 'to': 'up'})
assert st == 303, st
st, _, body = ann.get('/account/filters')
assert body.index('&lt;script&gt;') < body.index('invoice'), body
ann.post('/account/filters/delete', {'csrf': token, 'rule': '0'})
st, _, body = ann.get('/account/filters')
assert 'script&gt;' not in body and 'invoice' in body, body
send('x@remote.test', 'Your invoice 42')
send('x@remote.test', 'Hello there')
c = imap('ann@example.org')
typ, data = c.select('Invoices')
assert typ == 'OK' and data == [b'1'], (typ, data)
typ, data = c.fetch('1', '(BODY[HEADER.FIELDS (SUBJECT)])')
assert b'Your invoice 42' in data[0][1], data
typ, data = c.select('INBOX')
assert data == [b'1'], data
typ, data = c.fetch('1', '(BODY[HEADER.FIELDS (SUBJECT)])')
assert b'Hello there' in data[0][1], data
c.logout()

# Bob's own script from a mail program is active: saved, not replaced.
bob = user('bob@example.org')
token, body = form(bob, '/account/filters')
assert 'Your active Sieve script is <strong>mine</strong>' in body, body
st, h, _ = bob.post('/account/filters/add', {'csrf': token, 'field': 'subject',
    'contains': 'x', 'action': 'discard'})
assert st == 303 and h['location'] == '/account/filters', (st, h)
st, _, body = bob.get('/account/filters')
assert 'Saved, but not active' in body, body
print('bob kept his script')
"#,
    );
    assert_eq!(out.trim(), "bob kept his script");
    let store = admin_store(&env.data());
    let bob = store
        .user_get("bob@example.org")
        .await
        .expect("get")
        .expect("bob");
    let active = |s: Option<(String, String)>| s.map(|a| a.0);
    assert_eq!(
        active(store.sieve_active(bob.id).await.expect("active")).as_deref(),
        Some("mine")
    );
    // The user chooses the console's rules; then they run.
    let out = run(
        &env,
        &server,
        r#"
bob = user('bob@example.org')
token, _ = form(bob, '/account/filters')
st, h, _ = bob.post('/account/filters/add', {'csrf': token, 'field': 'subject',
    'contains': 'y', 'action': 'read', 'replace': '1'})
assert st == 303 and h['location'] == '/account/filters', (st, h)
st, _, body = bob.get('/account/filters')
assert 'Your active Sieve script is' not in body and 'Saved.' in body, body
print('replaced')
"#,
    );
    assert_eq!(out.trim(), "replaced");
    assert_eq!(
        active(store.sieve_active(bob.id).await.expect("active")).as_deref(),
        Some("postern-web")
    );
}

#[tokio::test]
async fn the_raw_editor_refuses_a_broken_script_with_its_line_and_keeps_the_active_one() {
    let (env, server) = mail_env_with(&format!(
        "{HOLD_QUEUE}[sieve]\nmax_scripts = 2\nmax_script_bytes = 2000\n"
    ));
    let out = run(
        &env,
        &server,
        r#"
ann = user('ann@example.org')
token, body = form(ann, '/account/sieve')
assert 'You have no scripts.' in body and 'Up to 2 scripts' in body, body
good = 'require "fileinto";\r\nif header :contains "subject" "x" {\r\n  fileinto "X";\r\n}\r\n'
st, h, _ = ann.post('/account/sieve/save', {'csrf': token, 'name': 'good', 'script': good})
assert st == 303 and h['location'] == '/account/sieve/edit?name=good', (st, h)
st, _, body = ann.get(h['location'])
assert 'Saved.' in body, body
st, h, _ = ann.post('/account/sieve/activate', {'csrf': token, 'name': 'good'})
assert st == 303 and h['location'] == '/account/sieve', (st, h)
st, _, body = ann.get(h['location'])
assert 'The script is active.' in body, body
broken = 'require "fileinto";\r\nif true {\r\n  fileinto "x"\r\n  bogus;\r\n}\r\n'
for name in ['bad', 'good']:
    st, _, body = ann.post('/account/sieve/save', {'csrf': token, 'name': name, 'script': broken})
    assert st == 400 and 'Not saved: line 4' in body, (st, body)
    assert '<pre class="record">  bogus;</pre>' in body, body
st, _, body = ann.get('/account/sieve')
assert 'bad' not in body and '<strong>active</strong>' in body, body
st, _, body = ann.get('/account/sieve/edit?name=good')
assert st == 200 and 'fileinto &quot;X&quot;' in body, body
# The [sieve] limits: size, then count.
st, _, body = ann.post('/account/sieve/save', {'csrf': token, 'name': 'big', 'script': '#' * 2001})
assert st == 400 and 'Scripts are at most 2000 bytes' in body, (st, body)
st, _, _ = ann.post('/account/sieve/save', {'csrf': token, 'name': 'two', 'script': 'keep;'})
assert st == 303, st
st, _, body = ann.post('/account/sieve/save', {'csrf': token, 'name': 'three', 'script': 'keep;'})
assert st == 400 and 'At most 2 scripts per user' in body, (st, body)
# Names, unknown scripts, the active one.
st, _, body = ann.post('/account/sieve/save', {'csrf': token, 'name': '', 'script': 'keep;'})
assert st == 400 and 'needs a name' in body, st
st, _, _ = ann.get('/account/sieve/edit?name=nope')
assert st == 404, st
st, _, _ = ann.post('/account/sieve/activate', {'csrf': token, 'name': 'nope'})
assert st == 404, st
st, _, _ = ann.post('/account/sieve/delete', {'csrf': token, 'name': 'nope'})
assert st == 404, st
st, _, body = ann.post('/account/sieve/delete', {'csrf': token, 'name': 'good'})
assert st == 409 and 'deactivate it first' in body, (st, body)
st, h, _ = ann.post('/account/sieve/delete', {'csrf': token, 'name': 'two'})
assert st == 303 and h['location'] == '/account/sieve', (st, h)
st, _, body = ann.get(h['location'])
assert 'Deleted.' in body and 'edit?name=two"' not in body and 'edit?name=good"' in body, body
print('ok')
"#,
    );
    assert_eq!(out.trim(), "ok");
    let store = admin_store(&env.data());
    let ann = store
        .user_get("ann@example.org")
        .await
        .expect("get")
        .expect("ann");
    let active = store
        .sieve_active(ann.id)
        .await
        .expect("active")
        .expect("one");
    assert_eq!(active.0, "good");
    assert!(active.1.contains("fileinto \"X\";"), "{}", active.1);
    assert_eq!(store.sieve_get(ann.id, "bad").await.expect("get"), None);
}

#[test]
fn a_mailbox_downloads_as_mbox_and_another_users_is_404() {
    let (env, server) = mail_env_with(HOLD_QUEUE);
    let out = run(
        &env,
        &server,
        r#"
import mailbox, tempfile
c = imap('ann@example.org')
c.create('Keep')
bodies = ['First.\r\n', 'Second line one\r\nFrom here on, a quoted line\r\n>From kept\r\n', 'Third.\r\n']
for i, b in enumerate(bodies):
    msg = f'From: x@remote.test\r\nTo: ann@example.org\r\nSubject: m{i}\r\n\r\n{b}'
    typ, _ = c.append('Keep', '(\\Seen)' if i == 0 else None, None, msg.encode())
    assert typ == 'OK', typ
c.logout()
ann = user('ann@example.org')
st, _, body = ann.get('/account/mailboxes')
assert st == 200, st
row = [r for r in re.findall(r'<tr>(.*?)</tr>', body, re.S) if '<td>Keep</td>' in r][0]
assert '<td>3</td>' in row, row
keep = re.search(r'/account/mailboxes/download\?id=(\d+)', row).group(1)
st, h, data = ann.get('/account/mailboxes/download?id=' + keep)
assert st == 200 and h['content-type'] == 'application/mbox', (st, h)
assert h['content-disposition'].startswith('attachment; filename="Keep.mbox"'), h
assert '\n>From here on' in data and '\n>>From kept' in data, data
with tempfile.NamedTemporaryFile('w', suffix='.mbox', delete=False) as f:
    f.write(data)
msgs = list(mailbox.mbox(f.name))
assert [m['subject'] for m in msgs] == ['m0', 'm1', 'm2'], [m['subject'] for m in msgs]
assert 'R' in msgs[0].get_flags(), msgs[0].get_flags()
# mboxrd: one '>' comes off each quoted line.
payload = re.sub(r'^>(>*From )', r'\1', msgs[1].get_payload(), flags=re.M)
assert payload.replace('\r\n', '\n') == bodies[1].replace('\r\n', '\n'), repr(payload)
# Bob's INBOX, and ids that are no mailbox, are not ann's to read.
bob = user('bob@example.org')
st, _, body = bob.get('/account/mailboxes')
inbox = re.search(r'<td>INBOX</td>.*?download\?id=(\d+)', body, re.S).group(1)
st, _, _ = bob.get('/account/mailboxes/download?id=' + inbox)
assert st == 200, st
for q, code in [(inbox, 404), ('999999', 404), ('x', 400), ('', 400)]:
    st, _, _ = ann.get('/account/mailboxes/download?id=' + q)
    assert st == code, (q, st)
print('ok')
"#,
    );
    assert_eq!(out.trim(), "ok");
}

/// The raw editor takes a script as large as `[sieve] max_script_bytes`
/// allows, although its form, percent-encoded, is over `[web]
/// max_body_bytes`; one byte more is refused by the quota, not the form.
#[test]
fn the_raw_editor_saves_a_script_as_large_as_sieve_allows() {
    let (env, server) = mail_env_with(&format!(
        "{HOLD_QUEUE}[sieve]\nmax_script_bytes = 100000\n[web]\nmax_body_bytes = 65536\n"
    ));
    let out = run(
        &env,
        &server,
        r#"
ann = user('ann@example.org')
token, _ = form(ann, '/account/sieve')
big = '# a comment line to make the script large\r\n' * 2200 + 'keep;\r\n'
assert 90000 < len(big) <= 100000, len(big)
st, h, body = ann.post('/account/sieve/save', {'csrf': token, 'name': 'big', 'script': big})
assert st == 303, (st, body)
st, _, body = ann.get('/account/sieve/edit?name=big')
assert st == 200 and body.count('a comment line') == 2200, st
st, _, body = ann.post('/account/sieve/save', {'csrf': token, 'name': 'big', 'script': big + '#' * (100001 - len(big) - 2) + '\r\n'})
assert st == 400 and 'Scripts are at most 100000 bytes' in body, (st, body)
print('ok')
"#,
    );
    assert_eq!(out.trim(), "ok");
}

#[tokio::test]
async fn account_sieve_handlers_refuse_bad_input() {
    let (env, server) = mail_env_with(&format!("{HOLD_QUEUE}[sieve]\nmax_redirects = 0\n"));
    let out = run(
        &env,
        &server,
        r#"
ann = user('ann@example.org')
token, body = form(ann, '/account/filters')
assert 'value="forward"' not in body and 'Forwarding is turned off' in body, body
def refused(path, fields, code, words=''):
    st, _, body = ann.post(path, dict(fields, csrf=token))
    assert st == code and words in body, (path, fields, st, body)
refused('/account/filters/add', {'field': 'from', 'contains': 'x', 'action': 'forward', 'target': 'me@example.net'}, 400, 'Forwarding is turned off')
refused('/account/filters/add', {'field': 'header', 'header': 'Bad Name', 'contains': 'x', 'action': 'read'}, 400, 'Name the header field')
refused('/account/filters/add', {'field': 'subject', 'contains': '', 'action': 'read'}, 400)
refused('/account/filters/delete', {'rule': '0'}, 404)
refused('/account/filters/move', {'rule': 'x', 'to': 'up'}, 400, 'names no rule')
refused('/account/filters/delete', {}, 400, 'names no rule')
refused('/account/sieve/delete', {}, 400, 'names no script')
refused('/account/vacation', {'on': '1', 'body': 'x', 'days': '0'}, 400, 'from 1 to 365')
refused('/account/vacation', {'on': '1', 'body': 'x', 'start': '2027-02-30x'}, 400, 'not a date')
refused('/account/vacation', {'on': '1', 'body': 'x', 'addresses': 'nobody'}, 400, 'not an email address')
refused('/account/vacation', {'on': '1', 'body': ''}, 400, 'needs a message')
# Forms: no token, the wrong type, too large.
st, _, _ = ann.post('/account/vacation', {'on': '1', 'body': 'x'})
assert st == 403, st
st, _, _ = ann.post('/account/sieve/save', {}, ctype='text/plain', raw=b'name=x')
assert st == 415, st
# Announced too large, not sent: the early 413 cannot race the upload.
st, _, _ = ann.req('POST', '/account/vacation', None, {'Content-Type': 'application/x-www-form-urlencoded',
                                                       'Content-Length': '70000'})
assert st == 413, st
for path in ['/account/vacation', '/account/filters', '/account/sieve', '/account/mailboxes']:
    st, _, _ = Client().get(path)
    assert st == 303, (path, st)
st, _, _ = ann.get('/account/sieve/nope')
assert st == 404, st
print('ok')
"#,
    );
    assert_eq!(out.trim(), "ok");
    // Every refused form left the user's scripts as they were: none.
    let store = admin_store(&env.data());
    let ann = store
        .user_get("ann@example.org")
        .await
        .expect("get")
        .expect("ann");
    assert_eq!(store.sieve_list(ann.id).await.expect("list"), []);
}
