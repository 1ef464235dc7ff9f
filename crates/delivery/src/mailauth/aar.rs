//! An ARC-Authentication-Results field (RFC 8617 §4.1.1) read with RFC
//! 8601 §2.2's grammar: the instance, the authserv-id, then each
//! `method=result` with its `reason=` and `ptype.property=value`s, around
//! comments and quoted strings. And what the results say about the From
//! domain: a trusted sealer vouches for a DMARC failure only with results
//! that show the original message authenticated for it (RFC 8617 §7.2).
//!
//! A field that does not follow the grammar is `None`: no override rests
//! on results that cannot be read without guessing.

/// One `method=result` and its properties (lowercase names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResInfo {
    /// The method without its version (`dkim`, `spf`, `dmarc`, ...).
    pub method: String,
    pub result: String,
    /// `(ptype.property, value)`, e.g. `("header.from", "example.org")`.
    pub props: Vec<(String, String)>,
}

impl ResInfo {
    fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A parsed ARC-Authentication-Results value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aar {
    pub instance: u32,
    pub authserv_id: String,
    /// Empty for `none` (RFC 8601 §2.2's no-result).
    pub results: Vec<ResInfo>,
}

/// What a sealer's results say about the From domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Saw {
    /// `dmarc=pass` with `header.from` the From domain.
    DmarcPass,
    /// No DMARC result recorded: the DKIM domains (`header.d`, or the
    /// domain of `header.i`) and SPF MAIL FROM domains that passed, for
    /// the caller to check against the From domain's alignment.
    Passes { dkim: Vec<String>, spf: Vec<String> },
    /// Nothing that vouches: why, for the header comment.
    Nothing(String),
}

/// At most this many identities from one field are checked for alignment
/// (each check may ask the DNS): a real sealer records one or two.
const MAX_IDENTITIES: usize = 4;

/// What `aar` says about `from` (the From domain, lowercase). RFC 7489
/// §3.1: DMARC as the sealer judged it decides when it recorded a result;
/// otherwise its passing DKIM and SPF results are the evidence.
pub fn saw(aar: &Aar, from: &str) -> Saw {
    let from = from.trim_end_matches('.');
    let same = |d: &str| d.trim_end_matches('.').eq_ignore_ascii_case(from);
    let dmarc: Vec<&ResInfo> = aar.results.iter().filter(|r| r.method == "dmarc").collect();
    if !dmarc.is_empty() {
        return if dmarc
            .iter()
            .any(|r| r.result == "pass" && r.prop("header.from").is_some_and(same))
        {
            Saw::DmarcPass
        } else {
            Saw::Nothing(format!("dmarc={}", dmarc[0].result))
        };
    }
    let domain_of = |v: &str| {
        let d = v.rsplit_once('@').map_or(v, |(_, d)| d);
        d.trim_end_matches('.').to_ascii_lowercase()
    };
    let passed = |method: &'static str| {
        aar.results
            .iter()
            .filter(move |r| r.method == method && r.result == "pass")
    };
    let dkim: Vec<String> = passed("dkim")
        .filter_map(|r| r.prop("header.d").or_else(|| r.prop("header.i")))
        .map(domain_of)
        .filter(|d| !d.is_empty())
        .take(MAX_IDENTITIES)
        .collect();
    let spf: Vec<String> = passed("spf")
        .filter_map(|r| r.prop("smtp.mailfrom"))
        .map(domain_of)
        .filter(|d| !d.is_empty())
        .take(MAX_IDENTITIES)
        .collect();
    if dkim.is_empty() && spf.is_empty() {
        Saw::Nothing("no dkim or spf pass".into())
    } else {
        Saw::Passes { dkim, spf }
    }
}

/// Parses an ARC-Authentication-Results value (everything after the
/// colon, folding included): RFC 8617 §4.1.1's `i=N;` and then RFC 8601
/// §2.2's authres-payload.
pub fn parse(value: &[u8]) -> Option<Aar> {
    let mut c = Cursor { s: value, i: 0 };
    c.cfws()?;
    if c.keyword()? != "i" {
        return None;
    }
    c.cfws()?;
    c.expect(b'=')?;
    c.cfws()?;
    let instance = c.digits()?.parse().ok()?;
    c.cfws()?;
    c.expect(b';')?;
    c.cfws()?;
    let authserv_id = c.value()?;
    c.cfws()?;
    // RFC 8601 §2.2: an optional authres-version after the authserv-id.
    if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        c.digits()?;
        c.cfws()?;
    }
    let mut results = Vec::new();
    while c.peek().is_some() {
        c.expect(b';')?;
        c.cfws()?;
        let method = c.keyword()?;
        c.cfws()?;
        if method == "none" && results.is_empty() && c.peek().is_none() {
            break;
        }
        if c.eat(b'/') {
            c.cfws()?;
            c.digits()?;
            c.cfws()?;
        }
        c.expect(b'=')?;
        c.cfws()?;
        let result = c.keyword()?;
        let mut props = Vec::new();
        loop {
            c.cfws()?;
            if matches!(c.peek(), None | Some(b';')) {
                break;
            }
            let ptype = c.keyword()?;
            c.cfws()?;
            if ptype == "reason" && c.eat(b'=') {
                c.cfws()?;
                c.value()?;
                continue;
            }
            c.expect(b'.')?;
            c.cfws()?;
            let property = c.keyword()?;
            c.cfws()?;
            c.expect(b'=')?;
            c.cfws()?;
            props.push((format!("{ptype}.{property}"), c.pvalue()?));
        }
        results.push(ResInfo {
            method,
            result,
            props,
        });
    }
    Some(Aar {
        instance,
        authserv_id,
        results,
    })
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        self.eat(b).then_some(())
    }

    /// Skips white space, folding and comments (RFC 5322 §3.2.2: comments
    /// nest, and a backslash quotes the next character). `None`: a comment
    /// that never closes.
    fn cfws(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.i += 1,
                Some(b'(') => {
                    let mut depth = 0usize;
                    loop {
                        match self.peek()? {
                            b'\\' => self.i += 1,
                            b'(' => depth += 1,
                            b')' => {
                                depth -= 1;
                                if depth == 0 {
                                    self.i += 1;
                                    break;
                                }
                            }
                            _ => {}
                        }
                        self.i += 1;
                    }
                }
                _ => return Some(()),
            }
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> Option<&str> {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        // Every accepted byte is ASCII, so the slice is UTF-8.
        (self.i > start)
            .then(|| std::str::from_utf8(&self.s[start..self.i]).ok())
            .flatten()
    }

    fn digits(&mut self) -> Option<&str> {
        self.take_while(|b| b.is_ascii_digit())
    }

    /// A method, result, ptype or property name, lowercased (RFC 8601
    /// §2.2's Keyword: letters, digits and hyphens; `_` as registered
    /// names such as `dkim-adsp`'s relatives use it).
    fn keyword(&mut self) -> Option<String> {
        self.take_while(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            .map(str::to_ascii_lowercase)
    }

    /// A quoted-string's content (RFC 5322 §3.2.4), the quotes removed.
    fn quoted(&mut self) -> Option<String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return String::from_utf8(out).ok();
                }
                b'\\' => {
                    self.i += 1;
                    out.push(self.peek()?);
                }
                b'\r' | b'\n' => {}
                b => out.push(b),
            }
            self.i += 1;
        }
    }

    /// RFC 2045's token (no tspecials) or a quoted-string: the
    /// authserv-id and `reason=`'s value.
    fn value(&mut self) -> Option<String> {
        if self.peek() == Some(b'"') {
            return self.quoted();
        }
        self.take_while(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
            .map(str::to_string)
    }

    /// A property's value (RFC 8601 §2.2's pvalue): a value, or an address
    /// or domain (`[local-part] "@" domain`), whose local part may be
    /// quoted.
    fn pvalue(&mut self) -> Option<String> {
        let mut out = if self.peek() == Some(b'"') {
            self.quoted()?
        } else {
            String::new()
        };
        if let Some(rest) = self.take_while(|b| b.is_ascii_graphic() && !b"()\";\\".contains(&b)) {
            out.push_str(rest);
        }
        (!out.is_empty()).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::{Saw, parse, saw};

    fn saw_in(text: &str, from: &str) -> Option<Saw> {
        parse(text.as_bytes()).map(|a| saw(&a, from))
    }

    #[test]
    fn a_dmarc_pass_for_the_from_domain_is_what_the_sealer_saw() {
        let text = " i=1; lists.test;\r\n\tdkim=pass header.d=origin.test header.s=sel;\r\n\t\
                    spf=fail smtp.mailfrom=x@origin.test;\r\n\tdmarc=pass (p=reject) header.from=Origin.Test\r\n";
        let aar = parse(text.as_bytes()).expect("parses");
        assert_eq!(aar.instance, 1);
        assert_eq!(aar.authserv_id, "lists.test");
        assert_eq!(aar.results.len(), 3);
        assert_eq!(
            aar.results[0].props,
            [
                ("header.d".to_string(), "origin.test".to_string()),
                ("header.s".to_string(), "sel".to_string())
            ]
        );
        assert_eq!(saw(&aar, "origin.test"), Saw::DmarcPass);
    }

    #[test]
    fn a_recorded_dmarc_failure_or_another_domains_pass_vouches_for_nothing() {
        // The sealer's own DMARC verdict decides, even beside a DKIM pass.
        let fail =
            "i=1; lists.test; dkim=pass header.d=origin.test; dmarc=fail header.from=origin.test";
        assert_eq!(
            saw_in(fail, "origin.test"),
            Some(Saw::Nothing("dmarc=fail".into()))
        );
        // A pass for another From domain: the From was not this one then.
        let other = "i=1; lists.test; dmarc=pass header.from=elsewhere.test";
        assert_eq!(
            saw_in(other, "origin.test"),
            Some(Saw::Nothing("dmarc=pass".into()))
        );
        // No result at all.
        assert_eq!(
            saw_in("i=2; lists.test; none", "origin.test"),
            Some(Saw::Nothing("no dkim or spf pass".into()))
        );
        assert_eq!(
            saw_in(
                "i=1; lists.test; dkim=fail header.d=origin.test",
                "origin.test"
            ),
            Some(Saw::Nothing("no dkim or spf pass".into()))
        );
    }

    #[test]
    fn without_dmarc_the_passing_dkim_and_spf_identities_are_returned_for_alignment() {
        let text = "i=1; lists.test 1; dkim/1=pass header.i=@Mail.Origin.Test; \
                    dkim=pass header.d=unrelated.test; spf=pass smtp.mailfrom=\"a b\"@bounce.origin.test; \
                    spf=softfail smtp.mailfrom=c@other.test";
        assert_eq!(
            saw_in(text, "origin.test"),
            Some(Saw::Passes {
                dkim: vec!["mail.origin.test".into(), "unrelated.test".into()],
                spf: vec!["bounce.origin.test".into()],
            })
        );
    }

    #[test]
    fn comments_quoted_strings_and_reasons_are_read_as_the_grammar_says() {
        let text = "i=1; (a comment (nested; with = signs)) lists.test (v1);\r\n \
                    dmarc (ours) = (really) pass reason=\"aligned; dkim\" (policy \\) ok)\r\n \
                    header (h) . from = origin.test (done)";
        assert_eq!(saw_in(text, "origin.test"), Some(Saw::DmarcPass));
        // A comment claiming a pass is only a comment.
        let text = "i=1; lists.test; dmarc=fail (dmarc=pass header.from=origin.test) header.from=origin.test";
        assert_eq!(
            saw_in(text, "origin.test"),
            Some(Saw::Nothing("dmarc=fail".into()))
        );
    }

    #[test]
    fn a_malformed_field_is_not_read() {
        for bad in [
            "",
            "lists.test; dmarc=pass header.from=origin.test",
            "i=x; lists.test; dmarc=pass header.from=origin.test",
            "i=1; lists.test; dmarc=pass (unclosed header.from=origin.test",
            "i=1; lists.test; dmarc header.from=origin.test",
            "i=1; lists.test; dmarc=pass header.from",
            "i=1; lists.test; dmarc=pass header.from=",
            "i=1; lists.test; dmarc=pass headerfrom=origin.test",
            "i=1; lists.test; dmarc=pass header.from=\"origin.test",
            "i=1; lists.test dmarc=pass header.from=origin.test",
            "i=1; lists.test; none; dmarc=pass header.from=origin.test",
        ] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad}");
        }
    }
}
