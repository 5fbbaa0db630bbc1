//! The bulk forms: NumPy arrays in, NumPy arrays out, one GIL release per call and no Python
//! loop on the hot path. Inputs are copied out of NumPy before the GIL is released, so another
//! Python thread changing an array cannot race with the engine reading it.
//!
//! The mutating bulk calls (`book_many`, `hold_many`, `lifecycle_many`) run their rows
//! pipelined (core `pipeline.rs`) and wait once, at the end, for all of them to be durable: on a
//! durable engine a call is a few journal batches and fsyncs, not one per row. Their outcomes
//! are returned only after that wait; a journal failure raises `Durability` instead (then no
//! row's outcome is acknowledged).

use crate::errors::{invalid, HyErr};
use crate::runtime::{pool, run, run_parallel};
use haoyuan::{
    AvailabilityQuery, BookingId, BookingState, ChannelId, Date, DepartmentId, Engine,
    LifecycleAction, PatientId, Pool, Request, ResourceId, SlotId, SlotSpec,
};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;
use std::collections::HashSet;

/// Most rows one bulk call takes (a bound on one call's memory: ~10 M rows ≈ a city-year of
/// bookings in a few calls).
pub const BULK_ROWS_MAX: usize = 10_000_000;

fn rows<T: numpy::Element + Copy>(name: &str, a: &PyReadonlyArray1<'_, T>) -> PyResult<Vec<T>> {
    let v: Vec<T> = match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().iter().copied().collect(),
    };
    if v.len() > BULK_ROWS_MAX {
        return Err(invalid(format!(
            "{name} has {} rows; at most {BULK_ROWS_MAX} per call",
            v.len()
        )));
    }
    Ok(v)
}

fn same_len(lens: &[(&str, usize)]) -> PyResult<usize> {
    let n = lens[0].1;
    if let Some((name, len)) = lens.iter().find(|(_, l)| *l != n) {
        return Err(invalid(format!("array {name} has {len} rows, {} has {n}", lens[0].0)));
    }
    Ok(n)
}

pub fn slot_specs(
    resource: &PyReadonlyArray1<'_, u32>,
    date: &PyReadonlyArray1<'_, i32>,
    start_min: &PyReadonlyArray1<'_, u16>,
    end_min: &PyReadonlyArray1<'_, u16>,
    capacity: &PyReadonlyArray1<'_, u16>,
) -> PyResult<Vec<SlotSpec>> {
    let (r, d, s, e, c) = (
        rows("resource", resource)?,
        rows("date", date)?,
        rows("start_min", start_min)?,
        rows("end_min", end_min)?,
        rows("capacity", capacity)?,
    );
    let n = same_len(&[
        ("resource", r.len()),
        ("date", d.len()),
        ("start_min", s.len()),
        ("end_min", e.len()),
        ("capacity", c.len()),
    ])?;
    check_days("date", &d)?;
    Ok((0..n)
        .map(|i| SlotSpec {
            resource: ResourceId(r[i]),
            date: Date(d[i]),
            start_min: s[i],
            end_min: e[i],
            capacity: c[i],
        })
        .collect())
}

/// Day numbers must name dates of the engine's calendar: `InvalidArgument` naming the first that
/// does not, as a `datetime.date` argument outside it is.
fn check_days(name: &str, days: &[i32]) -> PyResult<()> {
    match days.iter().find(|&&d| !Date(d).is_valid()) {
        Some(d) => Err(invalid(format!(
            "{name} has day number {d}, outside 0 (1970-01-01) ..= 2199-12-31"
        ))),
        None => Ok(()),
    }
}

/// A bulk booking's outcome: the booking id and code 0, or id 0 (never a valid id) and the
/// error's code.
fn code(r: &haoyuan::Result<haoyuan::Booking>) -> (u64, u32) {
    match r {
        Ok(b) => (b.id.0, 0),
        Err(e) => (0, e.code() as u32),
    }
}

/// Booking ids and error codes of a bulk booking, one per row.
pub type BookResult<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u32>>);

pub fn book_many<'py>(
    py: Python<'py>,
    engine: &Engine,
    patient: &PyReadonlyArray1<'py, u32>,
    slot: &PyReadonlyArray1<'py, u32>,
    channel: &PyReadonlyArray1<'py, u16>,
    hold: bool,
    parallel: bool,
) -> PyResult<BookResult<'py>> {
    let (p, s, c) = (rows("patient", patient)?, rows("slot", slot)?, rows("channel", channel)?);
    let n = same_len(&[("patient", p.len()), ("slot", s.len()), ("channel", c.len())])?;
    let one = |e: &Engine, i: usize| {
        let req = Request::new(PatientId(p[i]), SlotId(s[i]), ChannelId(c[i]));
        if hold {
            e.hold(&req)
        } else {
            e.book(&req)
        }
    };
    let out = rows_pipelined(py, engine, n, parallel, |e, i| code(&one(e, i)))?;
    let (ids, codes): (Vec<u64>, Vec<u32>) = out.into_iter().unzip();
    Ok((PyArray1::from_vec(py, ids), PyArray1::from_vec(py, codes)))
}

pub fn lifecycle_many<'py>(
    py: Python<'py>,
    engine: &Engine,
    action: &str,
    booking: &PyReadonlyArray1<'py, u64>,
) -> PyResult<Bound<'py, PyArray1<u32>>> {
    let action = LifecycleAction::from_name(action).map_err(HyErr)?;
    let ids = rows("booking", booking)?;
    let codes = rows_pipelined(py, engine, ids.len(), false, |e, i| {
        code(&e.lifecycle(action, BookingId(ids[i]))).1
    })?;
    Ok(PyArray1::from_vec(py, codes))
}

/// Run `row(engine, i)` for each row `0..n` with the GIL released and durability waits deferred,
/// then wait once for everything they did (core `Engine::book_many` does the same for its own
/// bound of rows; the NumPy calls take more, `BULK_ROWS_MAX`).
///
/// In order on this thread, inside one pipeline scope; or (`parallel`) spread over the worker
/// pool, each row pipelined on its own: a worker's pipeline mark then lasts exactly one row, so
/// a job of another call that the worker steals while waiting can never run under it.
fn rows_pipelined<T: Send>(
    py: Python<'_>,
    engine: &Engine,
    n: usize,
    parallel: bool,
    row: impl Fn(&Engine, usize) -> T + Sync,
) -> PyResult<Vec<T>> {
    let pool = if parallel { Some(pool().map_err(invalid)?) } else { None };
    py.allow_threads(|| {
        let out: Vec<T> = match &pool {
            Some(pool) => pool.install(|| {
                (0..n)
                    .into_par_iter()
                    .map(|i| {
                        let _scope = engine.pipeline_scope();
                        row(engine, i)
                    })
                    .collect()
            }),
            None => {
                let _scope = engine.pipeline_scope();
                (0..n).map(|i| row(engine, i)).collect()
            }
        };
        // One wait for every row: the ticket is taken after the last one returned.
        engine.wait_durable(engine.ticket()).map(|()| out)
    })
    .map_err(|e| PyErr::from(HyErr(e)))
}

pub fn find_free_many<'py>(
    py: Python<'py>,
    engine: &Engine,
    department: &PyReadonlyArray1<'py, u32>,
    date_from: &PyReadonlyArray1<'py, i32>,
    date_to: &PyReadonlyArray1<'py, i32>,
    limit: u32,
) -> PyResult<Bound<'py, PyDict>> {
    let (d, f, t) =
        (rows("department", department)?, rows("date_from", date_from)?, rows("date_to", date_to)?);
    let n = same_len(&[("department", d.len()), ("date_from", f.len()), ("date_to", t.len())])?;
    check_days("date_from", &f)?;
    check_days("date_to", &t)?;
    if limit == 0 || limit as usize * n > BULK_ROWS_MAX * 2 {
        return Err(invalid(format!(
            "limit {limit} × {n} queries must be 1 ..= {} results",
            BULK_ROWS_MAX * 2
        )));
    }
    // Read-only queries: run them in parallel, results kept in row order.
    let found: Vec<Vec<haoyuan::FreeSlot>> = run_parallel(py, || {
        (0..n)
            .into_par_iter()
            .map(|i| {
                engine.find_free_slots(&AvailabilityQuery {
                    limit,
                    ..AvailabilityQuery::department(DepartmentId(d[i]), Date(f[i]), Date(t[i]))
                })
            })
            .collect::<haoyuan::Result<Vec<_>>>()
    })?;
    let total: usize = found.iter().map(Vec::len).sum();
    let (mut query, mut slot, mut date, mut start, mut free, mut starts_at) = (
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
    );
    for (i, list) in found.iter().enumerate() {
        for fs in list {
            query.push(i as u32);
            slot.push(fs.slot.0);
            date.push(fs.date.0);
            start.push(fs.start_min);
            free.push(fs.free);
            starts_at.push(fs.starts_at.0);
        }
    }
    let out = PyDict::new(py);
    out.set_item("query", PyArray1::from_vec(py, query))?;
    out.set_item("slot", PyArray1::from_vec(py, slot))?;
    out.set_item("date", PyArray1::from_vec(py, date))?;
    out.set_item("start_min", PyArray1::from_vec(py, start))?;
    out.set_item("free", PyArray1::from_vec(py, free))?;
    out.set_item("starts_at", PyArray1::from_vec(py, starts_at))?;
    Ok(out)
}

pub fn slot_columns<'py>(
    py: Python<'py>,
    engine: &Engine,
    slots: Option<&PyReadonlyArray1<'py, u32>>,
) -> PyResult<Bound<'py, PyDict>> {
    let ids: Vec<u32> = match slots {
        Some(a) => rows("slots", a)?,
        None => {
            let n = engine.slot_count();
            if n > BULK_ROWS_MAX * 4 {
                return Err(invalid(format!("{n} slots: pass the ids to read in parts")));
            }
            // Slot ids are 1 ..= n (no id is 0).
            (1..=n as u32).collect()
        }
    };
    let infos: Vec<haoyuan::SlotInfo> =
        run(py, || ids.iter().map(|&i| engine.slot(SlotId(i))).collect())?;
    let col = |f: &dyn Fn(&haoyuan::SlotInfo) -> i64| -> Vec<i64> { infos.iter().map(f).collect() };
    let out = PyDict::new(py);
    out.set_item("id", PyArray1::from_vec(py, infos.iter().map(|s| s.id.0).collect::<Vec<u32>>()))?;
    out.set_item(
        "resource",
        PyArray1::from_vec(py, infos.iter().map(|s| s.resource.0).collect::<Vec<u32>>()),
    )?;
    out.set_item(
        "department",
        PyArray1::from_vec(py, infos.iter().map(|s| s.department.0).collect::<Vec<u32>>()),
    )?;
    out.set_item(
        "institution",
        PyArray1::from_vec(py, infos.iter().map(|s| s.institution.0).collect::<Vec<u32>>()),
    )?;
    out.set_item(
        "date",
        PyArray1::from_vec(py, infos.iter().map(|s| s.date.0).collect::<Vec<i32>>()),
    )?;
    out.set_item(
        "start_min",
        PyArray1::from_vec(py, infos.iter().map(|s| s.start_min).collect::<Vec<u16>>()),
    )?;
    out.set_item(
        "end_min",
        PyArray1::from_vec(py, infos.iter().map(|s| s.end_min).collect::<Vec<u16>>()),
    )?;
    out.set_item(
        "capacity",
        PyArray1::from_vec(py, infos.iter().map(|s| s.capacity).collect::<Vec<u16>>()),
    )?;
    out.set_item(
        "places",
        PyArray1::from_vec(py, infos.iter().map(|s| s.pool_places.total()).collect::<Vec<u32>>()),
    )?;
    out.set_item(
        "taken",
        PyArray1::from_vec(py, infos.iter().map(|s| s.pool_taken.total()).collect::<Vec<u32>>()),
    )?;
    out.set_item(
        "referral_places",
        PyArray1::from_vec(
            py,
            infos.iter().map(|s| s.pool_places[Pool::Referral]).collect::<Vec<u16>>(),
        ),
    )?;
    out.set_item(
        "referral_taken",
        PyArray1::from_vec(
            py,
            infos.iter().map(|s| s.pool_taken[Pool::Referral]).collect::<Vec<u16>>(),
        ),
    )?;
    out.set_item(
        "closed",
        PyArray1::from_vec(py, infos.iter().map(|s| s.closed).collect::<Vec<bool>>()),
    )?;
    out.set_item("starts_at", PyArray1::from_vec(py, col(&|s| s.starts_at.0)))?;
    Ok(out)
}

/// Booking states in code order (the `state` column holds indexes into this list).
pub const STATE_NAMES: [&str; 8] = [
    "held",
    "booked",
    "checked_in",
    "fulfilled",
    "expired",
    "cancelled",
    "provider_cancelled",
    "no_show",
];
/// Pools in code order (the `pool` column).
pub const POOL_NAMES: [&str; 4] = ["general", "referral", "quota0", "quota1"];

fn state_code(s: BookingState) -> u8 {
    match s {
        BookingState::Held => 0,
        BookingState::Booked => 1,
        BookingState::CheckedIn => 2,
        BookingState::Fulfilled => 3,
        BookingState::Expired => 4,
        BookingState::Cancelled => 5,
        BookingState::ProviderCancelled => 6,
        BookingState::NoShow => 7,
    }
}

pub fn booking_columns<'py>(
    py: Python<'py>,
    engine: &Engine,
    patients: Option<&PyReadonlyArray1<'py, u32>>,
) -> PyResult<Bound<'py, PyDict>> {
    let who: Vec<u32> = match patients {
        Some(a) => rows("patients", a)?,
        // Patient ids are 1 ..= n (no id is 0).
        None => (1..=engine.stats().patients as u32).collect(),
    };
    let all: Vec<haoyuan::Booking> = run(py, || {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for p in &who {
            // A merged patient resolves to its survivor: the same bookings twice, kept once.
            for b in engine.bookings_of(PatientId(*p))? {
                if seen.insert(b.id) {
                    out.push(b);
                }
            }
            if out.len() > BULK_ROWS_MAX * 4 {
                return Err(haoyuan::Error::CapacityExceeded(
                    "too many bookings for one table: pass patients in parts".into(),
                ));
            }
        }
        Ok(out)
    })?;
    let out = PyDict::new(py);
    out.set_item("id", PyArray1::from_vec(py, all.iter().map(|b| b.id.0).collect::<Vec<u64>>()))?;
    out.set_item(
        "patient",
        PyArray1::from_vec(py, all.iter().map(|b| b.patient.0).collect::<Vec<u32>>()),
    )?;
    out.set_item(
        "slot",
        PyArray1::from_vec(py, all.iter().map(|b| b.slot.0).collect::<Vec<u32>>()),
    )?;
    out.set_item(
        "department",
        PyArray1::from_vec(py, all.iter().map(|b| b.department.0).collect::<Vec<u32>>()),
    )?;
    out.set_item(
        "date",
        PyArray1::from_vec(py, all.iter().map(|b| b.date.0).collect::<Vec<i32>>()),
    )?;
    out.set_item(
        "channel",
        PyArray1::from_vec(py, all.iter().map(|b| b.channel.0).collect::<Vec<u16>>()),
    )?;
    out.set_item(
        "state",
        PyArray1::from_vec(py, all.iter().map(|b| state_code(b.state)).collect::<Vec<u8>>()),
    )?;
    out.set_item(
        "pool",
        PyArray1::from_vec(py, all.iter().map(|b| b.pool as u8).collect::<Vec<u8>>()),
    )?;
    out.set_item(
        "referral",
        PyArray1::from_vec(
            py,
            all.iter().map(|b| b.referral.map_or(-1, |r| r.0 as i64)).collect::<Vec<i64>>(),
        ),
    )?;
    out.set_item(
        "offer",
        PyArray1::from_vec(
            py,
            all.iter().map(|b| b.offer.map_or(-1, |o| o.0 as i64)).collect::<Vec<i64>>(),
        ),
    )?;
    out.set_item(
        "created_at",
        PyArray1::from_vec(py, all.iter().map(|b| b.created_at.0).collect::<Vec<i64>>()),
    )?;
    out.set_item(
        "expires_at",
        PyArray1::from_vec(py, all.iter().map(|b| b.expires_at.0).collect::<Vec<i64>>()),
    )?;
    out.set_item(
        "starts_at",
        PyArray1::from_vec(py, all.iter().map(|b| b.starts_at.0).collect::<Vec<i64>>()),
    )?;
    Ok(out)
}
