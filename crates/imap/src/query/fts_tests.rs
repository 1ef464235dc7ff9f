//! The full-text index against the scan: random mailboxes (words in
//! several scripts, charsets and transfer encodings, multipart with HTML,
//! attachments and attached messages, encoded subjects) filed in a real
//! store and indexed, then random BODY/TEXT programs (NOT, OR, AND, short
//! and non-ASCII needles, needles across word and part edges). Wherever
//! [`decide`] answers without the bytes, its answer must be the scan's
//! ([`matches`] on the bytes); and it must answer for most messages, or
//! the index is not being used. A program the index answers alone
//! ([`index_only`]) is answered from the hits ([`indexed_answer`]) exactly
//! as the scan answers it, unless the messages are not indexed, which
//! the store then names as unsure.

use postern_store::{
    DeliveryTarget, FtsQuery, MessageMeta, NewMessage, NewUser, Store, StoreOptions, meta_of,
};
use proptest::prelude::*;

use super::{
    IndexedContext, MessageView, SearchContext, decide, fts_queries, index_only, indexed_answer,
    matches,
};
use crate::wire::{SearchKey, SearchProgram, parse_sequence_set};

const WORDS: &[&str] = &[
    "harbour",
    "Quarterly",
    "numbers",
    "Straße",
    "café",
    "naïve",
    "ΣΟΦΙΑ",
    "ΟΔΟΣ",
    "İstanbul",
    "日本語",
    "emoji😀",
    "ab",
    "a",
    "MIXED",
    "résumé",
    "x=y",
    "\"q\"",
    "tab\there",
];

fn sentence(picks: &[usize]) -> String {
    picks
        .iter()
        .map(|&i| WORDS[i % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

fn b64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= c.len() {
                char::from(A[(n >> (18 - 6 * i) & 63) as usize])
            } else {
                '='
            });
        }
    }
    out
}

/// One text part: its headers and body bytes in one of the encodings.
fn part(kind: usize, text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    match kind % 4 {
        0 => {
            out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n\r\n");
            out.extend_from_slice(text.as_bytes());
        }
        1 => {
            out.extend_from_slice(b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\n");
            out.extend_from_slice(&latin1(text));
        }
        2 => {
            out.extend_from_slice(
                b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            );
            out.extend_from_slice(b64(format!("<p>{text}</p>").as_bytes()).as_bytes());
        }
        _ => {
            out.extend_from_slice(
                b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            );
            out.extend_from_slice(b64(text.as_bytes()).as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A whole message from the picks: subject, then one part or a multipart
/// (maybe holding an attached message).
fn message(subject: &[usize], parts: &[(usize, Vec<usize>)], nested: bool) -> Vec<u8> {
    let subj = sentence(subject);
    let mut out = format!(
        "From: Ann <ann@example.org>\r\nSubject: =?utf-8?b?{}?=\r\nMIME-Version: 1.0\r\n",
        b64(subj.as_bytes())
    )
    .into_bytes();
    if parts.len() == 1 && !nested {
        out.extend_from_slice(&part(parts[0].0, &sentence(&parts[0].1)));
        return out;
    }
    out.extend_from_slice(b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n");
    for (kind, words) in parts {
        out.extend_from_slice(b"--b1\r\n");
        out.extend_from_slice(&part(*kind, &sentence(words)));
    }
    if nested {
        out.extend_from_slice(b"--b1\r\nContent-Type: message/rfc822\r\n\r\n");
        out.extend_from_slice(format!("Subject: inner {subj}\r\n").as_bytes());
        out.extend_from_slice(&part(0, &sentence(&parts[0].1)));
    }
    out.extend_from_slice(b"--b1--\r\n");
    out
}

/// A needle: a piece of a word or of two joined, case changed, or short.
fn needle(word: usize, next: usize, start: usize, len: usize, upper: bool) -> Vec<u8> {
    let text = format!(
        "{} {}",
        WORDS[word % WORDS.len()],
        WORDS[next % WORDS.len()]
    );
    let chars: Vec<char> = text.chars().collect();
    let start = start % chars.len();
    let s: String = chars[start..(start + len).min(chars.len())]
        .iter()
        .collect();
    let s = if upper { s.to_uppercase() } else { s };
    s.into_bytes()
}

fn key(kind: usize, n: Vec<u8>) -> SearchKey {
    if kind.is_multiple_of(2) {
        SearchKey::Text(n)
    } else {
        SearchKey::Body(n)
    }
}

fn programs(picks: &[(usize, usize, usize, usize, usize, bool)]) -> Vec<SearchProgram> {
    let keys: Vec<SearchKey> = picks
        .iter()
        .map(|&(k, w, nx, st, len, up)| key(k, needle(w, nx, st, len, up)))
        .collect();
    let mut out = Vec::new();
    for pair in keys.chunks(2) {
        let (a, b) = (pair[0].clone(), pair.get(1).unwrap_or(&pair[0]).clone());
        let p = |keys| SearchProgram {
            charset: None,
            keys,
        };
        out.push(p(vec![a.clone()]));
        out.push(p(vec![SearchKey::Not(Box::new(a.clone()))]));
        out.push(p(vec![SearchKey::Or(
            Box::new(a.clone()),
            Box::new(b.clone()),
        )]));
        out.push(p(vec![a.clone(), SearchKey::Not(Box::new(b.clone()))]));
        let from_2 = parse_sequence_set(b"2:*", 4).expect("set");
        out.push(p(vec![SearchKey::Uid(from_2), SearchKey::And(vec![a, b])]));
    }
    out
}

type Row = (u32, Vec<u8>, MessageMeta, u64, i64);

fn view<'a>(r: &'a Row, flags: &'a postern_store::Flags, raw: bool) -> MessageView<'a> {
    MessageView {
        seq: r.0,
        uid: r.0,
        flags,
        modseq: 1,
        size: r.3,
        internal_date: r.4,
        meta: &r.2,
        raw: raw.then_some(&r.1[..]),
        sort_date: None,
    }
}

/// BODY and TEXT keys in `keys`, counted once per needle and kind.
fn leaves(keys: &[SearchKey]) -> usize {
    let mut seen = Vec::new();
    fn walk(k: &SearchKey, seen: &mut Vec<SearchKey>) {
        match k {
            SearchKey::Not(k) => walk(k, seen),
            SearchKey::Or(a, b) => {
                walk(a, seen);
                walk(b, seen);
            }
            k if !seen.contains(k) => seen.push(k.clone()),
            _ => {}
        }
    }
    keys.iter().for_each(|k| walk(k, &mut seen));
    seen.len()
}

type Mail = (usize, Vec<(usize, Vec<usize>)>, bool);

fn mail() -> impl Strategy<Value = Mail> {
    (
        0..3usize,
        prop::collection::vec(
            (0..4usize, prop::collection::vec(0..WORDS.len(), 1..12)),
            1..4,
        ),
        any::<bool>(),
    )
}

/// Files `mails` in a fresh store, indexes them, and checks every program.
fn check(
    mails: &[Mail],
    subjects: &[Vec<usize>],
    picks: &[(usize, usize, usize, usize, usize, bool)],
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), StoreOptions::default()).expect("open");
        store.domain_add("example.org").await.expect("domain");
        let user = store
            .user_add(NewUser {
                address: "ann@example.org".into(),
                display_name: String::new(),
                password_hash: "x".into(),
                quota_bytes: None,
                quota_messages: None,
            })
            .await
            .expect("user");
        let mut mailbox = None;
        for (i, (nested, parts, _)) in mails.iter().enumerate() {
            let raw = message(&subjects[i % subjects.len()], parts, *nested == 0);
            let d = store
                .deliver(
                    NewMessage {
                        raw,
                        ..NewMessage::default()
                    },
                    vec![DeliveryTarget::inbox(user)],
                )
                .await
                .expect("deliver")
                .pop()
                .expect("one")
                .expect("delivered");
            mailbox = Some(d.mailbox);
        }
        let mailbox = mailbox.expect("a mailbox");
        // The last message stays unindexed when asked: it must be scanned.
        let skip_last = mails.last().is_some_and(|m| m.2);
        let infos = store.messages(mailbox).await.expect("list");
        if !skip_last {
            while store.fts_index_batch().await.expect("index") > 0 {}
        }
        let mut rows: Vec<Row> = Vec::new();
        for m in &infos {
            let raw = store.read_blob(&m.blob).await.expect("bytes");
            rows.push((
                m.uid.get(),
                raw.clone(),
                meta_of(&raw),
                m.size,
                m.internal_date,
            ));
        }
        let flags = postern_store::Flags::default();
        let (mut decided, mut asked) = (0, 0);
        for p in programs(picks) {
            let queries: Vec<FtsQuery> = fts_queries(&p);
            // Every key one the index answers: it must then decide alone.
            let exact = leaves(&p.keys) == queries.len() && !queries.is_empty();
            let answer = store
                .fts_search(mailbox, queries.clone())
                .await
                .expect("fts")
                .expect("on");
            let base = SearchContext {
                max_seq: rows.len() as u32,
                max_uid: rows.len() as u32,
                saved: None,
                now: 0,
                first_recent: u32::MAX,
                saved_dates: None,
                object_ids: None,
                fts: None,
            };
            let with_index = SearchContext {
                fts: Some(&answer),
                ..base
            };
            let scanned: Vec<u32> = rows
                .iter()
                .filter(|r| matches(&p, &view(r, &flags, true), &base))
                .map(|r| r.0)
                .collect();
            if let Some(queries) = index_only(&p) {
                let hits = store
                    .fts_hits(mailbox, queries)
                    .await
                    .expect("fts")
                    .expect("on");
                let uids: Vec<u32> = rows.iter().map(|r| r.0).collect();
                if skip_last {
                    // Nothing indexed: the store says so of every message.
                    assert_eq!(hits.unsure, uids);
                } else {
                    assert!(hits.unsure.is_empty(), "all indexed: {:?}", hits.unsure);
                    let cx = IndexedContext {
                        uids: &uids,
                        hits: &hits.hits,
                        saved: None,
                    };
                    // Sequence numbers are UIDs here.
                    assert_eq!(indexed_answer(&p, &cx), scanned, "for {p:?}");
                }
            }
            for r in &rows {
                let scan = matches(&p, &view(r, &flags, true), &base);
                let quick = decide(&p, &view(r, &flags, false), &with_index);
                assert!(
                    quick.is_none() || quick == Some(scan),
                    "index says {quick:?}, scan {scan} for {p:?} on {:?}",
                    String::from_utf8_lossy(&r.1)
                );
                if exact {
                    asked += 1;
                    decided += usize::from(quick.is_some());
                }
            }
        }
        if !skip_last && asked > 0 {
            assert_eq!(decided, asked, "the index left some to the scan");
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn indexed_search_answers_as_the_scan_does(
        mails in prop::collection::vec(mail(), 1..8),
        subjects in prop::collection::vec(prop::collection::vec(0..WORDS.len(), 1..5), 1..4),
        picks in prop::collection::vec(
            (0..2usize, 0..WORDS.len(), 0..WORDS.len(), 0..20usize, 1..9usize, any::<bool>()),
            1..10,
        ),
    ) {
        check(&mails, &subjects, &picks);
    }
}
