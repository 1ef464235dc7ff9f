//! Client discovery over HTTP(S): the one small web listener Postern runs.
//!
//! It answers what mail clients ask before their first login, so a user
//! types an address and a password and nothing else:
//! - Thunderbird autoconfig (`/mail/config-v1.1.xml`,
//!   `/.well-known/autoconfig/mail/config-v1.1.xml`), see [`render`];
//! - Outlook autodiscover, POX (`POST /autodiscover/autodiscover.xml`) and
//!   the JSON v2 lookup that points to it (`/autodiscover/autodiscover.json`);
//! - an unsigned Apple `.mobileconfig` profile (`/apple/profile.mobileconfig`);
//! - the MTA-STS policy (`/.well-known/mta-sts.txt`, RFC 8461 §3.3) when set;
//! - ACME HTTP-01 answers (`/.well-known/acme-challenge/<token>`) while an
//!   order is pending; the certificate keeper itself is [`acme`].
//!
//! Every answer is for a domain in the store's domain table (404 otherwise),
//! and never depends on whether the user exists. HTTP/1.1 comes from hyper;
//! the listener, limits and TLS are `postern-net`'s, like every protocol.
//!
//! The same listeners serve the web console ([`console`]: `/admin`,
//! `/account`) over TLS; the plain one redirects every other path to the
//! https listener and keeps answering ACME, autoconfig, autodiscover and
//! MTA-STS itself (their clients may not follow a redirect).

pub mod acme;
pub mod console;
#[doc(hidden)]
pub mod fuzzing;
mod pox;
pub mod render;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use postern_net::{Connection, Handler, HandlerFuture};
use postern_store::Store;

pub use pox::email_from_pox;

/// The ports clients are told to use: the public ones, which differ from
/// the bound ones behind a port forward or in the embedded default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ports {
    pub imaps: u16,
    pub imap: u16,
    pub pop3s: u16,
    pub pop3: u16,
    pub submissions: u16,
    pub submission: u16,
    /// ManageSieve (RFC 5804). No discovery document has an element for
    /// it (see `render.rs`); `postern domain dns` prints its SRV record.
    pub managesieve: u16,
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            imaps: 993,
            imap: 143,
            pop3s: 995,
            pop3: 110,
            submissions: 465,
            submission: 587,
            managesieve: 4190,
        }
    }
}

#[derive(Clone, Debug)]
pub struct WebConfig {
    /// The mail server's name clients connect to (and the certificate's).
    pub hostname: String,
    pub ports: Ports,
    /// Largest request body read (the autodiscover POST); more is a 400.
    pub max_body: usize,
    /// The MTA-STS policy body served for every known domain; `None`: off.
    pub mta_sts: Option<String>,
    /// Serve the web console on the https listener.
    pub console: bool,
    /// The https port the plain listener redirects to; `None`: no
    /// redirect (no https listener).
    pub https_port: Option<u16>,
    /// How long a console session lives idle, and at most.
    pub session: postern_store::SessionLimits,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            hostname: "localhost".into(),
            ports: Ports::default(),
            max_body: 64 * 1024,
            mta_sts: None,
            console: true,
            https_port: None,
            session: postern_store::SessionLimits {
                idle_secs: 30 * 60,
                absolute_secs: 12 * 3600,
            },
        }
    }
}

#[derive(Clone)]
pub struct Context {
    pub cfg: Arc<WebConfig>,
    pub store: Store,
    /// HTTP-01 answers the ACME keeper is offering (empty without ACME).
    pub acme_tokens: acme::Http01Tokens,
    /// The web console's logins and actions; `None`: no console.
    pub console: Option<Arc<console::Console>>,
}

/// The [`Handler`] for the `http` and `https` listeners.
pub struct WebHandler(Context);

impl WebHandler {
    pub fn new(ctx: Context) -> Arc<WebHandler> {
        Arc::new(WebHandler(ctx))
    }
}

impl Handler for WebHandler {
    fn handle(&self, conn: Connection) -> HandlerFuture {
        let ctx = self.0.clone();
        Box::pin(async move {
            let tls = conn.stream.is_tls();
            let idle = conn.idle_timeout;
            let ip = conn.peer.ip();
            let svc = service_fn(move |req| {
                let ctx = ctx.clone();
                async move { Ok::<_, Infallible>(respond(&ctx, req, tls, ip, idle).await) }
            });
            let http = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(conn.idle_timeout)
                .serve_connection(TokioIo::new(conn.stream), svc);
            tokio::pin!(http);
            tokio::select! {
                r = http.as_mut() => r?,
                () = conn.shutdown.cancelled() => {
                    http.as_mut().graceful_shutdown();
                    http.await?;
                }
            }
            Ok(())
        })
    }
}

/// A response body: whole (every page and document), or streamed (a
/// mailbox downloaded from the console, never held whole in memory).
pub(crate) type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, std::io::Error>;

/// A whole response body.
pub(crate) fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

fn error(status: StatusCode, why: &str) -> Response<Body> {
    reply(status, "text/plain; charset=utf-8", format!("{why}\n"))
}

async fn respond(
    ctx: &Context,
    req: Request<Incoming>,
    tls: bool,
    ip: std::net::IpAddr,
    idle: Duration,
) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let host = request_host(&req);
    let method = req.method().clone();
    let resp = if !tls
        && !is_discovery(&path)
        && let Some(port) = ctx.cfg.https_port
    {
        // Everything but discovery moves to TLS (the console's cookie is
        // Secure). 308 keeps the method and body of a POST.
        match console::https_location(&req, port) {
            Some(to) => {
                let mut r = error(StatusCode::PERMANENT_REDIRECT, "use https");
                if let Ok(v) = to.parse() {
                    r.headers_mut().insert(hyper::header::LOCATION, v);
                }
                r
            }
            None => error(StatusCode::BAD_REQUEST, "no usable Host header"),
        }
    } else if tls && console::is_console(&path) {
        match &ctx.console {
            Some(c) if ctx.cfg.console => console::serve(ctx, c, req, ip, idle).await,
            _ => error(StatusCode::NOT_FOUND, "not found"),
        }
    } else {
        route(ctx, req, idle, &method, &path, &query, host.as_deref()).await
    };
    tracing::info!(tls, %method, path, status = resp.status().as_u16(), "http request");
    resp
}

async fn route(
    ctx: &Context,
    req: Request<Incoming>,
    idle: Duration,
    method: &Method,
    path: &str,
    query: &str,
    host: Option<&str>,
) -> Response<Body> {
    let get = *method == Method::GET || *method == Method::HEAD;
    // RFC 8555 §8.3: any Host (the name being validated), plain HTTP on 80;
    // the CA follows no redirect we would need.
    if let Some(token) = path.strip_prefix("/.well-known/acme-challenge/") {
        return match ctx.acme_tokens.get(token) {
            Some(key_auth) if get => reply(StatusCode::OK, "application/octet-stream", key_auth),
            Some(_) => error(StatusCode::METHOD_NOT_ALLOWED, "use GET"),
            None => error(StatusCode::NOT_FOUND, "no such challenge"),
        };
    }
    match path {
        "/mail/config-v1.1.xml" | "/.well-known/autoconfig/mail/config-v1.1.xml" => {
            if !get {
                return error(StatusCode::METHOD_NOT_ALLOWED, "use GET");
            }
            // Thunderbird sends the address; without one the Host names the
            // domain (`autoconfig.<domain>` or the domain itself).
            let domain = match query_param(query, "emailaddress") {
                Some(e) => match split_address(&e) {
                    Some(d) => d,
                    None => return error(StatusCode::BAD_REQUEST, "not an email address"),
                },
                None => {
                    let Some(h) = host else {
                        return error(StatusCode::BAD_REQUEST, "no Host and no emailaddress");
                    };
                    let d = h.strip_prefix("autoconfig.").unwrap_or(h);
                    match split_address(&format!("postmaster@{d}")) {
                        Some(d) => d,
                        None => return error(StatusCode::BAD_REQUEST, "not a domain in Host"),
                    }
                }
            };
            if let Some(r) = unknown(ctx, &domain).await {
                return r;
            }
            reply(
                StatusCode::OK,
                "application/xml; charset=utf-8",
                render::autoconfig(&ctx.cfg, &domain),
            )
        }
        "/autodiscover/autodiscover.xml" | "/Autodiscover/Autodiscover.xml" => {
            if *method != Method::POST {
                return error(StatusCode::METHOD_NOT_ALLOWED, "use POST");
            }
            let body = match read_body(ctx, req, idle).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            let Some(email) = email_from_pox(&body) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "not an autodiscover request with an EMailAddress",
                );
            };
            let Some(domain) = split_address(&email) else {
                return error(StatusCode::BAD_REQUEST, "not an email address");
            };
            if let Some(r) = unknown(ctx, &domain).await {
                return r;
            }
            reply(
                StatusCode::OK,
                "application/xml; charset=utf-8",
                render::autodiscover(&ctx.cfg, &email),
            )
        }
        "/autodiscover/autodiscover.json" | "/Autodiscover/Autodiscover.json" => {
            if !get {
                return error(StatusCode::METHOD_NOT_ALLOWED, "use GET");
            }
            let email = query_param(query, "Email").unwrap_or_default();
            let Some(domain) = split_address(&email) else {
                return error(StatusCode::BAD_REQUEST, "not an email address");
            };
            if let Some(r) = unknown(ctx, &domain).await {
                return r;
            }
            match query_param(query, "Protocol") {
                Some(p) if p.eq_ignore_ascii_case("AutodiscoverV1") => reply(
                    StatusCode::OK,
                    "application/json; charset=utf-8",
                    render::autodiscover_json(&ctx.cfg),
                ),
                _ => reply(
                    StatusCode::BAD_REQUEST,
                    "application/json; charset=utf-8",
                    render::autodiscover_json_error(),
                ),
            }
        }
        "/apple/profile.mobileconfig" => {
            if !get {
                return error(StatusCode::METHOD_NOT_ALLOWED, "use GET");
            }
            let email = query_param(query, "email").unwrap_or_default();
            let Some(domain) = split_address(&email) else {
                return error(StatusCode::BAD_REQUEST, "not an email address (?email=)");
            };
            if let Some(r) = unknown(ctx, &domain).await {
                return r;
            }
            let mut r = reply(
                StatusCode::OK,
                "application/x-apple-aspen-config",
                render::mobileconfig(&ctx.cfg, &email),
            );
            if let Ok(v) = "attachment; filename=\"mail.mobileconfig\"".parse() {
                r.headers_mut().insert("content-disposition", v);
            }
            r
        }
        "/.well-known/mta-sts.txt" => {
            if !get {
                return error(StatusCode::METHOD_NOT_ALLOWED, "use GET");
            }
            let Some(policy) = &ctx.cfg.mta_sts else {
                return error(StatusCode::NOT_FOUND, "no MTA-STS policy here");
            };
            // RFC 8461 §3.3: fetched from `mta-sts.<domain>`.
            let Some(domain) = host.and_then(|h| h.strip_prefix("mta-sts.")) else {
                return error(StatusCode::NOT_FOUND, "ask mta-sts.<domain>");
            };
            if let Some(r) = unknown(ctx, domain).await {
                return r;
            }
            reply(StatusCode::OK, "text/plain", policy.clone())
        }
        _ => error(StatusCode::NOT_FOUND, "not found"),
    }
}

/// The paths the plain listener answers itself: ACME HTTP-01 (RFC 8555
/// §8.3: port 80, and the CA need not follow a redirect), discovery (old
/// clients try plain HTTP and do not follow one) and MTA-STS (RFC 8461
/// fetches it over https anyway; a plain answer harms nothing).
fn is_discovery(path: &str) -> bool {
    path.starts_with("/.well-known/acme-challenge/")
        || path.starts_with("/.well-known/autoconfig/")
        || path == "/.well-known/mta-sts.txt"
        || path == "/mail/config-v1.1.xml"
        || path.starts_with("/autodiscover/")
        || path.starts_with("/Autodiscover/")
        || path == "/apple/profile.mobileconfig"
}

/// 404 unless `domain` is in the store's domain table; 503 if the store
/// cannot say.
async fn unknown(ctx: &Context, domain: &str) -> Option<Response<Body>> {
    let store = ctx.store.clone();
    let d = domain.to_owned();
    match tokio::task::spawn_blocking(move || store.domain_exists_blocking(&d)).await {
        Ok(Ok(true)) => None,
        Ok(Ok(false)) => Some(error(StatusCode::NOT_FOUND, "unknown domain")),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "domain lookup failed");
            Some(error(StatusCode::SERVICE_UNAVAILABLE, "try again later"))
        }
        Err(e) => {
            tracing::warn!(error = %e, "domain lookup task failed");
            Some(error(StatusCode::SERVICE_UNAVAILABLE, "try again later"))
        }
    }
}

/// The body, at most `[web] max_body_bytes` of it, arriving within `idle`
/// (a client trickling a body cannot hold the connection forever).
async fn read_body(
    ctx: &Context,
    req: Request<Incoming>,
    idle: Duration,
) -> Result<Vec<u8>, Response<Body>> {
    let max = ctx.cfg.max_body;
    let too_big = || error(StatusCode::BAD_REQUEST, "request body too large");
    if let Some(len) = req.headers().get(CONTENT_LENGTH)
        && len
            .to_str()
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|n| n > max as u64)
    {
        return Err(too_big());
    }
    let read = Limited::new(req.into_body(), max).collect();
    let Ok(read) = tokio::time::timeout(idle, read).await else {
        return Err(error(StatusCode::REQUEST_TIMEOUT, "request body too slow"));
    };
    match read {
        Ok(c) => Ok(c.to_bytes().to_vec()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_big()),
        Err(_) => Err(error(StatusCode::BAD_REQUEST, "could not read the body")),
    }
}

/// The Host header without its port, lowercased.
fn request_host(req: &Request<Incoming>) -> Option<String> {
    let h = req.headers().get(HOST)?.to_str().ok()?;
    let h = match h.rsplit_once(':') {
        Some((name, port)) if !name.contains(']') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => h,
    };
    Some(h.trim_end_matches('.').to_ascii_lowercase())
}

/// The domain of `local@domain`, lowercased, if it looks like an address.
pub fn split_address(email: &str) -> Option<String> {
    if email.len() > 254 || email.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return None;
    }
    let (local, domain) = email.rsplit_once('@')?;
    let ok_domain = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    (!local.is_empty() && ok_domain).then(|| domain.to_ascii_lowercase())
}

/// The first value of `name` in a query string, percent-decoded (`+` is a
/// space, as in HTML forms); `None` if absent, `Some("")` if present but
/// not decodable to UTF-8 (so callers refuse it rather than ignore it).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_decode(v).unwrap_or_default())
    })
}

pub(crate) fn percent_decode(v: &str) -> Option<String> {
    {
        let b = v.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    if i + 2 >= b.len() {
                        return None;
                    }
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_decode() {
        assert_eq!(
            query_param("a=1&emailaddress=a%40b.org", "emailaddress").as_deref(),
            Some("a@b.org")
        );
        assert_eq!(query_param("x=%4", "x").as_deref(), Some(""));
        assert_eq!(query_param("x=%zz", "x").as_deref(), Some(""));
        assert_eq!(query_param("x=%ff", "x").as_deref(), Some(""));
        assert_eq!(query_param("x=a+b", "x").as_deref(), Some("a b"));
        assert_eq!(query_param("y=1", "x"), None);
    }

    #[test]
    fn addresses() {
        assert_eq!(
            split_address("u@Example.ORG").as_deref(),
            Some("example.org")
        );
        assert_eq!(split_address("@example.org"), None);
        assert_eq!(split_address("u@exa mple.org"), None);
        assert_eq!(split_address("u@ex..org"), None);
        assert_eq!(split_address("u@../etc"), None);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn query_and_address_parsing_never_panic(q in ".{0,64}", a in ".{0,64}") {
            let _ = query_param(&q, "x");
            let _ = query_param(&format!("x={q}"), "x");
            let _ = split_address(&a);
        }
    }
}
