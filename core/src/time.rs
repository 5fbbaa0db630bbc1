//! Time: instants, local dates and the injectable clock.
//!
//! Instants are whole seconds since the Unix epoch (UTC). Slots are described in the region's
//! local time — a [`Date`] plus minutes after local midnight — because rosters, release times
//! (15:00) and cancellation deadlines are all local rules. The engine's `utc_offset_s` (default
//! +08:00, China Standard Time, which has no daylight saving) converts between the two.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds in a day.
pub const DAY_S: i64 = 86_400;

/// An instant: seconds since 1970-01-01T00:00:00Z.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The local date and minute of day of this instant at `utc_offset_s`.
    pub fn to_local(self, utc_offset_s: i32) -> (Date, u16) {
        let local = self.0 + utc_offset_s as i64;
        let days = local.div_euclid(DAY_S);
        let minute = (local.rem_euclid(DAY_S) / 60) as u16;
        (Date(days as i32), minute)
    }

    /// The instant of `minute` after local midnight of `date`.
    pub fn from_local(date: Date, minute: u16, utc_offset_s: i32) -> Self {
        Timestamp(date.0 as i64 * DAY_S + minute as i64 * 60 - utc_offset_s as i64)
    }

    /// Saturating addition of seconds (no overflow panic on absurd input).
    pub fn plus_s(self, seconds: i64) -> Self {
        Timestamp(self.0.saturating_add(seconds))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match chrono::DateTime::from_timestamp(self.0, 0) {
            Some(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%SZ")),
            None => write!(f, "@{}s", self.0),
        }
    }
}

/// An instant shown in local time: `2026-11-24T08:00:00+08:00` (RFC 3339 with the engine's
/// offset), as error messages print it — a clerk in Guangzhou reads 08:00, not 00:00Z.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LocalTime {
    pub at: Timestamp,
    pub utc_offset_s: i32,
}

impl Timestamp {
    /// This instant in the local time of `utc_offset_s` (for display).
    pub fn local(self, utc_offset_s: i32) -> LocalTime {
        LocalTime { at: self, utc_offset_s }
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let offset = chrono::FixedOffset::east_opt(self.utc_offset_s);
        match (chrono::DateTime::from_timestamp(self.at.0, 0), offset) {
            (Some(t), Some(o)) => {
                write!(f, "{}", t.with_timezone(&o).format("%Y-%m-%dT%H:%M:%S%:z"))
            }
            _ => write!(f, "{}", self.at),
        }
    }
}

/// The largest UTC offset of any time zone (±14 h, Kiribati); larger ones are input errors.
pub const UTC_OFFSET_MAX_S: i32 = 14 * 3600;

/// A local calendar date: days since 1970-01-01.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Date(pub i32);

/// Dates the engine accepts: 1970-01-01 ..= 2199-12-31. Bounding them keeps every derived
/// instant far from i64 overflow and catches garbage input early.
pub const DATE_MIN: Date = Date(0);
/// See [`DATE_MIN`].
pub const DATE_MAX: Date = Date(84_005);

impl Date {
    /// The date of a calendar day if it exists and lies in the engine's calendar (the checked,
    /// public forms are `Date::from_ymd` and `Date::parse`, in `calendar.rs`).
    pub(crate) fn from_naive(d: NaiveDate) -> Option<Date> {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
        let date = Date((d - epoch).num_days() as i32);
        (DATE_MIN..=DATE_MAX).contains(&date).then_some(date)
    }

    fn naive(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(1970, 1, 1)?
            .checked_add_signed(chrono::Duration::days(self.0 as i64))
    }

    /// Day of the week, Monday = 0 … Sunday = 6.
    pub fn weekday(self) -> u8 {
        // 1970-01-01 was a Thursday (3).
        ((self.0 as i64 + 3).rem_euclid(7)) as u8
    }

    /// The calendar year (for no-shows counted per calendar year).
    pub fn year(self) -> i32 {
        self.naive().map(|d| d.year()).unwrap_or(1970)
    }

    /// `self + days`, saturating.
    pub fn plus_days(self, days: i32) -> Date {
        Date(self.0.saturating_add(days))
    }

    /// Whether the engine accepts this date.
    pub fn is_valid(self) -> bool {
        (DATE_MIN..=DATE_MAX).contains(&self)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.naive() {
            Some(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            None => write!(f, "day{}", self.0),
        }
    }
}

/// A time of day range in minutes after local midnight, `[start_min, end_min)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeOfDay {
    /// First minute of the range after local midnight, inclusive, 0 ..= 1439.
    pub start_min: u16,
    /// End of the range in minutes after local midnight, exclusive, `start_min + 1 ..= 1440`.
    pub end_min: u16,
}

impl TimeOfDay {
    /// Whether a segment starting at `start_min` falls in this range.
    pub fn contains_start(&self, start_min: u16) -> bool {
        start_min >= self.start_min && start_min < self.end_min
    }
}

/// Where the engine reads the time. Production uses [`SystemClock`]; tests and simulations use
/// [`ManualClock`], which only moves when told to, so runs are reproducible (invariant 5).
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant, whole seconds since the Unix epoch (UTC). Called on every
    /// operation, from many threads at once: keep it cheap and never let it run backwards.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let d =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp(d.as_secs() as i64)
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_s: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `start` until it is set or advanced.
    pub fn new(start: Timestamp) -> Self {
        ManualClock { now_s: AtomicI64::new(start.0) }
    }
    /// Set the time. Time never runs backwards: an earlier instant is ignored.
    pub fn set(&self, t: Timestamp) {
        self.now_s.fetch_max(t.0, Ordering::SeqCst);
    }
    /// Move the time forward by `seconds` (negative values are ignored).
    pub fn advance(&self, seconds: i64) {
        if seconds > 0 {
            let _ = self.now_s.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(seconds))
            });
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.now_s.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_round_trip_and_weekday() {
        let d = Date::from_ymd(2026, 11, 23).unwrap();
        assert_eq!(d.to_string(), "2026-11-23");
        assert_eq!(d.weekday(), 0, "2026-11-23 is a Monday");
        let t = Timestamp::from_local(d, 15 * 60, 8 * 3600);
        assert_eq!(t.to_string(), "2026-11-23T07:00:00Z");
        assert_eq!(t.to_local(8 * 3600), (d, 900));
        assert!(Date::parse("2026-02-30").is_err());
        assert_eq!(Date::parse("2026-11-23").unwrap(), d);
        assert_eq!(d.year(), 2026);
    }

    #[test]
    fn manual_clock_never_runs_backwards() {
        let c = ManualClock::new(Timestamp(100));
        c.set(Timestamp(50));
        assert_eq!(c.now(), Timestamp(100));
        c.advance(-10);
        assert_eq!(c.now(), Timestamp(100));
        c.advance(5);
        assert_eq!(c.now(), Timestamp(105));
    }
}
