//! The binary's side of the web console (`postern-web`'s `console`): its
//! admin actions are the CLI's commands, run on the server's own store
//! with their printed lines captured for the page (`out::capture`), so
//! each action has one implementation; the dashboard reads what
//! `postern status` reports, and the store's count of the last day's
//! deliveries.

use std::sync::Arc;

use postern_net::TlsManager;
use postern_store::Store;
use postern_web::console::backend::SpamSenderChange;
use postern_web::console::backend::{Admin, AdminAction, AdminResult, BoxFuture, Dashboard};

use crate::admin::SpamCmd;
use crate::admin::{self, AliasCmd, BlockCmd, DkimCmd, DomainCmd, QueueCmd, UserCmd};
use crate::config::Config;
use crate::mailbox_io::utc_minutes;
use crate::ops::Ops;

pub struct ConsoleAdmin {
    pub cfg: Arc<Config>,
    pub store: Store,
    pub ops: Arc<Ops>,
    pub tls: TlsManager,
}

impl ConsoleAdmin {
    async fn act(&self, action: AdminAction) -> anyhow::Result<()> {
        let (cfg, store) = (&*self.cfg, &self.store);
        let user = |cmd| admin::user_on(cfg, store, cmd, None);
        match action {
            AdminAction::DomainAdd { domain } => {
                admin::domain_on(cfg, store, DomainCmd::Add { domain }).await
            }
            AdminAction::DomainDelete { domain } => {
                admin::domain_on(cfg, store, DomainCmd::Del { domain }).await
            }
            AdminAction::DomainDoctor { domain } => admin::domain_records(cfg, &domain).await,
            AdminAction::DomainDns { domain } => {
                admin::domain_on(cfg, store, DomainCmd::Dns { domain }).await
            }
            AdminAction::UserAdd {
                address,
                name,
                quota,
                password,
            } => {
                let cmd = UserCmd::Add {
                    address,
                    name: (!name.trim().is_empty()).then(|| name.trim().to_string()),
                    quota: (!quota.trim().is_empty()).then_some(quota),
                    quota_messages: None,
                };
                admin::user_on(cfg, store, cmd, Some(password)).await
            }
            AdminAction::UserPassword { address, password } => {
                admin::user_on(cfg, store, UserCmd::Passwd { address }, Some(password)).await
            }
            AdminAction::UserDelete { address } => user(UserCmd::Del { address, yes: true }).await,
            AdminAction::UserQuota {
                address,
                quota,
                messages,
            } => {
                let some = |s: String| (!s.trim().is_empty()).then_some(s);
                user(UserCmd::Quota {
                    address,
                    set: some(quota),
                    messages: some(messages),
                })
                .await
            }
            AdminAction::UserDisable { address, disabled } => {
                user(if disabled {
                    UserCmd::Disable { address }
                } else {
                    UserCmd::Enable { address }
                })
                .await
            }
            AdminAction::UserAdmin { address, admin } => {
                user(UserCmd::Admin {
                    address,
                    on: admin,
                    off: !admin,
                })
                .await
            }
            AdminAction::AliasAdd { source, target } => {
                admin::alias_on(
                    store,
                    AliasCmd::Add {
                        source,
                        targets: vec![target],
                    },
                )
                .await
            }
            AdminAction::AliasDelete { source, target } => {
                admin::alias_on(store, AliasCmd::Del { source, target }).await
            }
            AdminAction::QueueShow { id } => admin::queue_on(store, QueueCmd::Show { id }).await,
            AdminAction::QueueRetry { id } => {
                admin::queue_on(
                    store,
                    QueueCmd::Retry {
                        id: Some(id),
                        all: false,
                    },
                )
                .await
            }
            AdminAction::QueueHold { id, hold } => {
                let cmd = if hold {
                    QueueCmd::Hold { id }
                } else {
                    QueueCmd::Release { id }
                };
                admin::queue_on(store, cmd).await
            }
            AdminAction::QueueDelete { id } => {
                admin::queue_on(store, QueueCmd::Delete { id }).await
            }
            AdminAction::BlockAdd {
                net,
                duration,
                reason,
            } => {
                let reason = if reason.trim().is_empty() {
                    "blocked from the web console".to_string()
                } else {
                    reason
                };
                admin::block_on(
                    cfg,
                    store,
                    BlockCmd::Add {
                        net,
                        duration,
                        reason,
                    },
                )
                .await
            }
            AdminAction::BlockDelete { net } => {
                admin::block_on(cfg, store, BlockCmd::Del { net }).await
            }
            AdminAction::BlockList => admin::block_on(cfg, store, BlockCmd::List).await,
            AdminAction::DkimRotate { domain } => {
                admin::dkim_on(cfg, store, DkimCmd::Rotate { domain }).await
            }
            AdminAction::DkimList { domain } => {
                admin::dkim_on(cfg, store, DkimCmd::List { domain }).await
            }
            AdminAction::SpamStats { user } => admin::spam_stats(cfg, store, &user).await,
            AdminAction::SpamSettings {
                user,
                junk_threshold,
                reject,
            } => {
                let cmd = SpamCmd::Settings {
                    user,
                    junk_threshold,
                    reject,
                };
                admin::spam_on(cfg, store, cmd).await
            }
            AdminAction::SpamSender {
                user,
                change,
                sender,
            } => {
                let cmd = match change {
                    SpamSenderChange::Allow => SpamCmd::Allow { user, sender },
                    SpamSenderChange::Block => SpamCmd::Block { user, sender },
                    SpamSenderChange::Unallow => SpamCmd::Unallow { user, sender },
                    SpamSenderChange::Unblock => SpamCmd::Unblock { user, sender },
                };
                admin::spam_on(cfg, store, cmd).await
            }
        }
    }
}

impl Admin for ConsoleAdmin {
    fn run(&self, action: AdminAction) -> BoxFuture<'_, AdminResult> {
        Box::pin(async move {
            let what = format!("{action:?}");
            let (lines, r) = crate::out::capture(self.act(action)).await;
            match r {
                Ok(()) => Ok(lines),
                Err(e) => {
                    tracing::info!(error = %format!("{e:#}"), action = %what.split([' ', '{']).next().unwrap_or(""), "web console: action refused");
                    Err(format!("{e:#}"))
                }
            }
        })
    }

    fn dashboard(&self) -> BoxFuture<'_, Dashboard> {
        Box::pin(async move {
            let s = self.ops.status().await;
            let day_ago = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
                - 86_400;
            let messages_today = match self.store.delivered_since(day_ago).await {
                Ok(n) => Some(n),
                Err(e) => {
                    tracing::warn!(error = %e, "web console: could not count today's deliveries");
                    None
                }
            };
            Dashboard {
                version: s.version,
                hostname: s.hostname,
                uptime_secs: s.uptime_secs,
                listeners: s.listeners.into_iter().map(|l| (l.name, l.addr)).collect(),
                queue: s.queue.map(|q| (q.messages, q.held, q.deferred)),
                messages_today,
                disk_free_bytes: s.disk.free_bytes,
                certificate_expiry: self.tls.current_validity().and_then(|v| {
                    let secs = v
                        .not_after
                        .duration_since(std::time::UNIX_EPOCH)
                        .ok()?
                        .as_secs();
                    Some(format!("{} UTC", utc_minutes(i64::try_from(secs).ok()?)))
                }),
                recent: s
                    .recent
                    .into_iter()
                    .rev()
                    .take(20)
                    .map(|r| (utc_minutes(r.time), r.level, r.text))
                    .collect(),
            }
        })
    }
}
