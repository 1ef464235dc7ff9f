//! COMPRESS=DEFLATE (RFC 4978): raw DEFLATE (RFC 1951) both ways.
//!
//! The inflate side keeps the compressed bytes it has not yet turned into
//! commands and hands out decompressed bytes in bounded portions, so a small
//! compressed read cannot blow up into megabytes of buffered input, and so
//! the driver can tell when commands are still waiting inside the
//! decompressor. That last point is the one that matters: a client that
//! pipelines a batch of commands sends them in one compressed chunk and then
//! waits for the answers; if the driver stopped inflating when the socket
//! input was used up, the commands still held in the decompressor would come
//! out only at the next socket read, which never comes (mbsync's sync hung
//! exactly so). [`Deflate::has_pending`] says whether to inflate again before
//! reading the socket.
//!
//! The deflate side ends every batch of responses with a sync flush
//! (RFC 4978 §4: the client must be able to decode each response at once).

use std::io;

/// One connection's compression state, allocated only when a client asks.
pub(crate) struct Deflate {
    inflate: flate2::Decompress,
    deflate: flate2::Compress,
    /// Compressed input read from the socket and not yet consumed by the
    /// decompressor.
    input: Vec<u8>,
    /// The decompressor may still hold output, or has input it can use:
    /// inflate again before waiting on the socket.
    pending: bool,
}

impl Deflate {
    pub(crate) fn new() -> Box<Deflate> {
        Box::new(Deflate {
            inflate: flate2::Decompress::new(false),
            deflate: flate2::Compress::new(flate2::Compression::fast(), false),
            input: Vec::new(),
            pending: false,
        })
    }

    /// Takes compressed bytes read from the socket.
    pub(crate) fn feed(&mut self, compressed: &[u8]) {
        self.input.extend_from_slice(compressed);
        self.pending = true;
    }

    /// Whether decompressed bytes may still be had without reading the
    /// socket.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending
    }

    /// Inflates at most `max` bytes onto the end of `buf`. Afterwards
    /// [`Deflate::has_pending`] says whether more may follow at once.
    pub(crate) fn inflate_into(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<()> {
        let start = buf.len();
        let mut filled = start;
        buf.resize(start + max, 0);
        let result = loop {
            let (before_in, before_out) = (self.inflate.total_in(), self.inflate.total_out());
            if let Err(e) = self.inflate.decompress(
                &self.input,
                &mut buf[filled..],
                flate2::FlushDecompress::Sync,
            ) {
                break Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            let used = (self.inflate.total_in() - before_in) as usize;
            let produced = (self.inflate.total_out() - before_out) as usize;
            self.input.drain(..used.min(self.input.len()));
            filled += produced;
            if filled == buf.len() {
                // Out of room: the decompressor may hold more.
                self.pending = true;
                break Ok(());
            }
            if used == 0 && produced == 0 {
                // It needs more compressed input than there is.
                self.pending = false;
                break Ok(());
            }
        };
        buf.truncate(filled);
        if self.input.is_empty() && self.input.capacity() > 64 * 1024 {
            self.input = Vec::new();
        }
        result
    }

    /// Deflates `out`, ending with a sync flush.
    pub(crate) fn deflate(&mut self, out: &[u8]) -> io::Result<Vec<u8>> {
        let mut z = Vec::with_capacity(out.len() / 2 + 64);
        let mut input = out;
        loop {
            z.reserve(input.len() + 64);
            let before = self.deflate.total_in();
            self.deflate
                .compress_vec(input, &mut z, flate2::FlushCompress::Sync)
                .map_err(io::Error::other)?;
            let used = (self.deflate.total_in() - before) as usize;
            input = &input[used.min(input.len())..];
            // Spare room after a sync flush means the flush is complete.
            if input.is_empty() && z.len() < z.capacity() {
                return Ok(z);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a client sends: `plain` compressed with a sync flush at each of
    /// `flushes` (byte offsets), as one stream.
    fn client_stream(plain: &[u8], flushes: &[usize]) -> Vec<u8> {
        let mut c = flate2::Compress::new(flate2::Compression::default(), false);
        let mut z = Vec::new();
        let mut at = 0;
        let mut cuts: Vec<usize> = flushes.iter().map(|&f| f.min(plain.len())).collect();
        cuts.sort_unstable();
        cuts.push(plain.len());
        for cut in cuts {
            let mut input = &plain[at..cut];
            loop {
                z.reserve(input.len() + 1024);
                let before = c.total_in();
                c.compress_vec(input, &mut z, flate2::FlushCompress::Sync)
                    .expect("compress");
                input = &input[(c.total_in() - before) as usize..];
                if input.is_empty() && z.len() < z.capacity() {
                    break;
                }
            }
            at = cut;
        }
        z
    }

    /// Feeds `z` in reads split at `splits`, inflating the way the driver
    /// does: in portions of `max` until nothing is pending, before each
    /// next read.
    fn server_reads(z: &[u8], splits: &[usize], max: usize) -> Vec<u8> {
        let mut d = Deflate::new();
        let mut buf = Vec::new();
        let mut cuts: Vec<usize> = splits.iter().map(|&s| s.min(z.len())).collect();
        cuts.sort_unstable();
        cuts.push(z.len());
        let mut at = 0;
        for cut in cuts {
            d.feed(&z[at..cut]);
            at = cut;
            let mut rounds = 0;
            while d.has_pending() {
                d.inflate_into(&mut buf, max).expect("inflate");
                rounds += 1;
                assert!(rounds < 1_000_000, "inflate never settles");
            }
        }
        buf
    }

    fn commands(n: usize) -> Vec<u8> {
        (1..=n)
            .flat_map(|i| {
                format!("a{i} UID FETCH {i}:* (FLAGS BODY.PEEK[HEADER])\r\n").into_bytes()
            })
            .collect()
    }

    #[test]
    fn sixty_pipelined_commands_in_one_chunk_all_come_out_without_another_read() {
        let plain = commands(60);
        let z = client_stream(&plain, &[]);
        // One read holds the whole chunk; small portions force several
        // rounds, as a full read buffer did when the batch hung.
        assert_eq!(server_reads(&z, &[], 1024), plain);
        assert_eq!(server_reads(&z, &[], 16 * 1024), plain);
    }

    #[test]
    fn a_repetitive_append_literal_inflates_in_bounded_portions() {
        let mut plain = b"A1 APPEND INBOX {10240+}\r\n".to_vec();
        plain.extend(std::iter::repeat_n(b'x', 10_240));
        plain.extend_from_slice(b"\r\nA2 NOOP\r\n");
        let z = client_stream(&plain, &[]);
        assert!(z.len() < 200, "the test needs a high ratio");
        let mut d = Deflate::new();
        d.feed(&z);
        let mut buf = Vec::new();
        d.inflate_into(&mut buf, 1024).expect("inflate");
        assert_eq!(buf.len(), 1024, "one portion at most");
        assert!(d.has_pending());
        while d.has_pending() {
            d.inflate_into(&mut buf, 1024).expect("inflate");
        }
        assert_eq!(buf, plain);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut d = Deflate::new();
        d.feed(&[0xff; 64]);
        let mut buf = Vec::new();
        assert!(d.inflate_into(&mut buf, 1024).is_err());
    }

    #[test]
    fn responses_round_trip_through_the_sync_flushed_deflate() {
        let mut d = Deflate::new();
        let mut inflate = flate2::Decompress::new(false);
        for batch in [commands(3), commands(200), b"* OK\r\n".to_vec()] {
            let z = d.deflate(&batch).expect("deflate");
            let mut plain = Vec::with_capacity(batch.len() + 64);
            inflate
                .decompress_vec(&z, &mut plain, flate2::FlushDecompress::Sync)
                .expect("inflate");
            // Each batch decodes whole by itself: nothing waits for more.
            assert_eq!(plain, batch);
        }
    }

    proptest! {
        #[test]
        fn any_split_of_a_compressed_command_stream_yields_the_plain_stream(
            n in 1usize..80,
            flushes in proptest::collection::vec(0usize..6000, 0..8),
            splits in proptest::collection::vec(0usize..3000, 0..12),
            max in 1usize..5000,
        ) {
            let plain = commands(n);
            let z = client_stream(&plain, &flushes);
            prop_assert_eq!(server_reads(&z, &splits, max), plain);
        }
    }
}
