//! `postern index …`: the full-text index IMAP SEARCH BODY/TEXT read
//! (issue 19). A running server keeps it up to date by itself; `rebuild`
//! drops rows (all, or one user's) and indexes them again here, with a
//! progress bar, beside a running server (SEARCH scans what is not
//! indexed meanwhile, so its answers stay right).

use anyhow::{Result, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::out::outln;

#[derive(Subcommand)]
pub enum IndexCmd {
    /// Index every message again (or only USER's); needed after turning
    /// `[store] fts` back on, or after an upgrade that says so
    Rebuild {
        /// Only this user's mailboxes
        user: Option<String>,
    },
    /// Messages indexed, waiting, and the index's size on disk
    Stats,
}

pub async fn index(cfg: &Config, cmd: IndexCmd) -> Result<()> {
    let store = super::open(cfg).await?;
    match cmd {
        IndexCmd::Rebuild { user } => {
            if !store.fts_enabled() {
                bail!("the full-text index is off ([store] fts = false)");
            }
            let user = match user {
                Some(u) => Some(super::user_id(&store, &u).await?),
                None => None,
            };
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} messages, {eta} left")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let done = store
                .fts_rebuild(user, &|p| {
                    bar.set_length(p.total);
                    bar.set_position(p.done);
                })
                .await?;
            bar.finish_and_clear();
            outln!("indexed {} messages", done.done);
        }
        IndexCmd::Stats => {
            let s = store.fts_stats().await?;
            outln!("indexed  {}", s.docs);
            outln!("queued   {}", s.queued);
            outln!("size     {} bytes", s.index_bytes);
        }
    }
    store.shutdown().await;
    Ok(())
}
