//! `postern spam …`: bulk training of a user's classifier from mail on disk
//! (`train`), what the user's and the global model hold and their own
//! settings (`stats`), why a message was filed where it was (`explain`,
//! spam_explain.rs), and a user's own settings and allowed/blocked senders
//! (`settings`, `allow`, `block`, `unallow`, `unblock`, `senders`:
//! spam_prefs.rs). The
//! models are written with the same compare-and-swap as the server's
//! trainer, so this is safe while the server runs, and the server's cached
//! models notice the new version at their next scoring.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use postern_spam::training::{Learned, Lesson, TrainingConfig, Want, learn};
use postern_spam::{Class, Model, ReadLimits};
use postern_store::{BlobId, ModelOwner, ModelRead, Store, UserId};

use super::spam_prefs::{self as prefs, SenderChange};
use crate::config::Config;
use crate::mailbox_io;
use crate::out::outln;

#[derive(Subcommand)]
pub enum SpamCmd {
    /// Train USER's classifier (and the global one) from mail on disk: each
    /// PATH is an mbox file, a Maildir, or a directory of message files
    Train {
        user: String,
        /// Spam to learn from (repeatable)
        #[arg(long, value_name = "PATH")]
        spam: Vec<PathBuf>,
        /// Ham (wanted mail) to learn from (repeatable)
        #[arg(long, value_name = "PATH")]
        ham: Vec<PathBuf>,
    },
    /// What USER's and the global classifier have learned
    Stats { user: String },
    /// Why a message of USER's was filed where it was: the verdict it was
    /// delivered with, test by test, and how it scores now
    Explain {
        user: String,
        /// The message's UID (in --mailbox)
        #[arg(
            long,
            conflicts_with = "message_id",
            required_unless_present = "message_id"
        )]
        uid: Option<u32>,
        /// The mailbox holding --uid
        #[arg(long, default_value = "INBOX")]
        mailbox: String,
        /// Find the message by its Message-ID in any of USER's mailboxes
        #[arg(long)]
        message_id: Option<String>,
    },
    /// USER's own spam settings: show them, or set the junk threshold
    /// (a number, or "default") and whether clear spam is refused
    Settings {
        user: String,
        /// Score at or above which mail goes to USER's Junk ("default": the server's)
        #[arg(long, value_name = "X|default")]
        junk_threshold: Option<String>,
        /// off: file clear spam in Junk instead of refusing it
        #[arg(long, value_name = "on|off|default")]
        reject: Option<String>,
    },
    /// Allow SENDER (an address, or @domain) for USER: its mail skips the
    /// filter when its From domain is authenticated
    Allow { user: String, sender: String },
    /// Block SENDER (an address, or @domain) for USER: its mail goes to Junk
    Block { user: String, sender: String },
    /// Take SENDER off USER's allowed senders
    Unallow { user: String, sender: String },
    /// Take SENDER off USER's blocked senders
    Unblock { user: String, sender: String },
    /// USER's allowed and blocked senders
    Senders { user: String },
}

/// Messages per commit: bounds what one step holds and lets a running
/// server's trainer interleave.
const STEP: usize = 200;

pub async fn spam(cfg: &Config, cmd: SpamCmd) -> Result<()> {
    let store = super::open(cfg).await?;
    spam_on(cfg, &store, cmd).await
}

/// A `postern spam` command on an open store (the web console's too).
pub async fn spam_on(cfg: &Config, store: &Store, cmd: SpamCmd) -> Result<()> {
    match cmd {
        SpamCmd::Train { user, spam, ham } => {
            if spam.is_empty() && ham.is_empty() {
                bail!("give --spam PATH or --ham PATH (or both)");
            }
            let uid = super::user_id(store, &user).await?;
            let mut total = Learned::default();
            let mut read = 0u64;
            for (paths, class) in [(&spam, Class::Spam), (&ham, Class::Ham)] {
                for p in paths {
                    let mut t = Trainer {
                        store,
                        config: &cfg.spam_training,
                        user: uid,
                        class,
                        pending: Vec::new(),
                        learned: &mut total,
                        read: &mut read,
                    };
                    t.path(p).await?;
                    t.flush().await?;
                }
            }
            if std::io::stderr().is_terminal() && read >= STEP as u64 {
                eprintln!();
            }
            outln!(
                "read {read} messages for {}: {} trained, {} untrained (a message already trained the same way counts once)",
                super::address(&user)?,
                total.trained,
                total.untrained
            );
        }
        SpamCmd::Stats { user } => {
            stats(store, &cfg.spam_training, &user).await?;
            prefs::stats_lines(cfg, store, &user).await?
        }
        SpamCmd::Explain {
            user,
            uid,
            mailbox,
            message_id,
        } => {
            let which = match (uid, message_id) {
                (Some(uid), _) => super::spam_explain::Which::Uid { mailbox, uid },
                (None, Some(id)) => super::spam_explain::Which::MessageId(id),
                (None, None) => bail!("give --uid UID or --message-id ID"),
            };
            super::spam_explain::explain(cfg, store, &user, which).await?
        }
        SpamCmd::Settings {
            user,
            junk_threshold,
            reject,
        } => {
            prefs::settings(
                cfg,
                store,
                &user,
                junk_threshold.as_deref(),
                reject.as_deref(),
            )
            .await?
        }
        SpamCmd::Allow { user, sender } => {
            prefs::sender(cfg, store, &user, SenderChange::Allow, &sender).await?
        }
        SpamCmd::Block { user, sender } => {
            prefs::sender(cfg, store, &user, SenderChange::Block, &sender).await?
        }
        SpamCmd::Unallow { user, sender } => {
            prefs::sender(cfg, store, &user, SenderChange::Unallow, &sender).await?
        }
        SpamCmd::Unblock { user, sender } => {
            prefs::sender(cfg, store, &user, SenderChange::Unblock, &sender).await?
        }
        SpamCmd::Senders { user } => prefs::senders(store, &user).await?,
    }
    Ok(())
}

/// One `--spam` or `--ham` run: reads messages, learns them `STEP` at a time.
struct Trainer<'a> {
    store: &'a Store,
    config: &'a TrainingConfig,
    user: UserId,
    class: Class,
    pending: Vec<Lesson>,
    learned: &'a mut Learned,
    read: &'a mut u64,
}

impl Trainer<'_> {
    async fn path(&mut self, p: &Path) -> Result<()> {
        let meta = std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))?;
        if !meta.is_dir() {
            for (i, m) in mailbox_io::read_mbox(p)?.enumerate() {
                let m = m.with_context(|| format!("{}: message {}", p.display(), i + 1))?;
                self.add(m.raw).await?;
            }
            return Ok(());
        }
        let files = if p.join("cur").is_dir() || p.join("new").is_dir() {
            mailbox_io::read_maildir(p)?.iter().collect()
        } else {
            plain_files(p)?
        };
        for f in files {
            self.add(mailbox_io::read_maildir_message(&f)?.raw).await?;
        }
        Ok(())
    }

    async fn add(&mut self, raw: Vec<u8>) -> Result<()> {
        let lesson = Lesson::new(
            self.user,
            BlobId::of(&raw),
            &raw,
            Want::Train(self.class),
            &self.config.classifier_options(),
            &ReadLimits::default(),
        );
        self.pending.push(lesson);
        *self.read += 1;
        if self.pending.len() >= STEP {
            self.flush().await?;
            if std::io::stderr().is_terminal() {
                eprint!("\rread {} messages", self.read);
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let l = learn(self.store, self.config, &self.pending, &[]).await?;
        self.learned.trained += l.trained;
        self.learned.untrained += l.untrained;
        self.pending.clear();
        Ok(())
    }
}

/// The regular files of a directory that is not a Maildir (a corpus such
/// as SpamAssassin's), by name; dotfiles skipped.
fn plain_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let listing = || format!("listing {}", dir.display());
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).with_context(listing)? {
        let e = e.with_context(listing)?;
        if e.file_name().as_encoded_bytes().starts_with(b".") {
            continue;
        }
        if e.file_type().with_context(listing)?.is_file() {
            files.push(e.path());
        }
    }
    files.sort();
    Ok(files)
}

/// `postern spam stats USER` on an open store (the web console's spam page).
pub async fn spam_stats(cfg: &Config, store: &Store, user: &str) -> Result<()> {
    stats(store, &cfg.spam_training, user).await?;
    prefs::stats_lines(cfg, store, user).await
}

async fn stats(store: &Store, config: &TrainingConfig, user: &str) -> Result<()> {
    let uid = super::user_id(store, user).await?;
    let s = store.training_stats(uid).await?;
    outln!(
        "{}: {} spam, {} ham trained ({} waiting for the trainer); {} senders known",
        super::address(user)?,
        s.trained_spam,
        s.trained_ham,
        s.pending,
        s.senders
    );
    let reads = store
        .spam_models(vec![
            (ModelOwner::User(uid), None),
            (ModelOwner::Global, None),
        ])
        .await?;
    for (name, read) in ["user model", "global model"].into_iter().zip(reads) {
        match read {
            ModelRead::Found(m) => {
                let model = Model::from_bytes(&m.bytes, config.classifier_options().max_table_size)
                    .with_context(|| format!("reading the {name}"))?;
                let (spam, ham) = model.trained();
                outln!(
                    "{name}: {spam} spam, {ham} ham; {} buckets used; {} bytes stored (at most {}), {} KiB in memory; last trained {} ago",
                    model.used_buckets(),
                    m.bytes.len(),
                    config.max_model_bytes,
                    model.memory_bytes() / 1024,
                    super::queue::age(m.updated_at)
                );
            }
            _ => outln!("{name}: not trained yet"),
        }
    }
    Ok(())
}
