//! The admin CLI against a real data directory: domains, users, aliases,
//! mailboxes, import/export, config checks, and every bad input refused with
//! a one-line reason and a non-zero exit; listings whose reader goes away
//! (`| head`) end quietly.

use crate::support::{Env, root};

#[test]
fn domain_user_alias_lifecycle() {
    let env = Env::new();
    assert!(
        env.ok(&["domain", "add", "Example.ORG"])
            .contains("added domain example.org")
    );
    let out = env.ok_with(
        &["user", "add", "Ann@example.org", "--name", "Ann Example"],
        "s3cret pass\n",
    );
    assert!(out.contains("added user ann@example.org"), "{out}");
    let list = env.ok(&["user", "list"]);
    assert!(list.contains("ann@example.org\tAnn Example"), "{list}");
    let boxes = env.ok(&["mailbox", "list", "ann@example.org"]);
    for (name, special) in [
        ("INBOX", ""),
        ("Sent", "\\Sent"),
        ("Drafts", "\\Drafts"),
        ("Trash", "\\Trash"),
        ("Junk", "\\Junk"),
        ("Archive", "\\Archive"),
    ] {
        assert!(
            boxes
                .lines()
                .any(|l| l.starts_with(&format!("{name}\t")) && l.ends_with(special)),
            "{name} {special} missing from:\n{boxes}"
        );
    }
    env.ok(&[
        "alias",
        "add",
        "info@example.org",
        "ann@example.org",
        "ops@elsewhere.net",
    ]);
    env.ok(&["alias", "add", "@example.org", "ann@example.org"]);
    let aliases = env.ok(&["alias", "list", "example.org"]);
    assert!(
        aliases.contains("info@example.org\tann@example.org"),
        "{aliases}"
    );
    assert!(
        aliases.contains("info@example.org\tops@elsewhere.net"),
        "{aliases}"
    );
    assert!(
        aliases.contains("@example.org\tann@example.org"),
        "{aliases}"
    );
    env.ok(&["alias", "del", "info@example.org", "ops@elsewhere.net"]);
    assert!(!env.ok(&["alias", "list"]).contains("ops@elsewhere.net"));
    assert!(
        env.ok(&["domain", "list"])
            .contains("example.org\t1 users\t2 aliases")
    );
    env.ok(&[
        "user",
        "quota",
        "ann@example.org",
        "--set",
        "10M",
        "--messages",
        "500",
    ]);
    assert!(
        env.ok(&["user", "quota", "ann@example.org"])
            .contains("0 B of 10.0 MiB, 0 of 500 messages")
    );
    env.ok(&["user", "disable", "ann@example.org"]);
    assert!(env.ok(&["user", "list"]).contains("disabled"));
    env.ok(&["user", "enable", "ann@example.org"]);
    env.ok_with(&["user", "passwd", "ann@example.org"], "another pass\n");
    env.ok(&["alias", "del", "info@example.org"]);
    env.ok(&["alias", "del", "@example.org"]);
    env.ok(&["user", "del", "ann@example.org", "--yes"]);
    env.ok(&["domain", "del", "example.org"]);
    assert_eq!(env.ok(&["domain", "list"]), "");
}

#[test]
fn every_bad_input_is_refused_with_a_reason_and_nonzero_exit() {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "pw\n");
    for (args, stdin, want) in [
        (
            &["domain", "add", "example.org"][..],
            "",
            "domain example.org already exists",
        ),
        (
            &["domain", "add", "bad domain"],
            "",
            "is not a valid domain",
        ),
        (&["domain", "del", "example.org"], "", "still has 1 users"),
        (
            &["domain", "del", "nowhere.test"],
            "",
            "domain nowhere.test not found",
        ),
        (
            &["user", "add", "ann@example.org"],
            "pw\n",
            "user ann@example.org already exists",
        ),
        (
            &["user", "add", "bob@nowhere.test"],
            "pw\n",
            "domain nowhere.test not found",
        ),
        (
            &["user", "add", "not-an-address"],
            "pw\n",
            "is not a valid address",
        ),
        (
            &["user", "add", "bob@example.org"],
            "\n",
            "the password is empty",
        ),
        (
            &["user", "add", "bob@example.org", "--quota", "12X"],
            "pw\n",
            "is not a size",
        ),
        (
            &["user", "passwd", "nobody@example.org"],
            "pw\n",
            "no user nobody@example.org",
        ),
        (&["user", "del", "ann@example.org"], "", "add --yes"),
        (
            &["user", "del", "nobody@example.org", "--yes"],
            "",
            "user nobody@example.org not found",
        ),
        (
            &["alias", "add", "ann@example.org", "x@example.net"],
            "",
            "user ann@example.org already exists",
        ),
        (
            &["alias", "add", "x@nowhere.test", "ann@example.org"],
            "",
            "domain nowhere.test not found",
        ),
        (
            &["alias", "del", "none@example.org"],
            "",
            "alias none@example.org not found",
        ),
        (
            &["mailbox", "list", "nobody@example.org"],
            "",
            "no user nobody@example.org",
        ),
        (
            &["mailbox", "rename", "ann@example.org", "Nope", "Other"],
            "",
            "mailbox Nope not found",
        ),
        (
            &["mailbox", "rename", "ann@example.org", "Sent", "Drafts"],
            "",
            "mailbox Drafts already exists",
        ),
        (
            &["mailbox", "delete", "ann@example.org", "Nope", "--yes"],
            "",
            "mailbox Nope not found",
        ),
        (
            &["mailbox", "delete", "ann@example.org", "INBOX", "--yes"],
            "",
            "INBOX cannot be deleted",
        ),
        (
            &["mailbox", "create", "ann@example.org", "a//b"],
            "",
            "empty hierarchy level",
        ),
        (
            &[
                "mailbox",
                "create",
                "ann@example.org",
                "X",
                "--special-use",
                "bogus",
            ],
            "",
            "is not a special use",
        ),
        (
            &["mailbox", "export", "ann@example.org", "Nope"],
            "",
            "no mailbox \"Nope\"",
        ),
        (
            &[
                "mailbox",
                "import",
                "ann@example.org",
                "--mbox",
                "/nonexistent/file",
            ],
            "",
            "/nonexistent/file",
        ),
    ] {
        let err = env.fails(args, stdin);
        assert!(
            err.contains(want),
            "postern {args:?}\n got: {err}\nwant: {want}"
        );
        assert!(
            err.starts_with("postern: error: "),
            "one line with a clear prefix: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn passwords_never_come_from_the_command_line() {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    let err = env.fails(&["user", "add", "ann@example.org", "--password", "x"], "");
    assert!(err.contains("--password"), "{err}");
    let help = env.ok(&["user", "add", "--help"]);
    assert!(help.contains("standard input"), "{help}");
}

#[test]
fn mailbox_create_rename_delete() {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "pw\n");
    env.ok(&["mailbox", "create", "ann@example.org", "Lists/rust"]);
    env.ok(&[
        "mailbox",
        "create",
        "ann@example.org",
        "Receipts",
        "--special-use",
        "archive",
    ]);
    env.ok(&[
        "mailbox",
        "rename",
        "ann@example.org",
        "Lists",
        "Mailing lists",
    ]);
    let list = env.ok(&["mailbox", "list", "ann@example.org"]);
    assert!(list.contains("Mailing lists/rust\t"), "{list}");
    assert!(
        list.lines()
            .any(|l| l.starts_with("Receipts\t") && l.ends_with("\\Archive")),
        "{list}"
    );
    env.ok(&[
        "mailbox",
        "delete",
        "ann@example.org",
        "Mailing lists/rust",
        "--yes",
    ]);
    assert!(
        !env.ok(&["mailbox", "list", "ann@example.org"])
            .contains("rust")
    );
}

#[test]
fn mbox_import_then_export_keeps_messages_flags_and_dates() {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "pw\n");
    let mbox = env.dir.path().join("in.mbox");
    std::fs::write(
        &mbox,
        "From alice@example.net Mon Jan  6 10:00:00 2025\n\
         From: alice@example.net\nSubject: first\nStatus: RO\nX-Status: F\n\nhello\n>From the start\n\n\
         From bob@example.net Tue Jan  7 11:30:00 2025\n\
         From: bob@example.net\nSubject: second\n\nworld\n\n",
    )
    .expect("write mbox");
    let out = env.ok(&[
        "mailbox",
        "import",
        "ann@example.org",
        "--mbox",
        mbox.to_str().expect("utf8"),
        "--mailbox",
        "Old",
    ]);
    assert!(out.contains("imported 2 messages"), "{out}");
    let list = env.ok(&["mailbox", "list", "ann@example.org"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("Old\t2 messages\t1 unseen")),
        "{list}"
    );
    let exported = env.ok(&["mailbox", "export", "ann@example.org", "Old"]);
    assert!(
        exported.starts_with("From MAILER-DAEMON Mon Jan  6 10:00:00 2025\n"),
        "{exported}"
    );
    assert!(exported.contains("Subject: first\n"), "{exported}");
    assert!(
        exported.contains(">From the start\n"),
        "mboxrd quoting kept: {exported}"
    );
    assert!(exported.contains("Status: RO"), "\\Seen kept: {exported}");
    assert!(
        exported.contains("X-Status: F"),
        "\\Flagged kept: {exported}"
    );
    assert!(
        exported.contains("From MAILER-DAEMON Tue Jan  7 11:30:00 2025\n"),
        "{exported}"
    );
    // A second import of the export gives the same messages again.
    let again = env.dir.path().join("again.mbox");
    std::fs::write(&again, &exported).expect("write");
    env.ok(&[
        "mailbox",
        "import",
        "ann@example.org",
        "--mbox",
        again.to_str().expect("utf8"),
        "--mailbox",
        "Again",
    ]);
    assert_eq!(
        env.ok(&["mailbox", "export", "ann@example.org", "Again"]),
        exported
    );
}

#[test]
fn maildir_import_reads_flags_from_file_names() {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "pw\n");
    let md = env.dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).expect("mkdir");
    }
    std::fs::write(
        md.join("cur/1700000000.M1P1.host:2,FS"),
        "Subject: a\n\nseen and flagged\n",
    )
    .expect("write");
    std::fs::write(md.join("new/1700000100.M2P1.host"), "Subject: b\n\nnew\n").expect("write");
    let out = env.ok(&[
        "mailbox",
        "import",
        "ann@example.org",
        "--maildir",
        md.to_str().expect("utf8"),
    ]);
    assert!(out.contains("imported 2 messages"), "{out}");
    let list = env.ok(&["mailbox", "list", "ann@example.org"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("INBOX\t2 messages\t1 unseen")),
        "{list}"
    );
    let exported = env.ok(&["mailbox", "export", "ann@example.org", "INBOX"]);
    assert!(
        exported.contains("Tue Nov 14 22:13:20 2023"),
        "INTERNALDATE from the file name: {exported}"
    );
}

/// An mbox of `n` short messages, each `pad` bytes of body.
fn small_mbox(n: usize, pad: usize) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "From a@example.net Mon Jan  6 10:00:00 2025\nFrom: a@example.net\n\
                 Subject: m{i}\n\n{}\n\n",
                "x".repeat(pad)
            )
        })
        .collect()
}

#[test]
fn mbox_import_ends_its_progress_with_a_line_of_messages_and_bytes() {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "pw\n");
    let mbox = env.dir.path().join("in.mbox");
    std::fs::write(&mbox, small_mbox(3, 10)).expect("write mbox");
    let out = env.run(
        &[
            "mailbox",
            "import",
            "ann@example.org",
            "--mbox",
            mbox.to_str().expect("utf8"),
        ],
        "",
    );
    assert!(out.status.success());
    // Not a terminal: no bar, only the final line.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("imported 3 messages, ") && last.contains(" bytes in "),
        "{stderr}"
    );
    assert!(!stderr.contains('\r'), "no bar drawn: {stderr:?}");
}

#[test]
fn a_failed_mbox_import_stores_nothing_and_a_second_run_stores_each_message_once() {
    let env = Env::with_config("[limits]\nmax_message_size = 2000\n");
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "pw\n");
    let mbox = env.dir.path().join("in.mbox");
    // 450 messages (three batches) then one over the size limit.
    let good = small_mbox(450, 100);
    std::fs::write(&mbox, format!("{good}{}", small_mbox(1, 3000))).expect("write mbox");
    let args = [
        "mailbox",
        "import",
        "ann@example.org",
        "--mbox",
        mbox.to_str().expect("utf8"),
    ];
    let err = env.fails(&args, "");
    assert!(
        err.contains("the import stopped: nothing was imported"),
        "{err}"
    );
    let inbox = |env: &Env| {
        env.ok(&["mailbox", "list", "ann@example.org"])
            .lines()
            .find(|l| l.starts_with("INBOX\t"))
            .map(String::from)
            .unwrap_or_default()
    };
    assert!(
        inbox(&env).starts_with("INBOX\t0 messages"),
        "{}",
        inbox(&env)
    );
    std::fs::write(&mbox, good).expect("write mbox");
    assert!(env.ok(&args).contains("imported 450 messages"));
    assert!(
        inbox(&env).starts_with("INBOX\t450 messages"),
        "{}",
        inbox(&env)
    );
}

#[test]
fn a_bulk_import_killed_mid_way_leaves_nothing_and_a_second_run_stores_each_message_once() {
    use std::io::Write;
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "pw\n");
    // The mbox comes through a FIFO that stays open, so the import waits
    // for more after its first batch, inside its transaction.
    let fifo = env.dir.path().join("in.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    // Read and write: opening never blocks, and 250 short messages fit in
    // the pipe's buffer.
    let mut w = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .expect("open fifo");
    let mbox = small_mbox(250, 50);
    assert!(mbox.len() < 60_000);
    w.write_all(mbox.as_bytes()).expect("write fifo");
    let mut child = env
        .cmd()
        .args(["mailbox", "import", "ann@example.org", "--mbox"])
        .arg(&fifo)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let journal = env.data().join("postern.db-journal");
    for i in 0.. {
        if std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0) {
            break;
        }
        assert!(i < 600, "no rollback journal after 60 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    drop(w);
    let inbox = |env: &Env| {
        env.ok(&["mailbox", "list", "ann@example.org"])
            .lines()
            .find(|l| l.starts_with("INBOX\t"))
            .map(String::from)
            .unwrap_or_default()
    };
    assert!(
        inbox(&env).starts_with("INBOX\t0 messages"),
        "{}",
        inbox(&env)
    );
    let file = env.dir.path().join("in.mbox");
    std::fs::write(&file, &mbox).expect("write mbox");
    let out = env.ok(&[
        "mailbox",
        "import",
        "ann@example.org",
        "--mbox",
        file.to_str().expect("utf8"),
    ]);
    assert!(out.contains("imported 250 messages"), "{out}");
    assert!(
        inbox(&env).starts_with("INBOX\t250 messages"),
        "{}",
        inbox(&env)
    );
    env.ok(&["verify"]);
}

#[test]
fn config_check_accepts_the_example_and_refuses_bad_values_naming_the_key() {
    let env = Env::new();
    let example = root().join("config/postern.toml");
    let out = env
        .cmd()
        .args(["config", "check"])
        .arg("--config")
        .arg(&example)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("hostname\tmail.example.org"));
    let bad = env.dir.path().join("bad.toml");
    for (text, want) in [
        (
            "[listen]\nimap = [\"nonsense\"]\n",
            "bad.toml: listen.imap[0]: \"nonsense\" is not an address:port",
        ),
        ("colour = \"blue\"\n", "unknown field `colour`"),
        (
            "[limits]\nmax_connections = 0\n",
            "limits.max_connections: must be greater than 0",
        ),
    ] {
        std::fs::write(&bad, text).expect("write");
        let out = std::process::Command::new(crate::support::BIN)
            .arg("--config")
            .arg(&bad)
            .args(["config", "check"])
            .output()
            .expect("run");
        assert!(!out.status.success(), "{text} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "got {err}\nwant {want}");
    }
    // serve refuses a bad config the same way, before binding anything.
    std::fs::write(&bad, "[limits]\nmax_connections = 0\n").expect("write");
    let out = std::process::Command::new(crate::support::BIN)
        .arg("--config")
        .arg(&bad)
        .arg("serve")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("limits.max_connections"));
}

#[test]
fn listing_commands_end_quietly_with_status_0_when_stdout_is_closed() {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "pw\n");
    env.ok(&["alias", "add", "team@example.org", "ann@example.org"]);
    let mbox = env.dir.path().join("in.mbox");
    std::fs::write(
        &mbox,
        "From alice@example.net Mon Jan  6 10:00:00 2025\nSubject: one\n\nhello\n\n",
    )
    .expect("write mbox");
    let mbox = mbox.to_str().expect("utf8");
    env.ok(&["mailbox", "import", "ann@example.org", "--mbox", mbox]);
    for args in [
        &["domain", "list"][..],
        &["user", "list"],
        &["alias", "list"],
        &["mailbox", "list", "ann@example.org"],
        &["mailbox", "export", "ann@example.org", "INBOX"],
        &["queue", "list"],
        &["dkim", "list", "example.org"],
        &["domain", "dns", "example.org"],
        &["config", "check"],
    ] {
        // The reading end is closed before the command starts, so its
        // first write meets EPIPE every time (as `| head -0` would, minus
        // the race).
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = env
            .cmd()
            .args(args)
            .env("RUST_BACKTRACE", "1")
            .stdin(std::process::Stdio::null())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run postern");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "postern {args:?} with stdout closed: {}\n{stderr}",
            out.status
        );
    }
}
