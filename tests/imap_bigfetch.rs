//! FETCH over a mailbox of thousands of messages (issue 19): the answers
//! read in batches and written while they are made (`fetch_flags.rs`,
//! `fetch_stream.rs`) carry the same bytes as the per-message path, and
//! rows without their stored ENVELOPE and BODYSTRUCTURE (from before
//! migration 26) or with damaged ones answer the same.

use std::fmt::Write as _;
use std::path::Path;

use postern_store::testing;

use crate::support::{self, Env, Server};

/// More than 17 batches of the structure FETCH and one more than a batch
/// of the FLAGS one.
const COUNT: usize = 4_500;

/// An mbox of `COUNT` messages of six shapes: plain, alternative, an
/// attachment, 8-bit and encoded words, a forwarded message, quotes and
/// no Date.
fn write_mbox(path: &Path) {
    let mut m = String::new();
    for i in 0..COUNT {
        m.push_str("From sender@example.net Mon Jan  6 10:00:00 2025\n");
        let _ = writeln!(m, "Message-ID: <m{i}@example.net>");
        match i % 6 {
            0 => {
                let _ = write!(
                    m,
                    "Date: Mon, 6 Jan 2025 10:{:02}:00 +0100\nFrom: Ann <ann@example.net>\n\
                     To: bob@example.org\nSubject: plain {i}\n\nhello {i}\n",
                    i % 60
                );
            }
            1 => {
                let _ = write!(
                    m,
                    "Date: Tue, 7 Jan 2025 08:00:00 -0500\nFrom: bob@example.org\nTo: a@x.org, b@y.org\n\
                     Cc: Team <team@example.org>\nSubject: alt {i}\nMIME-Version: 1.0\n\
                     Content-Type: multipart/alternative; boundary=\"b{i}\"\n\n\
                     --b{i}\nContent-Type: text/plain; charset=utf-8\n\nplain\n\
                     --b{i}\nContent-Type: text/html; charset=utf-8\n\n<p>html</p>\n--b{i}--\n"
                );
            }
            2 => {
                let _ = write!(
                    m,
                    "Date: Wed, 8 Jan 2025 12:00:00 +0000\nFrom: c@example.net\nTo: bob@example.org\n\
                     Subject: file {i}\nMIME-Version: 1.0\n\
                     Content-Type: multipart/mixed; boundary=\"m{i}\"\n\n\
                     --m{i}\nContent-Type: text/plain\n\nsee attached\n\
                     --m{i}\nContent-Type: application/pdf; name=\"r{i}.pdf\"\n\
                     Content-Disposition: attachment; filename=\"r{i}.pdf\"\n\
                     Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--m{i}--\n"
                );
            }
            3 => {
                let _ = write!(
                    m,
                    "Date: Thu, 9 Jan 2025 09:00:00 +0200\n\
                     From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.de>\nTo: bob@example.org\n\
                     Subject: Grüße {i}\nContent-Type: text/plain; charset=utf-8\n\
                     Content-Transfer-Encoding: 8bit\n\nÜber {i}\n"
                );
            }
            4 => {
                let _ = write!(
                    m,
                    "Date: Fri, 10 Jan 2025 07:00:00 +0000\nFrom: d@example.net\nTo: bob@example.org\n\
                     Subject: Fwd: note {i}\nMIME-Version: 1.0\n\
                     Content-Type: multipart/mixed; boundary=\"f{i}\"\n\n\
                     --f{i}\nContent-Type: text/plain\n\nbelow\n\
                     --f{i}\nContent-Type: message/rfc822\n\n\
                     From: e@example.net\nSubject: note {i}\n\ninner\n--f{i}--\n"
                );
            }
            _ => {
                let _ = write!(
                    m,
                    "From: \"Quote \\\"Q\\\" Person\" <q@example.net>\nReply-To: r@example.net\n\
                     Subject: He said \"hi\" \\ back {i}\n\nno date\n"
                );
            }
        }
        m.push('\n');
    }
    std::fs::write(path, m).expect("mbox");
}

/// Logs in, marks a few messages, and writes to `OUT` the answer of
/// `UID FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)`; prints what the
/// other paths gave beside it.
const CLIENT: &str = r#"
import os, re, socket, ssl, sys
ctx = ssl.create_default_context(cafile=os.environ["CERT"]); ctx.check_hostname = False
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(os.environ["IMAPS_PORT"])), timeout=120))
f = s.makefile("rb")
def cmd(tag, line):
    s.sendall(f"{tag} {line}\r\n".encode())
    out = bytearray()
    fresh = True
    while True:
        l = f.readline()
        if not l:
            sys.exit("connection closed")
        if fresh and l.startswith(tag.encode() + b" "):
            if not l.startswith(tag.encode() + b" OK"):
                sys.exit(l.decode())
            return bytes(out)
        out += l
        m = re.search(rb"\{(\d+)\}\r\n$", l)
        fresh = m is None
        if m:
            out += f.read(int(m.group(1)))
def messages(answer):
    return re.split(rb"(?<=\r\n)(?=\* \d+ FETCH \()", answer)
f.readline()
cmd("a", 'LOGIN bob@example.org "new password"')
# The first SELECT takes the imported messages' \Recent; the second sees none.
cmd("b1", "SELECT INBOX")
cmd("b2", "UNSELECT")
cmd("b", "SELECT INBOX")
if os.environ.get("MARK"):
    cmd("c", "STORE 3,10,500:520,4400 +FLAGS.SILENT (\\Flagged $Work)")
stream = cmd("d", "UID FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)")
open(os.environ["OUT"], "wb").write(stream)
# The general path (BODY takes the FETCH there), BODY's value cut out.
general = []
for m in messages(cmd("e", "UID FETCH 1:* (BODY UID FLAGS ENVELOPE BODYSTRUCTURE)")):
    seq = re.match(rb"\* (\d+) FETCH \(BODY ", m)
    at = m.index(b" UID %s FLAGS (" % seq.group(1))
    general.append(m[:len(seq.group(0)) - 5] + m[at + 1:])
print("messages", len(messages(stream)))
print("general equal", b"".join(general) == stream)
flags = cmd("g", "UID FETCH 1:* (UID FLAGS)")
lines = flags.split(b"\r\n")[:-1]
print("flags lines", len(lines))
print("flags in order", all(l.startswith(b"* %d FETCH (UID %d FLAGS (" % (i + 1, i + 1)) for i, l in enumerate(lines)))
print("flags 4400", [l for l in lines if l.startswith(b"* 4400 ")][0].decode())
print("flags by seq", cmd("h", "FETCH 4499:* (FLAGS)").decode().strip())
cmd("z", "LOGOUT")
"#;

fn fetch_all(env: &Env, server: &Server, out: &Path, mark: bool) -> String {
    let mark_path = Path::new("1");
    let mut extra = vec![("OUT", out)];
    if mark {
        extra.push(("MARK", mark_path));
    }
    support::python(env, server, CLIENT, &extra)
}

#[test]
fn fetch_of_thousands_streams_the_bytes_of_the_per_message_path_with_or_without_stored_structure() {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "bob@example.org"], "new password\n");
    let mbox = env.dir.path().join("big.mbox");
    write_mbox(&mbox);
    let said = env.ok(&[
        "mailbox",
        "import",
        "bob@example.org",
        "--mbox",
        mbox.to_str().expect("utf8"),
    ]);
    assert!(
        said.contains(&format!("imported {COUNT} messages")),
        "{said}"
    );

    let first = env.dir.path().join("stored.txt");
    let server = env.serve();
    let said = fetch_all(&env, &server, &first, true);
    assert!(said.contains(&format!("messages {COUNT}\n")), "{said}");
    assert!(said.contains("general equal True\n"), "{said}");
    assert!(said.contains(&format!("flags lines {COUNT}\n")), "{said}");
    assert!(said.contains("flags in order True\n"), "{said}");
    assert!(
        said.contains("flags 4400 * 4400 FETCH (UID 4400 FLAGS (\\Flagged $Work))"),
        "{said}"
    );
    assert!(
        said.contains("* 4499 FETCH (FLAGS ())\r\n* 4500 FETCH (FLAGS ())"),
        "{said}"
    );
    let stored = std::fs::read(&first).expect("answer");
    let text = String::from_utf8_lossy(&stored);
    assert!(
        text.contains("* 3 FETCH (UID 3 FLAGS (\\Flagged $Work) ENVELOPE (\"Wed, 8 Jan 2025 12:00:00 +0000\" \"file 2\""),
        "{}",
        &text[..2000.min(text.len())]
    );
    let third = &text[text.find("* 3 FETCH").expect("3")..text.find("* 4 FETCH").expect("4")];
    assert!(
        third
            .to_ascii_lowercase()
            .contains("\"application\" \"pdf\" (\"name\" \"r2.pdf\")"),
        "{third}"
    );
    server.stop();

    // Rows from before migration 26, then rows whose stored bytes do not
    // decode: the same answer, from the meta.
    for value in [None, Some(&b"\x09damaged"[..])] {
        let n = testing::set_structure(&env.data(), "bob@example.org", "INBOX", value)
            .expect("structure");
        assert_eq!(n, COUNT);
        let again = env.dir.path().join("again.txt");
        let server = env.serve();
        let said = fetch_all(&env, &server, &again, false);
        assert!(said.contains("general equal True\n"), "{value:?}: {said}");
        assert!(
            std::fs::read(&again).expect("answer") == stored,
            "{value:?}: the answer differs from the stored structure's"
        );
        server.stop();
    }
}
