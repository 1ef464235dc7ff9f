//! SORT and THREAD keys kept beside the listing (issue 19, migration 22),
//! computed once at delivery and read for a whole mailbox through an
//! index each, so neither reads a message's cached meta or bytes:
//! - a message's SORT (DATE) value, the instant of its first Date field
//!   or, without a usable one, its INTERNALDATE (RFC 5256 §3), from the
//!   envelope (`messages_sort_date`);
//! - its thread head (`messages_thread_head`): the header fields THREAD
//!   REFERENCES reads (Message-ID, In-Reply-To, References, Date,
//!   Subject), every one as written and in order, so parsing the head
//!   gives THREAD what parsing the whole header gave it. A header that is
//!   not UTF-8 or holds a line that is neither a field nor a
//!   continuation gets none (how the envelope reads it then depends on
//!   the other fields).
//!
//! Rows written before migration 22 hold NULL: the reader then derives
//! the value from the meta and bytes as before.

use mail_parser::DateTime;

use crate::Store;
use crate::error::Result;
use crate::fts::text::{unfold, utf8_or_latin1};
use crate::parse::{Envelope, raw_bytes};
use crate::types::MailboxId;

/// A Date field's value as written: the calendar day in the field's own
/// zone (days since 1970-01-01) and the instant (Unix seconds). `None`
/// when unparsable. IMAP's SENT* keys, SORT (DATE) and THREAD read it.
pub fn sent_date_of(field: &[u8]) -> Option<(i64, i64)> {
    let text = unfold(&utf8_or_latin1(field));
    let d = DateTime::parse_rfc822(&text)?;
    let year = match d.year {
        // RFC 5322 §4.3: two-digit years from 50 are 19xx, three-digit add 1900.
        0..=49 => 2000 + i64::from(d.year),
        50..=999 => 1900 + i64::from(d.year),
        y => i64::from(y),
    };
    if !(1..=12).contains(&d.month) || !(1..=31).contains(&d.day) || d.hour > 23 || d.minute > 59 {
        return None;
    }
    let days = days_from_civil(year, d.month, d.day);
    let zone = (i64::from(d.tz_hour) * 3600 + i64::from(d.tz_minute) * 60)
        * if d.tz_before_gmt { -1 } else { 1 };
    let unix = days * 86_400
        + i64::from(d.hour) * 3600
        + i64::from(d.minute) * 60
        + i64::from(d.second.min(60))
        - zone;
    Some((days, unix))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u8, d: u8) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The first Date field as the envelope keeps it (`first_date`, else the
/// last one), as bytes.
pub fn envelope_date(env: &Envelope) -> Option<std::borrow::Cow<'_, [u8]>> {
    let v = env.first_date.as_deref().or(env.date.as_deref())?;
    Some(raw_bytes(v, env.latin1))
}

/// SORT (DATE)'s value of a message (RFC 5256 §3): the first Date
/// field's instant, else INTERNALDATE.
pub fn sort_date(env: &Envelope, internal_date: i64) -> i64 {
    envelope_date(env)
        .and_then(|f| sent_date_of(&f))
        .map_or(internal_date, |(_, t)| t)
}

/// The fields of a thread head.
const THREAD_FIELDS: [&[u8]; 5] = [
    b"Message-ID",
    b"In-Reply-To",
    b"References",
    b"Date",
    b"Subject",
];

/// The thread head of a message whose top-level header is `header`
/// (`raw[header_start..body_start]`), ending with an empty line; `None`
/// for a header the head could not stand in for (see the module doc).
pub(crate) fn thread_head(header: &[u8]) -> Option<Vec<u8>> {
    std::str::from_utf8(header).ok()?;
    let mut out = Vec::new();
    let mut keep = false;
    let mut start = 0;
    while start < header.len() {
        let end = header[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(header.len(), |p| start + p + 1);
        let line = &header[start..end];
        start = end;
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if keep {
                out.extend_from_slice(line);
            }
            continue;
        }
        let colon = line.iter().position(|&b| b == b':')?;
        let name = line[..colon].trim_ascii_end();
        keep = THREAD_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name));
        if keep {
            out.extend_from_slice(line);
        }
    }
    // Every field ends its line, so the head parses as a whole header.
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Some(out)
}

impl Store {
    /// Each message's thread head by UID, in UID order; `None` where the
    /// message has none (see the module doc) or the row is older.
    pub async fn thread_heads(&self, mailbox: MailboxId) -> Result<Vec<(u32, Option<Vec<u8>>)>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT uid, thread_head FROM messages WHERE mailbox_id = ?1 ORDER BY uid",
            )?;
            let rows = st
                .query_map([mailbox.0], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }

    /// Calls `f` with each message's UID and thread head (`None` as for
    /// [`Store::thread_heads`]), in UID order, on the reading thread: THREAD
    /// keeps what it needs of a head without the mailbox's heads held
    /// in memory at once.
    pub async fn scan_thread_heads<S, F>(
        &self,
        mailbox: MailboxId,
        mut state: S,
        mut f: F,
    ) -> Result<S>
    where
        S: Send + 'static,
        F: FnMut(&mut S, u32, Option<&[u8]>) + Send + 'static,
    {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT uid, thread_head FROM messages INDEXED BY messages_thread_head \
                 WHERE mailbox_id = ?1 ORDER BY uid",
            )?;
            let mut rows = st.query([mailbox.0])?;
            while let Some(r) = rows.next()? {
                let head = r.get_ref(1)?.as_blob_or_null().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        1,
                        rusqlite::types::Type::Blob,
                        Box::new(e),
                    )
                })?;
                f(&mut state, r.get(0)?, head);
            }
            Ok(state)
        })
        .await
    }

    /// Each message's SORT (DATE) value by UID, in UID order; `None` for
    /// a row written before migration 22.
    pub async fn sort_dates(&self, mailbox: MailboxId) -> Result<Vec<(u32, Option<i64>)>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT uid, sort_date FROM messages WHERE mailbox_id = ?1 ORDER BY uid",
            )?;
            let rows = st
                .query_map([mailbox.0], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_dates_read_the_zone_and_two_digit_years() {
        let (day, t) = sent_date_of(b"Tue, 1 Jul 2025 10:00:00 +0200").expect("date");
        assert_eq!(t, 1_751_356_800, "10:00 at +0200 is 08:00 UTC");
        assert_eq!(day, 20_270);
        let (_, t99) = sent_date_of(b"1 Jan 99 00:00:00 +0000").expect("1999");
        assert_eq!(t99, 915_148_800);
        assert_eq!(sent_date_of(b"not a date"), None);
    }

    #[test]
    fn a_thread_head_keeps_the_threading_fields_as_written_and_in_order() {
        let h = b"Received: x\r\nSubject: a\r\n b\r\nReferences: <1@x>\r\n\t<2@x>\r\nFrom: f\r\n\
                  subject: second\r\nMessage-ID: <3@x>\r\n\r\n";
        let head = thread_head(h).expect("a head");
        assert_eq!(
            head,
            b"Subject: a\r\n b\r\nReferences: <1@x>\r\n\t<2@x>\r\nsubject: second\r\nMessage-ID: <3@x>\r\n\r\n"
        );
        assert_eq!(thread_head(b"Subject: a\r\nno colon here\r\n\r\n"), None);
        assert_eq!(thread_head(b"Subject: caf\xe9\r\n\r\n"), None, "not UTF-8");
        assert_eq!(
            thread_head(b"From: a\r\n\r\n").expect("empty head"),
            b"\r\n"
        );
    }

    #[tokio::test]
    async fn rows_from_before_migration_22_have_no_keys_and_new_ones_do() {
        let t = tempfile::tempdir().expect("tempdir");
        let dir = t.path().join("data");
        let old = b"Date: Thu, 1 Jan 1970 00:01:00 +0000\r\nSubject: old\r\n\r\nx\r\n".to_vec();
        crate::testing::build_at_version(&dir, 21, "ann@example.org", "x", &[old])
            .expect("build at 21");
        let s = Store::open(&dir, crate::StoreOptions::default()).expect("open migrates");
        let mb = MailboxId(1);
        let new = crate::NewMessage {
            raw: b"Date: Thu, 1 Jan 1970 00:02:00 +0000\r\nSubject: new\r\n\r\ny\r\n".to_vec(),
            internal_date: Some(5),
            ..crate::NewMessage::default()
        };
        s.append(crate::UserId(1), mb, new).await.expect("append");
        assert_eq!(
            s.sort_dates(mb).await.expect("dates"),
            [(1, None), (2, Some(120))]
        );
        let heads = s.thread_heads(mb).await.expect("heads");
        let scanned = s
            .scan_thread_heads(mb, Vec::new(), |v, uid, head| {
                v.push((uid, head.map(<[u8]>::to_vec)))
            })
            .await
            .expect("scan heads");
        assert_eq!(scanned, heads, "the scan streams what the list holds");
        assert_eq!(heads[0], (1, None), "an older row: derived when read");
        assert_eq!(
            heads[1],
            (
                2,
                Some(b"Date: Thu, 1 Jan 1970 00:02:00 +0000\r\nSubject: new\r\n\r\n".to_vec())
            )
        );
    }

    #[test]
    fn sort_date_falls_back_to_internaldate() {
        let mut env = Envelope::default();
        assert_eq!(sort_date(&env, 42), 42);
        env.date = Some("Thu, 1 Jan 1970 00:01:00 +0000".into());
        assert_eq!(sort_date(&env, 42), 60);
        env.first_date = Some("Thu, 1 Jan 1970 00:02:00 +0000".into());
        assert_eq!(sort_date(&env, 42), 120, "the first Date field wins");
    }
}
