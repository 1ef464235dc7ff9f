//! Who the process runs as, and what it leaves readable.
//!
//! - Everything Postern creates is private: the umask is 077 from the
//!   first instruction, whatever the caller's, so the database (password
//!   hashes and mail), its WAL and the message files are never readable by
//!   other local users; `serve` also corrects an existing data directory
//!   (0700 directories, 0600 files), with one log line when it changed
//!   anything.
//! - Started as root with `[server] user`, `serve` binds its listeners and
//!   loads its certificate as root, gives the data directory to that user,
//!   then switches to it for good (groups, gid, uid), as Postfix and
//!   Dovecot do. The admin commands switch the same way, so a root shell
//!   never leaves root-owned files the server cannot open. Started as root
//!   without `user`, it refuses to run unless `run_as_root = true` says the
//!   operator means it (the embedded default, loopback only, warns).

use std::ffi::CString;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::config::{Config, EMBEDDED};

/// New files and directories are private to their owner.
pub fn private_umask() {
    // SAFETY: umask only changes the process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

/// An account to run as.
#[derive(Debug)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// What to do about the process's identity.
#[derive(Debug)]
pub enum Plan {
    /// Run as we are.
    Stay,
    /// Started as root: hand the data directory over, then switch.
    Switch(Account),
}

/// Decides, from `[server]` and the effective user, whether to switch,
/// stay, or refuse to run.
pub fn plan(cfg: &Config) -> Result<Plan> {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    let run_as = &cfg.run_as;
    match &run_as.user {
        Some(user) => {
            let account = lookup(user, run_as.group.as_deref())?;
            if account.uid == 0 {
                bail!("[server] user {user:?} is root; name an account of its own");
            }
            if euid == 0 {
                Ok(Plan::Switch(account))
            } else if euid == account.uid {
                Ok(Plan::Stay)
            } else {
                bail!(
                    "[server] user is {user:?}, but postern runs as uid {euid} and cannot switch: \
                     start it as root or as {user}"
                )
            }
        }
        None if euid == 0 && !run_as.run_as_root => {
            if cfg.source == EMBEDDED {
                tracing::warn!(
                    "running as root on the embedded default (loopback only); for a real \
                     install set [server] user in a config file"
                );
                Ok(Plan::Stay)
            } else {
                bail!(
                    "{}: refusing to run as root: set [server] user = \"postern\" (an account \
                     of its own, e.g. made with `useradd --system postern`), or run_as_root = \
                     true to accept the risk",
                    cfg.source
                )
            }
        }
        None => Ok(Plan::Stay),
    }
}

/// Carries out `plan`: when it says to switch, gives `data_dir` to the
/// account, then switches to it.
pub fn enter(plan: &Plan, data_dir: &Path) -> Result<()> {
    if let Plan::Switch(account) = plan {
        hand_over(data_dir, account)?;
        switch(account)?;
    }
    Ok(())
}

/// The uid and gid of `user` (and `group`, or the user's primary group).
fn lookup(user: &str, group: Option<&str>) -> Result<Account> {
    let c_user = CString::new(user).context("[server] user")?;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: passwd is plain data; getpwnam_r fills it and points its
    // strings into `buf`, which outlives every use below.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; buf.len() is its size.
    let rc = unsafe {
        libc::getpwnam_r(
            c_user.as_ptr(),
            &mut pw,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() {
        bail!(
            "[server] user {user:?}: no such account (create it, e.g. `useradd --system {user}`)"
        );
    }
    let (uid, mut gid) = (pw.pw_uid, pw.pw_gid);
    if let Some(group) = group {
        let c_group = CString::new(group).context("[server] group")?;
        // SAFETY: as above, for the group database.
        let mut gr: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; buf.len() is its size.
        let rc = unsafe {
            libc::getgrnam_r(
                c_group.as_ptr(),
                &mut gr,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        };
        if rc != 0 || found.is_null() {
            bail!("[server] group {group:?}: no such group");
        }
        gid = gr.gr_gid;
    }
    Ok(Account {
        name: user.to_string(),
        uid,
        gid,
    })
}

/// Gives `dir` (created if missing) and everything in it to `account`;
/// returns how many entries changed owner.
fn hand_over(dir: &Path, account: &Account) -> Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut changed = 0;
    walk(dir, &mut |path, meta| {
        if meta.uid() != account.uid || meta.gid() != account.gid {
            std::os::unix::fs::lchown(path, Some(account.uid), Some(account.gid))?;
            changed += 1;
        }
        Ok(())
    })
    .with_context(|| format!("giving {} to {}", dir.display(), account.name))?;
    Ok(changed)
}

/// Switches the whole process to `account` for good: supplementary groups,
/// then gid, then uid (the order that leaves no way back), and checks that
/// root cannot be regained.
fn switch(account: &Account) -> Result<()> {
    let gid: libc::gid_t = account.gid;
    // SAFETY: plain system calls with valid arguments; glibc applies
    // setgid/setuid to every thread of the process.
    unsafe {
        if libc::setgroups(1, &gid) != 0 {
            return Err(io::Error::last_os_error()).context("setgroups");
        }
        if libc::setgid(gid) != 0 {
            return Err(io::Error::last_os_error()).context("setgid");
        }
        if libc::setuid(account.uid) != 0 {
            return Err(io::Error::last_os_error()).context("setuid");
        }
        if libc::setuid(0) == 0 || libc::geteuid() != account.uid {
            bail!("could not give up root");
        }
    }
    tracing::info!(
        user = %account.name,
        uid = account.uid,
        gid = account.gid,
        "running as an unprivileged user"
    );
    Ok(())
}

/// Makes `dir` 0700 and everything in it 0700 (directories) or 0600
/// (files); returns how many entries it changed. Symbolic links are left
/// alone and not followed.
pub fn tighten(dir: &Path) -> Result<usize> {
    let mut changed = 0;
    walk(dir, &mut |path, meta| {
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        if meta.file_type().is_symlink() || meta.mode() & 0o777 == want {
            return Ok(());
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(want))?;
        changed += 1;
        Ok(())
    })
    .with_context(|| format!("setting permissions in {}", dir.display()))?;
    Ok(changed)
}

/// Calls `f` on `root` and every entry below it, depth first, without
/// following symbolic links and without recursion (a deep tree costs no
/// stack).
fn walk(
    root: &Path,
    f: &mut dyn FnMut(&Path, &std::fs::Metadata) -> io::Result<()>,
) -> io::Result<()> {
    let mut todo = vec![root.to_path_buf()];
    while let Some(path) = todo.pop() {
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            // Removed meanwhile (a temp file): nothing to do.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        f(&path, &meta)?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                todo.push(entry?.path());
            }
        }
    }
    Ok(())
}
