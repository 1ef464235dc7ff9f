//! A user's own spam settings (migration 21): their junk threshold, whether
//! clear spam may be refused at SMTP time for them, and the senders they
//! allow or block. The store keeps and bounds the rows; what they mean for
//! a verdict (precedence over the admin's config, alignment of an allowed
//! From) is postern-spam's and postern-delivery's.
//!
//! A sender rule is a [`SenderPattern`]: one address (`ann@example.org`) or
//! a whole domain (`@example.org`, which also covers its subdomains), kept
//! lowercased so a match is case-insensitive. A pattern is either allowed
//! or blocked, never both: adding it to one list takes it off the other.
//! Every write moves [`Store::spam_prefs_generation`], so a scorer's cache
//! in this process sees the change at once without a read.

use std::fmt;

use rusqlite::OptionalExtension;

use crate::error::{Result, StoreError};
use crate::types::UserId;
use crate::{Store, now_secs};

/// Whether mail from a sender is wanted or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SenderRuleKind {
    Allow,
    Block,
}

impl SenderRuleKind {
    fn code(self) -> i64 {
        match self {
            SenderRuleKind::Allow => 1,
            SenderRuleKind::Block => 0,
        }
    }

    fn from_code(c: i64) -> Self {
        if c == 1 {
            SenderRuleKind::Allow
        } else {
            SenderRuleKind::Block
        }
    }

    /// `allowed` or `blocked`, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            SenderRuleKind::Allow => "allowed",
            SenderRuleKind::Block => "blocked",
        }
    }
}

/// A checked sender rule: `local@domain` or `@domain`, lowercase, without
/// a trailing dot on the domain.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SenderPattern(String);

/// RFC 5321 §4.5.3.1.1 and §4.5.3.1.2: the longest local part and domain.
const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 255;

impl SenderPattern {
    /// Reads what a user typed; `Err` says why it is neither an address
    /// nor a domain.
    pub fn parse(input: &str) -> std::result::Result<SenderPattern, String> {
        let s = input.trim().to_lowercase();
        let bad = |why: &str| {
            Err(format!(
                "{:?} is not an address (name@example.org) or a domain (@example.org): {why}",
                input.trim()
            ))
        };
        let Some((local, domain)) = s.rsplit_once('@') else {
            return bad("no @");
        };
        if local.chars().count() > MAX_LOCAL {
            return bad("the name before @ is too long");
        }
        if let Some(c) = local.chars().find(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '@' | '<' | '>' | ',' | ';' | '"')
        }) {
            return bad(&format!("{c:?} cannot appear before the @"));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return bad("misplaced dot before the @");
        }
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        if domain.is_empty() {
            return bad("no domain after the @");
        }
        if domain.len() > MAX_DOMAIN {
            return bad("the domain is too long");
        }
        for label in domain.split('.') {
            if label.is_empty() || label.len() > 63 {
                return bad("a domain label is empty or longer than 63 bytes");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return bad("a domain label starts or ends with -");
            }
            // Letters, digits and hyphens (RFC 1035 §2.3.1), or the letters
            // of an internationalised name (RFC 6531 allows U-labels).
            if let Some(c) = label.chars().find(|c| !(c.is_alphanumeric() || *c == '-')) {
                return bad(&format!("{c:?} cannot appear in a domain"));
            }
        }
        Ok(SenderPattern(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain of a `@domain` rule; `None` for one address.
    pub fn domain(&self) -> Option<&str> {
        self.0.strip_prefix('@')
    }
}

impl fmt::Display for SenderPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One user's settings as stored; `None` leaves the server's setting.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpamPrefs {
    pub junk_threshold: Option<f64>,
    /// `Some(false)`: never refuse this user's mail, file it in Junk.
    pub reject: Option<bool>,
    /// By pattern.
    pub senders: Vec<(SenderPattern, SenderRuleKind)>,
}

impl SpamPrefs {
    /// True when the user set nothing of their own.
    pub fn is_empty(&self) -> bool {
        self.junk_threshold.is_none() && self.reject.is_none() && self.senders.is_empty()
    }
}

/// A deleted user's settings go in the same commit as the user.
pub(crate) fn delete_user_rows(ctx: &mut crate::writer::WriteCtx<'_>, user: UserId) -> Result<()> {
    for sql in [
        "DELETE FROM spam_prefs WHERE user_id = ?1",
        "DELETE FROM spam_sender_rules WHERE user_id = ?1",
    ] {
        ctx.conn.execute(sql, [user.0])?;
    }
    Ok(())
}

impl Store {
    /// `user`'s own settings and sender rules.
    pub async fn spam_prefs(&self, user: UserId) -> Result<SpamPrefs> {
        self.read(move |c| {
            let (junk_threshold, reject) = c
                .prepare_cached("SELECT junk_threshold, reject FROM spam_prefs WHERE user_id = ?1")?
                .query_row([user.0], |r| {
                    Ok((r.get::<_, Option<f64>>(0)?, r.get::<_, Option<bool>>(1)?))
                })
                .optional()?
                .unwrap_or_default();
            let mut st = c.prepare_cached(
                "SELECT pattern, kind FROM spam_sender_rules WHERE user_id = ?1 ORDER BY pattern",
            )?;
            let senders = st
                .query_map([user.0], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                // Rows are written from checked patterns only.
                .map(|(p, k)| (SenderPattern(p), SenderRuleKind::from_code(k)))
                .collect();
            Ok(SpamPrefs {
                junk_threshold,
                reject,
                senders,
            })
        })
        .await
    }

    /// Sets `user`'s junk threshold and reject choice (`None`: back to the
    /// server's). The caller checks the values against the config.
    pub async fn spam_prefs_set(
        &self,
        user: UserId,
        junk_threshold: Option<f64>,
        reject: Option<bool>,
    ) -> Result<()> {
        if junk_threshold.is_some_and(|t| !t.is_finite()) {
            return Err(StoreError::Invalid(
                "the junk threshold is not a number".into(),
            ));
        }
        self.inner
            .writer
            .write(move |ctx| {
                ctx.conn.execute(
                    "INSERT INTO spam_prefs (user_id, junk_threshold, reject, updated_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (user_id) DO UPDATE SET junk_threshold = ?2, reject = ?3,
                         updated_at = ?4",
                    (user.0, junk_threshold, reject, now_secs()),
                )?;
                Ok(())
            })
            .await?;
        self.prefs_changed();
        Ok(())
    }

    /// Allows or blocks `pattern` for `user` (taking it off the other list);
    /// refused when it is new and the user already has `max` rules.
    pub async fn spam_sender_rule_add(
        &self,
        user: UserId,
        pattern: &SenderPattern,
        kind: SenderRuleKind,
        max: usize,
    ) -> Result<()> {
        let pattern = pattern.0.clone();
        self.inner
            .writer
            .write(move |ctx| {
                let exists: bool = ctx
                    .conn
                    .prepare_cached(
                        "SELECT 1 FROM spam_sender_rules WHERE user_id = ?1 AND pattern = ?2",
                    )?
                    .exists((user.0, &pattern))?;
                if !exists {
                    let n: i64 = ctx.conn.query_row(
                        "SELECT COUNT(*) FROM spam_sender_rules WHERE user_id = ?1",
                        [user.0],
                        |r| r.get(0),
                    )?;
                    if n as u64 >= max as u64 {
                        return Err(StoreError::Invalid(format!(
                            "already {n} allowed and blocked senders, the most one user may have ([spam] max_sender_rules = {max}); remove one first"
                        )));
                    }
                }
                ctx.conn.execute(
                    "INSERT INTO spam_sender_rules (user_id, pattern, kind, created_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (user_id, pattern) DO UPDATE SET kind = ?3",
                    (user.0, &pattern, kind.code(), now_secs()),
                )?;
                Ok(())
            })
            .await?;
        self.prefs_changed();
        Ok(())
    }

    /// Takes `pattern` off `user`'s `kind` list; `NotFound` if it is not
    /// on that list.
    pub async fn spam_sender_rule_remove(
        &self,
        user: UserId,
        pattern: &SenderPattern,
        kind: SenderRuleKind,
    ) -> Result<()> {
        let pattern = pattern.0.clone();
        self.inner
            .writer
            .write(move |ctx| {
                let n = ctx.conn.execute(
                    "DELETE FROM spam_sender_rules WHERE user_id = ?1 AND pattern = ?2 AND kind = ?3",
                    (user.0, &pattern, kind.code()),
                )?;
                if n == 0 {
                    return Err(StoreError::NotFound(format!(
                        "{pattern} among the {} senders",
                        kind.as_str()
                    )));
                }
                Ok(())
            })
            .await?;
        self.prefs_changed();
        Ok(())
    }

    /// How many users have settings or sender rules of their own.
    pub async fn spam_prefs_users(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM (
                     SELECT user_id FROM spam_prefs
                     WHERE junk_threshold IS NOT NULL OR reject IS NOT NULL
                     UNION SELECT user_id FROM spam_sender_rules)",
                [],
                |r| r.get::<_, i64>(0),
            )?
            .max(0) as u64)
        })
        .await
    }

    /// A counter every settings write of this process moves: while it
    /// stands still, no user's settings changed here (the admin CLI, in
    /// another process, may still have written some).
    pub fn spam_prefs_generation(&self) -> u64 {
        self.inner
            .prefs_generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    fn prefs_changed(&self) {
        self.inner
            .prefs_generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_lowercased_and_checked() {
        for (input, want) in [
            ("Ann@Example.ORG", "ann@example.org"),
            ("  @Example.org. ", "@example.org"),
            ("@xyz", "@xyz"),
            (
                "first.last+tag@sub.example-1.org",
                "first.last+tag@sub.example-1.org",
            ),
            ("ann@bücher.example", "ann@bücher.example"),
        ] {
            assert_eq!(
                SenderPattern::parse(input).map(|p| p.0),
                Ok(want.to_string()),
                "{input}"
            );
        }
        for (input, why) in [
            ("", "no @"),
            ("example.org", "no @"),
            ("ann@", "no domain"),
            ("@", "no domain"),
            ("a b@example.org", "' '"),
            ("<ann@example.org>", "'<'"),
            ("ann@exa mple.org", "' '"),
            ("ann@example..org", "empty"),
            ("ann@-example.org", "starts or ends"),
            (".ann@example.org", "misplaced dot"),
            ("ann@example_org", "'_'"),
        ] {
            let e = SenderPattern::parse(input).expect_err(input);
            assert!(e.contains("is not an address"), "{input}: {e}");
            assert!(e.contains(why), "{input}: {e}");
        }
        let long = format!("{}@example.org", "a".repeat(65));
        assert!(SenderPattern::parse(&long).is_err());
        assert_eq!(
            SenderPattern::parse("@Example.org").expect("ok").domain(),
            Some("example.org")
        );
        assert_eq!(SenderPattern::parse("a@b.c").expect("ok").domain(), None);
    }
}
