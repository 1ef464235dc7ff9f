//! Sieve at delivery end to end (issue 16): scripts stored for a user run
//! when mail for them arrives over SMTP, and what they did is read back
//! over IMAP with imaplib: mailboxes made by `fileinto :create`, flags set
//! by imap4flags, `:copy`, headers added by editheader, variables and
//! subaddress, duplicate, date/index, environment, mailboxid, the admin's
//! `before` script, spamtest fed by the spam verdict; `reject` answered at DATA
//! and a second recipient held off with `452 4.5.3`; hostile scripts (an
//! include loop, a redirect storm, a CPU budget run out, a 10 MB script)
//! that lose no mail.

use crate::imap::{expect_all, py};
use crate::smtp::{HOLD_QUEUE, admin_store, inbox, mail_env_with, mailbox, python, send_mx_to};
use crate::support::Env;

/// Stores `script` as `user`'s active script named `name`.
pub async fn activate(env: &Env, user: &str, name: &str, script: &str) {
    let store = admin_store(&env.data());
    let u = store
        .user_get(user)
        .await
        .expect("get")
        .expect("user exists");
    store
        .sieve_put(u.id, name, script.to_string())
        .await
        .expect("put");
    store.sieve_activate(u.id, Some(name)).await.expect("on");
}

/// A message from outside with `subject` and `body`.
pub fn message(subject: &str, body: &str) -> String {
    format!(
        "From: Sender <x@sender.test>\r\nTo: ann@example.org\r\nSubject: {subject}\r\n\
Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{}@sender.test>\r\n\r\n{body}\r\n",
        subject.replace(' ', ".")
    )
}

const FILTERS: &str = r#"require ["fileinto", "mailbox", "imap4flags", "copy", "editheader",
    "envelope", "subaddress", "variables", "body", "relational", "comparator-i;ascii-numeric"];
# RFC 5233: ann+lists@ files into a list folder made on first use.
if envelope :detail "to" "lists" {
    fileinto :create "Lists/Rust";
    stop;
}
# RFC 5232 and RFC 3894: flagged, and a copy beside the one kept.
if header :contains "subject" "flag me" {
    addflag ["\\Flagged", "$Important"];
    fileinto :copy :create "Flagged";
}
# RFC 5229: a folder named from the subject.
if header :matches "subject" "project *" {
    set :lower "name" "${1}";
    fileinto :create "Projects/${name}";
}
# RFC 5293: a header the reader sees.
if body :text :contains "edit me" {
    addheader "X-Sieve-Note" "seen by a filter";
    # RFC 5293 §4.6: trace fields cannot be removed.
    deleteheader "Received";
}
# RFC 5231: more than one To address.
if address :count "gt" :comparator "i;ascii-numeric" "to" "1" {
    addflag "$Group";
}
"#;

#[test]
fn filters_file_flag_copy_and_edit_and_imap_shows_it() {
    let (env, server) = mail_env_with(HOLD_QUEUE);
    tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(activate(&env, "ann@example.org", "filters", FILTERS));
    let out = py(
        &env,
        &server,
        r#"
deliver("ann+lists@example.org", "weekly digest")
deliver("ann@example.org", "please flag me")
deliver("ann@example.org", "project Apollo")
deliver("ann@example.org", "to edit", "please edit me")
deliver("ann@example.org", "plain")
c = login()
for box in ["Lists/Rust", "Flagged", "Projects/apollo", "INBOX"]:
    typ, data = c.select('"%s"' % box)
    print("count", box, typ, data[0].decode())
    typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT X-SIEVE-NOTE RECEIVED)])")
    for item in data:
        if isinstance(item, tuple):
            print("msg", box, item[0].decode(), item[1].decode().replace("\r\n", " | "))
c.logout()
"#,
    );
    expect_all(
        &out,
        &[
            "count Lists/Rust OK 1",
            "count Flagged OK 1",
            "count Projects/apollo OK 1",
            // flag me (kept), to edit, plain; the list mail and the project
            // mail were filed elsewhere (fileinto cancels the implicit keep).
            "count INBOX OK 3",
            "Subject: weekly digest",
            "Subject: project Apollo",
            "X-Sieve-Note: seen by a filter",
        ],
    );
    let flagged = out
        .lines()
        .filter(|l| l.contains("please flag me"))
        .collect::<Vec<_>>();
    assert_eq!(flagged.len(), 2, "kept and copied:\n{out}");
    for l in flagged {
        assert!(l.contains("\\Flagged") && l.contains("$Important"), "{l}");
    }
    let edited = out.lines().find(|l| l.contains("X-Sieve-Note"));
    assert!(
        edited.is_some_and(|l| l.contains("Received: from")),
        "Received kept:\n{out}"
    );
    let plain = out.lines().find(|l| l.contains("Subject: plain"));
    assert!(
        plain.is_some_and(|l| !l.contains("\\Flagged")),
        "flags only where the script set them:\n{out}"
    );
    // Submission to a local user files by the same script.
    let out = python(
        &env,
        &server,
        "s = sub('bob@example.org', 'bob password')\n\
         print('sent', s.sendmail('bob@example.org', ['ann+lists@example.org'], \
         b'From: bob@example.org\\r\\nSubject: from bob\\r\\n\\r\\nhi\\r\\n'))\n",
    );
    assert!(out.contains("sent {}"), "{out}");
    let lists = tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(mailbox(&env.data(), "ann@example.org", "Lists/Rust"));
    assert_eq!(lists.len(), 2, "the submitted message filed too");
}

const MORE: &str = r#"require ["fileinto", "mailbox", "mailboxid", "duplicate", "date", "index",
    "environment", "imap4flags", "relational", "comparator-i;ascii-numeric"];
# RFC 7352 §3: a Message-ID seen before.
if duplicate {
    fileinto :create "Dupes";
    stop;
}
# RFC 5260 §5: today's year; §6: the first (topmost) Received field.
if currentdate :value "ge" :comparator "i;ascii-numeric" "year" "2026" {
    addflag "$ThisYear";
}
if header :index 1 :contains "received" "by mail.test" {
    addflag "$OurHop";
}
# RFC 5183.
if environment :is "name" "Postern" {
    addflag "$Postern";
}
# RFC 9042 §2: no mailbox has this id, so the name is used.
if header :contains "subject" "by id" {
    fileinto :mailboxid "Mffffffff" :create "ById";
}
"#;

#[test]
fn duplicate_date_index_environment_mailboxid_and_the_admins_script() {
    let (env, server) = mail_env_with(&format!("{HOLD_QUEUE}[sieve]\nbefore = \"before.sieve\"\n"));
    // RFC 6609: the admin's script runs first; its `stop` ends the user's.
    std::fs::write(
        env.dir.path().join("before.sieve"),
        "require [\"fileinto\", \"mailbox\"];\nif header :contains \"subject\" \"all staff\" { fileinto :create \"Staff\"; stop; }\n",
    )
    .expect("write");
    tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(activate(&env, "ann@example.org", "more", MORE));
    let out = py(
        &env,
        &server,
        r#"
deliver("ann@example.org", "once")
deliver("ann@example.org", "once")
deliver("ann@example.org", "sorted by id")
deliver("ann@example.org", "all staff meeting")
c = login()
for box in ["INBOX", "Dupes", "ById", "Staff"]:
    typ, data = c.select('"%s"' % box)
    print("count", box, typ, data[0].decode())
typ, data = c.select("INBOX")
typ, data = c.fetch("1", "(FLAGS)")
print("flags", data[0].decode())
c.logout()
"#,
    );
    expect_all(
        &out,
        &[
            "count INBOX OK 1",
            "count Dupes OK 1",
            "count ById OK 1",
            "count Staff OK 1",
            "$ThisYear",
            "$OurHop",
            "$Postern",
        ],
    );
}

#[tokio::test]
async fn reject_is_550_5_7_1_at_data_and_beside_others_it_is_452_4_5_3() {
    let (env, server) = mail_env_with(HOLD_QUEUE);
    activate(
        &env,
        "bob@example.org",
        "no-offers",
        "require \"reject\";\nif header :contains \"subject\" \"offer\" { reject \"I do not want offers\"; }\n",
    )
    .await;
    let reply = send_mx_to(
        &env,
        &server,
        "x@sender.test",
        &["bob@example.org"],
        &message("an offer", "buy"),
    );
    assert!(reply.starts_with("550 5.7.1"), "{reply}");
    assert!(reply.contains("I do not want offers"), "{reply}");
    let reply = send_mx_to(
        &env,
        &server,
        "x@sender.test",
        &["bob@example.org"],
        &message("lunch", "at noon"),
    );
    assert!(reply.starts_with("250"), "{reply}");
    assert_eq!(inbox(&env.data(), "bob@example.org").await.len(), 1);
    // RFC 5429 §2.1: ereject is the same refusal at SMTP time.
    activate(
        &env,
        "cat@example.net",
        "closed",
        "require \"ereject\";\nereject \"this address is closed\";\n",
    )
    .await;
    let reply = send_mx_to(
        &env,
        &server,
        "x@sender.test",
        &["cat@example.net"],
        &message("hello", "hi"),
    );
    assert!(
        reply.starts_with("550 5.7.1 this address is closed"),
        "{reply}"
    );

    // Bob's script could refuse: he is not put in a transaction with ann,
    // whichever comes first, so a refusal never has to become a bounce.
    let out = python(
        &env,
        &server,
        "m = mx()\n\
         print(code(m.docmd, 'MAIL', 'FROM:<x@sender.test>'))\n\
         print('ann', code(m.docmd, 'RCPT', 'TO:<ann@example.org>'))\n\
         print('bob', code(m.docmd, 'RCPT', 'TO:<bob@example.org>'))\n\
         m.docmd('RSET')\n\
         print(code(m.docmd, 'MAIL', 'FROM:<x@sender.test>'))\n\
         print('bob first', code(m.docmd, 'RCPT', 'TO:<bob@example.org>'))\n\
         print('ann second', code(m.docmd, 'RCPT', 'TO:<ann@example.org>'))\n",
    );
    expect_all(
        &out,
        &[
            "ann 250",
            "bob 452 4.5.3",
            "bob first 250",
            "ann second 452 4.5.3",
        ],
    );
    // Only an alias can still put bob beside ann (team@ is both): ann gets
    // the message, and the sender is told of bob's refusal by a notice
    // (RFC 5429 §2.1.1) queued from <>.
    let reply = send_mx_to(
        &env,
        &server,
        "x@sender.test",
        &["team@example.org"],
        &message("team offer", "buy"),
    );
    assert!(reply.starts_with("250"), "{reply}");
    assert_eq!(inbox(&env.data(), "ann@example.org").await.len(), 1);
    assert_eq!(
        inbox(&env.data(), "bob@example.org").await.len(),
        1,
        "only lunch"
    );
    let queued = env.ok(&["queue", "list"]);
    assert!(queued.contains("x@sender.test"), "{queued}");
}

#[tokio::test]
async fn spamtest_sees_the_verdict_and_gtube_is_spam() {
    let (env, server) = mail_env_with(&format!("{HOLD_QUEUE}[spam]\nreject = false\n"));
    activate(
        &env,
        "ann@example.org",
        "spam",
        "require [\"spamtest\", \"fileinto\", \"mailbox\", \"relational\", \"comparator-i;ascii-numeric\"];\n\
         if spamtest :value \"ge\" :comparator \"i;ascii-numeric\" \"10\" { fileinto :create \"Certainly spam\"; }\n\
         elsif spamtest :value \"eq\" :comparator \"i;ascii-numeric\" \"1\" { fileinto :create \"Ham\"; }\n",
    )
    .await;
    let gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
    for (subject, body) in [("gtube", gtube), ("hello", "nothing to see")] {
        let reply = send_mx_to(
            &env,
            &server,
            "x@sender.test",
            &["ann@example.org"],
            &message(subject, body),
        );
        assert!(reply.starts_with("250"), "{reply}");
    }
    let spam = mailbox(&env.data(), "ann@example.org", "Certainly spam").await;
    assert_eq!(spam.len(), 1);
    assert!(String::from_utf8_lossy(&spam[0].1).contains("Subject: gtube"));
    let ham = mailbox(&env.data(), "ann@example.org", "Ham").await;
    assert_eq!(ham.len(), 1);
    assert!(String::from_utf8_lossy(&ham[0].1).contains("Subject: hello"));
}

#[tokio::test]
async fn hostile_scripts_lose_no_mail() {
    let (env, server) = mail_env_with(&format!("{HOLD_QUEUE}[sieve]\nmax_instructions = 200\n"));
    let send = |subject: &str| {
        let reply = send_mx_to(
            &env,
            &server,
            "x@sender.test",
            &["ann@example.org"],
            &message(subject, "hello"),
        );
        assert!(reply.starts_with("250"), "{subject}: {reply}");
    };
    // RFC 6609: a script that includes itself runs out of nesting.
    activate(
        &env,
        "ann@example.org",
        "loop",
        "require [\"include\", \"fileinto\"];\ninclude :personal \"loop\";\nfileinto \"Never\";\n",
    )
    .await;
    send("include loop");
    // More work than the budget allows: stopped, the message kept.
    let mut heavy = String::from("require \"fileinto\";\n");
    for i in 0..500 {
        heavy.push_str(&format!(
            "if header :contains \"subject\" \"nope{i}\" {{ stop; }}\n"
        ));
    }
    heavy.push_str("fileinto \"Never\";\n");
    activate(&env, "ann@example.org", "heavy", &heavy).await;
    send("cpu heavy");
    // 10 MB: over max_script_bytes, never compiled; the message is kept.
    let huge = format!(
        "require \"fileinto\";\n#{}\nfileinto \"Never\";\n",
        "x".repeat(10 << 20)
    );
    activate(&env, "ann@example.org", "huge", &huge).await;
    send("huge script");
    let kept = inbox(&env.data(), "ann@example.org").await;
    assert_eq!(kept.len(), 3, "all three kept in INBOX");
    let store = admin_store(&env.data());
    let ann = store
        .user_get("ann@example.org")
        .await
        .expect("get")
        .expect("ann");
    assert!(
        store
            .mailbox_get(ann.id, "Never")
            .await
            .expect("get")
            .is_none(),
        "no script's fileinto ran"
    );
    // A redirect storm: max_redirects (4) leave, the rest are dropped.
    let mut storm = String::new();
    for i in 0..20 {
        storm.push_str(&format!("redirect \"r{i}@remote.test\";\n"));
    }
    activate(&env, "ann@example.org", "storm", &storm).await;
    send("storm");
    let queued = env.ok(&["queue", "list"]);
    assert_eq!(queued.matches("@remote.test").count(), 4, "{queued}");
    let log = server.log();
    assert!(log.contains("Sieve script failed; kept"), "{log}");
}

#[test]
fn user_sieve_stores_a_checked_script_and_names_the_line_of_an_error() {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "pw\n");
    let file = env.dir.path().join("s.sieve");
    std::fs::write(
        &file,
        "require \"fileinto\";\nif true {\n  fileinto \"x\"\n}\n",
    )
    .expect("write");
    let path = file.to_str().expect("utf-8 path");
    let err = env.fails(&["user", "sieve", "ann@example.org", "--put", path], "");
    assert!(err.contains("line 4"), "{err}");
    std::fs::write(&file, "require \"enotify\";\nkeep;\n").expect("write");
    let err = env.fails(&["user", "sieve", "ann@example.org", "--put", path], "");
    assert!(err.contains("\"enotify\" is not supported"), "{err}");
    std::fs::write(&file, "require \"fileinto\";\nfileinto \"x\";\n").expect("write");
    let ok = env.ok(&[
        "user",
        "sieve",
        "ann@example.org",
        "--put",
        path,
        "--name",
        "mine",
    ]);
    assert!(ok.contains("made it active"), "{ok}");
    let list = env.ok(&["user", "sieve", "ann@example.org"]);
    assert!(list.contains("mine\t34 bytes\tactive"), "{list}");
    env.ok(&["user", "sieve", "ann@example.org", "--off"]);
    let list = env.ok(&["user", "sieve", "ann@example.org"]);
    assert!(
        list.contains("mine\t34 bytes") && !list.contains("active"),
        "{list}"
    );
}
