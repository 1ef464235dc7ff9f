//! Wording rules, as SpamAssassin's body tests read a message: the stock
//! phrases of bulk sales pitches (several of them, never one alone), a body
//! written mostly in capitals, and an HTML body that is a picture fetched
//! from the web with hardly any text.

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

/// Every wording rule that fires on `view`.
pub fn hits(view: &MessageView, config: &SpamConfig) -> Vec<Hit> {
    let mut out = Vec::new();
    let texts = || {
        view.plain
            .iter()
            .map(String::as_str)
            .chain(view.html.iter().map(|h| h.text.as_str()))
    };
    let mut found: Vec<&str> = Vec::new();
    for t in texts() {
        let folded = fold(t);
        for p in PITCH_PHRASES {
            if !found.contains(p) && folded.contains(p) {
                found.push(p);
            }
        }
    }
    if found.len() >= config.pitch_min_phrases {
        out.push(Hit::new("PITCH_PHRASES", &found.join(", ")));
    }
    let (mut upper, mut letters) = (0usize, 0usize);
    for t in texts() {
        for c in t.chars().filter(|c| c.is_alphabetic()) {
            letters += 1;
            upper += usize::from(c.is_uppercase());
        }
    }
    if letters >= config.body_caps_min_letters && upper * 100 >= letters * config.body_caps_percent
    {
        out.push(Hit::new(
            "BODY_MOSTLY_CAPS",
            &format!("{}% of {letters} letters", upper * 100 / letters),
        ));
    }
    let images: usize = view.html.iter().map(|h| h.remote_images).sum();
    let shown: usize = texts()
        .map(|t| t.chars().filter(|c| !c.is_whitespace()).count())
        .sum();
    if images > 0 && shown < config.image_text_max_chars {
        out.push(Hit::new(
            "HTML_IMAGE_LITTLE_TEXT",
            &format!("{images} images, {shown} chars"),
        ));
    }
    out
}

/// `text` lowercased with every run of whitespace made one space, so a
/// phrase matches across line breaks.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for w in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&w.to_lowercase());
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
