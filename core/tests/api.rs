//! The Rust API as a newcomer meets it (architecture issue, "names that differ between faces"):
//! each test pins one rough edge that was filed and is now smoothed.

mod common;
mod durability_support;

use common::*;
use haoyuan::*;

#[test]
fn publish_slots_returns_ids_that_iterate_and_index_like_the_input() {
    let c = city();
    let date = day0().plus_days(2);
    let specs: Vec<SlotSpec> = [8 * 60, 8 * 60 + 15, 8 * 60 + 30]
        .iter()
        .map(|&m| SlotSpec {
            resource: c.doctor[2],
            date,
            start_min: m,
            end_min: m + 15,
            capacity: 2,
        })
        .collect();
    let ids = c.engine.publish_slots(&specs).unwrap();
    assert_eq!(ids.len(), 3);
    let listed: Vec<SlotId> = ids.into_iter().collect();
    assert_eq!(listed.len(), 3);
    for (i, (id, spec)) in ids.iter().zip(&specs).enumerate() {
        assert_eq!(ids.get(i), Some(id));
        assert!(ids.contains(id));
        assert_eq!(c.engine.slot(id).unwrap().start_min, spec.start_min, "ids follow input order");
    }
    assert_eq!(ids.get(3), None);
    assert!(!ids.contains(ids.end));
    assert_eq!(ids.iter().next_back(), ids.get(2));
    let empty = c.engine.publish_slots(&[]).unwrap();
    assert!(empty.is_empty() && empty.iter().next().is_none());
}

#[test]
fn slot_pools_are_named_and_indexable_by_pool() {
    let c = city();
    let slot = c.slot(c.doctor[2], day0().plus_days(2), 8 * 60, 10);
    let info = c.engine.slot(slot).unwrap();
    // DOMAIN.md's defaults: 30% of a tertiary session is kept for referrals.
    assert_eq!(info.pool_places.general + info.pool_places.referral, 10);
    assert_eq!(info.pool_places[Pool::Referral], info.pool_places.referral);
    assert_eq!(info.pool_places.total(), 10);
    assert_eq!(
        info.pool_places.iter().map(|(p, n)| (p, n as u32)).collect::<Vec<_>>(),
        Pool::ALL.iter().map(|&p| (p, info.pool_places[p] as u32)).collect::<Vec<_>>()
    );
    c.engine.book(&c.req(c.patient(), slot)).unwrap();
    let info = c.engine.slot(slot).unwrap();
    assert_eq!(info.pool_taken.general, 1);
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["pool_taken"]["general"], 1, "{json}");
}

#[test]
fn error_messages_print_local_time_with_the_offset() {
    let c = city();
    // Opens at 15:00 local seven days ahead (DOMAIN.md's release rule): ask too early.
    let slot = c.slot(c.doctor[2], day0().plus_days(10), 9 * 60, 1);
    let err = c.engine.book(&c.req(c.patient(), slot)).unwrap_err();
    let Error::NotOpenYet { opens_at, utc_offset_s, .. } = err else {
        panic!("expected NotOpenYet, got {err:?}")
    };
    assert_eq!(utc_offset_s, OFFSET);
    let text = err.to_string();
    assert!(text.ends_with(&format!("{}", opens_at.local(OFFSET))), "{text}");
    assert!(text.contains("+08:00") && !text.contains('Z'), "{text}");
    assert_eq!(
        format!("{}", at(day0(), 15, 0).local(OFFSET)),
        format!("{}T15:00:00+08:00", day0()),
        "a local instant shows the wall clock of the region"
    );
}

#[test]
fn limit_errors_name_the_limit_as_policies_do() {
    let policy = Policy {
        limits: LimitPolicy { per_visit_date: 1, ..LimitPolicy::default() },
        ..Policy::default()
    };
    let c = city_with(policy, at(day0(), 16, 0));
    let date = day0().plus_days(1);
    let (a, b) = (c.slot(c.doctor[2], date, 8 * 60, 5), c.slot(c.doctor[1], date, 9 * 60, 5));
    let p = c.patient();
    c.engine.book(&c.req(p, a)).unwrap();
    let err = c.engine.book(&c.req(p, b)).unwrap_err();
    assert!(err.to_string().contains("per_visit_date"), "{err}");
    assert!(!err.to_string().contains("PerVisitDate"), "{err}");
}

#[test]
fn advance_to_the_past_is_an_error_like_a_negative_advance() {
    let c = city();
    let now = c.engine.now();
    let err = c.engine.advance_to(now.plus_s(-1)).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(err.to_string().contains("+08:00"), "{err}");
    assert_eq!(c.engine.now(), now, "a refused call changes nothing");
    assert!(matches!(c.engine.advance_clock(-1), Err(Error::InvalidArgument(_))));
    c.engine.advance_to(now).unwrap();
    assert_eq!(c.engine.now(), now, "advancing to now is allowed and moves nothing");
    c.engine.advance_to(now.plus_s(60)).unwrap();
    assert_eq!(c.engine.now(), now.plus_s(60));
}

#[test]
fn clock_moves_are_events() {
    let c = city();
    let events = c.engine.subscribe();
    let now = c.engine.now();
    c.engine.advance_clock(0).unwrap();
    c.engine.advance_clock(30).unwrap();
    c.engine.advance_to(now.plus_s(30)).unwrap();
    c.engine.advance_to(now.plus_s(90)).unwrap();
    let moves: Vec<(Timestamp, Timestamp)> = events
        .try_iter()
        .filter_map(|e| match e.kind {
            EventKind::ClockSet { to } => Some((e.at, to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        moves,
        [(now.plus_s(30), now.plus_s(30)), (now.plus_s(90), now.plus_s(90))],
        "one event per move that moved the clock, none for a move that did not"
    );
}

#[test]
fn a_durable_manual_clock_reopens_where_it_stood() {
    let dir = durability_support::fresh_dir("api-clock");
    let start = durability_support::start();
    let open = || {
        DurableEngine::open(
            &dir,
            OpenOptions::new(Durability::Sync)
                .config(durability_support::config())
                .clock(ClockKind::Manual(start)),
        )
        .unwrap()
    };
    {
        let e = open();
        e.add_institution("Nancheng Community Clinic", Tier::Community, "Nancheng").unwrap();
        // Two days pass with nothing else happening.
        e.advance_clock(2 * 86_400).unwrap();
        e.close().unwrap();
    }
    let e = open();
    assert_eq!(e.now(), start.plus_s(2 * 86_400), "the clock's position was journaled");
}

#[test]
fn an_ended_booking_past_the_kept_history_is_told_apart_from_one_never_issued() {
    let c = city();
    let p = c.patient();
    let date = day0().plus_days(1);
    let slots = c.slots(c.doctor[2], date, &[8 * 60], 1);
    // Enough cancelled holds that the oldest is forgotten (twice the history triggers it).
    let mut ids = Vec::new();
    for _ in 0..(2 * ENDED_BOOKINGS_KEPT + 2) {
        let b = c.engine.hold(&c.req(p, slots[0])).unwrap();
        c.engine.cancel(b.id).unwrap();
        ids.push(b.id);
    }
    let first = ids[0];
    let forgotten = c.engine.booking(first).unwrap_err();
    assert!(
        matches!(&forgotten, Error::NotFound { kind, .. } if kind == FORGOTTEN_BOOKING),
        "{forgotten:?}"
    );
    assert_eq!(forgotten.code(), ErrorCode::NotFound);
    let cancel = c.engine.cancel(first).unwrap_err();
    assert!(matches!(&cancel, Error::NotFound { kind, .. } if kind == FORGOTTEN_BOOKING));
    // The next id of the same patient was never issued: plain "booking".
    let never = BookingId(ids.last().unwrap().0 + 1);
    let err = c.engine.booking(never).unwrap_err();
    assert!(matches!(&err, Error::NotFound { kind, .. } if kind == "booking"), "{err:?}");
    assert!(c.engine.booking(*ids.last().unwrap()).is_ok(), "recent ended bookings are kept");
}

#[test]
fn state_digest_tells_equal_states_from_different_ones() {
    let key = CardKey::from_bytes(&[7; 32]).unwrap();
    let build = || {
        let e = Engine::with_manual_clock(
            EngineConfig::default().with_card_key(key.clone()),
            at(day0(), 16, 0),
        )
        .unwrap();
        let i = e.add_institution("Clinic", Tier::Community, "Nancheng").unwrap();
        let d = e.add_department(i, "cardiology", "Cardiology").unwrap();
        let r = e.add_resource(d, ResourceKind::Doctor, "Dr Li", false).unwrap();
        let s = e
            .publish_slots(&[SlotSpec {
                resource: r,
                date: day0().plus_days(1),
                start_min: 480,
                end_min: 495,
                capacity: 3,
            }])
            .unwrap();
        (e, s.start)
    };
    let (a, slot) = build();
    let (b, _) = build();
    assert_eq!(a.state_digest().unwrap(), b.state_digest().unwrap());
    b.advance_clock(60).unwrap();
    assert_eq!(a.state_digest().unwrap(), b.state_digest().unwrap(), "the clock is left out");
    let app = a.channel_id("app").unwrap();
    let p = a.register_patient().unwrap();
    a.book(&Request::new(p, slot, app)).unwrap();
    assert_ne!(a.state_digest().unwrap(), b.state_digest().unwrap());
    // The same booking at another time is another state (a booking records when it was made).
    let q = b.register_patient().unwrap();
    b.book(&Request::new(q, slot, app)).unwrap();
    assert_ne!(a.state_digest().unwrap(), b.state_digest().unwrap());
    let (c, slot) = build();
    let p = c.register_patient().unwrap();
    c.book(&Request::new(p, slot, app)).unwrap();
    assert_eq!(a.state_digest().unwrap(), c.state_digest().unwrap(), "the same booking");
}

#[test]
fn recovery_reports_serialise() {
    let dir = durability_support::fresh_dir("api-report");
    let e = DurableEngine::open(
        &dir,
        OpenOptions::new(Durability::Sync).config(durability_support::config()),
    )
    .unwrap();
    let json = serde_json::to_value(e.recovery_report()).unwrap();
    assert_eq!(json["events_replayed"], 0, "{json}");
    assert!(json["torn_tail"].is_null(), "{json}");
    let back: RecoveryReport = serde_json::from_value(json).unwrap();
    assert_eq!(&back, e.recovery_report());
}

#[test]
fn an_empty_time_of_day_is_refused_wherever_it_is_taken() {
    // Found by the conformance scenarios: C read (0, 0) as the whole day, Rust as nothing at
    // all (and succeeded), Python refused it. Now every call refuses an empty range.
    let c = city();
    let date = day0().plus_days(1);
    let slot = c.slot(c.doctor[2], date, 8 * 60, 2);
    let p = c.patient();
    c.engine.book(&c.req(p, slot)).unwrap();
    for t in [TimeOfDay { start_min: 0, end_min: 0 }, TimeOfDay { start_min: 600, end_min: 500 }] {
        let err = c.engine.suspend_session(c.doctor[2], date, Some(t)).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
        let q = AvailabilityQuery {
            date_from: date,
            date_to: date,
            time: Some(t),
            ..AvailabilityQuery::default()
        };
        assert!(matches!(c.engine.find_free_slots(&q), Err(Error::InvalidArgument(_))));
    }
    let too_late = TimeOfDay { start_min: 0, end_min: 1441 };
    assert!(c.engine.suspend_session(c.doctor[2], date, Some(too_late)).is_err());
    assert!(!c.engine.slot(slot).unwrap().closed, "a refused suspension closes nothing");
    let whole = TimeOfDay { start_min: 0, end_min: 1440 };
    assert_eq!(c.engine.suspend_session(c.doctor[2], date, Some(whole)).unwrap().slots, [slot]);
}

/// Bulk registration (province-scale issue, item 6): one patient per card, contiguous ids, all
/// or nothing per batch, the same events as the single calls (so a durable engine reopens with
/// every card).
#[test]
fn registering_a_batch_with_cards_is_all_or_nothing_and_survives_reopening() {
    let dir = durability_support::fresh_dir("api-register-batch");
    let open = || {
        DurableEngine::open(
            &dir,
            OpenOptions::new(Durability::Sync).config(durability_support::config()),
        )
        .unwrap()
    };
    let number = |i: u32| format!("4419002000{i:08}");
    let numbers: Vec<String> = (0..1_000).map(number).collect();
    let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let ids = {
        let e = open();
        let before = e.register_patient().unwrap();
        let ids = e.register_patients_with_cards("resident_id", &refs).unwrap();
        assert_eq!(ids.len(), 1_000);
        assert!(
            ids.iter().enumerate().all(|(i, id)| id.0 == before.0 + 1 + i as u32),
            "contiguous, in order"
        );
        // Refused batches register no one: the next id follows the last accepted one.
        let taken =
            e.register_patients_with_cards("resident_id", &["441900200099999999", &number(7)]);
        assert_eq!(taken.unwrap_err().code(), ErrorCode::CardTaken);
        let twice = e.register_patients_with_cards(
            "resident_id",
            &["441900200099999998", "441900200099999998"],
        );
        assert_eq!(twice.unwrap_err().code(), ErrorCode::InvalidArgument);
        let bad = e.register_patients_with_cards("resident_id", &["441900200099999997", ""]);
        assert_eq!(bad.unwrap_err().code(), ErrorCode::InvalidArgument);
        let too_many = e.register_patients(REGISTER_BATCH_MAX + 1);
        assert_eq!(too_many.unwrap_err().code(), ErrorCode::CapacityExceeded);
        for n in ["441900200099999999", "441900200099999998", "441900200099999997"] {
            assert_eq!(
                e.find_patient_by_card("resident_id", n).unwrap(),
                None,
                "{n} left no trace"
            );
        }
        let plain = e.register_patients(2).unwrap();
        assert_eq!(plain[0].0, ids[999].0 + 1, "refused batches took no id");
        e.close().unwrap();
        ids
    };
    let e = open();
    for (i, id) in ids.iter().enumerate().step_by(97) {
        assert_eq!(e.find_patient_by_card("resident_id", &number(i as u32)).unwrap(), Some(*id));
    }
    assert_eq!(e.patient_record(ids[999]).unwrap().cards.len(), 1);
}

/// A batch racing single links of its own cards: either the batch registered everyone (and the
/// racing link was refused), or it registered no one (and the link stands) — never a part.
#[test]
fn a_batch_racing_single_links_is_still_all_or_nothing() {
    for round in 0..40u32 {
        let e = Engine::new(EngineConfig::default()).unwrap();
        let loner = e.register_patient().unwrap();
        let numbers: Vec<String> = (0..200).map(|i| format!("4419{round:04}{i:010}")).collect();
        let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
        let contested = numbers[150].clone();
        let (batch, link) = std::thread::scope(|s| {
            let b = s.spawn(|| e.register_patients_with_cards("resident_id", &refs));
            let l = s.spawn(|| e.link_card(loner, "resident_id", &contested));
            (b.join().unwrap(), l.join().unwrap())
        });
        let owner = e.find_patient_by_card("resident_id", &contested).unwrap();
        let others = e.find_patient_by_card("resident_id", &numbers[0]).unwrap();
        match (batch, link) {
            (Ok(ids), Err(err)) => {
                assert_eq!(err.code(), ErrorCode::CardTaken);
                assert_eq!(owner, Some(ids[150]));
                assert_eq!(others, Some(ids[0]));
            }
            (Err(err), Ok(())) => {
                assert_eq!(err.code(), ErrorCode::CardTaken);
                assert_eq!(owner, Some(loner));
                assert_eq!(others, None, "a refused batch links nothing");
            }
            (b, l) => panic!("round {round}: batch {b:?}, link {l:?}: exactly one must win"),
        }
    }
}

/// The bulk calls and pipelining on an in-memory engine: rows as single calls would have gone,
/// every ticket durable at once, the callback run on the spot; lifecycle actions by the name
/// every face uses.
#[test]
fn bulk_calls_and_pipelining_in_memory() {
    let c = city();
    let slot = c.slot(c.doctor[1], day0().plus_days(1), 9 * 60, 2);
    let patients: Vec<PatientId> = (0..3).map(|_| c.patient()).collect();
    let reqs: Vec<Request> = patients.iter().map(|&p| c.req(p, slot)).collect();
    let out = c.engine.hold_many(&reqs).unwrap();
    assert!(out[0].is_ok() && out[1].is_ok(), "{out:?}");
    assert_eq!(out[2].as_ref().unwrap_err().code(), ErrorCode::SlotFull, "the third finds it full");
    let held: Vec<BookingId> = out.iter().flatten().map(|b| b.id).collect();
    let confirmed = c.engine.lifecycle_many(LifecycleAction::Confirm, &held).unwrap();
    assert!(confirmed.iter().all(|b| b.as_ref().is_ok_and(|b| b.state == BookingState::Booked)));

    let p = c.engine.pipelined(|e| e.cancel(held[0]));
    assert_eq!(p.outcome.unwrap().state, BookingState::Cancelled);
    assert!(c.engine.is_durable(p.ticket), "no journal: durable at once");
    c.engine.wait_durable(p.ticket).unwrap();
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = ran.clone();
    c.engine.on_durable(
        p.ticket,
        Box::new(move |r| flag.store(r.is_ok(), std::sync::atomic::Ordering::SeqCst)),
    );
    assert!(ran.load(std::sync::atomic::Ordering::SeqCst), "the callback ran at once with Ok");

    for a in LifecycleAction::ALL {
        assert_eq!(LifecycleAction::from_name(a.name()).unwrap(), a);
        assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{}\"", a.name()));
    }
    let err = LifecycleAction::from_name("undo").unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("check_in"), "{err}");
}

/// Checks the Prometheus text exposition's grammar: `# HELP`/`# TYPE` before a family's
/// samples, every sample `name{labels} number`, names prefixed `haoyuan_`. Returns the samples.
pub fn parse_prometheus(text: &str) -> Vec<(String, f64)> {
    let mut typed: Vec<String> = Vec::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["gauge", "counter", "histogram"].contains(&kind), "{line}");
            typed.push(name.to_string());
        } else if line.starts_with("# HELP haoyuan_") {
        } else {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
            let name = series.split('{').next().unwrap();
            assert!(name.starts_with("haoyuan_"), "{line}");
            assert!(
                typed.iter().any(|t| name == t
                    || name
                        .strip_prefix(t.as_str())
                        .is_some_and(|s| ["_bucket", "_sum", "_count"].contains(&s))),
                "sample before its # TYPE: {line}"
            );
            if let Some(labels) = series.strip_prefix(name) {
                assert!(
                    labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                    "{line}"
                );
            }
            samples.push((
                series.to_string(),
                value.parse::<f64>().unwrap_or_else(|_| panic!("{line}")),
            ));
        }
    }
    samples
}

#[test]
fn metrics_count_what_the_engine_holds_and_expose_them_to_prometheus() {
    let c = city();
    let slot = c.slot(c.doctor[1], day0().plus_days(1), 9 * 60, 3);
    let sub = c
        .engine
        .subscribe_with(SubscribeOptions {
            capacity: 8,
            overflow: Overflow::Disconnect,
            ..SubscribeOptions::default()
        })
        .unwrap();
    let p = c.patient();
    c.engine.book(&c.req(p, slot)).unwrap();
    let m = c.engine.metrics();
    assert_eq!(m.stats, c.engine.stats());
    assert_eq!(m.last_event_seq, c.engine.last_event_seq());
    assert_eq!(
        (m.durable_seq, m.durable_lag_events),
        (m.last_event_seq, 0),
        "no journal: nothing to wait for"
    );
    assert!(m.journal.is_none());
    assert_eq!(m.subscribers.len(), 1);
    assert_eq!((m.subscribers[0].queue_depth, m.subscribers[0].queue_capacity), (sub.len(), 8));
    assert_eq!(sub.len(), 2, "registered, booked");
    assert!(m.memory.slot_bytes > 0);
    assert!(m.memory.process_resident_bytes > m.memory.slot_bytes);
    let samples = parse_prometheus(&m.to_prometheus());
    let value = |series: &str| {
        samples.iter().find(|s| s.0 == series).unwrap_or_else(|| panic!("{series}")).1
    };
    assert_eq!(value("haoyuan_patients"), c.engine.stats().patients as f64);
    assert_eq!(value("haoyuan_events_total"), m.last_event_seq as f64);
    assert_eq!(
        value("haoyuan_subscriber_queue_depth{subscriber=\"0\",overflow=\"disconnect\"}"),
        2.0
    );
    assert!(
        !samples.iter().any(|s| s.0.starts_with("haoyuan_journal")),
        "no journal, no journal metrics"
    );
    let json: Metrics = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(json, m);
}

/// A resource-day keeps no list of its own: its slots are its department-day's, read through
/// the counters they name (`SlotStore::resource_day_slots`). Two doctors of one department with
/// interleaved sessions, published in several calls, the later ones starting earlier: each
/// doctor's query and slot list give that doctor's slots alone, in start order, and a doctor
/// whose day is full is skipped while the other's free slots still answer.
#[test]
fn a_doctors_query_and_slot_list_hold_that_doctors_slots_alone() {
    let c = city();
    let e = &c.engine;
    let second = e.add_resource(c.cardio[2], ResourceKind::Doctor, "Dr 2b", false).unwrap();
    let doctors = [c.doctor[2], second];
    let date = day0().plus_days(2);
    let mut mine: [Vec<(u16, SlotId)>; 2] = Default::default();
    // Three calls; each doctor's slots every 20 minutes, the second doctor 10 minutes later.
    for from in [10 * 60, 8 * 60, 14 * 60] {
        let specs: Vec<SlotSpec> = (0..6u16)
            .map(|k| SlotSpec {
                resource: doctors[(k % 2) as usize],
                date,
                start_min: from + (k / 2) * 20 + (k % 2) * 10,
                end_min: from + (k / 2) * 20 + (k % 2) * 10 + 10,
                capacity: 1,
            })
            .collect();
        let ids = e.publish_slots(&specs).unwrap();
        for (spec, id) in specs.iter().zip(ids.iter()) {
            mine[(spec.resource == second) as usize].push((spec.start_min, id));
        }
    }
    for m in &mut mine {
        m.sort();
    }
    let query = |d: usize| {
        let q = AvailabilityQuery {
            resource: Some(doctors[d]),
            limit: 100,
            ..AvailabilityQuery::department(c.cardio[2], date, date)
        };
        e.find_free_slots(&q).unwrap().iter().map(|f| (f.start_min, f.slot)).collect::<Vec<_>>()
    };
    for d in 0..2 {
        assert_eq!(query(d), mine[d], "doctor {d}'s free slots");
        let listed = e.resource_day_slots(doctors[d], date).unwrap();
        assert_eq!(listed, mine[d].iter().map(|&(_, id)| id).collect::<Vec<_>>());
    }
    // Fill the first doctor's day (the public pool of each one-place slot).
    let patients = e.register_patients(mine[0].len()).unwrap();
    for (p, &(_, slot)) in patients.iter().zip(&mine[0]) {
        e.book(&Request::new(*p, slot, c.app)).unwrap();
    }
    assert_eq!(query(0), vec![], "a full doctor's day answers nothing");
    assert_eq!(query(1), mine[1], "the other doctor's slots still answer");
    e.check_availability_index().unwrap();
}
