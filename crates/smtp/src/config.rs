//! The SMTP section of the configuration, as the server runs with it. The
//! binary fills it from `[smtp]` in postern.toml; every field has a default.

use std::time::Duration;

use crate::wire::BareLineEndings;

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// The name in the greeting, EHLO reply and Received headers.
    pub hostname: String,
    /// Longest command line, CRLF included (RFC 5321 §4.5.3.1.4: at least 512).
    pub max_command_line: usize,
    /// Longest text line in DATA, CRLF included (RFC 5321 §4.5.3.1.6: 1000);
    /// 0 accepts any length.
    pub max_data_line: usize,
    /// Largest message accepted, in bytes (advertised as SIZE).
    pub max_message_size: u64,
    /// Most recipients in one transaction (RFC 5321 §4.5.3.1.8: at least 100).
    pub max_recipients: usize,
    /// Errors (bad commands, refused recipients, failed AUTH) before `421` and close.
    pub max_errors: usize,
    /// Commands that move no mail forward (NOOP, RSET, VRFY, EXPN, HELP, a
    /// repeated EHLO/HELO or RCPT, RCPTs far past `max_recipients`) allowed between two accepted messages;
    /// the next one is answered `421 4.7.0` and the connection closed.
    pub max_junk_commands: usize,
    /// Past this many such commands each reply waits `junk_delay_step`
    /// longer than the last, up to `junk_max_delay` (a tarpit).
    pub junk_before_delay: usize,
    pub junk_delay_step: Duration,
    pub junk_max_delay: Duration,
    /// Most `Received:` fields a message may carry; more is a mail loop,
    /// refused with `554 5.4.6` (RFC 5321 §6.3: at least 100).
    pub max_received_headers: usize,
    /// What to do with a bare CR or LF in DATA: refuse the message, or treat it
    /// as a line end. Either way only CRLF.CRLF ends the data.
    pub bare_line_endings: BareLineEndings,
    /// How long the server waits for a command (RFC 5321 §4.5.3.2.7: 5 minutes).
    pub command_timeout: Duration,
    /// How long the server waits for the next DATA or BDAT bytes
    /// (RFC 5321 §4.5.3.2.5: 3 minutes between blocks).
    pub data_timeout: Duration,
    /// The longest one message's DATA or BDAT transfer may take in all, so a
    /// client trickling bytes cannot hold a connection for ever.
    pub data_total_timeout: Duration,
    /// Put the TLS cipher and the authenticated user in Received headers of
    /// submitted mail (otherwise only "with ESMTPSA").
    pub received_details: bool,
    /// Greylisting on port 25 (`[greylist]`; off by default).
    pub greylist: crate::session::GreylistConfig,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            hostname: "localhost".into(),
            max_command_line: 512,
            max_data_line: 1000,
            max_message_size: 50 * 1024 * 1024,
            max_recipients: 100,
            max_errors: 10,
            max_junk_commands: 100,
            junk_before_delay: 50,
            junk_delay_step: Duration::from_millis(100),
            junk_max_delay: Duration::from_secs(1),
            max_received_headers: 100,
            bare_line_endings: BareLineEndings::Reject,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(180),
            data_total_timeout: Duration::from_secs(1800),
            received_details: true,
            greylist: Default::default(),
        }
    }
}

/// Which kind of listener a session came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Port 25: mail for local recipients from anyone; no AUTH; no relay.
    Mx,
    /// Ports 587 (STARTTLS required before AUTH) and 465 (implicit TLS):
    /// AUTH required; relay for the authenticated user.
    Submission,
}
