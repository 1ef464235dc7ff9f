//! Header fields and the MIME tree, cut the way Dovecot cuts them so FETCH
//! answers match it byte for byte: boundaries are prefixes matched
//! innermost first, the line end before a boundary belongs to the boundary,
//! a line without a colon does not end a header, a missing close boundary
//! runs the last part to the end, and Content-Type values and parameters are
//! kept as written (RFC 2231 continuations joined, not decoded).

use super::{Envelope, MAX_MIME_DEPTH, MimePart, address, text_of};

/// One header field: byte ranges into the raw message.
#[derive(Clone, Copy, Debug)]
pub(super) struct Field {
    pub name: (usize, usize),
    /// After the colon and the white space that follows it, up to the end
    /// of the field's last line (without its line end); folds included.
    pub value: (usize, usize),
}

pub(super) struct Header {
    pub fields: Vec<Field>,
    /// Where the body starts (after the blank line, or `limit`).
    pub body_start: usize,
    /// Whether a blank line ended the header (else it ran to `limit`).
    pub blank_line: bool,
}

impl Field {
    pub fn is(&self, raw: &[u8], name: &str) -> bool {
        raw[self.name.0..self.name.1].eq_ignore_ascii_case(name.as_bytes())
    }
    pub fn value<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        &raw[self.value.0..self.value.1]
    }
}

/// Reads header lines from `start` up to the blank line or `limit`.
pub(super) fn parse_header(raw: &[u8], start: usize, limit: usize) -> Header {
    let mut fields: Vec<Field> = Vec::new();
    let mut pos = start;
    while pos < limit {
        let next = raw[pos..limit]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(limit, |i| pos + i + 1);
        let mut content_end = next;
        if content_end > pos && raw[content_end - 1] == b'\n' {
            content_end -= 1;
            if content_end > pos && raw[content_end - 1] == b'\r' {
                content_end -= 1;
            }
        }
        if content_end == pos && next > pos && raw[next - 1] == b'\n' {
            return Header {
                fields,
                body_start: next,
                blank_line: true,
            };
        }
        let first = raw[pos];
        if (first == b' ' || first == b'\t')
            && let Some(last) = fields.last_mut()
        {
            last.value.1 = content_end;
        } else {
            let line = &raw[pos..content_end];
            match line.iter().position(|&b| b == b':') {
                Some(c) => {
                    let mut name_end = pos + c;
                    while name_end > pos && matches!(raw[name_end - 1], b' ' | b'\t') {
                        name_end -= 1;
                    }
                    let mut v = pos + c + 1;
                    while v < content_end && matches!(raw[v], b' ' | b'\t') {
                        v += 1;
                    }
                    fields.push(Field {
                        name: (pos, name_end),
                        value: (v, content_end),
                    });
                }
                None => fields.push(Field {
                    name: (pos, content_end),
                    value: (content_end, content_end),
                }),
            }
        }
        pos = next;
    }
    Header {
        fields,
        body_start: limit,
        blank_line: false,
    }
}

/// A boundary line found while scanning.
#[derive(Clone, Copy, Debug)]
pub(super) struct Hit {
    line_start: usize,
    line_end: usize,
    /// Index into the boundary stack.
    level: usize,
    close: bool,
}

pub(super) struct Tree<'a> {
    raw: &'a [u8],
    boundaries: Vec<Vec<u8>>,
}

impl<'a> Tree<'a> {
    pub fn new(raw: &'a [u8]) -> Self {
        Tree {
            raw,
            boundaries: Vec::new(),
        }
    }

    /// The first boundary line at or after line start `from`, innermost
    /// boundary first (RFC 2046 §5.1.1; Dovecot matches prefixes).
    fn next_hit(&self, from: usize) -> Option<Hit> {
        if self.boundaries.is_empty() {
            return None;
        }
        let raw = self.raw;
        let mut pos = from;
        while pos < raw.len() {
            let next = raw[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(raw.len(), |i| pos + i + 1);
            let line = &raw[pos..next];
            if line.starts_with(b"--") {
                for (level, b) in self.boundaries.iter().enumerate().rev() {
                    if line[2..].starts_with(b) {
                        let close = line[2 + b.len()..].starts_with(b"--");
                        return Some(Hit {
                            line_start: pos,
                            line_end: next,
                            level,
                            close,
                        });
                    }
                }
            }
            pos = next;
        }
        None
    }

    /// Where content before boundary line `h` ends: its line end belongs
    /// to the boundary (RFC 2046 §5.1.1), but never before `min`.
    fn cut(&self, h: Option<Hit>, min: usize) -> usize {
        match h {
            None => self.raw.len(),
            Some(h) => {
                let mut c = h.line_start;
                if c > min && self.raw[c - 1] == b'\n' {
                    c -= 1;
                    if c > min && self.raw[c - 1] == b'\r' {
                        c -= 1;
                    }
                }
                c.max(min)
            }
        }
    }

    /// Parses the entity (header and body) starting at `start`, `depth`
    /// levels below the message (0: the message itself; at
    /// `MAX_MIME_DEPTH` it is a leaf). Returns it and the boundary line
    /// that ended it (None: the end of the message).
    pub fn entity(
        &mut self,
        start: usize,
        in_digest: bool,
        depth: u32,
    ) -> (MimePart, Option<Hit>, Envelope, usize) {
        let outer_hit = self.next_hit(start);
        // The header may end with the blank line that is also the line end
        // before the next boundary: let it see that line.
        let header_limit = outer_hit.map_or(self.raw.len(), |h| h.line_start);
        let header = parse_header(self.raw, start, header_limit);
        let envelope = envelope_of(self.raw, start, &header);
        let mut part = describe(self.raw, &header, in_digest);
        part.header_start = start as u32;
        let mut body_start = header.body_start;
        let is_multipart = part.media_type.eq_ignore_ascii_case("multipart");
        let boundary = is_multipart
            .then(|| {
                part.params
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
                    .map(|(_, v)| v.clone())
            })
            .flatten()
            .filter(|b| !b.is_empty());
        let hit;
        let mut outer_end = None;
        if let (Some(b), true) = (boundary, depth < MAX_MIME_DEPTH) {
            let digest = part.subtype.eq_ignore_ascii_case("digest");
            self.boundaries.push(latin1_or_utf8(&b, part.latin1));
            let own = self.boundaries.len() - 1;
            let mut h = self.next_hit(body_start);
            while let Some(x) = h {
                if x.level != own || x.close {
                    break;
                }
                let (child, ch, _, _) = self.entity(x.line_end, digest, depth + 1);
                part.parts.push(child);
                h = ch;
            }
            self.boundaries.pop();
            hit = match h {
                Some(x) if x.level == own => self.next_hit(x.line_end),
                other => other,
            };
        } else if part.message.is_some() && depth < MAX_MIME_DEPTH {
            let (inner, h, env, end) = self.entity(body_start, false, depth + 1);
            part.message = Some(Box::new((env, inner)));
            hit = h;
            outer_end = Some(end);
        } else {
            part.message = None;
            hit = outer_hit;
            if let Some(h) = hit
                && body_start == h.line_start
                && body_start > start
            {
                // The header ran into the boundary: the line end before it
                // belongs to the boundary (and so does a blank line there,
                // though an enclosing message/rfc822 still counts it).
                body_start = self.cut(hit, start);
                if header.blank_line {
                    outer_end = Some(h.line_start);
                }
            }
        }
        part.body_start = body_start as u32;
        let end = outer_end
            .filter(|_| part.message.is_some())
            .unwrap_or_else(|| self.cut(hit, body_start));
        part.end = end as u32;
        part.lines = count_lines(&self.raw[body_start..end]);
        (part, hit, envelope, outer_end.unwrap_or(end))
    }
}

fn latin1_or_utf8(s: &str, latin1: bool) -> Vec<u8> {
    if latin1 {
        s.chars().map(|c| c as u32 as u8).collect()
    } else {
        s.as_bytes().to_vec()
    }
}

pub(super) fn count_lines(body: &[u8]) -> u32 {
    u32::try_from(body.iter().filter(|&&b| b == b'\n').count()).unwrap_or(u32::MAX)
}

/// The ENVELOPE of the message whose header starts at `start`.
fn envelope_of(raw: &[u8], start: usize, header: &Header) -> Envelope {
    let block = &raw[start..header.body_start];
    let latin1 = std::str::from_utf8(block).is_err();
    let text = |b: Vec<u8>| text_of(&b, latin1);
    let mut env = Envelope {
        latin1,
        ..Envelope::default()
    };
    for f in &header.fields {
        let v = f.value(raw);
        let name = &raw[f.name.0..f.name.1];
        let lower = name.to_ascii_lowercase();
        match lower.as_slice() {
            b"date" => {
                if let Some(prev) = env.date.replace(text(v.to_vec())) {
                    env.first_date.get_or_insert(prev);
                }
            }
            b"subject" => {
                if let Some(prev) = env.subject.replace(text(v.to_vec())) {
                    env.first_subject.get_or_insert(prev);
                }
            }
            b"message-id" => env.message_id = Some(text(v.to_vec())),
            b"in-reply-to" => env.in_reply_to = Some(text(v.to_vec())),
            b"from" => address::parse_list(v, &mut env.from, &text),
            b"sender" => address::parse_list(v, &mut env.sender, &text),
            b"reply-to" => address::parse_list(v, &mut env.reply_to, &text),
            b"to" => address::parse_list(v, &mut env.to, &text),
            b"cc" => address::parse_list(v, &mut env.cc, &text),
            b"bcc" => address::parse_list(v, &mut env.bcc, &text),
            _ => {}
        }
    }
    env
}

/// Fills a part's MIME fields from its header (values as written;
/// RFC 2045 defaults as Dovecot reports them).
fn describe(raw: &[u8], header: &Header, in_digest: bool) -> MimePart {
    let block_start = header.fields.first().map_or(0, |f| f.name.0);
    let block_end = header.fields.last().map_or(0, |f| f.value.1);
    let latin1 = std::str::from_utf8(raw.get(block_start..block_end).unwrap_or_default()).is_err();
    let text = |b: &[u8]| text_of(b, latin1);
    let mut part = MimePart {
        latin1,
        ..MimePart::default()
    };
    let mut have_type = false;
    for f in &header.fields {
        let v = f.value(raw);
        if f.is(raw, "Content-Type") {
            if have_type {
                continue;
            }
            have_type = true;
            let mut p = Lex { s: v, i: 0 };
            p.skip_lwsp();
            let t = p.token();
            part.media_type = text(&t);
            if !t.is_empty() && p.at(b'/') {
                p.i += 1;
                p.skip_lwsp();
                part.subtype = text(&p.token());
            }
            part.params = params(&mut p, &text);
        } else if f.is(raw, "Content-Transfer-Encoding") {
            let mut p = Lex { s: v, i: 0 };
            p.skip_lwsp();
            let t = p.token();
            p.skip_lwsp();
            if !t.is_empty() && p.i >= v.len() {
                part.encoding = Some(text(&t));
            }
        } else if f.is(raw, "Content-ID") {
            part.id = Some(text(v));
        } else if f.is(raw, "Content-Description") {
            part.description = Some(text(v));
        } else if f.is(raw, "Content-MD5") {
            part.md5 = Some(text(v));
        } else if f.is(raw, "Content-Location") {
            part.location = Some(text(v));
        } else if f.is(raw, "Content-Disposition") {
            let mut p = Lex { s: v, i: 0 };
            p.skip_lwsp();
            let t = p.token();
            if !t.is_empty() {
                part.disposition = Some((text(&t), params(&mut p, &text)));
            }
        } else if f.is(raw, "Content-Language") {
            let mut p = Lex { s: v, i: 0 };
            p.skip_lwsp();
            let mut langs = Vec::new();
            loop {
                let t = p.atom();
                if t.is_empty() {
                    break;
                }
                langs.push(text(&t));
                if !p.at(b',') {
                    break;
                }
                p.i += 1;
                p.skip_lwsp();
            }
            part.language = langs;
        }
    }
    let message = if !have_type {
        if in_digest {
            part.media_type = "message".into();
            part.subtype = "rfc822".into();
            true
        } else {
            part.media_type = "text".into();
            part.subtype = "plain".into();
            false
        }
    } else {
        part.media_type.eq_ignore_ascii_case("message")
            && part.subtype.eq_ignore_ascii_case("rfc822")
    };
    if part.media_type.eq_ignore_ascii_case("text")
        && !part
            .params
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("charset"))
    {
        part.params.push(("charset".into(), "us-ascii".into()));
    }
    if message {
        // Filled in by the caller once the attached message is parsed.
        part.message = Some(Box::default());
    }
    part
}

/// A small RFC 2045 lexer over one header value.
struct Lex<'a> {
    s: &'a [u8],
    i: usize,
}

fn is_tspecial(b: u8) -> bool {
    b"()<>@,;:\\\"/[]?=".contains(&b)
}

impl Lex<'_> {
    fn at(&self, b: u8) -> bool {
        self.s.get(self.i) == Some(&b)
    }

    fn skip_lwsp(&mut self) -> bool {
        while let Some(&b) = self.s.get(self.i) {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.i += 1,
                b'(' => {
                    let mut depth = 0usize;
                    while let Some(&c) = self.s.get(self.i) {
                        self.i += 1;
                        match c {
                            b'(' => depth += 1,
                            b')' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            // A quoted pair; a backslash at the very end
                            // quotes nothing (found by fuzzing: stepping
                            // past the end made `token` slice out of range).
                            b'\\' => self.i = (self.i + 1).min(self.s.len()),
                            _ => {}
                        }
                    }
                    if depth > 0 {
                        return false;
                    }
                }
                _ => return true,
            }
        }
        false
    }

    /// An RFC 2045 token, then CFWS.
    fn token(&mut self) -> Vec<u8> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|&b| b > b' ' && b != 0x7f && !is_tspecial(b))
        {
            self.i += 1;
        }
        let t = self.s[start..self.i].to_vec();
        self.skip_lwsp();
        t
    }

    /// An RFC 5322 atom, then CFWS.
    fn atom(&mut self) -> Vec<u8> {
        let start = self.i;
        while self.s.get(self.i).is_some_and(|&b| {
            b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
        }) {
            self.i += 1;
        }
        let t = self.s[start..self.i].to_vec();
        self.skip_lwsp();
        t
    }

    /// `;` attribute `=` value; None at the end or on broken syntax.
    fn param(&mut self) -> Option<(Vec<u8>, Vec<u8>)> {
        if !self.at(b';') {
            return None;
        }
        self.i += 1;
        if !self.skip_lwsp() {
            return None;
        }
        let key = self.token();
        if key.is_empty() || !self.at(b'=') {
            return None;
        }
        self.i += 1;
        let mut value = Vec::new();
        if !self.skip_lwsp() {
            return Some((key, value));
        }
        if self.at(b'"') {
            self.i += 1;
            loop {
                let &b = self.s.get(self.i)?;
                self.i += 1;
                match b {
                    b'"' => break,
                    b'\\' => {
                        if let Some(&n) = self.s.get(self.i) {
                            value.push(n);
                            self.i += 1;
                        }
                    }
                    b'\r' | b'\n' => {}
                    _ => value.push(b),
                }
            }
            self.skip_lwsp();
        } else if self.at(b'=') {
            // Broken input seen in the wild: name==?utf-8?b?...?=
            while self
                .s
                .get(self.i)
                .is_some_and(|&b| !matches!(b, b';' | b' ' | b'\t' | b'\r' | b'\n'))
            {
                value.push(self.s[self.i]);
                self.i += 1;
            }
            self.skip_lwsp();
        } else {
            value = self.token();
        }
        Some((key, value))
    }
}

/// Parameters in Dovecot's order: plain ones as written, then RFC 2231
/// ones joined per name (sorted by name), `name*` when any piece was
/// extended, values left encoded.
fn params(p: &mut Lex<'_>, text: &dyn Fn(&[u8]) -> String) -> Vec<(String, String)> {
    struct Piece {
        key: Vec<u8>,
        idx: u32,
        extended: bool,
        value: Vec<u8>,
    }
    let mut out = Vec::new();
    let mut pieces: Vec<Piece> = Vec::new();
    while let Some((key, value)) = p.param() {
        if let Some(star) = key.iter().position(|&b| b == b'*') {
            // `name*` alone is one extended piece; `name*0`, `name*1*`, ...
            let mut q = star;
            let mut idx = 0u32;
            if key.len() > star + 1 {
                q += 1;
                while let Some(&d) = key.get(q).filter(|d| d.is_ascii_digit()) {
                    idx = idx.saturating_mul(10).saturating_add(u32::from(d - b'0'));
                    q += 1;
                }
            }
            let extended = key.get(q) == Some(&b'*');
            if extended {
                q += 1;
            }
            if q == key.len() {
                pieces.push(Piece {
                    key: key[..star].to_vec(),
                    idx,
                    extended,
                    value,
                });
                continue;
            }
        }
        out.push((text(&key), text(&value)));
    }
    pieces.sort_by(|a, b| {
        a.key
            .to_ascii_lowercase()
            .cmp(&b.key.to_ascii_lowercase())
            .then(a.idx.cmp(&b.idx))
    });
    let mut i = 0;
    while i < pieces.len() {
        let mut j = i;
        let mut ok = true;
        let mut extended = false;
        while j < pieces.len() && pieces[j].key.eq_ignore_ascii_case(&pieces[i].key) {
            ok &= pieces[j].idx == (j - i) as u32;
            extended |= pieces[j].extended;
            j += 1;
        }
        if !ok {
            for x in &pieces[i..j] {
                let star = if x.extended { "*" } else { "" };
                let key = format!("{}*{}{star}", text(&x.key), x.idx);
                out.push((key, text(&x.value)));
            }
        } else {
            let mut v = Vec::new();
            if extended && !pieces[i].extended {
                v.extend_from_slice(b"''");
            }
            for x in &pieces[i..j] {
                if extended && !x.extended {
                    for &b in &x.value {
                        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                            v.push(b);
                        } else {
                            v.extend_from_slice(format!("%{b:02X}").as_bytes());
                        }
                    }
                } else {
                    v.extend_from_slice(&x.value);
                }
            }
            let mut key = text(&pieces[j - 1].key);
            if extended {
                key.push('*');
            }
            out.push((key, text(&v)));
        }
        i = j;
    }
    out
}
