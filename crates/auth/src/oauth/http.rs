//! The HTTP client that talks to the issuer: GET of the discovery document
//! and the JWKS, POST to the introspection endpoint. HTTP/1.1 over rustls
//! (aws-lc-rs) with the system's roots or the configured `ca_file`; plain
//! `http` only to loopback. No redirects are followed; every answer is
//! bounded in size and time.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Whether `url` may be fetched: `https://`, or `http://` to a loopback
/// host (an issuer on the same machine), with a host and no fragment.
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    let host = uri.host().ok_or_else(|| format!("{url:?} has no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if is_loopback(host) => Ok(()),
        Some("http") => Err(format!(
            "{url:?} is plain http to a host that is not loopback"
        )),
        _ => Err(format!("{url:?} is not an https URL")),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A small client; cheap to clone.
#[derive(Clone)]
pub(crate) struct Http {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    max_body: usize,
}

impl Http {
    /// A client trusting `ca_file`'s certificates, or the system's roots.
    pub(crate) fn new(
        ca_file: Option<&Path>,
        timeout: Duration,
        max_body: usize,
    ) -> Result<Http, String> {
        let mut roots = RootCertStore::empty();
        match ca_file {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| format!("reading {}: {e}", path.display()))?;
                for cert in certs {
                    let cert = cert.map_err(|e| format!("reading {}: {e}", path.display()))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                }
                if roots.is_empty() {
                    return Err(format!("{} holds no certificate", path.display()));
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Http {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
            max_body,
        })
    }

    /// GET `url`, expecting `200` and a JSON body.
    pub(crate) async fn get_json(&self, url: &str) -> Result<serde_json::Value, String> {
        let req = Request::get(url)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, "postern")
            .body(Full::new(Bytes::new()))
            .map_err(|e| format!("{url}: {e}"))?;
        self.json(url, req).await
    }

    /// POST a form to `url` with HTTP Basic credentials (RFC 6749 §2.3.1).
    pub(crate) async fn post_form(
        &self,
        url: &str,
        basic: &str,
        form: String,
    ) -> Result<serde_json::Value, String> {
        let req = Request::post(url)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, "postern")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(AUTHORIZATION, basic)
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| format!("{url}: {e}"))?;
        self.json(url, req).await
    }

    async fn json(
        &self,
        url: &str,
        req: Request<Full<Bytes>>,
    ) -> Result<serde_json::Value, String> {
        check_url(url)?;
        let work = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            let status = resp.status();
            if status != hyper::StatusCode::OK {
                return Err(format!("{url}: HTTP status {status}"));
            }
            let body = Limited::new(resp.into_body(), self.max_body)
                .collect()
                .await
                .map_err(|e| format!("{url}: reading the body: {e}"))?
                .to_bytes();
            serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| format!("{url}: no answer within {:?}", self.timeout))?
    }
}

/// `application/x-www-form-urlencoded` escaping of one value (WHATWG URL
/// §5.2's byte serializer): unreserved bytes as they are, space as `+`,
/// the rest as `%XX`.
pub(crate) fn form_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_unless_loopback() {
        for ok in [
            "https://id.example/realms/mail",
            "http://127.0.0.1:8080/realms/mail",
            "http://[::1]:8080/",
            "http://localhost/",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://id.example/",
            "ftp://id.example/",
            "id.example",
            "",
            "https:///x",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn form_values_are_escaped() {
        assert_eq!(form_escape("a.b-c_d*"), "a.b-c_d*");
        assert_eq!(form_escape("a b+c/é&="), "a+b%2Bc%2F%C3%A9%26%3D");
    }
}
