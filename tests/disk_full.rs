//! A disk that fills up (issue 13): on a small file system the test mounts,
//! a flood of mail runs into `[store] min_free_mb`. Every message that got
//! `250` is intact, every refusal is temporary (SMTP 452 4.3.1, APPEND NO),
//! reads go on, and once space is freed the server takes mail again by
//! itself.

use std::path::Path;
use std::process::Command;

use crate::support::{self, Env};

/// A size-limited tmpfs, unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(mib: u32) -> Tmpfs {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a tmpfs and needs root (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

const FLOOD: &str = r#"
import os, smtplib, imaplib, ssl, hashlib
MX = int(os.environ["SMTP_PORT"])
ctx = ssl.create_default_context(cafile=os.environ["CERT"]); ctx.check_hostname = False
def message(i):
    body = "".join("message %03d, line %05d of a large one\r\n" % (i, n) for n in range(7000))
    return ("From: x@elsewhere.test\r\nTo: ann@example.org\r\nSubject: flood %03d\r\n\r\n" % i + body).encode()
def send(i):
    s = smtplib.SMTP("127.0.0.1", MX, timeout=30)
    try:
        s.sendmail("x@elsewhere.test", ["ann@example.org"], message(i))
        return "250"
    except smtplib.SMTPResponseException as e:
        return "%d %s" % (e.smtp_code, e.smtp_error.decode())
    except smtplib.SMTPSenderRefused as e:
        return "%d %s" % (e.smtp_code, e.smtp_error.decode())
    finally:
        try: s.quit()
        except Exception: pass
def imap():
    c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["IMAPS_PORT"]), ssl_context=ctx, timeout=30)
    c.login("ann@example.org", "ann password")
    return c
def check(accepted):
    c = imap(); c.select("INBOX", readonly=True)
    typ, data = c.fetch("1:*", "(BODY.PEEK[])")
    got = {}
    for item in data:
        if isinstance(item, tuple):
            raw = item[1].replace(b"\r\n", b"\n")
            i = int(raw.split(b"Subject: flood ", 1)[1][:3])
            got[i] = raw.endswith(message(i).replace(b"\r\n", b"\n").split(b"\n\n", 1)[1])
    c.logout()
    return sorted(got) == sorted(accepted) and all(got.values())
"#;

#[test]
fn below_the_free_space_floor_mail_waits_and_nothing_acknowledged_is_lost() {
    let fs = Tmpfs::mount(40);
    let env = Env::with_config("[store]\nmin_free_mb = 16\n");
    // The data directory lives on the small file system.
    std::fs::create_dir(fs.path().join("data")).expect("mkdir");
    std::os::unix::fs::symlink(fs.path().join("data"), env.data()).expect("symlink");
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "ann password\n");
    // Someone else's file takes 8 MiB, to be freed later.
    std::fs::write(fs.path().join("filler"), vec![7u8; 8 << 20]).expect("filler");
    let server = env.serve();

    let out = support::python(
        &env,
        &server,
        &format!(
            "{FLOOD}\n{}",
            r#"
accepted, refused = [], []
for i in range(80):
    r = send(i)
    if r == "250": accepted.append(i)
    else: refused.append(r)
print("accepted", len(accepted))
print("refused", len(refused))
print("codes", sorted(set(r.split(" ", 1)[0] + " " + r.split(" ", 2)[1] for r in refused)))
c = imap()
typ, resp = c.append("INBOX", None, None, message(999))
print("append", typ, resp[0].decode())
c.logout()
print("intact", check(accepted))
"#
        ),
        &[],
    );
    let count = |key: &str| -> usize {
        out.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {out}"))
    };
    assert!(count("accepted ") > 10, "{out}");
    assert!(count("refused ") > 10, "{out}");
    assert!(out.contains("codes ['452 4.3.1']"), "{out}");
    assert!(out.contains("append NO [OVERQUOTA]"), "{out}");
    assert!(out.contains("intact True"), "{out}");

    // Space comes back: mail is taken again, no restart needed.
    std::fs::remove_file(fs.path().join("filler")).expect("free the filler");
    let out = support::python(
        &env,
        &server,
        &format!(
            "{FLOOD}\n{}",
            r#"
print("after", send(500))
c = imap()
print("append", c.append("INBOX", None, None, message(501))[0])
"#
        ),
        &[],
    );
    assert!(out.contains("after 250"), "{out}");
    assert!(out.contains("append OK"), "{out}");
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
    drop(server);
}
