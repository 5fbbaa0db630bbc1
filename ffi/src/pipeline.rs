//! Pipelined acknowledgements (core `pipeline.rs`): a host with many requests in flight gets
//! each operation's in-memory outcome at once and waits for durability once for many of them.
//!
//! ```c
//! hy_engine_pipeline_begin(engine);              // this thread's calls stop waiting for fsync
//! hy_engine_book(engine, &req1, &b1);            // outcomes at once
//! hy_engine_book(engine, &req2, &b2);
//! hy_ticket ticket;
//! hy_engine_pipeline_end(engine, &ticket);       // what covers them
//! hy_engine_wait_durable(engine, ticket);        // or hy_engine_on_durable(..., callback, ...)
//! // only now tell the patients "booked"
//! ```

use crate::engine::{hy_engine, try_engine};
use crate::error::{hy_result, set_last_error};
use crate::ffi::{ffi_panic_boundary, try_out};
use haoyuan_core::{DurableTicket, PipelineScope};
use std::cell::RefCell;
use std::ffi::c_void;

/// What a host waits on before acknowledging pipelined operations: the engine's event sequence
/// number when they returned. A later ticket covers every earlier one.
#[allow(non_camel_case_types)]
pub type hy_ticket = u64;

/// Most `hy_engine_pipeline_begin` calls open at once on one thread (nesting is allowed, each
/// begin needs its end): a bound, and a guard against a begin in a loop without its end.
pub const HY_PIPELINE_DEPTH_MAX: usize = 64;

thread_local! {
    /// The scopes this thread began through the C face, innermost last.
    static SCOPES: RefCell<Vec<PipelineScope>> = const { RefCell::new(Vec::new()) };
}

/// Start pipelining **this thread's** calls on the engine: until the matching
/// `hy_engine_pipeline_end`, each mutating call returns its in-memory outcome without waiting
/// for the journal (durable engines; an in-memory engine never waits anyway). Outcomes so
/// obtained are NOT acknowledged: tell a patient "booked" only after `hy_engine_wait_durable`
/// on a ticket taken after the call returned HY_OK for it (or `hy_engine_on_durable` reported
/// HY_OK). Failed calls changed nothing and need no wait. HY_INVALID_ARGUMENT past
/// HY_PIPELINE_DEPTH_MAX nested begins.
#[no_mangle]
pub extern "C" fn hy_engine_pipeline_begin(engine: *mut hy_engine) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        SCOPES.with(|s| {
            let mut s = s.borrow_mut();
            if s.len() >= HY_PIPELINE_DEPTH_MAX {
                set_last_error(format!(
                    "{} pipelines already begun on this thread; at most {HY_PIPELINE_DEPTH_MAX} (each begin needs its end)",
                    s.len()
                ));
                return Err(hy_result::HY_INVALID_ARGUMENT);
            }
            s.push(e.pipeline_scope());
            Ok(())
        })
    }
}

/// End the innermost pipeline this thread began and write the ticket covering every call made
/// so far into `*ticket_out` (may be NULL). HY_INVALID_ARGUMENT if this thread began none.
#[no_mangle]
pub extern "C" fn hy_engine_pipeline_end(
    engine: *mut hy_engine,
    ticket_out: *mut hy_ticket,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = if ticket_out.is_null() { None } else { Some(try_out(ticket_out, "ticket_out")?) };
        let Some(scope) = SCOPES.with(|s| s.borrow_mut().pop()) else {
            set_last_error("no pipeline was begun on this thread (hy_engine_pipeline_begin)".into());
            return Err(hy_result::HY_INVALID_ARGUMENT);
        };
        drop(scope);
        if let Some(out) = out {
            out.set(e.ticket().0);
        }
        Ok(())
    }
}

/// The ticket covering every call that has returned so far, on any thread.
#[no_mangle]
pub extern "C" fn hy_engine_ticket(
    engine: *const hy_engine,
    ticket_out: *mut hy_ticket,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        try_out(ticket_out, "ticket_out")?.set(e.ticket().0);
        Ok(())
    }
}

/// Block until everything up to `ticket` is on stable storage (at once on an in-memory engine).
/// HY_DURABILITY if the journal failed: then nothing after its last durable point may be
/// acknowledged.
#[no_mangle]
pub extern "C" fn hy_engine_wait_durable(engine: *const hy_engine, ticket: hy_ticket) -> hy_result {
    ffi_panic_boundary! {
        try_engine(engine)?.wait_durable(DurableTicket(ticket))?;
        Ok(())
    }
}

/// Whether `ticket` is already durable, without blocking.
#[no_mangle]
pub extern "C" fn hy_engine_is_durable(
    engine: *const hy_engine,
    ticket: hy_ticket,
    durable_out: *mut bool,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        try_out(durable_out, "durable_out")?.set(e.is_durable(DurableTicket(ticket)));
        Ok(())
    }
}

/// Called once by `hy_engine_on_durable` with its `userdata`, the ticket and HY_OK (durable) or
/// HY_DURABILITY (the journal failed or was closed first). It runs on the journal's writer
/// thread (or on the calling thread when the ticket is already durable): keep it short — every
/// fsync after it waits — and do not call `hy_engine_*` functions that change the engine from
/// it (hand the news to your own thread instead). It must not unwind.
#[allow(non_camel_case_types)]
pub type hy_durable_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, ticket: hy_ticket, result: hy_result)>;

/// The caller's pointer, carried to the writer thread. The caller promised, by passing it to
/// `hy_engine_on_durable`, that the callback may use it from another thread.
struct UserData(*mut c_void);
// SAFETY: see above; haoyuan never dereferences it, only hands it back to the callback.
unsafe impl Send for UserData {}

/// Call `callback(userdata, ticket, result)` once `ticket` is durable: at once on this thread
/// if it already is, else later on the journal's writer thread (see `hy_durable_callback`).
/// `userdata` must stay valid until the callback ran; the callback runs exactly once, also when
/// the engine is freed first (with HY_DURABILITY).
#[no_mangle]
pub extern "C" fn hy_engine_on_durable(
    engine: *const hy_engine,
    ticket: hy_ticket,
    callback: hy_durable_callback,
    userdata: *mut c_void,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let Some(callback) = callback else {
            set_last_error("callback is NULL".into());
            return Err(hy_result::HY_NULL_PARAMETER);
        };
        let userdata = UserData(userdata);
        e.on_durable(
            DurableTicket(ticket),
            Box::new(move |r| {
                let userdata = userdata;
                let code = match r {
                    Ok(()) => hy_result::HY_OK,
                    Err(err) => err.into(),
                };
                // SAFETY: the callback's contract is in its typedef.
                unsafe { callback(userdata.0, ticket, code) }
            }),
        );
        Ok(())
    }
}
