//! Events through C: a subscription handle (`hy_subscription`, the engine's `Subscription`),
//! read one event at a time (`hy_subscription_try_recv`), by polling JSON lines into a buffer
//! (`hy_subscription_poll`) or by a callback per event (`hy_subscription_dispatch`), all on the
//! caller's own thread. Each event is the JSON of the core's serde `Event`
//! (`{"seq":…,"at":…,"kind":{"type":"booked",…}}`), one per line.
//!
//! The names follow the Rust API (`Engine::subscribe` → `Subscription`); the first C names
//! (`hy_events_*`, type `hy_events`) stay as deprecated wrappers.

use crate::engine::{hy_engine, try_engine};
use crate::error::{hy_result, set_last_error};
use crate::ffi::{ffi_panic_boundary, try_mut, try_out, try_slice_mut};
use crate::types::{hy_overflow, overflow_from};
use haoyuan_core::{EventKinds, SubscribeOptions, Subscription};
use std::ffi::{c_char, c_void};

/// A subscription to an engine's events (`hy_engine_subscribe`): it receives every event
/// emitted after it was made, in the engine's per-patient order (events of different patients
/// may be a few positions apart; `seq` has no gaps, so sort by it if you need the total order).
///
/// Thread-safety: one thread at a time per handle (reading mutates it). Make one handle per
/// consumer thread if several need events.
///
/// Lifetime: from `hy_engine_subscribe*` until `hy_subscription_free`; it may outlive its
/// engine (it then receives nothing more). Unread events wait in a bounded queue
/// (`HY_EVENTS_CAPACITY_DEFAULT` events, or the capacity given to `hy_engine_subscribe_with`);
/// what happens when it is full is the handle's `hy_overflow` policy.
pub struct hy_subscription {
    rx: Subscription,
    /// An event already taken from the channel that did not fit the caller's buffer.
    pending: Option<(u64, String)>,
}

/// Deprecated: use `hy_subscription` (the same type under its first name).
pub type hy_events = hy_subscription;

impl hy_subscription {
    /// The next event as (seq, JSON), if one is waiting.
    fn next_line(&mut self) -> Option<(u64, String)> {
        if let Some(line) = self.pending.take() {
            return Some(line);
        }
        let event = self.rx.try_recv()?;
        // Every event type serialises; an error would be a bug, reported as a bare sequence
        // number rather than a gap.
        let json =
            serde_json::to_string(&event).unwrap_or_else(|_| format!("{{\"seq\":{}}}", event.seq));
        Some((event.seq, json))
    }
}

/// Called once per event by `hy_subscription_dispatch`, on the thread that called it. `json`
/// points to `json_len` bytes of UTF-8 JSON plus a NUL, valid only during the callback. Return
/// 0 to go on, anything else to stop after this event. It must not unwind (no C++ exception or
/// longjmp out of it). It may call any `hy_engine_*` function, but not this subscription.
#[allow(non_camel_case_types)]
pub type hy_event_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        seq: u64,
        json: *const c_char,
        json_len: usize,
    ) -> i32,
>;

/// Most events one poll or dispatch call hands over (a bound on one call's time).
pub const HY_EVENTS_PER_CALL_MAX: usize = 1_000_000;

// Literals, so that cbindgen writes them into the header; asserted equal to core's bounds.
/// Queue size of `hy_engine_subscribe` (events).
pub const HY_EVENTS_CAPACITY_DEFAULT: usize = 65_536;
/// Largest queue `hy_engine_subscribe_with` accepts (events).
pub const HY_EVENTS_CAPACITY_MAX: usize = 4_194_304;
const _: () = assert!(HY_EVENTS_CAPACITY_DEFAULT == haoyuan_core::SUBSCRIPTION_CAPACITY_DEFAULT);
const _: () = assert!(HY_EVENTS_CAPACITY_MAX == haoyuan_core::SUBSCRIPTION_CAPACITY_MAX);

/// Subscribe to an engine's events (Rust: `Engine::subscribe`), with a queue of
/// `HY_EVENTS_CAPACITY_DEFAULT` events and `HY_OVERFLOW_DISCONNECT`. On HY_OK
/// `*subscription_out` is a new handle to free with `hy_subscription_free`.
#[no_mangle]
pub extern "C" fn hy_engine_subscribe(
    engine: *const hy_engine,
    subscription_out: *mut *mut hy_subscription,
) -> hy_result {
    hy_engine_subscribe_with(
        engine,
        HY_EVENTS_CAPACITY_DEFAULT,
        crate::types::HY_OVERFLOW_DISCONNECT,
        subscription_out,
    )
}

/// Subscribe with a queue of `capacity` events (1 ..= `HY_EVENTS_CAPACITY_MAX`) and a policy
/// for a full queue (Rust: `Engine::subscribe_with`).
#[no_mangle]
pub extern "C" fn hy_engine_subscribe_with(
    engine: *const hy_engine,
    capacity: usize,
    overflow: hy_overflow,
    subscription_out: *mut *mut hy_subscription,
) -> hy_result {
    ffi_panic_boundary! {
        subscribe_into(engine, capacity, overflow, EventKinds::ALL, subscription_out)
    }
}

/// The body of both `hy_engine_subscribe_*`: a new handle in `*subscription_out` on success.
fn subscribe_into(
    engine: *const hy_engine,
    capacity: usize,
    overflow: hy_overflow,
    kinds: EventKinds,
    subscription_out: *mut *mut hy_subscription,
) -> Result<(), hy_result> {
    let e = try_engine(engine)?;
    let out = try_out(subscription_out, "subscription_out")?;
    let overflow = overflow_from(overflow)?;
    let rx = e.subscribe_with(SubscribeOptions { capacity, overflow, kinds })?;
    out.set(Box::into_raw(Box::new(hy_subscription { rx, pending: None })));
    Ok(())
}

/// Subscribe to some event types only (Rust: `SubscribeOptions::kinds`; Python:
/// `Engine.subscribe(kinds=…)`): `kinds` is an array of `kinds_len` NUL-terminated names, the
/// `type` tags of the events' JSON (`"cancelled"`, `"expired"`, `"lottery_won"` …; 1 ..=
/// `HY_EVENT_KIND_NAMES_MAX`, a name may repeat). Events of other types are neither queued nor
/// counted against `capacity`, and show as gaps in `seq`; a `"group"` event is delivered when
/// `"group"` or any type it holds is named. An unknown name, or none, is HY_INVALID_ARGUMENT
/// (the message names the known ones) and subscribes nothing. Otherwise as
/// `hy_engine_subscribe_with`.
#[no_mangle]
pub extern "C" fn hy_engine_subscribe_kinds(
    engine: *const hy_engine,
    capacity: usize,
    overflow: hy_overflow,
    kinds: *const *const c_char,
    kinds_len: usize,
    subscription_out: *mut *mut hy_subscription,
) -> hy_result {
    ffi_panic_boundary! {
        let raw = crate::ffi::try_slice(kinds, kinds_len, HY_EVENT_KIND_NAMES_MAX, "kinds")?;
        let names = raw
            .iter()
            .enumerate()
            .map(|(i, &p)| crate::ffi::try_str(p, &format!("kinds[{i}]")))
            .collect::<Result<Vec<&str>, hy_result>>()?;
        let kinds = EventKinds::from_names(names)?;
        subscribe_into(engine, capacity, overflow, kinds, subscription_out)
    }
}

/// Most names `hy_engine_subscribe_kinds` takes.
pub const HY_EVENT_KIND_NAMES_MAX: usize = 128;
const _: () = assert!(HY_EVENT_KIND_NAMES_MAX == haoyuan_core::EVENT_KIND_NAMES_MAX);

/// Whether the engine cut this subscriber off because its queue was full
/// (`HY_OVERFLOW_DISCONNECT`): the events after those still queued were not delivered.
#[no_mangle]
pub extern "C" fn hy_subscription_is_cut_off(
    subscription: *const hy_subscription,
    cut_off_out: *mut bool,
) -> hy_result {
    ffi_panic_boundary! {
        let sub = crate::ffi::try_ref(subscription, "subscription")?;
        let out = try_out(cut_off_out, "cut_off_out")?;
        out.set(sub.rx.is_cut_off());
        Ok(())
    }
}

/// Unsubscribe and free. NULL is accepted and ignored. Events still queued are dropped; the
/// engine stops delivering to it at its next event. Call it once per handle, from the one
/// thread using it, after its last `hy_subscription_*` call; the engine may be freed before or
/// after.
#[no_mangle]
pub extern "C" fn hy_subscription_free(subscription: *mut hy_subscription) {
    let _ = ffi_panic_boundary! {
        if !subscription.is_null() {
            // SAFETY: made by `hy_engine_subscribe_with` (Box::into_raw); the caller frees it once.
            drop(unsafe { Box::from_raw(subscription) });
        }
        Ok(())
    };
}

/// The next waiting event, if any (Rust: `Subscription::try_recv`): its JSON, NUL-terminated,
/// into `buf`, its length without the NUL into `*written_out`, and its sequence number into
/// `*seq_out` (may be NULL). When no event is waiting the result is HY_OK with `*written_out`
/// 0 (an event's JSON is never empty) and `*seq_out` untouched. If the event does not fit, the
/// result is HY_BUFFER_TOO_SMALL with the size needed in `*written_out`, and the event stays
/// for the next call. Never blocks.
#[no_mangle]
pub extern "C" fn hy_subscription_try_recv(
    subscription: *mut hy_subscription,
    buf: *mut c_char,
    len: usize,
    written_out: *mut usize,
    seq_out: *mut u64,
) -> hy_result {
    ffi_panic_boundary! {
        let sub = try_mut(subscription, "subscription")?;
        let written = try_out(written_out, "written_out")?;
        let seq_out = if seq_out.is_null() { None } else { Some(try_out(seq_out, "seq_out")?) };
        // Checked before an event is taken, so that a refused buffer loses nothing.
        let dst = try_slice_mut(buf.cast::<u8>(), len, usize::MAX, "buf")?;
        let Some((seq, line)) = sub.next_line() else {
            written.set(0);
            return Ok(());
        };
        if line.len() >= dst.len() {
            set_last_error(format!("the next event needs a buffer of {} bytes; len is {len}", line.len() + 1));
            written.set(line.len() + 1);
            sub.pending = Some((seq, line));
            return Err(hy_result::HY_BUFFER_TOO_SMALL);
        }
        dst[..line.len()].copy_from_slice(line.as_bytes());
        dst[line.len()] = 0;
        written.set(line.len());
        if let Some(s) = seq_out {
            s.set(seq);
        }
        Ok(())
    }
}

/// Copy as many whole events as fit into `buf` as JSON lines (each ending in '\n'), then a
/// NUL. `*written_out` is the byte count without the NUL and `*count_out` the number of events
/// (0 when none is waiting). An event that does not fit stays for the next call; if the first
/// one alone does not fit, the result is HY_BUFFER_TOO_SMALL and `*written_out` is the buffer
/// size it needs. Never blocks. (Rust: `Subscription::try_iter`.)
#[no_mangle]
pub extern "C" fn hy_subscription_poll(
    subscription: *mut hy_subscription,
    buf: *mut c_char,
    len: usize,
    written_out: *mut usize,
    count_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let sub = try_mut(subscription, "subscription")?;
        let written = try_out(written_out, "written_out")?;
        let count = try_out(count_out, "count_out")?;
        let dst = try_slice_mut(buf.cast::<u8>(), len, usize::MAX, "buf")?;
        let (mut at, mut n) = (0usize, 0usize);
        while n < HY_EVENTS_PER_CALL_MAX {
            let Some((seq, line)) = sub.next_line() else { break };
            // The line, its '\n' and the final NUL must fit.
            let need = line.len() + 2;
            if at + need > dst.len() {
                if n == 0 {
                    set_last_error(format!("the next event needs a buffer of {need} bytes; len is {len}"));
                    sub.pending = Some((seq, line));
                    written.set(need);
                    return Err(hy_result::HY_BUFFER_TOO_SMALL);
                }
                sub.pending = Some((seq, line));
                break;
            }
            dst[at..at + line.len()].copy_from_slice(line.as_bytes());
            dst[at + line.len()] = b'\n';
            at += line.len() + 1;
            n += 1;
        }
        if let Some(end) = dst.get_mut(at) {
            *end = 0;
        }
        written.set(at);
        count.set(n);
        Ok(())
    }
}

/// Call `callback(userdata, seq, json, json_len)` for each waiting event, up to `max_events`
/// (0 means HY_EVENTS_PER_CALL_MAX), until none is left or the callback returns non-zero.
/// `*delivered_out` (may be NULL) receives how many events were delivered. Never blocks.
#[no_mangle]
pub extern "C" fn hy_subscription_dispatch(
    subscription: *mut hy_subscription,
    callback: hy_event_callback,
    userdata: *mut c_void,
    max_events: usize,
    delivered_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let sub = try_mut(subscription, "subscription")?;
        let Some(callback) = callback else {
            set_last_error("callback is NULL".into());
            return Err(hy_result::HY_NULL_PARAMETER);
        };
        let delivered = if delivered_out.is_null() { None } else { Some(try_out(delivered_out, "delivered_out")?) };
        let max = if max_events == 0 { HY_EVENTS_PER_CALL_MAX } else { max_events.min(HY_EVENTS_PER_CALL_MAX) };
        let mut n = 0usize;
        while n < max {
            let Some((seq, line)) = sub.next_line() else { break };
            let mut cstr = line.into_bytes();
            let json_len = cstr.len();
            cstr.push(0);
            // SAFETY: the callback's contract is in its typedef; the string lives across the call.
            let stop = unsafe { callback(userdata, seq, cstr.as_ptr().cast::<c_char>(), json_len) };
            n += 1;
            if stop != 0 {
                break;
            }
        }
        if let Some(d) = delivered {
            d.set(n);
        }
        Ok(())
    }
}

// ------------------------------------------------------------------ deprecated names

/// Deprecated: use `hy_engine_subscribe` (same arguments, same result).
#[deprecated(note = "use hy_engine_subscribe")]
#[no_mangle]
pub extern "C" fn hy_events_new(
    engine: *const hy_engine,
    events_out: *mut *mut hy_events,
) -> hy_result {
    hy_engine_subscribe(engine, events_out)
}

/// Deprecated: use `hy_engine_subscribe_with` (same arguments, same result).
#[deprecated(note = "use hy_engine_subscribe_with")]
#[no_mangle]
pub extern "C" fn hy_events_new_with(
    engine: *const hy_engine,
    capacity: usize,
    overflow: hy_overflow,
    events_out: *mut *mut hy_events,
) -> hy_result {
    hy_engine_subscribe_with(engine, capacity, overflow, events_out)
}

/// Deprecated: use `hy_subscription_is_cut_off` (same arguments, same result).
#[deprecated(note = "use hy_subscription_is_cut_off")]
#[no_mangle]
pub extern "C" fn hy_events_is_cut_off(
    events: *const hy_events,
    cut_off_out: *mut bool,
) -> hy_result {
    hy_subscription_is_cut_off(events, cut_off_out)
}

/// Deprecated: use `hy_subscription_free`.
#[deprecated(note = "use hy_subscription_free")]
#[no_mangle]
pub extern "C" fn hy_events_free(events: *mut hy_events) {
    hy_subscription_free(events)
}

/// Deprecated: use `hy_subscription_poll` (same arguments, same result).
#[deprecated(note = "use hy_subscription_poll")]
#[no_mangle]
pub extern "C" fn hy_events_poll(
    events: *mut hy_events,
    buf: *mut c_char,
    len: usize,
    written_out: *mut usize,
    count_out: *mut usize,
) -> hy_result {
    hy_subscription_poll(events, buf, len, written_out, count_out)
}

/// Deprecated: use `hy_subscription_dispatch` (same arguments, same result).
#[deprecated(note = "use hy_subscription_dispatch")]
#[no_mangle]
pub extern "C" fn hy_events_dispatch(
    events: *mut hy_events,
    callback: hy_event_callback,
    userdata: *mut c_void,
    max_events: usize,
    delivered_out: *mut usize,
) -> hy_result {
    hy_subscription_dispatch(events, callback, userdata, max_events, delivered_out)
}
