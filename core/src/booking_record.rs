//! What a patient's record keeps of each booking: a [`BookingRec`] of 64 bytes (asserted), the
//! public [`Booking`] built from it on demand.
//!
//! A province holds millions of bookings, and every limit check scans a patient's list of
//! them, so the record keeps only what it cannot find elsewhere. The public type's `patient`
//! is always the patient whose record holds the booking (a merge moves bookings to the
//! survivor and renames them), so the record leaves it out; and the two optional 64-bit ids
//! take 8 bytes each instead of 16 ([`OptId`]).

use crate::ids::*;
use crate::model::{Booking, BookingState, Pool};
use crate::time::{Date, Timestamp};

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
    pub slot: SlotId,
    pub department: DepartmentId,
    pub date: Date,
    pub channel: ChannelId,
    pub state: BookingState,
    pub pool: Pool,
    referral: OptId,
    offer: OptId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub starts_at: Timestamp,
}

const _: () = assert!(std::mem::size_of::<BookingRec>() <= 64);

impl BookingRec {
    /// The record of `b` read back from a journal or a snapshot: `None` when it names an
    /// optional id no engine makes (`u64::MAX`).
    pub fn new(b: &Booking) -> Option<BookingRec> {
        Some(BookingRec::with(
            b,
            OptId::new(b.referral.map(|r| r.0))?,
            OptId::new(b.offer.map(|w| w.0))?,
        ))
    }

    /// The record of a booking the engine has just made: its referral was found among the
    /// patient's own and its offer on a waitlist, both numbered by the engine's counters,
    /// which never reach `u64::MAX`.
    pub fn made(b: &Booking) -> BookingRec {
        let id = |v: Option<u64>| {
            debug_assert_ne!(v, Some(u64::MAX), "engine ids never reach u64::MAX");
            OptId::new(v).unwrap_or(OptId::NONE)
        };
        BookingRec::with(b, id(b.referral.map(|r| r.0)), id(b.offer.map(|w| w.0)))
    }

    fn with(b: &Booking, referral: OptId, offer: OptId) -> BookingRec {
        BookingRec {
            id: b.id,
            slot: b.slot,
            department: b.department,
            date: b.date,
            channel: b.channel,
            state: b.state,
            pool: b.pool,
            referral,
            offer,
            created_at: b.created_at,
            expires_at: b.expires_at,
            starts_at: b.starts_at,
        }
    }

    pub fn referral(&self) -> Option<ReferralId> {
        self.referral.get().map(ReferralId)
    }

    pub fn offer(&self) -> Option<WaitlistId> {
        self.offer.get().map(WaitlistId)
    }

    /// The public booking, of `owner`: the patient whose record holds it.
    pub fn public(&self, owner: PatientId) -> Booking {
        Booking {
            id: self.id,
            patient: owner,
            slot: self.slot,
            department: self.department,
            date: self.date,
            channel: self.channel,
            state: self.state,
            pool: self.pool,
            referral: self.referral(),
            offer: self.offer(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            starts_at: self.starts_at,
        }
    }
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
            starts_at: Timestamp(1_700_100_000),
        }
    }

    #[test]
    fn a_record_gives_back_the_booking_it_was_made_from() {
        for (r, o) in [(None, None), (Some(0), Some(1)), (Some(u64::MAX - 1), None)] {
            let b = booking(r, o);
            assert_eq!(BookingRec::new(&b).unwrap().public(PatientId(5)), b);
        }
        assert_eq!(std::mem::size_of::<BookingRec>(), 64);
    }

    #[test]
    fn the_one_unstorable_id_is_refused_not_altered() {
        assert!(BookingRec::new(&booking(Some(u64::MAX), None)).is_none());
        assert!(BookingRec::new(&booking(None, Some(u64::MAX))).is_none());
    }
}
