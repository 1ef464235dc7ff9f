//! fetchmail (Debian's package) over POP3: implicit TLS on the pop3s
//! listener and STLS on pop3, with `sslcertck` against the server's
//! certificate. With `keep` and `uidl` a second run fetches nothing and
//! new mail is fetched exactly once; with `nokeep` the maildrop empties and
//! an IMAP session open meanwhile sees the expunges.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::{Home, Run, require, run};
use crate::pop3::{PRELUDE, expect_all, py};
use crate::smtp::mail_env;
use crate::support::{Env, Server, python_command};

#[derive(Clone, Copy, Debug)]
enum Tls {
    /// The pop3s listener, TLS from the first byte (`ssl`).
    Implicit,
    /// The pop3 listener upgraded with STLS (RFC 2595 §4), which fetchmail
    /// does when `sslproto` is set without `ssl`, and with `sslcertck`
    /// refuses to go on without.
    Stls,
}

/// A fetchmail set up in its own HOME: the rc file its users write, and an
/// `mda` that stores each message it fetches as one file in `fetched/`.
struct Fetchmail {
    home: Home,
    rc: PathBuf,
}

impl Fetchmail {
    fn new(env: &Env, server: &Server, tls: Tls, keep: bool) -> Fetchmail {
        let home = Home::new();
        let fetched = home.path().join("fetched");
        std::fs::create_dir(&fetched).expect("mkdir fetched");
        let (port, ssl) = match tls {
            Tls::Implicit => (server.port("pop3s"), "ssl"),
            Tls::Stls => (server.port("pop3"), "sslproto \"tls1.2+\""),
        };
        // `localhost`, not 127.0.0.1: fetchmail checks the certificate's DNS
        // names only, and the certificate names localhost.
        let rc = home.write(
            ".fetchmailrc",
            &format!(
                "set no syslog\n\
                 poll localhost service {port} protocol pop3 uidl auth password\n  \
                 user \"ann@example.org\" there with password \"ann password\" is \"ann\" here\n  \
                 {ssl} sslcertfile \"{cert}\" sslcertck\n  \
                 {keep}\n  \
                 mda \"cat > $(mktemp {fetched}/msg.XXXXXX)\"\n",
                cert = env.cert().display(),
                keep = if keep { "keep" } else { "nokeep" },
                fetched = fetched.display(),
            ),
        );
        Fetchmail { home, rc }
    }

    /// One fetchmail run (verbose, so the STLS upgrade shows). Its lock
    /// file is in the test's home: as root fetchmail would use
    /// /var/run/fetchmail.pid, shared with the test running beside it.
    fn run(&self) -> Run {
        run(
            self.home
                .command("fetchmail")
                .arg("--verbose")
                .arg("--pidfile")
                .arg(self.home.path().join("fetchmail.pid"))
                .arg("--fetchmailrc")
                .arg(&self.rc),
            b"",
        )
    }

    /// The subjects of everything fetched so far, sorted.
    fn fetched(&self) -> Vec<String> {
        let mut subjects: Vec<String> = std::fs::read_dir(self.home.path().join("fetched"))
            .expect("read fetched")
            .map(|e| subject(&e.expect("entry").path()))
            .collect();
        subjects.sort();
        subjects
    }
}

fn subject(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read fetched message");
    text.lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_else(|| panic!("no Subject in {}:\n{text}", path.display()))
        .to_string()
}

fn deliver(env: &Env, server: &Server, subjects: &[&str]) {
    let list: Vec<String> = subjects.iter().map(|s| format!("{s:?}")).collect();
    py(
        env,
        server,
        &format!(
            "for s in [{}]: deliver(\"ann@example.org\", s)\n",
            list.join(", ")
        ),
    );
}

#[test]
fn keep_and_uidl_over_pop3s_and_stls_fetch_each_message_exactly_once() {
    require("fetchmail");
    let (env, server) = mail_env();
    deliver(&env, &server, &["m1", "m2"]);
    let mut all = vec!["m1".to_string(), "m2".to_string()];
    for (tls, new) in [
        (Tls::Implicit, ["i1", "i2", "i3"]),
        (Tls::Stls, ["s1", "s2", "s3"]),
    ] {
        let what = format!("{tls:?}");
        let fm = Fetchmail::new(&env, &server, tls, true);
        // A new fetchmail (no .fetchids yet) fetches the whole maildrop.
        let first = fm.run();
        first.expect_code(&format!("{what}: first run"), 0);
        expect_all(
            &first.output(),
            &[&format!(
                "{} messages for ann@example.org at localhost",
                all.len()
            )],
        );
        if matches!(tls, Tls::Stls) {
            expect_all(&first.output(), &["upgrade to TLS succeeded"]);
        }
        let mut want = all.clone();
        want.sort();
        assert_eq!(fm.fetched(), want, "{what}");
        // `keep` left them on the server, and `uidl` remembers them:
        // fetchmail's exit status 1 is "no new mail".
        let again = fm.run();
        again.expect_code(&format!("{what}: second run"), 1);
        expect_all(
            &again.output(),
            &[&format!("({} seen) for ann@example.org", all.len())],
        );
        assert_eq!(fm.fetched(), want, "{what}: nothing fetched twice");
        // Three new messages: exactly those three come.
        deliver(&env, &server, &new);
        fm.run().expect_code(&format!("{what}: after new mail"), 0);
        all.extend(new.iter().map(|s| s.to_string()));
        let mut got_new = fm.fetched();
        got_new.retain(|s| !want.contains(s));
        assert_eq!(got_new, new, "{what}: exactly the new three");
    }
}

#[test]
fn nokeep_empties_the_maildrop_and_an_imap_session_sees_the_expunges() {
    require("fetchmail");
    let (env, server) = mail_env();
    deliver(&env, &server, &["n1", "n2", "n3"]);
    // An IMAP session stays selected on INBOX while fetchmail runs.
    let script = format!(
        "{PRELUDE}\nimport sys\n\
         c = imap(); typ, n = c.select(\"INBOX\"); print(\"ready\", n[0].decode(), flush=True)\n\
         sys.stdin.readline()\n\
         c.noop(); print(\"expunges\", len(c.untagged_responses.get(\"EXPUNGE\", [])))\n\
         typ, n = c.select(\"INBOX\"); print(\"exists\", n[0].decode())\n\
         p = pop(); print(\"pop left\", p.stat()[0]); p.quit()\n"
    );
    let mut imap = python_command(&env, &server, &script, &[])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut lines = BufReader::new(imap.stdout.take().expect("stdout"));
    let mut ready = String::new();
    lines.read_line(&mut ready).expect("read");
    assert_eq!(ready.trim(), "ready 3", "the IMAP session did not start");

    let fm = Fetchmail::new(&env, &server, Tls::Implicit, false);
    let run = fm.run();
    run.expect_code("nokeep run", 0);
    expect_all(&run.output(), &["flushed"]);
    assert_eq!(fm.fetched(), ["n1", "n2", "n3"]);

    imap.stdin
        .take()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("write");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut lines, &mut rest).expect("read");
    let status = imap.wait().expect("wait python");
    assert!(status.success(), "python failed: {rest}");
    expect_all(&rest, &["expunges 3", "exists 0", "pop left 0"]);
}
