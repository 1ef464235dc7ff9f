//! Wording rules, as SpamAssassin's body tests read a message: the stock
//! phrases of bulk sales pitches (several of them, never one alone), a body
//! written mostly in capitals, an HTML body that is a picture fetched
//! from the web with hardly any text, text in bytes its declared charset
//! cannot decode, a word of random letters, and a text that ends with a
//! tracking code.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, Input, MatchKind};
use memchr::memmem;

use super::Hit;
use crate::config::SpamConfig;
use crate::message::MessageView;

/// Phrases of mass-mailed sales pitches and their opt-out boilerplate,
/// lowercase, matched on the decoded text with whitespace runs folded to
/// one space. Each is one that personal mail and mailing-list discussion
/// seldom contain; a message must have several before the rule fires.
const PITCH_PHRASES: &[&str] = &[
    "100% free",
    "100% guaranteed",
    "100% satisfaction",
    "act now",
    "apply now",
    "as seen on",
    "call now",
    "call toll free",
    "click below",
    "dear friend",
    "dear sir or madam",
    "dear sir/madam",
    "don't delete",
    "extra income",
    "financial freedom",
    "found your email",
    "free consultation",
    "free gift",
    "free of charge",
    "free quote",
    "got your email",
    "home based business",
    "limited time",
    "lowest rates",
    "million dollars",
    "money back",
    "no cost",
    "no obligation",
    "not spam",
    "obtained your email",
    "one time mailing",
    "order now",
    "order today",
    "removal instructions",
    "remove in the subject",
    "risk free",
    "risk-free",
    "satisfaction guaranteed",
    "special promotion",
    "this is not spam",
    "to be removed",
    "while supplies last",
    "work from home",
    "you have been selected",
    "your email address was",
];

/// One automaton over every phrase, built once: a message's text is read
/// once for all of them (the phrase-by-phrase scan was the filter's
/// largest cost). Leftmost-longest lets the automaton use its SIMD
/// prefilter; since no phrase begins another (a test says so), searching
/// again from one byte after each match start finds every occurrence of
/// every phrase, overlapping ones included.
static PITCH: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(PITCH_PHRASES)
        .expect("the phrase list is a valid automaton")
});

/// What one pass over a message's text counts.
#[derive(Default)]
struct Tally {
    /// Indexes into [`PITCH_PHRASES`], each once.
    phrases: Vec<usize>,
    letters: usize,
    upper: usize,
    /// Characters that are not whitespace.
    shown: usize,
    /// U+FFFD: bytes that did not decode in the charset the part declared
    /// (UTF-8 where it named none: 8-bit text sent without saying what it is).
    undecodable: usize,
    /// Other characters outside ASCII.
    non_ascii: usize,
    /// The first word of [`RANDOM_WORD_LETTERS`]+ lowercase letters alone.
    random_word: Option<String>,
}

/// Letters of a word that only a machine writes: no English word is this
/// long, and words run together or random letters (hash busters, added so
/// that no two copies of a message are alike) are.
const RANDOM_WORD_LETTERS: usize = 25;

/// A word read character by character: what [`random_word`] decides on
/// a word of bytes.
#[derive(Default)]
struct WordScan {
    /// Where it starts in the folded text.
    start: usize,
    /// Characters read.
    len: usize,
    /// A character other than a lowercase ASCII letter (or one final `.`/`,`).
    bad: bool,
    /// It ends in `.` or `,` so far.
    punct: bool,
}

impl WordScan {
    fn push(&mut self, c: char) {
        self.len += 1;
        if self.punct {
            self.bad = true;
        }
        if c == '.' || c == ',' {
            self.punct = true;
        } else if !c.is_ascii_lowercase() {
            self.bad = true;
        }
    }
}

/// `word` (punctuation around it trimmed) is [`RANDOM_WORD_LETTERS`] or
/// more lowercase ASCII letters and nothing else: not a URL, an address or
/// a path, which hold other characters.
fn random_word(word: &[u8]) -> bool {
    if word.len() < RANDOM_WORD_LETTERS {
        return false;
    }
    let w = word
        .strip_suffix(b".")
        .or_else(|| word.strip_suffix(b","))
        .unwrap_or(word);
    w.len() >= RANDOM_WORD_LETTERS && w.iter().all(u8::is_ascii_lowercase)
}

/// A byte of ASCII text folded for the phrase search: whitespace (vertical
/// tab included, as `char::is_whitespace` has it) to a space, capitals to
/// small letters; by arithmetic, not a table, so the compiler vectorises.
fn fold_byte(b: u8) -> u8 {
    if b == b' ' || b.wrapping_sub(b'\t') < 5 {
        b' '
    } else if b.wrapping_sub(b'A') < 26 {
        b | 0x20
    } else {
        b
    }
}

/// How many bytes of ASCII `text` are not whitespace, are letters, and
/// are capitals (whitespace as `char::is_whitespace` has it, vertical tab
/// included), by arithmetic rather than a table, so the loop is vectorised.
fn ascii_classes(text: &[u8]) -> [usize; 3] {
    let mut n = [0usize; 3];
    // 255 bytes at most per chunk: the per-chunk counts fit a byte.
    for chunk in text.chunks(255) {
        let (mut shown, mut letters, mut upper) = (0u8, 0u8, 0u8);
        for &b in chunk {
            let white = b == b' ' || b.wrapping_sub(b'\t') < 5;
            shown += u8::from(!white);
            letters += u8::from((b | 0x20).wrapping_sub(b'a') < 26);
            upper += u8::from(b.wrapping_sub(b'A') < 26);
        }
        n[0] += usize::from(shown);
        n[1] += usize::from(letters);
        n[2] += usize::from(upper);
    }
    n
}

/// The first word of `text` (split at whitespace) that [`random_word`]
/// accepts; `folded` is `text` byte for byte through [`fold_byte`], where
/// whitespace is a space.
fn first_random_word(text: &[u8], folded: &[u8]) -> Option<String> {
    // A run of RANDOM_WORD_LETTERS (25) bytes without a space holds a
    // whole aligned block of 8: only around such blocks is a word read.
    const SPACES: u64 = u64::from_ne_bytes([b' '; 8]);
    const LOW: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut skip_to = 0;
    for (k, block) in folded.chunks_exact(8).enumerate() {
        let at = k * 8;
        if at < skip_to {
            continue;
        }
        let word = u64::from_ne_bytes(block.try_into().expect("chunks of 8"));
        // The classic "has a zero byte" test on the block XOR spaces: its
        // bytes are ASCII, so no false positive.
        let x = word ^ SPACES;
        if x.wrapping_sub(LOW) & !x & HIGH != 0 {
            continue;
        }
        let start = folded[..at]
            .iter()
            .rposition(|&b| b == b' ')
            .map_or(0, |i| i + 1);
        let end = folded[at..]
            .iter()
            .position(|&b| b == b' ')
            .map_or(folded.len(), |i| at + i);
        skip_to = end;
        if end - start >= RANDOM_WORD_LETTERS && random_word(&text[start..end]) {
            return Some(String::from_utf8_lossy(&text[start..end]).into_owned());
        }
    }
    None
}

/// `v[from..]` with every run of spaces made one space and none at
/// either end.
fn squeeze_spaces(v: &mut Vec<u8>, from: usize) {
    // Runs of two spaces or more (a CRLF, a blank line) are found by a
    // vectorised search and the text between them moved down whole: a
    // byte-by-byte squeeze was most of the wording rules' cost.
    static RUN: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"  "));
    let mut r = v[from..]
        .iter()
        .position(|&b| b != b' ')
        .map_or(v.len(), |i| from + i);
    let mut w = from;
    while r < v.len() {
        // Up to and with the first space of the next run.
        let end = RUN.find(&v[r..]).map_or(v.len(), |k| r + k + 1);
        if w != r {
            v.copy_within(r..end, w);
        }
        w += end - r;
        r = end;
        while r < v.len() && v[r] == b' ' {
            r += 1;
        }
    }
    if w > from && v[w - 1] == b' ' {
        w -= 1;
    }
    v.truncate(w);
}

impl Tally {
    /// Counts `text` and looks for the phrases in it, lowercased with
    /// every whitespace run made one space (so a phrase matches across
    /// line breaks); `folded` is a reused buffer.
    fn read(&mut self, text: &str, folded: &mut Vec<u8>) {
        folded.clear();
        if text.is_ascii() {
            self.fold_ascii(text.as_bytes(), folded);
        } else {
            self.fold_chars(text, folded);
        }
        let mut at = 0;
        while let Some(m) = PITCH.find(Input::new(folded.as_slice()).span(at..folded.len())) {
            let i = m.pattern().as_usize();
            if !self.phrases.contains(&i) {
                self.phrases.push(i);
            }
            // Phrases are ASCII: one byte on is a character boundary.
            at = m.start() + 1;
        }
    }

    /// Most mail text is ASCII: bytes are characters, and the Unicode
    /// tables need not be consulted per character.
    fn fold_ascii(&mut self, text: &[u8], out: &mut Vec<u8>) {
        // Passes the compiler vectorises, then one short scalar one: the
        // counts; every byte folded in place (whitespace to a space,
        // capitals to small letters), so positions still match `text`;
        // the long words found from there; and last the whitespace runs
        // squeezed to one space, none at either end.
        let [shown, letters, upper] = ascii_classes(text);
        self.shown += shown;
        self.letters += letters;
        self.upper += upper;
        let from = out.len();
        out.extend(text.iter().map(|&b| fold_byte(b)));
        if self.random_word.is_none() {
            self.random_word = first_random_word(text, &out[from..]);
        }
        squeeze_spaces(out, from);
    }

    /// The folded text is bytes, UTF-8 here: the phrases are ASCII, so a
    /// match can only start on a character's first byte.
    fn fold_chars(&mut self, text: &str, folded: &mut Vec<u8>) {
        let mut space = false;
        // The word being read, checked for RANDOM_WORD as it ends (in this
        // same pass: text outside ASCII is the slow path already).
        let mut word = WordScan::default();
        for c in text.chars() {
            if c == char::REPLACEMENT_CHARACTER {
                self.undecodable += 1;
            } else if !c.is_ascii() {
                self.non_ascii += 1;
            }
            if c.is_whitespace() {
                self.end_word(&std::mem::take(&mut word), folded);
                space = !folded.is_empty();
                continue;
            }
            self.shown += 1;
            if c.is_alphabetic() {
                self.letters += 1;
                self.upper += usize::from(c.is_uppercase());
            }
            if std::mem::take(&mut space) {
                folded.push(b' ');
            }
            if word.len == 0 {
                word.start = folded.len();
            }
            word.push(c);
            for l in c.to_lowercase() {
                folded.extend_from_slice(l.encode_utf8(&mut [0; 4]).as_bytes());
            }
        }
        self.end_word(&word, folded);
    }

    /// Keeps `word` as the random word if it is one: its folded form is
    /// its own text, since it is lowercase ASCII.
    fn end_word(&mut self, word: &WordScan, folded: &[u8]) {
        let letters = word.len - usize::from(word.punct);
        if self.random_word.is_none() && !word.bad && letters >= RANDOM_WORD_LETTERS {
            self.random_word = folded
                .get(word.start..word.start + letters)
                .map(|w| String::from_utf8_lossy(w).into_owned());
        }
    }
}

/// The last line of `text` when it is one code of letters and digits
/// mixed (`xay1992361y`, `7602iVSS8-080l12`): bulk mailers end each copy
/// with the recipient's tracking number; people end with a name.
fn tracking_code(text: &str) -> Option<&str> {
    let last = text.trim_end().rsplit('\n').next()?.trim();
    let seps = last.bytes().filter(|b| matches!(b, b'-' | b'_')).count();
    ((5..=30).contains(&last.len())
        && seps <= 1
        && last
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        && last.bytes().any(|b| b.is_ascii_digit())
        // A letter beyond hex: a commit id or a checksum alone on the last
        // line is a developer's, not a tracking number.
        && last
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && !b.is_ascii_hexdigit()))
    .then_some(last)
}

/// Every wording rule that fires on `view`.
pub fn hits(view: &MessageView, config: &SpamConfig) -> Vec<Hit> {
    let mut out = Vec::new();
    let mut tally = Tally::default();
    // Whitespace runs made one space, so a phrase matches across line
    // breaks; case is left to the automaton (the phrases are ASCII).
    let mut folded = Vec::new();
    for t in view
        .plain
        .iter()
        .map(String::as_str)
        .chain(view.html.iter().map(|h| h.text.as_str()))
    {
        tally.read(t, &mut folded);
    }
    if tally.phrases.len() >= config.pitch_min_phrases {
        tally.phrases.sort_unstable();
        let found: Vec<&str> = tally.phrases.iter().map(|&i| PITCH_PHRASES[i]).collect();
        out.push(Hit::new("PITCH_PHRASES", &found.join(", ")));
    }
    let (upper, letters) = (tally.upper, tally.letters);
    if letters >= config.body_caps_min_letters && upper * 100 >= letters * config.body_caps_percent
    {
        out.push(Hit::new(
            "BODY_MOSTLY_CAPS",
            &format!("{}% of {letters} letters", upper * 100 / letters),
        ));
    }
    // Text labelled US-ASCII cannot hold other characters: those it shows
    // were 8-bit bytes sent under the wrong label (read as Latin-1).
    let labels = view.charset.iter().chain(&view.text_charsets);
    let mut labelled_ascii = false;
    for l in labels {
        if l != "us-ascii" && l != "ascii" {
            labelled_ascii = false;
            break;
        }
        labelled_ascii = true;
    }
    let undecodable = tally.undecodable + if labelled_ascii { tally.non_ascii } else { 0 };
    if undecodable >= config.undecodable_min_chars {
        out.push(Hit::new(
            "TEXT_UNDECODABLE",
            &format!("{undecodable} chars"),
        ));
    }
    if let Some(w) = &tally.random_word {
        out.push(Hit::new("RANDOM_WORD", w));
    }
    if let Some(code) = view.plain.iter().find_map(|t| tracking_code(t)) {
        out.push(Hit::new("TRACKING_CODE_END", code));
    }
    let images: usize = view.html.iter().map(|h| h.remote_images).sum();
    if images > 0 && tally.shown < config.image_text_max_chars {
        out.push(Hit::new(
            "HTML_IMAGE_LITTLE_TEXT",
            &format!("{images} images, {} chars", tally.shown),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "From: Ann <ann@example.org>\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\n\
Message-ID: <1@example.org>\r\nSubject: Hello\r\n";

    fn fired(body: &str) -> Vec<&'static str> {
        super::super::fired(hits, &format!("{HEAD}\r\n{body}\r\n"))
    }

    #[test]
    fn no_phrase_begins_another_so_every_occurrence_is_found() {
        for a in PITCH_PHRASES {
            for b in PITCH_PHRASES {
                assert!(a == b || !b.starts_with(a), "{a:?} begins {b:?}");
            }
        }
        // Overlapping and nested occurrences all count.
        let mut t = Tally::default();
        t.read(
            "THIS IS\r\nNOT SPAM, it is risk free of charge",
            &mut Vec::new(),
        );
        t.phrases.sort_unstable();
        let found: Vec<&str> = t.phrases.iter().map(|&i| PITCH_PHRASES[i]).collect();
        assert_eq!(
            found,
            [
                "free of charge",
                "not spam",
                "risk free",
                "this is not spam"
            ]
        );
        assert_eq!((t.letters, t.upper, t.shown), (33, 13, 34));
    }

    #[test]
    fn ascii_and_unicode_text_tally_alike() {
        let ascii = "Dear Friend,\tACT\x0bNOW: 100% FREE!";
        let (mut a, mut u) = (Tally::default(), Tally::default());
        let (mut fa, mut fu) = (Vec::new(), Vec::new());
        a.fold_ascii(ascii.as_bytes(), &mut fa);
        u.fold_chars(ascii, &mut fu);
        assert_eq!(fa, fu);
        assert_eq!(fa, b"dear friend, act now: 100% free!");
        assert_eq!((a.letters, a.upper, a.shown), (u.letters, u.upper, u.shown));
    }

    #[test]
    fn fold_byte_makes_whitespace_a_space_and_capitals_small() {
        for b in 0..=255u8 {
            let want = if char::from(b).is_whitespace() && b < 0x80 {
                b' '
            } else {
                b.to_ascii_lowercase()
            };
            assert_eq!(fold_byte(b), want, "{b}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_ascii_fold_reads_any_ascii_text_as_the_char_fold_does(
            text in "([a-z]{0,40}|[A-Z ,.\t\r\n\x0b]{0,6}|[ -~]{0,12}){0,12}"
        ) {
            let (mut a, mut u) = (Tally::default(), Tally::default());
            let (mut fa, mut fu) = (Vec::new(), Vec::new());
            a.fold_ascii(text.as_bytes(), &mut fa);
            u.fold_chars(&text, &mut fu);
            proptest::prop_assert_eq!(&fa, &fu);
            proptest::prop_assert_eq!((a.letters, a.upper, a.shown), (u.letters, u.upper, u.shown));
            // The random word: the first whitespace-separated one that is one.
            let first = text
                .as_bytes()
                .split(|&b| fold_byte(b) == b' ')
                .find(|w| random_word(w))
                .map(|w| String::from_utf8_lossy(w).into_owned());
            proptest::prop_assert_eq!(a.random_word, first);
        }
    }

    #[test]
    fn a_pitch_needs_several_phrases() {
        let pitch = "Order now, it is 100% FREE!\r\nTo be\r\nremoved, reply.";
        assert_eq!(fired(pitch), ["PITCH_PHRASES"]);
        // One phrase alone is ordinary speech.
        assert_eq!(fired("We should act now on the patch."), Vec::<&str>::new());
    }

    #[test]
    fn a_body_in_capitals_fires_and_a_shouted_line_does_not() {
        let caps = "EARN EXTRA CASH FROM YOUR KITCHEN TABLE. ".repeat(10);
        assert_eq!(fired(&caps), ["BODY_MOSTLY_CAPS"]);
        let one_line = format!(
            "IMPORTANT NOTICE\r\n{}",
            "the meeting moved to Thursday at noon. ".repeat(10)
        );
        assert_eq!(fired(&one_line), Vec::<&str>::new());
    }

    #[test]
    fn a_remote_image_with_little_text_fires() {
        let html = |body: &str| {
            format!("{HEAD}Content-Type: text/html\r\n\r\n<html><body>{body}</body></html>\r\n")
        };
        let pic =
            html("<a href=\"http://x.example/\"><img src=\"http://x.example/offer.gif\"></a>");
        assert_eq!(super::super::fired(hits, &pic), ["HTML_IMAGE_LITTLE_TEXT"]);
        let letter = html(&format!(
            "<img src=\"http://x.example/logo.gif\"><p>{}</p>",
            "Minutes of the last board meeting follow. ".repeat(10)
        ));
        assert_eq!(super::super::fired(hits, &letter), Vec::<&str>::new());
    }

    #[test]
    fn eight_bit_text_under_an_ascii_label_is_undecodable() {
        let mut raw = format!(
            "{HEAD}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=US-ASCII\r\n\r\n"
        )
        .into_bytes();
        raw.extend([0xe0, 0xa1, 0xc3, 0xd2, 0xb4].repeat(4));
        let view = MessageView::parse(&raw, &crate::config::ReadLimits::default());
        let fired: Vec<&str> = hits(&view, &SpamConfig::default())
            .into_iter()
            .map(|h| h.test)
            .collect();
        assert_eq!(fired, ["TEXT_UNDECODABLE"]);
    }

    #[test]
    fn eight_bit_text_without_a_charset_is_undecodable() {
        // Thai in TIS-620 bytes with no charset named, as bulk mailers send
        // it: read as UTF-8 (RFC 2045 §5.2 would say US-ASCII), most bytes
        // do not decode.
        let mut raw = format!("{HEAD}MIME-Version: 1.0\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
            .into_bytes();
        raw.extend([0xe0, 0xa1, 0xc3, 0xd2, 0xb4].repeat(12));
        raw.extend(b" http://x.example/\r\n");
        let view = MessageView::parse(&raw, &crate::config::ReadLimits::default());
        let fired: Vec<&str> = hits(&view, &SpamConfig::default())
            .into_iter()
            .map(|h| h.test)
            .collect();
        assert_eq!(fired, ["TEXT_UNDECODABLE"]);
        // The same letters declared in their charset's name decode.
        let latin = format!(
            "{HEAD}Content-Type: text/plain; charset=iso-8859-1\r\n\r\n{}\r\n",
            "Caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e ".repeat(8)
        );
        assert_eq!(super::super::fired(hits, &latin), Vec::<&str>::new());
    }

    #[test]
    fn a_word_of_random_letters_fires_and_a_long_url_does_not() {
        assert_eq!(
            fired("Hallo, schau mal\r\ngcoakgwnibgafjecarccjbjiiqlluijseublait"),
            ["RANDOM_WORD"]
        );
        assert_eq!(
            fired("See http://example.org/averyveryverylongpathwithoutanybreaks here"),
            Vec::<&str>::new()
        );
        // Not all lowercase letters: a hash or a token in a log line.
        assert_eq!(
            fired("id 9f8e7d6c5b4a39281706f5e4d3c2b1a0 done"),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn a_text_ending_in_a_tracking_code_fires() {
        for code in ["xay1992361y", "7602iVSS8-080l12", "78l95"] {
            let body = format!("Lowest rates this year.\r\n\r\n{code}\r\n\r\n");
            assert_eq!(fired(&body), ["TRACKING_CODE_END"], "{code}");
        }
        // A name, a date, a version, a sentence: not codes.
        for last in [
            "Bob",
            "2002-09-10",
            "v1.2.3",
            "See you at 10am",
            "Ann2",
            "3f2a1bc9d",
        ] {
            let body = format!("Lunch on Friday?\r\n\r\n{last}\r\n");
            assert_eq!(fired(&body), Vec::<&str>::new(), "{last}");
        }
    }

    #[test]
    fn a_random_word_is_found_in_text_outside_ascii_too() {
        let mut t = Tally::default();
        let text = "Gr\u{fc}\u{df}e, gcoakgwnibgafjecarccjbjiiqlluijseublait. Tsch\u{fc}s";
        t.read(text, &mut Vec::new());
        assert_eq!(
            t.random_word.as_deref(),
            Some("gcoakgwnibgafjecarccjbjiiqlluijseublait")
        );
        let mut upper = Tally::default();
        upper.read(
            "\u{c4}rger: Donaudampfschifffahrtsgesellschaftskapit\u{e4}n",
            &mut Vec::new(),
        );
        assert_eq!(upper.random_word, None);
    }
}
