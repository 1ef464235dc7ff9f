//! `BINARY[part]` and `BINARY.SIZE[part]` (RFC 3516): a part's body with
//! its Content-Transfer-Encoding undone.

use mail_parser::decoders::{base64::base64_decode, quoted_printable::quoted_printable_decode};
use postern_store::{MessageMeta, raw_bytes};

use super::section::{Target, resolve};

/// Why a BINARY fetch has no bytes to give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BinaryError {
    /// The part numbers lead nowhere.
    NoSuchPart,
    /// RFC 3516 §4.3: answer `NO [UNKNOWN-CTE]`; the encoding as written.
    UnknownCte(String),
    /// The encoding is known but the body does not decode (bad base64).
    Undecodable,
}

/// The decoded body of the part at `parts` (empty: the whole message,
/// which has no transfer encoding of its own to undo).
pub fn binary(raw: &[u8], meta: &MessageMeta, parts: &[u32]) -> Result<Vec<u8>, BinaryError> {
    if parts.is_empty() {
        return Ok(raw.to_vec());
    }
    let part = match resolve(&meta.body, parts).ok_or(BinaryError::NoSuchPart)? {
        Target::Empty => return Ok(Vec::new()),
        Target::Part(p) => p,
    };
    let body = raw
        .get(part.body_start as usize..(part.end as usize).min(raw.len()))
        .unwrap_or_default();
    // Multiparts and attached messages are not encoded (RFC 2045 §6.4).
    if part.is_multipart() || part.message.is_some() {
        return Ok(body.to_vec());
    }
    let Some(cte) = &part.encoding else {
        return Ok(body.to_vec());
    };
    let cte_bytes = raw_bytes(cte, part.latin1);
    if ["7bit", "8bit", "binary"]
        .iter()
        .any(|e| cte_bytes.eq_ignore_ascii_case(e.as_bytes()))
    {
        Ok(body.to_vec())
    } else if cte_bytes.eq_ignore_ascii_case(b"base64") {
        base64_decode(body).ok_or(BinaryError::Undecodable)
    } else if cte_bytes.eq_ignore_ascii_case(b"quoted-printable") {
        quoted_printable_decode(body).ok_or(BinaryError::Undecodable)
    } else {
        Err(BinaryError::UnknownCte(cte.clone()))
    }
}
