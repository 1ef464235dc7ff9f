//! The DNS resolver every part of the server asks: the servers named in
//! `[dns] nameservers` (the tests' DNS server on loopback), or the system's.
//! The queue runner (MX, MTA-STS), mail authentication (SPF, DKIM, DMARC)
//! and the spam lookups (DNSBL, RHSBL, FCrDNS) all build theirs here, so one
//! setting covers them all. DANE's validating resolver (`[dns] dnssec =
//! "validate"`) is built here too, with the configured trust anchors.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::dnssec::TrustAnchors;

pub use hickory_resolver;

/// Answers a resolver keeps unless `[dns] cache_size` says otherwise
/// (hickory's own default).
pub const DEFAULT_CACHE_SIZE: u64 = 8_192;

static CACHE_SIZE: AtomicU64 = AtomicU64::new(DEFAULT_CACHE_SIZE);

/// Sets how many answers each resolver built from now on keeps (`[dns]
/// cache_size`, read once at start; every part builds its own resolver,
/// so the bound is per part).
pub fn set_cache_size(n: u64) {
    CACHE_SIZE.store(n.max(1), Ordering::Relaxed);
}

/// A resolver over `nameservers`, or the system's when the list is empty.
pub fn resolver(nameservers: &[SocketAddr]) -> Result<TokioResolver, String> {
    build(nameservers, false, None)
}

/// Like [`resolver`], but never answering from /etc/hosts: what the rest
/// of the internet sees (Debian maps the hostname to 127.0.1.1 there), for
/// `postern doctor`.
pub fn public_resolver(nameservers: &[SocketAddr]) -> Result<TokioResolver, String> {
    build(nameservers, true, None)
}

/// A resolver that validates DNSSEC itself from `anchors` (RFC 4035 §5),
/// marking each answer secure, insecure or bogus; for DANE
/// (`dns_validate.rs`). Never from /etc/hosts: nothing there is signed.
pub fn validating_resolver(
    nameservers: &[SocketAddr],
    anchors: Arc<TrustAnchors>,
) -> Result<TokioResolver, String> {
    build(nameservers, true, Some(anchors))
}

fn build(
    nameservers: &[SocketAddr],
    dns_only: bool,
    anchors: Option<Arc<TrustAnchors>>,
) -> Result<TokioResolver, String> {
    let mut builder = if nameservers.is_empty() {
        TokioResolver::builder_tokio()
            .map_err(|e| format!("reading the system resolver configuration: {e}"))?
    } else {
        let servers = nameservers
            .iter()
            .map(|s| {
                let mut udp = ConnectionConfig::udp();
                udp.port = s.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = s.port();
                NameServerConfig::new(s.ip(), true, vec![udp, tcp])
            })
            .collect();
        TokioResolver::builder_with_config(
            ResolverConfig::from_parts(None, Vec::new(), servers),
            TokioRuntimeProvider::default(),
        )
    };
    builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    builder.options_mut().cache_size = CACHE_SIZE.load(Ordering::Relaxed);
    if dns_only {
        builder.options_mut().use_hosts_file = ResolveHosts::Never;
    }
    // A negative answer without an SOA (some resolvers send none) would
    // not be cached at all, so every message would ask again; keep such
    // answers for a while (RFC 2308 §5 leaves the time to the cache).
    builder.options_mut().negative_min_ttl = Some(std::time::Duration::from_secs(30));
    if let Some(anchors) = anchors {
        builder = builder.with_trust_anchor(anchors);
    }
    builder
        .build()
        .map_err(|e| format!("building the resolver: {e}"))
}
