//! `postern spam settings|allow|block|unallow|unblock|senders USER …`: a
//! user's own spam settings (their junk threshold, whether clear spam is
//! refused for them) and the senders they allow or block. The web
//! console's /account/spam runs these same functions, so every check
//! (the address or domain, the per-user bound, the threshold's range
//! against the config) is made here once. A running server sees the
//! change within a couple of seconds (its cache rechecks the store).

use anyhow::{Result, anyhow, bail};
use postern_store::{SenderPattern, SenderRuleKind, SpamPrefs, Store, StoreError};

use crate::config::Config;
use crate::out::outln;

/// Which list a sender command changes, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderChange {
    Allow,
    Block,
    Unallow,
    Unblock,
}

/// `postern spam settings USER [--junk-threshold X|default] [--reject
/// on|off|default]`: sets what is given, then shows the settings.
pub async fn settings(
    cfg: &Config,
    store: &Store,
    user: &str,
    junk: Option<&str>,
    reject: Option<&str>,
) -> Result<()> {
    let address = super::address(user)?;
    let uid = super::user_id(store, &address).await?;
    let mut own = store.spam_prefs(uid).await?;
    if junk.is_some() || reject.is_some() {
        if let Some(j) = junk {
            own.junk_threshold = match j.trim() {
                d if d.eq_ignore_ascii_case("default") => None,
                n => {
                    let v: f64 = n.parse().map_err(|_| {
                        anyhow!("junk threshold {n:?} is not a number (nor \"default\")")
                    })?;
                    cfg.spam
                        .check_user_junk(&address, v)
                        .map_err(anyhow::Error::msg)?;
                    Some(v)
                }
            };
        }
        if let Some(r) = reject {
            own.reject = match r.trim().to_ascii_lowercase().as_str() {
                "default" => None,
                "off" => Some(false),
                "on" => {
                    if cfg.spam.thresholds(&address).reject.is_none() {
                        bail!(
                            "this server never refuses spam for {address}; refusal cannot be turned on"
                        );
                    }
                    Some(true)
                }
                other => bail!("reject {other:?} is not on, off or default"),
            };
        }
        store
            .spam_prefs_set(uid, own.junk_threshold, own.reject)
            .await?;
        outln!("{address}: spam settings saved");
    }
    show(cfg, &address, &own)
}

/// The settings of `address` as lines (also `postern spam stats`').
fn show(cfg: &Config, address: &str, own: &SpamPrefs) -> Result<()> {
    let server = cfg.spam.thresholds(address);
    match own.junk_threshold {
        Some(j) => outln!(
            "junk threshold: {j:.1} (own setting; the server's is {:.1})",
            server.junk
        ),
        None => outln!("junk threshold: {:.1} (the server's)", server.junk),
    }
    let server_reject = match server.reject {
        Some(r) => format!("refused at {r:.1}"),
        None => "never refused".into(),
    };
    match own.reject {
        Some(false) => outln!(
            "clear spam: filed in Junk, never refused (own setting; the server's: {server_reject})"
        ),
        Some(true) => outln!("clear spam: {server_reject} (own setting, as the server's)"),
        None => outln!("clear spam: {server_reject} (the server's)"),
    }
    let allowed = own
        .senders
        .iter()
        .filter(|(_, k)| *k == SenderRuleKind::Allow)
        .count();
    outln!(
        "senders: {allowed} allowed, {} blocked (at most {} in all)",
        own.senders.len() - allowed,
        cfg.spam.max_sender_rules
    );
    Ok(())
}

/// `postern spam allow|block|unallow|unblock USER SENDER`.
pub async fn sender(
    cfg: &Config,
    store: &Store,
    user: &str,
    change: SenderChange,
    sender: &str,
) -> Result<()> {
    let address = super::address(user)?;
    let uid = super::user_id(store, &address).await?;
    let pattern = SenderPattern::parse(sender).map_err(anyhow::Error::msg)?;
    let kind = match change {
        SenderChange::Allow | SenderChange::Unallow => SenderRuleKind::Allow,
        SenderChange::Block | SenderChange::Unblock => SenderRuleKind::Block,
    };
    match change {
        SenderChange::Allow | SenderChange::Block => {
            let before = store.spam_prefs(uid).await?;
            let was = before.senders.iter().find(|(p, _)| *p == pattern);
            store
                .spam_sender_rule_add(uid, &pattern, kind, cfg.spam.max_sender_rules)
                .await
                .map_err(|e| match e {
                    StoreError::Invalid(why) => anyhow!("{address}: {why}"),
                    e => e.into(),
                })?;
            let moved = match was {
                Some((_, k)) if *k != kind => format!(" (no longer {})", k.as_str()),
                _ => String::new(),
            };
            outln!("{address}: {pattern} {}{moved}", kind.as_str());
            if kind == SenderRuleKind::Allow {
                outln!(
                    "(allowed only when the message's From domain is authenticated: DMARC, or SPF or DKIM for exactly that domain)"
                );
            }
        }
        SenderChange::Unallow | SenderChange::Unblock => {
            match store.spam_sender_rule_remove(uid, &pattern, kind).await {
                Ok(()) => outln!("{address}: {pattern} no longer {}", kind.as_str()),
                Err(StoreError::NotFound(_)) => {
                    bail!(
                        "{pattern} is not among the {} senders of {address}",
                        kind.as_str()
                    )
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// `postern spam senders USER`: the allowed and blocked senders, one a line.
pub async fn senders(store: &Store, user: &str) -> Result<()> {
    let address = super::address(user)?;
    let uid = super::user_id(store, &address).await?;
    let own = store.spam_prefs(uid).await?;
    if own.senders.is_empty() {
        outln!("{address}: no allowed or blocked senders");
    }
    for (pattern, kind) in &own.senders {
        let verb = match kind {
            SenderRuleKind::Allow => "allow",
            SenderRuleKind::Block => "block",
        };
        outln!("{verb} {pattern}");
    }
    Ok(())
}

/// The settings lines for `postern spam stats`.
pub async fn stats_lines(cfg: &Config, store: &Store, user: &str) -> Result<()> {
    let address = super::address(user)?;
    let uid = super::user_id(store, &address).await?;
    show(cfg, &address, &store.spam_prefs(uid).await?)
}
