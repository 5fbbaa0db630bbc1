//! Dates and instants built from outside input, checked: every face (Rust, C, Python) builds
//! them through these calls, so a bad date, minute or UTC offset is the same typed error
//! everywhere. They live apart from `time.rs` because they report [`Error`]s, and the error
//! type itself carries dates and instants (`time` stays below `error`).

use crate::error::{Error, Result};
use crate::time::{Date, TimeOfDay, Timestamp, UTC_OFFSET_MAX_S};
use chrono::{Datelike, NaiveDate};

/// Check a UTC offset from a caller: within ±[`UTC_OFFSET_MAX_S`]. The one place every face
/// validates offsets (`i32::abs` would overflow on `i32::MIN`, so the range is compared).
pub fn check_utc_offset(utc_offset_s: i32) -> Result<()> {
    if (-UTC_OFFSET_MAX_S..=UTC_OFFSET_MAX_S).contains(&utc_offset_s) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!("utc_offset_s {utc_offset_s} is beyond ±14 h")))
    }
}

impl TimeOfDay {
    /// Check a time-of-day range from a caller: `start_min < end_min <= 1440`. An empty range
    /// would match no segment, so a call given one (a suspension of "00:00–00:00", say) would
    /// silently do nothing; it is refused instead, the same in every call and every face.
    pub fn check(&self) -> Result<()> {
        if self.start_min < self.end_min && self.end_min <= 24 * 60 {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "time of day {}..{} (minutes) must satisfy start < end <= 1440",
                self.start_min, self.end_min
            )))
        }
    }
}

impl Date {
    /// The date for a year, month (1–12) and day (1–31): [`Error::InvalidArgument`] if no such
    /// day exists, [`Error::InvalidDate`] if it lies outside 1970-01-01 ..= 2199-12-31.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Result<Date> {
        let d = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| {
            Error::InvalidArgument(format!("{year:04}-{month:02}-{day:02} is not a calendar day"))
        })?;
        Date::from_naive(d).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{year:04}-{month:02}-{day:02} is outside 1970-01-01 ..= 2199-12-31"
            ))
        })
    }

    /// Parse `YYYY-MM-DD` (the errors of [`Date::from_ymd`], or `InvalidArgument` for text of
    /// another form).
    pub fn parse(s: &str) -> Result<Date> {
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| Error::InvalidArgument(format!("{s:?} is not a date YYYY-MM-DD")))?;
        Date::from_ymd(d.year(), d.month(), d.day())
    }
}

impl Timestamp {
    /// [`Timestamp::from_local`] for input from outside: the offset within ±14 h, the minute
    /// within the day (1440 = the next midnight) and the date within the engine's calendar.
    pub fn try_from_local(date: Date, minute: u16, utc_offset_s: i32) -> Result<Self> {
        check_utc_offset(utc_offset_s)?;
        if !date.is_valid() {
            return Err(Error::InvalidDate(date));
        }
        if minute > 1440 {
            return Err(Error::InvalidArgument(format!(
                "minute {minute} is not within 0 ..= 1440"
            )));
        }
        Ok(Timestamp::from_local(date, minute, utc_offset_s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_outside_are_checked() {
        assert_eq!(Date::from_ymd(2026, 11, 23).unwrap().to_string(), "2026-11-23");
        assert_eq!(
            Date::from_ymd(2026, 2, 30).unwrap_err().code(),
            crate::ErrorCode::InvalidArgument
        );
        assert_eq!(
            Date::from_ymd(1969, 12, 31).unwrap_err().code(),
            crate::ErrorCode::InvalidArgument
        );
        assert_eq!(Date::parse("2026-11-23").unwrap(), Date::from_ymd(2026, 11, 23).unwrap());
        assert!(Date::parse("23/11/2026").is_err());
    }
}
