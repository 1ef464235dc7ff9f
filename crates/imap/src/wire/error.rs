//! Parse errors: what the driver needs to answer `TAG BAD ...` (or `* BAD`
//! when no tag could be read) and go on with the next command.

use std::fmt;

use super::chars::Tag;

/// A command that could not be parsed. The session answers `BAD` (tagged
/// when `tag` is known) and the connection lives on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The command's tag, when the bytes before the first space formed one.
    pub tag: Option<Tag>,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

/// Why a command was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The bytes do not follow the grammar: `expected` names what was
    /// wanted at byte offset `at` of the command.
    Syntax { expected: &'static str, at: usize },
    /// The command name is not one we know (the name, cut to 32 bytes).
    Unknown(String),
    /// A sequence set with more ranges than the parser allows.
    TooManyRanges { max: usize },
    /// Search keys nested deeper than the parser allows.
    TooDeep { max: usize },
    /// An APPEND with more messages than the parser allows (RFC 3502).
    TooManyMessages { max: usize },
    /// A mailbox name that is not valid modified UTF-7 (RFC 3501 §5.1.3),
    /// or not UTF-8 when UTF8=ACCEPT is on (RFC 6855), or holds controls.
    BadMailboxName(&'static str),
}

impl ParseError {
    /// The text for the `BAD` response, without a trailing dot.
    pub fn message(&self) -> String {
        self.kind.to_string()
    }
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Syntax { expected, at } => {
                write!(f, "syntax error: expected {expected} at byte {at}")
            }
            ParseErrorKind::Unknown(name) => write!(f, "unknown command {name}"),
            ParseErrorKind::TooManyRanges { max } => {
                write!(f, "sequence set has more than {max} ranges")
            }
            ParseErrorKind::TooDeep { max } => {
                write!(f, "search keys nested deeper than {max}")
            }
            ParseErrorKind::TooManyMessages { max } => {
                write!(f, "more than {max} messages in one APPEND")
            }
            ParseErrorKind::BadMailboxName(why) => write!(f, "invalid mailbox name: {why}"),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for ParseError {}

/// Result inside the parsers; the tag is added by `parse_command`.
pub(crate) type PResult<T> = Result<T, ParseErrorKind>;
