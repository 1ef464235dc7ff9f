//! RFC 5322 address lists read the way Dovecot reads them for ENVELOPE:
//! raw text (no RFC 2047 decoding), quoted strings unquoted, comments
//! dropped except a trailing comment naming a bare addr-spec, and broken
//! addresses kept with placeholders (`MISSING_MAILBOX`, `MISSING_DOMAIN`,
//! `INVALID_ROUTE`, `SYNTAX_ERROR`) so clients still see something.

use super::EnvelopeAddress;

const MISSING_MAILBOX: &str = "MISSING_MAILBOX";
const MISSING_DOMAIN: &str = "MISSING_DOMAIN";

/// RFC 5322 §3.2.3 atext.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
}

/// Parser state over one header value (bytes are kept as read: the caller
/// decides how to turn them into text).
struct P<'a> {
    s: &'a [u8],
    i: usize,
    /// The last comment skipped, for `addr@host (Name)`.
    comment: Vec<u8>,
}

/// What a step returns, as in Dovecot's rfc822-parser: more input follows,
/// the input ended, or the syntax is broken.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum R {
    More,
    End,
    Err,
}

#[derive(Default)]
struct Addr {
    name: Option<Vec<u8>>,
    route: Option<Vec<u8>>,
    mailbox: Option<Vec<u8>>,
    domain: Option<Vec<u8>>,
}

impl<'a> P<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at(&self, b: u8) -> bool {
        self.peek() == Some(b)
    }

    /// Skips white space and comments; remembers the last comment's text.
    fn skip_lwsp(&mut self) -> R {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.i += 1,
                b'(' => {
                    self.comment.clear();
                    let mut depth = 0usize;
                    while let Some(c) = self.peek() {
                        self.i += 1;
                        match c {
                            b'(' => {
                                if depth > 0 {
                                    self.comment.push(c);
                                }
                                depth += 1;
                            }
                            b')' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                                self.comment.push(c);
                            }
                            b'\\' => {
                                if let Some(n) = self.peek() {
                                    self.comment.push(n);
                                    self.i += 1;
                                }
                            }
                            b'\r' | b'\n' => {}
                            _ => self.comment.push(c),
                        }
                    }
                    if depth > 0 {
                        return R::Err;
                    }
                }
                _ => return R::More,
            }
        }
        R::End
    }

    /// `[CFWS] 1*(atext / ".") [CFWS]` (obs-phrase allows dots).
    fn atom_or_dot(&mut self, out: &mut Vec<u8>) -> R {
        let start = self.i;
        while self.peek().is_some_and(|b| is_atext(b) || b == b'.') {
            self.i += 1;
        }
        if self.i == start {
            return R::Err;
        }
        out.extend_from_slice(&self.s[start..self.i]);
        self.skip_lwsp()
    }

    fn quoted_string(&mut self, out: &mut Vec<u8>) -> R {
        debug_assert!(self.at(b'"'));
        self.i += 1;
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => return self.skip_lwsp(),
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.i += 1;
                    }
                }
                b'\r' | b'\n' => {}
                _ => out.push(b),
            }
        }
        R::Err
    }

    /// `dot-atom`, allowing CFWS around the dots (obs-local-part, obs-domain).
    fn dot_atom(&mut self, out: &mut Vec<u8>) -> R {
        loop {
            let start = self.i;
            while self.peek().is_some_and(is_atext) {
                self.i += 1;
            }
            if self.i == start {
                return R::Err;
            }
            out.extend_from_slice(&self.s[start..self.i]);
            let r = self.skip_lwsp();
            if r != R::More || !self.at(b'.') {
                return r;
            }
            self.i += 1;
            out.push(b'.');
            let r = self.skip_lwsp();
            if r != R::More {
                return r;
            }
        }
    }

    /// `phrase = 1*word / obs-phrase`; words joined by one space.
    fn phrase(&mut self, out: &mut Vec<u8>) -> R {
        match self.peek() {
            None => return R::End,
            Some(b'.') => return R::Err,
            _ => {}
        }
        loop {
            let r = if self.at(b'"') {
                self.quoted_string(out)
            } else {
                self.atom_or_dot(out)
            };
            if r != R::More {
                return r;
            }
            match self.peek() {
                Some(b) if is_atext(b) || b == b'"' || b == b'.' => out.push(b' '),
                _ => return R::More,
            }
        }
    }

    fn local_part(&mut self, a: &mut Addr) -> R {
        let mut out = Vec::new();
        let r = loop {
            let r = if self.at(b'"') {
                self.quoted_string(&mut out)
            } else {
                self.dot_atom(&mut out)
            };
            if r != R::More || !self.at(b'.') {
                break r;
            }
            self.i += 1;
            out.push(b'.');
            let r = self.skip_lwsp();
            if r != R::More {
                break r;
            }
        };
        if r != R::Err {
            a.mailbox = Some(out);
        }
        r
    }

    /// `"@" domain`, the `@` under the cursor.
    fn domain(&mut self, out: &mut Vec<u8>) -> R {
        self.i += 1;
        if self.skip_lwsp() != R::More {
            return R::Err;
        }
        if self.at(b'[') {
            let start = self.i;
            while let Some(b) = self.peek() {
                self.i += 1;
                if b == b']' {
                    out.extend_from_slice(&self.s[start..self.i]);
                    return self.skip_lwsp();
                }
            }
            return R::Err;
        }
        self.dot_atom(out)
    }

    fn addr_spec(&mut self, a: &mut Addr) -> R {
        self.comment.clear();
        let quoted = self.at(b'"');
        let mut r = self.local_part(a);
        let mut domain_tried = false;
        if r != R::End && self.at(b'@') {
            domain_tried = true;
            let mut d = Vec::new();
            let r2 = self.domain(&mut d);
            if r2 != R::Err {
                a.domain = Some(d);
            }
            if r2 != R::More {
                r = r2;
            }
        }
        if !self.comment.is_empty() {
            a.name = Some(self.comment.clone());
        } else if !domain_tried {
            // A lone word is a mailbox, but `word more words` was a name
            // whose address is missing.
            let mut out = a.mailbox.clone().unwrap_or_default();
            out.push(b' ');
            let before = out.len();
            let _ = self.phrase(&mut out);
            if out.len() != before {
                a.mailbox = None;
                a.name = Some(out);
            } else if !quoted {
                a.domain = Some(Vec::new());
            }
            r = R::Err;
        }
        r
    }

    /// `<` [route ":"] addr-spec `>`, the `<` under the cursor.
    fn angle_addr(&mut self, a: &mut Addr) -> R {
        self.i += 1;
        let r = self.skip_lwsp();
        if r != R::More {
            return R::Err;
        }
        if self.at(b'@') {
            let mut route = Vec::new();
            let mut ok = true;
            while self.at(b'@') {
                if !route.is_empty() {
                    route.push(b',');
                }
                route.push(b'@');
                if self.domain(&mut route) != R::More {
                    ok = false;
                    break;
                }
                while self.at(b',') {
                    self.i += 1;
                    if self.skip_lwsp() != R::More {
                        ok = false;
                        break;
                    }
                }
            }
            if ok && self.at(b':') {
                a.route = Some(route);
                self.i += 1;
                if self.skip_lwsp() != R::More {
                    return R::Err;
                }
            } else {
                a.route = Some(b"INVALID_ROUTE".to_vec());
                while self.peek().is_some_and(|b| b != b'>') {
                    self.i += 1;
                }
                if !self.at(b'>') {
                    return R::Err;
                }
                self.i += 1;
                return self.skip_lwsp();
            }
        }
        if self.at(b'>') {
            self.i += 1;
            return self.skip_lwsp();
        }
        let r = self.local_part(a);
        if r == R::Err {
            return R::Err;
        }
        if self.at(b'@') {
            let mut d = Vec::new();
            if self.domain(&mut d) == R::Err {
                return R::Err;
            }
            a.domain = Some(d);
        }
        if !self.at(b'>') {
            // RFC 5322 §3.4: the `>` is required; keep what was read.
            a.domain = Some(b"SYNTAX_ERROR".to_vec());
            return R::Err;
        }
        self.i += 1;
        self.skip_lwsp()
    }

    /// `mailbox = name-addr / addr-spec`; always yields one address.
    fn mailbox(&mut self, out: &mut Vec<EnvelopeAddress>, text: &dyn Fn(Vec<u8>) -> String) -> R {
        let start = self.i;
        let mut a = Addr::default();
        let mut r = R::Err;
        let mut name = Vec::new();
        let name_addr = if self.at(b'<') {
            true
        } else {
            let pr = self.phrase(&mut name);
            pr == R::More && self.at(b'<')
        };
        if name_addr {
            if !name.is_empty() {
                a.name = Some(name);
            }
            r = self.angle_addr(&mut a);
        }
        if !name_addr {
            self.i = start;
            a = Addr::default();
            r = self.addr_spec(&mut a);
        }
        let mailbox = match a.mailbox {
            Some(m) if !m.is_empty() => m,
            _ => MISSING_MAILBOX.into(),
        };
        let domain = match a.domain {
            Some(d) if !d.is_empty() => d,
            _ => MISSING_DOMAIN.into(),
        };
        out.push(EnvelopeAddress {
            name: a.name.map(text),
            route: a.route.map(text),
            mailbox: Some(text(mailbox)),
            host: Some(text(domain)),
        });
        r
    }

    /// `group = display-name ":" [mailbox-list] ";"`; `None` when not a group.
    fn group(
        &mut self,
        out: &mut Vec<EnvelopeAddress>,
        text: &dyn Fn(Vec<u8>) -> String,
    ) -> Option<R> {
        let mut name = Vec::new();
        if self.phrase(&mut name) != R::More || !self.at(b':') {
            return None;
        }
        self.i += 1;
        let mut r = self.skip_lwsp();
        out.push(EnvelopeAddress {
            mailbox: Some(text(name)),
            ..EnvelopeAddress::default()
        });
        if r == R::More && !self.at(b';') {
            loop {
                if self.mailbox(out, text) == R::End {
                    r = R::End;
                    break;
                }
                if !self.at(b',') {
                    break;
                }
                self.i += 1;
                if self.skip_lwsp() != R::More {
                    r = R::Err;
                    break;
                }
            }
        }
        if r != R::Err && r != R::End {
            if self.at(b';') {
                self.i += 1;
                r = self.skip_lwsp();
            } else {
                r = R::Err;
            }
        }
        out.push(EnvelopeAddress::default());
        Some(if r == R::End { R::End } else { R::More })
    }
}

/// Parses one address header's raw value, appending to `out`.
pub(super) fn parse_list(
    value: &[u8],
    out: &mut Vec<EnvelopeAddress>,
    text: &dyn Fn(Vec<u8>) -> String,
) {
    let mut p = P {
        s: value,
        i: 0,
        comment: Vec::new(),
    };
    if p.skip_lwsp() != R::More {
        return;
    }
    // Bounded: every round consumes input or stops.
    loop {
        let start = p.i;
        let r = match p.group(out, text) {
            Some(r) => r,
            None => {
                p.i = start;
                p.comment.clear();
                p.mailbox(out, text)
            }
        };
        if r == R::End || !p.at(b',') {
            break;
        }
        p.i += 1;
        if p.skip_lwsp() != R::More {
            break;
        }
        if p.i == start {
            break;
        }
    }
}
