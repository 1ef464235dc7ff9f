//! `postern mailbox import`: an mbox file or a maildir into one mailbox,
//! with flags, keywords and dates, in batches of one commit each.
//!
//! A maildir Dovecot kept has a `dovecot-uidlist`: its messages keep their
//! UIDs and the mailbox takes Dovecot's UIDVALIDITY and next UID, so IMAP
//! clients see the mailbox they knew and download nothing again; POP3
//! keeps the UIDLs Dovecot gave out (ours have Dovecot's default form, and
//! any other is carried in its `P` field). This needs an empty mailbox
//! whose UIDVALIDITY no other mailbox here has; otherwise the messages get
//! new UIDs, with a warning, and still keep their POP3 UIDLs. An mbox
//! message's `X-UIDL` header is its POP3 UIDL likewise.
//!
//! With no server running, the store is opened for a bulk import
//! (`OpenMode::Bulk`): the whole import is one transaction in a rollback
//! journal, committed at the end, so it is stored whole or not at all (run
//! it again after a failure: nothing is doubled) and writes about the
//! mail's size once. Beside a running server it goes in batches of one
//! commit each, as any other writer. A progress bar (messages, bytes,
//! rate, time left) shows when stderr is a terminal; a plain line ends it
//! either way.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use postern_store::{
    KeptUid, Mailbox, NewMessage, OpenMode, Store, StoreError, StoreOptions, Uid, UidValidity,
    UserId,
};

use super::{address, flags_of, user_id};
use crate::config::Config;
use crate::mailbox_io::{self, ImportedMessage, MaildirFiles, UidList};
use crate::out::outln;

/// Messages per commit: one fsync for many, memory still bounded.
const BATCH_MESSAGES: usize = 200;
const BATCH_BYTES: usize = 16 << 20;
/// Bytes per batch when the store holds the import in one transaction:
/// batches no longer share fsyncs, so they stay small in memory.
const HELD_BATCH_BYTES: usize = 4 << 20;

/// The store for an import: for a bulk import when no server holds the
/// data directory, else shared with the server like any admin command.
pub(super) async fn open_store(cfg: &Config) -> Result<Store> {
    let opts = StoreOptions {
        mode: OpenMode::Bulk,
        ..cfg.store.clone()
    };
    match Store::open(&cfg.data_dir, opts) {
        Ok(s) => Ok(s),
        Err(StoreError::Locked(_)) => super::open(cfg).await,
        Err(e) => {
            Err(e).with_context(|| format!("opening the data directory {}", cfg.data_dir.display()))
        }
    }
}

pub(super) async fn import(
    store: &Store,
    user: &str,
    mbox: Option<PathBuf>,
    maildir: Option<PathBuf>,
    mailbox: &str,
) -> Result<()> {
    let uid = user_id(store, user).await?;
    let target = match store.mailbox_get(uid, mailbox).await? {
        Some(m) => m,
        None => {
            let m = store.mailbox_create(uid, mailbox, None).await?;
            store.mailbox_subscribe(uid, &m.name, true).await?;
            m
        }
    };
    let mut to = Filling {
        store,
        user: uid,
        mailbox: &target,
        batch: Vec::new(),
        bytes: 0,
        batch_bytes: if store.imports_held() {
            HELD_BATCH_BYTES
        } else {
            BATCH_BYTES
        },
        progress: Progress::new(),
    };
    let held = store.imports_held();
    let filled = async {
        let (source, kept) = match (mbox, maildir) {
            (Some(p), _) => {
                let total = std::fs::metadata(&p)
                    .with_context(|| format!("reading mbox {}", p.display()))?
                    .len();
                to.progress.bar.set_length(total);
                for (i, m) in mailbox_io::read_mbox(&p)?.enumerate() {
                    let m = m.with_context(|| format!("{}: message {}", p.display(), i + 1))?;
                    let uidl = mailbox_io::x_uidl(&m.raw);
                    to.push(message(m), uidl).await?;
                }
                (p, None)
            }
            (None, Some(d)) => {
                let kept = from_maildir(&mut to, &d).await?;
                (d, kept)
            }
            (None, None) => bail!("give --mbox FILE or --maildir DIR"),
        };
        to.flush().await?;
        store
            .import_commit()
            .await
            .with_context(|| format!("committing the import into {}", target.name))?;
        Ok((source, kept))
    };
    let (source, kept) = match filled.await {
        Ok(v) => v,
        // One transaction: a re-run stores nothing twice.
        Err(e) if held => return Err(e.context("the import stopped: nothing was imported")),
        Err(e) => {
            return Err(e.context(format!(
                "the import stopped after storing {} messages",
                to.progress.messages
            )));
        }
    };
    to.progress.finish();
    let how = match kept {
        Some(v) => format!(", keeping Dovecot's UIDs and UIDVALIDITY {v}"),
        None => String::new(),
    };
    outln!(
        "imported {} messages from {} into {} of {}{how}",
        to.progress.messages,
        source.display(),
        target.name,
        address(user)?
    );
    Ok(())
}

fn message(m: ImportedMessage) -> NewMessage {
    NewMessage {
        raw: m.raw,
        internal_date: m.internal_date,
        flags: flags_of(&m.flags),
    }
}

/// The maildir's messages, with Dovecot's UIDs where it has a uidlist;
/// the UIDVALIDITY kept, if it was.
async fn from_maildir(to: &mut Filling<'_>, dir: &Path) -> Result<Option<u32>> {
    let files = mailbox_io::read_maildir(dir)?;
    if to.progress.shown() {
        let total = files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        to.progress.bar.set_length(total);
    }
    let Some(list) = mailbox_io::read_uidlist(dir)? else {
        for f in files.iter() {
            to.push(message(mailbox_io::read_maildir_message(&f)?), None)
                .await?;
        }
        return Ok(None);
    };
    // Positions in the listing, not paths: the listing keeps its names
    // compactly and a path is made when a file is read.
    let (mut listed, fresh): (Vec<usize>, Vec<usize>) =
        (0..files.count()).partition(|&i| list.get(&files.path(i)).is_some());
    listed.sort_by_cached_key(|&i| list.get(&files.path(i)).map(|k| k.uid));
    let kept = match keep_uids(to, &list, &files, &listed).await {
        Ok(()) => Some(list.uidvalidity),
        Err(KeepError::Refused(why)) => {
            eprintln!(
                "postern: warning: the messages get new UIDs ({why}); \
                 IMAP clients will download them again, POP3 UIDLs are kept"
            );
            for &i in &listed {
                let f = files.path(i);
                let k = list.get(&f);
                let uidl = k.map(|k| {
                    k.pop3_uidl
                        .clone()
                        .unwrap_or_else(|| list.default_uidl(k.uid))
                });
                to.push(message(mailbox_io::read_maildir_message(&f)?), uidl)
                    .await?;
            }
            None
        }
        Err(KeepError::Other(e)) => return Err(e),
    };
    // Delivered after Dovecot last wrote its list: new UIDs after its own.
    for i in fresh {
        to.push(
            message(mailbox_io::read_maildir_message(&files.path(i))?),
            None,
        )
        .await?;
    }
    Ok(kept)
}

enum KeepError {
    /// The mailbox cannot take Dovecot's UIDs (checked in the first commit).
    Refused(String),
    Other(anyhow::Error),
}

async fn keep_uids(
    to: &mut Filling<'_>,
    list: &UidList,
    files: &MaildirFiles,
    order: &[usize],
) -> Result<(), KeepError> {
    let v = UidValidity(list.uidvalidity);
    let mut first = true;
    let mut batch = Vec::new();
    let mut bytes = 0;
    let mut i = 0;
    loop {
        let f = order.get(i).map(|&j| files.path(j));
        if let Some(f) = &f {
            let m = mailbox_io::read_maildir_message(f).map_err(KeepError::Other)?;
            let k = list
                .get(f)
                .ok_or_else(|| KeepError::Other(anyhow::anyhow!("listed")))?;
            bytes += m.raw.len();
            batch.push(KeptUid {
                uid: Uid::new(k.uid).ok_or_else(|| KeepError::Other(anyhow::anyhow!("UID 0")))?,
                msg: message(m),
                pop3_uidl: k.pop3_uidl.clone(),
            });
            i += 1;
        }
        let full = batch.len() >= BATCH_MESSAGES || bytes >= to.batch_bytes;
        if full || f.is_none() {
            let n = batch.len() as u64;
            let sent = bytes as u64;
            let r = to
                .store
                .append_kept_uids(
                    to.user,
                    to.mailbox.id,
                    v,
                    f.is_none().then_some(list.next_uid),
                    first,
                    std::mem::take(&mut batch),
                )
                .await;
            match r {
                Ok(_) => to.progress.count(n, sent),
                Err(StoreError::Exists(why)) if first => return Err(KeepError::Refused(why)),
                Err(e) => {
                    return Err(KeepError::Other(
                        anyhow::Error::from(e).context(format!("storing into {}", to.mailbox.name)),
                    ));
                }
            }
            first = false;
            bytes = 0;
        }
        if f.is_none() {
            return Ok(());
        }
    }
}

/// The mailbox being filled, a batch at a time.
struct Filling<'a> {
    store: &'a Store,
    user: UserId,
    mailbox: &'a Mailbox,
    batch: Vec<(NewMessage, Option<String>)>,
    bytes: usize,
    /// A batch is sent when it holds this many bytes (or `BATCH_MESSAGES`).
    batch_bytes: usize,
    progress: Progress,
}

impl Filling<'_> {
    async fn push(&mut self, m: NewMessage, uidl: Option<String>) -> Result<()> {
        self.bytes += m.raw.len();
        self.batch.push((m, uidl));
        if self.batch.len() >= BATCH_MESSAGES || self.bytes >= self.batch_bytes {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let n = batch.len() as u64;
        let bytes = std::mem::take(&mut self.bytes) as u64;
        self.store
            .append_with_uidls(self.user, self.mailbox.id, batch)
            .await
            .with_context(|| format!("storing into {}", self.mailbox.name))?;
        self.progress.count(n, bytes);
        Ok(())
    }
}

/// Messages and bytes stored so far: a bar on a terminal, and one plain
/// line at the end.
struct Progress {
    bar: ProgressBar,
    messages: u64,
    bytes: u64,
    started: Instant,
}

impl Progress {
    fn new() -> Progress {
        let bar = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template(
                "{bar:30} {msg} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}, {eta} left",
            )
            .expect("the template is valid");
            bar.set_style(style);
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress {
            bar,
            messages: 0,
            bytes: 0,
            started: Instant::now(),
        }
    }

    fn shown(&self) -> bool {
        !self.bar.is_hidden()
    }

    fn count(&mut self, messages: u64, bytes: u64) {
        self.messages += messages;
        self.bytes += bytes;
        // Stored bytes have CRLF line ends, an mbox's usually LF: the bar
        // stops at its end.
        let end = self.bar.length().unwrap_or(0);
        self.bar.set_position(self.bytes.min(end));
        let rate = self.messages as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        self.bar
            .set_message(format!("{} messages ({rate:.0}/s)", self.messages));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
        let secs = self.started.elapsed().as_secs_f64();
        eprintln!(
            "imported {} messages, {} bytes in {secs:.1} s ({:.0} messages/s)",
            self.messages,
            self.bytes,
            self.messages as f64 / secs.max(0.001)
        );
    }
}
