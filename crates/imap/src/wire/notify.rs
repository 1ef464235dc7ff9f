//! NOTIFY (RFC 5465 §8): `NOTIFY NONE` or `NOTIFY SET [STATUS]` with
//! event groups, each a mailbox filter and the events wanted for it.

use super::cursor::Cursor;
use super::error::PResult;
use super::fetch::FetchAttr;
use super::mailbox::MailboxName;

/// Most event groups, mailboxes in a filter, and events in a group.
const MAX_ITEMS: usize = 64;

/// Which mailboxes an event group covers (RFC 5465 §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyFilter {
    Selected,
    SelectedDelayed,
    Inboxes,
    Personal,
    Subscribed,
    Subtree(Vec<MailboxName>),
    Mailboxes(Vec<MailboxName>),
}

/// One `"(" filter-mailboxes SP events ")"`; no events is `NONE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventGroup {
    pub filter: NotifyFilter,
    /// Event names, uppercased (`MESSAGENEW`, `FLAGCHANGE`, ...).
    pub events: Vec<String>,
    /// MessageNew's fetch attributes (RFC 5465 §5.2), sent with each new
    /// message of the selected mailbox.
    pub fetch: Option<Vec<FetchAttr>>,
}

/// The NOTIFY command's argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotifyCommand {
    None,
    Set {
        /// `STATUS`: report the watched mailboxes' state at once.
        status: bool,
        groups: Vec<EventGroup>,
    },
}

fn mailboxes(
    c: &mut Cursor<'_>,
    one: &mut dyn FnMut(&mut Cursor<'_>) -> PResult<MailboxName>,
) -> PResult<Vec<MailboxName>> {
    if c.peek() == Some(b'(') {
        c.paren_list(MAX_ITEMS, |c| one(c))
    } else {
        Ok(vec![one(c)?])
    }
}

/// `event = "MessageNew" [SP "(" fetch-att ... ")"] / atom`.
fn event(c: &mut Cursor<'_>) -> PResult<(String, Option<Vec<FetchAttr>>)> {
    let name = c.atom()?.to_ascii_uppercase();
    if name == "MESSAGENEW" && c.rest().starts_with(b" (") {
        c.sp()?;
        let atts = super::fetch::fetch_items(c)?;
        return Ok((name, Some(atts)));
    }
    Ok((name, None))
}

/// After `NOTIFY` and its SP.
pub(crate) fn notify(
    c: &mut Cursor<'_>,
    one: &mut dyn FnMut(&mut Cursor<'_>) -> PResult<MailboxName>,
) -> PResult<NotifyCommand> {
    if c.keyword("NONE") {
        return Ok(NotifyCommand::None);
    }
    if !c.keyword("SET") {
        return Err(c.fail("SET or NONE"));
    }
    c.sp()?;
    let status = c.keyword("STATUS");
    if status {
        c.sp()?;
    }
    let mut groups = Vec::new();
    loop {
        if groups.len() >= MAX_ITEMS {
            return Err(c.fail("fewer event groups"));
        }
        c.expect(b'(', "(")?;
        let filter = if c.keyword("SELECTED-DELAYED") {
            NotifyFilter::SelectedDelayed
        } else if c.keyword("SELECTED") {
            NotifyFilter::Selected
        } else if c.keyword("INBOXES") {
            NotifyFilter::Inboxes
        } else if c.keyword("PERSONAL") {
            NotifyFilter::Personal
        } else if c.keyword("SUBSCRIBED") {
            NotifyFilter::Subscribed
        } else if c.keyword("SUBTREE") {
            c.sp()?;
            NotifyFilter::Subtree(mailboxes(c, one)?)
        } else if c.keyword("MAILBOXES") {
            c.sp()?;
            NotifyFilter::Mailboxes(mailboxes(c, one)?)
        } else {
            return Err(c.fail("mailbox filter"));
        };
        c.sp()?;
        let (events, fetch) = if c.keyword("NONE") {
            (Vec::new(), None)
        } else {
            let mut fetch = None;
            let mut events = Vec::new();
            for (name, atts) in c.paren_list(MAX_ITEMS, event)? {
                fetch = fetch.or(atts);
                events.push(name);
            }
            (events, fetch)
        };
        c.expect(b')', ")")?;
        groups.push(EventGroup {
            filter,
            events,
            fetch,
        });
        if c.at_end() {
            return Ok(NotifyCommand::Set { status, groups });
        }
        c.sp()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Option<NotifyCommand> {
        let mut one = |c: &mut Cursor<'_>| {
            let b = c.astring()?;
            MailboxName::from_wire(&b, false)
                .map_err(super::super::error::ParseErrorKind::BadMailboxName)
        };
        let mut c = Cursor::new(s.as_bytes());
        notify(&mut c, &mut one).ok().filter(|_| c.at_end())
    }

    #[test]
    fn notify_commands_of_rfc5465_parse() {
        assert_eq!(parse("NONE"), Some(NotifyCommand::None));
        let Some(NotifyCommand::Set { status, groups }) = parse(
            "SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (mailboxes (Lists Archive) (MessageNew MessageExpunge)) (personal NONE)",
        ) else {
            panic!("SET parses");
        };
        assert!(status);
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].filter, NotifyFilter::Selected);
        assert_eq!(
            groups[0].events,
            ["MESSAGENEW", "MESSAGEEXPUNGE", "FLAGCHANGE"]
        );
        assert_eq!(
            groups[0].fetch,
            Some(vec![FetchAttr::Uid, FetchAttr::Flags])
        );
        assert!(matches!(&groups[1].filter, NotifyFilter::Mailboxes(m) if m.len() == 2));
        assert_eq!(groups[1].fetch, None);
        assert!(groups[2].events.is_empty());
        for bad in [
            "SET",
            "SET ()",
            "SET (bogus (MessageNew))",
            "SET (inboxes MessageNew)",
            "FOO",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
