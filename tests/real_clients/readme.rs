//! The README's shell commands, run as written against a test server:
//! every command of its ```sh blocks (the quickstart's administration,
//! the swaks examples, the queue and DKIM commands) except the few listed
//! in `NOT_RUN`, with `cargo run --release --` and `postern` meaning the
//! binary under test and the listeners' ports substituted for the
//! embedded default's.

use std::process::Command;

use super::{Home, require, run};
use crate::smtp::inbox;
use crate::support::{BIN, Env, root};

/// Commands the test does not run, and why: a substring of the command.
const NOT_RUN: &[(&str, &str)] = &[
    ("-- serve", "the test starts the server itself"),
    ("cargo test", "this is that test run"),
    (" ID", "a placeholder for a queue id"),
    (
        "/etc/postern",
        "the installed configuration of a real machine",
    ),
];

/// The password the quickstart's `user add` is given on stdin (twice, as
/// it asks), and swaks too when it asks for it.
const PASSWORD: &str = "readme password";

/// The commands of the README's ```sh blocks, backslash-continued lines
/// joined and comments dropped.
fn readme_commands() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("README.md")).expect("read README.md");
    let mut commands = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let line = match line.split_once(" #") {
            Some((cmd, _comment)) => cmd,
            None => line,
        };
        let line = line.trim();
        if let Some(start) = line.strip_suffix('\\') {
            pending.push_str(start);
            continue;
        }
        pending.push_str(line);
        if !pending.trim().is_empty() {
            commands.push(pending.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        pending.clear();
    }
    commands
}

#[tokio::test]
async fn the_readme_commands_work_as_written() {
    require("swaks");
    let env = Env::new();
    let server = env.serve();
    // The README's paths are relative to where `serve` ran: its data
    // directory is `postern-data` there.
    std::os::unix::fs::symlink(env.data(), env.dir.path().join("postern-data"))
        .expect("symlink postern-data");
    let postern = format!("'{BIN}' --config '{}'", env.config.display());
    let commands = readme_commands();
    assert!(
        commands.iter().any(|c| c.contains("--tls-ca-path")),
        "the README shows a verified submission: {commands:?}"
    );
    let mut ran = 0;
    let mut mailbox_list = String::new();
    for readme in &commands {
        if NOT_RUN.iter().any(|(s, _)| readme.contains(s)) {
            continue;
        }
        let cmd = readme
            .replace("cargo run --release --", &postern)
            .replace("127.0.0.1:2525", &server.addr("smtp"))
            .replace("127.0.0.1:2587", &server.addr("submission"));
        let cmd = match cmd.strip_prefix("postern ") {
            Some(rest) => format!("{postern} {rest}"),
            None => cmd,
        };
        let home = Home::new();
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(&cmd)
            .current_dir(env.dir.path())
            .env("HOME", home.path());
        let out = run(&mut sh, format!("{PASSWORD}\n{PASSWORD}\n").as_bytes());
        out.expect_code(&format!("README: {readme}"), 0);
        if readme.contains("mailbox list") {
            mailbox_list = out.stdout.clone();
        }
        ran += 1;
    }
    assert!(ran >= 10, "ran {ran} of {commands:?}");
    for mb in ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"] {
        assert!(mailbox_list.contains(mb), "{mailbox_list}");
    }
    // Both swaks messages arrived: over port 25, and submitted with AUTH
    // over STARTTLS with the certificate verified.
    let got = inbox(&env.data(), "you@example.org").await;
    assert_eq!(got.len(), 2, "the two swaks messages");
    let submitted = String::from_utf8_lossy(&got[1]);
    assert!(
        submitted.contains("(authenticated as you@example.org)"),
        "{submitted}"
    );
    drop(server);
}
