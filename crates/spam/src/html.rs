//! HTML to text, cheaply: a single scan that drops tags, scripts, styles and
//! comments, decodes the common entities, keeps each link's href with the text
//! shown for it, and counts the characters a reader cannot see (an element
//! styled `display:none`, `visibility:hidden` or `font-size:0`, or carrying the
//! `hidden` attribute) and the images fetched from the web. Not a browser:
//! unbalanced markup degrades to text, and nothing here can fail or panic on
//! any input.

/// What an HTML body shows, and what it hides.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HtmlText {
    /// The visible text, with block elements turned into spaces.
    pub text: String,
    /// Characters of text inside hidden elements (not in `text`).
    pub hidden_chars: usize,
    /// Every `<a href>`, in document order.
    pub anchors: Vec<Anchor>,
    /// `<img>` elements whose `src` is fetched from the web (`http(s)://`):
    /// an image that carries the pitch while the text stays short.
    pub remote_images: usize,
    /// The `<meta name="generator">` content: the program that wrote the HTML.
    pub generator: Option<String>,
}

/// A link as the reader sees it: where it goes, and what it says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub href: String,
    pub text: String,
}

/// Elements whose start ends a line of text.
const BLOCKS: &[&str] = &[
    "br",
    "p",
    "div",
    "tr",
    "td",
    "th",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "blockquote",
    "hr",
];
/// Elements that never have content, so never open a hidden region.
const VOID: &[&str] = &[
    "br", "hr", "img", "input", "meta", "link", "area", "base", "col", "wbr",
];

/// Converts `html` to text. `max_bytes` bounds the output text.
pub fn html_to_text(html: &str, max_bytes: usize) -> HtmlText {
    let mut out = HtmlText::default();
    // Names of the open elements that hide their content, innermost last.
    let mut hidden: Vec<String> = Vec::new();
    let mut anchor: Option<Anchor> = None;
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            emit(&mut out, &hidden, &mut anchor, rest, max_bytes);
            break;
        };
        emit(&mut out, &hidden, &mut anchor, &rest[..lt], max_bytes);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |e| &after[e + 3..]);
            continue;
        }
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[1..end];
        rest = rest.get(end + 1..).unwrap_or("");
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if name.is_empty() {
            continue;
        }
        if !closing && (name == "script" || name == "style") {
            // Their content is never shown: skip to the matching end tag.
            let lower = rest.to_ascii_lowercase();
            let close = format!("</{name}");
            rest = lower.find(&close).map_or("", |at| &rest[at..]);
            continue;
        }
        if BLOCKS.contains(&name.as_str()) {
            emit(&mut out, &hidden, &mut anchor, " ", max_bytes);
        }
        if closing {
            if name == "a"
                && let Some(a) = anchor.take()
            {
                out.anchors.push(a);
            }
            if hidden.last() == Some(&name) {
                hidden.pop();
            }
            continue;
        }
        if name == "img"
            && attribute(tag, "src").is_some_and(|src| {
                let src = src.trim_start().to_ascii_lowercase();
                src.starts_with("http://") || src.starts_with("https://")
            })
        {
            out.remote_images += 1;
        }
        if name == "meta"
            && out.generator.is_none()
            && attribute(tag, "name").is_some_and(|n| n.trim().eq_ignore_ascii_case("generator"))
        {
            out.generator = attribute(tag, "content").map(|c| c.trim().to_string());
        }
        if name == "a" {
            if let Some(a) = anchor.take() {
                out.anchors.push(a);
            }
            if let Some(href) = attribute(tag, "href") {
                anchor = Some(Anchor {
                    href: decode_entities(href.trim()),
                    text: String::new(),
                });
            }
        }
        let self_closing = tag.ends_with('/');
        if !self_closing && !VOID.contains(&name.as_str()) && hides(tag) {
            hidden.push(name);
        }
    }
    if let Some(a) = anchor.take() {
        out.anchors.push(a);
    }
    out
}

/// Appends decoded `text` where it belongs: the hidden count or the visible
/// text (and the open anchor's text).
fn emit(
    out: &mut HtmlText,
    hidden: &[String],
    anchor: &mut Option<Anchor>,
    text: &str,
    max: usize,
) {
    if text.is_empty() {
        return;
    }
    let text = decode_entities(text);
    if !hidden.is_empty() {
        out.hidden_chars += text.chars().filter(|c| !c.is_whitespace()).count();
        return;
    }
    if let Some(a) = anchor.as_mut()
        && a.text.len() < 1024
    {
        a.text.push_str(&text);
    }
    if out.text.len() < max {
        out.text.push_str(&text);
    }
}

/// Whether a start tag's attributes hide the element.
fn hides(tag: &str) -> bool {
    let lower = tag.to_ascii_lowercase();
    if let Some(style) = attribute(&lower, "style") {
        let compact: String = style.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.contains("display:none") || compact.contains("visibility:hidden") {
            return true;
        }
        if let Some(at) = compact.find("font-size:") {
            let size = &compact[at + "font-size:".len()..];
            let digits: String = size
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            if digits.parse::<f64>().is_ok_and(|v| v < 1.0) {
                return true;
            }
        }
    }
    // The boolean `hidden` attribute: a word of its own among the attributes.
    lower
        .split(|c: char| c.is_whitespace() || c == '/')
        .skip(1)
        .any(|w| w == "hidden" || w.starts_with("hidden="))
}

/// The value of attribute `name` in a start tag's text (quoted or not).
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find(name) {
        let start = from + at;
        from = start + name.len();
        let before_ok = start > 0 && lower[..start].ends_with(|c: char| c.is_whitespace());
        let after = lower[from..].trim_start();
        if !before_ok || !after.starts_with('=') {
            continue;
        }
        let value_at = tag.len() - after.len() + 1;
        let value = tag[value_at..].trim_start();
        return Some(match value.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let inner = &value[1..];
                inner.find(q).map_or(inner, |e| &inner[..e])
            }
            _ => value
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or(""),
        });
    }
    None
}

/// Decodes `&amp;`-style named entities (the common ones) and numeric ones.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[1..]
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '#')
            .map(|e| e + 1);
        let (entity, consumed) = match end {
            Some(e) if rest[e..].starts_with(';') => (&rest[1..e], e + 1),
            Some(e) => (&rest[1..e], e),
            None => (&rest[1..], rest.len()),
        };
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => entity.strip_prefix('#').and_then(|n| {
                let v = match n.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => n.parse().ok(),
                };
                v.and_then(char::from_u32)
            }),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[consumed..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_scripts_and_comments_are_dropped() {
        let h = html_to_text(
            "<p>Hello&nbsp;<b>world</b></p><script>var x=1;</script><!-- secret --><style>p{}</style>bye",
            1 << 20,
        );
        assert_eq!(
            h.text.split_whitespace().collect::<Vec<_>>(),
            ["Hello", "world", "bye"]
        );
        assert_eq!(h.hidden_chars, 0);
    }

    #[test]
    fn anchors_keep_href_and_shown_text() {
        let h = html_to_text(
            r#"<a HREF="http://evil.example/x?a=1&amp;b=2">www.bank.example</a>"#,
            1024,
        );
        assert_eq!(
            h.anchors,
            [Anchor {
                href: "http://evil.example/x?a=1&b=2".into(),
                text: "www.bank.example".into()
            }]
        );
    }

    #[test]
    fn hidden_elements_are_counted_not_shown() {
        let h = html_to_text(
            "<div style=\"display: none\">poison words here</div><span style='font-size:0px'>abc</span><p hidden>xy</p>shown",
            1024,
        );
        assert_eq!(h.text.trim(), "shown");
        assert_eq!(h.hidden_chars, "poisonwordshere".len() + 3 + 2);
    }

    #[test]
    fn numeric_entities_decode() {
        assert_eq!(decode_entities("&#72;&#x69;&bogus; &"), "Hi&bogus; &");
    }

    #[test]
    fn unterminated_markup_is_not_a_panic() {
        for s in [
            "<",
            "<a href=",
            "<!--",
            "&#",
            "&#x110000;",
            "<a href='x>",
            "<script>",
            "é<é>é",
        ] {
            let _ = html_to_text(s, 16);
        }
    }

    #[test]
    fn remote_images_are_counted_and_inline_ones_are_not() {
        let h = html_to_text(
            "<img src=\"http://x.example/a.gif\"><IMG SRC='HTTPS://x.example/b.jpg'/>\
<img src=\"cid:part1\"><img alt=\"none\">",
            1 << 20,
        );
        assert_eq!(h.remote_images, 2);
    }

    #[test]
    fn the_generator_meta_is_kept() {
        let h = html_to_text(
            "<HTML><HEAD><META http-equiv=Content-Type content=\"text/html\">\
<META content=\"MSHTML 5.50.4134.600\" name=GENERATOR></HEAD><BODY>Hi</BODY>",
            1 << 20,
        );
        assert_eq!(h.generator.as_deref(), Some("MSHTML 5.50.4134.600"));
        assert_eq!(html_to_text("<p>Hi</p>", 1 << 20).generator, None);
    }
}
