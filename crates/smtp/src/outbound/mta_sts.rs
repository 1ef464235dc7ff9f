//! MTA-STS (RFC 8461): a domain that publishes `_mta-sts.<domain>` TXT and
//! a policy at `https://mta-sts.<domain>/.well-known/mta-sts.txt` says its
//! mail must go over TLS with a valid certificate to the MX hosts the
//! policy names. Policies are cached in memory for their `max_age` and
//! fetched again when the TXT record's `id` changes (§3.3, §5.1).
//!
//! The fetch is a single HTTP/1.1 GET over TLS, written here (no redirects,
//! RFC 8461 §3.3; bounded size and time; chunked bodies decoded).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::{RData, RecordType};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// RFC 8461 §3.3: a policy body is at most 64 KiB.
const MAX_POLICY: usize = 64 * 1024;
/// RFC 8461 §3.2: max_age is at most 31557600 seconds.
const MAX_AGE: u64 = 31_557_600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    Testing,
    None,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// MX patterns: a name, or `*.` and a name (one leftmost label).
    pub mx: Vec<String>,
    pub max_age: u64,
}

impl Policy {
    /// Whether MX host `host` is allowed (RFC 8461 §4.1).
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.mx.iter().any(|p| match p.strip_prefix("*.") {
            Some(suffix) => host
                .split_once('.')
                .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
            None => *p == host,
        })
    }
}

/// Parses a policy body (RFC 8461 §3.2); None if it is not a valid STSv1 policy.
pub fn parse_policy(body: &str) -> Option<Policy> {
    let mut version = None;
    let mut mode = None;
    let mut mx = Vec::new();
    let mut max_age = None;
    for line in body.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "version" => version = Some(v.to_string()),
            "mode" => {
                mode = match v {
                    "enforce" => Some(Mode::Enforce),
                    "testing" => Some(Mode::Testing),
                    "none" => Some(Mode::None),
                    _ => return None,
                }
            }
            "mx" => mx.push(v.trim_end_matches('.').to_ascii_lowercase()),
            "max_age" => max_age = v.parse::<u64>().ok().map(|a| a.min(MAX_AGE)),
            _ => {}
        }
    }
    if version.as_deref() != Some("STSv1") {
        return None;
    }
    let mode = mode?;
    if mode != Mode::None && mx.is_empty() {
        return None;
    }
    Some(Policy {
        mode,
        mx,
        max_age: max_age?,
    })
}

struct Cached {
    id: String,
    policy: Arc<Policy>,
    until: Instant,
}

/// Puts `entry` in `cache`, keeping at most `max` policies: when full,
/// the expired ones go, and if none has expired, the one expiring first.
fn insert_bounded(cache: &mut HashMap<String, Cached>, domain: String, entry: Cached, max: usize) {
    if !cache.contains_key(&domain) && cache.len() >= max {
        let now = Instant::now();
        cache.retain(|_, e| e.until > now);
        while cache.len() >= max {
            let Some(first) = cache
                .iter()
                .min_by_key(|(_, e)| e.until)
                .map(|(d, _)| d.clone())
            else {
                break;
            };
            cache.remove(&first);
        }
    }
    cache.insert(domain, entry);
}

pub struct MtaSts {
    resolver: TokioResolver,
    connector: TlsConnector,
    /// The HTTPS port (443; tests point it elsewhere).
    port: u16,
    timeout: Duration,
    cache: Mutex<HashMap<String, Cached>>,
    /// Policies kept, at most (`[outbound] mta_sts_cache_max`).
    max_cached: usize,
}

impl MtaSts {
    pub fn new(
        resolver: TokioResolver,
        connector: TlsConnector,
        port: u16,
        timeout: Duration,
        max_cached: usize,
    ) -> MtaSts {
        MtaSts {
            resolver,
            connector,
            port,
            timeout,
            cache: Mutex::new(HashMap::new()),
            max_cached: max_cached.max(1),
        }
    }

    fn cached(&self, domain: &str) -> Option<(String, Arc<Policy>)> {
        let c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        c.get(domain)
            .filter(|e| e.until > Instant::now())
            .map(|e| (e.id.clone(), e.policy.clone()))
    }

    /// The policy that applies to `domain` now, if any; a failed fetch is
    /// none (see `lookup`).
    pub async fn policy(&self, domain: &str) -> Option<Arc<Policy>> {
        self.lookup(domain).await.ok().flatten()
    }

    /// The policy that applies to `domain` now, if any. A failed fetch
    /// is logged and treated as "no policy" unless a cached one is still
    /// valid (RFC 8461 §3.3, §5.1); `Err` says it failed, for TLS-RPT
    /// (RFC 8460 §4.3.2.3), when no cached policy stood in.
    pub async fn lookup(&self, domain: &str) -> Result<Option<Arc<Policy>>, FetchError> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let cached = self.cached(&domain);
        let id = match self.txt_id(&domain).await {
            Ok(Some(id)) => id,
            Ok(None) | Err(_) => return Ok(cached.map(|(_, p)| p)),
        };
        if let Some((cid, p)) = &cached
            && *cid == id
        {
            return Ok(Some(p.clone()));
        }
        match self.fetch(&domain).await {
            Ok(p) => {
                let p = Arc::new(p);
                let entry = Cached {
                    id,
                    policy: p.clone(),
                    until: Instant::now() + Duration::from_secs(p.max_age),
                };
                let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                insert_bounded(&mut cache, domain.clone(), entry, self.max_cached);
                Ok(Some(p))
            }
            Err(e) => {
                tracing::info!(domain, error = %e.text(), "MTA-STS policy fetch failed");
                match cached {
                    Some((_, p)) => Ok(Some(p)),
                    None => Err(e),
                }
            }
        }
    }

    /// The `id` of `_mta-sts.<domain>` (RFC 8461 §3.1), None if absent.
    async fn txt_id(&self, domain: &str) -> Result<Option<String>, String> {
        let l = match self
            .resolver
            .lookup(format!("_mta-sts.{domain}."), RecordType::TXT)
            .await
        {
            Ok(l) => l,
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        for r in l.answers() {
            if let RData::TXT(t) = &r.data {
                let text: String = t
                    .txt_data
                    .iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect();
                if !text.starts_with("v=STSv1") {
                    continue;
                }
                let id = text
                    .split(';')
                    .filter_map(|f| f.trim().strip_prefix("id="))
                    .next()
                    .map(str::to_string);
                return Ok(id);
            }
        }
        Ok(None)
    }

    async fn fetch(&self, domain: &str) -> Result<Policy, FetchError> {
        let host = format!("mta-sts.{domain}");
        let ips = self
            .resolver
            .lookup_ip(format!("{host}."))
            .await
            .map_err(|e| FetchError::Fetch(format!("resolving {host}: {e}")))?;
        let ip = ips
            .iter()
            .next()
            .ok_or_else(|| FetchError::Fetch(format!("{host} has no address")))?;
        let name = ServerName::try_from(host.clone())
            .map_err(|e| FetchError::Fetch(format!("{host}: {e}")))?;
        let work = async {
            let tcp = TcpStream::connect(SocketAddr::new(ip, self.port))
                .await
                .map_err(|e| FetchError::Fetch(format!("connecting to {host}: {e}")))?;
            let mut tls = self.connector.connect(name, tcp).await.map_err(|e| {
                // RFC 8460 §4.3.2.3: a certificate that does not verify
                // is its own result type.
                let text = format!("TLS with {host}: {e}");
                match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(rustls::Error::InvalidCertificate(_)) => FetchError::Webpki(text),
                    _ => FetchError::Fetch(text),
                }
            })?;
            let req = format!(
                "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: postern\r\n\r\n"
            );
            tls.write_all(req.as_bytes())
                .await
                .map_err(|e| FetchError::Fetch(format!("writing to {host}: {e}")))?;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            loop {
                let n = tls.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > MAX_POLICY + 8192 {
                    return Err(FetchError::Fetch("policy response too large".into()));
                }
            }
            Ok::<Vec<u8>, FetchError>(buf)
        };
        let raw = tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| {
                FetchError::Fetch(format!("fetching the policy of {domain} timed out"))
            })??;
        let body = http_body(&raw).map_err(|e| FetchError::Fetch(format!("{host}: {e}")))?;
        let text = String::from_utf8_lossy(&body);
        parse_policy(&text)
            .ok_or_else(|| FetchError::Invalid(format!("{host} served no valid STSv1 policy")))
    }
}

/// Why a published policy could not be had (RFC 8460 §4.3.2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// `sts-policy-fetch-error`: no address, no connection, an HTTP
    /// error status, a timeout.
    Fetch(String),
    /// `sts-policy-invalid`: what was served is no valid policy.
    Invalid(String),
    /// `sts-webpki-invalid`: the policy host's certificate did not verify.
    Webpki(String),
}

impl FetchError {
    pub fn text(&self) -> &str {
        match self {
            FetchError::Fetch(t) | FetchError::Invalid(t) | FetchError::Webpki(t) => t,
        }
    }
}

/// The body of a `200` HTTP/1.1 response (Content-Length, chunked, or to
/// the end). Any other status, a redirect included, is an error (§3.3).
fn http_body(raw: &[u8]) -> Result<Vec<u8>, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header end")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("HTTP status {status:?}"));
    }
    let chunked = lines.clone().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
        })
    });
    let body = &raw[end + 4..];
    if !chunked {
        return Ok(body[..body.len().min(MAX_POLICY)].to_vec());
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let nl = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("bad chunk")?;
        let size_text = String::from_utf8_lossy(&rest[..nl]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "bad chunk size")?;
        rest = &rest[nl + 2..];
        if size == 0 || out.len() + size > MAX_POLICY {
            break;
        }
        let chunk = rest.get(..size).ok_or("short chunk")?;
        out.extend_from_slice(chunk);
        rest = rest.get(size + 2..).unwrap_or(&[]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_cache_stays_within_its_bound() {
        let policy = Arc::new(
            parse_policy("version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 86400\n")
                .expect("policy"),
        );
        let entry = |secs: u64| Cached {
            id: "1".into(),
            policy: policy.clone(),
            until: Instant::now() + Duration::from_secs(secs),
        };
        let mut cache = HashMap::new();
        for i in 0..50u64 {
            insert_bounded(&mut cache, format!("d{i}.example"), entry(1000 + i), 10);
            assert!(cache.len() <= 10);
        }
        // The ones expiring first made room; the newest are kept.
        assert!(cache.contains_key("d49.example"));
        assert!(!cache.contains_key("d0.example"));
        // Replacing a kept domain's policy never evicts another.
        insert_bounded(&mut cache, "d49.example".into(), entry(5), 10);
        assert_eq!(cache.len(), 10);
    }

    #[test]
    fn policies_parse_and_match_mx_hosts() {
        let p = parse_policy(
            "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.org\r\nmx: *.backup.example.org\r\nmax_age: 86400\r\n",
        )
        .expect("valid");
        assert_eq!(p.mode, Mode::Enforce);
        assert!(p.allows("mx1.example.org."));
        assert!(p.allows("b2.backup.example.org"));
        assert!(!p.allows("x.b2.backup.example.org"));
        assert!(!p.allows("evil.example.org"));
        assert!(parse_policy("version: STSv1\nmode: enforce\nmax_age: 1\n").is_none());
        assert!(parse_policy("version: STSv2\nmode: none\nmax_age: 1\n").is_none());
        assert!(parse_policy("version: STSv1\nmode: sometimes\nmx: a\nmax_age: 1\n").is_none());
    }

    #[test]
    fn http_bodies_plain_chunked_and_refused() {
        assert_eq!(
            http_body(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc").expect("ok"),
            b"abc"
        );
        assert_eq!(
            http_body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                .expect("ok"),
            b"abcde"
        );
        assert!(http_body(b"HTTP/1.1 301 Moved\r\nLocation: x\r\n\r\n").is_err());
        assert!(http_body(b"garbage").is_err());
    }
}
