//! Unit tables: base subjects (RFC 5256 §2.1), each search key, sort
//! ties, thread shapes (child before parent, missing parents, loops).

use postern_store::{Flags, MessageMeta, SystemFlags, meta_of};

use super::*;
use crate::wire::{CommandBody, ParseOptions, SearchProgram, SortCriterion, ThreadAlgorithm};

#[test]
fn base_subject_table() {
    let cases = [
        ("Re: hello", "hello"),
        ("RE: Re: re: hello", "hello"),
        ("Fwd: hello", "hello"),
        ("Fw: hello", "hello"),
        ("hello (fwd)", "hello"),
        ("hello (FWD) (fwd)  ", "hello"),
        ("[list] Re: hello", "hello"),
        ("Re[2]: hello", "hello"),
        ("Re [list]: hello", "hello"),
        ("[list] hello", "hello"),
        ("[Fwd: hello]", "hello"),
        ("[Fwd: Re: hello (fwd)]", "hello"),
        ("  Re:   hello \t world ", "hello world"),
        ("[only a blob]", "[only a blob]"),
        ("Re:", ""),
        ("", ""),
        ("Reply: hello", "Reply: hello"),
        ("=?utf-8?q?caf=C3=A9?=", "=?utf-8?q?caf=C3=A9?="),
    ];
    for (input, want) in cases {
        assert_eq!(base_subject(input), want, "{input:?}");
    }
}

/// One test message: its meta, flags and raw bytes.
struct Msg {
    raw: Vec<u8>,
    meta: MessageMeta,
    flags: Flags,
    internal_date: i64,
}

fn msg(headers: &str, body: &str, internal_date: i64) -> Msg {
    let raw = format!("{headers}\r\n{body}")
        .replace("\n", "\r\n")
        .replace("\r\r", "\r");
    let raw = raw.into_bytes();
    Msg {
        meta: meta_of(&raw),
        raw,
        flags: Flags::default(),
        internal_date,
    }
}

fn views(msgs: &[Msg]) -> Vec<MessageView<'_>> {
    msgs.iter()
        .enumerate()
        .map(|(i, m)| MessageView {
            seq: i as u32 + 1,
            uid: i as u32 * 10 + 10,
            flags: &m.flags,
            modseq: i as u64 + 1,
            size: m.raw.len() as u64,
            internal_date: m.internal_date,
            meta: &m.meta,
            raw: Some(&m.raw),
            sort_date: None,
        })
        .collect()
}

fn program(keys: &str) -> SearchProgram {
    let line = format!("a UID SEARCH {keys}");
    match crate::wire::parse_command(line.as_bytes(), &ParseOptions::default())
        .expect("search parses")
        .body
    {
        CommandBody::Search { program, .. } => program,
        other => panic!("{other:?}"),
    }
}

fn search(keys: &str, msgs: &[MessageView], saved: Option<&[u32]>) -> Vec<u32> {
    let p = program(keys);
    let ctx = SearchContext {
        max_seq: msgs.len() as u32,
        max_uid: msgs.last().map_or(0, |m| m.uid),
        saved,
        now: 1_710_000_000,
        first_recent: u32::MAX,
        saved_dates: None,
        object_ids: None,
        fts: None,
    };
    msgs.iter()
        .filter(|m| matches(&p, m, &ctx))
        .map(|m| m.seq)
        .collect()
}

const DAY: i64 = 86_400;
/// 2024-03-09 00:00:00 UTC.
const MAR9: i64 = 1_709_942_400;

fn sample() -> Vec<Msg> {
    let mut a = msg(
        "From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\nTo: Bob <bob@example.net>\nCc: carol@example.com\nSubject: Re: Quarterly\n  numbers\nDate: Sat, 09 Mar 2024 01:30:00 +0200\nMessage-ID: <a@x>\nX-Tag: alpha\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n",
        "Stra=C3=9Fe and harbour=\nmaster\n",
        MAR9 + 3600,
    );
    a.flags = Flags::new(
        SystemFlags(SystemFlags::SEEN.0 | SystemFlags::FLAGGED.0),
        ["$Work".to_string()],
    );
    let b = msg(
        "From: Ann <ann@example.net>\nTo: j@example.org\nBcc: secret@example.net\nSubject:\nDate: 8 Mar 2024 23:00 -0500\nContent-Type: multipart/mixed; boundary=b\n",
        "--b\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: base64\n\nY2Fm6Q==\n--b\nContent-Type: message/rfc822\n\nSubject: inner secret\n\ninner body\n--b--\n",
        MAR9 - DAY,
    );
    let c = msg("To: nobody@example.com\n", "plain\n", MAR9 + 2 * DAY);
    vec![a, b, c]
}

#[test]
fn every_search_key() {
    let msgs = sample();
    let v = views(&msgs);
    let cases: &[(&str, &[u32])] = &[
        ("ALL", &[1, 2, 3]),
        ("SEEN", &[1]),
        ("UNSEEN", &[2, 3]),
        ("FLAGGED UNANSWERED UNDELETED UNDRAFT", &[1]),
        ("ANSWERED", &[]),
        ("DELETED", &[]),
        ("DRAFT", &[]),
        ("UNFLAGGED", &[2, 3]),
        ("KEYWORD $work", &[1]),
        ("UNKEYWORD $Work", &[2, 3]),
        ("RECENT", &[]),
        ("NEW", &[]),
        ("OLD", &[1, 2, 3]),
        ("FROM \"J@EXAMPLE.ORG\"", &[1]),
        ("FROM ann", &[2]),
        ("TO bob", &[1]),
        ("TO j@", &[2]),
        ("CC carol", &[1]),
        ("BCC secret", &[2]),
        ("SUBJECT \"quarterly numbers\"", &[1]),
        ("SUBJECT \"\"", &[1, 2]),
        ("HEADER X-Tag ALPHA", &[1]),
        ("HEADER X-Tag \"\"", &[1]),
        ("HEADER Message-ID \"<a@x>\"", &[1]),
        ("BODY harbourmaster", &[1]),
        ("BODY \"café\"", &[2]),
        ("BODY inner", &[2]),
        ("BODY \"inner secret\"", &[]),
        ("TEXT \"inner secret\"", &[2]),
        ("TEXT alpha", &[1]),
        ("BEFORE 9-Mar-2024", &[2]),
        ("ON 9-Mar-2024", &[1]),
        ("SINCE 10-Mar-2024", &[3]),
        ("SENTON 9-Mar-2024", &[1]),
        ("SENTON 8-Mar-2024", &[2]),
        ("SENTBEFORE 9-Mar-2024", &[2, 3]),
        ("SENTSINCE 9-Mar-2024", &[1]),
        ("LARGER 1 SMALLER 100", &[3]),
        ("2:*", &[2, 3]),
        ("*", &[3]),
        ("UID 20", &[2]),
        ("UID 25:*", &[3]),
        ("$", &[1]),
        ("UID $", &[1]),
        ("MODSEQ 2", &[2, 3]),
        ("NOT SEEN", &[2, 3]),
        ("OR SEEN TO nobody", &[1, 3]),
        ("(SEEN FLAGGED) OR 2 3", &[]),
        ("YOUNGER 60", &[3]),
        ("OLDER 100000", &[2]),
        // Message 1 is exactly 54000 s old: YOUNGER, not OLDER (RFC 5032 §3).
        ("OLDER 54000", &[2]),
        ("YOUNGER 54000", &[1, 3]),
    ];
    for (keys, want) in cases {
        assert_eq!(search(keys, &v, Some(&[10])), *want, "{keys}");
    }
    // The literal path: CHARSET UTF-8 with 8-bit text, RFC 2047 decoded.
    let p = program("CHARSET UTF-8 FROM {7}\r\nJürgen");
    let ctx = SearchContext {
        max_seq: 3,
        max_uid: 30,
        saved: None,
        now: 0,
        first_recent: u32::MAX,
        saved_dates: None,
        object_ids: None,
        fts: None,
    };
    assert!(matches(&p, &v[0], &ctx));
    assert!(!matches(&p, &v[1], &ctx));
    assert!(
        !matches(&program("$"), &v[0], &ctx),
        "nothing saved: $ is empty"
    );
    // BODY with latin-1 base64: decoded before matching.
    let p = program("CHARSET UTF-8 BODY {5}\r\ncafé");
    assert!(matches(&p, &v[1], &ctx));
}

/// RFC 8514 §4.2: SAVED* compare the save date's UTC day; a message with
/// no save date read (expunged meanwhile) matches none of them.
#[test]
fn saved_date_keys_use_the_save_date_not_internaldate() {
    let msgs = sample();
    let v = views(&msgs);
    // Saved on 9 Mar 2024 (UIDs 10 and 20) whatever their INTERNALDATE;
    // UID 30's date was not read.
    let dates = std::collections::HashMap::from([(10, MAR9 + 23 * 3600), (20, MAR9)]);
    let ctx = SearchContext {
        max_seq: 3,
        max_uid: 30,
        saved: None,
        now: 0,
        first_recent: u32::MAX,
        saved_dates: Some(&dates),
        object_ids: None,
        fts: None,
    };
    let hits = |keys: &str| -> Vec<u32> {
        let p = program(keys);
        assert!(
            needs_saved_dates(&p) || keys == "SAVEDATESUPPORTED",
            "{keys}"
        );
        v.iter()
            .filter(|m| matches(&p, m, &ctx))
            .map(|m| m.seq)
            .collect()
    };
    assert_eq!(hits("SAVEDON 9-Mar-2024"), [1, 2]);
    assert_eq!(hits("SAVEDSINCE 10-Mar-2024"), [0u32; 0]);
    assert_eq!(hits("SAVEDBEFORE 10-Mar-2024"), [1, 2]);
    assert_eq!(hits("NOT SAVEDBEFORE 9-Mar-2024"), [1, 2, 3]);
    assert_eq!(hits("SAVEDATESUPPORTED"), [1, 2, 3]);
    assert!(!needs_saved_dates(&program("OR SEEN SINCE 1-Jan-2020")));
}

#[test]
fn needs_raw_and_charset() {
    assert!(!needs_raw(&program("FROM x SUBJECT y SENTON 1-Jan-2020")));
    assert!(needs_raw(&program("OR SEEN BODY x")));
    assert!(needs_raw(&program("NOT TEXT x")));
    assert!(needs_raw(&program("HEADER X-Spam yes")));
    assert!(!needs_raw(&program("HEADER subject yes")));
    assert_eq!(check_charset(&program("CHARSET utf-8 ALL")), Ok(()));
    assert_eq!(check_charset(&program("CHARSET US-ASCII TEXT x")), Ok(()));
    assert!(
        check_charset(&program("CHARSET KOI8-R ALL"))
            .is_err_and(|e| e.starts_with("[BADCHARSET (UTF-8 US-ASCII)]"))
    );
    assert!(check_charset(&program("CHARSET US-ASCII TEXT {2}\r\n\u{e9}")).is_err());
}

fn crit(spec: &str) -> Vec<SortCriterion> {
    let line = format!("a SORT ({spec}) UTF-8 ALL");
    match crate::wire::parse_command(line.as_bytes(), &ParseOptions::default())
        .expect("sort parses")
        .body
    {
        CommandBody::Sort { criteria, .. } => criteria,
        other => panic!("{other:?}"),
    }
}

#[test]
fn sort_keys_and_ties() {
    let msgs = vec![
        msg(
            "From: b@x\nTo: z@x\nSubject: Re: beta\nDate: 2 Jan 2024 00:00 +0000\n",
            "",
            300,
        ),
        msg("From: A <a@x>\nSubject: alpha\n", "xxxxxxxxxx", 100),
        msg(
            "From: c@x\nTo: y@x\nSubject: beta\nDate: 1 Jan 2024 00:00 +0000\n",
            "",
            300,
        ),
        msg(
            "From: Zed <b@x>\nSubject: [list] Alpha\nDate: garbage\n",
            "",
            200,
        ),
    ];
    let v = views(&msgs);
    let seqs = |spec: &str| -> Vec<u32> {
        sort(&crit(spec), &v)
            .into_iter()
            .map(|i| v[i].seq)
            .collect()
    };
    assert_eq!(seqs("ARRIVAL"), [2, 4, 1, 3], "ties by sequence number");
    assert_eq!(
        seqs("REVERSE ARRIVAL"),
        [1, 3, 4, 2],
        "REVERSE keeps ties ascending"
    );
    assert_eq!(seqs("SUBJECT"), [2, 4, 1, 3]);
    assert_eq!(seqs("SUBJECT REVERSE ARRIVAL"), [4, 2, 1, 3]);
    assert_eq!(seqs("FROM"), [2, 1, 4, 3]);
    assert_eq!(seqs("DISPLAYFROM"), [2, 1, 3, 4]);
    assert_eq!(seqs("TO"), [2, 4, 3, 1], "missing To sorts first");
    // No usable Date: INTERNALDATE (100, 200) before the 2024 dates.
    assert_eq!(seqs("DATE"), [2, 4, 3, 1]);
    let mut by_size: Vec<(u64, u32)> = v.iter().map(|m| (m.size, m.seq)).collect();
    by_size.sort();
    let want: Vec<u32> = by_size.iter().map(|&(_, s)| s).collect();
    assert_eq!(seqs("SIZE"), want);
}

fn threads(alg: ThreadAlgorithm, msgs: &[Msg], uid: bool) -> String {
    let v = views(msgs);
    let t = thread(alg, &v);
    String::from_utf8(encode_thread(&t, uid, &v)).expect("ascii")
}

fn tmsg(id: &str, refs: &str, subject: &str, day: u32) -> Msg {
    let mut h = String::new();
    if !id.is_empty() {
        h.push_str(&format!("Message-ID: <{id}>\n"));
    }
    if !refs.is_empty() {
        h.push_str(&format!("References: {refs}\n"));
    }
    h.push_str(&format!(
        "Subject: {subject}\nDate: {day} Jan 2024 00:00 +0000\n"
    ));
    msg(&h, "", 0)
}

#[test]
fn thread_shapes() {
    use ThreadAlgorithm::*;
    // A child that arrives before its parent.
    let m = vec![
        tmsg("c", "<p>", "Re: x", 2),
        tmsg("p", "", "x", 1),
        tmsg("d", "<p> <c>", "Re: x", 3),
    ];
    assert_eq!(threads(References.clone(), &m, false), "(2 1 3)");
    assert_eq!(threads(References.clone(), &m, true), "(20 10 30)");
    assert_eq!(threads(OrderedSubject, &m, false), "(2 (1)(3))");
    // Two replies to a missing parent: a dummy at the top.
    let m = vec![
        tmsg("a", "<gone>", "Re: y", 1),
        tmsg("b", "<gone>", "Re: y", 2),
        tmsg("z", "", "other", 3),
    ];
    assert_eq!(threads(References.clone(), &m, false), "((1)(2))(3)");
    // A missing parent with one child: the child is promoted.
    let m = vec![tmsg("a", "<gone1> <gone2>", "q", 1)];
    assert_eq!(threads(References.clone(), &m, false), "(1)");
    // RFC 5256 §3 step 1C: the parent presumed from message 2's
    // References (a, then c under it) is dropped once c itself says b is
    // its parent; that link would loop, so c ends up a root.
    let m = vec![
        tmsg("a", "", "one", 3),
        tmsg("b", "<a> <c>", "two", 2),
        tmsg("c", "<b>", "three", 1),
    ];
    assert_eq!(threads(References.clone(), &m, false), "(3 2)(1)");
    // A References loop is broken, nothing is lost.
    let m = vec![
        tmsg("l1", "<l2>", "loop", 1),
        tmsg("l2", "<l1>", "Re: loop", 2),
    ];
    assert_eq!(threads(References.clone(), &m, false), "(2 1)");
    // A duplicate Message-ID and a message without one stay separate,
    // then join by subject (RFC 5256 step 5).
    let m = vec![
        tmsg("dup", "", "same", 1),
        tmsg("dup", "", "same", 2),
        tmsg("", "", "Re: same", 3),
    ];
    assert_eq!(threads(References.clone(), &m, false), "((1)(2)(3))");
    // Subject-only threads: the non-reply is the parent.
    let m = vec![tmsg("r1", "", "Re: topic", 1), tmsg("r0", "", "topic", 2)];
    assert_eq!(threads(References.clone(), &m, false), "(2 1)");
    assert_eq!(threads(Other("REFS".into()), &m, false), "");
    assert!(thread_needs_raw(&References) && !thread_needs_raw(&OrderedSubject));
}

/// A random thread head: the threading fields in a random order, some
/// twice, some folded, odd name spellings and encoded words among them.
fn random_head(seed: &mut u64) -> Vec<u8> {
    let mut next = |n: u64| {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*seed >> 33) % n
    };
    let names = [
        "Message-ID",
        "message-id",
        "Message-ID ",
        "Message-ID\x0c",
        "In-Reply-To",
        "References",
        "references\t",
        "Date",
        "DATE",
        "Subject",
        "subject ",
    ];
    let values = [
        " <a@x>",
        "<b@x>",
        "   <c@x> <d@x>",
        " <a@x>\r\n\t<e@x>",
        " <f @ x>",
        " =?utf-8?q?<g@x>?= <h@x>",
        " no id here",
        " <",
        " Tue, 2 Jan 2024 10:00:00 +0100",
        " 1 Jan 99 00:00:00 +0000",
        " not a date",
        " Re: [list] plan\r\n (fwd)",
        " =?utf-8?q?caf=C3=A9?= menu",
        "",
    ];
    let mut head = Vec::new();
    for _ in 0..next(7) {
        let name = names[next(names.len() as u64) as usize];
        let value = values[next(values.len() as u64) as usize];
        head.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
    }
    // Most mail has a Date (after the others: the first one counts).
    if next(10) < 6 {
        head.extend_from_slice(
            format!("Date: {} Jan 2024 00:00 +0000\r\n", next(28) + 1).as_bytes(),
        );
    }
    head.extend_from_slice(b"\r\n");
    head
}

#[test]
fn thread_keys_from_a_head_equal_those_from_its_parsed_header() {
    let mut seed = 19;
    let mut dated = 0;
    let mut msgs = Vec::new();
    for _ in 0..3000 {
        let head = random_head(&mut seed);
        msgs.push(Msg {
            meta: meta_of(&head),
            raw: head,
            flags: Flags::default(),
            internal_date: 7,
        });
    }
    let v = views(&msgs);
    let mut keys = Vec::new();
    for m in &v {
        let raw = m.raw.expect("a head");
        let from_view = HeadKeys::of_view(m);
        match HeadKeys::of(m.seq, raw) {
            Some(k) => {
                dated += 1;
                assert_eq!(k, from_view, "{:?}", String::from_utf8_lossy(raw));
                keys.push(k);
            }
            // No usable Date: the INTERNALDATE, as the view has it.
            None => {
                assert_eq!(from_view.date, (7, m.seq));
                keys.push(from_view);
            }
        }
    }
    assert!(dated > 1000 && dated < 2900, "both kinds: {dated}");
    let numbers: Vec<u32> = v.iter().map(|m| m.uid).collect();
    assert_eq!(
        String::from_utf8(encode_thread_numbers(&references_by_keys(&keys), &numbers)),
        String::from_utf8(encode_thread(
            &thread(ThreadAlgorithm::References, &v),
            true,
            &v
        )),
    );
}
