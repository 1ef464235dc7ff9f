//! Modified UTF-7 for mailbox names (RFC 3501 §5.1.3): printable ASCII
//! stands for itself except `&`, written `&-`; anything else is UTF-16BE
//! in base64 with `,` for `/`, no padding, between `&` and `-`.
//!
//! Decoding is strict so that every name has one spelling on the wire:
//! printable ASCII may not be base64-encoded, shifts may not be empty or
//! adjacent, padding bits must be zero, surrogates must pair.

use std::fmt;

/// Why a name is not valid modified UTF-7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Utf7Error {
    /// A byte outside printable ASCII appeared unencoded.
    NonAscii,
    /// `&` without a closing `-`.
    Unterminated,
    /// A character outside the modified base64 alphabet.
    BadBase64,
    /// Leftover bits that are not zero or too many of them.
    BadPadding,
    /// UTF-16 that does not decode (an unpaired surrogate).
    BadUtf16,
    /// Printable ASCII inside a shift, or two shifts back to back.
    NotCanonical,
}

impl Utf7Error {
    pub fn as_str(self) -> &'static str {
        match self {
            Utf7Error::NonAscii => "8-bit byte in modified UTF-7",
            Utf7Error::Unterminated => "unterminated & shift",
            Utf7Error::BadBase64 => "bad modified base64",
            Utf7Error::BadPadding => "bad base64 padding bits",
            Utf7Error::BadUtf16 => "unpaired UTF-16 surrogate",
            Utf7Error::NotCanonical => "non-canonical modified UTF-7",
        }
    }
}

impl fmt::Display for Utf7Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Utf7Error {}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn sextet(b: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == b).map(|i| i as u32)
}

fn is_printable(b: u32) -> bool {
    (0x20..=0x7e).contains(&b)
}

/// Decodes a modified UTF-7 name.
pub fn decode(input: &[u8]) -> Result<String, Utf7Error> {
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    let mut last_shift_end = None;
    while let Some(&b) = input.get(i) {
        if b != b'&' {
            if !is_printable(u32::from(b)) {
                return Err(Utf7Error::NonAscii);
            }
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let rest = input.get(i + 1..).unwrap_or_default();
        let len = rest
            .iter()
            .position(|&b| b == b'-')
            .ok_or(Utf7Error::Unterminated)?;
        let seg = rest.get(..len).unwrap_or_default();
        if seg.is_empty() {
            out.push('&');
        } else {
            if last_shift_end == Some(i) {
                return Err(Utf7Error::NotCanonical);
            }
            let mut units = Vec::with_capacity(seg.len() * 6 / 16);
            let (mut acc, mut bits) = (0u32, 0u32);
            for &c in seg {
                acc = (acc << 6 | sextet(c).ok_or(Utf7Error::BadBase64)?) & 0x3f_ffff;
                bits += 6;
                if bits >= 16 {
                    bits -= 16;
                    units.push((acc >> bits & 0xffff) as u16);
                }
            }
            if bits >= 6 || acc & ((1 << bits) - 1) != 0 {
                return Err(Utf7Error::BadPadding);
            }
            for ch in char::decode_utf16(units) {
                let ch = ch.map_err(|_| Utf7Error::BadUtf16)?;
                if is_printable(u32::from(ch)) {
                    return Err(Utf7Error::NotCanonical);
                }
                out.push(ch);
            }
        }
        i += len + 2;
        last_shift_end = (!seg.is_empty()).then_some(i);
    }
    Ok(out)
}

/// Encodes a name in modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for ch in name.chars() {
        if is_printable(u32::from(ch)) {
            flush(&mut out, &mut pending);
            if ch == '&' {
                out.push_str("&-");
            } else {
                out.push(ch);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(ch.encode_utf16(&mut buf));
        }
    }
    flush(&mut out, &mut pending);
    out
}

fn flush(out: &mut String, units: &mut Vec<u16>) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let (mut acc, mut bits) = (0u32, 0u32);
    let push = |out: &mut String, v: u32| {
        out.push(char::from(
            ALPHABET.get(v as usize & 63).copied().unwrap_or(b'A'),
        ));
    };
    for &u in units.iter() {
        acc = (acc << 16 | u32::from(u)) & 0xff_ffff;
        bits += 16;
        while bits >= 6 {
            bits -= 6;
            push(out, acc >> bits);
        }
    }
    if bits > 0 {
        push(out, acc << (6 - bits));
    }
    out.push('-');
    units.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_table() {
        let cases: &[(&[u8], Result<&str, Utf7Error>)] = &[
            (b"INBOX", Ok("INBOX")),
            (b"", Ok("")),
            (b"&-", Ok("&")),
            (b"a&-b", Ok("a&b")),
            // RFC 3501 §5.1.3 example.
            (
                b"~peter/mail/&U,BTFw-/&ZeVnLIqe-",
                Ok("~peter/mail/台北/日本語"),
            ),
            (b"Entw&APw-rfe", Ok("Entwürfe")),
            (b"&2D3eAA-", Ok("😀")),
            (b"&Jjo-!", Ok("☺!")),
            (b"&", Err(Utf7Error::Unterminated)),
            (b"&AGE", Err(Utf7Error::Unterminated)),
            (b"&AGE-", Err(Utf7Error::NotCanonical)),
            (b"&Jjo-&Jjo-", Err(Utf7Error::NotCanonical)),
            (b"&Jjo-&-&Jjo-", Ok("☺&☺")),
            (b"&Jj-", Err(Utf7Error::BadPadding)),
            (b"&Jjp-", Err(Utf7Error::BadPadding)),
            (b"&J/o-", Err(Utf7Error::BadBase64)),
            (b"&2D0-", Err(Utf7Error::BadUtf16)),
            (b"caf\xc3\xa9", Err(Utf7Error::NonAscii)),
            (b"a\tb", Err(Utf7Error::NonAscii)),
        ];
        for (input, want) in cases {
            assert_eq!(decode(input).as_deref(), want.as_deref(), "{input:?}");
        }
    }

    #[test]
    fn encode_round_trips() {
        let cases = [
            ("INBOX", "INBOX"),
            ("a&b", "a&-b"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("Entwürfe", "Entw&APw-rfe"),
            ("😀", "&2D3eAA-"),
            ("tab\there", "tab&AAk-here"),
            ("", ""),
        ];
        for (name, wire) in cases {
            assert_eq!(encode(name), wire);
            assert_eq!(decode(wire.as_bytes()).as_deref(), Ok(name));
        }
    }
}
