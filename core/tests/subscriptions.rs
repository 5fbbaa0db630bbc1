//! Subscriptions to some event types only (`SubscribeOptions::kinds`), against a subscription
//! to every type on the same engine: the filtered ones receive exactly the events the model
//! below says (their types, a group when it holds one of them), in the same order, and nothing
//! else — over the durability workload's mix, which makes almost every type, groups included.

mod durability_support;

use durability_support::*;
use haoyuan::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

/// The model: whether an event belongs to a subscription to `kinds`, from the event's JSON
/// (its `type` tag, and a group's members' tags) — not from the engine's own mapping.
fn wanted(kinds: &BTreeSet<String>, event: &Event) -> bool {
    let json = serde_json::to_value(&event.kind).unwrap();
    let tag = |v: &serde_json::Value| v["type"].as_str().unwrap().to_string();
    kinds.contains(&tag(&json))
        || json["events"]
            .as_array()
            .is_some_and(|inner| inner.iter().any(|e| kinds.contains(&tag(e))))
}

#[test]
fn a_filtered_subscription_receives_its_types_and_nothing_else() {
    let mut seen_types = BTreeSet::new();
    for seed in 1..=3u64 {
        let e = Engine::with_manual_clock(config(), start()).unwrap();
        let all =
            e.subscribe_with(SubscribeOptions { capacity: 1 << 20, ..Default::default() }).unwrap();
        // Random sets of names, and the sets a simulator and a waitlist notifier would ask for.
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut sets: Vec<BTreeSet<String>> = (0..4)
            .map(|_| {
                let n = rng.random_range(1..=8);
                (0..n)
                    .map(|_| {
                        EventType::ALL[rng.random_range(0..EventType::ALL.len())].name().to_string()
                    })
                    .collect()
            })
            .collect();
        sets.push(["cancelled", "expired", "lottery_won", "lottery_lost"].map(String::from).into());
        sets.push(["group"].map(String::from).into());
        let subs: Vec<Subscription> = sets
            .iter()
            .map(|s| {
                let kinds = EventKinds::from_names(s.iter().map(String::as_str)).unwrap();
                e.subscribe_with(SubscribeOptions {
                    capacity: 1 << 20,
                    kinds,
                    ..Default::default()
                })
                .unwrap()
            })
            .collect();
        let (mut w, mut ops) = (build_world(&e), Ops::new(seed));
        for _ in 0..1500 {
            ops.step(&e, &mut w);
        }
        // One thread: every queue is in `seq` order already.
        let every: Vec<Event> = all.try_iter().collect();
        assert!(!all.is_cut_off());
        for event in &every {
            // The engine's type of each real event is the one its JSON is tagged with.
            let json = serde_json::to_value(&event.kind).unwrap();
            assert_eq!(json["type"], event.kind.event_type().name(), "{event:?}");
            seen_types.insert(event.kind.event_type());
        }
        for (kinds, sub) in sets.iter().zip(&subs) {
            let got: Vec<Event> = sub.try_iter().collect();
            let expected: Vec<&Event> = every.iter().filter(|ev| wanted(kinds, ev)).collect();
            assert_eq!(got.iter().collect::<Vec<_>>(), expected, "seed {seed}, kinds {kinds:?}");
            assert!(!sub.is_cut_off());
        }
    }
    // The mix made the types that matter here, groups among them.
    for t in [EventType::Booked, EventType::Cancelled, EventType::Expired, EventType::Group] {
        assert!(seen_types.contains(&t), "the workload never made {t}");
    }
    assert!(seen_types.len() >= 20, "the workload made only {seen_types:?}");
}

#[test]
fn the_types_left_out_take_no_room_and_a_dropped_subscription_leaves_at_once() {
    let e = Engine::with_manual_clock(config(), start()).unwrap();
    let w = build_world(&e);
    let kinds = EventKinds::of(&[EventType::Retired]);
    // A queue of one event, and hundreds of events of other types: none takes its room.
    let rare =
        e.subscribe_with(SubscribeOptions { capacity: 1, kinds, ..Default::default() }).unwrap();
    let before = e.last_event_seq();
    for i in 0..200 {
        let p = e.register_patient().unwrap();
        e.link_card(p, "social_security", &format!("5519{i:08}")).unwrap();
    }
    assert_eq!(e.last_event_seq(), before + 400);
    assert!(rare.is_empty() && !rare.is_cut_off());
    assert_eq!(e.metrics().subscribers.len(), 1);
    drop(rare);
    assert!(e.metrics().subscribers.is_empty(), "unsubscribed when dropped, before any event");
    // Another subscription goes on receiving after the first one left.
    let booked = e
        .subscribe_with(SubscribeOptions {
            kinds: EventKinds::of(&[EventType::Booked]),
            ..Default::default()
        })
        .unwrap();
    let slot = SlotId(1);
    e.advance_clock(0).unwrap();
    let b = e.book(&Request::new(w.patients[0], slot, ChannelId(1)));
    assert_eq!(booked.len(), b.is_ok() as usize, "{b:?}");
}

#[test]
fn bad_kinds_are_refused_and_change_nothing() {
    let e = Engine::with_manual_clock(config(), start()).unwrap();
    let empty = SubscribeOptions { kinds: EventKinds::of(&[]), ..Default::default() };
    assert_eq!(e.subscribe_with(empty).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert!(e.metrics().subscribers.is_empty());
    let err = EventKinds::from_names(["booked", "canceled"]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.to_string().contains("\"canceled\""), "{err}");
    // Options as JSON (a host's configuration): the names, and every type when left out.
    let o: SubscribeOptions =
        serde_json::from_str(r#"{"capacity":16,"overflow":"block","kinds":["no_show"]}"#).unwrap();
    assert_eq!(o.kinds, EventKinds::of(&[EventType::NoShow]));
    let o: SubscribeOptions =
        serde_json::from_str(r#"{"capacity":16,"overflow":"block"}"#).unwrap();
    assert_eq!(o.kinds, EventKinds::ALL);
    assert!(serde_json::from_str::<SubscribeOptions>(
        r#"{"capacity":16,"overflow":"block","kinds":["nope"]}"#
    )
    .is_err());
}

/// Subscriptions come and go (filtered ones, dropped at once) while two threads emit: every
/// event still reaches the subscriber to every type, gap-free, and a filtered subscription that
/// stays receives exactly its types.
#[test]
fn subscribing_and_dropping_while_threads_emit_loses_nothing() {
    let e = Engine::with_manual_clock(config(), start()).unwrap();
    let w = build_world(&e);
    let all =
        e.subscribe_with(SubscribeOptions { capacity: 1 << 20, ..Default::default() }).unwrap();
    let cancelled = e
        .subscribe_with(SubscribeOptions {
            capacity: 1 << 20,
            kinds: EventKinds::of(&[EventType::Cancelled]),
            ..Default::default()
        })
        .unwrap();
    let first = e.last_event_seq() + 1;
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let (e, w) = (&e, &w);
            s.spawn(move || {
                let mut rng = ChaCha8Rng::seed_from_u64(t);
                for _ in 0..2000 {
                    let p = w.patients[rng.random_range(0..w.patients.len())];
                    let slot = SlotId(rng.random_range(1..=e.slot_count() as u32));
                    if let Ok(b) = e.book(&Request::new(p, slot, ChannelId(1))) {
                        let _ = e.cancel(b.id);
                    }
                }
            });
        }
        s.spawn(|| {
            for i in 0..500 {
                let t = EventType::ALL[i % EventType::ALL.len()];
                let sub = e
                    .subscribe_with(SubscribeOptions {
                        capacity: 4,
                        kinds: EventKinds::of(&[t]),
                        ..Default::default()
                    })
                    .unwrap();
                drop(sub);
            }
        });
    });
    let mut every: Vec<Event> = all.try_iter().collect();
    every.sort_by_key(|ev| ev.seq);
    assert!(!all.is_cut_off());
    let seqs: Vec<u64> = every.iter().map(|ev| ev.seq).collect();
    assert_eq!(seqs, (first..=e.last_event_seq()).collect::<Vec<_>>(), "gap-free");
    let mut got: Vec<Event> = cancelled.try_iter().collect();
    got.sort_by_key(|ev| ev.seq);
    let expected: Vec<Event> =
        every.into_iter().filter(|ev| ev.kind.event_type() == EventType::Cancelled).collect();
    assert!(expected.len() > 100, "the threads cancelled only {}", expected.len());
    assert_eq!(got, expected);
    assert_eq!(e.metrics().subscribers.len(), 2, "every dropped subscription left");
}
