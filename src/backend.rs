//! The auth directory's storage, served by the mailbox store: the binary is
//! the one place that knows both crates, so the adapters live here
//! (`DirectoryBackend` for users and aliases, `AbuseStore` for blocks and
//! logins, `AccountStore` for app passwords, TOTP and devices in
//! `backend/accounts.rs`).

use postern_auth::{
    AbuseStore, BackendError, BlockRecord, DirectoryBackend, IpNet, StoreFuture, UserRecord,
};
use postern_store::{BlockRow, BlockSource, Store, UserId, UserRow};

mod accounts;

/// `DirectoryBackend` over the store's directory tables.
pub struct StoreBackend(pub Store);

fn record(u: UserRow) -> UserRecord {
    UserRecord {
        id: u.id.0,
        address: u.address,
        display_name: u.display_name,
        password_hash: u.password_hash,
        disabled: u.disabled,
    }
}

fn backend_err(e: postern_store::StoreError) -> BackendError {
    BackendError(e.to_string())
}

impl DirectoryBackend for StoreBackend {
    fn domain_exists(&self, domain: &str) -> Result<bool, BackendError> {
        self.0.domain_exists_blocking(domain).map_err(backend_err)
    }
    fn user_by_address(&self, address: &str) -> Result<Option<UserRecord>, BackendError> {
        Ok(self
            .0
            .user_by_address_blocking(address)
            .map_err(backend_err)?
            .map(record))
    }
    fn user_by_id(&self, id: i64) -> Result<Option<UserRecord>, BackendError> {
        Ok(self
            .0
            .user_by_id_blocking(UserId(id))
            .map_err(backend_err)?
            .map(record))
    }
    fn alias_targets(&self, source: &str) -> Result<Vec<String>, BackendError> {
        self.0.alias_targets_blocking(source).map_err(backend_err)
    }
    fn alias_sources_for(&self, target: &str) -> Result<Vec<String>, BackendError> {
        self.0
            .alias_sources_for_blocking(target)
            .map_err(backend_err)
    }
}

/// The store's row for a block.
pub fn block_row(b: BlockRecord) -> BlockRow {
    BlockRow {
        net: b.net.to_string(),
        reason: b.reason,
        source: if b.manual {
            BlockSource::Manual
        } else {
            BlockSource::Auto
        },
        created: b.created,
        expires: b.expires,
    }
}

impl AbuseStore for StoreBackend {
    fn add_block(&self, block: BlockRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.0
                .block_add(block_row(block))
                .await
                .map(|_| ())
                .map_err(backend_err)
        })
    }

    fn active_blocks(&self, now: i64) -> StoreFuture<'_, Vec<BlockRecord>> {
        Box::pin(async move {
            let rows = self.0.blocks_active(now).await.map_err(backend_err)?;
            Ok(rows
                .into_iter()
                .filter_map(|r| {
                    // A row we cannot read is skipped, not a reason to drop
                    // every other block.
                    let net = r.net.parse::<IpNet>().ok()?;
                    Some(BlockRecord {
                        net,
                        reason: r.reason,
                        manual: r.source == BlockSource::Manual,
                        created: r.created,
                        expires: r.expires,
                    })
                })
                .collect())
        })
    }

    fn record_login(&self, net: IpNet, at: i64) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.0
                .auth_success_record(&net.to_string(), at)
                .await
                .map_err(backend_err)
        })
    }

    fn last_login(&self, net: IpNet) -> StoreFuture<'_, Option<i64>> {
        Box::pin(async move {
            self.0
                .auth_success_last(&net.to_string())
                .await
                .map_err(backend_err)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;

    use postern_auth::{AuthConfig, AuthOutcome, Directory, Resolution, Secret};
    use postern_store::{NewUser, OpenMode, StoreOptions};

    use super::*;

    #[tokio::test]
    async fn the_directory_logs_in_and_resolves_through_a_real_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(
            dir.path(),
            StoreOptions {
                mode: OpenMode::Admin,
                ..StoreOptions::default()
            },
        )
        .expect("open");
        store.domain_add("example.org").await.expect("domain");
        let pw = Secret::new("correct horse".to_string());
        let hash = postern_auth::hash_password_cheap_for_tests(&pw).expect("hash");
        let id = store
            .user_add(NewUser {
                address: "ann@example.org".into(),
                display_name: "Ann".into(),
                password_hash: hash.clone(),
                quota_bytes: None,
                quota_messages: None,
            })
            .await
            .expect("user");
        store
            .alias_add("info@example.org", "ann@example.org")
            .await
            .expect("alias");
        store
            .alias_add("info@example.org", "out@example.net")
            .await
            .expect("alias");
        let d = Directory::new_with_dummy_hash(
            Arc::new(StoreBackend(store.clone())),
            AuthConfig::default(),
            hash,
        );
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        match d.authenticate("imap", ip, "Ann@Example.org", &pw).await {
            AuthOutcome::Success(p) => {
                assert_eq!((p.user_id, p.address.as_str()), (id.0, "ann@example.org"))
            }
            other => panic!("login failed: {other:?}"),
        }
        let wrong = Secret::new("wrong".to_string());
        assert!(matches!(
            d.authenticate("imap", ip, "ann@example.org", &wrong).await,
            AuthOutcome::Failed
        ));
        match d
            .resolve_recipient("INFO@example.org")
            .await
            .expect("resolve")
        {
            Resolution::Deliver { local, external } => {
                assert_eq!(local.iter().map(|l| l.user_id).collect::<Vec<_>>(), [id.0]);
                assert_eq!(external, ["out@example.net"]);
            }
            Resolution::Unknown => panic!("alias not resolved"),
        }
        assert!(matches!(
            d.resolve_recipient("ann+tag@example.org").await,
            Ok(Resolution::Deliver { .. })
        ));
        assert!(matches!(
            d.resolve_recipient("nobody@example.org").await,
            Ok(Resolution::Unknown)
        ));
        store
            .user_set_disabled("ann@example.org", true)
            .await
            .expect("disable");
        assert!(
            !matches!(
                d.authenticate("imap", ip, "ann@example.org", &pw).await,
                AuthOutcome::Success(_)
            ),
            "a disabled user cannot log in"
        );
    }
}
