//! The two bearer-token SASL messages, sans-IO: OAUTHBEARER (RFC 7628 §3.1,
//! with the GS2 header of RFC 5801) and Google's XOAUTH2, and the error
//! challenges the server sends when a token is refused (RFC 7628 §3.2.2).

use crate::{Secret, normalize_address};

/// The `^A` that separates key/value pairs in both mechanisms.
const KVSEP: u8 = 0x01;

/// Which bearer mechanism a client chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BearerMechanism {
    /// RFC 7628.
    OAuthBearer,
    /// Google's `XOAUTH2` (what most mail clients implemented first).
    XOAuth2,
}

impl BearerMechanism {
    /// Every bearer mechanism, in the order they are advertised.
    pub const ALL: [BearerMechanism; 2] = [BearerMechanism::OAuthBearer, BearerMechanism::XOAuth2];

    /// The mechanism of a SASL name (already uppercased by the protocols,
    /// compared without case here anyway).
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("OAUTHBEARER") {
            Some(Self::OAuthBearer)
        } else if name.eq_ignore_ascii_case("XOAUTH2") {
            Some(Self::XOAuth2)
        } else {
            None
        }
    }

    /// The SASL name.
    pub fn name(self) -> &'static str {
        match self {
            Self::OAuthBearer => "OAUTHBEARER",
            Self::XOAuth2 => "XOAUTH2",
        }
    }
}

/// What a bearer message carries: the token and, optionally, who the
/// client says it is (OAUTHBEARER's authzid `a=`, XOAUTH2's `user=`).
#[derive(Clone, Debug)]
pub struct BearerRequest {
    /// The claimed identity; when present it must be the token's user.
    pub user: Option<String>,
    /// The bearer token.
    pub token: Secret<String>,
}

/// Why a bearer message was refused. All are answered as a failed login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BearerSyntaxError {
    /// No GS2 header, or one asking for channel binding (`p=`), which
    /// OAUTHBEARER does not define (RFC 7628 §3.1).
    Gs2Header,
    /// The key/value pairs are not `key=value^A ... ^A`.
    KeyValues,
    /// No `auth=Bearer <token>` pair, or a token outside RFC 6750's b64token.
    Auth,
    /// XOAUTH2 without `user=`, or an identity that is empty, not UTF-8,
    /// badly escaped or longer than 255 octets.
    User,
    /// The token is longer than the configured maximum.
    TokenTooLong,
}

/// Parses a decoded bearer message of `mechanism`. Tokens longer than
/// `max_token` octets are refused.
pub fn decode_bearer(
    mechanism: BearerMechanism,
    message: &[u8],
    max_token: usize,
) -> Result<BearerRequest, BearerSyntaxError> {
    let (user, pairs) = match mechanism {
        BearerMechanism::OAuthBearer => {
            let sep = message
                .iter()
                .position(|&b| b == KVSEP)
                .ok_or(BearerSyntaxError::Gs2Header)?;
            let user = gs2_authzid(&message[..sep])?;
            (user, key_values(&message[sep + 1..])?)
        }
        BearerMechanism::XOAuth2 => {
            let pairs = key_values(message)?;
            let user = pairs
                .iter()
                .find(|(k, _)| *k == b"user")
                .map(|(_, v)| identity(v))
                .ok_or(BearerSyntaxError::User)??;
            (Some(user), pairs)
        }
    };
    let mut auth = pairs.iter().filter(|(k, _)| *k == b"auth");
    let (Some((_, value)), None) = (auth.next(), auth.next()) else {
        return Err(BearerSyntaxError::Auth);
    };
    let token = bearer_token(value)?;
    if token.len() > max_token {
        return Err(BearerSyntaxError::TokenTooLong);
    }
    Ok(BearerRequest {
        user,
        token: Secret::new(token.to_owned()),
    })
}

/// RFC 5801 §4: `gs2-cbind-flag "," [ "a=" saslname ] ","`. `n` (no
/// channel binding) and `y` (client could but thinks we cannot) are
/// accepted; `p=` is not.
fn gs2_authzid(header: &[u8]) -> Result<Option<String>, BearerSyntaxError> {
    let rest = header
        .strip_prefix(b"n,")
        .or_else(|| header.strip_prefix(b"y,"))
        .ok_or(BearerSyntaxError::Gs2Header)?;
    let authzid = rest
        .strip_suffix(b",")
        .ok_or(BearerSyntaxError::Gs2Header)?;
    if authzid.is_empty() {
        return Ok(None);
    }
    let name = authzid
        .strip_prefix(b"a=")
        .ok_or(BearerSyntaxError::Gs2Header)?;
    // saslname: `,` and `=` are written `=2C` and `=3D`; any other `=` or
    // a bare `,` is malformed.
    let mut out = Vec::with_capacity(name.len());
    let mut i = 0;
    while i < name.len() {
        match name[i] {
            b'=' => {
                match name.get(i + 1..i + 3) {
                    Some(b"2C") => out.push(b','),
                    Some(b"3D") => out.push(b'='),
                    _ => return Err(BearerSyntaxError::User),
                }
                i += 3;
            }
            b',' => return Err(BearerSyntaxError::Gs2Header),
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    identity(&out).map(Some)
}

/// An identity: 1 to 255 octets of UTF-8.
fn identity(bytes: &[u8]) -> Result<String, BearerSyntaxError> {
    if bytes.is_empty() || bytes.len() > crate::sasl::MAX_FIELD {
        return Err(BearerSyntaxError::User);
    }
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| BearerSyntaxError::User)
}

/// One `key=value` pair of a bearer message.
type KeyValue<'a> = (&'a [u8], &'a [u8]);

/// RFC 7628 §3.1: `*kvpair kvsep` where `kvpair = key "=" value kvsep`,
/// `key = 1*ALPHA` and `value = *(VCHAR / SP / HTAB / CR / LF)`.
fn key_values(bytes: &[u8]) -> Result<Vec<KeyValue<'_>>, BearerSyntaxError> {
    let body = bytes
        .strip_suffix(&[KVSEP])
        .ok_or(BearerSyntaxError::KeyValues)?;
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let body = body
        .strip_suffix(&[KVSEP])
        .ok_or(BearerSyntaxError::KeyValues)?;
    body.split(|&b| b == KVSEP)
        .map(|pair| {
            let eq = pair
                .iter()
                .position(|&b| b == b'=')
                .ok_or(BearerSyntaxError::KeyValues)?;
            let (key, value) = (&pair[..eq], &pair[eq + 1..]);
            let key_ok = !key.is_empty() && key.iter().all(u8::is_ascii_alphabetic);
            let value_ok = value
                .iter()
                .all(|&b| matches!(b, 0x21..=0x7e | b' ' | b'\t' | b'\r' | b'\n'));
            if key_ok && value_ok {
                Ok((key, value))
            } else {
                Err(BearerSyntaxError::KeyValues)
            }
        })
        .collect()
}

/// `Bearer 1*SP b64token` (RFC 6750 §2.1; the scheme is case-insensitive,
/// RFC 9110 §11.1).
fn bearer_token(value: &[u8]) -> Result<&str, BearerSyntaxError> {
    let scheme = value.get(..6).ok_or(BearerSyntaxError::Auth)?;
    if !scheme.eq_ignore_ascii_case(b"Bearer") {
        return Err(BearerSyntaxError::Auth);
    }
    let rest = &value[6..];
    let token = rest.trim_ascii_start();
    if token.len() == rest.len() || token.is_empty() {
        return Err(BearerSyntaxError::Auth);
    }
    let body_len = token.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    let body_ok = body_len > 0
        && token[..body_len]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if !body_ok {
        return Err(BearerSyntaxError::Auth);
    }
    std::str::from_utf8(token).map_err(|_| BearerSyntaxError::Auth)
}

/// The error challenge sent when a token is refused, before the final
/// failure: RFC 7628 §3.2.2's JSON with `status` and where to find the
/// issuer's configuration; XOAUTH2 gets Google's shape. The client answers
/// it with `^A` (OAUTHBEARER) or an empty line (XOAUTH2), then gets the
/// failure.
pub fn error_challenge(mechanism: BearerMechanism, issuer: &str) -> Vec<u8> {
    let value = match mechanism {
        BearerMechanism::OAuthBearer => serde_json::json!({
            "status": "invalid_token",
            "openid-configuration": discovery_url(issuer),
        }),
        BearerMechanism::XOAuth2 => serde_json::json!({
            "status": "401",
            "schemes": "bearer",
        }),
    };
    value.to_string().into_bytes()
}

/// OpenID Connect Discovery 1.0 §4: the issuer without its trailing `/`,
/// then `/.well-known/openid-configuration`.
pub(crate) fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Whether `claimed` (a SASL authzid or XOAUTH2 user) names `address`.
pub(crate) fn names(claimed: &str, address: &str) -> bool {
    normalize_address(claimed).is_ok_and(|c| c == address)
}

#[cfg(test)]
mod tests {
    use super::*;
    use BearerMechanism::*;
    use BearerSyntaxError::*;

    fn parse(
        m: BearerMechanism,
        input: &[u8],
    ) -> Result<(Option<String>, String), BearerSyntaxError> {
        decode_bearer(m, input, 64).map(|r| (r.user, r.token.expose().clone()))
    }

    fn ok(user: Option<&str>, token: &str) -> Result<(Option<String>, String), BearerSyntaxError> {
        Ok((user.map(str::to_owned), token.to_owned()))
    }

    #[test]
    fn oauthbearer_table() {
        let table: Vec<(&[u8], _)> = vec![
            // RFC 7628 §4.1's example, with its host and port pairs.
            (
                b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01",
                ok(Some("user@example.com"), "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="),
            ),
            (
                b"n,,\x01auth=Bearer 0123456789012345678901234567890123456789012345678901234567890123x\x01\x01",
                Err(TokenTooLong),
            ),
            (
                b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBh\x01\x01",
                ok(Some("user@example.com"), "vF9dft4qmTc2Nvb3RlckBh"),
            ),
            (b"n,,\x01auth=Bearer abc.def-ghi\x01\x01", ok(None, "abc.def-ghi")),
            (b"y,,\x01auth=bearer  t0k==\x01\x01", ok(None, "t0k==")),
            (b"n,a=a=3Db=2Cc@x,\x01auth=Bearer t\x01\x01", ok(Some("a=b,c@x"), "t")),
            (b"p=tls-unique,,\x01auth=Bearer t\x01\x01", Err(Gs2Header)),
            (b"n,a=x\x01auth=Bearer t\x01\x01", Err(Gs2Header)),
            (b"n,b=x,\x01auth=Bearer t\x01\x01", Err(Gs2Header)),
            (b"n,a=x,y,\x01auth=Bearer t\x01\x01", Err(Gs2Header)),
            (b"n,a=x=2,\x01auth=Bearer t\x01\x01", Err(User)),
            (b"n,a=,\x01auth=Bearer t\x01\x01", Err(User)),
            (b"auth=Bearer t\x01\x01", Err(Gs2Header)),
            (b"\x01", Err(Gs2Header)),
            (b"", Err(Gs2Header)),
            (b"n,,\x01\x01", Err(Auth)),
            (b"n,,\x01auth=Bearer t\x01", Err(KeyValues)),
            (b"n,,\x01auth=Bearer t", Err(KeyValues)),
            (b"n,,\x01auth=Bearer t\x01auth=Bearer u\x01\x01", Err(Auth)),
            (b"n,,\x01auth=Basic dXNlcjpwdw==\x01\x01", Err(Auth)),
            (b"n,,\x01auth=Bearer\x01\x01", Err(Auth)),
            (b"n,,\x01auth=Bearert\x01\x01", Err(Auth)),
            (b"n,,\x01auth=Bearer a b\x01\x01", Err(Auth)),
            (b"n,,\x01auth=Bearer ===\x01\x01", Err(Auth)),
            (b"n,,\x01au th=Bearer t\x01\x01", Err(KeyValues)),
            (b"n,,\x01auth=Bearer t\x00\x01\x01", Err(KeyValues)),
            (b"n,,\x01=x\x01auth=Bearer t\x01\x01", Err(KeyValues)),
            (b"n,,\x01host\x01auth=Bearer t\x01\x01", Err(KeyValues)),
        ];
        for (input, want) in table {
            assert_eq!(
                parse(OAuthBearer, input),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn xoauth2_table() {
        let table: Vec<(&[u8], _)> = vec![
            (
                b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg\x01\x01",
                ok(Some("someuser@example.com"), "ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg"),
            ),
            (b"auth=Bearer t\x01user=u@x\x01\x01", ok(Some("u@x"), "t")),
            (b"auth=Bearer t\x01\x01", Err(User)),
            (b"user=\x01auth=Bearer t\x01\x01", Err(User)),
            (b"user=u@x\x01\x01", Err(Auth)),
            (b"user=u@x\x01auth=Bearer t", Err(KeyValues)),
            (b"", Err(KeyValues)),
            (b"\x01", Err(User)),
        ];
        for (input, want) in table {
            assert_eq!(
                parse(XOAuth2, input),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn no_prefix_of_a_message_yields_its_token() {
        let full = b"n,a=u@x,\x01auth=Bearer tok\x01\x01";
        for cut in 0..full.len() {
            for m in BearerMechanism::ALL {
                assert!(
                    parse(m, &full[..cut]).is_err(),
                    "{m:?} prefix of {cut} octets"
                );
            }
        }
        assert_eq!(parse(OAuthBearer, full), ok(Some("u@x"), "tok"));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_tokens_stay_in_bounds() {
        // A small deterministic sweep over mutated messages: each byte of a
        // valid message replaced by each interesting value.
        let base = b"n,a=u@x,\x01auth=Bearer abc\x01\x01user=v@y\x01\x01".to_vec();
        for i in 0..base.len() {
            for b in [0u8, 1, b'=', b',', b' ', 0xff, b'a'] {
                let mut m = base.clone();
                m[i] = b;
                for mech in BearerMechanism::ALL {
                    if let Ok(r) = decode_bearer(mech, &m, 8) {
                        assert!(!r.token.expose().is_empty() && r.token.expose().len() <= 8);
                    }
                }
            }
        }
    }

    #[test]
    fn error_challenges_are_the_documented_json() {
        let v: serde_json::Value = serde_json::from_slice(&error_challenge(
            OAuthBearer,
            "https://id.example/realms/x/",
        ))
        .expect("json");
        assert_eq!(v["status"], "invalid_token");
        assert_eq!(
            v["openid-configuration"],
            "https://id.example/realms/x/.well-known/openid-configuration"
        );
        let v: serde_json::Value =
            serde_json::from_slice(&error_challenge(XOAuth2, "https://id.example")).expect("json");
        assert_eq!(v["status"], "401");
    }

    #[test]
    fn mechanism_names_round_trip() {
        for m in BearerMechanism::ALL {
            assert_eq!(BearerMechanism::from_name(m.name()), Some(m));
        }
        assert_eq!(BearerMechanism::from_name("xoauth2"), Some(XOAuth2));
        assert_eq!(BearerMechanism::from_name("PLAIN"), None);
    }
}
