//! The POP3 command parser: one line (without checking state) into a typed
//! [`Command`], or a [`CommandError`] the session answers with `-ERR`.
//!
//! RFC 1939 §3: a keyword of 3-4 characters, case-insensitive, then
//! arguments separated by single spaces. Leniency here: runs of spaces
//! between arguments are accepted, and PASS takes the rest of the line as
//! the password (§7 allows it, so passwords may contain spaces).

use std::fmt;
use std::num::NonZeroU32;

/// A message number as the client wrote it: 1 or more. Whether it names a
/// message of the maildrop is the session's question.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MsgNum(pub NonZeroU32);

impl MsgNum {
    pub fn new(n: u32) -> Option<MsgNum> {
        NonZeroU32::new(n).map(MsgNum)
    }

    pub fn get(self) -> u32 {
        self.0.get()
    }

    /// The zero-based index into the maildrop's list.
    pub fn index(self) -> usize {
        self.0.get() as usize - 1
    }
}

impl fmt::Display for MsgNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A password as sent with PASS; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub Vec<u8>);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A command of RFC 1939, RFC 2449 (CAPA), RFC 2595 (STLS) or RFC 5034
/// (AUTH). APOP is not offered, so it parses as unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Capa,
    Stls,
    User(String),
    Pass(Password),
    /// `AUTH` alone lists the mechanisms (what Outlook sends first);
    /// `initial` is the base64 initial response as written (`=` is empty).
    Auth {
        mechanism: Option<String>,
        initial: Option<String>,
    },
    Stat,
    List(Option<MsgNum>),
    Uidl(Option<MsgNum>),
    Retr(MsgNum),
    Top(MsgNum, u32),
    Dele(MsgNum),
    Noop,
    Rset,
    Quit,
}

impl Command {
    /// The keyword, for logs (never the arguments: PASS carries a secret).
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Capa => "CAPA",
            Command::Stls => "STLS",
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Auth { .. } => "AUTH",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Uidl(_) => "UIDL",
            Command::Retr(_) => "RETR",
            Command::Top(..) => "TOP",
            Command::Dele(_) => "DELE",
            Command::Noop => "NOOP",
            Command::Rset => "RSET",
            Command::Quit => "QUIT",
        }
    }
}

/// Why a line is not a command; each is answered with `-ERR` and counts
/// against the session's error limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    Empty,
    NulByte,
    Unknown,
    /// A required argument is missing.
    MissingArgument(&'static str),
    TooManyArguments(&'static str),
    /// Not a decimal number at all (`abc`, `-1`, `+3`, `1.5`).
    NotANumber(&'static str),
    /// `0`: RFC 1939 message numbers start at 1.
    ZeroMessageNumber,
    /// A number too large to be a message number or a line count.
    NumberTooLarge(&'static str),
    NotUtf8,
}

impl CommandError {
    /// The text after `-ERR `.
    pub fn message(&self) -> String {
        match self {
            CommandError::Empty => "Empty command".into(),
            CommandError::NulByte => "NUL byte in command".into(),
            CommandError::Unknown => "Unknown command".into(),
            CommandError::MissingArgument(what) => format!("Missing argument: {what}"),
            CommandError::TooManyArguments(verb) => format!("Too many arguments for {verb}"),
            CommandError::NotANumber(what) => format!("Invalid {what}: not a number"),
            CommandError::ZeroMessageNumber => {
                "Invalid message number: messages are numbered from 1".into()
            }
            CommandError::NumberTooLarge(what) => format!("Invalid {what}: too large"),
            CommandError::NotUtf8 => "Invalid UTF-8 in argument".into(),
        }
    }
}

/// Parses one command line (its CRLF or LF may still be on it).
pub fn parse_command(line: &[u8]) -> Result<Command, CommandError> {
    let line = trim_eol(line);
    if line.contains(&0) {
        return Err(CommandError::NulByte);
    }
    let (verb, rest) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &b""[..]),
    };
    if verb.is_empty() {
        return Err(CommandError::Empty);
    }
    if verb.len() > 4 || !verb.iter().all(u8::is_ascii_alphabetic) {
        return Err(CommandError::Unknown);
    }
    let mut upper = [0u8; 4];
    upper[..verb.len()].copy_from_slice(verb);
    upper.make_ascii_uppercase();
    let args = Args::new(rest);
    let cmd = match &upper[..verb.len()] {
        b"CAPA" => args.none("CAPA", Command::Capa)?,
        b"STLS" => args.none("STLS", Command::Stls)?,
        b"STAT" => args.none("STAT", Command::Stat)?,
        b"NOOP" => args.none("NOOP", Command::Noop)?,
        b"RSET" => args.none("RSET", Command::Rset)?,
        b"QUIT" => args.none("QUIT", Command::Quit)?,
        b"USER" => {
            let name = args.one("USER", "user name")?;
            Command::User(utf8(name)?.to_owned())
        }
        b"PASS" => {
            // RFC 1939 §7: the rest of the line, spaces and all.
            if rest.is_empty() {
                return Err(CommandError::MissingArgument("password"));
            }
            Command::Pass(Password(rest.to_vec()))
        }
        b"AUTH" => {
            let mut words = args.words();
            let mechanism = words.next().map(|m| utf8(m).map(str::to_ascii_uppercase));
            let initial = words.next().map(|i| utf8(i).map(str::to_owned));
            if words.next().is_some() {
                return Err(CommandError::TooManyArguments("AUTH"));
            }
            Command::Auth {
                mechanism: mechanism.transpose()?,
                initial: initial.transpose()?,
            }
        }
        b"LIST" => Command::List(args.optional_msg("LIST")?),
        b"UIDL" => Command::Uidl(args.optional_msg("UIDL")?),
        b"RETR" => Command::Retr(msg(args.one("RETR", "message number")?)?),
        b"DELE" => Command::Dele(msg(args.one("DELE", "message number")?)?),
        b"TOP" => {
            let mut words = args.words();
            let n = words
                .next()
                .ok_or(CommandError::MissingArgument("message number"))?;
            let lines = words
                .next()
                .ok_or(CommandError::MissingArgument("number of lines"))?;
            if words.next().is_some() {
                return Err(CommandError::TooManyArguments("TOP"));
            }
            Command::Top(msg(n)?, line_count(lines)?)
        }
        _ => return Err(CommandError::Unknown),
    };
    Ok(cmd)
}

/// Drops one trailing LF and then one CR.
pub fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The arguments after the keyword.
struct Args<'a>(&'a [u8]);

impl<'a> Args<'a> {
    fn new(rest: &'a [u8]) -> Args<'a> {
        Args(rest)
    }

    fn words(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        self.0.split(|&b| b == b' ').filter(|w| !w.is_empty())
    }

    fn none(&self, verb: &'static str, cmd: Command) -> Result<Command, CommandError> {
        match self.words().next() {
            None => Ok(cmd),
            Some(_) => Err(CommandError::TooManyArguments(verb)),
        }
    }

    fn one(&self, verb: &'static str, what: &'static str) -> Result<&'a [u8], CommandError> {
        let mut w = self.words();
        let first = w.next().ok_or(CommandError::MissingArgument(what))?;
        match w.next() {
            None => Ok(first),
            Some(_) => Err(CommandError::TooManyArguments(verb)),
        }
    }

    fn optional_msg(&self, verb: &'static str) -> Result<Option<MsgNum>, CommandError> {
        let mut w = self.words();
        let Some(first) = w.next() else {
            return Ok(None);
        };
        if w.next().is_some() {
            return Err(CommandError::TooManyArguments(verb));
        }
        msg(first).map(Some)
    }
}

fn utf8(b: &[u8]) -> Result<&str, CommandError> {
    std::str::from_utf8(b).map_err(|_| CommandError::NotUtf8)
}

/// A decimal number of digits only (no sign: RFC 1939 has none).
fn number(b: &[u8], what: &'static str) -> Result<u32, CommandError> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return Err(CommandError::NotANumber(what));
    }
    let mut n: u32 = 0;
    for &d in b {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u32::from(d - b'0')))
            .ok_or(CommandError::NumberTooLarge(what))?;
    }
    Ok(n)
}

/// TOP's line count. RFC 1939 §7: a count past the end of the body sends
/// the whole body, so any count too large for a u32 is as good as
/// `u32::MAX` (no message has that many lines), not an error.
fn line_count(b: &[u8]) -> Result<u32, CommandError> {
    match number(b, "number of lines") {
        Err(CommandError::NumberTooLarge(_)) => Ok(u32::MAX),
        other => other,
    }
}

fn msg(b: &[u8]) -> Result<MsgNum, CommandError> {
    MsgNum::new(number(b, "message number")?).ok_or(CommandError::ZeroMessageNumber)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(n: u32) -> MsgNum {
        MsgNum::new(n).expect("nonzero")
    }

    #[test]
    fn every_command_parses() {
        let table: Vec<(&[u8], Command)> = vec![
            (b"CAPA\r\n", Command::Capa),
            (b"capa\r\n", Command::Capa),
            (b"STLS\r\n", Command::Stls),
            (
                b"USER ann@example.org\r\n",
                Command::User("ann@example.org".into()),
            ),
            (
                b"PASS two words \r\n",
                Command::Pass(Password(b"two words ".to_vec())),
            ),
            (
                b"AUTH\r\n",
                Command::Auth {
                    mechanism: None,
                    initial: None,
                },
            ),
            (
                b"AUTH plain AGFubgBwdw==\r\n",
                Command::Auth {
                    mechanism: Some("PLAIN".into()),
                    initial: Some("AGFubgBwdw==".into()),
                },
            ),
            (
                b"AUTH LOGIN =\r\n",
                Command::Auth {
                    mechanism: Some("LOGIN".into()),
                    initial: Some("=".into()),
                },
            ),
            (b"STAT\r\n", Command::Stat),
            (b"LIST\r\n", Command::List(None)),
            (b"LIST 2\r\n", Command::List(Some(m(2)))),
            (b"UIDL\n", Command::Uidl(None)),
            (b"UIDL 007\r\n", Command::Uidl(Some(m(7)))),
            (b"RETR 1\r\n", Command::Retr(m(1))),
            (b"TOP 1 0\r\n", Command::Top(m(1), 0)),
            (b"top 3  10\r\n", Command::Top(m(3), 10)),
            (b"TOP 1 4294967295\r\n", Command::Top(m(1), u32::MAX)),
            (b"TOP 1 99999999999\r\n", Command::Top(m(1), u32::MAX)),
            (
                b"TOP 1 999999999999999999999999999999999999\r\n",
                Command::Top(m(1), u32::MAX),
            ),
            (b"DELE 4294967295\r\n", Command::Dele(m(u32::MAX))),
            (b"NOOP\r\n", Command::Noop),
            (b"RSET\r\n", Command::Rset),
            (b"QUIT\r\n", Command::Quit),
        ];
        for (line, want) in table {
            assert_eq!(
                parse_command(line),
                Ok(want),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn bad_lines_get_the_right_error() {
        use CommandError::*;
        let table: Vec<(&[u8], CommandError)> = vec![
            (b"\r\n", Empty),
            (b" STAT\r\n", Empty),
            (b"ST\0T\r\n", NulByte),
            (b"RETR 1\0\r\n", NulByte),
            (b"APOP ann c4c9334bac560ecc979e58001b3e22fb\r\n", Unknown),
            (b"XYZZY\r\n", Unknown),
            (b"R3TR 1\r\n", Unknown),
            (b"\xff\xfe\r\n", Unknown),
            (b"STAT 1\r\n", TooManyArguments("STAT")),
            (b"QUIT now\r\n", TooManyArguments("QUIT")),
            (b"USER\r\n", MissingArgument("user name")),
            (b"USER a b\r\n", TooManyArguments("USER")),
            (b"USER \xff\r\n", NotUtf8),
            (b"PASS\r\n", MissingArgument("password")),
            (b"RETR\r\n", MissingArgument("message number")),
            (b"RETR 0\r\n", ZeroMessageNumber),
            (b"RETR 00\r\n", ZeroMessageNumber),
            (b"RETR -1\r\n", NotANumber("message number")),
            (b"RETR +1\r\n", NotANumber("message number")),
            (b"RETR one\r\n", NotANumber("message number")),
            (b"RETR 1 2\r\n", TooManyArguments("RETR")),
            (b"DELE 4294967296\r\n", NumberTooLarge("message number")),
            (b"LIST 0\r\n", ZeroMessageNumber),
            (b"LIST 1 2\r\n", TooManyArguments("LIST")),
            (b"TOP 1\r\n", MissingArgument("number of lines")),
            (b"TOP 1 -5\r\n", NotANumber("number of lines")),
            (b"TOP 1 x\r\n", NotANumber("number of lines")),
            (b"TOP 99999999999 1\r\n", NumberTooLarge("message number")),
            (b"TOP 0 1\r\n", ZeroMessageNumber),
            (b"TOP 1 2 3\r\n", TooManyArguments("TOP")),
            (b"AUTH PLAIN a b\r\n", TooManyArguments("AUTH")),
        ];
        for (line, want) in table {
            assert_eq!(
                parse_command(line),
                Err(want),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn the_password_never_shows_in_debug() {
        let cmd = parse_command(b"PASS hunter2\r\n").expect("parses");
        assert!(!format!("{cmd:?}").contains("hunter2"));
    }
}
