//! Operations in the shape of FHIR scheduling: `$find` (IHE Scheduling's parameters) → a
//! searchset Bundle of free Slots; `$hold` → a `pending` Appointment; `$book` → `booked`;
//! `$cancel` → `cancelled`. Errors are [`FhirError`]s, rendered as `OperationOutcome`.
//!
//! Inputs are accepted in three shapes, so that FHIR hosts and Python dicts both work:
//! a `Parameters` resource, an `Appointment` resource (for hold/book/cancel), or a plain JSON
//! object with the same names (`{"slot": "Slot/slot-3", "patient": "Patient/patient-1",
//! "channel": "wechat"}`). Unknown names are refused, so a typo is never silently ignored.

use super::export::{searchset, RESOURCE_REF_TYPES};
use super::*;
use haoyuan::QUERY_LIMIT_MAX;
use haoyuan::{AvailabilityQuery, GroupRequest, Request, SlotInfo, GROUP_PLACES_MAX};

/// Most Slots one `$find` returns when `_count` is not given.
pub const FIND_COUNT_DEFAULT: u32 = 100;

/// The parameters of `$find`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct FindParams {
    /// Earliest slot start (inclusive).
    pub start: Timestamp,
    /// Latest slot end (inclusive).
    pub end: Timestamp,
    /// A specialty code (`cardiology`).
    pub specialty: Option<String>,
    /// `Practitioner/resource-N` (or any resource: Location, Device, HealthcareService).
    pub practitioner: Option<ResourceId>,
    /// `Organization/institution-N`: only this institution's slots.
    pub organization: Option<InstitutionId>,
    /// A district name, or `Location/resource-N` for a bed.
    pub location: Option<String>,
    /// The bed (or other resource) named by a `location` of the form `Location/resource-N`;
    /// if `practitioner` is given too, both must name the same resource.
    pub location_resource: Option<ResourceId>,
    /// The patient who will book: a patient with a valid unused referral also sees the
    /// referral pool.
    pub patient: Option<PatientId>,
    /// Most Slots returned (`_count`, 1 ..= the engine's `QUERY_LIMIT_MAX`; default
    /// [`FIND_COUNT_DEFAULT`]).
    pub count: u32,
}

/// Named values of an input, from a `Parameters` resource or a plain object.
struct Args {
    values: Vec<(String, Value)>,
    /// How a name is written in locations: `Parameters.parameter[2]` or the key.
    shape: &'static str,
}

impl Args {
    fn from(v: &Value, allowed: &[&str]) -> FhirResult<Args> {
        let Some(o) = v.as_object() else {
            return Err(FhirError::invalid(None, "input must be a JSON object"));
        };
        let mut values = Vec::new();
        let shape;
        if o.get("resourceType").and_then(Value::as_str) == Some("Parameters") {
            shape = "Parameters";
            let params = match o.get("parameter") {
                None => &[][..],
                Some(Value::Array(a)) => a.as_slice(),
                Some(_) => {
                    return Err(FhirError::invalid(
                        Some("Parameters.parameter".into()),
                        "must be an array",
                    ))
                }
            };
            for (i, p) in params.iter().enumerate() {
                let loc = format!("Parameters.parameter[{i}]");
                let p = p
                    .as_object()
                    .ok_or_else(|| FhirError::invalid(Some(loc.clone()), "must be an object"))?;
                let name = p.get("name").and_then(Value::as_str).ok_or_else(|| {
                    FhirError::one(Issue::error(
                        "required",
                        Some(format!("{loc}.name")),
                        "a parameter needs a name",
                    ))
                })?;
                let value = p
                    .iter()
                    .find(|(k, _)| k.starts_with("value") || k.as_str() == "resource")
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| {
                        FhirError::one(Issue::error(
                            "required",
                            Some(loc.clone()),
                            format!("parameter {name:?} has no value[x]"),
                        ))
                    })?;
                values.push((name.to_string(), value));
            }
        } else if o.contains_key("resourceType") {
            return Err(FhirError::invalid(
                Some("resourceType".into()),
                "expected a Parameters resource or a plain object",
            ));
        } else {
            shape = "object";
            values = o.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        }
        for (k, _) in &values {
            if !allowed.contains(&k.as_str()) {
                return Err(FhirError::one(Issue::error(
                    "not-supported",
                    Some(k.clone()),
                    format!("unknown parameter {k:?}; accepted: {}", allowed.join(", ")),
                )));
            }
        }
        Ok(Args { values, shape })
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    fn loc(&self, name: &str) -> Option<String> {
        Some(if self.shape == "Parameters" {
            format!("Parameters.parameter.where(name='{name}')")
        } else {
            name.to_string()
        })
    }

    fn text(&self, name: &str) -> FhirResult<Option<String>> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.len() <= 256 => Ok(Some(s.clone())),
            // valueCoding / valueCodeableConcept: take the (first) code.
            Some(Value::Object(o)) => {
                let code = o
                    .get("code")
                    .or_else(|| o.get("coding").and_then(|c| c.get(0)).and_then(|c| c.get("code")));
                match code.and_then(Value::as_str) {
                    Some(c) if c.len() <= 256 => Ok(Some(c.to_string())),
                    _ => Err(FhirError::invalid(
                        self.loc(name),
                        "expected a string, a Coding or a CodeableConcept with a code",
                    )),
                }
            }
            _ => Err(FhirError::invalid(
                self.loc(name),
                "expected a string of at most 256 characters",
            )),
        }
    }

    fn reference(&self, name: &str, types: &[&str], prefix: &str) -> FhirResult<Option<u64>> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => parse_ref(v, types, prefix)
                .map(Some)
                .map_err(|m| FhirError::invalid(self.loc(name), m)),
        }
    }

    fn time(&self, name: &str, off: i32, end_of_day: bool) -> FhirResult<Option<Timestamp>> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => parse_date_or_time(s, off, end_of_day)
                .map(Some)
                .map_err(|m| FhirError::invalid(self.loc(name), m)),
            Some(_) => {
                Err(FhirError::invalid(self.loc(name), "expected a date or date-time string"))
            }
        }
    }

    fn boolean(&self, name: &str) -> FhirResult<bool> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(FhirError::invalid(self.loc(name), "expected true or false")),
        }
    }
}

fn required(loc: Option<String>, what: &str) -> FhirError {
    FhirError::one(Issue::error("required", loc, format!("{what} is required")))
}

impl FindParams {
    /// Read `$find` parameters: `start`, `end` (dates or date-times; required), `specialty`,
    /// `practitioner`, `organization`, `location`, `patient`, `_count`.
    pub fn from_json(engine: &Engine, v: &Value) -> FhirResult<FindParams> {
        let a = Args::from(
            v,
            &[
                "start",
                "end",
                "specialty",
                "practitioner",
                "organization",
                "location",
                "patient",
                "_count",
            ],
        )?;
        let off = engine.utc_offset_s();
        let start =
            a.time("start", off, false)?.ok_or_else(|| required(a.loc("start"), "start"))?;
        let end = a.time("end", off, true)?.ok_or_else(|| required(a.loc("end"), "end"))?;
        if end <= start {
            return Err(FhirError::invalid(a.loc("end"), "end must be after start"));
        }
        let practitioner = match a.reference("practitioner", &RESOURCE_REF_TYPES, "resource-")? {
            Some(n) => Some(ResourceId(
                id_u32(n, "resource").map_err(|m| FhirError::invalid(a.loc("practitioner"), m))?,
            )),
            None => None,
        };
        let organization = match a.reference("organization", &["Organization"], "institution-")? {
            Some(n) => Some(InstitutionId(
                id_u32(n, "institution")
                    .map_err(|m| FhirError::invalid(a.loc("organization"), m))?,
            )),
            None => None,
        };
        let patient = match a.reference("patient", &["Patient"], "patient-")? {
            Some(n) => Some(PatientId(
                id_u32(n, "patient").map_err(|m| FhirError::invalid(a.loc("patient"), m))?,
            )),
            None => None,
        };
        let (mut location, mut location_resource) = (None, None);
        if let Some(l) = a.text("location")? {
            if l.contains('/') || l.starts_with("resource-") {
                let n = parse_ref(&Value::String(l), &["Location"], "resource-")
                    .map_err(|m| FhirError::invalid(a.loc("location"), m))?;
                location_resource = Some(ResourceId(
                    id_u32(n, "resource").map_err(|m| FhirError::invalid(a.loc("location"), m))?,
                ));
            } else {
                location = Some(l);
            }
        }
        let count = match a.get("_count") {
            None | Some(Value::Null) => FIND_COUNT_DEFAULT,
            Some(v) => match v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())) {
                Some(n) if (1..=QUERY_LIMIT_MAX as u64).contains(&n) => n as u32,
                _ => {
                    return Err(FhirError::invalid(
                        a.loc("_count"),
                        format!("_count must be 1 ..= {QUERY_LIMIT_MAX}"),
                    ))
                }
            },
        };
        Ok(FindParams {
            start,
            end,
            specialty: a.text("specialty")?,
            practitioner,
            organization,
            location,
            location_resource,
            patient,
            count,
        })
    }
}

/// `$find`: free Slots matching the parameters, earliest first, as a searchset Bundle.
///
/// The Bundle lists each Slot (search mode `match`) and then the Schedule of each resource
/// they belong to (mode `include`). Only slots open to booking now are found: the public
/// window (and, for a `patient` with a valid referral, the referral window) decides.
///
/// ```
/// use haoyuan::{Date, Engine, EngineConfig, ResourceKind, SlotSpec, Tier, Timestamp};
/// use haoyuan_fhir::ops;
/// use serde_json::json;
/// let day = Date::from_ymd(2026, 11, 24)?;
/// let engine = Engine::with_manual_clock(
///     EngineConfig::default(),
///     Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600),
/// )?;
/// let h = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
/// let paediatrics = engine.add_department(h, "paediatrics", "Paediatrics")?;
/// let dr_chen = engine.add_resource(paediatrics, ResourceKind::Doctor, "Dr Chen", true)?;
/// let seg = |start_min| SlotSpec {
///     resource: dr_chen,
///     date: day,
///     start_min,
///     end_min: start_min + 20,
///     capacity: 1,
/// };
/// engine.publish_slots(&[seg(840), seg(860), seg(880)])?;
/// // A FHIR Parameters resource; a plain object with the same names works too.
/// let params = json!({ "resourceType": "Parameters", "parameter": [
///     { "name": "start", "valueDateTime": "2026-11-24T14:15:00+08:00" },
///     { "name": "end", "valueDate": "2026-11-24" },
///     { "name": "specialty", "valueCode": "paediatrics" },
///     { "name": "_count", "valueInteger": 5 },
/// ]});
/// let bundle = ops::find(&engine, &params)?;
/// assert_eq!(bundle["type"], "searchset");
/// assert_eq!(bundle["total"], 2, "the 14:00 segment starts before the requested start");
/// assert_eq!(bundle["entry"][0]["resource"]["start"], "2026-11-24T14:20:00+08:00");
/// assert_eq!(bundle["entry"][2]["search"]["mode"], "include"); // Dr Chen's Schedule
/// # Ok::<(), haoyuan_fhir::FhirError>(())
/// ```
pub fn find(engine: &Engine, v: &Value) -> FhirResult<Value> {
    let p = FindParams::from_json(engine, v)?;
    let slots = find_slots(engine, &p)?;
    searchset(engine, &slots)
}

/// The free slots `$find` reports, as the engine's [`SlotInfo`]s (earliest first, at most
/// `p.count`): for a host that wants the slots rather than the Bundle.
pub fn find_slots(engine: &Engine, p: &FindParams) -> FhirResult<Vec<SlotInfo>> {
    let off = engine.utc_offset_s();
    let resource = match (p.practitioner, p.location_resource) {
        (Some(a), Some(b)) if a != b => {
            return Err(FhirError::invalid(
                None,
                "practitioner and location name different resources",
            ))
        }
        (a, b) => a.or(b),
    };
    let with_referral = match p.patient {
        Some(patient) => {
            let now = engine.now();
            engine
                .patient_record(patient)?
                .referrals
                .iter()
                .any(|r| r.used_by.is_none() && r.valid_from <= now && now <= r.valid_until)
        }
        None => false,
    };
    let (date_from, _) = p.start.to_local(off);
    let (date_to, _) = p.end.plus_s(-1).to_local(off);
    // The engine filters by whole days; the exact instants are applied here. Slots cut off at
    // either end can crowd out the ones wanted, so widen the engine's limit until enough match
    // or the engine has nothing more.
    let mut limit = p.count.saturating_add(64).min(QUERY_LIMIT_MAX);
    loop {
        let q = AvailabilityQuery {
            resource,
            institution: p.organization,
            specialty: p.specialty.clone(),
            district: p.location.clone(),
            date_from,
            date_to,
            with_referral,
            limit,
            ..AvailabilityQuery::default()
        };
        let raw = engine.find_free_slots(&q)?;
        let exhausted = raw.len() < limit as usize;
        let mut out = Vec::new();
        for f in &raw {
            let info = engine.slot(f.slot)?;
            if info.starts_at >= p.start && info.ends_at <= p.end {
                out.push(info);
                if out.len() == p.count as usize {
                    return Ok(out);
                }
            }
        }
        if exhausted || limit == QUERY_LIMIT_MAX {
            return Ok(out);
        }
        limit = limit.saturating_mul(4).min(QUERY_LIMIT_MAX);
    }
}

/// What `$hold`, `$book` and `$cancel` act on.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct AppointmentRequest {
    /// The Slot to hold or book (`Slot/slot-N`); required unless confirming or cancelling
    /// an existing `appointment`.
    pub slot: Option<SlotId>,
    /// The booking patient (`Patient/patient-N`, the engine's master patient index id).
    pub patient: Option<PatientId>,
    /// The booking channel by name (`app`, `wechat`, `web`, `kiosk`, `phone`, `clinic` or one
    /// the host added); per-channel quotas and statistics depend on it.
    pub channel: Option<String>,
    /// A referral (`ServiceRequest/referral-N`): opens the referral pool and raises priority.
    pub referral: Option<ReferralId>,
    /// A follow-up visit: priority between referrals and the general public.
    pub follow_up: bool,
    /// An existing hold or booking (`Appointment/booking-N`).
    pub appointment: Option<BookingId>,
    /// Every slot of an Appointment naming several (`slot[0..]`): a booking group, booked all
    /// or nothing by `$book` (a bed stay, a visit with its exam). Empty for one slot.
    pub slots: Vec<SlotId>,
}

impl AppointmentRequest {
    /// Read a plain object (`slot`, `patient`, `channel`, `referral`, `follow_up`,
    /// `appointment`), a `Parameters` resource with those names (or one `appointment`
    /// parameter holding an Appointment resource), or an `Appointment` resource: `slot[0]`,
    /// the `Patient` participant, `basedOn` a `ServiceRequest`, the channel extension, and `id`
    /// naming an existing hold or booking.
    pub fn from_json(v: &Value) -> FhirResult<AppointmentRequest> {
        if v.get("resourceType").and_then(Value::as_str) == Some("Appointment") {
            return Self::from_appointment(v);
        }
        if v.get("resourceType").and_then(Value::as_str) == Some("Parameters") {
            if let Some(Value::Array(ps)) = v.get("parameter") {
                if let [p] = ps.as_slice() {
                    if let Some(r) = p.get("resource").filter(|r| {
                        r.get("resourceType").and_then(Value::as_str) == Some("Appointment")
                    }) {
                        return Self::from_appointment(r);
                    }
                }
            }
        }
        let a =
            Args::from(v, &["slot", "patient", "channel", "referral", "follow_up", "appointment"])?;
        let slot = a.reference("slot", &["Slot"], "slot-")?;
        let patient = a.reference("patient", &["Patient"], "patient-")?;
        Ok(AppointmentRequest {
            slots: Vec::new(),
            slot: slot
                .map(|n| id_u32(n, "slot").map(SlotId))
                .transpose()
                .map_err(|m| FhirError::invalid(a.loc("slot"), m))?,
            patient: patient
                .map(|n| id_u32(n, "patient").map(PatientId))
                .transpose()
                .map_err(|m| FhirError::invalid(a.loc("patient"), m))?,
            channel: a.text("channel")?,
            referral: a.reference("referral", &["ServiceRequest"], "referral-")?.map(ReferralId),
            follow_up: a.boolean("follow_up")?,
            appointment: a.reference("appointment", &["Appointment"], "booking-")?.map(BookingId),
        })
    }

    fn from_appointment(v: &Value) -> FhirResult<AppointmentRequest> {
        let inv = |loc: &str, m: String| FhirError::invalid(Some(format!("Appointment.{loc}")), m);
        let mut req = AppointmentRequest::default();
        if let Some(id) = v.get("id") {
            let s = id.as_str().ok_or_else(|| inv("id", "must be a string".into()))?;
            if s.starts_with("booking-") {
                req.appointment = Some(BookingId(
                    parse_ref(id, &["Appointment"], "booking-").map_err(|m| inv("id", m))?,
                ));
            }
        }
        match v.get("slot") {
            None => {}
            Some(Value::Array(a)) if a.len() <= GROUP_PLACES_MAX => {
                for (i, s) in a.iter().enumerate() {
                    let at = format!("slot[{i}]");
                    let n = parse_ref(s, &["Slot"], "slot-").map_err(|m| inv(&at, m))?;
                    let id = SlotId(id_u32(n, "slot").map_err(|m| inv(&at, m))?);
                    req.slot.get_or_insert(id);
                    if a.len() > 1 {
                        req.slots.push(id);
                    }
                }
            }
            Some(_) => {
                return Err(inv(
                    "slot",
                    format!("must be an array of 1 ..= {GROUP_PLACES_MAX} Slot references"),
                ))
            }
        }
        match v.get("participant") {
            None => {}
            Some(Value::Array(ps)) => {
                for (i, p) in ps.iter().enumerate() {
                    let Some(r) =
                        p.get("actor").and_then(|a| a.get("reference")).and_then(Value::as_str)
                    else {
                        continue;
                    };
                    if r.starts_with("Patient/") || r.contains("/Patient/") {
                        let n = parse_ref(&Value::String(r.into()), &["Patient"], "patient-")
                            .map_err(|m| inv(&format!("participant[{i}].actor"), m))?;
                        if req.patient.is_some() {
                            return Err(inv(
                                "participant",
                                "more than one Patient participant".into(),
                            ));
                        }
                        req.patient = Some(PatientId(
                            id_u32(n, "patient").map_err(|m| inv("participant", m))?,
                        ));
                    }
                }
            }
            Some(_) => return Err(inv("participant", "must be an array".into())),
        }
        match v.get("basedOn") {
            None => {}
            Some(Value::Array(b)) if b.len() <= 1 => {
                if let Some(r) = b.first() {
                    req.referral = Some(ReferralId(
                        parse_ref(r, &["ServiceRequest"], "referral-")
                            .map_err(|m| inv("basedOn[0]", m))?,
                    ));
                }
            }
            Some(_) => {
                return Err(inv(
                    "basedOn",
                    "must be an array of one ServiceRequest reference".into(),
                ))
            }
        }
        if let Some(Value::Array(exts)) = v.get("extension") {
            for e in exts {
                if e.get("url").and_then(Value::as_str) == Some(EXT_CHANNEL) {
                    let c =
                        e.get("valueString").or_else(|| e.get("valueCode")).and_then(Value::as_str);
                    req.channel = Some(
                        c.filter(|c| c.len() <= 256)
                            .ok_or_else(|| {
                                inv("extension", "the channel extension needs valueString".into())
                            })?
                            .to_string(),
                    );
                }
            }
        }
        Ok(req)
    }

    fn request(&self, engine: &Engine) -> FhirResult<Request> {
        let slot = self.slot.ok_or_else(|| required(Some("slot".into()), "slot"))?;
        let patient = self.patient.ok_or_else(|| required(Some("patient".into()), "patient"))?;
        let channel =
            self.channel.as_deref().ok_or_else(|| required(Some("channel".into()), "channel"))?;
        let channel = engine.channel_id(channel).map_err(|e| {
            FhirError::one(Issue::error("code-invalid", Some("channel".into()), e.to_string()))
        })?;
        Ok(Request { patient, slot, channel, referral: self.referral, follow_up: self.follow_up })
    }
}

/// `$hold`: hold a place; → the `pending` Appointment.
pub fn hold(engine: &Engine, v: &Value) -> FhirResult<Value> {
    let r = AppointmentRequest::from_json(v)?;
    if r.appointment.is_some() {
        return Err(FhirError::invalid(
            Some("appointment".into()),
            "$hold makes a new appointment; do not name an existing one",
        ));
    }
    if !r.slots.is_empty() {
        return Err(FhirError::invalid(
            Some("slot".into()),
            "an Appointment of several slots is booked all at once ($book), never held",
        ));
    }
    let b = engine.hold(&r.request(engine)?)?;
    export::appointment(engine, b.id)
}

/// `$book`: confirm the pending hold named by `appointment`, or book `slot` at once; → the
/// `booked` Appointment.
///
/// Errors are the engine's refusals as `OperationOutcome`s: a full slot is a `conflict`
/// ([`ErrorCode::SlotFull`]); a per-patient limit, a suspension, a booking window not yet open
/// or an expired hold is a `business-rule`, each with its engine code
/// ([`FhirError::code`]).
///
/// ```
/// use haoyuan::{Date, Engine, EngineConfig, ErrorCode, ResourceKind, SlotSpec, Tier, Timestamp};
/// use haoyuan_fhir::ops;
/// use serde_json::json;
/// let day = Date::from_ymd(2026, 11, 24)?;
/// let engine = Engine::with_manual_clock(
///     EngineConfig::default(),
///     Timestamp::from_local(day.plus_days(-1), 16 * 60, 8 * 3600),
/// )?;
/// let h = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
/// let cardiology = engine.add_department(h, "cardiology", "Cardiology")?;
/// let dr_li = engine.add_resource(cardiology, ResourceKind::Doctor, "Dr Li", false)?;
/// let spec = SlotSpec { resource: dr_li, date: day, start_min: 480, end_min: 510, capacity: 1 };
/// let slot = engine.publish_slots(&[spec])?.start;
/// let (p1, p2) = (engine.register_patient()?, engine.register_patient()?);
/// // An Appointment resource, as a FHIR client would send it.
/// let appointment = |p: haoyuan::PatientId| json!({
///     "resourceType": "Appointment",
///     "status": "proposed",
///     "slot": [{ "reference": format!("Slot/slot-{}", slot.0) }],
///     "participant": [{
///         "actor": { "reference": format!("Patient/patient-{}", p.0) },
///         "status": "needs-action",
///     }],
///     "extension": [{ "url": haoyuan_fhir::EXT_CHANNEL, "valueString": "kiosk" }],
/// });
/// let booked = ops::book(&engine, &appointment(p1))?;
/// assert_eq!(booked["status"], "booked");
/// let full = ops::book(&engine, &appointment(p2)).unwrap_err();
/// assert_eq!((full.issues[0].code, full.code()), ("conflict", ErrorCode::SlotFull));
/// # Ok::<(), haoyuan_fhir::FhirError>(())
/// ```
pub fn book(engine: &Engine, v: &Value) -> FhirResult<Value> {
    let r = AppointmentRequest::from_json(v)?;
    let b = match r.appointment {
        Some(id) => engine.confirm(id)?,
        // Several slots: one booking group, all or nothing; its Appointment references them all.
        None if !r.slots.is_empty() => {
            let one = r.request(engine)?;
            let group = GroupRequest {
                patient: one.patient,
                channel: one.channel,
                slots: r.slots.clone(),
                referral: one.referral,
            };
            return export::appointment(engine, engine.book_group(&group)?.id);
        }
        None => engine.book(&r.request(engine)?)?,
    };
    export::appointment(engine, b.id)
}

/// `$cancel`: cancel the hold or booking named by `appointment`; → the `cancelled` Appointment.
pub fn cancel(engine: &Engine, v: &Value) -> FhirResult<Value> {
    let r = AppointmentRequest::from_json(v)?;
    let id = r.appointment.ok_or_else(|| {
        required(Some("appointment".into()), "appointment (Appointment/booking-N)")
    })?;
    let b = engine.cancel(id)?;
    export::appointment(engine, b.id)
}
