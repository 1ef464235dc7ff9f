//! Every SEARCH, SORT and THREAD answer Dovecot 2.3.19 gave for the shared
//! corpus (`../shared/corpus`), compared byte for byte with what `query`
//! makes of the same messages stored through `postern_store`. Where we
//! knowingly differ the command is listed in `DEVIATIONS`, and the test
//! fails unless the mismatches are exactly that list. SEARCH, SORT and
//! THREAD read the full-text index first, as the session does, so the
//! answers are checked with the index on.

use std::collections::BTreeSet;
use std::path::Path;

use postern_store::{MessageInfo, MessageMeta, NewMessage};

use crate::corpus_fixture::{CORPUS, internal_date, latin1};

use super::{
    HeadKeys, MessageView, SearchContext, check_charset, decide, encode_thread,
    encode_thread_numbers, fts_queries, matches, needs_raw, references_by_keys, sort, thread,
    thread_needs_raw,
};
use crate::wire::{CommandBody, ParseOptions, SearchProgram, parse_command};

const GOLDEN: &str = "golden/dovecot-2.3.19.json";

/// Known differences from Dovecot: (command, why).
const DEVIATIONS: &[(&str, &str)] = &[(
    "UID THREAD REFS UTF-8 ALL",
    "REFS is Dovecot's own algorithm, not one of RFC 5256 §3's; Postern \
         does not advertise it and answers NO",
)];

struct Loaded {
    _dir: tempfile::TempDir,
    store: postern_store::Store,
    mailbox: postern_store::MailboxId,
    infos: Vec<MessageInfo>,
    metas: Vec<MessageMeta>,
    raws: Vec<Vec<u8>>,
    /// The store's thread head of each message, with the meta parsed
    /// from it, as the session reads THREAD REFERENCES.
    heads: Vec<Option<(MessageMeta, Vec<u8>)>>,
}

async fn load(messages: &[serde_json::Value]) -> Loaded {
    let corpus = Path::new(CORPUS);
    let (dir, store, user, inbox_id) = crate::corpus_fixture::store_with_inbox().await;
    for m in messages {
        let file = m["file"].as_str().expect("file");
        let raw = std::fs::read(corpus.join("messages").join(file)).expect("message file");
        let date = internal_date(m["internaldate_appended"].as_str().expect("date"));
        store
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
    }
    while store.fts_index_batch().await.expect("index") > 0 {}
    let infos = store.messages(inbox_id).await.expect("list");
    let mut metas = Vec::new();
    let mut raws = Vec::new();
    for info in &infos {
        metas.push(
            store
                .message_meta(inbox_id, info.uid)
                .await
                .expect("meta")
                .expect("meta present"),
        );
        raws.push(store.read_blob(&info.blob).await.expect("blob"));
    }
    let heads: Vec<_> = store
        .thread_heads(inbox_id)
        .await
        .expect("thread heads")
        .into_iter()
        .map(|(_, h)| h.map(|h| (postern_store::meta_of(&h), h)))
        .collect();
    assert_eq!(heads.len(), infos.len());
    assert!(
        heads.iter().filter(|h| h.is_some()).count() * 2 > heads.len(),
        "most corpus messages have a thread head"
    );
    Loaded {
        _dir: dir,
        store,
        mailbox: inbox_id,
        infos,
        metas,
        raws,
        heads,
    }
}

/// [`views`] with the raw bytes, each message's thread head standing in
/// for them where it has one (the session's THREAD REFERENCES).
fn head_views(l: &Loaded) -> Vec<MessageView<'_>> {
    views(l, true)
        .into_iter()
        .zip(&l.heads)
        .map(|(v, h)| match h {
            Some((meta, head)) => MessageView {
                meta,
                raw: Some(head),
                ..v
            },
            None => v,
        })
        .collect()
}

fn views<'a>(l: &'a Loaded, with_raw: bool) -> Vec<MessageView<'a>> {
    l.infos
        .iter()
        .zip(&l.metas)
        .zip(&l.raws)
        .enumerate()
        .map(|(i, ((info, meta), raw))| MessageView {
            seq: u32::try_from(i + 1).expect("few messages"),
            uid: info.uid.get(),
            flags: &info.flags,
            modseq: info.modseq.0,
            size: info.size,
            internal_date: info.internal_date,
            meta,
            raw: with_raw.then_some(raw.as_slice()),
            // As the session gives it: the store's value, unless the
            // bytes are read (the goldens pin that both agree).
            sort_date: (!with_raw)
                .then(|| postern_store::sort_date(&meta.envelope, info.internal_date)),
        })
        .collect()
}

/// The untagged answer and the status (first word and response code).
fn answer(command: &[u8], l: &Loaded) -> (Vec<u8>, String) {
    let mut line = b"t1 ".to_vec();
    line.extend_from_slice(command);
    let cmd = parse_command(&line, &ParseOptions::default()).expect("golden command parses");
    let all = views(l, true);
    let ctx = SearchContext {
        max_seq: u32::try_from(all.len()).expect("few messages"),
        max_uid: all.last().map_or(0, |m| m.uid),
        saved: None,
        now: 0,
        first_recent: u32::MAX,
        saved_dates: None,
        object_ids: None,
        fts: None,
    };
    // Raw bytes exactly when the API asks for them, as the session loads;
    // the index decides first where it can.
    let selected =
        |program: &SearchProgram, raw: bool, heads: bool| -> Result<Vec<MessageView>, String> {
            check_charset(program)?;
            let (store, mailbox) = (l.store.clone(), l.mailbox);
            let queries = fts_queries(program);
            let fts = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(store.fts_search(mailbox, queries))
            })
            .expect("fts search");
            let indexed = SearchContext {
                fts: fts.as_ref(),
                ..ctx
            };
            let bare = views(l, false);
            let msgs = if heads && !needs_raw(program) {
                head_views(l)
            } else {
                views(l, raw || needs_raw(program))
            };
            Ok(msgs
                .into_iter()
                .zip(&bare)
                .filter(|(m, b)| {
                    decide(program, b, &indexed).unwrap_or_else(|| matches(program, m, &ctx))
                })
                .map(|(m, _)| m)
                .collect())
        };
    let number = |m: &MessageView, uid: bool| if uid { m.uid } else { m.seq };
    let list = |name: &str, nums: Vec<u32>| {
        let mut s = format!("* {name}");
        for n in nums {
            s.push_str(&format!(" {n}"));
        }
        s.push_str("\r\n");
        s.into_bytes()
    };
    let no = |e: String| {
        let code = e
            .strip_prefix('[')
            .and_then(|r| r.split([' ', ']']).next())
            .unwrap_or_default();
        (Vec::new(), format!("NO [{code}]"))
    };
    match cmd.body {
        CommandBody::Search { uid, program, .. } => match selected(&program, false, false) {
            Ok(msgs) => (
                list("SEARCH", msgs.iter().map(|m| number(m, uid)).collect()),
                "OK".into(),
            ),
            Err(e) => no(e),
        },
        CommandBody::Sort {
            uid,
            criteria,
            program,
            ..
        } => match selected(&program, false, false) {
            Ok(msgs) => {
                let order = sort(&criteria, &msgs);
                (
                    list(
                        "SORT",
                        order.iter().map(|&i| number(&msgs[i], uid)).collect(),
                    ),
                    "OK".into(),
                )
            }
            Err(e) => no(e),
        },
        CommandBody::Thread {
            uid,
            algorithm,
            program,
        } => {
            if let crate::wire::ThreadAlgorithm::Other(_) = algorithm {
                return (Vec::new(), "NO".into());
            }
            let heads = algorithm == crate::wire::ThreadAlgorithm::References;
            match selected(&program, thread_needs_raw(&algorithm), heads) {
                Ok(msgs) => {
                    let tree = thread(algorithm, &msgs);
                    let threads = encode_thread(&tree, uid, &msgs);
                    if heads {
                        // The session's way from the heads alone (the
                        // full view where a head cannot say) answers alike.
                        let full = views(l, true);
                        let keys: Vec<HeadKeys> = msgs
                            .iter()
                            .map(|m| {
                                let i = m.seq as usize - 1;
                                l.heads[i]
                                    .as_ref()
                                    .and_then(|(_, h)| HeadKeys::of(m.seq, h))
                                    .unwrap_or_else(|| HeadKeys::of_view(&full[i]))
                            })
                            .collect();
                        let numbers: Vec<u32> = msgs.iter().map(|m| number(m, uid)).collect();
                        let by_keys = encode_thread_numbers(&references_by_keys(&keys), &numbers);
                        assert_eq!(
                            String::from_utf8_lossy(&by_keys),
                            String::from_utf8_lossy(&threads),
                            "THREAD from the head keys: {}",
                            String::from_utf8_lossy(command)
                        );
                    }
                    let mut out = b"* THREAD".to_vec();
                    if !tree.is_empty() {
                        out.push(b' ');
                        out.extend_from_slice(&threads);
                    }
                    out.extend_from_slice(b"\r\n");
                    (out, "OK".into())
                }
                Err(e) => no(e),
            }
        }
        other => panic!("not a search command: {other:?}"),
    }
}

/// `OK`, or `NO [CODE]` with the code's name only.
fn status_of(s: &str) -> String {
    let mut words = s.split(' ');
    let first = words.next().unwrap_or_default();
    match words.next() {
        Some(w) if w.starts_with('[') => {
            let code = w.trim_start_matches('[').trim_end_matches(']');
            format!("{first} [{code}]")
        }
        _ => first.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn search_sort_thread_match_dovecot_2_3_19() {
    let path = Path::new(CORPUS).join(GOLDEN);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the shared corpus is missing: cannot read {}: {e}",
            path.display()
        )
    });
    let golden: serde_json::Value = serde_json::from_str(&text).expect("golden JSON");
    let loaded = load(golden["messages"].as_array().expect("messages")).await;

    let mut mismatches: BTreeSet<String> = BTreeSet::new();
    let mut details = String::new();
    let mut tally = Vec::new();
    for family in ["search", "sort", "thread"] {
        let records = golden[family].as_array().expect(family);
        let mut same = 0;
        for r in records {
            let command = r["command"].as_str().expect("command");
            let theirs = latin1(r["response"].as_str().expect("response"));
            let their_status = status_of(r["status"].as_str().expect("status"));
            let (ours, our_status) = answer(&latin1(command), &loaded);
            if ours == theirs && our_status == their_status {
                same += 1;
            } else {
                mismatches.insert(command.to_string());
                details.push_str(&format!(
                    "--- {}\n  dovecot: {} {their_status}\n  postern: {} {our_status}\n",
                    command.escape_debug(),
                    String::from_utf8_lossy(&theirs).escape_debug(),
                    String::from_utf8_lossy(&ours).escape_debug(),
                ));
            }
        }
        tally.push(format!("{family} {same}/{}", records.len()));
    }
    println!("dovecot corpus: {} identical", tally.join(", "));
    let expected: BTreeSet<String> = DEVIATIONS.iter().map(|(c, _)| c.to_string()).collect();
    let fixed: Vec<_> = expected.difference(&mismatches).collect();
    let new: Vec<_> = mismatches.difference(&expected).collect();
    assert!(
        fixed.is_empty() && new.is_empty(),
        "mismatches differ from DEVIATIONS.\nnew: {new:#?}\nnow matching (remove from DEVIATIONS): {fixed:#?}\n{details}"
    );
}
