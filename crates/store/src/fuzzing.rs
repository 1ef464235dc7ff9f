//! Fuzzing entry points (issue 13): the bodies of the `fuzz/` targets, kept
//! here so the same code runs under AFL and in the workspace's smoke test
//! (`tests/fuzz_smoke.rs`). Not an API: nothing in the server calls them.
//! Besides the message target, what the session targets share: a store
//! with a user and a few messages, kept per process and remade every so
//! many inputs, and the runtime they run on.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::parse::{MessageMeta, parse};
use crate::{DeliveryTarget, Flags, NewMessage, NewUser, Store, StoreOptions, UserId};

/// Cuts `data` into the pieces a network read might give: the first four
/// bytes pick the piece lengths (1..=256, used in turn), the rest is the
/// stream. Protocol entry points feed their framers this way, so a fuzzer
/// explores split points as well as contents.
pub fn chunks(data: &[u8]) -> Vec<&[u8]> {
    let (sizes, mut rest) = data.split_at(data.len().min(4));
    let mut out = Vec::new();
    let mut i = 0;
    while !rest.is_empty() {
        let size = sizes
            .get(i % sizes.len().max(1))
            .map_or(1, |&b| usize::from(b) + 1);
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        out.push(piece);
        rest = tail;
        i += 1;
    }
    out
}

/// A session target's input: the fifth byte picks the target's options;
/// the four split bytes before it and the rest after it are what
/// `chunks` cuts (so the options byte is not part of the stream).
pub fn with_options(data: &[u8]) -> (u8, Vec<u8>) {
    let options = data.get(4).copied().unwrap_or(0);
    let mut stream = data[..data.len().min(4)].to_vec();
    stream.extend_from_slice(data.get(5..).unwrap_or_default());
    (options, stream)
}

/// A delivered message's parse and cache round trip: `parse` (the cached
/// meta and the sort columns), the meta encoded as the `messages` row
/// stores it and decoded as a read does, which must give it back.
/// Returns the meta, for the IMAP crate's render target.
pub fn message(raw: &[u8]) -> MessageMeta {
    let mut meta = parse(raw).meta;
    // As the store writes and reads the `meta` column.
    let json = crate::parse::encode_meta(&mut meta).expect("a parsed meta always serializes");
    let back = crate::parse::decode_meta(&json).expect("the cache reads back what it wrote");
    assert_eq!(back, meta, "the cache round trip changed the meta");
    back
}

/// The domain, user and alias every session target's store and directory
/// hold (the user is id 1 in both).
pub const DOMAIN: &str = "example.org";
pub const USER: &str = "ann@example.org";
pub const PASSWORD: &str = "pw";
pub const ALIAS: &str = "team@example.org";

/// What a session target's INBOX holds at the start: a plain message, a
/// multipart with an attachment, a forwarded message, a reply in a thread
/// (for SORT and THREAD), an 8-bit one.
pub const MESSAGES: &[&[u8]] = &[
    b"From: Bob <bob@example.net>\r\nTo: ann@example.org\r\nSubject: hello\r\n\
Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.net>\r\n\r\nline 1\r\n.dot\r\n",
    b"From: carol@example.net\r\nTo: ann@example.org\r\nSubject: report\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nsee attached\r\n--b1\r\n\
Content-Type: application/octet-stream; name=r.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n\
AAECAwQ=\r\n--b1--\r\n",
    b"From: dave@example.net\r\nTo: ann@example.org\r\nSubject: Fwd: hello\r\n\
MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\nFrom: Bob <bob@example.net>\r\n\
Subject: hello\r\n\r\ninner body\r\n",
    b"From: Bob <bob@example.net>\r\nTo: ann@example.org\r\nSubject: Re: hello\r\n\
Date: Tue, 8 Dec 2026 10:00:00 +0000\r\nMessage-ID: <2@example.net>\r\n\
In-Reply-To: <1@example.net>\r\nReferences: <1@example.net>\r\n\r\nyes\r\n",
    b"From: =?utf-8?q?Eve_=C3=A9?= <eve@example.net>\r\nSubject: caf\xc3\xa9\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xe9\r\n",
];

/// A store of its own for the session targets, in a fresh directory under
/// the temp dir (`TMPDIR`; a tmpfs such as /dev/shm makes the fsyncs
/// cheap): one domain, `USER` (id 1) and `ALIAS` pointing to it, and
/// `MESSAGES` in the INBOX. The directory goes when it is dropped.
pub struct Mailstore {
    pub store: Store,
    pub user: UserId,
    dir: PathBuf,
}

impl Mailstore {
    pub async fn new() -> Mailstore {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        sweep_dead_processes_dirs();
        let dir = std::env::temp_dir().join(format!(
            "{DIR_PREFIX}{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let store = Store::open(&dir, StoreOptions::default()).expect("fuzz store");
        // Reads and parses on the session's thread (`Store::blocking`).
        store.inner.inline_blocking.store(true, Ordering::Relaxed);
        store.domain_add(DOMAIN).await.expect("fuzz domain");
        let user = store
            .user_add(NewUser {
                address: USER.into(),
                display_name: String::new(),
                password_hash: String::new(),
                quota_bytes: None,
                quota_messages: None,
            })
            .await
            .expect("fuzz user");
        store.alias_add(ALIAS, USER).await.expect("fuzz alias");
        let mail = Mailstore { store, user, dir };
        mail.refill().await;
        mail
    }

    /// Delivers `MESSAGES` to the INBOX again if it is empty (after an
    /// input expunged everything), so the next input has mail to work on.
    pub async fn refill(&self) {
        let inbox = self
            .store
            .mailbox_get(self.user, "INBOX")
            .await
            .expect("reading the fuzz INBOX")
            .expect("the fuzz INBOX");
        if !self
            .store
            .messages(inbox.id)
            .await
            .expect("listing the fuzz INBOX")
            .is_empty()
        {
            return;
        }
        for raw in MESSAGES {
            let msg = NewMessage {
                raw: raw.to_vec(),
                internal_date: None,
                flags: Flags::default(),
            };
            self.store
                .deliver(msg, vec![DeliveryTarget::inbox(self.user)])
                .await
                .expect("fuzz message");
        }
    }
}

impl Drop for Mailstore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const DIR_PREFIX: &str = "postern-fuzz-";

/// AFL ends a persistent-mode process without dropping its statics (and
/// kills it on a crash or a hang), so a `Mailstore` directory outlives its
/// process: each new one removes those of processes that are gone.
fn sweep_dead_processes_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|n| n.split('-').next())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// One value per process (the session targets' store and context), made
/// on first use and made again every `every` uses, so what the inputs add
/// (APPENDed and delivered messages, mailboxes, queued mail) stays
/// bounded across a persistent-mode process's executions.
pub struct PerProcess<T> {
    slot: Mutex<Option<(T, u32)>>,
    every: u32,
}

impl<T> PerProcess<T> {
    pub const fn new(every: u32) -> Self {
        PerProcess {
            slot: Mutex::new(None),
            every,
        }
    }

    /// Runs `f` on the value, making it with `make` first when there is
    /// none or it has served `every` inputs.
    pub fn with<R>(&self, make: impl FnOnce() -> T, f: impl FnOnce(&T) -> R) -> R {
        // A finding's panic (caught by the smoke test) poisons the lock;
        // the next input starts from a fresh value.
        let mut slot = self.slot.lock().unwrap_or_else(|p| {
            let mut s = p.into_inner();
            *s = None;
            s
        });
        if slot.as_ref().is_none_or(|(_, uses)| *uses >= self.every) {
            *slot = None;
            *slot = Some((make(), 0));
        }
        let (value, uses) = slot.as_mut().expect("made above");
        *uses += 1;
        f(value)
    }

    /// Drops the value, so the next input starts from a new one (a target
    /// whose store grew past what its checks read quickly).
    pub fn renew(&self) {
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// The process's runtime for the session targets (current-thread, as one
/// connection's task sees it; blocking store calls run on its pool).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}
