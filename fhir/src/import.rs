//! Import: a hospital's roster as a FHIR Schedule + Slot bundle, or as a CSV roster.
//!
//! Both importers are all-or-nothing: every entry or row is validated first (all problems are
//! reported together, each with where and why), and only then are the slots published in ONE
//! [`Engine::publish_slots`] call, which is itself all-or-nothing. A slot that exists already
//! (same resource, date, start and end) is refused as a duplicate, so importing a file twice
//! cannot double the places.
//!
//! CSV is parsed by a small strict parser (RFC 4180 quoting, one record per line) rather than
//! the `csv` crate: the format is seven known columns, strictness is the point (an embedded
//! newline or a stray quote is an error with its line number, not a guess), and it keeps the
//! core crate free of another dependency. It is fuzzed with the other importers.

use super::export::{actor_type, SlotStatus, RESOURCE_REF_TYPES};
use super::*;
use haoyuan::PUBLISH_BATCH_MAX;
use haoyuan::{Roster, SlotSpec};

use haoyuan::PLACES_MAX;
use std::collections::{BTreeMap, HashMap};

/// Most entries one bundle may hold.
pub const BUNDLE_ENTRIES_MAX: usize = 1_000_000;
/// Largest CSV roster, in bytes.
pub const CSV_BYTES_MAX: usize = 16 << 20;
/// Most data rows in one CSV roster.
pub const CSV_ROWS_MAX: usize = 100_000;
/// Longest span of dates one CSV import expands.
pub const CSV_DAYS_MAX: i32 = 366;
/// The CSV columns, in any order, all required, each once.
pub const CSV_COLUMNS: [&str; 7] = [
    "resource",
    "department",
    "weekday",
    "session_start",
    "session_end",
    "segment_minutes",
    "places",
];
/// Issues collected before validation stops looking (the outcome lists [`ISSUES_MAX`]).
const ISSUES_COLLECT_MAX: usize = 1000;

/// How bundle Schedules are matched to resources.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ImportOptions {
    /// For Schedules without haoyuan's resource identifier: match the actor's `display` to a
    /// resource name (and `specialty` code, when given) at this institution.
    pub institution: Option<InstitutionId>,
}

impl ImportOptions {
    /// Read the options from JSON: `{}` or `{"institution": 0}`. Unknown options are refused.
    pub fn from_json(v: &Value) -> FhirResult<ImportOptions> {
        let o = v
            .as_object()
            .ok_or_else(|| FhirError::invalid(None, "import options must be a JSON object"))?;
        if let Some(k) = o.keys().find(|k| k.as_str() != "institution") {
            return Err(FhirError::invalid(Some(k.clone()), format!("unknown option {k:?}")));
        }
        Ok(ImportOptions { institution: opt_id(o, "institution")?.map(InstitutionId) })
    }
}

fn opt_id(o: &Map<String, Value>, k: &str) -> FhirResult<Option<u32>> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            v.as_u64().and_then(|n| u32::try_from(n).ok()).map(Some).ok_or_else(|| {
                FhirError::invalid(Some(k.into()), "must be a non-negative integer id")
            })
        }
    }
}

/// A CSV roster import: whose roster, and which dates to publish.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvImport {
    /// The institution whose departments and resources the rows name.
    pub institution: InstitutionId,
    /// First date to publish (local to the region, inclusive).
    pub valid_from: Date,
    /// Last date to publish (inclusive), at most [`CSV_DAYS_MAX`] days after `valid_from`.
    pub valid_until: Date,
}

impl CsvImport {
    /// Read the options from JSON: `{"institution": 0, "valid_from": "2026-11-23",
    /// "valid_until": "2026-12-06"}`, all three required. Unknown options are refused.
    pub fn from_json(v: &Value) -> FhirResult<CsvImport> {
        let o = v
            .as_object()
            .ok_or_else(|| FhirError::invalid(None, "CSV import options must be a JSON object"))?;
        if let Some(k) =
            o.keys().find(|k| !["institution", "valid_from", "valid_until"].contains(&k.as_str()))
        {
            return Err(FhirError::invalid(Some(k.clone()), format!("unknown option {k:?}")));
        }
        let date = |k: &str| -> FhirResult<Date> {
            let s = o.get(k).and_then(Value::as_str).ok_or_else(|| {
                FhirError::one(Issue::error(
                    "required",
                    Some(k.into()),
                    "a date YYYY-MM-DD is required",
                ))
            })?;
            Date::parse(s).map_err(|_| {
                FhirError::invalid(Some(k.into()), format!("{s:?} is not a valid date YYYY-MM-DD"))
            })
        };
        let institution = opt_id(o, "institution")?.ok_or_else(|| {
            FhirError::one(Issue::error(
                "required",
                Some("institution".into()),
                "institution is required",
            ))
        })?;
        Ok(CsvImport {
            institution: InstitutionId(institution),
            valid_from: date("valid_from")?,
            valid_until: date("valid_until")?,
        })
    }
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ImportReport {
    /// The new slots, contiguous, in (resource, date, start) order.
    pub slots: Option<SlotRange>,
    /// The published specs, in the same order as the ids.
    pub specs: Vec<SlotSpec>,
    /// Bundle Slots not imported because they are `busy-unavailable` or `entered-in-error`.
    pub skipped: usize,
    /// The CSV rows as roster templates (the host may `add_roster` them to publish later weeks).
    pub rosters: Vec<Roster>,
}

impl ImportReport {
    /// The report as the `*_json` functions return it: `{"first_slot": id or null, "slots":
    /// count published, "skipped": Slots skipped, "rosters": CSV rows}` (the specs and rosters
    /// themselves are not repeated).
    pub fn to_json(&self) -> Value {
        json!({
            "first_slot": self.slots.as_ref().map(|r| r.start.0),
            "slots": self.specs.len(),
            "skipped": self.skipped,
            "rosters": self.rosters.len(),
        })
    }
}

#[derive(Default)]
struct Issues(Vec<Issue>);

impl Issues {
    fn push(&mut self, code: &'static str, location: String, diagnostics: impl Into<String>) {
        if self.0.len() < ISSUES_COLLECT_MAX {
            self.0.push(Issue::error(code, Some(location), diagnostics));
        }
    }
    fn full(&self) -> bool {
        self.0.len() >= ISSUES_COLLECT_MAX
    }
    fn finish(self) -> FhirResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(FhirError { issues: self.0 })
        }
    }
}

/// The local date and minutes of a slot given as two instants: whole minutes, one local day
/// (an end at the next midnight is minute 1440).
pub(crate) fn local_segment(
    start: Timestamp,
    end: Timestamp,
    off: i32,
) -> Result<(Date, u16, u16), String> {
    for t in [start, end] {
        if (t.0 + off as i64).rem_euclid(60) != 0 {
            return Err(format!("{} is not on a whole minute", rfc3339(t, off)));
        }
    }
    let (date, s) = start.to_local(off);
    let (end_date, e) = end.to_local(off);
    let e = if end_date == date {
        e
    } else if end_date == date.plus_days(1) && e == 0 {
        1440
    } else {
        return Err(format!(
            "a slot must end on the local day it starts ({} .. {})",
            rfc3339(start, off),
            rfc3339(end, off)
        ));
    };
    if e <= s {
        return Err("end must be after start".into());
    }
    if !date.is_valid() {
        return Err(format!("date {date} is outside 1970 ..= 2199"));
    }
    Ok((date, s, e))
}

/// Refuse specs that repeat each other or a slot already published. `at` gives each spec's
/// location for the message.
fn check_duplicates(
    engine: &Engine,
    specs: &[SlotSpec],
    at: &dyn Fn(usize) -> String,
    issues: &mut Issues,
) {
    let mut seen: HashMap<(ResourceId, Date, u16, u16), usize> = HashMap::new();
    let mut existing: HashMap<(ResourceId, Date), HashMap<(u16, u16), SlotId>> = HashMap::new();
    for (i, s) in specs.iter().enumerate() {
        if issues.full() {
            return;
        }
        if let Some(first) = seen.insert((s.resource, s.date, s.start_min, s.end_min), i) {
            issues.push(
                "duplicate",
                at(i),
                format!(
                    "repeats the slot of {} ({} {}..{} of {})",
                    at(first),
                    s.date,
                    s.start_min,
                    s.end_min,
                    s.resource
                ),
            );
            continue;
        }
        let day = existing.entry((s.resource, s.date)).or_insert_with(|| {
            engine
                .resource_day_slots(s.resource, s.date)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|id| engine.slot(id).ok().map(|x| ((x.start_min, x.end_min), id)))
                .collect()
        });
        if let Some(id) = day.get(&(s.start_min, s.end_min)) {
            issues.push(
                "duplicate",
                at(i),
                format!(
                    "already published as Slot/slot-{} ({} {}..{} of {})",
                    id.0, s.date, s.start_min, s.end_min, s.resource
                ),
            );
        }
    }
}

/// Publish validated specs in one call, sorted so each resource-day is one run (pool shares
/// are spread over runs).
fn publish(
    engine: &Engine,
    mut specs: Vec<SlotSpec>,
) -> FhirResult<(Option<SlotRange>, Vec<SlotSpec>)> {
    if specs.len() > PUBLISH_BATCH_MAX {
        return Err(FhirError::one(Issue::error(
            "too-costly",
            None,
            format!("{} slots exceed {PUBLISH_BATCH_MAX} per import", specs.len()),
        )));
    }
    specs.sort_by_key(|s| (s.resource, s.date, s.start_min, s.end_min));
    if specs.is_empty() {
        return Ok((None, specs));
    }
    let ids = engine.publish_slots(&specs)?;
    Ok((Some(ids), specs))
}

// ------------------------------------------------------------------ FHIR bundle

fn get_str<'a>(o: &'a Value, k: &str) -> Option<&'a str> {
    o.get(k).and_then(Value::as_str)
}

const BUNDLE_TYPES: [&str; 9] = [
    "document",
    "message",
    "transaction",
    "transaction-response",
    "batch",
    "batch-response",
    "history",
    "searchset",
    "collection",
];

/// Validate a Schedule + Slot bundle and return the slots it describes (nothing is changed).
/// Other resource types in the bundle (Appointments, Practitioners …) are ignored.
pub fn parse_bundle(
    engine: &Engine,
    v: &Value,
    opts: &ImportOptions,
) -> FhirResult<(Vec<SlotSpec>, usize)> {
    if !v.is_object() {
        return Err(FhirError::one(Issue::error(
            "structure",
            None,
            "a Bundle must be a JSON object",
        )));
    }
    if get_str(v, "resourceType") != Some("Bundle") {
        return Err(FhirError::invalid(
            Some("Bundle.resourceType".into()),
            "resourceType must be \"Bundle\"",
        ));
    }
    if let Some(t) = v.get("type") {
        if !t.as_str().is_some_and(|t| BUNDLE_TYPES.contains(&t)) {
            return Err(FhirError::one(Issue::error(
                "code-invalid",
                Some("Bundle.type".into()),
                format!("{t} is not a Bundle type code"),
            )));
        }
    }
    let entries = match v.get("entry") {
        Some(Value::Array(a)) => a.as_slice(),
        None => &[][..],
        Some(_) => {
            return Err(FhirError::one(Issue::error(
                "structure",
                Some("Bundle.entry".into()),
                "must be an array",
            )))
        }
    };
    if entries.len() > BUNDLE_ENTRIES_MAX {
        return Err(FhirError::one(Issue::error(
            "too-costly",
            Some("Bundle.entry".into()),
            format!("{} entries exceed {BUNDLE_ENTRIES_MAX}", entries.len()),
        )));
    }
    if let Some(i) = opts.institution {
        engine.institution(i)?;
    }
    let off = engine.utc_offset_s();
    let mut issues = Issues::default();

    // Pass 1: Schedules, by `Schedule/<id>` and by fullUrl.
    let mut schedules: HashMap<String, ResourceId> = HashMap::new();
    let mut by_name: Option<ByName> = None;
    let mut unresolved: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        let at = format!("Bundle.entry[{i}].resource");
        let Some(r) = e.get("resource").filter(|r| r.is_object()) else {
            issues.push(
                "required",
                format!("Bundle.entry[{i}]"),
                "an entry needs a resource object",
            );
            continue;
        };
        match get_str(r, "resourceType") {
            None => issues.push(
                "required",
                format!("{at}.resourceType"),
                "a resource needs a resourceType",
            ),
            Some("Schedule") => {
                let Some(id) = get_str(r, "id").filter(|id| is_fhir_id(id)) else {
                    issues.push("required", format!("{at}.id"), "a Schedule needs an id (1-64 of A-Z a-z 0-9 - .) for its Slots to reference");
                    continue;
                };
                let resource = match schedule_resource(engine, r, opts, &mut by_name) {
                    Ok(res) => res,
                    Err((code, field, m)) => {
                        issues.push(code, format!("{at}{field}"), m);
                        // Its Slots are not reported again: this issue covers them.
                        unresolved.insert(format!("Schedule/{id}"));
                        unresolved.extend(get_str(e, "fullUrl").map(str::to_string));
                        continue;
                    }
                };
                let mut keys = vec![format!("Schedule/{id}")];
                if let Some(u) = get_str(e, "fullUrl") {
                    keys.push(u.to_string());
                }
                for k in keys {
                    if schedules.insert(k.clone(), resource).is_some() {
                        issues.push(
                            "duplicate",
                            format!("{at}.id"),
                            format!("{k} appears twice in the bundle"),
                        );
                    }
                }
            }
            Some(_) => {}
        }
    }

    // Pass 2: Slots.
    let mut specs = Vec::new();
    let mut spec_entry = Vec::new();
    let mut skipped = 0;
    for (i, e) in entries.iter().enumerate() {
        if issues.full() {
            break;
        }
        let Some(r) = e.get("resource").filter(|r| get_str(r, "resourceType") == Some("Slot"))
        else {
            continue;
        };
        let at = format!("Bundle.entry[{i}].resource");
        let schedule = match r.get("schedule").and_then(|s| s.get("reference")) {
            Some(Value::String(s)) => {
                // An absolute reference resolves by its `Schedule/<id>` tail too.
                let tail = s
                    .rsplitn(3, '/')
                    .take(2)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("/");
                match schedules.get(s.as_str()).or_else(|| schedules.get(&tail)) {
                    Some(r) => Some(*r),
                    None if unresolved.contains(s.as_str()) || unresolved.contains(&tail) => {
                        continue
                    }
                    None => {
                        issues.push(
                            "not-found",
                            format!("{at}.schedule"),
                            format!("references {s:?}, which is not a Schedule in this bundle"),
                        );
                        None
                    }
                }
            }
            _ => {
                issues.push(
                    "required",
                    format!("{at}.schedule"),
                    "a Slot needs schedule.reference",
                );
                None
            }
        };
        let status = match get_str(r, "status") {
            Some(s) => match SlotStatus::from_code(s) {
                Some(st) => Some(st),
                None => {
                    issues.push("code-invalid", format!("{at}.status"), format!("{s:?} is not a Slot status (free | busy | busy-tentative | busy-unavailable | entered-in-error)"));
                    None
                }
            },
            None => {
                issues.push("required", format!("{at}.status"), "a Slot needs a status code");
                None
            }
        };
        let mut time = |k: &str| match r.get(k) {
            Some(Value::String(s)) => match parse_instant(s) {
                Ok(t) => Some(t),
                Err(m) => {
                    issues.push("value", format!("{at}.{k}"), m);
                    None
                }
            },
            Some(_) => {
                issues.push("value", format!("{at}.{k}"), "must be an instant string");
                None
            }
            None => {
                issues.push("required", format!("{at}.{k}"), format!("a Slot needs {k}"));
                None
            }
        };
        let (start, end) = (time("start"), time("end"));
        let capacity = match slot_capacity(r) {
            Ok(c) => Some(c),
            Err(m) => {
                issues.push("value", format!("{at}.extension"), m);
                None
            }
        };
        let (Some(resource), Some(status), Some(start), Some(end), Some(capacity)) =
            (schedule, status, start, end, capacity)
        else {
            continue;
        };
        let (date, start_min, end_min) = match local_segment(start, end, off) {
            Ok(x) => x,
            Err(m) => {
                issues.push("value", format!("{at}.end"), m);
                continue;
            }
        };
        if matches!(status, SlotStatus::BusyUnavailable | SlotStatus::EnteredInError) {
            skipped += 1;
            continue;
        }
        specs.push(SlotSpec { resource, date, start_min, end_min, capacity });
        spec_entry.push(i);
    }
    issues.finish()?;
    let mut issues = Issues::default();
    check_duplicates(
        engine,
        &specs,
        &|k| format!("Bundle.entry[{}].resource", spec_entry[k]),
        &mut issues,
    );
    issues.finish()?;
    Ok((specs, skipped))
}

fn is_fhir_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn slot_capacity(r: &Value) -> Result<u16, String> {
    let exts = match r.get("extension") {
        None => return Ok(1),
        Some(Value::Array(a)) => a,
        Some(_) => return Err("extension must be an array".into()),
    };
    let mut found = None;
    for e in exts {
        if get_str(e, "url") == Some(EXT_CAPACITY) {
            if found.is_some() {
                return Err("the slot-capacity extension appears twice".into());
            }
            found = Some(match e.get("valuePositiveInt").and_then(Value::as_u64) {
                Some(n) if (1..=PLACES_MAX as u64).contains(&n) => n as u16,
                _ => {
                    return Err(format!("slot-capacity needs valuePositiveInt 1 ..= {PLACES_MAX}"))
                }
            });
        }
    }
    Ok(found.unwrap_or(1))
}

type Refusal = (&'static str, String, String);
/// Resources of an institution by name, with their specialty.
type ByName = HashMap<String, Vec<(ResourceId, String)>>;

/// The resource a Schedule stands for: haoyuan's identifier, or (with an institution) the
/// actor's display name and the specialty code.
fn schedule_resource(
    engine: &Engine,
    r: &Value,
    opts: &ImportOptions,
    by_name: &mut Option<ByName>,
) -> Result<ResourceId, Refusal> {
    if let Some(Value::Array(ids)) = r.get("identifier") {
        for ident in ids {
            if get_str(ident, "system") == Some(SID_RESOURCE) {
                let n = get_str(ident, "value")
                    .filter(|v| {
                        (1..=10).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit())
                    })
                    .and_then(|v| v.parse::<u32>().ok())
                    .ok_or((
                        "value",
                        ".identifier".to_string(),
                        "haoyuan's resource identifier must be a decimal id".to_string(),
                    ))?;
                return engine
                    .resource(ResourceId(n))
                    .map(|res| res.id)
                    .map_err(|e| ("not-found", ".identifier".into(), e.to_string()));
            }
        }
    } else if r.get("identifier").is_some() {
        return Err(("structure", ".identifier".into(), "must be an array".into()));
    }
    let Some(institution) = opts.institution else {
        return Err((
            "required",
            ".identifier".into(),
            format!("a Schedule needs an identifier with system {SID_RESOURCE}, or import options naming the institution whose resource its actor names"),
        ));
    };
    let actors = match r.get("actor") {
        Some(Value::Array(a)) => a.as_slice(),
        _ => return Err(("required", ".actor".into(), "a Schedule needs an actor array".into())),
    };
    let actor = actors.iter().find(|a| {
        get_str(a, "reference").is_some_and(|s| {
            let t = s.split('/').rev().nth(1).unwrap_or("");
            RESOURCE_REF_TYPES[1..].contains(&t) && !s.contains("/department-")
        })
    });
    let Some(name) = actor.and_then(|a| get_str(a, "display")) else {
        return Err((
            "required",
            ".actor".into(),
            "no Practitioner/Location/Device/HealthcareService actor with a display name".into(),
        ));
    };
    let specialty = r
        .get("specialty")
        .and_then(|s| s.get(0))
        .and_then(|c| c.get("coding"))
        .and_then(|c| c.get(0))
        .and_then(|c| get_str(c, "code"));
    let map = by_name.get_or_insert_with(|| {
        let mut m: ByName = HashMap::new();
        for d in engine.departments_of(institution).unwrap_or_default() {
            let spec = engine.specialty_name(d.specialty).unwrap_or_default();
            for res in engine.resources_of(d.id).unwrap_or_default() {
                m.entry(res.name.clone()).or_default().push((res.id, spec.clone()));
            }
        }
        m
    });
    let found: Vec<ResourceId> = map
        .get(name)
        .map(|v| {
            v.iter().filter(|(_, s)| specialty.is_none_or(|x| x == s)).map(|(id, _)| *id).collect()
        })
        .unwrap_or_default();
    let kind_type = actor
        .and_then(|a| get_str(a, "reference"))
        .and_then(|s| s.split('/').rev().nth(1))
        .unwrap_or("");
    match found.as_slice() {
        [id] => {
            let kind = engine
                .resource(*id)
                .map(|r| r.kind)
                .map_err(|e| ("not-found", ".actor".into(), e.to_string()))?;
            if actor_type(kind) != kind_type {
                return Err((
                    "value",
                    ".actor".into(),
                    format!("{name:?} is a {kind:?} resource, which is not a {kind_type}"),
                ));
            }
            Ok(*id)
        }
        [] => Err((
            "not-found",
            ".actor".into(),
            format!(
                "no resource named {name:?}{} at institution#{}",
                specialty.map(|s| format!(" in specialty {s:?}")).unwrap_or_default(),
                institution.0
            ),
        )),
        _ => Err((
            "multiple-matches",
            ".actor".into(),
            format!(
                "{} resources are named {name:?} at institution#{}; add the specialty",
                found.len(),
                institution.0
            ),
        )),
    }
}

/// Import a Schedule + Slot bundle: validate everything, then publish in one call.
pub fn import_bundle(engine: &Engine, v: &Value, opts: &ImportOptions) -> FhirResult<ImportReport> {
    let (specs, skipped) = parse_bundle(engine, v, opts)?;
    let (slots, specs) = publish(engine, specs)?;
    Ok(ImportReport { slots, specs, skipped, rosters: Vec::new() })
}

// ------------------------------------------------------------------ CSV roster

/// Split one CSV line: fields separated by commas, optionally in double quotes (`""` is a
/// quote inside quotes). Unquoted fields are trimmed. Strict: a quote inside an unquoted field,
/// text after a closing quote, or an unterminated quote is an error.
pub(crate) fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(format!(
                            "field {} has an unterminated quote (quoted fields cannot span lines)",
                            fields.len() + 1
                        ))
                    }
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                chars.next();
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(c) => {
                    return Err(format!(
                        "field {} has {c:?} after its closing quote",
                        fields.len() + 1
                    ))
                }
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field.trim().to_string());
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => {
                        return Err(format!(
                            "field {} has a quote inside an unquoted value",
                            fields.len() + 1
                        ))
                    }
                    Some(c) => field.push(c),
                }
            }
            fields.push(field.trim().to_string());
        }
    }
}

fn parse_weekday(s: &str) -> Result<u8, String> {
    const NAMES: [&str; 7] =
        ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    let l = s.to_ascii_lowercase();
    if let Some(i) = NAMES.iter().position(|n| *n == l || (l.len() == 3 && n.starts_with(&l))) {
        return Ok(i as u8);
    }
    match l.parse::<u8>() {
        Ok(n @ 1..=7) => Ok(n - 1),
        _ => Err(format!(
            "{s:?} is not a weekday (mon … sun, monday … sunday, or ISO 1 = Monday … 7 = Sunday)"
        )),
    }
}

fn parse_hhmm(s: &str) -> Result<u16, String> {
    let bad = || format!("{s:?} is not a time HH:MM between 00:00 and 24:00");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.is_empty()
        || h.len() > 2
        || m.len() != 2
        || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h * 60 + m > 1440 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn parse_count(s: &str, max: u16) -> Result<u16, String> {
    match s.parse::<u32>() {
        Ok(n) if (1..=max as u32).contains(&n) && s.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(n as u16)
        }
        _ => Err(format!("{s:?} must be a whole number 1 ..= {max}")),
    }
}

/// Validate a CSV roster against the engine and return one roster template per row, with its
/// line number (nothing is changed).
///
/// Columns (a header line names them, in any order): `resource` (a resource name in the
/// department, or `resource-N`), `department` (a department name or specialty code at the
/// institution), `weekday`, `session_start`, `session_end` (HH:MM, end up to 24:00),
/// `segment_minutes` (the session must be a whole number of segments), `places`.
pub fn parse_csv(
    engine: &Engine,
    text: &str,
    opts: &CsvImport,
) -> FhirResult<Vec<(usize, Roster)>> {
    if text.len() > CSV_BYTES_MAX {
        return Err(FhirError::one(Issue::error(
            "too-costly",
            None,
            format!("CSV of {} bytes exceeds {CSV_BYTES_MAX}", text.len()),
        )));
    }
    engine.institution(opts.institution)?;
    let (from, until) = (opts.valid_from, opts.valid_until);
    if from > until || until.0 - from.0 >= CSV_DAYS_MAX {
        return Err(FhirError::invalid(Some("valid_until".into()), format!("valid_from {from} ..= valid_until {until} must be ordered and span at most {CSV_DAYS_MAX} days")));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines =
        text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(FhirError::one(Issue::error(
            "required",
            Some("line 1".into()),
            format!("empty CSV: expected a header line {}", CSV_COLUMNS.join(",")),
        )));
    };
    let loc = |line: usize, field: &str| {
        if field.is_empty() {
            format!("line {line}")
        } else {
            format!("line {line}, {field}")
        }
    };
    let header = split_csv_line(header)
        .map_err(|m| FhirError::one(Issue::error("structure", Some(loc(header_line, "")), m)))?;
    let mut col = [usize::MAX; 7];
    let mut issues = Issues::default();
    for (i, h) in header.iter().enumerate() {
        let h = h.trim().to_ascii_lowercase();
        match CSV_COLUMNS.iter().position(|c| *c == h) {
            Some(c) if col[c] == usize::MAX => col[c] = i,
            Some(_) => issues.push(
                "structure",
                loc(header_line, &h),
                format!("column {h:?} appears twice"),
            ),
            None => issues.push(
                "structure",
                loc(header_line, &h),
                format!("unknown column {h:?}; expected {}", CSV_COLUMNS.join(",")),
            ),
        }
    }
    for (c, name) in CSV_COLUMNS.iter().enumerate() {
        if col[c] == usize::MAX {
            issues.push(
                "required",
                loc(header_line, name),
                format!("the header has no {name:?} column"),
            );
        }
    }
    issues.finish()?;

    // The institution's departments and resources, by name (one registry scan).
    let mut departments: HashMap<String, Vec<DepartmentId>> = HashMap::new();
    let institution_departments =
        engine.departments_of(opts.institution).map_err(FhirError::from)?;
    for d in &institution_departments {
        departments.entry(d.name.clone()).or_default().push(d.id);
        if let Ok(s) = engine.specialty_name(d.specialty) {
            if s != d.name {
                departments.entry(s).or_default().push(d.id);
            }
        }
    }
    let mut resources: HashMap<(DepartmentId, String), Vec<ResourceId>> = HashMap::new();
    for d in &institution_departments {
        for r in engine.resources_of(d.id).map_err(FhirError::from)? {
            resources.entry((r.department, r.name.clone())).or_default().push(r.id);
        }
    }

    let mut issues = Issues::default();
    let mut rosters = Vec::new();
    let mut rows = 0usize;
    for (line, raw) in lines {
        if issues.full() {
            break;
        }
        rows += 1;
        if rows > CSV_ROWS_MAX {
            issues.push("too-costly", loc(line, ""), format!("more than {CSV_ROWS_MAX} rows"));
            break;
        }
        let fields = match split_csv_line(raw) {
            Ok(f) => f,
            Err(m) => {
                issues.push("structure", loc(line, ""), m);
                continue;
            }
        };
        if fields.len() != header.len() {
            issues.push(
                "structure",
                loc(line, ""),
                format!("{} fields, but the header has {}", fields.len(), header.len()),
            );
            continue;
        }
        let f = |c: usize| fields[col[c]].as_str();
        let mut field_err = |name: &str, m: String| {
            issues.push(if m.contains("no ") { "not-found" } else { "value" }, loc(line, name), m)
        };
        let department = match departments.get(f(1)).map(Vec::as_slice) {
            Some([d]) => Some(*d),
            Some(ds) if ds.len() > 1 => {
                field_err(
                    "department",
                    format!(
                        "{:?} names {} departments at institution#{}; use the department name",
                        f(1),
                        ds.len(),
                        opts.institution.0
                    ),
                );
                None
            }
            _ => {
                field_err(
                    "department",
                    format!(
                        "{:?}: no department or specialty of that name at institution#{}",
                        f(1),
                        opts.institution.0
                    ),
                );
                None
            }
        };
        let resource = department.and_then(|d| {
            let by_id =
                f(0).strip_prefix("resource-").and_then(|n| n.parse::<u32>().ok()).map(ResourceId);
            let found: Vec<ResourceId> = match by_id {
                Some(id) => engine
                    .resource(id)
                    .ok()
                    .filter(|r| r.department == d)
                    .map(|r| vec![r.id])
                    .unwrap_or_default(),
                None => resources.get(&(d, f(0).to_string())).cloned().unwrap_or_default(),
            };
            match found.as_slice() {
                [r] => Some(*r),
                [] => {
                    field_err(
                        "resource",
                        format!("{:?}: no resource of that name in department {:?}", f(0), f(1)),
                    );
                    None
                }
                _ => {
                    field_err(
                        "resource",
                        format!(
                            "{:?} names {} resources in department {:?}; use resource-N",
                            f(0),
                            found.len(),
                            f(1)
                        ),
                    );
                    None
                }
            }
        });
        let weekday = parse_weekday(f(2)).map_err(|m| field_err("weekday", m)).ok();
        let start = parse_hhmm(f(3)).map_err(|m| field_err("session_start", m)).ok();
        let end = parse_hhmm(f(4)).map_err(|m| field_err("session_end", m)).ok();
        let segment = parse_count(f(5), 1440).map_err(|m| field_err("segment_minutes", m)).ok();
        let places = parse_count(f(6), PLACES_MAX).map_err(|m| field_err("places", m)).ok();
        let (Some(resource), Some(weekday), Some(start), Some(end), Some(segment), Some(places)) =
            (resource, weekday, start, end, segment, places)
        else {
            continue;
        };
        if end <= start {
            field_err("session_end", format!("{} is not after session_start {}", f(4), f(3)));
            continue;
        }
        if (end - start) % segment != 0 {
            field_err(
                "segment_minutes",
                format!(
                    "the session of {} minutes is not a whole number of {segment}-minute segments",
                    end - start
                ),
            );
            continue;
        }
        let roster = Roster {
            resource,
            weekdays: vec![weekday],
            start_min: start,
            end_min: end,
            segment_min: segment,
            places,
            valid_from: from,
            valid_until: until,
            closed_dates: vec![],
        };
        if let Err(e) = roster.validate() {
            field_err("", e.to_string());
            continue;
        }
        rosters.push((line, roster));
    }
    if rows == 0 && issues.0.is_empty() {
        issues.push("required", loc(header_line + 1, ""), "the roster has a header but no rows");
    }
    // Two sessions of one resource on one weekday must not overlap.
    // (resource, weekday) → (start, end, line) of each session.
    type Sessions = BTreeMap<(ResourceId, u8), Vec<(u16, u16, usize)>>;
    let mut by_day: Sessions = BTreeMap::new();
    for (line, r) in &rosters {
        by_day.entry((r.resource, r.weekdays[0])).or_default().push((
            r.start_min,
            r.end_min,
            *line,
        ));
    }
    for sessions in by_day.values_mut() {
        sessions.sort_unstable();
        for w in sessions.windows(2) {
            if w[1].0 < w[0].1 {
                issues.push(
                    "conflict",
                    loc(w[1].2, "session_start"),
                    format!(
                        "overlaps the session of line {} for the same resource and weekday",
                        w[0].2
                    ),
                );
            }
        }
    }
    issues.finish()?;
    Ok(rosters)
}

/// Import a CSV roster: validate every row, expand the rosters over `valid_from ..=
/// valid_until`, refuse duplicates of published slots, then publish in one call.
///
/// All or nothing: on `Err` nothing was published, and the [`FhirError`] lists every bad row
/// (`line N, column`) found, up to [`ISSUES_MAX`] in its `OperationOutcome`.
///
/// ```
/// use haoyuan::{Date, Engine, EngineConfig, ResourceKind, Tier, Timestamp};
/// use haoyuan_fhir::{import, CsvImport};
/// let monday = Date::from_ymd(2026, 11, 23)?;
/// let engine = Engine::with_manual_clock(
///     EngineConfig::default(),
///     Timestamp::from_local(monday.plus_days(-1), 16 * 60, 8 * 3600),
/// )?;
/// let h = engine.add_institution("Dongguan People's Hospital", Tier::Tertiary, "Guancheng")?;
/// let cardiology = engine.add_department(h, "cardiology", "Cardiology")?;
/// engine.add_resource(cardiology, ResourceKind::Doctor, "Dr Li", false)?;
/// let csv = "resource,department,weekday,session_start,session_end,segment_minutes,places\n\
///            Dr Li,cardiology,mon,08:00,12:00,30,2\n";
/// let week = CsvImport { institution: h, valid_from: monday, valid_until: monday.plus_days(6) };
/// let report = import::import_csv(&engine, csv, &week)?;
/// assert_eq!(report.specs.len(), 8); // one Monday morning in 30-minute segments
/// // Importing the same week again would double the places: refused, nothing changes.
/// let err = import::import_csv(&engine, csv, &week).unwrap_err();
/// assert!(err.issues[0].location.as_deref().unwrap().starts_with("line 2"));
/// assert_eq!(engine.slot_count(), 8);
/// # Ok::<(), haoyuan_fhir::FhirError>(())
/// ```
pub fn import_csv(engine: &Engine, text: &str, opts: &CsvImport) -> FhirResult<ImportReport> {
    let rosters = parse_csv(engine, text, opts)?;
    let mut specs = Vec::new();
    let mut spec_line = Vec::new();
    let mut d = opts.valid_from;
    while d <= opts.valid_until {
        for (line, r) in &rosters {
            let day = r.expand_date(d);
            spec_line.extend(std::iter::repeat_n(*line, day.len()));
            specs.extend(day);
            if specs.len() > PUBLISH_BATCH_MAX {
                return Err(FhirError::one(Issue::error(
                    "too-costly",
                    None,
                    format!("the roster expands to more than {PUBLISH_BATCH_MAX} slots"),
                )));
            }
        }
        d = d.plus_days(1);
    }
    let mut issues = Issues::default();
    check_duplicates(engine, &specs, &|k| format!("line {}", spec_line[k]), &mut issues);
    issues.finish()?;
    let (slots, specs) = publish(engine, specs)?;
    Ok(ImportReport {
        slots,
        specs,
        skipped: 0,
        rosters: rosters.into_iter().map(|(_, r)| r).collect(),
    })
}
