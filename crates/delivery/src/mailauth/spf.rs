//! SPF (RFC 7208) with the void-lookup limit mail-auth lacks: more than
//! two DNS lookups that find nothing (NXDOMAIN, or an answer with no
//! records) make the result `permerror` (§4.6.4), so a record of many
//! `a:` terms for names that do not exist cannot make every receiver send
//! queries to someone else's zone.
//!
//! mail-auth evaluates the record; we watch which names it asks through
//! its resolver-cache hooks. Before each lookup it asks the cache
//! (`get`), after a lookup that found records it stores them (`insert`);
//! a name asked and never stored found nothing or failed. Those names are
//! asked again (the resolver's cache answers) to tell "nothing there"
//! from a DNS failure, and counted. The count is taken after the
//! evaluation: the lookups only add up, so a third void lookup happened
//! before whatever result the evaluation reached, and permerror is what
//! stopping there would have given.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use mail_auth::hickory_resolver::proto::rr::RecordType;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{MessageAuthenticator, Parameters, ResolverCache, SpfOutput, SpfResult};

/// RFC 7208 §4.6.4: "SPF implementations SHOULD limit 'void lookups' to
/// two."
pub const MAX_VOID_LOOKUPS: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Txt,
    Mx,
    A,
    Aaaa,
    Ptr,
}

/// The names one evaluation asked for, in order, and those that were
/// answered with records.
#[derive(Default)]
struct Log {
    asked: Mutex<Vec<(Kind, Vec<u8>)>>,
    answered: Mutex<HashSet<(Kind, Vec<u8>)>>,
}

/// The bytes a key feeds its `Hash`: for a name (`str`) its text and a
/// final 0xff; for an address its octets. Equal keys give equal bytes
/// (the `Borrow` contract), which is all the matching needs; the name is
/// read back from them for the second look.
#[derive(Default)]
struct KeyBytes(Vec<u8>);

impl Hasher for KeyBytes {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

fn key_bytes<Q: Hash + ?Sized>(key: &Q) -> Vec<u8> {
    let mut h = KeyBytes::default();
    key.hash(&mut h);
    h.0
}

/// A "cache" that remembers nothing and records what was asked.
struct Recorder<'a, K, V> {
    kind: Kind,
    log: &'a Log,
    _types: PhantomData<(K, V)>,
}

impl<'a, K, V> Recorder<'a, K, V> {
    fn new(kind: Kind, log: &'a Log) -> Self {
        Recorder {
            kind,
            log,
            _types: PhantomData,
        }
    }
}

impl<K: Hash, V> ResolverCache<K, V> for Recorder<'_, K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Ok(mut a) = self.log.asked.lock() {
            a.push((self.kind, key_bytes(name)));
        }
        None
    }

    fn remove<Q>(&self, _: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, key: K, _: V, _: Instant) {
        if let Ok(mut a) = self.log.answered.lock() {
            a.insert((self.kind, key_bytes(&key)));
        }
    }
}

/// A name asked and not answered with records: what to ask again.
#[derive(Debug, PartialEq, Eq)]
enum Unanswered {
    Name(RecordType, String),
    /// `exists:` asks its A and AAAA caches and never stores: either.
    Any(String),
}

/// The unanswered lookups of `log`, in order. PTR lookups (the `ptr`
/// mechanism, which the RFC discourages) are left out.
fn unanswered(log: &Log) -> Vec<Unanswered> {
    let asked = log.asked.lock().map(|a| a.clone()).unwrap_or_default();
    let answered = log.answered.lock().map(|a| a.clone()).unwrap_or_default();
    let name = |b: &[u8]| {
        let b = b.strip_suffix(&[0xff]).unwrap_or(b);
        String::from_utf8(b.to_vec()).ok()
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < asked.len() {
        let (kind, key) = &asked[i];
        i += 1;
        if answered.contains(&(*kind, key.clone())) {
            continue;
        }
        let Some(n) = name(key) else { continue };
        match kind {
            Kind::A if asked.get(i) == Some(&(Kind::Aaaa, key.clone())) => {
                i += 1;
                out.push(Unanswered::Any(n));
            }
            Kind::A => out.push(Unanswered::Name(RecordType::A, n)),
            Kind::Aaaa => out.push(Unanswered::Name(RecordType::AAAA, n)),
            Kind::Mx => out.push(Unanswered::Name(RecordType::MX, n)),
            Kind::Txt => out.push(Unanswered::Name(RecordType::TXT, n)),
            Kind::Ptr => {}
        }
    }
    out
}

/// SPF for `mail_from` (or the HELO name for the null sender) from `ip`,
/// with the void-lookup limit.
pub async fn verify(
    auth: &MessageAuthenticator,
    ip: IpAddr,
    helo: &str,
    host: &str,
    mail_from: &str,
) -> SpfOutput {
    let log = Log::default();
    let (txt, mx) = (
        Recorder::new(Kind::Txt, &log),
        Recorder::new(Kind::Mx, &log),
    );
    let (a, aaaa) = (
        Recorder::new(Kind::A, &log),
        Recorder::new(Kind::Aaaa, &log),
    );
    let ptr = Recorder::new(Kind::Ptr, &log);
    let params = Parameters::new(SpfParameters::verify_mail_from(ip, helo, host, mail_from))
        .with_txt_cache(&txt)
        .with_mx_cache(&mx)
        .with_ipv4_cache(&a)
        .with_ipv6_cache(&aaaa)
        .with_ptr_cache(&ptr);
    let output = auth.verify_spf(params).await;
    if matches!(output.result(), SpfResult::None) {
        // No record (or its own lookup found nothing): no terms to count.
        return output;
    }
    let mut voids = 0;
    for u in unanswered(&log) {
        let fqdn = |n: &str| format!("{}.", n.trim_end_matches('.'));
        let found = match &u {
            Unanswered::Name(t, n) => auth.0.lookup(fqdn(n), *t).await.map(|_| ()),
            Unanswered::Any(n) => auth.0.lookup_ip(fqdn(n)).await.map(|_| ()),
        };
        if let Err(e) = found
            && (e.is_nx_domain() || e.is_no_records_found())
        {
            voids += 1;
        }
    }
    if voids > MAX_VOID_LOOKUPS {
        tracing::info!(%ip, mail_from, voids, "SPF: too many void lookups");
        return SpfOutput::new(output.domain().to_string()).with_result(SpfResult::PermError);
    }
    output
}

#[cfg(test)]
mod tests {
    use super::{Kind, Log, Unanswered, key_bytes, unanswered};
    use mail_auth::hickory_resolver::proto::rr::RecordType;

    #[test]
    fn names_asked_and_never_answered_are_listed_in_order() {
        let log = Log::default();
        let ask = |k: Kind, n: &str| {
            log.asked.lock().expect("log").push((k, key_bytes(n)));
        };
        ask(Kind::Txt, "example.org.");
        ask(Kind::A, "gone1.example.org.");
        ask(Kind::A, "here.example.org.");
        ask(Kind::Mx, "gone2.example.org.");
        // exists: A then AAAA of one name, never stored.
        ask(Kind::A, "probe.example.org.");
        ask(Kind::Aaaa, "probe.example.org.");
        for (k, n) in [(Kind::Txt, "example.org."), (Kind::A, "here.example.org.")] {
            // The insert side sees the owned key (Box<str>).
            let owned: Box<str> = n.into();
            log.answered
                .lock()
                .expect("log")
                .insert((k, key_bytes(&owned)));
        }
        assert_eq!(
            unanswered(&log),
            [
                Unanswered::Name(RecordType::A, "gone1.example.org.".into()),
                Unanswered::Name(RecordType::MX, "gone2.example.org.".into()),
                Unanswered::Any("probe.example.org.".into()),
            ]
        );
    }
}
