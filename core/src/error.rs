//! One error type for every public entry point. Each variant says what was wrong in words a
//! hospital developer can act on; [`Error::code`] gives the stable number the C ABI and the
//! Python exceptions use.

use crate::ids::*;
use crate::model::BookingState;
use crate::time::{Date, Timestamp};
use serde::{Deserialize, Serialize};

/// The `kind` of [`Error::NotFound`] for a booking that existed but ended long enough ago to be
/// forgotten: a patient's record keeps its last
/// [`ENDED_BOOKINGS_KEPT`](crate::ENDED_BOOKINGS_KEPT) ended bookings.
pub const FORGOTTEN_BOOKING: &str =
    "booking (ended, past the ended bookings a patient's record keeps; the journal has it)";

/// The result type of every fallible engine call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which per-patient limit refused a request.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// Active bookings per (institution, department, date).
    PerDepartmentDay,
    /// Active bookings per visit date.
    PerVisitDate,
    /// Active bookings within any 7 consecutive days.
    PerSevenDays,
    /// Active bookings in all.
    TotalActive,
    /// Waitlist entries per patient.
    WaitlistEntries,
}

impl LimitKind {
    /// The name as in policies and serialized errors: `per_seven_days` …
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::PerDepartmentDay => "per_department_day",
            LimitKind::PerVisitDate => "per_visit_date",
            LimitKind::PerSevenDays => "per_seven_days",
            LimitKind::TotalActive => "total_active",
            LimitKind::WaitlistEntries => "waitlist_entries",
        }
    }
}

impl std::fmt::Display for LimitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that can go wrong, as a value.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum Error {
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),
    #[error("unknown {kind} id {id}")]
    NotFound { kind: String, id: u64 },
    /// The card number never appears here: only its masked form.
    #[error("card {card_type}:{masked} already belongs to {owner}")]
    CardTaken { card_type: String, masked: String, owner: PatientId },
    #[error("{booking} is {state}; cannot {action}")]
    WrongState { booking: BookingId, state: BookingState, action: String },
    #[error("{booking}: the hold expired at {}", .expired_at.local(*.utc_offset_s))]
    HoldExpired { booking: BookingId, expired_at: Timestamp, utc_offset_s: i32 },
    #[error("{slot} has no free place for this request")]
    SlotFull { slot: SlotId },
    #[error("{slot} is closed: the session was suspended by the provider")]
    SlotClosed { slot: SlotId },
    #[error("{slot} is not open for booking yet; it opens at {}", .opens_at.local(*.utc_offset_s))]
    NotOpenYet { slot: SlotId, opens_at: Timestamp, utc_offset_s: i32 },
    #[error("booking for {slot} closed at {}", .closed_at.local(*.utc_offset_s))]
    BookingClosed { slot: SlotId, closed_at: Timestamp, utc_offset_s: i32 },
    #[error("{patient} is suspended until {} after no-shows", .until.local(*.utc_offset_s))]
    PatientSuspended { patient: PatientId, until: Timestamp, utc_offset_s: i32 },
    #[error("{patient} reached the {limit} limit of {max} active bookings")]
    LimitReached { patient: PatientId, limit: LimitKind, max: u32 },
    #[error("{referral} cannot be used: {reason}")]
    ReferralInvalid { referral: ReferralId, reason: String },
    #[error(
        "{slot} is in its release lottery until {}; submit the request to enter it",
        .draws_at.local(*.utc_offset_s)
    )]
    LotteryWindow { slot: SlotId, draws_at: Timestamp, utc_offset_s: i32 },
    #[error("{patient} was merged into {survivor}")]
    PatientMerged { patient: PatientId, survivor: PatientId },
    #[error("the engine does not run on a manual clock")]
    NotManualClock,
    #[error("capacity limit: {0}")]
    CapacityExceeded(String),
    #[error("date {0} is outside the supported range or calendar")]
    InvalidDate(Date),
    /// The journal could not make the operation durable; it happened in memory but was not
    /// acknowledged. The engine should be reopened from its directory.
    #[error("durability failure: {0}")]
    Durability(String),
}

/// The one table of error codes: number, name and description of every error, from which
/// [`ErrorCode`], [`ErrorCode::ALL`], [`ErrorCode::name`] and [`ErrorCode::description`] are
/// generated. The C ABI's `hy_result` (`HY_` + the name in capitals) and the Python exception
/// classes (the name) are derived from, and tested against, this table.
macro_rules! error_table {
    ($($name:ident = $code:literal: $description:literal,)*) => {
        /// Stable numeric codes shared by the C ABI (`HY_*`) and the Python exception classes.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[repr(u32)]
        pub enum ErrorCode {
            $(#[doc = $description] $name = $code,)*
        }

        impl ErrorCode {
            /// Every code, in numeric order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name),*];

            /// The name: the Python exception class (`SlotFull`); the C result is `HY_` and the
            /// name in capitals with underscores (`HY_SLOT_FULL`).
            pub fn name(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => stringify!($name),)*
                }
            }

            /// What the error means, in one sentence.
            pub fn description(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $description,)*
                }
            }

            /// The code of a number, if it is one.
            pub fn from_number(n: u32) -> Option<ErrorCode> {
                ErrorCode::ALL.iter().copied().find(|c| *c as u32 == n)
            }
        }
    };
}

error_table! {
    InvalidArgument = 10: "An argument was out of range or malformed.",
    InvalidPolicy = 11: "A policy was malformed or a number in it out of range.",
    NotFound = 12: "An id does not name anything the engine knows.",
    CardTaken = 13: "The card already belongs to another patient.",
    WrongState = 14: "The booking is in a state that does not allow this action.",
    HoldExpired = 15: "The hold expired before it was confirmed.",
    SlotFull = 16: "The slot has no free place for this request.",
    SlotClosed = 17: "The slot's session was suspended by the provider.",
    NotOpenYet = 18: "The slot is not open for booking yet.",
    BookingClosed = 19: "Booking for the slot has closed.",
    PatientSuspended = 20: "The patient is suspended after no-shows.",
    LimitReached = 21: "A per-patient limit refused the request.",
    ReferralInvalid = 22: "The referral cannot be used for this request.",
    LotteryWindow = 23: "The slot is in its release lottery: submit the request instead.",
    PatientMerged = 24: "The patient was merged into another.",
    NotManualClock = 25: "The engine runs on the system clock.",
    CapacityExceeded = 26: "A size bound of the engine was reached.",
    InvalidDate = 27: "A date is outside the supported range.",
    Durability = 28: "The journal could not make an operation durable.",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::InvalidPolicy(_) => ErrorCode::InvalidPolicy,
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::CardTaken { .. } => ErrorCode::CardTaken,
            Error::WrongState { .. } => ErrorCode::WrongState,
            Error::HoldExpired { .. } => ErrorCode::HoldExpired,
            Error::SlotFull { .. } => ErrorCode::SlotFull,
            Error::SlotClosed { .. } => ErrorCode::SlotClosed,
            Error::NotOpenYet { .. } => ErrorCode::NotOpenYet,
            Error::BookingClosed { .. } => ErrorCode::BookingClosed,
            Error::PatientSuspended { .. } => ErrorCode::PatientSuspended,
            Error::LimitReached { .. } => ErrorCode::LimitReached,
            Error::ReferralInvalid { .. } => ErrorCode::ReferralInvalid,
            Error::LotteryWindow { .. } => ErrorCode::LotteryWindow,
            Error::PatientMerged { .. } => ErrorCode::PatientMerged,
            Error::NotManualClock => ErrorCode::NotManualClock,
            Error::CapacityExceeded(_) => ErrorCode::CapacityExceeded,
            Error::InvalidDate(_) => ErrorCode::InvalidDate,
            Error::Durability(_) => ErrorCode::Durability,
        }
    }

    /// [`Error::NotFound`] of a `kind` of id.
    pub fn not_found(kind: &str, id: u64) -> Error {
        Error::NotFound { kind: kind.to_string(), id }
    }

    /// [`Error::InvalidArgument`] with a message.
    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::InvalidArgument(msg.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_dense_ordered_and_named() {
        assert_eq!(ErrorCode::ALL.len(), 19);
        for (i, c) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(*c as u32, 10 + i as u32, "codes are 10, 11, … in order");
            assert_eq!(ErrorCode::from_number(*c as u32), Some(*c));
            assert!(
                !c.description().is_empty()
                    && c.name().chars().next().unwrap().is_ascii_uppercase()
            );
        }
        assert_eq!(ErrorCode::SlotFull.name(), "SlotFull");
        assert_eq!(ErrorCode::from_number(9), None);
    }
}
