//! Wording rules, as SpamAssassin's body tests read a message: the stock
//! phrases of bulk sales pitches (several of them, never one alone), a body
//! written mostly in capitals, and an HTML body that is a picture fetched
//! from the web with hardly any text.

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
    "don't delete",
    "extra income",
    "financial freedom",
    "free consultation",
    "free gift",
    "free of charge",
    "free quote",
    "home based business",
    "limited time",
    "lowest rates",
    "million dollars",
    "money back",
    "no cost",
    "no obligation",
    "not spam",
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
        for &b in text {
            let (t, class) = (FOLD[usize::from(b)], CLASS[usize::from(b)]);
            out[j] = t;
            j += usize::from(!(t == b' ' && last == b' '));
            last = t;
            shown += usize::from(class & SHOWN);
            letters += usize::from((class & LETTER) >> 1);
            upper += usize::from((class & UPPER) >> 2);
        }
        if j > from && out[j - 1] == b' ' {
            j -= 1;
        }
        out.truncate(j);
        self.shown += shown;
        self.letters += letters;
        self.upper += upper;
    }

    /// The folded text is bytes, UTF-8 here: the phrases are ASCII, so a
    /// match can only start on a character's first byte.
    fn fold_chars(&mut self, text: &str, folded: &mut Vec<u8>) {
        let mut space = false;
        for c in text.chars() {
            if c.is_whitespace() {
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
            for l in c.to_lowercase() {
                folded.extend_from_slice(l.encode_utf8(&mut [0; 4]).as_bytes());
            }
        }
    }
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
}
