//! A test OpenID Connect issuer on 127.0.0.1 (plain http, which Postern
//! allows to loopback, or https with an rcgen certificate for `localhost`):
//! its discovery document, a JWKS with an RSA and a
//! P-256 key made at start (more can be added, for key rotation), and an
//! RFC 7662 introspection endpoint answering from a table. It signs the
//! tokens the tests send.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The client credentials introspection must carry.
pub const CLIENT_ID: &str = "postern";
pub const CLIENT_SECRET: &str = "s3cret:with/odd chars";

/// A signing key and its `kid`.
pub enum Key {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl Key {
    pub fn rsa() -> Key {
        Key::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key"))
    }

    pub fn ec() -> Key {
        Key::Ec(
            EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key"),
        )
    }

    fn alg(&self) -> &'static str {
        match self {
            Key::Rsa(_) => "RS256",
            Key::Ec(_) => "ES256",
        }
    }

    fn jwk(&self, kid: &str) -> Value {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match self {
            Key::Rsa(k) => json!({
                "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": b64(k.public_key().modulus().big_endian_without_leading_zero()),
                "e": b64(k.public_key().exponent().big_endian_without_leading_zero()),
            }),
            Key::Ec(k) => {
                let point = k.public_key().as_ref();
                json!({
                    "kty": "EC", "kid": kid, "crv": "P-256",
                    "x": b64(&point[1..33]), "y": b64(&point[33..65]),
                })
            }
        }
    }

    fn sign(&self, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, input, &mut sig)
                    .expect("RSA sign");
                sig
            }
            Key::Ec(k) => k.sign(&rng, input).expect("EC sign").as_ref().to_vec(),
        }
    }
}

/// What the issuer serves; shared with its thread.
#[derive(Default)]
struct State {
    /// Published keys, by kid.
    jwks: Vec<Value>,
    /// Introspection answers by token; unknown tokens are inactive.
    introspection: HashMap<String, Value>,
    /// Requests seen, as `METHOD path`.
    requests: Vec<String>,
}

pub struct Issuer {
    /// `http://127.0.0.1:PORT` (or `https://localhost:PORT`), the `iss`
    /// of its tokens.
    pub url: String,
    /// With https: the certificate to trust (`[oauth] ca_file`).
    pub cert: Option<std::path::PathBuf>,
    _dir: Option<tempfile::TempDir>,
    keys: Mutex<HashMap<String, Arc<Key>>>,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Issuer {
    /// Starts with an RSA key `rsa1` and a P-256 key `ec1` published.
    pub fn start() -> Issuer {
        Issuer::start_with(None)
    }

    /// `start`, over https with a self-signed certificate for `localhost`.
    pub fn start_https() -> Issuer {
        let dir = tempfile::tempdir().expect("tempdir");
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("rcgen");
        let cert = dir.path().join("issuer-cert.pem");
        std::fs::write(&cert, ck.cert.pem()).expect("write cert");
        let key = rustls::pki_types::PrivateKeyDer::try_from(ck.signing_key.serialize_der())
            .expect("key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .expect("server config");
        let mut issuer =
            Issuer::start_with(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))));
        issuer.cert = Some(cert);
        issuer._dir = Some(dir);
        issuer
    }

    fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> Issuer {
        let scheme = if tls.is_some() {
            "https://localhost"
        } else {
            "http://127.0.0.1"
        };
        let state = Arc::new(Mutex::new(State::default()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let port = l.local_addr().expect("addr").port();
                port_tx.send(port).expect("port");
                let url = format!("{scheme}:{port}");
                let serve = async {
                    loop {
                        let Ok((tcp, _)) = l.accept().await else {
                            continue;
                        };
                        let (state, url, tls) = (shared.clone(), url.clone(), tls.clone());
                        tokio::spawn(async move {
                            let mut conn: Box<dyn Conn> = match tls {
                                Some(a) => match a.accept(tcp).await {
                                    Ok(s) => Box::new(s),
                                    Err(_) => return,
                                },
                                None => Box::new(tcp),
                            };
                            let tcp = &mut conn;
                            let Some((head, body)) = read_request(tcp).await else {
                                return;
                            };
                            let (status, answer) = respond(&state, &url, &head, &body);
                            let text = answer.to_string();
                            let resp = format!(
                                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                                text.len()
                            );
                            let _ = tcp.write_all(resp.as_bytes()).await;
                            let _ = tcp.shutdown().await;
                        });
                    }
                };
                tokio::select! {
                    _ = serve => {}
                    _ = stop_rx => {}
                }
            });
        });
        let port = port_rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("issuer port");
        let issuer = Issuer {
            url: format!("{scheme}:{port}"),
            cert: None,
            _dir: None,
            keys: Mutex::new(HashMap::new()),
            state,
            stop: Some(stop_tx),
        };
        issuer.publish("rsa1", Key::rsa());
        issuer.publish("ec1", Key::ec());
        issuer
    }

    /// Adds a key to the JWKS.
    pub fn publish(&self, kid: &str, key: Key) {
        self.lock().jwks.push(key.jwk(kid));
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(kid.into(), Arc::new(key));
    }

    /// Keeps a key to sign with, without publishing it.
    pub fn keep_unpublished(&self, kid: &str, key: Key) {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(kid.into(), Arc::new(key));
    }

    /// The `[oauth]` section pointing at this issuer, plus `extra` lines.
    pub fn config(&self, extra: &str) -> String {
        let ca = self
            .cert
            .as_ref()
            .map(|c| format!("ca_file = \"{}\"\n", c.display()))
            .unwrap_or_default();
        format!(
            "[oauth]\nissuer = \"{}\"\naudience = \"postern\"\n{ca}{extra}\n",
            self.url
        )
    }

    /// Claims of a good token for `email`: this issuer, our audience,
    /// valid for an hour.
    pub fn claims(&self, email: &str) -> Value {
        let now = now();
        json!({
            "iss": self.url, "aud": ["account", "postern"], "sub": "1234",
            "email": email, "iat": now, "nbf": now - 5, "exp": now + 3600,
        })
    }

    /// A JWT with `claims`, signed by the key `kid` and naming it.
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let key = self
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(kid)
            .cloned()
            .expect("known kid");
        let header = json!({"alg": key.alg(), "typ": "JWT", "kid": kid});
        let input = format!("{}.{}", b64_json(&header), b64_json(claims));
        let sig = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// An unsigned token (`alg: none`, RFC 7519 §6).
    pub fn unsigned(&self, claims: &Value) -> String {
        format!(
            "{}.{}.",
            b64_json(&json!({"alg": "none"})),
            b64_json(claims)
        )
    }

    /// Makes introspection answer `answer` for `token`.
    pub fn introspects(&self, token: &str, answer: Value) {
        self.lock().introspection.insert(token.into(), answer);
    }

    /// The requests served so far (`GET /jwks`, ...).
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn b64_json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// A connection, plain or TLS.
trait Conn: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Conn for T {}

/// Reads a request head and its Content-Length body (bounded).
async fn read_request(tcp: &mut Box<dyn Conn>) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let len = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        if buf.len() >= end + 4 + len {
            return Some((head, buf[end + 4..end + 4 + len].to_vec()));
        }
    }
}

/// The issuer's answer to one request.
fn respond(state: &Mutex<State>, url: &str, head: &str, body: &[u8]) -> (&'static str, Value) {
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    let line = head.lines().next().unwrap_or("");
    let mut words = line.split(' ');
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    st.requests.push(format!("{method} {path}"));
    match (method, path) {
        ("GET", "/.well-known/openid-configuration") => (
            "200 OK",
            json!({"issuer": url, "jwks_uri": format!("{url}/jwks"),
                   "introspection_endpoint": format!("{url}/introspect")}),
        ),
        ("GET", "/jwks") => ("200 OK", json!({"keys": st.jwks})),
        ("POST", "/introspect") => {
            let want = format!(
                "Basic {}",
                STANDARD.encode(format!("{}:{}", form(CLIENT_ID), form(CLIENT_SECRET)))
            );
            let authorized = head.lines().any(|l| {
                l.split_once(':').is_some_and(|(k, v)| {
                    k.eq_ignore_ascii_case("authorization") && v.trim() == want
                })
            });
            if !authorized {
                return ("401 Unauthorized", json!({"error": "invalid_client"}));
            }
            let body = String::from_utf8_lossy(body);
            let token = body
                .split('&')
                .find_map(|kv| kv.strip_prefix("token="))
                .unwrap_or("");
            let answer = st
                .introspection
                .get(token)
                .cloned()
                .unwrap_or_else(|| json!({"active": false}));
            ("200 OK", answer)
        }
        _ => ("404 Not Found", json!({})),
    }
}

/// Form-encodes the characters the test's values hold.
fn form(s: &str) -> String {
    s.replace('%', "%25")
        .replace(':', "%3A")
        .replace('/', "%2F")
        .replace(' ', "+")
}
