//! Weekly roster templates (排班) and their expansion into time-segmented slots.

use crate::error::{Error, Result};
use crate::ids::*;
use crate::model::{Roster, SlotSpec};
use crate::slot::PLACES_MAX;
use crate::time::Date;
use parking_lot::Mutex;

/// Most rosters one engine keeps.
pub const ROSTERS_MAX: usize = 10_000_000;

impl Roster {
    /// Check the template before it is stored: `weekdays` non-empty and 0 (Monday) ..= 6,
    /// `start_min < end_min <= 1440`, `segment_min` 1 ..= the session length, `places`
    /// 1 ..= [`PLACES_MAX`] (16,000), every date valid and `valid_from <= valid_until`.
    /// [`Error::InvalidArgument`] naming the field, or [`Error::InvalidDate`].
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(format!("roster: {m}")));
        if self.weekdays.is_empty() || self.weekdays.iter().any(|d| *d > 6) {
            return bad("weekdays must be a non-empty list of 0 (Monday) ..= 6 (Sunday)".into());
        }
        if self.start_min >= self.end_min || self.end_min > 1440 {
            return bad(format!(
                "session {}..{} must satisfy start < end <= 1440 minutes",
                self.start_min, self.end_min
            ));
        }
        if self.segment_min == 0 || self.segment_min > self.end_min - self.start_min {
            return bad(format!(
                "segment_min {} must be 1 ..= the session length",
                self.segment_min
            ));
        }
        if self.places == 0 || self.places > PLACES_MAX {
            return bad(format!("places {} must be 1 ..= {PLACES_MAX}", self.places));
        }
        for d in [self.valid_from, self.valid_until].iter().chain(&self.closed_dates) {
            if !d.is_valid() {
                return Err(Error::InvalidDate(*d));
            }
        }
        if self.valid_from > self.valid_until {
            return bad(format!(
                "valid_from {} is after valid_until {}",
                self.valid_from, self.valid_until
            ));
        }
        Ok(())
    }

    /// The slots of one date (empty when the roster does not run that day).
    pub fn expand_date(&self, date: Date) -> Vec<SlotSpec> {
        if date < self.valid_from
            || date > self.valid_until
            || !self.weekdays.contains(&date.weekday())
            || self.closed_dates.contains(&date)
        {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut start = self.start_min;
        // Whole segments only: a remainder shorter than a segment is not bookable.
        while start + self.segment_min <= self.end_min {
            out.push(SlotSpec {
                resource: self.resource,
                date,
                start_min: start,
                end_min: start + self.segment_min,
                capacity: self.places,
            });
            start += self.segment_min;
        }
        out
    }
}

#[derive(Default)]
pub(crate) struct Rosters {
    /// Each roster with the last date already published.
    pub(crate) inner: Mutex<Vec<(Roster, Option<Date>)>>,
}

impl Rosters {
    pub fn add(&self, roster: Roster) -> Result<RosterId> {
        let mut all = self.inner.lock();
        if all.len() >= ROSTERS_MAX {
            return Err(Error::CapacityExceeded(format!("at most {ROSTERS_MAX} rosters")));
        }
        all.push((roster, None));
        Ok(RosterId::from_index(all.len() - 1))
    }

    pub fn get(&self, id: RosterId) -> Option<Roster> {
        self.inner.lock().get(id.index()?).map(|(r, _)| r.clone())
    }

    /// Specs of every date not yet published up to `until` (nothing is marked: see
    /// [`Rosters::mark_published`]).
    pub fn due(&self, until: Date) -> Vec<SlotSpec> {
        let all = self.inner.lock();
        let mut specs = Vec::new();
        for (roster, done) in all.iter() {
            let from = done.map_or(roster.valid_from, |d| d.plus_days(1)).max(roster.valid_from);
            let to = until.min(roster.valid_until);
            let mut d = from;
            while d <= to {
                specs.extend(roster.expand_date(d));
                d = d.plus_days(1);
            }
        }
        specs
    }

    /// Mark every roster published up to `until` (live after its slots were checked, and on
    /// replay of `RostersPublished`).
    pub fn mark_published(&self, until: Date) {
        for (roster, done) in self.inner.lock().iter_mut() {
            let from = done.map_or(roster.valid_from, |d| d.plus_days(1)).max(roster.valid_from);
            let to = until.min(roster.valid_until);
            if to >= from {
                *done = Some(to);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster() -> Roster {
        Roster {
            resource: ResourceId(0),
            weekdays: vec![0, 2],
            start_min: 8 * 60,
            end_min: 12 * 60,
            segment_min: 30,
            places: 4,
            valid_from: Date::from_ymd(2026, 11, 23).unwrap(),
            valid_until: Date::from_ymd(2026, 12, 6).unwrap(),
            closed_dates: vec![Date::from_ymd(2026, 11, 25).unwrap()],
        }
    }

    #[test]
    fn expands_weekdays_segments_and_skips_closed_dates() {
        let r = roster();
        r.validate().unwrap();
        let monday = Date::from_ymd(2026, 11, 23).unwrap();
        let specs = r.expand_date(monday);
        assert_eq!(specs.len(), 8);
        assert_eq!((specs[0].start_min, specs[7].end_min), (480, 720));
        assert!(r.expand_date(monday.plus_days(1)).is_empty(), "Tuesday is not rostered");
        assert!(r.expand_date(monday.plus_days(2)).is_empty(), "closed date");
        let rosters = Rosters::default();
        rosters.add(r).unwrap();
        // Two weeks: Mon 23, Mon 30, Wed 2 Dec (Wed 25 closed) = 3 days × 8.
        let until = Date::from_ymd(2026, 12, 6).unwrap();
        assert_eq!(rosters.due(until).len(), 24);
        assert_eq!(rosters.due(until).len(), 24, "reading marks nothing");
        rosters.mark_published(until);
        assert!(rosters.due(until).is_empty(), "idempotent once marked");
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            Roster { weekdays: vec![], ..roster() },
            Roster { weekdays: vec![7], ..roster() },
            Roster { end_min: 8 * 60, ..roster() },
            Roster { segment_min: 0, ..roster() },
            Roster { places: 0, ..roster() },
            Roster { valid_until: Date::from_ymd(2026, 1, 1).unwrap(), ..roster() },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
