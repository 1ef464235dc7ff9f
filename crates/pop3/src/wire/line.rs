//! Line framing: finds the next command line in the read buffer without
//! ever holding more than `max_line` bytes of one line. An over-long line
//! is discarded as it arrives and reported once, when its end is seen, so
//! the session answers it with one `-ERR` and stays in step.

/// What the framer found at the front of the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete line of `len` bytes, its LF included.
    Line { len: usize },
    /// The first `consumed` bytes belong to an over-long line whose end has
    /// not arrived yet: drop them and read on.
    Discarding { consumed: usize },
    /// The end of an over-long line: drop `consumed` bytes and answer once.
    TooLong { consumed: usize },
}

/// Splits a byte stream into lines ended by LF (CRLF in practice; a bare
/// LF is accepted, as most servers do, and the CR is trimmed by the parser).
#[derive(Clone, Debug)]
pub struct LineFramer {
    max_line: usize,
    discarding: bool,
}

impl LineFramer {
    /// `max_line` counts the line ending; at least 3 (`X` CR LF).
    pub fn new(max_line: usize) -> LineFramer {
        LineFramer {
            max_line: max_line.max(3),
            discarding: false,
        }
    }

    /// The next frame at the front of `buf`; `None` when more bytes are
    /// needed. The caller drops the bytes a frame covers before calling
    /// again.
    pub fn next(&mut self, buf: &[u8]) -> Option<Frame> {
        if !self.discarding {
            let window = &buf[..buf.len().min(self.max_line)];
            if let Some(i) = window.iter().position(|&b| b == b'\n') {
                return Some(Frame::Line { len: i + 1 });
            }
            if buf.len() < self.max_line {
                return None;
            }
            self.discarding = true;
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.discarding = false;
                Some(Frame::TooLong { consumed: i + 1 })
            }
            None if buf.is_empty() => None,
            None => Some(Frame::Discarding {
                consumed: buf.len(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces split at `cut` and collects what comes out:
    /// lines as text, over-long lines as "<too long>".
    fn frames(max: usize, input: &[u8], cut: usize) -> Vec<String> {
        let mut f = LineFramer::new(max);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for piece in [&input[..cut], &input[cut..]] {
            buf.extend_from_slice(piece);
            while let Some(frame) = f.next(&buf) {
                match frame {
                    Frame::Line { len } => {
                        out.push(String::from_utf8_lossy(&buf[..len]).into_owned());
                        buf.drain(..len);
                    }
                    Frame::Discarding { consumed } => {
                        buf.drain(..consumed);
                    }
                    Frame::TooLong { consumed } => {
                        out.push("<too long>".into());
                        buf.drain(..consumed);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn lines_come_out_whole_at_every_split() {
        let input = b"USER ann\r\nPASS x y\r\nSTAT\nQUIT\r\n";
        for cut in 0..=input.len() {
            assert_eq!(
                frames(64, input, cut),
                ["USER ann\r\n", "PASS x y\r\n", "STAT\n", "QUIT\r\n"],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn an_over_long_line_is_reported_once_and_the_next_line_is_intact() {
        let mut input = b"NOOP\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'A', 100));
        input.extend_from_slice(b"\r\nSTAT\r\n");
        for cut in 0..=input.len() {
            assert_eq!(
                frames(16, &input, cut),
                ["NOOP\r\n", "<too long>", "STAT\r\n"],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn the_limit_counts_the_line_ending() {
        // 14 bytes + CRLF = 16: fits exactly; one more does not.
        assert_eq!(frames(16, b"AAAAAAAAAAAAAA\r\n", 0), ["AAAAAAAAAAAAAA\r\n"]);
        assert_eq!(frames(16, b"AAAAAAAAAAAAAAA\r\n", 0), ["<too long>"]);
    }

    #[test]
    fn a_partial_line_waits_and_holds_at_most_the_limit() {
        let mut f = LineFramer::new(16);
        assert_eq!(f.next(b"USER a"), None);
        assert_eq!(
            f.next(&[b'x'; 40]),
            Some(Frame::Discarding { consumed: 40 })
        );
        assert_eq!(f.next(b""), None);
        assert_eq!(f.next(b"yy\r\nNOOP"), Some(Frame::TooLong { consumed: 4 }));
        assert_eq!(f.next(b"NOOP\r\n"), Some(Frame::Line { len: 6 }));
    }
}
