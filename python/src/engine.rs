//! `haoyuan.Engine`: the whole engine API with DOMAIN.md's names. Each method converts its
//! arguments, then calls the Rust engine through `runtime::run` (GIL released, errors mapped).
//! The engine is `Send + Sync` and the class is frozen, so any number of Python threads may call
//! one engine at once.

use crate::args::{float, int, Id, Int};
use crate::bulk;
use crate::convert::{
    enum_str, json_to_py, parse_enum, DateArg, TimeArg, TimeOfDayArg, INSTANT_MAX, RESOURCE_KINDS,
    TIERS, URGENCIES,
};
use crate::errors::{invalid, HyErr};
use crate::events::Subscription;
use crate::inner::Inner;
use crate::pipeline::{self, Pipeline};
use crate::policy::{policy_arg, Policy};
use crate::runtime::{run, run_parallel};
use crate::types::*;
use haoyuan::{
    AvailabilityQuery, BookingId, CardKey, ChannelId, DepartmentId, EngineConfig, InstitutionId,
    PatientId, RecommendQuery, ReferralId, ReferralRequest, Request, ResourceId, RosterId, SlotId,
    SlotSpec, WaitlistId, WaitlistRequest, REGISTER_BATCH_MAX,
};
use numpy::{PyArray1, PyReadonlyArray1};
use parking_lot::RwLock;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyRange, PyString};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A channel argument: its id, or its name ("app", "wechat", "kiosk" …).
pub enum ChannelArg {
    Id(ChannelId),
    Name(String),
}

impl<'py> FromPyObject<'py> for ChannelArg {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        match ob.downcast::<PyString>() {
            Ok(s) => Ok(ChannelArg::Name(s.to_cow()?.into_owned())),
            Err(_) => Ok(ChannelArg::Id(ob.extract::<Id<ChannelId>>()?.0)),
        }
    }
}

/// The card numbers of `register_patients_with_cards`: a sequence of `str` (not one `str`), at
/// most `REGISTER_BATCH_MAX`. A message names an entry by its index and type, never its value
/// (a card number is personal information).
fn card_numbers(numbers: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let too_many = || invalid(format!("at most {REGISTER_BATCH_MAX} card numbers per call"));
    if numbers.is_instance_of::<PyString>() {
        return Err(invalid("numbers must be a sequence of card numbers, not one str"));
    }
    // A sized collection beyond the bound is refused before one item is converted.
    if numbers.len().is_ok_and(|n| n > REGISTER_BATCH_MAX) {
        return Err(too_many());
    }
    let Ok(items) = numbers.try_iter() else {
        let kind = numbers.get_type().name()?;
        return Err(invalid(format!("numbers must be a sequence of str, got {kind}")));
    };
    let mut out = Vec::with_capacity(numbers.len().unwrap_or(0));
    for (i, item) in items.enumerate() {
        if i >= REGISTER_BATCH_MAX {
            return Err(too_many());
        }
        let item = item?;
        let Ok(s) = item.downcast::<PyString>() else {
            let kind = item.get_type().name()?;
            return Err(invalid(format!("numbers[{i}] must be a str, got {kind}")));
        };
        out.push(s.to_cow()?.into_owned());
    }
    Ok(out)
}

/// Most specs one list-based `publish_slots` call takes (the array form takes the engine's own
/// bound, `PUBLISH_BATCH_MAX`).
const PUBLISH_LIST_MAX: usize = haoyuan::PUBLISH_BATCH_MAX;

/// The engine: one region-wide pool of slots. `Engine()` runs on the system clock;
/// `Engine(start=t)` on a manual clock that moves only through `advance_clock` / `advance_to`.
/// `DurableEngine` (durable.rs) is its subclass journaled on a directory.
#[pyclass(module = "haoyuan._native", frozen, subclass)]
pub struct Engine {
    /// The engine; `None` once a durable engine is closed. Each call takes its own reference
    /// (an `Arc` clone) for its duration, so `DurableEngine.close` can wait for the calls in
    /// progress on other threads and then own the engine to close it.
    cell: RwLock<Option<Arc<Inner>>>,
    manual: bool,
    /// The directory of a durable engine (for messages).
    dir: Option<PathBuf>,
}

/// The error of every call on a closed durable engine.
pub fn closed_error(dir: Option<&Path>) -> PyErr {
    let at = dir.map(|d| format!(" on {}", d.display())).unwrap_or_default();
    PyErr::from(HyErr(haoyuan::Error::Durability(format!(
        "the durable engine{at} is closed; open the directory again to go on"
    ))))
}

impl Engine {
    pub fn from_inner(inner: Inner, manual: bool, dir: Option<PathBuf>) -> Engine {
        Engine { cell: RwLock::new(Some(Arc::new(inner))), manual, dir }
    }

    /// The engine for one call, or `Durability` once it is closed.
    pub fn engine(&self) -> PyResult<Arc<Inner>> {
        self.cell.read().clone().ok_or_else(|| closed_error(self.dir.as_deref()))
    }

    /// Take the engine out (closing): later calls fail with `Durability`.
    pub fn take(&self) -> Option<Arc<Inner>> {
        self.cell.write().take()
    }

    /// Put back an engine that `take` removed (a close that could not finish).
    pub fn put_back(&self, inner: Arc<Inner>) {
        *self.cell.write() = Some(inner);
    }

    pub fn is_closed(&self) -> bool {
        self.cell.read().is_none()
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    pub fn is_manual(&self) -> bool {
        self.manual
    }

    fn channel_of(e: &haoyuan::Engine, c: ChannelArg) -> PyResult<ChannelId> {
        match c {
            ChannelArg::Id(id) => Ok(id),
            ChannelArg::Name(name) => Ok(e.channel_id(&name).map_err(HyErr)?),
        }
    }

    fn request(
        e: &haoyuan::Engine,
        patient: PatientId,
        slot: SlotId,
        channel: ChannelArg,
        referral: Option<Id<ReferralId>>,
        follow_up: bool,
    ) -> PyResult<Request> {
        Ok(Request {
            patient,
            slot,
            channel: Self::channel_of(e, channel)?,
            referral: referral.map(|r| r.0),
            follow_up,
        })
    }

    pub fn institution_record(e: &haoyuan::Engine, i: haoyuan::Institution) -> Institution {
        Institution {
            id: i.id.0,
            name: i.name,
            tier: enum_str(&i.tier),
            district: e.district_name(i.district).unwrap_or_default(),
        }
    }

    fn department_record(e: &haoyuan::Engine, d: haoyuan::Department) -> PyResult<Department> {
        Ok(Department {
            id: d.id.0,
            institution: d.institution.0,
            specialty: e.specialty_name(d.specialty).map_err(HyErr)?,
            name: d.name,
        })
    }

    fn resource_record(r: &haoyuan::Resource) -> Resource {
        Resource {
            id: r.id.0,
            department: r.department.0,
            kind: enum_str(&r.kind),
            name: r.name.clone(),
            expert: r.expert,
        }
    }

    fn referral_record(e: &haoyuan::Engine, r: haoyuan::Referral) -> Referral {
        Referral {
            id: r.id.0,
            patient: r.patient.0,
            from_: r.from.0,
            specialty: e.specialty_name(r.specialty).unwrap_or_default(),
            institution: r.institution.map(|i| i.0),
            urgency: enum_str(&r.urgency),
            valid_from: r.valid_from.0,
            valid_until: r.valid_until.0,
            used_by: r.used_by.map(|b| b.0),
        }
    }
}

/// The card key: 32 bytes, or 64 hex characters; `None` leaves it to the environment
/// (`HAOYUAN_CARD_KEY` / `HAOYUAN_CARD_KEY_FILE`), else a random key per engine.
pub fn card_key_arg(key: Option<&Bound<'_, PyAny>>) -> PyResult<Option<CardKey>> {
    let Some(key) = key.filter(|k| !k.is_none()) else { return Ok(None) };
    let parsed = if let Ok(b) = key.downcast::<pyo3::types::PyBytes>() {
        CardKey::from_bytes(b.as_bytes())
    } else if let Ok(s) = key.extract::<String>() {
        CardKey::from_hex(&s)
    } else {
        return Err(invalid("card_key must be 32 bytes or 64 hexadecimal characters"));
    };
    Ok(Some(parsed.map_err(HyErr)?))
}

/// Operator metrics as a dict (JSON's shape: the same keys in every face); `Engine.metrics`
/// and `Standby.metrics`.
pub(crate) fn metrics_dict<'py>(
    py: Python<'py>,
    m: &haoyuan::Metrics,
) -> PyResult<Bound<'py, PyDict>> {
    let v = serde_json::to_value(m)
        .map_err(|err| invalid(format!("cannot encode the metrics: {err}")))?;
    Ok(json_to_py(py, &v)?.downcast_into::<PyDict>()?)
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (policy=None, *, start=None, utc_offset_s=Int(8 * 3600), card_key=None))]
    fn new(
        py: Python<'_>,
        policy: Option<&Bound<'_, PyAny>>,
        start: Option<TimeArg>,
        utc_offset_s: Int<i32>,
        card_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let Int(utc_offset_s) = utc_offset_s;
        let config = EngineConfig {
            policy: policy_arg(policy)?,
            utc_offset_s,
            card_key: card_key_arg(card_key)?,
        };
        let (engine, manual) = match start {
            Some(TimeArg(t)) => (run(py, || haoyuan::Engine::with_manual_clock(config, t))?, true),
            None => (run(py, || haoyuan::Engine::new(config))?, false),
        };
        Ok(Engine::from_inner(Inner::Memory(engine), manual, None))
    }

    /// An engine on a manual clock starting at `start` (int seconds or an aware datetime),
    /// moved only by `advance_clock` / `advance_to` (Rust `Engine::with_manual_clock`, C
    /// `hy_engine_with_manual_clock`). The same as `Engine(policy, start=start, ...)`.
    #[classmethod]
    #[pyo3(signature = (policy=None, *, start, utc_offset_s=None, card_key=None))]
    fn with_manual_clock<'py>(
        cls: &Bound<'py, pyo3::types::PyType>,
        policy: Option<&Bound<'py, PyAny>>,
        start: &Bound<'py, PyAny>,
        utc_offset_s: Option<&Bound<'py, PyAny>>,
        card_key: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kwargs = PyDict::new(cls.py());
        kwargs.set_item("start", start)?;
        if let Some(o) = utc_offset_s {
            kwargs.set_item("utc_offset_s", o)?;
        }
        kwargs.set_item("card_key", card_key)?;
        // Through the class, so that `haoyuan.Engine.with_manual_clock` makes a `haoyuan.Engine`.
        cls.call((policy,), Some(&kwargs))
    }

    fn __repr__(&self) -> String {
        let Ok(e) = self.engine() else { return String::from("Engine(closed)") };
        let s = e.stats();
        format!(
            "Engine(clock={}, institutions={}, departments={}, resources={}, patients={}, slots={}, last_event_seq={})",
            if self.manual { "manual" } else { "system" },
            s.institutions,
            s.departments,
            s.resources,
            s.patients,
            s.slots,
            s.last_event_seq
        )
    }

    /// The policy the engine runs now (a copy: `set_policy` replaces it, never this object).
    #[getter]
    fn policy(&self) -> PyResult<Policy> {
        Ok(Policy { inner: (*self.engine()?.policy()).clone() })
    }

    /// Replace the running policy from now on (a `Policy`, a dict, or TOML / JSON text, as for
    /// the constructor), journaled in a `DurableEngine`. Never retroactive: published slots
    /// keep their pools, holds their expiry, suspensions their end. A policy that fails
    /// validation or regroups the channel quotas is `InvalidPolicy`, and nothing changes.
    fn set_policy(&self, py: Python<'_>, policy: &Bound<'_, PyAny>) -> PyResult<()> {
        if policy.is_none() {
            return Err(invalid("set_policy needs a policy (None would mean the default one)"));
        }
        let policy = policy_arg(Some(policy))?;
        let e = self.engine()?;
        run(py, || e.set_policy(policy))
    }

    /// No-show-driven overbooking: set each resource's overbooking ratio from its measured
    /// no-show rate so that a full session overflows (more patients come than it has places)
    /// with probability at most `overflow_risk`; resources with fewer than `min_outcomes`
    /// outcomes keep theirs; ratios at most `max_ratio`. One journaled policy change (none if
    /// nothing changed), never retroactive. Needs `overbooking.spread = "session"`
    /// (`InvalidPolicy` otherwise). Returns the report as a dict (`resources`, `skipped`,
    /// `policy_changed`).
    #[pyo3(signature = (*, overflow_risk=0.05, min_outcomes=50, max_ratio=0.5))]
    fn calibrate_overbooking<'py>(
        &self,
        py: Python<'py>,
        overflow_risk: f64,
        #[pyo3(from_py_with = int::<u64>)] min_outcomes: u64,
        max_ratio: f32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = haoyuan::OverbookingCalibration { overflow_risk, min_outcomes, max_ratio };
        let e = self.engine()?;
        let report = run(py, || e.calibrate_overbooking(&c))?;
        as_python(py, &report)
    }

    /// Run a patient-facing change at most once per request key (idempotent retries): a retry
    /// with the same `request_key` returns the first outcome instead of acting again, across
    /// a crash and reopen of a `DurableEngine` too. `command` is a dict (or JSON text) naming
    /// the call and its arguments, e.g. `{"command": "book", "request": {"patient": 1,
    /// "slot": 2, "channel": 1}}`; the outcome is a dict (`{"outcome": "booking", "booking":
    /// {...}}`). A failed request is not remembered. `InvalidArgument` for a malformed key or
    /// command, a key used for another command, or a request with this key still running.
    #[pyo3(signature = (command, request_key=None))]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        command: &Bound<'py, PyAny>,
        request_key: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let text = match command.downcast::<pyo3::types::PyString>() {
            Ok(s) => s.to_cow()?.into_owned(),
            Err(_) => crate::convert::py_to_json(command)?,
        };
        let command: haoyuan::Command =
            serde_json::from_str(&text).map_err(|e| invalid(format!("command: {e}")))?;
        let key = request_key.map(haoyuan::RequestKey::new).transpose().map_err(HyErr)?;
        let e = self.engine()?;
        let outcome = run(py, || e.execute(key.as_ref(), &command))?;
        let json = serde_json::to_string(&outcome).map_err(|e| invalid(e.to_string()))?;
        py.import("json")?.call_method1("loads", (json,))
    }

    #[getter]
    fn utc_offset_s(&self) -> PyResult<i32> {
        Ok(self.engine()?.utc_offset_s())
    }

    /// Whether the engine runs on a manual clock.
    #[getter]
    fn manual_clock(&self) -> bool {
        self.manual
    }

    // ------------------------------------------------------------------ clock

    /// The engine's current time, int seconds since the epoch.
    fn now(&self) -> PyResult<i64> {
        Ok(self.engine()?.now().0)
    }

    /// Move the manual clock forward by `seconds` (0 ..= 366 days, and never past
    /// `INSTANT_MAX`, the end of the calendar) and process what fell due.
    fn advance_clock(&self, py: Python<'_>, seconds: Int<i64>) -> PyResult<()> {
        let Int(seconds) = seconds;
        let e = self.engine()?;
        if self.manual && seconds > 0 && e.now().0.saturating_add(seconds) > INSTANT_MAX {
            return Err(invalid(format!(
                "advance of {seconds} s would move the clock past {INSTANT_MAX} (2199-12-31)"
            )));
        }
        run(py, || e.advance_clock(seconds))
    }

    /// Move the manual clock to `t` and process what fell due. A manual clock never goes back:
    /// an earlier `t` raises `InvalidArgument` and changes nothing.
    fn advance_to(&self, py: Python<'_>, t: TimeArg) -> PyResult<()> {
        let e = self.engine()?;
        run(py, || e.advance_to(t.0))
    }

    /// Expire due holds and draw due lotteries; returns how many holds expired.
    fn tick(&self, py: Python<'_>) -> PyResult<usize> {
        let e = self.engine()?;
        run(py, || Ok(e.tick()))
    }

    // ------------------------------------------------------------------ registry

    fn add_institution(
        &self,
        py: Python<'_>,
        name: &str,
        tier: &str,
        district: &str,
    ) -> PyResult<u32> {
        let tier = parse_enum("tier", tier, TIERS)?;
        let e = self.engine()?;
        run(py, || e.add_institution(name, tier, district)).map(|i| i.0)
    }

    fn add_department(
        &self,
        py: Python<'_>,
        institution: Id<InstitutionId>,
        specialty: &str,
        name: &str,
    ) -> PyResult<u32> {
        let e = self.engine()?;
        run(py, || e.add_department(institution.0, specialty, name)).map(|d| d.0)
    }

    #[pyo3(signature = (department, kind, name, expert=false))]
    fn add_resource(
        &self,
        py: Python<'_>,
        department: Id<DepartmentId>,
        kind: &str,
        name: &str,
        expert: bool,
    ) -> PyResult<u32> {
        let kind = parse_enum("resource kind", kind, RESOURCE_KINDS)?;
        let e = self.engine()?;
        run(py, || e.add_resource(department.0, kind, name, expert)).map(|r| r.0)
    }

    /// Add a channel (idempotent by name); the six standard channels exist from the start.
    fn add_channel(&self, py: Python<'_>, name: &str) -> PyResult<u16> {
        let e = self.engine()?;
        run(py, || e.add_channel(name)).map(|c| c.0)
    }

    fn channel_id(&self, name: &str) -> PyResult<u16> {
        Ok(self.engine()?.channel_id(name).map_err(HyErr)?.0)
    }

    fn institution(&self, id: Id<InstitutionId>) -> PyResult<Institution> {
        let e = self.engine()?;
        let i = e.institution(id.0).map_err(HyErr)?;
        Ok(Self::institution_record(&e, i))
    }

    fn department(&self, id: Id<DepartmentId>) -> PyResult<Department> {
        let e = self.engine()?;
        let d = e.department(id.0).map_err(HyErr)?;
        Self::department_record(&e, d)
    }

    fn resource(&self, id: Id<ResourceId>) -> PyResult<Resource> {
        let r = self.engine()?.resource(id.0).map_err(HyErr)?;
        Ok(Self::resource_record(&r))
    }

    /// Every institution, in id order.
    fn institutions(&self, py: Python<'_>) -> PyResult<Vec<Institution>> {
        let e = self.engine()?;
        let all = run(py, || Ok(e.institutions()))?;
        Ok(all.into_iter().map(|i| Self::institution_record(&e, i)).collect())
    }

    /// An institution's departments, in id order.
    fn departments_of(
        &self,
        py: Python<'_>,
        institution: Id<InstitutionId>,
    ) -> PyResult<Vec<Department>> {
        let e = self.engine()?;
        let all = run(py, || e.departments_of(institution.0))?;
        all.into_iter().map(|d| Self::department_record(&e, d)).collect()
    }

    /// A department's resources, in id order.
    fn resources_of(
        &self,
        py: Python<'_>,
        department: Id<DepartmentId>,
    ) -> PyResult<Vec<Resource>> {
        let e = self.engine()?;
        let all = run(py, || e.resources_of(department.0))?;
        Ok(all.iter().map(Self::resource_record).collect())
    }

    fn channel(&self, id: Id<ChannelId>) -> PyResult<Channel> {
        let c = self.engine()?.channel(id.0).map_err(HyErr)?;
        Ok(Channel { id: c.id.0, name: c.name })
    }

    /// Measured no-show rate of a resource (for setting its overbooking ratio).
    fn resource_stats(&self, id: Id<ResourceId>) -> PyResult<ResourceStats> {
        Ok(self.engine()?.resource_stats(id.0).map_err(HyErr)?.into())
    }

    fn stats(&self) -> PyResult<EngineStats> {
        Ok(self.engine()?.stats().into())
    }

    // ------------------------------------------------------------------ patients

    fn register_patient(&self, py: Python<'_>) -> PyResult<u32> {
        let e = self.engine()?;
        run(py, || e.register_patient()).map(|p| p.0)
    }

    /// Register `n` patients at once (0 ..= 1,000,000), all or nothing: their ids are
    /// contiguous, in order, returned as a `uint32` array (the `patient` column of `book_many`).
    /// `n` above the bound is `InvalidArgument` and registers no one.
    fn register_patients<'py>(
        &self,
        py: Python<'py>,
        n: Int<u64>,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let n = match usize::try_from(n.0) {
            Ok(n) if n <= REGISTER_BATCH_MAX => n,
            _ => {
                return Err(invalid(format!(
                    "n {} is above the limit of {REGISTER_BATCH_MAX} patients per call",
                    n.0
                )))
            }
        };
        let e = self.engine()?;
        let ids = run(py, || e.register_patients(n))?;
        Ok(PyArray1::from_vec(py, ids.into_iter().map(|p| p.0).collect()))
    }

    /// Register one patient per card number (a sequence of `str`, at most 1,000,000), each with
    /// that card linked; all or nothing. Returns the new ids as a `uint32` array, contiguous and
    /// in the order of `numbers`. A malformed number or one given twice is `InvalidArgument`, a
    /// card someone already has `CardTaken`; then no one is registered.
    fn register_patients_with_cards<'py>(
        &self,
        py: Python<'py>,
        card_type: &str,
        numbers: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let numbers = card_numbers(numbers)?;
        let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
        let e = self.engine()?;
        // The numbers are hashed in parallel: in the fork-safe pool.
        let ids = run_parallel(py, || e.register_patients_with_cards(card_type, &refs))?;
        Ok(PyArray1::from_vec(py, ids.into_iter().map(|p| p.0).collect()))
    }

    /// Link a card (card type + number) to a patient; a card owned by another is `CardTaken`.
    fn link_card(
        &self,
        py: Python<'_>,
        patient: Id<PatientId>,
        card_type: &str,
        number: &str,
    ) -> PyResult<()> {
        let e = self.engine()?;
        run(py, || e.link_card(patient.0, card_type, number))
    }

    /// The patient a card belongs to (following merges), or None.
    fn find_patient_by_card(
        &self,
        py: Python<'_>,
        card_type: &str,
        number: &str,
    ) -> PyResult<Option<u32>> {
        let e = self.engine()?;
        run(py, || e.find_patient_by_card(card_type, number)).map(|p| p.map(|p| p.0))
    }

    /// Merge `merged` into `survivor` (the same person found twice).
    fn merge_patients(
        &self,
        py: Python<'_>,
        survivor: Id<PatientId>,
        merged: Id<PatientId>,
    ) -> PyResult<()> {
        let e = self.engine()?;
        run(py, || e.merge_patients(survivor.0, merged.0))
    }

    fn patient_record(&self, py: Python<'_>, patient: Id<PatientId>) -> PyResult<PatientRecord> {
        let e = self.engine()?;
        let r = run(py, || e.patient_record(patient.0))?;
        Ok(PatientRecord {
            patient: r.patient.0,
            cards: r.cards.into_iter().map(Card::from).collect(),
            no_shows_in_window: r.no_shows_in_window + 0.0, // an empty f32 sum is -0.0
            suspended_until: r.suspended_until.map(|t| t.0),
            active_bookings: r.active_bookings.into_iter().map(Booking::from).collect(),
            referrals: r.referrals.into_iter().map(|x| Self::referral_record(&e, x)).collect(),
            waitlist_entries: r.waitlist_entries,
        })
    }

    /// Every hold and booking of a patient, ended ones included, oldest first.
    fn bookings_of(&self, py: Python<'_>, patient: Id<PatientId>) -> PyResult<Vec<Booking>> {
        let e = self.engine()?;
        run(py, || e.bookings_of(patient.0)).map(|v| v.into_iter().map(Booking::from).collect())
    }

    /// Every hold and booking on `slots` (at most 1,000,000 ids), ordered by (slot, id): who
    /// holds a place.
    fn bookings_on(&self, py: Python<'_>, slots: Vec<Id<SlotId>>) -> PyResult<Vec<Booking>> {
        let ids: Vec<SlotId> = slots.into_iter().map(|s| s.0).collect();
        let e = self.engine()?;
        run(py, || e.bookings_on(&ids)).map(|v| v.into_iter().map(Booking::from).collect())
    }

    fn booking(&self, py: Python<'_>, id: Id<BookingId>) -> PyResult<Booking> {
        let e = self.engine()?;
        run(py, || e.booking(id.0)).map(Booking::from)
    }

    // ------------------------------------------------------------------ slots and rosters

    fn slot(&self, id: Id<SlotId>) -> PyResult<SlotInfo> {
        Ok(self.engine()?.slot(id.0).map_err(HyErr)?.into())
    }

    /// The slot ids of a resource on a date, in start order (empty when none is published).
    fn resource_day_slots(
        &self,
        py: Python<'_>,
        resource: Id<ResourceId>,
        date: DateArg,
    ) -> PyResult<Vec<u32>> {
        let e = self.engine()?;
        run(py, || e.resource_day_slots(resource.0, date.0))
            .map(|v| v.into_iter().map(|s| s.0).collect())
    }

    fn slot_count(&self) -> PyResult<usize> {
        Ok(self.engine()?.slot_count())
    }

    /// Publish slots from an iterable of `(resource, date, start_min, end_min, capacity)`
    /// tuples. All or nothing; returns the new ids as a `range`. Raises `CapacityExceeded`
    /// when a department-day would hold more than 1,000,000,000 places (over every call).
    fn publish_slots<'py>(
        &self,
        py: Python<'py>,
        specs: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyRange>> {
        let too_many = || invalid(format!("at most {PUBLISH_LIST_MAX} slots per publish call"));
        // A sized collection beyond the bound is refused before one item is converted.
        if specs.len().is_ok_and(|n| n > PUBLISH_LIST_MAX) {
            return Err(too_many());
        }
        let Ok(items) = specs.try_iter() else {
            let kind = specs.get_type().name()?;
            return Err(invalid(format!("specs must be an iterable of (resource, date, start_min, end_min, capacity), got {kind}")));
        };
        let mut parsed: Vec<SlotSpec> = Vec::new();
        for item in items {
            if parsed.len() >= PUBLISH_LIST_MAX {
                return Err(too_many());
            }
            let item = item?;
            let (Id(resource), DateArg(date), Int(start_min), Int(end_min), Int(capacity)): (
                Id<ResourceId>,
                DateArg,
                Int<u16>,
                Int<u16>,
                Int<u16>,
            ) = item.extract().map_err(|e| {
                if crate::errors::is_invalid_argument(py, &e) {
                    e
                } else {
                    invalid(format!(
                        "a slot spec is (resource, date, start_min, end_min, capacity), got {}",
                        item.repr().map(|r| r.to_string()).unwrap_or_default()
                    ))
                }
            })?;
            parsed.push(SlotSpec { resource, date, start_min, end_min, capacity });
        }
        let e = self.engine()?;
        let ids = run_parallel(py, || e.publish_slots(&parsed))?;
        PyRange::new(py, ids.start.0 as isize, ids.end.0 as isize)
    }

    /// Publish slots from equal-length NumPy arrays (dates as days since 1970-01-01; the Python
    /// wrapper also accepts `datetime64`). Returns the new ids as a `range`.
    fn publish_slots_arrays<'py>(
        &self,
        py: Python<'py>,
        resource: PyReadonlyArray1<'py, u32>,
        date: PyReadonlyArray1<'py, i32>,
        start_min: PyReadonlyArray1<'py, u16>,
        end_min: PyReadonlyArray1<'py, u16>,
        capacity: PyReadonlyArray1<'py, u16>,
    ) -> PyResult<Bound<'py, PyRange>> {
        let specs = bulk::slot_specs(&resource, &date, &start_min, &end_min, &capacity)?;
        let e = self.engine()?;
        let ids = run_parallel(py, || e.publish_slots(&specs))?;
        PyRange::new(py, ids.start.0 as isize, ids.end.0 as isize)
    }

    /// Add a weekly roster template (weekdays: Monday = 0 … Sunday = 6).
    #[pyo3(signature = (resource, weekdays, start_min, end_min, segment_min, places, valid_from, valid_until, closed_dates=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn add_roster(
        &self,
        py: Python<'_>,
        resource: Id<ResourceId>,
        weekdays: Vec<Int<u8>>,
        start_min: Int<u16>,
        end_min: Int<u16>,
        segment_min: Int<u16>,
        places: Int<u16>,
        valid_from: DateArg,
        valid_until: DateArg,
        closed_dates: Vec<DateArg>,
    ) -> PyResult<u32> {
        if weekdays.len() > 7 || closed_dates.len() > 10_000 {
            return Err(invalid("a roster has at most 7 weekdays and 10,000 closed dates"));
        }
        let roster = haoyuan::Roster {
            resource: resource.0,
            weekdays: weekdays.into_iter().map(|d| d.0).collect(),
            start_min: start_min.0,
            end_min: end_min.0,
            segment_min: segment_min.0,
            places: places.0,
            valid_from: valid_from.0,
            valid_until: valid_until.0,
            closed_dates: closed_dates.into_iter().map(|d| d.0).collect(),
        };
        let e = self.engine()?;
        run(py, || e.add_roster(roster)).map(|r| r.0)
    }

    fn roster(&self, id: Id<RosterId>) -> PyResult<Roster> {
        Ok(self.engine()?.roster(id.0).map_err(HyErr)?.into())
    }

    /// Publish every roster's slots up to and including `until`; returns how many were created.
    fn publish_rosters_until(&self, py: Python<'_>, until: DateArg) -> PyResult<usize> {
        let e = self.engine()?;
        run_parallel(py, || e.publish_rosters_until(until.0))
    }

    /// Suspend a resource's session (停诊) on `date`, the whole day or the segments starting in
    /// `time = (start_min, end_min)`.
    #[pyo3(signature = (resource, date, time=None))]
    fn suspend_session(
        &self,
        py: Python<'_>,
        resource: Id<ResourceId>,
        date: DateArg,
        time: Option<TimeOfDayArg>,
    ) -> PyResult<SuspensionReport> {
        let e = self.engine()?;
        run(py, || e.suspend_session(resource.0, date.0, time.map(|t| t.0)))
            .map(SuspensionReport::from)
    }

    // ------------------------------------------------------------------ availability

    /// Free slots matching the filters, earliest first, at most `limit`.
    #[pyo3(signature = (date_from, date_to=None, *, department=None, resource=None, institution=None, specialty=None, tier=None, district=None, time=None, with_referral=false, limit=100))]
    #[allow(clippy::too_many_arguments)]
    fn find_free_slots(
        &self,
        py: Python<'_>,
        date_from: DateArg,
        date_to: Option<DateArg>,
        department: Option<Id<DepartmentId>>,
        resource: Option<Id<ResourceId>>,
        institution: Option<Id<InstitutionId>>,
        specialty: Option<String>,
        tier: Option<&str>,
        district: Option<String>,
        time: Option<TimeOfDayArg>,
        with_referral: bool,
        #[pyo3(from_py_with = int::<u32>)] limit: u32,
    ) -> PyResult<Vec<FreeSlot>> {
        let q = AvailabilityQuery {
            department: department.map(|d| d.0),
            resource: resource.map(|r| r.0),
            institution: institution.map(|i| i.0),
            specialty,
            tier: tier.map(|t| parse_enum("tier", t, TIERS)).transpose()?,
            district,
            date_from: date_from.0,
            date_to: date_to.unwrap_or(date_from).0,
            time: time.map(|t| t.0),
            with_referral,
            limit,
        };
        let e = self.engine()?;
        run(py, || e.find_free_slots(&q)).map(|v| v.into_iter().map(FreeSlot::from).collect())
    }

    /// Free and total places of a department for each day of a range.
    fn free_places_by_day(
        &self,
        py: Python<'_>,
        department: Id<DepartmentId>,
        date_from: DateArg,
        date_to: DateArg,
    ) -> PyResult<Vec<DayAvailability>> {
        let e = self.engine()?;
        run(py, || e.free_places_by_day(department.0, date_from.0, date_to.0))
            .map(|v| v.into_iter().map(DayAvailability::from).collect())
    }

    /// Other institutions' departments of the same specialty and district with free places,
    /// earliest free place first and, among equally early ones, least loaded that day first.
    /// Each one's `earliest` is, of its slots that start together, the lowest id (the one
    /// `find_free_slots` on that department lists first).
    #[pyo3(signature = (department, date_from, date_to, limit=10))]
    fn alternatives(
        &self,
        py: Python<'_>,
        department: Id<DepartmentId>,
        date_from: DateArg,
        date_to: DateArg,
        #[pyo3(from_py_with = int::<u32>)] limit: u32,
    ) -> PyResult<Vec<Alternative>> {
        let e = self.engine()?;
        run(py, || e.alternatives(department.0, date_from.0, date_to.0, limit))
            .map(|v| v.into_iter().map(Alternative::from).collect())
    }

    /// The live load board of a specialty in a district: one row per department of that
    /// specialty at an institution of that district, least expected wait first. An unknown
    /// specialty or district raises `InvalidArgument`.
    fn load_board(
        &self,
        py: Python<'_>,
        specialty: String,
        district: String,
    ) -> PyResult<Vec<BoardRow>> {
        let e = self.engine()?;
        run(py, || e.load_board(&specialty, &district))
            .map(|b| b.rows.into_iter().map(BoardRow::from).collect())
    }

    /// Recommended departments and doctors for a complaint or a specialty (Qingdao), best
    /// first: with a referral, where it is valid first; then for a routine complaint community
    /// clinics first, for an urgent one the earliest place, for a possible emergency the
    /// highest tier (reason "emergency": go to an emergency department now); within that the
    /// patient's district first, then the earliest free place, then the expected wait. Give
    /// exactly one of `complaint` and `specialty` (neither only with a referral).
    #[pyo3(signature = (district, date_from, date_to=None, *, complaint=None, specialty=None, patient=None, referral=None, limit=10))]
    #[allow(clippy::too_many_arguments)]
    fn recommend(
        &self,
        py: Python<'_>,
        district: String,
        date_from: DateArg,
        date_to: Option<DateArg>,
        complaint: Option<String>,
        specialty: Option<String>,
        patient: Option<Id<PatientId>>,
        referral: Option<Id<ReferralId>>,
        #[pyo3(from_py_with = int::<u32>)] limit: u32,
    ) -> PyResult<Vec<Recommendation>> {
        let q = RecommendQuery {
            complaint,
            specialty,
            district,
            patient: patient.map(|p| p.0),
            referral: referral.map(|r| r.0),
            date_from: date_from.0,
            date_to: date_to.unwrap_or(date_from).0,
            limit,
        };
        let e = self.engine()?;
        run(py, || e.recommend(&q)).map(|v| v.into_iter().map(Recommendation::from).collect())
    }

    /// Replace the complaint table `recommend` looks complaints up in with a host's own, given
    /// as JSON text: `{"complaints": [{"keywords": [...], "specialties": [...], "urgency":
    /// "routine" | "urgent" | "emergency"}]}` (every engine starts with the bundled example,
    /// `haoyuan.BUNDLED_COMPLAINT_TABLE`). A bad table raises `InvalidArgument` and keeps the
    /// old one. Configuration, not state: not journaled.
    fn set_complaint_table(&self, py: Python<'_>, json: String) -> PyResult<()> {
        let e = self.engine()?;
        run(py, || {
            e.set_complaint_table(haoyuan::ComplaintTable::from_json(&json)?);
            Ok(())
        })
    }

    // ------------------------------------------------------------------ the lifecycle

    /// Hold a place for the policy's hold time while the patient confirms or pays. (`ttl_s` is
    /// deprecated: use `hold_for`.)
    #[pyo3(signature = (patient, slot, channel, *, referral=None, follow_up=false, ttl_s=None))]
    #[allow(clippy::too_many_arguments)]
    fn hold(
        &self,
        py: Python<'_>,
        patient: Id<PatientId>,
        slot: Id<SlotId>,
        channel: ChannelArg,
        referral: Option<Id<ReferralId>>,
        follow_up: bool,
        ttl_s: Option<Int<u32>>,
    ) -> PyResult<Booking> {
        if ttl_s.is_some() {
            let category = py.get_type::<pyo3::exceptions::PyDeprecationWarning>();
            PyErr::warn(py, &category, c"Engine.hold(ttl_s=...) is deprecated: use Engine.hold_for(patient, slot, channel, ttl_s)", 1)?;
        }
        let e = self.engine()?;
        let req = Self::request(&e, patient.0, slot.0, channel, referral, follow_up)?;
        match ttl_s {
            Some(Int(ttl)) => run(py, || e.hold_for(&req, ttl)),
            None => run(py, || e.hold(&req)),
        }
        .map(Booking::from)
    }

    /// Hold a place for `ttl_s` seconds (1 ..= 86400) instead of the policy's hold time.
    #[pyo3(signature = (patient, slot, channel, ttl_s, *, referral=None, follow_up=false))]
    #[allow(clippy::too_many_arguments)]
    fn hold_for(
        &self,
        py: Python<'_>,
        patient: Id<PatientId>,
        slot: Id<SlotId>,
        channel: ChannelArg,
        ttl_s: Int<u32>,
        referral: Option<Id<ReferralId>>,
        follow_up: bool,
    ) -> PyResult<Booking> {
        let e = self.engine()?;
        let req = Self::request(&e, patient.0, slot.0, channel, referral, follow_up)?;
        let Int(ttl) = ttl_s;
        run(py, || e.hold_for(&req, ttl)).map(Booking::from)
    }

    /// Hold and confirm in one call.
    #[pyo3(signature = (patient, slot, channel, *, referral=None, follow_up=false))]
    fn book(
        &self,
        py: Python<'_>,
        patient: Id<PatientId>,
        slot: Id<SlotId>,
        channel: ChannelArg,
        referral: Option<Id<ReferralId>>,
        follow_up: bool,
    ) -> PyResult<Booking> {
        let e = self.engine()?;
        let req = Self::request(&e, patient.0, slot.0, channel, referral, follow_up)?;
        run(py, || e.book(&req)).map(Booking::from)
    }

    /// Book several places at once, all or nothing (the nights of a bed stay, a visit and its
    /// exam): a dict `{"id", "patient", "bookings": [...], "replaces"}` (bookings as dicts).
    /// The limits count the group once, on its first place; cancelling any of its bookings
    /// cancels them all. If one place cannot be taken, that place's error is raised and
    /// nothing changes.
    #[pyo3(signature = (patient, slots, channel, *, referral=None))]
    fn book_group<'py>(
        &self,
        py: Python<'py>,
        patient: Id<PatientId>,
        slots: Vec<Id<SlotId>>,
        channel: ChannelArg,
        referral: Option<Id<ReferralId>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.engine()?;
        let req = haoyuan::GroupRequest {
            patient: patient.0,
            channel: Self::channel_of(&e, channel)?,
            slots: slots.into_iter().map(|s| s.0).collect(),
            referral: referral.map(|r| r.0),
        };
        let group = run(py, || e.book_group(&req))?;
        as_python(py, &group)
    }

    /// Move a booking or a whole group to other places, atomically (the new places are taken
    /// before the old are given back, or nothing changes; a slot it already holds keeps its
    /// place). The new group as `book_group` returns it, `replaces` naming the old one.
    fn reschedule<'py>(
        &self,
        py: Python<'py>,
        booking: Id<BookingId>,
        slots: Vec<Id<SlotId>>,
        channel: ChannelArg,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.engine()?;
        let req = haoyuan::RescheduleRequest {
            booking: booking.0,
            slots: slots.into_iter().map(|s| s.0).collect(),
            channel: Self::channel_of(&e, channel)?,
        };
        let group = run(py, || e.reschedule(&req))?;
        as_python(py, &group)
    }

    /// The booking group a booking belongs to (dict as `book_group` returns it); `NotFound` for
    /// a booking that is not part of a group.
    fn booking_group<'py>(
        &self,
        py: Python<'py>,
        booking: Id<BookingId>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let e = self.engine()?;
        let group = run(py, || e.booking_group(booking.0))?;
        as_python(py, &group)
    }

    /// Bed stays that can be booked now (Xiamen's delivery beds): for each department of the
    /// bed class `specialty`, the earliest first night from `first_night` (up to `flex_days`
    /// later) with a free bed every night; the district's first, then the earliest, then the
    /// least loaded. A list of dicts, each with the `slots` to pass to `book_group`.
    #[pyo3(signature = (specialty, first_night, nights, *, district=None, flex_days=0, limit=10))]
    #[allow(clippy::too_many_arguments)]
    fn find_stays<'py>(
        &self,
        py: Python<'py>,
        specialty: String,
        first_night: DateArg,
        #[pyo3(from_py_with = int::<u16>)] nights: u16,
        district: Option<String>,
        #[pyo3(from_py_with = int::<u16>)] flex_days: u16,
        #[pyo3(from_py_with = int::<u32>)] limit: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let q = haoyuan::StayQuery {
            specialty,
            district,
            first_night: first_night.0,
            nights,
            flex_days,
            limit,
        };
        let e = self.engine()?;
        let offers = run(py, || e.find_stays(&q))?;
        as_python(py, &offers)
    }

    /// Book, or inside a release-lottery window enter the lottery.
    #[pyo3(signature = (patient, slot, channel, *, referral=None, follow_up=false))]
    fn submit(
        &self,
        py: Python<'_>,
        patient: Id<PatientId>,
        slot: Id<SlotId>,
        channel: ChannelArg,
        referral: Option<Id<ReferralId>>,
        follow_up: bool,
    ) -> PyResult<Submission> {
        let e = self.engine()?;
        let req = Self::request(&e, patient.0, slot.0, channel, referral, follow_up)?;
        run(py, || e.submit(&req)).map(Submission::from)
    }

    fn confirm(&self, py: Python<'_>, booking: Id<BookingId>) -> PyResult<Booking> {
        let e = self.engine()?;
        run(py, || e.confirm(booking.0)).map(Booking::from)
    }

    fn cancel(&self, py: Python<'_>, booking: Id<BookingId>) -> PyResult<Booking> {
        let e = self.engine()?;
        run(py, || e.cancel(booking.0)).map(Booking::from)
    }

    fn check_in(&self, py: Python<'_>, booking: Id<BookingId>) -> PyResult<Booking> {
        let e = self.engine()?;
        run(py, || e.check_in(booking.0)).map(Booking::from)
    }

    fn fulfil(&self, py: Python<'_>, booking: Id<BookingId>) -> PyResult<Booking> {
        let e = self.engine()?;
        run(py, || e.fulfil(booking.0)).map(Booking::from)
    }

    fn mark_no_show(&self, py: Python<'_>, booking: Id<BookingId>) -> PyResult<Booking> {
        let e = self.engine()?;
        run(py, || e.mark_no_show(booking.0)).map(Booking::from)
    }

    // ------------------------------------------------------------------ referrals and waitlists

    /// Issue a referral from a community or secondary institution `from_` to a specialty at a
    /// higher tier (any institution, or `institution`).
    #[pyo3(signature = (patient, from_, specialty, urgency="routine", valid_days=30, institution=None))]
    #[allow(clippy::too_many_arguments)]
    fn issue_referral(
        &self,
        py: Python<'_>,
        patient: Id<PatientId>,
        from_: Id<InstitutionId>,
        specialty: String,
        urgency: &str,
        #[pyo3(from_py_with = int::<u16>)] valid_days: u16,
        institution: Option<Id<InstitutionId>>,
    ) -> PyResult<Referral> {
        let r = ReferralRequest {
            patient: patient.0,
            from: from_.0,
            specialty,
            institution: institution.map(|i| i.0),
            urgency: parse_enum("urgency", urgency, URGENCIES)?,
            valid_days,
        };
        let e = self.engine()?;
        let referral = run(py, || e.issue_referral(&r))?;
        Ok(Self::referral_record(&e, referral))
    }

    /// Join a department's waitlist over a date range.
    #[pyo3(signature = (patient, department, date_from, date_to, channel, *, resource=None, time=None, referral=None, follow_up=false))]
    #[allow(clippy::too_many_arguments)]
    fn join_waitlist(
        &self,
        py: Python<'_>,
        patient: Id<PatientId>,
        department: Id<DepartmentId>,
        date_from: DateArg,
        date_to: DateArg,
        channel: ChannelArg,
        resource: Option<Id<ResourceId>>,
        time: Option<TimeOfDayArg>,
        referral: Option<Id<ReferralId>>,
        follow_up: bool,
    ) -> PyResult<WaitlistEntry> {
        let e = self.engine()?;
        let req = WaitlistRequest {
            patient: patient.0,
            department: department.0,
            resource: resource.map(|r| r.0),
            date_from: date_from.0,
            date_to: date_to.0,
            time: time.map(|t| t.0),
            channel: Self::channel_of(&e, channel)?,
            referral: referral.map(|r| r.0),
            follow_up,
        };
        run(py, || e.join_waitlist(&req)).map(WaitlistEntry::from)
    }

    fn leave_waitlist(&self, py: Python<'_>, entry: Id<WaitlistId>) -> PyResult<()> {
        let e = self.engine()?;
        run(py, || e.leave_waitlist(entry.0))
    }

    /// A department's waitlist, in serving order.
    fn waitlist(
        &self,
        py: Python<'_>,
        department: Id<DepartmentId>,
    ) -> PyResult<Vec<WaitlistEntry>> {
        let e = self.engine()?;
        run(py, || e.waitlist(department.0))
            .map(|v| v.into_iter().map(WaitlistEntry::from).collect())
    }

    // ------------------------------------------------------------------ events

    /// Receive every event emitted from now on, through a queue of `capacity` events. When it
    /// is full, `overflow="disconnect"` cuts the subscription off (see `Subscription.cut_off`;
    /// the engine never waits) and `overflow="block"` makes the emitting engine call wait at its
    /// end, outside every lock, until the queue has room — never poll such a subscription from a
    /// thread that also calls the engine. `kinds`, a list of event type names (`"cancelled"`,
    /// `"expired"` …, the events' `kind`), receives those alone: the others take no room in
    /// the queue and show as gaps in `seq`; a `"group"` event comes when it holds a type named.
    // A literal default, so that the signature (and the stub) show it; asserted equal to core's.
    #[pyo3(signature = (capacity=65536, overflow="disconnect", kinds=None))]
    fn subscribe(
        &self,
        #[pyo3(from_py_with = crate::args::int::<u64>)] capacity: u64,
        overflow: &str,
        kinds: Option<Vec<String>>,
    ) -> PyResult<Subscription> {
        const _: () = assert!(haoyuan::SUBSCRIPTION_CAPACITY_DEFAULT == 65536);
        let capacity = usize::try_from(capacity).unwrap_or(usize::MAX);
        let overflow = match overflow {
            "disconnect" => haoyuan::Overflow::Disconnect,
            "block" => haoyuan::Overflow::Block,
            other => {
                return Err(invalid(format!(
                    "overflow {other:?} must be \"disconnect\" or \"block\""
                )))
            }
        };
        let kinds = match kinds {
            None => haoyuan::EventKinds::ALL,
            Some(names) => {
                haoyuan::EventKinds::from_names(names.iter().map(String::as_str)).map_err(HyErr)?
            }
        };
        let sub = self
            .engine()?
            .subscribe_with(haoyuan::SubscribeOptions { capacity, overflow, kinds })
            .map_err(HyErr)?;
        Ok(Subscription::new(sub))
    }

    fn last_event_seq(&self) -> PyResult<u64> {
        Ok(self.engine()?.last_event_seq())
    }

    // ------------------------------------------------------------------ operator metrics

    /// The operator metrics now, as a plain dict with the Rust `Metrics` field names: `stats`
    /// (the counts of `stats()`), `last_event_seq`, `durable_seq`, `durable_lag_events` (events
    /// emitted and not yet durable), `journal` (None in memory and in mode "none"; else
    /// `queue_depth`, `queue_capacity`, `fsyncs`, `bytes_written`, `fsync_buckets` — counts per
    /// bound of `FSYNC_BUCKETS_S`, not cumulative, then one above the last —,
    /// `fsync_seconds_sum`, `fsync_seconds_max`, `failed`), `subscribers` (one dict per
    /// subscription: `id`, `queue_depth`, `queue_capacity`, `overflow`) and `memory`
    /// (`slot_bytes`, `process_resident_bytes`). Cheap (counters only): fine to scrape every
    /// few seconds. Rust `Engine::metrics`, C `hy_engine_metrics_json`.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let e = self.engine()?;
        metrics_dict(py, &py.allow_threads(|| e.metrics()))
    }

    /// The same metrics in the Prometheus text exposition format (0.0.4; every name prefixed
    /// `haoyuan_`), for a host to serve as it is on its `/metrics` endpoint. Rust
    /// `Metrics::to_prometheus`, C `hy_engine_metrics_prometheus`.
    fn metrics_prometheus(&self, py: Python<'_>) -> PyResult<String> {
        let e = self.engine()?;
        Ok(py.allow_threads(|| e.metrics().to_prometheus()))
    }

    // ------------------------------------------------------------------ pipelined acknowledgements

    /// Pipeline this thread's calls: `with engine.pipeline() as p:` — inside the block each call
    /// on this thread returns its in-memory outcome without waiting for the journal's fsync;
    /// on exit `p.ticket` covers everything returned so far. Acknowledge those outcomes (tell the
    /// patient "booked") only after `wait_durable(p.ticket)` returned True (or `await
    /// engine.durable(p.ticket)`, or an `on_durable` callback got None). Calls spread over the
    /// worker pool (`parallel=True`, `publish_*`) and the bulk calls wait as usual. On an
    /// in-memory engine every ticket is durable at once. Rust `Engine::pipeline_scope`, C
    /// `hy_engine_pipeline_begin` / `_end`.
    fn pipeline(slf: &Bound<'_, Self>) -> PyResult<Pipeline> {
        slf.get().engine()?;
        let engine: Py<Engine> = slf.clone().unbind();
        Ok(Pipeline::new(Box::new(move || engine.get().engine())))
    }

    /// A ticket (an int, the engine's last event number) covering every operation that has
    /// returned so far, on any thread. Tickets are ordered: a later one covers every earlier one.
    fn ticket(&self) -> PyResult<u64> {
        Ok(self.engine()?.ticket().0)
    }

    /// Whether everything up to `ticket` is on stable storage (never waits).
    fn is_durable(&self, ticket: Int<u64>) -> PyResult<bool> {
        let e = self.engine()?;
        let t = pipeline::ticket_arg(&e, ticket.0)?;
        Ok(e.is_durable(t))
    }

    /// Wait until everything up to `ticket` is on stable storage (in buffered mode: the next
    /// fsync), at most `timeout_s` seconds (0 ..= 86400; None: no limit). True once durable,
    /// False if the time ran out first. The GIL is released while waiting, and Ctrl-C
    /// interrupts the wait. A journal failure (or the engine closing first) raises
    /// `Durability`: then nothing after the last durable point may be acknowledged.
    #[pyo3(signature = (ticket, timeout_s=None))]
    fn wait_durable(
        &self,
        py: Python<'_>,
        ticket: Int<u64>,
        timeout_s: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let timeout_s = match timeout_s.filter(|t| !t.is_none()) {
            None => None,
            Some(t) => Some(float(t)?),
        };
        let e = self.engine()?;
        let t = pipeline::ticket_arg(&e, ticket.0)?;
        pipeline::wait(py, e, t, timeout_s)
    }

    /// Call `callback(error)` once everything up to `ticket` is durable (`error` None) or the
    /// journal failed first (`error` the `Durability` exception, not raised). It runs on a
    /// helper thread of haoyuan with the GIL held — never on the calling thread, even when the
    /// ticket is already durable — so it must be quick and must not wait for the engine; an
    /// exception it raises goes to `sys.unraisablehook`. `await engine.durable(ticket)` is the
    /// asyncio form. Rust `Engine::on_durable`, C `hy_engine_on_durable`.
    fn on_durable(&self, ticket: Int<u64>, callback: &Bound<'_, PyAny>) -> PyResult<()> {
        if !callback.is_callable() {
            return Err(invalid(format!(
                "callback must be callable, got {}",
                callback.get_type().name()?
            )));
        }
        let e = self.engine()?;
        let t = pipeline::ticket_arg(&e, ticket.0)?;
        pipeline::on_durable(&e, t, callback.clone().unbind())
    }

    // ------------------------------------------------------------------ bulk (NumPy)

    /// Book (or hold) one request per row of equal-length arrays, in order, with the GIL
    /// released. Returns `(booking_ids: uint64, error_codes: uint32)`: code 0 and the booking id
    /// on success, else the error's code and id 0 (never a valid id). `parallel=True` spreads the rows over the
    /// worker pool (then the order between rows is not fixed).
    #[pyo3(signature = (patient, slot, channel, *, hold=false, parallel=false))]
    fn book_many<'py>(
        &self,
        py: Python<'py>,
        patient: PyReadonlyArray1<'py, u32>,
        slot: PyReadonlyArray1<'py, u32>,
        channel: PyReadonlyArray1<'py, u16>,
        hold: bool,
        parallel: bool,
    ) -> PyResult<bulk::BookResult<'py>> {
        let e = self.engine()?;
        bulk::book_many(py, &e, &patient, &slot, &channel, hold, parallel)
    }

    /// Hold one request per row; as `book_many(..., hold=True)` (C `hy_engine_hold_many`).
    #[pyo3(signature = (patient, slot, channel, *, parallel=false))]
    fn hold_many<'py>(
        &self,
        py: Python<'py>,
        patient: PyReadonlyArray1<'py, u32>,
        slot: PyReadonlyArray1<'py, u32>,
        channel: PyReadonlyArray1<'py, u16>,
        parallel: bool,
    ) -> PyResult<bulk::BookResult<'py>> {
        let e = self.engine()?;
        bulk::book_many(py, &e, &patient, &slot, &channel, true, parallel)
    }

    /// Apply one lifecycle action (`"confirm"`, `"cancel"`, `"check_in"`, `"fulfil"`,
    /// `"mark_no_show"`) to each booking id; returns the error code per row (0 = done).
    fn lifecycle_many<'py>(
        &self,
        py: Python<'py>,
        action: &str,
        booking: PyReadonlyArray1<'py, u64>,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let e = self.engine()?;
        bulk::lifecycle_many(py, &e, action, &booking)
    }

    /// Many availability queries at once: one per row of `department`, `date_from`, `date_to`
    /// (days since the epoch), each returning up to `limit` free slots. Returns a dict of
    /// arrays: `query` (row index), `slot`, `date`, `start_min`, `free`, `starts_at`.
    #[pyo3(signature = (department, date_from, date_to, *, limit=1))]
    fn find_free_many<'py>(
        &self,
        py: Python<'py>,
        department: PyReadonlyArray1<'py, u32>,
        date_from: PyReadonlyArray1<'py, i32>,
        date_to: PyReadonlyArray1<'py, i32>,
        #[pyo3(from_py_with = int::<u32>)] limit: u32,
    ) -> PyResult<Bound<'py, PyDict>> {
        let e = self.engine()?;
        bulk::find_free_many(py, &e, &department, &date_from, &date_to, limit)
    }

    /// Every slot (or the ids in `slots`) as a dict of column arrays.
    #[pyo3(signature = (slots=None))]
    fn slot_columns<'py>(
        &self,
        py: Python<'py>,
        slots: Option<PyReadonlyArray1<'py, u32>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let e = self.engine()?;
        bulk::slot_columns(py, &e, slots.as_ref())
    }

    /// Every hold and booking (or those of `patients`) as a dict of column arrays.
    #[pyo3(signature = (patients=None))]
    fn booking_columns<'py>(
        &self,
        py: Python<'py>,
        patients: Option<PyReadonlyArray1<'py, u32>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let e = self.engine()?;
        bulk::booking_columns(py, &e, patients.as_ref())
    }
}

/// A result as plain Python values (dicts, lists, ints, strings), through its JSON.
fn as_python<'py, T: serde::Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value).map_err(|e| invalid(e.to_string()))?;
    crate::convert::json_to_py(py, &json)
}
