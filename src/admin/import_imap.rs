//! `postern import imap`: copies a user's mail from another IMAP server,
//! folder by folder, with flags, keywords and internal dates, read-only on
//! the source (EXAMINE, BODY.PEEK).
//!
//! Two passes: the first lists what each folder holds beyond what earlier
//! runs copied (the store's import marks: UIDVALIDITY and highest UID per
//! source folder; or, when the source's UIDVALIDITY changed or there is no
//! mark, Message-ID + INTERNALDATE + size against what the mailbox holds),
//! the second fetches that in batches, each batch stored together with its
//! mark in one commit. A run stopped anywhere resumes where the last
//! commit left it and never copies a message twice.
//!
//! Messages flagged `\Deleted` on the source are copied with the flag: the
//! mailbox looks as it did there, and the user's next EXPUNGE removes them
//! as the old server would have.

mod client;
mod folders;
mod wire;

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use postern_store::{ImportMark, ImportedKey, MailboxId, NewMessage, Store, UserId};

use crate::config::Config;
use crate::out::outln;
use client::{Client, Source, Trust};
use folders::Target;

#[derive(Subcommand)]
pub enum ImportCmd {
    /// Copy a user's folders from another IMAP server (never changes the
    /// source); run it again to copy only what is new
    Imap(ImapArgs),
}

#[derive(Args)]
pub struct ImapArgs {
    /// The old server: imaps://HOST[:PORT] (TLS) or imap://HOST[:PORT] (STARTTLS)
    #[arg(long, value_name = "URL")]
    from: String,
    /// The login on the old server; the password is asked for, or read
    /// from standard input when it is not a terminal
    #[arg(long, value_name = "LOGIN")]
    user: String,
    /// The user here who gets the mail
    #[arg(long, value_name = "ADDRESS")]
    to: String,
    /// Accept any certificate from the old server (a test server with a
    /// self-signed one); the password then goes to whoever answers
    #[arg(long, conflicts_with = "ca_file")]
    insecure: bool,
    /// Check the old server's certificate against these PEM roots instead
    /// of the system's
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Most messages stored per commit
    #[arg(long, default_value_t = 200, value_name = "N")]
    batch_messages: usize,
    /// Most bytes fetched and stored per commit (bounds memory)
    #[arg(long, default_value = "16M", value_name = "SIZE")]
    batch_bytes: String,
    /// Messages larger than this are left on the source and counted as failures
    #[arg(long, default_value = "64M", value_name = "SIZE")]
    max_message_size: String,
    /// Seconds to wait for each answer of the old server
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    timeout: u64,
}

/// What one run did.
#[derive(Debug, Default)]
struct Summary {
    folders: u64,
    copied: u64,
    skipped: u64,
    bytes: u64,
    failures: Vec<String>,
}

/// What the first pass found in one folder.
struct Plan {
    raw_name: Vec<u8>,
    name: String,
    mailbox: MailboxId,
    mailbox_name: String,
    uidvalidity: u32,
    /// UIDs to copy with their sizes, ascending.
    todo: Vec<(u32, u64)>,
}

pub async fn import(cfg: &Config, cmd: ImportCmd) -> Result<()> {
    let ImportCmd::Imap(a) = cmd;
    let src = Source::parse(&a.from)?;
    let store = super::open(cfg).await?;
    let user = super::user_id(&store, &a.to).await?;
    let batch_bytes = super::parse_size(&a.batch_bytes)?.unwrap_or(u64::MAX);
    let max_message = super::parse_size(&a.max_message_size)?.unwrap_or(u64::MAX);
    if a.batch_messages == 0 {
        bail!("--batch-messages must be at least 1");
    }
    let trust = match (&a.ca_file, a.insecure) {
        (Some(f), _) => Trust::CaFile(f.clone()),
        (None, true) => Trust::Insecure,
        (None, false) => Trust::System,
    };
    let password = read_password(&a.user, &src.host)?;
    let tls = client::connector(&trust)?;
    let max_response = usize::try_from(max_message.saturating_add(64 * 1024)).unwrap_or(usize::MAX);
    let timeout = Duration::from_secs(a.timeout.max(1));
    let mut c = Client::connect(&src, &tls, timeout, max_response).await?;
    c.login(&a.user, &password).await?;
    drop(password);
    let started = Instant::now();
    let run = Run {
        store: &store,
        user,
        source: src.key(&a.user),
        batch_messages: a.batch_messages,
        batch_bytes,
        max_message,
    };
    let mut sum = Summary::default();
    let result = run.all(&mut c, &mut sum).await;
    c.logout().await;
    let secs = started.elapsed().as_secs_f64();
    outln!(
        "folders {}, messages copied {}, skipped {} (already here), bytes {}, failures {}, {:.1} s, {:.0} messages/s",
        sum.folders,
        sum.copied,
        sum.skipped,
        sum.bytes,
        sum.failures.len(),
        secs,
        sum.copied as f64 / secs.max(0.001)
    );
    result?;
    if !sum.failures.is_empty() {
        for f in &sum.failures {
            eprintln!("postern: {f}");
        }
        bail!(
            "{} failures; what was copied is kept, and running the import again retries the rest",
            sum.failures.len()
        );
    }
    Ok(())
}

struct Run<'a> {
    store: &'a Store,
    user: UserId,
    source: String,
    batch_messages: usize,
    batch_bytes: u64,
    max_message: u64,
}

impl Run<'_> {
    async fn all(&self, c: &mut Client, sum: &mut Summary) -> Result<()> {
        let listed = c.list().await.context("listing the folders")?;
        let mut plans = Vec::new();
        for l in &listed {
            let name = wire::decode_mailbox_name(&l.raw_name);
            let target = folders::target(l);
            if let Target::Skip(why) = target {
                outln!("{name}: not copied ({why})");
                continue;
            }
            match self.plan(c, l.raw_name.clone(), &name, target, sum).await {
                Ok(Some(p)) => plans.push(p),
                Ok(None) => {}
                Err(e) if c.broken => return Err(e.context(format!("folder {name}"))),
                Err(e) => sum.failures.push(format!("folder {name}: {e:#}")),
            }
        }
        sum.folders = plans.len() as u64;
        let total: u64 = plans.iter().map(|p| p.todo.len() as u64).sum();
        let bar = progress_bar(total);
        for p in &plans {
            let before = (sum.copied, sum.bytes);
            let r = self.copy(c, p, sum, &bar).await;
            if !bar.is_hidden() {
                bar.set_message(String::new());
            } else {
                outln!(
                    "{} -> {}: {} messages, {} bytes",
                    p.name,
                    p.mailbox_name,
                    sum.copied - before.0,
                    sum.bytes - before.1
                );
            }
            match r {
                Ok(()) => {}
                Err(e) if c.broken => {
                    bar.abandon();
                    return Err(e.context(format!("copying {}", p.name)));
                }
                Err(e) => sum.failures.push(format!("folder {}: {e:#}", p.name)),
            }
        }
        bar.finish_and_clear();
        Ok(())
    }

    /// The first pass over one folder: its mailbox here (made if missing)
    /// and the UIDs to copy.
    async fn plan(
        &self,
        c: &mut Client,
        raw_name: Vec<u8>,
        name: &str,
        target: Target,
        sum: &mut Summary,
    ) -> Result<Option<Plan>> {
        let mb = self.mailbox(&target).await?;
        let ex = c.examine(&raw_name).await?;
        let mut plan = Plan {
            raw_name,
            name: name.to_string(),
            mailbox: mb.id,
            mailbox_name: mb.name.clone(),
            uidvalidity: ex.uidvalidity,
            todo: Vec::new(),
        };
        if ex.exists == 0 {
            return Ok(Some(plan));
        }
        let mark = self
            .store
            .import_mark(self.user, &self.source, name)
            .await?;
        let resume = mark.filter(|m| m.uidvalidity == ex.uidvalidity);
        let held = self.store.mailbox_status(mb.id).await?.messages;
        if resume.is_some() || held == 0 {
            let after = resume.map_or(0, |m| m.last_uid);
            let mut todo = Vec::new();
            c.uid_fetch(&format!("{}:*", after + 1), "UID RFC822.SIZE", |f| {
                if let (Some(uid), Some(size)) = (f.uid, f.size)
                    && uid > after
                {
                    todo.push((uid, size));
                }
                Ok(())
            })
            .await?;
            plan.todo = todo;
        } else {
            // No mark to trust (the source's UIDVALIDITY changed, or the
            // mailbox had mail before): what is already here by key.
            let mut have: HashMap<ImportedKey, u32> = HashMap::new();
            for k in self.store.imported_keys(mb.id).await? {
                *have.entry(k).or_default() += 1;
            }
            let mut todo = Vec::new();
            let mut skipped = 0;
            c.uid_fetch(
                "1:*",
                "UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]",
                |f| {
                    let (Some(uid), Some(size)) = (f.uid, f.size) else {
                        return Ok(());
                    };
                    let header = String::from_utf8_lossy(f.header.as_deref().unwrap_or_default());
                    let value = header
                        .split_once(':')
                        .map(|(_, v)| v)
                        .unwrap_or_default()
                        .to_string();
                    let key = ImportedKey::new(&value, f.internal_date.unwrap_or(0), size);
                    match have.get_mut(&key) {
                        Some(n) if *n > 0 => {
                            *n -= 1;
                            skipped += 1;
                        }
                        _ => todo.push((uid, size)),
                    }
                    Ok(())
                },
            )
            .await?;
            todo.sort_unstable();
            sum.skipped += skipped;
            plan.todo = todo;
            if plan.todo.is_empty() {
                // Remember the new UIDVALIDITY, so the next run needs no keys.
                let last = self.last_uid(c).await?;
                self.store
                    .import_batch(
                        self.user,
                        mb.id,
                        Vec::new(),
                        &self.source,
                        name,
                        ImportMark {
                            uidvalidity: ex.uidvalidity,
                            last_uid: last,
                        },
                    )
                    .await?;
            }
        }
        Ok(Some(plan))
    }

    async fn last_uid(&self, c: &mut Client) -> Result<u32> {
        let mut last = 0;
        c.uid_fetch("*", "UID", |f| {
            last = last.max(f.uid.unwrap_or(0));
            Ok(())
        })
        .await?;
        Ok(last)
    }

    /// Our mailbox for a target: the user's of that special use, else the
    /// named one, made (and subscribed) when missing.
    async fn mailbox(&self, target: &Target) -> Result<postern_store::Mailbox> {
        let (name, special) = match target {
            Target::Inbox => ("INBOX".to_string(), None),
            Target::Special(u, n) => {
                let all = self.store.mailbox_list(self.user).await?;
                if let Some(m) = all.into_iter().find(|m| m.special_use == Some(*u)) {
                    return Ok(m);
                }
                (n.clone(), Some(*u))
            }
            Target::Named(n) => (n.clone(), None),
            Target::Skip(_) => bail!("nothing to copy"),
        };
        if let Some(m) = self.store.mailbox_get(self.user, &name).await? {
            return Ok(m);
        }
        let m = self.store.mailbox_create(self.user, &name, special).await?;
        self.store
            .mailbox_subscribe(self.user, &m.name, true)
            .await?;
        Ok(m)
    }

    /// The second pass over one folder: fetch in batches, store each batch
    /// with its mark.
    async fn copy(
        &self,
        c: &mut Client,
        p: &Plan,
        sum: &mut Summary,
        bar: &indicatif::ProgressBar,
    ) -> Result<()> {
        if p.todo.is_empty() {
            return Ok(());
        }
        bar.set_message(p.name.clone());
        let ex = c.examine(&p.raw_name).await?;
        if ex.uidvalidity != p.uidvalidity {
            bail!("its UIDVALIDITY changed during the import; run the import again");
        }
        let mut storing: Option<Storing> = None;
        let mut i = 0;
        while i < p.todo.len() {
            let (mut n, mut bytes) = (0, 0u64);
            let mut uids = Vec::new();
            while let Some(&(uid, size)) = p.todo.get(i + n) {
                if n > 0 && (n >= self.batch_messages || bytes + size > self.batch_bytes) {
                    break;
                }
                n += 1;
                if size > self.max_message {
                    sum.failures.push(format!(
                        "folder {}: UID {uid} has {size} bytes, over --max-message-size",
                        p.name
                    ));
                    continue;
                }
                bytes += size;
                uids.push(uid);
            }
            let last = p.todo[i + n - 1].0;
            i += n;
            let got = match self.fetch(c, &uids).await {
                Ok(g) => g,
                Err(e) => {
                    // What is being stored still counts.
                    if let Some(h) = storing.take() {
                        let _ = settle(h, sum, bar, &p.mailbox_name).await;
                    }
                    return Err(e);
                }
            };
            // One batch is stored while the next is fetched; the marks
            // still move in order, each with its batch.
            if let Some(h) = storing.take() {
                settle(h, sum, bar, &p.mailbox_name).await?;
            }
            let (store, user, mailbox) = (self.store.clone(), self.user, p.mailbox);
            let (source, folder) = (self.source.clone(), p.name.clone());
            let mark = ImportMark {
                uidvalidity: p.uidvalidity,
                last_uid: last,
            };
            storing = Some(tokio::spawn(async move {
                let count = got.len() as u64;
                let size: u64 = got.iter().map(|m| m.raw.len() as u64).sum();
                store
                    .import_batch(user, mailbox, got, &source, &folder, mark)
                    .await?;
                Ok::<_, postern_store::StoreError>((count, size, n as u64))
            }));
        }
        if let Some(h) = storing.take() {
            settle(h, sum, bar, &p.mailbox_name).await?;
        }
        Ok(())
    }

    /// The messages of `uids` (those the server still has), in UID order.
    async fn fetch(&self, c: &mut Client, uids: &[u32]) -> Result<Vec<NewMessage>> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let mut got: Vec<(u32, NewMessage)> = Vec::with_capacity(uids.len());
        let wanted: std::collections::HashSet<u32> = uids.iter().copied().collect();
        c.uid_fetch(
            &uid_set(uids),
            "UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]",
            |f| {
                let (Some(uid), Some(body)) = (f.uid, f.body) else {
                    // An unsolicited flag update, not an answer.
                    return Ok(());
                };
                if !wanted.contains(&uid) {
                    return Ok(());
                }
                let flags = super::flags_of(&f.flags.unwrap_or_default());
                got.push((
                    uid,
                    NewMessage {
                        raw: body,
                        internal_date: f.internal_date,
                        flags,
                    },
                ));
                Ok(())
            },
        )
        .await?;
        got.sort_by_key(|(u, _)| *u);
        got.dedup_by_key(|(u, _)| *u);
        Ok(got.into_iter().map(|(_, m)| m).collect())
    }
}

/// A batch being stored: messages, bytes, and UIDs it covers (those over
/// the size limit included).
type Storing = tokio::task::JoinHandle<postern_store::Result<(u64, u64, u64)>>;

/// Waits for a batch's commit and counts it.
async fn settle(
    h: Storing,
    sum: &mut Summary,
    bar: &indicatif::ProgressBar,
    mailbox: &str,
) -> Result<()> {
    let (count, size, covered) = h
        .await
        .context("the storing task failed")?
        .with_context(|| format!("storing into {mailbox}"))?;
    sum.copied += count;
    sum.bytes += size;
    bar.inc(covered);
    Ok(())
}

/// `1:3,7,9:10` for ascending UIDs.
fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while uids.get(i + 1) == Some(&(end + 1)) {
            end += 1;
            i += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// A bar with counts and throughput on a terminal; hidden otherwise (the
/// per-folder lines and the summary say it then).
fn progress_bar(total: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} messages, {per_sec}, eta {eta} {msg}",
    )
    .map(|s| s.progress_chars("=> "));
    if let Ok(s) = style {
        bar.set_style(s);
    }
    bar
}

/// The old server's password: asked for on a terminal, else the first
/// line of standard input (never an argument, which `ps` would show).
fn read_password(login: &str, host: &str) -> Result<String> {
    let pw = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Password for {login} at {host}: "))
            .context("reading the password")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if pw.is_empty() {
        return Err(anyhow!("the password is empty"));
    }
    Ok(pw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_compress_runs() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[]), "");
    }
}
