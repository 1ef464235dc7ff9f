//! The console's HTTP edges: every answer carries the security headers,
//! pages are never cached, and a POSTed form is read only when it is a
//! form (`application/x-www-form-urlencoded`, else 415) no larger than
//! `[web] max_body_bytes` (else 413).

use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Bytes;
use hyper::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, LOCATION,
};
use hyper::{Request, Response, StatusCode};

use crate::Body;

/// `default-src 'self'`: no inline script or style, nothing from
/// elsewhere; `frame-ancestors 'none'` with `X-Frame-Options` for older
/// browsers; forms post only back here.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

fn set(r: &mut Response<Body>, name: HeaderName, value: &'static str) {
    r.headers_mut()
        .insert(name, HeaderValue::from_static(value));
}

/// Adds the headers every console answer carries.
pub fn secure(mut r: Response<Body>) -> Response<Body> {
    set(
        &mut r,
        HeaderName::from_static("content-security-policy"),
        CSP,
    );
    set(&mut r, HeaderName::from_static("x-frame-options"), "DENY");
    set(
        &mut r,
        HeaderName::from_static("x-content-type-options"),
        "nosniff",
    );
    set(
        &mut r,
        HeaderName::from_static("referrer-policy"),
        "same-origin",
    );
    if !r.headers().contains_key(CACHE_CONTROL) {
        set(&mut r, CACHE_CONTROL, "no-store");
    }
    r
}

/// An HTML page.
pub fn html(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(crate::full(body));
    *r.status_mut() = status;
    set(&mut r, CONTENT_TYPE, "text/html; charset=utf-8");
    secure(r)
}

/// A 303 to `to` (after a POST, so a reload does not post again).
pub fn see_other(to: &str) -> Response<Body> {
    let mut r = Response::new(crate::full(Bytes::new()));
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    secure(r)
}

/// A static asset, cached for a year: its URL holds its content's hash.
pub fn asset(content_type: &'static str, body: &'static str) -> Response<Body> {
    let mut r = Response::new(crate::full(body.as_bytes()));
    set(&mut r, CONTENT_TYPE, content_type);
    set(&mut r, CACHE_CONTROL, "public, max-age=31536000, immutable");
    secure(r)
}

/// A request body the console can read: hyper's own, or a whole one in
/// unit tests.
pub trait ReqBody:
    hyper::body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>> + Send
{
}

impl<B> ReqBody for B where
    B: hyper::body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
{
}

/// Why a form could not be read, as the status to answer.
#[derive(Debug, PartialEq, Eq)]
pub enum FormError {
    /// 415: not `application/x-www-form-urlencoded`.
    ContentType,
    /// 413: larger than the limit.
    TooLarge,
    /// 400: unreadable, or not UTF-8.
    Bad,
    /// 408: the body trickled in too slowly.
    Slow,
}

impl FormError {
    pub fn status(&self) -> StatusCode {
        match self {
            FormError::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            FormError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            FormError::Bad => StatusCode::BAD_REQUEST,
            FormError::Slow => StatusCode::REQUEST_TIMEOUT,
        }
    }

    pub fn why(&self) -> &'static str {
        match self {
            FormError::ContentType => "send the form as application/x-www-form-urlencoded",
            FormError::TooLarge => "the form is too large",
            FormError::Bad => "the form could not be read",
            FormError::Slow => "the form arrived too slowly",
        }
    }
}

/// A posted form's fields, in order, percent-decoded.
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Parses `a=1&b=x+y`; `None` if a name or value is not UTF-8 or
    /// badly escaped.
    pub fn parse(body: &str) -> Option<Form> {
        let mut fields = Vec::new();
        for pair in body.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            fields.push((crate::percent_decode(k)?, crate::percent_decode(v)?));
        }
        Some(Form(fields))
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// Reads a POSTed form of at most `max` bytes within `idle`.
pub async fn read_form<B: ReqBody>(
    req: Request<B>,
    max: usize,
    idle: Duration,
) -> Result<Form, FormError> {
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(FormError::ContentType);
    }
    if let Some(len) = req.headers().get(CONTENT_LENGTH)
        && len
            .to_str()
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .is_none_or(|n| n > max as u64)
    {
        return Err(FormError::TooLarge);
    }
    let read = Limited::new(req.into_body(), max).collect();
    let Ok(read) = tokio::time::timeout(idle, read).await else {
        return Err(FormError::Slow);
    };
    let bytes = match read {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(FormError::TooLarge),
        Err(_) => return Err(FormError::Bad),
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| FormError::Bad)?;
    Form::parse(text).ok_or(FormError::Bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;

    #[test]
    fn forms_decode_and_refuse_bad_escapes() {
        let f = Form::parse("a=1&name=%3Cscript%3E&b=x+y&a=2").expect("form");
        assert_eq!(
            (f.get("a"), f.get("name"), f.get("b")),
            ("1", "<script>", "x y")
        );
        assert_eq!(f.get("missing"), "");
        assert!(Form::parse("a=%zz").is_none());
        assert!(Form::parse("a=%ff").is_none());
    }

    #[tokio::test]
    async fn forms_are_refused_by_type_and_by_size_even_without_a_length() {
        let form = |ctype: &str, body: Vec<u8>| {
            Request::builder()
                .header(CONTENT_TYPE, ctype)
                .body(Full::new(Bytes::from(body)))
                .expect("request")
        };
        let idle = Duration::from_secs(5);
        let ok = read_form(
            form(
                "application/x-www-form-urlencoded; charset=utf-8",
                b"a=1".to_vec(),
            ),
            10,
            idle,
        )
        .await;
        assert_eq!(ok.expect("a form").get("a"), "1");
        let json = read_form(form("application/json", b"{}".to_vec()), 10, idle).await;
        assert_eq!(json.err(), Some(FormError::ContentType));
        // No Content-Length: the limit is met while reading.
        let big = read_form(
            form("application/x-www-form-urlencoded", vec![b'a'; 11]),
            10,
            idle,
        )
        .await;
        assert_eq!(big.err(), Some(FormError::TooLarge));
        let bad = read_form(
            form("application/x-www-form-urlencoded", vec![0xff]),
            10,
            idle,
        )
        .await;
        assert_eq!(bad.err(), Some(FormError::Bad));
        assert_eq!(FormError::TooLarge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn every_page_carries_the_security_headers() {
        let r = html(StatusCode::OK, "<p>x</p>".into());
        let h = r.headers();
        assert!(
            h["content-security-policy"]
                .to_str()
                .expect("ascii")
                .contains("default-src 'self'")
        );
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cache-control"], "no-store");
        let a = asset("text/css", "body{}");
        assert!(
            a.headers()["cache-control"]
                .to_str()
                .expect("ascii")
                .contains("immutable")
        );
    }
}
