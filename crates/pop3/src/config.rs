//! The POP3 section of the configuration, as the server runs with it.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Pop3Config {
    /// Named in the greeting.
    pub hostname: String,
    /// Longest command line, CRLF included. RFC 2449 §4 asks for at least
    /// 255; AUTH with an initial response (RFC 5034 §4) needs more.
    pub max_line: usize,
    /// Silence allowed in any state (RFC 1939 §3: at least 10 minutes).
    /// When it runs out the connection closes without applying deletes.
    pub idle_timeout: Duration,
    /// Accept USER/PASS and AUTH without TLS from 127.0.0.0/8 and ::1
    /// (for local tools); everywhere else STLS comes first.
    pub plaintext_on_loopback: bool,
    /// Bad commands (and failed logins) before the session is closed.
    pub max_errors: usize,
    /// Whether RETR sets `\Seen` (applied at QUIT). Off by default, like
    /// Dovecot's `pop3_no_flag_updates`: a phone downloading over POP3 then
    /// does not mark mail read for the user's IMAP clients.
    pub retr_sets_seen: bool,
    /// Least time between two logins of one user, advertised as LOGIN-DELAY
    /// (RFC 2449 §6.5); zero turns it off (and it is not advertised).
    pub login_delay: Duration,
    /// Server-side expiry, advertised as EXPIRE (RFC 2449 §6.7): messages a
    /// POP3 client retrieved are removed this long after their first RETR,
    /// at a later QUIT. Zero: retrieved messages go at this session's QUIT
    /// (`EXPIRE 0`, no leaving mail on the server). `None` (the default):
    /// never, advertised as `EXPIRE NEVER`.
    pub expire: Option<Duration>,
    /// Messages a session's snapshot holds at most: a bigger maildrop
    /// shows its oldest this many (by UID), and the rest appear as those
    /// are deleted, the way Gmail hands out a large mailbox in batches.
    /// Bounds a session's memory (16 bytes a message).
    pub max_messages: usize,
}

impl Default for Pop3Config {
    fn default() -> Self {
        Pop3Config {
            hostname: "localhost".into(),
            max_line: 2048,
            idle_timeout: Duration::from_secs(10 * 60),
            plaintext_on_loopback: false,
            max_errors: 10,
            retr_sets_seen: false,
            login_delay: Duration::ZERO,
            expire: None,
            max_messages: 250_000,
        }
    }
}
