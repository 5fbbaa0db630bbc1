//! Bindings of the policy simulator (`haoyuan-sim`). The simulator's inputs and outputs are
//! serde values, so they cross into Python as plain dicts (and back): `haoyuan.sim` (the Python
//! side) describes regions, demand and policies as dicts and analyses the result dicts.
//!
//! The run itself is entirely Rust with the GIL released; the GIL is taken back only to report
//! progress (at most every 50 ms) and to call a user's custom-policy hooks, if any. The run goes
//! on a helper thread while the calling thread watches for Ctrl-C (see [`interruptible`]).

use crate::args::{int, int_named, Float};
use crate::convert::py_to_json;
use crate::errors::{invalid, HyErr};
use crate::policy::Policy;
use crate::runtime::pool;
use haoyuan_sim::{
    self as sim, ChoiceContext, DemandSpec, Offer, RegionSpec, SimHooks, SimPolicy, SimResult,
    Window,
};
use haoyuan_sim::{Arrival, Recorded, ARRIVALS_MAX};
use numpy::{PyArray1, PyReadonlyArray1};
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn from_py<T: DeserializeOwned>(what: &str, ob: &Bound<'_, PyAny>) -> PyResult<T> {
    let text = match ob.downcast::<PyString>() {
        Ok(s) => s.to_cow()?.into_owned(),
        Err(_) => py_to_json(ob)?,
    };
    serde_json::from_str(&text).map_err(|e| invalid(format!("{what}: {e}")))
}

fn to_py<'py, T: Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyAny>> {
    // Through JSON text so that f32 fields keep their short form (see `Policy.to_dict`).
    let text = serde_json::to_string(v).map_err(|e| invalid(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}

fn region_arg(ob: Option<&Bound<'_, PyAny>>) -> PyResult<RegionSpec> {
    let Some(ob) = ob.filter(|o| !o.is_none()) else { return Ok(RegionSpec::small()) };
    if let Ok(name) = ob.extract::<String>() {
        match name.as_str() {
            "dongguan" => return Ok(RegionSpec::dongguan()),
            "small" => return Ok(RegionSpec::small()),
            _ if name.trim_start().starts_with('{') => {}
            _ => {
                return Err(invalid(format!(
                    "unknown region preset {name:?}; expected dongguan or small"
                )))
            }
        }
    }
    let r: RegionSpec = from_py("region", ob)?;
    r.validate().map_err(HyErr)?;
    Ok(r)
}

fn demand_arg(ob: Option<&Bound<'_, PyAny>>) -> PyResult<DemandSpec> {
    let Some(ob) = ob.filter(|o| !o.is_none()) else { return Ok(DemandSpec::default()) };
    if let Ok(name) = ob.extract::<String>() {
        match name.as_str() {
            "dongguan" => return Ok(DemandSpec::dongguan()),
            "default" => return Ok(DemandSpec::default()),
            _ if name.trim_start().starts_with('{') => {}
            _ => {
                return Err(invalid(format!(
                    "unknown demand preset {name:?}; expected dongguan or default"
                )))
            }
        }
    }
    let d: DemandSpec = from_py("demand", ob)?;
    d.validate().map_err(HyErr)?;
    Ok(d)
}

/// A simulated policy: a dict of `SimPolicy` (`engine`, `unified_pool`, `alternatives`,
/// `overbooking_targets`, `no_show_overbooking` …), a
/// `haoyuan.Policy` (the engine's rules on a unified pool), `"unified"` or `"islands"`.
fn policy_arg(ob: Option<&Bound<'_, PyAny>>) -> PyResult<SimPolicy> {
    let Some(ob) = ob.filter(|o| !o.is_none()) else { return Ok(SimPolicy::default()) };
    if let Ok(p) = ob.downcast::<Policy>() {
        return Ok(SimPolicy { engine: p.get().inner.clone(), ..SimPolicy::default() });
    }
    if let Ok(name) = ob.extract::<String>() {
        match name.as_str() {
            "unified" => return Ok(SimPolicy::default()),
            "islands" => return Ok(SimPolicy::islands()),
            _ if name.trim_start().starts_with('{') => {}
            _ => {
                return Err(invalid(format!(
                    "unknown policy preset {name:?}; expected unified or islands"
                )))
            }
        }
    }
    let p: SimPolicy = from_py("policy", ob)?;
    p.validate().map_err(HyErr)?;
    Ok(p)
}

/// The simulator's progress callback: calls a Python `(done, total)` at most every 50 ms (and
/// at the end), and stops the run — at the next simulated day — once the callback has raised or
/// the host was interrupted (`stop`). The first exception is kept and re-raised after the run.
struct ProgressSink {
    callback: Option<Py<PyAny>>,
    last: Mutex<Option<Instant>>,
    error: Mutex<Option<PyErr>>,
    stop: AtomicBool,
}

impl ProgressSink {
    fn new(callback: Option<Py<PyAny>>) -> Self {
        ProgressSink {
            callback,
            last: Mutex::new(None),
            error: Mutex::new(None),
            stop: AtomicBool::new(false),
        }
    }

    fn report(&self, done: u64, total: u64) -> haoyuan::Result<()> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(haoyuan::Error::invalid("the simulation was interrupted"));
        }
        let Some(cb) = &self.callback else { return Ok(()) };
        {
            let mut last = self.last.lock();
            let due = last.is_none_or(|t| t.elapsed() >= Duration::from_millis(50));
            if !due && done < total {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        Python::with_gil(|py| match cb.call1(py, (done, total)) {
            Ok(_) => Ok(()),
            Err(e) => {
                let msg = e.to_string();
                self.error.lock().get_or_insert(e);
                self.stop.store(true, Ordering::Relaxed);
                Err(haoyuan::Error::invalid(format!("the progress callback raised: {msg}")))
            }
        })
    }

    fn finish<T>(self, r: PyResult<T>) -> PyResult<T> {
        match self.error.into_inner() {
            Some(e) => Err(e),
            None => r,
        }
    }
}

/// Runs `work` on a helper thread, the GIL released, while the calling thread checks for signals
/// every 50 ms: CPython runs signal handlers (Ctrl-C's KeyboardInterrupt) only on the main thread
/// and only when it executes Python, which a GIL-released run never does. A raised exception
/// stops the run through `sink` at its next simulated day and is what the call raises.
fn interruptible<T: Send>(
    py: Python<'_>,
    sink: &ProgressSink,
    work: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<()>(1);
    // In a mutex only to be shareable with the GIL-released closure (a Receiver is not Sync).
    let done_rx = Mutex::new(done_rx);
    std::thread::scope(|scope| {
        let handle = scope.spawn(move || {
            let out = work();
            let _ = done_tx.send(());
            out
        });
        loop {
            let finished = py.allow_threads(|| {
                !matches!(
                    done_rx.lock().recv_timeout(Duration::from_millis(50)),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                )
            });
            if finished {
                break;
            }
            if let Err(e) = py.check_signals() {
                sink.stop.store(true, Ordering::Relaxed);
                sink.error.lock().get_or_insert(e);
            }
        }
        py.allow_threads(|| handle.join()).map_err(|_| {
            pyo3::exceptions::PyRuntimeError::new_err("the simulation thread panicked")
        })
    })
}

fn window_arg(days: u32, warmup_days: Option<u32>) -> Window {
    Window { days, warmup_days }
}

/// A custom policy written in Python: an object with `choose(ctx, offers) -> int | None` and
/// optionally `overbook(ctx, offer, booked, capacity) -> bool` (dicts in, as the simulator's
/// `ChoiceContext` and `Offer`). An exception stops the run and is re-raised.
struct PyHooks {
    obj: Py<PyAny>,
    has_choose: bool,
    has_overbook: bool,
    error: Mutex<Option<PyErr>>,
}

impl PyHooks {
    fn fail(&self, e: PyErr) -> haoyuan::Error {
        let msg = e.to_string();
        self.error.lock().get_or_insert(e);
        haoyuan::Error::InvalidArgument(format!("custom policy hook raised: {msg}"))
    }
}

impl SimHooks for PyHooks {
    fn choose(&self, ctx: &ChoiceContext, offers: &[Offer]) -> haoyuan::Result<Option<usize>> {
        if !self.has_choose {
            return Ok(Some(0));
        }
        Python::with_gil(|py| {
            let call = || -> PyResult<Option<usize>> {
                let list = PyList::empty(py);
                for o in offers {
                    list.append(to_py(py, o)?)?;
                }
                let r =
                    self.obj.call_method1(py, "choose", (to_py(py, ctx)?, list))?.into_bound(py);
                if r.is_none() {
                    return Ok(None);
                }
                let i = int_named::<i64>(&r, "choose's return value")?;
                match usize::try_from(i) {
                    Ok(i) if i < offers.len() => Ok(Some(i)),
                    _ => Err(invalid(format!(
                        "choose returned {i}; expected None or an index into the {} offers",
                        offers.len()
                    ))),
                }
            };
            call().map_err(|e| self.fail(e))
        })
    }

    fn overbook(
        &self,
        ctx: &ChoiceContext,
        offer: &Offer,
        booked: u32,
        capacity: u32,
    ) -> haoyuan::Result<bool> {
        if !self.has_overbook {
            return Ok(true);
        }
        Python::with_gil(|py| {
            let call = || -> PyResult<bool> {
                let r = self
                    .obj
                    .call_method1(
                        py,
                        "overbook",
                        (to_py(py, ctx)?, to_py(py, offer)?, booked, capacity),
                    )?
                    .into_bound(py);
                r.extract::<bool>().map_err(|_| {
                    invalid(format!(
                        "overbook must return a bool, got {}",
                        r.repr().map(|s| s.to_string()).unwrap_or_default()
                    ))
                })
            };
            call().map_err(|e| self.fail(e))
        })
    }
}

/// The region preset `name` (`"dongguan"` or `"small"`) as a dict.
#[pyfunction]
pub fn sim_region(py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
    let r = region_arg(Some(&PyString::new(py, name).into_any()))?;
    Ok(to_py(py, &r)?.unbind())
}

/// The demand preset `name` (`"default"` or `"dongguan"`) as a dict.
#[pyfunction]
pub fn sim_demand(py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
    let d = demand_arg(Some(&PyString::new(py, name).into_any()))?;
    Ok(to_py(py, &d)?.unbind())
}

/// A simulated policy as a dict: `"unified"` (one city-wide pool), `"islands"`, or a
/// `haoyuan.Policy` / dict completed with the defaults.
#[pyfunction]
pub fn sim_policy(py: Python<'_>, policy: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let p = policy_arg(Some(policy))?;
    Ok(to_py(py, &p)?.unbind())
}

/// Run the simulator: `region`, `demand` and `policy` as dicts (or preset names), `days`
/// measured days after `warmup_days` (None: the default, long enough for every rule), `seed`.
/// Returns the result as a dict. Same inputs and seed, same result (bar `elapsed_s`).
/// `progress(done, total)` is called now and then; `hooks` is a custom policy. Ctrl-C stops
/// the run within a simulated day.
#[pyfunction]
#[pyo3(signature = (region=None, demand=None, policy=None, days=7, seed=0, progress=None, hooks=None, warmup_days=None))]
#[allow(clippy::too_many_arguments)]
pub fn sim_simulate(
    py: Python<'_>,
    region: Option<&Bound<'_, PyAny>>,
    demand: Option<&Bound<'_, PyAny>>,
    policy: Option<&Bound<'_, PyAny>>,
    #[pyo3(from_py_with = int::<u32>)] days: u32,
    #[pyo3(from_py_with = int::<u64>)] seed: u64,
    progress: Option<Py<PyAny>>,
    hooks: Option<Py<PyAny>>,
    warmup_days: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let window = window_arg(days, opt_u32(warmup_days, "warmup_days")?);
    let (region, demand, policy) = (region_arg(region)?, demand_arg(demand)?, policy_arg(policy)?);
    let sink = ProgressSink::new(progress.filter(|p| !p.is_none(py)));
    let hooks = match hooks.filter(|h| !h.is_none(py)) {
        Some(h) => {
            let (has_choose, has_overbook) =
                (h.bind(py).hasattr("choose")?, h.bind(py).hasattr("overbook")?);
            if !has_choose && !has_overbook {
                return Err(invalid("hooks must have a choose(ctx, offers) and/or an overbook(ctx, offer, booked, capacity) method"));
            }
            Some(PyHooks { obj: h, has_choose, has_overbook, error: Mutex::new(None) })
        }
        None => None,
    };
    let report = |d: u64, t: u64| sink.report(d, t);
    let result: haoyuan::Result<SimResult> = interruptible(py, &sink, || match &hooks {
        Some(h) => sim::simulate_with_hooks(&region, &demand, &policy, window, seed, h, &report),
        None => sim::simulate(&region, &demand, &policy, window, seed, &report),
    })?;
    if let Some(e) = hooks.and_then(|h| h.error.into_inner()) {
        return Err(e);
    }
    let result = sink.finish(result.map_err(|e| PyErr::from(HyErr(e))))?;
    Ok(to_py(py, &result)?.unbind())
}

/// Run every policy of `policies` (a dict name → policy) for `replications` replications on
/// common random numbers, in parallel on the worker pool. Returns a list of dicts with
/// `policy`, `replication`, `seed`, `result` and `summary` (the headline numbers).
#[pyfunction]
#[pyo3(signature = (policies, region=None, demand=None, days=7, replications=1, seed=0, progress=None, warmup_days=None))]
#[allow(clippy::too_many_arguments)]
pub fn sim_compare(
    py: Python<'_>,
    policies: &Bound<'_, PyDict>,
    region: Option<&Bound<'_, PyAny>>,
    demand: Option<&Bound<'_, PyAny>>,
    #[pyo3(from_py_with = int::<u32>)] days: u32,
    #[pyo3(from_py_with = int::<u32>)] replications: u32,
    #[pyo3(from_py_with = int::<u64>)] seed: u64,
    progress: Option<Py<PyAny>>,
    warmup_days: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let window = window_arg(days, opt_u32(warmup_days, "warmup_days")?);
    compare_runs(py, policies, region, demand, window, replications, seed, progress, None)
}

/// `compare` on the synthetic demand or on `recorded` arrivals, as a list of run dicts.
#[allow(clippy::too_many_arguments)]
fn compare_runs(
    py: Python<'_>,
    policies: &Bound<'_, PyDict>,
    region: Option<&Bound<'_, PyAny>>,
    demand: Option<&Bound<'_, PyAny>>,
    window: Window,
    replications: u32,
    seed: u64,
    progress: Option<Py<PyAny>>,
    recorded: Option<Recorded>,
) -> PyResult<Py<PyAny>> {
    let (region, demand) = (region_arg(region)?, demand_arg(demand)?);
    let mut named: Vec<(String, SimPolicy)> = Vec::with_capacity(policies.len());
    for (k, v) in policies.iter() {
        named.push((k.extract::<String>()?, policy_arg(Some(&v))?));
    }
    let sink = ProgressSink::new(progress.filter(|p| !p.is_none(py)));
    let workers = pool().map_err(invalid)?;
    let report = |d: u64, t: u64| sink.report(d, t);
    let runs = interruptible(py, &sink, || {
        workers.install(|| match &recorded {
            Some(rec) => sim::compare_recorded(
                &region,
                &demand,
                &named,
                window,
                replications,
                seed,
                rec,
                &report,
            ),
            None => sim::compare(&region, &demand, &named, window, replications, seed, &report),
        })
    })?;
    let runs = sink.finish(runs.map_err(|e| PyErr::from(HyErr(e))))?;
    let out = PyList::empty(py);
    for r in &runs {
        let d = PyDict::new(py);
        d.set_item("policy", &r.policy)?;
        d.set_item("replication", r.replication)?;
        d.set_item("seed", r.seed)?;
        d.set_item("result", to_py(py, &r.result)?)?;
        d.set_item("summary", summary_dict(py, &r.result)?)?;
        out.append(d)?;
    }
    Ok(out.into_any().unbind())
}

fn opt_u32(ob: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<u32>> {
    match ob.filter(|o| !o.is_none()) {
        Some(o) => int_named::<u32>(o, name).map(Some),
        None => Ok(None),
    }
}

fn summary_dict<'py>(py: Python<'py>, r: &SimResult) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in r.summary() {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// The headline numbers of a result dict (what `compare` tabulates), in a fixed order.
#[pyfunction]
pub fn sim_summary<'py>(
    py: Python<'py>,
    result: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let r: SimResult = from_py("result", result)?;
    summary_dict(py, &r)
}

/// Jain's fairness index of non-negative values (1 = perfectly even).
/// The seed of replication `r` of a study seeded with `seed` (what `compare` uses, and what a
/// sweep cell runs with): every policy of a study gets the same one (common random numbers), so
/// any single cell can be re-run alone with `simulate(..., seed=replication_seed(seed, r))`.
#[pyfunction]
pub fn sim_replication_seed(
    #[pyo3(from_py_with = int::<u64>)] seed: u64,
    #[pyo3(from_py_with = int::<u32>)] replication: u32,
) -> u64 {
    sim::replication_seed(seed, replication)
}

/// The default warm-up in days of a run of `policy` on `region` with `demand` (dicts or preset
/// names): long enough for every policy rule to act before the first measured day.
#[pyfunction]
#[pyo3(signature = (region=None, demand=None, policy=None))]
pub fn sim_default_warmup_days(
    region: Option<&Bound<'_, PyAny>>,
    demand: Option<&Bound<'_, PyAny>>,
    policy: Option<&Bound<'_, PyAny>>,
) -> PyResult<u32> {
    Ok(sim::default_warmup_days(&region_arg(region)?, &demand_arg(demand)?, &policy_arg(policy)?))
}

#[pyfunction]
pub fn jain_index(xs: Vec<Float>) -> f64 {
    sim::jain_index(&xs.into_iter().map(|x| x.0).collect::<Vec<f64>>())
}

/// The Gini coefficient of non-negative values (0 = perfectly even).
#[pyfunction]
pub fn gini(xs: Vec<Float>) -> f64 {
    sim::gini(&xs.into_iter().map(|x| x.0).collect::<Vec<f64>>())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sim_region, m)?)?;
    m.add_function(wrap_pyfunction!(sim_demand, m)?)?;
    m.add_function(wrap_pyfunction!(sim_policy, m)?)?;
    m.add_function(wrap_pyfunction!(sim_simulate, m)?)?;
    m.add_function(wrap_pyfunction!(sim_compare, m)?)?;
    m.add_function(wrap_pyfunction!(sim_summary, m)?)?;
    m.add_function(wrap_pyfunction!(sim_replication_seed, m)?)?;
    m.add_function(wrap_pyfunction!(sim_default_warmup_days, m)?)?;
    m.add_function(wrap_pyfunction!(jain_index, m)?)?;
    m.add_function(wrap_pyfunction!(gini, m)?)?;
    m.add_function(wrap_pyfunction!(sim_simulate_recorded, m)?)?;
    m.add_function(wrap_pyfunction!(sim_compare_recorded, m)?)?;
    m.add_function(wrap_pyfunction!(sim_synthetic_arrivals, m)?)?;
    m.add("SIM_ARRIVALS_MAX", ARRIVALS_MAX)?;
    m.add("SIM_DAYS_MAX", sim::SIM_DAYS_MAX)?;
    Ok(())
}

// ------------------------------------------------------------------ runs from recorded arrivals

/// Column `name` of the arrivals dict.
fn arrival_column<'py>(d: &Bound<'py, PyDict>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    d.get_item(name)?.ok_or_else(|| invalid(format!("arrivals: no column {name}")))
}

/// A numeric column (or a text column's codes), copied out of NumPy.
fn arrival_numbers<T: numpy::Element + Copy>(
    ob: &Bound<'_, PyAny>,
    name: &str,
    dtype: &str,
) -> PyResult<Vec<T>> {
    let a = ob.extract::<PyReadonlyArray1<'_, T>>().map_err(|_| {
        invalid(format!("arrivals: column {name} must be a 1-D NumPy array of {dtype}"))
    })?;
    let n = a.as_array().len();
    if n > ARRIVALS_MAX {
        return Err(invalid(format!("arrivals: {n} rows; at most {ARRIVALS_MAX}")));
    }
    Ok(match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().iter().copied().collect(),
    })
}

/// A dictionary-encoded text column: `(codes, names)`, int64 codes into a list of str.
fn arrival_coded(d: &Bound<'_, PyDict>, name: &str) -> PyResult<(Vec<i64>, Vec<String>)> {
    let (codes, names): (Bound<'_, PyAny>, Vec<String>) =
        arrival_column(d, name)?.extract().map_err(|_| {
            invalid(format!("arrivals: column {name} must be (int64 codes, list of str)"))
        })?;
    Ok((arrival_numbers::<i64>(&codes, name, "int64")?, names))
}

/// Recorded arrivals as `haoyuan.sim` passes them: a dict of columns — `day`, `at_s`,
/// `patient` as int64 arrays, `at_release` a bool array, and `specialty`, `kind`, `channel`
/// dictionary-encoded as `(codes, names)`, int64 codes (-1: missing) into a list of str. Every
/// value out of its field's range is an error naming its row (the simulator checks the rest
/// against the region, the demand and the window).
fn recorded_arg(ob: &Bound<'_, PyAny>) -> PyResult<Recorded> {
    let d = ob
        .downcast::<PyDict>()
        .map_err(|_| invalid("arrivals must be a dict of columns (see haoyuan.sim.simulate)"))?;
    let int64 = |name: &str| arrival_numbers::<i64>(&arrival_column(d, name)?, name, "int64");
    let (day, at_s, patient) = (int64("day")?, int64("at_s")?, int64("patient")?);
    let at_release =
        arrival_numbers::<bool>(&arrival_column(d, "at_release")?, "at_release", "bool")?;
    let text =
        [arrival_coded(d, "specialty")?, arrival_coded(d, "kind")?, arrival_coded(d, "channel")?];
    let n = day.len();
    let lens = [
        at_s.len(),
        patient.len(),
        at_release.len(),
        text[0].0.len(),
        text[1].0.len(),
        text[2].0.len(),
    ];
    if lens.iter().any(|l| *l != n) {
        return Err(invalid(format!(
            "arrivals: every column needs as many rows as day ({n}); at_s, patient, at_release, \
             specialty, kind and channel have {lens:?}"
        )));
    }
    let at = |i: usize, m: String| invalid(format!("recorded arrival {i}: {m}"));
    // The value of text column `k` in row `i`.
    let text_at = |i: usize, k: usize| -> PyResult<String> {
        let (field, (codes, values)) = (["specialty", "kind", "channel"][k], &text[k]);
        match usize::try_from(codes[i]).ok().and_then(|c| values.get(c)) {
            Some(v) => Ok(v.clone()),
            None if codes[i] == -1 => Err(at(i, format!("{field} is missing"))),
            None => Err(at(i, format!("{field} code {} is out of range", codes[i]))),
        }
    };
    let mut arrivals = Vec::with_capacity(n);
    for i in 0..n {
        arrivals.push(Arrival {
            day: i32::try_from(day[i])
                .map_err(|_| at(i, format!("day {} is out of range", day[i])))?,
            at_s: u32::try_from(at_s[i])
                .map_err(|_| at(i, format!("at_s {} is not a second of the day", at_s[i])))?,
            patient: u32::try_from(patient[i]).map_err(|_| {
                at(i, format!("patient {} is not a resident index (0 .. population)", patient[i]))
            })?,
            specialty: text_at(i, 0)?,
            kind: text_at(i, 1)?,
            channel: text_at(i, 2)?,
            at_release: at_release[i],
        });
    }
    Ok(Recorded { arrivals })
}

/// `simulate` driven by recorded arrivals (see `recorded_arg`) instead of the synthetic demand.
#[pyfunction]
#[pyo3(signature = (arrivals, region=None, demand=None, policy=None, days=7, seed=0, progress=None, warmup_days=None))]
#[allow(clippy::too_many_arguments)]
pub fn sim_simulate_recorded(
    py: Python<'_>,
    arrivals: &Bound<'_, PyAny>,
    region: Option<&Bound<'_, PyAny>>,
    demand: Option<&Bound<'_, PyAny>>,
    policy: Option<&Bound<'_, PyAny>>,
    #[pyo3(from_py_with = int::<u32>)] days: u32,
    #[pyo3(from_py_with = int::<u64>)] seed: u64,
    progress: Option<Py<PyAny>>,
    warmup_days: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let window = window_arg(days, opt_u32(warmup_days, "warmup_days")?);
    let (region, demand, policy) = (region_arg(region)?, demand_arg(demand)?, policy_arg(policy)?);
    let recorded = recorded_arg(arrivals)?;
    let sink = ProgressSink::new(progress.filter(|p| !p.is_none(py)));
    let report = |d: u64, t: u64| sink.report(d, t);
    let result = interruptible(py, &sink, || {
        sim::simulate_recorded(&region, &demand, &policy, window, seed, &recorded, &report)
    })?;
    let result = sink.finish(result.map_err(|e| PyErr::from(HyErr(e))))?;
    Ok(to_py(py, &result)?.unbind())
}

/// `compare` driven by recorded arrivals: every policy meets the same arrivals.
#[pyfunction]
#[pyo3(signature = (policies, arrivals, region=None, demand=None, days=7, replications=1, seed=0, progress=None, warmup_days=None))]
#[allow(clippy::too_many_arguments)]
pub fn sim_compare_recorded(
    py: Python<'_>,
    policies: &Bound<'_, PyDict>,
    arrivals: &Bound<'_, PyAny>,
    region: Option<&Bound<'_, PyAny>>,
    demand: Option<&Bound<'_, PyAny>>,
    #[pyo3(from_py_with = int::<u32>)] days: u32,
    #[pyo3(from_py_with = int::<u32>)] replications: u32,
    #[pyo3(from_py_with = int::<u64>)] seed: u64,
    progress: Option<Py<PyAny>>,
    warmup_days: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let window = window_arg(days, opt_u32(warmup_days, "warmup_days")?);
    let recorded = recorded_arg(arrivals)?;
    compare_runs(py, policies, region, demand, window, replications, seed, progress, Some(recorded))
}

/// The arrivals the synthetic demand makes in a run (warm-up included), as the columns
/// `recorded_arg` takes back: `day` int32, `at_s` and `patient` uint32, `at_release` bool
/// arrays, and `specialty`, `kind`, `channel` as `(codes, names)`, int64 codes into a list.
#[pyfunction]
#[pyo3(signature = (region=None, demand=None, policy=None, days=7, seed=0, warmup_days=None))]
pub fn sim_synthetic_arrivals<'py>(
    py: Python<'py>,
    region: Option<&Bound<'py, PyAny>>,
    demand: Option<&Bound<'py, PyAny>>,
    policy: Option<&Bound<'py, PyAny>>,
    #[pyo3(from_py_with = int::<u32>)] days: u32,
    #[pyo3(from_py_with = int::<u64>)] seed: u64,
    warmup_days: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let window = window_arg(days, opt_u32(warmup_days, "warmup_days")?);
    let (region, demand, policy) = (region_arg(region)?, demand_arg(demand)?, policy_arg(policy)?);
    let rec = py
        .allow_threads(|| sim::synthetic_arrivals(&region, &demand, &policy, window, seed))
        .map_err(HyErr)?;
    let a = &rec.arrivals;
    let out = PyDict::new(py);
    out.set_item("day", PyArray1::from_vec(py, a.iter().map(|r| r.day).collect()))?;
    out.set_item("at_s", PyArray1::from_vec(py, a.iter().map(|r| r.at_s).collect()))?;
    out.set_item("patient", PyArray1::from_vec(py, a.iter().map(|r| r.patient).collect()))?;
    out.set_item("at_release", PyArray1::from_vec(py, a.iter().map(|r| r.at_release).collect()))?;
    let code = |f: fn(&Arrival) -> &str| {
        let mut names: Vec<&str> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let codes: Vec<i64> = a
            .iter()
            .map(|r| {
                *index.entry(f(r)).or_insert_with(|| {
                    names.push(f(r));
                    names.len() as i64 - 1
                })
            })
            .collect();
        (PyArray1::from_vec(py, codes), names)
    };
    out.set_item("specialty", code(|r| &r.specialty))?;
    out.set_item("kind", code(|r| &r.kind))?;
    out.set_item("channel", code(|r| &r.channel))?;
    Ok(out)
}
