//! THREAD (RFC 5256 §3): ORDEREDSUBJECT and REFERENCES, and the
//! `thread-list` syntax of the answer. REFERENCES reads each message's
//! links, date and subject either from a loaded view or, for a large
//! mailbox, from the store's thread head reduced to [`HeadKeys`] in one
//! pass (a test pins that both give the same keys); both ways link the
//! messages by numbered ids (`thread_keys.rs`), and only the roots'
//! subjects are decoded (step 5).

use std::collections::HashMap;
use std::io::Write as _;

use super::MessageView;
use super::sort::{base_subject_ext, sort_fold, subject};
use super::text::{decode_header, first_field, header_values, sent_date, utf8_or_latin1};
use super::thread_keys::{self, KeyList, Nodes};
use crate::wire::ThreadAlgorithm;

/// One node of a thread tree: a message (an index into the `msgs` given to
/// [`thread`]) or, for a missing parent, a dummy (`message: None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadNode {
    pub message: Option<usize>,
    pub children: Vec<ThreadNode>,
}

/// REFERENCES reads the References field, which the meta does not cache:
/// the session passes at least the header (`raw[..meta.body.body_start]`).
pub fn thread_needs_raw(alg: &ThreadAlgorithm) -> bool {
    matches!(alg, ThreadAlgorithm::References)
}

/// The threads of `msgs` (in sequence order). An algorithm other than the
/// two of RFC 5256 gives no threads; the session answers NO to it first.
pub fn thread(alg: ThreadAlgorithm, msgs: &[MessageView]) -> Vec<ThreadNode> {
    match alg {
        ThreadAlgorithm::OrderedSubject => {
            let dates: Vec<(i64, u32)> = msgs.iter().map(view_date).collect();
            ordered_subject(msgs, &dates)
        }
        ThreadAlgorithm::References => references(msgs),
        ThreadAlgorithm::Other(_) => Vec::new(),
    }
}

/// RFC 5256 §3: a message's sent date, or its INTERNALDATE without a
/// usable one; ties go by sequence number.
fn view_date(m: &MessageView) -> (i64, u32) {
    let t = sent_date(m).map_or(m.internal_date, |(_, t)| t);
    (t, m.seq)
}

/// What REFERENCES links a message by (RFC 5256 §3 step 1): the first id
/// of its Message-ID field, and the ids of its References fields (without
/// any, the first id of In-Reply-To).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links {
    pub id: Option<String>,
    pub refs: Vec<String>,
}

/// The links of a message loaded with its header (`raw`, which
/// [`thread_needs_raw`] asks for); without it, In-Reply-To alone.
fn view_links(m: &MessageView) -> Links {
    let env = &m.meta.envelope;
    let id = env
        .message_id
        .as_deref()
        .and_then(|v| msg_ids(v).into_iter().next());
    let mut refs: Vec<String> = match m.raw {
        Some(raw) => {
            let h = raw
                .get(m.meta.body.header_start as usize..m.meta.body.body_start as usize)
                .unwrap_or_default();
            header_values(h, "References")
                .iter()
                .flat_map(|v| msg_ids(v))
                .collect()
        }
        None => Vec::new(),
    };
    if refs.is_empty() {
        refs = env
            .in_reply_to
            .as_deref()
            .and_then(|v| msg_ids(v).into_iter().next())
            .into_iter()
            .collect();
    }
    Links { id, refs }
}

fn leaf(i: usize) -> ThreadNode {
    ThreadNode {
        message: Some(i),
        children: Vec::new(),
    }
}

/// RFC 5256 §3 ORDEREDSUBJECT: sorted by base subject then sent date;
/// each run of one subject is a thread whose first message is the parent
/// of all the others; threads ordered by their first message's date.
fn ordered_subject(msgs: &[MessageView], dates: &[(i64, u32)]) -> Vec<ThreadNode> {
    let subjects: Vec<String> = msgs
        .iter()
        .map(|m| sort_fold(&base_subject_ext(&subject(m)).0))
        .collect();
    let mut order: Vec<usize> = (0..msgs.len()).collect();
    order.sort_by(|&a, &b| (&subjects[a], dates[a]).cmp(&(&subjects[b], dates[b])));
    let mut threads: Vec<ThreadNode> = Vec::new();
    let mut last: Option<&str> = None;
    for i in order {
        match threads.last_mut() {
            Some(t) if last == Some(subjects[i].as_str()) => t.children.push(leaf(i)),
            _ => threads.push(leaf(i)),
        }
        last = Some(&subjects[i]);
    }
    threads.sort_by_key(|t| t.message.map(|i| dates[i]));
    threads
}

/// The `<...>` message ids in a header value, in order.
fn msg_ids(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = v;
    while let Some(open) = rest.find('<') {
        let Some(len) = rest[open..].find('>') else {
            break;
        };
        let id: String = rest[open + 1..open + len]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !id.is_empty() && !id.contains('<') {
            out.push(id);
        }
        rest = &rest[open + len + 1..];
    }
    out
}

/// RFC 5256 §3 REFERENCES (after Jamie Zawinski's algorithm) over
/// messages in sequence order.
pub fn references(msgs: &[MessageView]) -> Vec<ThreadNode> {
    let mut keys = KeyList::with_capacity(msgs.len());
    for m in msgs {
        keys.push_links(&view_links(m), view_date(m));
    }
    keys.release_ids();
    references_of(&keys, |m| subject(&msgs[m]))
}

/// REFERENCES over messages known by their [`HeadKeys`] (in sequence
/// order): the same threads as [`references`] over their heads.
pub fn references_by_keys(keys: &[HeadKeys]) -> Vec<ThreadNode> {
    let mut list = KeyList::with_capacity(keys.len());
    for k in keys {
        list.push(k);
    }
    references_by_list(list)
}

/// [`references_by_keys`] over keys gathered compactly.
pub fn references_by_list(mut keys: KeyList) -> Vec<ThreadNode> {
    keys.release_ids();
    references_of(&keys, |m| {
        let s = keys.subject(m);
        if s.is_empty() {
            String::new()
        } else {
            decode_header(s)
        }
    })
}

/// What REFERENCES reads of a thread head, kept compactly while a
/// mailbox's heads stream by (`HeadKeys::of`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeadKeys {
    pub links: Links,
    /// The sent date (or INTERNALDATE) and the sequence number.
    pub date: (i64, u32),
    /// The first Subject field, raw (decoded only for a root: step 5).
    pub subject: Option<Vec<u8>>,
}

impl HeadKeys {
    /// The keys of message `seq` from its thread head, in one pass over
    /// its fields; `None` when the head has no usable Date, whose place
    /// the INTERNALDATE takes ([`HeadKeys::of_view`] then reads it).
    /// Each field is read as the view's way reads it: Date, Subject and
    /// References as `header_fields` gives them (the first Date and
    /// Subject), Message-ID and In-Reply-To as the envelope keeps them
    /// (the last of each, its name trimmed of blanks only).
    pub fn of(seq: u32, head: &[u8]) -> Option<HeadKeys> {
        let mut date: Option<&[u8]> = None;
        let mut subject: Option<&[u8]> = None;
        let mut message_id: Option<&[u8]> = None;
        let mut in_reply_to: Option<&[u8]> = None;
        let mut refs: Vec<String> = Vec::new();
        head_fields(head, |name, value| {
            // As `header_fields`: the name without trailing white space,
            // the value without the one space after the colon.
            let listed = name.trim_ascii_end();
            let listed_value = value.strip_prefix(b" ").unwrap_or(value);
            if listed.eq_ignore_ascii_case(b"date") {
                date.get_or_insert(listed_value);
            } else if listed.eq_ignore_ascii_case(b"subject") {
                subject.get_or_insert(listed_value);
            } else if listed.eq_ignore_ascii_case(b"references") {
                let text = utf8_or_latin1(listed_value);
                // Unfolding changes no id: `msg_ids` drops white space.
                if text.contains("=?") {
                    refs.extend(msg_ids(&decode_header(listed_value)));
                } else {
                    refs.extend(msg_ids(&text));
                }
            }
            // As the envelope: the name trimmed of blanks only.
            let mut n = name;
            while let [rest @ .., b' ' | b'\t'] = n {
                n = rest;
            }
            if n.eq_ignore_ascii_case(b"message-id") {
                message_id = Some(value);
            } else if n.eq_ignore_ascii_case(b"in-reply-to") {
                in_reply_to = Some(value);
            }
        });
        let (_, t) = postern_store::sent_date_of(date?)?;
        let first_id = |v: &[u8]| msg_ids(&utf8_or_latin1(v)).into_iter().next();
        if refs.is_empty() {
            refs.extend(in_reply_to.and_then(first_id));
        }
        Some(HeadKeys {
            links: Links {
                id: message_id.and_then(first_id),
                refs,
            },
            date: (t, seq),
            subject: subject.map(<[u8]>::to_vec),
        })
    }
}

/// Calls `f` with each field of a thread head: its name as written up to
/// the colon and its value after the colon up to the end of its last
/// line (folds kept, the line end not). A thread head holds only fields
/// and their continuation lines, and ends with an empty line.
fn head_fields<'h>(head: &'h [u8], mut f: impl FnMut(&'h [u8], &'h [u8])) {
    // (start, colon, end of the last line's content) of the open field.
    let mut open: Option<(usize, usize, usize)> = None;
    let mut pos = 0;
    while pos < head.len() {
        let next = head[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(head.len(), |i| pos + i + 1);
        let line = &head[pos..next];
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        let end = pos + content.len();
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if let Some(o) = &mut open {
                o.2 = end;
            }
        } else {
            if let Some((s, c, e)) = open.take() {
                f(&head[s..c], &head[c + 1..e]);
            }
            open = content
                .iter()
                .position(|&b| b == b':')
                .map(|c| (pos, pos + c, end));
        }
        pos = next;
    }
    if let Some((s, c, e)) = open {
        f(&head[s..c], &head[c + 1..e]);
    }
}

impl HeadKeys {
    /// The keys of a message loaded with its header (`raw`), as
    /// [`references`] reads it.
    pub fn of_view(m: &MessageView) -> HeadKeys {
        HeadKeys {
            links: view_links(m),
            date: view_date(m),
            subject: first_field(m, "Subject"),
        }
    }
}

fn references_of(keys: &KeyList, subject_of: impl Fn(usize) -> String) -> Vec<ThreadNode> {
    // (1) Link the containers.
    let a = thread_keys::link(keys);
    // (2) The root set; (3) the id table is gone already.
    let roots = a.roots();
    // (4) Prune dummies.
    let mut roots: Vec<ThreadNode> = prune(&a, roots, true);
    // (5) Gather roots by base subject.
    roots = group_by_subject(subject_of, roots);
    // (6) Sort siblings by date, a dummy by its first child's.
    sort_nodes(&mut roots, keys.dates());
    roots
}

fn prune(a: &Nodes, list: impl IntoIterator<Item = u32>, top: bool) -> Vec<ThreadNode> {
    let mut out = Vec::new();
    for n in list {
        let children = prune(a, a.children(n), false);
        match a.message(n) {
            Some(m) => out.push(ThreadNode {
                message: Some(m),
                children,
            }),
            None if children.is_empty() => {}
            // A dummy's children take its place, except at the top where
            // that would split a thread (RFC 5256 §3 step 4B).
            None if !top || children.len() == 1 => out.extend(children),
            None => out.push(ThreadNode {
                message: None,
                children,
            }),
        }
    }
    out
}

/// RFC 5256 §3 step 5: roots with the same base subject are merged.
fn group_by_subject(
    subject_of: impl Fn(usize) -> String,
    roots: Vec<ThreadNode>,
) -> Vec<ThreadNode> {
    // The roots' folded base subjects in one buffer (a string per root
    // would leave as many small chunks for the allocator to sort out).
    let mut text = String::new();
    let mut at: Vec<Option<(usize, usize, bool)>> = Vec::with_capacity(roots.len());
    for t in &roots {
        let m = t
            .message
            .or_else(|| t.children.first().and_then(|c| c.message));
        at.push(m.and_then(|m| {
            let (s, reply) = base_subject_ext(&subject_of(m));
            (!s.is_empty()).then(|| {
                let start = text.len();
                text.push_str(&sort_fold(&s));
                (start, text.len(), reply)
            })
        }));
    }
    let subjects: Vec<Option<(&str, bool)>> = at
        .iter()
        .map(|x| x.map(|(a, b, reply)| (&text[a..b], reply)))
        .collect();
    drop(at);
    let mut table: HashMap<&str, usize> = HashMap::with_capacity(roots.len());
    for (i, s) in subjects.iter().enumerate() {
        let Some((s, reply)) = *s else { continue };
        match table.get(s) {
            None => {
                table.insert(s, i);
            }
            Some(&t) => {
                let t_reply = subjects[t].as_ref().is_some_and(|x| x.1);
                let better = (roots[i].message.is_none() && roots[t].message.is_some())
                    || (roots[t].message.is_some()
                        && roots[i].message.is_some()
                        && t_reply
                        && !reply);
                if better {
                    table.insert(s, i);
                }
            }
        }
    }
    let mut slots: Vec<Option<ThreadNode>> = roots.into_iter().map(Some).collect();
    for i in 0..slots.len() {
        let Some((s, reply)) = &subjects[i] else {
            continue;
        };
        let t = table[s];
        if t == i || slots[i].is_none() {
            continue;
        }
        let this = slots[i].take().expect("checked above");
        let that = slots[t].take().expect("the table entry stays in place");
        let that_reply = subjects[t].as_ref().is_some_and(|x| x.1);
        let merged = match (this.message, that.message) {
            (None, None) => {
                let mut that = that;
                that.children.extend(this.children);
                that
            }
            (Some(_), None) => {
                let mut that = that;
                that.children.push(this);
                that
            }
            (None, Some(_)) => {
                let mut this = this;
                this.children.push(that);
                this
            }
            (Some(_), Some(_)) if *reply && !that_reply => {
                let mut that = that;
                that.children.push(this);
                that
            }
            (Some(_), Some(_)) if !*reply && that_reply => {
                let mut this = this;
                this.children.push(that);
                this
            }
            _ => ThreadNode {
                message: None,
                children: vec![that, this],
            },
        };
        slots[t] = Some(merged);
    }
    slots.into_iter().flatten().collect()
}

fn sort_nodes(list: &mut [ThreadNode], dates: &[(i64, u32)]) {
    for n in list.iter_mut() {
        sort_nodes(&mut n.children, dates);
    }
    list.sort_by_key(|n| node_date(n, dates));
}

fn node_date(n: &ThreadNode, dates: &[(i64, u32)]) -> Option<(i64, u32)> {
    match n.message {
        Some(m) => Some(dates[m]),
        None => n.children.first().and_then(|c| node_date(c, dates)),
    }
}

/// The threads in RFC 5256 `thread-list` syntax, `(1)(2 3)(4 (5)(6))`,
/// numbered by sequence number or UID. Empty when there are no threads.
pub fn encode_thread(tree: &[ThreadNode], uid: bool, msgs: &[MessageView]) -> Vec<u8> {
    let numbers: Vec<u32> = msgs
        .iter()
        .map(|v| if uid { v.uid } else { v.seq })
        .collect();
    encode_thread_numbers(tree, &numbers)
}

/// [`encode_thread`] with each message's number given: `numbers[i]` for
/// the message a node's index `i` names.
pub fn encode_thread_numbers(tree: &[ThreadNode], numbers: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in tree {
        out.push(b'(');
        chain(t, numbers, &mut out);
        out.push(b')');
    }
    out
}

/// `thread-members [SP thread-nested]` of one node, without parentheses.
fn chain(mut n: &ThreadNode, numbers: &[u32], out: &mut Vec<u8>) {
    let mut first = true;
    loop {
        if let Some(m) = n.message {
            if !first {
                out.push(b' ');
            }
            let _ = write!(out, "{}", numbers[m]);
            first = false;
        }
        match n.children.as_slice() {
            [] => return,
            [only] => n = only,
            many => {
                if !first {
                    out.push(b' ');
                }
                for c in many {
                    out.push(b'(');
                    chain(c, numbers, out);
                    out.push(b')');
                }
                return;
            }
        }
    }
}
