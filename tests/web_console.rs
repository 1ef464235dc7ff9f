//! The web console (issue 18), against the real binary: plain HTTP(S)
//! requests from Python for the rules every handler keeps (sessions, the
//! CSRF token, the admin role, bad input, escaping, the security headers,
//! the redirect to https), and a real headless Chromium driven over
//! WebDriver (`support::browser`) for what an admin does (log in, add a
//! domain and a user, read the DNS records) and what a user does with
//! their account's security (an app password used by imaplib and smtplib
//! then revoked, TOTP enrolled and used at the login, the devices list,
//! a recovery code). The browser tests save a screenshot of each main
//! page under `target/web-screenshots/`.

use std::net::Ipv4Addr;

use crate::support::browser::{assert_screenshots, browse};
use crate::support::dns::TestDns;
use crate::support::{Env, python};

pub(crate) const PASSWORD: &str = "correct horse 1";

/// A domain, an admin (`boss@`) and a plain user (`bob@`).
fn env_with_admin() -> Env {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(
        &["user", "add", "boss@example.org"],
        &format!("{PASSWORD}\n"),
    );
    env.ok_with(
        &["user", "add", "bob@example.org"],
        &format!("{PASSWORD}\n"),
    );
    let said = env.ok(&["user", "admin", "boss@example.org", "--on"]);
    assert!(
        said.contains("boss@example.org has the admin role"),
        "{said}"
    );
    env
}

/// Python helpers: `Client(tls)` keeps cookies; `.get(path)` and
/// `.post(path, fields, ctype=..., raw=None)` return (status, headers,
/// body text); `.submit(path, fields)` posts and follows a 303 (post-
/// redirect-get), returning (the post's status, the page's body);
/// `.login(address, password)` does the whole login; `csrf(body)` finds a
/// page's token.
pub(crate) const HELPERS: &str = r#"
import os, re, ssl, socket, http.client, urllib.parse
HTTP, HTTPS = int(os.environ['HTTP_PORT']), int(os.environ['HTTPS_PORT'])
ctx = ssl.create_default_context(cafile=os.environ['CERT'])
ctx.check_hostname = False
def csrf(body):
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', body)
    return m.group(1) if m else ''
class Client:
    def __init__(self):
        self.cookies = {}
    def req(self, method, path, body=None, headers=None, tls=True):
        if tls:
            c = http.client.HTTPSConnection('127.0.0.1', HTTPS, context=ctx, timeout=30)
        else:
            c = http.client.HTTPConnection('127.0.0.1', HTTP, timeout=30)
        h = dict(headers or {})
        if self.cookies:
            h['Cookie'] = '; '.join(f'{k}={v}' for k, v in self.cookies.items())
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read().decode('utf-8', 'replace')
        for k, v in r.getheaders():
            if k.lower() == 'set-cookie':
                name, value = v.split(';')[0].split('=', 1)
                if value:
                    self.cookies[name] = value
                else:
                    self.cookies.pop(name, None)
        hs = {k.lower(): v for k, v in r.getheaders()}
        hs['set-cookie-all'] = [v for k, v in r.getheaders() if k.lower() == 'set-cookie']
        c.close()
        return r.status, hs, data
    def get(self, path, tls=True):
        return self.req('GET', path, tls=tls)
    def post(self, path, fields, ctype='application/x-www-form-urlencoded', raw=None):
        body = raw if raw is not None else urllib.parse.urlencode(fields).encode()
        return self.req('POST', path, body, {'Content-Type': ctype})
    def submit(self, path, fields):
        st, h, body = self.post(path, fields)
        if st != 303:
            return st, body
        st2, _, page = self.get(h['location'])
        assert st2 == 200, (h['location'], st2, page)
        return st, page
    def login(self, address, password):
        st, h, body = self.get('/account/login')
        assert st == 200, (st, body)
        return self.post('/account/login', {'csrf': csrf(body), 'address': address, 'password': password})
"#;

const HTTP_CHECKS: &str = r#"
# Plain HTTP: the console moves to https; discovery stays.
c = Client()
st, h, _ = c.get('/admin?x=1', tls=False)
assert st == 308 and h['location'] == f'https://127.0.0.1:{HTTPS}/admin?x=1', (st, h)
st, h, _ = c.get('/mail/config-v1.1.xml?emailaddress=bob%40example.org', tls=False)
assert st == 200, st

# No session: pages send to the login form; posts are refused.
st, h, _ = c.get('/admin')
assert st == 303 and h['location'] == '/account/login', (st, h)
st, _, _ = c.post('/admin/domains/add', {'domain': 'x.org', 'csrf': 'x'})
assert st == 403, st

# The login form: security headers, the double-submit cookie.
st, h, body = c.get('/account/login')
assert st == 200 and 'text/html' in h['content-type']
assert "default-src 'self'" in h['content-security-policy'], h
assert h['x-frame-options'] == 'DENY' and h['x-content-type-options'] == 'nosniff', h
assert h['cache-control'] == 'no-store' and 'referrer-policy' in h, h
assert '<meta name="viewport"' in body and '<label for="password">' in body
st, _, _ = c.post('/account/login', {'address': 'boss@example.org', 'password': PW})
assert st == 403, st
st, _, body = c.login('boss@example.org', 'wrong')
assert st == 401 and 'Wrong address or password' in body, st

# A user without the admin role: their account, and 403 on /admin.
bob = Client()
st, h, _ = bob.login('bob@example.org', PW)
assert st == 303 and h['location'] == '/account', (st, h)
cookie = [v for v in h['set-cookie-all'] if v.startswith('postern_session=')][0]
for attr in ['Secure', 'HttpOnly', 'SameSite=Strict', 'Path=/']:
    assert attr in cookie, cookie
assert len(bob.cookies['postern_session']) >= 32
st, _, body = bob.get('/account')
assert st == 200 and 'bob@example.org' in body
st, _, body = bob.get('/account/setup')
assert st == 200 and '<td>mail.test</td>' in body and '/apple/profile.mobileconfig?email=bob@example.org' in body, body
for path in ['/admin', '/admin/users', '/admin/queue']:
    st, _, _ = bob.get(path)
    assert st == 403, (path, st)
st, _, body = bob.get('/account')
st, _, _ = bob.post('/admin/domains/add', {'domain': 'x.org', 'csrf': csrf(body)})
assert st == 403, st

# The admin.
a = Client()
st, h, _ = a.login('boss@example.org', PW)
assert st == 303 and h['location'] == '/admin', (st, h)
st, h, body = a.get('/admin')
assert st == 200 and 'Dashboard' in body and 'Listeners' in body, body
token = csrf(body)
css = re.search(r'href="(/static/console-[0-9a-f]{16}\.css)"', body).group(1)
st, h, _ = a.get(css)
assert st == 200 and h['content-type'].startswith('text/css') and 'immutable' in h['cache-control'], h

# CSRF: missing or wrong is 403 and changes nothing.
for fields in [{'domain': 'evil.org'}, {'domain': 'evil.org', 'csrf': '0' * 64}]:
    st, _, _ = a.post('/admin/domains/add', fields)
    assert st == 403, st
st, _, body = a.get('/admin/domains')
assert 'evil.org' not in body

# Bad input: content type, size, unknown ids, bad values.
st, _, _ = a.post('/admin/domains/add', None, ctype='application/json', raw=b'{"domain": "x.org"}')
assert st == 415, st
# Announced too large: refused before any of it is read (the body is not
# sent, so the early answer cannot race the upload).
st, _, _ = a.req('POST', '/admin/domains/add', None, {'Content-Type': 'application/x-www-form-urlencoded',
                                                      'Content-Length': '70000'})
assert st == 413, st
st, _, _ = a.post('/admin/domains/add', None, raw=b'csrf=' + token.encode() + b'&domain=%zz')
assert st == 400, st
st, _, _ = a.get('/admin/user?address=nobody%40example.org')
assert st == 404, st
st, _, _ = a.get('/admin/domain?name=nowhere.org')
assert st == 404, st
st, _, _ = a.get('/admin/queue/item?id=99999')
assert st == 404, st
st, _, _ = a.get('/admin/queue/item?id=abc')
assert st == 400, st
for path, fields in [('/admin/queue/hold', {'id': '99999'}), ('/admin/queue/delete', {'id': '99999'}),
                     ('/admin/users/delete', {'address': 'nobody@example.org', 'confirm': 'yes'}),
                     ('/admin/users/quota', {'address': 'nobody@example.org', 'quota': '1G'}),
                     ('/admin/domains/delete', {'domain': 'nowhere.org'}),
                     ('/admin/aliases/delete', {'source': 'x@example.org', 'target': 'y@example.org'}),
                     ('/admin/blocks/delete', {'net': '198.51.100.1'})]:
    st, _, _ = a.post(path, dict(fields, csrf=token))
    assert st == 404, (path, st)
# A refused form comes back with its reason and what was typed.
st, _, body = a.post('/admin/domains/add', {'domain': 'not a domain', 'csrf': token})
assert st == 422 and 'is not a valid domain' in body and 'value="not a domain"' in body, (st, body)
st, _, body = a.post('/admin/domains/add', {'domain': 'Example.org', 'csrf': token})
assert st == 409 and 'exists already' in body, (st, body)
st, _, body = a.post('/admin/users/quota', {'address': 'bob@example.org', 'quota': '12X', 'csrf': token})
assert st == 422 and 'is not a size' in body and 'value="12X"' in body, (st, body)
st, _, _ = a.get('/admin/spam?user=nobody%40example.org')
assert st == 404, st
st, _, body = a.get('/admin/spam?user=bob%40example.org')
assert st == 200 and 'bob@example.org' in body, st
st, _, body = a.post('/admin/users/add', {'address': 'not-an-address', 'name': 'Neo', 'password': PW, 'csrf': token})
assert st == 422 and 'is not a valid address' in body and 'value="Neo"' in body, (st, body)
assert PW not in body, 'a password is never shown again'
st, _, body = a.post('/admin/users/add', {'address': 'new@example.org', 'password': '', 'csrf': token})
assert st == 400 and 'lacks password' in body and 'value="new@example.org"' in body, (st, body)
st, _, body = a.post('/admin/users/add', {'address': 'bob@example.org', 'password': PW, 'csrf': token})
assert st == 409 and 'exists already' in body, (st, body)
st, _, body = a.post('/admin/aliases/add', {'source': 'x@nowhere.org', 'target': 'bob@example.org', 'csrf': token})
assert st == 422 and 'value="x@nowhere.org"' in body, (st, body)
st, _, _ = a.get('/admin/nothing-here')
assert st == 404, st
st, _, _ = a.req('PUT', '/admin/users')
assert st == 405, st

# Post-redirect-get: a form that worked answers 303 to its page, which
# shows the result once; a reload shows the page without it and adds
# nothing.
fields = {'address': 'eve@example.org', 'name': '<script>alert(1)</script>', 'password': PW, 'csrf': token}
st, h, _ = a.post('/admin/users/add', fields)
assert st == 303 and h['location'] == '/admin/users', (st, h)
st, _, body = a.get('/admin/users')
assert st == 200 and 'added user eve@example.org' in body, (st, body)
# Escaping: a display name with markup is shown as text.
assert '<script>alert(1)</script>' not in body and '&lt;script&gt;alert(1)&lt;/script&gt;' in body
st, _, body = a.get('/admin/users')
assert st == 200 and 'added user' not in body and 'role="status"' not in body, body
st, h, _ = a.post('/admin/users/quota', {'address': 'bob@example.org', 'quota': '1G', 'csrf': token})
assert st == 303 and h['location'] == '/admin/user?address=bob@example.org', (st, h)
# The message waits for its own page: another page first leaves it there.
st, _, body = a.get('/admin/domains')
assert 'role="status"' not in body, body
st, _, body = a.get(h['location'])
assert 'bob@example.org' in body and 'value="1073741824"' in body and 'role="status"' in body, body

# Deleting a user takes the confirmation step.
st, _, body = a.get('/admin/user/delete?address=eve%40example.org')
assert st == 200 and 'cannot be undone' in body
st, _, _ = a.post('/admin/users/delete', {'address': 'eve@example.org', 'csrf': token})
assert st == 400, st
st, body = a.submit('/admin/users/delete', {'address': 'eve@example.org', 'confirm': 'yes', 'csrf': token})
assert st == 303 and 'deleted user eve@example.org' in body, (st, body)

# Aliases, blocks and the queue page answer through the same commands.
st, body = a.submit('/admin/aliases/add', {'source': 'info@example.org', 'target': 'bob@example.org', 'csrf': token})
assert st == 303 and 'info@example.org -&gt; bob@example.org' in body, body
st, _, body = a.post('/admin/aliases/add', {'source': 'info@example.org', 'target': 'bob@example.org', 'csrf': token})
assert st == 409, st
st, body = a.submit('/admin/blocks/add', {'net': '192.0.2.7', 'duration': '1h', 'reason': 'test', 'csrf': token})
assert st == 303 and 'blocked 192.0.2.7' in body, body
st, _, body = a.post('/admin/blocks/add', {'net': 'nonsense', 'reason': 'why', 'csrf': token})
assert st == 422 and 'value="nonsense"' in body and 'value="why"' in body, st
st, _, body = a.get('/admin/queue')
assert st == 200 and 'The queue is empty' in body

# A password change ends the other sessions; logout ends this one.
bob2 = Client()
st, _, _ = bob2.login('bob@example.org', PW)
assert st == 303
st, _, body = bob.get('/account/password')
st, _, b = bob.post('/account/password', {'csrf': csrf(body), 'current': 'wrong', 'new': 'x y z 1', 'repeat': 'x y z 1'})
assert st == 422 and 'current password is not right' in b, (st, b)
st, _, b = bob.post('/account/password', {'csrf': csrf(body), 'current': PW, 'new': 'x y z 1', 'repeat': 'x y z 2'})
assert st == 422 and 'differ' in b, (st, b)
st, body = bob.submit('/account/password', {'csrf': csrf(body), 'current': PW, 'new': 'another pass 2', 'repeat': 'another pass 2'})
assert st == 303 and 'password was changed' in body, (st, body)
st, h, _ = bob2.get('/account')
assert st == 303 and h['location'] == '/account/login', (st, h)
st, _, _ = bob.get('/account')
assert st == 200, st
st, h, _ = Client().login('bob@example.org', 'another pass 2')
assert st == 303 and h['location'] == '/account', (st, h)
st, _, body = a.post('/account/logout', {'csrf': token})
assert st == 303
st, h, _ = a.get('/admin')
assert st == 303 and h['location'] == '/account/login', st
print('ok')
"#;

#[test]
fn console_guards_sessions_csrf_the_admin_role_and_bad_input() {
    let env = env_with_admin();
    let server = env.serve();
    let script = format!("PW = {PASSWORD:?}\n{HELPERS}{HTTP_CHECKS}");
    let out = python(&env, &server, &script, &[]);
    assert_eq!(out.trim(), "ok");
    // The CLI sees what the console did, and the new password works.
    let users = env.ok(&["user", "list"]);
    assert!(!users.contains("eve@example.org"), "{users}");
    assert!(
        env.ok(&["alias", "list"])
            .contains("info@example.org\tbob@example.org")
    );
}

#[test]
fn web_logins_are_throttled_and_logged_like_imap() {
    let env = Env::with_config("[auth]\nfailures_before_delay = 100\nlockout_after = 3\n");
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(
        &["user", "add", "bob@example.org"],
        &format!("{PASSWORD}\n"),
    );
    let server = env.serve();
    let script = format!(
        "PW = {PASSWORD:?}\n{HELPERS}{}",
        r#"
c = Client()
for _ in range(3):
    st, _, body = c.login('bob@example.org', 'wrong')
    assert st == 401, st
# Locked out: even the right password is refused without being checked.
st, _, body = c.login('bob@example.org', PW)
assert st == 429 and 'Too many failed logins' in body, (st, body)
assert 'postern_session' not in c.cookies
print('ok')
"#
    );
    assert_eq!(python(&env, &server, &script, &[]).trim(), "ok");
    server.wait_for_log(
        "auth failed: proto=web ip=127.0.0.1 user=bob@example.org",
        std::time::Duration::from_secs(10),
    );
}

#[test]
fn domain_page_shows_the_doctor_result_per_record() {
    let dns = TestDns::start();
    let env = Env::with_config(&dns.config());
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(
        &["user", "add", "boss@example.org"],
        &format!("{PASSWORD}\n"),
    );
    env.ok(&["user", "admin", "boss@example.org", "--on"]);
    dns.mx("example.org", 10, "mail.test");
    dns.a("mail.test", Ipv4Addr::new(192, 0, 2, 10));
    dns.txt("example.org", "v=spf1 mx -all");
    let server = env.serve();
    let script = format!(
        "PW = {PASSWORD:?}\n{HELPERS}{}",
        r#"
import html as h
a = Client()
a.login('boss@example.org', PW)
st, _, body = a.get('/admin/domain?name=example.org')
assert st == 200 and '/admin/domain/doctor?name=example.org' in body
st, _, body = a.get('/admin/domain/doctor?name=example.org')
assert st == 200, (st, body)
rows = [tuple(h.unescape(re.sub('<[^>]+>', '', c)).strip() for c in re.findall(r'<td>(.*?)</td>', r))
        for r in re.findall(r'<tr>(.*?)</tr>', body) if '<td>' in r]
def status(check):
    return [s for s, text in rows if text.startswith(check + ' example.org:')]
assert status('mx') == ['OK'], rows
assert status('spf') == ['OK'], rows
assert status('dmarc') and status('dmarc') != ['OK'], rows
st, _, _ = a.get('/admin/domain/doctor?name=nowhere.org')
assert st == 404, st
print('ok')
"#
    );
    assert_eq!(python(&env, &server, &script, &[]).trim(), "ok");
}

/// What an admin does in the browser (after the driver prelude of
/// `support::browser`).
const ADMIN_FLOW: &str = r#"
go('/account/login'); shot('login')
login('boss@example.org', PW)
wait_text('Dashboard', 'h1')
shot('dashboard')

# Add a domain, then read its DNS records.
go('/admin/domains')
type_in('#domain', 'example.net')
click('form[action="/admin/domains/add"] button')
wait_text('added domain example.net')
shot('domains')
go('/admin/domain?name=example.net')
records = [call('GET', S + f'/element/{e}/text') for e in finds('pre.record')]
assert any(' IN MX ' in r and 'example.net.' in r for r in records), records
assert any('_domainkey.example.net.' in r and 'v=DKIM1' in r for r in records), records
assert any(r.startswith('_dmarc.example.net.') for r in records), records
# The copy buttons come from the script (progressive: the records are there without it).
assert len(finds('pre.record + button')) == len(records), 'no copy buttons'
shot('domain-dns')

# Add a user on the new domain.
go('/admin/users')
type_in('#address', 'carol@example.net')
type_in('#name', 'Carol')
type_in('#password', 'carol pass 3')
type_in('#quota', '2G')
click('form[action="/admin/users/add"] button')
wait_text('added user carol@example.net')
assert 'carol@example.net' in text('table')
shot('users')
go('/admin/user?address=carol%40example.net'); shot('user')
for page in ['aliases', 'queue', 'blocks', 'spam']:
    go('/admin/' + page); shot(page)
go('/account'); shot('account')
go('/account/setup'); shot('account-setup')
# The same pages on a phone-sized window (one column, tables as lists).
resize(390, 844)
go('/admin'); shot('dashboard-phone')
go('/admin/users'); shot('users-phone')
resize(1280, 1000)

# A form whose CSRF token is taken out is refused.
go('/admin/domains')
js("document.querySelector('form[action=\"/admin/domains/add\"] input[name=csrf]').remove()")
type_in('#domain', 'evil.example')
click('form[action="/admin/domains/add"] button')
wait_text('Forbidden', 'h1')
go('/admin/domains')
assert 'evil.example' not in text()

# The new user logs in and is not an admin.
login('carol@example.net', 'carol pass 3')
wait_text('My account', 'h1')
go('/admin')
wait_text('Forbidden', 'h1')
shot('forbidden')
print('ok')
"#;

#[test]
fn browser_admin_adds_a_domain_and_a_user_and_sees_dns_records() {
    let env = env_with_admin();
    let server = env.serve();
    let out = browse(&env, &server, PASSWORD, ADMIN_FLOW);
    assert_eq!(out.trim(), "ok");
    assert_screenshots(&[
        "login",
        "dashboard",
        "domains",
        "domain-dns",
        "users",
        "account",
    ]);
    assert!(env.ok(&["user", "list"]).contains("carol@example.net"));
}

/// What a user does with their account's security in the browser: an app
/// password made, used with imaplib (LOGIN, ID, SELECT) and smtplib (AUTH,
/// a message), revoked; TOTP enrolled with a code computed here from the
/// secret on the page (RFC 6238 with the standard library alone), the
/// login with password and code, the devices page, a recovery code once.
const ACCOUNT_FLOW: &str = r#"
import hmac, imaplib, smtplib, ssl, struct
ctx = ssl.create_default_context(cafile=os.environ['CERT']); ctx.check_hostname = False
BOB = 'bob@example.org'
def totp(secret, step):
    key = base64.b32decode(secret + '=' * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack('>Q', step), 'sha1').digest()
    at = mac[-1] & 15
    return '%06d' % ((struct.unpack('>I', mac[at:at + 4])[0] & 0x7fffffff) % 1000000)
def imap_select(pw):
    c = imaplib.IMAP4_SSL('127.0.0.1', int(os.environ['IMAPS_PORT']), ssl_context=ctx, timeout=10)
    try:
        c.login(BOB, pw)
        imaplib.Commands['ID'] = ('NONAUTH', 'AUTH', 'SELECTED')
        c._simple_command('ID', '("name" "Browser Test Mail" "version" "7.1")')
        st, data = c.select('INBOX')
        assert st == 'OK', (st, data)
        return int(data[0])
    finally:
        try:
            c.logout()
        except Exception:
            pass
def smtp_send(pw):
    with smtplib.SMTP_SSL('127.0.0.1', int(os.environ['SUBMISSIONS_PORT']), context=ctx, timeout=10) as s:
        s.login(BOB, pw)
        s.sendmail(BOB, [BOB], b'From: bob@example.org\r\nTo: bob@example.org\r\nSubject: sent with an app password\r\n\r\nhello\r\n')
def refused(f):
    try:
        f()
    except (imaplib.IMAP4.error, smtplib.SMTPAuthenticationError):
        return True
    return False
def reload_until(path, needle):
    # Uses are recorded in the background, just after the login.
    for _ in range(100):
        go(path)
        if needle in text():
            return
        time.sleep(0.1)
    raise AssertionError(f'{needle!r} never appeared on {path}: {text()}')

login(BOB, PW)
wait_text('My account', 'h1')
for link in ['/account/app-passwords', '/account/two-factor', '/account/devices']:
    find(f'main a[href="{link}"]')
shot('account-home')

# An app password for IMAP and SMTP only.
go('/account/app-passwords')
wait_text('You have no app passwords yet')
type_in('#name', 'Phone')
click('#scope-pop3'); click('#scope-managesieve')
click('form[action="/account/app-passwords/create"] button')
wait_text('App password created', 'h1')
app_pw = text('#app-password')
assert len(app_pw) == 24 and 'shown only this once' in text(), text()
shot('app-password-created')
smtp_send(app_pw)
assert imap_select(app_pw) == 1
reload_until('/account/app-passwords', 'from 127.0.0.1')
row = text('tbody tr')
assert 'Phone' in row and 'IMAP, SMTP' in row and app_pw not in text(), row
shot('app-passwords')

# Revoked: both logins fail.
click('a[href="/account/app-passwords/revoke?name=Phone"]')
wait_text('Revoke Phone?', 'h1')
shot('app-password-revoke')
click('form[action="/account/app-passwords/revoke"] button')
wait_text('Revoked the app password')
assert refused(lambda: imap_select(app_pw)), 'IMAP still takes the revoked password'
assert refused(lambda: smtp_send(app_pw)), 'SMTP still takes the revoked password'

# Two-factor login: enrol, confirm with a code, keep the recovery codes.
go('/account/two-factor')
wait_text('Two-factor login is off')
shot('two-factor-off')
click('form[action="/account/two-factor/enroll"] button')
wait_text('Scan this code', 'main')
find('.qr svg')
secret = text('#totp-secret').replace(' ', '')
shot('two-factor-enrol')
step = int(time.time()) // 30
type_in('#code', totp(secret, step))
click('form[action="/account/two-factor/confirm"] button')
wait_text('Your recovery codes')
codes = [call('GET', S + f'/element/{e}/text') for e in finds('#recovery-codes code')]
assert len(codes) == 10, codes
assert 'can no longer log in with your account password' in text()
shot('two-factor-recovery-codes')
go('/account/two-factor')
on = wait_text('Two-factor login is on')
assert codes[0] not in on and '10 unused recovery codes' in on, on
shot('two-factor-on')

# Log out; the password alone now reaches only the code form.
click('form[action="/account/logout"] button')
wait_text('Log in', 'h1')
login(BOB, PW)
wait_text('Enter your code', 'h1')
shot('second-factor')
# The step after the one that turned TOTP on (RFC 6238 §5.2 allows one
# step of drift; each step is taken once).
type_in('#code', totp(secret, step + 1))
click('form[action="/account/second-factor"] button')
wait_text('My account', 'h1')

# The devices page lists the IMAP login and what the client said it was.
reload_until('/account/devices', 'Browser Test Mail 7.1')
devices = text('table')
assert 'IMAP' in devices and '127.0.0.1' in devices and 'Web console' in devices, devices
shot('devices')

# A recovery code opens the login once.
login(BOB, PW)
wait_text('Enter your code', 'h1')
type_in('#code', codes[0])
click('form[action="/account/second-factor"] button')
wait_text('My account', 'h1')
login(BOB, PW)
wait_text('Enter your code', 'h1')
type_in('#code', codes[0])
click('form[action="/account/second-factor"] button')
wait_text('That code is not right')
type_in('#code', codes[1])
click('form[action="/account/second-factor"] button')
wait_text('My account', 'h1')

# The client setup page carries a QR code of the Apple profile link.
go('/account/setup')
find('.qr svg')
assert '/apple/profile.mobileconfig?email=bob@example.org' in text(), text()
js("document.querySelector('.qr').scrollIntoView()")
shot('account-setup-qr')
# The other account pages, for their screenshots.
for page, title in [('vacation', 'Vacation reply'), ('filters', 'Filter rules'),
                    ('sieve', 'Sieve scripts'), ('mailboxes', 'Your mailboxes'),
                    ('spam', 'Spam settings')]:
    go('/account/' + page)
    wait_text(title, 'h1')
    shot('account-' + page)
# Phone-sized: the enrolment and app password pages in one column.
resize(390, 844)
go('/account/two-factor'); shot('two-factor-phone')
go('/account/app-passwords'); shot('app-passwords-phone')
print('ok')
"#;

#[test]
fn browser_user_app_password_totp_devices_and_recovery_code() {
    // The revoked password's refusals and the reused recovery code are
    // failures from 127.0.0.1; the login delay they would earn is not
    // what this test is about.
    let env = Env::with_config("[auth]\nfailures_before_delay = 50\n");
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(
        &["user", "add", "bob@example.org"],
        &format!("{PASSWORD}\n"),
    );
    let server = env.serve();
    let out = browse(&env, &server, PASSWORD, ACCOUNT_FLOW);
    assert_eq!(out.trim(), "ok");
    assert_screenshots(&[
        "account-home",
        "app-password-created",
        "app-passwords",
        "app-password-revoke",
        "two-factor-off",
        "two-factor-enrol",
        "two-factor-recovery-codes",
        "two-factor-on",
        "second-factor",
        "devices",
        "account-setup-qr",
        "account-vacation",
        "account-filters",
        "account-sieve",
        "account-mailboxes",
        "account-spam",
    ]);
    // The CLI sees what the pages did.
    assert!(
        env.ok(&["user", "totp", "status", "bob@example.org"])
            .starts_with("on (8 recovery codes left)")
    );
    assert_eq!(
        env.ok(&["user", "app-password", "list", "bob@example.org"]),
        "bob@example.org has no app passwords\n"
    );
}
