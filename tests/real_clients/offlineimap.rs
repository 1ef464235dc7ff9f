//! offlineimap3 (Debian's package) syncing one way (`readonly`) from the
//! imaps listener, trusting the server through `sslcacertfile`, into a
//! Maildir: every folder arrives, and every message file is the server's
//! message byte for byte (in the Maildir's LF line endings), after a
//! first sync and after new mail and an expunge.

use std::collections::BTreeMap;

use super::{Home, require, run};
use crate::pop3::py;
use crate::smtp::{mail_env, mailbox};
use crate::support::Env;

const FOLDERS: [&str; 6] = ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"];

/// The offlineimaprc a user writes for a one-way copy of their mail.
fn rc(home: &Home, env: &Env, imaps: u16) -> String {
    let h = home.path().display();
    format!(
        "[general]\n\
         accounts = mine\n\
         metadata = {h}/.offlineimap\n\
         ui = basic\n\
         [Account mine]\n\
         localrepository = local\n\
         remoterepository = remote\n\
         [Repository local]\n\
         type = Maildir\n\
         localfolders = {h}/Mail\n\
         [Repository remote]\n\
         type = IMAP\n\
         remotehost = localhost\n\
         remoteport = {imaps}\n\
         ssl = yes\n\
         sslcacertfile = {cert}\n\
         remoteuser = ann@example.org\n\
         remotepass = ann password\n\
         readonly = True\n",
        cert = env.cert().display(),
    )
}

/// The Maildir folder's messages by UID (offlineimap names each file with
/// `,U=<uid>,`), from `new/` and `cur/`.
fn maildir(home: &Home, folder: &str) -> BTreeMap<u32, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["new", "cur"] {
        let dir = home.path().join("Mail").join(folder).join(sub);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let uid = name
                .split(',')
                .find_map(|part| part.strip_prefix("U="))
                .and_then(|u| u.parse().ok())
                .unwrap_or_else(|| panic!("no U=uid in {name}"));
            out.insert(uid, std::fs::read(&path).expect("read maildir file"));
        }
    }
    out
}

/// Syncs, then checks every folder against the store: the same UIDs, and
/// each file the server's bytes with CRLF as LF (Maildir holds messages
/// in the local convention; offlineimap writes them so).
async fn sync_and_compare(home: &Home, env: &Env, imaps: u16, what: &str) -> usize {
    let rc = home.write(".offlineimaprc", &rc(home, env, imaps));
    run(
        home.command("offlineimap").arg("-o").arg("-c").arg(&rc),
        b"",
    )
    .expect_code(what, 0);
    let mut total = 0;
    for folder in FOLDERS {
        let server: BTreeMap<u32, Vec<u8>> = mailbox(&env.data(), "ann@example.org", folder)
            .await
            .into_iter()
            .map(|(uid, raw)| {
                let text = String::from_utf8(raw).expect("test mail is UTF-8");
                (uid, text.replace("\r\n", "\n").into_bytes())
            })
            .collect();
        let local = maildir(home, folder);
        assert_eq!(
            local.keys().collect::<Vec<_>>(),
            server.keys().collect::<Vec<_>>(),
            "{what}: UIDs in {folder}"
        );
        for (uid, bytes) in &server {
            assert!(
                local[uid] == *bytes,
                "{what}: {folder} UID {uid} differs:\n--- server\n{}\n--- maildir\n{}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&local[uid])
            );
        }
        total += server.len();
    }
    total
}

/// Mail a sync must carry unchanged: folded and encoded headers, 8-bit
/// UTF-8, a body line starting with "From " and one with a lone dot, a
/// MIME multipart with an attachment, and a message APPENDed to Sent.
const SETUP: &str = r#"
msgs = [
    b"From: Zoe <zoe@elsewhere.test>\r\nTo: ann@example.org\r\nSubject: a folded\r\n  subject line\r\nDate: Wed, 25 Nov 2026 04:00:00 +0000\r\nMessage-ID: <f1@elsewhere.test>\r\n\r\nFrom the start of a line.\r\n.\r\n..two dots\r\n",
    "From: =?utf-8?q?J=C3=BCrgen?= <j@elsewhere.test>\r\nTo: ann@example.org\r\nSubject: Gr\u00fc\u00dfe\r\nMessage-ID: <u1@elsewhere.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSch\u00f6ne Gr\u00fc\u00dfe aus M\u00fcnchen \u2014 \u2603\r\n".encode(),
    b"From: z@elsewhere.test\r\nTo: ann@example.org\r\nSubject: with attachment\r\nMessage-ID: <a1@elsewhere.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\nContent-Type: application/octet-stream; name=\"x.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n--b1--\r\n",
]
s = smtplib.SMTP("127.0.0.1", MX, timeout=10)
for m in msgs:
    s.sendmail("z@elsewhere.test", ["ann@example.org"], m, mail_options=["BODY=8BITMIME"])
s.quit()
c = imap()
c.append("Sent", "(\\Seen)", None, b"From: Ann <ann@example.org>\r\nTo: z@elsewhere.test\r\nSubject: sent by ann\r\n\r\nA reply.\r\n")
c.logout()
"#;

#[tokio::test]
async fn a_one_way_sync_to_a_maildir_matches_the_server_byte_for_byte() {
    require("offlineimap");
    let (env, server) = mail_env();
    py(&env, &server, SETUP);
    let home = Home::new();
    assert_eq!(
        sync_and_compare(&home, &env, server.port("imaps"), "first sync").await,
        4
    );
    // New mail and an expunge on the server: the next sync follows both.
    py(
        &env,
        &server,
        "deliver(\"ann@example.org\", \"later\")\n\
         c = imap(); c.select(\"INBOX\"); c.uid(\"STORE\", \"1\", \"+FLAGS\", \"(\\\\Deleted)\"); c.expunge(); c.logout()\n",
    );
    assert_eq!(
        sync_and_compare(&home, &env, server.port("imaps"), "second sync").await,
        4
    );
    assert!(
        !maildir(&home, "INBOX").contains_key(&1),
        "the expunged message left the Maildir"
    );
    drop(server);
}
