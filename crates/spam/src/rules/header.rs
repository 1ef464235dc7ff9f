//! Header heuristics: mandatory headers missing, a Date zone no clock
//! writes or a Date hours after the message arrived, a shouting subject, a
//! From display name that shows another domain's address, a Reply-To
//! elsewhere (outside mailing lists), mail programs whose claimed
//! identity their own headers (Thread-Index, the Message-ID's shape)
//! contradict, and the marks of bulk mailers: a subject padded to hide a
//! tracking code or labelled `ADV:`, high priority, a To of
//! undisclosed recipients or of many.

use super::{Hit, org_domain};
use crate::config::SpamConfig;
use crate::message::MessageView;

/// Every header rule that fires on `view`.
pub fn hits(view: &MessageView, config: &SpamConfig) -> Vec<Hit> {
    let mut out = Vec::new();
    // RFC 5322 §3.6: Date is required; Message-ID SHOULD be present (§3.6.4),
    // and every mainstream client and MTA adds one.
    if !view.has_date {
        out.push(Hit::new("MISSING_DATE", ""));
    }
    if let Some((_, date)) = view.header_fields.iter().find(|(n, _)| n == "date")
        && let Some(zone) = bad_date_zone(date)
    {
        out.push(Hit::new("INVALID_DATE_ZONE", &zone));
    }
    if view
        .message_id
        .as_deref()
        .is_none_or(|m| m.trim().is_empty())
    {
        out.push(Hit::new("MISSING_MESSAGE_ID", ""));
    }
    if let Some(s) = &view.subject {
        let letters = s.chars().filter(|c| c.is_alphabetic()).count();
        if letters >= config.all_caps_min_letters
            && s.chars()
                .filter(|c| c.is_alphabetic())
                .all(|c| c.is_uppercase())
        {
            out.push(Hit::new("SUBJECT_ALL_CAPS", ""));
        }
    }
    let from_org = view
        .from_address
        .as_deref()
        .and_then(|a| a.rsplit_once('@'))
        .map(|(_, d)| org_domain(d));
    if let (Some(name), Some(from_org)) = (&view.from_name, &from_org)
        && let Some(shown) = address_in(name)
        && org_domain(&shown) != *from_org
    {
        out.push(Hit::new("FROM_NAME_SPOOFS_ADDRESS", &shown));
    }
    // A mailing list sets Reply-To to the list on purpose (its List-* fields,
    // RFC 2369 and RFC 2919, say it is one), so only other mail is judged.
    if let Some(from_org) = from_org.as_ref().filter(|_| !is_list_mail(view)) {
        for r in &view.reply_to {
            if let Some((_, d)) = r.rsplit_once('@')
                && org_domain(d) != *from_org
            {
                out.push(Hit::new("REPLY_TO_MISMATCH", d));
                break;
            }
        }
    }
    if let Some((_, subject)) = view.header_fields.iter().find(|(n, _)| n == "subject") {
        if padded_subject(subject) {
            out.push(Hit::new("SUBJECT_PADDED", ""));
        }
        if advertisement_label(subject) {
            out.push(Hit::new("SUBJECT_ADV", ""));
        }
    }
    if !is_list_mail(view) && view.to_count >= config.to_many_min {
        out.push(Hit::new("TO_MANY", &view.to_count.to_string()));
    }
    if high_priority(view) {
        out.push(Hit::new("PRIORITY_HIGH", ""));
    }
    if undisclosed_recipients(view) {
        out.push(Hit::new("TO_UNDISCLOSED", ""));
    }
    if view.date_skew.is_some_and(|s| s > config.date_future_secs) {
        out.push(Hit::new("DATE_IN_FUTURE", ""));
    }
    if let Some((_, date)) = view.header_fields.iter().find(|(n, _)| n == "date")
        && date_without_zone(date)
    {
        out.push(Hit::new("DATE_NO_ZONE", ""));
    }
    if let Some(m) = &view.mailer {
        if forged_outlook(m, view.has_thread_index) {
            out.push(Hit::new("FORGED_OUTLOOK", m));
        }
        if outlook_message_id_forged(m, view.message_id.as_deref()) {
            out.push(Hit::new("FORGED_OUTLOOK_MID", m));
        }
        if forged_apple_mail(m, view.message_id.as_deref()) {
            out.push(Hit::new("FORGED_APPLE_MAIL", m));
        }
    }
    out
}

/// Whether `view` came through a mailing list manager.
fn is_list_mail(view: &MessageView) -> bool {
    view.header_names.iter().any(|n| {
        matches!(
            n.as_str(),
            "list-id" | "list-post" | "mailing-list" | "x-mailing-list" | "x-beenthere"
        )
    })
}

/// A raw Subject value with a run of three or more blanks inside one of its
/// lines (after some text): bulk mailers pad a per-recipient tracking code
/// off the visible end of the subject (`Save now!        XKQZT`). Folding
/// (RFC 5322 §2.2.3: CRLF then white space) starts a new line, so the
/// indentation of a folded subject is not counted.
fn padded_subject(raw: &str) -> bool {
    raw.split('\n').any(|line| {
        let line = line.trim_start().trim_end_matches('\r');
        let mut run = 0;
        line.chars().any(|c| {
            run = if c == ' ' || c == '\t' { run + 1 } else { 0 };
            run >= 3
        })
    })
}

/// A subject labelled `ADV:` (or `[ADV]`), the tag several US state laws
/// required on unsolicited advertising.
fn advertisement_label(raw: &str) -> bool {
    let s = raw.trim_start().to_ascii_uppercase();
    s.starts_with("ADV:") || s.starts_with("ADV :") || s.starts_with("[ADV]")
}

/// `X-Priority: 1` or `X-MSMail-Priority: High`: mail programs set them
/// when a person asks; bulk mailers set them on everything.
fn high_priority(view: &MessageView) -> bool {
    view.header_fields.iter().any(|(n, v)| match n.as_str() {
        "x-priority" => v.trim_start().starts_with('1'),
        "x-msmail-priority" => v.trim().eq_ignore_ascii_case("high"),
        _ => false,
    })
}

/// A To of `undisclosed-recipients:;` (RFC 5322 §3.4's empty group):
/// mail sent to a hidden list of addresses. Mailing lists name their own
/// list, so list mail is not judged. (No To at all is not judged either:
/// the -1 ham has it on many list digests and Bcc copies.)
fn undisclosed_recipients(view: &MessageView) -> bool {
    !is_list_mail(view)
        && view
            .header_fields
            .iter()
            .any(|(n, v)| n == "to" && v.to_ascii_lowercase().contains("undisclosed"))
}

/// The zone of a `Date:` value when no real clock could have written it:
/// RFC 5322 §3.3 gives `("+" / "-") 4DIGIT` (or an obsolete name), and
/// every zone in use lies within ±14:00 with minutes a multiple of 15. A
/// sign missing (`0530`) or an offset such as `-1600` comes from a
/// hand-made header. `None` when the zone is fine or is a name.
fn bad_date_zone(date: &str) -> Option<String> {
    // The zone is the last word, before any "(comment)".
    let value = date.split('(').next().unwrap_or("");
    let zone = value.split_whitespace().last()?;
    let digits = zone.trim_start_matches(['+', '-']);
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        // A name (GMT, EST, UT) or the time itself (no zone): not judged.
        return None;
    }
    let hours: u32 = digits[..2].parse().ok()?;
    let minutes: u32 = digits[2..].parse().ok()?;
    let signed = zone.starts_with(['+', '-']);
    (!signed || hours > 14 || !minutes.is_multiple_of(15) || minutes >= 60)
        .then(|| zone.to_string())
}

/// A `Date:` that ends with its time (`Sat, 7 Sep 2002 17:58:28`): RFC
/// 5322 §3.3 requires a zone after it, and every mail program writes one.
fn date_without_zone(date: &str) -> bool {
    let value = date.split('(').next().unwrap_or("");
    value.split_whitespace().last().is_some_and(|last| {
        let parts: Vec<&str> = last.split(':').collect();
        (2..=3).contains(&parts.len())
            && parts
                .iter()
                .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_digit()))
    })
}

/// The domain of an address written inside a display name
/// (`"service@bank.example" <x@elsewhere.example>`), if there is one.
fn address_in(name: &str) -> Option<String> {
    let at = name.find('@')?;
    let domain: String = name[at + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect();
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let local_ok = name[..at]
        .chars()
        .next_back()
        .is_some_and(|c| !c.is_whitespace());
    (local_ok && domain.contains('.')).then_some(domain)
}

/// Outlook since 2003 (version 11) stamps every message with `Thread-Index`;
/// a message that names Outlook in X-Mailer without it was not written by
/// Outlook. Outlook Express never added it, so it is not judged.
fn forged_outlook(mailer: &str, has_thread_index: bool) -> bool {
    let m = mailer.to_ascii_lowercase();
    let Some(rest) = m.strip_prefix("microsoft outlook") else {
        return false;
    };
    if rest.trim_start().starts_with("express") {
        return false;
    }
    // "Microsoft Outlook 16.0", "Microsoft Office Outlook 12.0" are both
    // found; here only the first form, with the major version.
    let major: Option<u32> = rest
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok());
    major.is_some_and(|v| v >= 11) && !has_thread_index
}

/// Outlook Express (for Windows) and Outlook 2002 write Message-IDs as
/// `<12 hex $ 8 hex $ 8 hex@host>` in lowercase hex; bulk-mail programs
/// that borrow their X-Mailer seldom copy that too.
fn outlook_message_id_forged(mailer: &str, message_id: Option<&str>) -> bool {
    let m = mailer.trim_start();
    let claims = m.starts_with("Microsoft Outlook Express")
        || m.starts_with("Microsoft Outlook, Build 10.")
        || m.starts_with("Microsoft Outlook CWS");
    // The Macintosh edition writes no such IDs (its server's instead).
    if !claims || m.contains("Macintosh") {
        return false;
    }
    let Some(id) = message_id else {
        return true;
    };
    let (local, host) = id
        .trim()
        .trim_start_matches('<')
        .split_once('@')
        .unwrap_or((id, ""));
    // Outlook Express sending through Hotmail's HTTP service gets
    // Hotmail's `DAV...` IDs instead.
    if local.starts_with("DAV")
        && host
            .trim_end_matches('>')
            .eq_ignore_ascii_case("hotmail.com")
    {
        return false;
    }
    let groups: Vec<&str> = local.split('$').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let lower_hex = |g: &&str| {
        g.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    };
    !(lens == [12, 8, 8] && groups.iter().all(lower_hex))
}

/// Apple Mail writes Message-IDs as `<UUID@host>`, the UUID in uppercase hex
/// (8-4-4-4-12); one that says "Apple Mail" with any other shape is forged.
fn forged_apple_mail(mailer: &str, message_id: Option<&str>) -> bool {
    if !mailer.trim_start().starts_with("Apple Mail") {
        return false;
    }
    let Some(id) = message_id else {
        return true;
    };
    let local = id
        .trim()
        .trim_start_matches('<')
        .split('@')
        .next()
        .unwrap_or("");
    let groups: Vec<&str> = local.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let uuid = lens == [8, 4, 4, 4, 12]
        && groups.iter().all(|g| {
            g.chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
        });
    !uuid
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &str = "From: Ann <ann@example.org>\r\nTo: bob@example.net\r\n\
Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.org>\r\nSubject: Lunch on Friday\r\n\r\nHi Bob\r\n";

    fn fired(raw: &str) -> Vec<&'static str> {
        super::super::fired(hits, raw)
    }

    fn with(header: &str) -> String {
        format!("{header}\r\n{PLAIN}")
    }

    #[test]
    fn a_plain_message_fires_no_header_rule() {
        assert_eq!(fired(PLAIN), Vec::<&str>::new());
    }

    #[test]
    fn missing_date_and_message_id_fire() {
        let raw = "From: ann@example.org\r\nSubject: x\r\n\r\nbody\r\n";
        assert_eq!(fired(raw), ["MISSING_DATE", "MISSING_MESSAGE_ID"]);
    }

    #[test]
    fn all_caps_subject_fires_only_with_enough_letters() {
        let raw = PLAIN.replace("Lunch on Friday", "FREE MONEY WAITING FOR YOU");
        assert_eq!(fired(&raw), ["SUBJECT_ALL_CAPS"]);
        let short = PLAIN.replace("Lunch on Friday", "RE: FYI");
        assert_eq!(fired(&short), Vec::<&str>::new());
    }

    #[test]
    fn display_name_showing_another_domain_fires() {
        let raw = PLAIN.replace(
            "Ann <ann@example.org>",
            "\"security@bank.example\" <x@phish.example>",
        );
        assert_eq!(fired(&raw), ["FROM_NAME_SPOOFS_ADDRESS"]);
        let own = PLAIN.replace(
            "Ann <ann@example.org>",
            "\"ann@example.org\" <ann@mail.example.org>",
        );
        assert_eq!(fired(&own), Vec::<&str>::new());
    }

    #[test]
    fn reply_to_elsewhere_fires() {
        assert_eq!(
            fired(&with("Reply-To: cash@other.example")),
            ["REPLY_TO_MISMATCH"]
        );
        assert_eq!(
            fired(&with("Reply-To: ann@lists.example.org")),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn a_mailing_list_may_reply_to_itself() {
        let list =
            with("Reply-To: rpm-list@freshrpms.example\r\nList-Id: <rpm-list.freshrpms.example>");
        assert_eq!(fired(&list), Vec::<&str>::new());
    }

    #[test]
    fn a_date_zone_no_clock_writes_fires() {
        for zone in ["-1600", "0530", "+0107", "+2400"] {
            let raw = PLAIN.replace("+0000", zone);
            assert_eq!(fired(&raw), ["INVALID_DATE_ZONE"], "{zone}");
        }
        for zone in ["+1400", "-0930", "+0545", "GMT", "-0700 (PDT)"] {
            let raw = PLAIN.replace("+0000", zone);
            assert_eq!(fired(&raw), Vec::<&str>::new(), "{zone}");
        }
    }

    #[test]
    fn outlook_without_thread_index_is_forged() {
        assert_eq!(
            fired(&with("X-Mailer: Microsoft Outlook 16.0")),
            ["FORGED_OUTLOOK"]
        );
        let real = with("X-Mailer: Microsoft Outlook 16.0\r\nThread-Index: AdnTQ1c2");
        assert_eq!(fired(&real), Vec::<&str>::new());
        // Outlook Express is judged by its Message-ID instead.
        assert_eq!(
            fired(&with("X-Mailer: Microsoft Outlook Express 6.00.2600.0000")),
            ["FORGED_OUTLOOK_MID"]
        );
    }

    #[test]
    fn outlook_express_without_its_message_id_shape_is_forged() {
        let oe = "X-Mailer: Microsoft Outlook Express 6.00.2800.1106";
        let real = PLAIN.replace("<1@example.org>", "<000a01c26b3f$4e5a3be0$0100a8c0@pc>");
        assert_eq!(fired(&format!("{oe}\r\n{real}")), Vec::<&str>::new());
        let upper = PLAIN.replace("<1@example.org>", "<000A01C26B3F$4E5A3BE0$0100A8C0@pc>");
        assert_eq!(fired(&format!("{oe}\r\n{upper}")), ["FORGED_OUTLOOK_MID"]);
        let outlook_2002 = "X-Mailer: Microsoft Outlook, Build 10.0.2616";
        assert_eq!(fired(&with(outlook_2002)), ["FORGED_OUTLOOK_MID"]);
        // Sent through Hotmail's HTTP service, or from the Macintosh edition.
        let dav = PLAIN.replace(
            "<1@example.org>",
            "<DAV32l8aii08N8yxdZj00009342@hotmail.com>",
        );
        assert_eq!(fired(&format!("{oe}\r\n{dav}")), Vec::<&str>::new());
        let mac = "X-Mailer: Microsoft Outlook Express Macintosh Edition - 5.01 (1630)";
        assert_eq!(fired(&with(mac)), Vec::<&str>::new());
    }

    #[test]
    fn a_date_well_after_arrival_is_in_the_future() {
        let hop = "Received: from a.example by b.example; Sun, 6 Dec 2026 09:00:00 +0000";
        // PLAIN's Date is 10:00 UTC: an hour after arrival is clock drift.
        assert_eq!(fired(&with(hop)), Vec::<&str>::new());
        let early = hop.replace("09:00:00", "05:00:00");
        assert_eq!(fired(&with(&early)), ["DATE_IN_FUTURE"]);
        // Written long before it arrived (a digest, a queue) is not judged.
        let late = hop.replace("09:00:00", "23:00:00");
        assert_eq!(fired(&with(&late)), Vec::<&str>::new());
    }

    #[test]
    fn apple_mail_with_a_foreign_message_id_is_forged() {
        assert_eq!(
            fired(&with("X-Mailer: Apple Mail (2.3731)")),
            ["FORGED_APPLE_MAIL"]
        );
        let real = PLAIN.replace(
            "<1@example.org>",
            "<3F2504E0-4F89-11D3-9A0C-0305E82C3301@example.org>",
        );
        assert_eq!(
            fired(&format!("X-Mailer: Apple Mail (2.3731)\r\n{real}")),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn a_subject_padding_a_tracking_code_fires() {
        let raw = PLAIN.replace("Lunch on Friday", "Lowest rates ever!            XKQZT");
        assert_eq!(fired(&raw), ["SUBJECT_PADDED"]);
        // A folded subject's indentation starts a new line: not padding.
        let folded = PLAIN.replace("Lunch on Friday", "Lunch on Friday and\r\n     the agenda");
        assert_eq!(fired(&folded), Vec::<&str>::new());
    }

    #[test]
    fn an_adv_label_fires_and_the_word_alone_does_not() {
        let raw = PLAIN.replace("Lunch on Friday", "ADV: Lower your mortgage");
        assert_eq!(fired(&raw), ["SUBJECT_ADV"]);
        let word = PLAIN.replace("Lunch on Friday", "Advice on Friday's talk");
        assert_eq!(fired(&word), Vec::<&str>::new());
    }

    #[test]
    fn high_priority_fires_and_normal_priority_does_not() {
        assert_eq!(fired(&with("X-Priority: 1 (Highest)")), ["PRIORITY_HIGH"]);
        assert_eq!(fired(&with("X-MSMail-Priority: High")), ["PRIORITY_HIGH"]);
        assert_eq!(fired(&with("X-Priority: 3 (Normal)")), Vec::<&str>::new());
    }

    #[test]
    fn undisclosed_recipients_fire_outside_mailing_lists() {
        let raw = PLAIN.replace("bob@example.net", "undisclosed-recipients:;");
        assert_eq!(fired(&raw), ["TO_UNDISCLOSED"]);
        let list = format!("List-Id: <rpm-list.example>\r\n{raw}");
        assert_eq!(fired(&list), Vec::<&str>::new());
    }

    #[test]
    fn a_date_without_a_zone_fires() {
        let raw = PLAIN.replace("10:00:00 +0000", "10:00:00");
        assert_eq!(fired(&raw), ["DATE_NO_ZONE"]);
        let named = PLAIN.replace("+0000", "GMT");
        assert_eq!(fired(&named), Vec::<&str>::new());
    }

    #[test]
    fn a_to_of_many_addresses_fires_outside_mailing_lists() {
        let many = "a@x.example, b@x.example, c@x.example, d@x.example, e@x.example";
        let raw = PLAIN.replace("bob@example.net", many);
        assert_eq!(fired(&raw), ["TO_MANY"]);
        let four = PLAIN.replace(
            "bob@example.net",
            "a@x.example, b@x.example, c@x.example, d@x.example",
        );
        assert_eq!(fired(&four), Vec::<&str>::new());
        let list = format!("List-Id: <team.example>\r\n{raw}");
        assert_eq!(fired(&list), Vec::<&str>::new());
    }
}
