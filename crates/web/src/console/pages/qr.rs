//! QR codes as inline SVG (the `qrcode` crate's SVG renderer), for what a
//! phone should scan rather than type: the TOTP `otpauth://` URI and the
//! Apple profile link. No script and no image request: the code is part
//! of the page, so `img-src` and `script-src` stay as they are.

use maud::{Markup, PreEscaped, html};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// A QR code of `text` with `label` for screen readers, or a note that
/// the text is too long for one (it is always shown beside it as text).
///
/// The SVG is the one value on the console's pages that maud does not
/// escape: the renderer writes only numbers, fixed colours and fixed
/// markup, never any of `text`.
pub fn qr(text: &str, label: &str) -> Markup {
    // Level M (15% of the code can be lost) scans well from a screen and
    // keeps the URIs used here in a small version.
    match QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M) {
        Ok(code) => {
            let image = code
                .render::<svg::Color<'_>>()
                .min_dimensions(200, 200)
                .dark_color(svg::Color("#000"))
                .light_color(svg::Color("#fff"))
                .build();
            // Inline SVG in HTML takes no XML declaration.
            let inline = image.find("<svg").map_or(image.as_str(), |at| &image[at..]);
            html! {
                div.qr role="img" aria-label=(label) { (PreEscaped(inline)) }
            }
        }
        Err(_) => html! {
            p.muted { "This link is too long for a QR code; type it or open it on the device." }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qr_code_is_inline_svg_labelled_and_never_carries_the_text() {
        let text = "otpauth://totp/Postern:a%3Cb%40example.org?secret=ABC&issuer=Postern";
        let html = qr(text, "QR code <of> the link").into_string();
        assert!(
            html.starts_with(
                r#"<div class="qr" role="img" aria-label="QR code &lt;of&gt; the link"><svg "#
            ),
            "{html}"
        );
        assert!(html.ends_with("</svg></div>"), "{html}");
        assert!(!html.contains("<?xml") && !html.contains("otpauth") && !html.contains("<b"));
        assert!(html.contains(r##"<path fill="#000" d="M"##), "{html}");
    }

    #[test]
    fn text_too_long_for_a_qr_code_gets_a_note() {
        let html = qr(&"x".repeat(5000), "label").into_string();
        assert!(html.contains("too long for a QR code") && !html.contains("<svg"));
    }
}
