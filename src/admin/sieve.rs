//! `postern user sieve`: a user's Sieve scripts from the command line
//! (ManageSieve is the client's way): list them, store one checked
//! against `[sieve]` and make it active, or turn filtering off.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use postern_store::{SieveChange, Store, UserId};

use crate::config::Config;
use crate::out::outln;

pub async fn sieve(
    cfg: &Config,
    store: &Store,
    user: UserId,
    address: &str,
    put: Option<PathBuf>,
    name: &str,
    off: bool,
) -> Result<()> {
    if off {
        store.sieve_activate(user, None).await?;
        outln!("no script is active for {address}");
        return Ok(());
    }
    let Some(file) = put else {
        for s in store.sieve_list(user).await? {
            let active = if s.active { "\tactive" } else { "" };
            outln!("{}\t{} bytes{active}", s.name, s.size);
        }
        return Ok(());
    };
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        bail!("--name {name:?} is not a script name (1-128 characters, no control characters)");
    }
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    postern_delivery::sieve::check(&text, &cfg.sieve)
        .map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let scripts = store.sieve_list(user).await?;
    if !scripts.iter().any(|s| s.name == name) && scripts.len() >= cfg.sieve.max_scripts {
        bail!(
            "{address} has {} scripts, the most [sieve] max_scripts allows",
            scripts.len()
        );
    }
    store.sieve_put(user, name, text).await?;
    match store.sieve_activate(user, Some(name)).await? {
        SieveChange::Done => outln!("stored {name:?} for {address} and made it active"),
        other => bail!("activating {name:?}: {other:?}"),
    }
    Ok(())
}
