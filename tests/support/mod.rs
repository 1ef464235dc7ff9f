//! Helpers for the end-to-end tests: run `postern` commands against a temp
//! data directory, start `postern serve` on free ports and stop it.

pub mod browser;
pub mod dns;
pub mod dnssec;
pub mod issuer;
pub mod sink;
pub mod sts;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_postern");

/// The tests run as whoever runs them, root in CI: they opt out of the
/// refusal to run as root. `Env::with_config` leaves this out when `extra`
/// has a `[server]` section of its own.
const RUN_AS_ROOT: &str = "[server]\nrun_as_root = true\n";

/// A data directory and a config file that uses port 0 everywhere.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        Env::with_config("")
    }

    /// A config listening on 127.0.0.1 port 0 for every service, plus `extra`.
    pub fn with_config(extra: &str) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("postern.toml");
        let server = if extra.contains("[server]") {
            ""
        } else {
            RUN_AS_ROOT
        };
        let text = format!(
            "hostname = \"mail.test\"\ndata_dir = \"data\"\n{extra}\n{server}[listen]\n\
             smtp = [\"127.0.0.1:0\"]\nsubmission = [\"127.0.0.1:0\"]\nsubmissions = [\"127.0.0.1:0\"]\n\
             imap = [\"127.0.0.1:0\"]\nimaps = [\"127.0.0.1:0\"]\npop3 = [\"127.0.0.1:0\"]\npop3s = [\"127.0.0.1:0\"]\nmanagesieve = [\"127.0.0.1:0\"]\n\
             http = [\"127.0.0.1:0\"]\nhttps = [\"127.0.0.1:0\"]\n"
        );
        std::fs::write(&config, text).expect("write config");
        Env { dir, config }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--config").arg(&self.config);
        c.env_remove("RUST_LOG")
            .env_remove("POSTERN_CONFIG")
            .env_remove("POSTERN_DATA_DIR");
        c
    }

    /// Runs `postern --config … ARGS` with `stdin` piped in.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn postern");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait postern")
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, "")
    }

    pub fn ok_with(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "postern {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command that must fail; returns its stderr.
    pub fn fails(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            !out.status.success(),
            "postern {args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Starts `postern serve` and waits (bounded) for its listen report.
    pub fn serve(&self) -> Server {
        let report = self
            .dir
            .path()
            .join(format!("listen-{}.txt", rand_suffix()));
        let mut child = self
            .cmd()
            .arg("serve")
            .arg("--listen-report")
            .arg(&report)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn serve");
        // The log is read as it comes, so a test can wait for a line.
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        let log_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&buf[..n]);
            }
        });
        let mut server = Server {
            child: Some(child),
            ports: HashMap::new(),
            log,
            log_reader: Some(log_reader),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&report) {
                for line in text.lines() {
                    if let Some((name, addr)) = line.split_once(' ') {
                        server
                            .ports
                            .entry(name.to_string())
                            .or_insert_with(|| addr.to_string());
                    }
                }
                return server;
            }
            if let Some(status) = server.child_mut().try_wait().expect("try_wait") {
                if let Some(r) = server.log_reader.take() {
                    let _ = r.join();
                }
                panic!("serve exited with {status}: {}", server.log());
            }
            assert!(
                Instant::now() < deadline,
                "serve did not report its ports within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The self-signed certificate the server made in the data directory.
    pub fn cert(&self) -> PathBuf {
        self.data().join("tls").join("selfsigned-cert.pem")
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// A running `postern serve`; killed on drop if not stopped.
pub struct Server {
    child: Option<Child>,
    pub ports: HashMap<String, String>,
    /// Everything the server wrote to stderr so far (its log).
    log: Arc<Mutex<Vec<u8>>>,
    log_reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// The server's log (stderr) so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Waits (bounded by `within`) for a log line containing `needle`;
    /// panics with the log if none comes.
    pub fn wait_for_log(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log();
            if let Some(line) = log.lines().find(|l| l.contains(needle)) {
                return line.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?} within {within:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("server running")
    }

    pub fn addr(&self, name: &str) -> String {
        self.ports
            .get(name)
            .unwrap_or_else(|| panic!("no listener {name} in {:?}", self.ports))
            .clone()
    }

    /// The port a listener is bound to.
    pub fn port(&self, name: &str) -> u16 {
        self.addr(name)
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or_else(|| panic!("no port for {name}"))
    }

    pub fn pid(&mut self) -> i32 {
        self.child_mut().id() as i32
    }

    /// Sends `sig` (e.g. "TERM", "HUP") with kill(1).
    pub fn signal(&mut self, sig: &str) {
        let pid = self.pid().to_string();
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status()
            .expect("kill");
        assert!(st.success(), "kill -{sig} failed");
    }

    /// SIGKILL: the server gets no chance to clean up.
    pub fn kill9(mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("SIGKILL");
            c.wait().expect("reap");
        }
    }

    /// SIGTERM, then waits (bounded) for a clean exit; returns stdout+stderr.
    pub fn stop(mut self) -> (std::process::ExitStatus, String, String) {
        self.signal("TERM");
        let mut child = self.child.take().expect("child");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if child.try_wait().expect("try_wait").is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("serve did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("output");
        if let Some(r) = self.log_reader.take() {
            let _ = r.join();
        }
        (
            out.status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            self.log(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The workspace root (for the tidy test and the example config).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `python3 -c script` with the certificate (`CERT`), every listener's
/// port (`SMTP_PORT`, `IMAPS_PORT`, …) and `extra` in its environment;
/// returns its stdout, failing the test on a non-zero exit.
pub fn python(env: &Env, server: &Server, script: &str, extra: &[(&str, &Path)]) -> String {
    let out = python_command(env, server, script, extra)
        .output()
        .expect("python3 runs");
    // The server's side goes with a failure: a refused connection says
    // nothing of why the server was not there.
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}\nthe server's ports: {:?}\nits log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.ports,
        server.log()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `python3 -c script` command `python` runs, for a test that talks to
/// the script while it runs.
pub fn python_command(
    env: &Env,
    server: &Server,
    script: &str,
    extra: &[(&str, &Path)],
) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(script).env("CERT", env.cert());
    for name in server.ports.keys() {
        cmd.env(
            format!("{}_PORT", name.to_uppercase()),
            server.port(name).to_string(),
        );
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd
}
