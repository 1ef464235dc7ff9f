//! How app passwords and TOTP meet a login, and the account API over an
//! in-memory account store.

use std::time::Duration;

use super::totp::{base32_decode, code_at_step, step_at};
use super::*;
use crate::fixtures::*;
use crate::{AuthConfig, AuthOutcome, SecondFactor, TotpStatus};

/// Lets the background writes the login path spawned run.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

async fn login_over(dir: &Directory, proto: &str, pass: &str) -> AuthOutcome {
    dir.authenticate(proto, ip(IP_A), "alice@example.org", &pw(pass))
        .await
}

fn current_code(enrolment: &crate::TotpEnrollment, offset: i64) -> String {
    let secret = base32_decode(enrolment.secret_base32.expose()).expect("base32");
    let now = step_at(u64::try_from(api::unix_now()).expect("after 1970"));
    code_at_step(&secret, now.saturating_add_signed(offset))
}

use crate::Directory;

#[tokio::test]
async fn app_password_opens_its_scopes_only_without_argon2() {
    let (dir, _) = setup_with_accounts(fast_cfg());
    let scopes = Scopes::parse("imap,pop3").expect("scopes");
    let created = dir
        .app_password_create(1, "phone", scopes)
        .await
        .expect("created");
    let pass = created.password.expose().clone();
    assert_eq!(login_over(&dir, "imap", &pass).await, alice());
    assert_eq!(
        login_over(&dir, "pop3", &pass.to_uppercase()).await,
        alice()
    );
    assert_eq!(
        dir.password_verifications(),
        0,
        "no argon2 for app passwords"
    );
    assert_eq!(login_over(&dir, "smtp", &pass).await, AuthOutcome::Failed);
    assert_eq!(login_over(&dir, "web", &pass).await, AuthOutcome::Failed);
    // The account password still works beside it.
    assert_eq!(login_over(&dir, "smtp", "right").await, alice());
    assert!(matches!(
        dir.app_password_create(1, "phone", Scopes::ALL).await,
        Err(AccountError::Exists(_))
    ));
    assert!(matches!(
        dir.app_password_create(1, " ", Scopes::ALL).await,
        Err(AccountError::Invalid(_))
    ));
}

#[tokio::test]
async fn revoked_app_password_fails_at_once() {
    let (dir, _) = setup_with_accounts(fast_cfg());
    let created = dir
        .app_password_create(1, "laptop", Scopes::ALL)
        .await
        .expect("created");
    let pass = created.password.expose().clone();
    assert_eq!(login_over(&dir, "imap", &pass).await, alice());
    assert!(dir.app_password_revoke(1, "laptop").await.expect("revoke"));
    assert_eq!(login_over(&dir, "imap", &pass).await, AuthOutcome::Failed);
    assert!(!dir.app_password_revoke(1, "laptop").await.expect("revoke"));
}

#[tokio::test(start_paused = true)]
async fn last_use_and_login_rows_are_written_once_a_minute() {
    let (dir, accounts) = setup_with_accounts(fast_cfg());
    let created = dir
        .app_password_create(1, "phone", Scopes::ALL)
        .await
        .expect("created");
    let pass = created.password.expose().clone();
    for _ in 0..5 {
        assert_eq!(login_over(&dir, "imap", &pass).await, alice());
    }
    settle().await;
    assert_eq!(accounts.writes(), (1, 1), "one use and one login row");
    tokio::time::advance(Duration::from_secs(59)).await;
    login_over(&dir, "imap", &pass).await;
    settle().await;
    assert_eq!(accounts.writes(), (1, 1));
    tokio::time::advance(Duration::from_secs(1)).await;
    login_over(&dir, "imap", &pass).await;
    settle().await;
    assert_eq!(accounts.writes(), (2, 2));
    let listed = dir.app_password_list(1).await.expect("list");
    assert_eq!(listed[0].last_ip.as_deref(), Some(IP_A));
    let devices = dir.devices(1).await.expect("devices");
    assert_eq!(
        (devices[0].proto.as_str(), devices[0].ip.as_str()),
        ("imap", IP_A)
    );
}

#[tokio::test(start_paused = true)]
async fn the_throttle_still_applies_to_app_passwords() {
    let (dir, _) = setup_with_accounts(fast_cfg());
    let created = dir
        .app_password_create(1, "phone", Scopes::ALL)
        .await
        .expect("created");
    for _ in 0..5 {
        login_over(&dir, "imap", "wrong").await;
    }
    let outcome = login_over(&dir, "imap", created.password.expose()).await;
    assert!(
        matches!(outcome, AuthOutcome::Throttled { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn totp_enrolment_needs_a_code_then_keeps_the_password_off_mail() {
    let (dir, _) = setup_with_accounts(fast_cfg());
    let e = dir
        .totp_enroll(1, "alice@example.org")
        .await
        .expect("enrol");
    assert!(
        e.uri
            .expose()
            .starts_with("otpauth://totp/Postern:alice%40example.org?secret=")
    );
    assert_eq!(e.recovery_codes.len(), 10);
    assert_eq!(
        dir.totp_status(1).await.expect("status"),
        TotpStatus::Pending
    );
    assert_eq!(
        login_over(&dir, "imap", "right").await,
        alice(),
        "pending changes nothing"
    );
    assert!(!dir.totp_confirm(1, "000000x").await.expect("confirm"));
    assert!(
        dir.totp_confirm(1, &current_code(&e, 0))
            .await
            .expect("confirm")
    );
    assert!(dir.totp_is_enrolled(1).await.expect("status"));
    assert!(
        !dir.totp_confirm(1, &current_code(&e, 1))
            .await
            .expect("confirm"),
        "an active enrolment takes no codes through confirm"
    );
    assert!(matches!(
        dir.totp_enroll(1, "alice@example.org").await,
        Err(AccountError::Exists(_))
    ));
    for proto in ["imap", "pop3", "smtp", "managesieve"] {
        assert_eq!(
            login_over(&dir, proto, "right").await,
            AuthOutcome::Failed,
            "{proto}"
        );
    }
    assert_eq!(login_over(&dir, "web", "right").await, alice());
    let app = dir
        .app_password_create(1, "mail", Scopes::ALL)
        .await
        .expect("created");
    assert_eq!(
        login_over(&dir, "imap", app.password.expose()).await,
        alice()
    );
    assert!(dir.totp_disable(1).await.expect("disable"));
    assert_eq!(login_over(&dir, "imap", "right").await, alice());
}

#[tokio::test]
async fn password_on_mail_with_totp_lets_the_password_through() {
    let (dir, _) = setup_with_accounts(AuthConfig {
        password_on_mail_with_totp: true,
        ..fast_cfg()
    });
    let e = dir
        .totp_enroll(1, "alice@example.org")
        .await
        .expect("enrol");
    assert!(
        dir.totp_confirm(1, &current_code(&e, 0))
            .await
            .expect("confirm")
    );
    assert_eq!(login_over(&dir, "imap", "right").await, alice());
}

#[tokio::test]
async fn a_code_is_accepted_once_and_recovery_codes_are_single_use() {
    let (dir, _) = setup_with_accounts(fast_cfg());
    let e = dir
        .totp_enroll(1, "alice@example.org")
        .await
        .expect("enrol");
    let from = ip(IP_B);
    assert_eq!(
        dir.totp_verify(from, 1, &current_code(&e, 0))
            .await
            .expect("verify"),
        SecondFactor::Refused,
        "not active before confirmation"
    );
    assert!(
        dir.totp_confirm(1, &current_code(&e, -1))
            .await
            .expect("confirm")
    );
    let code = current_code(&e, 0);
    assert_eq!(
        dir.totp_verify(from, 1, &code).await.expect("verify"),
        SecondFactor::Accepted { recovery: false }
    );
    assert_eq!(
        dir.totp_verify(from, 1, &code).await.expect("verify"),
        SecondFactor::Refused,
        "replayed"
    );
    let recovery = e.recovery_codes[3].expose().clone();
    assert_eq!(
        dir.totp_verify(from, 1, &recovery.to_uppercase())
            .await
            .expect("verify"),
        SecondFactor::Accepted { recovery: true }
    );
    assert_eq!(
        dir.totp_verify(from, 1, &recovery).await.expect("verify"),
        SecondFactor::Refused,
        "used"
    );
    assert_eq!(
        dir.totp_status(1).await.expect("status"),
        TotpStatus::Active { recovery_left: 9 }
    );
}

#[tokio::test(start_paused = true)]
async fn wrong_second_factors_count_in_the_login_throttle() {
    let (dir, _) = setup_with_accounts(fast_cfg());
    let e = dir
        .totp_enroll(1, "alice@example.org")
        .await
        .expect("enrol");
    assert!(
        dir.totp_confirm(1, &current_code(&e, 0))
            .await
            .expect("confirm")
    );
    for _ in 0..5 {
        assert_eq!(
            dir.totp_verify(ip(IP_A), 1, "abc").await.expect("verify"),
            SecondFactor::Refused
        );
    }
    let outcome = dir
        .totp_verify(ip(IP_A), 1, &current_code(&e, 1))
        .await
        .expect("verify");
    assert!(
        matches!(outcome, SecondFactor::Throttled { .. }),
        "{outcome:?}"
    );
}
