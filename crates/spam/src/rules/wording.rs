//! Wording rules, as SpamAssassin's body tests read a message: the stock
//! phrases of bulk sales pitches (several of them, never one alone), a body
//! written mostly in capitals, an HTML body that is a picture fetched
//! from the web with hardly any text, text in bytes its declared charset
//! cannot decode, a word of random letters, and a text that ends with a
//! tracking code.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, Input, MatchKind};

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

/// ASCII folded for the phrase search: whitespace (vertical tab included,
/// as `char::is_whitespace` has it) to a space, capitals to small letters.
const FOLD: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_whitespace() || c == 0x0b {
            b' '
        } else {
            c.to_ascii_lowercase()
        };
        b += 1;
    }
    t
};

/// What [`Tally`] counts of an ASCII byte: not whitespace (as
/// `char::is_whitespace` has it, vertical tab included), a letter, a
/// capital.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let white = c.is_ascii_whitespace() || c == 0x0b;
        t[b] = if white { 0 } else { SHOWN }
            | if c.is_ascii_alphabetic() { LETTER } else { 0 }
            | if c.is_ascii_uppercase() { UPPER } else { 0 };
        b += 1;
    }
    t
};
const SHOWN: u8 = 1;
const LETTER: u8 = 2;
const UPPER: u8 = 4;

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
        // One branch-free pass: whitespace becomes a space, letters lose
        // their case, a space is kept only after something else, and the
        // byte's class is counted on the way.
        let from = out.len();
        out.resize(from + text.len(), 0);
        let mut j = from;
        let mut last = b' ';
        let [mut shown, mut letters, mut upper] = [0usize; 3];
        // Where each word of RANDOM_WORD_LETTERS or more bytes starts:
        // rare, so looked at after the pass.
        let mut wlen = 0usize;
        let mut long_words = Vec::new();
        for (i, &b) in text.iter().enumerate() {
            let (t, class) = (FOLD[usize::from(b)], CLASS[usize::from(b)]);
            out[j] = t;
            j += usize::from(!(t == b' ' && last == b' '));
            last = t;
            shown += usize::from(class & SHOWN);
            letters += usize::from((class & LETTER) >> 1);
            upper += usize::from((class & UPPER) >> 2);
            wlen = if t == b' ' { 0 } else { wlen + 1 };
            if wlen == RANDOM_WORD_LETTERS {
                long_words.push(i + 1 - wlen);
            }
        }
        if j > from && out[j - 1] == b' ' {
            j -= 1;
        }
        out.truncate(j);
        self.shown += shown;
        self.letters += letters;
        self.upper += upper;
        for start in long_words {
            if self.random_word.is_some() {
                break;
            }
            let rest = &text[start..];
            let end = rest
                .iter()
                .position(|&b| FOLD[usize::from(b)] == b' ')
                .unwrap_or(rest.len());
            if random_word(&rest[..end]) {
                self.random_word = Some(String::from_utf8_lossy(&rest[..end]).into_owned());
            }
        }
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
