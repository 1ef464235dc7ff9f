//! `postern block …`: the blocked client addresses and networks. Changes
//! are store writes; a running server reloads blocks every
//! `[abuse] refresh_secs`, since this process cannot reach it.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use postern_auth::{BlockRecord, IpNet};
use postern_store::Store;

use crate::backend::block_row;
use crate::config::Config;
use crate::mailbox_io::utc_minutes;
use crate::out::outln;

#[derive(Subcommand)]
pub enum BlockCmd {
    /// The blocks in force: address or network, source, created, expires, reason
    List,
    /// Block an address or network (192.0.2.7, 192.0.2.0/24, 2001:db8::/64) on every listener
    #[command(
        long_about = "Block an address or network (192.0.2.7, 192.0.2.0/24, 2001:db8::/64) on every listener.\n\n\
            A blocked client is refused at connect (SMTP 554 5.7.1, IMAP * BYE, POP3 -ERR).\n\
            A manual block holds even for a client that logged in recently: the trusted\n\
            rule ([abuse] trusted_days) only keeps the server from blocking on its own.\n\
            An address in [abuse] allowlist is never blocked, so adding one is refused.\n\
            A running server applies the change within [abuse] refresh_secs."
    )]
    Add {
        /// IPv4 or IPv6 address, or a network in CIDR notation
        net: String,
        /// How long, e.g. 90m, 12h, 7d, 2w (default: until `postern block del`)
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
        /// Why, shown by `postern block list`
        #[arg(long, default_value = "blocked by the administrator")]
        reason: String,
    },
    /// Remove a block (manual or automatic) of exactly this address or network
    Del {
        /// As `postern block list` shows it (or any spelling of the same)
        net: String,
    },
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `90s`, `30m`, `12h`, `7d`, `2w` (a bare number is seconds) in seconds.
fn parse_duration(s: &str) -> Result<i64> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let per = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => 0,
    };
    let n: i64 = digits.parse().unwrap_or(0);
    match n.checked_mul(per) {
        Some(secs) if secs > 0 => Ok(secs),
        _ => bail!("{s:?} is not a duration such as 90m, 12h, 7d or 2w"),
    }
}

fn net(s: &str) -> Result<IpNet> {
    Ok(s.parse::<IpNet>()?)
}

pub async fn block(cfg: &Config, cmd: BlockCmd) -> Result<()> {
    let store = super::open(cfg).await?;
    block_on(cfg, &store, cmd).await
}

/// `block` on an open store (the web console runs it on the server's).
pub async fn block_on(cfg: &Config, store: &Store, cmd: BlockCmd) -> Result<()> {
    match cmd {
        BlockCmd::List => {
            let blocks = store.blocks_active(now()).await?;
            if blocks.is_empty() {
                outln!("No blocks.");
                return Ok(());
            }
            outln!(
                "{:<24} {:<7} {:<17} {:<17} REASON",
                "ADDRESS",
                "SOURCE",
                "CREATED (UTC)",
                "EXPIRES (UTC)"
            );
            for b in blocks {
                let expires = b.expires.map_or_else(|| "never".into(), utc_minutes);
                outln!(
                    "{:<24} {:<7} {:<17} {:<17} {}",
                    b.net,
                    b.source.as_str(),
                    utc_minutes(b.created),
                    expires,
                    b.reason
                );
            }
        }
        BlockCmd::Add {
            net: text,
            duration,
            reason,
        } => {
            let n = net(&text)?;
            if let Some(a) = cfg
                .abuse
                .cfg
                .allowlist
                .iter()
                .find(|a| a.contains(n.addr()) || n.contains(a.addr()))
            {
                bail!("{n} overlaps {a} in [abuse] allowlist, which is never blocked");
            }
            let created = now();
            let expires = match duration {
                Some(d) => Some(created.saturating_add(parse_duration(&d)?)),
                None => None,
            };
            let reason: String = reason.chars().filter(|c| !c.is_control()).collect();
            store
                .block_add(block_row(BlockRecord {
                    net: n,
                    reason,
                    manual: true,
                    created,
                    expires,
                }))
                .await
                .context("storing the block")?;
            match expires {
                Some(e) => outln!("blocked {n} until {} UTC", utc_minutes(e)),
                None => outln!("blocked {n} until `postern block del {n}`"),
            }
        }
        BlockCmd::Del { net: text } => {
            let n = net(&text)?;
            if !store.block_delete(&n.to_string()).await? {
                bail!("{n} is not blocked (see `postern block list`)");
            }
            outln!("removed the block of {n}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("90").expect("secs"), 90);
        assert_eq!(parse_duration("30m").expect("mins"), 1800);
        assert_eq!(parse_duration("12h").expect("hours"), 43_200);
        assert_eq!(parse_duration("7d").expect("days"), 604_800);
        assert_eq!(parse_duration("2w").expect("weeks"), 1_209_600);
        for bad in ["", "0", "h", "3y", "-1d", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
