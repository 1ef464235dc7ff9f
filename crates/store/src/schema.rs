//! The SQLite schema and its migrations: numbered, forward-only, applied in
//! order at open inside one transaction each, with the version in a row of
//! `schema_version` so a newer database is refused by an older binary.

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Result, StoreError};

/// Each entry is one migration; its number is its index + 1. Never edit a
/// migration that has shipped: add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: directory, mailboxes, messages, blobs, expunged UIDs, counters.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE domains (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        address TEXT NOT NULL UNIQUE,
        domain_id INTEGER NOT NULL REFERENCES domains(id),
        display_name TEXT NOT NULL DEFAULT '',
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        quota_bytes INTEGER,
        quota_messages INTEGER,
        used_bytes INTEGER NOT NULL DEFAULT 0,
        used_messages INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX users_domain ON users(domain_id);
    CREATE TABLE aliases (
        source TEXT NOT NULL,
        target TEXT NOT NULL,
        PRIMARY KEY (source, target)
    ) WITHOUT ROWID;
    CREATE INDEX aliases_target ON aliases(target);
    CREATE TABLE mailboxes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        uidnext INTEGER NOT NULL DEFAULT 1,
        highestmodseq INTEGER NOT NULL DEFAULT 1,
        subscribed INTEGER NOT NULL DEFAULT 0,
        special_use TEXT,
        UNIQUE (user_id, name)
    );
    CREATE TABLE blobs (
        hash TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        refcount INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE messages (
        mailbox_id INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        flags INTEGER NOT NULL DEFAULT 0,
        keywords TEXT NOT NULL DEFAULT '',
        size INTEGER NOT NULL,
        internal_date INTEGER NOT NULL,
        saved_at INTEGER NOT NULL,
        blob TEXT NOT NULL,
        meta TEXT NOT NULL,
        hdr_date INTEGER,
        hdr_subject TEXT NOT NULL DEFAULT '',
        hdr_from TEXT NOT NULL DEFAULT '',
        hdr_to TEXT NOT NULL DEFAULT '',
        hdr_cc TEXT NOT NULL DEFAULT '',
        message_id TEXT NOT NULL DEFAULT '',
        in_reply_to TEXT NOT NULL DEFAULT '',
        refs TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (mailbox_id, uid)
    ) WITHOUT ROWID;
    CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
    CREATE INDEX messages_blob ON messages(blob);
    CREATE TABLE expunged (
        mailbox_id INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
    ) WITHOUT ROWID;
    CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);
    "#,
    // 2: small messages kept inline in their blob row (NULL: in a file).
    "ALTER TABLE blobs ADD COLUMN data BLOB;",
    // 3: the outbound queue: one row per accepted message for remote
    // recipients, one row per recipient with its delivery state.
    r#"
    CREATE TABLE queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        blob TEXT NOT NULL,
        size INTEGER NOT NULL,
        reverse_path TEXT NOT NULL,
        envid TEXT,
        ret TEXT,
        body TEXT,
        smtputf8 INTEGER NOT NULL DEFAULT 0,
        user_id INTEGER,
        created_at INTEGER NOT NULL,
        held INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE queue_recipients (
        queue_id INTEGER NOT NULL REFERENCES queue(id),
        address TEXT NOT NULL,
        orcpt TEXT,
        notify TEXT,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt INTEGER NOT NULL,
        last_error TEXT,
        PRIMARY KEY (queue_id, address)
    ) WITHOUT ROWID;
    CREATE INDEX queue_recipients_due ON queue_recipients(state, next_attempt);
    "#,
    // 4: the queue runner's bookkeeping: which recipients still owe the
    // sender a DSN (and of what kind), the server that answered, whether a
    // delay warning went out, and when the row last changed.
    r#"
    ALTER TABLE queue_recipients ADD COLUMN dsn_due TEXT;
    ALTER TABLE queue_recipients ADD COLUMN remote_mta TEXT;
    ALTER TABLE queue_recipients ADD COLUMN delay_warned INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE queue_recipients ADD COLUMN updated_at INTEGER;
    CREATE INDEX queue_recipients_dsn ON queue_recipients(dsn_due) WHERE dsn_due IS NOT NULL;
    "#,
    // 5: messages become a rowid table with the cached meta last. As a
    // WITHOUT ROWID table each row (with its kilobytes of meta) was its own
    // b-tree key, copied whole, overflow pages and all, at every step of
    // every lookup by UID: a first FETCH of 10,000 messages spent a third
    // of its time there. Now lookups go through a small (mailbox, uid)
    // index, and a listing that does not ask for the meta stops before it.
    r#"
    CREATE TABLE messages_new (
        id INTEGER PRIMARY KEY,
        mailbox_id INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        flags INTEGER NOT NULL DEFAULT 0,
        keywords TEXT NOT NULL DEFAULT '',
        size INTEGER NOT NULL,
        internal_date INTEGER NOT NULL,
        saved_at INTEGER NOT NULL,
        blob TEXT NOT NULL,
        hdr_date INTEGER,
        hdr_subject TEXT NOT NULL DEFAULT '',
        hdr_from TEXT NOT NULL DEFAULT '',
        hdr_to TEXT NOT NULL DEFAULT '',
        hdr_cc TEXT NOT NULL DEFAULT '',
        message_id TEXT NOT NULL DEFAULT '',
        in_reply_to TEXT NOT NULL DEFAULT '',
        refs TEXT NOT NULL DEFAULT '',
        meta TEXT NOT NULL,
        UNIQUE (mailbox_id, uid)
    );
    INSERT INTO messages_new (mailbox_id, uid, modseq, flags, keywords, size, internal_date,
        saved_at, blob, hdr_date, hdr_subject, hdr_from, hdr_to, hdr_cc, message_id,
        in_reply_to, refs, meta)
    SELECT mailbox_id, uid, modseq, flags, keywords, size, internal_date,
        saved_at, blob, hdr_date, hdr_subject, hdr_from, hdr_to, hdr_cc, message_id,
        in_reply_to, refs, meta
    FROM messages ORDER BY mailbox_id, uid;
    DROP TABLE messages;
    ALTER TABLE messages_new RENAME TO messages;
    CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
    CREATE INDEX messages_blob ON messages(blob);
    "#,
    // 6: blobs become a rowid table too, for the reason of 5: since
    // migration 2 a row holds the message itself (up to 64 KiB), and as a
    // WITHOUT ROWID table every lookup by hash copied whole rows at each
    // b-tree step (POP3 RETR of mail in a large store: 40% of the CPU in
    // sqlite3BtreeIndexMoveto/accessPayload). The data column is last.
    r#"
    CREATE TABLE blobs_new (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        refcount INTEGER NOT NULL,
        data BLOB
    );
    INSERT INTO blobs_new (hash, size, refcount, data)
        SELECT hash, size, refcount, data FROM blobs ORDER BY hash;
    DROP TABLE blobs;
    ALTER TABLE blobs_new RENAME TO blobs;
    "#,
    // 7: a covering index for a mailbox's listing (SELECT, FETCH, SEARCH
    // start from it): the columns of `messages::MSG_COLS` in UID order, so
    // listing 10,000 messages reads a few hundred KiB of index instead of
    // every row with its cached meta.
    r#"
    CREATE INDEX messages_listing ON messages(mailbox_id, uid, flags, keywords, modseq,
        size, internal_date, blob);
    "#,
    // 8: when a POP3 client first retrieved (RETR) a message, for the
    // server-side expiry POP3 advertises as EXPIRE (RFC 2449 §6.7). A table
    // of its own: few rows, and the wide messages rows stay as they are.
    r#"
    CREATE TABLE pop3_retrieved (
        mailbox_id INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
    ) WITHOUT ROWID;
    CREATE INDEX pop3_retrieved_at ON pop3_retrieved(mailbox_id, at);
    "#,
    // 9: the first UID no IMAP session has been told of, for `\Recent`
    // (RFC 3501 §2.3.2; `recent.rs`). Messages already there are not
    // recent: whoever had the mailbox open saw them.
    r#"
    ALTER TABLE mailboxes ADD COLUMN first_recent_uid INTEGER NOT NULL DEFAULT 1;
    UPDATE mailboxes SET first_recent_uid = uidnext;
    "#,
    // 10: subscriptions are names, not a property of a mailbox: DELETE
    // leaves the name subscribed (RFC 3501 §6.3.9 MUST NOT remove it; LIST
    // (SUBSCRIBED) then shows it \NonExistent, RFC 5258 §3).
    r#"
    CREATE TABLE subscriptions (
        user_id INTEGER NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        PRIMARY KEY (user_id, name)
    ) WITHOUT ROWID;
    INSERT INTO subscriptions (user_id, name)
        SELECT user_id, name FROM mailboxes WHERE subscribed != 0;
    ALTER TABLE mailboxes DROP COLUMN subscribed;
    "#,
    // 11: abuse defence (`abuse.rs`): blocked client networks with their
    // reason, source and expiry (NULL: until removed); the last successful
    // login per client (an IPv4 address or an IPv6 /64), which keeps a
    // client from being blocked automatically; greylisting's triplets and
    // the client networks allowed after a successful retry. Networks are
    // canonical text (`192.0.2.1`, `2001:db8::/64`), written by the auth
    // crate's `IpNet`.
    r#"
    CREATE TABLE blocks (
        net TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        source TEXT NOT NULL,
        created INTEGER NOT NULL,
        expires INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE auth_success (
        net TEXT PRIMARY KEY,
        at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE greylist (
        net TEXT NOT NULL,
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        PRIMARY KEY (net, sender, recipient)
    ) WITHOUT ROWID;
    CREATE TABLE greylist_allowed (
        net TEXT PRIMARY KEY,
        until INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 12: the spam
    // classifier's storage and training (`training.rs`). The journal is
    // what users did that trains (a message entering or leaving `\Junk`,
    // `$Junk`/`$NotJunk` set), written in the commit that did it, each row
    // holding a reference on the message's blob until the trainer has
    // read it; `spam_trained` is what each (user, message) is trained as,
    // so an undo untrains and a repeat counts once; `spam_models` holds
    // the models' bytes (owner 0: the global model) with a version for
    // compare-and-swap between the server's trainer and the admin CLI;
    // `spam_senders` is the per-user sender reputation.
    r#"
    CREATE TABLE spam_journal (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        blob TEXT NOT NULL,
        class INTEGER NOT NULL,
        undo INTEGER NOT NULL DEFAULT 0,
        at INTEGER NOT NULL
    );
    CREATE INDEX spam_journal_user ON spam_journal(user_id);
    CREATE TABLE spam_trained (
        user_id INTEGER NOT NULL REFERENCES users(id),
        blob TEXT NOT NULL,
        class INTEGER NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (user_id, blob)
    ) WITHOUT ROWID;
    CREATE TABLE spam_models (
        owner INTEGER PRIMARY KEY,
        version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    CREATE TABLE spam_senders (
        user_id INTEGER NOT NULL REFERENCES users(id),
        address TEXT NOT NULL,
        sent INTEGER NOT NULL DEFAULT 0,
        ham INTEGER NOT NULL DEFAULT 0,
        spam INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, address)
    ) WITHOUT ROWID;
    CREATE INDEX spam_senders_age ON spam_senders(user_id, updated_at);
    "#,
    // 13 (issue 14, IMAP OBJECTID, RFC 8474): a message's EMAILID, given
    // at its first store (delivery, APPEND) as the mailbox's UIDVALIDITY
    // and the UID, both never reused, so unique store-wide; COPY and MOVE
    // copy it. Rows from before take the same from where they are now
    // (earlier copies of one message thus get different ids).
    r#"
    ALTER TABLE messages ADD COLUMN email_id INTEGER;
    UPDATE messages SET email_id =
        ((SELECT uidvalidity FROM mailboxes WHERE mailboxes.id = messages.mailbox_id) << 32) | uid;
    "#,
    // 14 (issue 14, IMAP METADATA, RFC 5464): annotations per user on a
    // mailbox (`mailbox_id`) or on the server (0), by entry name
    // (`/private/...`, `/shared/...`, lowercased). A mailbox's go with it
    // (DELETE), RENAME keeps them (the id stays).
    r#"
    CREATE TABLE metadata (
        user_id INTEGER NOT NULL,
        mailbox_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (user_id, mailbox_id, name)
    ) WITHOUT ROWID;
    "#,
    // 15 (issue 16, Sieve, RFC 5228; `sieve.rs`): users' scripts by name,
    // at most one active each (the partial unique index says so to SQLite
    // too); what the scripts remember between messages: vacation replies
    // sent (RFC 5230 §4.2: one per sender and handle per period) and the
    // ids `duplicate` has seen (RFC 7352), each with its expiry, the key
    // being what the interpreter names it.
    r#"
    CREATE TABLE sieve_scripts (
        user_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        content TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, name)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX sieve_scripts_active ON sieve_scripts(user_id) WHERE active = 1;
    CREATE TABLE sieve_vacation (
        user_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE sieve_duplicate (
        user_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, key)
    ) WITHOUT ROWID;
    "#,
    // 16 (issue 20, reports; `reports.rs`): what DMARC aggregate reports
    // (RFC 7489 §7.2) and TLS-RPT (RFC 8460) are made of, counted per day
    // and per distinct result so a busy day stays a few rows: inbound
    // DMARC evaluations and outbound TLS sessions. `sent_at` is 0 until the
    // row went into a report, and part of the key so later counts of the
    // same day start a new row instead of adding to a reported one. And
    // the reports others sent us, one row each (deduplicated by sender and
    // report id) with their rows.
    r#"
    CREATE TABLE dmarc_seen (
        sent_at INTEGER NOT NULL,
        day INTEGER NOT NULL,
        header_from TEXT NOT NULL,
        source_ip TEXT NOT NULL,
        envelope_from TEXT NOT NULL,
        spf_domain TEXT NOT NULL,
        spf_result TEXT NOT NULL,
        dkim TEXT NOT NULL,
        disposition TEXT NOT NULL,
        dkim_aligned TEXT NOT NULL,
        spf_aligned TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (sent_at, day, header_from, source_ip, envelope_from, spf_domain,
                     spf_result, dkim, disposition, dkim_aligned, spf_aligned)
    ) WITHOUT ROWID;
    CREATE TABLE tls_seen (
        sent_at INTEGER NOT NULL,
        day INTEGER NOT NULL,
        policy_domain TEXT NOT NULL,
        policy_type TEXT NOT NULL,
        mx_host TEXT NOT NULL,
        receiving_ip TEXT NOT NULL,
        result TEXT NOT NULL,
        policy_string TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (sent_at, day, policy_domain, policy_type, mx_host, receiving_ip, result)
    ) WITHOUT ROWID;
    CREATE TABLE reports_received (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        org TEXT NOT NULL,
        report_id TEXT NOT NULL,
        domain TEXT NOT NULL,
        date_begin INTEGER NOT NULL,
        date_end INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        UNIQUE (kind, org, report_id)
    );
    CREATE INDEX reports_received_end ON reports_received(date_end);
    CREATE TABLE reports_received_rows (
        report INTEGER NOT NULL REFERENCES reports_received(id) ON DELETE CASCADE,
        source TEXT NOT NULL,
        result TEXT NOT NULL,
        detail TEXT NOT NULL,
        count INTEGER NOT NULL
    );
    CREATE INDEX reports_received_rows_report ON reports_received_rows(report);
    "#,
    // 17 (issue 17, moving in; `import.rs`): POP3 UIDLs a message brought
    // from the old server (Dovecot's `dovecot-uidlist` P field, mbox
    // X-UIDL), which POP3 shows instead of ours; and how far `import imap`
    // got in each source folder (its UIDVALIDITY and the highest UID
    // copied), so a second run copies only what is new.
    r#"
    CREATE TABLE pop3_uidls (
        mailbox_id INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        uidl TEXT NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
    ) WITHOUT ROWID;
    CREATE TABLE import_marks (
        user_id INTEGER NOT NULL,
        source TEXT NOT NULL,
        folder TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL,
        PRIMARY KEY (user_id, source, folder)
    ) WITHOUT ROWID;
    "#,
    // 18 (issue 19, full-text search; `fts/mod.rs`): the trigram index of what SEARCH TEXT/BODY read,
    // contentless (the index only, no copy of the text), one row per blob
    // named in `fts_docs`; `fts_queue` holds the blobs to (un)index, filled
    // by triggers so every path that files or removes a message queues it,
    // and by this migration with every message there is.
    r#"
    CREATE TABLE fts_docs (
        id INTEGER PRIMARY KEY,
        blob TEXT NOT NULL UNIQUE,
        version INTEGER NOT NULL,
        complete INTEGER NOT NULL
    );
    CREATE VIRTUAL TABLE fts USING fts5(
        head, body, content='', contentless_delete=1,
        tokenize='trigram case_sensitive 1 remove_diacritics 0'
    );
    CREATE TABLE fts_queue (blob TEXT PRIMARY KEY) WITHOUT ROWID;
    INSERT OR IGNORE INTO fts_queue (blob) SELECT DISTINCT blob FROM messages;
    CREATE TRIGGER fts_filed AFTER INSERT ON messages
    WHEN NOT EXISTS (SELECT 1 FROM fts_docs WHERE blob = NEW.blob)
    BEGIN
        INSERT OR IGNORE INTO fts_queue (blob) VALUES (NEW.blob);
    END;
    CREATE TRIGGER fts_removed AFTER DELETE ON messages
    WHEN EXISTS (SELECT 1 FROM fts_docs WHERE blob = OLD.blob)
        AND NOT EXISTS (SELECT 1 FROM messages WHERE blob = OLD.blob)
    BEGIN
        INSERT OR IGNORE INTO fts_queue (blob) VALUES (OLD.blob);
    END;
    "#,
    // 19 (issue 18, the web console; `web.rs`): the admin role on users,
    // and the console's server-side sessions, keyed by the SHA-256 of the
    // cookie's random id (a copy of the database holds no live session),
    // tied to the user's id and address (a deleted user's id can be
    // reused), with the CSRF token of its forms and whether the second
    // login step (TOTP) is still owed.
    r#"
    ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE web_sessions (
        id_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL,
        address TEXT NOT NULL,
        csrf TEXT NOT NULL,
        pending_second_factor INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        ip TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX web_sessions_user ON web_sessions(user_id);
    "#,
    // 20 (issue 18, account security; `accounts.rs`): app passwords (a
    // SHA-256 of the generated password, its scopes, when and from where it
    // was last used), TOTP secrets with the last time step accepted and
    // their hashed recovery codes, and each user's recent logins (devices)
    // per protocol, address and IMAP ID.
    r#"
    CREATE TABLE app_passwords (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER,
        last_used_ip TEXT,
        UNIQUE (user_id, name)
    );
    CREATE TABLE totp (
        user_id INTEGER PRIMARY KEY REFERENCES users(id),
        secret BLOB NOT NULL,
        confirmed_at INTEGER,
        last_step INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE totp_recovery (
        user_id INTEGER NOT NULL,
        hash TEXT NOT NULL,
        used_at INTEGER,
        PRIMARY KEY (user_id, hash)
    ) WITHOUT ROWID;
    CREATE TABLE logins (
        user_id INTEGER NOT NULL,
        proto TEXT NOT NULL,
        ip TEXT NOT NULL,
        client_name TEXT NOT NULL DEFAULT '',
        client_version TEXT NOT NULL DEFAULT '',
        client_os TEXT NOT NULL DEFAULT '',
        first_at INTEGER NOT NULL,
        last_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, proto, ip, client_name, client_version, client_os)
    ) WITHOUT ROWID;
    CREATE INDEX logins_user_last ON logins(user_id, last_at);
    "#,
    // 21 (issues 15 and 18, a user's own spam settings; `spam_prefs.rs`):
    // their junk threshold and reject choice (NULL: the server's), and the
    // senders they allow or block (kind 1 allow, 0 block), by lowercased
    // pattern (`a@b.c` or `@b.c`).
    r#"
    CREATE TABLE spam_prefs (
        user_id INTEGER PRIMARY KEY,
        junk_threshold REAL,
        reject INTEGER,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE spam_sender_rules (
        user_id INTEGER NOT NULL,
        pattern TEXT NOT NULL,
        kind INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, pattern)
    ) WITHOUT ROWID;
    "#,
    // 22 (issue 19, big mailboxes; `sort_keys.rs`): each message's SORT
    // (DATE) value and thread head, set at delivery (NULL for the rows
    // before: derived from the meta and bytes when read), each in an
    // index that covers it in UID order, so a mailbox sorted by date or
    // threaded reads neither the rows (the columns come after the wide
    // meta) nor the meta.
    r#"
    ALTER TABLE messages ADD COLUMN sort_date INTEGER;
    ALTER TABLE messages ADD COLUMN thread_head BLOB;
    CREATE INDEX messages_sort_date ON messages(mailbox_id, uid, sort_date);
    CREATE INDEX messages_thread_head ON messages(mailbox_id, uid, thread_head);
    "#,
    // 23 (issue 15, ARC; `reports.rs`): why a DMARC policy was not applied
    // (a trusted ARC sealer vouched), for the aggregate report's
    // `<reason>`; NULL for the rows before it and for a policy applied as
    // published.
    r#"
    ALTER TABLE dmarc_seen ADD COLUMN override_reason TEXT;
    "#,
    // 24 (issue 19, SEARCH from the index alone; `fts/mod.rs`): each message names its
    // blob's index row (`fts_doc`, NULL while it has none), kept by the
    // indexer and by a trigger for a message filed with a blob indexed
    // already, so the UIDs of a mailbox's index hits come from a small
    // index (a seek per hit, or one scan: 100,000 messages ~6 ms) instead
    // of a join on the blob's hash per message (~300 ms), and its
    // messages without a row are one range; and the rows the index cannot
    // answer for exactly (another extraction's, cut text) are found
    // through an index of their state.
    r#"
    ALTER TABLE messages ADD COLUMN fts_doc INTEGER;
    UPDATE messages SET fts_doc = (SELECT d.id FROM fts_docs d WHERE d.blob = messages.blob)
        WHERE blob IN (SELECT blob FROM fts_docs);
    CREATE INDEX messages_fts ON messages(mailbox_id, fts_doc, uid);
    CREATE INDEX fts_docs_state ON fts_docs(version, complete);
    CREATE TRIGGER fts_linked AFTER INSERT ON messages
    WHEN EXISTS (SELECT 1 FROM fts_docs WHERE blob = NEW.blob)
    BEGIN
        UPDATE messages SET fts_doc = (SELECT id FROM fts_docs WHERE blob = NEW.blob)
        WHERE id = NEW.id;
    END;
    "#,
    // 25 (issue 19, UNSEEN on a big mailbox; `listing.rs`): the messages
    // without \Seen (bit 1 of `flags`), covering what a flag SEARCH
    // reads, so `UID SEARCH UNSEEN` on 100,000 messages of which 1,000
    // are unseen reads 1,000 index entries instead of the mailbox. Partial:
    // a seen message costs nothing here, and setting \Seen drops the entry.
    r#"
    CREATE INDEX messages_unseen ON messages(mailbox_id, uid, flags, keywords, modseq)
        WHERE flags & 1 = 0;
    "#,
    // 26 (issue 19, FETCH ENVELOPE BODYSTRUCTURE on a big mailbox;
    // `structure.rs`): each message's ENVELOPE and BODYSTRUCTURE as the
    // server renders them, written with the row; NULL in rows from before,
    // which are answered from their meta.
    "ALTER TABLE messages ADD COLUMN structure BLOB;",
    // 27 (issue 19, the same FETCH; `structure.rs`): the listing's
    // columns and the stored structure in UID order, so `UID FETCH 1:*
    // (UID FLAGS ENVELOPE BODYSTRUCTURE)` is one sequential read of ~0.7 KB
    // an entry instead of a seek into each wide row (meta, thread head and
    // headers beside it: ~4 KB a page holds one or two of them).
    r#"
    CREATE INDEX messages_fetch ON messages(mailbox_id, uid, flags, keywords, modseq,
        size, internal_date, structure);
    "#,
    // 28 (issue 19, bytes an import writes; `structure.rs`): the stored
    // structure kept once, in a table of its own clustered by (mailbox,
    // UID): 26 kept it in the row and 27 again in `messages_fetch` (63 MB
    // at 100,000 messages, and every STORE rewrote the entry with it).
    // A row is written with its message, copied by COPY and deleted at
    // expunge; the FETCH walks `messages_listing` and this table in step,
    // two sequential reads in UID order. The rows move here in key order,
    // then the index and the column go (the table is rewritten once).
    r#"
    CREATE TABLE message_structure (
        mailbox_id INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        structure BLOB NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
    ) WITHOUT ROWID;
    INSERT INTO message_structure (mailbox_id, uid, structure)
        SELECT mailbox_id, uid, structure FROM messages
        WHERE structure IS NOT NULL ORDER BY mailbox_id, uid;
    DROP INDEX messages_fetch;
    ALTER TABLE messages DROP COLUMN structure;
    "#,
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to `SCHEMA_VERSION`, one transaction per step.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Applies migrations up to `target` (the tests build every earlier
/// version's database with it).
pub(crate) fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL,
            applied_at INTEGER NOT NULL
        );",
    )?;
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: i64 = tx
            .query_row("SELECT version FROM schema_version WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?
            .unwrap_or(0);
        if current > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known: SCHEMA_VERSION,
            });
        }
        if current >= target {
            return Ok(());
        }
        let idx = usize::try_from(current).map_err(|_| StoreError::SchemaTooNew {
            found: current,
            known: SCHEMA_VERSION,
        })?;
        tx.execute_batch(MIGRATIONS[idx])?;
        tx.execute(
            "INSERT INTO schema_version (id, version, applied_at) VALUES (1, ?1, ?2)
             ON CONFLICT(id) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at",
            (current + 1, crate::now_secs()),
        )?;
        tx.commit()?;
        tracing::info!(version = current + 1, "applied schema migration");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_record_the_version() {
        let mut c = Connection::open_in_memory().expect("memory db");
        migrate(&mut c).expect("first");
        migrate(&mut c).expect("second is a no-op");
        let v: i64 = c
            .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
            .expect("row");
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn migration_5_keeps_every_message_and_its_meta() {
        let mut c = Connection::open_in_memory().expect("memory db");
        for m in &MIGRATIONS[..4] {
            c.execute_batch(m).expect("old migration");
        }
        c.execute_batch(
            "CREATE TABLE schema_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL,
                 applied_at INTEGER NOT NULL);
             INSERT INTO schema_version VALUES (1, 4, 0);
             INSERT INTO domains (id, name, created_at) VALUES (1, 'example.org', 0);
             INSERT INTO users (id, address, domain_id, password_hash, created_at)
                 VALUES (1, 'a@example.org', 1, 'x', 0);
             INSERT INTO mailboxes (id, user_id, name, uidvalidity) VALUES (1, 1, 'INBOX', 7);",
        )
        .expect("rows");
        for uid in 1..=3 {
            c.execute(
                "INSERT INTO messages (mailbox_id, uid, modseq, flags, size, internal_date,
                     saved_at, blob, meta, hdr_subject)
                 VALUES (1, ?1, ?1, 8, 100, 0, 0, 'b', ?2, 'subject')",
                (uid, format!("{{\"uid\":{uid}}}")),
            )
            .expect("message");
        }
        migrate(&mut c).expect("to the latest");
        let rows: Vec<(i64, i64, String, String)> = c
            .prepare("SELECT uid, flags, meta, hdr_subject FROM messages ORDER BY uid")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(rows.len(), 3);
        for (i, (uid, flags, meta, subject)) in rows.into_iter().enumerate() {
            assert_eq!(uid, i as i64 + 1);
            assert_eq!((flags, subject.as_str()), (8, "subject"));
            assert_eq!(meta, format!("{{\"uid\":{uid}}}"));
        }
        let dup = c.execute(
            "INSERT INTO messages (mailbox_id, uid, modseq, size, internal_date, saved_at, blob, meta)
             VALUES (1, 2, 9, 1, 0, 0, 'b', '{}')",
            [],
        );
        assert!(dup.is_err(), "(mailbox, uid) stays unique");
    }

    #[test]
    fn migration_6_keeps_every_blob_inline_or_not() {
        let mut c = Connection::open_in_memory().expect("memory db");
        for m in &MIGRATIONS[..5] {
            c.execute_batch(m).expect("old migration");
        }
        c.execute_batch(
            "CREATE TABLE schema_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL,
                 applied_at INTEGER NOT NULL);
             INSERT INTO schema_version VALUES (1, 5, 0);
             INSERT INTO blobs (hash, size, refcount, data) VALUES ('aa', 3, 2, x'010203');
             INSERT INTO blobs (hash, size, refcount, data) VALUES ('bb', 9, 1, NULL);",
        )
        .expect("rows");
        migrate(&mut c).expect("to the latest");
        let rows: Vec<(String, i64, i64, Option<Vec<u8>>)> = c
            .prepare("SELECT hash, size, refcount, data FROM blobs ORDER BY hash")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(
            rows,
            vec![
                ("aa".to_string(), 3, 2, Some(vec![1, 2, 3])),
                ("bb".to_string(), 9, 1, None)
            ]
        );
        let dup = c.execute(
            "INSERT INTO blobs (hash, size, refcount) VALUES ('aa', 1, 1)",
            [],
        );
        assert!(dup.is_err(), "a hash stays unique");
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut c = Connection::open_in_memory().expect("memory db");
        migrate(&mut c).expect("migrate");
        c.execute("UPDATE schema_version SET version = version + 5", [])
            .expect("bump");
        match migrate(&mut c) {
            Err(StoreError::SchemaTooNew { found, known }) => {
                assert_eq!((found, known), (SCHEMA_VERSION + 5, SCHEMA_VERSION))
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }
}
