//! Durability from Python: `DurableEngine` (an `Engine` journaled on a directory, core
//! `durability/`) and `read_journal_columns`. Pipelined acknowledgements are `pipeline.rs`.
//!
//! A `DurableEngine` is a subclass of `Engine` whose engine is `Inner::Durable`: every `Engine`
//! method works on it unchanged. `close()` takes the engine out of the Python object (later calls
//! raise `Durability`), waits for the calls still running on other threads, then closes it.

use crate::args::{int, path_arg, Int};
use crate::convert::TimeArg;
use crate::engine::{card_key_arg, closed_error, Engine};
use crate::errors::invalid;
use crate::events::event_columns;
use crate::inner::Inner;
use crate::pipeline::durability_error;
use crate::policy::policy_arg;
use crate::runtime::run;
use crate::standby::Standby;
use haoyuan::{
    ClockKind, Durability, EngineConfig, OpenOptions, RecoveryReport, ReplicationMode,
    ReplicationOptions,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most events one `read_journal_columns` call returns (a bound on one call's memory).
pub const JOURNAL_EVENTS_MAX: u64 = 10_000_000;

/// How long `close()` waits for calls in progress on other threads before giving up.
const CLOSE_WAIT: Duration = Duration::from_secs(30);

/// The journal mode: `"sync"`, `"buffered"` or `"none"`.
fn mode_arg(ob: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    const MODES: [&str; 3] = ["sync", "buffered", "none"];
    let s: String = ob.extract().map_err(|_| {
        invalid(format!(
            "mode must be \"sync\", \"buffered\" or \"none\", got {}",
            ob.repr().map(|r| r.to_string()).unwrap_or_default()
        ))
    })?;
    MODES.into_iter().find(|m| *m == s).ok_or_else(|| {
        invalid(format!("unknown mode {s:?}; expected \"sync\", \"buffered\" or \"none\""))
    })
}

/// The `replicate=`, `replication_mode=` and `ack_timeout_ms=` arguments of `DurableEngine`.
fn replication_arg(listen: &str, mode: &str, ack_timeout_ms: u32) -> PyResult<ReplicationOptions> {
    let addr: SocketAddr = listen
        .parse()
        .map_err(|_| invalid(format!("replicate {listen:?} is not an address host:port")))?;
    let mode = match mode {
        "async" => ReplicationMode::Async,
        "ack_after_follower" => ReplicationMode::AckAfterFollower,
        other => {
            return Err(invalid(format!(
                "unknown replication_mode {other:?}; expected \"async\" or \"ack_after_follower\""
            )))
        }
    };
    Ok(ReplicationOptions::new(addr, mode)
        .ack_timeout(Duration::from_millis(ack_timeout_ms.into())))
}

// ------------------------------------------------------------------ DurableEngine

/// An `Engine` whose every acknowledged operation is journaled in a directory (Rust
/// `DurableEngine::open`, C `hy_engine_open`). See the Python class `haoyuan.DurableEngine`.
#[pyclass(module = "haoyuan._native", extends = Engine, frozen, subclass)]
pub struct DurableEngine {
    mode: &'static str,
    report: RecoveryReport,
}

/// The durable engine of `slf`, or `Durability` once closed.
fn durable_of(slf: &Bound<'_, DurableEngine>) -> PyResult<Arc<Inner>> {
    let base = slf.as_super().get();
    let e = base.engine()?;
    match &*e {
        Inner::Durable(_) => Ok(e),
        Inner::Memory(_) => Err(closed_error(base.dir())),
    }
}

/// Run `f` on the durable engine of `slf` with the GIL released.
fn with_durable<T: Send>(
    slf: &Bound<'_, DurableEngine>,
    f: impl FnOnce(&haoyuan::DurableEngine) -> haoyuan::Result<T> + Send,
) -> PyResult<T> {
    let e = durable_of(slf)?;
    run(slf.py(), || match &*e {
        Inner::Durable(d) => f(d),
        Inner::Memory(_) => Err(haoyuan::Error::invalid("not a durable engine")),
    })
}

#[pymethods]
impl DurableEngine {
    #[new]
    #[pyo3(signature = (dir, policy=None, *, mode="sync", fsync_interval_ms=100, max_unflushed=4096, start=None, utc_offset_s=None, card_key=None, standby=None, replicate=None, replication_mode="async", ack_timeout_ms=5000))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        #[pyo3(from_py_with = path_arg)] dir: PathBuf,
        policy: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = mode_arg)] mode: &'static str,
        #[pyo3(from_py_with = int::<u32>)] fsync_interval_ms: u32,
        #[pyo3(from_py_with = int::<u32>)] max_unflushed: u32,
        start: Option<TimeArg>,
        utc_offset_s: Option<Int<i32>>,
        card_key: Option<&Bound<'_, PyAny>>,
        standby: Option<Bound<'_, Standby>>,
        replicate: Option<String>,
        replication_mode: &str,
        #[pyo3(from_py_with = int::<u32>)] ack_timeout_ms: u32,
    ) -> PyResult<(Self, Engine)> {
        const _: () = assert!(haoyuan::BUFFERED_UNFLUSHED_MAX_DEFAULT == 4096);
        if !(1..=60_000).contains(&fsync_interval_ms) {
            return Err(invalid(format!(
                "fsync_interval_ms {fsync_interval_ms} must be 1 ..= 60000"
            )));
        }
        let durability = match mode {
            "sync" => Durability::Sync,
            "buffered" => {
                Durability::Buffered { interval: Duration::from_millis(fsync_interval_ms.into()) }
            }
            _ => Durability::None,
        };
        let mut options = OpenOptions::new(durability).max_unflushed(max_unflushed);
        if let Some(listen) = replicate {
            options =
                options.replicate(replication_arg(&listen, replication_mode, ack_timeout_ms)?);
        }
        // A configuration only when one is given: `DurableEngine(dir)` opens an existing
        // directory with the configuration it was created with.
        let given_policy = policy.filter(|p| !p.is_none());
        if given_policy.is_some() || utc_offset_s.is_some() {
            options = options.config(EngineConfig {
                policy: policy_arg(given_policy)?,
                utc_offset_s: utc_offset_s.map_or(EngineConfig::default().utc_offset_s, |o| o.0),
                card_key: None,
            });
        }
        if let Some(key) = card_key_arg(card_key)? {
            options = options.card_key(key);
        }
        // A promotion keeps the standby's manual clock unless another start is given.
        let start = start.map(|t| t.0).or(standby.as_ref().and_then(|s| s.get().start));
        if let Some(t) = start {
            options = options.clock(ClockKind::Manual(t));
        }
        let open_dir = dir.clone();
        let d = match standby {
            None => run(py, move || haoyuan::DurableEngine::open(&open_dir, options))?,
            Some(s) => promote(py, s.get(), &dir, options)?,
        };
        let report = d.recovery_report().clone();
        let base = Engine::from_inner(Inner::Durable(d), start.is_some(), Some(dir));
        Ok((DurableEngine { mode, report }, base))
    }

    /// A durable engine on a manual clock that starts at the later of `start` and the latest
    /// event time found in the directory (a simulation continues where it stopped). The same as
    /// `DurableEngine(dir, policy, start=start, ...)`.
    #[classmethod]
    #[pyo3(signature = (dir, policy=None, *, start, mode="sync", fsync_interval_ms=100, max_unflushed=4096, utc_offset_s=None, card_key=None))]
    #[allow(clippy::too_many_arguments)]
    fn with_manual_clock<'py>(
        cls: &Bound<'py, PyType>,
        dir: &Bound<'py, PyAny>,
        policy: Option<&Bound<'py, PyAny>>,
        start: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = mode_arg)] mode: &'static str,
        #[pyo3(from_py_with = int::<u32>)] fsync_interval_ms: u32,
        #[pyo3(from_py_with = int::<u32>)] max_unflushed: u32,
        utc_offset_s: Option<&Bound<'py, PyAny>>,
        card_key: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kwargs = PyDict::new(cls.py());
        kwargs.set_item("start", start)?;
        kwargs.set_item("mode", mode)?;
        kwargs.set_item("fsync_interval_ms", fsync_interval_ms)?;
        kwargs.set_item("max_unflushed", max_unflushed)?;
        kwargs.set_item("utc_offset_s", utc_offset_s)?;
        kwargs.set_item("card_key", card_key)?;
        cls.call((dir, policy), Some(&kwargs))
    }

    /// The directory (as given to the constructor).
    #[getter]
    fn dir(slf: &Bound<'_, Self>) -> String {
        slf.as_super().get().dir().map(|d| d.display().to_string()).unwrap_or_default()
    }

    /// The address the replication listener is bound to (`replicate=`; with port 0 asked, the
    /// port the system chose), e.g. "127.0.0.1:40313"; None without replication.
    #[getter]
    fn replication_addr(slf: &Bound<'_, Self>) -> PyResult<Option<String>> {
        let e = durable_of(slf)?;
        Ok(match &*e {
            Inner::Durable(d) => d.replication_addr().map(|a| a.to_string()),
            Inner::Memory(_) => None,
        })
    }

    /// Stream followers (`Standby.connect`) connected now; 0 without replication.
    fn followers(slf: &Bound<'_, Self>) -> PyResult<usize> {
        let e = durable_of(slf)?;
        Ok(match &*e {
            Inner::Durable(d) => d.followers(),
            Inner::Memory(_) => 0,
        })
    }

    /// The journal mode: "sync", "buffered" or "none".
    #[getter]
    fn mode(&self) -> &'static str {
        self.mode
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(slf: &Bound<'_, Self>) -> bool {
        slf.as_super().get().is_closed()
    }

    /// What recovery found when the engine was opened (available after `close()` too): a dict
    /// with `snapshot_seq` (int or None), `snapshots_skipped` (list of (path, reason)),
    /// `segments_read`, `events_replayed`, `last_seq` (the last event recovered) and
    /// `torn_tail` (None, or a dict `segment`, `offset`, `bytes_dropped`, `reason`: damage at
    /// the end of the journal, a crash in mid-write, that was cut off).
    #[getter]
    fn recovery_report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = &self.report;
        let d = PyDict::new(py);
        d.set_item("snapshot_seq", r.snapshot_seq)?;
        let skipped: Vec<(String, String)> = r
            .snapshots_skipped
            .iter()
            .map(|(p, why)| (p.display().to_string(), why.clone()))
            .collect();
        d.set_item("snapshots_skipped", skipped)?;
        d.set_item("segments_read", r.segments_read)?;
        d.set_item("events_replayed", r.events_replayed)?;
        d.set_item("last_seq", r.last_seq)?;
        match &r.torn_tail {
            None => d.set_item("torn_tail", py.None())?,
            Some(t) => {
                let tail = PyDict::new(py);
                tail.set_item("segment", t.segment.display().to_string())?;
                tail.set_item("offset", t.offset)?;
                tail.set_item("bytes_dropped", t.bytes_dropped)?;
                tail.set_item("reason", &t.reason)?;
                d.set_item("torn_tail", tail)?;
            }
        }
        Ok(d)
    }

    /// The journal writer's counters: a dict `fsyncs` (so far) and `durable_seq` (the last
    /// event on stable storage); None in mode "none" (no journal).
    fn journal_stats<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(s) = with_durable(slf, |d| Ok(d.journal_stats()))? else { return Ok(None) };
        let d = PyDict::new(slf.py());
        d.set_item("fsyncs", s.fsyncs)?;
        d.set_item("durable_seq", s.durable_seq)?;
        Ok(Some(d))
    }

    /// Make everything done so far durable (in buffered mode, before a planned stop); returns
    /// the durable event number.
    fn flush(slf: &Bound<'_, Self>) -> PyResult<u64> {
        with_durable(slf, |d| d.flush())
    }

    /// Write a snapshot and remove the journal it makes unnecessary; returns its event number.
    /// Other threads' calls go on meanwhile. Mode "none" keeps no journal: `InvalidArgument`.
    fn snapshot(slf: &Bound<'_, Self>) -> PyResult<u64> {
        with_durable(slf, |d| d.snapshot())
    }

    /// Flush, stop journaling and release the directory (another engine may open it then).
    /// Every later call raises `Durability`; closing again does nothing. Calls in progress on
    /// other threads are waited for (up to 30 s; then `Durability` and the engine stays open).
    fn close(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let base = slf.as_super().get();
        let Some(mut e) = base.take() else { return Ok(()) };
        let deadline = Instant::now() + CLOSE_WAIT;
        loop {
            match Arc::try_unwrap(e) {
                Ok(Inner::Durable(d)) => return run(py, move || d.close()),
                Ok(Inner::Memory(_)) => return Ok(()),
                Err(shared) => e = shared,
            }
            if Instant::now() >= deadline {
                let others = Arc::strong_count(&e) - 1;
                base.put_back(e);
                return Err(durability_error(format!(
                    "cannot close: {others} call(s) on other threads still use the engine"
                )));
            }
            py.allow_threads(|| std::thread::sleep(Duration::from_millis(1)));
            if let Err(err) = py.check_signals() {
                base.put_back(e);
                return Err(err);
            }
        }
    }

    fn __enter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, Self>> {
        durable_of(slf)?;
        Ok(slf.clone())
    }

    /// Close the engine (see `close`). Never suppresses an exception.
    #[pyo3(signature = (*args))]
    fn __exit__(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        let _ = args;
        Self::close(slf)?;
        Ok(false)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> String {
        let base = slf.as_super().get();
        let dir = base.dir().map(|d| d.display().to_string()).unwrap_or_default();
        let mode = slf.get().mode;
        match base.engine() {
            Err(_) => format!("DurableEngine(dir={dir:?}, mode={mode:?}, closed)"),
            Ok(e) => format!(
                "DurableEngine(dir={dir:?}, mode={mode:?}, clock={}, last_event_seq={})",
                if base.is_manual() { "manual" } else { "system" },
                e.last_event_seq()
            ),
        }
    }
}

/// `DurableEngine(dir, standby=s)`: promote the standby `s` (following `dir`). Refused while the
/// leader lives, and the standby is kept then; once past that check the standby is consumed.
fn promote(
    py: Python<'_>,
    standby: &Standby,
    dir: &Path,
    options: OpenOptions,
) -> PyResult<haoyuan::DurableEngine> {
    if standby.dir() != dir {
        return Err(invalid(format!(
            "the standby follows {}, not {}",
            standby.dir().display(),
            dir.display()
        )));
    }
    if standby.leader_is_alive(py)? {
        return Err(durability_error(format!(
            "the leader of {} is alive (its LOCK is held): promotion refused",
            dir.display()
        )));
    }
    let s = standby.take()?;
    run(py, move || s.promote(options))
}

/// Every journaled event still on disk in `dir` (after the oldest kept snapshot; older events
/// were compacted into it), in sequence order, as the columns of `Subscription.poll_columns`.
/// Safe on a directory that is open elsewhere (it ends at the last complete record). Segments
/// are checked against the card key of the environment if one is set there (`HAOYUAN_CARD_KEY`
/// / `HAOYUAN_CARD_KEY_FILE`); segments of format 1 need it to be read at all.
#[pyfunction]
#[pyo3(signature = (dir, max_events=1_000_000))]
pub fn read_journal_columns<'py>(
    py: Python<'py>,
    #[pyo3(from_py_with = path_arg)] dir: PathBuf,
    #[pyo3(from_py_with = int::<u64>)] max_events: u64,
) -> PyResult<Bound<'py, PyDict>> {
    if max_events == 0 || max_events > JOURNAL_EVENTS_MAX {
        return Err(invalid(format!("max_events {max_events} must be 1 ..= {JOURNAL_EVENTS_MAX}")));
    }
    let events = run(py, || {
        let mut out = Vec::new();
        for event in haoyuan::read_journal(&dir)? {
            if out.len() as u64 >= max_events {
                return Err(haoyuan::Error::CapacityExceeded(format!(
                    "the journal holds more than {max_events} events: raise max_events (at most {JOURNAL_EVENTS_MAX}) or snapshot the directory"
                )));
            }
            out.push(event?);
        }
        Ok(out)
    })?;
    event_columns(py, &events)
}
