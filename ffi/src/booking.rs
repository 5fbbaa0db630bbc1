//! The booking path through C: single calls, and bulk calls that cross the boundary once per
//! batch. Each function is a thin conversion around the `Engine` method of the same name.

use crate::engine::{hy_engine, try_engine, HY_ARRAY_MAX};
use crate::error::{hy_result, set_last_error};
use crate::ffi::{
    ffi_panic_boundary, give_json, give_string, parse_json, try_opt_str, try_out, try_ref,
    try_slice, try_slice_mut, try_str,
};
use crate::types::*;
use haoyuan_core::*;
use std::ffi::c_char;

/// Run `f` on the request, write the booking on success.
fn with_request(
    e: *const hy_engine,
    request: *const hy_request,
    booking_out: *mut hy_booking,
    f: impl FnOnce(&Engine, &Request) -> Result<Booking>,
) -> Result<(), hy_result> {
    let e = try_engine(e)?;
    let out = try_out(booking_out, "booking_out")?;
    let req = Request::from(try_ref(request, "request")?);
    out.set((&f(e, &req)?).into());
    Ok(())
}

/// Run `f` on a booking id, write the booking on success.
fn with_booking(
    e: *const hy_engine,
    id: hy_booking_id,
    booking_out: *mut hy_booking,
    f: impl FnOnce(&Engine, BookingId) -> Result<Booking>,
) -> Result<(), hy_result> {
    let e = try_engine(e)?;
    let out = try_out(booking_out, "booking_out")?;
    out.set((&f(e, BookingId(id))?).into());
    Ok(())
}

/// Hold a place for the policy's hold time (default 10 minutes) while the patient confirms or
/// pays; it expires by itself unless confirmed or cancelled.
///
/// `request` (not NULL) is read during the call only. On HY_OK `*booking_out` (not NULL,
/// caller-owned) is the new hold, state HY_BOOKING_HELD, with its `expires_at`. Refusals are
/// the request's domain codes: HY_SLOT_FULL, HY_NOT_OPEN_YET, HY_BOOKING_CLOSED,
/// HY_SLOT_CLOSED, HY_LOTTERY_WINDOW (use `hy_engine_submit`), HY_PATIENT_SUSPENDED,
/// HY_LIMIT_REACHED, HY_REFERRAL_INVALID, HY_NOT_FOUND; none of them changes anything.
#[no_mangle]
pub extern "C" fn hy_engine_hold(
    engine: *mut hy_engine,
    request: *const hy_request,
    booking_out: *mut hy_booking,
) -> hy_result {
    ffi_panic_boundary! { with_request(engine, request, booking_out, |e, r| e.hold(r)) }
}

/// Hold a place for `ttl_s` seconds (1 ..= 86400, else HY_INVALID_ARGUMENT) instead of the
/// policy's hold time, e.g. for a payment step known to take longer. Otherwise as
/// `hy_engine_hold`.
#[no_mangle]
pub extern "C" fn hy_engine_hold_for(
    engine: *mut hy_engine,
    request: *const hy_request,
    ttl_s: u32,
    booking_out: *mut hy_booking,
) -> hy_result {
    ffi_panic_boundary! { with_request(engine, request, booking_out, |e, r| e.hold_for(r, ttl_s)) }
}

/// Hold and confirm in one step: on HY_OK `*booking_out` is the booking, state
/// HY_BOOKING_BOOKED. Arguments and refusals as `hy_engine_hold`.
#[no_mangle]
pub extern "C" fn hy_engine_book(
    engine: *mut hy_engine,
    request: *const hy_request,
    booking_out: *mut hy_booking,
) -> hy_result {
    ffi_panic_boundary! { with_request(engine, request, booking_out, |e, r| e.book(r)) }
}

/// Book, or — inside a slot's release lottery window — enter the lottery (the outcome arrives
/// as an event). Use this instead of `hy_engine_book` at release time.
#[no_mangle]
pub extern "C" fn hy_engine_submit(
    engine: *mut hy_engine,
    request: *const hy_request,
    submission_out: *mut hy_submission,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(submission_out, "submission_out")?;
        let req = Request::from(try_ref(request, "request")?);
        out.set((&e.submit(&req)?).into());
        Ok(())
    }
}

/// Confirm a hold. HY_HOLD_EXPIRED if it ran out, whether or not a tick has processed the
/// expiry yet.
///
/// On HY_OK `*booking_out` (not NULL) is the booking, now HY_BOOKING_BOOKED. HY_NOT_FOUND for
/// an unknown id; HY_WRONG_STATE for anything but a hold.
#[no_mangle]
pub extern "C" fn hy_engine_confirm(
    engine: *mut hy_engine,
    booking: hy_booking_id,
    booking_out: *mut hy_booking,
) -> hy_result {
    ffi_panic_boundary! { with_booking(engine, booking, booking_out, |e, id| e.confirm(id)) }
}

/// Cancel a hold or booking by the patient. Free until the policy's deadline; later it counts
/// as a (fractional) no-show. A hold that ran out is HY_HOLD_EXPIRED (its place is already
/// back), whether or not a tick has processed the expiry yet.
#[no_mangle]
pub extern "C" fn hy_engine_cancel(
    engine: *mut hy_engine,
    booking: hy_booking_id,
    booking_out: *mut hy_booking,
) -> hy_result {
    ffi_panic_boundary! { with_booking(engine, booking, booking_out, |e, id| e.cancel(id)) }
}

/// The patient arrived: booked → HY_BOOKING_CHECKED_IN (counts as attended in the resource's
/// measured no-show rate). On HY_OK `*booking_out` (not NULL) is the booking after the step;
/// HY_WRONG_STATE unless it was booked, HY_INVALID_ARGUMENT before the visit day (check-in
/// opens at local midnight of the visit day: a booking checked in can no longer be marked a
/// no-show), HY_NOT_FOUND for an unknown id.
#[no_mangle]
pub extern "C" fn hy_engine_check_in(
    engine: *mut hy_engine,
    booking: hy_booking_id,
    booking_out: *mut hy_booking,
) -> hy_result {
    ffi_panic_boundary! { with_booking(engine, booking, booking_out, |e, id| e.check_in(id)) }
}

/// The visit took place: checked in → HY_BOOKING_FULFILLED. On HY_OK `*booking_out` (not
/// NULL) is the booking after the step; HY_WRONG_STATE unless it was checked in.
#[no_mangle]
pub extern "C" fn hy_engine_fulfil(
    engine: *mut hy_engine,
    booking: hy_booking_id,
    booking_out: *mut hy_booking,
) -> hy_result {
    ffi_panic_boundary! { with_booking(engine, booking, booking_out, |e, id| e.fulfil(id)) }
}

/// The patient did not come: booked → HY_BOOKING_NO_SHOW, counted towards suspension by the
/// policy (the patient may be suspended from now on). Only once the segment has started
/// (before, HY_INVALID_ARGUMENT); HY_WRONG_STATE unless it was booked. On HY_OK
/// `*booking_out` (not NULL) is the booking after the step.
#[no_mangle]
pub extern "C" fn hy_engine_mark_no_show(
    engine: *mut hy_engine,
    booking: hy_booking_id,
    booking_out: *mut hy_booking,
) -> hy_result {
    ffi_panic_boundary! { with_booking(engine, booking, booking_out, |e, id| e.mark_no_show(id)) }
}

/// One hold or booking, by id, copied into `*booking_out` (not NULL). Does not change the
/// engine: a hold past its time that no tick has expired yet still reads HY_BOOKING_HELD.
/// HY_NOT_FOUND for an unknown id, or one ended long enough ago that the patient's record no
/// longer keeps it.
#[no_mangle]
pub extern "C" fn hy_engine_booking(
    engine: *const hy_engine,
    booking: hy_booking_id,
    booking_out: *mut hy_booking,
) -> hy_result {
    ffi_panic_boundary! { with_booking(engine, booking, booking_out, |e, id| e.booking(id)) }
}

fn bulk<T>(
    e: *const hy_engine,
    items: *const T,
    len: usize,
    results: *mut hy_booking_result,
    f: impl Fn(&Engine, &T) -> Result<Booking>,
) -> Result<(), hy_result> {
    let e = try_engine(e)?;
    let items = try_slice(items, len, HY_ARRAY_MAX, "items")?;
    let results = try_slice_mut(results, len, HY_ARRAY_MAX, "results")?;
    {
        // The rows pipelined, then one wait: the journal commits the call as one batch.
        let _pipelined = e.pipeline_scope();
        for (item, out) in items.iter().zip(results.iter_mut()) {
            // Per item, no thread-local message: that would cost an allocation per failure.
            *out = match f(e, item) {
                Ok(b) => hy_booking_result { result: hy_result::HY_OK, booking: (&b).into() },
                Err(err) => {
                    hy_booking_result { result: err.code().into(), booking: hy_booking::default() }
                }
            };
        }
    }
    e.wait_durable(e.ticket())?;
    Ok(())
}

/// Book `len` requests in one call, in order, each independently (one failing does not stop
/// the others): `results[i]` is the outcome of `requests[i]`. The call returns HY_OK when it
/// ran; look at each `results[i].result`. A durable engine waits once, for all rows together
/// (one journal batch); HY_DURABILITY if that fails, and then no row is acknowledged. Both arrays have `len` entries (at most
/// HY_ARRAY_MAX), read/written during the call only. (Python: `Engine.book_many`.)
#[no_mangle]
pub extern "C" fn hy_engine_book_many(
    engine: *mut hy_engine,
    requests: *const hy_request,
    len: usize,
    results: *mut hy_booking_result,
) -> hy_result {
    ffi_panic_boundary! { bulk(engine, requests, len, results, |e, r| e.book(&Request::from(r))) }
}

/// Hold `len` requests in one call; as `hy_engine_book_many`. (Python:
/// `Engine.hold_many`.)
#[no_mangle]
pub extern "C" fn hy_engine_hold_many(
    engine: *mut hy_engine,
    requests: *const hy_request,
    len: usize,
    results: *mut hy_booking_result,
) -> hy_result {
    ffi_panic_boundary! { bulk(engine, requests, len, results, |e, r| e.hold(&Request::from(r))) }
}

/// Apply one lifecycle `action` (HY_LIFECYCLE_CONFIRM, _CANCEL, _CHECK_IN, _FULFIL,
/// _MARK_NO_SHOW) to each of `len` bookings in one call; as `hy_engine_book_many`. Another
/// action is HY_INVALID_ARGUMENT before anything changes. (Python: `Engine.lifecycle_many`.)
#[no_mangle]
pub extern "C" fn hy_engine_lifecycle_many(
    engine: *mut hy_engine,
    action: hy_lifecycle_action,
    bookings: *const hy_booking_id,
    len: usize,
    results: *mut hy_booking_result,
) -> hy_result {
    ffi_panic_boundary! {
        let f: fn(&Engine, BookingId) -> Result<Booking> = match action {
            HY_LIFECYCLE_CONFIRM => Engine::confirm,
            HY_LIFECYCLE_CANCEL => Engine::cancel,
            HY_LIFECYCLE_CHECK_IN => Engine::check_in,
            HY_LIFECYCLE_FULFIL => Engine::fulfil,
            HY_LIFECYCLE_MARK_NO_SHOW => Engine::mark_no_show,
            other => {
                set_last_error(format!("lifecycle action {other} is not one of HY_LIFECYCLE_*"));
                return Err(hy_result::HY_INVALID_ARGUMENT);
            }
        };
        bulk(engine, bookings, len, results, |e, id| f(e, BookingId(*id)))
    }
}

/// Deprecated: use `hy_engine_book_many` (same arguments, same result).
#[deprecated(note = "use hy_engine_book_many")]
#[no_mangle]
pub extern "C" fn hy_engine_book_bulk(
    engine: *mut hy_engine,
    requests: *const hy_request,
    len: usize,
    results: *mut hy_booking_result,
) -> hy_result {
    hy_engine_book_many(engine, requests, len, results)
}

/// Deprecated: use `hy_engine_hold_many` (same arguments, same result).
#[deprecated(note = "use hy_engine_hold_many")]
#[no_mangle]
pub extern "C" fn hy_engine_hold_bulk(
    engine: *mut hy_engine,
    requests: *const hy_request,
    len: usize,
    results: *mut hy_booking_result,
) -> hy_result {
    hy_engine_hold_many(engine, requests, len, results)
}

/// Deprecated: use `hy_engine_lifecycle_many` with HY_LIFECYCLE_CANCEL (same result).
#[deprecated(note = "use hy_engine_lifecycle_many")]
#[no_mangle]
pub extern "C" fn hy_engine_cancel_bulk(
    engine: *mut hy_engine,
    bookings: *const hy_booking_id,
    len: usize,
    results: *mut hy_booking_result,
) -> hy_result {
    hy_engine_lifecycle_many(engine, HY_LIFECYCLE_CANCEL, bookings, len, results)
}

// ------------------------------------------------------------------ referrals and waitlists

/// Issue a referral from a community or secondary institution to a specialty at a higher tier.
/// It opens the referral pool (and raises priority) for the booking that uses it.
#[no_mangle]
pub extern "C" fn hy_engine_issue_referral(
    engine: *mut hy_engine,
    request: *const hy_referral_request,
    referral_out: *mut hy_referral,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(referral_out, "referral_out")?;
        let req = referral_request_from(try_ref(request, "request")?)?;
        out.set((&e.issue_referral(&req)?).into());
        Ok(())
    }
}

/// Join a waitlist: when a matching place frees up, it is held for the patient (an offer, a
/// `waitlist_offered` event) with the policy's offer time.
#[no_mangle]
pub extern "C" fn hy_engine_join_waitlist(
    engine: *mut hy_engine,
    request: *const hy_waitlist_request,
    entry_out: *mut hy_waitlist_id,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(entry_out, "entry_out")?;
        let req = waitlist_request_from(try_ref(request, "request")?)?;
        out.set(e.join_waitlist(&req)?.id.0);
        Ok(())
    }
}

/// Leave a waitlist: `entry` (from `hy_engine_join_waitlist`) is removed and gets no more
/// offers. HY_NOT_FOUND for 0, an unknown entry or one already removed.
#[no_mangle]
pub extern "C" fn hy_engine_leave_waitlist(
    engine: *mut hy_engine,
    entry: hy_waitlist_id,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        if entry == 0 {
            set_last_error("waitlist entry 0 does not exist".into());
            return Err(hy_result::HY_NOT_FOUND);
        }
        e.leave_waitlist(WaitlistId(entry))?;
        Ok(())
    }
}

/// Run a patient-facing change at most once per request key (idempotent retries): a retry with
/// the same `request_key` returns the first outcome instead of acting again — across a crash
/// and reopen of a durable engine too. `command` is JSON naming the call and its arguments,
/// e.g. `{"command": "book", "request": {"patient": 1, "slot": 2, "channel": 1}}` (commands:
/// `register_patient`, `hold`, `book`, `submit`, `confirm`, `cancel`, `check_in`, `fulfil`,
/// `mark_no_show`, `join_waitlist`, `leave_waitlist`, `issue_referral`, and the multi-place
/// `book_group` (`{"command": "book_group", "request": {"patient": 1, "channel": 1, "slots":
/// [5, 6, 7]}}`: several places all or nothing, e.g. the nights of a bed stay) and
/// `reschedule` (`{"command": "reschedule", "request": {"booking": B, "slots": [...],
/// "channel": 1}}`), whose outcome is `{"outcome": "group", "group": {...}}`; the arguments as
/// the Rust `Command`). `request_key`: 1 ..= 64 bytes of printable text chosen by the client (a
/// UUID per request), or NULL for no key. The outcome is JSON (`{"outcome": "booking",
/// "booking": {...}}`, `{"outcome": "patient", "patient": 7}` …) handed out in `*json_out`
/// (its length without the NUL in `*len_out`) to free with `hy_string_free`.
///
/// A failed request is not remembered (it changed nothing; a retry runs again).
/// HY_INVALID_ARGUMENT for a malformed key or command, a key used for another command, or a
/// request with this key still running (retry later); otherwise the command's own errors.
/// Every pointer is checked before anything happens.
#[no_mangle]
pub extern "C" fn hy_engine_execute_json(
    engine: *mut hy_engine,
    request_key: *const c_char,
    command: *const c_char,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let key = match try_opt_str(request_key, "request_key")? {
            None => None,
            Some(k) => Some(RequestKey::new(k)?),
        };
        let text = try_str(command, "command")?;
        let (json_out, len_out) = (try_out(json_out, "json_out")?, try_out(len_out, "len_out")?);
        let command: haoyuan_core::Command = parse_json(text, "command")?;
        let outcome = e.execute(key.as_ref(), &command)?;
        // Serialising an outcome cannot fail (plain data); were it to, the call has acted, so
        // it still reports success, with the error as the text.
        let json = serde_json::to_string(&outcome)
            .unwrap_or_else(|err| format!("{{\"outcome\":\"unprintable\",\"error\":{:?}}}", err.to_string()));
        give_string(json, json_out, len_out);
        Ok(())
    }
}

/// The booking group `booking` belongs to (made by `book_group` or `reschedule` through
/// `hy_engine_execute_json`), as JSON `{"id", "patient", "bookings": [...], "replaces"}` in
/// `*json_out` (its length in `*len_out`; free with `hy_string_free`). HY_NOT_FOUND for a
/// booking that is not part of a group.
#[no_mangle]
pub extern "C" fn hy_engine_booking_group_json(
    engine: *mut hy_engine,
    booking: hy_booking_id,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let (json_out, len_out) = (try_out(json_out, "json_out")?, try_out(len_out, "len_out")?);
        let group = e.booking_group(BookingId(booking))?;
        give_json(&group, "booking group", json_out, len_out)
    }
}

/// Bed stays that can be booked now (Xiamen's delivery beds): `query` is JSON
/// `{"specialty": "obstetrics", "district": "Siming" | null, "first_night": D, "nights": 3,
/// "flex_days": 2, "limit": 10}` (`D` a `hy_date`, days since 1970-01-01); the offers, district first, then earliest, then
/// least loaded, are a JSON array in `*json_out` (free with `hy_string_free`), each with the
/// `slots` to pass to `book_group`. HY_INVALID_ARGUMENT for a malformed or out-of-range query.
#[no_mangle]
pub extern "C" fn hy_engine_find_stays_json(
    engine: *mut hy_engine,
    query: *const c_char,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let text = try_str(query, "query")?;
        let (json_out, len_out) = (try_out(json_out, "json_out")?, try_out(len_out, "len_out")?);
        let query: haoyuan_core::StayQuery = parse_json(text, "query")?;
        let offers = e.find_stays(&query)?;
        give_json(&offers, "stays", json_out, len_out)
    }
}
