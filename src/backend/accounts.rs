//! `AccountStore` over the store: app passwords, TOTP and the devices
//! record of the auth crate, kept in the store's account tables.

use std::net::IpAddr;

use postern_auth::{
    AccountStore, AppPasswordRecord, BackendError, ClientId, DeviceRecord, LoginState, Scopes,
    Secret, StoreFuture, TotpRecord,
};
use postern_store::{AppPasswordRow, LoginRow, StoreError, UserId};

use super::{StoreBackend, backend_err};

fn app_record(r: AppPasswordRow) -> Result<AppPasswordRecord, BackendError> {
    let scopes = Scopes::parse(&r.scopes)
        .map_err(|e| BackendError(format!("app password {}: {e}", r.id)))?;
    Ok(AppPasswordRecord {
        id: r.id,
        name: r.name,
        scopes,
        created: r.created_at,
        last_used: r.last_used_at,
        last_ip: r.last_used_ip,
    })
}

fn device(r: LoginRow) -> DeviceRecord {
    DeviceRecord {
        user_id: r.user_id.0,
        proto: r.proto,
        ip: r.ip,
        client: ClientId {
            name: r.client_name,
            version: r.client_version,
            os: r.client_os,
        },
        first_seen: r.first_at,
        last_seen: r.last_at,
    }
}

impl AccountStore for StoreBackend {
    fn login_state(&self, user_id: i64, app_hash: Option<String>) -> StoreFuture<'_, LoginState> {
        Box::pin(async move {
            let (app, totp_active) = self
                .0
                .account_login_state(UserId(user_id), app_hash)
                .await
                .map_err(backend_err)?;
            Ok(LoginState {
                app_password: app.map(app_record).transpose()?,
                totp_active,
            })
        })
    }

    fn app_password_add(
        &self,
        user_id: i64,
        name: String,
        scopes: Scopes,
        hash: String,
    ) -> StoreFuture<'_, Option<AppPasswordRecord>> {
        Box::pin(async move {
            match self
                .0
                .app_password_add(UserId(user_id), &name, &scopes.to_string(), &hash)
                .await
            {
                Ok(row) => app_record(row).map(Some),
                Err(StoreError::Exists(_)) => Ok(None),
                Err(e) => Err(backend_err(e)),
            }
        })
    }

    fn app_password_list(&self, user_id: i64) -> StoreFuture<'_, Vec<AppPasswordRecord>> {
        Box::pin(async move {
            self.0
                .app_password_list(UserId(user_id))
                .await
                .map_err(backend_err)?
                .into_iter()
                .map(app_record)
                .collect()
        })
    }

    fn app_password_revoke(&self, user_id: i64, name: String) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            match self.0.app_password_revoke(UserId(user_id), &name).await {
                Ok(()) => Ok(true),
                Err(StoreError::NotFound(_)) => Ok(false),
                Err(e) => Err(backend_err(e)),
            }
        })
    }

    fn app_password_touch(&self, id: i64, at: i64, ip: IpAddr) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.0
                .app_password_touch(id, at, &ip.to_string())
                .await
                .map_err(backend_err)
        })
    }

    fn totp_get(&self, user_id: i64) -> StoreFuture<'_, Option<TotpRecord>> {
        Box::pin(async move {
            Ok(self
                .0
                .totp_get(UserId(user_id))
                .await
                .map_err(backend_err)?
                .map(|t| TotpRecord {
                    secret: Secret::new(t.secret),
                    confirmed: t.confirmed_at.is_some(),
                    last_step: t.last_step,
                    recovery_left: t.recovery_left,
                }))
        })
    }

    fn totp_begin(
        &self,
        user_id: i64,
        secret: Secret<Vec<u8>>,
        recovery_hashes: Vec<String>,
    ) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            match self
                .0
                .totp_begin(UserId(user_id), secret.expose().clone(), recovery_hashes)
                .await
            {
                Ok(()) => Ok(true),
                Err(StoreError::Exists(_)) => Ok(false),
                Err(e) => Err(backend_err(e)),
            }
        })
    }

    fn totp_take_step(&self, user_id: i64, step: i64, confirm: bool) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            self.0
                .totp_take_step(UserId(user_id), step, confirm)
                .await
                .map_err(backend_err)
        })
    }

    fn totp_use_recovery(&self, user_id: i64, hash: String) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            self.0
                .totp_use_recovery(UserId(user_id), &hash)
                .await
                .map_err(backend_err)
        })
    }

    fn totp_remove(&self, user_id: i64) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            self.0
                .totp_remove(UserId(user_id))
                .await
                .map_err(backend_err)
        })
    }

    fn login_record(&self, login: DeviceRecord, keep: usize) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let row = LoginRow {
                user_id: UserId(login.user_id),
                proto: login.proto,
                ip: login.ip,
                client_name: login.client.name,
                client_version: login.client.version,
                client_os: login.client.os,
                first_at: login.first_seen,
                last_at: login.last_seen,
            };
            self.0.login_record(row, keep).await.map_err(backend_err)
        })
    }

    fn login_list(&self, user_id: i64) -> StoreFuture<'_, Vec<DeviceRecord>> {
        Box::pin(async move {
            Ok(self
                .0
                .login_list(UserId(user_id))
                .await
                .map_err(backend_err)?
                .into_iter()
                .map(device)
                .collect())
        })
    }
}
