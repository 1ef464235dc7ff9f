//! SMTP commands: `parse_command` turns one framed line into a `Command`
//! or a `CommandError` that names the reply to send (RFC 5321 §4.1.1,
//! §4.2.4; ESMTP extensions from RFC 1870, 2920, 3030, 3207, 3461, 4954,
//! 6152, 6531). Paths live in `address.rs`, parameters in `params.rs`;
//! their types are re-exported here.
//!
//! Choices where the RFCs leave room:
//! - Verbs are case-insensitive (RFC 5321 §2.4). The verb ends at the first
//!   space; several spaces before the argument are tolerated, and so are
//!   trailing spaces and tabs on the line (some clients send them).
//! - `MAIL FROM:` / `RCPT TO:` may be followed by spaces before the `<`
//!   (RFC 5321 §4.1.2 has none; many clients send one).
//! - The verb is read from bytes, so garbage is `Unrecognized`. After a
//!   known verb, an argument that is not UTF-8 is `NotUtf8` (500 5.5.2): no
//!   SMTP command, even with SMTPUTF8 (RFC 6531 §3.3), has such bytes.
//!   NOOP and HELP ignore their argument whatever its bytes.
//! - Control characters (NUL, CR, tab, ...) are refused in every argument
//!   that is read: EHLO/HELO, VRFY/EXPN, paths, parameters, AUTH.
//! - EHLO/HELO keep their whole argument as written: any non-empty text
//!   without control characters (RFC 5321 §4.1.4 asks servers not to refuse
//!   a client over its EHLO name).
//! - Verbs SMTP defines that Postern does not implement (TURN, SEND, ...)
//!   are `Unrecognized` (500 5.5.1).

use std::fmt;

use super::address::{self, Path};
pub use super::address::{ForwardPath, Mailbox, ReversePath};
use super::params::{self, parse_decimal};
pub use super::params::{Body, MailParams, Notify, RcptParams, Ret};
use super::reply::Reply;

/// How much of an unrecognized verb is echoed back.
const MAX_VERB_ECHO: usize = 32;

/// One client command.
#[derive(Clone, PartialEq, Eq)]
pub enum Command {
    /// EHLO with the client's name for itself (RFC 5321 §4.1.1.1).
    Ehlo(String),
    Helo(String),
    Mail {
        from: ReversePath,
        params: MailParams,
    },
    Rcpt {
        to: ForwardPath,
        params: RcptParams,
    },
    Data,
    /// RFC 3030 §2: a chunk of `size` octets follows the line.
    Bdat {
        size: u64,
        last: bool,
    },
    Rset,
    Noop,
    Quit,
    Vrfy(String),
    Expn(String),
    Help,
    /// RFC 3207.
    Starttls,
    /// RFC 4954 §4.
    Auth {
        /// The SASL mechanism name, uppercased (RFC 4422 §3.1).
        mechanism: String,
        /// The initial response as sent: base64, or `=` for an empty one.
        /// Not decoded here, and never printed by `Debug`.
        initial: Option<String>,
    },
}

impl Command {
    /// The verb, for logs.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Ehlo(_) => "EHLO",
            Command::Helo(_) => "HELO",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Bdat { .. } => "BDAT",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
            Command::Vrfy(_) => "VRFY",
            Command::Expn(_) => "EXPN",
            Command::Help => "HELP",
            Command::Starttls => "STARTTLS",
            Command::Auth { .. } => "AUTH",
        }
    }
}

/// Like a derived `Debug`, but the AUTH initial response, which may hold a
/// password (PLAIN), prints as `<redacted>`.
impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Ehlo(d) => f.debug_tuple("Ehlo").field(d).finish(),
            Command::Helo(d) => f.debug_tuple("Helo").field(d).finish(),
            Command::Mail { from, params } => f
                .debug_struct("Mail")
                .field("from", from)
                .field("params", params)
                .finish(),
            Command::Rcpt { to, params } => f
                .debug_struct("Rcpt")
                .field("to", to)
                .field("params", params)
                .finish(),
            Command::Bdat { size, last } => f
                .debug_struct("Bdat")
                .field("size", size)
                .field("last", last)
                .finish(),
            Command::Vrfy(s) => f.debug_tuple("Vrfy").field(s).finish(),
            Command::Expn(s) => f.debug_tuple("Expn").field(s).finish(),
            Command::Auth { mechanism, initial } => f
                .debug_struct("Auth")
                .field("mechanism", mechanism)
                .field("initial", &initial.as_ref().map(|_| "<redacted>"))
                .finish(),
            Command::Data => f.write_str("Data"),
            Command::Rset => f.write_str("Rset"),
            Command::Noop => f.write_str("Noop"),
            Command::Quit => f.write_str("Quit"),
            Command::Help => f.write_str("Help"),
            Command::Starttls => f.write_str("Starttls"),
        }
    }
}

/// A line the client sent that is not a valid command. Each is answered
/// with `reply()` and the session goes on (it is not a Rust error of ours).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    /// Unknown verb, printable ASCII only (others are `?`), at most 32
    /// characters: 500 5.5.1 (RFC 5321 §4.2.4).
    Unrecognized(String),
    /// Bad arguments or parameters: 501 5.5.4.
    Syntax(&'static str),
    /// A path that is not a valid address: 501 5.1.3 (RFC 3463 "bad
    /// destination mailbox address syntax").
    BadAddress(&'static str),
    /// An ESMTP parameter this server does not know, uppercased: 555 5.5.4
    /// (RFC 5321 §4.1.1.11).
    UnknownParameter(String),
    /// The argument is not UTF-8: 500 5.5.2, as for any unreadable line.
    NotUtf8,
}

impl CommandError {
    /// The reply that answers this error.
    pub fn reply(&self) -> Reply {
        match self {
            CommandError::Unrecognized(verb) if verb.is_empty() => {
                Reply::new(500, (5, 5, 1), "Command not recognized")
            }
            CommandError::Unrecognized(verb) => {
                Reply::new(500, (5, 5, 1), format!("Command not recognized: {verb}"))
            }
            CommandError::Syntax(why) => Reply::new(501, (5, 5, 4), *why),
            CommandError::BadAddress(why) => Reply::new(501, (5, 1, 3), *why),
            CommandError::UnknownParameter(key) => {
                Reply::new(555, (5, 5, 4), format!("Parameter not recognized: {key}"))
            }
            CommandError::NotUtf8 => Reply::new(500, (5, 5, 2), "Command is not valid UTF-8"),
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unrecognized(verb) => write!(f, "command not recognized: {verb:?}"),
            CommandError::Syntax(why) => write!(f, "syntax error: {why}"),
            CommandError::BadAddress(why) => write!(f, "bad address: {why}"),
            CommandError::UnknownParameter(key) => write!(f, "unknown parameter {key}"),
            CommandError::NotUtf8 => f.write_str("command is not valid UTF-8"),
        }
    }
}

impl std::error::Error for CommandError {}

fn syntax(why: &'static str) -> CommandError {
    CommandError::Syntax(why)
}

/// Parses one command line, given without its line ending (see
/// `CommandFramer`). Total: any bytes give a command or an error.
pub fn parse_command(line: &[u8]) -> Result<Command, CommandError> {
    let end = line
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    let line = line.get(..end).unwrap_or_default();
    let (verb, rest) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (
            line.get(..i).unwrap_or_default(),
            line.get(i + 1..).unwrap_or_default(),
        ),
        None => (line, &[][..]),
    };
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let raw_arg = rest.get(start..).unwrap_or_default();
    let upper = verb.to_ascii_uppercase();
    // The verb is matched on bytes, and the argument read as UTF-8 only for
    // a known verb, so junk is `Unrecognized` and a known verb with a bad
    // argument gets a precise reply.
    let arg = || std::str::from_utf8(raw_arg).map_err(|_| CommandError::NotUtf8);
    match upper.as_slice() {
        b"EHLO" => Ok(Command::Ehlo(hello_arg(arg()?)?)),
        b"HELO" => Ok(Command::Helo(hello_arg(arg()?)?)),
        b"MAIL" => parse_mail(arg()?),
        b"RCPT" => parse_rcpt(arg()?),
        b"DATA" => no_arg(arg()?, Command::Data),
        b"RSET" => no_arg(arg()?, Command::Rset),
        b"QUIT" => no_arg(arg()?, Command::Quit),
        // RFC 3207 §4: "STARTTLS" with no parameters.
        b"STARTTLS" => no_arg(arg()?, Command::Starttls),
        b"VRFY" => Ok(Command::Vrfy(text_arg(arg()?)?)),
        b"EXPN" => Ok(Command::Expn(text_arg(arg()?)?)),
        b"BDAT" => parse_bdat(arg()?),
        b"AUTH" => parse_auth(arg()?),
        // RFC 5321 §4.1.1.9, §4.1.1.8: the argument, whatever its bytes,
        // is ignored.
        b"NOOP" => Ok(Command::Noop),
        b"HELP" => Ok(Command::Help),
        _ => Err(CommandError::Unrecognized(sanitise_verb(verb))),
    }
}

/// Printable ASCII of the verb, others as `?`, at most 32 characters, so
/// the reply that echoes it cannot carry anything odd.
fn sanitise_verb(verb: &[u8]) -> String {
    verb.iter()
        .take(MAX_VERB_ECHO)
        .map(|&b| {
            if b.is_ascii_graphic() {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect()
}

fn no_arg(arg: &str, command: Command) -> Result<Command, CommandError> {
    if arg.is_empty() {
        Ok(command)
    } else {
        Err(syntax("This command takes no argument"))
    }
}

fn hello_arg(arg: &str) -> Result<String, CommandError> {
    if arg.is_empty() {
        return Err(syntax("A domain name or address literal is required"));
    }
    if arg.chars().any(char::is_control) {
        return Err(syntax("Invalid character in domain"));
    }
    Ok(arg.to_string())
}

fn text_arg(arg: &str) -> Result<String, CommandError> {
    if arg.is_empty() {
        return Err(syntax("An argument is required"));
    }
    if arg.chars().any(char::is_control) {
        return Err(syntax("Invalid character in argument"));
    }
    Ok(arg.to_string())
}

/// Strips `FROM:` or `TO:` (any case) and the spaces after it, then splits
/// the path from the parameters.
fn path_and_params<'a>(
    arg: &'a str,
    keyword: &str,
    expected: &'static str,
) -> Result<(Path, &'a str), CommandError> {
    let head = arg.get(..keyword.len()).ok_or(syntax(expected))?;
    if !head.eq_ignore_ascii_case(keyword) {
        return Err(syntax(expected));
    }
    let after = arg
        .get(keyword.len()..)
        .unwrap_or_default()
        .trim_start_matches(' ');
    let (path, len) = address::parse_path(after)?;
    let rest = after.get(len..).unwrap_or_default();
    if !rest.is_empty() && !rest.starts_with(' ') {
        return Err(syntax(
            "Expected a space between the address and parameters",
        ));
    }
    Ok((path, rest))
}

/// RFC 5321 §4.1.1.2: `MAIL FROM:<reverse-path> [SP Mail-parameters]`.
fn parse_mail(arg: &str) -> Result<Command, CommandError> {
    let (path, rest) = path_and_params(arg, "FROM:", "Expected MAIL FROM:<address>")?;
    let from = match path {
        Path::Null => ReversePath::Null,
        Path::Mailbox(m) => ReversePath::Mailbox(m),
        Path::Postmaster => return Err(CommandError::BadAddress("Address must be local@domain")),
    };
    let params = params::parse_mail_params(rest)?;
    Ok(Command::Mail { from, params })
}

/// RFC 5321 §4.1.1.3: `RCPT TO:<forward-path> [SP Rcpt-parameters]`.
fn parse_rcpt(arg: &str) -> Result<Command, CommandError> {
    let (path, rest) = path_and_params(arg, "TO:", "Expected RCPT TO:<address>")?;
    let to = match path {
        Path::Postmaster => ForwardPath::Postmaster,
        Path::Mailbox(m) => ForwardPath::Mailbox(m),
        Path::Null => return Err(CommandError::BadAddress("A recipient address is required")),
    };
    let params = params::parse_rcpt_params(rest)?;
    Ok(Command::Rcpt { to, params })
}

/// RFC 3030 §2: `BDAT SP chunk-size [SP end-marker]`, chunk-size 1*DIGIT,
/// end-marker `LAST`.
fn parse_bdat(arg: &str) -> Result<Command, CommandError> {
    let mut words = arg.split(' ').filter(|w| !w.is_empty());
    let size = words
        .next()
        .and_then(parse_decimal)
        .ok_or(syntax("BDAT needs a chunk size in octets"))?;
    let last = match words.next() {
        None => false,
        Some(w) if w.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Err(syntax("Expected BDAT <size> [LAST]")),
    };
    if words.next().is_some() {
        return Err(syntax("Expected BDAT <size> [LAST]"));
    }
    Ok(Command::Bdat { size, last })
}

/// RFC 4954 §4: `AUTH SP mechanism [SP initial-response]`, where the
/// mechanism is 1 to 20 of `A-Z 0-9 - _` (RFC 4422 §3.1) and the initial
/// response is base64 or `=` (an empty response). Only the character set
/// is checked here; the session decodes.
fn parse_auth(arg: &str) -> Result<Command, CommandError> {
    let mut words = arg.split(' ').filter(|w| !w.is_empty());
    let mechanism = words
        .next()
        .ok_or(syntax("AUTH needs a mechanism"))?
        .to_ascii_uppercase();
    let mech_ok = (1..=20).contains(&mechanism.len())
        && mechanism
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-' || c == b'_');
    if !mech_ok {
        return Err(syntax("Invalid SASL mechanism name"));
    }
    let initial = match words.next() {
        None => None,
        Some(w) => {
            let ok = w
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=');
            if !ok {
                return Err(syntax("Initial response is not base64"));
            }
            Some(w.to_string())
        }
    };
    if words.next().is_some() {
        return Err(syntax("Expected AUTH <mechanism> [initial-response]"));
    }
    Ok(Command::Auth { mechanism, initial })
}

#[cfg(test)]
mod tests {
    use super::super::line::{CommandFramer, Frame};
    use super::*;

    fn mb(local: &str, domain: &str) -> Mailbox {
        Mailbox {
            local: local.into(),
            domain: domain.into(),
        }
    }

    fn mail(local: &str, domain: &str) -> Command {
        Command::Mail {
            from: ReversePath::Mailbox(mb(local, domain)),
            params: MailParams::default(),
        }
    }

    fn rcpt(local: &str, domain: &str) -> Command {
        Command::Rcpt {
            to: ForwardPath::Mailbox(mb(local, domain)),
            params: RcptParams::default(),
        }
    }

    fn auth(mech: &str, initial: Option<&str>) -> Command {
        Command::Auth {
            mechanism: mech.into(),
            initial: initial.map(String::from),
        }
    }

    /// Checks `line` parses to `want`, then frames `line` CRLF split at
    /// every byte offset and checks the framed line parses the same.
    fn check(line: &[u8], want: &Result<Command, CommandError>) {
        assert_eq!(
            &parse_command(line),
            want,
            "{:?}",
            String::from_utf8_lossy(line)
        );
        let mut input = line.to_vec();
        input.extend_from_slice(b"\r\n");
        for at in 0..=input.len() {
            let mut framer = CommandFramer::new(1000);
            let mut buf = Vec::new();
            let mut got = Vec::new();
            for part in [
                input.get(..at).unwrap_or_default(),
                input.get(at..).unwrap_or_default(),
            ] {
                buf.extend_from_slice(part);
                while let Some((frame, n)) = framer.next(&buf) {
                    if let Frame::Line(l) = frame {
                        got.push(parse_command(l));
                    }
                    buf.drain(..n);
                }
            }
            assert_eq!(
                got.as_slice(),
                std::slice::from_ref(want),
                "split at {at}: {line:?}"
            );
        }
    }

    #[test]
    fn command_table() {
        use CommandError::*;
        let s = |why: &'static str| Err(Syntax(why));
        let cases: Vec<(&[u8], Result<Command, CommandError>)> = vec![
            // Verbs, any case, with the arguments they need.
            (b"EHLO bar.com", Ok(Command::Ehlo("bar.com".into()))),
            (b"ehlo [192.0.2.1]", Ok(Command::Ehlo("[192.0.2.1]".into()))),
            (
                b"EhLo  client.example  ",
                Ok(Command::Ehlo("client.example".into())),
            ),
            (b"EHLO my host", Ok(Command::Ehlo("my host".into()))),
            (b"EHLO", s("A domain name or address literal is required")),
            (
                b"EHLO   ",
                s("A domain name or address literal is required"),
            ),
            (b"EHLO a\0b", s("Invalid character in domain")),
            (b"EHLO a\rb", s("Invalid character in domain")),
            (
                b"HELO relay.example",
                Ok(Command::Helo("relay.example".into())),
            ),
            (b"HELO", s("A domain name or address literal is required")),
            (b"DATA", Ok(Command::Data)),
            (b"data  ", Ok(Command::Data)),
            (b"DATA now", s("This command takes no argument")),
            (b"RSET", Ok(Command::Rset)),
            (b"RSET x", s("This command takes no argument")),
            (b"QUIT", Ok(Command::Quit)),
            (b"quit\t", Ok(Command::Quit)),
            (b"QUIT now", s("This command takes no argument")),
            (b"STARTTLS", Ok(Command::Starttls)),
            (b"STARTTLS x", s("This command takes no argument")),
            (b"NOOP", Ok(Command::Noop)),
            (b"NOOP anything \xff\0 at all", Ok(Command::Noop)),
            (b"HELP", Ok(Command::Help)),
            (b"HELP MAIL", Ok(Command::Help)),
            (b"VRFY Smith", Ok(Command::Vrfy("Smith".into()))),
            (
                b"VRFY <smith@x.org>",
                Ok(Command::Vrfy("<smith@x.org>".into())),
            ),
            (b"VRFY", s("An argument is required")),
            (b"VRFY a\0", s("Invalid character in argument")),
            (b"EXPN staff", Ok(Command::Expn("staff".into()))),
            (b"EXPN", s("An argument is required")),
            // MAIL FROM (RFC 5321 §4.1.1.2).
            (b"MAIL FROM:<Smith@bar.com>", Ok(mail("Smith", "bar.com"))),
            (b"mail from:<Smith@Bar.COM>", Ok(mail("Smith", "bar.com"))),
            (b"MAIL FROM: <a@b.org>", Ok(mail("a", "b.org"))),
            (b"MAIL  FROM:  <a@b.org>  ", Ok(mail("a", "b.org"))),
            (
                b"MAIL FROM:<>",
                Ok(Command::Mail {
                    from: ReversePath::Null,
                    params: MailParams::default(),
                }),
            ),
            (
                b"MAIL FROM:<> SIZE=100 BODY=8BITMIME",
                Ok(Command::Mail {
                    from: ReversePath::Null,
                    params: MailParams {
                        size: Some(100),
                        body: Some(Body::EightBitMime),
                        ..Default::default()
                    },
                }),
            ),
            (
                "MAIL FROM:<jörg@bücher.de> SMTPUTF8".as_bytes(),
                Ok(Command::Mail {
                    from: ReversePath::Mailbox(mb("jörg", "bücher.de")),
                    params: MailParams {
                        smtputf8: true,
                        ..Default::default()
                    },
                }),
            ),
            (b"MAIL FROM:<@a.org,@b.org:u@c.org>", Ok(mail("u", "c.org"))),
            (
                b"MAIL FROM:Smith@bar.com",
                Err(BadAddress("Angle brackets are required around the address")),
            ),
            (
                b"MAIL FROM:",
                Err(BadAddress("Angle brackets are required around the address")),
            ),
            (
                b"MAIL FROM:<Postmaster>",
                Err(BadAddress("Address must be local@domain")),
            ),
            (
                b"MAIL FROM:<a@b.org>SIZE=1",
                s("Expected a space between the address and parameters"),
            ),
            (
                b"MAIL FROM:<a@b.org> FOO=1",
                Err(UnknownParameter("FOO".into())),
            ),
            (
                b"MAIL FROM:<a@b.org> SIZE=x",
                s("SIZE must be a decimal number"),
            ),
            (b"MAIL TO:<a@b.org>", s("Expected MAIL FROM:<address>")),
            (b"MAIL FROM <a@b.org>", s("Expected MAIL FROM:<address>")),
            (b"MAIL", s("Expected MAIL FROM:<address>")),
            (b"MAIL FRO", s("Expected MAIL FROM:<address>")),
            (b"MAIL FROM:<\xff@b.org>", Err(NotUtf8)),
            (
                b"MAIL FROM:<a\0@b.org>",
                Err(BadAddress("Invalid local part")),
            ),
            // RCPT TO (RFC 5321 §4.1.1.3).
            (b"RCPT TO:<Jones@foo.com>", Ok(rcpt("Jones", "foo.com"))),
            (b"rcpt to: <Jones@Foo.com>", Ok(rcpt("Jones", "foo.com"))),
            (
                b"RCPT TO:<Postmaster>",
                Ok(Command::Rcpt {
                    to: ForwardPath::Postmaster,
                    params: RcptParams::default(),
                }),
            ),
            (
                b"RCPT TO:<postmaster@Foo.com>",
                Ok(rcpt("postmaster", "foo.com")),
            ),
            (
                b"RCPT TO:<a@b.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b.org",
                Ok(Command::Rcpt {
                    to: ForwardPath::Mailbox(mb("a", "b.org")),
                    params: RcptParams {
                        notify: Some(Notify {
                            success: true,
                            failure: true,
                            ..Default::default()
                        }),
                        orcpt: Some("rfc822;a@b.org".into()),
                    },
                }),
            ),
            (
                b"RCPT TO:<>",
                Err(BadAddress("A recipient address is required")),
            ),
            (
                b"RCPT TO:a@b.org",
                Err(BadAddress("Angle brackets are required around the address")),
            ),
            (
                b"RCPT TO:<a@b.org> SIZE=1",
                Err(UnknownParameter("SIZE".into())),
            ),
            (b"RCPT FROM:<a@b.org>", s("Expected RCPT TO:<address>")),
            // BDAT (RFC 3030 §2).
            (
                b"BDAT 86 LAST",
                Ok(Command::Bdat {
                    size: 86,
                    last: true,
                }),
            ),
            (
                b"bdat 1000",
                Ok(Command::Bdat {
                    size: 1000,
                    last: false,
                }),
            ),
            (
                b"BDAT 0 last",
                Ok(Command::Bdat {
                    size: 0,
                    last: true,
                }),
            ),
            (
                b"BDAT 18446744073709551615",
                Ok(Command::Bdat {
                    size: u64::MAX,
                    last: false,
                }),
            ),
            (
                b"BDAT 18446744073709551616",
                s("BDAT needs a chunk size in octets"),
            ),
            (b"BDAT", s("BDAT needs a chunk size in octets")),
            (b"BDAT -1", s("BDAT needs a chunk size in octets")),
            (b"BDAT +1", s("BDAT needs a chunk size in octets")),
            (b"BDAT 10 FIRST", s("Expected BDAT <size> [LAST]")),
            (b"BDAT 10 LAST x", s("Expected BDAT <size> [LAST]")),
            // AUTH (RFC 4954 §4).
            (b"AUTH PLAIN", Ok(auth("PLAIN", None))),
            (
                b"auth plain AGFsaWNlAHNlY3JldA==",
                Ok(auth("PLAIN", Some("AGFsaWNlAHNlY3JldA=="))),
            ),
            (b"AUTH PLAIN =", Ok(auth("PLAIN", Some("=")))),
            (b"AUTH SCRAM-SHA-256", Ok(auth("SCRAM-SHA-256", None))),
            (b"AUTH", s("AUTH needs a mechanism")),
            (b"AUTH PL@IN", s("Invalid SASL mechanism name")),
            (
                b"AUTH ABCDEFGHIJKLMNOPQRSTU",
                s("Invalid SASL mechanism name"),
            ),
            (b"AUTH PLAIN abc!", s("Initial response is not base64")),
            (
                b"AUTH PLAIN abc def",
                s("Expected AUTH <mechanism> [initial-response]"),
            ),
            // Unknown verbs and junk.
            (b"", Err(Unrecognized(String::new()))),
            (b"   ", Err(Unrecognized(String::new()))),
            (b" EHLO x", Err(Unrecognized(String::new()))),
            (b"TURN", Err(Unrecognized("TURN".into()))),
            (b"Hello there", Err(Unrecognized("Hello".into()))),
            (b"GET / HTTP/1.1", Err(Unrecognized("GET".into()))),
            (
                b"\x16\x03\x01\x02\x00\x01",
                Err(Unrecognized("??????".into())),
            ),
            (b"EHLO\tbar", Err(Unrecognized("EHLO?bar".into()))),
            (b"DATA\r", Err(Unrecognized("DATA?".into()))),
            (
                "MÄIL FROM:<a@b>".as_bytes(),
                Err(Unrecognized("M??IL".into())),
            ),
            (&[b'X'; 100], Err(Unrecognized("X".repeat(32)))),
            (b"EHLO \xff\xfe", Err(NotUtf8)),
            (b"XYZZY \xff\xfe", Err(Unrecognized("XYZZY".into()))),
            (b"DATA \xff", Err(NotUtf8)),
        ];
        for (line, want) in &cases {
            check(line, want);
        }
    }

    #[test]
    fn rfc5321_appendix_d_client_lines() {
        // RFC 5321 Appendix D.1 and D.3, the client side.
        let lines: Vec<(&[u8], Command)> = vec![
            (b"EHLO bar.com", Command::Ehlo("bar.com".into())),
            (b"MAIL FROM:<Smith@bar.com>", mail("Smith", "bar.com")),
            (b"RCPT TO:<Jones@foo.com>", rcpt("Jones", "foo.com")),
            (b"RCPT TO:<Green@foo.com>", rcpt("Green", "foo.com")),
            (b"RCPT TO:<Brown@foo.com>", rcpt("Brown", "foo.com")),
            (b"DATA", Command::Data),
            (b"QUIT", Command::Quit),
            (b"VRFY Crispin", Command::Vrfy("Crispin".into())),
            (b"MAIL FROM:<EAK@bar.com>", mail("EAK", "bar.com")),
            (b"RCPT TO:<Admin.MRC@foo.com>", rcpt("Admin.MRC", "foo.com")),
        ];
        for (line, want) in lines {
            check(line, &Ok(want));
        }
    }

    #[test]
    fn every_error_has_its_reply_code() {
        let table: Vec<(CommandError, u16, (u8, u16, u16))> = vec![
            (CommandError::Unrecognized("FOO".into()), 500, (5, 5, 1)),
            (CommandError::Syntax("x"), 501, (5, 5, 4)),
            (CommandError::BadAddress("x"), 501, (5, 1, 3)),
            (CommandError::UnknownParameter("X".into()), 555, (5, 5, 4)),
            (CommandError::NotUtf8, 500, (5, 5, 2)),
        ];
        for (err, code, status) in table {
            let reply = err.reply();
            assert_eq!((reply.code, reply.status), (code, Some(status)), "{err}");
        }
        let mut out = Vec::new();
        CommandError::Unrecognized("FOO".into())
            .reply()
            .encode(&mut out);
        assert_eq!(out, b"500 5.5.1 Command not recognized: FOO\r\n");
    }

    #[test]
    fn debug_never_prints_the_auth_response() {
        let cmd = parse_command(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==").expect("valid AUTH");
        let shown = format!("{cmd:?}");
        assert!(!shown.contains("AGFsaWNl"), "{shown}");
        assert!(
            shown.contains("<redacted>") && shown.contains("PLAIN"),
            "{shown}"
        );
        assert_eq!(cmd.verb(), "AUTH");
    }
}
