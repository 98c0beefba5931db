//! The UTC date of a request timestamp, as it appears in the credential scope.

use std::fmt;

use crate::error::{SigningError, SigningErrorKind};

/// A UTC calendar date written `YYYY-MM-DD`, derived from a Unix timestamp.
///
/// The credential scope always uses the UTC date of `X-TC-Timestamp`, never local time,
/// so a request signed at 23:59:59 UTC and one signed a second later use different keys.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct UtcDate {
    text: [u8; 10],
    /// Days since 1970-01-01 (at most 2,932,896 for 9999-12-31).
    day: i32,
}

const SECONDS_PER_DAY: i64 = 86_400;

impl UtcDate {
    /// The UTC date of `timestamp` (seconds since the Unix epoch, not negative).
    pub fn from_timestamp(timestamp: i64) -> Result<Self, SigningError> {
        let invalid = || SigningError::new(SigningErrorKind::InvalidTimestamp(timestamp));
        if timestamp < 0 {
            return Err(invalid());
        }
        let date = time::OffsetDateTime::from_unix_timestamp(timestamp)
            .map_err(|_| invalid())?
            .date();
        let year = u32::try_from(date.year()).map_err(|_| invalid())?;
        if year > 9999 {
            return Err(invalid());
        }
        let month = u32::from(u8::from(date.month()));
        let day = u32::from(date.day());
        let mut text = [0u8; 10];
        write_digits(&mut text[0..4], year);
        text[4] = b'-';
        write_digits(&mut text[5..7], month);
        text[7] = b'-';
        write_digits(&mut text[8..10], day);
        let day = i32::try_from(timestamp / SECONDS_PER_DAY).map_err(|_| invalid())?;
        Ok(Self { text, day })
    }

    /// Whether `timestamp` falls on this UTC date.
    pub fn contains(&self, timestamp: i64) -> bool {
        timestamp >= 0 && timestamp / SECONDS_PER_DAY == i64::from(self.day)
    }

    /// The first second of this date (a Unix timestamp).
    pub(crate) fn first_second(&self) -> i64 {
        i64::from(self.day) * SECONDS_PER_DAY
    }

    /// The date as `YYYY-MM-DD`.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and dashes are ever written into the array.
        std::str::from_utf8(&self.text).unwrap_or("0000-00-00")
    }
}

fn write_digits(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        // `value % 10` is below 10, so the cast cannot truncate.
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

impl fmt::Display for UtcDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for UtcDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UtcDate({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_utc_date_of_known_timestamps() {
        let cases = [
            (0, "1970-01-01"),
            (1_551_113_065, "2019-02-25"),
            (1_551_139_199, "2019-02-25"),
            (1_551_139_200, "2019-02-26"),
            (253_402_300_799, "9999-12-31"),
        ];
        for (timestamp, expected) in cases {
            let date = UtcDate::from_timestamp(timestamp).expect("valid timestamp");
            assert_eq!(date.as_str(), expected, "timestamp {timestamp}");
        }
    }

    #[test]
    fn contains_exactly_the_seconds_of_its_day() {
        let date = UtcDate::from_timestamp(1_551_113_065).expect("valid timestamp");
        assert!(date.contains(1_551_052_800));
        assert!(date.contains(1_551_139_199));
        assert!(!date.contains(1_551_052_799));
        assert!(!date.contains(1_551_139_200));
        assert!(!date.contains(-1));
    }

    #[test]
    fn rejects_timestamps_without_a_four_digit_year() {
        for timestamp in [-1, 253_402_300_800, i64::MAX, i64::MIN] {
            assert!(UtcDate::from_timestamp(timestamp).is_err(), "{timestamp}");
        }
    }
}
