//! What the console asks of the rest of the server, as traits the binary
//! implements: the admin commands ([`Admin`]: the CLI's own code, run on
//! the server's store, so there is one implementation of each action) and
//! the second login step ([`SecondFactor`]: TOTP, which the auth crate
//! provides; [`Totp`] is the server's), and what the account pages need
//! of delivery and the CLI ([`Account`]: the Sieve checker and quota
//! ManageSieve uses, and `postern mailbox export`'s mbox writer).

use std::future::Future;
use std::pin::Pin;

use postern_auth::Secret;

/// A boxed future, so the traits stay object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One admin action, as the console's forms ask for it. Each maps to one
/// `postern` CLI command; the values are what the form said (the command
/// checks and normalises them, as it does on the command line).
#[derive(Debug)]
pub enum AdminAction {
    DomainAdd {
        domain: String,
    },
    DomainDelete {
        domain: String,
    },
    /// The DNS records to publish (`postern domain dns`).
    DomainDns {
        domain: String,
    },
    /// What is published now, record by record (`postern doctor`'s
    /// domain checks, without its port-25 probe).
    DomainDoctor {
        domain: String,
    },
    UserAdd {
        address: String,
        name: String,
        /// Empty: unlimited.
        quota: String,
        password: Secret<String>,
    },
    UserPassword {
        address: String,
        password: Secret<String>,
    },
    UserDelete {
        address: String,
    },
    UserQuota {
        address: String,
        quota: String,
        messages: String,
    },
    UserDisable {
        address: String,
        disabled: bool,
    },
    UserAdmin {
        address: String,
        admin: bool,
    },
    AliasAdd {
        source: String,
        target: String,
    },
    AliasDelete {
        source: String,
        target: Option<String>,
    },
    QueueShow {
        id: i64,
    },
    QueueRetry {
        id: i64,
    },
    QueueHold {
        id: i64,
        hold: bool,
    },
    QueueDelete {
        id: i64,
    },
    BlockAdd {
        net: String,
        duration: Option<String>,
        reason: String,
    },
    BlockDelete {
        net: String,
    },
    BlockList,
    DkimRotate {
        domain: String,
    },
    DkimList {
        domain: String,
    },
    /// The spam filter's settings and a user's training state.
    SpamStats {
        user: String,
    },
    /// A user's own spam settings (`postern spam settings`): shown, and set
    /// first when a value is given (a number or `default`; `on`, `off` or
    /// `default`).
    SpamSettings {
        user: String,
        junk_threshold: Option<String>,
        reject: Option<String>,
    },
    /// `postern spam allow|block|unallow|unblock USER SENDER`.
    SpamSender {
        user: String,
        change: SpamSenderChange,
        sender: String,
    },
}

/// Which of a user's sender lists an [`AdminAction::SpamSender`] changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpamSenderChange {
    Allow,
    Block,
    Unallow,
    Unblock,
}

/// An action's answer: the lines the CLI command printed, or its one-line
/// refusal.
pub type AdminResult = Result<Vec<String>, String>;

/// The dashboard's figures; `None` where the server could not tell.
#[derive(Clone, Debug, Default)]
pub struct Dashboard {
    pub version: String,
    pub hostname: String,
    pub uptime_secs: u64,
    /// `(name, address)` of every listener.
    pub listeners: Vec<(String, String)>,
    /// Messages queued, held, deferred.
    pub queue: Option<(u64, u64, u64)>,
    /// Messages delivered to local mailboxes in the last 24 hours.
    pub messages_today: Option<u64>,
    pub disk_free_bytes: Option<u64>,
    /// The served certificate's expiry, as text (UTC).
    pub certificate_expiry: Option<String>,
    /// The last warnings and errors: (when, level, message).
    pub recent: Vec<(String, String, String)>,
}

/// The admin side of the server, implemented by the binary.
pub trait Admin: Send + Sync {
    fn run(&self, action: AdminAction) -> BoxFuture<'_, AdminResult>;
    fn dashboard(&self) -> BoxFuture<'_, Dashboard>;
}

/// The second login step: `enrolled` is "has this user turned a second
/// factor on", `verify` checks a code from `ip` (or a recovery code),
/// records its use, and counts a refusal in the login throttle and the
/// log's failure line itself. [`Totp`] is the server's.
pub trait SecondFactor: Send + Sync {
    fn enrolled(&self, user_id: i64) -> BoxFuture<'_, Result<bool, String>>;
    fn verify(
        &self,
        user_id: i64,
        ip: std::net::IpAddr,
        code: Secret<String>,
    ) -> BoxFuture<'_, Result<bool, String>>;
}

/// TOTP (RFC 6238) and recovery codes as the directory keeps them
/// (`postern user totp`); a throttled address is refused like a wrong code.
pub struct Totp(pub postern_auth::Directory);

impl SecondFactor for Totp {
    fn enrolled(&self, user_id: i64) -> BoxFuture<'_, Result<bool, String>> {
        Box::pin(async move {
            self.0
                .totp_is_enrolled(user_id)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn verify(
        &self,
        user_id: i64,
        ip: std::net::IpAddr,
        code: Secret<String>,
    ) -> BoxFuture<'_, Result<bool, String>> {
        Box::pin(async move {
            match self.0.totp_verify(ip, user_id, code.expose()).await {
                Ok(postern_auth::SecondFactor::Accepted { .. }) => Ok(true),
                Ok(_) => Ok(false),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// Why a script was not stored: where (1-based; line 0 when it is about
/// the whole script, such as its size) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptProblem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ScriptProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.message
            )
        }
    }
}

/// What the account pages ask of the rest of the server, implemented by
/// the binary over delivery's Sieve checker and the CLI's mbox writer, so
/// a script is judged and a mailbox written the one way the server has.
pub trait Account: Send + Sync {
    /// Whether `script` may be stored as `name` beside the user's
    /// `existing` scripts: the `[sieve]` size and count quota, then the
    /// compiler delivery runs scripts with (the checks ManageSieve's
    /// PUTSCRIPT makes).
    fn check_script(
        &self,
        existing: Vec<postern_store::SieveScript>,
        name: String,
        script: String,
    ) -> BoxFuture<'_, Result<(), ScriptProblem>>;
    /// Whether scripts may forward mail (`redirect`; `[sieve]
    /// max_redirects` is not 0).
    fn forwarding(&self) -> bool;
    /// `[sieve]`'s largest script and most scripts per user.
    fn script_limits(&self) -> (usize, usize);
    /// Appends one message to `out` in mboxrd form, its flags in the
    /// `Status`/`X-Status`/`X-Keywords` lines.
    fn mbox_message(&self, out: &mut Vec<u8>, raw: &[u8], internal_date: i64, flags: &[String]);
}
