//! A plain loop over one hot path, for profilers (criterion's own machinery would dominate a
//! callgrind profile): `book_cancel` (default), `hold_confirm_cancel`, `keyed_book_cancel` (the
//! same through `execute` with request keys), `group3_book_cancel` (a booking group of three
//! neighbouring slots and its cancellation), `spread2`, `query`, `publish`,
//! `flash` (`flash 2 [threads]`: the release lottery; `flash_setup 2`: its fixture alone), or
//! on a city 70% booked asking from full departments (`busy_city`): `busy_query`
//! (department-day), `busy_by_day` (free places by day, 14 days), `busy_alternatives` (clinic,
//! 7 days, first 5).
//!
//! Run: `cargo run --release -p haoyuan-benches --example hot_path -- book_cancel 2000000`
//! Profile: `valgrind --tool=callgrind --callgrind-out-file=cg.out <target>/release/examples/hot_path book_cancel 200000`
//! then `callgrind_annotate cg.out | head -60`.

use haoyuan::*;
use haoyuan_benches::measure::{on_cpu_ns, process_cpu_exact_ns};
use haoyuan_benches::*;
use std::hint::black_box;
use std::time::Instant;

/// CPU time of the whole process, exited threads included (user + system, in 10 ms clock
/// ticks: use it over runs of a second or more). From `/proc/self/stat`; 0 elsewhere.
fn process_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    let f: Vec<u64> = after.split_whitespace().map(|x| x.parse().unwrap_or(0)).collect();
    // Fields 14 and 15 of stat(5) (utime, stime) are 11 and 12 after the command name.
    (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) * 10_000_000
}

/// FNV-1a of a sequence of strings (a digest to compare runs of different builds).
fn fnv(items: impl Iterator<Item = String>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for s in items {
        for b in s.bytes().chain([0]) {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map(String::as_str).unwrap_or("book_cancel");
    let n: usize =
        args.get(2).and_then(|v| v.parse().ok()).unwrap_or(1_000_000).clamp(1, 1_000_000_000);
    match what {
        "book_cancel" | "hold_confirm_cancel" => {
            let f = booking_fixture(200_000);
            let n_slots = f.slots.end.0 - f.slots.start.0;
            let (start, cpu0) = (Instant::now(), on_cpu_ns());
            for i in 0..n {
                let patient = f.patients[i % f.patients.len()];
                let slot = SlotId(f.slots.start.0 + ((i as u32).wrapping_mul(7_919) % n_slots));
                let req = Request::new(patient, slot, f.app);
                let b = if what == "book_cancel" {
                    f.engine.book(&req).expect("free")
                } else {
                    let h = f.engine.hold(&req).expect("free");
                    f.engine.confirm(h.id).expect("confirm")
                };
                black_box(f.engine.cancel(b.id).expect("cancel"));
            }
            let ns = start.elapsed().as_nanos() as f64 / n as f64;
            let cpu = (on_cpu_ns() - cpu0) as f64 / n as f64;
            let ops = if what == "book_cancel" { 2.0 } else { 3.0 };
            println!("{what}: wall {ns:.1} ns per iteration ({:.2} M operations/s); on-CPU {cpu:.1} ns ({:.2} M operations/s)", ops * 1e3 / ns, ops * 1e3 / cpu);
        }
        "keyed_book_cancel" => {
            // book + cancel through `execute` with a request key each (idempotent retries):
            // the key's claim, the outcome's JSON and the key table on top of `book_cancel`.
            let f = booking_fixture(200_000);
            let n_slots = f.slots.end.0 - f.slots.start.0;
            let (start, cpu0) = (Instant::now(), on_cpu_ns());
            for i in 0..n {
                let patient = f.patients[i % f.patients.len()];
                let slot = SlotId(f.slots.start.0 + ((i as u32).wrapping_mul(7_919) % n_slots));
                let book = Command::Book { request: Request::new(patient, slot, f.app) };
                let key = RequestKey::new(format!("b-{i}")).expect("key");
                let Ok(Outcome::Booking { booking }) = f.engine.execute(Some(&key), &book) else {
                    panic!("free")
                };
                let cancel = Command::Cancel { booking: booking.id };
                let key = RequestKey::new(format!("c-{i}")).expect("key");
                black_box(f.engine.execute(Some(&key), &cancel).expect("cancel"));
            }
            let ns = start.elapsed().as_nanos() as f64 / n as f64;
            let cpu = (on_cpu_ns() - cpu0) as f64 / n as f64;
            println!("{what}: wall {ns:.1} ns per iteration ({:.2} M operations/s); on-CPU {cpu:.1} ns ({:.2} M operations/s)", 2e3 / ns, 2e3 / cpu);
        }
        "group3_book_cancel" => {
            let f = booking_fixture(200_000);
            let n_slots = f.slots.end.0 - f.slots.start.0;
            let (start, cpu0) = (Instant::now(), on_cpu_ns());
            for i in 0..n {
                let patient = f.patients[i % f.patients.len()];
                let first = (i as u32).wrapping_mul(7_919) % (n_slots - 2);
                let slots = (0..3).map(|k| SlotId(f.slots.start.0 + first + k)).collect();
                let req = GroupRequest { patient, channel: f.app, slots, referral: None };
                let g = f.engine.book_group(&req).expect("free");
                black_box(f.engine.cancel(g.id).expect("cancel"));
            }
            let ns = start.elapsed().as_nanos() as f64 / n as f64;
            let cpu = (on_cpu_ns() - cpu0) as f64 / n as f64;
            println!("{what}: wall {ns:.1} ns per iteration ({:.2} M operations/s); on-CPU {cpu:.1} ns ({:.2} M operations/s)", 2e3 / ns, 2e3 / cpu);
        }
        "spread2" => {
            // book + cancel on spread slots from 1 and then 2 threads: on a shared machine the
            // wall time says how much CPU we were given; the on-CPU time per pair says whether
            // a second thread makes each pair dearer (contention) or not.
            for threads in [1usize, 2] {
                // A fresh city for each: the second run's patients would otherwise carry the
                // first run's bookings (longer records to check), which is not contention.
                let f = booking_fixture(200_000);
                let n_slots = f.slots.end.0 - f.slots.start.0;
                let (start, cpu0) = (Instant::now(), process_cpu_ns());
                std::thread::scope(|s| {
                    for t in 0..threads {
                        let f = &f;
                        s.spawn(move || {
                            for k in (t..n).step_by(threads) {
                                let patient = f.patients[(k * 2 + t) % f.patients.len() / threads * threads + t];
                                let slot = SlotId(f.slots.start.0 + ((k as u32).wrapping_mul(7_919) % n_slots));
                                if let Ok(b) = f.engine.book(&Request::new(patient, slot, f.app)) {
                                    black_box(f.engine.cancel(b.id).expect("cancel"));
                                }
                            }
                        });
                    }
                });
                let wall = start.elapsed().as_nanos() as f64 / n as f64;
                let cpu = (process_cpu_ns() - cpu0) as f64 / n as f64;
                println!("spread, {threads} thread(s): wall {wall:.1} ns per pair, on-CPU {cpu:.1} ns per pair (all threads)");
            }
        }
        "query" => {
            let (engine, city) = city_engine(Policy::default(), booking_time());
            let day = visit_day(); // once: `Date::from_ymd` costs ~80 instructions
            engine.publish_slots(&city_day_specs(&city, day)).expect("publish");
            let (start, cpu0) = (Instant::now(), on_cpu_ns());
            for i in 0..n {
                let d = city.hospital_departments[i.wrapping_mul(7_919) % city.hospital_departments.len()];
                black_box(engine.find_free_slots(&AvailabilityQuery::department(d, day, day)).expect("query"));
            }
            println!("department-day query: wall {:.1} ns, on-CPU {:.1} ns", start.elapsed().as_nanos() as f64 / n as f64, (on_cpu_ns() - cpu0) as f64 / n as f64);
        }
        "publish" => {
            let (engine, city) = city_engine(Policy::default(), booking_time());
            drop(engine);
            let specs = city_day_specs(&city, visit_day());
            let (mut wall, mut cpu) = (Vec::new(), Vec::new());
            for _ in 0..n {
                let (engine, _) = city_engine(Policy::default(), booking_time());
                let (start, cpu0) = (Instant::now(), on_cpu_ns());
                black_box(engine.publish_slots(&specs).expect("publish"));
                wall.push(start.elapsed().as_secs_f64() * 1e3);
                cpu.push((on_cpu_ns() - cpu0) as f64 / 1e6);
            }
            println!("publish a city-day: median wall {:.2} ms, on-CPU (all threads) {:.2} ms", median(&mut wall), median(&mut cpu));
        }
        "flash" | "flash_setup" => {
            // `flash 2 [threads] [check|events]` runs the lottery (submissions from `threads`
            // threads, default 1, interleaved shares as in the criterion bench, then the draw),
            // `flash 1 [threads]` first-come-first-served. `check` prints a digest of the
            // winners and the last event's seq, to compare outcomes across builds; `events` also
            // subscribes, so that every event is built, and prints a digest of them all.
            // `flash_setup 2` builds the same crowd and stops: the callgrind total of `flash 2`
            // minus it is the crowd's own cost.
            let lottery = n > 1;
            let threads: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(1).clamp(1, 64);
            let f = flash_crowd(FLASH_REQUESTS, FLASH_SLOTS, if lottery { 60 } else { 0 }, 1);
            let events = (args.get(4).map(String::as_str) == Some("events")).then(|| {
                let options = SubscribeOptions { capacity: 1 << 20, overflow: Overflow::Disconnect, ..SubscribeOptions::default() };
                f.engine.subscribe_with(options).expect("subscribe")
            });
            if what == "flash_setup" {
                assert_eq!(assert_not_oversold(&f.engine, f.slots), 0);
                return;
            }
            let (start, cpu0) = (Instant::now(), process_cpu_exact_ns());
            if threads == 1 {
                for r in &f.requests {
                    let _ = black_box(f.engine.submit(r));
                }
            } else {
                std::thread::scope(|s| {
                    for t in 0..threads {
                        let f = &f;
                        s.spawn(move || {
                            for r in f.requests.iter().skip(t).step_by(threads) {
                                let _ = black_box(f.engine.submit(r));
                            }
                        });
                    }
                });
            }
            let (entered, cpu1) = (start.elapsed(), process_cpu_exact_ns());
            if lottery {
                f.engine.advance_clock(60).expect("manual clock");
            }
            println!(
                "flash crowd ({}, {threads} thread(s)): wall {:.2} ms, on-CPU {:.2} ms (process); the draw: wall {:.2} ms, on-CPU {:.2} ms",
                if lottery { "lottery" } else { "fcfs" },
                start.elapsed().as_secs_f64() * 1e3,
                (process_cpu_exact_ns() - cpu0) as f64 / 1e6,
                (start.elapsed() - entered).as_secs_f64() * 1e3,
                (process_cpu_exact_ns() - cpu1) as f64 / 1e6,
            );
            assert_eq!(assert_not_oversold(&f.engine, f.slots) as usize, FLASH_SLOTS);
            if args.get(4).is_none() {
                return;
            }
            let mut patients: Vec<PatientId> = f.requests.iter().map(|r| r.patient).collect();
            patients.sort_unstable();
            patients.dedup();
            let won = patients.iter().flat_map(|&p| {
                let bookings = f.engine.patient_record(p).expect("patient").active_bookings;
                bookings.into_iter().map(move |b| format!("{p} {}", b.slot))
            });
            println!("winners digest {:016x}, last event seq {}", fnv(won), f.engine.last_event_seq());
            if let Some(events) = events {
                let mut all: Vec<Event> = events.try_iter().collect();
                all.sort_by_key(|e| e.seq);
                let n = all.len();
                println!("{n} events received, digest {:016x}", fnv(all.iter().map(|e| format!("{e:?}"))));
            }
        }
        "busy_query" | "busy_by_day" | "busy_alternatives" => {
            // On a city 70% booked, asking from full departments (see `busy_city`).
            let b = busy_city();
            let first = visit_day(); // once: `Date::from_ymd` costs ~80 instructions
            let (start, cpu0) = (Instant::now(), on_cpu_ns());
            for i in 0..n {
                let k = i.wrapping_mul(7_919);
                let day = first.plus_days((i % BUSY_OPEN_DAYS as usize) as i32);
                match what {
                    "busy_query" => {
                        let d = b.full_hospital[k % b.full_hospital.len()];
                        black_box(b.engine.find_free_slots(&AvailabilityQuery::department(d, day, day)).expect("query"));
                    }
                    "busy_by_day" => {
                        let d = b.full_hospital[k % b.full_hospital.len()];
                        black_box(b.engine.free_places_by_day(d, first, first.plus_days(HORIZON_DAYS - 1)).expect("query"));
                    }
                    _ => {
                        let d = b.full_clinic[k % b.full_clinic.len()];
                        black_box(b.engine.alternatives(d, first, first.plus_days(6), 5).expect("query"));
                    }
                }
            }
            println!("{what}: wall {:.1} ns, on-CPU {:.1} ns per call", start.elapsed().as_nanos() as f64 / n as f64, (on_cpu_ns() - cpu0) as f64 / n as f64);
        }
        other => eprintln!("unknown hot path {other:?}: book_cancel | hold_confirm_cancel | spread2 | query | publish | flash | flash_setup | busy_query | busy_by_day | busy_alternatives"),
    }
}
