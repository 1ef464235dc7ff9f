//! `postern queue …`: the outbound queue as the admin sees it. Changes are
//! store writes; a running server notices them at its next queue scan
//! (`[queue] scan_interval_secs`), since this process cannot wake it.

use anyhow::{Result, bail};
use clap::Subcommand;
use postern_store::{QueueEntry, Store};

use crate::config::Config;
use crate::out::outln;

#[derive(Subcommand)]
pub enum QueueCmd {
    /// List queued messages: id, age, size, sender, recipients and their states
    List,
    /// Show one message's envelope and each recipient's state and last error
    Show { id: i64 },
    /// Try now: make the message's waiting recipients due (every message with --all)
    Retry {
        id: Option<i64>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Remove a message from the queue without a bounce
    Delete { id: i64 },
    /// Stop delivery attempts for a message until it is released
    Hold { id: i64 },
    /// Let a held message be delivered again
    Release { id: i64 },
}

pub(super) fn age(created: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let s = (now - created).max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

fn sender(e: &QueueEntry) -> &str {
    if e.reverse_path.is_empty() {
        "<>"
    } else {
        &e.reverse_path
    }
}

pub async fn queue(cfg: &Config, cmd: QueueCmd) -> Result<()> {
    let store = super::open(cfg).await?;
    queue_on(&store, cmd).await
}

/// `queue` on an open store (the web console runs it on the server's).
pub async fn queue_on(store: &Store, cmd: QueueCmd) -> Result<()> {
    match cmd {
        QueueCmd::List => {
            let list = store.queue_list().await?;
            if list.is_empty() {
                outln!("The queue is empty.");
            }
            for e in list {
                let held = if e.held { " HELD" } else { "" };
                outln!(
                    "{:<8} {:>5} {:>9}  {}{held}",
                    e.id,
                    age(e.created_at),
                    e.size,
                    sender(&e)
                );
                for r in &e.recipients {
                    outln!("         {:<10} {}", r.state, r.address);
                }
            }
        }
        QueueCmd::Show { id } => {
            let Some(e) = store.queue_get(id).await? else {
                bail!("no queued message {id}");
            };
            outln!("id:        {}", e.id);
            outln!("sender:    {}", sender(&e));
            outln!("size:      {}", e.size);
            outln!("age:       {}", age(e.created_at));
            outln!("held:      {}", if e.held { "yes" } else { "no" });
            if let Some(v) = &e.envid {
                outln!("envid:     {v}");
            }
            if let Some(v) = &e.ret {
                outln!("ret:       {v}");
            }
            if let Some(v) = &e.body {
                outln!("body:      {v}");
            }
            if e.smtputf8 {
                outln!("smtputf8:  yes");
            }
            for r in &e.recipients {
                outln!("recipient: {}", r.address);
                outln!("  state:    {} after {} attempts", r.state, r.attempts);
                if r.is_active() {
                    let wait = r.next_attempt
                        - std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_secs() as i64)
                            .unwrap_or(0);
                    outln!("  next try: in {}s", wait.max(0));
                }
                if let Some(m) = &r.remote_mta {
                    outln!("  server:   {m}");
                }
                if let Some(l) = &r.last_error {
                    outln!("  reply:    {l}");
                    let mta = r.remote_mta.as_deref().unwrap_or("");
                    if let Some(a) = postern_smtp::outbound::answer::read(l, mta).advice {
                        outln!("  advice:   {a}");
                    }
                }
                if let Some(d) = &r.dsn_due {
                    outln!("  owes DSN: {d}");
                }
            }
        }
        QueueCmd::Retry { id, all } => {
            if id.is_none() && !all {
                bail!("name a message id, or --all");
            }
            let n = store.queue_retry(id).await?;
            outln!("{n} recipients due now");
        }
        QueueCmd::Delete { id } => {
            if !store.queue_delete(id).await? {
                bail!("no queued message {id}");
            }
            outln!("deleted {id}");
        }
        QueueCmd::Hold { id } | QueueCmd::Release { id } => {
            let hold = matches!(cmd, QueueCmd::Hold { .. });
            if !store.queue_hold(id, hold).await? {
                bail!("no queued message {id}");
            }
            outln!("{} {id}", if hold { "held" } else { "released" });
        }
    }
    Ok(())
}
