//! Follower lag under load (issue 16's goal: ≤ 100 ms p99 at 50,000 bookings a second).
//!
//! A `Sync`-mode leader holding a Dongguan-size city (`add_city`, two published days) books at
//! a paced `rate` from one thread for `seconds`, pipelined as the durability docs tell a host
//! to (`Engine::pipelined`, then one `wait_durable` per 64 operations: a booking is
//! acknowledged once its ticket is durable). A hot [`Standby`] on the same directory follows
//! with its background poller (`poll_ms`). An observer thread notes when the standby's
//! applied sequence number moves. For every acknowledged booking, the lag is the time from its
//! acknowledgement until the standby had applied its event (0 when the standby was first).
//! Prints the achieved rate, the lag's p50 / p99 / max, and the standby's resyncs.
//!
//! The standby is one of three `follower` kinds: `dir` (the default: [`Standby::open`] on the
//! leader's directory, polling), `stream-async` or `stream-ack` ([`Standby::connect`] to the
//! leader's replication listener on loopback TCP, receiving into its own directory; the leader
//! in [`ReplicationMode::Async`] or [`ReplicationMode::AckAfterFollower`]). With a `rate` the
//! leader cannot reach (say 1e9) the achieved rate is the mode's durable throughput: the cost of
//! acknowledging only what a follower has fsynced.
//!
//! `cargo run --release -p haoyuan-benches --example follower_lag -- [rate] [seconds] [poll_ms]
//! [follower]` (defaults 50,000, 3, 1, dir).

use haoyuan::*;
use haoyuan_benches::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rate: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(50_000.0);
    let seconds: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let poll_ms: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1);
    let follower = args.get(4).map_or("dir", |a| a.as_str());
    let replication = match follower {
        "dir" => None,
        "stream-async" => Some(ReplicationMode::Async),
        "stream-ack" => Some(ReplicationMode::AckAfterFollower),
        other => panic!("follower {other:?}: expected dir, stream-async or stream-ack"),
    };
    let n = (rate * seconds).min(400_000.0) as usize;
    let dir = std::env::temp_dir().join(format!("haoyuan-follower-lag-{}", std::process::id()));
    let own = dir.with_extension("standby");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&own);
    let key = CardKey::from_bytes(&[9; 32]).expect("key");
    let config = EngineConfig::default().with_card_key(key.clone());
    let mut options =
        OpenOptions::new(Durability::Sync).config(config).clock(ClockKind::Manual(booking_time()));
    if let Some(mode) = replication {
        options = options.replicate(ReplicationOptions::new("127.0.0.1:0".parse().unwrap(), mode));
    }
    let leader = DurableEngine::open(&dir, options).expect("open leader");
    let standby_options =
        StandbyOptions::new().card_key(key).clock(ClockKind::Manual(booking_time()));
    // A stream standby connects before the city is built: in `AckAfterFollower` nothing is
    // acknowledged without it.
    let stream = leader.replication_addr().map(|addr| {
        Arc::new(Standby::connect(addr, &own, standby_options.clone()).expect("connect standby"))
    });
    let city = add_city(&leader, 0).expect("city");
    let app = leader.channel_id("app").expect("channel");
    let mut places = Vec::with_capacity(n);
    'days: for d in 0..2 {
        let day = visit_day().plus_days(d);
        leader.publish_slots(&city_day_specs(&city, day)).expect("publish");
        for &(resource, _, capacity) in &city.resources {
            for slot in leader.resource_day_slots(resource, day).expect("slots") {
                for _ in 0..capacity {
                    places.push(slot);
                    if places.len() == n {
                        break 'days;
                    }
                }
            }
        }
    }
    assert_eq!(places.len(), n, "the city's two days hold fewer places than {n} bookings");
    let patients = leader.register_patients(n).expect("patients");
    leader.flush().expect("flush");

    let standby = stream.unwrap_or_else(|| {
        Arc::new(
            Standby::open(&dir, standby_options.poll_interval(Duration::from_millis(poll_ms)))
                .expect("open standby"),
        )
    });
    while standby.last_event_seq() < leader.last_event_seq() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let start_seq = leader.last_event_seq();

    // The observer: (when, applied) each time the standby's applied sequence number moves.
    let stop = Arc::new(AtomicBool::new(false));
    let observer = {
        let (standby, stop) = (standby.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seen = vec![(Instant::now(), standby.last_event_seq())];
            while !stop.load(Ordering::Acquire) {
                let applied = standby.last_event_seq();
                if applied != seen.last().expect("one at least").1 {
                    seen.push((Instant::now(), applied));
                }
                std::thread::sleep(Duration::from_micros(50));
            }
            // The last move may have come between the last sample and the stop: the main thread
            // stops the observer only once the standby has applied everything.
            let applied = standby.last_event_seq();
            if applied != seen.last().expect("one at least").1 {
                seen.push((Instant::now(), applied));
            }
            seen
        })
    };

    // The leader: paced, pipelined, acknowledged 64 at a time.
    let mut acks: Vec<(Instant, u64, usize)> = Vec::new(); // (acknowledged at, ticket, bookings)
    let began = Instant::now();
    let mut pending = 0usize;
    for (i, (&slot, &patient)) in places.iter().zip(&patients).enumerate() {
        let due = began + Duration::from_secs_f64(i as f64 / rate);
        while Instant::now() < due {
            std::hint::spin_loop();
        }
        let p = leader.pipelined(|e| e.book(&Request::new(patient, slot, app)));
        p.outcome.expect("a free place");
        pending += 1;
        if pending == 64 || i + 1 == n {
            leader.wait_durable(p.ticket).expect("durable");
            acks.push((Instant::now(), p.ticket.0, pending));
            pending = 0;
        }
    }
    let elapsed = began.elapsed().as_secs_f64();
    let end_seq = leader.last_event_seq();
    while standby.last_event_seq() < end_seq {
        std::thread::sleep(Duration::from_millis(1));
    }
    stop.store(true, Ordering::Release);
    let seen = observer.join().expect("observer");

    // Each acknowledged batch: when the standby first showed its ticket applied.
    let mut lags_ms: Vec<f64> = Vec::with_capacity(n);
    let mut k = 0;
    for &(acked, ticket, count) in &acks {
        while seen[k].1 < ticket {
            k += 1;
        }
        let lag = seen[k].0.saturating_duration_since(acked).as_secs_f64() * 1e3;
        lags_ms.extend(std::iter::repeat_n(lag, count));
    }
    lags_ms.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| lags_ms[((lags_ms.len() - 1) as f64 * p).round() as usize];
    println!(
        "follower lag: {n} bookings (events {}..{end_seq}) at {:.0}/s asked, {:.0}/s achieved, \
         sync mode, follower {follower} (poll {poll_ms} ms): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; resyncs {}",
        start_seq + 1,
        rate,
        n as f64 / elapsed,
        q(0.5),
        q(0.99),
        lags_ms.last().copied().unwrap_or(0.0),
        standby.lag().resyncs,
    );
    drop(standby);
    leader.close().expect("close");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&own);
}
