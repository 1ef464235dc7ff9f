//! `postern backup`, `restore`, `verify` and `upgrade`: the data
//! directory's safety commands (the work is in `postern_store::backup`,
//! `verify` and `upgrade`; this file parses, shows progress and reports).
//! `backup` and `verify` run beside a server; `restore` wants an empty data
//! directory and `verify --repair` a stopped server.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use postern_store::backup::{BackupOptions, DbCopy};
use postern_store::{OpenMode, SCHEMA_VERSION, Store, StoreOptions, upgrade};

use crate::config::Config;
use crate::out::outln;

#[derive(Args)]
pub struct BackupArgs {
    /// A new or empty directory to write the backup into
    dir: PathBuf,
    /// Hard-link unchanged messages from this earlier backup (default: the
    /// newest backup beside DIR, if any)
    #[arg(long, value_name = "DIR", conflicts_with = "full")]
    since: Option<PathBuf>,
    /// Copy everything, even when an earlier backup sits beside DIR
    #[arg(long)]
    full: bool,
    /// How the database is copied (both read one consistent snapshot)
    #[arg(long, value_enum, default_value_t = DbCopyArg::BackupApi, hide = true)]
    db_copy: DbCopyArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum DbCopyArg {
    BackupApi,
    VacuumInto,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A directory written by `postern backup`
    dir: PathBuf,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Fix what can be fixed without losing mail (the server must be stopped)
    #[arg(long)]
    repair: bool,
}

#[derive(Args)]
pub struct UpgradeArgs {
    /// Run the migrations on a copy and report; change nothing
    #[arg(long)]
    check: bool,
}

pub async fn backup(cfg: &Config, a: BackupArgs) -> Result<()> {
    let data = cfg.data_dir.clone();
    let dest = a.dir.clone();
    let opts = BackupOptions {
        since: a.since,
        full: a.full,
        db_copy: match a.db_copy {
            DbCopyArg::BackupApi => DbCopy::BackupApi,
            DbCopyArg::VacuumInto => DbCopy::VacuumInto,
        },
    };
    let started = Instant::now();
    let report = tokio::task::spawn_blocking(move || {
        let bar = progress_bar();
        let r = postern_store::backup::backup(&data, &dest, &opts, &mut |done, total| {
            if let Some(b) = &bar {
                b.set_length(total);
                b.set_position(done);
            }
        });
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        r
    })
    .await?
    .with_context(|| format!("backing up into {}", a.dir.display()))?;
    let m = report
        .manifest
        .as_ref()
        .context("the backup wrote no manifest")?;
    let since = m
        .since
        .as_ref()
        .map(|p| format!(" {} from {},", report.from_previous, p.display()))
        .unwrap_or_default();
    outln!(
        "backup {}: {} users, {} mailboxes, {} messages, {} blobs ({} files:{since} {} linked, {} copied); database {} KiB in {} ms; {:.1} s in all",
        a.dir.display(),
        m.users,
        m.mailboxes,
        m.messages,
        m.blobs,
        m.blob_files,
        report.linked,
        report.copied,
        m.db_size / 1024,
        report.db_time.as_millis(),
        started.elapsed().as_secs_f64()
    );
    if !report.missing.is_empty() {
        for id in &report.missing {
            eprintln!(
                "postern: warning: blob {} is missing from the data directory",
                id.as_str()
            );
        }
        bail!(
            "{} blob files the database refers to were missing (the backup has the rest): run `postern verify` to see which messages",
            report.missing.len()
        );
    }
    Ok(())
}

/// A bar on a terminal; None otherwise (the summary line is enough).
fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    let style = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:40}] {pos}/{len} blob files ({per_sec}, {eta} left)",
    )
    .ok()?
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message("backup");
    Some(bar)
}

pub async fn restore(cfg: &Config, a: RestoreArgs) -> Result<()> {
    let data = cfg.data_dir.clone();
    let from = a.dir.clone();
    let r = tokio::task::spawn_blocking(move || postern_store::backup::restore(&from, &data))
        .await?
        .with_context(|| {
            format!(
                "restoring {} into {}",
                a.dir.display(),
                cfg.data_dir.display()
            )
        })?;
    let m = &r.manifest;
    outln!(
        "restored {} into {}: {} users, {} mailboxes, {} messages ({} blob files), schema version {} from postern {}; run `postern verify` next",
        a.dir.display(),
        cfg.data_dir.display(),
        m.users,
        m.mailboxes,
        m.messages,
        r.blob_files,
        m.schema_version,
        m.postern_version
    );
    Ok(())
}

pub async fn verify(cfg: &Config, a: VerifyArgs) -> Result<()> {
    let data = cfg.data_dir.clone();
    let repair = a.repair;
    let r = tokio::task::spawn_blocking(move || postern_store::verify::verify(&data, repair))
        .await?
        .with_context(|| format!("verifying {}", cfg.data_dir.display()))?;
    for p in &r.problems {
        let tag = if p.repaired { "repaired" } else { "problem" };
        outln!("{tag}: {}", p.what);
    }
    let fixed = r.problems.len() - r.unrepaired();
    outln!(
        "verified {}: {} messages, {} blobs ({} files), {} queue entries: {} problems, {fixed} repaired",
        cfg.data_dir.display(),
        r.messages,
        r.blobs,
        r.blob_files,
        r.queue,
        r.problems.len()
    );
    match r.unrepaired() {
        0 => Ok(()),
        n if repair => bail!("{n} problems could not be repaired (listed above)"),
        n => {
            bail!("{n} problems found (listed above); `postern verify --repair` fixes what it can")
        }
    }
}

pub async fn upgrade(cfg: &Config, a: UpgradeArgs) -> Result<()> {
    let data = cfg.data_dir.clone();
    if a.check {
        let c = tokio::task::spawn_blocking(move || upgrade::upgrade_check(&data))
            .await?
            .with_context(|| format!("checking the upgrade of {}", cfg.data_dir.display()))?;
        return match c.result {
            Ok(()) if c.from == c.to => {
                outln!("schema version {}: up to date, nothing to migrate", c.from);
                Ok(())
            }
            Ok(()) => {
                outln!(
                    "upgrade check: schema version {} -> {} on a copy: ok in {} ms (nothing was changed)",
                    c.from,
                    c.to,
                    c.elapsed.as_millis()
                );
                Ok(())
            }
            Err(e) => bail!(
                "upgrade check: schema version {} -> {} fails on a copy after {} ms: {e} (nothing was changed)",
                c.from,
                c.to,
                c.elapsed.as_millis()
            ),
        };
    }
    let before = upgrade::stored_schema_version(&cfg.data_dir)?;
    let store = Store::open(
        &cfg.data_dir,
        StoreOptions {
            mode: OpenMode::Admin,
            ..cfg.store.clone()
        },
    )
    .with_context(|| format!("opening the data directory {}", cfg.data_dir.display()))?;
    store.shutdown().await;
    match before {
        Some(v) if v < SCHEMA_VERSION && cfg.store.pre_upgrade_keep == 0 => outln!(
            "upgraded schema version {v} -> {SCHEMA_VERSION} (no snapshot: [store] pre_upgrade_keep = 0)"
        ),
        Some(v) if v < SCHEMA_VERSION => outln!(
            "upgraded schema version {v} -> {SCHEMA_VERSION}; the snapshot from before is in {}",
            cfg.data_dir
                .join(format!("{}{v}-*", upgrade::PRE_UPGRADE_PREFIX))
                .display()
        ),
        _ => outln!("schema version {SCHEMA_VERSION}: up to date"),
    }
    Ok(())
}
