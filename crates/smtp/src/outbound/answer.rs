//! Reading a remote server's refusal (sans-IO): its enhanced status code
//! (RFC 3463) and the wording the big providers use, turned into what the
//! queue does next and what the sender or the operator should fix.
//!
//! - Greylisting (a 4xx that says so, or RFC 6647's usual `451 4.7.1`
//!   "try again later"): retried after `greylist_retry`, not after the
//!   doubling backoff, since the second try is expected to pass.
//! - Rate limiting (Gmail's `4.7.28`, Microsoft's `4.7.500` "server busy"
//!   and `4.7.650`, Yahoo's `421 4.7.0 [TSS04]`, any "rate limit" text):
//!   the provider is paused for `rate_limit_pause`, every domain it
//!   serves with it.
//! - Authentication and policy refusals (`5.7.26`, `5.7.1`, `5.7.515`,
//!   `5.7.9`, blocklists): no queue change, but an explanation with the fix
//!   for the bounce, `postern queue show` and the log.
//!
//! The texts matched are the providers' own, as they send them today; an
//! unknown wording falls back to the plain reading of the reply code.

/// What a reply means for the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Greylisted,
    RateLimited,
    /// Refused for authentication or the sender's reputation.
    Policy,
    Other,
}

/// A reply read: its kind, the provider that sent it (when known), and
/// what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    pub kind: Kind,
    pub provider: Option<&'static str>,
    pub advice: Option<String>,
}

/// The enhanced status code at the start of a stored reply text
/// (`"550 5.7.26 …"` → `(5, 7, 26)`).
fn status(text: &str) -> Option<(u16, u16, u16)> {
    let mut words = text.split_whitespace();
    let first = words.next()?;
    let code = if first.len() == 3 && first.bytes().all(|b| b.is_ascii_digit()) {
        words.next()?
    } else {
        first
    };
    let mut parts = code.split('.');
    let a = parts.next()?.parse().ok()?;
    let b = parts.next()?.parse().ok()?;
    let c = parts.next()?.parse().ok()?;
    Some((a, b, c))
}

/// The provider a reply comes from: the MX host's name (`remote_mta`,
/// "host [ip]") or the signature the provider puts in its texts.
fn provider(lower: &str, mta: &str) -> Option<&'static str> {
    let host = mta
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let by_host = |suffixes: &[&str]| {
        suffixes
            .iter()
            .any(|s| host == *s || host.ends_with(&format!(".{s}")))
    };
    if by_host(&["google.com", "googlemail.com"]) || lower.ends_with(" gsmtp") {
        Some("Gmail")
    } else if by_host(&["outlook.com", "hotmail.com"]) || lower.contains("outlook.com") {
        Some("Microsoft")
    } else if by_host(&["yahoodns.net"]) || lower.contains("yahoo") || lower.contains("[tss0") {
        Some("Yahoo")
    } else {
        None
    }
}

/// Reads `text` (the reply as stored: code, enhanced code, lines), sent by
/// `mta` ("host [ip]", or "" when unknown).
pub fn read(text: &str, mta: &str) -> Reading {
    let lower = text.to_ascii_lowercase();
    let provider = provider(&lower, mta);
    let st = status(text);
    let temporary = text.starts_with('4') || st.is_some_and(|s| s.0 == 4);
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    let who = provider.unwrap_or("The receiving server");
    if temporary && has(&["greylist", "grey-list", "graylist", "gray-list"]) {
        return Reading {
            kind: Kind::Greylisted,
            provider,
            advice: Some("greylisted: the next try is expected to pass".into()),
        };
    }
    let rate = matches!(st, Some((4, 7, 28 | 500 | 650)))
        || has(&[
            "rate limit",
            "rate-limit",
            "unusual rate",
            "unexpected volume",
            "server busy",
            "too many messages",
            "[tss0",
            "[ts0",
        ]);
    if temporary && rate {
        return Reading {
            kind: Kind::RateLimited,
            provider,
            advice: Some(format!(
                "{who} is limiting how fast it takes mail from this server; the queue \
                 waits before sending to it again. Keep volume steady, and check \
                 the sending IP's reputation and `postern doctor`"
            )),
        };
    }
    if temporary && matches!(st, Some((4, 7, 1))) && has(&["try again later", "please retry"]) {
        // RFC 6647 §2.1: the usual greylisting answer, without the word.
        return Reading {
            kind: Kind::Greylisted,
            provider,
            advice: Some("probably greylisted: the next try is expected to pass".into()),
        };
    }
    let advice = match (st, provider) {
        (Some((5, 7, 26)), Some("Gmail")) => Some(
            "Gmail requires SPF or DKIM alignment with the From domain (and DMARC for \
             bulk senders): publish the records `postern domain dns DOMAIN` prints and \
             run `postern doctor`"
                .to_string(),
        ),
        (Some((5, 7, 26)), _) => Some(format!(
            "{who} found no passing SPF or DKIM for the sender: publish the records \
             `postern domain dns DOMAIN` prints and run `postern doctor`"
        )),
        (Some((5, 7, 515)), _) => Some(
            "Microsoft requires SPF, DKIM and DMARC for the sending domain: publish \
             the records `postern domain dns DOMAIN` prints and run `postern doctor`"
                .to_string(),
        ),
        (Some((5, 7, 9)), Some("Yahoo")) => Some(
            "Yahoo requires SPF or DKIM (and DMARC for bulk senders): publish the \
             records `postern domain dns DOMAIN` prints and run `postern doctor`"
                .to_string(),
        ),
        (Some((5, 7, 1)), Some(p))
            if has(&["block list", "blocklist", "blacklist", "spamhaus"]) =>
        {
            Some(format!(
                "{p} refuses this server's IP address (a block list): check it with \
                 `postern doctor`, ask for delisting, or send through a relay \
                 (`[outbound] relay_host`)"
            ))
        }
        (Some((5, 7, 1)), Some(p)) if has(&["ptr", "reverse dns", "rdns"]) => Some(format!(
            "{p} wants a reverse DNS (PTR) name for this server's IP that resolves \
             back to it: ask the IP's owner to set one, then run `postern doctor`"
        )),
        (Some((5, 7, 1)), Some(p)) => Some(format!(
            "{p} refused the message by policy (authentication or reputation): run \
             `postern doctor` to check SPF, DKIM, DMARC, reverse DNS and block lists"
        )),
        _ => None,
    };
    Reading {
        kind: if advice.is_some() {
            Kind::Policy
        } else {
            Kind::Other
        },
        provider,
        advice,
    }
}

#[cfg(test)]
mod tests {
    use super::{Kind, read};

    /// Replies as the providers send them (multi-line replies as our
    /// client stores them: code, enhanced code, the lines joined).
    const GMAIL_UNAUTH: &str = "550 5.7.26 This mail has been blocked because the sender is \
        5.7.26 unauthenticated. Gmail requires all senders to authenticate with \
        5.7.26 either SPF or DKIM. 5.7.26 5.7.26 Authentication results: 5.7.26 DKIM = \
        did not pass 5.7.26 SPF [example.org] with ip: [192.0.2.1] = did not pass \
        5.7.26 For instructions on setting up authentication, go to 5.7.26 \
        https://support.google.com/mail/answer/81126#authentication - gsmtp";
    const GMAIL_RATE: &str = "421 4.7.28 [192.0.2.1] Our system has detected an unusual rate of \
        4.7.28 unsolicited mail originating from your IP address. To protect our \
        4.7.28 users from spam, mail sent from your IP address has been temporarily \
        4.7.28 rate limited. Please visit 4.7.28 \
        https://support.google.com/mail/?p=UnsolicitedRateLimitError to 4.7.28 review \
        our Bulk Email Senders Guidelines. - gsmtp";
    const OUTLOOK_BUSY: &str = "451 4.7.500 Server busy. Please try again later from \
        [192.0.2.1]. (S77714) [BL6PEPF0001AB50.namprd04.prod.outlook.com]";
    const OUTLOOK_BLOCK: &str = "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't \
        sent. Please contact your Internet service provider since part of their network \
        is on our block list (S3150). You can also refer your provider to \
        http://mail.live.com/mail/troubleshooting.aspx#errors. \
        [AM4PEPF00025F98.EURPRD83.prod.outlook.com]";
    const YAHOO_TSS04: &str = "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred \
        due to unexpected volume or user complaints - 4.16.55.1; see \
        https://postmaster.yahooinc.com/error-codes";
    const POSTGREY: &str = "450 4.2.0 <x@remote.test>: Recipient address rejected: \
        Greylisted, see http://postgrey.schweikert.ch/help/remote.test.html";

    #[test]
    fn the_providers_replies_are_read_for_what_they_mean() {
        let gmail = read(GMAIL_UNAUTH, "mx.remote.test [127.0.0.1]");
        assert_eq!((gmail.kind, gmail.provider), (Kind::Policy, Some("Gmail")));
        let advice = gmail.advice.expect("advice");
        assert!(
            advice.starts_with("Gmail requires SPF or DKIM alignment"),
            "{advice}"
        );
        assert!(advice.contains("postern doctor"), "{advice}");

        let rate = read(GMAIL_RATE, "");
        assert_eq!(
            (rate.kind, rate.provider),
            (Kind::RateLimited, Some("Gmail"))
        );
        let busy = read(OUTLOOK_BUSY, "");
        assert_eq!(
            (busy.kind, busy.provider),
            (Kind::RateLimited, Some("Microsoft"))
        );
        let yahoo = read(YAHOO_TSS04, "mta7.am0.yahoodns.net [192.0.2.9]");
        assert_eq!(
            (yahoo.kind, yahoo.provider),
            (Kind::RateLimited, Some("Yahoo"))
        );

        let block = read(OUTLOOK_BLOCK, "");
        assert_eq!(
            (block.kind, block.provider),
            (Kind::Policy, Some("Microsoft"))
        );
        assert!(block.advice.expect("advice").contains("block list"));

        assert_eq!(read(POSTGREY, "").kind, Kind::Greylisted);
        let plain = read("451 4.7.1 Please try again later", "");
        assert_eq!(plain.kind, Kind::Greylisted);
    }

    #[test]
    fn ordinary_replies_are_left_to_the_reply_code() {
        for text in [
            "550 5.1.1 <nobody@remote.test>: no such user here",
            "452 4.2.2 Mailbox full",
            "451 4.3.0 Try again later",
            "4.4.1 connecting to mx [192.0.2.1]: connection refused",
        ] {
            let r = read(text, "mx.remote.test [192.0.2.1]");
            assert_eq!((r.kind, r.advice), (Kind::Other, None), "{text}");
        }
        // A permanent refusal that mentions a rate is not a pause.
        assert_eq!(read("550 5.7.28 rate limit exceeded", "").kind, Kind::Other);
    }
}
