//! Timestamps as logs write them, read exactly to the nanosecond.
//!
//! Two shapes are accepted: an RFC 3339-like date-time string (with a few
//! relaxations real logs need) and an epoch number whose unit is guessed from
//! its magnitude. Fractions are read from their digits, never through a float,
//! so windows compare exactly.

use std::fmt;

use chrono::{DateTime, Datelike, Timelike};

const NANOS_PER_SEC: i128 = 1_000_000_000;
/// 0000-01-01T00:00:00Z: the first instant a four-digit year can name.
const MIN_NANOS: i128 = -62_167_219_200 * NANOS_PER_SEC;
/// 10000-01-01T00:00:00Z: one past the last instant RFC 3339 can print.
const END_NANOS: i128 = 253_402_300_800 * NANOS_PER_SEC;

/// An instant, in nanoseconds since the Unix epoch, limited to the years
/// 0000–9999 so that every value prints as RFC 3339.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timestamp(i128);

impl Timestamp {
    /// The instant `nanos` nanoseconds after the epoch, if it lies in 0000–9999.
    pub fn from_nanos(nanos: i128) -> Option<Timestamp> {
        (MIN_NANOS..END_NANOS)
            .contains(&nanos)
            .then_some(Timestamp(nanos))
    }

    /// The instant `nanos` after the epoch, clamped to the years 0000–9999.
    pub fn saturating_from_nanos(nanos: i128) -> Timestamp {
        Timestamp(nanos.clamp(MIN_NANOS, END_NANOS - 1))
    }

    /// Nanoseconds since the Unix epoch.
    pub fn nanos(self) -> i128 {
        self.0
    }

    /// Reads a timestamp string: an RFC 3339-like date-time or an epoch number
    /// written as ASCII digits with an optional `.fraction`.
    pub fn parse_str(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if !b.is_empty() && b.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
            let (int, frac) = match s.split_once('.') {
                Some((i, f)) => (i, f),
                None => (s, ""),
            };
            if int.is_empty() || (s.contains('.') && frac.is_empty()) || frac.contains('.') {
                return None;
            }
            return epoch_from_parts(false, int, frac, 0);
        }
        parse_datetime(b)
    }

    /// Reads a JSON number (as its exact source text) as an epoch time.
    pub fn parse_json_number(text: &str) -> Option<Timestamp> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], parse_exponent(&rest[i + 1..])?),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) {
            return None;
        }
        epoch_from_parts(negative, int, frac, exponent)
    }
}

/// Parses the exponent of a JSON number, saturating far outside any usable range.
fn parse_exponent(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.bytes().fold(0i64, |acc, c| {
        acc.saturating_mul(10).saturating_add(i64::from(c - b'0'))
    });
    Some(if negative { -magnitude } else { magnitude })
}

/// Turns the decimal `±int.frac × 10^exponent` into an instant, choosing the
/// unit from the magnitude: seconds below 1e11, milliseconds below 1e14,
/// microseconds below 1e17, nanoseconds otherwise. Digits finer than a
/// nanosecond are truncated.
fn epoch_from_parts(negative: bool, int: &str, frac: &str, exponent: i64) -> Option<Timestamp> {
    // All significant digits in one run, with the position of the decimal point.
    let digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|c| c - b'0').collect();
    let first_nonzero = digits.iter().position(|&d| d != 0);
    let Some(first_nonzero) = first_nonzero else {
        return Timestamp::from_nanos(0);
    };
    let digits = &digits[first_nonzero..];
    // Number of digits before the decimal point, after applying the exponent.
    let int_len = (int.len() as i64 - first_nonzero as i64).saturating_add(exponent);
    if int_len > 30 {
        return None; // far beyond year 9999 in any unit
    }
    let digit_at = |i: i64| -> i128 {
        if i >= 0 && (i as usize) < digits.len() {
            i128::from(digits[i as usize])
        } else {
            0
        }
    };
    let mut int_part: i128 = 0;
    for i in 0..int_len.max(0) {
        int_part = int_part * 10 + digit_at(i);
    }
    // The unit follows the signed value, so every negative epoch is seconds.
    let (scale, frac_digits) = if negative || int_part < 100_000_000_000 {
        (NANOS_PER_SEC, 9)
    } else if int_part < 100_000_000_000_000 {
        (1_000_000, 6)
    } else if int_part < 100_000_000_000_000_000 {
        (1_000, 3)
    } else {
        (1, 0)
    };
    let mut frac_part: i128 = 0;
    for i in 0..frac_digits {
        frac_part = frac_part * 10 + digit_at(int_len + i);
    }
    let magnitude = int_part.checked_mul(scale)?.checked_add(frac_part)?;
    if !negative {
        return Timestamp::from_nanos(magnitude);
    }
    // Truncation means rounding toward the past, also before the epoch.
    let dropped = (int_len + frac_digits..digits.len() as i64).any(|i| digit_at(i) != 0);
    Timestamp::from_nanos(-magnitude - i128::from(dropped))
}

/// Parses `YYYY-MM-DD[Tt ]HH:MM:SS[(.|,)fraction][Z|z|±HH:MM|±HHMM|±HH]`.
fn parse_datetime(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = digits_value(&b[0..4])?;
    let month = digits_value(&b[5..7])?;
    let day = digits_value(&b[8..10])?;
    let hour = digits_value(&b[11..13])?;
    let minute = digits_value(&b[14..16])?;
    let second = digits_value(&b[17..19])?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    let mut rest = &b[19..];

    let mut nanos: i128 = 0;
    if let [b'.' | b',', tail @ ..] = rest {
        let len = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        let fraction = tail[..len]
            .iter()
            .map(|c| c - b'0')
            .chain(std::iter::repeat(0));
        for d in fraction.take(9) {
            nanos = nanos * 10 + i128::from(d);
        }
        rest = &tail[len..];
    }

    let offset_secs: i64 = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let (h, m) = match zone {
                [h1, h2] => (digits_value(&[*h1, *h2])?, 0),
                [h1, h2, m1, m2] => (digits_value(&[*h1, *h2])?, digits_value(&[*m1, *m2])?),
                [h1, h2, b':', m1, m2] => (digits_value(&[*h1, *h2])?, digits_value(&[*m1, *m2])?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let secs = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };

    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    let utc_secs = i128::from(local - offset_secs);
    Timestamp::from_nanos(utc_secs * NANOS_PER_SEC + nanos)
}

/// Days since 1970-01-01 of a date of the proleptic Gregorian calendar
/// (as chrono counts them), `None` for a month or day that does not exist.
fn days_from_civil(year: u32, month: u32, day: u32) -> Option<i64> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > month_days {
        return None;
    }
    // Years starting in March, so the leap day ends a year.
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// The value of a run of ASCII digits, or `None` if any byte is not a digit.
fn digits_value(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// RFC 3339 in UTC with milliseconds, truncated: `2023-09-22T10:15:30.123Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(NANOS_PER_SEC);
        let millis = self.0.rem_euclid(NANOS_PER_SEC) / 1_000_000;
        // The range check in `from_nanos` keeps `secs` well inside i64 and chrono.
        let Some(dt) = i64::try_from(secs)
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0))
        else {
            return write!(f, "invalid");
        };
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            millis
        )
    }
}

/// In the schema: an RFC 3339 date-time string.
impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 in UTC with milliseconds, truncated: 2023-09-22T10:15:30.123Z"
        })
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Option<String> {
        Timestamp::parse_str(text).map(|t| t.to_string())
    }

    fn n(text: &str) -> Option<String> {
        Timestamp::parse_json_number(text).map(|t| t.to_string())
    }

    #[test]
    fn rfc3339_forms() {
        assert_eq!(
            s("2023-09-22T10:15:30Z").unwrap(),
            "2023-09-22T10:15:30.000Z"
        );
        assert_eq!(
            s("2023-09-22t10:15:30z").unwrap(),
            "2023-09-22T10:15:30.000Z"
        );
        assert_eq!(
            s("2023-09-22 10:15:30").unwrap(),
            "2023-09-22T10:15:30.000Z"
        );
        assert_eq!(
            s("2023-09-22T10:15:30.123456789Z").unwrap(),
            "2023-09-22T10:15:30.123Z"
        );
        assert_eq!(
            s("2023-09-22T10:15:30,5").unwrap(),
            "2023-09-22T10:15:30.500Z"
        );
        assert_eq!(
            s("2023-09-22T12:15:30+02:00").unwrap(),
            "2023-09-22T10:15:30.000Z"
        );
        assert_eq!(
            s("2023-09-22T12:15:30+0200").unwrap(),
            "2023-09-22T10:15:30.000Z"
        );
        assert_eq!(
            s("2023-09-22T12:15:30+02").unwrap(),
            "2023-09-22T10:15:30.000Z"
        );
        assert_eq!(
            s("2023-09-22T06:45:30.999-03:30").unwrap(),
            "2023-09-22T10:15:30.999Z"
        );
        assert_eq!(
            s("2023-09-22T00:15:30-01:00").unwrap(),
            "2023-09-22T01:15:30.000Z"
        );
    }

    #[test]
    fn fractions_are_exact_to_the_nanosecond() {
        let a = Timestamp::parse_str("2023-09-22T10:15:30.000000001Z").unwrap();
        let b = Timestamp::parse_str("2023-09-22T10:15:30Z").unwrap();
        assert_eq!(a.nanos() - b.nanos(), 1);
        let c = Timestamp::parse_str("2023-09-22T10:15:30.1234567891Z").unwrap();
        assert_eq!(c.nanos() - b.nanos(), 123_456_789);
    }

    #[test]
    fn invalid_datetimes_are_not_usable() {
        for bad in [
            "2023-02-30T10:15:30Z",
            "2023-09-22T24:00:00Z",
            "2023-09-22T10:60:00Z",
            "2023-09-22T10:15:60Z",
            "2023-09-22T10:15:30.Z",
            "2023-09-22T10:15:30+2",
            "2023-09-22T10:15:30+24:00",
            "2023-09-22T10:15:30 Z",
            "2023-09-22X10:15:30Z",
            "2023-9-22T10:15:30Z",
            "2023-09-22",
            "yesterday",
            "",
            "1.2.3",
            "12.",
            ".5",
        ] {
            assert_eq!(s(bad), None, "{bad}");
        }
    }

    #[test]
    fn epoch_units_follow_magnitude() {
        assert_eq!(s("1695377730").unwrap(), "2023-09-22T10:15:30.000Z");
        assert_eq!(s("1695377730.123").unwrap(), "2023-09-22T10:15:30.123Z");
        assert_eq!(s("1695377730123").unwrap(), "2023-09-22T10:15:30.123Z");
        assert_eq!(s("1695377730123456").unwrap(), "2023-09-22T10:15:30.123Z");
        assert_eq!(
            s("1695377730123456789").unwrap(),
            "2023-09-22T10:15:30.123Z"
        );
        assert_eq!(n("1695377730.123").unwrap(), "2023-09-22T10:15:30.123Z");
        assert_eq!(n("1695377730123").unwrap(), "2023-09-22T10:15:30.123Z");
        assert_eq!(n("1.695377730123e9").unwrap(), "2023-09-22T10:15:30.123Z");
        assert_eq!(n("0").unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(n("-0").unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(n("-86400.5").unwrap(), "1969-12-30T23:59:59.500Z");
        assert_eq!(n("-1695377730123").unwrap_or_default(), "");
        assert_eq!(
            Timestamp::parse_json_number("-0.0000000015")
                .unwrap()
                .nanos(),
            -2
        );
    }

    #[test]
    fn epoch_unit_boundaries() {
        // 99 999 999 999 is still seconds (year 5138); 1e11 is milliseconds.
        assert_eq!(s("99999999999").unwrap(), "5138-11-16T09:46:39.000Z");
        assert_eq!(s("100000000000").unwrap(), "1973-03-03T09:46:40.000Z");
        assert_eq!(s("100000000000000").unwrap(), "1973-03-03T09:46:40.000Z");
        assert_eq!(s("100000000000000000").unwrap(), "1973-03-03T09:46:40.000Z");
    }

    #[test]
    fn epoch_fraction_read_from_digits() {
        let a = Timestamp::parse_str("1716723772.6014807").unwrap();
        assert_eq!(a.nanos(), 1_716_723_772_601_480_700);
        let b = Timestamp::parse_json_number("1716723772.6014807").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn out_of_range_numbers_are_not_usable() {
        assert_eq!(n("1e400"), None);
        assert_eq!(n("18446744073709551616e20"), None);
        assert_eq!(n("-1e20"), None);
        assert_eq!(
            n("1e-999999999999999999999").unwrap(),
            "1970-01-01T00:00:00.000Z"
        );
        // 18446744073709551616 ns is 2554-07-21.
        assert_eq!(
            n("18446744073709551616").unwrap(),
            "2554-07-21T23:34:33.709Z"
        );
    }

    #[test]
    fn days_are_counted_as_chrono_counts_them() {
        for year in (0..=9999)
            .step_by(7)
            .chain([0, 1600, 1900, 2000, 2023, 2024, 9999])
        {
            for month in 0..=13 {
                for day in 0..=32 {
                    let ours = days_from_civil(year, month, day);
                    let chrono = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp() / 86_400);
                    assert_eq!(ours, chrono, "{year}-{month}-{day}");
                }
            }
        }
    }

    #[test]
    fn year_range_edges() {
        assert_eq!(
            s("0000-01-01T00:00:00Z").unwrap(),
            "0000-01-01T00:00:00.000Z"
        );
        assert_eq!(
            s("9999-12-31T23:59:59.999Z").unwrap(),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(s("0000-01-01T00:00:00+01:00"), None);
        assert_eq!(s("9999-12-31T23:59:59-01:00"), None);
    }
}
