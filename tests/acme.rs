//! ACME end to end: the real binary gets its certificate from pebble (the
//! ACME test CA, Debian's `pebble`) on loopback, over TLS-ALPN-01 and over
//! HTTP-01, with pebble resolving our names through the tests' DNS server.
//! Then what a user checks: mail clients that trust only the CA's root log
//! in over IMAPS and fetch autoconfig over HTTPS for every name; the
//! certificate survives a restart; a renewal is served without a restart;
//! a failed renewal keeps the certificate and says why.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::dns::TestDns;
use crate::support::{Env, Server};

/// A free loopback port (bound, read back, released for pebble to take).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind port 0")
        .port()
}

/// A running pebble; killed on drop.
struct Pebble {
    child: Option<Child>,
    dir: tempfile::TempDir,
    acme_port: u16,
    mgmt_port: u16,
}

impl Pebble {
    /// Pebble's own HTTPS certificate (a self-signed one for 127.0.0.1,
    /// which Postern trusts through `[acme] ca_file`) and its ports.
    fn prepare() -> Pebble {
        let dir = tempfile::tempdir().expect("tempdir");
        let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("rcgen");
        std::fs::write(dir.path().join("cert.pem"), ck.cert.pem()).expect("write");
        std::fs::write(dir.path().join("key.pem"), ck.signing_key.serialize_pem()).expect("write");
        Pebble {
            child: None,
            dir,
            acme_port: free_port(),
            mgmt_port: free_port(),
        }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn directory(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.acme_port)
    }

    /// Starts pebble validating on Postern's `http` and `https` ports and
    /// resolving through `dns`; waits (bounded) until it answers.
    fn start(&mut self, server: &Server, dns: &TestDns) {
        // The management port is picked here, just before pebble binds it,
        // and picked again if pebble could not have it: a port read back
        // from port 0 and released can be taken by another test's
        // listener meanwhile (the ACME port cannot move: the server's
        // config names it).
        for attempt in 1..=3 {
            self.mgmt_port = free_port();
            if self.start_once(server, dns) || attempt == 3 {
                return;
            }
            self.stop();
        }
    }

    /// One start; false if pebble exited after its ports answered (a port
    /// it wanted was another process's).
    fn start_once(&mut self, server: &Server, dns: &TestDns) -> bool {
        let config = format!(
            r#"{{"pebble": {{"listenAddress": "127.0.0.1:{}", "managementListenAddress": "127.0.0.1:{}",
  "certificate": "{}", "privateKey": "{}", "httpPort": {}, "tlsPort": {},
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}}}"#,
            self.acme_port,
            self.mgmt_port,
            self.ca_file().display(),
            self.dir.path().join("key.pem").display(),
            server.port("http"),
            server.port("https"),
        );
        let path = self.dir.path().join("pebble.json");
        std::fs::write(&path, config).expect("write pebble config");
        let child = Command::new("pebble")
            .arg("-config")
            .arg(&path)
            .arg("-dnsserver")
            .arg(format!("127.0.0.1:{}", dns.port))
            // No random validation delays, no random nonce rejections.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.log_path()).expect("pebble log"))
            .spawn()
            .expect("pebble runs (.ci/run installs Debian's pebble)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.mgmt_port)).is_err() {
            // An early exit is most likely a port another test took since
            // `free_port` read it: say so rather than time out.
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "pebble did not start ({exited:?}):\n{}",
                std::fs::read_to_string(self.log_path()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Something answered; pebble must still be there to be the one.
        std::thread::sleep(Duration::from_millis(300));
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("pebble.log")
    }

    /// The root pebble issues under (made anew at each pebble start).
    fn root(&self) -> PathBuf {
        let script = r#"
import os, ssl, urllib.request
ctx = ssl.create_default_context(cafile=os.environ['CA'])
url = 'https://127.0.0.1:%s/roots/0' % os.environ['MGMT']
print(urllib.request.urlopen(url, context=ctx, timeout=30).read().decode(), end='')
"#;
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .env("CA", self.ca_file())
            .env("MGMT", self.mgmt_port.to_string())
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "fetching pebble's root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = self.dir.path().join("root.pem");
        std::fs::write(&path, &out.stdout).expect("write root");
        path
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The leaf certificate `port` serves for `name`, if it verifies against
/// `root` (chain and name); the error says why not.
fn verified_leaf(port: u16, name: &str, root: &Path) -> Result<Vec<u8>, String> {
    let config = postern_net::client_config_trusting(root).map_err(|e| e.to_string())?;
    let server_name =
        rustls::pki_types::ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
    let mut conn = rustls::ClientConnection::new(Arc::clone(&config), server_name)
        .map_err(|e| e.to_string())?;
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| e.to_string())?;
    }
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("no certificate")?;
    Ok(leaf.to_vec())
}

/// Waits (bounded) until `port` serves, for `name`, a certificate that
/// verifies against `root` and differs from `not`.
fn wait_for_leaf(server: &Server, name: &str, root: &Path, not: Option<&[u8]>) -> Vec<u8> {
    let port = server.port("imaps");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let got = verified_leaf(port, name, root);
        match &got {
            Ok(leaf) if Some(leaf.as_slice()) != not => return leaf.clone(),
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "no new certificate from the CA for {name} within 90 s (last: {:?}); log:\n{}",
            got.map(|_| "the old one"),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn acme_env(pebble: &Pebble, extra: &str) -> Env {
    let env = Env::with_config(&format!(
        "[acme]\nenabled = true\ndirectory = \"{}\"\nca_file = \"{}\"\n\
         contact = [\"postmaster@example.org\"]\nretry_secs = 1\n{extra}\n",
        pebble.directory(),
        pebble.ca_file().display()
    ));
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(
        &["user", "add", "ann@example.org"],
        "s3cret-pass\ns3cret-pass\n",
    );
    env
}

fn dns_for(names: &[&str]) -> TestDns {
    let dns = TestDns::start();
    for n in names {
        dns.a(n, Ipv4Addr::LOCALHOST);
    }
    dns
}

/// A client that trusts only `root`, checking the name `mail.test`: an
/// IMAPS login and a POP3S login, and autoconfig over HTTPS on
/// `autoconfig.example.org`.
const CLIENTS: &str = r#"
import os, socket, ssl, http.client
ctx = ssl.create_default_context(cafile=os.environ['ROOT'])
def tls(port, name):
    return ctx.wrap_socket(socket.create_connection(('127.0.0.1', port), timeout=30),
                           server_hostname=name)
s = tls(int(os.environ['IMAPS_PORT']), 'mail.test')
f = s.makefile('rb')
assert f.readline().startswith(b'* OK'), 'greeting'
s.sendall(b'a LOGIN ann@example.org s3cret-pass\r\n')
line = f.readline()
while line.startswith(b'*'):
    line = f.readline()
assert line.startswith(b'a OK'), line
s.close()
s = tls(int(os.environ['POP3S_PORT']), 'mail.test')
f = s.makefile('rb')
assert f.readline().startswith(b'+OK')
s.sendall(b'USER ann@example.org\r\n'); assert f.readline().startswith(b'+OK')
s.sendall(b'PASS s3cret-pass\r\n'); line = f.readline(); assert line.startswith(b'+OK'), line
s.close()
s = tls(int(os.environ['HTTPS_PORT']), 'autoconfig.example.org')
s.sendall(b'GET /mail/config-v1.1.xml?emailaddress=ann%40example.org HTTP/1.1\r\n'
          b'Host: autoconfig.example.org\r\nConnection: close\r\n\r\n')
r = http.client.HTTPResponse(s); r.begin()
body = r.read()
assert r.status == 200 and b'<hostname>mail.test</hostname>' in body, (r.status, body)
print('clients ok')
"#;

#[test]
fn acme_tls_alpn_01_certificate_is_trusted_by_clients_and_kept_across_restarts() {
    let dns = dns_for(&["mail.test", "autoconfig.example.org"]);
    let mut pebble = Pebble::prepare();
    let env = acme_env(&pebble, "names = [\"autoconfig.example.org\"]");
    let server = env.serve();
    // Until the CA has answered, the self-signed stand-in is served.
    assert!(verified_leaf(server.port("imaps"), "mail.test", &env.cert()).is_ok());
    pebble.start(&server, &dns);
    let root = pebble.root();

    let leaf = wait_for_leaf(&server, "mail.test", &root, None);
    assert_eq!(
        postern_net::dns_names(&leaf).expect("names"),
        ["mail.test", "autoconfig.example.org"]
    );
    // Every listener serves it: implicit TLS and STARTTLS alike share it.
    for name in ["https", "pop3s", "submissions"] {
        assert_eq!(
            verified_leaf(server.port(name), "mail.test", &root),
            Ok(leaf.clone())
        );
    }
    let out = crate::support::python(&env, &server, CLIENTS, &[("ROOT", &root)]);
    assert!(out.contains("clients ok"), "{out}");
    server.wait_for_log(
        "answered an ACME TLS-ALPN-01 validation",
        Duration::from_secs(5),
    );

    let acme = env.data().join("acme");
    for f in ["account.json", "key.pem", "cert.pem"] {
        assert!(acme.join(f).is_file(), "{f} kept in the data directory");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = |f: &str| {
        std::fs::metadata(acme.join(f))
            .expect("stat")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("key.pem"), 0o600);
    assert_eq!(mode("account.json"), 0o600);

    // A restart serves the kept certificate at once and orders nothing.
    let (status, _, log) = server.stop();
    assert!(status.success(), "{log}");
    let server = env.serve();
    assert_eq!(
        verified_leaf(server.port("imaps"), "mail.test", &root),
        Ok(leaf)
    );
    let (_, _, log) = server.stop();
    assert!(!log.contains("ordering a certificate"), "{log}");
}

#[test]
fn acme_http_01_renews_without_restart_and_a_failed_renewal_keeps_the_certificate() {
    let dns = dns_for(&["mail.test"]);
    let mut pebble = Pebble::prepare();
    // Renewal always due: every check (2 s) orders a new certificate.
    let env = acme_env(
        &pebble,
        "challenge = \"http-01\"\nrenew_before_days = 100000\ncheck_secs = 2",
    );
    let server = env.serve();
    pebble.start(&server, &dns);
    let root = pebble.root();

    let first = wait_for_leaf(&server, "mail.test", &root, None);
    // Renewed and served by the running server, on a new connection.
    let second = wait_for_leaf(&server, "mail.test", &root, Some(&first));
    assert_ne!(first, second);
    server.wait_for_log("ACME: certificate installed", Duration::from_secs(5));

    // The CA goes away: renewal fails, the certificate in use stays.
    pebble.stop();
    let line = server.wait_for_log("ACME: certificate order failed", Duration::from_secs(60));
    assert!(line.contains("keeping the certificate in use"), "{line}");
    assert!(line.contains("127.0.0.1"), "says which CA: {line}");
    // Still a certificate from the CA, not the self-signed stand-in.
    verified_leaf(server.port("imaps"), "mail.test", &root).expect("still trusted");
    let (status, _, log) = server.stop();
    assert!(status.success(), "{log}");
}

#[test]
fn acme_config_refuses_what_cannot_work_and_check_shows_what_will_be_ordered() {
    let pebble = Pebble::prepare();
    let env = Env::with_config(&format!(
        "[acme]\nenabled = true\ndirectory = \"{}\"\nnames = [\"autoconfig.example.org\"]\nchallenge = \"http-01\"\n",
        pebble.directory()
    ));
    let out = env.ok(&["config", "check"]);
    assert!(
        out.contains(&format!(
            "tls\tACME from {} for mail.test, autoconfig.example.org (http-01 on listen.http)",
            pebble.directory()
        )),
        "{out}"
    );
    // `domain dns` says which discovery name the certificate would miss.
    env.ok(&["domain", "add", "example.org"]);
    let printed = env.ok(&["domain", "dns", "example.org"]);
    assert!(
        printed.contains("; TLS: add \"autodiscover.example.org\" to [acme] names"),
        "{printed}"
    );
    for (extra, want) in [
        ("", "hostname"),
        ("challenge = \"dns-01\"", "acme.challenge"),
    ] {
        let env = Env::with_config(&format!(
            "[acme]\nenabled = true\ndirectory = \"{}\"\n{extra}\n",
            pebble.directory()
        ));
        // The tests' hostname (mail.test) is fine; "localhost" is not.
        let text = std::fs::read_to_string(&env.config).expect("read");
        let text = if want == "hostname" {
            text.replace("hostname = \"mail.test\"", "hostname = \"localhost\"")
        } else {
            text
        };
        std::fs::write(&env.config, text).expect("write");
        let err = env.fails(&["config", "check"], "");
        assert!(err.contains(want), "{err}");
    }
}
