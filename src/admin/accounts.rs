//! `postern user app-password|totp|devices`: a user's app passwords, TOTP
//! two-factor and recent logins, through the same auth API the web
//! console's account pages call.

use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use postern_auth::{Abuse, AccountError, Directory, Scopes, TotpStatus};
use postern_store::Store;

use crate::backend::StoreBackend;
use crate::config::Config;
use crate::mailbox_io::utc_minutes;
use crate::out::outln;

#[derive(Subcommand)]
pub enum AppPasswordCmd {
    /// Make a new app password and print it (once): a mail client logs in
    /// with it instead of the account password
    Add {
        address: String,
        /// A name to tell it apart ("phone", "laptop")
        name: String,
        /// The protocols it opens, comma-separated: imap, pop3, smtp,
        /// managesieve (default: all of them)
        #[arg(long, value_name = "LIST")]
        scope: Option<String>,
    },
    /// List a user's app passwords with their scopes and last use
    List { address: String },
    /// Revoke an app password: logins with it fail from now on
    Revoke { address: String, name: String },
}

#[derive(Subcommand)]
pub enum TotpCmd {
    /// Start two-factor login: prints the secret, the otpauth:// URI and
    /// ten recovery codes; it is on once `confirm` sees a first code
    Enroll { address: String },
    /// Turn TOTP on with a code from the authenticator app
    Confirm { address: String, code: String },
    /// Turn TOTP off and drop the recovery codes
    Disable { address: String },
    /// Say whether TOTP is off, waiting for confirmation, or on
    Status { address: String },
}

impl AppPasswordCmd {
    /// The user the command is about.
    pub fn address(&self) -> &str {
        match self {
            Self::Add { address, .. } | Self::List { address } | Self::Revoke { address, .. } => {
                address
            }
        }
    }
}

impl TotpCmd {
    /// The user the command is about.
    pub fn address(&self) -> &str {
        match self {
            Self::Enroll { address }
            | Self::Confirm { address, .. }
            | Self::Disable { address }
            | Self::Status { address } => address,
        }
    }
}

/// A directory over the store, for the account API (no abuse tracking:
/// the CLI logs nobody in).
fn directory(cfg: &Config, store: &Store) -> Directory {
    let backend = Arc::new(StoreBackend(store.clone()));
    Directory::with_accounts(
        backend.clone(),
        cfg.auth.clone(),
        Abuse::disabled(),
        backend,
    )
}

fn when(t: Option<i64>) -> String {
    t.map(|t| format!("{} UTC", utc_minutes(t)))
        .unwrap_or_else(|| "never".into())
}

/// The CLI's message for an account API refusal.
fn refusal(e: AccountError) -> anyhow::Error {
    anyhow!("{e}")
}

pub async fn app_password(
    cfg: &Config,
    store: &Store,
    user: i64,
    address: &str,
    cmd: AppPasswordCmd,
) -> Result<()> {
    let dir = directory(cfg, store);
    match cmd {
        AppPasswordCmd::Add { name, scope, .. } => {
            let scopes = match scope {
                Some(s) => Scopes::parse(&s).map_err(refusal)?,
                None => Scopes::ALL,
            };
            let created = dir
                .app_password_create(user, &name, scopes)
                .await
                .map_err(refusal)?;
            outln!(
                "app password {:?} for {address} ({}), shown this once:",
                created.record.name,
                created.record.scopes
            );
            outln!("  {}", created.password.expose());
        }
        AppPasswordCmd::List { .. } => {
            let list = dir.app_password_list(user).await.map_err(refusal)?;
            if list.is_empty() {
                outln!("{address} has no app passwords");
            }
            for p in list {
                let used = match (&p.last_used, &p.last_ip) {
                    (Some(_), Some(ip)) => format!("{} from {ip}", when(p.last_used)),
                    _ => when(p.last_used),
                };
                outln!(
                    "{}\t{}\tcreated {}\tlast used {used}",
                    p.name,
                    p.scopes,
                    when(Some(p.created))
                );
            }
        }
        AppPasswordCmd::Revoke { name, .. } => {
            if !dir
                .app_password_revoke(user, &name)
                .await
                .map_err(refusal)?
            {
                bail!("{address} has no app password named {name:?}");
            }
            outln!("revoked app password {name:?} of {address}");
        }
    }
    Ok(())
}

pub async fn totp(
    cfg: &Config,
    store: &Store,
    user: i64,
    address: &str,
    cmd: TotpCmd,
) -> Result<()> {
    let dir = directory(cfg, store);
    match cmd {
        TotpCmd::Enroll { .. } => {
            let e = dir.totp_enroll(user, address).await.map_err(refusal)?;
            outln!("secret: {}", e.secret_base32.expose());
            outln!("uri: {}", e.uri.expose());
            outln!("recovery codes (each works once; shown this once):");
            for c in &e.recovery_codes {
                outln!("  {}", c.expose());
            }
            outln!("TOTP is on once confirmed: postern user totp confirm {address} CODE");
        }
        TotpCmd::Confirm { code, .. } => {
            if !dir.totp_confirm(user, &code).await.map_err(refusal)? {
                bail!(
                    "the code was not accepted (wrong, already used, or nothing to confirm: see `postern user totp status {address}`)"
                );
            }
            let mail = if cfg.auth.password_on_mail_with_totp {
                "the account password still opens IMAP, POP3 and SMTP"
            } else {
                "mail clients now need app passwords ([auth] password_on_mail_with_totp)"
            };
            outln!("TOTP is on for {address}; {mail}");
        }
        TotpCmd::Disable { .. } => {
            if !dir.totp_disable(user).await.map_err(refusal)? {
                bail!("TOTP is not on for {address}");
            }
            outln!("TOTP is off for {address}");
        }
        TotpCmd::Status { .. } => match dir.totp_status(user).await.map_err(refusal)? {
            TotpStatus::Off => outln!("off"),
            TotpStatus::Pending => outln!("pending: waiting for a first code (totp confirm)"),
            TotpStatus::Active { recovery_left } => {
                outln!("on ({recovery_left} recovery codes left)")
            }
        },
    }
    Ok(())
}

/// `postern user devices USER`: one line per recent login row.
pub async fn devices(cfg: &Config, store: &Store, user: i64, address: &str) -> Result<()> {
    let rows = directory(cfg, store)
        .devices(user)
        .await
        .map_err(refusal)
        .context("reading the logins")?;
    if rows.is_empty() {
        outln!("no logins recorded for {address}");
    }
    for d in rows {
        let c = &d.client;
        let client = if c.is_empty() {
            "-".to_string()
        } else {
            [c.name.as_str(), c.version.as_str(), c.os.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        };
        outln!(
            "{}\t{}\t{client}\tlast {}\tfirst {}",
            d.proto,
            d.ip,
            when(Some(d.last_seen)),
            when(Some(d.first_seen))
        );
    }
    Ok(())
}
