//! SASL mechanisms shared by SMTP, IMAP and POP3, sans-IO: strict base64 of
//! a response line, PLAIN (RFC 4616) and the LOGIN exchange
//! (draft-murchison-sasl-login). Callers do the reading, writing and base64
//! encoding of challenges.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use thiserror::Error;

use crate::{Secret, normalize_address};

/// RFC 4616 §2: authzid, authcid and passwd are each at most 255 octets.
pub const MAX_FIELD: usize = 255;

/// Longest base64 response line accepted (before decoding). Plenty for
/// PLAIN (3 × 255 octets + 2 NULs encode to 1,024 characters); the room
/// beyond is for OAUTHBEARER and XOAUTH2 bearer tokens (`[oauth]
/// max_token_bytes`, 8 KiB by default, encode to about 11 KiB).
pub const MAX_BASE64_LINE: usize = 16384;

/// The LOGIN mechanism's first challenge (raw; base64 it before sending).
pub const LOGIN_USERNAME_CHALLENGE: &[u8] = b"Username:";
/// The LOGIN mechanism's second challenge (raw; base64 it before sending).
pub const LOGIN_PASSWORD_CHALLENGE: &[u8] = b"Password:";

/// Why a SASL response was refused. Each is a client mistake, answered with
/// a protocol error (`501 5.5.2`, `BAD`, `-ERR`), not a reason to disconnect.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SaslError {
    /// The client answered `*` (RFC 4954 §4, RFC 9051 §6.2.2).
    #[error("authentication cancelled by client")]
    Cancelled,
    /// Not strict base64 (wrong alphabet, padding or trailing bits).
    #[error("response is not valid base64")]
    InvalidBase64,
    /// Longer than [`MAX_BASE64_LINE`].
    #[error("response is too long")]
    TooLong,
    /// PLAIN needs exactly two NULs: `authzid NUL authcid NUL passwd`.
    #[error("PLAIN response must have exactly two NUL separators")]
    WrongNulCount,
    /// A username (PLAIN authcid, LOGIN username) that is empty.
    #[error("username is empty")]
    EmptyUsername,
    /// A password that is empty.
    #[error("password is empty")]
    EmptyPassword,
    /// A field over [`MAX_FIELD`] octets.
    #[error("field is longer than 255 octets")]
    FieldTooLong,
    /// A field that is not UTF-8.
    #[error("field is not UTF-8")]
    NotUtf8,
    /// A LOGIN field containing NUL.
    #[error("field contains NUL")]
    ContainsNul,
    /// An authzid naming someone other than the authcid: we do not support
    /// acting on behalf of another user.
    #[error("authorization identity must be empty or equal the username")]
    AuthzidNotPermitted,
    /// A LOGIN exchange driven out of order (step before start, or after the end).
    #[error("SASL exchange step out of order")]
    UnexpectedStep,
}

/// What PLAIN or LOGIN yields: who claims to log in, and with what.
#[derive(Clone, Debug)]
pub struct PlainCredentials {
    /// The authentication identity, as sent (the directory normalises it).
    pub authcid: String,
    /// The password.
    pub password: Secret<String>,
}

/// Writes a challenge line as IMAP and POP3 send it: `+ `, the base64 of
/// `challenge`, CRLF (RFC 9051 §7.5, RFC 5034 §4). SMTP says `334 ` instead.
pub fn write_challenge(challenge: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"+ ");
    out.extend_from_slice(STANDARD.encode(challenge).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Decodes one client response line in strict base64 (standard alphabet,
/// canonical padding, no whitespace). A trailing CRLF or LF is ignored.
/// `=` alone is the empty response (RFC 4954 §4) and so is an empty line;
/// `*` alone cancels the exchange.
pub fn decode_base64(line: &[u8]) -> Result<Vec<u8>, SaslError> {
    let line = line
        .strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\n"))
        .unwrap_or(line);
    match line {
        b"*" => Err(SaslError::Cancelled),
        b"=" | b"" => Ok(Vec::new()),
        _ if line.len() > MAX_BASE64_LINE => Err(SaslError::TooLong),
        _ => STANDARD.decode(line).map_err(|_| SaslError::InvalidBase64),
    }
}

/// Parses a PLAIN response (already base64-decoded):
/// `[authzid] NUL authcid NUL passwd` (RFC 4616 §2).
///
/// The authzid must be empty or name the same account as the authcid
/// (compared after normalisation when both are addresses, else exactly).
pub fn decode_plain(decoded: &[u8]) -> Result<PlainCredentials, SaslError> {
    let mut fields = decoded.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(passwd), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(SaslError::WrongNulCount);
    };
    let authzid = field(authzid)?;
    let authcid = field(authcid)?;
    let passwd = field(passwd)?;
    if authcid.is_empty() {
        return Err(SaslError::EmptyUsername);
    }
    if passwd.is_empty() {
        return Err(SaslError::EmptyPassword);
    }
    if !authzid.is_empty() && !same_identity(authzid, authcid) {
        return Err(SaslError::AuthzidNotPermitted);
    }
    Ok(PlainCredentials {
        authcid: authcid.to_owned(),
        password: Secret::new(passwd.to_owned()),
    })
}

/// Checks length and UTF-8 of one field.
fn field(bytes: &[u8]) -> Result<&str, SaslError> {
    if bytes.len() > MAX_FIELD {
        return Err(SaslError::FieldTooLong);
    }
    std::str::from_utf8(bytes).map_err(|_| SaslError::NotUtf8)
}

/// Whether two identities name the same account.
fn same_identity(a: &str, b: &str) -> bool {
    match (normalize_address(a), normalize_address(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// One step of a LOGIN exchange.
#[derive(Debug)]
pub enum LoginStep {
    /// Send this challenge (base64 of these bytes) and feed the answer to
    /// [`LoginExchange::step`].
    Challenge(&'static [u8]),
    /// The exchange is complete; check these credentials.
    Done(PlainCredentials),
}

/// The server side of AUTH LOGIN: ask for the username, then the password.
///
/// ```text
/// let mut ex = LoginExchange::new();
/// let mut step = ex.start(initial_response)?;      // Challenge(b"Username:")
/// // send base64(challenge), read a line, decode_base64 it, then:
/// step = ex.step(&decoded)?;                       // Challenge(b"Password:")
/// step = ex.step(&decoded)?;                       // Done(credentials)
/// ```
///
/// Any error ends the exchange; further calls give `UnexpectedStep`.
#[derive(Debug, Default)]
pub struct LoginExchange {
    state: LoginState,
}

/// Where a [`LoginExchange`] is.
#[derive(Debug, Default)]
enum LoginState {
    /// `start` not called yet.
    #[default]
    Start,
    /// `Username:` was sent.
    AwaitUsername,
    /// `Password:` was sent for this username.
    AwaitPassword(String),
    /// Done or failed.
    Finished,
}

impl LoginExchange {
    /// A fresh exchange.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the exchange. `initial_response` is the decoded initial
    /// response of `AUTH LOGIN <base64>` (RFC 4954 §4), which for LOGIN is
    /// the username; the exchange then asks for the password straight away.
    pub fn start(&mut self, initial_response: Option<&[u8]>) -> Result<LoginStep, SaslError> {
        if !matches!(self.state, LoginState::Start) {
            return self.fail(SaslError::UnexpectedStep);
        }
        match initial_response {
            None => {
                self.state = LoginState::AwaitUsername;
                Ok(LoginStep::Challenge(LOGIN_USERNAME_CHALLENGE))
            }
            Some(username) => self.username(username),
        }
    }

    /// Feeds the client's decoded answer to the last challenge.
    pub fn step(&mut self, response: &[u8]) -> Result<LoginStep, SaslError> {
        match std::mem::replace(&mut self.state, LoginState::Finished) {
            LoginState::AwaitUsername => self.username(response),
            LoginState::AwaitPassword(authcid) => {
                let password = login_field(response).map_err(|e| match e {
                    SaslError::EmptyUsername => SaslError::EmptyPassword,
                    other => other,
                })?;
                Ok(LoginStep::Done(PlainCredentials {
                    authcid,
                    password: Secret::new(password.to_owned()),
                }))
            }
            LoginState::Start | LoginState::Finished => Err(SaslError::UnexpectedStep),
        }
    }

    /// Takes the username and asks for the password.
    fn username(&mut self, bytes: &[u8]) -> Result<LoginStep, SaslError> {
        match login_field(bytes) {
            Ok(name) => {
                self.state = LoginState::AwaitPassword(name.to_owned());
                Ok(LoginStep::Challenge(LOGIN_PASSWORD_CHALLENGE))
            }
            Err(e) => self.fail(e),
        }
    }

    /// Ends the exchange with `e`.
    fn fail(&mut self, e: SaslError) -> Result<LoginStep, SaslError> {
        self.state = LoginState::Finished;
        Err(e)
    }
}

/// Checks one LOGIN field: non-empty (reported as `EmptyUsername`), at most
/// 255 octets, UTF-8, no NUL.
fn login_field(bytes: &[u8]) -> Result<&str, SaslError> {
    if bytes.is_empty() {
        return Err(SaslError::EmptyUsername);
    }
    if bytes.contains(&0) {
        return Err(SaslError::ContainsNul);
    }
    field(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Expected = Result<(&'static str, &'static str), SaslError>;

    fn plain(input: &[u8]) -> Result<(String, String), SaslError> {
        decode_plain(input).map(|c| (c.authcid, c.password.expose().clone()))
    }

    fn check(input: &[u8], want: Expected) {
        let want = want.map(|(u, p)| (u.to_owned(), p.to_owned()));
        assert_eq!(plain(input), want, "{:?}", String::from_utf8_lossy(input));
    }

    #[test]
    fn plain_table() {
        use SaslError::*;
        let table: Vec<(&[u8], Expected)> = vec![
            (
                b"\0alice@example.org\0secret",
                Ok(("alice@example.org", "secret")),
            ),
            (b"\0alice\0pass word \xc3\xa9", Ok(("alice", "pass word é"))),
            (
                b"alice@example.org\0alice@example.org\0pw",
                Ok(("alice@example.org", "pw")),
            ),
            (
                b"ALICE@Example.org\0alice@example.ORG\0pw",
                Ok(("alice@example.ORG", "pw")),
            ),
            (b"bob\0bob\0pw", Ok(("bob", "pw"))),
            (b"", Err(WrongNulCount)),
            (b"alice", Err(WrongNulCount)),
            (b"alice\0pw", Err(WrongNulCount)),
            (b"\0\0\0", Err(WrongNulCount)),
            (b"a\0b\0c\0d", Err(WrongNulCount)),
            (b"\0\0pw", Err(EmptyUsername)),
            (b"\0alice\0", Err(EmptyPassword)),
            (b"\0\0", Err(EmptyUsername)),
            (b"\0al\xffice\0pw", Err(NotUtf8)),
            (b"\0alice\0p\xc3", Err(NotUtf8)),
            (b"\xff\0alice\0pw", Err(NotUtf8)),
        ];
        for (input, want) in table {
            check(input, want);
        }
    }

    #[test]
    fn plain_with_authzid_other_than_authcid_is_refused() {
        for input in [
            &b"bob@example.org\0alice@example.org\0pw"[..],
            b"admin\0alice@example.org\0pw",
            b"bob\0Bob\0pw",
        ] {
            assert_eq!(plain(input), Err(SaslError::AuthzidNotPermitted));
        }
    }

    #[test]
    fn plain_fields_are_limited_to_255_octets() {
        let u = vec![b'u'; MAX_FIELD];
        let ok = [
            u.clone(),
            vec![0],
            u.clone(),
            vec![0],
            vec![b'p'; MAX_FIELD],
        ]
        .concat();
        assert_eq!(ok.len(), 3 * MAX_FIELD + 2);
        let creds = decode_plain(&ok).expect("every field at the limit");
        assert_eq!(creds.authcid.len(), MAX_FIELD);
        for (u, p, z) in [(256, 1, 0), (1, 256, 0), (1, 1, 256)] {
            let input = [
                vec![b'z'; z],
                vec![0],
                vec![b'u'; u],
                vec![0],
                vec![b'p'; p],
            ]
            .concat();
            assert_eq!(plain(&input), Err(SaslError::FieldTooLong), "{u} {p} {z}");
        }
    }

    #[test]
    fn plain_prefixes_never_yield_the_full_credentials() {
        let full = b"\0alice@example.org\0secret";
        for cut in 0..full.len() {
            if let Ok(c) = decode_plain(&full[..cut]) {
                assert_ne!(c.password.expose(), "secret", "prefix of {cut} octets");
            }
        }
    }

    #[test]
    fn plain_debug_does_not_show_the_password() {
        let c = decode_plain(b"\0alice\0hunter2").expect("valid PLAIN");
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn base64_table() {
        use SaslError::*;
        let long = vec![b'A'; MAX_BASE64_LINE + 4];
        type Row<'a> = (&'a [u8], Result<&'a [u8], SaslError>);
        let table: Vec<Row> = vec![
            (b"", Ok(b"")),
            (b"=", Ok(b"")),
            (b"=\r\n", Ok(b"")),
            (b"*", Err(Cancelled)),
            (b"*\r\n", Err(Cancelled)),
            (b"YQ==", Ok(b"a")),
            (b"YWI=", Ok(b"ab")),
            (b"YWJj", Ok(b"abc")),
            (b"YWJj\r\n", Ok(b"abc")),
            (b"YWJj\n", Ok(b"abc")),
            (b"AGFsaWNlAHB3", Ok(b"\0alice\0pw")),
            (b"YQ", Err(InvalidBase64)),
            (b"YQ=", Err(InvalidBase64)),
            (b"YR==", Err(InvalidBase64)),
            (b"YW Jj", Err(InvalidBase64)),
            (b" YWJj", Err(InvalidBase64)),
            (b"YWJj\r", Err(InvalidBase64)),
            (b"YWJj\r\n\r\n", Err(InvalidBase64)),
            (b"YW_j", Err(InvalidBase64)),
            (b"**", Err(InvalidBase64)),
            (b"==", Err(InvalidBase64)),
            (&long, Err(TooLong)),
        ];
        for (input, want) in table {
            let want = want.map(<[u8]>::to_vec);
            assert_eq!(
                decode_base64(input),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn base64_of_plain_round_trips_and_split_lines_are_refused() {
        let raw = b"\0alice@example.org\0s3cr\xc3\xa9t";
        let line = STANDARD.encode(raw);
        let decoded = decode_base64(line.as_bytes()).expect("valid base64");
        assert_eq!(decoded, raw);
        let creds = decode_plain(&decoded).expect("valid PLAIN");
        assert_eq!(creds.authcid, "alice@example.org");
        assert_eq!(creds.password.expose(), "s3crét");
        // A line split anywhere is not silently accepted as a shorter response.
        for cut in 1..line.len() {
            let head = decode_base64(&line.as_bytes()[..cut]);
            if cut % 4 != 0 {
                assert_eq!(head, Err(SaslError::InvalidBase64), "cut at {cut}");
            } else {
                assert_ne!(head.as_deref(), Ok(&raw[..]), "cut at {cut}");
            }
        }
    }

    fn challenge(step: Result<LoginStep, SaslError>) -> &'static [u8] {
        match step {
            Ok(LoginStep::Challenge(c)) => c,
            other => panic!("expected a challenge, got {other:?}"),
        }
    }

    fn done(step: Result<LoginStep, SaslError>) -> (String, String) {
        match step {
            Ok(LoginStep::Done(c)) => (c.authcid, c.password.expose().clone()),
            other => panic!("expected credentials, got {other:?}"),
        }
    }

    #[test]
    fn login_asks_username_then_password() {
        let mut ex = LoginExchange::new();
        assert_eq!(challenge(ex.start(None)), b"Username:");
        assert_eq!(challenge(ex.step(b"alice@example.org")), b"Password:");
        let got = done(ex.step(b"pw with spaces"));
        assert_eq!(
            got,
            ("alice@example.org".to_owned(), "pw with spaces".to_owned())
        );
        assert_eq!(ex.step(b"more").err(), Some(SaslError::UnexpectedStep));
    }

    #[test]
    fn login_initial_response_is_the_username() {
        let mut ex = LoginExchange::new();
        assert_eq!(challenge(ex.start(Some(b"alice"))), b"Password:");
        assert_eq!(done(ex.step(b"pw")), ("alice".to_owned(), "pw".to_owned()));
    }

    #[test]
    fn login_out_of_order_steps_are_refused() {
        let mut ex = LoginExchange::new();
        assert_eq!(ex.step(b"alice").err(), Some(SaslError::UnexpectedStep));
        let mut ex = LoginExchange::new();
        challenge(ex.start(None));
        assert_eq!(ex.start(None).err(), Some(SaslError::UnexpectedStep));
        assert_eq!(ex.step(b"alice").err(), Some(SaslError::UnexpectedStep));
    }

    #[test]
    fn login_bad_fields_end_the_exchange() {
        use SaslError::*;
        let long = vec![b'a'; MAX_FIELD + 1];
        let cases: Vec<(&[u8], &[u8], SaslError)> = vec![
            (b"", b"pw", EmptyUsername),
            (&long, b"pw", FieldTooLong),
            (b"al\0ice", b"pw", ContainsNul),
            (b"al\xffice", b"pw", NotUtf8),
            (b"alice", b"", EmptyPassword),
            (b"alice", &long, FieldTooLong),
            (b"alice", b"p\0w", ContainsNul),
            (b"alice", b"\xff", NotUtf8),
        ];
        for (user, pass, want) in cases {
            let mut ex = LoginExchange::new();
            challenge(ex.start(None));
            let result = ex.step(user).and_then(|_| ex.step(pass));
            assert_eq!(result.err(), Some(want.clone()), "{user:?} {pass:?}");
            assert_eq!(ex.step(b"x").err(), Some(UnexpectedStep));
        }
        let mut ex = LoginExchange::new();
        assert_eq!(ex.start(Some(b"")).err(), Some(EmptyUsername));
        assert_eq!(ex.step(b"x").err(), Some(UnexpectedStep));
    }

    #[test]
    fn login_field_of_exactly_255_octets_is_accepted() {
        let max = vec![b'a'; MAX_FIELD];
        let mut ex = LoginExchange::new();
        challenge(ex.start(Some(&max)));
        let (user, pass) = done(ex.step(&max));
        assert_eq!((user.len(), pass.len()), (MAX_FIELD, MAX_FIELD));
    }
}
