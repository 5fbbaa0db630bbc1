//! Typed identifiers. Every id is a small integer so that slots, bookings and indexes stay
//! compact; the newtypes keep a `SlotId` from being passed where a `PatientId` is meant.
//!
//! No id of any kind is ever 0: dense ids are storage index + 1, counters start at 1, and a
//! booking id embeds its patient's id (≥ 1) in its high bits. Hosts may use 0 for "none".

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty), $prefix:literal) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl $name {
            /// The dense storage index of this id: ids start at 1, so that 0 is never an id
            /// (C and Python hosts use 0 for "none"); `None` for 0.
            #[inline]
            #[allow(dead_code)]
            pub(crate) fn index(self) -> Option<usize> {
                (self.0 as usize).checked_sub(1)
            }

            /// The id stored at dense index `i`.
            #[inline]
            #[allow(dead_code)]
            pub(crate) fn from_index(i: usize) -> Self {
                $name((i + 1) as $inner)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

id_type!(/// A hospital or clinic.
    InstitutionId(u32), "institution#");
id_type!(/// A specialty at one institution.
    DepartmentId(u32), "department#");
id_type!(/// A specialty shared across institutions (cardiology, paediatrics …); used to find alternatives.
    SpecialtyId(u32), "specialty#");
id_type!(/// A district of the region.
    DistrictId(u32), "district#");
id_type!(/// What is booked: a doctor, bed, exam device, nursing or pharmacy service, certificate desk.
    ResourceId(u32), "resource#");
id_type!(/// Where a request comes from (app, wechat, kiosk, …).
    ChannelId(u16), "channel#");
id_type!(/// One resident in the master patient index.
    PatientId(u32), "patient#");
id_type!(/// One time segment of one resource on one date.
    SlotId(u32), "slot#");
id_type!(/// A weekly roster template.
    RosterId(u32), "roster#");
id_type!(/// A referral from a lower-tier institution.
    ReferralId(u64), "referral#");
id_type!(/// An entry on a waitlist.
    WaitlistId(u64), "waitlist#");
id_type!(/// A request entered into a release-time lottery.
    TicketId(u64), "ticket#");

/// A hold or booking. The id embeds the patient who made it (high 32 bits) and that patient's
/// own sequence number (low 32 bits): finding a booking needs no global map, only the patient's
/// own record, which is exactly the lock the booking path takes anyway.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BookingId(pub u64);

impl BookingId {
    pub(crate) fn new(patient: PatientId, seq: u32) -> Self {
        BookingId(((patient.0 as u64) << 32) | seq as u64)
    }
    /// The patient who originally made this booking (after a merge, the record lives with the
    /// surviving patient; the engine follows the merge).
    pub fn origin_patient(self) -> PatientId {
        PatientId((self.0 >> 32) as u32)
    }
}

impl fmt::Display for BookingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "booking#{}", self.0)
    }
}

/// A concurrent map keyed by engine-assigned ids (or keyed digests), hashed with FxHash: these
/// keys are never chosen by an attacker, so SipHash's flood resistance buys nothing and its
/// cost shows on every lookup of the hot paths. Maps keyed by names a host supplies keep the
/// standard hasher.
pub(crate) type IdMap<K, V> = dashmap::DashMap<K, V, rustc_hash::FxBuildHasher>;
