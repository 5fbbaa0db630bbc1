//! The data of idempotent requests: a client's request key, a patient-facing change as one
//! value (`Command`), and what it returned (`Outcome`). The operation that runs them, and the
//! table of keys it keeps, is `idempotency.rs`.

use crate::error::{Error, Result};
use crate::ids::*;
use crate::model::{
    Booking, BookingGroup, GroupRequest, Referral, ReferralRequest, Request, RescheduleRequest,
    Submission, WaitlistEntry, WaitlistRequest,
};
use serde::{Deserialize, Serialize};

/// Longest request key, in bytes: room for a UUID (36) or a 128-bit value in base64 or hex,
/// with a prefix.
pub const REQUEST_KEY_LEN_MAX: usize = 64;

/// A client's key for one request (an idempotency key, as HTTP's `Idempotency-Key`): a retry
/// carrying the same key gets the first outcome instead of acting twice. 1 ..= 64 bytes of
/// printable text, chosen by the client (a UUID per request is typical) — never personal data:
/// the journal records it.
///
/// ```
/// # use haoyuan::RequestKey;
/// let key = RequestKey::new("8d3f0c7e-5b1a-4c2e-9f60-2a7d9e4b1c55")?;
/// assert_eq!(key.as_str().len(), 36);
/// assert!(RequestKey::new("").is_err());
/// # Ok::<(), haoyuan::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestKey(String);

impl RequestKey {
    /// Check and wrap a key.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty key, one over [`REQUEST_KEY_LEN_MAX`] bytes, or
    /// one with a control character.
    pub fn new(key: impl Into<String>) -> Result<RequestKey> {
        let key = key.into();
        if key.is_empty() || key.len() > REQUEST_KEY_LEN_MAX {
            return Err(Error::invalid(format!(
                "a request key is 1 ..= {REQUEST_KEY_LEN_MAX} bytes, not {}",
                key.len()
            )));
        }
        if key.chars().any(char::is_control) {
            return Err(Error::invalid("a request key has no control characters"));
        }
        Ok(RequestKey(key))
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RequestKey {
    type Error = Error;
    fn try_from(key: String) -> Result<RequestKey> {
        RequestKey::new(key)
    }
}

impl From<RequestKey> for String {
    fn from(key: RequestKey) -> String {
        key.0
    }
}

impl std::fmt::Display for RequestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A patient-facing change, as one value, for [`Engine::execute`](crate::Engine::execute):
/// each variant is the engine method of the same name with its arguments. These are the calls
/// a client retries over a network (a booking app, a kiosk, a hospital system's message
/// consumer); registry and publication calls are an operator's and are not listed.
///
/// In JSON (C's `hy_engine_execute_json`, Python's `Engine.execute`) a command is an object
/// with `"command"` naming the variant: `{"command": "book", "request": {"patient": 1, "slot":
/// 2, "channel": 1}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// [`Engine::register_patient`](crate::Engine::register_patient).
    RegisterPatient,
    /// [`Engine::hold`](crate::Engine::hold).
    Hold {
        /// The request.
        request: Request,
    },
    /// [`Engine::book`](crate::Engine::book).
    Book {
        /// The request.
        request: Request,
    },
    /// [`Engine::submit`](crate::Engine::submit).
    Submit {
        /// The request.
        request: Request,
    },
    /// [`Engine::confirm`](crate::Engine::confirm).
    Confirm {
        /// The hold.
        booking: BookingId,
    },
    /// [`Engine::cancel`](crate::Engine::cancel).
    Cancel {
        /// The hold or booking.
        booking: BookingId,
    },
    /// [`Engine::check_in`](crate::Engine::check_in).
    CheckIn {
        /// The booking.
        booking: BookingId,
    },
    /// [`Engine::fulfil`](crate::Engine::fulfil).
    Fulfil {
        /// The booking.
        booking: BookingId,
    },
    /// [`Engine::mark_no_show`](crate::Engine::mark_no_show).
    MarkNoShow {
        /// The booking.
        booking: BookingId,
    },
    /// [`Engine::join_waitlist`](crate::Engine::join_waitlist).
    JoinWaitlist {
        /// What the patient waits for.
        request: WaitlistRequest,
    },
    /// [`Engine::leave_waitlist`](crate::Engine::leave_waitlist).
    LeaveWaitlist {
        /// The entry.
        entry: WaitlistId,
    },
    /// [`Engine::issue_referral`](crate::Engine::issue_referral).
    IssueReferral {
        /// The referral.
        request: ReferralRequest,
    },
    /// [`Engine::book_group`](crate::Engine::book_group).
    BookGroup {
        /// The places, all or nothing.
        request: GroupRequest,
    },
    /// [`Engine::reschedule`](crate::Engine::reschedule).
    Reschedule {
        /// The booking to move and where.
        request: RescheduleRequest,
    },
}

/// What a [`Command`] returned (a retry with the same key returns it again, as recorded when
/// the command ran: a booking's state then, not now).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// `register_patient`: the new patient.
    Patient {
        /// The patient.
        patient: PatientId,
    },
    /// `hold`, `book`, `confirm`, `cancel`, `check_in`, `fulfil`, `mark_no_show`.
    Booking {
        /// The booking after the call.
        booking: Booking,
    },
    /// `submit`.
    Submission {
        /// Booked at once, or entered into the release lottery.
        submission: Submission,
    },
    /// `join_waitlist`.
    WaitlistEntry {
        /// The entry.
        entry: WaitlistEntry,
    },
    /// `issue_referral`.
    Referral {
        /// The referral.
        referral: Referral,
    },
    /// `leave_waitlist`: nothing to return.
    Done,
    /// `book_group`, `reschedule`.
    Group {
        /// The booking group made.
        group: BookingGroup,
    },
}
