//! Export: Schedule, Slot, Appointment and Bundle resources as FHIR R4 JSON.

use super::*;
use haoyuan::QUERY_DAYS_MAX;
use haoyuan::{
    Booking, BookingState, Department, Institution, Pool, ResourceKind, SlotInfo, WaitlistEntry,
};

use haoyuan::Resource;
use std::collections::{BTreeMap, HashMap};

/// FHIR `Slot.status`.
///
/// FHIR has no capacity field, so a slot of several places stays `free` until its last place
/// is taken (the places are in the [`EXT_CAPACITY`] and [`EXT_FREE`] extensions).
///
/// ```
/// use haoyuan_fhir::SlotStatus;
/// assert_eq!(SlotStatus::BusyTentative.code(), "busy-tentative");
/// assert_eq!(SlotStatus::from_code("busy-unavailable"), Some(SlotStatus::BusyUnavailable));
/// assert_eq!(SlotStatus::from_code("Busy"), None); // codes are case-sensitive
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SlotStatus {
    /// `free`: at least one place can still be taken.
    Free,
    /// `busy`: every place is booked (confirmed).
    Busy,
    /// `busy-tentative`: every place is taken and at least one only by a hold, which may still
    /// expire and free it.
    BusyTentative,
    /// `busy-unavailable`: the session is suspended (停诊); on import, such Slots are skipped.
    BusyUnavailable,
    /// `entered-in-error`: never exported (the engine has no such state); on import, such Slots
    /// are skipped.
    EnteredInError,
}

impl SlotStatus {
    /// Every status, in FHIR's order.
    pub const ALL: [SlotStatus; 5] = [
        SlotStatus::Free,
        SlotStatus::Busy,
        SlotStatus::BusyTentative,
        SlotStatus::BusyUnavailable,
        SlotStatus::EnteredInError,
    ];

    /// The FHIR code (`free`, `busy`, `busy-tentative`, `busy-unavailable`,
    /// `entered-in-error`).
    pub fn code(self) -> &'static str {
        match self {
            SlotStatus::Free => "free",
            SlotStatus::Busy => "busy",
            SlotStatus::BusyTentative => "busy-tentative",
            SlotStatus::BusyUnavailable => "busy-unavailable",
            SlotStatus::EnteredInError => "entered-in-error",
        }
    }

    /// The status of a FHIR code, exactly as written; `None` for anything else.
    pub fn from_code(code: &str) -> Option<SlotStatus> {
        SlotStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    /// A slot's status from its places: free until the last place is taken; then
    /// busy-tentative while any taken place is only held; busy-unavailable once suspended.
    /// `held` is the number of the slot's places taken by holds not yet confirmed.
    pub fn of(info: &SlotInfo, held: u32) -> SlotStatus {
        let places: u32 = info.pool_places.total();
        let taken: u32 = info.pool_taken.total();
        if info.closed {
            SlotStatus::BusyUnavailable
        } else if taken < places {
            SlotStatus::Free
        } else if held > 0 {
            SlotStatus::BusyTentative
        } else {
            SlotStatus::Busy
        }
    }
}

/// What [`bundle`] exports: the slots of a date range, of one institution or one resource (or
/// the whole region), optionally with their holds and bookings as Appointments.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportScope {
    /// First visit date exported (local to the region, inclusive).
    pub date_from: Date,
    /// Last visit date exported (inclusive); the range is at most `QUERY_DAYS_MAX` days.
    pub date_to: Date,
    /// Only this institution's resources (`None`: every institution).
    pub institution: Option<InstitutionId>,
    /// Only this resource (`None`: every resource in scope). With `institution` too, the
    /// resource must be at that institution.
    pub resource: Option<ResourceId>,
    /// Also export each hold and booking on the slots as an Appointment (ended ones included);
    /// a booking group as one Appointment referencing all its Slots.
    pub appointments: bool,
}

impl ExportScope {
    /// Read a scope from JSON: `{"date_from": "2026-11-24", "date_to": "2026-11-30",
    /// "institution": 0, "resource": 3, "appointments": true}`; the dates are required, the
    /// rest optional. Unknown fields are refused (a typo would otherwise widen the export).
    pub fn from_json(v: &Value) -> FhirResult<ExportScope> {
        let o = v
            .as_object()
            .ok_or_else(|| FhirError::invalid(None, "export scope must be a JSON object"))?;
        for k in o.keys() {
            if !["date_from", "date_to", "institution", "resource", "appointments"]
                .contains(&k.as_str())
            {
                return Err(FhirError::invalid(Some(k.clone()), format!("unknown field {k:?}")));
            }
        }
        let date = |k: &str| -> FhirResult<Date> {
            let s = o.get(k).and_then(Value::as_str).ok_or_else(|| {
                FhirError::one(Issue::error(
                    "required",
                    Some(k.to_string()),
                    "a date YYYY-MM-DD is required",
                ))
            })?;
            Date::parse(s).map_err(|_| {
                FhirError::invalid(
                    Some(k.to_string()),
                    format!("{s:?} is not a valid date YYYY-MM-DD"),
                )
            })
        };
        let id = |k: &str| -> FhirResult<Option<u32>> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => {
                    v.as_u64().and_then(|n| u32::try_from(n).ok()).map(Some).ok_or_else(|| {
                        FhirError::invalid(Some(k.to_string()), "must be a non-negative integer id")
                    })
                }
            }
        };
        let appointments = match o.get("appointments") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(FhirError::invalid(
                    Some("appointments".into()),
                    "must be true or false",
                ))
            }
        };
        Ok(ExportScope {
            date_from: date("date_from")?,
            date_to: date("date_to")?,
            institution: id("institution")?.map(InstitutionId),
            resource: id("resource")?.map(ResourceId),
            appointments,
        })
    }
}

fn kind_code(k: ResourceKind) -> &'static str {
    match k {
        ResourceKind::Doctor => "doctor",
        ResourceKind::Bed => "bed",
        ResourceKind::Exam => "exam",
        ResourceKind::Nursing => "nursing",
        ResourceKind::Pharmacy => "pharmacy",
        ResourceKind::Service => "service",
    }
}

/// The FHIR resource type that stands for a haoyuan resource as a Schedule actor.
pub(crate) fn actor_type(k: ResourceKind) -> &'static str {
    match k {
        ResourceKind::Doctor => "Practitioner",
        ResourceKind::Bed => "Location",
        ResourceKind::Exam => "Device",
        ResourceKind::Nursing | ResourceKind::Pharmacy | ResourceKind::Service => {
            "HealthcareService"
        }
    }
}

/// Resource types accepted where a haoyuan resource is referenced (`resource-N`).
pub(crate) const RESOURCE_REF_TYPES: [&str; 5] =
    ["Schedule", "Practitioner", "Location", "Device", "HealthcareService"];

fn pool_code(p: Pool) -> &'static str {
    match p {
        Pool::General => "general",
        Pool::Referral => "referral",
        Pool::Quota0 => "quota0",
        Pool::Quota1 => "quota1",
    }
}

/// Registry facts of one resource, looked up once per export.
struct ResourceFacts {
    resource: Resource,
    department: Department,
    institution: Institution,
    specialty: String,
}

impl ResourceFacts {
    fn of(engine: &Engine, id: ResourceId) -> FhirResult<ResourceFacts> {
        let resource = engine.resource(id)?;
        let department = engine.department(resource.department)?;
        let institution = engine.institution(department.institution)?;
        let specialty = engine.specialty_name(department.specialty)?;
        Ok(ResourceFacts { resource, department, institution, specialty })
    }

    fn service_type(&self) -> Value {
        let k = kind_code(self.resource.kind);
        concept(CS_RESOURCE_KIND, k, k)
    }

    fn specialty(&self) -> Value {
        concept(CS_SPECIALTY, &self.specialty, &self.department.name)
    }

    fn actor(&self) -> Value {
        json!({ "reference": format!("{}/resource-{}", actor_type(self.resource.kind), self.resource.id.0), "display": self.resource.name })
    }
}

#[derive(Default)]
struct FactsCache(HashMap<ResourceId, ResourceFacts>);

impl FactsCache {
    fn get(&mut self, engine: &Engine, id: ResourceId) -> FhirResult<&ResourceFacts> {
        match self.0.entry(id) {
            std::collections::hash_map::Entry::Occupied(e) => Ok(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(e) => {
                Ok(e.insert(ResourceFacts::of(engine, id)?))
            }
        }
    }
}

fn schedule_value(f: &ResourceFacts) -> Value {
    let r = &f.resource;
    json!({
        "resourceType": "Schedule",
        "id": format!("resource-{}", r.id.0),
        "identifier": [{ "system": SID_RESOURCE, "value": r.id.0.to_string() }],
        "active": true,
        "serviceType": [f.service_type()],
        "specialty": [f.specialty()],
        "actor": [
            f.actor(),
            { "reference": format!("HealthcareService/department-{}", f.department.id.0), "display": f.department.name },
        ],
        "extension": [{
            "url": EXT_ORGANIZATION,
            "valueReference": { "reference": format!("Organization/institution-{}", f.institution.id.0), "display": f.institution.name },
        }],
        "comment": format!("{} — {}, {}{}", r.name, f.department.name, f.institution.name, if r.expert { " (expert)" } else { "" }),
    })
}

fn slot_value(engine: &Engine, info: &SlotInfo, held: u32, f: &ResourceFacts) -> Value {
    let off = engine.utc_offset_s();
    let places: u32 = info.pool_places.total();
    let taken: u32 = info.pool_taken.total();
    let free = if info.closed { 0 } else { places.saturating_sub(taken) };
    json!({
        "resourceType": "Slot",
        "id": format!("slot-{}", info.id.0),
        "identifier": [{ "system": SID_SLOT, "value": info.id.0.to_string() }],
        "extension": [
            { "url": EXT_CAPACITY, "valuePositiveInt": info.capacity },
            { "url": EXT_FREE, "valueUnsignedInt": free },
        ],
        "serviceType": [f.service_type()],
        "specialty": [f.specialty()],
        "schedule": { "reference": format!("Schedule/resource-{}", info.resource.0), "display": f.resource.name },
        "status": SlotStatus::of(info, held).code(),
        "start": rfc3339(info.starts_at, off),
        "end": rfc3339(info.ends_at, off),
        "overbooked": taken > info.capacity as u32,
    })
}

/// Holds and bookings on `slots` (the engine's `bookings_on`).
fn bookings_on(engine: &Engine, slots: &[(SlotId, Date)]) -> Vec<Booking> {
    let ids: Vec<SlotId> = slots.iter().map(|s| s.0).collect();
    engine.bookings_on(&ids).unwrap_or_default()
}

fn held_counts(bookings: &[Booking]) -> HashMap<SlotId, u32> {
    let mut held = HashMap::new();
    for b in bookings.iter().filter(|b| b.state == BookingState::Held) {
        *held.entry(b.slot).or_insert(0) += 1;
    }
    held
}

/// The `Schedule` of one resource.
pub fn schedule(engine: &Engine, resource: ResourceId) -> FhirResult<Value> {
    Ok(schedule_value(&ResourceFacts::of(engine, resource)?))
}

/// The `Slot` of one slot, with its status as of now.
pub fn slot(engine: &Engine, id: SlotId) -> FhirResult<Value> {
    let info = engine.slot(id)?;
    let held = held_counts(&bookings_on(engine, &[(id, info.date)])).get(&id).copied().unwrap_or(0);
    Ok(slot_value(engine, &info, held, &ResourceFacts::of(engine, info.resource)?))
}

/// The `Appointment` of one hold or booking.
pub fn appointment(engine: &Engine, id: BookingId) -> FhirResult<Value> {
    if let Ok(group) = engine.booking_group(id) {
        return group_appointment(engine, &group, &mut FactsCache::default());
    }
    let b = engine.booking(id)?;
    let info = engine.slot(b.slot)?;
    appointment_value(engine, &b, &info, &ResourceFacts::of(engine, info.resource)?)
}

/// A booking group (several places all or nothing: a bed stay, a visit with its exam) as one
/// Appointment: `slot` references every place in order (R4 allows 0..*), `start` is the first
/// place's start and `end` the last's end, a participant per resource, and the status of its
/// first place still active (else of its first place). Its id is the group's, its lead
/// booking's.
fn group_appointment(
    engine: &Engine,
    group: &haoyuan::BookingGroup,
    cache: &mut FactsCache,
) -> FhirResult<Value> {
    let lead =
        group.bookings.iter().find(|b| b.state.is_active()).or(group.bookings.first()).ok_or_else(
            || FhirError::from(haoyuan::Error::not_found("booking group", group.id.0)),
        )?;
    let mut lead = lead.clone();
    lead.id = group.id;
    let info = engine.slot(lead.slot)?;
    let mut v = appointment_value(engine, &lead, &info, cache.get(engine, info.resource)?)?;
    let mut slots = Vec::with_capacity(group.bookings.len());
    let mut actors: Vec<Value> = vec![v["participant"][0].clone()];
    let mut last_end = info.ends_at;
    for b in &group.bookings {
        let info = engine.slot(b.slot)?;
        slots.push(json!({ "reference": format!("Slot/slot-{}", b.slot.0) }));
        last_end = last_end.max(info.ends_at);
        let actor = cache.get(engine, info.resource)?.actor();
        if !actors.iter().any(|a| a["actor"] == actor) {
            actors.push(json!({ "actor": actor, "required": "required", "status": "accepted" }));
        }
    }
    v["slot"] = Value::Array(slots);
    v["end"] = json!(rfc3339(last_end, engine.utc_offset_s()));
    v["participant"] = Value::Array(actors);
    if let Some(o) = v.as_object_mut() {
        // A stay's minutes are not one duration; `start` and `end` say it.
        o.remove("minutesDuration");
    }
    Ok(v)
}

/// Every hold and booking of a patient, ended ones included, as Appointments.
pub fn appointments_of(engine: &Engine, patient: PatientId) -> FhirResult<Vec<Value>> {
    let mut cache = FactsCache::default();
    let mut out = Vec::new();
    for b in engine.bookings_of(patient)? {
        // A booking group is one Appointment, listed at its lead.
        if let Ok(group) = engine.booking_group(b.id) {
            if group.id == b.id {
                out.push(group_appointment(engine, &group, &mut cache)?);
            }
            continue;
        }
        let info = engine.slot(b.slot)?;
        let f = cache.get(engine, info.resource)?;
        out.push(appointment_value(engine, &b, &info, f)?);
    }
    Ok(out)
}

fn appointment_value(
    engine: &Engine,
    b: &Booking,
    info: &SlotInfo,
    f: &ResourceFacts,
) -> FhirResult<Value> {
    let off = engine.utc_offset_s();
    let (status, patient_status, reason) = match b.state {
        BookingState::Held => ("pending", "tentative", None),
        BookingState::Booked => ("booked", "accepted", None),
        BookingState::CheckedIn => ("checked-in", "accepted", None),
        BookingState::Fulfilled => ("fulfilled", "accepted", None),
        BookingState::NoShow => ("noshow", "accepted", None),
        BookingState::Cancelled => {
            ("cancelled", "declined", Some(("pat", "Patient", "cancelled by the patient")))
        }
        BookingState::ProviderCancelled => (
            "cancelled",
            "accepted",
            Some(("prov", "Provider", "cancelled by the provider: the session was suspended")),
        ),
        BookingState::Expired => (
            "cancelled",
            "declined",
            Some(("other", "Other", "the hold expired before it was confirmed")),
        ),
    };
    let channel = engine.channel(b.channel)?.name;
    let mut extension = vec![
        json!({ "url": EXT_CHANNEL, "valueString": channel }),
        json!({ "url": EXT_POOL, "valueCode": pool_code(b.pool) }),
    ];
    if b.state == BookingState::Held {
        extension
            .push(json!({ "url": EXT_HOLD_EXPIRES, "valueInstant": rfc3339(b.expires_at, off) }));
    }
    let mut v = json!({
        "resourceType": "Appointment",
        "id": format!("booking-{}", b.id.0),
        "identifier": [{ "system": SID_BOOKING, "value": b.id.0.to_string() }],
        "extension": extension,
        "status": status,
        "serviceType": [f.service_type()],
        "specialty": [f.specialty()],
        "start": rfc3339(info.starts_at, off),
        "end": rfc3339(info.ends_at, off),
        "minutesDuration": info.end_min.saturating_sub(info.start_min),
        "slot": [{ "reference": format!("Slot/slot-{}", b.slot.0) }],
        "created": rfc3339(b.created_at, off),
        "participant": [
            { "actor": { "reference": format!("Patient/patient-{}", b.patient.0) }, "required": "required", "status": patient_status },
            { "actor": f.actor(), "required": "required", "status": "accepted" },
        ],
    });
    if let Some((code, display, text)) = reason {
        v["cancelationReason"] = json!({ "coding": [{ "system": CS_CANCEL_REASON, "code": code, "display": display }], "text": text });
    }
    if let Some(r) = b.referral {
        v["basedOn"] = json!([{ "reference": format!("ServiceRequest/referral-{}", r.0) }]);
    }
    if let Some(w) = b.offer {
        v["comment"] = json!(format!("offered from waitlist entry waitlist-{}", w.0));
    }
    Ok(v)
}

/// A waitlist entry as a `waitlist` Appointment with its `requestedPeriod`.
pub fn waitlist_appointment(engine: &Engine, e: &WaitlistEntry) -> FhirResult<Value> {
    let off = engine.utc_offset_s();
    let r = &e.request;
    let department = engine.department(r.department)?;
    let specialty = engine.specialty_name(department.specialty)?;
    let (from_min, to_min) = r.time.map_or((0, 1440), |t| (t.start_min, t.end_min));
    let period_end = if to_min >= 1440 {
        Timestamp::from_local(r.date_to.plus_days(1), 0, off)
    } else {
        Timestamp::from_local(r.date_to, to_min, off)
    };
    let mut participants = vec![json!({
        "actor": { "reference": format!("Patient/patient-{}", r.patient.0) }, "required": "required", "status": "needs-action",
    })];
    let mut service_type = None;
    match r.resource {
        Some(res) => {
            let f = ResourceFacts::of(engine, res)?;
            participants.push(json!({ "actor": f.actor(), "required": "required", "status": "needs-action" }));
            service_type = Some(f.service_type());
        }
        None => participants.push(json!({
            "actor": { "reference": format!("HealthcareService/department-{}", department.id.0), "display": department.name },
            "required": "required", "status": "needs-action",
        })),
    }
    let channel = engine.channel(r.channel)?.name;
    let mut v = json!({
        "resourceType": "Appointment",
        "id": format!("waitlist-{}", e.id.0),
        "identifier": [{ "system": SID_WAITLIST, "value": e.id.0.to_string() }],
        "extension": [{ "url": EXT_CHANNEL, "valueString": channel }],
        "status": "waitlist",
        "specialty": [concept(CS_SPECIALTY, &specialty, &department.name)],
        "created": rfc3339(e.joined_at, off),
        "requestedPeriod": [{
            "start": rfc3339(Timestamp::from_local(r.date_from, from_min, off), off),
            "end": rfc3339(period_end, off),
        }],
        "participant": participants,
        "comment": format!("priority {:?}", e.priority),
    });
    if let Some(st) = service_type {
        v["serviceType"] = json!([st]);
    }
    if let Some(rf) = r.referral {
        v["basedOn"] = json!([{ "reference": format!("ServiceRequest/referral-{}", rf.0) }]);
    }
    Ok(v)
}

/// The waitlist of a department as `waitlist` Appointments, in serving order.
pub fn waitlist(engine: &Engine, department: DepartmentId) -> FhirResult<Vec<Value>> {
    engine.waitlist(department)?.iter().map(|e| waitlist_appointment(engine, e)).collect()
}

pub(crate) fn entry(resource: Value, mode: Option<&str>) -> Value {
    let url = format!(
        "{BASE}/{}/{}",
        resource["resourceType"].as_str().unwrap_or("Resource"),
        resource["id"].as_str().unwrap_or("0")
    );
    // Built by hand: `json!` would deep-copy `resource` through serde.
    let mut e = Map::new();
    e.insert("fullUrl".into(), Value::String(url));
    e.insert("resource".into(), resource);
    if let Some(m) = mode {
        e.insert("search".into(), json!({ "mode": m }));
    }
    Value::Object(e)
}

/// Resources as a `collection` Bundle.
pub fn collection(resources: Vec<Value>) -> Value {
    let mut b = json!({ "resourceType": "Bundle", "type": "collection" });
    b["entry"] = Value::Array(resources.into_iter().map(|r| entry(r, None)).collect());
    b
}

/// The slots of `scope` as SlotInfo, in (resource, date, start) order.
fn scope_slots(engine: &Engine, scope: &ExportScope) -> FhirResult<Vec<SlotInfo>> {
    for d in [scope.date_from, scope.date_to] {
        if !d.is_valid() {
            return Err(Error::InvalidDate(d).into());
        }
    }
    if scope.date_from > scope.date_to || scope.date_to.0 - scope.date_from.0 >= QUERY_DAYS_MAX {
        return Err(FhirError::invalid(
            None,
            format!("date range must be ordered and at most {QUERY_DAYS_MAX} days"),
        ));
    }
    let resources: Vec<ResourceId> = match (scope.resource, scope.institution) {
        (Some(r), i) => {
            let res = engine.resource(r)?;
            if let Some(i) = i {
                if engine.department(res.department)?.institution != i {
                    return Err(FhirError::invalid(None, format!("{r} is not at {i}")));
                }
            }
            vec![r]
        }
        (None, i) => {
            if let Some(i) = i {
                engine.institution(i)?;
            }
            let institutions = match i {
                Some(i) => vec![engine.institution(i)?],
                None => engine.institutions(),
            };
            let mut ids = Vec::new();
            for inst in institutions {
                for d in engine.departments_of(inst.id)? {
                    ids.extend(engine.resources_of(d.id)?.into_iter().map(|r| r.id));
                }
            }
            ids.sort_unstable();
            ids
        }
    };
    let mut out = Vec::new();
    for r in resources {
        let mut d = scope.date_from;
        while d <= scope.date_to {
            for id in engine.resource_day_slots(r, d)? {
                out.push(engine.slot(id)?);
            }
            d = d.plus_days(1);
        }
    }
    Ok(out)
}

/// A `collection` Bundle: the Schedule of every resource with slots in scope, each Slot, and
/// (if `scope.appointments`) each hold and booking on those slots. This is also the format
/// [`super::import::import_bundle`] reads.
///
/// Errors: an invalid or unordered date range, or one longer than `QUERY_DAYS_MAX` days
/// (`invalid`); an unknown institution or resource (`not-found`).
///
/// ```
/// use haoyuan::{Date, Engine, EngineConfig, ResourceKind, SlotSpec, Tier, Timestamp};
/// use haoyuan_fhir::{export, ExportScope};
/// use serde_json::Value;
/// let day = Date::from_ymd(2026, 11, 24)?;
/// let engine = Engine::with_manual_clock(
///     EngineConfig::default(),
///     Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600),
/// )?;
/// let h = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
/// let ecg = engine.add_resource(
///     engine.add_department(h, "cardiology", "Cardiology")?,
///     ResourceKind::Exam,
///     "ECG room 2",
///     false,
/// )?;
/// let spec = SlotSpec { resource: ecg, date: day, start_min: 480, end_min: 495, capacity: 4 };
/// engine.publish_slots(&[spec])?;
/// let scope = ExportScope {
///     date_from: day,
///     date_to: day,
///     institution: Some(h),
///     resource: None,
///     appointments: false,
/// };
/// let b = export::bundle(&engine, &scope)?;
/// assert_eq!(b["type"], "collection");
/// let entries = b["entry"].as_array().unwrap();
/// let kinds: Vec<&Value> = entries.iter().map(|e| &e["resource"]["resourceType"]).collect();
/// assert_eq!(kinds, ["Schedule", "Slot"]);
/// // An exam device is a Device actor; its four places are in the capacity extension.
/// let actor = b["entry"][0]["resource"]["actor"][0]["reference"].as_str().unwrap();
/// assert!(actor.starts_with("Device/"));
/// assert_eq!(b["entry"][1]["resource"]["extension"][0]["valuePositiveInt"], 4);
/// # Ok::<(), haoyuan_fhir::FhirError>(())
/// ```
pub fn bundle(engine: &Engine, scope: &ExportScope) -> FhirResult<Value> {
    let infos = scope_slots(engine, scope)?;
    let keys: Vec<(SlotId, Date)> = infos.iter().map(|i| (i.id, i.date)).collect();
    let bookings = bookings_on(engine, &keys);
    let held = held_counts(&bookings);
    let mut cache = FactsCache::default();
    let mut schedules: BTreeMap<ResourceId, Value> = BTreeMap::new();
    let mut slots = Vec::with_capacity(infos.len());
    for info in &infos {
        let f = cache.get(engine, info.resource)?;
        schedules.entry(info.resource).or_insert_with(|| schedule_value(f));
        slots.push(slot_value(engine, info, held.get(&info.id).copied().unwrap_or(0), f));
    }
    let mut entries: Vec<Value> = schedules.into_values().map(|s| entry(s, None)).collect();
    entries.extend(slots.into_iter().map(|s| entry(s, None)));
    if scope.appointments {
        let by_id: HashMap<SlotId, &SlotInfo> = infos.iter().map(|i| (i.id, i)).collect();
        // A booking group is one Appointment (as `$book` answered it), listed once, when any
        // of its places is in scope; its other places' Slots may be outside the bundle.
        let mut groups = std::collections::HashSet::new();
        for b in &bookings {
            if let Ok(group) = engine.booking_group(b.id) {
                if groups.insert(group.id) {
                    entries.push(entry(group_appointment(engine, &group, &mut cache)?, None));
                }
                continue;
            }
            let info = by_id[&b.slot];
            let f = cache.get(engine, info.resource)?;
            entries.push(entry(appointment_value(engine, b, info, f)?, None));
        }
    }
    let mut b = json!({ "resourceType": "Bundle", "type": "collection", "timestamp": rfc3339(engine.now(), engine.utc_offset_s()) });
    b["entry"] = Value::Array(entries);
    Ok(b)
}

/// A `searchset` Bundle of Slots (mode `match`) with their Schedules (mode `include`).
pub(crate) fn searchset(engine: &Engine, infos: &[SlotInfo]) -> FhirResult<Value> {
    let keys: Vec<(SlotId, Date)> = infos.iter().map(|i| (i.id, i.date)).collect();
    let held = held_counts(&bookings_on(engine, &keys));
    let mut cache = FactsCache::default();
    let mut schedules: BTreeMap<ResourceId, Value> = BTreeMap::new();
    let mut entries = Vec::with_capacity(infos.len());
    for info in infos {
        let f = cache.get(engine, info.resource)?;
        schedules.entry(info.resource).or_insert_with(|| schedule_value(f));
        entries.push(entry(
            slot_value(engine, info, held.get(&info.id).copied().unwrap_or(0), f),
            Some("match"),
        ));
    }
    entries.extend(schedules.into_values().map(|s| entry(s, Some("include"))));
    let mut b = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": rfc3339(engine.now(), engine.utc_offset_s()),
        "total": infos.len(),
    });
    b["entry"] = Value::Array(entries);
    Ok(b)
}
