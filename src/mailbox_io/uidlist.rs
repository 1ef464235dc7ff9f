//! Dovecot's `dovecot-uidlist` beside a maildir's `cur/` and `new/`: the
//! IMAP UIDs, UIDVALIDITY and next UID Dovecot gave out, and the POP3
//! UIDLs it kept, so an import can keep them and clients do not download
//! everything again.
//!
//! Version 3 (Dovecot 1.0 on): a header `3 V<uidvalidity> N<nextuid>
//! G<guid> ...`, then one line per message `<uid> [<key><value> ...]
//! :<filename>`, where the keys of interest are `P` (the POP3 UIDL, when it
//! is not the default) and the filename's base (before the `:2,` info) is
//! what names the message. Version 1: `1 <uidvalidity> <nextuid>` and
//! `<uid> <filename>`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// What Dovecot knew of one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    pub uid: u32,
    /// The `P` field: a UIDL other than Dovecot's default for the message.
    pub pop3_uidl: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UidList {
    pub uidvalidity: u32,
    pub next_uid: u32,
    /// By the base of the file name (up to the first `:`).
    pub messages: HashMap<String, Kept>,
}

impl UidList {
    /// Dovecot's default POP3 UIDL of a message (`pop3_uidl_format`
    /// `%08Xu%08Xv`), which is also ours for the same UID and UIDVALIDITY.
    pub fn default_uidl(&self, uid: u32) -> String {
        format!("{uid:08X}{:08X}", self.uidvalidity)
    }

    /// What the list says of the message in `file` (a path in cur/ or new/).
    pub fn get(&self, file: &Path) -> Option<&Kept> {
        let name = file.file_name()?.to_str()?;
        self.messages.get(base(name))
    }
}

/// The `dovecot-uidlist` of `maildir`, if it has one.
pub fn read_uidlist(maildir: &Path) -> Result<Option<UidList>> {
    let path = maildir.join("dovecot-uidlist");
    let text = match std::fs::read(&path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    parse(&text)
        .map(Some)
        .with_context(|| format!("{}: not a dovecot-uidlist Postern can read", path.display()))
}

fn base(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

pub fn parse(text: &str) -> Result<UidList> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let mut words = header.split_whitespace();
    let version = words.next().unwrap_or_default();
    let (mut uidvalidity, mut next_uid) = (0u32, 0u32);
    match version {
        "1" => {
            uidvalidity = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            next_uid = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
        }
        "3" => {
            for w in words {
                if let Some(v) = w.strip_prefix('V') {
                    uidvalidity = v.parse().unwrap_or(0);
                } else if let Some(n) = w.strip_prefix('N') {
                    next_uid = n.parse().unwrap_or(0);
                }
            }
        }
        v => bail!("version {v:?} (1 and 3 are known)"),
    }
    if uidvalidity == 0 {
        bail!("no UIDVALIDITY in the header");
    }
    let mut messages = HashMap::new();
    for line in lines {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let Some((uid, rest)) = line.split_once(' ') else {
            bail!("a line without a file name: {line:?}");
        };
        let uid: u32 = match uid.parse() {
            Ok(u) if u > 0 => u,
            _ => bail!("a line without a UID: {line:?}"),
        };
        let (fields, file) = if version == "3" {
            match rest.split_once(':') {
                Some((f, name)) => (f, name),
                None => bail!("a line without ':' before its file name: {line:?}"),
            }
        } else {
            ("", rest)
        };
        let pop3_uidl = fields
            .split_whitespace()
            .find_map(|f| f.strip_prefix('P'))
            .filter(|u| valid_uidl(u))
            .map(String::from);
        messages.insert(base(file.trim()).to_string(), Kept { uid, pop3_uidl });
        next_uid = next_uid.max(uid + 1);
    }
    Ok(UidList {
        uidvalidity,
        next_uid,
        messages,
    })
}

/// RFC 1939 §7: a unique-id is 1 to 70 characters of 0x21 to 0x7E.
pub fn valid_uidl(u: &str) -> bool {
    (1..=70).contains(&u.len()) && u.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// The value of a message's `X-UIDL` header (the UIDL a POP3 server such
/// as Dovecot with `pop3_reuse_xuidl`, or qpopper, gave it in an mbox).
pub fn x_uidl(raw: &[u8]) -> Option<String> {
    let mut at = 0;
    while at < raw.len() {
        let end = raw[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |p| at + p + 1);
        let line = &raw[at..end];
        if line == b"\r\n" || line == b"\n" {
            return None;
        }
        if line.len() > 7 && line[..7].eq_ignore_ascii_case(b"x-uidl:") {
            let v = String::from_utf8_lossy(&line[7..]).trim().to_string();
            return valid_uidl(&v).then_some(v);
        }
        at = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_3_lists_give_uids_uidvalidity_and_pop3_uidls() {
        let l = parse(
            "3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n\
             25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,\n\
             25017 W2481 P00ab12cd :1276533073.M242911P3632.kurkku:2,F\n",
        )
        .expect("parse");
        assert_eq!((l.uidvalidity, l.next_uid), (1_275_660_208, 25_022));
        let a = &l.messages["1276528487.M364837P9451.kurkku,S=1355,W=1394"];
        assert_eq!((a.uid, a.pop3_uidl.as_deref()), (25_006, None));
        let path = Path::new("cur/1276533073.M242911P3632.kurkku:2,FS");
        assert_eq!(
            l.get(path).and_then(|k| k.pop3_uidl.as_deref()),
            Some("00ab12cd")
        );
        assert_eq!(l.default_uidl(25_006), "000061AE4C0907B0");
    }

    #[test]
    fn version_1_lists_and_a_next_uid_below_the_last_uid() {
        let l = parse("1 1000 3\n7 1276528487.M1.host:2,S\n").expect("parse");
        assert_eq!((l.uidvalidity, l.next_uid), (1000, 8));
        assert_eq!(l.messages["1276528487.M1.host"].uid, 7);
    }

    #[test]
    fn unreadable_lists_are_refused() {
        for bad in [
            "",
            "2 V1 N1\n",
            "3 N5\n",
            "3 V5 N6\nx :name\n",
            "3 V5 N6\n0 :n\n",
            "3 V5\n7 nocolon\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn x_uidl_comes_from_the_header_only() {
        assert_eq!(
            x_uidl(b"From: a\r\nX-UIDL: abc123\r\n\r\nX-UIDL: body\r\n").as_deref(),
            Some("abc123")
        );
        assert_eq!(x_uidl(b"From: a\r\n\r\nX-UIDL: body\r\n"), None);
        assert_eq!(x_uidl(b"X-UIDL: has space\r\n\r\n"), None);
    }
}
