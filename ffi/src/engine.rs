//! The engine handle: construction, clock, registry, patients, publishing, availability and
//! records. The booking path is in `booking.rs`, events in `events.rs`.

use crate::error::{hy_result, set_last_error};
use crate::ffi::{
    copy_out, copy_out_json, ffi_panic_boundary, give_json, parse_json, try_opt_str, try_out,
    try_ref, try_slice, try_slice_mut, try_str,
};
use crate::types::*;
use haoyuan_core::*;
use std::ffi::c_char;

/// One region-wide pool of slots (an in-memory `haoyuan::Engine`).
///
/// Thread-safety: every function taking a `hy_engine` may be called from any number of threads
/// at once on the same handle, except `hy_engine_free`, which must be the last call on it (no
/// other call on the handle in progress or after it). Bookings by different patients never wait
/// for each other.
///
/// Lifetime: from `hy_engine_new*` until `hy_engine_free`. Pointers passed *into* any call are
/// read during the call only and never kept; results are copied into caller-owned memory.
///
/// After `HY_PANIC` (a bug in haoyuan, caught at the boundary): the handle stays valid and
/// memory-safe, its locks do not poison and every other patient's bookings are unaffected, but
/// the one operation that panicked may have been applied in part. Log the message
/// (`hy_last_error_message`), treat that operation's outcome as unknown and read it back (for
/// example with `hy_engine_booking`).
pub struct hy_engine {
    inner: Inner,
}

/// In memory, or journaled on a directory (`DurableEngine` derefs to `Engine`).
// The variants differ in size, but there is one `Inner` per handle and the handle is already
// boxed: boxing the larger variant would only add an indirection to every call.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Memory(Engine),
    Durable(DurableEngine),
}

impl hy_engine {
    pub(crate) fn boxed(inner: Engine) -> *mut hy_engine {
        Box::into_raw(Box::new(hy_engine { inner: Inner::Memory(inner) }))
    }

    /// A handle owning a durable engine (opened, or promoted from a standby).
    pub(crate) fn boxed_durable(engine: DurableEngine) -> *mut hy_engine {
        Box::into_raw(Box::new(hy_engine { inner: Inner::Durable(engine) }))
    }

    /// The Rust engine behind the handle, for Rust code that holds a handle made by C (and for
    /// the overhead bench). Not part of the C API.
    pub fn as_engine(&self) -> &Engine {
        match &self.inner {
            Inner::Memory(e) => e,
            Inner::Durable(d) => d,
        }
    }

    fn durable(&self) -> Result<&DurableEngine, hy_result> {
        match &self.inner {
            Inner::Durable(d) => Ok(d),
            Inner::Memory(_) => {
                set_last_error(
                    "this engine is in memory only; open one with hy_engine_open".into(),
                );
                Err(hy_result::HY_INVALID_ARGUMENT)
            }
        }
    }
}

/// The engine behind a handle, or `HY_NULL_PARAMETER`.
pub(crate) fn try_engine<'a>(p: *const hy_engine) -> Result<&'a Engine, hy_result> {
    try_ref(p, "engine").map(hy_engine::as_engine)
}

/// Most items one array argument or result holds (bulk calls, slot specs, query results): a
/// bound on one call's memory and time.
pub const HY_ARRAY_MAX: usize = 5_000_000;

/// A policy from its text in `format`; NULL text is the default policy.
fn policy_from(policy: *const c_char, format: hy_policy_format) -> Result<Policy, hy_result> {
    Ok(match try_opt_str(policy, "policy")? {
        None => Policy::default(),
        Some(text) => match format {
            HY_POLICY_JSON => Policy::from_json(text)?,
            HY_POLICY_TOML => Policy::from_toml(text)?,
            other => {
                set_last_error(format!(
                    "policy format {other} is not HY_POLICY_JSON or HY_POLICY_TOML"
                ));
                return Err(hy_result::HY_INVALID_ARGUMENT);
            }
        },
    })
}

fn config_from(
    policy: *const c_char,
    format: hy_policy_format,
    utc_offset_s: i32,
) -> Result<EngineConfig, hy_result> {
    let policy = policy_from(policy, format)?;
    // The card key comes from the environment (HAOYUAN_CARD_KEY / HAOYUAN_CARD_KEY_FILE).
    Ok(EngineConfig { policy, utc_offset_s, ..EngineConfig::default() })
}

/// Create an engine on the system clock.
///
/// `policy` is a policy text in `format` (HY_POLICY_JSON or HY_POLICY_TOML; unspecified fields
/// keep their defaults), or NULL for the default policy. `utc_offset_s` is the region's offset
/// from UTC in seconds (China: 28800), within ±14 h (±50400; beyond is HY_INVALID_ARGUMENT). On
/// HY_OK `*engine_out` is a new handle to free with `hy_engine_free`. Call `hy_engine_tick`
/// about once a second so that holds expire.
/// Card numbers are hashed under the card key of the environment (`HAOYUAN_CARD_KEY`, 64 hex
/// characters, or `HAOYUAN_CARD_KEY_FILE`, a file holding them), else under a random key that
/// lives with the engine; a malformed key in the environment is HY_INVALID_ARGUMENT.
#[no_mangle]
pub extern "C" fn hy_engine_new(
    policy: *const c_char,
    format: hy_policy_format,
    utc_offset_s: i32,
    engine_out: *mut *mut hy_engine,
) -> hy_result {
    ffi_panic_boundary! {
        let out = try_out(engine_out, "engine_out")?;
        let config = config_from(policy, format, utc_offset_s)?;
        out.set(hy_engine::boxed(Engine::new(config)?));
        Ok(())
    }
}

/// Create an engine on a manual clock starting at `start` (Unix seconds, 1970 ..= 2200): time
/// moves only with `hy_engine_advance_clock` / `hy_engine_advance_to`, so runs are
/// reproducible (tests, simulations). Arguments as `hy_engine_new`. (Rust:
/// `Engine::with_manual_clock`; Python: `Engine.with_manual_clock`.)
#[no_mangle]
pub extern "C" fn hy_engine_with_manual_clock(
    policy: *const c_char,
    format: hy_policy_format,
    utc_offset_s: i32,
    start: hy_timestamp,
    engine_out: *mut *mut hy_engine,
) -> hy_result {
    ffi_panic_boundary! {
        let out = try_out(engine_out, "engine_out")?;
        let config = config_from(policy, format, utc_offset_s)?;
        let start = instant_from(start, "start")?;
        out.set(hy_engine::boxed(Engine::with_manual_clock(config, start)?));
        Ok(())
    }
}

/// Deprecated: use `hy_engine_with_manual_clock` (same arguments, same result).
#[deprecated(note = "use hy_engine_with_manual_clock")]
#[no_mangle]
pub extern "C" fn hy_engine_new_manual_clock(
    policy: *const c_char,
    format: hy_policy_format,
    utc_offset_s: i32,
    start: hy_timestamp,
    engine_out: *mut *mut hy_engine,
) -> hy_result {
    hy_engine_with_manual_clock(policy, format, utc_offset_s, start, engine_out)
}

/// An instant C passed (`what` names it): within 1970-01-01 ..= 2200-01-01, which keeps every
/// instant far from overflow (the engine's dates end in 2199), else HY_INVALID_ARGUMENT.
fn instant_from(t: hy_timestamp, what: &str) -> Result<Timestamp, hy_result> {
    if !(0..=7_258_118_400).contains(&t) {
        set_last_error(format!("{what} {t} must be within 1970-01-01 ..= 2200-01-01"));
        return Err(hy_result::HY_INVALID_ARGUMENT);
    }
    Ok(Timestamp(t))
}

// ------------------------------------------------------------------ durability

/// How a durable engine writes its journal.
pub type hy_journal_mode = u32;
/// An operation returns only once its events are on disk (fsync; concurrent operations share
/// one). Nothing acknowledged is ever lost.
pub const HY_JOURNAL_SYNC: hy_journal_mode = 0;
/// A background writer appends every event and fsyncs every `fsync_interval_ms`: a crash
/// loses at most that interval.
pub const HY_JOURNAL_BUFFERED: hy_journal_mode = 1;
/// Recover the directory but write nothing more (read-only replays, simulations).
pub const HY_JOURNAL_NONE: hy_journal_mode = 2;

// The arguments of `hy_engine_open*` as the C caller passed them, checked here in one place.
#[allow(clippy::too_many_arguments)]
fn open_durable(
    dir: *const c_char,
    policy: *const c_char,
    format: hy_policy_format,
    utc_offset_s: i32,
    mode: hy_journal_mode,
    fsync_interval_ms: u32,
    clock: ClockKind,
    replication: Option<ReplicationOptions>,
    engine_out: *mut *mut hy_engine,
) -> Result<(), hy_result> {
    let out = try_out(engine_out, "engine_out")?;
    let dir = try_str(dir, "dir")?;
    let config = config_from(policy, format, utc_offset_s)?;
    let durability = durability_from(mode, fsync_interval_ms)?;
    let mut options = OpenOptions::new(durability).config(config).clock(clock);
    if let Some(r) = replication {
        options = options.replicate(r);
    }
    let engine = DurableEngine::open(dir, options)?;
    out.set(hy_engine::boxed_durable(engine));
    Ok(())
}

/// The journal mode of `hy_engine_open*` (and `hy_standby_promote`) as C passed it.
pub(crate) fn durability_from(
    mode: hy_journal_mode,
    fsync_interval_ms: u32,
) -> Result<Durability, hy_result> {
    match mode {
        HY_JOURNAL_SYNC => Ok(Durability::Sync),
        HY_JOURNAL_NONE => Ok(Durability::None),
        HY_JOURNAL_BUFFERED if (1..=60_000).contains(&fsync_interval_ms) => {
            Ok(Durability::Buffered {
                interval: std::time::Duration::from_millis(fsync_interval_ms as u64),
            })
        }
        HY_JOURNAL_BUFFERED => {
            set_last_error(format!("fsync_interval_ms {fsync_interval_ms} must be 1 ..= 60000"));
            Err(hy_result::HY_INVALID_ARGUMENT)
        }
        other => {
            set_last_error(format!("journal mode {other} is not one of HY_JOURNAL_*"));
            Err(hy_result::HY_INVALID_ARGUMENT)
        }
    }
}

/// Open (creating if needed) a durable engine on directory `dir`, on the system clock: the
/// state found there is recovered (newest snapshot, then the journal after it), and from then
/// on every acknowledged operation is journaled there. Policy and `utc_offset_s` as in
/// `hy_engine_new`; they are stored with a new directory and must be the same on every later
/// open (HY_INVALID_ARGUMENT otherwise). One open handle per directory (a second is
/// HY_DURABILITY). I/O failures and damaged files are HY_DURABILITY with the file named in the
/// message. `fsync_interval_ms` is used by HY_JOURNAL_BUFFERED only (1 ..= 60000). Every
/// argument is checked before anything touches the disk: an empty `dir`, an invalid policy or
/// offset, or a bad mode is an error that creates no file or directory.
///
/// The deployment's card key (under which card numbers are hashed; no file holds a number or
/// the key) is read from the environment: `HAOYUAN_CARD_KEY` (64 hex characters) or
/// `HAOYUAN_CARD_KEY_FILE` (a file holding them). Without one, or with one other than the key
/// the directory was written with, the open is HY_INVALID_ARGUMENT. A file of a journal format
/// this build does not read is HY_DURABILITY naming the format.
#[no_mangle]
pub extern "C" fn hy_engine_open(
    dir: *const c_char,
    policy: *const c_char,
    format: hy_policy_format,
    utc_offset_s: i32,
    mode: hy_journal_mode,
    fsync_interval_ms: u32,
    engine_out: *mut *mut hy_engine,
) -> hy_result {
    ffi_panic_boundary! { open_durable(dir, policy, format, utc_offset_s, mode, fsync_interval_ms, ClockKind::System, None, engine_out) }
}

/// As `hy_engine_open`, on a manual clock that starts at the later of `start` and the latest
/// event time found in the directory (a simulation continues where it stopped).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn hy_engine_open_with_manual_clock(
    dir: *const c_char,
    policy: *const c_char,
    format: hy_policy_format,
    utc_offset_s: i32,
    mode: hy_journal_mode,
    fsync_interval_ms: u32,
    start: hy_timestamp,
    engine_out: *mut *mut hy_engine,
) -> hy_result {
    ffi_panic_boundary! {
        let clock = ClockKind::Manual(instant_from(start, "start")?);
        open_durable(dir, policy, format, utc_offset_s, mode, fsync_interval_ms, clock, None, engine_out)
    }
}

/// When a replicating leader (`hy_engine_open_replicating`) acknowledges an operation.
pub type hy_replication_mode = u32;
/// Once fsynced locally, as without replication; followers receive records after that. A
/// follower on another machine misses, when the leader's machine dies, what was acknowledged
/// and not yet shipped (at most its `records_behind` when it last heard from the leader).
pub const HY_REPLICATION_ASYNC: hy_replication_mode = 0;
/// Once fsynced locally *and* fsynced by a follower in its own directory: nothing acknowledged
/// is lost with the leader's machine. Without a follower an operation waits `ack_timeout_ms`,
/// then fails with HY_DURABILITY although it is applied and durable on the leader: do not
/// report it to the patient; a retry with the same request key returns its outcome.
pub const HY_REPLICATION_ACK_AFTER_FOLLOWER: hy_replication_mode = 1;

/// As `hy_engine_open` (or `hy_engine_open_with_manual_clock` when `start` is not NULL), and
/// serve the journal to stream followers (`hy_standby_connect`) on another machine over TCP.
/// `listen` is `"host:port"` (`"127.0.0.1:0"`: a free loopback port, see
/// `hy_engine_replication_addr`); `replication_mode` one of HY_REPLICATION_*;
/// `ack_timeout_ms` (1 ..= 3600000) the longest wait for a follower in
/// HY_REPLICATION_ACK_AFTER_FOLLOWER. At most 4 followers at once. An address that is not
/// `host:port`, a bad mode or timeout, or HY_JOURNAL_NONE is HY_INVALID_ARGUMENT (nothing is
/// created); a port that cannot be bound is HY_DURABILITY.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn hy_engine_open_replicating(
    dir: *const c_char,
    policy: *const c_char,
    format: hy_policy_format,
    utc_offset_s: i32,
    mode: hy_journal_mode,
    fsync_interval_ms: u32,
    start: *const hy_timestamp,
    listen: *const c_char,
    replication_mode: hy_replication_mode,
    ack_timeout_ms: u32,
    engine_out: *mut *mut hy_engine,
) -> hy_result {
    ffi_panic_boundary! {
        let start = if start.is_null() { None } else { Some(try_ref(start, "start")?) };
        let clock = match start {
            None => ClockKind::System,
            Some(&start) => ClockKind::Manual(instant_from(start, "start")?),
        };
        let listen = try_str(listen, "listen")?;
        let Ok(addr) = listen.parse::<std::net::SocketAddr>() else {
            set_last_error(format!("listen {listen:?} is not an address host:port"));
            return Err(hy_result::HY_INVALID_ARGUMENT);
        };
        let replication_mode = match replication_mode {
            HY_REPLICATION_ASYNC => ReplicationMode::Async,
            HY_REPLICATION_ACK_AFTER_FOLLOWER => ReplicationMode::AckAfterFollower,
            other => {
                set_last_error(format!("replication mode {other} is not one of HY_REPLICATION_*"));
                return Err(hy_result::HY_INVALID_ARGUMENT);
            }
        };
        let replication = ReplicationOptions::new(addr, replication_mode)
            .ack_timeout(std::time::Duration::from_millis(ack_timeout_ms.into()));
        open_durable(dir, policy, format, utc_offset_s, mode, fsync_interval_ms, clock, Some(replication), engine_out)
    }
}

/// The address a replicating engine listens on (`"127.0.0.1:40313"`: with port 0 asked, the
/// port the system chose), NUL-terminated into `buf`. `*written` is its length without the
/// NUL; on HY_BUFFER_TOO_SMALL it is the buffer size needed and `buf` is untouched.
/// HY_INVALID_ARGUMENT for an engine opened without replication.
#[no_mangle]
pub extern "C" fn hy_engine_replication_addr(
    engine: *const hy_engine,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let h = try_ref(engine, "engine")?;
        let Some(addr) = h.durable()?.replication_addr() else {
            set_last_error("this engine was opened without replication".into());
            return Err(hy_result::HY_INVALID_ARGUMENT);
        };
        copy_out(&addr.to_string(), buf, len, written)
    }
}

/// Stream followers connected now into `*followers_out` (not NULL); 0 without replication.
/// HY_INVALID_ARGUMENT on an in-memory engine.
#[no_mangle]
pub extern "C" fn hy_engine_followers(
    engine: *const hy_engine,
    followers_out: *mut u32,
) -> hy_result {
    ffi_panic_boundary! {
        let h = try_ref(engine, "engine")?;
        let out = try_out(followers_out, "followers_out")?;
        out.set(h.durable()?.followers() as u32);
        Ok(())
    }
}

/// Deprecated: use `hy_engine_open_with_manual_clock` (same arguments, same result).
#[deprecated(note = "use hy_engine_open_with_manual_clock")]
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn hy_engine_open_manual_clock(
    dir: *const c_char,
    policy: *const c_char,
    format: hy_policy_format,
    utc_offset_s: i32,
    mode: hy_journal_mode,
    fsync_interval_ms: u32,
    start: hy_timestamp,
    engine_out: *mut *mut hy_engine,
) -> hy_result {
    hy_engine_open_with_manual_clock(
        dir,
        policy,
        format,
        utc_offset_s,
        mode,
        fsync_interval_ms,
        start,
        engine_out,
    )
}

/// Write a snapshot of a durable engine and drop the journal it makes unnecessary (bookings go
/// on meanwhile). `*seq_out` (may be NULL) receives the snapshot's event sequence number.
/// HY_INVALID_ARGUMENT on an in-memory engine.
#[no_mangle]
pub extern "C" fn hy_engine_snapshot(engine: *mut hy_engine, seq_out: *mut u64) -> hy_result {
    ffi_panic_boundary! {
        let h = try_ref(engine, "engine")?;
        let out = if seq_out.is_null() { None } else { Some(try_out(seq_out, "seq_out")?) };
        let seq = h.durable()?.snapshot()?;
        if let Some(out) = out {
            out.set(seq);
        }
        Ok(())
    }
}

/// Make everything done so far durable (for HY_JOURNAL_BUFFERED before a planned stop).
/// `*seq_out` (may be NULL) receives the durable sequence number. HY_INVALID_ARGUMENT on an
/// in-memory engine. `hy_engine_free` also flushes.
#[no_mangle]
pub extern "C" fn hy_engine_flush(engine: *mut hy_engine, seq_out: *mut u64) -> hy_result {
    ffi_panic_boundary! {
        let h = try_ref(engine, "engine")?;
        let out = if seq_out.is_null() { None } else { Some(try_out(seq_out, "seq_out")?) };
        let seq = h.durable()?.flush()?;
        if let Some(out) = out {
            out.set(seq);
        }
        Ok(())
    }
}

/// Free an engine (a durable one flushes and closes its journal first). NULL is accepted and
/// ignored. No other call on this handle may be in
/// progress or follow; `hy_subscription` handles made from it stay valid (they receive no more).
#[no_mangle]
pub extern "C" fn hy_engine_free(engine: *mut hy_engine) {
    let _ = ffi_panic_boundary! {
        if !engine.is_null() {
            // SAFETY: made by `hy_engine::boxed` (Box::into_raw); the caller frees it once.
            drop(unsafe { Box::from_raw(engine) });
        }
        Ok(())
    };
}

/// The engine's current time (Unix seconds) into `*now_out` (not NULL): the system clock, or
/// where a manual clock stands. Every rule (windows, hold expiry) is judged against it.
#[no_mangle]
pub extern "C" fn hy_engine_now(engine: *const hy_engine, now_out: *mut hy_timestamp) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        try_out(now_out, "now_out")?.set(e.now().0);
        Ok(())
    }
}

/// Move a manual clock forward by `seconds` (0 ..= 366 days) and process what fell due
/// (expired holds, release lotteries). HY_NOT_MANUAL_CLOCK on a system-clock engine.
#[no_mangle]
pub extern "C" fn hy_engine_advance_clock(engine: *mut hy_engine, seconds: i64) -> hy_result {
    ffi_panic_boundary! {
        try_engine(engine)?.advance_clock(seconds)?;
        Ok(())
    }
}

/// Move a manual clock to `t` (Unix seconds) and process what fell due. A manual clock never
/// goes back: an earlier `t` is `HY_INVALID_ARGUMENT` and changes nothing; `t` equal to now
/// is allowed and moves nothing.
#[no_mangle]
pub extern "C" fn hy_engine_advance_to(engine: *mut hy_engine, t: hy_timestamp) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        e.advance_to(instant_from(t, "t")?)?;
        Ok(())
    }
}

/// Process everything due now: expire holds and draw release lotteries. Call it about once a
/// second on the system clock. `*expired_out` (may be NULL) receives how many holds expired.
#[no_mangle]
pub extern "C" fn hy_engine_tick(engine: *mut hy_engine, expired_out: *mut usize) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        // Checked before the tick: a refused output must not come back after holds expired.
        let out = if expired_out.is_null() { None } else { Some(try_out(expired_out, "expired_out")?) };
        let n = e.tick();
        if let Some(out) = out {
            out.set(n);
        }
        Ok(())
    }
}

/// Counters: institutions, departments, resources, patients, slots, last event sequence, into
/// the caller's `*stats_out` (not NULL). Cheap (no walk over records); for the journal and
/// subscriber queues see `hy_engine_metrics_json`.
#[no_mangle]
pub extern "C" fn hy_engine_stats(engine: *const hy_engine, stats_out: *mut hy_stats) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(stats_out, "stats_out")?;
        let s = e.stats();
        out.set(hy_stats {
            institutions: s.institutions as u64,
            departments: s.departments as u64,
            resources: s.resources as u64,
            patients: s.patients as u64,
            slots: s.slots as u64,
            last_event_seq: s.last_event_seq,
        });
        Ok(())
    }
}

// ------------------------------------------------------------------ registry

/// Add a hospital or clinic. `name` and `district` are NUL-terminated UTF-8 (1 ..= 200 bytes).
#[no_mangle]
pub extern "C" fn hy_engine_add_institution(
    engine: *mut hy_engine,
    name: *const c_char,
    tier: hy_tier,
    district: *const c_char,
    id_out: *mut hy_institution_id,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(id_out, "id_out")?;
        let (name, district, tier) = (try_str(name, "name")?, try_str(district, "district")?, tier_from(tier)?);
        out.set(e.add_institution(name, tier, district)?.0);
        Ok(())
    }
}

/// Add a department of `specialty` (e.g. "cardiology", shared across institutions to find
/// alternatives) to an institution.
#[no_mangle]
pub extern "C" fn hy_engine_add_department(
    engine: *mut hy_engine,
    institution: hy_institution_id,
    specialty: *const c_char,
    name: *const c_char,
    id_out: *mut hy_department_id,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(id_out, "id_out")?;
        let (specialty, name) = (try_str(specialty, "specialty")?, try_str(name, "name")?);
        out.set(e.add_department(InstitutionId(institution), specialty, name)?.0);
        Ok(())
    }
}

/// Add a bookable resource (doctor, bed, exam device …) to a department. `expert` marks a
/// senior doctor (a larger referral share).
#[no_mangle]
pub extern "C" fn hy_engine_add_resource(
    engine: *mut hy_engine,
    department: hy_department_id,
    kind: hy_resource_kind,
    name: *const c_char,
    expert: bool,
    id_out: *mut hy_resource_id,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(id_out, "id_out")?;
        let (kind, name) = (kind_from(kind)?, try_str(name, "name")?);
        out.set(e.add_resource(DepartmentId(department), kind, name, expert)?.0);
        Ok(())
    }
}

/// Add a booking channel (idempotent by name). "app", "wechat", "web", "kiosk", "phone" and
/// "clinic" exist from the start.
#[no_mangle]
pub extern "C" fn hy_engine_add_channel(
    engine: *mut hy_engine,
    name: *const c_char,
    id_out: *mut hy_channel_id,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(id_out, "id_out")?;
        out.set(e.add_channel(try_str(name, "name")?)?.0);
        Ok(())
    }
}

/// The id of a channel by name (HY_INVALID_ARGUMENT if there is none).
#[no_mangle]
pub extern "C" fn hy_engine_channel_id(
    engine: *const hy_engine,
    name: *const c_char,
    id_out: *mut hy_channel_id,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(id_out, "id_out")?;
        out.set(e.channel_id(try_str(name, "name")?)?.0);
        Ok(())
    }
}

// ------------------------------------------------------------------ master patient index

/// Register a new patient in the master patient index; on HY_OK `*id_out` (not NULL) is the
/// new id (ids count up from 1). Link cards to it with `hy_engine_link_card`.
/// HY_CAPACITY_EXCEEDED when the index is full.
#[no_mangle]
pub extern "C" fn hy_engine_register_patient(
    engine: *mut hy_engine,
    id_out: *mut hy_patient_id,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(id_out, "id_out")?;
        out.set(e.register_patient()?.0);
        Ok(())
    }
}

/// Most patients one `hy_engine_register_patients` / `hy_engine_register_patients_with_cards`
/// call registers (a province registers its residents a batch at a time).
pub const HY_REGISTER_BATCH_MAX: usize = 1_000_000;
const _: () = assert!(HY_REGISTER_BATCH_MAX == haoyuan_core::REGISTER_BATCH_MAX);

/// Register `n` new patients in one call (0 ..= HY_REGISTER_BATCH_MAX), all or nothing. Their
/// ids are contiguous, in order: `*first_out` … `*first_out + n - 1`. `ids_out` (NULL, or an
/// array of `n` entries) receives each id; `*first_out` (may be NULL) the first, or 0 (no id)
/// when `n` is 0. `n` above HY_REGISTER_BATCH_MAX is HY_INVALID_ARGUMENT; beyond the engine's
/// patient limit HY_CAPACITY_EXCEEDED; either way no one is registered and the outputs are
/// untouched. One durability wait for the whole batch. (Rust: `Engine::register_patients`;
/// Python: `Engine.register_patients`.)
#[no_mangle]
pub extern "C" fn hy_engine_register_patients(
    engine: *mut hy_engine,
    n: usize,
    ids_out: *mut hy_patient_id,
    first_out: *mut hy_patient_id,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        if n > HY_REGISTER_BATCH_MAX {
            set_last_error(format!("n {n} is above the limit of {HY_REGISTER_BATCH_MAX} patients per call"));
            return Err(hy_result::HY_INVALID_ARGUMENT);
        }
        let ids_dst = if ids_out.is_null() { None } else { Some(try_slice_mut(ids_out, n, HY_REGISTER_BATCH_MAX, "ids_out")?) };
        let first = if first_out.is_null() { None } else { Some(try_out(first_out, "first_out")?) };
        let ids = e.register_patients(n)?;
        if let Some(dst) = ids_dst {
            for (d, id) in dst.iter_mut().zip(&ids) {
                *d = id.0;
            }
        }
        if let Some(first) = first {
            first.set(ids.first().map_or(0, |id| id.0));
        }
        Ok(())
    }
}

/// Register one new patient per card number, each with that card (`card_type`, 1 ..= 64 bytes)
/// linked: `numbers` is an array of `n` NUL-terminated numbers (0 ..= HY_REGISTER_BATCH_MAX;
/// NULL allowed when `n` is 0) and `ids_out` an array of `n` entries that receives the new ids,
/// contiguous and in the order of `numbers` (`ids_out[i]` holds `numbers[i]`). All or nothing:
/// a malformed number or a number given twice in the batch is HY_INVALID_ARGUMENT, a card that
/// already belongs to someone is HY_CARD_TAKEN, `n` above HY_REGISTER_BATCH_MAX is
/// HY_INVALID_ARGUMENT; then no one is registered and `ids_out` is untouched. Numbers are
/// hashed and masked as in `hy_engine_link_card`: no message holds one. The arrays are read or
/// written during the call only. (Rust: `Engine::register_patients_with_cards`; Python:
/// `Engine.register_patients_with_cards`.)
#[no_mangle]
pub extern "C" fn hy_engine_register_patients_with_cards(
    engine: *mut hy_engine,
    card_type: *const c_char,
    numbers: *const *const c_char,
    n: usize,
    ids_out: *mut hy_patient_id,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let card_type = try_str(card_type, "card_type")?;
        let raw = try_slice(numbers, n, HY_REGISTER_BATCH_MAX, "numbers")?;
        let dst = try_slice_mut(ids_out, n, HY_REGISTER_BATCH_MAX, "ids_out")?;
        let numbers = card_numbers(raw)?;
        let ids = e.register_patients_with_cards(card_type, &numbers)?;
        for (d, id) in dst.iter_mut().zip(&ids) {
            *d = id.0;
        }
        Ok(())
    }
}

/// The card numbers of a batch as strings; an error names the entry (`numbers[i]`), never the
/// number.
fn card_numbers<'a>(raw: &[*const c_char]) -> Result<Vec<&'a str>, hy_result> {
    raw.iter()
        .enumerate()
        .map(|(i, &p)| {
            try_str(p, "numbers").inspect_err(|_| {
                let detail = crate::error::LAST_ERROR.with(|m| m.borrow().clone());
                let rest = detail.strip_prefix("numbers").unwrap_or(&detail);
                set_last_error(format!("numbers[{i}]{rest}"));
            })
        })
        .collect()
}

/// Link a card (type + number, each 1 ..= 64 bytes) to a patient. HY_CARD_TAKEN if it belongs
/// to someone else; linking it again to its owner is HY_OK. The engine keeps only a keyed digest
/// and the masked number (`4419**********1234`): no message, event or record holds the number.
#[no_mangle]
pub extern "C" fn hy_engine_link_card(
    engine: *mut hy_engine,
    patient: hy_patient_id,
    card_type: *const c_char,
    number: *const c_char,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let (card_type, number) = (try_str(card_type, "card_type")?, try_str(number, "number")?);
        e.link_card(PatientId(patient), card_type, number)?;
        Ok(())
    }
}

/// The patient a card belongs to (following merges); HY_NOT_FOUND if no one has it.
#[no_mangle]
pub extern "C" fn hy_engine_find_patient_by_card(
    engine: *const hy_engine,
    card_type: *const c_char,
    number: *const c_char,
    id_out: *mut hy_patient_id,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(id_out, "id_out")?;
        let (card_type, number) = (try_str(card_type, "card_type")?, try_str(number, "number")?);
        match e.find_patient_by_card(card_type, number)? {
            Some(p) => out.set(p.0),
            None => {
                // The number is personal information: never in a message.
                set_last_error(format!("no patient holds card {card_type}:{}", mask_card_number(number)));
                return Err(hy_result::HY_NOT_FOUND);
            }
        }
        Ok(())
    }
}

/// Merge `merged` into `survivor` (one person registered twice): cards, bookings, referrals and
/// no-shows move to the survivor, and `merged` resolves to it from now on.
#[no_mangle]
pub extern "C" fn hy_engine_merge_patients(
    engine: *mut hy_engine,
    survivor: hy_patient_id,
    merged: hy_patient_id,
) -> hy_result {
    ffi_panic_boundary! {
        try_engine(engine)?.merge_patients(PatientId(survivor), PatientId(merged))?;
        Ok(())
    }
}

/// A patient's record as one JSON object (cards, no-shows in the counting window, suspension,
/// active bookings, referrals), NUL-terminated into `buf`. `*written` is its length without the
/// NUL; on HY_BUFFER_TOO_SMALL it is the buffer size needed and `buf` is untouched.
#[no_mangle]
pub extern "C" fn hy_engine_patient_record_json(
    engine: *const hy_engine,
    patient: hy_patient_id,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        // Checked before the work; written by `copy_out`.
        try_out(written, "written")?;
        let record = e.patient_record(PatientId(patient))?;
        copy_out_json(&record, "record", buf, len, written)
    }
}

/// Replace the running policy from now on: `policy` is its whole text in `format`
/// (HY_POLICY_JSON or HY_POLICY_TOML; unspecified fields take their defaults, not the running
/// policy's — read that with `hy_engine_policy_json` to change a part). Journaled by a durable
/// engine and replayed at the same point. Never retroactive: published slots keep their pools
/// and overbooking places, holds their expiry, suspensions their end; limits, windows and the
/// other rules read at decision time apply from now on. HY_NULL_PARAMETER for NULL text;
/// HY_INVALID_POLICY (nothing changes) for malformed text, a policy that fails validation, or
/// one that regroups the channel quotas (their number and channels are fixed for an engine's
/// life).
#[no_mangle]
pub extern "C" fn hy_engine_set_policy(
    engine: *mut hy_engine,
    policy: *const c_char,
    format: hy_policy_format,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        if policy.is_null() {
            set_last_error("policy is NULL: pass the whole policy text".to_string());
            return Err(hy_result::HY_NULL_PARAMETER);
        }
        let policy = policy_from(policy, format)?;
        e.set_policy(policy)?;
        Ok(())
    }
}

/// No-show-driven overbooking: set each resource's overbooking ratio from its measured no-show
/// rate so that a full session overflows (more patients come than it has places) with
/// probability at most the target. `calibration` is JSON `{"overflow_risk": 0.05,
/// "min_outcomes": 50, "max_ratio": 0.5}` (each field optional, these are the defaults); NULL
/// means all defaults. One journaled policy change (none when nothing changed), never
/// retroactive. The report — `{"resources": [{"resource", "outcomes", "no_show_rate",
/// "places", "extra", "overflow_risk", "ratio"}…], "skipped", "policy_changed"}` — is JSON in
/// `*json_out` (free with `hy_string_free`). HY_INVALID_ARGUMENT (nothing changes) for malformed
/// JSON, a risk outside (0, 1) or a max_ratio outside 0 ..= 1; HY_INVALID_POLICY when the policy
/// counts overbooking per slot (`overbooking.spread` must be "session").
#[no_mangle]
pub extern "C" fn hy_engine_calibrate_overbooking_json(
    engine: *mut hy_engine,
    calibration: *const c_char,
    json_out: *mut *mut c_char,
    len_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let (json_out, len_out) = (try_out(json_out, "json_out")?, try_out(len_out, "len_out")?);
        let calibration: OverbookingCalibration = if calibration.is_null() {
            Default::default()
        } else {
            parse_json(try_str(calibration, "calibration")?, "calibration")?
        };
        let report = e.calibrate_overbooking(&calibration)?;
        give_json(&report, "report", json_out, len_out)
    }
}

/// The running policy as JSON, NUL-terminated into `buf`. `*written` is its length without the
/// NUL; on HY_BUFFER_TOO_SMALL it is the buffer size needed and `buf` is untouched.
#[no_mangle]
pub extern "C" fn hy_engine_policy_json(
    engine: *const hy_engine,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        try_out(written, "written")?;
        copy_out_json(e.policy(), "policy", buf, len, written)
    }
}

// FHIR R4 (export, $find/$hold/$book/$cancel, roster import) is in `fhir.rs`.

// ------------------------------------------------------------------ rosters and slots

/// Add a weekly roster template; its slots are created by `hy_engine_publish_rosters_until`.
/// `roster->closed_dates` is read during the call only (at most 4096 dates).
#[no_mangle]
pub extern "C" fn hy_engine_add_roster(
    engine: *mut hy_engine,
    roster: *const hy_roster,
    id_out: *mut hy_roster_id,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(id_out, "id_out")?;
        let roster = roster_from(try_ref(roster, "roster")?)?;
        out.set(e.add_roster(roster)?.0);
        Ok(())
    }
}

/// Publish every roster's slots up to and including `until` (dates already published are
/// skipped). `*created_out` (may be NULL) receives how many slots were created.
#[no_mangle]
pub extern "C" fn hy_engine_publish_rosters_until(
    engine: *mut hy_engine,
    until: hy_date,
    created_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = if created_out.is_null() { None } else { Some(try_out(created_out, "created_out")?) };
        let n = e.publish_rosters_until(Date(until))?;
        if let Some(out) = out {
            out.set(n);
        }
        Ok(())
    }
}

/// Publish `len` slots in one call (a whole city-day is one call), all or nothing. The new ids
/// are contiguous, in input order: `*first_out` … `*first_out + len - 1`. `specs` is read during
/// the call only; `len` at most HY_ARRAY_MAX (NULL allowed when `len` is 0).
/// HY_CAPACITY_EXCEEDED, nothing published, when a department-day would hold more than
/// 1,000,000,000 places (capacities as published, counted over every call).
#[no_mangle]
pub extern "C" fn hy_engine_publish_slots(
    engine: *mut hy_engine,
    specs: *const hy_slot_spec,
    len: usize,
    first_out: *mut hy_slot_id,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(first_out, "first_out")?;
        let specs: Vec<SlotSpec> = try_slice(specs, len, HY_ARRAY_MAX, "specs")?.iter().map(SlotSpec::from).collect();
        out.set(e.publish_slots(&specs)?.start.0);
        Ok(())
    }
}

/// A published slot: places and takings per pool, times, whether it is closed, copied into
/// the caller's `*info_out` (not NULL). HY_NOT_FOUND for an unknown slot id.
#[no_mangle]
pub extern "C" fn hy_engine_slot(
    engine: *const hy_engine,
    slot: hy_slot_id,
    info_out: *mut hy_slot_info,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = try_out(info_out, "info_out")?;
        let s = e.slot(SlotId(slot))?;
        out.set(hy_slot_info {
            id: s.id.0,
            resource: s.resource.0,
            department: s.department.0,
            institution: s.institution.0,
            date: s.date.0,
            start_min: s.start_min,
            end_min: s.end_min,
            capacity: s.capacity,
            pool_places: s.pool_places.to_array(),
            pool_taken: s.pool_taken.to_array(),
            closed: s.closed,
            starts_at: s.starts_at.0,
            ends_at: s.ends_at.0,
        });
        Ok(())
    }
}

/// Suspend a resource's session (停诊) on `date`: the whole day when `time_start_min` and
/// `time_end_min` are both 0, else the segments starting in [start, end). Its slots close and
/// every hold and booking on them becomes HY_BOOKING_PROVIDER_CANCELLED (never counted against
/// the patient; `cancelled` events say whom to notify). `*cancelled_out` (may be NULL) receives
/// how many were cancelled.
#[no_mangle]
pub extern "C" fn hy_engine_suspend_session(
    engine: *mut hy_engine,
    resource: hy_resource_id,
    date: hy_date,
    time_start_min: u16,
    time_end_min: u16,
    cancelled_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let out = if cancelled_out.is_null() { None } else { Some(try_out(cancelled_out, "cancelled_out")?) };
        let time = time_of_day(time_start_min, time_end_min)?;
        let report = e.suspend_session(ResourceId(resource), Date(date), time)?;
        if let Some(out) = out {
            out.set(report.cancelled.len());
        }
        Ok(())
    }
}

// ------------------------------------------------------------------ availability

/// Free slots matching `query`, earliest first, into the caller's array `out` of `cap` entries
/// (1 ..= HY_ARRAY_MAX). At most min(query->limit or cap, cap) are written; `*written_out` says
/// how many.
#[no_mangle]
pub extern "C" fn hy_engine_find_free_slots(
    engine: *const hy_engine,
    query: *const hy_availability_query,
    out: *mut hy_free_slot,
    cap: usize,
    written_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let written = try_out(written_out, "written_out")?;
        if cap == 0 {
            set_last_error("cap must be at least 1".into());
            return Err(hy_result::HY_INVALID_ARGUMENT);
        }
        let dst = try_slice_mut(out, cap, HY_ARRAY_MAX, "out")?;
        let q = query_from(try_ref(query, "query")?, cap)?;
        let free = e.find_free_slots(&q)?;
        let n = free.len().min(dst.len());
        for (d, f) in dst.iter_mut().zip(&free) {
            *d = f.into();
        }
        written.set(n);
        Ok(())
    }
}

/// Free and total places of a department for each day of `date_from ..= date_to` (at most 366
/// days), into `out` (`cap` entries). HY_BUFFER_TOO_SMALL, with the number of days needed in
/// `*written_out`, if `cap` is less than the number of days.
#[no_mangle]
pub extern "C" fn hy_engine_free_places_by_day(
    engine: *const hy_engine,
    department: hy_department_id,
    date_from: hy_date,
    date_to: hy_date,
    out: *mut hy_day_availability,
    cap: usize,
    written_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let written = try_out(written_out, "written_out")?;
        let days = e.free_places_by_day(DepartmentId(department), Date(date_from), Date(date_to))?;
        if days.len() > cap {
            set_last_error(format!("{} days need {} entries; cap is {cap}", days.len(), days.len()));
            written.set(days.len());
            return Err(hy_result::HY_BUFFER_TOO_SMALL);
        }
        let dst = try_slice_mut(out, cap, HY_ARRAY_MAX, "out")?;
        for (d, a) in dst.iter_mut().zip(&days) {
            *d = hy_day_availability { date: a.date.0, free: a.free, places: a.places };
        }
        written.set(days.len());
        Ok(())
    }
}

/// Departments of the same specialty and district at other institutions with free places in
/// `date_from ..= date_to`, earliest free place first and, among equally early ones, least
/// loaded that day first (load spreading), into `out` (`cap` entries, at most 1000);
/// `*written_out` says how many.
#[no_mangle]
pub extern "C" fn hy_engine_alternatives(
    engine: *const hy_engine,
    department: hy_department_id,
    date_from: hy_date,
    date_to: hy_date,
    out: *mut hy_alternative,
    cap: usize,
    written_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let written = try_out(written_out, "written_out")?;
        let dst = try_slice_mut(out, cap, 1000, "out")?;
        let alts = e.alternatives(DepartmentId(department), Date(date_from), Date(date_to), cap as u32)?;
        let n = alts.len().min(dst.len());
        for (d, a) in dst.iter_mut().zip(&alts) {
            *d = hy_alternative {
                department: a.department.0,
                institution: a.institution.0,
                tier: tier_to(a.tier),
                earliest: (&a.earliest).into(),
                load: a.load,
            };
        }
        written.set(n);
        Ok(())
    }
}

/// The live load board of a specialty in a district (names as in `hy_availability_query`),
/// least expected wait first, into `out` (`cap` entries); `*written_out` says how many. One row
/// per department of that specialty at an institution of that district, for the current
/// session. HY_INVALID_ARGUMENT for an unknown specialty or district; HY_BUFFER_TOO_SMALL,
/// with the number of rows needed in `*written_out`, if `cap` is less than that. Reads only:
/// any thread, any time.
#[no_mangle]
pub extern "C" fn hy_engine_load_board(
    engine: *const hy_engine,
    specialty: *const c_char,
    district: *const c_char,
    out: *mut hy_board_row,
    cap: usize,
    written_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let specialty = try_str(specialty, "specialty")?;
        let district = try_str(district, "district")?;
        let written = try_out(written_out, "written_out")?;
        let dst = try_slice_mut(out, cap, HY_ARRAY_MAX, "out")?;
        let board = e.load_board(specialty, district)?;
        if board.rows.len() > cap {
            set_last_error(format!("the board has {} rows; cap is {cap}", board.rows.len()));
            written.set(board.rows.len());
            return Err(hy_result::HY_BUFFER_TOO_SMALL);
        }
        for (d, r) in dst.iter_mut().zip(&board.rows) {
            *d = r.into();
        }
        written.set(board.rows.len());
        Ok(())
    }
}

/// Recommended departments and doctors for a complaint or a specialty (Qingdao), best first,
/// into `out` (`cap` entries, at most `query->limit` when it is not 0); `*written_out` says how
/// many. Ranking: with a referral, where it is valid first; then for a routine complaint
/// community clinics first, for an urgent one the earliest place, for a possible emergency the
/// highest tier (reason HY_RECOMMEND_REASON_EMERGENCY: go to an emergency department now);
/// within that the patient's district first, then the earliest free place, then the expected
/// wait; ties by ids. One row per department; full departments are left out.
/// HY_INVALID_ARGUMENT: both or neither of complaint and specialty (neither is allowed with a
/// referral), a complaint no keyword matches, an unknown specialty or district, a referral
/// without its patient, a range over HY_RECOMMEND_DAYS_MAX days; HY_NOT_FOUND for an unknown
/// patient; HY_REFERRAL_INVALID for a referral that is not the patient's, used, or lapsed.
/// Reads only: any thread, any time.
#[no_mangle]
pub extern "C" fn hy_engine_recommend(
    engine: *const hy_engine,
    query: *const hy_recommend_query,
    out: *mut hy_recommendation,
    cap: usize,
    written_out: *mut usize,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let q = try_ref(query, "query")?;
        let written = try_out(written_out, "written_out")?;
        let dst = try_slice_mut(out, cap, HY_ARRAY_MAX, "out")?;
        if cap == 0 {
            set_last_error("cap must be at least 1".to_string());
            return Err(hy_result::HY_INVALID_ARGUMENT);
        }
        let rows = e.recommend(&recommend_query_from(q, cap)?)?;
        for (d, r) in dst.iter_mut().zip(&rows) {
            *d = r.into();
        }
        written.set(rows.len().min(cap));
        Ok(())
    }
}

/// Replace the complaint table `hy_engine_recommend` looks complaints up in with a host's own,
/// given as JSON text (UTF-8, NUL-terminated; the format is in the Rust docs of
/// `ComplaintTable`: `{"complaints": [{"keywords": [...], "specialties": [...], "urgency":
/// "routine" | "urgent" | "emergency"}]}`). Every engine starts with the bundled example
/// table. HY_INVALID_ARGUMENT names what is wrong; the old table is kept then. Configuration,
/// not state: not journaled, so set it again after reopening a durable engine.
#[no_mangle]
pub extern "C" fn hy_engine_set_complaint_table(
    engine: *mut hy_engine,
    json: *const c_char,
) -> hy_result {
    ffi_panic_boundary! {
        let e = try_engine(engine)?;
        let table = ComplaintTable::from_json(try_str(json, "json")?)?;
        e.set_complaint_table(table);
        Ok(())
    }
}

// ------------------------------------------------------------------ dates

/// The `hy_date` of a calendar day (HY_INVALID_DATE if there is no such day in 1970 ..= 2199).
#[no_mangle]
pub extern "C" fn hy_date_from_ymd(
    year: i32,
    month: u32,
    day: u32,
    date_out: *mut hy_date,
) -> hy_result {
    ffi_panic_boundary! {
        let out = try_out(date_out, "date_out")?;
        match Date::from_ymd(year, month, day) {
            Ok(d) => out.set(d.0),
            Err(_) => {
                set_last_error(format!("{year:04}-{month:02}-{day:02} is not a date in 1970 ..= 2199"));
                return Err(hy_result::HY_INVALID_DATE);
            }
        }
        Ok(())
    }
}

/// Parse "YYYY-MM-DD" into a `hy_date`: `HY_INVALID_ARGUMENT` if it is no calendar date in
/// 1970-01-01 ..= 2199-12-31 (core's `Date::parse`, as in Rust and Python).
#[no_mangle]
pub extern "C" fn hy_date_parse(text: *const c_char, date_out: *mut hy_date) -> hy_result {
    ffi_panic_boundary! {
        let out = try_out(date_out, "date_out")?;
        let text = try_str(text, "text")?;
        // Core's answer, as in Rust and Python.
        out.set(Date::parse(text)?.0);
        Ok(())
    }
}

/// The instant of local `minute` (0 ..= 1440) on `date` in a region `utc_offset_s` from UTC.
#[no_mangle]
pub extern "C" fn hy_timestamp_from_local(
    date: hy_date,
    minute: u16,
    utc_offset_s: i32,
    timestamp_out: *mut hy_timestamp,
) -> hy_result {
    ffi_panic_boundary! {
        let out = try_out(timestamp_out, "timestamp_out")?;
        out.set(Timestamp::try_from_local(Date(date), minute, utc_offset_s)?.0);
        Ok(())
    }
}
