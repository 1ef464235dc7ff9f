//! Weights by test name, so an operator can change any test's weight in
//! config (`[spam.weights] MISSING_DATE = 2.0`) with the names the
//! `X-Spam-Result` header shows.

use crate::config::{EnvelopeWeights, RuleWeights, SpamConfig};

impl SpamConfig {
    /// Sets the weight of the test called `test` (case-insensitive); false
    /// when no test has that name. DNSBL and RHSBL weights are per zone, in
    /// the zone lists.
    pub fn set_weight(&mut self, test: &str, weight: f64) -> bool {
        match slot(&mut self.weights, &mut self.envelope, test) {
            Some(s) => {
                *s = weight;
                true
            }
            None => false,
        }
    }

    /// The weight of the test called `test` (case-insensitive), as the
    /// scorer adds it; `None` when no test has that name.
    pub fn weight(&self, test: &str) -> Option<f64> {
        // Both are plain numbers: copying them is cheaper than a second table.
        let (mut w, mut e) = (self.weights.clone(), self.envelope.clone());
        slot(&mut w, &mut e, test).map(|s| *s)
    }
}

/// The one table of test names and the weights they read.
fn slot<'a>(w: &'a mut RuleWeights, e: &'a mut EnvelopeWeights, test: &str) -> Option<&'a mut f64> {
    Some(match test.to_ascii_uppercase().as_str() {
        "MISSING_DATE" => &mut w.missing_date,
        "MISSING_MESSAGE_ID" => &mut w.missing_message_id,
        "SUBJECT_ALL_CAPS" => &mut w.subject_all_caps,
        "FROM_NAME_SPOOFS_ADDRESS" => &mut w.from_name_spoofs_address,
        "REPLY_TO_MISMATCH" => &mut w.reply_to_mismatch,
        "FORGED_OUTLOOK" => &mut w.forged_outlook,
        "FORGED_APPLE_MAIL" => &mut w.forged_apple_mail,
        "HTML_ONLY" => &mut w.html_only,
        "HTML_HIDDEN_TEXT" => &mut w.html_hidden_text,
        "URL_SHORTENER" => &mut w.url_shortener,
        "URL_NUMERIC_IP" => &mut w.url_numeric_ip,
        "HREF_TEXT_MISMATCH" => &mut w.href_text_mismatch,
        "BAD_ATTACHMENT" => &mut w.bad_attachment,
        "GTUBE" => &mut w.gtube,
        "CLASSIFIER" => &mut w.classifier,
        "CLASSIFIER_HAM" => &mut w.classifier_ham,
        "INVALID_DATE_ZONE" => &mut w.invalid_date_zone,
        "DATE_IN_FUTURE" => &mut w.date_in_future,
        "FORGED_OUTLOOK_MID" => &mut w.forged_outlook_mid,
        "FCRDNS_MISSING" => &mut w.fcrdns_missing,
        "USER_ALLOW" => &mut w.user_allow,
        "USER_BLOCK" => &mut w.user_block,
        "SUBJECT_PADDED" => &mut w.subject_padded,
        "SUBJECT_ADV" => &mut w.subject_adv,
        "PRIORITY_HIGH" => &mut w.priority_high,
        "DATE_NO_ZONE" => &mut w.date_no_zone,
        "TO_MANY" => &mut w.to_many,
        "TEXT_IN_BASE64" => &mut w.text_in_base64,
        "TO_UNDISCLOSED" => &mut w.to_undisclosed,
        "PITCH_PHRASES" => &mut w.pitch_phrases,
        "BODY_MOSTLY_CAPS" => &mut w.body_mostly_caps,
        "HTML_IMAGE_LITTLE_TEXT" => &mut w.html_image_little_text,
        "CHARSET_FARAWAY" => &mut w.charset_faraway,
        "ENCODED_ASCII_HEADER" => &mut w.encoded_ascii_header,
        "MIME_NO_VERSION" => &mut w.mime_no_version,
        "MESSAGE_ID_NO_AT" => &mut w.message_id_no_at,
        "DATE_TWO_DIGIT_YEAR" => &mut w.date_two_digit_year,
        "URL_USERINFO" => &mut w.url_userinfo,
        "FREEMAIL_FROM_DIGITS" => &mut w.freemail_from_digits,
        "TEXT_UNDECODABLE" => &mut w.text_undecodable,
        "RANDOM_WORD" => &mut w.random_word,
        "FROM_NAME_CAPS" => &mut w.from_name_caps,
        "MAILER_MALFORMED" => &mut w.mailer_malformed,
        "SUBJECT_MONEY" => &mut w.subject_money,
        "HTML_ONLY_MSHTML" => &mut w.html_only_mshtml,
        "TRACKING_CODE_END" => &mut w.tracking_code_end,
        "HTML_ONLY_MAILER" => &mut w.html_only_mailer,
        "FORGED_OUTLOOK_MIMEOLE" => &mut w.forged_outlook_mimeole,
        "SPF_FAIL" => &mut e.spf_fail,
        "SPF_SOFTFAIL" => &mut e.spf_softfail,
        "DKIM_FAIL" => &mut e.dkim_fail,
        "DKIM_PASS" => &mut e.dkim_pass,
        "DMARC_FAIL" => &mut e.dmarc_fail,
        "DMARC_PASS" => &mut e.dmarc_pass,
        "ARC_FAIL" => &mut e.arc_fail,
        "HELO_NOT_FQDN" => &mut e.helo_not_fqdn,
        "HELO_LITERAL_MISMATCH" => &mut e.helo_literal_mismatch,
        "HELO_BARE_IP" => &mut e.helo_bare_ip,
        "HELO_CLAIMS_US" => &mut e.helo_claims_us,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::SpamConfig;

    #[test]
    fn weights_are_set_by_the_names_the_header_shows() {
        let mut c = SpamConfig::default();
        assert!(c.set_weight("missing_date", 2.5));
        assert_eq!(c.weights.missing_date, 2.5);
        assert!(c.set_weight("HELO_CLAIMS_US", 0.0));
        assert_eq!(c.envelope.helo_claims_us, 0.0);
        assert!(!c.set_weight("NO_SUCH_TEST", 1.0));
        assert_eq!(c.weight("Missing_Date"), Some(2.5));
        assert_eq!(c.weight("NO_SUCH_TEST"), None);
    }
}
