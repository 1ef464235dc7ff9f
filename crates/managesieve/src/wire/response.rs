//! Responses (RFC 5804 §1.3, §4): `OK`, `NO` and `BYE` with an optional
//! response code and human-readable string, capability lines, and strings
//! written quoted when they can be and as literals (`{n}` CRLF, octets)
//! when they cannot.

/// The response codes we send (RFC 5804 §1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Code {
    /// `QUOTA/MAXSIZE`: the script is larger than the limit.
    QuotaMaxSize,
    /// `QUOTA/MAXSCRIPTS`: the user has as many scripts as allowed.
    QuotaMaxScripts,
    /// `ENCRYPT-NEEDED`: authentication needs TLS first.
    EncryptNeeded,
    /// `TRYLATER`: throttled, or a failure of ours.
    TryLater,
    /// `ACTIVE`: the script is the active one (DELETESCRIPT).
    Active,
    /// `NONEXISTENT`: no script of that name.
    Nonexistent,
    /// `ALREADYEXISTS`: RENAMESCRIPT's new name is taken.
    AlreadyExists,
    /// `WARNINGS`: the script was taken, with remarks in the text.
    Warnings,
    /// `TAG` and the client's string (NOOP, RFC 5804 §2.13).
    Tag(Vec<u8>),
}

/// Appends `OK`, `NO` or `BYE`, the code in parentheses, and the text as a
/// string (RFC 5804 §4 `response-ok` and friends).
fn status(out: &mut Vec<u8>, word: &str, code: Option<&Code>, text: &str) {
    out.extend_from_slice(word.as_bytes());
    if let Some(code) = code {
        out.extend_from_slice(b" (");
        match code {
            Code::QuotaMaxSize => out.extend_from_slice(b"QUOTA/MAXSIZE"),
            Code::QuotaMaxScripts => out.extend_from_slice(b"QUOTA/MAXSCRIPTS"),
            Code::EncryptNeeded => out.extend_from_slice(b"ENCRYPT-NEEDED"),
            Code::TryLater => out.extend_from_slice(b"TRYLATER"),
            Code::Active => out.extend_from_slice(b"ACTIVE"),
            Code::Nonexistent => out.extend_from_slice(b"NONEXISTENT"),
            Code::AlreadyExists => out.extend_from_slice(b"ALREADYEXISTS"),
            Code::Warnings => out.extend_from_slice(b"WARNINGS"),
            Code::Tag(tag) => {
                out.extend_from_slice(b"TAG ");
                string(out, tag);
            }
        }
        out.push(b')');
    }
    if !text.is_empty() {
        out.push(b' ');
        string(out, text.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

pub fn ok(out: &mut Vec<u8>, code: Option<&Code>, text: &str) {
    status(out, "OK", code, text);
}

pub fn no(out: &mut Vec<u8>, code: Option<&Code>, text: &str) {
    status(out, "NO", code, text);
}

pub fn bye(out: &mut Vec<u8>, code: Option<&Code>, text: &str) {
    status(out, "BYE", code, text);
}

/// Appends a string: quoted when it is short UTF-8 without CR, LF or NUL,
/// otherwise a literal (RFC 5804 §4 `literal-s2c`: `{n}` CRLF, octets).
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    let quotable = s.len() <= super::command::MAX_QUOTED
        && std::str::from_utf8(s).is_ok()
        && !s.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n');
    if quotable {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        literal(out, s);
    }
}

/// Appends `{n}` CRLF and the octets.
pub fn literal(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
    out.extend_from_slice(s);
}

/// Appends one capability line: the name, and its value if it has one
/// (RFC 5804 §1.7: `"SIEVE" "fileinto vacation"`).
pub fn capability(out: &mut Vec<u8>, name: &str, value: Option<&str>) {
    string(out, name.as_bytes());
    if let Some(v) = value {
        out.push(b' ');
        string(out, v.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends one LISTSCRIPTS line (RFC 5804 §2.7): the name, and ` ACTIVE`
/// for the active script.
pub fn script_line(out: &mut Vec<u8>, name: &str, active: bool) {
    string(out, name.as_bytes());
    if active {
        out.extend_from_slice(b" ACTIVE");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a SASL challenge (RFC 5804 §2.1: a string of the base64).
pub fn challenge(out: &mut Vec<u8>, base64: &str) {
    string(out, base64.as_bytes());
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn status_lines_with_codes_and_strings() {
        assert_eq!(text(|o| ok(o, None, "")), "OK\r\n");
        assert_eq!(text(|o| ok(o, None, "Done")), "OK \"Done\"\r\n");
        assert_eq!(
            text(|o| no(o, Some(&Code::QuotaMaxSize), "Too big")),
            "NO (QUOTA/MAXSIZE) \"Too big\"\r\n"
        );
        assert_eq!(
            text(|o| ok(o, Some(&Code::Tag(b"STARTTLS-SYNC-42".to_vec())), "Done")),
            "OK (TAG \"STARTTLS-SYNC-42\") \"Done\"\r\n"
        );
        assert_eq!(
            text(|o| bye(o, Some(&Code::TryLater), "Bye")),
            "BYE (TRYLATER) \"Bye\"\r\n"
        );
        for (code, word) in [
            (Code::QuotaMaxScripts, "QUOTA/MAXSCRIPTS"),
            (Code::EncryptNeeded, "ENCRYPT-NEEDED"),
            (Code::Active, "ACTIVE"),
            (Code::Nonexistent, "NONEXISTENT"),
            (Code::AlreadyExists, "ALREADYEXISTS"),
            (Code::Warnings, "WARNINGS"),
        ] {
            assert_eq!(text(|o| no(o, Some(&code), "")), format!("NO ({word})\r\n"));
        }
    }

    #[test]
    fn strings_are_quoted_with_escapes_or_literal() {
        assert_eq!(text(|o| string(o, b"a\"b\\c")), "\"a\\\"b\\\\c\"");
        assert_eq!(
            text(|o| string(o, b"line 1\r\nline 2")),
            "{14}\r\nline 1\r\nline 2"
        );
        assert_eq!(
            text(|o| string(o, &[b'x'; 1025])),
            format!("{{1025}}\r\n{}", "x".repeat(1025))
        );
        let mut out = Vec::new();
        string(&mut out, b"\xff");
        assert_eq!(out, b"{1}\r\n\xff");
    }

    #[test]
    fn strings_round_trip_through_the_parser() {
        use super::super::command::{Command, parse_command};
        for s in ["plain", "with \"quotes\" and \\", "multi\r\nline\r\n", ""] {
            let mut line = b"CHECKSCRIPT ".to_vec();
            string(&mut line, s.as_bytes());
            line.extend_from_slice(b"\r\n");
            assert_eq!(
                parse_command(&line),
                Ok(Command::CheckScript {
                    script: s.as_bytes().to_vec()
                })
            );
        }
    }
}
