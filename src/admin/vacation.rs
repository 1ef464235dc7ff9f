//! `postern user vacation`: an out-of-office reply for users without a
//! client that speaks ManageSieve. It writes a Sieve script (RFC 5230)
//! named `postern-vacation` and makes it the active one; the script the
//! user had active runs after the reply (`include`) and is made active
//! again by `--off`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use postern_delivery::sieve::vacation::{SCRIPT_NAME, previous_of, script};
use postern_store::{Store, UserId};

use crate::config::Config;
use crate::out::outln;

/// What the command was asked.
pub struct VacationArgs {
    pub on: bool,
    pub off: bool,
    pub subject: Option<String>,
    pub message: Option<PathBuf>,
    pub until: Option<String>,
    pub days: u32,
}

pub async fn vacation(
    cfg: &Config,
    store: &Store,
    user: UserId,
    address: &str,
    a: VacationArgs,
) -> Result<()> {
    match (a.on, a.off) {
        (true, false) => on(cfg, store, user, address, a).await,
        (false, true) => off(store, user, address).await,
        (false, false) => show(store, user, address).await,
        (true, true) => bail!("--on and --off together make no sense"),
    }
}

async fn on(
    cfg: &Config,
    store: &Store,
    user: UserId,
    address: &str,
    a: VacationArgs,
) -> Result<()> {
    let Some(file) = &a.message else {
        bail!("--on needs --message FILE (the reply's text)");
    };
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    if let Some(d) = &a.until
        && !postern_net::is_calendar_date(d)
    {
        bail!("--until {d:?} is not a date such as 2027-01-31");
    }
    if a.days == 0 {
        bail!("--days must be at least 1");
    }
    let subject = a.subject.as_deref().unwrap_or("Out of office");
    let previous = match store.sieve_active(user).await? {
        Some((name, _)) if name != SCRIPT_NAME => Some(name),
        Some((_, text)) => previous_of(&text).map(str::to_string),
        None => None,
    };
    let s = script(
        subject,
        &text,
        a.days,
        a.until.as_deref(),
        previous.as_deref(),
    );
    postern_delivery::sieve::check(&s, &cfg.sieve)
        .map_err(|e| anyhow::anyhow!("the reply: {e}"))?;
    store.sieve_put(user, SCRIPT_NAME, s).await?;
    store.sieve_activate(user, Some(SCRIPT_NAME)).await?;
    let until = a.until.map(|d| format!(" until {d}")).unwrap_or_default();
    outln!(
        "vacation reply on for {address}{until}, once per sender every {} days",
        a.days
    );
    if let Some(p) = previous {
        outln!("their script {p:?} still runs after it, and is active again after --off");
    }
    Ok(())
}

async fn off(store: &Store, user: UserId, address: &str) -> Result<()> {
    let Some(text) = store.sieve_get(user, SCRIPT_NAME).await? else {
        outln!("no vacation reply for {address}");
        return Ok(());
    };
    let previous = previous_of(&text).map(str::to_string);
    store.sieve_activate(user, previous.as_deref()).await?;
    store.sieve_delete(user, SCRIPT_NAME).await?;
    match previous {
        Some(p) => outln!("vacation reply off for {address}; {p:?} is active again"),
        None => outln!("vacation reply off for {address}"),
    }
    Ok(())
}

async fn show(store: &Store, user: UserId, address: &str) -> Result<()> {
    let on = matches!(store.sieve_active(user).await?, Some((n, _)) if n == SCRIPT_NAME);
    outln!(
        "vacation reply for {address}: {}",
        if on { "on" } else { "off" }
    );
    Ok(())
}
