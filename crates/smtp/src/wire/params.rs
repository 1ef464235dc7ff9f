//! ESMTP parameters after MAIL FROM and RCPT TO (RFC 5321 §4.1.2
//! `Mail-parameters`, `Rcpt-parameters`): SIZE (RFC 1870), BODY (RFC 6152,
//! RFC 3030), SMTPUTF8 (RFC 6531), RET/ENVID/NOTIFY/ORCPT (RFC 3461) and
//! AUTH (RFC 4954 §5), with xtext decoding (RFC 3461 §4).
//!
//! Choices: keywords and the enumerated values are case-insensitive; a
//! parameter given twice is a syntax error; an unknown keyword is 555
//! (RFC 5321 §4.1.1.11); several spaces between parameters are tolerated;
//! xtext hex digits may be lowercase (RFC 3461 asks for uppercase) and raw
//! UTF-8 is allowed in xtext (RFC 6533 §3 allows it in utf-8-xtext).

use super::command::CommandError;

/// RFC 3461 §4.4: an ENVID is at most 100 characters.
const MAX_ENVID: usize = 100;
/// RFC 3461 §4.2: an ORCPT is at most 500 characters.
const MAX_ORCPT: usize = 500;

/// Parameters of MAIL FROM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailParams {
    /// SIZE=n: the size the client declares (RFC 1870 §3).
    pub size: Option<u64>,
    /// BODY=: the body type (RFC 6152 §2, RFC 3030 §3).
    pub body: Option<Body>,
    /// SMTPUTF8: the envelope or headers may hold UTF-8 (RFC 6531 §3.4).
    pub smtputf8: bool,
    /// RET=: how much of the message a DSN returns (RFC 3461 §4.3).
    pub ret: Option<Ret>,
    /// ENVID=: the envelope identifier, xtext-decoded (RFC 3461 §4.4).
    pub envid: Option<String>,
    /// AUTH=: the original submitter, xtext-decoded, or `<>` (RFC 4954 §5).
    pub auth: Option<String>,
}

/// The BODY parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// `7BIT`
    SevenBit,
    /// `8BITMIME` (RFC 6152)
    EightBitMime,
    /// `BINARYMIME` (RFC 3030 §3; only with BDAT)
    BinaryMime,
}

/// The RET parameter (RFC 3461 §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    Full,
    Hdrs,
}

/// Parameters of RCPT TO.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RcptParams {
    /// NOTIFY=: when to send a DSN (RFC 3461 §4.1).
    pub notify: Option<Notify>,
    /// ORCPT=: the original recipient, `addr-type;address` with the address
    /// xtext-decoded, e.g. `rfc822;user@host` (RFC 3461 §4.2).
    pub orcpt: Option<String>,
}

/// The NOTIFY parameter: either `never` alone or any of the other three
/// (RFC 3461 §4.1); the parser never builds `never` with another flag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Notify {
    pub never: bool,
    pub success: bool,
    pub failure: bool,
    pub delay: bool,
}

fn syntax(why: &'static str) -> CommandError {
    CommandError::Syntax(why)
}

/// Splits `KEY[=VALUE]` parameters separated by spaces, checking the
/// keyword and value syntax of RFC 5321 §4.1.2 (`esmtp-keyword`,
/// `esmtp-value`, with RFC 6531's UTF-8) and refusing repeats.
fn each_param<'a>(
    s: &'a str,
    mut f: impl FnMut(&str, Option<&'a str>) -> Result<(), CommandError>,
) -> Result<(), CommandError> {
    let mut seen: Vec<String> = Vec::new();
    for param in s.split(' ').filter(|p| !p.is_empty()) {
        let (key, value) = match param.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (param, None),
        };
        let key_ok = key
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && key.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-');
        if !key_ok {
            return Err(syntax("Invalid parameter keyword"));
        }
        if let Some(v) = value {
            // esmtp-value = 1*(%d33-60 / %d62-126) / UTF8-non-ascii
            let ok = !v.is_empty()
                && v.chars().all(|c| match c {
                    '!'..='<' | '>'..='~' => true,
                    c => !c.is_ascii() && !c.is_control() && !c.is_whitespace(),
                });
            if !ok {
                return Err(syntax("Invalid parameter value"));
            }
        }
        let upper = key.to_ascii_uppercase();
        if seen.contains(&upper) {
            return Err(syntax("Parameter given twice"));
        }
        seen.push(upper);
        f(key, value)?;
    }
    Ok(())
}

fn unknown(key: &str) -> CommandError {
    // The keyword was checked to be ASCII letters, digits and hyphens.
    let mut k = key.to_ascii_uppercase();
    k.truncate(32);
    CommandError::UnknownParameter(k)
}

fn no_value(value: Option<&str>) -> Result<(), CommandError> {
    match value {
        None => Ok(()),
        Some(_) => Err(syntax("Parameter takes no value")),
    }
}

fn need_value(value: Option<&str>) -> Result<&str, CommandError> {
    value.ok_or_else(|| syntax("Parameter needs a value"))
}

/// A decimal number of at most `u64::MAX`, digits only (no sign).
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses the parameters after `MAIL FROM:<path>`.
pub(crate) fn parse_mail_params(s: &str) -> Result<MailParams, CommandError> {
    let mut p = MailParams::default();
    each_param(s, |key, value| {
        match key.to_ascii_uppercase().as_str() {
            // RFC 1870 §3: size-value = 1*20DIGIT
            "SIZE" => {
                let v = need_value(value)?;
                p.size = Some(parse_decimal(v).ok_or(syntax("SIZE must be a decimal number"))?);
            }
            "BODY" => {
                let v = need_value(value)?.to_ascii_uppercase();
                p.body = Some(match v.as_str() {
                    "7BIT" => Body::SevenBit,
                    "8BITMIME" => Body::EightBitMime,
                    "BINARYMIME" => Body::BinaryMime,
                    _ => return Err(syntax("BODY must be 7BIT, 8BITMIME or BINARYMIME")),
                });
            }
            // RFC 6531 §3.4: SMTPUTF8 takes no value.
            "SMTPUTF8" => {
                no_value(value)?;
                p.smtputf8 = true;
            }
            "RET" => {
                let v = need_value(value)?.to_ascii_uppercase();
                p.ret = Some(match v.as_str() {
                    "FULL" => Ret::Full,
                    "HDRS" => Ret::Hdrs,
                    _ => return Err(syntax("RET must be FULL or HDRS")),
                });
            }
            "ENVID" => {
                let v = need_value(value)?;
                if v.chars().count() > MAX_ENVID {
                    return Err(syntax("ENVID longer than 100 characters"));
                }
                p.envid = Some(decode_xtext(v)?);
            }
            // RFC 4954 §5: AUTH=<> or AUTH=xtext(addr-spec).
            "AUTH" => {
                let v = need_value(value)?;
                p.auth = Some(if v == "<>" {
                    v.to_string()
                } else {
                    decode_xtext(v)?
                });
            }
            _ => return Err(unknown(key)),
        }
        Ok(())
    })?;
    Ok(p)
}

/// Parses the parameters after `RCPT TO:<path>`.
pub(crate) fn parse_rcpt_params(s: &str) -> Result<RcptParams, CommandError> {
    let mut p = RcptParams::default();
    each_param(s, |key, value| {
        match key.to_ascii_uppercase().as_str() {
            "NOTIFY" => p.notify = Some(parse_notify(need_value(value)?)?),
            "ORCPT" => {
                let v = need_value(value)?;
                if v.chars().count() > MAX_ORCPT {
                    return Err(syntax("ORCPT longer than 500 characters"));
                }
                // RFC 3461 §4.2: orcpt-value = addr-type ";" xtext, where
                // addr-type is an RFC 822 atom ("rfc822", "utf-8").
                let (kind, addr) = v
                    .split_once(';')
                    .ok_or(syntax("ORCPT must be type;address"))?;
                let kind_ok = !kind.is_empty()
                    && kind
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c));
                if !kind_ok || addr.is_empty() {
                    return Err(syntax("ORCPT must be type;address"));
                }
                p.orcpt = Some(format!("{kind};{}", decode_xtext(addr)?));
            }
            _ => return Err(unknown(key)),
        }
        Ok(())
    })?;
    Ok(p)
}

/// RFC 3461 §4.1: `NEVER` alone, or a comma list of SUCCESS, FAILURE and
/// DELAY, each at most once.
fn parse_notify(v: &str) -> Result<Notify, CommandError> {
    let mut n = Notify::default();
    for item in v.split(',') {
        let flag = match item.to_ascii_uppercase().as_str() {
            "NEVER" => &mut n.never,
            "SUCCESS" => &mut n.success,
            "FAILURE" => &mut n.failure,
            "DELAY" => &mut n.delay,
            _ => return Err(syntax("NOTIFY must be NEVER or SUCCESS, FAILURE, DELAY")),
        };
        if *flag {
            return Err(syntax("NOTIFY value given twice"));
        }
        *flag = true;
    }
    if n.never && (n.success || n.failure || n.delay) {
        return Err(syntax("NOTIFY=NEVER cannot be combined"));
    }
    Ok(n)
}

/// RFC 3461 §4: xtext, where `+XX` is the octet with hex value XX. The
/// decoded octets must be UTF-8 without control characters.
pub(crate) fn decode_xtext(s: &str) -> Result<String, CommandError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'+' {
            let hex = b.get(i + 1..i + 3).ok_or(syntax("Invalid xtext"))?;
            let hex = std::str::from_utf8(hex).map_err(|_| syntax("Invalid xtext"))?;
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return Err(syntax("Invalid xtext"));
            }
            out.push(u8::from_str_radix(hex, 16).map_err(|_| syntax("Invalid xtext"))?);
            i += 3;
        } else {
            // xchar: "!" to "~" except "+" and "="; `each_param` already
            // refused "=" and spaces in values.
            out.push(c);
            i += 1;
        }
    }
    let text = String::from_utf8(out).map_err(|_| syntax("xtext does not decode to UTF-8"))?;
    if text.chars().any(char::is_control) {
        return Err(syntax("xtext decodes to a control character"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(never: bool, success: bool, failure: bool, delay: bool) -> Notify {
        Notify {
            never,
            success,
            failure,
            delay,
        }
    }

    #[test]
    fn mail_params_table() {
        let ok: Vec<(&str, MailParams)> = vec![
            ("", MailParams::default()),
            ("   ", MailParams::default()),
            // RFC 1870 §6 example.
            (
                "SIZE=500000",
                MailParams {
                    size: Some(500000),
                    ..Default::default()
                },
            ),
            (
                "size=0",
                MailParams {
                    size: Some(0),
                    ..Default::default()
                },
            ),
            (
                "SIZE=18446744073709551615",
                MailParams {
                    size: Some(u64::MAX),
                    ..Default::default()
                },
            ),
            (
                "BODY=8BITMIME",
                MailParams {
                    body: Some(Body::EightBitMime),
                    ..Default::default()
                },
            ),
            (
                "body=7bit",
                MailParams {
                    body: Some(Body::SevenBit),
                    ..Default::default()
                },
            ),
            (
                "BODY=BINARYMIME",
                MailParams {
                    body: Some(Body::BinaryMime),
                    ..Default::default()
                },
            ),
            (
                "SMTPUTF8",
                MailParams {
                    smtputf8: true,
                    ..Default::default()
                },
            ),
            (
                "RET=HDRS",
                MailParams {
                    ret: Some(Ret::Hdrs),
                    ..Default::default()
                },
            ),
            (
                "ret=full",
                MailParams {
                    ret: Some(Ret::Full),
                    ..Default::default()
                },
            ),
            // RFC 3461 §4.4 example.
            (
                "ENVID=QQ314159",
                MailParams {
                    envid: Some("QQ314159".into()),
                    ..Default::default()
                },
            ),
            (
                "ENVID=a+2Bb+3dc",
                MailParams {
                    envid: Some("a+b=c".into()),
                    ..Default::default()
                },
            ),
            (
                "AUTH=<>",
                MailParams {
                    auth: Some("<>".into()),
                    ..Default::default()
                },
            ),
            // RFC 4954 §5 example.
            (
                "AUTH=e+3Dmc2@example.com",
                MailParams {
                    auth: Some("e=mc2@example.com".into()),
                    ..Default::default()
                },
            ),
            (
                "SIZE=10  BODY=8BITMIME SMTPUTF8 RET=FULL ENVID=x AUTH=u@h",
                MailParams {
                    size: Some(10),
                    body: Some(Body::EightBitMime),
                    smtputf8: true,
                    ret: Some(Ret::Full),
                    envid: Some("x".into()),
                    auth: Some("u@h".into()),
                },
            ),
        ];
        for (input, want) in ok {
            assert_eq!(parse_mail_params(input), Ok(want), "{input}");
        }
        let long_envid = format!("ENVID={}", "a".repeat(101));
        let refused: Vec<(&str, CommandError)> = vec![
            ("SIZE", syntax("Parameter needs a value")),
            ("SIZE=", syntax("Invalid parameter value")),
            ("SIZE=-1", syntax("SIZE must be a decimal number")),
            ("SIZE=+1", syntax("SIZE must be a decimal number")),
            ("SIZE=1k", syntax("SIZE must be a decimal number")),
            (
                "SIZE=18446744073709551616",
                syntax("SIZE must be a decimal number"),
            ),
            ("SIZE=1 SIZE=2", syntax("Parameter given twice")),
            ("SIZE=1 size=2", syntax("Parameter given twice")),
            (
                "BODY=9BIT",
                syntax("BODY must be 7BIT, 8BITMIME or BINARYMIME"),
            ),
            ("SMTPUTF8=yes", syntax("Parameter takes no value")),
            ("RET=ALL", syntax("RET must be FULL or HDRS")),
            ("ENVID=a+2", syntax("Invalid xtext")),
            ("ENVID=a+zz", syntax("Invalid xtext")),
            ("ENVID=a+00", syntax("xtext decodes to a control character")),
            ("ENVID=+FF", syntax("xtext does not decode to UTF-8")),
            (&long_envid, syntax("ENVID longer than 100 characters")),
            ("ENVID=a=b", syntax("Invalid parameter value")),
            ("-SIZE=1", syntax("Invalid parameter keyword")),
            ("SI_ZE=1", syntax("Invalid parameter keyword")),
            ("=1", syntax("Invalid parameter keyword")),
            ("SIZE=1\t", syntax("Invalid parameter value")),
            ("SIZE=\u{85}", syntax("Invalid parameter value")),
            ("X-FOO=1", CommandError::UnknownParameter("X-FOO".into())),
            (
                "notify=NEVER",
                CommandError::UnknownParameter("NOTIFY".into()),
            ),
            (
                "SIZE=1 HOLDFOR=2",
                CommandError::UnknownParameter("HOLDFOR".into()),
            ),
        ];
        for (input, want) in refused {
            assert_eq!(parse_mail_params(input), Err(want), "{input}");
        }
    }

    #[test]
    fn rcpt_params_table() {
        let ok: Vec<(&str, RcptParams)> = vec![
            ("", RcptParams::default()),
            (
                "NOTIFY=NEVER",
                RcptParams {
                    notify: Some(n(true, false, false, false)),
                    orcpt: None,
                },
            ),
            (
                "NOTIFY=SUCCESS,FAILURE",
                RcptParams {
                    notify: Some(n(false, true, true, false)),
                    orcpt: None,
                },
            ),
            (
                "notify=delay,Success,FAILURE",
                RcptParams {
                    notify: Some(n(false, true, true, true)),
                    orcpt: None,
                },
            ),
            // RFC 3461 §4.2 example form.
            (
                "ORCPT=rfc822;Bob@Example.COM",
                RcptParams {
                    notify: None,
                    orcpt: Some("rfc822;Bob@Example.COM".into()),
                },
            ),
            (
                "ORCPT=rfc822;a+2Bb@x",
                RcptParams {
                    notify: None,
                    orcpt: Some("rfc822;a+b@x".into()),
                },
            ),
            (
                "NOTIFY=FAILURE ORCPT=utf-8;j+C3+B6rg@x",
                RcptParams {
                    notify: Some(n(false, false, true, false)),
                    orcpt: Some("utf-8;jörg@x".into()),
                },
            ),
        ];
        for (input, want) in ok {
            assert_eq!(parse_rcpt_params(input), Ok(want), "{input}");
        }
        let refused: Vec<(&str, CommandError)> = vec![
            (
                "NOTIFY=NEVER,SUCCESS",
                syntax("NOTIFY=NEVER cannot be combined"),
            ),
            ("NOTIFY=SUCCESS,SUCCESS", syntax("NOTIFY value given twice")),
            (
                "NOTIFY=SUCCESS,",
                syntax("NOTIFY must be NEVER or SUCCESS, FAILURE, DELAY"),
            ),
            (
                "NOTIFY=ALWAYS",
                syntax("NOTIFY must be NEVER or SUCCESS, FAILURE, DELAY"),
            ),
            ("NOTIFY", syntax("Parameter needs a value")),
            ("ORCPT=Bob@x", syntax("ORCPT must be type;address")),
            ("ORCPT=;Bob@x", syntax("ORCPT must be type;address")),
            ("ORCPT=rfc822;", syntax("ORCPT must be type;address")),
            ("ORCPT=rfc 822;x", syntax("ORCPT must be type;address")),
            ("SIZE=1", CommandError::UnknownParameter("SIZE".into())),
        ];
        for (input, want) in refused {
            assert_eq!(parse_rcpt_params(input), Err(want), "{input}");
        }
    }
}
