//! The RFC 5804 command parser: one framed command (its literals inside)
//! to a typed [`Command`] or a [`ParseError`] with the text of the `NO`
//! that answers it. Total: any bytes give one or the other.
//!
//! Grammar (RFC 5804 §4): a command name (an atom, any case), then its
//! arguments separated by single spaces: strings, quoted (at most 1024
//! octets, `\` escaping only `"` and `\`) or literal (`{n+}` CRLF and n
//! octets; `{n}` too, see `lib.rs`), and numbers (0 to 4294967295).

use std::fmt;

/// Longest quoted string (RFC 5804 §4: `*1024QUOTED-CHAR`).
pub const MAX_QUOTED: usize = 1024;

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// RFC 5804 §2.1: the mechanism and the optional initial response
    /// (still base64).
    Authenticate {
        mechanism: String,
        initial: Option<Vec<u8>>,
    },
    StartTls,
    Logout,
    Capability,
    /// RFC 5804 §2.5.
    HaveSpace {
        name: ScriptName,
        size: u64,
    },
    /// RFC 5804 §2.6.
    PutScript {
        name: ScriptName,
        script: Vec<u8>,
    },
    ListScripts,
    /// RFC 5804 §2.8: `None` is the empty name, which deactivates.
    SetActive {
        name: Option<ScriptName>,
    },
    GetScript {
        name: ScriptName,
    },
    DeleteScript {
        name: ScriptName,
    },
    RenameScript {
        old: ScriptName,
        new: ScriptName,
    },
    /// RFC 5804 §2.12.
    CheckScript {
        script: Vec<u8>,
    },
    /// RFC 5804 §2.13: the tag to echo in `(TAG ...)`.
    Noop {
        tag: Option<Vec<u8>>,
    },
    /// RFC 5804 §2.14.
    Unauthenticate,
}

impl Command {
    /// The command's name, for logs.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Authenticate { .. } => "AUTHENTICATE",
            Command::StartTls => "STARTTLS",
            Command::Logout => "LOGOUT",
            Command::Capability => "CAPABILITY",
            Command::HaveSpace { .. } => "HAVESPACE",
            Command::PutScript { .. } => "PUTSCRIPT",
            Command::ListScripts => "LISTSCRIPTS",
            Command::SetActive { .. } => "SETACTIVE",
            Command::GetScript { .. } => "GETSCRIPT",
            Command::DeleteScript { .. } => "DELETESCRIPT",
            Command::RenameScript { .. } => "RENAMESCRIPT",
            Command::CheckScript { .. } => "CHECKSCRIPT",
            Command::Noop { .. } => "NOOP",
            Command::Unauthenticate => "UNAUTHENTICATE",
        }
    }
}

/// A script name as RFC 5804 §1.6 allows it: UTF-8, not empty, without
/// control characters (U+0000-001F, U+007F-009F) or the line and paragraph
/// separators (U+2028, U+2029), and at most [`ScriptName::MAX`] octets.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ScriptName(String);

impl ScriptName {
    /// Longest name, in octets. RFC 5804 §1.6 asks servers to take at
    /// least 128 Unicode characters; 512 octets hold 128 of any kind.
    pub const MAX: usize = 512;

    pub fn new(name: &[u8]) -> Result<ScriptName, ParseError> {
        let s = std::str::from_utf8(name).map_err(|_| ParseError::BadName("not UTF-8"))?;
        if s.is_empty() {
            return Err(ParseError::BadName("empty"));
        }
        if s.len() > Self::MAX {
            return Err(ParseError::BadName("longer than 512 octets"));
        }
        if s.chars().any(|c| {
            let c = c as u32;
            c <= 0x1f || (0x7f..=0x9f).contains(&c) || c == 0x2028 || c == 0x2029
        }) {
            return Err(ParseError::BadName("contains a control character"));
        }
        Ok(ScriptName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ScriptName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a command could not be parsed; its `Display` is the `NO` text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    Empty,
    UnknownCommand,
    /// A NUL, or a control character outside a literal.
    BadByte,
    /// An argument missing, extra, or of the wrong kind.
    Arguments(&'static str),
    BadQuoted(&'static str),
    BadNumber,
    BadName(&'static str),
    /// The command did not end after its arguments.
    TrailingBytes,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("Empty command"),
            ParseError::UnknownCommand => f.write_str("Unknown command"),
            ParseError::BadByte => f.write_str("Invalid character in command"),
            ParseError::Arguments(what) => write!(f, "Invalid arguments: {what}"),
            ParseError::BadQuoted(what) => write!(f, "Invalid quoted string: {what}"),
            ParseError::BadNumber => f.write_str("Invalid number"),
            ParseError::BadName(what) => write!(f, "Invalid script name: {what}"),
            ParseError::TrailingBytes => f.write_str("Unexpected bytes after the arguments"),
        }
    }
}

/// Parses one framed command (as [`super::Framer`] gives it, the final
/// LF included or not).
pub fn parse_command(input: &[u8]) -> Result<Command, ParseError> {
    let mut p = Parser::new(input);
    if p.at_end() {
        return Err(ParseError::Empty);
    }
    let verb = p.atom()?;
    let verb = verb.to_ascii_uppercase();
    let cmd = match verb.as_slice() {
        b"AUTHENTICATE" => {
            p.space("a mechanism")?;
            let mechanism = String::from_utf8(p.string()?)
                .map_err(|_| ParseError::Arguments("the mechanism is not UTF-8"))?
                .to_ascii_uppercase();
            let initial = if p.more() {
                p.space("")?;
                Some(p.string()?)
            } else {
                None
            };
            Command::Authenticate { mechanism, initial }
        }
        b"STARTTLS" => Command::StartTls,
        b"LOGOUT" => Command::Logout,
        b"CAPABILITY" => Command::Capability,
        b"LISTSCRIPTS" => Command::ListScripts,
        b"UNAUTHENTICATE" => Command::Unauthenticate,
        b"HAVESPACE" => {
            let name = p.name()?;
            p.space("a size")?;
            let size = p.number()?;
            Command::HaveSpace { name, size }
        }
        b"PUTSCRIPT" => {
            let name = p.name()?;
            p.space("a script")?;
            let script = p.string()?;
            Command::PutScript { name, script }
        }
        b"SETACTIVE" => {
            p.space("a script name")?;
            let raw = p.string()?;
            let name = if raw.is_empty() {
                None
            } else {
                Some(ScriptName::new(&raw)?)
            };
            Command::SetActive { name }
        }
        b"GETSCRIPT" => Command::GetScript { name: p.name()? },
        b"DELETESCRIPT" => Command::DeleteScript { name: p.name()? },
        b"RENAMESCRIPT" => {
            let old = p.name()?;
            let new = p.name()?;
            Command::RenameScript { old, new }
        }
        b"CHECKSCRIPT" => {
            p.space("a script")?;
            Command::CheckScript {
                script: p.string()?,
            }
        }
        b"NOOP" => {
            let tag = if p.more() {
                p.space("")?;
                Some(p.string()?)
            } else {
                None
            };
            Command::Noop { tag }
        }
        _ => return Err(ParseError::UnknownCommand),
    };
    p.end()?;
    Ok(cmd)
}

/// Parses a SASL response line (RFC 5804 §2.1: a string, quoted or
/// literal); `Ok(None)` is the client's `"*"`, which cancels.
pub fn parse_sasl_response(input: &[u8]) -> Result<Option<Vec<u8>>, ParseError> {
    let mut p = Parser::new(input);
    let s = p.string()?;
    p.end()?;
    Ok((s != b"*").then_some(s))
}

/// A cursor over one command's bytes.
struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a [u8]) -> Parser<'a> {
        let input = input.strip_suffix(b"\n").unwrap_or(input);
        let input = input.strip_suffix(b"\r").unwrap_or(input);
        Parser { input, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// Whether another argument follows (a space is next).
    fn more(&self) -> bool {
        self.peek() == Some(b' ')
    }

    fn space(&mut self, want: &'static str) -> Result<(), ParseError> {
        if self.peek() == Some(b' ') {
            self.pos += 1;
            return Ok(());
        }
        Err(ParseError::Arguments(if want.is_empty() {
            "expected a space"
        } else {
            want
        }))
    }

    fn end(&self) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            Some(0) => Err(ParseError::BadByte),
            Some(_) => Err(ParseError::TrailingBytes),
        }
    }

    /// A space and a script name.
    fn name(&mut self) -> Result<ScriptName, ParseError> {
        self.space("a script name")?;
        let raw = self.string()?;
        ScriptName::new(&raw)
    }

    /// An atom: the command names (RFC 5804 §4 `atom`, as IMAP's).
    fn atom(&mut self) -> Result<Vec<u8>, ParseError> {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' {
                self.pos += 1;
            } else if b == b' ' {
                break;
            } else if b < 0x20 || b == 0x7f {
                return Err(ParseError::BadByte);
            } else {
                return Err(ParseError::UnknownCommand);
            }
        }
        if self.pos == start {
            return Err(ParseError::UnknownCommand);
        }
        Ok(self.input[start..self.pos].to_vec())
    }

    /// A number (RFC 5804 §4: `1*DIGIT`, below 4294967296).
    fn number(&mut self) -> Result<u64, ParseError> {
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            n = n * 10 + u64::from(b - b'0');
            if n > u64::from(u32::MAX) {
                return Err(ParseError::BadNumber);
            }
            self.pos += 1;
        }
        if self.pos == start {
            return Err(ParseError::BadNumber);
        }
        Ok(n)
    }

    /// A string: quoted or literal. An atom is accepted as a string too
    /// where one is expected (`AUTHENTICATE PLAIN`): some clients send the
    /// mechanism bare, as IMAP has it.
    fn string(&mut self) -> Result<Vec<u8>, ParseError> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => self.literal(),
            Some(b) if b.is_ascii_alphanumeric() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    self.pos += 1;
                }
                Ok(self.input[start..self.pos].to_vec())
            }
            Some(0) => Err(ParseError::BadByte),
            _ => Err(ParseError::Arguments("expected a string")),
        }
    }

    fn quoted(&mut self) -> Result<Vec<u8>, ParseError> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(ParseError::BadQuoted("no closing quote"));
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => match self.peek() {
                    Some(c @ (b'"' | b'\\')) => {
                        self.pos += 1;
                        out.push(c);
                    }
                    _ => return Err(ParseError::BadQuoted("only \\\" and \\\\ are escapes")),
                },
                0 | b'\r' | b'\n' => {
                    return Err(ParseError::BadQuoted("NUL or line break inside"));
                }
                b => out.push(b),
            }
            if out.len() > MAX_QUOTED {
                return Err(ParseError::BadQuoted("longer than 1024 octets"));
            }
        }
        if std::str::from_utf8(&out).is_err() {
            return Err(ParseError::BadQuoted("not UTF-8"));
        }
        Ok(out)
    }

    /// `{n+}` CRLF and n octets (the framer checked n against the limit
    /// and that the octets are all here).
    fn literal(&mut self) -> Result<Vec<u8>, ParseError> {
        let rest = &self.input[self.pos..];
        let Some(close) = rest.iter().position(|&b| b == b'}') else {
            return Err(ParseError::Arguments("unterminated literal"));
        };
        let head = &rest[1..close];
        let head = head.strip_suffix(b"+").unwrap_or(head);
        if head.is_empty() || !head.iter().all(u8::is_ascii_digit) || head.len() > 19 {
            return Err(ParseError::Arguments("invalid literal length"));
        }
        let n: usize = std::str::from_utf8(head)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(ParseError::Arguments("invalid literal length"))?;
        let after = &rest[close + 1..];
        let skip = if after.starts_with(b"\r\n") {
            2
        } else if after.starts_with(b"\n") {
            1
        } else {
            return Err(ParseError::Arguments(
                "a literal's length must end its line",
            ));
        };
        let start = self.pos + close + 1 + skip;
        let end = start
            .checked_add(n)
            .filter(|&e| e <= self.input.len())
            .ok_or(ParseError::Arguments("literal shorter than announced"))?;
        self.pos = end;
        Ok(self.input[start..end].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> ScriptName {
        ScriptName::new(s.as_bytes()).expect("valid name")
    }

    #[test]
    fn commands_parse_from_rfc_examples() {
        let table: Vec<(&[u8], Command)> = vec![
            (
                b"Authenticate \"PLAIN\" \"QJIrweAPyo6Q1T9xu\"\r\n",
                Command::Authenticate {
                    mechanism: "PLAIN".into(),
                    initial: Some(b"QJIrweAPyo6Q1T9xu".to_vec()),
                },
            ),
            (
                b"AUTHENTICATE \"LOGIN\"\r\n",
                Command::Authenticate {
                    mechanism: "LOGIN".into(),
                    initial: None,
                },
            ),
            (b"StartTls\r\n", Command::StartTls),
            (b"logout\r\n", Command::Logout),
            (b"CAPABILITY\r\n", Command::Capability),
            (
                b"HAVESPACE \"myscript\" 999999\r\n",
                Command::HaveSpace {
                    name: name("myscript"),
                    size: 999_999,
                },
            ),
            (
                b"Putscript \"foo\" {31+}\r\n#comment\r\nInvalidSieveCommand\r\n\r\n",
                Command::PutScript {
                    name: name("foo"),
                    script: b"#comment\r\nInvalidSieveCommand\r\n".to_vec(),
                },
            ),
            (
                b"PUTSCRIPT {3+}\r\nfoo {4}\r\nkeep\r\n",
                Command::PutScript {
                    name: name("foo"),
                    script: b"keep".to_vec(),
                },
            ),
            (b"Listscripts\r\n", Command::ListScripts),
            (
                b"Setactive \"vacationscript\"\r\n",
                Command::SetActive {
                    name: Some(name("vacationscript")),
                },
            ),
            (b"SETACTIVE \"\"\r\n", Command::SetActive { name: None }),
            (
                b"Getscript \"myscript\"\r\n",
                Command::GetScript {
                    name: name("myscript"),
                },
            ),
            (
                b"Deletescript \"foo\"\r\n",
                Command::DeleteScript { name: name("foo") },
            ),
            (
                b"Renamescript \"foo\" \"bar\"\r\n",
                Command::RenameScript {
                    old: name("foo"),
                    new: name("bar"),
                },
            ),
            (
                b"CHECKSCRIPT {4+}\r\nkeep\r\n",
                Command::CheckScript {
                    script: b"keep".to_vec(),
                },
            ),
            (
                b"NOOP \"STARTTLS-SYNC-42\"\r\n",
                Command::Noop {
                    tag: Some(b"STARTTLS-SYNC-42".to_vec()),
                },
            ),
            (b"NOOP\r\n", Command::Noop { tag: None }),
            (b"UNAUTHENTICATE\n", Command::Unauthenticate),
            (
                b"PUTSCRIPT \"a \\\"q\\\" \\\\\" \"\"\r\n",
                Command::PutScript {
                    name: name("a \"q\" \\"),
                    script: Vec::new(),
                },
            ),
            (
                "GETSCRIPT \"Фильтр\"\r\n".as_bytes(),
                Command::GetScript {
                    name: name("Фильтр"),
                },
            ),
        ];
        for (input, want) in table {
            assert_eq!(
                parse_command(input),
                Ok(want),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn bad_commands_are_typed_errors() {
        let table: &[(&[u8], ParseError)] = &[
            (b"\r\n", ParseError::Empty),
            (b"XYZZY\r\n", ParseError::UnknownCommand),
            (b"NO\0OP\r\n", ParseError::BadByte),
            (b"GETSCRIPT\r\n", ParseError::Arguments("a script name")),
            (b"GETSCRIPT \"\"\r\n", ParseError::BadName("empty")),
            (
                b"GETSCRIPT \"a\x01b\"\r\n",
                ParseError::BadName("contains a control character"),
            ),
            (
                "GETSCRIPT \"a\u{2028}b\"\r\n".as_bytes(),
                ParseError::BadName("contains a control character"),
            ),
            (
                b"GETSCRIPT \"abc\r\n",
                ParseError::BadQuoted("no closing quote"),
            ),
            (
                b"GETSCRIPT \"a\\nb\"\r\n",
                ParseError::BadQuoted("only \\\" and \\\\ are escapes"),
            ),
            (
                b"GETSCRIPT \"\xff\"\r\n",
                ParseError::BadQuoted("not UTF-8"),
            ),
            (b"HAVESPACE \"a\" x\r\n", ParseError::BadNumber),
            (b"HAVESPACE \"a\" 4294967296\r\n", ParseError::BadNumber),
            (b"LOGOUT now\r\n", ParseError::TrailingBytes),
            (
                b"PUTSCRIPT \"a\" {10+}\r\nshort\r\n",
                ParseError::Arguments("literal shorter than announced"),
            ),
            (
                b"PUTSCRIPT \"a\" {x+}\r\n",
                ParseError::Arguments("invalid literal length"),
            ),
        ];
        for (input, want) in table {
            assert_eq!(
                parse_command(input).as_ref(),
                Err(want),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        let long = format!("GETSCRIPT \"{}\"\r\n", "a".repeat(MAX_QUOTED + 1));
        assert_eq!(
            parse_command(long.as_bytes()),
            Err(ParseError::BadQuoted("longer than 1024 octets"))
        );
    }

    #[test]
    fn sasl_responses_are_strings_and_star_cancels() {
        assert_eq!(
            parse_sasl_response(b"\"AGFubgBwdw==\"\r\n"),
            Ok(Some(b"AGFubgBwdw==".to_vec()))
        );
        assert_eq!(
            parse_sasl_response(b"{4+}\r\nYWJj\r\n"),
            Ok(Some(b"YWJj".to_vec()))
        );
        assert_eq!(parse_sasl_response(b"\"*\"\r\n"), Ok(None));
        assert_eq!(parse_sasl_response(b"\"\"\r\n"), Ok(Some(Vec::new())));
        assert!(parse_sasl_response(b"\"a\" x\r\n").is_err());
    }
}
