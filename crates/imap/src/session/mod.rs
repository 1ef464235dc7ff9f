//! The IMAP session: the RFC 9051 state machine (not authenticated,
//! authenticated, selected, logout) over the store and the directory. The
//! driver hands it parsed commands; it writes responses into a buffer.
//! One file per command family: `auth.rs`, `mailboxes.rs` (LIST, STATUS,
//! CREATE, …), `selected.rs` (SELECT, EXPUNGE, change-feed updates),
//! `fetch.rs` (FETCH, STORE), `append.rs` (APPEND), `condstore.rs`
//! (ENABLE and the CONDSTORE/QRESYNC/UTF8=ACCEPT state), `quota.rs`.

mod append;
mod auth;
mod catenate;
mod condstore;
mod context;
mod feed_sync;
mod fetch;
mod fetch_batches;
mod fetch_flags;
mod fetch_stream;
mod flag_memory;
mod keywords;
mod mailboxes;
mod metadata;
mod notify;
mod pipelined;
mod quota;
mod search;
mod search_flags;
mod search_index;
mod search_thread;
mod selected;

use std::net::SocketAddr;
use std::sync::Arc;

use postern_auth::{ClientId, Directory, Principal};
use postern_store::{Store, UserId};

use crate::config::ImapConfig;
use crate::wire::{
    Code, Command, CommandBody, ParseError, ParseErrorKind, ParseOptions, Status, StatusResponse,
    Tag,
};

use condstore::Enabled;
pub(crate) use selected::Selected;

/// Everything a session needs from the server around it.
#[derive(Clone)]
pub struct Context {
    pub cfg: Arc<ImapConfig>,
    pub store: Store,
    pub directory: Directory,
    /// Whether STARTTLS can be offered.
    pub starttls: bool,
    /// Logged-in sessions per user, for `max_connections_per_user`.
    pub per_user: PerUser,
    /// Rendered structure items shared by all sessions.
    pub render: Arc<crate::RenderCache>,
}

/// Counts logged-in sessions per user across the server.
#[derive(Clone, Default)]
pub struct PerUser(Arc<std::sync::Mutex<std::collections::HashMap<i64, usize>>>);

/// Holds one session's place in the per-user count until dropped.
pub(crate) struct UserSlot {
    map: PerUser,
    user: i64,
}

impl PerUser {
    fn take(&self, user: i64, max: usize) -> Option<UserSlot> {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(user).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(UserSlot {
            map: self.clone(),
            user,
        })
    }
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut m = self.map.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.user);
            }
        }
    }
}

/// What the driver does after a command.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    /// Read the next command.
    Continue,
    /// Answer `+ ` and read one SASL line (AUTHENTICATE without SASL-IR).
    SaslContinue,
    /// Enter IDLE: updates flow until the client sends DONE.
    Idle(Tag),
    /// Start TLS after the tagged OK (buffered plaintext is dropped).
    StartTls,
    /// Close the connection.
    Close,
}

enum State {
    NotAuthenticated,
    Authenticated,
    Selected(Box<Selected>),
    Logout,
}

pub struct Session {
    ctx: Context,
    peer: SocketAddr,
    tls: bool,
    state: State,
    user: Option<Principal>,
    /// A pending AUTHENTICATE waiting for the client's response line.
    sasl: Option<auth::Pending>,
    /// This session's place in its user's connection count.
    slot: Option<UserSlot>,
    errors: usize,
    /// What ENABLE (or an implicit CONDSTORE use) switched on.
    enabled: Enabled,
    /// The mailboxes NOTIFY SET watches (RFC 5465).
    notify: Option<notify::Notify>,
    /// What the client said it was (RFC 2971 ID), for the user's devices
    /// record: kept from before the login, recorded once logged in.
    client: Option<ClientId>,
    /// Where a long answer goes while its command runs (`fetch_stream.rs`),
    /// when the server gave one.
    sink: Option<tokio::sync::mpsc::Sender<Vec<u8>>>,
    /// An `EXPUNGE` or `UID EXPUNGE` pipelined right behind the STORE
    /// being run: STORE takes it into its write (`pipelined.rs`).
    fused: Option<pipelined::Fused>,
}

impl Session {
    pub fn new(ctx: Context, peer: SocketAddr, tls: bool) -> Session {
        Session {
            ctx,
            peer,
            tls,
            state: State::NotAuthenticated,
            user: None,
            sasl: None,
            slot: None,
            errors: 0,
            enabled: Enabled::default(),
            notify: None,
            client: None,
            sink: None,
            fused: None,
        }
    }

    /// Lets the running command hand parts of its answer to `sink` before
    /// it ends (a FETCH over a big mailbox); `None` after it.
    pub fn set_sink(&mut self, sink: Option<tokio::sync::mpsc::Sender<Vec<u8>>>) {
        self.sink = sink;
    }

    /// RFC 2971 ID: keeps the client's name, version and os for the
    /// devices record, and records them now if a user is logged in.
    fn client_said(&mut self, params: Option<&[(String, Option<String>)]>) {
        let id = ClientId::from_id_pairs(
            params
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref())),
        );
        if id.is_empty() {
            return;
        }
        self.client = Some(id);
        self.record_client();
    }

    /// Records the client's ID against the logged-in user's login row.
    fn record_client(&self) {
        if let (Some(user), Some(client)) = (&self.user, &self.client) {
            self.ctx
                .directory
                .record_client(user.user_id, "imap", self.peer.ip(), client.clone());
        }
    }

    pub fn parse_options(&self) -> ParseOptions {
        ParseOptions {
            utf8_accept: self.enabled.utf8_names(),
            max_ranges: crate::wire::max_ranges_for_line(self.ctx.cfg.max_line),
            max_append_messages: self.ctx.cfg.max_append_messages,
            max_catenate_parts: self.ctx.cfg.max_catenate_parts,
            ..ParseOptions::default()
        }
    }

    /// After STARTTLS: what was said in plaintext no longer counts.
    pub fn tls_started(&mut self) {
        self.tls = true;
    }

    pub fn is_authenticated(&self) -> bool {
        self.user.is_some()
    }

    /// Whether LOGIN/AUTHENTICATE may be used on this connection now.
    fn login_allowed(&self) -> bool {
        self.tls || (self.ctx.cfg.plaintext_on_loopback && self.peer.ip().is_loopback())
    }

    /// The capabilities for the current state (RFC 9051 §7.2.2).
    pub fn capabilities(&self) -> Vec<String> {
        let mut caps: Vec<String> = [
            "IMAP4rev1",
            "IMAP4rev2",
            "LITERAL+",
            "SASL-IR",
            "ID",
            "ENABLE",
            "IDLE",
        ]
        .map(String::from)
        .to_vec();
        if self.user.is_none() {
            if !self.tls && self.ctx.starttls {
                caps.push("STARTTLS".into());
            }
            if self.login_allowed() {
                caps.push("AUTH=PLAIN".into());
                caps.push("AUTH=LOGIN".into());
                if self.ctx.directory.oauth_enabled() {
                    for m in postern_auth::BearerMechanism::ALL {
                        caps.push(format!("AUTH={}", m.name()));
                    }
                }
            } else {
                caps.push("LOGINDISABLED".into());
            }
        } else {
            for c in [
                "NAMESPACE",
                "UNSELECT",
                "CHILDREN",
                "LIST-EXTENDED",
                "LIST-STATUS",
                "SPECIAL-USE",
                "CREATE-SPECIAL-USE",
                "STATUS=SIZE",
                "BINARY",
                "UIDPLUS",
                "MOVE",
                "ESEARCH",
                "SEARCHRES",
                "SORT",
                "SORT=DISPLAY",
                "THREAD=ORDEREDSUBJECT",
                "THREAD=REFERENCES",
                "CONDSTORE",
                "QRESYNC",
                "UTF8=ACCEPT",
                "QUOTA",
                "QUOTA=RES-STORAGE",
                "QUOTA=RES-MESSAGE",
                "WITHIN",
                "SAVEDATE",
                "UNAUTHENTICATE",
                "PREVIEW",
                "MULTIAPPEND",
                "REPLACE",
                "PARTIAL",
                "OBJECTID",
                "UIDONLY",
                "ESORT",
                "CONTEXT=SEARCH",
                "CONTEXT=SORT",
                "CATENATE",
                "METADATA",
                "METADATA-SERVER",
                "NOTIFY",
            ] {
                caps.push(c.into());
            }
            caps.push(format!("APPENDLIMIT={}", self.ctx.cfg.max_literal));
            // RFC 4978: the driver (server.rs) runs COMPRESS itself.
            caps.push("COMPRESS=DEFLATE".into());
        }
        caps
    }

    /// The greeting (RFC 9051 §7.1.1), with the capabilities in it.
    pub fn greeting(&self, out: &mut Vec<u8>) {
        StatusResponse::new(
            None,
            Status::Ok,
            format!("{} Postern IMAP ready", self.ctx.cfg.hostname),
        )
        .with_code(Code::Capability(self.capabilities()))
        .encode(out);
    }

    pub fn bye(&self, out: &mut Vec<u8>, text: &str) {
        StatusResponse::new(None, Status::Bye, text).encode(out);
    }

    /// A command the parser refused. `NO [LIMIT]` for a valid command past
    /// one of our limits (RFC 9051 §7.1: the client may retry in smaller
    /// pieces; not counted as a bad command). `NO` for a mailbox name that
    /// is well-formed but not valid modified UTF-7 (or UTF-8 under
    /// UTF8=ACCEPT), once logged in, as clients expect: the command was
    /// understood, and no mailbox can have that name (RFC 3501 §5.1.3
    /// leaves the answer to the server). Else `BAD`, counted.
    pub fn refuse(&mut self, e: &ParseError, out: &mut Vec<u8>) -> Flow {
        match (&e.kind, &e.tag) {
            (ParseErrorKind::TooManyRanges { .. } | ParseErrorKind::TooManyMessages { .. }, _) => {
                StatusResponse::new(e.tag.clone(), Status::No, e.message())
                    .with_code(Code::Limit)
                    .encode(out);
                Flow::Continue
            }
            (ParseErrorKind::BadMailboxName(_), Some(tag)) if self.is_authenticated() => {
                self.no(tag.clone(), None, &e.message(), out)
            }
            _ => self.bad(e.tag.clone(), &e.message(), out),
        }
    }

    /// A command the parser could not read: `BAD`, counted.
    pub fn bad(&mut self, tag: Option<Tag>, text: &str, out: &mut Vec<u8>) -> Flow {
        StatusResponse::new(tag, Status::Bad, text).encode(out);
        self.errors += 1;
        if self.errors >= self.ctx.cfg.max_errors {
            // Counted as abuse: enough such sessions block the client.
            self.ctx.directory.abuse().report_detached(
                self.peer.ip(),
                postern_auth::AbuseKind::TooManyErrors,
                "imap",
            );
            self.bye(out, "Too many bad commands");
            return Flow::Close;
        }
        Flow::Continue
    }

    /// Runs one command, writing its responses (and pending mailbox updates
    /// where RFC 9051 §7.5.1 allows them) into `out`.
    pub async fn command(&mut self, cmd: Command, out: &mut Vec<u8>) -> Flow {
        let Command { tag, body } = cmd;
        tracing::debug!(tag = tag.as_str(), "command");
        // Commands valid in every state (RFC 9051 §6.1).
        match body {
            CommandBody::Capability => {
                let mut line = b"* CAPABILITY".to_vec();
                for c in self.capabilities() {
                    line.push(b' ');
                    line.extend_from_slice(c.as_bytes());
                }
                line.extend_from_slice(b"\r\n");
                out.extend_from_slice(&line);
                return self.ok(tag, "CAPABILITY completed", out).await;
            }
            CommandBody::Noop => return self.ok(tag, "NOOP completed", out).await,
            CommandBody::Logout => {
                self.bye(out, "Logging out");
                StatusResponse::new(Some(tag), Status::Ok, "LOGOUT completed").encode(out);
                self.state = State::Logout;
                return Flow::Close;
            }
            CommandBody::Id(params) => {
                self.client_said(params.as_deref());
                out.extend_from_slice(b"* ID (\"name\" \"Postern\")\r\n");
                return self.ok(tag, "ID completed", out).await;
            }
            _ => {}
        }
        match (&self.state, body) {
            (State::NotAuthenticated, CommandBody::StartTls) => {
                if self.tls || !self.ctx.starttls {
                    return self.bad(Some(tag), "TLS is already active or not available", out);
                }
                StatusResponse::new(Some(tag), Status::Ok, "Begin TLS negotiation now").encode(out);
                Flow::StartTls
            }
            (State::NotAuthenticated, CommandBody::Login { user, password }) => {
                self.login(tag, &user, password.expose(), out).await
            }
            (State::NotAuthenticated, CommandBody::Authenticate { mechanism, initial }) => {
                self.authenticate(tag, &mechanism, initial, out).await
            }
            (State::NotAuthenticated, _) => self.bad(Some(tag), "Log in first", out),
            (State::Logout, _) => Flow::Close,
            (
                _,
                CommandBody::StartTls
                | CommandBody::Login { .. }
                | CommandBody::Authenticate { .. },
            ) => self.bad(Some(tag), "Already logged in", out),
            (_, body) => self.authenticated(tag, body, out).await,
        }
    }

    async fn authenticated(&mut self, tag: Tag, body: CommandBody, out: &mut Vec<u8>) -> Flow {
        if self.enabled.uid_only && condstore::uses_message_numbers(&body) {
            // RFC 9586 §3.2: message numbers are refused under UIDONLY.
            StatusResponse::new(Some(tag), Status::Bad, "Message numbers are off (UIDONLY)")
                .with_code(Code::UidRequired)
                .encode(out);
            return Flow::Continue;
        }
        match body {
            CommandBody::Enable(caps) => self.enable(tag, caps, out).await,
            CommandBody::Namespace => {
                out.extend_from_slice(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
                self.ok(tag, "NAMESPACE completed", out).await
            }
            CommandBody::Select { mailbox, params } => {
                self.select(tag, mailbox, params, false, out).await
            }
            CommandBody::Examine { mailbox, params } => {
                self.select(tag, mailbox, params, true, out).await
            }
            CommandBody::Create {
                mailbox,
                special_use,
            } => self.create(tag, mailbox, special_use, out).await,
            CommandBody::Delete(m) => self.delete(tag, m, out).await,
            CommandBody::Rename { from, to } => self.rename(tag, from, to, out).await,
            CommandBody::Subscribe(m) => self.subscribe(tag, m, true, out).await,
            CommandBody::Unsubscribe(m) => self.subscribe(tag, m, false, out).await,
            CommandBody::List(l) => self.list(tag, l, out).await,
            CommandBody::Lsub { reference, pattern } => {
                self.lsub(tag, &reference, &pattern, out).await
            }
            CommandBody::Status { mailbox, items } => self.status(tag, mailbox, items, out).await,
            CommandBody::Append { mailbox, messages } => {
                self.append(tag, mailbox, messages, out).await
            }
            CommandBody::Replace {
                uid,
                id,
                mailbox,
                message,
            } => {
                self.replace(tag, uid, id.get(), mailbox, message, out)
                    .await
            }
            CommandBody::Idle => Flow::Idle(tag),
            CommandBody::Check => self.ok(tag, "CHECK completed", out).await,
            CommandBody::Close => self.close(tag, true, out).await,
            CommandBody::Unselect => self.close(tag, false, out).await,
            CommandBody::Expunge => self.expunge(tag, None, out).await,
            CommandBody::UidExpunge(set) => self.expunge(tag, Some(set), out).await,
            CommandBody::Fetch {
                uid,
                set,
                items,
                modifiers,
            } => self.fetch(tag, uid, set, items, modifiers, out).await,
            CommandBody::Store {
                uid,
                set,
                flags,
                unchanged_since,
            } => self.store(tag, uid, set, flags, unchanged_since, out).await,
            CommandBody::Search { uid, ret, program } => {
                self.search(tag, uid, ret, program, out).await
            }
            CommandBody::Sort {
                uid,
                ret,
                criteria,
                program,
            } => self.sort(tag, uid, ret, criteria, program, out).await,
            CommandBody::Thread {
                uid,
                algorithm,
                program,
            } => self.thread(tag, uid, algorithm, program, out).await,
            CommandBody::Copy { uid, set, mailbox } => {
                self.copy(tag, uid, set, mailbox, false, out).await
            }
            CommandBody::Move { uid, set, mailbox } => {
                self.copy(tag, uid, set, mailbox, true, out).await
            }
            CommandBody::GetQuota(root) => self.getquota(tag, root, out).await,
            CommandBody::GetQuotaRoot(mailbox) => self.getquotaroot(tag, mailbox, out).await,
            CommandBody::SetQuota { .. } => self.setquota(tag, out),
            CommandBody::CancelUpdate(tags) => self.cancel_update(tag, tags, out).await,
            CommandBody::Notify(cmd) => self.notify(tag, cmd, out).await,
            CommandBody::GetMetadata {
                mailbox,
                entries,
                options,
            } => self.getmetadata(tag, mailbox, entries, options, out).await,
            CommandBody::SetMetadata { mailbox, entries } => {
                self.setmetadata(tag, mailbox, entries, out).await
            }
            CommandBody::Unauthenticate => self.unauthenticate(tag, out),
            _ => {
                StatusResponse::new(Some(tag), Status::No, "Command not supported yet").encode(out);
                Flow::Continue
            }
        }
    }

    /// Tagged OK after sending the updates RFC 9051 §7.5.1 allows at the end
    /// of any command.
    async fn ok(&mut self, tag: Tag, text: &str, out: &mut Vec<u8>) -> Flow {
        self.sync(out, true).await;
        self.notify_updates(out).await;
        StatusResponse::new(Some(tag), Status::Ok, text).encode(out);
        Flow::Continue
    }

    fn no(&self, tag: Tag, code: Option<Code>, text: &str, out: &mut Vec<u8>) -> Flow {
        let mut r = StatusResponse::new(Some(tag), Status::No, text);
        if let Some(c) = code {
            r = r.with_code(c);
        }
        r.encode(out);
        Flow::Continue
    }

    fn user_id(&self) -> Option<UserId> {
        self.user.as_ref().map(|u| UserId(u.user_id))
    }

    /// Writes pending mailbox changes (used by the driver during IDLE).
    pub async fn updates(&mut self, out: &mut Vec<u8>) {
        self.sync(out, true).await;
        self.notify_updates(out).await;
    }

    /// IDLE's wait (RFC 2177): a change in the selected mailbox (applied)
    /// or in one NOTIFY watches (noted); `updates` then reports it.
    pub async fn idle_event(&mut self) {
        let selected = match &mut self.state {
            State::Selected(s) => Some(s),
            _ => None,
        };
        let notify = self.notify.as_mut();
        tokio::select! {
            ev = async {
                match selected {
                    Some(s) => {
                        let ev = s.next_event().await;
                        if let Some(ev) = ev {
                            s.apply(ev);
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            } => ev,
            () = async {
                match notify {
                    Some(n) => n.next().await,
                    None => std::future::pending::<()>().await,
                }
            } => {}
        }
    }

    /// The `+` line and the end of IDLE (RFC 2177).
    pub async fn idle_done(&mut self, tag: Tag, out: &mut Vec<u8>) {
        self.sync(out, true).await;
        StatusResponse::new(Some(tag), Status::Ok, "IDLE terminated").encode(out);
    }

    /// The end of a command that is one store call: tagged OK with `text`,
    /// or the store's refusal as a tagged NO.
    async fn done<T>(
        &mut self,
        tag: Tag,
        r: postern_store::Result<T>,
        text: &str,
        out: &mut Vec<u8>,
    ) -> Flow {
        match r {
            Ok(_) => self.ok(tag, text, out).await,
            Err(e) => self.store_error(tag, e, out),
        }
    }

    /// Store errors as a tagged NO (a user's mistake) or a server failure.
    fn store_error(&self, tag: Tag, e: postern_store::StoreError, out: &mut Vec<u8>) -> Flow {
        use postern_store::StoreError as E;
        let (code, text) = match &e {
            E::NotFound(_) => (Some(Code::NonExistent), e.to_string()),
            E::Exists(_) => (Some(Code::AlreadyExists), e.to_string()),
            E::QuotaExceeded(_) => (Some(Code::OverQuota), e.to_string()),
            E::TooLarge { .. } => (Some(Code::TooBig), e.to_string()),
            // A temporary refusal: nothing was stored, the client may retry.
            _ if e.is_disk_full() => {
                tracing::warn!(error = %e, "refused: disk full");
                (
                    Some(Code::OverQuota),
                    "Not enough disk space on the server, try again later".to_string(),
                )
            }
            E::Invalid(_) => (Some(Code::Cannot), e.to_string()),
            _ => {
                tracing::error!(error = %e, "store failure");
                (
                    Some(Code::ServerBug),
                    "Internal error, try again".to_string(),
                )
            }
        };
        self.no(tag, code, &text, out)
    }
}

#[cfg(test)]
mod tests;

/// A message expunged by another session between listing and reading:
/// its blob may already be gone. FETCH then answers what still exists and
/// OK, not `NO [EXPUNGEISSUED]` (RFC 9051 §7.1 allows either).
pub(crate) fn gone(e: &postern_store::StoreError) -> bool {
    matches!(e, postern_store::StoreError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}
