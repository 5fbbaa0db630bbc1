//! The conformance scenarios' Rust runner (tests/conformance/README.md has the format).
//!
//! Plays every scenario file named on the command line one call at a time through the Rust
//! face (the `haoyuan` crate, and `haoyuan-fhir` for the FHIR operations), checks each call's
//! outcome against the scenario's `expect` (and `check`), and writes one canonical JSON line per
//! call and then one per event to `OUT/NAME.jsonl`. The C runner (`runner.c`) and the Python
//! runner (`runner.py`) do the same through their faces; `make test-conformance` compares the
//! three outputs byte for byte.
//!
//! ```sh
//! conformance --out target/conformance/rust tests/conformance/scenarios/*.json
//! ```
//!
//! Exit status: 0 when every expectation held, 1 when one did not (each mismatch is printed),
//! 2 when a scenario file is malformed.

use haoyuan::*;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The card key every runner uses unless a scenario names one (bytes 0, 1, … 31): card digests
/// in the events are then the same in every face and every run.
const CARD_KEY_DEFAULT: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// Integers beyond ±2^53 are written as strings: C's JSON library holds numbers as doubles.
const EXACT_MAX: u64 = 1 << 53;

/// How one call ended: its output, or the error-table name and message of its error.
type Outcome<T = Value> = Result<T, (String, String)>;

/// A malformed scenario (not an engine outcome): the run stops with status 2.
type Bad = String;

fn main() {
    let mut out_dir = PathBuf::from("target/conformance/rust");
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--out" {
            out_dir = PathBuf::from(args.next().unwrap_or_else(|| usage()));
        } else if a.starts_with('-') {
            usage();
        } else {
            files.push(PathBuf::from(a));
        }
    }
    if files.is_empty() {
        usage();
    }
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        eprintln!("conformance (rust): cannot create {}: {e}", out_dir.display());
        std::process::exit(2);
    }
    let mut mismatches = 0;
    for file in &files {
        match play_file(file, &out_dir) {
            Ok(n) => mismatches += n,
            Err(bad) => {
                eprintln!("conformance (rust): {}: malformed scenario: {bad}", file.display());
                std::process::exit(2);
            }
        }
    }
    if mismatches > 0 {
        eprintln!("conformance (rust): {mismatches} expectation(s) failed");
        std::process::exit(1);
    }
    println!("conformance (rust): {} scenario(s) as expected", files.len());
}

fn usage() -> ! {
    eprintln!("usage: conformance [--out DIR] SCENARIO.json...");
    std::process::exit(2);
}

/// Play one scenario file; returns the number of failed expectations.
fn play_file(file: &Path, out_dir: &Path) -> Result<usize, Bad> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read: {e}"))?;
    let scenario: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let name = file.file_stem().and_then(|s| s.to_str()).ok_or("no file name")?.to_string();
    let mut run = Run::new(&name, &scenario)?;
    let ops = scenario.get("ops").and_then(Value::as_array).ok_or("no \"ops\" array")?;
    for (i, op) in ops.iter().enumerate() {
        run.step(i, op)?;
    }
    run.finish();
    let path = out_dir.join(format!("{name}.jsonl"));
    std::fs::write(&path, &run.out).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(run.mismatches)
}

struct Run {
    name: String,
    engine: Engine,
    events: Subscription,
    /// The subscription of the last `subscribe` op (some types only), read by `poll_events`.
    filtered: std::cell::RefCell<Option<Subscription>>,
    utc_offset_s: i32,
    names: HashMap<String, Value>,
    out: String,
    mismatches: usize,
}

impl Run {
    fn new(name: &str, scenario: &Value) -> Result<Run, Bad> {
        let policy = match scenario.get("policy") {
            None | Some(Value::Null) => Policy::default(),
            Some(p) => Policy::from_json(&p.to_string()).map_err(|e| format!("policy: {e}"))?,
        };
        let utc_offset_s = match scenario.get("utc_offset_s") {
            None => 8 * 3600,
            Some(v) => v.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or("bad utc_offset_s")?,
        };
        let key = scenario.get("card_key").and_then(Value::as_str).unwrap_or(CARD_KEY_DEFAULT);
        let key = CardKey::from_hex(key).map_err(|e| format!("card_key: {e}"))?;
        let clock =
            scenario.get("clock").and_then(Value::as_object).ok_or("no \"clock\" object")?;
        let start = instant(clock, utc_offset_s)?.map_err(|(_, m)| format!("clock: {m}"))?;
        let config = EngineConfig { policy, utc_offset_s, card_key: Some(key) };
        let engine =
            Engine::with_manual_clock(config, start).map_err(|e| format!("engine: {e}"))?;
        let events = engine.subscribe();
        Ok(Run {
            name: name.to_string(),
            engine,
            events,
            filtered: std::cell::RefCell::new(None),
            utc_offset_s,
            names: HashMap::new(),
            out: String::new(),
            mismatches: 0,
        })
    }

    /// One operation: call, print, check, bind.
    fn step(&mut self, i: usize, op: &Value) -> Result<(), Bad> {
        let at = |m: &str| format!("op #{i}: {m}");
        let name = op.get("op").and_then(Value::as_str).ok_or_else(|| at("no \"op\" name"))?;
        let empty = Map::new();
        let args = match op.get("args") {
            None => &empty,
            Some(Value::Object(a)) => a,
            Some(_) => return Err(at("\"args\" is not an object")),
        };
        let expect = op.get("expect").and_then(Value::as_str).ok_or_else(|| at("no \"expect\""))?;
        let outcome = self.call(name, args).map_err(|m| at(&format!("{name}: {m}")))?;
        let mut line = Map::new();
        line.insert("i".into(), json!(i));
        line.insert("op".into(), json!(name));
        let result = match &outcome {
            Ok(out) => {
                line.insert("out".into(), out.clone());
                "ok".to_string()
            }
            Err((code, _)) => code.clone(),
        };
        line.insert("result".into(), json!(result));
        self.out.push_str(&canonical(&Value::Object(line)));
        self.out.push('\n');
        if result != expect {
            let detail = match &outcome {
                Err((_, message)) => format!(" ({message})"),
                Ok(_) => String::new(),
            };
            self.mismatch(i, name, &format!("expected {expect}, got {result}{detail}"));
            return Ok(());
        }
        let Ok(out) = outcome else { return Ok(()) };
        if let Some(check) = op.get("check") {
            let check = check.as_object().ok_or_else(|| at("\"check\" is not an object"))?;
            for (path, want) in check {
                let want = &self.interpolate(want)?;
                let got = lookup(&out, path);
                let got = got.map(canonical).unwrap_or_else(|| "(absent)".into());
                if got != canonical(want) {
                    let want = canonical(want);
                    self.mismatch(i, name, &format!("{path}: expected {want}, got {got}"));
                }
            }
        }
        match op.get("as") {
            None => {}
            Some(Value::String(n)) => {
                let id = out.get("id").ok_or_else(|| at("\"as\" on a call without an id"))?;
                self.names.insert(n.clone(), id.clone());
            }
            Some(Value::Object(m)) => {
                for (n, path) in m {
                    let path = path.as_str().ok_or_else(|| at("\"as\" paths are strings"))?;
                    let v = lookup(&out, path).ok_or_else(|| at(&format!("no {path} to bind")))?;
                    self.names.insert(n.clone(), v.clone());
                }
            }
            Some(_) => return Err(at("\"as\" is a name or an object of names")),
        }
        Ok(())
    }

    fn mismatch(&mut self, i: usize, op: &str, what: &str) {
        eprintln!("conformance (rust): {} op #{i} ({op}): {what}", self.name);
        self.mismatches += 1;
    }

    /// After the last operation: every event, in sequence order.
    fn finish(&mut self) {
        let mut events: Vec<Event> = self.events.try_iter().collect();
        events.sort_by_key(|e| e.seq);
        for e in events {
            let mut data = match serde_json::to_value(&e.kind) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            let kind = data.remove("type").unwrap_or(Value::Null);
            let line = json!({"seq": e.seq, "at": e.at.0, "event": kind, "data": data});
            self.out.push_str(&canonical(&line));
            self.out.push('\n');
        }
    }

    // ------------------------------------------------------------------ arguments

    /// An id argument: a number, or the name of a bound id.
    fn id(&self, args: &Map<String, Value>, key: &str) -> Result<u64, Bad> {
        let v = args.get(key).ok_or_else(|| format!("missing argument {key}"))?;
        self.id_value(v, key)
    }

    fn id_value(&self, v: &Value, key: &str) -> Result<u64, Bad> {
        match v {
            Value::Number(n) => n.as_u64().ok_or_else(|| format!("{key}: not an id ({n})")),
            Value::String(s) => {
                let bound =
                    self.names.get(s).ok_or_else(|| format!("{key}: {s:?} is not bound"))?;
                bound.as_u64().ok_or_else(|| format!("{key}: {s:?} is not bound to an id"))
            }
            _ => Err(format!("{key}: an id is a number or a bound name")),
        }
    }

    fn opt_id(&self, args: &Map<String, Value>, key: &str) -> Result<Option<u64>, Bad> {
        match args.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => self.id_value(v, key).map(Some),
        }
    }

    fn id32(&self, args: &Map<String, Value>, key: &str) -> Result<u32, Bad> {
        narrow(self.id(args, key)?, key)
    }

    fn opt_id32(&self, args: &Map<String, Value>, key: &str) -> Result<Option<u32>, Bad> {
        self.opt_id(args, key)?.map(|v| narrow(v, key)).transpose()
    }

    /// A channel: its name (resolved through the face, as a host would) or its id.
    fn channel(&self, args: &Map<String, Value>) -> Result<Result<ChannelId, Error>, Bad> {
        match args.get("channel") {
            Some(Value::String(name)) => Ok(self.engine.channel_id(name)),
            Some(v) => {
                let id = self.id_value(v, "channel")?;
                let id =
                    u16::try_from(id).map_err(|_| format!("channel {id} does not fit 16 bits"))?;
                Ok(Ok(ChannelId(id)))
            }
            None => Err("missing argument channel".into()),
        }
    }

    fn request(&self, args: &Map<String, Value>) -> Result<Result<Request, Error>, Bad> {
        let channel = match self.channel(args)? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(Request {
            patient: PatientId(self.id32(args, "patient")?),
            slot: SlotId(self.id32(args, "slot")?),
            channel,
            referral: self.opt_id(args, "referral")?.map(ReferralId),
            follow_up: flag(args, "follow_up")?,
        }))
    }

    /// A JSON body for the FHIR calls, with `{name}` in its strings replaced by bound values
    /// (a string that is exactly `{name}` becomes the bound value itself).
    fn body(&self, args: &Map<String, Value>, key: &str) -> Result<String, Bad> {
        let v = args.get(key).ok_or_else(|| format!("missing argument {key}"))?;
        Ok(self.interpolate(v)?.to_string())
    }

    fn interpolate(&self, v: &Value) -> Result<Value, Bad> {
        Ok(match v {
            Value::String(s) => match whole_name(s) {
                Some(name) => self
                    .names
                    .get(name)
                    .cloned()
                    .ok_or_else(|| format!("{{{name}}} is not bound"))?,
                None => Value::String(self.interpolate_str(s)?),
            },
            Value::Array(a) => {
                Value::Array(a.iter().map(|x| self.interpolate(x)).collect::<Result<_, _>>()?)
            }
            Value::Object(m) => {
                let mut o = Map::new();
                for (k, x) in m {
                    o.insert(k.clone(), self.interpolate(x)?);
                }
                Value::Object(o)
            }
            other => other.clone(),
        })
    }

    fn interpolate_str(&self, s: &str) -> Result<String, Bad> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let close = after.find('}').ok_or_else(|| format!("unclosed {{ in {s:?}"))?;
            let name = &after[..close];
            match self.names.get(name) {
                Some(Value::String(t)) => out.push_str(t),
                Some(Value::Number(n)) => out.push_str(&n.to_string()),
                _ => return Err(format!("{{{name}}} in {s:?} is not bound to an id or a string")),
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn now(&self) -> Value {
        json!({"now": self.engine.now().0})
    }

    // ------------------------------------------------------------------ the calls

    /// One call through the Rust face.
    fn call(&self, op: &str, a: &Map<String, Value>) -> Result<Outcome, Bad> {
        let e = &self.engine;
        Ok(match op {
            "advance_clock" => {
                let s = a.get("seconds").and_then(Value::as_i64).ok_or("seconds")?;
                e.advance_clock(s).map(|()| self.now()).map_err(engine_err)
            }
            "advance_to" => match instant(a, self.utc_offset_s)? {
                Ok(t) => e.advance_to(t).map(|()| self.now()).map_err(engine_err),
                Err(err) => Err(err),
            },
            "add_institution" => e
                .add_institution(text(a, "name")?, tier(a)?, text(a, "district")?)
                .map(|id| json!({"id": id.0}))
                .map_err(engine_err),
            "add_department" => e
                .add_department(
                    InstitutionId(self.id32(a, "institution")?),
                    text(a, "specialty")?,
                    text(a, "name")?,
                )
                .map(|id| json!({"id": id.0}))
                .map_err(engine_err),
            "add_resource" => e
                .add_resource(
                    DepartmentId(self.id32(a, "department")?),
                    resource_kind(a)?,
                    text(a, "name")?,
                    flag(a, "expert")?,
                )
                .map(|id| json!({"id": id.0}))
                .map_err(engine_err),
            "add_channel" => {
                e.add_channel(text(a, "name")?).map(|id| json!({"id": id.0})).map_err(engine_err)
            }
            "channel_id" => {
                e.channel_id(text(a, "name")?).map(|id| json!({"id": id.0})).map_err(engine_err)
            }
            "register_patient" => {
                e.register_patient().map(|id| json!({"id": id.0})).map_err(engine_err)
            }
            "link_card" => e
                .link_card(
                    PatientId(self.id32(a, "patient")?),
                    text(a, "card_type")?,
                    text(a, "number")?,
                )
                .map(|()| json!({}))
                .map_err(engine_err),
            "find_patient_by_card" => e
                .find_patient_by_card(text(a, "card_type")?, text(a, "number")?)
                .map(|p| json!({"id": p.map(|p| p.0)}))
                .map_err(engine_err),
            "merge_patients" => e
                .merge_patients(
                    PatientId(self.id32(a, "survivor")?),
                    PatientId(self.id32(a, "merged")?),
                )
                .map(|()| json!({}))
                .map_err(engine_err),
            "patient_record" => e
                .patient_record(PatientId(self.id32(a, "patient")?))
                .map(|r| {
                    json!({
                        "id": r.patient.0,
                        "cards": r.cards.iter()
                            .map(|c| json!({"card_type": c.card_type, "masked": c.masked}))
                            .collect::<Vec<_>>(),
                        "no_shows_in_window": r.no_shows_in_window as f64,
                        "suspended_until": r.suspended_until.map(|t| t.0),
                        "active_bookings": r.active_bookings.iter().map(|b| b.id.0).collect::<Vec<_>>(),
                        "referrals": r.referrals.iter().map(|x| x.id.0).collect::<Vec<_>>(),
                        "waitlist_entries": r.waitlist_entries,
                    })
                })
                .map_err(engine_err),
            "publish_slots" => {
                let list = a.get("slots").and_then(Value::as_array).ok_or("slots")?;
                let mut specs = Vec::new();
                for s in list {
                    let s = s.as_object().ok_or("each slot is an object")?;
                    let date = match date(s, "date")? {
                        Ok(d) => d,
                        Err(err) => return Ok(Err(err)),
                    };
                    specs.push(SlotSpec {
                        resource: ResourceId(self.id32(s, "resource")?),
                        date,
                        start_min: minute(s, "start")?,
                        end_min: minute(s, "end")?,
                        capacity: small(s, "capacity")?,
                    });
                }
                e.publish_slots(&specs)
                    .map(|r| {
                        let ids: Vec<u32> = (r.start.0..r.end.0).collect();
                        json!({"id": r.start.0, "ids": ids})
                    })
                    .map_err(engine_err)
            }
            "add_roster" => {
                let weekdays = a.get("weekdays").and_then(Value::as_array).ok_or("weekdays")?;
                let weekdays = weekdays
                    .iter()
                    .map(|d| d.as_u64().filter(|d| *d <= 6).map(|d| d as u8))
                    .collect::<Option<Vec<u8>>>()
                    .ok_or("weekdays are 0 (Monday) ..= 6")?;
                let mut closed = Vec::new();
                for d in a.get("closed_dates").and_then(Value::as_array).into_iter().flatten() {
                    match Date::parse(d.as_str().ok_or("closed_dates are dates")?) {
                        Ok(d) => closed.push(d),
                        Err(err) => return Ok(Err(engine_err(err))),
                    }
                }
                let (from, until) = match (date(a, "valid_from")?, date(a, "valid_until")?) {
                    (Ok(f), Ok(u)) => (f, u),
                    (Err(err), _) | (_, Err(err)) => return Ok(Err(err)),
                };
                e.add_roster(Roster {
                    resource: ResourceId(self.id32(a, "resource")?),
                    weekdays,
                    start_min: minute(a, "start")?,
                    end_min: minute(a, "end")?,
                    segment_min: small(a, "segment_min")?,
                    places: small(a, "places")?,
                    valid_from: from,
                    valid_until: until,
                    closed_dates: closed,
                })
                .map(|id| json!({"id": id.0}))
                .map_err(engine_err)
            }
            "publish_rosters_until" => match date(a, "until")? {
                Ok(d) => e
                    .publish_rosters_until(d)
                    .map(|n| json!({"created": n}))
                    .map_err(engine_err),
                Err(err) => Err(err),
            },
            "slot" => e.slot(SlotId(self.id32(a, "slot")?)).map(|s| slot_json(&s)).map_err(engine_err),
            "suspend_session" => {
                let d = match date(a, "date")? {
                    Ok(d) => d,
                    Err(err) => return Ok(Err(err)),
                };
                let time = time_of_day(a)?;
                e.suspend_session(ResourceId(self.id32(a, "resource")?), d, time)
                    .map(|r| json!({"cancelled": r.cancelled.len()}))
                    .map_err(engine_err)
            }
            "find_free_slots" => {
                let (from, to) = match (date(a, "date_from")?, date(a, "date_to")?) {
                    (Ok(f), Ok(t)) => (f, t),
                    (Err(err), _) | (_, Err(err)) => return Ok(Err(err)),
                };
                let q = AvailabilityQuery {
                    department: self.opt_id32(a, "department")?.map(DepartmentId),
                    resource: self.opt_id32(a, "resource")?.map(ResourceId),
                    institution: self.opt_id32(a, "institution")?.map(InstitutionId),
                    specialty: opt_text(a, "specialty")?.map(String::from),
                    tier: match a.get("tier") {
                        None | Some(Value::Null) => None,
                        Some(_) => Some(tier(a)?),
                    },
                    district: opt_text(a, "district")?.map(String::from),
                    date_from: from,
                    date_to: to,
                    time: time_of_day(a)?,
                    with_referral: flag(a, "with_referral")?,
                    limit: match a.get("limit") {
                        None => 100,
                        Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or("limit")?,
                    },
                };
                e.find_free_slots(&q)
                    .map(|list| {
                        let slots: Vec<Value> = list
                            .iter()
                            .map(|f| json!({"slot": f.slot.0, "free": f.free, "starts_at": f.starts_at.0}))
                            .collect();
                        json!({"slots": slots})
                    })
                    .map_err(engine_err)
            }
            "alternatives" => {
                let (from, to) = match (date(a, "date_from")?, date(a, "date_to")?) {
                    (Ok(f), Ok(t)) => (f, t),
                    (Err(err), _) | (_, Err(err)) => return Ok(Err(err)),
                };
                let limit = match a.get("limit") {
                    None => 10,
                    Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or("limit")?,
                };
                e.alternatives(DepartmentId(self.id32(a, "department")?), from, to, limit)
                    .map(|list| {
                        let rows: Vec<Value> = list
                            .iter()
                            .map(|x| {
                                json!({
                                    "department": x.department.0, "institution": x.institution.0,
                                    "tier": tier_name(x.tier), "slot": x.earliest.slot.0,
                                    "free": x.earliest.free, "starts_at": x.earliest.starts_at.0,
                                    "load": x.load as f64,
                                })
                            })
                            .collect();
                        json!({"alternatives": rows})
                    })
                    .map_err(engine_err)
            }
            "load_board" => e
                .load_board(text(a, "specialty")?, text(a, "district")?)
                .map(|b| json!({"rows": b.rows.iter().map(board_row_json).collect::<Vec<_>>()}))
                .map_err(engine_err),
            "recommend" => {
                let (from, to) = match (date(a, "date_from")?, date(a, "date_to")?) {
                    (Ok(f), Ok(t)) => (f, t),
                    (Err(err), _) | (_, Err(err)) => return Ok(Err(err)),
                };
                let q = RecommendQuery {
                    complaint: opt_text(a, "complaint")?.map(String::from),
                    specialty: opt_text(a, "specialty")?.map(String::from),
                    district: text(a, "district")?.into(),
                    patient: self.opt_id32(a, "patient")?.map(PatientId),
                    referral: self.opt_id(a, "referral")?.map(ReferralId),
                    date_from: from,
                    date_to: to,
                    limit: match a.get("limit") {
                        None => 10,
                        Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or("limit")?,
                    },
                };
                e.recommend(&q)
                    .map(|rows| json!({"rows": rows.iter().map(recommendation_json).collect::<Vec<_>>()}))
                    .map_err(engine_err)
            }
            "booking_group" => e
                .booking_group(BookingId(self.id(a, "booking")?))
                .map(|g| serde_json::to_value(g).expect("a group is plain data"))
                .map_err(engine_err),
            "find_stays" => {
                let first_night = match date(a, "first_night")? {
                    Ok(d) => d,
                    Err(err) => return Ok(Err(err)),
                };
                let number = |key: &str, default: u64| match a.get(key) {
                    None => Ok(default),
                    Some(v) => v.as_u64().ok_or(key.to_string()),
                };
                let q = StayQuery {
                    specialty: text(a, "specialty")?.into(),
                    district: opt_text(a, "district")?.map(String::from),
                    first_night,
                    nights: u16::try_from(number("nights", 0)?).map_err(|_| "nights")?,
                    flex_days: u16::try_from(number("flex_days", 0)?).map_err(|_| "flex_days")?,
                    limit: u32::try_from(number("limit", 10)?).map_err(|_| "limit")?,
                };
                e.find_stays(&q)
                    .map(|offers| json!({"offers": serde_json::to_value(offers).expect("plain data")}))
                    .map_err(engine_err)
            }
            "set_complaint_table" => {
                let table = a.get("table").ok_or("missing argument table")?.to_string();
                ComplaintTable::from_json(&table)
                    .map(|t| {
                        e.set_complaint_table(t);
                        json!({})
                    })
                    .map_err(engine_err)
            }
            "hold" | "book" | "submit" => {
                let req = match self.request(a)? {
                    Ok(r) => r,
                    Err(err) => return Ok(Err(engine_err(err))),
                };
                match (op, a.get("ttl_s")) {
                    ("hold", None) => e.hold(&req).map(|b| booking_json(&b)),
                    ("hold", Some(t)) => {
                        let t = t.as_u64().and_then(|t| u32::try_from(t).ok()).ok_or("ttl_s")?;
                        e.hold_for(&req, t).map(|b| booking_json(&b))
                    }
                    ("book", _) => e.book(&req).map(|b| booking_json(&b)),
                    _ => e.submit(&req).map(|s| match s {
                        Submission::Booked { booking } => {
                            let mut v = booking_json(&booking);
                            v["outcome"] = json!("booked");
                            v
                        }
                        Submission::Entered { ticket, draws_at } => {
                            json!({"outcome": "entered", "ticket": ticket.0, "draws_at": draws_at.0})
                        }
                    }),
                }
                .map_err(engine_err)
            }
            "confirm" | "cancel" | "check_in" | "fulfil" | "mark_no_show" | "booking" => {
                let id = BookingId(self.id(a, "booking")?);
                match op {
                    "confirm" => e.confirm(id),
                    "cancel" => e.cancel(id),
                    "check_in" => e.check_in(id),
                    "fulfil" => e.fulfil(id),
                    "mark_no_show" => e.mark_no_show(id),
                    _ => e.booking(id),
                }
                .map(|b| booking_json(&b))
                .map_err(engine_err)
            }
            "issue_referral" => {
                let urgency = match text(a, "urgency")? {
                    "emergency" => Urgency::Emergency,
                    "urgent" => Urgency::Urgent,
                    "routine" => Urgency::Routine,
                    u => return Err(format!("urgency {u:?}")),
                };
                let valid_days = a.get("valid_days").and_then(Value::as_u64).ok_or("valid_days")?;
                let r = ReferralRequest {
                    patient: PatientId(self.id32(a, "patient")?),
                    from: InstitutionId(self.id32(a, "from")?),
                    specialty: text(a, "specialty")?.to_string(),
                    institution: self.opt_id32(a, "institution")?.map(InstitutionId),
                    urgency,
                    valid_days: u16::try_from(valid_days).map_err(|_| "valid_days")?,
                };
                e.issue_referral(&r)
                    .map(|r| {
                        json!({
                            "id": r.id.0, "patient": r.patient.0, "from": r.from.0,
                            "institution": r.institution.map(|i| i.0),
                            "urgency": urgency_name(r.urgency),
                            "valid_from": r.valid_from.0, "valid_until": r.valid_until.0,
                            "used_by": r.used_by.map(|b| b.0),
                        })
                    })
                    .map_err(engine_err)
            }
            "join_waitlist" => {
                let channel = match self.channel(a)? {
                    Ok(c) => c,
                    Err(err) => return Ok(Err(engine_err(err))),
                };
                let (from, to) = match (date(a, "date_from")?, date(a, "date_to")?) {
                    (Ok(f), Ok(t)) => (f, t),
                    (Err(err), _) | (_, Err(err)) => return Ok(Err(err)),
                };
                let r = WaitlistRequest {
                    patient: PatientId(self.id32(a, "patient")?),
                    department: DepartmentId(self.id32(a, "department")?),
                    resource: self.opt_id32(a, "resource")?.map(ResourceId),
                    date_from: from,
                    date_to: to,
                    time: time_of_day(a)?,
                    channel,
                    referral: self.opt_id(a, "referral")?.map(ReferralId),
                    follow_up: flag(a, "follow_up")?,
                };
                e.join_waitlist(&r).map(|w| json!({"id": w.id.0})).map_err(engine_err)
            }
            "execute" => {
                let key = match a.get("request_key") {
                    None => None,
                    Some(Value::String(k)) => Some(RequestKey::new(k.as_str()).map_err(engine_err)),
                    Some(_) => return Err("request_key must be a string".into()),
                };
                // A command the engine cannot read is the caller's error, as in C and Python.
                let command = serde_json::from_str::<haoyuan::Command>(&self.body(a, "command")?)
                    .map_err(|e| engine_err(Error::InvalidArgument(format!("command: {e}"))));
                match (key.transpose(), command) {
                    (Err(e), _) | (_, Err(e)) => Err(e),
                    (Ok(key), Ok(command)) => e
                        .execute(key.as_ref(), &command)
                        .map(|o| serde_json::to_value(o).expect("an outcome is plain data"))
                        .map_err(engine_err),
                }
            }
            "set_policy" => Policy::from_json(&self.body(a, "policy")?)
                .and_then(|p| e.set_policy(p))
                .map(|()| json!({}))
                .map_err(engine_err),
            "subscribe" => {
                let names = a.get("kinds").and_then(Value::as_array).ok_or("kinds")?;
                let names =
                    names.iter().map(|n| n.as_str().ok_or("kinds: a name")).collect::<Result<Vec<_>, _>>()?;
                let capacity = a.get("capacity").and_then(Value::as_u64).ok_or("capacity")?;
                EventKinds::from_names(names)
                    .and_then(|kinds| {
                        e.subscribe_with(SubscribeOptions {
                            capacity: capacity as usize,
                            kinds,
                            ..SubscribeOptions::default()
                        })
                    })
                    .map(|sub| {
                        *self.filtered.borrow_mut() = Some(sub);
                        json!({})
                    })
                    .map_err(engine_err)
            }
            "poll_events" => {
                let filtered = self.filtered.borrow();
                let sub = filtered.as_ref().ok_or("poll_events before a subscribe")?;
                let mut events: Vec<Event> = sub.try_iter().collect();
                events.sort_by_key(|ev| ev.seq);
                let events: Vec<Value> = events
                    .iter()
                    .map(|ev| json!({"seq": ev.seq, "event": ev.kind.event_type().name()}))
                    .collect();
                Ok(json!({"events": events, "cut_off": sub.is_cut_off()}))
            }
            "leave_waitlist" => e
                .leave_waitlist(WaitlistId(self.id(a, "entry")?))
                .map(|()| json!({}))
                .map_err(engine_err),
            "fhir_hold" => fhir(haoyuan_fhir::hold_json(e, &self.body(a, "request")?)),
            "fhir_book" => fhir(haoyuan_fhir::book_json(e, &self.body(a, "request")?)),
            "fhir_cancel" => fhir(haoyuan_fhir::cancel_json(e, &self.body(a, "request")?)),
            "fhir_find" => fhir(haoyuan_fhir::find_json(e, &self.body(a, "params")?)),
            "fhir_export_bundle" => {
                fhir(haoyuan_fhir::export_bundle_json(e, &self.body(a, "scope")?))
            }
            "fhir_export_slot" => fhir(haoyuan_fhir::export_slot_json(e, self.id32(a, "slot")?)),
            "fhir_export_appointment" => {
                fhir(haoyuan_fhir::export_appointment_json(e, self.id(a, "booking")?))
            }
            other => return Err(format!("unknown op {other:?}")),
        })
    }
}

// ---------------------------------------------------------------------- outputs

fn engine_err(e: Error) -> (String, String) {
    (e.code().name().to_string(), e.to_string())
}

fn fhir(r: Result<String, haoyuan_fhir::FhirError>) -> Outcome {
    match r {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(v) => Ok(json!({"resource": v})),
            Err(e) => Err(("NotJson".into(), e.to_string())),
        },
        Err(e) => Err((e.code().name().to_string(), e.outcome_json())),
    }
}

fn pool_name(p: Pool) -> &'static str {
    match p {
        Pool::General => "general",
        Pool::Referral => "referral",
        Pool::Quota0 => "quota0",
        Pool::Quota1 => "quota1",
    }
}

fn urgency_name(u: Urgency) -> &'static str {
    match u {
        Urgency::Emergency => "emergency",
        Urgency::Urgent => "urgent",
        Urgency::Routine => "routine",
    }
}

fn booking_json(b: &Booking) -> Value {
    json!({
        "id": b.id.0, "patient": b.patient.0, "slot": b.slot.0, "department": b.department.0,
        "date": b.date.0, "channel": b.channel.0, "state": b.state.name(), "pool": pool_name(b.pool),
        "referral": b.referral.map(|r| r.0), "offer": b.offer.map(|o| o.0),
        "created_at": b.created_at.0, "expires_at": b.expires_at.0, "starts_at": b.starts_at.0,
    })
}

fn recommendation_json(r: &Recommendation) -> Value {
    let tier = match r.tier {
        Tier::Community => "community",
        Tier::Secondary => "secondary",
        Tier::Tertiary => "tertiary",
    };
    let urgency = match r.urgency {
        Urgency::Emergency => "emergency",
        Urgency::Urgent => "urgent",
        Urgency::Routine => "routine",
    };
    json!({
        "rank": r.rank, "institution": r.institution.0, "department": r.department.0,
        "resource": r.resource.0, "tier": tier, "same_district": r.same_district,
        "slot": r.earliest.slot.0, "free": r.earliest.free, "starts_at": r.earliest.starts_at.0,
        "expected_wait_s": r.expected_wait_s, "urgency": urgency, "reason": r.reason.name(),
    })
}

fn tier_name(tier: Tier) -> &'static str {
    match tier {
        Tier::Community => "community",
        Tier::Secondary => "secondary",
        Tier::Tertiary => "tertiary",
    }
}

fn board_row_json(r: &BoardRow) -> Value {
    json!({
        "institution": r.institution.0, "department": r.department.0, "tier": tier_name(r.tier),
        "date": r.date.0, "half_day": r.half_day.name(), "queue": r.queue,
        "mean_service_interval_s": r.mean_service_interval_s, "expected_wait_s": r.expected_wait_s,
        "free_today": r.free_today, "free_beds_tonight": r.free_beds_tonight,
    })
}

fn slot_json(s: &SlotInfo) -> Value {
    json!({
        "id": s.id.0, "resource": s.resource.0, "department": s.department.0,
        "institution": s.institution.0, "date": s.date.0, "start_min": s.start_min,
        "end_min": s.end_min, "capacity": s.capacity, "pool_places": s.pool_places.to_array(),
        "pool_taken": s.pool_taken.to_array(), "closed": s.closed, "starts_at": s.starts_at.0,
        "ends_at": s.ends_at.0,
    })
}

/// The name in a string that is exactly `{name}`: it stands for the bound value itself.
fn whole_name(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('{')?.strip_suffix('}')?;
    (!inner.contains(['{', '}'])).then_some(inner)
}

/// A value at a dotted path (`pool_taken.1`, `resource.status`).
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, key| match v {
        Value::Object(m) => m.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// The canonical JSON text every runner writes (README: "Canonical JSON"): keys sorted by
/// bytes, no spaces, integers within ±2^53 as integers and beyond as strings, other numbers
/// with six decimals and trailing zeros dropped, strings escaped as JSON requires and no more.
fn canonical(v: &Value) -> String {
    let mut s = String::new();
    write_canonical(v, &mut s);
    s
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                push_int(u > EXACT_MAX, &u.to_string(), out);
            } else if let Some(i) = n.as_i64() {
                push_int(i.unsigned_abs() > EXACT_MAX, &i.to_string(), out);
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                out.push_str(&float_text(f));
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(&m[*k], out);
            }
            out.push('}');
        }
    }
}

fn push_int(quoted: bool, digits: &str, out: &mut String) {
    if quoted {
        out.push('"');
        out.push_str(digits);
        out.push('"');
    } else {
        out.push_str(digits);
    }
}

fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() <= EXACT_MAX as f64 {
        return format!("{}", f as i64);
    }
    let s = format!("{f:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------- scenario values

fn text<'a>(a: &'a Map<String, Value>, key: &str) -> Result<&'a str, Bad> {
    a.get(key).and_then(Value::as_str).ok_or_else(|| format!("missing text argument {key}"))
}

fn opt_text<'a>(a: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, Bad> {
    match a.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{key} is text")),
    }
}

fn flag(a: &Map<String, Value>, key: &str) -> Result<bool, Bad> {
    match a.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{key} is true or false")),
    }
}

fn narrow(v: u64, key: &str) -> Result<u32, Bad> {
    u32::try_from(v).map_err(|_| format!("{key} {v} does not fit 32 bits"))
}

fn small(a: &Map<String, Value>, key: &str) -> Result<u16, Bad> {
    a.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| format!("{key} is a number 0 ..= 65535"))
}

/// "HH:MM" as minutes after midnight ("24:00" is 1440; larger hours are allowed, to test).
fn minute(a: &Map<String, Value>, key: &str) -> Result<u16, Bad> {
    let s = text(a, key)?;
    let bad = || format!("{key} {s:?} is not HH:MM");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn time_of_day(a: &Map<String, Value>) -> Result<Option<TimeOfDay>, Bad> {
    match a.get("time") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(t)) if t.len() == 2 => {
            let mut m = Map::new();
            m.insert("start".into(), t[0].clone());
            m.insert("end".into(), t[1].clone());
            Ok(Some(TimeOfDay { start_min: minute(&m, "start")?, end_min: minute(&m, "end")? }))
        }
        Some(_) => Err("time is [\"HH:MM\", \"HH:MM\"]".into()),
    }
}

/// A date argument, parsed by the face (a bad date is the call's outcome, not a bad scenario).
fn date(a: &Map<String, Value>, key: &str) -> Result<Result<Date, (String, String)>, Bad> {
    Ok(Date::parse(text(a, key)?).map_err(engine_err))
}

/// `{"date": "YYYY-MM-DD", "time": "HH:MM"}` as an instant in the region's time.
fn instant(a: &Map<String, Value>, utc_offset_s: i32) -> Result<Outcome<Timestamp>, Bad> {
    let m = minute(a, "time")?;
    Ok(match date(a, "date")? {
        Ok(d) => Timestamp::try_from_local(d, m, utc_offset_s).map_err(engine_err),
        Err(err) => Err(err),
    })
}

fn tier(a: &Map<String, Value>) -> Result<Tier, Bad> {
    match text(a, "tier")? {
        "community" => Ok(Tier::Community),
        "secondary" => Ok(Tier::Secondary),
        "tertiary" => Ok(Tier::Tertiary),
        t => Err(format!("tier {t:?}")),
    }
}

fn resource_kind(a: &Map<String, Value>) -> Result<ResourceKind, Bad> {
    match text(a, "kind")? {
        "doctor" => Ok(ResourceKind::Doctor),
        "bed" => Ok(ResourceKind::Bed),
        "exam" => Ok(ResourceKind::Exam),
        "nursing" => Ok(ResourceKind::Nursing),
        "pharmacy" => Ok(ResourceKind::Pharmacy),
        "service" => Ok(ResourceKind::Service),
        k => Err(format!("kind {k:?}")),
    }
}
