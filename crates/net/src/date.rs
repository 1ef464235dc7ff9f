//! Calendar dates without a date crate: the civil date of a day count
//! (for certificates, `Received:` and DKIM timestamps, the console's
//! figures) and the `YYYY-MM-DD` check shared by the vacation reply's
//! CLI and the web console (Sieve's date test, RFC 5260 §5, compares
//! such strings).

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`), to avoid depending on a date crate.
pub fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        i32::try_from(y).unwrap_or(i32::MAX),
        u8::try_from(m).unwrap_or(1),
        u8::try_from(d).unwrap_or(1),
    )
}

/// `YYYY-MM-DD` with a month and day that can exist.
pub fn is_calendar_date(d: &str) -> bool {
    let p: Vec<&str> = d.split('-').collect();
    let num = |s: &str, len| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    p.len() == 3
        && num(p[0], 4)
        && num(p[1], 2)
        && num(p[2], 2)
        && (1..=12).contains(&p[1].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&p[2].parse::<u32>().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::{civil_from_days, is_calendar_date};

    #[test]
    fn civil_from_days_matches_known_dates() {
        let table = [
            (0, (1970, 1, 1)),
            (59, (1970, 3, 1)),
            (11_016, (2000, 2, 29)),
            (19_723, (2024, 1, 1)),
            (20_513, (2026, 3, 1)),
            (-1, (1969, 12, 31)),
        ];
        for (days, expected) in table {
            assert_eq!(civil_from_days(days), expected, "day {days}");
        }
    }

    #[test]
    fn only_calendar_dates_pass() {
        assert!(is_calendar_date("2027-01-31"));
        for bad in [
            "2027-1-31",
            "2027-13-01",
            "2027-01-32",
            "2027-00-10",
            "tomorrow",
            "2027-01-31x",
            "",
        ] {
            assert!(!is_calendar_date(bad), "{bad}");
        }
    }
}
