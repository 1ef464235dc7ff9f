//! The operator's side of hardening (issue 13): a data directory no other
//! local user can read, whatever the umask; root only to bind ports, then
//! the configured account; no silent running as root.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;

use crate::smtp;
use crate::support::Env;

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// Every entry under `dir`, the directory itself included: (path, metadata).
fn entries(dir: &Path) -> Vec<(String, std::fs::Metadata)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        let meta = std::fs::symlink_metadata(&p).expect("stat");
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).expect("read_dir") {
                todo.push(e.expect("entry").path());
            }
        }
        out.push((p.display().to_string(), meta));
    }
    out
}

/// A message too big to live in the database, so a blob file is written.
const BIG: &str = r#"
s = mx()
body = "".join("line %05d of a big message\r\n" % i for i in range(4000))
s.sendmail("x@elsewhere.test", ["ann@example.org"], ("From: x@elsewhere.test\r\nSubject: big\r\n\r\n" + body).encode())
s.quit()
print("delivered")
"#;

#[test]
fn the_data_directory_is_private_whatever_the_umask() {
    let env = Env::new();
    // An existing install from before: world-readable.
    let data = env.data();
    std::fs::create_dir_all(data.join("old")).expect("mkdir");
    std::fs::write(data.join("old/notes"), "x").expect("write");
    for (p, mode) in [(&data, 0o755), (&data.join("old"), 0o755)] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    std::fs::set_permissions(
        data.join("old/notes"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    // The admin commands under a umask that would leave everything open.
    for args in [
        &["domain", "add", "example.org"][..],
        &["user", "add", "ann@example.org"],
    ] {
        let mut cmd = env.cmd();
        // SAFETY: umask is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
        let mut child = cmd
            .args(args)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"ann password\n")
            .expect("password");
        assert!(child.wait().expect("wait").success(), "{args:?}");
    }
    let db = std::fs::metadata(data.join("postern.db")).expect("db");
    assert_eq!(db.mode() & 0o777, 0o600, "admin-made database");

    let server = env.serve();
    server.wait_for_log(
        "data directory made private",
        std::time::Duration::from_secs(10),
    );
    assert!(smtp::python(&env, &server, BIG).contains("delivered"));
    let all = entries(&data);
    assert!(
        all.iter().any(|(p, _)| p.contains("/blobs/")),
        "a blob file was written"
    );
    for (path, meta) in &all {
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(meta.mode() & 0o777, want, "{path}");
    }
}

#[test]
fn started_as_root_without_a_user_it_refuses_unless_told() {
    // `[server]` present but empty: no opt-out.
    let env = Env::with_config("[server]\n");
    if euid() == 0 {
        let err = env.fails(&["serve"], "");
        assert!(
            err.contains("refusing to run as root") && err.contains("[server] user"),
            "{err}"
        );
        let err = env.fails(&["domain", "list"], "");
        assert!(err.contains("refusing to run as root"), "{err}");
    } else {
        // Not root: nothing to refuse.
        env.ok(&["domain", "list"]);
    }
}

#[test]
fn started_as_root_it_binds_then_runs_as_the_configured_user() {
    let nobody = std::process::Command::new("id")
        .args(["-u", "nobody"])
        .output()
        .expect("id");
    let nobody: u32 = String::from_utf8_lossy(&nobody.stdout)
        .trim()
        .parse()
        .expect("nobody's uid");
    let env = Env::with_config("[server]\nuser = \"nobody\"\n");
    if euid() != 0 {
        let err = env.fails(&["domain", "list"], "");
        assert!(err.contains("cannot switch"), "{err}");
        return;
    }
    // The account must be able to reach its data directory.
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o711))
        .expect("chmod");
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "ann password\n");
    let mut server = env.serve();
    // The listen report is written before the switch (the account may not
    // write where the report goes): wait, bounded, for the switch.
    let all_nobody = |status: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .is_some_and(|u| u.split_whitespace().all(|u| u == nobody.to_string()))
    };
    let mut status = String::new();
    for _ in 0..100 {
        status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).expect("status");
        if all_nobody(&status) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let uids = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .expect("Uid line");
    assert!(
        uids.split_whitespace().all(|u| u == nobody.to_string()),
        "real, effective, saved and fs uid all nobody: {uids}"
    );
    let groups = status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .expect("Groups line");
    assert!(!groups.split_whitespace().any(|g| g == "0"), "{groups}");
    // It works as nobody: mail is stored (a blob file too) and read back.
    assert!(smtp::python(&env, &server, BIG).contains("delivered"));
    let read = crate::imap::py(
        &env,
        &server,
        r#"
c = login()
c.select("INBOX")
print(len(c.fetch("1", "(BODY.PEEK[])")[1][0][1]))
"#,
    );
    assert!(
        read.trim().parse::<usize>().expect("size") > 100_000,
        "{read}"
    );
    // An admin command run as root meanwhile leaves nothing root-owned.
    env.ok_with(&["user", "add", "bob@example.org"], "bob password\n");
    for (path, meta) in entries(&env.data()) {
        assert_eq!(meta.uid(), nobody, "{path} owned by {}", meta.uid());
    }
}

/// The systemd unit in config/ starts as the postern user with only the
/// capability to bind low ports, in the usual sandbox; systemd itself finds
/// nothing to complain about where `systemd-analyze` is installed.
#[test]
fn the_systemd_unit_is_sandboxed_and_verifies() {
    let unit = std::fs::read_to_string(crate::support::root().join("config/postern.service"))
        .expect("unit");
    for line in [
        "User=postern",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/postern",
        "NoNewPrivileges=true",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "UMask=0077",
    ] {
        assert!(unit.lines().any(|l| l == line), "no {line} in the unit");
    }
    let Ok(out) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        eprintln!("systemd-analyze not installed: the unit's text was checked, not systemd's view");
        return;
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("postern.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/postern", crate::support::BIN),
    )
    .expect("write unit");
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}
