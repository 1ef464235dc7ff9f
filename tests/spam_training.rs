//! The classifier learns from what IMAP clients already do (issue 15):
//! MOVE into Junk trains spam, MOVE back out trains ham in its place,
//! `$Junk` / `$NotJunk` set by STORE the same; `postern spam train` learns
//! from a Maildir and an mbox; `postern spam stats` shows it all. The
//! server's trainer works in the background, so the tests poll the stats
//! (bounded).

use std::time::Duration;

use crate::imap::py;
use crate::smtp::{mail_env, mailbox};
use crate::support::{Env, Server};

/// Polls `postern spam stats ann@example.org` until its output holds
/// `want`; the last output.
fn stats_until(env: &Env, want: &str) -> String {
    let mut out = String::new();
    for _ in 0..200 {
        out = env.ok(&["spam", "stats", "ann@example.org"]);
        if out.contains(want) {
            return out;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("stats never showed {want:?}; last:\n{out}");
}

/// Runs UID commands (imaplib's `c.uid(...)` arguments) as ann in
/// `mailbox`, each of which must answer OK.
fn uid_commands(env: &Env, server: &Server, mailbox: &str, commands: &[&str]) {
    let mut script = format!("c = login(); c.select(\"{mailbox}\")\n");
    for c in commands {
        script.push_str(&format!(
            "typ, data = c.uid({c}); assert typ == \"OK\", data\n"
        ));
    }
    script.push_str("c.logout()\n");
    py(env, server, &script);
}

/// Delivers one spam-looking message to ann over SMTP.
fn deliver_spam(env: &Env, server: &Server) {
    py(
        env,
        server,
        r#"deliver("ann@example.org", "cheap pills", "buy cheap pills online now discount pharmacy")"#,
    );
}

#[test]
fn imap_move_into_junk_trains_spam_and_moving_it_back_trains_ham_instead() {
    let (env, server) = mail_env();
    deliver_spam(&env, &server);
    uid_commands(&env, &server, "INBOX", &[r#""MOVE", "1", "Junk""#]);
    let out = stats_until(&env, "ann@example.org: 1 spam, 0 ham trained (0 waiting");
    assert!(out.contains("user model: 1 spam, 0 ham"), "{out}");
    assert!(out.contains("global model: 1 spam, 0 ham"), "{out}");
    uid_commands(&env, &server, "Junk", &[r#""MOVE", "1", "INBOX""#]);
    let out = stats_until(&env, "ann@example.org: 0 spam, 1 ham trained (0 waiting");
    assert!(out.contains("user model: 0 spam, 1 ham"), "{out}");
    assert!(out.contains("global model: 0 spam, 1 ham"), "{out}");
}

#[test]
fn imap_junk_keywords_train_spam_and_notjunk_trains_ham() {
    let (env, server) = mail_env();
    deliver_spam(&env, &server);
    uid_commands(
        &env,
        &server,
        "INBOX",
        &[r#""STORE", "1", "+FLAGS", "($Junk)""#],
    );
    stats_until(&env, "ann@example.org: 1 spam, 0 ham trained (0 waiting");
    // Thunderbird's "not junk": the one keyword out, the other in.
    uid_commands(
        &env,
        &server,
        "INBOX",
        &[
            r#""STORE", "1", "-FLAGS", "($Junk)""#,
            r#""STORE", "1", "+FLAGS", "($NotJunk)""#,
        ],
    );
    let out = stats_until(&env, "ann@example.org: 0 spam, 1 ham trained (0 waiting");
    assert!(out.contains("user model: 0 spam, 1 ham"), "{out}");
}

#[test]
fn spam_train_learns_a_maildir_and_an_mbox_once_and_stats_counts_them() {
    let env = Env::new();
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "ann password\n");
    assert!(
        env.ok(&["spam", "stats", "ann@example.org"])
            .contains("user model: not trained yet")
    );
    let maildir = env.dir.path().join("spam-maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    for i in 0..3 {
        std::fs::write(
            maildir.join("cur").join(format!("{i}.host:2,S")),
            format!("From: deals{i}@spam.example\nSubject: offer {i}\n\ncheap pills number {i}\n"),
        )
        .expect("spam file");
    }
    let mbox = env.dir.path().join("ham.mbox");
    std::fs::write(
        &mbox,
        "From bob@example.org Sun Dec  6 10:00:00 2026\nFrom: bob@example.org\nSubject: lunch\n\nlunch at noon?\n\n\
         From carol@example.org Sun Dec  6 11:00:00 2026\nFrom: carol@example.org\nSubject: build\n\nthe build is green\n",
    )
    .expect("mbox");
    let (m, b) = (
        maildir.to_str().expect("utf-8"),
        mbox.to_str().expect("utf-8"),
    );
    let out = env.ok(&["spam", "train", "ann@example.org", "--spam", m, "--ham", b]);
    assert!(
        out.contains("read 5 messages for ann@example.org: 5 trained, 0 untrained"),
        "{out}"
    );
    let out = env.ok(&["spam", "train", "ann@example.org", "--spam", m]);
    assert!(
        out.contains("read 3 messages for ann@example.org: 0 trained"),
        "{out}"
    );
    let out = env.ok(&["spam", "stats", "ann@example.org"]);
    assert!(
        out.contains("ann@example.org: 3 spam, 2 ham trained (0 waiting"),
        "{out}"
    );
    assert!(out.contains("user model: 3 spam, 2 ham"), "{out}");
    assert!(out.contains("global model: 3 spam, 2 ham"), "{out}");
    let err = env.fails(
        &[
            "spam",
            "train",
            "ann@example.org",
            "--ham",
            "/nonexistent/box",
        ],
        "",
    );
    assert!(err.contains("/nonexistent/box"), "{err}");
    let err = env.fails(&["spam", "train", "nobody@example.org", "--ham", b], "");
    assert!(err.contains("no user nobody@example.org"), "{err}");
}

/// The `CLASSIFIER=…` line of a stored message's X-Spam-Result, if any.
fn classifier_line(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    text.split("\r\n\t")
        .find(|l| l.starts_with("CLASSIFIER="))
        .map(|l| l.split(';').next().unwrap_or(l).trim().to_string())
}

/// The classifier's score in a `CLASSIFIER=…` line.
fn classifier_score(line: &str) -> f64 {
    line.trim_start_matches("CLASSIFIER=")
        .split(' ')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no score in {line:?}"))
}

#[tokio::test]
async fn what_a_user_moves_to_junk_or_marks_not_junk_changes_how_the_next_like_it_is_filed() {
    let (env, server) = mail_env();
    let spam = "buy cheap pills online now discount pharmacy cheap pills";
    let ham = "the nightly build failed in the parser tests again see the log";
    py(
        &env,
        &server,
        &format!(
            "deliver('ann@example.org', 'pills one', '{spam}')\n\
             deliver('ann@example.org', 'build one', '{ham}')\n"
        ),
    );
    let inbox = mailbox(&env.data(), "ann@example.org", "INBOX").await;
    assert_eq!(inbox.len(), 2);
    for (_, raw) in &inbox {
        // Nothing trained yet: the classifier has nothing to say.
        assert_eq!(classifier_line(raw), None);
    }
    // The user's two gestures: this one is spam, that one is not.
    uid_commands(
        &env,
        &server,
        "INBOX",
        &[
            r#""MOVE", "1", "Junk""#,
            r#""STORE", "2", "+FLAGS", "($NotJunk)""#,
        ],
    );
    stats_until(&env, "ann@example.org: 1 spam, 1 ham trained (0 waiting");
    py(
        &env,
        &server,
        &format!(
            "deliver('ann@example.org', 'pills two', '{spam}')\n\
             deliver('ann@example.org', 'build two', '{ham}')\n"
        ),
    );
    let junk = mailbox(&env.data(), "ann@example.org", "Junk").await;
    let like_spam = junk
        .iter()
        .find(|(_, raw)| String::from_utf8_lossy(raw).contains("Subject: pills two"))
        .expect("the message like the one moved to Junk is filed in Junk");
    let line = classifier_line(&like_spam.1).expect("a classifier line");
    assert!(classifier_score(&line) > 5.0, "{line}");
    let inbox = mailbox(&env.data(), "ann@example.org", "INBOX").await;
    let like_ham = inbox
        .iter()
        .find(|(_, raw)| String::from_utf8_lossy(raw).contains("Subject: build two"))
        .expect("the message like the one marked not junk is in INBOX");
    let line = classifier_line(&like_ham.1).expect("a classifier line");
    assert!(classifier_score(&line) < -1.0, "{line}");

    // Undo: the first message moved back out of Junk is ham now, so the
    // classifier has no spam to compare with and says nothing again.
    uid_commands(&env, &server, "Junk", &[r#""MOVE", "1", "INBOX""#]);
    stats_until(&env, "ann@example.org: 0 spam, 2 ham trained (0 waiting");
    py(
        &env,
        &server,
        &format!("deliver('ann@example.org', 'pills three', '{spam}')\n"),
    );
    let inbox = mailbox(&env.data(), "ann@example.org", "INBOX").await;
    let third = inbox
        .iter()
        .find(|(_, raw)| String::from_utf8_lossy(raw).contains("Subject: pills three"))
        .expect("delivered to INBOX");
    assert_eq!(classifier_line(&third.1), None);
}
