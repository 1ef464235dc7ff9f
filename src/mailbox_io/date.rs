//! The asctime() dates of mbox `From ` lines, read and written in UTC
//! without a date library.

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The date of a `From ` line: the first run of tokens that reads as
/// `Mmm dd hh:mm[:ss] [zone] yyyy [zone]` (the weekday before it is not checked).
pub(super) fn parse_separator_date(line: &[u8]) -> Option<i64> {
    let rest = line.strip_prefix(b"From ")?;
    // Real separator lines have a handful of tokens; do not scan a huge line.
    let tokens: Vec<&[u8]> = rest
        .split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
        .take(32)
        .collect();
    (0..tokens.len()).find_map(|i| parse_asctime(&tokens[i..]))
}

fn parse_asctime(tokens: &[&[u8]]) -> Option<i64> {
    let name = tokens.first()?;
    let month = MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(name))?;
    let month = i64::try_from(month).ok()? + 1;
    let day = parse_digits(tokens.get(1)?, 2)?;
    let clock: Vec<&[u8]> = tokens.get(2)?.split(|&b| b == b':').collect();
    let (hour, minute, second) = match clock[..] {
        [h, m] => (parse_digits(h, 2)?, parse_digits(m, 2)?, 0),
        [h, m, s] => (
            parse_digits(h, 2)?,
            parse_digits(m, 2)?,
            parse_digits(s, 2)?,
        ),
        _ => return None,
    };
    let (year, offset) = match tokens.get(3).and_then(|t| parse_year(t)) {
        Some(year) => (year, tokens.get(4).and_then(|t| parse_zone(t)).unwrap_or(0)),
        None => (parse_year(tokens.get(4)?)?, parse_zone(tokens.get(3)?)?),
    };
    if day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn parse_digits(token: &[u8], max_len: usize) -> Option<i64> {
    if token.is_empty() || token.len() > max_len || !token.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(token.iter().fold(0, |n, &b| n * 10 + i64::from(b - b'0')))
}

fn parse_year(token: &[u8]) -> Option<i64> {
    if token.len() == 4 {
        parse_digits(token, 4)
    } else {
        None
    }
}

/// Seconds east of UTC: `+hhmm`/`-hhmm`, or a zone name taken as UTC.
fn parse_zone(token: &[u8]) -> Option<i64> {
    match token {
        [sign @ (b'+' | b'-'), digits @ ..] if digits.len() == 4 => {
            let (hours, minutes) = (
                parse_digits(&digits[..2], 2)?,
                parse_digits(&digits[2..], 2)?,
            );
            if minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            Some(if *sign == b'-' { -offset } else { offset })
        }
        _ if token.len() <= 5 && token.iter().all(u8::is_ascii_alphabetic) => Some(0),
        _ => None,
    }
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `(year, month, day)` of a day number from [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// `yyyy-mm-dd hh:mm` in UTC, for the admin commands' tables.
pub(crate) fn utc_minutes(seconds: i64) -> String {
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let s = seconds.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", s / 3600, s % 3600 / 60)
}

/// `Www Mmm dd hh:mm:ss yyyy` in UTC, as C's asctime() writes it.
pub(super) fn asctime(seconds: i64) -> String {
    let (days, time) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = WEEKDAYS[usize::try_from((days + 4).rem_euclid(7)).expect("0..7 fits usize")];
    let month = MONTHS[usize::try_from(month - 1).expect("civil month is 1..=12")];
    let (hour, minute, second) = (time / 3600, time / 60 % 60, time % 60);
    format!("{weekday} {month} {day:>2} {hour:02}:{minute:02}:{second:02} {year}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW_YEAR_2025: i64 = 1_735_689_600;

    #[test]
    fn separator_dates_parse_in_their_common_spellings() {
        let table: &[(&str, Option<i64>)] = &[
            (
                "From alice@example.org Thu Jan  1 00:00:00 2025",
                Some(NEW_YEAR_2025),
            ),
            (
                "From a  Thu   Jan 1  00:00:00   2025  \r\n",
                Some(NEW_YEAR_2025),
            ),
            (
                "From MAILER-DAEMON Thu Jan 01 00:00 2025\n",
                Some(NEW_YEAR_2025),
            ),
            ("From a thu jan 1 00:00:00 2025", Some(NEW_YEAR_2025)),
            (
                "From a Thu Jan 1 00:00:00 +0100 2025",
                Some(NEW_YEAR_2025 - 3600),
            ),
            (
                "From a Thu Jan 1 00:00:00 2025 -0530",
                Some(NEW_YEAR_2025 + 19_800),
            ),
            ("From a Thu Jan 1 00:00:00 UTC 2025", Some(NEW_YEAR_2025)),
            (
                "From a Thu Jan 1 00:00:00 2025 remote from b",
                Some(NEW_YEAR_2025),
            ),
            ("From a b c Thu Jan 1 00:00:00 2025", Some(NEW_YEAR_2025)),
            ("From  Thu Jan 1 00:00:00 2025", Some(NEW_YEAR_2025)),
            ("From Jan Thu Jan 1 00:00:00 2025", Some(NEW_YEAR_2025)),
            ("From a Sat Feb 29 12:00:00 2020", Some(1_582_977_600)),
            ("From a Thu Dec 31 23:59:59 1969", Some(-1)),
            ("From a Thu Feb 29 00:00:00 2025", None),
            ("From a Thu Jan 32 00:00:00 2025", None),
            ("From a Thu Jan 1 24:00:00 2025", None),
            ("From a Thu Jan 1 00:60:00 2025", None),
            ("From a Thu Jan 1 00:00:00 25", None),
            ("From a Thu Jan 1 00:00:00 +01 2025", None),
            ("From a Thu Jan 1 2025", None),
            ("From a", None),
            ("From ", None),
            ("From \u{ff}\u{0} Jan", None),
        ];
        for (line, want) in table {
            assert_eq!(parse_separator_date(line.as_bytes()), *want, "{line:?}");
        }
    }

    #[test]
    fn asctime_is_c_asctime_in_utc() {
        assert_eq!(asctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(asctime(1_700_000_000), "Tue Nov 14 22:13:20 2023");
        assert_eq!(asctime(-1), "Wed Dec 31 23:59:59 1969");
        assert_eq!(asctime(951_782_400), "Tue Feb 29 00:00:00 2000");
    }

    #[test]
    fn asctime_parses_back_to_the_same_second() {
        // The reader wants four-digit years, which the writer gives from 1000 on.
        let mut t = days_from_civil(1000, 1, 1) * 86_400;
        while t < days_from_civil(10_000, 1, 1) * 86_400 {
            let line = format!("From a {}", asctime(t));
            assert_eq!(parse_separator_date(line.as_bytes()), Some(t), "{line}");
            t += 86_399 * 37 + 13;
        }
    }

    #[test]
    fn asctime_of_extreme_seconds_does_not_panic() {
        for t in [i64::MIN, i64::MAX, i64::MIN + 1, i64::MAX - 86_400] {
            assert!(!asctime(t).is_empty());
        }
    }
}
