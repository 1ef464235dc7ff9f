//! mbox in its mboxrd form: a streaming reader and a message writer. The
//! choices made are in the implementation notes of `mailbox_io`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::iter::FusedIterator;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::date::{asctime, parse_separator_date};
use super::{Flags, ImportedMessage, push_crlf, trim_line_end};

/// Opens an mbox for streaming import; fails if the file does not start with
/// a `From ` line.
pub fn read_mbox(path: &Path) -> anyhow::Result<MboxReader> {
    let file = File::open(path).with_context(|| format!("opening mbox {}", path.display()))?;
    MboxReader::new(BufReader::with_capacity(64 * 1024, file), path)
}

/// The messages of an mbox, one at a time. After an error it yields nothing
/// more: a half-read mbox cannot be resynchronised reliably.
pub struct MboxReader<R = BufReader<File>> {
    /// Named in every error, so a failure deep in a large import can be found.
    path: PathBuf,
    input: R,
    /// Reused for every line so an import does not allocate per line.
    line: Vec<u8>,
    /// Number of lines read so far (the current line's number, 1-based).
    line_no: u64,
    message_no: u64,
    /// The `From ` line of the next message, already read; `None` at the end.
    next: Option<Separator>,
    failed: bool,
}

/// What a `From ` line tells about the message it starts.
struct Separator {
    line_no: u64,
    internal_date: Option<i64>,
}

impl<R: BufRead> MboxReader<R> {
    fn new(input: R, path: &Path) -> anyhow::Result<Self> {
        let mut reader = MboxReader {
            path: path.to_owned(),
            input,
            line: Vec::new(),
            line_no: 0,
            message_no: 0,
            next: None,
            failed: false,
        };
        let at = |line_no: u64| format!("{}: reading line {}", path.display(), line_no + 1);
        loop {
            // Decide on the first five bytes, so that a big file that is not
            // an mbox (and may have no line end at all) is not read whole.
            reader.line.clear();
            let mut start = (&mut reader.input).take(5);
            if start
                .read_until(b'\n', &mut reader.line)
                .with_context(|| at(reader.line_no))?
                == 0
            {
                return Ok(reader);
            }
            if reader.line.starts_with(b"From ") {
                let rest = reader.input.read_until(b'\n', &mut reader.line);
                rest.with_context(|| at(reader.line_no))?;
                reader.line_no += 1;
                reader.next = Some(Separator::parse(&reader.line, reader.line_no));
                return Ok(reader);
            }
            reader.line_no += 1;
            if !matches!(reader.line[..], [b'\n'] | [b'\r', b'\n']) {
                bail!(
                    "{}: line {}: not an mbox file: it does not start with a \"From \" line",
                    path.display(),
                    reader.line_no
                );
            }
        }
    }

    /// Reads one line, terminator included, into `self.line`; `false` at the end.
    fn read_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        if self.input.read_until(b'\n', &mut self.line)? == 0 {
            return Ok(false);
        }
        self.line_no += 1;
        Ok(true)
    }
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = anyhow::Result<ImportedMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let separator = self.next.take()?;
        self.message_no += 1;
        let mut content = Vec::new();
        loop {
            match self.read_line() {
                Err(e) => {
                    self.failed = true;
                    let at = format!(
                        "{}: message {} (from line {}): reading line {}",
                        self.path.display(),
                        self.message_no,
                        separator.line_no,
                        self.line_no + 1
                    );
                    return Some(Err(anyhow::Error::new(e).context(at)));
                }
                Ok(false) => break,
                Ok(true) if self.line.starts_with(b"From ") => {
                    self.next = Some(Separator::parse(&self.line, self.line_no));
                    break;
                }
                Ok(true) => {
                    // mboxrd: `>From ` lost its leading `>` when it was written.
                    let quoted = self.line.first() == Some(&b'>') && is_from_line(&self.line);
                    content.extend_from_slice(&self.line[usize::from(quoted)..]);
                }
            }
        }
        Some(Ok(finish_mbox_message(content, separator.internal_date)))
    }
}

impl<R: BufRead> FusedIterator for MboxReader<R> {}

impl Separator {
    fn parse(line: &[u8], line_no: u64) -> Self {
        Separator {
            line_no,
            internal_date: parse_separator_date(line),
        }
    }
}

/// Turns the lines between two separators into a message: drops the mbox's
/// line end, takes the metadata headers out into flags, and converts to CRLF.
fn finish_mbox_message(mut content: Vec<u8>, internal_date: Option<i64>) -> ImportedMessage {
    if content.pop_if(|b| *b == b'\n').is_some() {
        // A CRLF mbox ends its blank separator line with CRLF too.
        let len = content.len();
        if content.ends_with(b"\r") && (len == 1 || content[len - 2] == b'\n') {
            content.pop();
        }
    }
    let mut flags = Flags::default();
    let mut raw = Vec::with_capacity(content.len() + content.len() / 32 + 2);
    let mut in_header = true;
    let mut current: Option<Meta> = None;
    for line in content.split_inclusive(|&b| b == b'\n') {
        if in_header {
            let text = trim_line_end(line);
            let folded = matches!(text.first(), Some(b' ' | b'\t'));
            if text.is_empty() {
                in_header = false;
            } else if folded && let Some(kind) = current {
                flags.apply(kind, text);
                continue;
            } else if let Some((kind, value)) = metadata_header(text) {
                flags.apply(kind, value);
                current = Some(kind);
                continue;
            } else {
                current = None;
            }
        }
        push_crlf(&mut raw, line);
    }
    ImportedMessage {
        raw,
        internal_date,
        flags: flags.into_vec(),
    }
}

/// Appends one message to an mbox in mboxrd form. Write to a `BufWriter`:
/// this writes line by line. An empty or `<>` sender becomes `MAILER-DAEMON`;
/// white space and control characters in it become `_`.
pub fn write_mbox_message<W: Write>(
    out: &mut W,
    raw: &[u8],
    envelope_sender: &str,
    internal_date: i64,
    flags: &[String],
) -> io::Result<()> {
    writeln!(
        out,
        "From {} {}",
        separator_sender(envelope_sender),
        asctime(internal_date)
    )?;
    let mut metadata = metadata_headers(flags);
    let mut in_header = true;
    let mut skipping = false;
    for chunk in raw.split_inclusive(|&b| b == b'\n') {
        let ended = chunk.ends_with(b"\n");
        let text = trim_line_end(chunk);
        if in_header {
            let folded = matches!(text.first(), Some(b' ' | b'\t'));
            if text.is_empty() {
                out.write_all(&metadata)?;
                metadata.clear();
                in_header = false;
            } else if (skipping && folded) || metadata_header(text).is_some() {
                skipping = true;
                continue;
            } else {
                skipping = false;
                if !ended {
                    // The header section ends without a line end: put ours
                    // before its last line rather than add one to the message.
                    out.write_all(&metadata)?;
                    metadata.clear();
                }
            }
        }
        if is_from_line(text) {
            out.write_all(b">")?;
        }
        out.write_all(text)?;
        if ended {
            out.write_all(b"\n")?;
        }
    }
    out.write_all(&metadata)?;
    // The blank separator line, or the end of an unterminated last line.
    out.write_all(b"\n")
}

/// The metadata headers mbox readers keep flags in.
#[derive(Clone, Copy)]
enum Meta {
    Status,
    XStatus,
    XKeywords,
}

/// `Some((kind, value))` if `line` starts a metadata header field.
fn metadata_header(line: &[u8]) -> Option<(Meta, &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    // RFC 5322 §4.5.3 (obsolete syntax) allows white space before the colon.
    let name = line[..colon].trim_ascii_end();
    let kind = if name.eq_ignore_ascii_case(b"status") {
        Meta::Status
    } else if name.eq_ignore_ascii_case(b"x-status") {
        Meta::XStatus
    } else if name.eq_ignore_ascii_case(b"x-keywords") {
        Meta::XKeywords
    } else {
        return None;
    };
    Some((kind, &line[colon + 1..]))
}

/// The `Status`/`X-Status`/`X-Keywords` lines for `flags`, empty if none.
fn metadata_headers(names: &[String]) -> Vec<u8> {
    let mut flags = Flags::from_names(names);
    flags.keywords.retain(|k| !k.contains(','));
    let x_status: String = [
        (flags.answered, 'A'),
        (flags.flagged, 'F'),
        (flags.draft, 'T'),
        (flags.deleted, 'D'),
    ]
    .into_iter()
    .filter_map(|(on, letter)| on.then_some(letter))
    .collect();
    if !flags.seen && x_status.is_empty() && flags.keywords.is_empty() {
        return Vec::new();
    }
    // `O` (old): the message has been seen by a mail client, read or not.
    let mut headers = format!("Status: {}O\n", if flags.seen { "R" } else { "" });
    if !x_status.is_empty() {
        headers += &format!("X-Status: {x_status}\n");
    }
    if !flags.keywords.is_empty() {
        headers += &format!("X-Keywords: {}\n", flags.keywords.join(" "));
    }
    headers.into_bytes()
}

fn separator_sender(sender: &str) -> String {
    let sender = sender.trim();
    let sender = sender
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(sender);
    if sender.is_empty() {
        return "MAILER-DAEMON".to_owned();
    }
    sender
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// mboxrd: a line matching `^>*From `.
fn is_from_line(line: &[u8]) -> bool {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    line[quotes..].starts_with(b"From ")
}

impl Flags {
    fn from_names(names: &[String]) -> Self {
        let mut flags = Flags::default();
        for name in names {
            match name.to_ascii_lowercase().as_str() {
                "\\seen" => flags.seen = true,
                "\\answered" => flags.answered = true,
                "\\flagged" => flags.flagged = true,
                "\\deleted" => flags.deleted = true,
                "\\draft" => flags.draft = true,
                _ => flags.add_keyword(name),
            }
        }
        flags
    }

    /// Reads one metadata header's value (or a continuation line of it).
    fn apply(&mut self, kind: Meta, value: &[u8]) {
        for &letter in value {
            match (kind, letter) {
                (Meta::Status, b'R') => self.seen = true,
                (Meta::XStatus, b'A') => self.answered = true,
                (Meta::XStatus, b'F') => self.flagged = true,
                (Meta::XStatus, b'T') => self.draft = true,
                (Meta::XStatus, b'D') => self.deleted = true,
                _ => {}
            }
        }
        if let Meta::XKeywords = kind {
            let value = String::from_utf8_lossy(value);
            for keyword in value.split(|c: char| c == ',' || c.is_ascii_whitespace()) {
                self.add_keyword(keyword);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn strings(flags: &[&str]) -> Vec<String> {
        flags.iter().map(|f| f.to_string()).collect()
    }

    fn read_all(mbox: &[u8]) -> Vec<ImportedMessage> {
        MboxReader::new(Cursor::new(mbox), Path::new("test.mbox"))
            .expect("a valid mbox opens")
            .collect::<anyhow::Result<_>>()
            .expect("a valid mbox reads")
    }

    fn written(raw: &[u8], sender: &str, date: i64, flags: &[&str]) -> String {
        let mut out = Vec::new();
        write_mbox_message(&mut out, raw, sender, date, &strings(flags))
            .expect("Vec accepts writes");
        String::from_utf8(out).expect("test messages are UTF-8")
    }

    #[test]
    fn write_then_read_gives_back_raw_flags_and_date() {
        let messages: &[&[u8]] = &[
            b"Subject: plain\r\n\r\nHello\r\n",
            b"Subject: quoting\r\n\r\nFrom here\r\n>From there\r\n>>From everywhere\r\nFrom\r\n",
            b"Subject: no final newline\r\n\r\nlast line",
            b"",
            b"Subject: header only\r\n",
            b"Subject: header only, no newline",
            b"Subject: header and blank line\r\n\r\n",
            b"\r\nbody without header\r\n",
            b"Subject: blank lines at the end\r\n\r\nbody\r\n\r\n\r\n",
            b"Subject: lone CR\r\n\r\na\rb\r\nend\r",
            b"Subject: bytes\r\n\r\n\0\xff\xfe\x80 not UTF-8\r\n",
            b"From: alice@example.org\r\n\r\nFrom the header's look-alike\r\n",
            b"Subject: metadata in the body\r\n\r\nStatus: RO\r\nX-Keywords: stays\r\n",
            b"Subject: folded\r\n continued\r\n\r\nbody\r\n",
        ];
        let flag_sets: &[&[&str]] = &[
            &[],
            &["\\Seen"],
            &[
                "\\Answered",
                "\\Flagged",
                "\\Deleted",
                "\\Draft",
                "$Junk",
                "work",
            ],
            &["\\Seen", "\\Draft", "NonJunk"],
        ];
        let dates = [0, 1_700_000_000, -86_401, 253_402_300_799];
        let mut mbox = Vec::new();
        let mut expected = Vec::new();
        for (i, raw) in messages.iter().enumerate() {
            for (j, flags) in flag_sets.iter().enumerate() {
                let date = dates[(i + j) % dates.len()];
                write_mbox_message(&mut mbox, raw, "bob@example.org", date, &strings(flags))
                    .expect("Vec accepts writes");
                expected.push(ImportedMessage {
                    raw: raw.to_vec(),
                    internal_date: Some(date),
                    flags: strings(flags),
                });
            }
        }
        // Reading through a tiny buffer splits every line across reads.
        for capacity in [1, 2, 3, 7, 64 * 1024] {
            let input = BufReader::with_capacity(capacity, Cursor::new(&mbox));
            let reader = MboxReader::new(input, Path::new("t.mbox")).expect("mbox opens");
            let read: Vec<_> = reader.collect::<anyhow::Result<_>>().expect("mbox reads");
            assert_eq!(read.len(), expected.len(), "capacity {capacity}");
            for (got, want) in read.iter().zip(&expected) {
                assert_eq!(
                    got,
                    want,
                    "capacity {capacity}: {:?}",
                    String::from_utf8_lossy(&want.raw)
                );
            }
        }
    }

    #[test]
    fn write_quotes_from_lines_and_appends_metadata_to_the_header() {
        let raw = b"Subject: hi\r\n\r\nFrom me\r\n>From you\r\nnot From\r\n";
        let out = written(raw, "", 0, &["\\Flagged", "\\Seen", "work", "\\Recent"]);
        let want = "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nSubject: hi\n\
                    Status: RO\nX-Status: F\nX-Keywords: work\n\n\
                    >From me\n>>From you\nnot From\n\n";
        assert_eq!(out, want);
    }

    #[test]
    fn write_without_flags_adds_no_metadata_headers() {
        let out = written(
            b"Subject: x\r\n\r\nbody\r\n",
            "alice@example.org",
            1_700_000_000,
            &[],
        );
        assert_eq!(
            out,
            "From alice@example.org Tue Nov 14 22:13:20 2023\nSubject: x\n\nbody\n\n"
        );
    }

    #[test]
    fn write_replaces_metadata_headers_already_in_the_message() {
        let raw = b"Subject: x\r\nStatus: O\r\nX-Keywords: old,\r\n stale\r\nTo: y\r\n\r\nStatus: body\r\n";
        let out = written(raw, "a", 0, &["\\Seen"]);
        assert!(
            out.ends_with("\nSubject: x\nTo: y\nStatus: RO\n\nStatus: body\n\n"),
            "{out}"
        );
    }

    #[test]
    fn write_drops_keywords_that_cannot_be_carried() {
        let out = written(
            b"S: x\r\n\r\n",
            "a",
            0,
            &["a,b", "two words", "ok", "bad\nline"],
        );
        assert!(out.contains("\nStatus: O\nX-Keywords: ok\n\n"), "{out}");
    }

    #[test]
    fn write_cleans_the_envelope_sender() {
        for (sender, want) in [
            ("<>", "MAILER-DAEMON"),
            ("  ", "MAILER-DAEMON"),
            ("<bob@example.org>", "bob@example.org"),
            ("\"a b\"@example.org", "\"a_b\"@example.org"),
            ("evil\nFrom x", "evil_From_x"),
        ] {
            let out = written(b"", sender, 0, &[]);
            assert_eq!(
                out,
                format!("From {want} Thu Jan  1 00:00:00 1970\n\n"),
                "{sender:?}"
            );
        }
    }

    #[test]
    fn read_takes_flags_from_metadata_headers_and_removes_them_from_the_header_only() {
        let mbox = b"From alice@example.org Thu Jan  1 00:00:00 2025\n\
            Subject: a\nStatus: RO\nX-Status: AFT\nx-keywords : $Junk, work\n later\n\
            To: b\n\nStatus: RO stays\nX-Keywords: stays\n\n\
            From bob Thu Jan  1 00:00:01 2025\nStatus: O\nX-Status: D\n\nbody\n\n";
        let read = read_all(mbox);
        assert_eq!(read.len(), 2);
        assert_eq!(
            read[0].raw,
            b"Subject: a\r\nTo: b\r\n\r\nStatus: RO stays\r\nX-Keywords: stays\r\n"
        );
        assert_eq!(
            read[0].flags,
            strings(&[
                "\\Seen",
                "\\Answered",
                "\\Flagged",
                "\\Draft",
                "$Junk",
                "work",
                "later"
            ])
        );
        assert_eq!(read[0].internal_date, Some(1_735_689_600));
        assert_eq!(read[1].raw, b"\r\nbody\r\n");
        assert_eq!(read[1].flags, strings(&["\\Deleted"]));
        assert_eq!(read[1].internal_date, Some(1_735_689_601));
    }

    #[test]
    fn read_unquotes_exactly_one_level() {
        let mbox = b"From a Thu Jan  1 00:00:00 2025\n\nFrom\n>From a\n>>From b\n>Fro\n> From\n\n";
        assert_eq!(
            read_all(mbox)[0].raw,
            b"\r\nFrom\r\nFrom a\r\n>From b\r\n>Fro\r\n> From\r\n"
        );
    }

    #[test]
    fn read_converts_lf_keeps_crlf_and_lone_cr() {
        let mbox = b"From a Thu Jan  1 00:00:00 2025\nA: 1\r\nB: 2\n\nx\ry\n\n";
        assert_eq!(read_all(mbox)[0].raw, b"A: 1\r\nB: 2\r\n\r\nx\ry\r\n");
    }

    #[test]
    fn read_of_a_crlf_mbox_drops_the_crlf_blank_line() {
        let mbox = b"From a Thu Jan  1 00:00:00 2025\r\nS: 1\r\n\r\nbody\r\n\r\nFrom b x\r\n\r\n";
        let read = read_all(mbox);
        assert_eq!(read[0].raw, b"S: 1\r\n\r\nbody\r\n");
        assert_eq!(read[1].raw, b"");
        assert_eq!(read[1].internal_date, None);
    }

    #[test]
    fn read_without_blank_line_before_from_drops_the_last_line_end() {
        // The price of round-tripping messages without a final newline.
        let read = read_all(b"From a Thu Jan  1 00:00:00 2025\nS: 1\n\nx\nFrom b\nS: 2\n\ny\n");
        let raws: Vec<&[u8]> = read.iter().map(|m| m.raw.as_slice()).collect();
        assert_eq!(raws, [b"S: 1\r\n\r\nx".as_slice(), b"S: 2\r\n\r\ny"]);
    }

    #[test]
    fn read_of_an_empty_file_or_blank_lines_yields_no_message() {
        assert!(read_all(b"").is_empty());
        assert!(read_all(b"\n\r\n\n").is_empty());
    }

    #[test]
    fn read_refuses_a_file_not_starting_with_from_naming_file_and_line() {
        for input in [
            b"\nSubject: hi\n\nFrom a b\n".as_slice(),
            b"\0\0\0",
            b"From:x\n",
        ] {
            let err = MboxReader::new(Cursor::new(input), Path::new("/x/in.mbox"))
                .err()
                .expect("not an mbox");
            let text = format!("{err:#}");
            assert!(text.starts_with("/x/in.mbox: line "), "{text}");
            assert!(text.contains("not an mbox file"), "{text}");
        }
    }

    #[test]
    fn read_refuses_an_endless_non_mbox_without_reading_it_all() {
        let input = BufReader::new(io::repeat(b'x'));
        let err = MboxReader::new(input, Path::new("disk.img"))
            .err()
            .expect("not an mbox");
        assert!(format!("{err:#}").starts_with("disk.img: line 1: not an mbox file"));
    }

    #[test]
    fn read_copes_with_nul_invalid_utf8_and_very_long_lines() {
        let mut mbox = b"From \xff\0 Thu Jan  1 00:00:00 2025\nS: \xc3\x28\0\n\n".to_vec();
        let long = vec![b'x'; 3 << 20];
        mbox.extend_from_slice(&long);
        let read = read_all(&mbox);
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].internal_date, Some(1_735_689_600));
        assert!(read[0].raw.starts_with(b"S: \xc3\x28\0\r\n\r\nxxx"));
        assert_eq!(read[0].raw.len(), 10 + long.len());
    }

    /// Gives `ok` bytes, then fails every read.
    struct FailAfter {
        data: Cursor<Vec<u8>>,
        ok: u64,
    }

    impl Read for FailAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.data.position() >= self.ok {
                return Err(io::Error::other("disk on fire"));
            }
            let room = usize::try_from(self.ok - self.data.position()).expect("small test");
            let len = buf.len().min(room);
            self.data.read(&mut buf[..len])
        }
    }

    #[test]
    fn read_error_names_file_and_message_then_iteration_ends() {
        let mbox = b"From a Thu Jan  1 00:00:00 2025\nS: 1\n\nFrom b\nS: 2\n\nbody\n".to_vec();
        let input = BufReader::with_capacity(
            4,
            FailAfter {
                data: Cursor::new(mbox),
                ok: 50,
            },
        );
        let mut reader = MboxReader::new(input, Path::new("big.mbox")).expect("first line reads");
        assert!(reader.next().expect("first message").is_ok());
        let err = reader
            .next()
            .expect("an error item")
            .expect_err("the read fails");
        let text = format!("{err:#}");
        assert!(
            text.starts_with("big.mbox: message 2 (from line 4): reading line 6"),
            "{text}"
        );
        assert!(text.ends_with("disk on fire"), "{text}");
        assert!(reader.next().is_none());
        assert!(reader.next().is_none());
    }

    #[test]
    fn read_mbox_names_a_missing_file() {
        let err = read_mbox(Path::new("/nonexistent/inbox.mbox"))
            .err()
            .expect("no such file");
        assert!(format!("{err:#}").starts_with("opening mbox /nonexistent/inbox.mbox: "));
    }

    #[test]
    fn read_mbox_streams_messages_from_a_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("inbox.mbox");
        let mut out = io::BufWriter::new(File::create(&path).expect("create mbox"));
        for i in 0..100 {
            let raw = format!("Subject: {i}\r\n\r\nFrom {i}\r\n");
            write_mbox_message(&mut out, raw.as_bytes(), "a", i, &[]).expect("write mbox");
        }
        out.into_inner().expect("flush mbox");
        let read: Vec<_> = read_mbox(&path)
            .expect("open")
            .collect::<anyhow::Result<_>>()
            .expect("read");
        assert_eq!(read.len(), 100);
        assert_eq!(read[42].raw, b"Subject: 42\r\n\r\nFrom 42\r\n");
        assert_eq!(read[42].internal_date, Some(42));
    }
}
