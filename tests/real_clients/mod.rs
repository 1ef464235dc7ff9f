//! Real mail clients from Debian's packages (mbsync, fetchmail, neomutt,
//! offlineimap3, swaks) against the real binary, each configured the way
//! its users configure it and trusting the server's self-signed
//! certificate through its own CA setting, never with verification off.
//! The shared pieces live here: finding a client (a missing one fails the
//! test naming the package `.ci/run` installs), a throwaway HOME for its
//! configuration and state, and running it with a bounded timeout.

mod fetchmail;
mod mbsync;
mod neomutt;
mod offlineimap;
mod readme;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long one client run may take before the test calls it hung. Not a
/// performance threshold: every run here finishes in about a second.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Each client program and the Debian package that ships it.
const PACKAGES: &[(&str, &str)] = &[
    ("fetchmail", "fetchmail"),
    ("neomutt", "neomutt"),
    ("offlineimap", "offlineimap3"),
    ("mbsync", "isync"),
    ("swaks", "swaks"),
];

/// The path of `program` on PATH; panics (failing the test, never skipping
/// it) with the package to install when it is missing. A test calls it
/// first, so a missing client is the only failure it reports.
pub fn require(program: &str) -> PathBuf {
    let package = PACKAGES
        .iter()
        .find(|(p, _)| *p == program)
        .map(|(_, pkg)| *pkg)
        .unwrap_or_else(|| panic!("no Debian package known for {program:?}: add it to PACKAGES"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .unwrap_or_else(|| {
            panic!("{program} is not installed: install Debian package {package} (.ci/run does)")
        })
}

/// A temporary HOME: the client's configuration and state (fetchmail's
/// .fetchids, offlineimap's metadata, the Maildir) live there and nowhere
/// else, so runs of different tests never meet.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("temp HOME"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `name` under HOME, readable by its owner only (fetchmail
    /// refuses an rc file others can read: it holds a password).
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).expect("write client config");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .expect("chmod client config");
        path
    }

    /// A command for `program` (checked with `require`) with HOME here and
    /// nothing from the caller's environment that would point it elsewhere.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(require(program));
        cmd.env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join(".config"))
            .env("XDG_DATA_HOME", self.path().join(".local/share"))
            .env("XDG_CACHE_HOME", self.path().join(".cache"))
            .env("TMPDIR", self.path())
            .env_remove("MAIL")
            .env_remove("MAILDIR")
            .env_remove("EMAIL")
            .env_remove("NEOMUTT_CONFIG")
            // fetchmail keeps its pid lock here too; run as root it would
            // otherwise use /var/run, shared by every test at once.
            .env("FETCHMAILHOME", self.path())
            .env_remove("FETCHMAILUSER");
        cmd
    }
}

/// What a client run left: its exit status and output.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Both streams, for assertion messages and for lines a client prints
    /// on either.
    pub fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Panics with the output unless the client exited with `code`.
    pub fn expect_code(&self, what: &str, code: i32) -> &Run {
        assert_eq!(
            self.status.code(),
            Some(code),
            "{what}: exit status {} (wanted {code}):\n{}",
            self.status,
            self.output()
        );
        self
    }
}

/// Runs `cmd` with `stdin` as its input and waits at most `CLIENT_TIMEOUT`;
/// a client still running then is killed and the test fails with what it
/// printed so far.
pub fn run(cmd: &mut Command, stdin: &[u8]) -> Run {
    let name = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    // Both pipes are drained while the client runs, so a chatty client
    // never blocks on a full pipe; its input goes in from a thread too.
    let input = stdin.to_vec();
    let mut pipe_in = child.stdin.take().expect("stdin piped");
    let feeder = std::thread::spawn(move || {
        // A client that exits without reading its input is not an error.
        let _ = pipe_in.write_all(&input);
    });
    let out = drain(child.stdout.take().expect("stdout piped"));
    let err = drain(child.stderr.take().expect("stderr piped"));
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{name} still running after {CLIENT_TIMEOUT:?}, killed:\n{}\n{}",
                join(out),
                join(err)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = feeder.join();
    Run {
        status,
        stdout: join(out),
        stderr: join(err),
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

fn join(reader: std::thread::JoinHandle<Vec<u8>>) -> String {
    String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned()
}
