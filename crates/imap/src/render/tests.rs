//! Unit tests for the string writers and section specs.

use super::*;

fn w(f: impl Fn(&mut Vec<u8>)) -> String {
    let mut v = Vec::new();
    f(&mut v);
    String::from_utf8_lossy(&v).into_owned()
}

#[test]
fn strings_are_quoted_escaped_or_literal() {
    for (input, want) in [
        (&b"plain"[..], "\"plain\""),
        (b"", "\"\""),
        (b"odd\"quote", "\"odd\\\"quote\""),
        (b"a\\\\\\\\\\b", "{7}\r\na\\\\\\\\\\b"),
        (b"caf\xc3\xa9", "{5}\r\ncaf\u{e9}"),
        (b"two\r\nlines", "{10}\r\ntwo\r\nlines"),
    ] {
        assert_eq!(w(|o| string(o, input)), want, "{input:?}");
    }
    assert_eq!(w(|o| nstring(o, None)), "NIL");
    assert_eq!(w(|o| nstring_nolf(o, Some(b"a\r\n b"))), "\"a b\"");
}

#[test]
fn strings_for_humans_unfold_and_collapse_white_space() {
    for (input, want) in [
        (&b"Hello world"[..], "\"Hello world\""),
        (b"", "\"\""),
        (b"   ", "\"\""),
        (b"a\r\n b", "{3}\r\na b"),
        (b"a\tb", "{3}\r\na b"),
        (b"a  b ", "{3}\r\na b"),
        (b"say \"hi\"", "{8}\r\nsay \"hi\""),
    ] {
        assert_eq!(w(|o| string_for_humans(o, input)), want, "{input:?}");
    }
}

#[test]
fn section_specs_parse() {
    let p = |s| SectionSpec::parse(s);
    assert_eq!(
        p("1.2.MIME"),
        Some(SectionSpec {
            parts: vec![1, 2],
            what: SectionPart::Mime
        })
    );
    assert_eq!(
        p("header.fields (From Subject)"),
        Some(SectionSpec {
            parts: vec![],
            what: SectionPart::HeaderFields(vec!["FROM".into(), "SUBJECT".into()])
        })
    );
    assert_eq!(p("").map(|s| s.what), Some(SectionPart::Whole));
    assert_eq!(p("3").map(|s| s.parts), Some(vec![3]));
    assert_eq!(p("MIME"), None, "MIME needs a part number");
    assert_eq!(p("0"), None);
    assert_eq!(p("1."), None);
    assert_eq!(p("BOGUS"), None);
}

#[test]
fn partial_clamps_to_the_data() {
    assert_eq!(partial(b"hello", 1, Some(3)), b"ell");
    assert_eq!(partial(b"hello", 3, Some(100)), b"lo");
    assert_eq!(partial(b"hello", 9, Some(1)), b"");
    assert_eq!(partial(b"hello", 0, None), b"hello");
}

use postern_store::meta_of;

const MSG: &[u8] = b"From: \"Ann A.\" <ann@example.org>\r\nTo: Team: b@x.y, c@x.y;\r\nSubject: two\r\n  lines\r\nX-Note: kept\r\n\tfolded\r\nsubject : second\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-rot13\r\n\r\nuryyb\r\n--b--\r\n";

#[test]
fn envelope_writes_groups_and_defaults_sender_to_from() {
    let meta = meta_of(MSG);
    let env = String::from_utf8(envelope(&meta.envelope)).expect("ascii");
    assert_eq!(
        env,
        "(NIL \"second\" ((\"Ann A.\" NIL \"ann\" \"example.org\")) ((\"Ann A.\" NIL \"ann\" \"example.org\")) ((\"Ann A.\" NIL \"ann\" \"example.org\")) ((NIL NIL \"Team\" NIL)(NIL NIL \"b\" \"x.y\")(NIL NIL \"c\" \"x.y\")(NIL NIL NIL NIL)) NIL NIL NIL NIL)"
    );
}

#[test]
fn empty_angle_address_gets_placeholders() {
    let meta = meta_of(b"From: <>\r\n\r\n");
    let env = String::from_utf8(envelope(&meta.envelope)).expect("ascii");
    assert!(
        env.contains("((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\"))"),
        "{env}"
    );
}

#[test]
fn header_fields_not_keeps_folds_and_ends_with_the_blank_line() {
    let meta = meta_of(MSG);
    let spec =
        SectionSpec::parse("HEADER.FIELDS.NOT (subject from to content-type)").expect("spec");
    let got = section(MSG, &meta, &spec).expect("section");
    assert_eq!(got, b"X-Note: kept\r\n\tfolded\r\n\r\n");
    let spec = SectionSpec::parse("HEADER.FIELDS (SUBJECT)").expect("spec");
    let got = section(MSG, &meta, &spec).expect("section");
    assert_eq!(
        got, b"Subject: two\r\n  lines\r\nsubject : second\r\n\r\n",
        "case-insensitive, `Subject :` counts"
    );
}

#[test]
fn sections_of_an_attached_message() {
    let meta = meta_of(MSG);
    let get = |s: &str| section(MSG, &meta, &SectionSpec::parse(s).expect("spec"));
    assert_eq!(
        get("3.HEADER").as_deref(),
        Some(&b"Subject: inner\r\n\r\n"[..])
    );
    assert_eq!(get("3.TEXT").as_deref(), Some(&b"inner body"[..]));
    assert_eq!(get("3.1").as_deref(), Some(&b"inner body"[..]));
    assert_eq!(
        get("3.1.MIME").as_deref(),
        Some(&b"Subject: inner\r\n\r\n"[..])
    );
    assert_eq!(get("1.HEADER"), None, "not a message/rfc822 part");
    assert_eq!(get("9"), None);
}

#[test]
fn binary_undoes_the_transfer_encoding() {
    let meta = meta_of(MSG);
    assert_eq!(binary(MSG, &meta, &[1]), Ok("café".as_bytes().to_vec()));
    assert_eq!(binary(MSG, &meta, &[2]), Ok(b"hello".to_vec()));
    assert_eq!(
        binary(MSG, &meta, &[4]),
        Err(BinaryError::UnknownCte("x-rot13".into()))
    );
    assert_eq!(binary(MSG, &meta, &[7]), Err(BinaryError::NoSuchPart));
    assert_eq!(binary(MSG, &meta, &[]), Ok(MSG.to_vec()));
}

/// Every prefix of a message, and each byte replaced by a delimiter,
/// parses and renders without a panic, whatever the part numbers asked.
#[test]
fn truncated_and_mangled_messages_never_panic() {
    let mut inputs: Vec<Vec<u8>> = (0..=MSG.len()).map(|n| MSG[..n].to_vec()).collect();
    for i in 0..MSG.len() {
        for b in [b'\n', b'-', b'"', b'(', b'<', 0xff] {
            let mut m = MSG.to_vec();
            m[i] = b;
            inputs.push(m);
        }
    }
    for raw in &inputs {
        render_everything(raw);
    }
}

pub(super) fn render_everything(raw: &[u8]) {
    let meta = meta_of(raw);
    let _ = envelope(&meta.envelope);
    let _ = body_structure(&meta, raw, false);
    let _ = body_structure(&meta, raw, true);
    for parts in [
        vec![],
        vec![1],
        vec![2],
        vec![3],
        vec![1, 1],
        vec![3, 1],
        vec![3, 2],
        vec![2, 1, 1],
    ] {
        for what in [
            SectionPart::Whole,
            SectionPart::Header,
            SectionPart::Text,
            SectionPart::Mime,
            SectionPart::HeaderFields(vec!["FROM".into()]),
            SectionPart::HeaderFieldsNot(vec!["FROM".into()]),
        ] {
            let spec = SectionSpec {
                parts: parts.clone(),
                what,
            };
            if let Some(d) = section(raw, &meta, &spec) {
                let _ = partial(&d, 3, Some(5));
            }
        }
        let _ = binary(raw, &meta, &parts);
    }
}
