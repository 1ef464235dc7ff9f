//! Every ENVELOPE, BODY, BODYSTRUCTURE, RFC822.SIZE and `BODY[section]`
//! value Dovecot 2.3.19 gave for the shared corpus (`../shared/corpus`),
//! compared byte for byte with what `render` makes of the same messages
//! stored through `postern_store`. Where we knowingly differ the case is
//! listed in `DEVIATIONS`, and the test fails unless the mismatches are
//! exactly that list (a regression or a fix both show up).

use std::collections::BTreeSet;
use std::path::Path;

use postern_store::NewMessage;

use crate::corpus_fixture::{CORPUS, internal_date, latin1};

use super::{SectionSpec, body_structure, envelope, partial, section};

const GOLDEN: &str = "golden/dovecot-2.3.19.json";

/// Known differences from Dovecot: (message file, FETCH item, why).
const DEVIATIONS: &[(&str, &str, &str)] = &[];

fn corpus_messages() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(CORPUS).join("messages");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the shared corpus is missing: {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    assert!(files.len() >= 100, "corpus has {} messages", files.len());
    files
        .into_iter()
        .map(|p| {
            let raw = std::fs::read(&p).expect("read message");
            (p.display().to_string(), raw)
        })
        .collect()
}

/// Cut every corpus message at 64 points (boundaries, headers and literals
/// end up truncated everywhere) and render all of it: nothing panics.
#[test]
fn truncated_corpus_messages_render_without_panic() {
    for (_, raw) in corpus_messages() {
        let step = (raw.len() / 64).max(1);
        for n in (0..raw.len()).step_by(step) {
            super::tests::render_everything(&raw[..n]);
        }
        super::tests::render_everything(&raw);
    }
}

/// End of the IMAP value starting at `i` (atom, quoted, literal or list).
fn value_end(b: &[u8], mut i: usize) -> usize {
    match b[i] {
        b'(' => {
            i += 1;
            while b[i] != b')' {
                if b[i] == b' ' {
                    i += 1;
                    continue;
                }
                i = value_end(b, i);
            }
            i + 1
        }
        b'"' => {
            i += 1;
            while b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i + 1
        }
        b'{' => {
            let close = i + b[i..].iter().position(|&c| c == b'}').expect("literal");
            let n: usize = std::str::from_utf8(&b[i + 1..close])
                .expect("digits")
                .parse()
                .expect("literal length");
            close + 3 + n
        }
        _ => {
            while !matches!(b[i], b' ' | b')' | b'(') {
                i += 1;
            }
            i
        }
    }
}

/// The `name value` pairs of one `* n FETCH (...)` line.
fn fetch_items(resp: &[u8]) -> Vec<(String, Vec<u8>)> {
    let open = resp
        .windows(7)
        .position(|w| w == b"FETCH (")
        .expect("FETCH")
        + 7;
    let mut i = open;
    let mut out = Vec::new();
    while resp[i] != b')' {
        let start = i;
        let mut depth = 0;
        while depth > 0 || resp[i] != b' ' {
            match resp[i] {
                b'[' => depth += 1,
                b']' => depth -= 1,
                _ => {}
            }
            i += 1;
        }
        let name = String::from_utf8(resp[start..i].to_vec()).expect("ascii name");
        i += 1;
        let end = value_end(resp, i);
        out.push((name, resp[i..end].to_vec()));
        i = end;
        if resp[i] == b' ' {
            i += 1;
        }
    }
    out
}

fn literal(bytes: &[u8]) -> Vec<u8> {
    let mut v = format!("{{{}}}\r\n", bytes.len()).into_bytes();
    v.extend_from_slice(bytes);
    v
}

/// The section and partial asked for by `UID FETCH n (BODY.PEEK[...]<a.b>)`.
fn requested_section(command: &str) -> (SectionSpec, Option<(u32, u32)>) {
    let open = command.find("BODY.PEEK[").expect("BODY.PEEK") + "BODY.PEEK[".len();
    let close = open + command[open..].find(']').expect("]");
    let spec = SectionSpec::parse(&command[open..close]).expect("section spec");
    let rest = &command[close + 1..];
    let part = rest.strip_prefix('<').map(|r| {
        let (a, b) = r[..r.find('>').expect(">")]
            .split_once('.')
            .expect("origin.count");
        (a.parse().expect("origin"), b.parse().expect("count"))
    });
    (spec, part)
}

#[tokio::test(flavor = "multi_thread")]
async fn fetch_values_match_dovecot_2_3_19() {
    let corpus = Path::new(CORPUS);
    let golden_path = corpus.join(GOLDEN);
    let text = std::fs::read_to_string(&golden_path).unwrap_or_else(|e| {
        panic!(
            "the shared corpus is missing: cannot read {}: {e}; it lives beside the \
             workspace in ../shared/corpus (see its README)",
            golden_path.display()
        )
    });
    let golden: serde_json::Value = serde_json::from_str(&text).expect("golden JSON");
    let messages = golden["messages"].as_array().expect("messages");

    let (_dir, store, user, inbox_id) = crate::corpus_fixture::store_with_inbox().await;
    for m in messages {
        let file = m["file"].as_str().expect("file");
        let raw = std::fs::read(corpus.join("messages").join(file)).expect("message file");
        let date = internal_date(m["internaldate_appended"].as_str().expect("date"));
        let a = store
            .append(
                user,
                inbox_id,
                NewMessage {
                    raw,
                    internal_date: Some(date),
                    ..NewMessage::default()
                },
            )
            .await
            .expect("append");
        assert_eq!(
            u64::from(a.uid.get()),
            m["uid"].as_u64().expect("uid"),
            "{file}"
        );
    }
    let infos = store.messages(inbox_id).await.expect("list");

    let mut compared = 0usize;
    let mut identical = 0usize;
    let mut mismatches: BTreeSet<(String, String)> = BTreeSet::new();
    let mut details = String::new();
    for (m, info) in messages.iter().zip(&infos) {
        let file = m["file"].as_str().expect("file");
        let meta = store
            .message_meta(inbox_id, info.uid)
            .await
            .expect("meta")
            .expect("meta present");
        let raw = store.read_blob(&info.blob).await.expect("blob");
        let uid = info.uid.get();
        for f in m["fetches"].as_array().expect("fetches") {
            let command = f["command"].as_str().expect("command");
            let mut check = |item: &str, ours: Vec<u8>, theirs: &[u8]| {
                compared += 1;
                if ours == theirs {
                    identical += 1;
                } else {
                    mismatches.insert((file.to_string(), item.to_string()));
                    details.push_str(&format!(
                        "--- {file} {item}\n  dovecot: {}\n  postern: {}\n",
                        String::from_utf8_lossy(theirs).escape_debug(),
                        String::from_utf8_lossy(&ours).escape_debug()
                    ));
                }
            };
            let response = &f["response"];
            if let Some(big) = response.as_object() {
                // Over 64 KiB: only length, head and tail were kept.
                let (spec, part) = requested_section(command);
                let data = section(&raw, &meta, &spec).unwrap_or_default();
                let data = match part {
                    Some((o, c)) => partial(&data, o, Some(c)).to_vec(),
                    None => data,
                };
                let name = &command[command.find("BODY.PEEK[").expect("peek") + 10..];
                let name = &name[..name.find(']').expect("]")];
                let mut line = format!("* {uid} FETCH (UID {uid} BODY[{name}] ").into_bytes();
                line.extend_from_slice(&literal(&data));
                line.extend_from_slice(b")\r\n");
                let head = latin1(big["head"].as_str().expect("head"));
                let tail = latin1(big["tail"].as_str().expect("tail"));
                let len = big["length"].as_u64().expect("length") as usize;
                let same = line.len() == len && line.starts_with(&head) && line.ends_with(&tail);
                let item = format!("BODY[{name}]");
                let theirs = if same { line.clone() } else { head };
                check(&item, line, &theirs);
                continue;
            }
            let resp = latin1(response.as_str().expect("response"));
            for (name, theirs) in fetch_items(&resp) {
                let ours = match name.as_str() {
                    "UID" | "INTERNALDATE" => continue,
                    "RFC822.SIZE" => info.size.to_string().into_bytes(),
                    "ENVELOPE" => envelope(&meta.envelope),
                    "BODY" => body_structure(&meta, &raw, false),
                    "BODYSTRUCTURE" => body_structure(&meta, &raw, true),
                    n if n.starts_with("BODY[") => {
                        let (spec, part) = requested_section(command);
                        match section(&raw, &meta, &spec) {
                            Some(data) => match part {
                                Some((o, c)) => literal(partial(&data, o, Some(c))),
                                None => literal(&data),
                            },
                            None => b"NIL".to_vec(),
                        }
                    }
                    other => panic!("unexpected FETCH item {other} in {file}"),
                };
                check(&name, ours, &theirs);
            }
        }
    }
    println!(
        "dovecot corpus: {compared} FETCH values compared, {identical} identical, {} known deviations",
        DEVIATIONS.len()
    );
    let expected: BTreeSet<(String, String)> = DEVIATIONS
        .iter()
        .map(|(f, i, _)| (f.to_string(), i.to_string()))
        .collect();
    let fixed: Vec<_> = expected.difference(&mismatches).collect();
    let new: Vec<_> = mismatches.difference(&expected).collect();
    assert!(
        fixed.is_empty() && new.is_empty(),
        "mismatches differ from DEVIATIONS.\nnew: {new:#?}\nnow matching (remove from DEVIATIONS): {fixed:#?}\n{details}"
    );
}
