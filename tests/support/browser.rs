//! A real browser for the web console's tests: headless Chromium driven
//! through Debian's `chromedriver` over the W3C WebDriver protocol, spoken
//! by a small Python prelude (urllib only). A test writes its flow as
//! Python after the prelude and runs it with [`browse`]; `shot(name)`
//! saves a screenshot under `target/web-screenshots/`.

use std::path::PathBuf;

use super::{Env, Server, python, root};

/// Starts chromedriver and one browser session, and defines the flow's
/// vocabulary: `go(path)`, `find(css)`, `finds(css)`, `type_in(css, text)`,
/// `click(css)`, `text(css)`, `wait_text(needle, css)`, `shot(name)`,
/// `js(script)`, `login(address, password)` and `resize(w, h)`. The
/// session and the driver end however the flow ends (`atexit`).
const DRIVER: &str = r#"
import atexit, json, os, subprocess, socket, time, base64, urllib.request, urllib.error
HTTPS = int(os.environ['HTTPS_PORT'])
SHOTS = os.environ['SHOTS']
os.makedirs(SHOTS, exist_ok=True)
_s = socket.socket(); _s.bind(('127.0.0.1', 0)); _port = _s.getsockname()[1]; _s.close()
_drv = subprocess.Popen(['chromedriver', f'--port={_port}'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_base = f'http://127.0.0.1:{_port}'
S = None
def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(_base + path, data=data, method=method,
                                 headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            value = json.loads(r.read())['value']
    except urllib.error.HTTPError as e:
        raise AssertionError(f'{method} {path}: {e.read()[:500]}')
    if isinstance(value, dict) and 'error' in value:
        raise AssertionError(f'{method} {path}: {value}')
    return value
def _stop():
    try:
        if S:
            call('DELETE', S)
    except Exception:
        pass
    _drv.terminate()
    _drv.wait(10)
atexit.register(_stop)
for _ in range(200):
    try:
        if call('GET', '/status').get('ready'):
            break
    except Exception:
        pass
    time.sleep(0.05)
_opts = {'binary': '/usr/bin/chromium',
         'args': ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                  '--window-size=1280,1000']}
S = '/session/' + call('POST', '/session', {'capabilities': {'alwaysMatch': {
    'browserName': 'chrome', 'acceptInsecureCerts': True, 'goog:chromeOptions': _opts}}})['sessionId']
EL = 'element-6066-11e4-a52e-4f735466cecf'
def go(path): call('POST', S + '/url', {'url': f'https://localhost:{HTTPS}{path}'})
def find(css):
    found = call('POST', S + '/element', {'using': 'css selector', 'value': css})
    assert EL in found, (css, found, call('GET', S + '/source')[:2000])
    return found[EL]
def finds(css): return [e[EL] for e in call('POST', S + '/elements', {'using': 'css selector', 'value': css})]
def type_in(css, text): call('POST', S + f'/element/{find(css)}/value', {'text': text})
def click(css): call('POST', S + f'/element/{find(css)}/click', {})
def text(css='main'): return call('GET', S + f'/element/{find(css)}/text')
def wait_text(needle, css='main'):
    # After a click the next page may not have replaced this one yet.
    seen = ''
    for _ in range(200):
        try:
            seen = text(css)
            if needle in seen:
                return seen
        except AssertionError:
            pass
        time.sleep(0.05)
    raise AssertionError(f'{needle!r} never appeared in {css}: {seen}')
def shot(name):
    with open(os.path.join(SHOTS, name + '.png'), 'wb') as f:
        f.write(base64.b64decode(call('GET', S + '/screenshot')))
def js(script): return call('POST', S + '/execute/sync', {'script': script, 'args': []})
def resize(width, height): call('POST', S + '/window/rect', {'width': width, 'height': height})
def login(address, pw):
    call('DELETE', S + '/cookie')
    go('/account/login')
    type_in('#address', address)
    type_in('#password', pw)
    click('form[action="/account/login"] button')
"#;

/// Where the screenshots go (kept under `target/`, not committed).
pub fn screenshots() -> PathBuf {
    root().join("target").join("web-screenshots")
}

/// Runs `flow` (Python, after the driver prelude, with `PW` set to
/// `password`) against `server` and returns what it printed.
pub fn browse(env: &Env, server: &Server, password: &str, flow: &str) -> String {
    let script = format!("PW = {password:?}\n{DRIVER}{flow}");
    let shots = screenshots();
    python(env, server, &script, &[("SHOTS", shots.as_path())])
}

/// Fails unless each of `names` was saved as a PNG.
pub fn assert_screenshots(names: &[&str]) {
    for name in names {
        let png = std::fs::read(screenshots().join(format!("{name}.png")))
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
    }
}
