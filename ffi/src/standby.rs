//! The hot standby handle: a read-only follower of a durable engine's directory (Rust
//! `haoyuan::Standby`), promoted to a `hy_engine` once the leader is gone.

use crate::engine::{durability_from, hy_engine, hy_journal_mode};
use crate::error::{hy_result, set_last_error};
use crate::ffi::{copy_out, copy_out_json, ffi_panic_boundary, try_out, try_ref, try_str};
use crate::types::*;
use haoyuan_core::*;
use parking_lot::RwLock;
use std::ffi::c_char;
use std::time::Duration;

/// A hot standby: a read-only copy of a durable engine that follows its directory on this
/// machine, never takes its LOCK and never writes there. It has reads only (no call changes
/// it, so it never diverges from the leader) and becomes a `hy_engine` with
/// `hy_standby_promote` once the leader is gone.
///
/// Thread-safety: every function may be called from any number of threads at once on the same
/// handle, except `hy_standby_free`, which must be the last call on it.
///
/// Lifetime: from `hy_standby_open` until `hy_standby_free` (also after a promotion: the
/// promoted handle is closed, its calls return HY_DURABILITY, and it must still be freed).
pub struct hy_standby {
    /// `None` once promoted.
    inner: RwLock<Option<Standby>>,
}

impl hy_standby {
    fn with<T>(&self, f: impl FnOnce(&Standby) -> Result<T>) -> Result<T, hy_result> {
        match &*self.inner.read() {
            Some(s) => Ok(f(s)?),
            None => {
                set_last_error("the standby was promoted; free its handle".to_string());
                Err(hy_result::HY_DURABILITY)
            }
        }
    }
}

/// Open a standby of the durable directory `dir` (read-only) and recover its state as
/// `hy_engine_open` would. `poll_interval_ms`: 0 follows only on `hy_standby_catch_up`; else a
/// background thread catches up at that interval (1 ..= 600000) until `hy_standby_free`. The
/// card key comes from the environment, as for `hy_engine_open`. A directory that does not
/// exist or is not a durable one, a bad interval or a missing or wrong card key is
/// HY_INVALID_ARGUMENT; damage recovery refuses is HY_DURABILITY. `*standby_out` (not NULL)
/// receives the handle on HY_OK.
#[no_mangle]
pub extern "C" fn hy_standby_open(
    dir: *const c_char,
    poll_interval_ms: u32,
    standby_out: *mut *mut hy_standby,
) -> hy_result {
    ffi_panic_boundary! {
        let out = try_out(standby_out, "standby_out")?;
        let dir = try_str(dir, "dir")?;
        let mut options = StandbyOptions::new();
        if poll_interval_ms > 0 {
            options = options.poll_interval(Duration::from_millis(poll_interval_ms.into()));
        }
        let standby = Standby::open(dir, options)?;
        out.set(Box::into_raw(Box::new(hy_standby { inner: RwLock::new(Some(standby)) })));
        Ok(())
    }
}

/// Follow a leader on another machine: connect to its replication listener (`leader`,
/// `"host:port"`, see `hy_engine_open_replicating` and `hy_engine_replication_addr`), receive its
/// records into `dir` (this standby's own durable directory, created if needed, resumed if it
/// holds records already) and apply them as they come, on a background thread. Every frame is
/// checked as recovery checks it; each batch is fsynced, then acknowledged to the leader. When
/// the stream stops (leader gone, follower cut off, bad input) the standby keeps its state,
/// `hy_standby_streaming` says false and the lag's `last_error` why; open it again to resume.
/// `hy_standby_promote` opens `dir` as a leader (a stream standby has no leader LOCK to look at:
/// that the old leader is down is the operator's decision). An address that is not
/// `host:port` or a missing card key is HY_INVALID_ARGUMENT; a leader that cannot be reached,
/// refuses or sends something that is not its journal is HY_DURABILITY. `*standby_out` (not
/// NULL) receives the handle on HY_OK.
#[no_mangle]
pub extern "C" fn hy_standby_connect(
    leader: *const c_char,
    dir: *const c_char,
    standby_out: *mut *mut hy_standby,
) -> hy_result {
    ffi_panic_boundary! {
        let out = try_out(standby_out, "standby_out")?;
        let leader = try_str(leader, "leader")?;
        let dir = try_str(dir, "dir")?;
        let Ok(addr) = leader.parse::<std::net::SocketAddr>() else {
            set_last_error(format!("leader {leader:?} is not an address host:port"));
            return Err(hy_result::HY_INVALID_ARGUMENT);
        };
        if dir.is_empty() {
            set_last_error("dir is empty".into());
            return Err(hy_result::HY_INVALID_ARGUMENT);
        }
        let standby = Standby::connect(addr, dir, StandbyOptions::new())?;
        out.set(Box::into_raw(Box::new(hy_standby { inner: RwLock::new(Some(standby)) })));
        Ok(())
    }
}

/// Whether a stream standby (`hy_standby_connect`) still receives from its leader into
/// `*streaming_out` (not NULL); false once the stream stopped, and always for a directory
/// standby (`hy_standby_open`).
#[no_mangle]
pub extern "C" fn hy_standby_streaming(
    standby: *const hy_standby,
    streaming_out: *mut bool,
) -> hy_result {
    ffi_panic_boundary! {
        let s = try_ref(standby, "standby")?;
        let out = try_out(streaming_out, "streaming_out")?;
        out.set(s.with(|s| Ok(s.streaming()))?);
        Ok(())
    }
}

/// Apply what the leader appended since the last call (a record still being written is left
/// for the next one); `*applied_out` (may be NULL) receives how many events.
#[no_mangle]
pub extern "C" fn hy_standby_catch_up(
    standby: *const hy_standby,
    applied_out: *mut u64,
) -> hy_result {
    ffi_panic_boundary! {
        let s = try_ref(standby, "standby")?;
        let out = if applied_out.is_null() { None } else { Some(try_out(applied_out, "applied_out")?) };
        let applied = s.with(|s| s.catch_up())?;
        if let Some(out) = out {
            out.set(applied);
        }
        Ok(())
    }
}

/// How far behind the leader the standby is, as JSON into (`buf`, `len`) (as
/// `hy_engine_metrics_json`): `applied_seq`, `leader_seq`, `records_behind`,
/// `last_applied_at`, `caught_up_at_unix_ms`, `resyncs`, `last_error`.
#[no_mangle]
pub extern "C" fn hy_standby_lag_json(
    standby: *const hy_standby,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let s = try_ref(standby, "standby")?;
        let lag = s.with(|s| Ok(s.lag()))?;
        copy_out_json(&lag, "lag", buf, len, written)
    }
}

/// The standby's operator metrics as JSON into (`buf`, `len`) (as `hy_engine_metrics_json`),
/// with a `follower` object: `applied_seq`, `leader_seq`, `records_behind`, `caught_up_age_s`
/// (or null), `resyncs`, `failing`.
#[no_mangle]
pub extern "C" fn hy_standby_metrics_json(
    standby: *const hy_standby,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let s = try_ref(standby, "standby")?;
        try_out(written, "written")?;
        let m = s.with(|s| Ok(s.metrics()))?;
        copy_out_json(&m, "metrics", buf, len, written)
    }
}

/// The same in the Prometheus text exposition format (the `haoyuan_follower_*` families
/// added), into (`buf`, `len`) as `hy_engine_metrics_prometheus`: for a host to serve as it is.
#[no_mangle]
pub extern "C" fn hy_standby_metrics_prometheus(
    standby: *const hy_standby,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let s = try_ref(standby, "standby")?;
        try_out(written, "written")?;
        let text = s.with(|s| Ok(s.metrics().to_prometheus()))?;
        copy_out(&text, buf, len, written)
    }
}

/// The last event the standby applied into `*seq_out` (not NULL).
#[no_mangle]
pub extern "C" fn hy_standby_last_event_seq(
    standby: *const hy_standby,
    seq_out: *mut u64,
) -> hy_result {
    ffi_panic_boundary! {
        let s = try_ref(standby, "standby")?;
        let out = try_out(seq_out, "seq_out")?;
        out.set(s.with(|s| Ok(s.last_event_seq()))?);
        Ok(())
    }
}

/// One booking, by id, as `hy_engine_booking` reads it on the leader.
#[no_mangle]
pub extern "C" fn hy_standby_booking(
    standby: *const hy_standby,
    booking: hy_booking_id,
    booking_out: *mut hy_booking,
) -> hy_result {
    ffi_panic_boundary! {
        let s = try_ref(standby, "standby")?;
        let out = try_out(booking_out, "booking_out")?;
        out.set((&s.with(|s| s.booking(BookingId(booking)))?).into());
        Ok(())
    }
}

/// Whether the leader still holds the directory's LOCK into `*alive_out` (not NULL):
/// `hy_standby_promote` is refused then. A held lock is tried again for half a second before
/// the answer is yes (a child process being spawned holds a share of it for a moment).
#[no_mangle]
pub extern "C" fn hy_standby_leader_alive(
    standby: *const hy_standby,
    alive_out: *mut bool,
) -> hy_result {
    ffi_panic_boundary! {
        let s = try_ref(standby, "standby")?;
        let out = try_out(alive_out, "alive_out")?;
        out.set(s.with(|s| s.leader_alive())?);
        Ok(())
    }
}

/// Become the leader: HY_DURABILITY while the leader holds the LOCK (the standby goes on).
/// Otherwise reads what is left, opens the directory as `hy_engine_open` does with `mode` and
/// `fsync_interval_ms` (the configuration stored there, the card key of the environment) and
/// puts the new engine in `*engine_out` (not NULL). Once past the LOCK check the standby
/// handle is closed, whatever the result: free it with `hy_standby_free`.
#[no_mangle]
pub extern "C" fn hy_standby_promote(
    standby: *mut hy_standby,
    mode: hy_journal_mode,
    fsync_interval_ms: u32,
    engine_out: *mut *mut hy_engine,
) -> hy_result {
    ffi_panic_boundary! {
        let s = try_ref(standby.cast_const(), "standby")?;
        let out = try_out(engine_out, "engine_out")?;
        let durability = durability_from(mode, fsync_interval_ms)?;
        if s.with(|s| s.leader_alive())? {
            set_last_error("the leader is alive (its LOCK is held): promotion refused".to_string());
            return Err(hy_result::HY_DURABILITY);
        }
        let Some(standby) = s.inner.write().take() else {
            set_last_error("the standby was promoted already".to_string());
            return Err(hy_result::HY_DURABILITY);
        };
        let engine = standby.promote(OpenOptions::new(durability))?;
        out.set(hy_engine::boxed_durable(engine));
        Ok(())
    }
}

/// Stop following and free the standby. NULL is accepted and ignored. No other call on this
/// handle may be in progress or follow.
#[no_mangle]
pub extern "C" fn hy_standby_free(standby: *mut hy_standby) {
    let _ = ffi_panic_boundary! {
        if !standby.is_null() {
            // SAFETY: made by `hy_standby_open` (Box::into_raw); the caller frees it once.
            drop(unsafe { Box::from_raw(standby) });
        }
        Ok(())
    };
}
