//! The Sieve script the console owns (`postern-web`): the vacation reply
//! (RFC 5230) and the simple rules of `/account/vacation` and
//! `/account/filters`, one script with both parts. The settings ride in
//! the script itself, one marker comment each (JSON on one line), so the
//! pages read back exactly what they wrote and never parse Sieve; a
//! script without the markers reads as nothing set.
//!
//! What the script does, in order: the rules, first match wins (one
//! `if`/`elsif` chain); a discarding rule also `stop`s, so discarded mail
//! gets no vacation reply; then the vacation reply, within its dates.

use serde::{Deserialize, Serialize};

/// The name the console stores its script under.
pub const SCRIPT_NAME: &str = "postern-web";

const HEAD: &str = "# postern-web: written by the web console (/account/vacation, /account/filters); \
                    edits made here are replaced when those pages save";
const VACATION_MARK: &str = "# postern-web vacation ";
const RULE_MARK: &str = "# postern-web rule ";

/// The out-of-office reply as the page sets it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vacation {
    pub on: bool,
    pub subject: String,
    pub body: String,
    /// `YYYY-MM-DD`: no reply before this day.
    pub start: Option<String>,
    /// `YYYY-MM-DD`: no reply after this day.
    pub end: Option<String>,
    /// RFC 5230 §4.1 `:days`: one reply per sender in this many days.
    pub days: u32,
    /// RFC 5230 §4.5 `:addresses`: the user's other addresses.
    pub addresses: Vec<String>,
}

/// Which part of the message a rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    From,
    To,
    Subject,
    /// A header field the user names.
    Header,
}

/// What a matching rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Into a folder (made if missing, RFC 5490 `:create`).
    Move,
    /// `\Seen` on the copy kept (RFC 5232).
    Read,
    Discard,
    /// A copy sent on (RFC 3894 `redirect :copy`): the user keeps theirs.
    Forward,
}

/// One "if FIELD contains TEXT then ACTION" rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub field: Field,
    /// The header field's name when `field` is [`Field::Header`].
    #[serde(default)]
    pub header: String,
    pub contains: String,
    pub action: Action,
    /// The folder ([`Action::Move`]) or address ([`Action::Forward`]).
    #[serde(default)]
    pub target: String,
}

impl Rule {
    /// The rule in words, for the list.
    pub fn describe(&self) -> String {
        let field = match self.field {
            Field::From => "From",
            Field::To => "To",
            Field::Subject => "Subject",
            Field::Header => self.header.as_str(),
        };
        let action = match self.action {
            Action::Move => format!("move to {}", self.target),
            Action::Read => "mark as read".to_string(),
            Action::Discard => "discard".to_string(),
            Action::Forward => format!("forward a copy to {}", self.target),
        };
        format!(
            "If {field} contains \u{201c}{}\u{201d}: {action}",
            self.contains
        )
    }
}

/// Everything the console's script holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnScript {
    pub vacation: Vacation,
    pub rules: Vec<Rule>,
}

impl OwnScript {
    /// The settings written into `script` (markers that do not read are
    /// skipped: the page then shows less, never something made up).
    pub fn parse(script: &str) -> OwnScript {
        let mut own = OwnScript::default();
        for line in script.lines() {
            if let Some(json) = line.strip_prefix(VACATION_MARK) {
                if let Ok(v) = serde_json::from_str(json) {
                    own.vacation = v;
                }
            } else if let Some(json) = line.strip_prefix(RULE_MARK)
                && let Ok(r) = serde_json::from_str(json)
            {
                own.rules.push(r);
            }
        }
        own
    }

    /// The Sieve script: the markers, then the rules and the reply.
    pub fn render(&self) -> String {
        let mut out = format!("{HEAD}\r\n");
        let marker = |mark: &str, json: serde_json::Result<String>| {
            // JSON escapes every line break, so a marker stays one line.
            json.map(|j| format!("{mark}{j}\r\n")).unwrap_or_default()
        };
        out += &marker(VACATION_MARK, serde_json::to_string(&self.vacation));
        for r in &self.rules {
            out += &marker(RULE_MARK, serde_json::to_string(r));
        }
        let mut require: Vec<&str> = Vec::new();
        let mut need = |ext: &'static str| {
            if !require.contains(&ext) {
                require.push(ext);
            }
        };
        for r in &self.rules {
            match r.action {
                Action::Move => ["fileinto", "mailbox"].into_iter().for_each(&mut need),
                Action::Read => need("imap4flags"),
                Action::Forward => need("copy"),
                Action::Discard => {}
            }
        }
        let v = &self.vacation;
        if v.on {
            need("vacation");
            if v.start.is_some() || v.end.is_some() {
                ["date", "relational"].into_iter().for_each(&mut need);
            }
        }
        if !require.is_empty() {
            let list: Vec<String> = require.iter().map(|e| quote(e)).collect();
            out += &format!("require [{}];\r\n", list.join(", "));
        }
        for (i, r) in self.rules.iter().enumerate() {
            let test = match r.field {
                Field::From => format!("header :contains \"from\" {}", quote(&r.contains)),
                Field::To => format!("header :contains [\"to\", \"cc\"] {}", quote(&r.contains)),
                Field::Subject => format!("header :contains \"subject\" {}", quote(&r.contains)),
                Field::Header => format!(
                    "header :contains {} {}",
                    quote(&r.header),
                    quote(&r.contains)
                ),
            };
            let action = match r.action {
                Action::Move => format!("fileinto :create {};", quote(&r.target)),
                Action::Read => "addflag \"\\\\Seen\";".to_string(),
                Action::Discard => "discard;\r\n    stop;".to_string(),
                Action::Forward => format!("redirect :copy {};", quote(&r.target)),
            };
            let word = if i == 0 { "if" } else { "} elsif" };
            out += &format!("{word} {test} {{\r\n    {action}\r\n");
        }
        if !self.rules.is_empty() {
            out += "}\r\n";
        }
        if v.on {
            out += &vacation(v);
        }
        out
    }
}

/// The `vacation` command, inside its date test when it has dates.
fn vacation(v: &Vacation) -> String {
    let mut cmd = format!("vacation :days {}", v.days.max(1));
    // The subject becomes a header field of the reply: one line.
    cmd += &format!(" :subject {}", quote(&v.subject.replace(['\r', '\n'], " ")));
    if !v.addresses.is_empty() {
        let list: Vec<String> = v.addresses.iter().map(|a| quote(a)).collect();
        cmd += &format!(" :addresses [{}]", list.join(", "));
    }
    // RFC 5228 §2.4.2 multi-line text: a line holding only "." ends it, so
    // a line that starts with a dot gets one more.
    cmd += " text:\r\n";
    for line in v.body.lines() {
        if line.starts_with('.') {
            cmd.push('.');
        }
        cmd += line;
        cmd += "\r\n";
    }
    cmd += ".\r\n;\r\n";
    // RFC 5260 §5: the day compared in the server's zone.
    let mut tests = Vec::new();
    if let Some(d) = &v.start {
        tests.push(format!("currentdate :value \"ge\" \"date\" {}", quote(d)));
    }
    if let Some(d) = &v.end {
        tests.push(format!("currentdate :value \"le\" \"date\" {}", quote(d)));
    }
    if tests.is_empty() {
        cmd
    } else {
        format!("if allof ({}) {{\r\n{cmd}}}\r\n", tests.join(", "))
    }
}

/// A Sieve quoted string (RFC 5228 §2.4.2): `"` and `\` escaped.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> OwnScript {
        OwnScript {
            vacation: Vacation {
                on: true,
                subject: "Away \"now\"\r\nBcc: x@example.net".into(),
                body: "Back soon.\n.hidden dot\n".into(),
                start: Some("2026-12-01".into()),
                end: Some("2026-12-24".into()),
                days: 3,
                addresses: vec!["ann@example.net".into()],
            },
            rules: vec![
                Rule {
                    field: Field::Subject,
                    header: String::new(),
                    contains: "invoice".into(),
                    action: Action::Move,
                    target: "Invoices".into(),
                },
                Rule {
                    field: Field::Header,
                    header: "X-Mailer".into(),
                    contains: "bulk\\\"".into(),
                    action: Action::Discard,
                    target: String::new(),
                },
                Rule {
                    field: Field::From,
                    header: String::new(),
                    contains: "boss".into(),
                    action: Action::Forward,
                    target: "me@example.net".into(),
                },
            ],
        }
    }

    #[test]
    fn settings_read_back_from_the_rendered_script() {
        let own = sample();
        let text = own.render();
        assert_eq!(OwnScript::parse(&text), own);
        assert_eq!(
            OwnScript::parse("require \"fileinto\";\r\n"),
            OwnScript::default()
        );
    }

    #[test]
    fn the_script_quotes_stuffs_and_chains_the_rules() {
        let text = sample().render();
        assert!(
            text.contains("if header :contains \"subject\" \"invoice\" {"),
            "{text}"
        );
        assert!(
            text.contains("} elsif header :contains \"X-Mailer\" \"bulk\\\\\\\"\" {"),
            "{text}"
        );
        assert!(text.contains("discard;\r\n    stop;"), "{text}");
        assert!(
            text.contains("redirect :copy \"me@example.net\";"),
            "{text}"
        );
        assert!(
            text.contains(":subject \"Away \\\"now\\\"  Bcc: x@example.net\""),
            "{text}"
        );
        assert!(text.contains("\r\n..hidden dot\r\n.\r\n;"), "{text}");
        assert!(
            text.contains("currentdate :value \"ge\" \"date\" \"2026-12-01\""),
            "{text}"
        );
        assert!(text.contains(":addresses [\"ann@example.net\"]"), "{text}");
        let require = text
            .lines()
            .find(|l| l.starts_with("require"))
            .expect("require");
        for ext in [
            "fileinto",
            "mailbox",
            "copy",
            "vacation",
            "date",
            "relational",
        ] {
            assert!(require.contains(&format!("\"{ext}\"")), "{require}");
        }
        assert!(!require.contains("imap4flags"), "{require}");
    }

    #[test]
    fn nothing_set_is_a_script_of_comments() {
        let text = OwnScript::default().render();
        assert!(text.lines().all(|l| l.starts_with('#')), "{text}");
    }
}
