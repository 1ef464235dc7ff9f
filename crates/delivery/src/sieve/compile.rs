//! Compiling scripts: the checks a script passes before it is stored
//! (ManageSieve PUTSCRIPT/CHECKSCRIPT, `postern user vacation`) with
//! errors that name a line and column, and the extensions we offer.

use ::sieve::compiler::ErrorType;
use ::sieve::runtime::RuntimeError;
use ::sieve::{Compiler, Runtime, Sieve};

use crate::config::SieveLimits;

/// The extensions scripts may `require` (RFC 5228 §3.2), as ManageSieve's
/// SIEVE capability lists them (RFC 5804 §1.7). Others are refused when
/// the script is checked, and at run time if one slipped in.
pub const EXTENSIONS: &[&str] = &[
    "fileinto",
    "reject",
    "ereject",
    "envelope",
    "encoded-character",
    "comparator-i;ascii-numeric",
    "comparator-i;ascii-casemap",
    "comparator-i;octet",
    "body",
    "variables",
    "relational",
    "subaddress",
    "copy",
    "imap4flags",
    "date",
    "index",
    "include",
    "duplicate",
    "spamtest",
    "spamtestplus",
    "editheader",
    "mailbox",
    "mailboxid",
    "environment",
    "vacation",
    "vacation-seconds",
    "regex",
    "ihave",
];

/// Why a script was refused, where (1-based; 0 when it is the whole
/// script), in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SieveError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for SieveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for SieveError {}

/// The compiler with the limits of `[sieve]`.
pub(crate) fn compiler(limits: &SieveLimits) -> Compiler {
    Compiler::new()
        .with_max_script_size(limits.max_script_bytes)
        .with_max_includes(limits.max_include_depth.max(1) * 8)
}

/// A runtime that allows exactly [`EXTENSIONS`].
pub(crate) fn runtime() -> Runtime {
    use ::sieve::compiler::grammar::Capability;
    let mut rt = Runtime::new().without_capabilities(Capability::all().iter().cloned());
    for ext in EXTENSIONS {
        rt.set_capability(Capability::parse(ext));
    }
    rt
}

/// Compiles `script`, or says why not.
pub(crate) fn compile(script: &str, limits: &SieveLimits) -> Result<Sieve, SieveError> {
    if script.len() > limits.max_script_bytes {
        return Err(SieveError {
            line: 0,
            column: 0,
            message: format!(
                "script is {} bytes, at most {} allowed",
                script.len(),
                limits.max_script_bytes
            ),
        });
    }
    compiler(limits).compile(script.as_bytes()).map_err(|e| {
        let (mut line, mut column) = (e.line_num(), e.line_pos());
        // Some errors come without a position (an unknown command):
        // the token they name is then looked for in the script.
        if line == 0
            && let ErrorType::UnexpectedToken { found, .. } = e.error_type()
            && !found.is_empty()
        {
            (line, column) = position_of(script, found);
        }
        SieveError {
            line,
            column,
            message: describe(e.error_type()),
        }
    })
}

/// Checks `script` as PUTSCRIPT must (RFC 5804 §2.6): it compiles within
/// the limits and requires only extensions we offer.
pub fn check(script: &str, limits: &SieveLimits) -> Result<(), SieveError> {
    let compiled = compile(script, limits)?;
    // The interpreter accepts any name in `require` and refuses it when
    // the instruction runs; its first instruction is the script's
    // `require`, so one step on an empty message tells.
    let probe = runtime().with_cpu_limit(1);
    let mut ctx = probe.filter(b"");
    let name = match ctx.run(sieve::Input::script("check", compiled)) {
        Some(Err(RuntimeError::CapabilityNotSupported(name))) => name,
        Some(Err(RuntimeError::CapabilityNotAllowed(cap))) => cap.to_string(),
        _ => return Ok(()),
    };
    let (line, column) = position_of(script, &format!("\"{name}\""));
    Err(SieveError {
        line,
        column,
        message: format!("extension {name:?} is not supported here"),
    })
}

/// The 1-based line and column of the first `needle` (case-insensitive),
/// (0, 0) when absent.
fn position_of(script: &str, needle: &str) -> (usize, usize) {
    let lower = script.to_ascii_lowercase();
    let Some(at) = lower.find(&needle.to_ascii_lowercase()) else {
        return (0, 0);
    };
    let before = &script[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |n| n + 1) + 1;
    (line, column)
}

fn describe(e: &ErrorType) -> String {
    match e {
        ErrorType::UnexpectedToken { expected, found } => {
            format!("expected {expected} but found {found:?}")
        }
        ErrorType::UndeclaredCapability(c) => {
            format!("{c} is used without require")
        }
        ErrorType::ScriptTooLong => "script is too long".into(),
        ErrorType::UnexpectedEOF => "unexpected end of script".into(),
        ErrorType::UnterminatedString => "unterminated string".into(),
        ErrorType::UnterminatedComment => "unterminated comment".into(),
        ErrorType::UnterminatedMultiline => "unterminated multi-line text".into(),
        ErrorType::UnterminatedBlock => "unterminated block (missing \"}\")".into(),
        ErrorType::MissingTag(t) => format!("missing tag {t}"),
        ErrorType::InvalidRegex(r) => format!("invalid regular expression {r:?}"),
        ErrorType::TooManyIncludes => "too many includes".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(script: &str) -> Result<(), SieveError> {
        check(script, &SieveLimits::default())
    }

    #[test]
    fn an_unknown_command_is_placed_where_it_stands() {
        let e = checked("require \"fileinto\";\r\n\r\n  bogus \"x\";\r\n").expect_err("unknown");
        assert_eq!((e.line, e.column), (3, 3), "{e}");
    }

    #[test]
    fn a_good_script_passes() {
        checked(
            "require [\"fileinto\", \"imap4flags\"];\r\nif header :contains \"subject\" \"x\" {\r\n  fileinto \"A\"; addflag \"\\\\Seen\";\r\n}\r\n",
        )
        .expect("valid");
    }

    #[test]
    fn a_syntax_error_names_its_line_and_column() {
        let e =
            checked("require \"fileinto\";\nif true {\n  fileinto \"x\"\n}\n").expect_err("bad");
        assert_eq!(e.line, 4, "{e}");
        assert!(e.column >= 1, "{e}");
        assert!(e.message.contains("expected"), "{e}");
    }

    #[test]
    fn an_unknown_extension_is_refused_where_it_is_required() {
        let e =
            checked("# hi\nrequire [\"fileinto\", \"enotify\"];\nkeep;\n").expect_err("refused");
        assert_eq!((e.line, e.column), (2, 22), "{e}");
        assert!(e.message.contains("enotify"), "{e}");
        let e = checked("require \"x-nonsense\";\n").expect_err("refused");
        assert!(e.message.contains("x-nonsense"), "{e}");
    }

    #[test]
    fn an_action_without_its_require_is_refused() {
        let e = checked("fileinto \"x\";\n").expect_err("refused");
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn a_script_over_the_size_limit_is_refused() {
        let limits = SieveLimits {
            max_script_bytes: 100,
            ..SieveLimits::default()
        };
        let e = check(&"#".repeat(101), &limits).expect_err("too big");
        assert!(e.message.contains("at most 100"), "{e}");
    }
}
