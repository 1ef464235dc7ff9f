//! The administration commands: domains, users, aliases, mailboxes, config
//! (the queue, DKIM and spam commands in `admin/`).
//! Each opens the store in admin mode (beside a running server), checks its
//! input, and fails with one line naming what is wrong.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use postern_auth::{Secret, normalize_address, normalize_domain};
use postern_store::{
    Flags, NewUser, OpenMode, SpecialUse, Store, StoreOptions, SystemFlags, UserId,
};

use crate::config::Config;
use crate::mailbox_io;
use crate::out::outln;

mod accounts;
mod backup;
mod block;
mod dkim;
mod doctor;
mod import;
mod import_imap;
mod index;
mod queue;
mod reports;
mod sieve;
mod spam;
mod spam_explain;
mod spam_prefs;
mod vacation;
pub use backup::{
    BackupArgs, RestoreArgs, UpgradeArgs, VerifyArgs, backup, restore, upgrade, verify,
};
pub use block::{BlockCmd, block, block_on};
pub use dkim::{DkimCmd, dkim, dkim_on};
pub use doctor::{DoctorArgs, doctor, domain_records};
pub use import_imap::{ImportCmd, import as import_cmd};
pub use index::{IndexCmd, index};
pub use queue::{QueueCmd, queue, queue_on};
pub use reports::{ReportsArgs, reports};
pub use spam::{SpamCmd, spam, spam_on, spam_stats};

#[derive(Subcommand)]
pub enum DomainCmd {
    /// Receive mail for DOMAIN (then add users and aliases under it)
    Add { domain: String },
    /// List domains with their numbers of users and aliases
    List,
    /// Stop receiving mail for DOMAIN; refused while it has users or aliases
    Del { domain: String },
    /// Print every DNS record DOMAIN needs (MX, SPF, DKIM, DMARC, SRV, autoconfig)
    Dns { domain: String },
}

#[derive(Subcommand)]
pub enum UserCmd {
    /// Add a user; the password is asked for, or read from standard input
    /// when it is not a terminal (`echo secret | postern user add ...`)
    Add {
        /// The user's address, which is also their login name
        address: String,
        /// Display name
        #[arg(long)]
        name: Option<String>,
        /// Storage quota such as 500M or 2G (default: unlimited)
        #[arg(long, value_name = "SIZE")]
        quota: Option<String>,
        /// Most messages the user may keep (default: unlimited)
        #[arg(long, value_name = "N")]
        quota_messages: Option<u64>,
    },
    /// List users, optionally of one domain
    List { domain: Option<String> },
    /// Change a user's password (asked for, or read from standard input)
    Passwd { address: String },
    /// Delete a user with all their mailboxes and messages
    Del {
        address: String,
        /// Required: deleting a user deletes their mail
        #[arg(long)]
        yes: bool,
    },
    /// Show a user's quota and usage, or set it with --set / --messages
    Quota {
        address: String,
        /// New storage quota such as 500M, 2G, or "unlimited"
        #[arg(long, value_name = "SIZE")]
        set: Option<String>,
        /// New message-count quota, or "unlimited"
        #[arg(long, value_name = "N")]
        messages: Option<String>,
    },
    /// Stop a user from logging in (mail for them is still accepted)
    Disable { address: String },
    /// Let a disabled user log in again
    Enable { address: String },
    /// Give or take the admin role (the web console's /admin pages);
    /// without --on or --off, say whether USER has it
    Admin {
        address: String,
        #[arg(long, conflicts_with = "off")]
        on: bool,
        #[arg(long)]
        off: bool,
    },
    /// List a user's Sieve scripts, or store one (checked) and make it the
    /// active one, or turn filtering off
    Sieve {
        address: String,
        /// A file with the script to store and activate
        #[arg(long, value_name = "FILE")]
        put: Option<PathBuf>,
        /// The script's name
        #[arg(long, default_value = "main")]
        name: String,
        /// Deactivate the active script (it is kept)
        #[arg(long, conflicts_with = "put")]
        off: bool,
    },
    /// Turn an out-of-office reply on or off (a Sieve script, RFC 5230);
    /// without --on or --off, say whether it is on
    Vacation {
        address: String,
        /// Reply to each sender once per --days
        #[arg(long)]
        on: bool,
        /// Stop replying (the user's own script is active again)
        #[arg(long)]
        off: bool,
        /// The reply's subject (default: "Out of office")
        #[arg(long)]
        subject: Option<String>,
        /// A file with the reply's text
        #[arg(long, value_name = "FILE")]
        message: Option<PathBuf>,
        /// The last day to reply, such as 2027-01-31
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// Days before the same sender is answered again
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
    /// App passwords for mail clients: add, list, revoke
    #[command(subcommand)]
    AppPassword(accounts::AppPasswordCmd),
    /// Two-factor (TOTP) login to the web console: enroll, confirm,
    /// disable, status
    #[command(subcommand)]
    Totp(accounts::TotpCmd),
    /// A user's recent logins: protocol, IP, IMAP client, when
    Devices { address: String },
}

#[derive(Subcommand)]
pub enum AliasCmd {
    /// Deliver mail for SOURCE to each TARGET. SOURCE is an address at a local
    /// domain, or `@domain` for a catch-all; a TARGET is a user, another
    /// alias, or an address elsewhere
    Add {
        source: String,
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// List aliases, optionally of one domain
    List { domain: Option<String> },
    /// Remove an alias, or only its TARGET
    Del {
        source: String,
        target: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum MailboxCmd {
    /// List a user's mailboxes with message counts and sizes
    List { user: String },
    /// Create a mailbox (`/` separates levels: `Lists/rust`)
    Create {
        user: String,
        name: String,
        /// Special use: sent, drafts, trash, junk, archive, all or flagged
        #[arg(long)]
        special_use: Option<String>,
    },
    /// Rename a mailbox and the mailboxes under it (renaming INBOX moves its
    /// messages into a new mailbox and leaves INBOX empty)
    Rename {
        user: String,
        from: String,
        to: String,
    },
    /// Delete a mailbox and its messages
    Delete {
        user: String,
        name: String,
        /// Required: deleting a mailbox deletes its mail
        #[arg(long)]
        yes: bool,
    },
    /// Import messages from an mbox file or a Maildir directory, keeping
    /// flags and dates
    Import {
        user: String,
        /// An mbox file (mboxrd, as Thunderbird, mutt and Dovecot write it)
        #[arg(long, conflicts_with = "maildir", required_unless_present = "maildir")]
        mbox: Option<PathBuf>,
        /// A Maildir directory (with cur/ and new/)
        #[arg(long)]
        maildir: Option<PathBuf>,
        /// Target mailbox, created if missing
        #[arg(long, default_value = "INBOX")]
        mailbox: String,
    },
    /// Export a mailbox as mbox (mboxrd) to a file or standard output
    Export {
        user: String,
        mailbox: String,
        /// Output file (default: standard output)
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

async fn open(cfg: &Config) -> Result<Store> {
    Store::open(
        &cfg.data_dir,
        StoreOptions {
            mode: OpenMode::Admin,
            ..cfg.store.clone()
        },
    )
    .with_context(|| format!("opening the data directory {}", cfg.data_dir.display()))
}

fn address(s: &str) -> Result<String> {
    normalize_address(s).map_err(|e| anyhow!("{s:?} is not a valid address: {e}"))
}

fn domain_name(s: &str) -> Result<String> {
    normalize_domain(s).map_err(|e| anyhow!("{s:?} is not a valid domain: {e}"))
}

/// An alias source: `a@d` or the catch-all `@d`.
fn alias_source(s: &str) -> Result<String> {
    match s.trim().strip_prefix('@') {
        Some(d) => Ok(format!("@{}", domain_name(d)?)),
        None => address(s),
    }
}

async fn user_id(store: &Store, addr: &str) -> Result<UserId> {
    let a = address(addr)?;
    Ok(store
        .user_get(&a)
        .await?
        .ok_or_else(|| anyhow!("no user {a}"))?
        .id)
}

/// Sizes like `1024`, `500K`, `500M`, `2G`, `1T`; `unlimited` is `None`.
fn parse_size(s: &str) -> Result<Option<u64>> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("unlimited") || t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => bail!("{s:?} is not a size such as 500M, 2G or unlimited"),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| anyhow!("{s:?} is not a size such as 500M, 2G or unlimited"))?;
    n.checked_mul(mult)
        .map(Some)
        .ok_or_else(|| anyhow!("{s:?} is too large"))
}

fn parse_count(s: &str) -> Result<Option<u64>> {
    if s.trim().eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    s.trim()
        .parse()
        .map(Some)
        .map_err(|_| anyhow!("{s:?} is not a number or \"unlimited\""))
}

fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Reads a new password: asked twice on a terminal, else one line of stdin.
fn read_password() -> Result<Secret<String>> {
    let pw = if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password("New password: ").context("reading the password")?;
        let b = rpassword::prompt_password("Repeat it: ").context("reading the password")?;
        if a != b {
            bail!("the two passwords differ");
        }
        a
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if pw.is_empty() {
        bail!("the password is empty");
    }
    Ok(Secret::new(pw))
}

async fn hash(pw: Secret<String>) -> Result<String> {
    tokio::task::spawn_blocking(move || postern_auth::hash_password(&pw))
        .await
        .context("hashing task")?
        .map_err(|e| anyhow!("hashing the password: {e}"))
}

pub async fn domain(cfg: &Config, cmd: DomainCmd) -> Result<()> {
    let store = open(cfg).await?;
    domain_on(cfg, &store, cmd).await
}

/// `domain` on an open store (the web console runs it on the server's).
pub async fn domain_on(cfg: &Config, store: &Store, cmd: DomainCmd) -> Result<()> {
    match cmd {
        DomainCmd::Add { domain } => {
            let d = domain_name(&domain)?;
            store.domain_add(&d).await?;
            dkim::first_keys(cfg, &d)?;
            outln!("added domain {d} (DKIM keys made: see `postern domain dns {d}`)");
        }
        DomainCmd::List => {
            for d in store.domain_list().await? {
                outln!("{}\t{} users\t{} aliases", d.name, d.users, d.aliases);
            }
        }
        DomainCmd::Del { domain } => {
            let d = domain_name(&domain)?;
            store.domain_delete(&d).await?;
            outln!("deleted domain {d}");
        }
        DomainCmd::Dns { domain } => dkim::dns_on(cfg, store, &domain).await?,
    }
    Ok(())
}

pub async fn user(cfg: &Config, cmd: UserCmd) -> Result<()> {
    let store = open(cfg).await?;
    user_on(cfg, &store, cmd, None).await
}

/// `user` on an open store, with the new password of `add` and `passwd`
/// given (the web console's form) or, when `None`, read as on the
/// command line.
pub async fn user_on(
    cfg: &Config,
    store: &Store,
    cmd: UserCmd,
    password: Option<Secret<String>>,
) -> Result<()> {
    let new_password = move || match password {
        Some(p) if p.expose().is_empty() => Err(anyhow!("the password is empty")),
        Some(p) => Ok(p),
        None => read_password(),
    };
    match cmd {
        UserCmd::Add {
            address: a,
            name,
            quota,
            quota_messages,
        } => {
            let a = address(&a)?;
            let quota_bytes = quota.as_deref().map(parse_size).transpose()?.flatten();
            if store.user_get(&a).await?.is_some() {
                bail!("user {a} already exists");
            }
            let password_hash = hash(new_password()?).await?;
            store
                .user_add(NewUser {
                    address: a.clone(),
                    display_name: name.unwrap_or_default(),
                    password_hash,
                    quota_bytes,
                    quota_messages,
                })
                .await?;
            outln!("added user {a} with mailboxes INBOX, Sent, Drafts, Trash, Junk, Archive");
        }
        UserCmd::List { domain } => {
            let d = domain.as_deref().map(domain_name).transpose()?;
            for u in store.user_list(d.as_deref()).await? {
                let quota = u
                    .quota_bytes
                    .map(human)
                    .unwrap_or_else(|| "unlimited".into());
                let state = if u.disabled { "\tdisabled" } else { "" };
                outln!(
                    "{}\t{}\t{} messages\t{} of {quota}{state}",
                    u.address,
                    u.display_name,
                    u.used_messages,
                    human(u.used_bytes)
                );
            }
        }
        UserCmd::Passwd { address: a } => {
            let a = address(&a)?;
            if store.user_get(&a).await?.is_none() {
                bail!("no user {a}");
            }
            let h = hash(new_password()?).await?;
            store.user_set_password(&a, h).await?;
            outln!("changed the password of {a}");
        }
        UserCmd::Del { address: a, yes } => {
            let a = address(&a)?;
            if !yes {
                bail!("deleting {a} deletes all their mail; add --yes to do it");
            }
            store.user_delete(&a).await?;
            outln!("deleted user {a} and their mail");
        }
        UserCmd::Quota {
            address: a,
            set,
            messages,
        } => {
            let a = address(&a)?;
            let u = store
                .user_get(&a)
                .await?
                .ok_or_else(|| anyhow!("no user {a}"))?;
            if set.is_some() || messages.is_some() {
                let bytes = match &set {
                    Some(s) => parse_size(s)?,
                    None => u.quota_bytes,
                };
                let count = match &messages {
                    Some(s) => parse_count(s)?,
                    None => u.quota_messages,
                };
                store.user_set_quota(&a, bytes, count).await?;
            }
            let q = store.quota(u.id).await?;
            outln!(
                "{a}: {} of {}, {} of {} messages",
                human(q.used_bytes),
                q.limit_bytes
                    .map(human)
                    .unwrap_or_else(|| "unlimited".into()),
                q.used_messages,
                q.limit_messages
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "unlimited".into())
            );
        }
        UserCmd::Disable { address: a } => {
            let a = address(&a)?;
            store.user_set_disabled(&a, true).await?;
            outln!("disabled {a}: logins are refused, mail is still accepted");
        }
        UserCmd::Enable { address: a } => {
            let a = address(&a)?;
            store.user_set_disabled(&a, false).await?;
            outln!("enabled {a}");
        }
        UserCmd::Admin {
            address: a,
            on,
            off,
        } => {
            let a = address(&a)?;
            if on || off {
                store.user_set_admin(&a, on).await?;
            } else if store.user_get(&a).await?.is_none() {
                bail!("no user {a}");
            }
            let is = store.admins().await?.contains(&a);
            outln!(
                "{a} {} the admin role (the web console's /admin pages)",
                if is { "has" } else { "does not have" }
            );
        }
        UserCmd::Sieve {
            address: a,
            put,
            name,
            off,
        } => {
            let a = address(&a)?;
            let id = user_id(store, &a).await?;
            sieve::sieve(cfg, store, id, &a, put, &name, off).await?;
        }
        UserCmd::Vacation {
            address: a,
            on,
            off,
            subject,
            message,
            until,
            days,
        } => {
            let a = address(&a)?;
            let id = user_id(store, &a).await?;
            let args = vacation::VacationArgs {
                on,
                off,
                subject,
                message,
                until,
                days,
            };
            vacation::vacation(cfg, store, id, &a, args).await?;
        }
        UserCmd::AppPassword(c) => {
            let a = address(c.address())?;
            let id = user_id(store, &a).await?;
            accounts::app_password(cfg, store, id.0, &a, c).await?;
        }
        UserCmd::Totp(c) => {
            let a = address(c.address())?;
            let id = user_id(store, &a).await?;
            accounts::totp(cfg, store, id.0, &a, c).await?;
        }
        UserCmd::Devices { address: a } => {
            let a = address(&a)?;
            let id = user_id(store, &a).await?;
            accounts::devices(cfg, store, id.0, &a).await?;
        }
    }
    Ok(())
}

pub async fn alias(cfg: &Config, cmd: AliasCmd) -> Result<()> {
    let store = open(cfg).await?;
    alias_on(&store, cmd).await
}

/// `alias` on an open store (the web console runs it on the server's).
pub async fn alias_on(store: &Store, cmd: AliasCmd) -> Result<()> {
    match cmd {
        AliasCmd::Add { source, targets } => {
            let s = alias_source(&source)?;
            let ts = targets
                .iter()
                .map(|t| address(t))
                .collect::<Result<Vec<_>>>()?;
            for t in &ts {
                store.alias_add(&s, t).await?;
            }
            outln!("{s} -> {}", ts.join(", "));
        }
        AliasCmd::List { domain } => {
            let d = domain.as_deref().map(domain_name).transpose()?;
            for a in store.alias_list(d.as_deref()).await? {
                outln!("{}\t{}", a.source, a.target);
            }
        }
        AliasCmd::Del { source, target } => {
            let s = alias_source(&source)?;
            let t = target.as_deref().map(address).transpose()?;
            store.alias_delete(&s, t.as_deref()).await?;
            outln!(
                "removed {s}{}",
                t.map(|t| format!(" -> {t}")).unwrap_or_default()
            );
        }
    }
    Ok(())
}

pub async fn mailbox(cfg: &Config, cmd: MailboxCmd) -> Result<()> {
    let store = match cmd {
        MailboxCmd::Import { .. } => import::open_store(cfg).await?,
        _ => open(cfg).await?,
    };
    match cmd {
        MailboxCmd::List { user } => {
            let id = user_id(&store, &user).await?;
            for m in store.mailbox_list(id).await? {
                let s = store.mailbox_status(m.id).await?;
                let special = m.special_use.map(|u| u.as_str()).unwrap_or("");
                outln!(
                    "{}\t{} messages\t{} unseen\t{}\t{special}",
                    m.name,
                    s.messages,
                    s.unseen,
                    human(s.size)
                );
            }
        }
        MailboxCmd::Create {
            user,
            name,
            special_use,
        } => {
            let id = user_id(&store, &user).await?;
            let special = special_use
                .map(|s| {
                    SpecialUse::parse(&format!("\\{}", s.trim_start_matches('\\')))
                        .ok_or_else(|| anyhow!("{s:?} is not a special use (sent, drafts, trash, junk, archive, all, flagged)"))
                })
                .transpose()?;
            let m = store.mailbox_create(id, &name, special).await?;
            // IMAP's CREATE leaves subscribing to the client; a mailbox the
            // admin makes is subscribed, as a new user's folders are.
            store.mailbox_subscribe(id, &m.name, true).await?;
            outln!("created {}", m.name);
        }
        MailboxCmd::Rename { user, from, to } => {
            let id = user_id(&store, &user).await?;
            let m = store.mailbox_rename(id, &from, &to).await?;
            outln!("renamed {from} to {}", m.name);
        }
        MailboxCmd::Delete { user, name, yes } => {
            let id = user_id(&store, &user).await?;
            if !yes {
                bail!("deleting {name} deletes its mail; add --yes to do it");
            }
            store.mailbox_delete(id, &name).await?;
            outln!("deleted {name}");
        }
        MailboxCmd::Import {
            user,
            mbox,
            maildir,
            mailbox,
        } => import::import(&store, &user, mbox, maildir, &mailbox).await?,
        MailboxCmd::Export {
            user,
            mailbox,
            output,
        } => export(&store, &user, &mailbox, output).await?,
    }
    Ok(())
}

fn flags_of(names: &[String]) -> Flags {
    let mut system = SystemFlags::empty();
    let mut keywords = Vec::new();
    for n in names {
        match SystemFlags::from_name(n) {
            Some(f) => system = system.union(f),
            None if !n.starts_with('\\') => keywords.push(n.clone()),
            None => {}
        }
    }
    Flags::new(system, keywords)
}

async fn export(store: &Store, user: &str, mailbox: &str, output: Option<PathBuf>) -> Result<()> {
    let uid = user_id(store, user).await?;
    let mb = store.mailbox_get(uid, mailbox).await?.ok_or_else(|| {
        anyhow!(
            "no mailbox {mailbox:?} for {}",
            address(user).unwrap_or_default()
        )
    })?;
    let mut out: Box<dyn Write> = match &output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(crate::out::Stdout)),
    };
    let msgs = store.messages(mb.id).await?;
    for m in &msgs {
        let raw = store.read_blob(&m.blob).await?;
        let mut flags: Vec<String> = m.flags.system.names().map(String::from).collect();
        flags.extend(m.flags.keywords.iter().cloned());
        mailbox_io::write_mbox_message(&mut out, &raw, "MAILER-DAEMON", m.internal_date, &flags)
            .context("writing the mbox")?;
    }
    out.flush().context("writing the mbox")?;
    drop(out);
    if let Some(p) = output {
        outln!(
            "exported {} messages from {} to {}",
            msgs.len(),
            mb.name,
            p.display()
        );
    }
    Ok(())
}

pub fn config_check(cfg: &Config) -> Result<()> {
    outln!("{}: ok", cfg.source);
    outln!("hostname\t{}", cfg.hostname);
    outln!("data_dir\t{}", cfg.data_dir.display());
    for s in &cfg.services {
        let addrs: Vec<String> = s.addrs.iter().map(|a| a.to_string()).collect();
        let shown = if addrs.is_empty() {
            "off".to_string()
        } else {
            addrs.join(" ")
        };
        outln!("listen.{}\t{shown}", s.name);
    }
    match (&cfg.tls_files, &cfg.acme) {
        (Some((c, k)), _) => outln!("tls\t{} {}", c.display(), k.display()),
        (None, Some(a)) => {
            let challenge = match a.challenge {
                postern_web::acme::Challenge::TlsAlpn01 => "tls-alpn-01 on listen.https",
                postern_web::acme::Challenge::Http01 => "http-01 on listen.http",
            };
            outln!(
                "tls\tACME from {} for {} ({challenge})",
                a.directory,
                a.names.join(", ")
            );
        }
        (None, None) => outln!("tls\tself-signed for {}", cfg.hostname),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units_and_unlimited() {
        assert_eq!(parse_size("1024").expect("plain"), Some(1024));
        assert_eq!(parse_size("500M").expect("M"), Some(500 << 20));
        assert_eq!(parse_size("2g").expect("g"), Some(2 << 30));
        assert_eq!(parse_size("unlimited").expect("unlimited"), None);
        for bad in ["", "M", "12X", "-5", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn alias_sources_are_addresses_or_catch_alls() {
        assert_eq!(
            alias_source("@Example.ORG").expect("catch-all"),
            "@example.org"
        );
        assert_eq!(
            alias_source("Info@example.org").expect("address"),
            "info@example.org"
        );
        assert!(alias_source("@").is_err());
        assert!(alias_source("nope").is_err());
    }

    #[test]
    fn imported_flag_names_become_system_flags_and_keywords() {
        let f = flags_of(&["\\Seen".into(), "$Junk".into(), "\\Recent".into()]);
        assert!(f.system.contains(SystemFlags::SEEN));
        assert_eq!(f.keywords, ["$Junk"]);
    }
}
