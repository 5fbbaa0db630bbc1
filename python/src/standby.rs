//! The hot standby from Python: `Standby` (core `durability/standby.rs`), a read-only follower
//! of a leader's durable directory. Promotion builds a `DurableEngine` (`durable.rs`, its
//! `standby=` argument), so that the promoted engine is the package's own class.
//!
//! `close()` (or promotion) takes the Rust standby out of the Python object: later calls raise
//! `Durability`.

use crate::args::{path_arg, Id, Int};
use crate::convert::TimeArg;
use crate::engine::{card_key_arg, metrics_dict};
use crate::errors::invalid;
use crate::pipeline::durability_error;
use crate::runtime::run;
use crate::types::{Booking, EngineStats, SlotInfo};
use haoyuan::{BookingId, ClockKind, SlotId, StandbyOptions};
use parking_lot::RwLock;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A read-only copy of a durable engine that follows its directory. See the Python class
/// `haoyuan.Standby`.
#[pyclass(module = "haoyuan._native", frozen, subclass)]
pub struct Standby {
    cell: RwLock<Option<Arc<haoyuan::Standby>>>,
    dir: PathBuf,
    /// The manual clock's start, if the standby runs on one (the promoted engine keeps it).
    pub(crate) start: Option<haoyuan::Timestamp>,
}

impl Standby {
    fn standby(&self) -> PyResult<Arc<haoyuan::Standby>> {
        self.cell.read().clone().ok_or_else(|| {
            durability_error(format!(
                "the standby of {} is closed (or was promoted)",
                self.dir.display()
            ))
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Take the Rust standby out for promotion; refused while another thread uses it.
    pub(crate) fn take(&self) -> PyResult<haoyuan::Standby> {
        let taken = self.cell.write().take().ok_or_else(|| {
            durability_error(format!("the standby of {} is closed", self.dir.display()))
        })?;
        Arc::try_unwrap(taken).map_err(|shared| {
            *self.cell.write() = Some(shared);
            durability_error("a call on another thread still uses the standby")
        })
    }

    /// Whether the leader's LOCK is held (see `leader_alive`).
    pub(crate) fn leader_is_alive(&self, py: Python<'_>) -> PyResult<bool> {
        let s = self.standby()?;
        run(py, || s.leader_alive())
    }
}

#[pymethods]
impl Standby {
    #[new]
    #[pyo3(signature = (dir, *, card_key=None, start=None, poll_interval_ms=None, leader=None))]
    fn new(
        py: Python<'_>,
        #[pyo3(from_py_with = path_arg)] dir: PathBuf,
        card_key: Option<&Bound<'_, PyAny>>,
        start: Option<TimeArg>,
        poll_interval_ms: Option<Int<u64>>,
        leader: Option<String>,
    ) -> PyResult<Self> {
        let mut options = StandbyOptions::new();
        if let Some(key) = card_key_arg(card_key)? {
            options = options.card_key(key);
        }
        if let Some(TimeArg(t)) = start {
            options = options.clock(ClockKind::Manual(t));
        }
        if let Some(Int(ms)) = poll_interval_ms {
            options = options.poll_interval(Duration::from_millis(ms));
        }
        let open_dir = dir.clone();
        let s = match leader {
            None => run(py, move || haoyuan::Standby::open(&open_dir, options))?,
            Some(leader) => {
                if poll_interval_ms.is_some() {
                    return Err(invalid(
                        "a stream standby (leader=...) applies records as they come: \
                         poll_interval_ms is not used with it",
                    ));
                }
                let addr: SocketAddr = leader.parse().map_err(|_| {
                    invalid(format!("leader {leader:?} is not an address host:port"))
                })?;
                run(py, move || haoyuan::Standby::connect(addr, &open_dir, options))?
            }
        };
        Ok(Standby { cell: RwLock::new(Some(Arc::new(s))), dir, start: start.map(|t| t.0) })
    }

    /// A stream standby (`leader=`): whether it still receives from its leader (False once the
    /// stream stopped, see `lag()["last_error"]`; always False for a directory standby).
    #[getter]
    fn streaming(&self) -> PyResult<bool> {
        Ok(self.standby()?.streaming())
    }

    /// The directory followed.
    #[getter(dir)]
    fn dir_name(&self) -> String {
        self.dir.display().to_string()
    }

    /// Read and apply what the leader appended since the last call; returns how many events.
    fn catch_up(&self, py: Python<'_>) -> PyResult<u64> {
        let s = self.standby()?;
        run(py, || s.catch_up())
    }

    /// How far behind the leader: a dict `applied_seq`, `leader_seq`, `records_behind`,
    /// `last_applied_at` (UTC seconds or None), `caught_up_at_unix_ms` (or None), `resyncs`,
    /// `last_error` (str or None).
    fn lag<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.standby()?;
        let lag = py.allow_threads(|| s.lag());
        let d = PyDict::new(py);
        d.set_item("applied_seq", lag.applied_seq)?;
        d.set_item("leader_seq", lag.leader_seq)?;
        d.set_item("records_behind", lag.records_behind)?;
        d.set_item("last_applied_at", lag.last_applied_at.map(|t| t.0))?;
        d.set_item("caught_up_at_unix_ms", lag.caught_up_at_unix_ms)?;
        d.set_item("resyncs", lag.resyncs)?;
        d.set_item("last_error", lag.last_error)?;
        Ok(d)
    }

    /// Operator metrics of the standby (as `Engine.metrics`), with a `follower` dict:
    /// `applied_seq`, `leader_seq`, `records_behind`, `caught_up_age_s` (or None), `resyncs`,
    /// `failing`. Rust `Standby::metrics`, C `hy_standby_metrics_json`.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.standby()?;
        metrics_dict(py, &py.allow_threads(|| s.metrics()))
    }

    /// The same in the Prometheus text exposition format (the `haoyuan_follower_*` families
    /// added). Rust `Metrics::to_prometheus`, C `hy_standby_metrics_prometheus`.
    fn metrics_prometheus(&self, py: Python<'_>) -> PyResult<String> {
        let s = self.standby()?;
        Ok(py.allow_threads(|| s.metrics().to_prometheus()))
    }

    /// Whether the leader still holds the directory's LOCK (promotion is refused then).
    fn leader_alive(&self, py: Python<'_>) -> PyResult<bool> {
        self.leader_is_alive(py)
    }

    /// The last event applied (a method, as `Engine.last_event_seq`).
    fn last_event_seq(&self) -> PyResult<u64> {
        Ok(self.standby()?.last_event_seq())
    }

    /// A booking, as `Engine.booking`.
    fn booking(&self, py: Python<'_>, id: Id<BookingId>) -> PyResult<Booking> {
        let s = self.standby()?;
        run(py, || s.booking(id.0)).map(Booking::from)
    }

    /// A slot, as `Engine.slot`.
    fn slot(&self, py: Python<'_>, id: Id<SlotId>) -> PyResult<SlotInfo> {
        let s = self.standby()?;
        run(py, || s.slot(id.0)).map(SlotInfo::from)
    }

    /// Counts of the registry, patients and slots, as `Engine.stats`.
    fn stats(&self) -> PyResult<EngineStats> {
        Ok(self.standby()?.stats().into())
    }

    /// The 32-byte digest of the whole state (equal to the leader's once both hold the same
    /// events).
    fn state_digest<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let s = self.standby()?;
        let digest = run(py, || s.state_digest())?;
        Ok(PyBytes::new(py, &digest))
    }

    /// Stop following and release the standby; later calls raise `Durability`. Idempotent.
    fn close(&self, py: Python<'_>) {
        let taken = self.cell.write().take();
        // Dropping the last reference joins the poller thread: without the GIL.
        py.allow_threads(move || drop(taken));
    }

    /// Whether `close()` (or a promotion) took the standby.
    #[getter]
    fn closed(&self) -> bool {
        self.cell.read().is_none()
    }

    fn __repr__(&self) -> String {
        match self.standby() {
            Ok(s) => format!("Standby(dir={:?}, last_event_seq={})", self.dir, s.last_event_seq()),
            Err(_) => format!("Standby(dir={:?}, closed)", self.dir),
        }
    }
}
