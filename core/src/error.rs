//! One error type for every public entry point. Each variant says what was wrong in words a
//! hospital developer can act on; [`Error::code`] gives the stable number the C ABI and the
//! Python exceptions use.

use crate::ids::*;
use crate::time::{Date, Timestamp};
use serde::{Deserialize, Serialize};

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
    WrongState { booking: BookingId, state: String, action: String },
    #[error("{booking}: the hold expired at {expired_at}")]
    HoldExpired { booking: BookingId, expired_at: Timestamp },
    #[error("{slot} has no free place for this request")]
    SlotFull { slot: SlotId },
    #[error("{slot} is closed: the session was suspended by the provider")]
    SlotClosed { slot: SlotId },
    #[error("{slot} is not open for booking yet; it opens at {opens_at}")]
    NotOpenYet { slot: SlotId, opens_at: Timestamp },
    #[error("booking for {slot} closed at {closed_at}")]
    BookingClosed { slot: SlotId, closed_at: Timestamp },
    #[error("{patient} is suspended until {until} after no-shows")]
    PatientSuspended { patient: PatientId, until: Timestamp },
    #[error("{patient} reached the {limit:?} limit of {max} active bookings")]
    LimitReached { patient: PatientId, limit: LimitKind, max: u32 },
    #[error("{referral} cannot be used: {reason}")]
    ReferralInvalid { referral: ReferralId, reason: String },
    #[error("{slot} is in its release lottery until {draws_at}; submit the request to enter it")]
    LotteryWindow { slot: SlotId, draws_at: Timestamp },
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

/// Stable numeric codes shared by the C ABI (`HY_*`) and the Python exception classes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u32)]
pub enum ErrorCode {
    InvalidArgument = 10,
    InvalidPolicy = 11,
    NotFound = 12,
    CardTaken = 13,
    WrongState = 14,
    HoldExpired = 15,
    SlotFull = 16,
    SlotClosed = 17,
    NotOpenYet = 18,
    BookingClosed = 19,
    PatientSuspended = 20,
    LimitReached = 21,
    ReferralInvalid = 22,
    LotteryWindow = 23,
    PatientMerged = 24,
    NotManualClock = 25,
    CapacityExceeded = 26,
    InvalidDate = 27,
    Durability = 28,
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

    pub(crate) fn not_found(kind: &str, id: u64) -> Error {
        Error::NotFound { kind: kind.to_string(), id }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Error {
        Error::InvalidArgument(msg.into())
    }
}
