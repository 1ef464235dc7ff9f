//! Reports that arrive at our own `rua` addresses: each part of the
//! message that holds one (gzip, as Microsoft sends DMARC and everyone
//! sends TLS-RPT; zip, as Google sends DMARC; or plain XML/JSON) is
//! unpacked within `[reports] max_report_bytes` and read as a DMARC
//! aggregate report (RFC 7489 §7.2) or a TLS report (RFC 8460 §4.4).
//! Anything else is left alone: the message is delivered either way.

use std::io::Read;

use postern_store::ReceivedReport;

/// The reports `raw` carries (usually one).
pub fn reports_in(raw: &[u8], max_bytes: u64) -> Vec<ReceivedReport> {
    let Some(msg) = mail_parser::MessageParser::new().parse(raw) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for part in &msg.parts {
        let bytes = match &part.body {
            mail_parser::PartType::Binary(b) | mail_parser::PartType::InlineBinary(b) => b.as_ref(),
            mail_parser::PartType::Text(t) => t.as_bytes(),
            _ => continue,
        };
        if let Some(r) = unpack(bytes, max_bytes).and_then(|b| read_report(&b)) {
            out.push(r);
        }
    }
    out
}

/// The report document in `bytes`: gunzipped, the first file of a zip,
/// or as it is when it already looks like XML or JSON.
pub fn unpack(bytes: &[u8], max_bytes: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(bytes)
            .take(max_bytes + 1)
            .read_to_end(&mut out)
            .ok()?;
    } else if bytes.starts_with(b"PK\x03\x04") {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
        let file = zip.by_index(0).ok()?;
        file.take(max_bytes + 1).read_to_end(&mut out).ok()?;
    } else {
        let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
        if !matches!(bytes[start], b'<' | b'{') && !bytes[start..].starts_with(b"\xef\xbb\xbf") {
            return None;
        }
        out = bytes
            .get(..bytes.len().min(max_bytes as usize + 1))?
            .to_vec();
    }
    // Over the limit: refused rather than read in part.
    (out.len() as u64 <= max_bytes).then_some(out)
}

/// A DMARC report when it is XML, a TLS report when it is JSON.
fn read_report(doc: &[u8]) -> Option<ReceivedReport> {
    let start = doc
        .iter()
        .position(|b| !b.is_ascii_whitespace() && !matches!(b, 0xef | 0xbb | 0xbf))?;
    match doc[start] {
        b'<' => super::dmarc::parse(doc),
        b'{' => super::tls::parse(doc),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).expect("gzip");
        e.finish().expect("gzip")
    }

    /// The sample reports of tests/reports, in the shapes Google and
    /// Microsoft send.
    fn sample(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/reports")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn google_and_microsoft_samples_read_into_rows() {
        let g = read_report(&sample("google_dmarc.xml")).expect("google dmarc");
        assert_eq!(
            (g.org.as_str(), g.domain.as_str()),
            ("google.com", "example.org")
        );
        assert_eq!(g.report_id, "16522859917455413025");
        let rows: Vec<(&str, &str, i64)> = g
            .rows
            .iter()
            .map(|r| (r.source.as_str(), r.result.as_str(), r.count))
            .collect();
        assert_eq!(
            rows,
            [("192.0.2.25", "pass", 12), ("203.0.113.66", "fail", 3)]
        );

        // A byte-order mark and namespace declarations, as Microsoft sends.
        let m = read_report(&sample("microsoft_dmarc.xml")).expect("microsoft dmarc");
        assert_eq!(m.org, "Enterprise Outlook");
        assert_eq!((m.rows[0].result.as_str(), m.rows[0].count), ("pass", 4));
        assert!(m.rows[0].detail.contains("spf=fail"), "{:?}", m.rows[0]);

        let gt = read_report(&sample("google_tlsrpt.json")).expect("google tls");
        assert_eq!(gt.org, "Google Inc.");
        assert_eq!(gt.begin, 1_764_979_200);
        assert_eq!(gt.rows.len(), 1);
        assert_eq!(
            (gt.rows[0].source.as_str(), gt.rows[0].count),
            ("example.org", 41)
        );

        let mt = read_report(&sample("microsoft_tlsrpt.json")).expect("microsoft tls");
        let rows: Vec<(&str, &str, i64)> = mt
            .rows
            .iter()
            .map(|r| (r.source.as_str(), r.result.as_str(), r.count))
            .collect();
        assert_eq!(
            rows,
            [
                ("example.org", "success", 17),
                ("mail.example.org", "certificate-expired", 2)
            ]
        );
    }

    #[test]
    fn gzip_zip_and_plain_unpack_and_a_bomb_does_not() {
        let doc = b"<feedback/>".repeat(10);
        assert_eq!(unpack(&gzip(&doc), 1000).as_deref(), Some(&doc[..]));
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        z.start_file("a.xml", zip::write::SimpleFileOptions::default())
            .expect("zip");
        z.write_all(&doc).expect("zip");
        let zipped = z.finish().expect("zip").into_inner();
        assert_eq!(unpack(&zipped, 1000).as_deref(), Some(&doc[..]));
        assert_eq!(
            unpack(b"  {\"a\":1}", 1000).as_deref(),
            Some(&b"  {\"a\":1}"[..])
        );
        assert_eq!(unpack(b"hello", 1000), None);
        // A small gzip that unpacks past the limit is refused.
        let bomb = gzip(&vec![b' '; 100_000]);
        assert!(bomb.len() < 1000);
        assert_eq!(unpack(&bomb, 1000), None);
    }
}
