//! The knobs of the verdict: each rule's weight, the Junk and Reject
//! thresholds, the lists the body rules consult, the classifier's table size
//! and the limits on how much of a message is read. Every value has a default;
//! none names a vendor's service (DNSBL zones are the operator's to list).

/// Weights, in score points, of the rules that need no network. A weight of
/// 0 switches its rule off (it is then left out of the verdict's list).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleWeights {
    /// No `Date:` header (RFC 5322 §3.6 makes it mandatory).
    pub missing_date: f64,
    /// No `Message-ID:` header (RFC 5322 §3.6.4: SHOULD be present).
    pub missing_message_id: f64,
    /// A `Date:` zone no clock writes: no sign, beyond ±14:00, or odd minutes.
    pub invalid_date_zone: f64,
    /// `Date:` later than the newest `Received:` hop by `date_future_secs`.
    pub date_in_future: f64,
    /// A subject of at least `all_caps_min_letters` letters, all capitals.
    pub subject_all_caps: f64,
    /// The From display name holds an address of another domain than From's.
    pub from_name_spoofs_address: f64,
    /// Reply-To points at a domain unrelated to From's.
    pub reply_to_mismatch: f64,
    /// Claims Outlook 2003 or later but lacks the `Thread-Index` it always adds.
    pub forged_outlook: f64,
    /// Claims Outlook Express or Outlook 2002, whose Message-ID shape it lacks.
    pub forged_outlook_mid: f64,
    /// Claims Apple Mail but its Message-ID is not Apple Mail's UUID shape.
    pub forged_apple_mail: f64,
    /// HTML with no text/plain alternative.
    pub html_only: f64,
    /// HTML text hidden from the reader (display:none, font-size:0 ...).
    pub html_hidden_text: f64,
    /// A link through a URL shortener (`shortener_domains`).
    pub url_shortener: f64,
    /// A link whose host is a bare or encoded IP address.
    pub url_numeric_ip: f64,
    /// A link whose visible text shows one domain and whose href goes to another.
    pub href_text_mismatch: f64,
    /// An attachment whose name ends in one of `bad_attachment_extensions`.
    pub bad_attachment: f64,
    /// The Subject pads a tracking code with a run of blanks.
    pub subject_padded: f64,
    /// The Subject starts with the `ADV:` label of unsolicited advertising.
    pub subject_adv: f64,
    /// `X-Priority: 1` or `X-MSMail-Priority: High`.
    pub priority_high: f64,
    /// `Date:` ends with the time: no zone.
    pub date_no_zone: f64,
    /// To lists at least `to_many_min` addresses (outside mailing lists).
    pub to_many: f64,
    /// A text part (plain or HTML) in base64.
    pub text_in_base64: f64,
    /// To `undisclosed-recipients` (outside mailing lists).
    pub to_undisclosed: f64,
    /// At least `pitch_min_phrases` stock phrases of bulk sales pitches.
    pub pitch_phrases: f64,
    /// At least `body_caps_percent` % of the body's letters are capitals.
    pub body_mostly_caps: f64,
    /// HTML with a remote image and under `image_text_max_chars` of text.
    pub html_image_little_text: f64,
    /// The Subject or a text part in one of `faraway_charsets`.
    pub charset_faraway: f64,
    /// From's name or the Subject in base64 encoded words, though plain ASCII.
    pub encoded_ascii_header: f64,
    /// MIME fields (multipart, a transfer encoding) without `MIME-Version`.
    pub mime_no_version: f64,
    /// A Message-ID without `@`.
    pub message_id_no_at: f64,
    /// A Date with a two-digit year.
    pub date_two_digit_year: f64,
    /// A link `http://name@host/`: a user name dressed as a host.
    pub url_userinfo: f64,
    /// From at one of `freemail_domains`, its mailbox ending in 3+ digits.
    pub freemail_from_digits: f64,
    /// At least `undecodable_min_chars` bytes of text its charset cannot decode.
    pub text_undecodable: f64,
    /// A word of 25 or more lowercase letters (random letters, words run together).
    pub random_word: f64,
    /// A From display name of 6+ letters, all capitals.
    pub from_name_caps: f64,
    /// An X-Mailer no mail program writes (Outlook Express's version altered, random letters).
    pub mailer_malformed: f64,
    /// A price (`$` and a digit) in the Subject.
    pub subject_money: f64,
    /// HTML without a text alternative, written by MSHTML (Outlook's editor).
    pub html_only_mshtml: f64,
    /// A text part whose last line is a code of letters and digits.
    pub tracking_code_end: f64,
    /// HTML without a text alternative from a mail program that always adds one.
    pub html_only_mailer: f64,
    /// Outlook (Express) without `X-MimeOLE`, or `X-MimeOLE` under another X-Mailer.
    pub forged_outlook_mimeole: f64,
    /// The GTUBE test string: always a spam verdict, whatever the weight.
    pub gtube: f64,
    /// The classifier's contribution for a spam-ward probability (p ≥ 0.5)
    /// is `classifier * (2p - 1)`, up to `+classifier` for a certain spam.
    /// Below the reject threshold, so the classifier alone never refuses
    /// mail; 14 is the weight under it that bench/spam's cross-validation
    /// on the SpamAssassin corpus ranks first.
    pub classifier: f64,
    /// The same for a ham-ward probability: the contribution is
    /// `classifier_ham * (2p - 1)` when `p < 0.5`, down to `-classifier_ham`
    /// for a certain ham. Smaller than `classifier`, as SpamAssassin's
    /// Bayes scores are, so rules that agree can outvote a classifier that
    /// has only seen mail like this from a trusted list.
    pub classifier_ham: f64,
    /// No reverse DNS name that resolves back to the client's IP (FCrDNS).
    pub fcrdns_missing: f64,
    /// The From is one the recipient allowed, and its domain is
    /// authenticated (`prefs.rs`). Outweighs every rule but GTUBE.
    pub user_allow: f64,
    /// The From or envelope sender is one the recipient blocked: Junk
    /// whatever the total (0 switches blocking off), never refused for it.
    pub user_block: f64,
}

/// The weights of the rules that fire in the SpamAssassin corpus's `-1`
/// sets (and the classifier's two) are fitted there by
/// `spam-accuracy --cv 5 --tune` (bench/README.md, "Spam accuracy";
/// PITCH_PHRASES, PRIORITY_HIGH and TEXT_UNDECODABLE with 2 and 3 folds);
/// the others are judgement.
impl Default for RuleWeights {
    fn default() -> Self {
        Self {
            missing_date: 1.0,
            missing_message_id: 0.5,
            invalid_date_zone: 1.5,
            date_in_future: 4.0,
            subject_all_caps: 4.0,
            from_name_spoofs_address: 2.0,
            reply_to_mismatch: 0.5,
            forged_outlook: 2.0,
            forged_outlook_mid: 4.0,
            forged_apple_mail: 2.0,
            html_only: 4.0,
            html_hidden_text: 1.5,
            url_shortener: 1.0,
            url_numeric_ip: 1.5,
            href_text_mismatch: 2.0,
            bad_attachment: 4.0,
            subject_padded: 1.0,
            subject_adv: 1.0,
            priority_high: 3.0,
            date_no_zone: 4.0,
            to_many: 4.0,
            text_in_base64: 1.5,
            to_undisclosed: 1.0,
            pitch_phrases: 3.0,
            body_mostly_caps: 3.0,
            html_image_little_text: 2.5,
            charset_faraway: 4.0,
            encoded_ascii_header: 2.0,
            mime_no_version: 2.0,
            message_id_no_at: 2.0,
            date_two_digit_year: 2.0,
            url_userinfo: 2.0,
            freemail_from_digits: 2.0,
            text_undecodable: 4.0,
            random_word: 2.0,
            from_name_caps: 4.0,
            mailer_malformed: 2.0,
            subject_money: 1.0,
            html_only_mshtml: 2.0,
            tracking_code_end: 2.0,
            html_only_mailer: 2.0,
            forged_outlook_mimeole: 2.0,
            gtube: 1000.0,
            classifier: 14.0,
            classifier_ham: 3.0,
            fcrdns_missing: 1.0,
            user_allow: -100.0,
            user_block: 10.0,
        }
    }
}

/// Everything the scorer is told by the operator.
#[derive(Debug, Clone, PartialEq)]
pub struct SpamConfig {
    pub weights: RuleWeights,
    /// A total at or above this goes to the recipient's Junk mailbox. 5.0, as
    /// SpamAssassin's `required_score`, so operators' intuitions carry over.
    pub junk_threshold: f64,
    /// A total at or above this is refused at DATA (`550 5.7.1`); `None`
    /// never refuses. Above Junk by a wide margin: a refusal loses the
    /// message for good, a Junk filing does not.
    pub reject_threshold: Option<f64>,
    /// How many letters a subject needs before "all capitals" means anything.
    pub all_caps_min_letters: usize,
    /// Addresses in To that make `TO_MANY` fire.
    pub to_many_min: usize,
    /// How many of the stock phrases of sales pitches make `PITCH_PHRASES`
    /// fire (one alone is ordinary speech).
    pub pitch_min_phrases: usize,
    /// Letters a body needs before `BODY_MOSTLY_CAPS` judges it.
    pub body_caps_min_letters: usize,
    /// The share of capitals, in percent, that makes `BODY_MOSTLY_CAPS` fire.
    pub body_caps_percent: usize,
    /// Characters of text that did not decode in the declared charset
    /// (8-bit text sent with no charset named) that make `TEXT_UNDECODABLE` fire.
    pub undecodable_min_chars: usize,
    /// Visible characters under which HTML with a remote image is "little
    /// text" (`HTML_IMAGE_LITTLE_TEXT`).
    pub image_text_max_chars: usize,
    /// How far `Date:` may lie after the message's arrival (the newest
    /// `Received:` hop) before `DATE_IN_FUTURE` fires: clocks drift and
    /// zones get mislabelled by an hour or two, a bulk sender's fake
    /// header by more.
    pub date_future_secs: i64,
    /// How many hidden characters of HTML make `HTML_HIDDEN_TEXT` fire (a
    /// hidden preheader of a few words is common in legitimate newsletters).
    pub hidden_text_min_chars: usize,
    /// Hosts of URL shorteners (a subdomain matches too).
    pub shortener_domains: Vec<String>,
    /// Attachment name endings that carry executable content (lowercase, no dot).
    pub bad_attachment_extensions: Vec<String>,
    /// Charsets of scripts the users do not read (`CHARSET_FARAWAY`,
    /// lowercase): by default the East Asian and Cyrillic ones, as for an
    /// English-reading site. A site whose users read them empties the list
    /// (or sets the weight to 0).
    pub faraway_charsets: Vec<String>,
    /// Free-mail providers (a subdomain matches too), for `FREEMAIL_FROM_DIGITS`.
    pub freemail_domains: Vec<String>,
    /// Bounds on how much of a message is read.
    pub limits: ReadLimits,
    /// DNS blocklists of client IPs, queried by whoever does the lookups.
    /// Empty by default: which lists to trust (and their terms of use) is
    /// the operator's choice.
    pub dnsbl: Vec<BlocklistZone>,
    /// Domain blocklists (RHSBL / URI lists) for the domains of links.
    pub rhsbl: Vec<BlocklistZone>,
    /// Weights of the HELO and SPF/DKIM/DMARC tests (`envelope.rs`).
    pub envelope: EnvelopeWeights,
}

/// One DNS blocklist and what a listing in it adds to the score.
#[derive(Debug, Clone, PartialEq)]
pub struct BlocklistZone {
    /// The zone queried under, e.g. `bl.example.net`.
    pub zone: String,
    pub weight: f64,
}

impl Default for SpamConfig {
    fn default() -> Self {
        let shorteners = [
            "bit.ly",
            "tinyurl.com",
            "goo.gl",
            "t.co",
            "ow.ly",
            "is.gd",
            "buff.ly",
            "rebrand.ly",
            "cutt.ly",
            "shorturl.at",
            "tiny.cc",
            "rb.gy",
            "t.ly",
            "v.gd",
            "s.id",
        ];
        let extensions = [
            "exe", "scr", "pif", "com", "bat", "cmd", "vbs", "vbe", "js", "jse", "wsf", "wsh",
            "hta", "jar", "lnk", "msi", "cpl", "reg", "ps1", "chm", "iso", "img",
        ];
        let faraway = [
            "big5",
            "gb2312",
            "gbk",
            "gb18030",
            "hz-gb-2312",
            "euc-kr",
            "ks_c_5601-1987",
            "iso-2022-kr",
            "euc-jp",
            "shift_jis",
            "iso-2022-jp",
            "koi8-r",
            "koi8-u",
            "windows-1251",
            "iso-8859-5",
        ];
        let freemail = [
            "yahoo.com",
            "hotmail.com",
            "msn.com",
            "aol.com",
            "excite.com",
            "netscape.net",
            "juno.com",
            "lycos.com",
            "mail.com",
            "gmail.com",
            "outlook.com",
            "live.com",
            "mail.ru",
            "yandex.ru",
            "gmx.com",
            "gmx.net",
            "web.de",
            "163.com",
            "qq.com",
        ];
        Self {
            weights: RuleWeights::default(),
            junk_threshold: 5.0,
            reject_threshold: Some(15.0),
            all_caps_min_letters: 10,
            date_future_secs: 3 * 3600,
            to_many_min: 5,
            pitch_min_phrases: 2,
            body_caps_min_letters: 200,
            body_caps_percent: 50,
            image_text_max_chars: 300,
            undecodable_min_chars: 20,
            hidden_text_min_chars: 200,
            shortener_domains: shorteners.iter().map(|s| s.to_string()).collect(),
            bad_attachment_extensions: extensions.iter().map(|s| s.to_string()).collect(),
            faraway_charsets: faraway.iter().map(|s| s.to_string()).collect(),
            freemail_domains: freemail.iter().map(|s| s.to_string()).collect(),
            limits: ReadLimits::default(),
            dnsbl: Vec::new(),
            rhsbl: Vec::new(),
            envelope: Default::default(),
        }
    }
}

/// How much of a message the view reads: a message is scored before the
/// `250`, so the cost per message must be bounded whatever a peer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Decoded text read over all parts; the rest is not looked at.
    pub max_text_bytes: usize,
    /// MIME parts looked at (nested messages count their parts).
    pub max_parts: usize,
    /// Links kept from the body.
    pub max_links: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_text_bytes: 256 * 1024,
            max_parts: 64,
            max_links: 200,
        }
    }
}

/// The weight of each envelope test. Authentication passing lowers the score
/// only a little: spammers sign and publish SPF too, so a pass proves the
/// domain, not the mail. Failing DMARC, where the domain owner asked for
/// it, counts most.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeWeights {
    pub spf_fail: f64,
    pub spf_softfail: f64,
    pub dkim_fail: f64,
    pub dkim_pass: f64,
    pub dmarc_fail: f64,
    pub dmarc_pass: f64,
    /// An ARC chain (RFC 8617) that does not verify: small, as a list that
    /// rewrites mail can break it honestly.
    pub arc_fail: f64,
    /// HELO is not a domain with a dot, nor an address literal.
    pub helo_not_fqdn: f64,
    /// HELO is an address literal for another address than the client's.
    pub helo_literal_mismatch: f64,
    /// HELO is a bare IP address (RFC 5321 §4.1.3 wants brackets).
    pub helo_bare_ip: f64,
    /// HELO claims to be this server or one of its domains.
    pub helo_claims_us: f64,
}

impl Default for EnvelopeWeights {
    fn default() -> Self {
        Self {
            spf_fail: 2.0,
            spf_softfail: 0.8,
            dkim_fail: 1.0,
            dkim_pass: -0.3,
            dmarc_fail: 3.0,
            dmarc_pass: -0.5,
            arc_fail: 1.0,
            helo_not_fqdn: 1.0,
            helo_literal_mismatch: 1.5,
            helo_bare_ip: 1.5,
            helo_claims_us: 3.0,
        }
    }
}
