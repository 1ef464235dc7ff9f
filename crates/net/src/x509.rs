//! The two facts Postern reads out of a certificate: its validity period
//! and its DNS names. Enough DER (X.690) to walk to them, and nothing more:
//! a parser crate for two fields would cost more than these lines.
//!
//! RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
//! signature }; TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber,
//! signature, issuer, validity, subject, subjectPublicKeyInfo, [1] issuerUID
//! OPTIONAL, [2] subjectUID OPTIONAL, [3] extensions OPTIONAL }.
//! Any input that does not have that shape gives `None`, never a panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// When a certificate starts and stops being valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

impl Validity {
    /// The whole lifetime (zero for a certificate whose dates are reversed).
    pub fn lifetime(&self) -> Duration {
        self.not_after
            .duration_since(self.not_before)
            .unwrap_or_default()
    }
}

/// One DER element: its tag byte and its contents.
struct Tlv<'a> {
    tag: u8,
    body: &'a [u8],
}

/// Splits the first element off `input`; `None` for anything malformed
/// (multi-byte tags, indefinite lengths, lengths past the end).
fn next(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((
        Tlv {
            tag,
            body: &rest[..len],
        },
        &rest[len..],
    ))
}

const SEQUENCE: u8 = 0x30;

/// The TBSCertificate's fields, from `serialNumber` on.
fn tbs_fields(der: &[u8]) -> Option<&[u8]> {
    let (cert, _) = next(der)?;
    if cert.tag != SEQUENCE {
        return None;
    }
    let (tbs, _) = next(cert.body)?;
    if tbs.tag != SEQUENCE {
        return None;
    }
    let mut fields = tbs.body;
    // [0] EXPLICIT version, absent for v1.
    if fields.first() == Some(&0xa0) {
        fields = next(fields)?.1;
    }
    Some(fields)
}

/// The validity period of a DER certificate.
pub fn validity(der: &[u8]) -> Option<Validity> {
    let mut fields = tbs_fields(der)?;
    // serialNumber, signature, issuer.
    for _ in 0..3 {
        fields = next(fields)?.1;
    }
    let (validity, _) = next(fields)?;
    if validity.tag != SEQUENCE {
        return None;
    }
    let (before, rest) = next(validity.body)?;
    let (after, _) = next(rest)?;
    Some(Validity {
        not_before: time(&before)?,
        not_after: time(&after)?,
    })
}

/// The dNSName entries of the subjectAltName extension, lowercased.
pub fn dns_names(der: &[u8]) -> Option<Vec<String>> {
    let mut fields = tbs_fields(der)?;
    // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo.
    for _ in 0..6 {
        fields = next(fields)?.1;
    }
    let mut names = Vec::new();
    while let Some((field, rest)) = next(fields) {
        fields = rest;
        if field.tag != 0xa3 {
            continue; // issuerUniqueID, subjectUniqueID
        }
        let (exts, _) = next(field.body)?;
        let mut exts = exts.body;
        while let Some((ext, rest)) = next(exts) {
            exts = rest;
            let (oid, mut inner) = next(ext.body)?;
            // subjectAltName, 2.5.29.17 (RFC 5280 §4.2.1.6).
            if oid.tag != 0x06 || oid.body != [0x55, 0x1d, 0x11] {
                continue;
            }
            let (mut value, rest) = next(inner)?;
            if value.tag == 0x01 {
                // critical BOOLEAN
                inner = rest;
                value = next(inner)?.0;
            }
            let (general_names, _) = next(value.body)?;
            let mut gns = general_names.body;
            while let Some((gn, rest)) = next(gns) {
                gns = rest;
                // dNSName [2] IMPLICIT IA5String
                if gn.tag == 0x82 {
                    names.push(String::from_utf8_lossy(gn.body).to_ascii_lowercase());
                }
            }
        }
    }
    Some(names)
}

/// UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ), the only
/// forms RFC 5280 §4.1.2.5 allows.
fn time(t: &Tlv<'_>) -> Option<SystemTime> {
    let s = std::str::from_utf8(t.body).ok()?;
    let digits = s.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits.get(r)?.parse::<i64>().ok();
    let (year, rest) = match (t.tag, digits.len()) {
        (0x17, 12) => {
            let yy = num(0..2)?;
            // RFC 5280 §4.1.2.5.1: 50-99 are 19xx, 00-49 are 20xx.
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (0x18, 14) => (num(0..4)?, 4),
        _ => return None,
    };
    let [month, day, hour, min, sec] = [0, 2, 4, 6, 8].map(|i| num(rest + i..rest + i + 2));
    let (month, day, hour, min, sec) = (month?, day?, hour?, min?, sec?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec;
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm, restated).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(names: &[&str], not_before: (i32, u8, u8), not_after: (i32, u8, u8)) -> Vec<u8> {
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("params");
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = rcgen::KeyPair::generate().expect("key");
        params.self_signed(&key).expect("sign").der().to_vec()
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn validity_reads_utc_and_generalized_times() {
        // rcgen writes UTCTime before 2050 and GeneralizedTime from 2050 on.
        let der = cert(&["mail.example.org"], (2026, 12, 6), (2051, 3, 1));
        let v = validity(&der).expect("validity");
        assert_eq!(v.not_before, at(1_796_515_200)); // 2026-12-06T00:00:00Z
        assert_eq!(v.not_after, at(2_561_241_600)); // 2051-03-01T00:00:00Z
        assert_eq!(
            v.lifetime(),
            Duration::from_secs(2_561_241_600 - 1_796_515_200)
        );
    }

    #[test]
    fn dns_names_lists_the_subject_alt_names() {
        let der = cert(
            &["Mail.Example.org", "autoconfig.example.org"],
            (2026, 1, 1),
            (2027, 1, 1),
        );
        assert_eq!(
            dns_names(&der).expect("names"),
            ["mail.example.org", "autoconfig.example.org"]
        );
    }

    #[test]
    fn days_from_civil_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
    }

    #[test]
    fn malformed_input_is_none_at_every_truncation() {
        let der = cert(&["a.example"], (2026, 1, 1), (2027, 1, 1));
        for cut in 0..der.len() {
            // Never panics; a cut inside the fields we read is None.
            let _ = validity(&der[..cut]);
            let _ = dns_names(&der[..cut]);
        }
        assert!(validity(b"\x30\x84\xff\xff\xff\xff").is_none());
        assert!(validity(b"").is_none());
        assert!(dns_names(b"\x1f\x00").is_none());
    }
}
