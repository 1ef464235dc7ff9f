//! The ENVELOPE and BODYSTRUCTURE the store keeps for each message (its
//! `message_structure` table, registered with `set_structure_renderer` at
//! start): rendered once at delivery, import or APPEND, so a FETCH of them
//! over a whole mailbox copies bytes instead of decoding every message's
//! meta and rendering it again.
//!
//! Layout: a version byte ([`STORED_VERSION`]), the ENVELOPE's length
//! (4 bytes, little-endian), the ENVELOPE, then the BODYSTRUCTURE. A row
//! whose bytes are of another version or do not add up is rendered from
//! its meta instead, so a change to the renderers only needs a new
//! version here (old rows then fall back until they are rewritten).

use postern_store::MessageMeta;

use super::{body_structure, envelope};

/// The layout and renderers these bytes come from.
pub const STORED_VERSION: u8 = 1;

/// What a new row keeps: the value of `ENVELOPE` and of `BODYSTRUCTURE`.
pub fn stored_structure(meta: &MessageMeta) -> Vec<u8> {
    let env = envelope(&meta.envelope);
    let bs = body_structure(meta, &[], true);
    let mut out = Vec::with_capacity(5 + env.len() + bs.len());
    out.push(STORED_VERSION);
    out.extend_from_slice(&(env.len() as u32).to_le_bytes());
    out.extend_from_slice(&env);
    out.extend_from_slice(&bs);
    out
}

/// The ENVELOPE and BODYSTRUCTURE of [`stored_structure`]'s bytes, or
/// `None` for bytes of another version or damaged ones.
pub fn split_stored(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&version, rest) = b.split_first()?;
    if version != STORED_VERSION {
        return None;
    }
    let (len, rest) = rest.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    let (env, bs) = rest.split_at_checked(len)?;
    (!env.is_empty() && !bs.is_empty()).then_some((env, bs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_structure_splits_into_what_the_renderers_write() {
        let raw = b"From: Ann <ann@example.org>\r\nSubject: hi\r\n\r\nbody\r\n";
        let meta = postern_store::meta_of(raw);
        let b = stored_structure(&meta);
        let (env, bs) = split_stored(&b).expect("splits");
        assert_eq!(env, &envelope(&meta.envelope)[..]);
        assert_eq!(bs, &body_structure(&meta, &[], true)[..]);
    }

    #[test]
    fn damaged_or_other_version_bytes_do_not_split() {
        let meta = postern_store::meta_of(b"Subject: x\r\n\r\ny\r\n");
        let b = stored_structure(&meta);
        assert!(split_stored(&b[..3]).is_none());
        assert!(split_stored(&b[..5]).is_none());
        let mut other = b.clone();
        other[0] = STORED_VERSION + 1;
        assert!(split_stored(&other).is_none());
        let mut long = b.clone();
        long[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(split_stored(&long).is_none());
        assert!(split_stored(&[]).is_none());
    }
}
