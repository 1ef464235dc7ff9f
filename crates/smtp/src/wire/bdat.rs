//! BDAT chunk counting (RFC 3030 §2): after `BDAT <size>` exactly `size`
//! octets of message follow, with no dot-stuffing and no end marker; the
//! next command starts right after them.

/// Counts the octets of one BDAT chunk as they arrive.
#[derive(Clone, Debug)]
pub struct ChunkReader {
    /// Octets of the chunk not read yet.
    remaining: u64,
}

impl ChunkReader {
    /// A reader for a chunk of `size` octets (the argument of BDAT).
    pub fn new(size: u64) -> Self {
        ChunkReader { remaining: size }
    }

    /// Takes the chunk's bytes from the front of `input`: returns them (the
    /// caller consumes exactly that many) and whether the chunk is now
    /// complete. Bytes past the chunk are left for the command framer. A
    /// chunk of size 0 is complete at once (RFC 3030 §2: `BDAT 0 LAST`).
    pub fn feed<'a>(&mut self, input: &'a [u8]) -> (&'a [u8], bool) {
        let take = usize::try_from(self.remaining).map_or(input.len(), |r| r.min(input.len()));
        let (chunk, _) = input.split_at_checked(take).unwrap_or((input, &[]));
        self.remaining = self
            .remaining
            .saturating_sub(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
        (chunk, self.remaining == 0)
    }

    /// Octets still to come.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` in order; returns the chunk bytes taken, whether it
    /// completed, and the bytes left over.
    fn drive(size: u64, chunks: &[&[u8]]) -> (Vec<u8>, bool, Vec<u8>) {
        let mut reader = ChunkReader::new(size);
        let mut taken = Vec::new();
        let mut rest = Vec::new();
        let mut done = size == 0;
        for chunk in chunks {
            if done {
                rest.extend_from_slice(chunk);
                continue;
            }
            let (got, complete) = reader.feed(chunk);
            assert!(got.len() <= chunk.len());
            assert_eq!(chunk.get(..got.len()), Some(got), "a prefix of the input");
            taken.extend_from_slice(got);
            rest.extend_from_slice(chunk.get(got.len()..).unwrap_or_default());
            done = complete;
            assert_eq!(reader.remaining(), size - taken.len() as u64);
        }
        (taken, done, rest)
    }

    #[test]
    fn chunk_table() {
        // RFC 3030 §4.1-style exchange: the chunk, then the next command.
        // (chunk size, input, chunk bytes, complete, bytes left over)
        type Case = (u64, &'static [u8], &'static [u8], bool, &'static [u8]);
        let cases: Vec<Case> = vec![
            (0, b"", b"", true, b""),
            (0, b"QUIT\r\n", b"", true, b"QUIT\r\n"),
            (5, b"", b"", false, b""),
            (5, b"abc", b"abc", false, b""),
            (5, b"abcde", b"abcde", true, b""),
            (5, b"abcdeQUIT\r\n", b"abcde", true, b"QUIT\r\n"),
            // No dot-stuffing, no end marker: these are plain octets.
            (
                7,
                b"\r\n.\r\n..BDAT 1 LAST\r\n",
                b"\r\n.\r\n..",
                true,
                b"BDAT 1 LAST\r\n",
            ),
            (3, b"\0\xff\n", b"\0\xff\n", true, b""),
            (u64::MAX, b"abc", b"abc", false, b""),
        ];
        for (size, input, want, complete, rest) in cases {
            for at in 0..=input.len() {
                let (a, b) = input.split_at(at);
                let got = drive(size, &[a, b]);
                assert_eq!(
                    got,
                    (want.to_vec(), complete, rest.to_vec()),
                    "{size} {input:?} split at {at}"
                );
            }
        }
    }

    #[test]
    fn feeding_a_complete_chunk_takes_nothing() {
        let mut reader = ChunkReader::new(2);
        assert_eq!(reader.feed(b"ab"), (&b"ab"[..], true));
        assert_eq!(reader.feed(b"cd"), (&b""[..], true));
        assert_eq!(reader.remaining(), 0);
    }
}
