//! Dates of IMAP (RFC 9051 §9 `date`, `date-time`) and the INTERNALDATE
//! formatter, with the days-from-civil conversions written out (no chrono).

use super::cursor::Cursor;
use super::error::PResult;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A calendar date, checked (the day exists in its month).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u8) -> u8 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 31,
    }
}

impl Date {
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(i64::from(year), month))
            .then_some(Date { year, month, day })
    }

    pub fn year(&self) -> u16 {
        self.year
    }

    pub fn month(&self) -> u8 {
        self.month
    }

    pub fn day(&self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(&self) -> i64 {
        days_from_civil(i64::from(self.year), self.month, self.day)
    }
}

/// A date and time with its zone, as in APPEND (RFC 9051 `date-time`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DateTime {
    pub date: Date,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Offset east of UTC in minutes.
    pub zone_minutes: i16,
}

impl DateTime {
    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> i64 {
        self.date.days_since_epoch() * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.zone_minutes) * 60
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(y: i64, m: u8, d: u8) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01: (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// INTERNALDATE text for a Unix time, in UTC: `dd-Mon-yyyy hh:mm:ss +0000`
/// (a two-digit day is one of RFC 9051's `date-day-fixed` forms).
pub fn format_internal_date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let month = MONTHS
        .get(usize::from(m).saturating_sub(1))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{d:02}-{month}-{y:04} {:02}:{:02}:{:02} +0000",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn digits(c: &mut Cursor<'_>, min: usize, max: usize, what: &'static str) -> PResult<u32> {
    let at = c.pos();
    let d = c.take_while(|b| b.is_ascii_digit());
    if d.len() < min || d.len() > max {
        return Err(super::error::ParseErrorKind::Syntax { expected: what, at });
    }
    Ok(d.iter()
        .fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0')))
}

fn month(c: &mut Cursor<'_>) -> PResult<u8> {
    for (i, name) in MONTHS.iter().enumerate() {
        if c.prefix(name) {
            return Ok(i as u8 + 1);
        }
    }
    Err(c.fail("month"))
}

fn date_text(c: &mut Cursor<'_>, day: u32) -> PResult<Date> {
    c.expect(b'-', "-")?;
    let m = month(c)?;
    c.expect(b'-', "-")?;
    let at = c.pos();
    let y = digits(c, 4, 4, "4-digit year")?;
    u16::try_from(day)
        .ok()
        .and_then(|day| Date::new(y as u16, m, u8::try_from(day).ok()?))
        .ok_or(super::error::ParseErrorKind::Syntax {
            expected: "valid date",
            at,
        })
}

/// `date = date-text / DQUOTE date-text DQUOTE`, `date-day = 1*2DIGIT`.
pub(crate) fn date(c: &mut Cursor<'_>) -> PResult<Date> {
    let quoted = c.eat(b'"');
    let day = digits(c, 1, 2, "day")?;
    let d = date_text(c, day)?;
    if quoted {
        c.expect(b'"', "closing quote")?;
    }
    Ok(d)
}

/// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time
/// SP zone DQUOTE`; `date-day-fixed` is `SP DIGIT` or `2DIGIT`, and a lone
/// digit is taken too (clients send it).
pub(crate) fn date_time(c: &mut Cursor<'_>) -> PResult<DateTime> {
    c.expect(b'"', "date-time")?;
    c.eat(b' ');
    let day = digits(c, 1, 2, "day")?;
    let date = date_text(c, day)?;
    c.sp()?;
    let at = c.pos();
    let hour = digits(c, 2, 2, "hour")?;
    c.expect(b':', ":")?;
    let minute = digits(c, 2, 2, "minute")?;
    c.expect(b':', ":")?;
    let second = digits(c, 2, 2, "second")?;
    // A leap second (60) is allowed by RFC 5322 times; 61+ is not a time.
    if hour > 23 || minute > 59 || second > 60 {
        return Err(super::error::ParseErrorKind::Syntax {
            expected: "valid time",
            at,
        });
    }
    c.sp()?;
    let sign: i16 = if c.eat(b'+') {
        1
    } else if c.eat(b'-') {
        -1
    } else {
        return Err(c.fail("zone sign"));
    };
    let at = c.pos();
    let zone = digits(c, 4, 4, "zone")?;
    if zone % 100 > 59 || zone / 100 > 23 {
        return Err(super::error::ParseErrorKind::Syntax {
            expected: "valid zone",
            at,
        });
    }
    c.expect(b'"', "closing quote")?;
    Ok(DateTime {
        date,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        zone_minutes: sign * ((zone / 100 * 60 + zone % 100) as i16),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_table() {
        type Case = (&'static str, Option<(u16, u8, u8)>);
        let cases: &[Case] = &[
            ("1-Feb-1994", Some((1994, 2, 1))),
            ("01-feb-1994", Some((1994, 2, 1))),
            ("\"29-Feb-2024\"", Some((2024, 2, 29))),
            ("29-Feb-2023", None),
            ("31-Apr-2023", None),
            ("0-Jan-2023", None),
            ("123-Jan-2023", None),
            ("1-Foo-2023", None),
            ("1-Jan-23", None),
            ("\"1-Jan-2023", None),
        ];
        for (input, want) in cases {
            let got = date(&mut Cursor::new(input.as_bytes())).ok();
            assert_eq!(
                got,
                want.and_then(|(y, m, d)| Date::new(y, m, d)),
                "{input}"
            );
        }
    }

    #[test]
    fn date_time_table() {
        let cases: &[(&str, Option<i64>)] = &[
            ("\"17-Jul-1996 02:44:25 -0700\"", Some(837_596_665)),
            ("\" 7-Jul-1996 02:44:25 +0000\"", Some(836_707_465)),
            ("\"7-Jul-1996 02:44:25 +0000\"", Some(836_707_465)),
            ("\"01-Jan-1970 00:00:00 +0100\"", Some(-3600)),
            ("\"01-Jan-1970 24:00:00 +0000\"", None),
            ("\"01-Jan-1970 00:00:00 +0060\"", None),
            ("\"01-Jan-1970 00:00:00 0000\"", None),
            ("\"01-Jan-1970 00:00:00 +0000", None),
            ("01-Jan-1970 00:00:00 +0000", None),
        ];
        for (input, want) in cases {
            let got = date_time(&mut Cursor::new(input.as_bytes()))
                .ok()
                .map(|d| d.unix());
            assert_eq!(got, *want, "{input}");
        }
    }

    #[test]
    fn civil_round_trips() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn format_internal_date_table() {
        let cases = [
            (0, "01-Jan-1970 00:00:00 +0000"),
            (837_596_665, "17-Jul-1996 09:44:25 +0000"),
            (1_709_210_096, "29-Feb-2024 12:34:56 +0000"),
            (-1, "31-Dec-1969 23:59:59 +0000"),
        ];
        for (unix, want) in cases {
            let text = format_internal_date(unix);
            assert_eq!(text, want);
            let quoted = format!("\"{text}\"");
            assert_eq!(
                date_time(&mut Cursor::new(quoted.as_bytes())).map(|d| d.unix()),
                Ok(unix)
            );
        }
    }
}
