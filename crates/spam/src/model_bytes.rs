//! A model to and from bytes, for the store to keep as a blob. Version 1:
//!
//! ```text
//! "PSPM"  version:u8=1  table_size:u32le  spam_messages:u32le  ham_messages:u32le
//! used:u32le  then per used bucket, in index order:
//!   varint(index - previous index)  varint(spam)  varint(ham)
//! fnv1a64 of everything before it: u64le
//! ```
//!
//! Only used buckets are written, so a lightly trained user costs little.
//! The encoding is canonical (one byte string per model), so "train then
//! untrain gives the same bytes" is checkable. Reading checks the checksum,
//! every bound and every index, and fails with [`ModelError`] on anything
//! else: a damaged blob never panics and never allocates past
//! `max_table_size`.

use crate::classifier::{Bucket, Model};
use crate::tokenize::fnv1a;

const MAGIC: &[u8; 4] = b"PSPM";
const VERSION: u8 = 1;
const HEADER: usize = 4 + 1 + 4 * 4;

/// Why stored model bytes were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("model data is truncated")]
    Truncated,
    #[error("not a model (bad magic)")]
    BadMagic,
    #[error("model format version {0} is not supported")]
    UnsupportedVersion(u8),
    #[error("model checksum does not match: the data is damaged")]
    BadChecksum,
    #[error("model table size {0} is out of range")]
    BadTableSize(u32),
    #[error("model entry {0} is invalid: {1}")]
    BadEntry(u32, &'static str),
}

impl Model {
    /// The canonical bytes of this model.
    pub fn to_bytes(&self) -> Vec<u8> {
        let used = self.used_buckets();
        let mut out = Vec::with_capacity(HEADER + used * 4 + 8);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        let size = u32::try_from(self.table.len()).expect("table sizes come from a u32");
        for v in [size, self.spam_messages, self.ham_messages] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(used as u32).to_le_bytes());
        let mut prev = 0usize;
        for (i, b) in self.table.iter().enumerate() {
            if b.spam == 0 && b.ham == 0 {
                continue;
            }
            put_varint(&mut out, (i - prev) as u32);
            put_varint(&mut out, b.spam);
            put_varint(&mut out, b.ham);
            prev = i;
        }
        let sum = fnv1a(&[&out]);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Reads bytes made by [`Model::to_bytes`]; refuses a table larger than
    /// `max_table_size` buckets.
    pub fn from_bytes(bytes: &[u8], max_table_size: u32) -> Result<Self, ModelError> {
        if bytes.len() < 4 {
            return Err(ModelError::Truncated);
        }
        if &bytes[..4] != MAGIC {
            return Err(ModelError::BadMagic);
        }
        if bytes.len() < HEADER + 8 {
            return Err(ModelError::Truncated);
        }
        if bytes[4] != VERSION {
            return Err(ModelError::UnsupportedVersion(bytes[4]));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        let stored = u64::from_le_bytes(tail.try_into().expect("split_at gave 8 bytes"));
        if fnv1a(&[body]) != stored {
            return Err(ModelError::BadChecksum);
        }
        let word = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().expect("4 bytes"));
        let size = word(5);
        if size == 0 || size > max_table_size {
            return Err(ModelError::BadTableSize(size));
        }
        let used = word(17);
        if used > size {
            return Err(ModelError::BadTableSize(size));
        }
        let mut model = Model::new(size);
        model.spam_messages = word(9);
        model.ham_messages = word(13);
        let mut rest = &body[HEADER..];
        let mut index: u64 = 0;
        for n in 0..used {
            let delta = take_varint(&mut rest).ok_or(ModelError::BadEntry(n, "truncated"))?;
            let spam = take_varint(&mut rest).ok_or(ModelError::BadEntry(n, "truncated"))?;
            let ham = take_varint(&mut rest).ok_or(ModelError::BadEntry(n, "truncated"))?;
            if n > 0 && delta == 0 {
                return Err(ModelError::BadEntry(n, "index not increasing"));
            }
            index += u64::from(delta);
            if index >= u64::from(size) {
                return Err(ModelError::BadEntry(n, "index past the table"));
            }
            if spam == 0 && ham == 0 {
                return Err(ModelError::BadEntry(n, "empty bucket written"));
            }
            model.table[index as usize] = Bucket { spam, ham };
        }
        if !rest.is_empty() {
            return Err(ModelError::BadEntry(used, "bytes after the last entry"));
        }
        Ok(model)
    }
}

/// LEB128, 7 bits a byte, low first.
fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads one LEB128 u32; `None` when truncated or longer than a u32 holds.
fn take_varint(input: &mut &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for shift in (0..35).step_by(7) {
        let (&b, rest) = input.split_first()?;
        *input = rest;
        let bits = u32::from(b & 0x7f);
        if shift == 28 && bits > 0x0f {
            return None;
        }
        v |= bits << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::Class;

    fn sample() -> Model {
        let mut m = Model::new(1000);
        m.train(&[1, 2, 3, 999_999], Class::Spam);
        m.train(&[2, 5], Class::Ham);
        m
    }

    #[test]
    fn bytes_round_trip() {
        let m = sample();
        let back = Model::from_bytes(&m.to_bytes(), 1 << 20).expect("round trip");
        assert_eq!(back, m);
        assert_eq!(back.to_bytes(), m.to_bytes());
    }

    #[test]
    fn train_then_untrain_gives_the_original_bytes() {
        let m = sample();
        let before = m.to_bytes();
        let mut m2 = m.clone();
        m2.train(&[7, 8, 2], Class::Ham);
        assert_ne!(m2.to_bytes(), before);
        m2.untrain(&[7, 8, 2], Class::Ham);
        assert_eq!(m2.to_bytes(), before);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().to_bytes();
        for n in 0..bytes.len() {
            assert!(
                Model::from_bytes(&bytes[..n], 1 << 20).is_err(),
                "prefix of {n}"
            );
        }
    }

    #[test]
    fn a_flipped_bit_is_a_checksum_error() {
        let bytes = sample().to_bytes();
        for i in 5..bytes.len() - 8 {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            assert_eq!(
                Model::from_bytes(&b, 1 << 20),
                Err(ModelError::BadChecksum),
                "byte {i}"
            );
        }
    }

    #[test]
    fn bad_magic_version_and_size_are_named() {
        let bytes = sample().to_bytes();
        let mut b = bytes.clone();
        b[0] = b'X';
        assert_eq!(Model::from_bytes(&b, 1 << 20), Err(ModelError::BadMagic));
        let mut b = bytes.clone();
        b[4] = 9;
        assert_eq!(
            Model::from_bytes(&b, 1 << 20),
            Err(ModelError::UnsupportedVersion(9))
        );
        assert_eq!(
            Model::from_bytes(&bytes, 10),
            Err(ModelError::BadTableSize(1000))
        );
    }

    #[test]
    fn a_well_checksummed_lie_is_still_refused() {
        // Valid checksum over an entry that points past the table.
        let mut body = Vec::new();
        body.extend_from_slice(MAGIC);
        body.push(VERSION);
        for v in [10u32, 1, 1, 1] {
            body.extend_from_slice(&v.to_le_bytes());
        }
        put_varint(&mut body, 50);
        put_varint(&mut body, 1);
        put_varint(&mut body, 0);
        let sum = fnv1a(&[&body]);
        body.extend_from_slice(&sum.to_le_bytes());
        assert_eq!(
            Model::from_bytes(&body, 1 << 20),
            Err(ModelError::BadEntry(0, "index past the table"))
        );
    }

    #[test]
    fn varints_round_trip_at_the_edges() {
        for v in [0, 1, 127, 128, 16_383, 16_384, u32::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut s = out.as_slice();
            assert_eq!(take_varint(&mut s), Some(v));
            assert!(s.is_empty());
        }
        let mut over: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0x7f];
        assert_eq!(take_varint(&mut over), None);
    }
}
