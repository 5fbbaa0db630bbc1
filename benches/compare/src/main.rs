//! Side by side: the same booking workload against what a city would otherwise build on.
//!
//! Workloads (both from `haoyuan-benches`' fixtures, so every system sees the same requests):
//! - `stream`: a Dongguan city-day (52,000 slots, 1–4 places each); N distinct patients each book
//!   one place in a different slot. Uncontended: nothing is ever full.
//! - `crowd`: the release-time flash crowd, first come first served: 100,000 distinct patients
//!   ask for 2,000 one-place slots (seeded, uniform).
//!
//! Systems:
//! - `postgres`: a real server; per request the usual transaction `BEGIN; SELECT free … FOR
//!   UPDATE; (if free > 0) INSERT booking; UPDATE slot SET free = free - 1; COMMIT`, with the
//!   default durable commit, and again with `synchronous_commit = off`.
//! - `redis`: a real server; per request one Lua script (check and decrement atomically, then
//!   record the booking), in memory, and again with AOF `appendfsync always`.
//! - `naive`: one `Mutex` around the whole state, in process.
//! - `haoyuan`: the engine in memory (`Engine::book`), and with `Durability::Sync` when built
//!   with `--features durable`.
//!
//! Each system runs the workload from the same number of client threads, one request at a time
//! per thread (a closed loop), and every request is timed. After each run the system's own state
//! is checked: the number of bookings and no slot below zero (invariant 1).
//!
//! Run through `benches/compare/run.sh` (`make bench-compare`), which starts and stops the
//! servers; by hand: `haoyuan-compare --pg 'host=127.0.0.1 port=5432 user=bench' --redis
//! redis://127.0.0.1:6379/ [--threads 2] [--stream 20000] [--crowd 100000] [--out BENCHMARKS.md]`.

use haoyuan::*;
use haoyuan_benches::*;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

type Res<T> = std::result::Result<T, String>;

/// One workload: places per slot, and (patient, slot) per request, by index.
struct Workload {
    name: &'static str,
    what: String,
    capacities: Vec<u16>,
    requests: Vec<(u32, u32)>,
    /// Places that must be given when the run ends.
    expect_booked: usize,
}

fn stream_workload(n: usize) -> Workload {
    let (engine, city) = city_engine(Policy::default(), booking_time());
    drop(engine);
    let capacities: Vec<u16> =
        city_day_specs(&city, visit_day()).iter().map(|s| s.capacity).collect();
    let slots = capacities.len() as u64;
    // A stride co-prime with 52,000: the first 52,000 requests all go to different slots.
    let requests = (0..n as u64).map(|i| (i as u32, ((i * 7_919) % slots) as u32)).collect();
    Workload {
        name: "stream",
        what: format!("{n} bookings spread over a 52,000-slot city-day"),
        capacities,
        requests,
        expect_booked: n,
    }
}

const CROWD_SEED: u64 = 20_261_124;

fn crowd_workload(n: usize, slots: usize) -> Workload {
    // The same generator and seed as `add_flash_crowd`, so the engine sees these requests too.
    let mut rng = SplitMix(CROWD_SEED);
    let requests = (0..n as u32).map(|p| (p, rng.below(slots) as u32)).collect();
    Workload {
        name: "crowd",
        what: format!(
            "flash crowd: {n} requests for {slots} one-place slots, first come first served"
        ),
        capacities: vec![1; slots],
        requests,
        expect_booked: slots.min(n),
    }
}

/// What one system did on one workload.
struct Outcome {
    system: String,
    workload: &'static str,
    threads: usize,
    requests: usize,
    booked: usize,
    wall: Duration,
    p50_us: f64,
    p99_us: f64,
    durable: bool,
}

impl Outcome {
    fn throughput(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64()
    }
}

/// A client: books request `i` of the workload; `Ok(true)` booked, `Ok(false)` full.
type Client<'a> = Box<dyn FnMut(usize) -> Res<bool> + Send + 'a>;

/// Run every request of `w` from `threads` threads (request i on thread i % threads), timing
/// each; `connect` makes one client per thread before the clock starts.
fn drive<'a>(
    system: &str,
    w: &Workload,
    threads: usize,
    durable: bool,
    connect: &(dyn Fn() -> Res<Client<'a>> + Sync),
) -> Res<Outcome> {
    let n = w.requests.len();
    let barrier = Barrier::new(threads + 1);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<(usize, Vec<u32>)>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let wall = std::thread::scope(|s| {
        for t in 0..threads {
            let (barrier, failed, results, errors) = (&barrier, &failed, &results, &errors);
            s.spawn(move || {
                let client = connect();
                barrier.wait(); // everyone connected
                barrier.wait(); // the clock started
                let mut client = match client {
                    Ok(c) => c,
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        errors.lock().unwrap().push(e);
                        return;
                    }
                };
                let mut lat_ns = Vec::with_capacity(n / threads + 1);
                let mut booked = 0;
                for i in (t..n).step_by(threads) {
                    if failed.load(Ordering::Relaxed) {
                        return;
                    }
                    let t0 = Instant::now();
                    match client(i) {
                        Ok(ok) => booked += ok as usize,
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            errors.lock().unwrap().push(format!("request {i}: {e}"));
                            return;
                        }
                    }
                    lat_ns.push(t0.elapsed().as_nanos().min(u32::MAX as u128) as u32);
                }
                results.lock().unwrap().push((booked, lat_ns));
            });
        }
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        // The scope joins every thread before returning; the elapsed time is read after it.
        start
    });
    let wall = wall.elapsed();
    if let Some(e) = errors.into_inner().unwrap().into_iter().next() {
        return Err(format!("{system} on {}: {e}", w.name));
    }
    let results = results.into_inner().unwrap();
    let booked = results.iter().map(|r| r.0).sum();
    let mut lat: Vec<u32> = results.into_iter().flat_map(|r| r.1).collect();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1e3
    };
    Ok(Outcome {
        system: system.into(),
        workload: w.name,
        threads,
        requests: n,
        booked,
        wall,
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        durable,
    })
}

fn check_booked(o: &Outcome, w: &Workload) -> Res<()> {
    if o.booked != w.expect_booked {
        return Err(format!(
            "{} on {}: {} booked, expected {}",
            o.system, w.name, o.booked, w.expect_booked
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------------------- haoyuan

/// Build the workload's state in `engine` (whose clock is at the workload's instant) and
/// return the requests as the engine knows them.
fn haoyuan_setup(engine: &Engine, w: &Workload) -> Res<(Vec<Request>, haoyuan::SlotRange)> {
    let e = |e: Error| e.to_string();
    match w.name {
        "stream" => {
            let city = add_city(engine, 0).map_err(e)?;
            let slots = engine.publish_slots(&city_day_specs(&city, visit_day())).map_err(e)?;
            let patients = (0..w.requests.len())
                .map(|_| engine.register_patient())
                .collect::<Result<Vec<_>>>()
                .map_err(e)?;
            let app = engine.channel_id("app").map_err(e)?;
            let reqs = w
                .requests
                .iter()
                .map(|&(p, s)| Request::new(patients[p as usize], SlotId(slots.start.0 + s), app))
                .collect();
            Ok((reqs, slots))
        }
        _ => {
            let (slots, reqs) =
                add_flash_crowd(engine, w.requests.len(), w.capacities.len(), CROWD_SEED)
                    .map_err(e)?;
            for (r, &(_, s)) in reqs.iter().zip(&w.requests) {
                if r.slot.0 - slots.start.0 != s {
                    return Err("the flash crowd fixture and the workload disagree".into());
                }
            }
            Ok((reqs, slots))
        }
    }
}

fn workload_clock(w: &Workload) -> Timestamp {
    if w.name == "stream" {
        booking_time()
    } else {
        release_of(visit_day())
    }
}

fn haoyuan_book(engine: &Engine, r: &Request) -> Res<bool> {
    match engine.book(r) {
        Ok(_) => Ok(true),
        Err(Error::SlotFull { .. }) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// In-process runs take milliseconds, so one descheduling of a thread on a shared machine
/// would decide the figure: run them `IN_PROCESS_ROUNDS` times on fresh state and keep the
/// round with the median throughput.
const IN_PROCESS_ROUNDS: usize = 5;

fn median_round(mut run: impl FnMut() -> Res<Outcome>) -> Res<Outcome> {
    let mut rounds = (0..IN_PROCESS_ROUNDS).map(|_| run()).collect::<Res<Vec<_>>>()?;
    rounds.sort_by(|a, b| a.wall.cmp(&b.wall));
    Ok(rounds.swap_remove(IN_PROCESS_ROUNDS / 2))
}

fn run_haoyuan(w: &Workload, threads: usize) -> Res<Outcome> {
    let engine = Engine::with_manual_clock(EngineConfig::default(), workload_clock(w))
        .map_err(|e| e.to_string())?;
    let (reqs, slots) = haoyuan_setup(&engine, w)?;
    let (engine_ref, reqs_ref) = (&engine, &reqs);
    let o = drive("haoyuan (in memory)", w, threads, false, &|| {
        Ok(Box::new(move |i: usize| haoyuan_book(engine_ref, &reqs_ref[i])) as Client)
    })?;
    check_booked(&o, w)?;
    if assert_not_oversold(&engine, slots) as usize != w.expect_booked {
        return Err("haoyuan: places taken differ from bookings".into());
    }
    Ok(o)
}

#[cfg(feature = "durable")]
fn run_haoyuan_sync(w: &Workload, threads: usize, dir: &std::path::Path) -> Res<Outcome> {
    let dir = dir.join(format!("haoyuan-{}", w.name));
    let _ = std::fs::remove_dir_all(&dir);
    let e = |e: Error| e.to_string();
    let clock = ClockKind::Manual(workload_clock(w));
    // Build the registry, slots and patients with a buffered journal (setup is not measured),
    // then reopen the directory in `Sync` mode: recovery replays it, and from then on every
    // acknowledged booking is fsynced (concurrent ones share an fsync).
    // A throwaway directory: a throwaway card key (the same for both opens).
    let key = CardKey::generate().map_err(e)?;
    let reqs = {
        let setup = DurableEngine::open(
            &dir,
            OpenOptions::new(Durability::Buffered { interval: Duration::from_millis(5) })
                .config(EngineConfig::default())
                .clock(clock)
                .card_key(key.clone()),
        )
        .map_err(e)?;
        let (reqs, _) = haoyuan_setup(&setup, w)?;
        setup.close().map_err(e)?;
        reqs
    };
    let engine =
        DurableEngine::open(&dir, OpenOptions::new(Durability::Sync).clock(clock).card_key(key))
            .map_err(e)?;
    let (engine_ref, reqs_ref) = (&*engine, &reqs);
    let o = drive("haoyuan (sync journal)", w, threads, true, &|| {
        Ok(Box::new(move |i: usize| haoyuan_book(engine_ref, &reqs_ref[i])) as Client)
    })?;
    check_booked(&o, w)?;
    engine.close().map_err(e)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(o)
}

// ------------------------------------------------------------------------------- naive

/// The baseline everyone writes first: one lock around everything.
struct Naive {
    free: Vec<u16>,
    bookings: Vec<(u32, u32)>,
    per_patient: std::collections::HashMap<u32, u8>,
}

fn run_naive(w: &Workload, threads: usize) -> Res<Outcome> {
    let state = Mutex::new(Naive {
        free: w.capacities.clone(),
        bookings: Vec::new(),
        per_patient: Default::default(),
    });
    let (state_ref, reqs) = (&state, &w.requests);
    let o = drive("one Mutex (in process)", w, threads, false, &|| {
        Ok(Box::new(move |i: usize| {
            let (patient, slot) = reqs[i];
            let mut s = state_ref.lock().map_err(|_| "poisoned".to_string())?;
            if s.free[slot as usize] == 0 {
                return Ok(false);
            }
            s.free[slot as usize] -= 1;
            *s.per_patient.entry(patient).or_default() += 1;
            s.bookings.push((patient, slot));
            Ok(true)
        }) as Client)
    })?;
    check_booked(&o, w)?;
    let s = state.into_inner().unwrap();
    let given: usize = w.capacities.iter().zip(&s.free).map(|(c, f)| (c - f) as usize).sum();
    if given != s.bookings.len() {
        return Err("naive: places taken differ from bookings".into());
    }
    Ok(o)
}

// ------------------------------------------------------------------------------- postgres

fn pg_err(e: postgres::Error) -> String {
    // `Display` says only "db error"; the server's message is in the source.
    match e.as_db_error() {
        Some(db) => format!("postgres: {}: {}", db.code().code(), db.message()),
        None => format!("postgres: {e:?}"),
    }
}

fn pg_load(url: &str, w: &Workload) -> Res<()> {
    let mut c = postgres::Client::connect(url, postgres::NoTls).map_err(pg_err)?;
    c.batch_execute(
        "DROP TABLE IF EXISTS booking; DROP TABLE IF EXISTS slot;
         CREATE TABLE slot (id integer PRIMARY KEY, capacity integer NOT NULL, free integer NOT NULL CHECK (free >= 0));
         CREATE TABLE booking (id bigserial PRIMARY KEY, slot integer NOT NULL REFERENCES slot (id),
                               patient integer NOT NULL, booked_at timestamptz NOT NULL DEFAULT now());
         CREATE INDEX booking_patient ON booking (patient);",
    )
    .map_err(pg_err)?;
    let mut rows = String::with_capacity(w.capacities.len() * 16);
    for (id, cap) in w.capacities.iter().enumerate() {
        let _ = writeln!(rows, "{id}\t{cap}\t{cap}");
    }
    let mut writer = c.copy_in("COPY slot (id, capacity, free) FROM STDIN").map_err(pg_err)?;
    std::io::Write::write_all(&mut writer, rows.as_bytes()).map_err(|e| e.to_string())?;
    writer.finish().map_err(pg_err)?;
    // One statement per call: a multi-statement string runs as one transaction block.
    c.batch_execute("VACUUM ANALYZE slot").map_err(pg_err)?;
    c.batch_execute("CHECKPOINT").map_err(pg_err)?;
    Ok(())
}

fn run_postgres(url: &str, w: &Workload, threads: usize, synchronous_commit: bool) -> Res<Outcome> {
    pg_load(url, w)?;
    let reqs = &w.requests;
    let name = if synchronous_commit {
        "PostgreSQL (durable commit)"
    } else {
        "PostgreSQL (synchronous_commit=off)"
    };
    let o = drive(name, w, threads, synchronous_commit, &|| {
        let mut c = postgres::Client::connect(url, postgres::NoTls).map_err(pg_err)?;
        if !synchronous_commit {
            c.batch_execute("SET synchronous_commit = off").map_err(pg_err)?;
        }
        let select = c.prepare("SELECT free FROM slot WHERE id = $1 FOR UPDATE").map_err(pg_err)?;
        let insert =
            c.prepare("INSERT INTO booking (slot, patient) VALUES ($1, $2)").map_err(pg_err)?;
        let update = c.prepare("UPDATE slot SET free = free - 1 WHERE id = $1").map_err(pg_err)?;
        Ok(Box::new(move |i: usize| {
            let (patient, slot) = (reqs[i].0 as i32, reqs[i].1 as i32);
            let mut tx = c.transaction().map_err(pg_err)?;
            let free: i32 = tx.query_one(&select, &[&slot]).map_err(pg_err)?.get(0);
            if free <= 0 {
                tx.rollback().map_err(pg_err)?;
                return Ok(false);
            }
            tx.execute(&insert, &[&slot, &patient]).map_err(pg_err)?;
            tx.execute(&update, &[&slot]).map_err(pg_err)?;
            tx.commit().map_err(pg_err)?;
            Ok(true)
        }) as Client)
    })?;
    check_booked(&o, w)?;
    let mut c = postgres::Client::connect(url, postgres::NoTls).map_err(pg_err)?;
    let bookings: i64 = c.query_one("SELECT count(*) FROM booking", &[]).map_err(pg_err)?.get(0);
    let given: i64 =
        c.query_one("SELECT sum(capacity - free)::bigint FROM slot", &[]).map_err(pg_err)?.get(0);
    if bookings != given || bookings as usize != w.expect_booked {
        return Err(format!("postgres: {bookings} bookings, {given} places taken"));
    }
    Ok(o)
}

// ------------------------------------------------------------------------------- redis

/// The usual booking script: check and decrement atomically, then record the booking.
const REDIS_BOOK: &str = r"
local free = tonumber(redis.call('GET', KEYS[1]))
if free == nil or free <= 0 then return 0 end
redis.call('DECR', KEYS[1])
local id = redis.call('INCR', KEYS[2])
redis.call('HSET', 'booking:' .. id, 'slot', ARGV[1], 'patient', ARGV[2])
return 1
";

fn redis_err(e: redis::RedisError) -> String {
    e.to_string()
}

fn redis_load(url: &str, w: &Workload, aof_always: bool) -> Res<()> {
    let client = redis::Client::open(url).map_err(redis_err)?;
    let mut c = client.get_connection().map_err(redis_err)?;
    redis::cmd("FLUSHALL").query::<()>(&mut c).map_err(redis_err)?;
    let (appendonly, fsync) = if aof_always { ("yes", "always") } else { ("no", "everysec") };
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendonly")
        .arg(appendonly)
        .query::<()>(&mut c)
        .map_err(redis_err)?;
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendfsync")
        .arg(fsync)
        .query::<()>(&mut c)
        .map_err(redis_err)?;
    for chunk in w.capacities.chunks(5_000).enumerate() {
        let mut pipe = redis::pipe();
        for (k, cap) in chunk.1.iter().enumerate() {
            pipe.cmd("SET").arg(format!("slot:{}", chunk.0 * 5_000 + k)).arg(*cap).ignore();
        }
        pipe.query::<()>(&mut c).map_err(redis_err)?;
    }
    // Turning AOF on starts a rewrite in the background: wait for it, bounded.
    for _ in 0..600 {
        let info: String =
            redis::cmd("INFO").arg("persistence").query(&mut c).map_err(redis_err)?;
        if !info.contains("aof_rewrite_in_progress:1") && !info.contains("aof_rewrite_scheduled:1")
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("redis: AOF rewrite did not finish in 30 s".into())
}

fn run_redis(url: &str, w: &Workload, threads: usize, aof_always: bool) -> Res<Outcome> {
    redis_load(url, w, aof_always)?;
    let reqs = &w.requests;
    let name = if aof_always { "Redis (AOF appendfsync always)" } else { "Redis (in memory)" };
    let script = redis::Script::new(REDIS_BOOK);
    let script = &script;
    let o = drive(name, w, threads, aof_always, &|| {
        let mut c =
            redis::Client::open(url).map_err(redis_err)?.get_connection().map_err(redis_err)?;
        Ok(Box::new(move |i: usize| {
            let (patient, slot) = reqs[i];
            let won: i64 = script
                .key(format!("slot:{slot}"))
                .key("booking:seq")
                .arg(slot)
                .arg(patient)
                .invoke(&mut c)
                .map_err(redis_err)?;
            Ok(won == 1)
        }) as Client)
    })?;
    check_booked(&o, w)?;
    let mut c = redis::Client::open(url).map_err(redis_err)?.get_connection().map_err(redis_err)?;
    let seq: Option<i64> = redis::cmd("GET").arg("booking:seq").query(&mut c).map_err(redis_err)?;
    let mut given = 0i64;
    for chunk in (0..w.capacities.len()).collect::<Vec<_>>().chunks(5_000) {
        let keys: Vec<String> = chunk.iter().map(|k| format!("slot:{k}")).collect();
        let free: Vec<i64> = redis::cmd("MGET").arg(&keys).query(&mut c).map_err(redis_err)?;
        for (k, f) in chunk.iter().zip(free) {
            if f < 0 {
                return Err(format!("redis: slot {k} oversold"));
            }
            given += w.capacities[*k] as i64 - f;
        }
    }
    if seq.unwrap_or(0) != given || given as usize != w.expect_booked {
        return Err(format!("redis: {:?} bookings, {given} places taken", seq));
    }
    Ok(o)
}

// ------------------------------------------------------------------------------- report

fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M/s", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k/s", x / 1e3)
    } else {
        format!("{x:.0} /s")
    }
}

fn fmt_us(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.2} µs")
    }
}

fn table(outcomes: &[Outcome], workloads: &[Workload]) -> String {
    let mut s = String::new();
    for w in workloads {
        let base =
            outcomes.iter().find(|o| o.workload == w.name && o.system.starts_with("haoyuan (in"));
        let base_sync =
            outcomes.iter().find(|o| o.workload == w.name && o.system.starts_with("haoyuan (sync"));
        let _ = writeln!(s, "\n**{}** — {}\n", w.name, w.what);
        let _ = writeln!(s, "| system | threads | booked | wall | throughput | p50 | p99 | haoyuan (memory) is … × faster | haoyuan (sync) is … × faster |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for o in outcomes.iter().filter(|o| o.workload == w.name) {
            let ratio = |b: Option<&Outcome>| {
                b.map_or("–".to_string(), |b| match b.throughput() / o.throughput() {
                    r if r >= 1.0 => format!("{r:.1}×"),
                    r => format!("{r:.2}×"),
                })
            };
            let _ = writeln!(
                s,
                "| {}{} | {} | {} | {:.3} s | {} | {} | {} | {} | {} |",
                o.system,
                if o.durable { " ⛁" } else { "" },
                o.threads,
                o.booked,
                o.wall.as_secs_f64(),
                fmt_rate(o.throughput()),
                fmt_us(o.p50_us),
                fmt_us(o.p99_us),
                ratio(base),
                ratio(base_sync)
            );
        }
    }
    s
}

const BEGIN: &str =
    "<!-- bench-compare:begin (written by benches/compare; do not edit by hand) -->";
const END: &str = "<!-- bench-compare:end -->";

/// Replace the comparison section of `path` (or append one).
fn write_section(path: &str, section: &str) -> Res<()> {
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# haoyuan benchmarks\n".into());
    let block = format!("{BEGIN}\n{section}\n{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(a), Some(b)) if a < b => format!("{}{}{}", &old[..a], block, &old[b + END.len()..]),
        _ => format!("{}\n{}\n", old.trim_end(), block),
    };
    std::fs::write(path, new).map_err(|e| format!("{path}: {e}"))
}

struct Args {
    threads: usize,
    stream: usize,
    crowd: usize,
    crowd_slots: usize,
    pg: Option<String>,
    redis: Option<String>,
    out: Option<String>,
    machine: String,
    date: String,
    durable_dir: String,
    only: Option<String>,
}

fn parse_args() -> Res<Args> {
    let mut a = Args {
        threads: 2,
        stream: 20_000,
        crowd: FLASH_REQUESTS,
        crowd_slots: FLASH_SLOTS,
        pg: None,
        redis: None,
        out: None,
        machine: "unknown machine".into(),
        date: "unknown date".into(),
        durable_dir: std::env::temp_dir().join("haoyuan-compare").display().to_string(),
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String, max: usize| {
            v.parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| format!("bad number {v:?} (1 ..= {max})"))
        };
        match flag.as_str() {
            "--threads" => a.threads = num(val()?, 64)?,
            "--stream" => a.stream = num(val()?, 1_000_000)?,
            "--crowd" => a.crowd = num(val()?, 1_000_000)?,
            "--crowd-slots" => a.crowd_slots = num(val()?, 100_000)?,
            "--pg" => a.pg = Some(val()?),
            "--redis" => a.redis = Some(val()?),
            "--out" => a.out = Some(val()?),
            "--machine" => a.machine = val()?,
            "--date" => a.date = val()?,
            "--durable-dir" => a.durable_dir = val()?,
            "--only" => a.only = Some(val()?),
            "-h" | "--help" => {
                println!("haoyuan-compare [--threads N] [--stream N] [--crowd N] [--crowd-slots N] [--pg CONNSTR] [--redis URL] [--out FILE] [--machine TEXT] [--date TEXT] [--durable-dir DIR] [--only SYSTEM]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("haoyuan-compare: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Res<()> {
    let args = parse_args()?;
    let workloads = [stream_workload(args.stream), crowd_workload(args.crowd, args.crowd_slots)];
    let wants = |s: &str| args.only.as_deref().is_none_or(|o| o == s);
    let mut outcomes = Vec::new();
    for w in &workloads {
        let mut push = |r: Res<Outcome>| -> Res<()> {
            let o = r?;
            eprintln!(
                "  {:<40} {:<7} {:>10}  p50 {:>10}  p99 {:>10}",
                o.system,
                o.workload,
                fmt_rate(o.throughput()),
                fmt_us(o.p50_us),
                fmt_us(o.p99_us)
            );
            outcomes.push(o);
            Ok(())
        };
        eprintln!("{}: {}", w.name, w.what);
        if wants("haoyuan") {
            push(median_round(|| run_haoyuan(w, args.threads)))?;
        }
        #[cfg(feature = "durable")]
        if wants("haoyuan-sync") {
            push(run_haoyuan_sync(w, args.threads, std::path::Path::new(&args.durable_dir)))?;
        }
        if wants("naive") {
            push(median_round(|| run_naive(w, args.threads)))?;
        }
        if let Some(url) = args.redis.as_deref().filter(|_| wants("redis")) {
            push(run_redis(url, w, args.threads, false))?;
            push(run_redis(url, w, args.threads, true))?;
        }
        if let Some(url) = args.pg.as_deref().filter(|_| wants("postgres")) {
            push(run_postgres(url, w, args.threads, true))?;
            push(run_postgres(url, w, args.threads, false))?;
        }
    }
    let durable_note = if cfg!(feature = "durable") {
        ""
    } else {
        " (haoyuan's sync journal was not in this build)"
    };
    let section = format!(
        "## Side by side (`make bench-compare`)\n\nMachine: {}. Date: {}. Client threads: {} per system, one request at a time each \
         (closed loop); every request timed. In-process systems: the median of {IN_PROCESS_ROUNDS} runs on fresh state \
         (servers: one run). ⛁ marks durable commits (fsync before the answer){durable_note}. Each run checks \
         the system's own state afterwards: bookings = places taken, no slot below zero.\n{}",
        args.machine,
        args.date,
        args.threads,
        table(&outcomes, &workloads)
    );
    println!("{section}");
    if let Some(out) = &args.out {
        write_section(out, &section)?;
        eprintln!("written to {out}");
    }
    Ok(())
}
