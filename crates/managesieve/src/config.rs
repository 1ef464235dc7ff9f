//! The ManageSieve section of the configuration (`[managesieve]`), as the
//! server runs with it. The script limits (size, count, redirects) are
//! `[sieve]`'s, shared with delivery, and come in the session's context.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct ManageSieveConfig {
    /// Named in the greeting's IMPLEMENTATION line and logs.
    pub hostname: String,
    /// Longest command text, every line of a command counted but not its
    /// literals' octets (a script comes as a literal).
    pub max_line: usize,
    /// Silence allowed in any state before the connection is closed.
    pub idle_timeout: Duration,
    /// Accept AUTHENTICATE without TLS from 127.0.0.0/8 and ::1 (for
    /// local tools); everywhere else STARTTLS comes first.
    pub plaintext_on_loopback: bool,
    /// Bad commands (and failed logins) before the session is closed.
    pub max_errors: usize,
}

impl Default for ManageSieveConfig {
    fn default() -> Self {
        ManageSieveConfig {
            hostname: "localhost".into(),
            max_line: 8192,
            idle_timeout: Duration::from_secs(30 * 60),
            plaintext_on_loopback: false,
            max_errors: 10,
        }
    }
}
