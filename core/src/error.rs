//! One error type for every public entry point. Each variant says what was wrong in words a
//! hospital developer can act on; [`Error::code`] gives the stable number the C ABI and the
//! Python exceptions use.

use crate::ids::*;
use crate::model::BookingState;
use crate::time::{Date, Timestamp};
use serde::{Deserialize, Serialize};

/// The `kind` of [`Error::NotFound`] for a booking that existed but is forgotten: a patient's
/// record keeps its last [`ENDED_BOOKINGS_KEPT`](crate::ENDED_BOOKINGS_KEPT) ended bookings,
/// and none of a day retired past the retention ([`RetentionPolicy`](crate::RetentionPolicy)).
pub const FORGOTTEN_BOOKING: &str =
    "booking (forgotten: ended past the history a patient's record keeps, or of a day retired \
     past the retention; the journal has it)";

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
///
/// Every variant is refused work: a call that returns an error changed nothing, except
/// [`Error::HoldExpired`] (the hold had already run out; the call records the expiry if the
/// timer had not yet) and [`Error::Durability`] (the change happened in memory but was not
/// acknowledged). Timestamps in the variants are UTC
/// seconds; `utc_offset_s` is the engine's region offset, carried so that the message can show
/// local time without a lookup.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum Error {
    /// An argument is out of range or malformed: a capacity of 0, `start_min >= end_min`, a
    /// blank or too long name, merging a patient into itself, a bulk call over its row limit,
    /// joining a waitlist the policy disables. The message names the argument and its bound.
    /// Retrying the same call fails again: fix the input.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A policy text does not parse (TOML/JSON syntax, an unknown key) or a number in it is out
    /// of range ([`Policy::validate`](crate::Policy::validate)). The engine keeps its previous
    /// policy; correct the text.
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),
    /// An id names nothing the engine knows (never registered, or retired past the retention
    /// period). Re-read the id from its source; for a booking past a patient's record see
    /// [`FORGOTTEN_BOOKING`].
    #[error("unknown {kind} id {id}")]
    NotFound {
        /// What was looked up: `"slot"`, `"patient"`, `"booking"`, `"department"` …, or
        /// [`FORGOTTEN_BOOKING`].
        kind: String,
        /// The number that was looked up, widened to 64 bits whatever its id type.
        id: u64,
    },
    /// Linking a card that is already linked to another patient. The card number never
    /// appears here: only its masked form. Either the card was mistyped, or the two patients
    /// are the same person and should be merged (`Engine::merge_patients`).
    #[error("card {card_type}:{masked} already belongs to {owner}")]
    CardTaken {
        /// The card's type as the host named it when linking (e.g. a national ID or social
        /// security card).
        card_type: String,
        /// The number masked for display by [`mask_card_number`](crate::mask_card_number) (at
        /// most 4 characters kept at each end), never the number itself: card numbers are
        /// sensitive personal information (DOMAIN.md).
        masked: String,
        /// The patient the card is linked to now.
        owner: PatientId,
    },
    /// A lifecycle action the booking's state does not allow (DOMAIN.md, "Booking lifecycle"):
    /// confirming a booking twice, checking in a hold, cancelling a fulfilled visit. Re-read
    /// the booking; the action is usually already done or no longer possible.
    #[error("{booking} is {state}; cannot {action}")]
    WrongState {
        /// The booking or hold acted on.
        booking: BookingId,
        /// Its state when the action was refused.
        state: BookingState,
        /// The refused action in words: `"confirm"`, `"cancel"`, `"check in"`, `"fulfil"`,
        /// `"mark as no-show"`.
        action: String,
    },
    /// Confirming or cancelling a hold whose time ran out (policy `hold.ttl_s`). The place has
    /// gone back to the pool (this call expires the hold if the timer has not yet); hold
    /// again if a place is still free.
    #[error("{booking}: the hold expired at {}", .expired_at.local(*.utc_offset_s))]
    HoldExpired {
        /// The expired hold.
        booking: BookingId,
        /// When it expired, UTC seconds.
        expired_at: Timestamp,
        /// The region's offset from UTC in seconds, for the message's local time.
        utc_offset_s: i32,
    },
    /// Every pool this request may take is used up (its capacity, the overbooking allowance
    /// and the pools open to its referral/channel). Not a fault: offer other slots
    /// (`find_free_slots`, `alternatives`) or join the waitlist.
    #[error("{slot} has no free place for this request")]
    SlotFull {
        /// The full slot.
        slot: SlotId,
    },
    /// The slot's session was suspended by the provider (停诊); its bookings were
    /// provider-cancelled. Book another slot.
    #[error("{slot} is closed: the session was suspended by the provider")]
    SlotClosed {
        /// The closed slot.
        slot: SlotId,
    },
    /// The slot's booking window has not opened for this requester: the public release
    /// (default 7 days ahead at 15:00), or the referral release for a request with a
    /// referral. Try again at `opens_at`.
    #[error("{slot} is not open for booking yet; it opens at {}", .opens_at.local(*.utc_offset_s))]
    NotOpenYet {
        /// The slot asked for.
        slot: SlotId,
        /// When its window opens for this kind of request, UTC seconds.
        opens_at: Timestamp,
        /// The region's offset from UTC in seconds, for the message's local time.
        utc_offset_s: i32,
    },
    /// Booking for the slot has closed (by default when its segment starts; the policy may
    /// close it earlier). Final: book a later slot.
    #[error("booking for {slot} closed at {}", .closed_at.local(*.utc_offset_s))]
    BookingClosed {
        /// The slot asked for.
        slot: SlotId,
        /// When booking closed, UTC seconds.
        closed_at: Timestamp,
        /// The region's offset from UTC in seconds, for the message's local time.
        utc_offset_s: i32,
    },
    /// The patient is in a no-show suspension (default 30, 60, 90 … days for the 1st, 2nd,
    /// 3rd no-show of the counting window) and may not hold, book, enter a lottery or join a
    /// waitlist until `until`. Existing bookings are kept. Tell the patient the date.
    #[error("{patient} is suspended until {} after no-shows", .until.local(*.utc_offset_s))]
    PatientSuspended {
        /// The patient (after following merges).
        patient: PatientId,
        /// The end of the suspension, UTC seconds.
        until: Timestamp,
        /// The region's offset from UTC in seconds, for the message's local time.
        utc_offset_s: i32,
    },
    /// A per-patient limit (policy `limits`) refuses one more active booking or waitlist
    /// entry: the real-name anti-scalping rule. The patient must cancel one first.
    #[error("{patient} reached the {limit} limit of {max} active bookings")]
    LimitReached {
        /// The patient (after following merges).
        patient: PatientId,
        /// Which limit refused.
        limit: LimitKind,
        /// That limit's value in the policy, reached already.
        max: u32,
    },
    /// The request's referral cannot be used for this slot. Book without it (general pool) or
    /// have a valid referral issued.
    #[error("{referral} cannot be used: {reason}")]
    ReferralInvalid {
        /// The referral the request named.
        referral: ReferralId,
        /// Why, in words: not this patient's, already used, outside its validity, issued for
        /// another specialty or institution, or the slot is not at a higher tier than the
        /// referring institution.
        reason: String,
    },
    /// A direct hold or book of a slot inside its release-lottery window (the first
    /// `lottery.window_s` seconds after the public release), where arrival order must not
    /// decide. Submit the request instead (`Engine::submit`); it is drawn at `draws_at`.
    #[error(
        "{slot} is in its release lottery until {}; submit the request to enter it",
        .draws_at.local(*.utc_offset_s)
    )]
    LotteryWindow {
        /// The slot asked for.
        slot: SlotId,
        /// When the lottery is drawn and first-come-first-served resumes, UTC seconds.
        draws_at: Timestamp,
        /// The region's offset from UTC in seconds, for the message's local time.
        utc_offset_s: i32,
    },
    /// The patient id was merged into another patient. Reserved: no call of this version
    /// returns it (every call follows a merged id to its survivor), but the code (24) is part
    /// of the C and Python faces, so it stays. Use `survivor` from now on.
    #[error("{patient} was merged into {survivor}")]
    PatientMerged {
        /// The id that was merged away (a tombstone).
        patient: PatientId,
        /// The patient who now holds its cards, bookings and history.
        survivor: PatientId,
    },
    /// Setting or advancing the clock of an engine that runs on the system clock. Only engines
    /// made with a manual clock (simulations, tests) can be moved in time.
    #[error("the engine does not run on a manual clock")]
    NotManualClock,
    /// A size bound of the engine was reached (institutions, patients, slots, rosters,
    /// bookings kept per patient, attempts logged for one visit date …; the message names the
    /// bound). Memory is bounded by design (invariant 6): retire the past, or raise the bound
    /// in a build made for it.
    #[error("capacity limit: {0}")]
    CapacityExceeded(String),
    /// A date outside 1970-01-01 ..= 2199-12-31 (or a calendar day that does not exist).
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
