//! Moving in: `postern import imap` from a real IMAP server (a second
//! Postern serving IMAPS; the Dovecot comparison is bench/import/run.sh)
//! copies folders, flags, keywords, internal dates and bytes, resumes
//! after a cut connection without duplicates and copies nothing the second
//! time; `postern mailbox import --maildir` keeps Dovecot's UIDs,
//! UIDVALIDITY and POP3 UIDLs.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::thread::JoinHandle;

use crate::support::{self, Env, Server};

const SOURCE_PASSWORD: &str = "old password\n";

/// The old server: ann@example.org with folders, special-use ones,
/// flags, keywords and `n` messages with distinct dates, put there over
/// IMAP.
fn old_server(n: usize) -> (Env, Server) {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], SOURCE_PASSWORD);
    let server = env.serve();
    let script = format!(
        r#"
import os, imaplib, ssl, time
ctx = ssl.create_default_context(cafile=os.environ["CERT"]); ctx.check_hostname = False
c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["IMAPS_PORT"]), ssl_context=ctx, timeout=30)
c.login("ann@example.org", "old password")
for f in ["Lists/rust", "Lists/go", "Empty"]:
    assert c.create(f)[0] == "OK", f
folders = ["INBOX", "INBOX", "INBOX", "Lists/rust", "Lists/go", "Sent", "Drafts", "Trash", "Junk", "Archive"]
for i in range({n}):
    flags = []
    if i % 2 == 0: flags.append("\\Seen")
    if i % 7 == 0: flags.append("\\Flagged")
    if i % 11 == 0: flags.append("\\Answered")
    if i % 17 == 0: flags.append("\\Deleted")
    if i % 3 == 0: flags.append("$Label1")
    if i % 13 == 0: flags.append("Project-X")
    body = "line %d of a message\r\n" % i * (1 + i % 40)
    msg = ("From: sender%d@example.net\r\nTo: ann@example.org\r\nSubject: message %d\r\n"
           "Message-ID: <m%d@example.net>\r\nDate: Mon, 6 Jan 2025 10:00:00 +0000\r\n\r\n%s" % (i % 9, i, i, body))
    when = imaplib.Time2Internaldate(1577836800 + i * 3607)
    typ, _ = c.append(folders[i % len(folders)], "(" + " ".join(flags) + ")", when, msg.encode())
    assert typ == "OK"
c.logout()
print("filled")
"#
    );
    let out = support::python(&env, &server, &script, &[]);
    assert!(out.contains("filled"), "{out}");
    (env, server)
}

/// The new server's data directory with bob@example.org, not serving.
fn new_home() -> Env {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "bob@example.org"], "new password\n");
    env
}

fn import_args(port: u16) -> Vec<String> {
    [
        "import",
        "imap",
        "--from",
        &format!("imaps://127.0.0.1:{port}"),
        "--insecure",
        "--user",
        "ann@example.org",
        "--to",
        "bob@example.org",
        "--batch-messages",
        "40",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run_import(env: &Env, port: u16) -> std::process::Output {
    let args = import_args(port);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.run(&args, SOURCE_PASSWORD)
}

/// A TCP relay to `target` that closes both sides once `limit` bytes came
/// back from the server: a connection cut in the middle of the import.
fn cutting_relay(target: u16, limit: usize) -> (u16, JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
    let port = listener.local_addr().expect("relay addr").port();
    let t = std::thread::spawn(move || {
        let (client, _) = listener.accept().expect("accept");
        let server = TcpStream::connect(("127.0.0.1", target)).expect("connect source");
        let (mut c_read, mut s_write) = (
            client.try_clone().expect("clone"),
            server.try_clone().expect("clone"),
        );
        let up = std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            while let Ok(n) = c_read.read(&mut buf) {
                if n == 0 || s_write.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
        let (mut s_read, mut c_write) = (server, client);
        let mut sent = 0;
        let mut buf = [0u8; 16384];
        while sent < limit {
            let n = match s_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n.min(limit - sent),
            };
            if c_write.write_all(&buf[..n]).is_err() {
                break;
            }
            sent += n;
        }
        let _ = c_write.shutdown(Shutdown::Both);
        let _ = s_read.shutdown(Shutdown::Both);
        let _ = up.join();
        sent
    });
    (port, t)
}

/// Every folder of the old server beside its copy on the new one: the
/// same messages (bytes), flags, keywords and internal dates; one line per
/// folder with the count, and a line for each difference.
fn compare(old: (&Env, &Server), new: (&Env, &Server)) -> String {
    let script = r#"
import os, imaplib, ssl, hashlib, re
def login(port, cert, user, pw):
    ctx = ssl.create_default_context(cafile=cert); ctx.check_hostname = False
    c = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=30)
    c.login(user, pw)
    return c
old = login(int(os.environ["OLD_IMAPS"]), os.environ["OLD_CERT"], "ann@example.org", "old password")
new = login(int(os.environ["IMAPS_PORT"]), os.environ["CERT"], "bob@example.org", "new password")
def folders(c):
    typ, data = c.list()
    return sorted(re.match(rb'\(.*?\) "/" "?(.*?)"?$', l).group(1).decode() for l in data)
def contents(c, f):
    typ, d = c.select('"%s"' % f, readonly=True)
    if int(d[0]) == 0:
        return []
    typ, data = c.uid("FETCH", "1:*", "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    out = []
    for item in data:
        if not isinstance(item, tuple): continue
        meta = item[0].decode()
        flags = sorted(x for x in re.search(r"FLAGS \((.*?)\)", meta).group(1).split() if x != "\\Recent")
        date = re.search(r'INTERNALDATE "(.*?)"', meta).group(1)
        size = int(re.search(r"RFC822.SIZE (\d+)", meta).group(1))
        out.append((hashlib.sha256(item[1]).hexdigest(), " ".join(flags), imaplib.Internaldate2tuple(('INTERNALDATE "%s"' % date).encode()), size, len(item[1])))
    return sorted(out)
print("old folders", folders(old))
print("new folders", folders(new))
for f in folders(old):
    a, b = contents(old, f), contents(new, f)
    print("folder %s: %d old, %d new" % (f, len(a), len(b)))
    for x, y in zip(a, b):
        if x != y: print("DIFF", f, x, y)
old.logout(); new.logout()
"#;
    let port = old.1.port("imaps").to_string();
    support::python(
        new.0,
        new.1,
        script,
        &[("OLD_IMAPS", Path::new(&port)), ("OLD_CERT", &old.0.cert())],
    )
}

fn messages_in(env: &Env) -> usize {
    env.ok(&["mailbox", "list", "bob@example.org"])
        .lines()
        .filter_map(|l| l.split('\t').nth(1))
        .filter_map(|c| c.split(' ').next()?.parse::<usize>().ok())
        .sum()
}

#[test]
fn imap_import_copies_everything_resumes_after_a_cut_and_copies_nothing_twice() {
    let (old_env, old) = old_server(1000);
    let new_env = new_home();
    let port = old.port("imaps");

    // A connection cut after ~300 KB of the ~1 MB: the import fails
    // clearly and keeps the batches it stored.
    let (relay, relay_thread) = cutting_relay(port, 300_000);
    let cut = run_import(&new_env, relay);
    let relayed = relay_thread.join().expect("relay");
    let stderr = String::from_utf8_lossy(&cut.stderr);
    assert!(!cut.status.success(), "a cut import must fail: {stderr}");
    assert!(stderr.contains("postern: error:"), "{stderr}");
    assert!(relayed >= 300_000, "the relay cut after {relayed} bytes");
    let kept = messages_in(&new_env);
    assert!(kept > 0 && kept < 1000, "kept {kept} of 1000 after the cut");

    // The second run copies the rest, and no message twice.
    let resumed = run_import(&new_env, port);
    let out = String::from_utf8_lossy(&resumed.stdout);
    assert!(
        resumed.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(
        out.contains(&format!("messages copied {}, ", 1000 - kept)),
        "{out}"
    );
    assert!(out.contains("failures 0"), "{out}");
    assert_eq!(messages_in(&new_env), 1000);

    // A third run finds nothing new.
    let again = run_import(&new_env, port);
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{out}");
    assert!(out.contains("messages copied 0, "), "{out}");
    assert_eq!(messages_in(&new_env), 1000);

    let new = new_env.serve();
    let cmp = compare((&old_env, &old), (&new_env, &new));
    assert!(!cmp.contains("DIFF"), "{cmp}");
    let folders = |tag: &str| {
        cmp.lines()
            .find(|l| l.starts_with(tag))
            .map(|l| l[tag.len()..].to_string())
            .unwrap_or_default()
    };
    assert_eq!(folders("old folders"), folders("new folders"), "{cmp}");
    for (f, n) in [
        ("INBOX", 300),
        ("Lists/rust", 100),
        ("Sent", 100),
        ("Archive", 100),
        ("Empty", 0),
    ] {
        assert!(
            cmp.contains(&format!("folder {f}: {n} old, {n} new")),
            "{f}: {cmp}"
        );
    }
}

#[test]
fn maildir_import_keeps_dovecots_uids_uidvalidity_and_pop3_uidls() {
    let env = new_home();
    let maildir = env.dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    let msg = |n: u32| {
        format!(
            "From: a@example.net\nSubject: kept {n}\nMessage-ID: <k{n}@example.net>\n\nbody {n}\n"
        )
    };
    for (name, n) in [
        ("cur/1500000001.M1P1.old:2,S", 10),
        ("cur/1500000002.M2P1.old:2,", 20),
        ("cur/1500000003.M3P1.old:2,RS", 42),
        // Delivered after Dovecot last wrote its list.
        ("new/1500000004.M4P1.old", 99),
    ] {
        std::fs::write(maildir.join(name), msg(n)).expect("message");
    }
    std::fs::write(
        maildir.join("dovecot-uidlist"),
        "3 V1500000000 N60 Gabcdef0123456789\n\
         10 :1500000001.M1P1.old:2,S\n\
         20 W300 Plegacy-uidl-20 :1500000002.M2P1.old:2,\n\
         42 :1500000003.M3P1.old:2,R\n",
    )
    .expect("uidlist");
    let dir = maildir.to_str().expect("utf8");
    let out = env.ok(&["mailbox", "import", "bob@example.org", "--maildir", dir]);
    assert!(
        out.contains("imported 4 messages") && out.contains("UIDVALIDITY 1500000000"),
        "{out}"
    );
    let server = env.serve();
    let script = r#"
import os, imaplib, poplib, ssl
ctx = ssl.create_default_context(cafile=os.environ["CERT"]); ctx.check_hostname = False
c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["IMAPS_PORT"]), ssl_context=ctx, timeout=10)
c.login("bob@example.org", "new password")
print("status", c.status("INBOX", "(UIDVALIDITY UIDNEXT MESSAGES)")[1][0].decode())
c.select("INBOX", readonly=True)
typ, data = c.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
for item in data:
    if isinstance(item, tuple): print("fetch", item[0].decode(), item[1].decode().strip())
c.logout()
p = poplib.POP3_SSL("127.0.0.1", int(os.environ["POP3S_PORT"]), context=ctx, timeout=10)
p.user("bob@example.org"); p.pass_("new password")
for l in p.uidl()[1]: print("uidl", l.decode())
p.quit()
"#;
    let out = support::python(&env, &server, script, &[]);
    for want in [
        "status INBOX (UIDVALIDITY 1500000000 UIDNEXT 61 MESSAGES 4)",
        "UID 10 FLAGS (\\Recent \\Seen)",
        "Subject: kept 10",
        "UID 20 FLAGS (\\Recent)",
        "Subject: kept 20",
        "UID 42 FLAGS (\\Recent \\Seen \\Answered)",
        "Subject: kept 42",
        "UID 60 FLAGS (\\Recent)",
        "Subject: kept 99",
        // Dovecot's default UIDL (%08Xu%08Xv) is ours for the same UID.
        "uidl 1 0000000A59682F00",
        "uidl 2 legacy-uidl-20",
        "uidl 3 0000002A59682F00",
        "uidl 4 0000003C59682F00",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }

    // Into a mailbox that has mail: new UIDs, said so, and the POP3 UIDLs
    // stay those of the old server.
    let out = env.run(
        &[
            "mailbox",
            "import",
            "bob@example.org",
            "--maildir",
            dir,
            "--mailbox",
            "INBOX",
        ],
        "",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: the messages get new UIDs"),
        "{stderr}"
    );
    let out = support::python(&env, &server, script, &[]);
    for want in [
        "MESSAGES 8",
        "uidl 5 0000000A59682F00",
        "uidl 6 legacy-uidl-20",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn imap_import_over_starttls_copies_and_a_wrong_password_is_refused_clearly() {
    let (_old_env, old) = old_server(12);
    let new_env = new_home();
    let from = format!("imap://127.0.0.1:{}", old.port("imap"));
    let args = |from: &str| {
        [
            "import",
            "imap",
            "--from",
            from,
            "--insecure",
            "--user",
            "ann@example.org",
            "--to",
            "bob@example.org",
        ]
        .map(String::from)
    };
    let a = args(&from);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let err = new_env.fails(&a, "wrong password\n");
    assert!(err.contains("login as ann@example.org refused"), "{err}");
    assert_eq!(messages_in(&new_env), 0);
    let out = new_env.ok_with(&a, SOURCE_PASSWORD);
    assert!(out.contains("messages copied 12, "), "{out}");
    assert_eq!(messages_in(&new_env), 12);
}

#[test]
fn imap_import_after_the_source_uidvalidity_changed_skips_what_is_here_by_message_id() {
    let (old_env, old) = old_server(30);
    let new_env = new_home();
    let port = old.port("imaps");
    let first = run_import(&new_env, port);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // Lists/go is made again (a new UIDVALIDITY) with the same messages
    // (COPY keeps bytes and internal dates), plus one new one.
    let script = r#"
import os, imaplib, ssl
ctx = ssl.create_default_context(cafile=os.environ["CERT"]); ctx.check_hostname = False
c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["IMAPS_PORT"]), ssl_context=ctx, timeout=30)
c.login("ann@example.org", "old password")
print("before", c.status("Lists/go", "(UIDVALIDITY MESSAGES)")[1][0].decode())
c.create("Tmp"); c.select("Lists/go"); c.copy("1:*", "Tmp"); c.close()
c.delete("Lists/go"); c.create("Lists/go")
c.select("Tmp"); c.copy("1:*", "Lists/go"); c.close(); c.delete("Tmp")
c.append("Lists/go", "(\\Seen)", imaplib.Time2Internaldate(1600000000),
         b"From: late@example.net\r\nSubject: late\r\nMessage-ID: <late@example.net>\r\n\r\nlate\r\n")
print("after", c.status("Lists/go", "(UIDVALIDITY MESSAGES)")[1][0].decode())
c.logout()
"#;
    let out = support::python(&old_env, &old, script, &[]);
    let validity = |tag: &str| {
        out.lines()
            .find(|l| l.starts_with(tag))
            .and_then(|l| l.split("UIDVALIDITY ").nth(1))
            .and_then(|v| v.split(' ').next())
            .map(String::from)
    };
    assert_ne!(validity("before"), validity("after"), "{out}");
    assert!(out.contains("MESSAGES 4)"), "{out}");
    let again = run_import(&new_env, port);
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{text}");
    assert!(
        text.contains("messages copied 1, skipped 3 (already here)"),
        "{text}"
    );
    assert_eq!(messages_in(&new_env), 31);
}

#[test]
fn mbox_import_keeps_x_uidl_as_the_pop3_uidl() {
    let env = new_home();
    let mbox = env.dir.path().join("old.mbox");
    std::fs::write(
        &mbox,
        "From a@example.net Mon Jan  6 10:00:00 2025\n\
         From: a@example.net\nSubject: one\nX-UIDL: 4f2a9c0e1b\n\nbody\n\n\
         From a@example.net Mon Jan  6 11:00:00 2025\n\
         From: a@example.net\nSubject: two\n\nX-UIDL: in-the-body\n\n",
    )
    .expect("mbox");
    let out = env.ok(&[
        "mailbox",
        "import",
        "bob@example.org",
        "--mbox",
        mbox.to_str().expect("utf8"),
    ]);
    assert!(out.contains("imported 2 messages"), "{out}");
    let server = env.serve();
    let out = support::python(
        &env,
        &server,
        r#"
import os, poplib, ssl
ctx = ssl.create_default_context(cafile=os.environ["CERT"]); ctx.check_hostname = False
p = poplib.POP3_SSL("127.0.0.1", int(os.environ["POP3S_PORT"]), context=ctx, timeout=10)
p.user("bob@example.org"); p.pass_("new password")
for l in p.uidl()[1]: print("uidl", l.decode())
p.quit()
"#,
        &[],
    );
    assert!(out.contains("uidl 1 4f2a9c0e1b\n"), "{out}");
    // Without the header (only in the body), ours: %08X UID, %08X UIDVALIDITY.
    let second = out
        .lines()
        .find_map(|l| l.strip_prefix("uidl 2 "))
        .unwrap_or_default();
    assert!(
        second.len() == 16 && second.starts_with("00000002"),
        "{out}"
    );
}
