//! mbsync (isync), with the config its users write: two-way sync of every
//! folder with a Maildir (`Sync All`, `Create Both`, `Expunge Both`,
//! `CopyArrivalDate yes`) and its defaults, which turn COMPRESS=DEFLATE on
//! and pipeline a sync's commands (issue 21: that sync used to hang).
//! Changes made on either side reach the other; a sync with nothing to do
//! changes nothing; STARTTLS on the plain port works as implicit TLS does.

use super::{Home, require, run};
use crate::smtp::mail_env;
use crate::support::{self, Env, Server};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A Maildir as mbsync leaves it: folder → subject → (flags, size).
type Local = BTreeMap<String, BTreeMap<String, (String, u64)>>;

/// What the server holds, printed by [`SERVER_STATE`]: one line per message,
/// `folder|subject|flags`, plus `folder|*|HIGHESTMODSEQ UIDNEXT` lines.
const SERVER_STATE: &str = r#"
import re
c = login()
c.enable("CONDSTORE")
for line in c.list()[1]:
    name = line.decode().rsplit(' "/" ', 1)[1].strip('"')
    typ, st = c.status('"%s"' % name, "(HIGHESTMODSEQ UIDNEXT)")
    print("%s|*|%s" % (name, re.sub(r'^.*\((.*)\)$', r'\1', st[0].decode())))
    c.select('"%s"' % name, readonly=True)
    typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    for item in data:
        if isinstance(item, tuple):
            flags = " ".join(sorted(re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()))
            subject = item[1].decode().strip().split(": ", 1)[1]
            print("%s|%s|%s" % (name, subject, flags))
c.logout()
"#;

struct Mbsync {
    home: Home,
    maildir: PathBuf,
}

impl Mbsync {
    fn new() -> Mbsync {
        let home = Home::new();
        let maildir = home.path().join("mail");
        std::fs::create_dir_all(&maildir).expect("maildir");
        Mbsync { home, maildir }
    }

    /// Runs `mbsync -a` over `ssl` ("IMAPS" or "STARTTLS") on `port`, with
    /// the server's certificate as the one to trust. Returns the protocol
    /// log (`-Dn`).
    fn sync(&self, env: &Env, ssl: &str, port: u16) -> String {
        let m = self.maildir.display();
        let rc = self.home.write(
            ".mbsyncrc",
            &format!(
                "IMAPAccount postern\nHost 127.0.0.1\nPort {port}\nUser ann@example.org\n\
                 Pass \"ann password\"\nSSLType {ssl}\nCertificateFile {cert}\nTimeout 15\n\n\
                 IMAPStore remote\nAccount postern\n\n\
                 MaildirStore local\nPath {m}/\nInbox {m}/INBOX\nSubFolders Verbatim\n\n\
                 Channel all\nFar :remote:\nNear :local:\nPatterns *\nSync All\nCreate Both\n\
                 Expunge Both\nCopyArrivalDate yes\nSyncState *\n",
                cert = env.cert().display(),
            ),
        );
        let mut cmd = self.home.command("mbsync");
        cmd.arg("-Dn").arg("-c").arg(&rc).arg("-a");
        run(&mut cmd, b"").expect_code("mbsync", 0).output()
    }

    /// Every message file: its folder, subject, maildir flags and size.
    fn local(&self) -> Local {
        let mut all = Local::new();
        for folder in std::fs::read_dir(&self.maildir).expect("maildir") {
            let folder = folder.expect("entry").path();
            if !folder.join("cur").is_dir() {
                continue;
            }
            let name = folder
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let msgs = all.entry(name).or_default();
            for sub in ["cur", "new"] {
                for f in std::fs::read_dir(folder.join(sub)).expect("read") {
                    let path = f.expect("entry").path();
                    let file = path
                        .file_name()
                        .expect("name")
                        .to_string_lossy()
                        .into_owned();
                    let flags = file.rsplit_once(":2,").map_or("", |(_, f)| f).to_string();
                    let bytes = std::fs::read(&path).expect("message");
                    msgs.insert(subject_of(&bytes), (flags, bytes.len() as u64));
                }
            }
        }
        all
    }

    /// The file that holds `subject` in `folder`.
    fn file(&self, folder: &str, subject: &str) -> PathBuf {
        for sub in ["cur", "new"] {
            for f in std::fs::read_dir(self.maildir.join(folder).join(sub)).expect("read") {
                let path = f.expect("entry").path();
                if subject_of(&std::fs::read(&path).expect("read")) == subject {
                    return path;
                }
            }
        }
        panic!("no local message {subject:?} in {folder}");
    }
}

fn subject_of(message: &[u8]) -> String {
    String::from_utf8_lossy(message)
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or("")
        .trim()
        .to_string()
}

/// folder → subject → flags, and folder → "HIGHESTMODSEQ n UIDNEXT n".
fn server(env: &Env, server: &Server) -> (BTreeMap<String, BTreeMap<String, String>>, String) {
    let out = crate::imap::py(env, server, SERVER_STATE);
    let mut msgs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut counters = String::new();
    for line in out.lines() {
        let mut f = line.splitn(3, '|');
        let (Some(folder), Some(subject), Some(rest)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if subject == "*" {
            counters.push_str(&format!("{folder}: {rest}\n"));
        } else {
            msgs.entry(folder.to_string())
                .or_default()
                .insert(subject.to_string(), rest.to_string());
        }
    }
    (msgs, counters)
}

/// Mail for ann over SMTP (port 25), one connection; and `archived`
/// messages APPENDed to Archive with a 2020 arrival date.
fn seed(env: &Env, srv: &Server, inbox: usize, archived: usize) {
    support::python(
        env,
        srv,
        &format!(
            r#"
import os, smtplib, imaplib, ssl
s = smtplib.SMTP("127.0.0.1", int(os.environ["SMTP_PORT"]), timeout=30)
for i in range({inbox}):
    s.sendmail("x@elsewhere.test", ["ann@example.org"], ("From: x@elsewhere.test\r\nTo: ann@example.org\r\nSubject: m%d\r\nMessage-ID: <m%d@elsewhere.test>\r\n\r\nbody %d\r\n" % (i, i, i)).encode())
s.quit()
ctx = ssl.create_default_context(cafile=os.environ["CERT"]); ctx.check_hostname = False
c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["IMAPS_PORT"]), ssl_context=ctx, timeout=10)
c.login("ann@example.org", "ann password")
for i in range({archived}):
    c.append("Archive", None, '"01-Feb-2020 10:00:00 +0000"', ("From: x@elsewhere.test\r\nSubject: old%d\r\n\r\nold %d\r\n" % (i, i)).encode())
c.logout()
"#
        ),
        &[],
    );
}

/// Writes a message into a local Maildir folder's `new/`, creating the
/// folder as a mail client would.
fn local_message(folder: &Path, name: &str, subject: &str, body: &str) {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(folder.join(sub)).expect("maildir folder");
    }
    std::fs::write(
        folder.join("new").join(name),
        format!(
            "From: ann@example.org\r\nTo: bob@example.org\r\nSubject: {subject}\r\n\r\n{body}\r\n"
        ),
    )
    .expect("local message");
}

#[test]
fn mbsync_two_way_sync_with_compression_changes_both_ways_and_a_quiet_resync() {
    require("mbsync");
    let (env, srv) = mail_env();
    seed(&env, &srv, 200, 3);
    let mb = Mbsync::new();
    let imaps = srv.port("imaps");

    // First sync: everything comes down, over a compressed stream.
    let log = mb.sync(&env, "IMAPS", imaps);
    assert!(
        log.lines().any(|l| l.contains("COMPRESS DEFLATE")),
        "mbsync did not turn compression on:\n{log}"
    );
    let local = mb.local();
    assert_eq!(local["INBOX"].len(), 200, "{:?}", local.keys());
    assert!((0..200).all(|i| local["INBOX"].contains_key(&format!("m{i}"))));
    assert_eq!(local["Archive"].len(), 3);
    for folder in ["Sent", "Drafts", "Trash", "Junk"] {
        assert!(local.contains_key(folder), "no local {folder}");
    }
    // CopyArrivalDate: the file's time is the message's INTERNALDATE.
    let old = mb.file("Archive", "old0");
    let mtime = std::fs::metadata(&old)
        .and_then(|m| m.modified())
        .expect("mtime")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    assert_eq!(mtime, 1_580_551_200, "01-Feb-2020 10:00:00 +0000");

    // Changes on the server: a flag, an expunge, a new folder.
    crate::imap::py(
        &env,
        &srv,
        r#"
c = login()
c.select("INBOX")
c.store("1", "+FLAGS", "(\\Flagged)")
c.store("2", "+FLAGS", "(\\Deleted)")
c.expunge()
c.create("Reports")
c.append("Reports", None, None, b"From: x@elsewhere.test\r\nSubject: report1\r\n\r\nq3\r\n")
c.logout()
"#,
    );
    // Changes in the Maildir: seen, deleted, a new folder with a message
    // big and repetitive enough to test APPEND under compression.
    let m2 = mb.file("INBOX", "m2");
    let seen = mb
        .maildir
        .join("INBOX/cur")
        .join(format!("{}:2,S", base_name(&m2)));
    std::fs::rename(&m2, &seen).expect("mark seen");
    std::fs::remove_file(mb.file("INBOX", "m3")).expect("delete m3");
    let big = "0123456789abcdef".repeat(550);
    local_message(&mb.maildir.join("Projects"), "1.local", "plan", &big);

    mb.sync(&env, "IMAPS", imaps);
    let (msgs, _) = server(&env, &srv);
    let inbox = &msgs["INBOX"];
    assert_eq!(inbox.len(), 198, "m1 and m3 gone: {:?}", inbox.keys());
    assert!(!inbox.contains_key("m1") && !inbox.contains_key("m3"));
    assert_eq!(inbox["m0"], "\\Flagged");
    assert_eq!(inbox["m2"], "\\Seen");
    assert_eq!(msgs["Projects"].keys().collect::<Vec<_>>(), ["plan"]);
    let local = mb.local();
    assert_eq!(local["INBOX"].len(), 198);
    assert_eq!(local["INBOX"]["m0"].0, "F");
    assert!(!local["INBOX"].contains_key("m1"));
    assert_eq!(local["Reports"].keys().collect::<Vec<_>>(), ["report1"]);
    let pushed = crate::imap::py(
        &env,
        &srv,
        r#"
c = login()
c.select("Projects", readonly=True)
print(c.fetch("1", "(BODY.PEEK[TEXT])")[1][0][1].decode().strip())
c.logout()
"#,
    );
    assert_eq!(pushed.trim(), big, "the 8.8 kB message arrived whole");

    // A sync with nothing to do changes nothing on either side.
    let before = (server(&env, &srv), mb.local());
    mb.sync(&env, "IMAPS", imaps);
    assert_eq!((server(&env, &srv), mb.local()), before);

    // STARTTLS on the plain port, compression on: new mail comes down.
    support::python(
        &env,
        &srv,
        r#"
import os, smtplib
body = "".join("late mail, line %04d\r\n" % i for i in range(400))
s = smtplib.SMTP("127.0.0.1", int(os.environ["SMTP_PORT"]), timeout=30)
s.sendmail("x@elsewhere.test", ["ann@example.org"], ("From: x@elsewhere.test\r\nTo: ann@example.org\r\nSubject: late\r\n\r\n" + body).encode())
s.quit()
"#,
        &[],
    );
    let log = mb.sync(&env, "STARTTLS", srv.port("imap"));
    assert!(log.lines().any(|l| l.contains("COMPRESS DEFLATE")));
    let local = mb.local();
    assert_eq!(local["INBOX"].len(), 199);
    assert!(local["INBOX"]["late"].1 > 8_600);
    // mbsync sends the IP address it was given as its SNI name; rustls's
    // warning about that is no news for the operator (issue 21).
    let log = srv.log();
    assert!(!log.contains("Illegal SNI"), "{log}");
}

fn base_name(path: &Path) -> String {
    let name = path.file_name().expect("name").to_string_lossy();
    name.split_once(":2,")
        .map_or(name.as_ref(), |(b, _)| b)
        .to_string()
}
