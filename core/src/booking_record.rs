//! What a patient's record keeps of each booking: a [`BookingRec`] of 40 bytes (asserted), the
//! public [`Booking`] built from it on demand.
//!
//! A province holds millions of bookings, and every limit check scans a patient's list of
//! them, so the record keeps only what it cannot find elsewhere, in the narrowest form that
//! gives it back exactly:
//! - the public type's `patient` is always the patient whose record holds the booking (a merge
//!   moves bookings to the survivor and renames them), so the record leaves it out;
//! - the visit's start is kept as seconds from its date's midnight (UTC) and the hold's end as
//!   seconds after the booking was made: 4 bytes each instead of 8;
//! - the referral and the waitlist offer a booking came from, which few bookings have, are kept
//!   beside the records ([`BookingLinks`], in the record's rarely used part), not in each one.
//!
//! Why 40 bytes: a patient's bookings are one vector, so a province's three bookings per
//! patient cost the vector's 16-byte header, the records and the allocator's rounding; with
//! 40-byte records that is 56 bytes a booking with its day-log entry, within the budget of 64
//! (`make bench-memory`), where the 64-byte record of before cost 94.5.

use crate::ids::*;
use crate::model::{Booking, BookingState, Pool};
use crate::time::{Date, Timestamp, DAY_S};

/// An optional 64-bit id in 8 bytes: `u64::MAX` stands for none. The engine's id counters
/// never come near it; a journal or snapshot that names it is refused as corrupt
/// ([`BookingRec::new`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OptId(u64);

impl OptId {
    const NONE: OptId = OptId(u64::MAX);

    /// `None` when `id` is the one value that cannot be stored.
    fn new(id: Option<u64>) -> Option<OptId> {
        match id {
            None => Some(OptId::NONE),
            Some(u64::MAX) => None,
            Some(v) => Some(OptId(v)),
        }
    }

    fn get(self) -> Option<u64> {
        (self != OptId::NONE).then_some(self.0)
    }
}

/// A booking as its patient's record keeps it; see the module's documentation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BookingRec {
    pub id: BookingId,
    pub created_at: Timestamp,
    pub slot: SlotId,
    pub department: DepartmentId,
    pub date: Date,
    /// `starts_at` − the date's midnight UTC, in seconds (the start minute less the UTC
    /// offset, for any booking the engine makes).
    start_s: i32,
    /// `expires_at` − `created_at`, in seconds (a hold's time to live; 0 otherwise).
    hold_s: u32,
    pub channel: ChannelId,
    pub state: BookingState,
    pub pool: Pool,
}

const _: () = assert!(std::mem::size_of::<BookingRec>() <= 40);

/// The referral and the waitlist offer of one booking that has either, kept beside the records
/// (few bookings have one: see the module's documentation). At most one per booking, and only
/// for a booking its record still holds (`PatientState` keeps both lists in step).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BookingLinks {
    pub booking: BookingId,
    referral: OptId,
    offer: OptId,
}

impl BookingLinks {
    /// `b`'s links: `Some(None)` when it has none, `None` when it names an id no engine makes
    /// (`u64::MAX`).
    fn of(b: &Booking) -> Option<Option<BookingLinks>> {
        let (referral, offer) =
            (OptId::new(b.referral.map(|r| r.0))?, OptId::new(b.offer.map(|w| w.0))?);
        Some((referral != OptId::NONE || offer != OptId::NONE).then_some(BookingLinks {
            booking: b.id,
            referral,
            offer,
        }))
    }

    pub fn referral(&self) -> Option<ReferralId> {
        self.referral.get().map(ReferralId)
    }

    pub fn offer(&self) -> Option<WaitlistId> {
        self.offer.get().map(WaitlistId)
    }
}

impl BookingRec {
    /// The record of `b` read back from a journal or a snapshot, and its links: `None` when
    /// the record cannot give `b` back exactly — it names an optional id no engine makes
    /// (`u64::MAX`), its start lies more than 68 years from its date, or its hold ends before
    /// it was made or 136 years after. No booking the engine makes is refused.
    pub fn new(b: &Booking) -> Option<(BookingRec, Option<BookingLinks>)> {
        let start_s = i32::try_from(b.starts_at.0.checked_sub(midnight(b.date))?).ok()?;
        let hold_s = u32::try_from(b.expires_at.0.checked_sub(b.created_at.0)?).ok()?;
        Some((BookingRec::with(b, start_s, hold_s), BookingLinks::of(b)?))
    }

    /// The record of a booking the engine has just made, and its links. Nothing to check
    /// (the booking path's cost): its referral was found among the patient's own and its offer
    /// on a waitlist, both numbered by the engine's counters, which never reach `u64::MAX`; its
    /// start is its date's minute less a checked UTC offset (`calendar::check_utc_offset`:
    /// within a day), and its hold a `u32` of seconds or none. A debug build checks all three.
    pub fn made(b: &Booking) -> (BookingRec, Option<BookingLinks>) {
        let start_s = b.starts_at.0 - midnight(b.date);
        let hold_s = b.expires_at.0 - b.created_at.0;
        debug_assert!(
            i32::try_from(start_s).is_ok()
                && u32::try_from(hold_s).is_ok()
                && b.referral.is_none_or(|r| r.0 != u64::MAX)
                && b.offer.is_none_or(|w| w.0 != u64::MAX),
            "every booking the engine makes fits its record: {b:?}"
        );
        (BookingRec::with(b, start_s as i32, hold_s as u32), BookingLinks::of(b).flatten())
    }

    fn with(b: &Booking, start_s: i32, hold_s: u32) -> BookingRec {
        BookingRec {
            id: b.id,
            created_at: b.created_at,
            slot: b.slot,
            department: b.department,
            date: b.date,
            start_s,
            hold_s,
            channel: b.channel,
            state: b.state,
            pool: b.pool,
        }
    }

    /// When the visit's segment starts.
    pub fn starts_at(&self) -> Timestamp {
        Timestamp(midnight(self.date) + self.start_s as i64)
    }

    /// When a hold expires (for a booking made without a hold: when it was made).
    pub fn expires_at(&self) -> Timestamp {
        Timestamp(self.created_at.0 + self.hold_s as i64)
    }

    /// The public booking, of `owner` (the patient whose record holds it), with its `links`
    /// (the record's entry for it, if it has one).
    pub fn public(&self, owner: PatientId, links: Option<&BookingLinks>) -> Booking {
        debug_assert!(links.is_none_or(|l| l.booking == self.id), "another booking's links");
        Booking {
            id: self.id,
            patient: owner,
            slot: self.slot,
            department: self.department,
            date: self.date,
            channel: self.channel,
            state: self.state,
            pool: self.pool,
            referral: links.and_then(BookingLinks::referral),
            offer: links.and_then(BookingLinks::offer),
            created_at: self.created_at,
            expires_at: self.expires_at(),
            starts_at: self.starts_at(),
        }
    }
}

/// Midnight UTC starting `date`, in seconds since the epoch (what `start_s` counts from; any
/// `Date` fits: it is an `i32` of days).
fn midnight(date: Date) -> i64 {
    date.0 as i64 * DAY_S
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking(referral: Option<u64>, offer: Option<u64>) -> Booking {
        Booking {
            id: BookingId(5 << 32 | 9),
            patient: PatientId(5),
            slot: SlotId(77),
            department: DepartmentId(3),
            date: Date(20_000),
            channel: ChannelId(2),
            state: BookingState::Held,
            pool: Pool::Referral,
            referral: referral.map(ReferralId),
            offer: offer.map(WaitlistId),
            created_at: Timestamp(1_700_000_000),
            expires_at: Timestamp(1_700_000_900),
            starts_at: Timestamp(20_000 * DAY_S + 9 * 3600 - 8 * 3600),
        }
    }

    fn round_trip(b: &Booking) -> Option<Booking> {
        let (rec, links) = BookingRec::new(b)?;
        Some(rec.public(b.patient, links.as_ref()))
    }

    #[test]
    fn a_record_gives_back_the_booking_it_was_made_from() {
        for (r, o) in
            [(None, None), (Some(0), Some(1)), (Some(u64::MAX - 1), None), (None, Some(7))]
        {
            let b = booking(r, o);
            assert_eq!(round_trip(&b), Some(b.clone()));
            let (rec, links) = BookingRec::made(&b);
            assert_eq!(rec.public(b.patient, links.as_ref()), b);
            // Links only for a booking that has one.
            assert_eq!(links.is_some(), r.is_some() || o.is_some());
        }
        // The extremes each narrowed field still holds: a start a day before or after its date,
        // a hold of u32::MAX seconds, a booking made long after its visit.
        let mut b = booking(None, None);
        for (start, expires) in [(-DAY_S, 0), (2 * DAY_S, u32::MAX as i64)] {
            b.starts_at = Timestamp(20_000 * DAY_S + start);
            b.expires_at = Timestamp(b.created_at.0 + expires);
            assert_eq!(round_trip(&b), Some(b.clone()));
        }
        b.created_at = Timestamp(b.starts_at.0 + 40 * 365 * DAY_S);
        b.expires_at = b.created_at;
        assert_eq!(round_trip(&b), Some(b.clone()));
        assert_eq!(std::mem::size_of::<BookingRec>(), 40);
    }

    #[test]
    fn what_a_record_cannot_give_back_exactly_is_refused_not_altered() {
        assert!(round_trip(&booking(Some(u64::MAX), None)).is_none());
        assert!(round_trip(&booking(None, Some(u64::MAX))).is_none());
        let mut b = booking(None, None);
        b.expires_at = Timestamp(b.created_at.0 - 1);
        assert!(round_trip(&b).is_none(), "a hold that ends before it was made");
        b.expires_at = Timestamp(b.created_at.0 + u32::MAX as i64 + 1);
        assert!(round_trip(&b).is_none(), "a hold beyond u32 seconds");
        let mut b = booking(None, None);
        b.starts_at = Timestamp(20_000 * DAY_S + i32::MAX as i64 + 1);
        assert!(round_trip(&b).is_none(), "a start 68 years past its date");
        b.starts_at = Timestamp(i64::MIN);
        assert!(round_trip(&b).is_none());
        b.starts_at = Timestamp(20_000 * DAY_S);
        b.created_at = Timestamp(i64::MAX);
        b.expires_at = Timestamp(i64::MIN);
        assert!(round_trip(&b).is_none(), "no overflow on absurd times");
    }
}
