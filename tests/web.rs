//! Client discovery (`postern-web`): Thunderbird autoconfig, Outlook
//! autodiscover (POX and JSON v2), the Apple profile and the MTA-STS policy,
//! fetched over real HTTP and HTTPS from the real binary and parsed field by
//! field with Python's xml.etree, plistlib and json; then the settings they
//! return are followed with imaplib, poplib and smtplib. And the web
//! console's pages with what mail brings in: markup in a display name, an
//! alias and a queued recipient shown as text on every page that lists
//! them, the dashboard's count of today's deliveries.

use crate::support::{Env, Server, python};

/// Python helpers: `req(method, path, host, body=b'', tls=False)` returns
/// (status, content type, body bytes) over a raw HTTP/1.1 connection, TLS
/// verified against the server's certificate.
const HELPERS: &str = r#"
import os, socket, ssl, http.client
HTTP, HTTPS = int(os.environ['HTTP_PORT']), int(os.environ['HTTPS_PORT'])
ctx = ssl.create_default_context(cafile=os.environ['CERT'])
def req(method, path, host, body=b'', tls=False, extra=''):
    s = socket.create_connection(('127.0.0.1', HTTPS if tls else HTTP), timeout=30)
    if tls:
        s = ctx.wrap_socket(s, server_hostname='localhost')
    head = f'{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}'
    if method == 'POST':
        head += f'Content-Length: {len(body)}\r\n'
    try:
        s.sendall(head.encode() + b'\r\n' + body)
    except OSError:
        pass  # the server may answer and close before reading an oversized body
    r = http.client.HTTPResponse(s)
    r.begin()
    data = r.read()
    s.close()
    return r.status, r.getheader('Content-Type') or '', data
POX = '''<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>{}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>'''
"#;

const FOLLOW: &str = r#"
import imaplib, poplib, smtplib, json, plistlib, time, xml.etree.ElementTree as ET
P = {n: int(os.environ[n.upper() + '_PORT']) for n in
     ['imaps', 'imap', 'pop3s', 'pop3', 'submissions', 'submission']}

# --- Thunderbird autoconfig, on autoconfig.<domain> over plain HTTP ---
for path, host in [('/mail/config-v1.1.xml?emailaddress=ann%40Example.org', 'autoconfig.example.org'),
                   ('/.well-known/autoconfig/mail/config-v1.1.xml', 'example.org:8080')]:
    st, ct, body = req('GET', path, host)
    assert st == 200 and ct.startswith('application/xml'), (st, ct, body)
    root = ET.fromstring(body)
    assert root.tag == 'clientConfig' and root.get('version') == '1.1'
    prov = root.find('emailProvider')
    assert prov.get('id') == 'example.org' and prov.findtext('domain') == 'example.org'
    got = [(s.tag, s.get('type'), s.findtext('hostname'), int(s.findtext('port')),
            s.findtext('socketType'), s.findtext('username'), s.findtext('authentication'))
           for s in prov if s.tag in ('incomingServer', 'outgoingServer')]
    want = [(tag, kind, 'localhost', P[name], sock, '%EMAILADDRESS%', 'password-cleartext')
            for tag, kind, name, sock in [
                ('incomingServer', 'imap', 'imaps', 'SSL'), ('incomingServer', 'imap', 'imap', 'STARTTLS'),
                ('incomingServer', 'pop3', 'pop3s', 'SSL'), ('incomingServer', 'pop3', 'pop3', 'STARTTLS'),
                ('outgoingServer', 'smtp', 'submissions', 'SSL'),
                ('outgoingServer', 'smtp', 'submission', 'STARTTLS')]]
    assert got == want, (got, want)
tb = got

# --- Outlook autodiscover POX, over HTTPS ---
NS = '{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}'
def pox(addr):
    st, ct, body = req('POST', '/autodiscover/autodiscover.xml', 'autodiscover.example.org',
                       POX.format(addr).encode(), tls=True)
    assert st == 200 and ct.startswith('application/xml'), (st, ct, body)
    root = ET.fromstring(body)
    assert root.tag == '{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}Autodiscover'
    acct = root.find(NS + 'Response/' + NS + 'Account')
    assert acct.findtext(NS + 'AccountType') == 'email' and acct.findtext(NS + 'Action') == 'settings'
    return body, [{c.tag[len(NS):]: c.text for c in p} for p in acct.findall(NS + 'Protocol')]
body_ann, protos = pox('ann@example.org')
kinds = [(p['Type'], int(p['Port'])) for p in protos]
assert kinds == [('IMAP', P['imaps']), ('SMTP', P['submissions']), ('POP3', P['pop3s']),
                 ('IMAP', P['imap']), ('SMTP', P['submission']), ('POP3', P['pop3'])], kinds
implicit = {P['imaps'], P['submissions'], P['pop3s']}
for p in protos:
    assert p['Server'] == 'localhost' and p['LoginName'] == 'ann@example.org', p
    assert p['SSL'] == 'on' and p['AuthRequired'] == 'on' and p['SPA'] == 'off', p
    if int(p['Port']) in implicit:
        assert 'Encryption' not in p, ('Encryption on an implicit-TLS port', p)
    else:
        assert p['Encryption'] == 'TLS', p
# Nothing tells whether a user exists: a stranger at the domain gets the same.
body_nobody, _ = pox('nobody@example.org')
assert body_nobody.replace(b'nobody@', b'ann@') == body_ann

# --- Autodiscover v2 JSON ---
st, ct, body = req('GET', '/autodiscover/autodiscover.json?Email=ann%40example.org&Protocol=AutodiscoverV1',
                   'autodiscover.example.org', tls=True)
assert st == 200 and ct.startswith('application/json'), (st, ct)
j = json.loads(body)
assert j == {'Protocol': 'AutodiscoverV1', 'Url': 'https://localhost/autodiscover/autodiscover.xml'}, j
st, _, body = req('GET', '/autodiscover/autodiscover.json?Email=ann%40example.org&Protocol=ActiveSync',
                  'autodiscover.example.org', tls=True)
assert st == 400 and json.loads(body)['ErrorCode'] == 'InvalidProtocol', (st, body)

# --- Apple profile, with an address that needs escaping ---
st, ct, body = req('GET', '/apple/profile.mobileconfig?email=a%26%3Cb%40example.org', 'example.org', tls=True)
assert st == 200 and ct == 'application/x-apple-aspen-config', (st, ct)
pl = plistlib.loads(body)
assert pl['PayloadType'] == 'Configuration' and pl['PayloadVersion'] == 1
m = pl['PayloadContent'][0]
assert m['PayloadType'] == 'com.apple.mail.managed' and m['EmailAccountType'] == 'EmailTypeIMAP'
assert m['EmailAddress'] == 'a&<b@example.org' and m['IncomingMailServerUsername'] == 'a&<b@example.org'
assert (m['IncomingMailServerHostName'], m['IncomingMailServerPortNumber'], m['IncomingMailServerUseSSL']) == ('localhost', P['imaps'], True)
assert (m['OutgoingMailServerHostName'], m['OutgoingMailServerPortNumber'], m['OutgoingMailServerUseSSL']) == ('localhost', P['submissions'], True)
assert m['OutgoingPasswordSameAsIncomingPassword'] is True
assert m['PayloadUUID'] != pl['PayloadUUID'] and len(pl['PayloadUUID']) == 36

# --- MTA-STS ---
st, ct, body = req('GET', '/.well-known/mta-sts.txt', 'mta-sts.example.org', tls=True)
assert st == 200 and ct.startswith('text/plain'), (st, ct)
assert body == b'version: STSv1\r\nmode: testing\r\nmx: mx1.example.org\r\nmax_age: 86400\r\n', body
assert req('GET', '/.well-known/mta-sts.txt', 'mta-sts.other.org', tls=True)[0] == 404
assert req('GET', '/.well-known/mta-sts.txt', 'example.org', tls=True)[0] == 404

# --- Follow the settings: every server Thunderbird was told of works ---
for tag, kind, host, port, sock, _, _ in tb:
    if kind == 'imap':
        c = imaplib.IMAP4_SSL(host, port, ssl_context=ctx) if sock == 'SSL' else imaplib.IMAP4(host, port)
        if sock == 'STARTTLS':
            c.starttls(ssl_context=ctx)
        c.login('ann@example.org', 'correct horse 1')
        c.logout()
    elif kind == 'pop3':
        c = poplib.POP3_SSL(host, port, context=ctx) if sock == 'SSL' else poplib.POP3(host, port)
        if sock == 'STARTTLS':
            c.stls(context=ctx)
        c.user('ann@example.org'); c.pass_('correct horse 1')
        c.quit()
    else:
        c = smtplib.SMTP_SSL(host, port, context=ctx) if sock == 'SSL' else smtplib.SMTP(host, port)
        if sock == 'STARTTLS':
            c.starttls(context=ctx)
        c.login('ann@example.org', 'correct horse 1')
        subject = f'via {sock} {port}'
        c.sendmail('ann@example.org', ['ann@example.org'],
                   f'From: ann@example.org\r\nTo: ann@example.org\r\nSubject: {subject}\r\n\r\nhello\r\n')
        c.quit()
# Both messages arrive in the INBOX the IMAP settings lead to.
want = {f'via SSL {P["submissions"]}', f'via STARTTLS {P["submission"]}'}
deadline = time.time() + 30
while True:
    c = imaplib.IMAP4_SSL('localhost', P['imaps'], ssl_context=ctx)
    c.login('ann@example.org', 'correct horse 1')
    n = int(c.select('INBOX')[1][0])
    data = c.fetch('1:*', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')[1] if n else []
    got = {p[1].decode().split(':', 1)[1].strip() for p in data if isinstance(p, tuple)}
    c.logout()
    if want <= got:
        break
    assert time.time() < deadline, got
    time.sleep(0.2)
print('ok')
"#;

const BAD: &str = r#"
# Unknown domains: 404, on every endpoint.
for method, path, host, body in [
    ('GET', '/mail/config-v1.1.xml?emailaddress=ann%40other.org', 'autoconfig.other.org', b''),
    ('GET', '/mail/config-v1.1.xml', 'autoconfig.other.org', b''),
    ('GET', '/.well-known/autoconfig/mail/config-v1.1.xml', 'other.org', b''),
    ('POST', '/autodiscover/autodiscover.xml', 'autodiscover.other.org', POX.format('ann@other.org').encode()),
    ('GET', '/autodiscover/autodiscover.json?Email=ann%40other.org&Protocol=AutodiscoverV1', 'x', b''),
    ('GET', '/apple/profile.mobileconfig?email=ann%40other.org', 'x', b''),
]:
    st, _, b = req(method, path, host, body)
    assert st == 404, (path, st, b)
    assert b'example.org' not in b, b
# Any other path: 404 over TLS; plain HTTP sends it to https (the console's).
st, _, b = req('GET', '/nothing/here', 'example.org', tls=True)
assert st == 404, (st, b)
st, _, b = req('GET', '/nothing/here', 'example.org')
assert st == 308, (st, b)
# Oversized and malformed autodiscover requests: 400.
big = POX.format('ann@example.org').replace('<Request>', '<Request>' + ' ' * 70000).encode()
for body in [
    big,
    b'not xml at all',
    b'<Autodiscover><Request></Request></Autodiscover>',
    b'<Autodiscover><Request><EMailAddress>ann@example.org</Request></Autodiscover>',
    b'<Autodiscover><Request><EMailAddress>not-an-address</EMailAddress></Request></Autodiscover>',
    b'\xff\xfe\x00<',
    b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>',
]:
    st, _, b = req('POST', '/autodiscover/autodiscover.xml', 'autodiscover.example.org', body)
    assert st == 400, (body[:60], st, b)
# A chunked body past the limit is refused too, without a Content-Length.
s = socket.create_connection(('127.0.0.1', HTTP), timeout=30)
chunk = b'<Autodiscover>' + b' ' * 70000
try:
    s.sendall(b'POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: example.org\r\n'
              b'Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n'
              + b'%x\r\n' % len(chunk) + chunk + b'\r\n0\r\n\r\n')
except OSError:
    pass
r = http.client.HTTPResponse(s)
r.begin()
assert r.status == 400, r.status
s.close()
assert req('GET', '/autodiscover/autodiscover.xml', 'example.org')[0] == 405
assert req('GET', '/mail/config-v1.1.xml?emailaddress=%ZZ', 'autoconfig.example.org')[0] == 400
assert req('GET', '/apple/profile.mobileconfig', 'example.org')[0] == 400
# MTA-STS is off by default.
assert req('GET', '/.well-known/mta-sts.txt', 'mta-sts.example.org')[0] == 404
# Garbage instead of HTTP: the connection ends, the server lives on.
s = socket.create_connection(('127.0.0.1', HTTP), timeout=30)
s.sendall(b'\x00\x01\x02 nonsense\r\n\r\n')
s.recv(4096)
s.close()
st, _, _ = req('GET', '/mail/config-v1.1.xml?emailaddress=ann%40example.org', 'autoconfig.example.org', tls=True)
assert st == 200, st
print('ok')
"#;

/// Starts once to learn free ports, then again bound to exactly those ports
/// with `[web]` advertising them, so the discovered settings can be followed.
fn serve_advertising_bound_ports(env: &Env) -> Server {
    let first = env.serve();
    let names = [
        "smtp",
        "submission",
        "submissions",
        "imap",
        "imaps",
        "pop3",
        "pop3s",
        "managesieve",
        "http",
        "https",
    ];
    let ports: Vec<(&str, u16)> = names.iter().map(|n| (*n, first.port(n))).collect();
    first.stop();
    let port = |n: &str| {
        ports
            .iter()
            .find(|(m, _)| *m == n)
            .map(|p| p.1)
            .unwrap_or(0)
    };
    let mut text = String::from(
        "hostname = \"localhost\"\ndata_dir = \"data\"\n[server]\nrun_as_root = true\n[web]\n",
    );
    for n in [
        "imaps",
        "imap",
        "pop3s",
        "pop3",
        "submissions",
        "submission",
        "managesieve",
    ] {
        text.push_str(&format!("{n}_port = {}\n", port(n)));
    }
    text.push_str(
        "mta_sts = true\nmta_sts_mode = \"testing\"\nmta_sts_mx = [\"mx1.example.org\"]\n\
         mta_sts_max_age_secs = 86400\n[listen]\n",
    );
    for (n, p) in &ports {
        text.push_str(&format!("{n} = [\"127.0.0.1:{p}\"]\n"));
    }
    std::fs::write(&env.config, text).expect("write config");
    env.serve()
}

fn env_with_ann() -> Env {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "correct horse 1\n");
    env
}

#[test]
fn discovered_settings_are_complete_and_work() {
    let env = env_with_ann();
    let server = serve_advertising_bound_ports(&env);
    let out = python(&env, &server, &format!("{HELPERS}{FOLLOW}"), &[]);
    assert_eq!(out.trim(), "ok");

    // `domain dns` names the same ports, the autodiscover SRV record and,
    // with MTA-STS on, its two records.
    let printed = env.ok(&["domain", "dns", "example.org"]);
    let srv = |name: &str| {
        printed
            .lines()
            .find(|l| l.starts_with(&format!("{name}.example.org. ")))
            .unwrap_or_else(|| panic!("no {name} in\n{printed}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    for (name, listener) in [
        ("_imaps._tcp", "imaps"),
        ("_imap._tcp", "imap"),
        ("_pop3s._tcp", "pop3s"),
        ("_pop3._tcp", "pop3"),
        ("_submissions._tcp", "submissions"),
        ("_submission._tcp", "submission"),
        ("_sieve._tcp", "managesieve"),
    ] {
        let port = server.port(listener).to_string();
        assert_eq!(
            srv(name)[1..],
            ["IN", "SRV", "0", "1", port.as_str(), "localhost."],
            "{name}"
        );
    }
    assert_eq!(
        srv("_autodiscover._tcp")[1..],
        ["IN", "SRV", "0", "1", "443", "localhost."]
    );
    assert_eq!(srv("mta-sts")[1..], ["IN", "CNAME", "localhost."]);
    let txt = srv("_mta-sts").join(" ");
    assert!(txt.contains("IN TXT \"v=STSv1; id="), "{txt}");
}

#[test]
fn unknown_domains_and_bad_requests_are_refused() {
    let env = env_with_ann();
    let server = env.serve();
    let out = python(&env, &server, &format!("{HELPERS}{BAD}"), &[]);
    assert_eq!(out.trim(), "ok");
    let printed = env.ok(&["domain", "dns", "example.org"]);
    assert!(printed.contains("; MTA-STS: off"), "{printed}");
    assert!(!printed.contains("_mta-sts."), "{printed}");
    assert!(
        printed.contains(
            "; TLS: self-signed; turn on [acme] with names autoconfig.example.org, autodiscover.example.org"
        ),
        "{printed}"
    );
}

const SLOW: &str = r#"
# A body that stops arriving: 408 once the idle timeout passes.
s = socket.create_connection(('127.0.0.1', HTTP), timeout=60)
s.sendall(b'POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: example.org\r\n'
          b'Content-Length: 1000\r\n\r\n<Autodiscover>')
r = http.client.HTTPResponse(s)
r.begin()
assert r.status == 408, r.status
s.close()
# Headers that stop arriving: the connection is closed.
s = socket.create_connection(('127.0.0.1', HTTP), timeout=60)
s.sendall(b'GET /mail/config-v1.1.xml HTTP/1.1\r\n')
rest = b''
while True:
    b = s.recv(4096)
    if not b:
        break
    rest += b
assert not rest.startswith(b'HTTP/1.1 200'), rest
print('ok')
"#;

#[test]
fn slow_clients_are_cut_off_at_the_idle_timeout() {
    let env = Env::with_config("[limits]\nidle_timeout_secs = 1\n");
    env.ok(&["domain", "add", "example.org"]);
    let server = env.serve();
    let out = python(&env, &server, &format!("{HELPERS}{SLOW}"), &[]);
    assert_eq!(out.trim(), "ok");
}

/// Mail brings markup into the console: a display name set by the admin,
/// an alias with the characters an address may hold that HTML cares about,
/// a recipient a user sent to (a quoted local part, RFC 5321 §4.1.2); every
/// page that lists them shows them as text. The dashboard counts the two
/// messages delivered today.
#[test]
fn console_pages_show_markup_from_mail_as_text_and_count_todays_deliveries() {
    let env = Env::with_config(crate::smtp::HOLD_QUEUE);
    env.ok(&["domain", "add", "example.org"]);
    let pw = format!("{}\n", crate::web_console::PASSWORD);
    env.ok_with(&["user", "add", "boss@example.org"], &pw);
    env.ok(&["user", "admin", "boss@example.org", "--on"]);
    env.ok_with(
        &[
            "user",
            "add",
            "bob@example.org",
            "--name",
            "<script>alert(1)</script>",
        ],
        &pw,
    );
    env.ok(&["alias", "add", "o'neil&co@example.org", "bob@example.org"]);
    let server = env.serve();
    let script = format!(
        "PW = {:?}\n{}{}",
        crate::web_console::PASSWORD,
        crate::web_console::HELPERS,
        r#"
import smtplib
MARK = '<script>alert(1)</script>'
SHOWN = '&lt;script&gt;alert(1)&lt;/script&gt;'
for i in range(2):
    s = smtplib.SMTP('127.0.0.1', int(os.environ['SMTP_PORT']), timeout=30)
    s.sendmail('someone@remote.example', ['bob@example.org'], b'From: someone@remote.example\r\nSubject: hi\r\n\r\nhello\r\n')
    s.quit()
s = smtplib.SMTP_SSL('127.0.0.1', int(os.environ['SUBMISSIONS_PORT']), context=ctx, timeout=30)
s.login('bob@example.org', PW)
s.sendmail('bob@example.org', ['"' + MARK + '"@remote.example'], b'From: bob@example.org\r\nSubject: out\r\n\r\nbye\r\n')
s.quit()

a = Client()
st, h, _ = a.login('boss@example.org', PW)
assert st == 303, st
st, _, body = a.get('/admin/queue')
ids = re.findall(r'/admin/queue/item\?id=(\d+)', body)
assert st == 200 and len(ids) == 1, body
pages = {
    '/admin/users': [SHOWN, 'bob@example.org'],
    '/admin/user?address=bob%40example.org': ['bob@example.org'],
    '/admin/aliases': ['o\'neil&amp;co@example.org'],
    '/admin/queue': [SHOWN],
    '/admin/queue/item?id=' + ids[0]: [SHOWN],
}
for path, shown in pages.items():
    st, _, body = a.get(path)
    assert st == 200, (path, st)
    assert MARK not in body and '<script>alert' not in body, (path, body)
    assert "o'neil&co" not in body, (path, 'a bare & in the page')
    for text in shown:
        assert text in body, (path, text, body)
st, _, body = a.get('/admin')
m = re.search(r'Messages today<strong>(\d+)</strong>', body)
assert st == 200 and m and m.group(1) == '2', body
print('ok')
"#
    );
    assert_eq!(python(&env, &server, &script, &[]).trim(), "ok");
}
