//! Events from Python: `Engine.subscribe()` gives a `Subscription`; `poll()` drains what has
//! arrived as `Event` objects, `poll_columns()` as column arrays for pandas / Arrow.

use crate::args::{float, int};
use crate::convert::json_to_py;
use crate::errors::invalid;
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::time::Duration;

/// Most events one poll returns (a bound on one call's memory).
pub const POLL_MAX: usize = 10_000_000;

/// One state change: `kind` is the event type (`"booked"`, `"cancelled"`, `"no_show"` …) and
/// `data` its fields as the engine serialises them (ids and instants as ints, dates as days
/// since 1970-01-01).
#[pyclass(module = "haoyuan._native", frozen, get_all)]
pub struct Event {
    pub seq: u64,
    pub at: i64,
    pub kind: String,
    pub data: Py<PyDict>,
}

#[pymethods]
impl Event {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Event(seq={}, at={}, kind={:?}, data={})",
            self.seq,
            self.at,
            self.kind,
            self.data.bind(py).repr()?
        ))
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(o) = other.downcast::<Event>() else { return Ok(false) };
        let o = o.get();
        Ok(self.seq == o.seq
            && self.at == o.at
            && self.kind == o.kind
            && self.data.bind(py).eq(o.data.bind(py))?)
    }

    /// `seq`, `at`, `kind` and the fields of `data` in one flat dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("seq", self.seq)?;
        d.set_item("at", self.at)?;
        d.set_item("kind", &self.kind)?;
        for (k, v) in self.data.bind(py).iter() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }
}

/// The event's type tag and its other fields as JSON.
fn split(event: &haoyuan::Event) -> (String, serde_json::Map<String, serde_json::Value>) {
    match serde_json::to_value(&event.kind) {
        Ok(serde_json::Value::Object(mut map)) => {
            let kind = match map.remove("type") {
                Some(serde_json::Value::String(s)) => s,
                _ => String::from("unknown"),
            };
            (kind, map)
        }
        _ => (String::from("unknown"), serde_json::Map::new()),
    }
}

/// The Python `Event` of an engine event.
fn to_event(py: Python<'_>, e: &haoyuan::Event) -> PyResult<Event> {
    let (kind, map) = split(e);
    let data = json_to_py(py, &serde_json::Value::Object(map))?.downcast_into::<PyDict>()?.unbind();
    Ok(Event { seq: e.seq, at: e.at.0, kind, data })
}

fn id_field(map: &serde_json::Map<String, serde_json::Value>, key: &str) -> i64 {
    map.get(key).and_then(|v| v.as_i64()).unwrap_or(-1)
}

/// A stream of the engine's events from the moment of `subscribe()`, through a bounded queue:
/// poll regularly (what happens when it is full was chosen at `subscribe()`).
#[pyclass(module = "haoyuan._native", frozen)]
pub struct Subscription {
    rx: haoyuan::Subscription,
}

impl Subscription {
    pub fn new(rx: haoyuan::Subscription) -> Self {
        Subscription { rx }
    }

    /// Up to `max_events` events, waiting at most `timeout_s` for the first (GIL released).
    fn take(
        &self,
        py: Python<'_>,
        max_events: u64,
        timeout_s: f64,
    ) -> PyResult<Vec<haoyuan::Event>> {
        if max_events == 0 || max_events > POLL_MAX as u64 {
            return Err(invalid(format!("max_events {max_events} must be 1 ..= {POLL_MAX}")));
        }
        let max_events = max_events as usize;
        if !(timeout_s.is_finite() && (0.0..=86_400.0).contains(&timeout_s)) {
            return Err(invalid("timeout_s must be 0 ..= 86400 seconds"));
        }
        let rx = &self.rx;
        Ok(py.allow_threads(|| {
            let mut out = Vec::new();
            if timeout_s > 0.0 {
                match rx.recv_timeout(Duration::from_secs_f64(timeout_s)) {
                    Some(e) => out.push(e),
                    None => return out,
                }
            }
            while out.len() < max_events {
                match rx.try_recv() {
                    Some(e) => out.push(e),
                    None => break,
                }
            }
            // Events of different threads may arrive a few places out of order; seq is gap-free.
            out.sort_by_key(|e| e.seq);
            out
        }))
    }
}

#[pymethods]
impl Subscription {
    /// Events that have arrived (up to `max_events`), in sequence order; with `timeout_s > 0`,
    /// wait that long for the first one.
    #[pyo3(signature = (max_events=100_000, timeout_s=0.0))]
    fn poll(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = int::<u64>)] max_events: u64,
        #[pyo3(from_py_with = float)] timeout_s: f64,
    ) -> PyResult<Vec<Event>> {
        let events = self.take(py, max_events, timeout_s)?;
        events.iter().map(|e| to_event(py, e)).collect()
    }

    /// The next event if one is waiting, else None; never waits (Rust
    /// `Subscription::try_recv`, C `hy_subscription_try_recv`).
    fn try_recv(&self, py: Python<'_>) -> PyResult<Option<Event>> {
        self.rx.try_recv().map(|e| to_event(py, &e)).transpose()
    }

    /// Wait for the next event, at most `timeout_s` seconds (0 ..= 86400; None: until one
    /// arrives or the subscription ends). None on timeout or end. The GIL is released while
    /// waiting, and Ctrl-C interrupts the wait (Rust `Subscription::recv` / `recv_timeout`).
    #[pyo3(signature = (timeout_s=None))]
    fn recv(&self, py: Python<'_>, timeout_s: Option<f64>) -> PyResult<Option<Event>> {
        if let Some(t) = timeout_s {
            if !(t.is_finite() && (0.0..=86_400.0).contains(&t)) {
                return Err(invalid("timeout_s must be 0 ..= 86400 seconds"));
            }
        }
        let deadline = timeout_s.map(|t| std::time::Instant::now() + Duration::from_secs_f64(t));
        // Wait in short steps so that signals (KeyboardInterrupt) are seen between them.
        const STEP: Duration = Duration::from_millis(100);
        loop {
            let step = match deadline {
                Some(d) => d.saturating_duration_since(std::time::Instant::now()).min(STEP),
                None => STEP,
            };
            let rx = &self.rx;
            if let Some(e) = py.allow_threads(|| rx.recv_timeout(step)) {
                return to_event(py, &e).map(Some);
            }
            if self.rx.is_ended() || deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                return Ok(None);
            }
            py.check_signals()?;
        }
    }

    /// Like `poll`, as columns: `seq`, `at` (arrays), `kind` (list of str), `booking`, `slot`,
    /// `patient` (int64 arrays, -1 where the event has no such field) and `data` (JSON text).
    #[pyo3(signature = (max_events=1_000_000))]
    fn poll_columns<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = int::<u64>)] max_events: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let events = self.take(py, max_events, 0.0)?;
        event_columns(py, &events)
    }

    /// Events waiting to be polled.
    fn pending(&self) -> usize {
        self.rx.len()
    }

    /// The queue's size (events).
    #[getter]
    fn capacity(&self) -> usize {
        self.rx.capacity()
    }

    /// Whether the engine cut this subscription off because its queue was full
    /// (`overflow="disconnect"`): events after those still queued were not delivered, and
    /// the gap shows in `seq`.
    #[getter]
    fn cut_off(&self) -> bool {
        self.rx.is_cut_off()
    }
}

/// Events as columns (`poll_columns`, `read_journal_columns`): `seq`, `at` (arrays), `kind`
/// (list of str), `booking`, `slot`, `patient` (int64 arrays, -1 where the event has no such
/// field) and `data` (the other fields as JSON text).
pub fn event_columns<'py>(
    py: Python<'py>,
    events: &[haoyuan::Event],
) -> PyResult<Bound<'py, PyDict>> {
    let n = events.len();
    let (mut seq, mut at, mut booking, mut slot, mut patient) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let kinds = PyList::empty(py);
    let data = PyList::empty(py);
    for e in events {
        let (kind, map) = split(e);
        seq.push(e.seq);
        at.push(e.at.0);
        booking.push(id_field(&map, "booking"));
        slot.push(id_field(&map, "slot"));
        patient.push(id_field(&map, "patient"));
        kinds.append(kind)?;
        data.append(serde_json::Value::Object(map).to_string())?;
    }
    let out = PyDict::new(py);
    out.set_item("seq", PyArray1::from_vec(py, seq))?;
    out.set_item("at", PyArray1::from_vec(py, at))?;
    out.set_item("kind", kinds)?;
    out.set_item("booking", PyArray1::from_vec(py, booking))?;
    out.set_item("slot", PyArray1::from_vec(py, slot))?;
    out.set_item("patient", PyArray1::from_vec(py, patient))?;
    out.set_item("data", data)?;
    Ok(out)
}
