//! kill -9 of the real server right after STOREs were answered OK, with the
//! client's session still open: after a restart every flag change the
//! client was told about is there. The store commits a batch of flag
//! changes alone without an fsync (`synchronous=NORMAL`, `writer.rs`): its
//! WAL frames were written to the file before the OK, so the process dying
//! does not lose them (a power cut may: README, "Durability"). The metrics
//! show that these STOREs were such unsynced commits, so the test checks
//! the path it is about.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::ops::{moved, s, scrape};
use crate::smtp::mail_env_with;

struct Client {
    rd: BufReader<TcpStream>,
    wr: TcpStream,
    tag: u32,
}

impl Client {
    fn connect(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut c = Client {
            rd: BufReader::new(s.try_clone().expect("clone")),
            wr: s,
            tag: 0,
        };
        let greeting = c.line();
        assert!(greeting.starts_with("* OK"), "greeting: {greeting}");
        c.run(b"LOGIN ann@example.org \"ann password\"");
        c.run(b"SELECT INBOX");
        c
    }

    /// One response line, with any literal it announces read into it.
    fn line(&mut self) -> String {
        let mut buf = Vec::new();
        loop {
            let n = self.rd.read_until(b'\n', &mut buf).expect("read");
            assert!(n > 0, "connection closed");
            let text = String::from_utf8_lossy(&buf).into_owned();
            let Some(len) = text
                .trim_end()
                .strip_suffix('}')
                .and_then(|t| t.rsplit_once('{'))
                .and_then(|(_, n)| n.parse::<usize>().ok())
            else {
                return text.trim_end().to_string();
            };
            let mut lit = vec![0; len];
            self.rd.read_exact(&mut lit).expect("literal");
            buf.extend_from_slice(&lit);
        }
    }

    /// Sends `cmd`, reads to its tagged answer, which must be OK; returns
    /// the untagged lines.
    fn run(&mut self, cmd: &[u8]) -> Vec<String> {
        self.tag += 1;
        let tag = format!("d{}", self.tag);
        let mut wire = format!("{tag} ").into_bytes();
        wire.extend_from_slice(cmd);
        wire.extend_from_slice(b"\r\n");
        self.wr.write_all(&wire).expect("write");
        let mut lines = Vec::new();
        loop {
            let l = self.line();
            if let Some(rest) = l.strip_prefix(&format!("{tag} ")) {
                assert!(
                    rest.starts_with("OK"),
                    "{} refused: {l}",
                    String::from_utf8_lossy(cmd)
                );
                return lines;
            }
            lines.push(l);
        }
    }
}

/// The stored flags of each `* n FETCH (UID u FLAGS (...))` line, sorted,
/// by UID.
fn flags_by_uid(lines: &[String]) -> Vec<(u32, Vec<String>)> {
    let mut out = Vec::new();
    for l in lines {
        let Some(uid) = l
            .split_once("UID ")
            .and_then(|(_, r)| r.split([' ', ')']).next())
            .and_then(|u| u.parse().ok())
        else {
            continue;
        };
        let Some((_, rest)) = l.split_once("FLAGS (") else {
            continue;
        };
        let list = rest.split_once(')').map_or("", |(f, _)| f);
        // `\Recent` is this session's, not stored.
        let mut flags: Vec<String> = list
            .split_whitespace()
            .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
            .map(str::to_string)
            .collect();
        flags.sort();
        out.push((uid, flags));
    }
    out.sort();
    out
}

#[test]
fn flags_a_store_was_answered_ok_for_survive_kill_9_of_the_server() {
    let (env, server) = mail_env_with(
        "[metrics]\nlisten = [\"127.0.0.1:0\"]\n[imap]\nplaintext_on_loopback = true\n",
    );
    let mut c = Client::connect(server.port("imap"));
    for i in 1..=4 {
        let msg = format!("Subject: m{i}\r\n\r\nbody {i}\r\n");
        let mut cmd = format!("APPEND INBOX {{{}+}}\r\n", msg.len()).into_bytes();
        cmd.extend_from_slice(msg.as_bytes());
        c.run(&cmd);
    }
    c.run(b"NOOP");
    let before = scrape(&server);
    let stores: [&[u8]; 5] = [
        b"UID STORE 1 +FLAGS (\\Flagged)",
        b"UID STORE 2 +FLAGS (\\Seen $Important)",
        b"UID STORE 3 FLAGS (\\Answered \\Draft)",
        b"UID STORE 4 +FLAGS (\\Seen \\Flagged)",
        b"UID STORE 4 -FLAGS (\\Flagged)",
    ];
    for cmd in stores {
        c.run(cmd);
    }
    let after = scrape(&server);
    let unsynced = s("postern_store_unsynced_commits_total", &[]);
    assert_eq!(
        moved(&before, &after, &unsynced),
        5.0,
        "each STORE was a batch committed without an fsync"
    );
    // The session stays open: nothing after the STOREs (no LOGOUT, no
    // later write) runs before the kill.
    server.kill9();
    drop(c);

    let server = env.serve();
    let mut c = Client::connect(server.port("imap"));
    let got = flags_by_uid(&c.run(b"UID FETCH 1:* (UID FLAGS)"));
    let want = |f: &[&str]| {
        let mut v: Vec<String> = f.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(
        got,
        vec![
            (1, want(&["\\Flagged"])),
            (2, want(&["\\Seen", "$Important"])),
            (3, want(&["\\Answered", "\\Draft"])),
            (4, want(&["\\Seen"])),
        ],
        "every flag change answered OK is there after kill -9"
    );
}
