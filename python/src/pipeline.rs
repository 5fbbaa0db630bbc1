//! Pipelined acknowledgements from Python (core `pipeline.rs`): `Engine.pipeline()` scopes,
//! tickets, `Engine.wait_durable`, `Engine.on_durable` (and so `await engine.durable(ticket)`).
//!
//! Callbacks never run on the journal's writer thread: there the callback only queues the
//! outcome for one helper thread of this module, which calls Python with the GIL. The writer
//! never waits for the GIL — a Python thread that holds it while dropping or closing an engine
//! (which joins the writer) cannot deadlock with it, and a slow callback delays no fsync.
//!
//! This module knows the engine only as `Inner` (`inner.rs`), so that `engine.rs` can build on
//! it without an import circle.

use crate::errors::{invalid, HyErr};
use crate::inner::Inner;
use crossbeam_channel::{RecvTimeoutError, Sender};
use haoyuan::{DurableTicket, PipelineScope};
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

pub fn durability_error(msg: impl Into<String>) -> PyErr {
    PyErr::from(HyErr(haoyuan::Error::Durability(msg.into())))
}

// ------------------------------------------------------------------ tickets

/// A ticket argument: at most the engine's last event (a larger one names nothing that has
/// happened, and waiting on it could last forever).
pub fn ticket_arg(e: &haoyuan::Engine, ticket: u64) -> PyResult<DurableTicket> {
    let last = e.last_event_seq();
    if ticket > last {
        return Err(invalid(format!(
            "ticket {ticket} is ahead of the engine's last event {last}: take tickets from Engine.ticket() or a pipeline"
        )));
    }
    Ok(DurableTicket(ticket))
}

/// `Engine.wait_durable`: wait in short steps with the GIL released (Ctrl-C is seen between
/// them) for the `on_durable` callback, at most `timeout_s`.
pub fn wait(
    py: Python<'_>,
    e: Arc<Inner>,
    ticket: DurableTicket,
    timeout_s: Option<f64>,
) -> PyResult<bool> {
    if let Some(t) = timeout_s {
        if !(t.is_finite() && (0.0..=86_400.0).contains(&t)) {
            return Err(invalid("timeout_s must be 0 ..= 86400 seconds"));
        }
    }
    if e.is_durable(ticket) {
        return Ok(true);
    }
    let (tx, rx) = crossbeam_channel::bounded::<haoyuan::Result<()>>(1);
    e.on_durable(
        ticket,
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
    );
    // The callback holds what it needs: a `close()` on another thread need not wait for us
    // (it flushes, so the callback then reports the ticket durable).
    drop(e);
    let deadline = timeout_s.map(|t| Instant::now() + Duration::from_secs_f64(t));
    const STEP: Duration = Duration::from_millis(100);
    loop {
        let step = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()).min(STEP),
            None => STEP,
        };
        match py.allow_threads(|| rx.recv_timeout(step)) {
            Ok(Ok(())) => return Ok(true),
            Ok(Err(err)) => return Err(HyErr(err).into()),
            Err(RecvTimeoutError::Disconnected) => {
                return Err(durability_error(
                    "the engine was dropped before the ticket was durable",
                ))
            }
            Err(RecvTimeoutError::Timeout) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(false);
                }
                py.check_signals()?;
            }
        }
    }
}

/// A Python callback and the outcome to call it with.
type Delivery = (Py<PyAny>, haoyuan::Result<()>);

/// The helper thread that calls the `on_durable` callbacks, and the process that started it
/// (a forked child starts its own: the parent's thread does not exist there).
static DISPATCHER: Mutex<Option<(u32, Sender<Delivery>)>> = Mutex::new(None);

fn dispatcher() -> PyResult<Sender<Delivery>> {
    let pid = std::process::id();
    let mut slot = DISPATCHER.lock();
    if let Some((owner, tx)) = slot.as_ref() {
        if *owner == pid {
            return Ok(tx.clone());
        }
    }
    let (tx, rx) = crossbeam_channel::unbounded::<Delivery>();
    std::thread::Builder::new()
        .name("haoyuan-durable".into())
        .spawn(move || {
            for (callback, outcome) in rx {
                Python::with_gil(|py| {
                    let arg: Py<PyAny> = match outcome {
                        Ok(()) => py.None(),
                        Err(e) => PyErr::from(HyErr(e)).into_value(py).into_any(),
                    };
                    if let Err(err) = callback.call1(py, (arg,)) {
                        err.write_unraisable(py, Some(callback.bind(py)));
                    }
                    drop(callback);
                });
            }
        })
        .map_err(|e| {
            PyErr::from(HyErr(haoyuan::Error::CapacityExceeded(format!(
                "cannot start the thread that runs durability callbacks: {e}"
            ))))
        })?;
    *slot = Some((pid, tx.clone()));
    Ok(tx)
}

/// `Engine.on_durable`: the engine's callback (on the writer thread, or at once here) only
/// queues the outcome for the helper thread.
pub fn on_durable(e: &haoyuan::Engine, ticket: DurableTicket, callback: Py<PyAny>) -> PyResult<()> {
    let tx = dispatcher()?;
    e.on_durable(
        ticket,
        Box::new(move |outcome| {
            // Fails only if the helper thread is gone (interpreter shutdown): the callback is
            // then dropped without the GIL, which pyo3 defers safely.
            let _ = tx.send((callback, outcome));
        }),
    );
    Ok(())
}

// ------------------------------------------------------------------ pipelines

thread_local! {
    /// The pipeline scopes entered on this thread, by token. A `PipelineScope` marks the thread
    /// that made it and must end there: it stays here, and the Python object keeps its token.
    static SCOPES: RefCell<Vec<(u64, PipelineScope)>> = const { RefCell::new(Vec::new()) };
}

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// End the scope `token` of this thread (nothing if it is not here).
fn end_scope(token: u64) {
    let _ = SCOPES.try_with(|s| {
        let mut s = s.borrow_mut();
        if let Some(i) = s.iter().position(|(t, _)| *t == token) {
            // Dropping the scope ends the pipeline mark of this thread.
            drop(s.remove(i));
        }
    });
}

#[derive(Default)]
struct PipelineState {
    /// While entered: the thread and the token of its scope.
    entered: Option<(ThreadId, u64)>,
    used: bool,
    ticket: Option<u64>,
}

/// `with engine.pipeline() as p:` — the calls this thread makes inside the block return their
/// in-memory outcome without waiting for the journal; `p.ticket` (set on exit) covers them all.
/// Acknowledge those outcomes only after `engine.wait_durable(p.ticket)` returned True. Enter
/// and exit on the same thread; a pipeline is entered once (ask `engine.pipeline()` again).
/// The pipeline's engine, for each call (`Err` once a durable engine is closed): given by
/// `Engine.pipeline`, so that this module need not know the `Engine` class.
pub type EngineRef = Box<dyn Fn() -> PyResult<Arc<Inner>> + Send + Sync>;

#[pyclass(module = "haoyuan._native", frozen)]
pub struct Pipeline {
    engine: EngineRef,
    state: Mutex<PipelineState>,
}

impl Pipeline {
    pub fn new(engine: EngineRef) -> Pipeline {
        Pipeline { engine, state: Mutex::new(PipelineState::default()) }
    }
}

#[pymethods]
impl Pipeline {
    fn __enter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, Self>> {
        let this = slf.get();
        let mut st = this.state.lock();
        if st.used {
            return Err(invalid(
                "this pipeline was already entered; take a new one with engine.pipeline()",
            ));
        }
        let e = (this.engine)()?;
        let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        SCOPES.with(|s| s.borrow_mut().push((token, e.pipeline_scope())));
        st.entered = Some((std::thread::current().id(), token));
        st.used = true;
        Ok(slf.clone())
    }

    /// End the pipeline and set `ticket`. Never suppresses an exception.
    #[pyo3(signature = (*args))]
    fn __exit__(&self, args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        let mut st = self.state.lock();
        let Some((thread, token)) = st.entered else {
            return Err(invalid("this pipeline is not entered"));
        };
        if thread != std::thread::current().id() {
            return Err(invalid("a pipeline ends on the thread that entered it"));
        }
        end_scope(token);
        st.entered = None;
        match (self.engine)() {
            Ok(e) => st.ticket = Some(e.ticket().0),
            // Closed inside the block: `close()` flushed everything. Do not hide an exception
            // already on its way out.
            Err(err) => {
                let propagating = args.get_item(0).is_ok_and(|t| !t.is_none());
                if !propagating {
                    return Err(err);
                }
            }
        }
        Ok(false)
    }

    /// The ticket covering every call made in the block (None until the block ends).
    #[getter]
    fn ticket(&self) -> Option<u64> {
        self.state.lock().ticket
    }

    /// Whether the block is running.
    #[getter]
    fn active(&self) -> bool {
        self.state.lock().entered.is_some()
    }

    fn __repr__(&self) -> String {
        let st = self.state.lock();
        match (st.entered, st.ticket) {
            (Some(_), _) => String::from("Pipeline(active)"),
            (None, Some(t)) => format!("Pipeline(ticket={t})"),
            (None, None) => String::from("Pipeline(not entered)"),
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        // Dropped without `__exit__` (a pipeline entered by hand): end the scope if we are on its
        // thread. On another thread it cannot be ended; it ends with its thread.
        if let Some((thread, token)) = self.state.get_mut().entered {
            if thread == std::thread::current().id() {
                end_scope(token);
            }
        }
    }
}
