//! THREAD (RFC 5256 §3): ORDEREDSUBJECT and REFERENCES, and the
//! `thread-list` syntax of the answer.

use std::collections::HashMap;

use super::MessageView;
use super::sort::{base_subject_ext, sort_fold, subject};
use super::text::{header_values, sent_date};
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
    let dates: Vec<(i64, u32)> = msgs
        .iter()
        .map(|m| {
            let t = sent_date(m).map_or(m.internal_date, |(_, t)| t);
            (t, m.seq)
        })
        .collect();
    match alg {
        ThreadAlgorithm::OrderedSubject => ordered_subject(msgs, &dates),
        ThreadAlgorithm::References => references(msgs, &dates),
        ThreadAlgorithm::Other(_) => Vec::new(),
    }
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

#[derive(Default)]
struct Container {
    message: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Arena {
    nodes: Vec<Container>,
    ids: HashMap<String, usize>,
}

impl Arena {
    fn new_node(&mut self) -> usize {
        self.nodes.push(Container::default());
        self.nodes.len() - 1
    }

    fn by_id(&mut self, id: &str) -> usize {
        if let Some(&n) = self.ids.get(id) {
            return n;
        }
        let n = self.new_node();
        self.ids.insert(id.to_string(), n);
        n
    }

    /// True when `a` is `b` or one of its ancestors.
    fn is_ancestor(&self, a: usize, mut b: usize) -> bool {
        loop {
            if a == b {
                return true;
            }
            match self.nodes[b].parent {
                Some(p) => b = p,
                None => return false,
            }
        }
    }

    fn unlink(&mut self, child: usize) {
        if let Some(p) = self.nodes[child].parent.take() {
            self.nodes[p].children.retain(|&c| c != child);
        }
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.unlink(child);
        self.nodes[child].parent = Some(parent);
        self.nodes[parent].children.push(child);
    }
}

/// RFC 5256 §3 REFERENCES (after Jamie Zawinski's algorithm).
fn references(msgs: &[MessageView], dates: &[(i64, u32)]) -> Vec<ThreadNode> {
    let mut a = Arena {
        nodes: Vec::new(),
        ids: HashMap::new(),
    };
    for (i, m) in msgs.iter().enumerate() {
        let env = &m.meta.envelope;
        // (1A) The message's container; a missing or duplicate id gets a
        // container of its own.
        let own = env
            .message_id
            .as_deref()
            .and_then(|v| msg_ids(v).into_iter().next());
        let node = match own {
            Some(id) if a.ids.get(&id).is_none_or(|&n| a.nodes[n].message.is_none()) => {
                a.by_id(&id)
            }
            _ => a.new_node(),
        };
        a.nodes[node].message = Some(i);
        // (1B) Link the References chain, parent before child, leaving
        // existing links and refusing loops.
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
        let chain: Vec<usize> = refs.iter().map(|r| a.by_id(r)).collect();
        for w in chain.windows(2) {
            let (p, c) = (w[0], w[1]);
            if a.nodes[c].parent.is_none() && !a.is_ancestor(c, p) {
                a.link(p, c);
            }
        }
        // (1C) The last reference is the parent, unless that makes a loop.
        // A parent presumed from another message's References goes first,
        // even when the new link is then refused: the message's own
        // References say better where it belongs.
        a.unlink(node);
        if let Some(&p) = chain.last()
            && !a.is_ancestor(node, p)
        {
            a.link(p, node);
        }
    }
    // (2) The root set; (3) the id table is no longer needed.
    let roots: Vec<usize> = (0..a.nodes.len())
        .filter(|&n| a.nodes[n].parent.is_none())
        .collect();
    // (4) Prune dummies.
    let mut roots: Vec<ThreadNode> = prune(&a, &roots, true);
    // (5) Gather roots by base subject.
    roots = group_by_subject(msgs, roots);
    // (6) Sort siblings by date, a dummy by its first child's.
    sort_nodes(&mut roots, dates);
    roots
}

fn prune(a: &Arena, list: &[usize], top: bool) -> Vec<ThreadNode> {
    let mut out = Vec::new();
    for &n in list {
        let children = prune(a, &a.nodes[n].children, false);
        match a.nodes[n].message {
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
fn group_by_subject(msgs: &[MessageView], roots: Vec<ThreadNode>) -> Vec<ThreadNode> {
    let info = |t: &ThreadNode| -> Option<(String, bool)> {
        let m = t
            .message
            .or_else(|| t.children.first().and_then(|c| c.message))?;
        let (s, reply) = base_subject_ext(&subject(&msgs[m]));
        (!s.is_empty()).then(|| (sort_fold(&s), reply))
    };
    let subjects: Vec<Option<(String, bool)>> = roots.iter().map(info).collect();
    let mut table: HashMap<&str, usize> = HashMap::new();
    for (i, s) in subjects.iter().enumerate() {
        let Some((s, reply)) = s else { continue };
        match table.get(s.as_str()) {
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
        let t = table[s.as_str()];
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
    let mut out = String::new();
    for t in tree {
        out.push('(');
        chain(t, uid, msgs, &mut out);
        out.push(')');
    }
    out.into_bytes()
}

/// `thread-members [SP thread-nested]` of one node, without parentheses.
fn chain(mut n: &ThreadNode, uid: bool, msgs: &[MessageView], out: &mut String) {
    let mut first = true;
    loop {
        if let Some(m) = n.message {
            if !first {
                out.push(' ');
            }
            let v = &msgs[m];
            out.push_str(&if uid { v.uid } else { v.seq }.to_string());
            first = false;
        }
        match n.children.as_slice() {
            [] => return,
            [only] => n = only,
            many => {
                if !first {
                    out.push(' ');
                }
                for c in many {
                    out.push('(');
                    chain(c, uid, msgs, out);
                    out.push(')');
                }
                return;
            }
        }
    }
}
