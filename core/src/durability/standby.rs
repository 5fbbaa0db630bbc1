//! A hot standby: a read-only copy of a durable engine that follows its directory.
//!
//! # Why directory following
//! The leader's journal is already a gap-free, checksummed, append-only log of every event
//! (`journal.rs`), and replay already rebuilds an engine from it (`replay.rs`). A follower that
//! reads the same files needs no new protocol and no change to the leader: [`Standby::open`]
//! recovers exactly as [`DurableEngine::open`] does (newest snapshot, then the journal), but
//! without the `LOCK` and without writing anything, and [`Standby::catch_up`] then reads only
//! what was appended since, into newly created segments too. A record the leader is still
//! writing (a half-written frame at the end of the live segment) is not damage for a follower:
//! it stops before it and reads it whole next time. When the leader's compaction removed the
//! segment the follower was reading, it reloads from the newest snapshot (counted in
//! [`StandbyLag::resyncs`]).
//!
//! The follower reads through the page cache, so it sees records as soon as the leader has
//! written them, before their fsync: on the same machine that is no risk (a process crash
//! keeps them in the cache, so a promotion reads them too; a machine crash takes the follower
//! with it).
//!
//! # Read-only by construction
//! A standby never hands out its [`Engine`]: every `Engine` method that changes state would make
//! it diverge from the leader, and checking a flag at the start of every one of them would be a
//! promise each new mutating method must remember to keep. The standby exposes a fixed set of
//! queries instead (availability, records, registry, statistics, the state digest), each
//! delegating to the engine under a read lock; a mutating call does not compile:
//!
//! ```compile_fail
//! # use haoyuan::*;
//! # fn f(standby: &Standby, req: &Request) {
//! standby.book(req); // no such method: a standby cannot book
//! # }
//! ```
//!
//! # Promotion
//! [`Standby::promote`] refuses while the leader's `LOCK` is held (the leader lives, in this
//! process or another); once it is free, it opens the directory as [`DurableEngine::open`]
//! does — the same function, so a torn tail the dead leader left is cut exactly as a restart
//! cuts it — but starting from the state the standby already holds instead of the newest
//! snapshot: a promotion reads only the end of the journal, not everything since the snapshot
//! a second time. (When the standby cannot vouch for its state — a failed catch-up, another
//! clock asked for — it opens the directory from scratch.)
//!
//! # A standby on another machine
//! [`Standby::connect`] receives the leader's records over TCP (`ship.rs`: the leader runs
//! with [`OpenOptions::replicate`]) and writes them into segments of *its own* directory, which
//! it then follows exactly as [`Standby::open`] follows a leader's: one apply path, and the
//! directory survives the standby's restart (it reconnects asking for what follows its last
//! complete record) and is promoted by opening it as a leader. The leader's
//! [`ReplicationMode::AckAfterFollower`](super::ReplicationMode) acknowledges only what such a
//! follower has fsynced. A stream standby has no leader `LOCK` to look at: promoting it while
//! the old leader still runs elsewhere is the operator's (or the fencing system's) decision.

use super::codec::{self, read_frame, Frame, HeaderProblem};
use super::journal::{io, list, SegmentScan};
use super::replay::Replayer;
use super::{
    apply_scanned, check_headers, recover, stored_config, ClockKind, DurableEngine, OpenOptions,
    LOCK_FILE,
};
use crate::cards::CardKey;
use crate::engine::{Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::events::{Event, RequestStamp};
use crate::ids::*;
use crate::model::{
    AvailabilityQuery, Booking, BookingGroup, Channel, DayAvailability, Department, EngineStats,
    FreeSlot, Institution, LoadBoard, PatientRecord, RecommendQuery, Recommendation, ResourceStats,
    SlotInfo, StayOffer, StayQuery, WaitlistEntry,
};
use crate::policy::Policy;
use crate::registry::Resource;
use crate::time::{Date, Timestamp};
use parking_lot::{Condvar, Mutex, RwLock};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// Shortest [`StandbyOptions::poll_interval`]: below it the poller would spin.
pub const STANDBY_POLL_MIN: Duration = Duration::from_millis(1);
/// Longest [`StandbyOptions::poll_interval`]: a standby further behind than this is not hot.
pub const STANDBY_POLL_MAX: Duration = Duration::from_secs(600);
/// Events applied under one hold of the write lock, so that queries are not kept waiting
/// behind a long catch-up.
const APPLY_CHUNK: usize = 4096;
/// Attempts at a recovery that races the leader's compaction (a snapshot or segment listed,
/// then removed before it was read).
const RECOVER_ATTEMPTS: u32 = 5;

/// How to open a [`Standby`].
#[derive(Clone, Debug)]
pub struct StandbyOptions {
    /// The deployment's card key; `None`: the environment's (`HAOYUAN_CARD_KEY`,
    /// `HAOYUAN_CARD_KEY_FILE`). It must be the one the directory was written with.
    pub card_key: Option<CardKey>,
    /// The clock of the standby's engine (what "now" is for availability queries). With a
    /// manual clock it follows the latest event time read.
    pub clock: ClockKind,
    /// `Some`: a background thread catches up at this interval until the standby is dropped or
    /// closed; [`STANDBY_POLL_MIN`] ..= [`STANDBY_POLL_MAX`]. `None`: only explicit
    /// [`Standby::catch_up`] calls read the journal.
    pub poll_interval: Option<Duration>,
}

impl StandbyOptions {
    /// The system clock, no background polling, the card key from the environment.
    pub fn new() -> StandbyOptions {
        StandbyOptions { card_key: None, clock: ClockKind::System, poll_interval: None }
    }

    /// Use this card key (see [`StandbyOptions::card_key`]).
    pub fn card_key(mut self, key: CardKey) -> StandbyOptions {
        self.card_key = Some(key);
        self
    }

    /// Run the standby's engine on this clock (see [`StandbyOptions::clock`]).
    pub fn clock(mut self, clock: ClockKind) -> StandbyOptions {
        self.clock = clock;
        self
    }

    /// Catch up in the background at this interval (see [`StandbyOptions::poll_interval`]).
    pub fn poll_interval(mut self, interval: Duration) -> StandbyOptions {
        self.poll_interval = Some(interval);
        self
    }
}

impl Default for StandbyOptions {
    fn default() -> StandbyOptions {
        StandbyOptions::new()
    }
}

/// How far a standby is behind its leader ([`Standby::lag`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StandbyLag {
    /// The last event the standby has applied.
    pub applied_seq: u64,
    /// The last complete record on the leader's disk when `lag` looked (at least
    /// `applied_seq`). Records the leader has not written yet (still in its queue) are not seen.
    pub leader_seq: u64,
    /// `leader_seq - applied_seq`.
    pub records_behind: u64,
    /// The latest event time applied (the leader's clock, UTC seconds; from the snapshot and
    /// journal read at open on); `None` while nothing dated was applied.
    pub last_applied_at: Option<Timestamp>,
    /// Wall clock (milliseconds since the Unix epoch) of the last catch-up that reached the end
    /// of what was on disk; `None` before the first.
    pub caught_up_at_unix_ms: Option<u64>,
    /// Reloads from a snapshot because the leader's compaction removed unread segments.
    pub resyncs: u64,
    /// The error of the last catch-up, if it failed (the background poller keeps trying).
    pub last_error: Option<String>,
}

/// Where the follower reads next: a byte offset in one segment and the event expected there.
#[derive(Clone, Debug)]
struct Cursor {
    first_seq: u64,
    path: PathBuf,
    /// 0 until the header has been read once.
    offset: u64,
    expected: u64,
}

impl Cursor {
    fn start(first_seq: u64, path: &Path) -> Cursor {
        Cursor { first_seq, path: path.to_path_buf(), offset: 0, expected: first_seq }
    }
}

/// What one read of a segment found at its end.
enum SegmentEnd {
    /// Every complete record read (up to a record still being written, if any); the file may
    /// still grow, or was sealed.
    Read,
    /// The header is not complete yet (the leader is creating the file) or the file is gone.
    NotReadable,
}

/// Progress of the follower, under one mutex: one catch-up at a time.
#[derive(Default)]
struct Follow {
    cursor: Option<Cursor>,
    caught_up_at: Option<SystemTime>,
    resyncs: u64,
    last_error: Option<String>,
    /// Replay failed half way: the state can no longer be trusted to equal the leader's.
    broken: Option<String>,
}

struct Inner {
    dir: PathBuf,
    config: EngineConfig,
    key: CardKey,
    clock: ClockKind,
    state: RwLock<Replayer>,
    follow: Mutex<Follow>,
    stop: Mutex<bool>,
    wake: Condvar,
    /// Stream followers: the leader's durable sequence number as last heard (0: not streamed).
    leader_heard: AtomicU64,
    /// Stream followers: why the stream stopped (reconnect with `Standby::connect`).
    stream_error: Mutex<Option<String>>,
}

/// A read-only engine following a leader's durable directory. See the module documentation.
///
/// It has queries only: the calls that change an engine do not exist on it, so a standby can
/// never diverge from its leader. None of these compiles:
///
/// ```compile_fail
/// # use haoyuan::*;
/// # fn f(standby: &Standby, req: &Request) { let _ =
/// standby.book(req);
/// # }
/// ```
/// ```compile_fail
/// # use haoyuan::*;
/// # fn f(standby: &Standby) { let _ =
/// standby.register_patient();
/// # }
/// ```
/// ```compile_fail
/// # use haoyuan::*;
/// # fn f(standby: &Standby, specs: &[SlotSpec]) { let _ =
/// standby.publish_slots(specs);
/// # }
/// ```
/// ```compile_fail
/// # use haoyuan::*;
/// # fn f(standby: &Standby) { let _ =
/// standby.cancel(BookingId(1));
/// # }
/// ```
/// Nor does reaching an [`Engine`] through it (it has no `Deref`):
/// ```compile_fail
/// # use haoyuan::*;
/// # fn f(standby: &Standby) {
/// let engine: &Engine = &standby;
/// # }
/// ```
///
/// ```
/// use haoyuan::*;
/// let dir = std::env::temp_dir().join(format!("haoyuan-doc-standby-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let key = CardKey::from_bytes(&[7; 32])?;
/// let leader = DurableEngine::open(&dir, OpenOptions::new(Durability::Sync).card_key(key.clone()))?;
/// let standby = Standby::open(&dir, StandbyOptions::new().card_key(key))?;
/// let patient = leader.register_patient()?;
/// standby.catch_up()?;
/// assert!(standby.patient_record(patient).is_ok());
/// assert!(standby.promote(OpenOptions::new(Durability::Sync)).is_err()); // the leader lives
/// # drop(leader);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), haoyuan::Error>(())
/// ```
pub struct Standby {
    inner: Arc<Inner>,
    poller: Poller,
}

/// The background thread of [`StandbyOptions::poll_interval`]; dropping it stops and joins the
/// thread (so that `promote` can take the state out of the last reference to `Inner`).
struct Poller {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
    /// A stream standby's receiver thread and its socket (shut down to stop it).
    receiver: Option<(JoinHandle<()>, TcpStream)>,
}

impl Drop for Poller {
    fn drop(&mut self) {
        *self.inner.stop.lock() = true;
        self.inner.wake.notify_all();
        if let Some((t, socket)) = self.receiver.take() {
            let _ = socket.shutdown(Shutdown::Both);
            let _ = t.join();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Standby {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Standby").field("dir", &self.inner.dir).finish()
    }
}

impl Standby {
    /// Open a leader's durable directory read-only (no `LOCK`, no file written) and recover its
    /// state as [`DurableEngine::open`] would, leaving a torn tail in place; with
    /// [`StandbyOptions::poll_interval`], start following in the background.
    ///
    /// Errors: [`Error::InvalidArgument`] for a bad interval, a missing directory or one that is
    /// not a durable directory (no `config.json`), or a card key that is missing or not the
    /// directory's; [`Error::Durability`] for damage recovery would refuse too.
    pub fn open(dir: impl AsRef<Path>, options: StandbyOptions) -> Result<Standby> {
        let dir = dir.as_ref().to_path_buf();
        check_interval(options.poll_interval)?;
        if !dir.is_dir() {
            return Err(Error::invalid(format!("{} is not a directory", dir.display())));
        }
        let key = key_of(&options)?;
        let mut config = stored_config(&dir)?.ok_or_else(|| {
            Error::invalid(format!(
                "{} is not a durable directory (it has no config.json)",
                dir.display()
            ))
        })?;
        config.card_key = Some(key.clone());
        check_headers(&dir, &key)?;
        let replayer = recover_read_only(&dir, &config, &key, options.clock)?;
        let inner = Arc::new(Inner {
            dir,
            config,
            key,
            clock: options.clock,
            state: RwLock::new(replayer),
            follow: Mutex::new(Follow::default()),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            leader_heard: AtomicU64::new(0),
            stream_error: Mutex::new(None),
        });
        inner.publish_progress();
        let thread = match options.poll_interval {
            Some(interval) => Some(spawn_poller(inner.clone(), interval)?),
            None => None,
        };
        Ok(Standby { poller: Poller { inner: inner.clone(), thread, receiver: None }, inner })
    }

    /// Follow a leader on another machine: connect to its replication listener
    /// ([`OpenOptions::replicate`], [`DurableEngine::replication_addr`]), receive its records
    /// into `dir` — this standby's own durable directory, created if needed, resumed if it
    /// holds records already — and apply them as they come (no polling: `poll_interval` is not
    /// used). Every frame is checked as recovery checks it before it is written; the standby
    /// fsyncs each batch and then acknowledges it to the leader.
    ///
    /// When the stream stops (the leader gone or restarted, a follower cut off for falling
    /// behind, bad input) the standby keeps its state and says why in
    /// [`StandbyLag::last_error`]; connect again to resume. [`Standby::promote`] stops the
    /// stream and opens `dir` as a leader.
    ///
    /// Errors: [`Error::Durability`] when the leader cannot be reached, refuses (too many
    /// followers, records compacted away, another history) or sends something that is not its
    /// journal; [`Error::InvalidArgument`] for a missing card key.
    ///
    /// ```
    /// use haoyuan::*;
    /// use std::time::Duration;
    /// let base = std::env::temp_dir().join(format!("haoyuan-doc-ship-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&base);
    /// let key = CardKey::from_bytes(&[7; 32])?;
    /// // The leader acknowledges only what a follower has fsynced in its own directory.
    /// let replication = ReplicationOptions::new(
    ///     "127.0.0.1:0".parse().unwrap(), // a free loopback port; on a network, the host's
    ///     ReplicationMode::AckAfterFollower,
    /// )
    /// .ack_timeout(Duration::from_secs(10));
    /// let leader = DurableEngine::open(
    ///     base.join("leader"),
    ///     OpenOptions::new(Durability::Sync).card_key(key.clone()).replicate(replication),
    /// )?;
    /// let addr = leader.replication_addr().expect("replicating");
    /// // On the other machine: the standby's own directory, fed over TCP.
    /// let standby =
    ///     Standby::connect(addr, base.join("standby"), StandbyOptions::new().card_key(key))?;
    /// let patient = leader.register_patient()?; // returned: on both machines' disks
    /// while standby.last_event_seq() < leader.last_event_seq() {
    ///     std::thread::sleep(Duration::from_millis(1)); // applied just after its fsync
    /// }
    /// assert!(standby.patient_record(patient).is_ok());
    /// // The leader's machine is gone: the standby becomes the leader on its own directory.
    /// drop(leader);
    /// while standby.streaming() {
    ///     std::thread::sleep(Duration::from_millis(1));
    /// }
    /// let promoted = standby.promote(OpenOptions::new(Durability::Sync))?;
    /// assert!(promoted.patient_record(patient).is_ok());
    /// # drop(promoted);
    /// # std::fs::remove_dir_all(&base).unwrap();
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn connect(
        leader: impl ToSocketAddrs,
        dir: impl AsRef<Path>,
        options: StandbyOptions,
    ) -> Result<Standby> {
        let dir = dir.as_ref().to_path_buf();
        // A call that fails changes nothing: a directory this call created goes with it.
        let created = !dir.exists();
        let result = Standby::connect_into(leader, &dir, options);
        if result.is_err() && created {
            let _ = std::fs::remove_dir_all(&dir);
        }
        result
    }

    fn connect_into(
        leader: impl ToSocketAddrs,
        dir: &Path,
        mut options: StandbyOptions,
    ) -> Result<Standby> {
        use super::ship;
        let dir = dir.to_path_buf();
        let key = key_of(&options)?;
        let own = ship::OwnJournal::open(&dir, &key)?;
        let addr = leader
            .to_socket_addrs()
            .map_err(ship::net("resolve the leader"))?
            .next()
            .ok_or_else(|| Error::invalid("no leader address given"))?;
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(ship::net("connect to the leader"))?;
        let _ = stream.set_nodelay(true);
        stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(ship::net("configure"))?;
        std::io::Write::write_all(&mut stream, &ship::hello(own.next))
            .map_err(ship::net("write to the leader"))?;
        match ship::read_msg(&mut stream)? {
            (ship::MSG_CONFIG, body) => {
                let theirs: EngineConfig = serde_json::from_slice(&body).map_err(|e| {
                    codec::corrupt(format!("the leader's configuration is not valid: {e}"))
                })?;
                match stored_config(&dir)? {
                    Some(ours) if ours != theirs => {
                        return Err(Error::invalid(format!(
                            "{} holds another engine's journal (its configuration differs from the leader's)",
                            dir.display()
                        )))
                    }
                    Some(_) => {}
                    None => super::write_atomically(&dir, super::CONFIG_FILE, &body)?,
                }
            }
            (ship::MSG_REFUSED, why) => {
                return Err(Error::Durability(format!(
                    "the leader refused the follower: {}",
                    String::from_utf8_lossy(&why)
                )))
            }
            (tag, _) => {
                return Err(codec::corrupt(format!(
                    "the leader opened with message {tag}, not its configuration"
                )))
            }
        }
        stream.set_read_timeout(None).map_err(ship::net("configure"))?;
        options.card_key = Some(key);
        options.poll_interval = None;
        let mut standby = Standby::open(&dir, options)?;
        let socket = stream.try_clone().map_err(ship::net("configure"))?;
        let inner = standby.inner.clone();
        let thread = std::thread::Builder::new()
            .name("haoyuan-standby-stream".into())
            .spawn(move || {
                let why = receive(stream, own, &inner);
                *inner.stream_error.lock() = Some(why.to_string());
            })
            .map_err(|e| Error::Durability(format!("cannot start the stream receiver: {e}")))?;
        standby.poller.receiver = Some((thread, socket));
        Ok(standby)
    }

    /// A stream standby: whether it still receives from its leader (`false` once the stream
    /// stopped, see [`StandbyLag::last_error`]; always `false` for a directory follower).
    pub fn streaming(&self) -> bool {
        self.poller.receiver.as_ref().is_some_and(|(t, _)| !t.is_finished())
    }

    /// Read and apply every complete record appended since the last one applied; returns how
    /// many. A record still being written is left for the next call. After a failed replay the
    /// standby stays broken (every later call returns that error): open a new one.
    pub fn catch_up(&self) -> Result<u64> {
        self.inner.catch_up()
    }

    /// How far behind the leader the standby is. Looks at the leader's last segment (counts
    /// its complete records past the standby's position, without decoding them).
    pub fn lag(&self) -> StandbyLag {
        self.inner.lag()
    }

    /// Operator metrics of the standby's engine ([`Engine::metrics`]: sizes, memory; no
    /// journal of its own) with `follower` set from [`Standby::lag`]: what a host serves on
    /// its `/metrics` endpoint (`to_prometheus`) to alert on a standby falling behind.
    ///
    /// ```
    /// # use haoyuan::*;
    /// # let dir = std::env::temp_dir().join(format!("hy-standby-metrics-doc-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # let key = CardKey::from_bytes(&[1; 32])?;
    /// let leader = DurableEngine::open(&dir, OpenOptions::new(Durability::Sync).card_key(key.clone()))?;
    /// leader.register_patient()?;
    /// let standby = Standby::open(&dir, StandbyOptions::new().card_key(key))?;
    /// let m = standby.metrics();
    /// assert_eq!(m.follower.as_ref().map(|f| f.records_behind), Some(0));
    /// assert!(m.to_prometheus().contains("\nhaoyuan_follower_records_behind 0\n"));
    /// # drop(standby); leader.close()?; let _ = std::fs::remove_dir_all(&dir);
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn metrics(&self) -> crate::metrics::Metrics {
        let lag = self.lag();
        let mut m = self.with(|e| e.metrics());
        let now_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        m.follower = Some(crate::metrics::FollowerMetrics {
            applied_seq: lag.applied_seq,
            leader_seq: lag.leader_seq,
            records_behind: lag.records_behind,
            caught_up_age_s: lag
                .caught_up_at_unix_ms
                .map(|at| now_ms.saturating_sub(at) as f64 / 1e3),
            resyncs: lag.resyncs,
            failing: lag.last_error.is_some(),
        });
        m
    }

    /// The directory followed.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Stop the background poller (if any) and release the standby (as dropping it does).
    pub fn close(self) {}

    /// Whether the leader's `LOCK` is held (the leader lives, in this process or another):
    /// [`Standby::promote`] refuses then. Takes the lock for an instant when it is free. A lock
    /// that is held is tried again for half a second before the answer is yes: a child process
    /// being spawned by another thread of this process holds a share of it for a moment.
    pub fn leader_alive(&self) -> Result<bool> {
        leader_lock_held(&self.inner.dir)
    }

    /// Become the leader: refused with [`Error::Durability`] while the leader's `LOCK` is held
    /// (it lives, in this process or another). Otherwise the directory is opened as
    /// [`DurableEngine::open`] opens it, under `options` (their card key defaults to the
    /// standby's), cutting a torn tail as any restart does — but when the standby is caught up
    /// and `options` run on its clock, from the state it already holds: only the journal after
    /// it is read, not the snapshot and everything since (the recovery report then names no
    /// snapshot and counts only those events).
    pub fn promote(self, mut options: OpenOptions) -> Result<DurableEngine> {
        if leader_lock_held(&self.inner.dir)? {
            return Err(Error::Durability(format!(
                "the leader of {} is alive (its LOCK is held): promotion refused",
                self.inner.dir.display()
            )));
        }
        let Standby { inner, poller } = self;
        drop(poller);
        let caught_up = inner.catch_up().is_ok();
        let given_key = options
            .card_key
            .clone()
            .or_else(|| options.config.as_ref().and_then(|c| c.card_key.clone()));
        let same_key = given_key.as_ref().is_none_or(|k| k.same_as(&inner.key));
        if given_key.is_none() {
            options.card_key = Some(inner.key.clone());
        }
        let reuse = caught_up && same_key && options.clock == inner.clock;
        let dir = inner.dir.clone();
        let start = match Arc::try_unwrap(inner) {
            Ok(inner) if reuse => Some(inner.state.into_inner()),
            _ => None,
        };
        DurableEngine::open_from(&dir, options, start)
    }

    fn with<T>(&self, f: impl FnOnce(&Engine) -> T) -> T {
        f(&self.inner.state.read().engine)
    }
}

/// Read-only queries, each delegating to the [`Engine`] method of the same name under the
/// standby's read lock (a catch-up in progress finishes its chunk first).
macro_rules! queries {
    ($($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        impl Standby {
            $(
                $(#[$doc])*
                pub fn $name(&self, $($arg: $ty),*) -> $ret {
                    self.with(|e| e.$name($($arg),*))
                }
            )*
        }
    };
}

queries! {
    /// See [`Engine::find_free_slots`].
    fn find_free_slots(q: &AvailabilityQuery) -> Result<Vec<FreeSlot>>;
    /// See [`Engine::free_places_by_day`].
    fn free_places_by_day(department: DepartmentId, date_from: Date, date_to: Date) -> Result<Vec<DayAvailability>>;
    /// See [`Engine::recommend`].
    fn recommend(q: &RecommendQuery) -> Result<Vec<Recommendation>>;
    /// See [`Engine::load_board`].
    fn load_board(specialty: &str, district: &str) -> Result<LoadBoard>;
    /// See [`Engine::booking`].
    fn booking(id: BookingId) -> Result<Booking>;
    /// See [`Engine::booking_group`].
    fn booking_group(id: BookingId) -> Result<BookingGroup>;
    /// See [`Engine::find_stays`].
    fn find_stays(q: &StayQuery) -> Result<Vec<StayOffer>>;
    /// See [`Engine::bookings_of`].
    fn bookings_of(patient: PatientId) -> Result<Vec<Booking>>;
    /// See [`Engine::bookings_on`].
    fn bookings_on(slots: &[SlotId]) -> Result<Vec<Booking>>;
    /// See [`Engine::patient_record`].
    fn patient_record(patient: PatientId) -> Result<PatientRecord>;
    /// See [`Engine::find_patient_by_card`].
    fn find_patient_by_card(card_type: &str, number: &str) -> Result<Option<PatientId>>;
    /// See [`Engine::slot`].
    fn slot(id: SlotId) -> Result<SlotInfo>;
    /// See [`Engine::slot_count`].
    fn slot_count() -> usize;
    /// See [`Engine::resource_day_slots`].
    fn resource_day_slots(resource: ResourceId, date: Date) -> Result<Vec<SlotId>>;
    /// See [`Engine::waitlist`].
    fn waitlist(department: DepartmentId) -> Result<Vec<WaitlistEntry>>;
    /// See [`Engine::institutions`].
    fn institutions() -> Vec<Institution>;
    /// See [`Engine::institution`].
    fn institution(id: InstitutionId) -> Result<Institution>;
    /// See [`Engine::department`].
    fn department(id: DepartmentId) -> Result<Department>;
    /// See [`Engine::departments_of`].
    fn departments_of(institution: InstitutionId) -> Result<Vec<Department>>;
    /// See [`Engine::resource`].
    fn resource(id: ResourceId) -> Result<Resource>;
    /// See [`Engine::resources_of`].
    fn resources_of(department: DepartmentId) -> Result<Vec<Resource>>;
    /// See [`Engine::resource_stats`].
    fn resource_stats(id: ResourceId) -> Result<ResourceStats>;
    /// See [`Engine::channel`].
    fn channel(id: ChannelId) -> Result<Channel>;
    /// See [`Engine::channel_id`].
    fn channel_id(name: &str) -> Result<ChannelId>;
    /// See [`Engine::stats`].
    fn stats() -> EngineStats;
    /// See [`Engine::state_digest`]: equal to the leader's once both hold the same events.
    fn state_digest() -> Result<[u8; 32]>;
    /// The last event applied (the leader's sequence number).
    fn last_event_seq() -> u64;
    /// See [`Engine::now`].
    fn now() -> Timestamp;
}

impl Standby {
    /// The policy running at the last applied event (a copy).
    pub fn policy(&self) -> Policy {
        self.with(|e| e.policy().clone())
    }
}

fn key_of(options: &StandbyOptions) -> Result<CardKey> {
    match &options.card_key {
        Some(k) => Ok(k.clone()),
        None => CardKey::from_env()?.ok_or_else(|| {
            Error::invalid("a standby needs the card key the directory was written with")
        }),
    }
}

/// The stream receiver: write what the leader sends into the own directory, acknowledge,
/// apply. Returns why it stopped.
fn receive(mut stream: TcpStream, mut own: super::ship::OwnJournal, inner: &Inner) -> Error {
    use super::ship::*;
    loop {
        let step = match read_msg(&mut stream) {
            Ok((MSG_SEGMENT, header)) => own.segment(&header),
            Ok((MSG_FRAMES, body)) => own.frames(&body).and_then(|last| {
                inner.leader_heard.fetch_max(last, Ordering::SeqCst);
                std::io::Write::write_all(&mut stream, &last.to_le_bytes())
                    .map_err(net("acknowledge to the leader"))?;
                inner.catch_up().map(|_| ())
            }),
            Ok((MSG_HEARTBEAT, body)) if body.len() == 8 => {
                let seq = u64::from_le_bytes(body[..8].try_into().expect("8 bytes"));
                inner.leader_heard.fetch_max(seq, Ordering::SeqCst);
                Ok(())
            }
            Ok((MSG_REFUSED, why)) => Err(Error::Durability(format!(
                "the leader stopped the stream: {}",
                String::from_utf8_lossy(&why)
            ))),
            Ok((tag, _)) => {
                Err(codec::corrupt(format!("unexpected message {tag} from the leader")))
            }
            Err(e) => Err(e),
        };
        if let Err(e) = step {
            return e;
        }
    }
}

fn check_interval(interval: Option<Duration>) -> Result<()> {
    match interval {
        Some(i) if !(STANDBY_POLL_MIN..=STANDBY_POLL_MAX).contains(&i) => Err(Error::invalid(
            format!("poll_interval {i:?} must be {STANDBY_POLL_MIN:?} ..= {STANDBY_POLL_MAX:?}"),
        )),
        _ => Ok(()),
    }
}

/// Whether another open file description holds the directory's advisory lock: the same
/// `flock` the leader takes, tried without waiting and released at once.
fn leader_lock_held(dir: &Path) -> Result<bool> {
    let path = dir.join(LOCK_FILE);
    let lock = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io("open", &path, e)),
    };
    // Held only if it stays held over the retries that opening the directory allows: a child
    // process being spawned by another thread holds a share of the lock for a moment, and that
    // is not a living leader. A living leader is therefore reported after half a second.
    match super::take_lock_patiently(&lock) {
        Ok(taken) => Ok(!taken),
        Err(e) => Err(io("lock", &path, e)),
    }
}

/// `recover` without repair, retried when it races the leader's compaction.
fn recover_read_only(
    dir: &Path,
    config: &EngineConfig,
    key: &CardKey,
    clock: ClockKind,
) -> Result<Replayer> {
    let mut attempt = 0;
    loop {
        match recover(dir, config, key, clock, None, false, None) {
            Ok((replayer, _)) => return Ok(replayer),
            Err(Error::Durability(_)) if attempt + 1 < RECOVER_ATTEMPTS => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

fn spawn_poller(inner: Arc<Inner>, interval: Duration) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("haoyuan-standby".into())
        .spawn(move || loop {
            // Failures are kept in `StandbyLag::last_error`; the next round tries again.
            let _ = inner.catch_up();
            let mut stop = inner.stop.lock();
            if !*stop {
                inner.wake.wait_for(&mut stop, interval);
            }
            if *stop {
                return;
            }
        })
        .map_err(|e| Error::Durability(format!("cannot start the standby poller: {e}")))
}

impl Inner {
    fn catch_up(&self) -> Result<u64> {
        let mut follow = self.follow.lock();
        if let Some(why) = &follow.broken {
            return Err(Error::Durability(why.clone()));
        }
        let result = self.follow_journal(&mut follow);
        follow.last_error = result.as_ref().err().map(|e| e.to_string());
        if result.is_ok() {
            follow.caught_up_at = Some(SystemTime::now());
        }
        result
    }

    /// Read segment after segment until the end of the last one.
    fn follow_journal(&self, f: &mut Follow) -> Result<u64> {
        let mut applied = 0;
        let mut idle_rounds = 0;
        let mut resynced = false;
        loop {
            let segments = list(&self.dir, "seg-", ".hyj")?;
            let next = self.state.read().last_seq + 1;
            let listed = |c: &Cursor| segments.iter().any(|(s, _)| *s == c.first_seq);
            let mut cursor = match f.cursor.take().filter(listed) {
                Some(c) => c,
                None => match segments.iter().rev().find(|(s, _)| *s <= next) {
                    Some((s, p)) => Cursor::start(*s, p),
                    None if segments.is_empty() => return Ok(applied),
                    // Compaction removed the segment holding our next event: reload.
                    None if !resynced => {
                        self.resync(f)?;
                        resynced = true;
                        continue;
                    }
                    None => {
                        return Err(codec::corrupt(format!(
                            "the journal has no segment holding event {next}"
                        )))
                    }
                },
            };
            let before = self.state.read().last_seq;
            let end = self.read_segment(&mut cursor, f)?;
            let now = self.state.read().last_seq;
            applied += now - before;
            let later = segments.iter().find(|(s, _)| *s > cursor.first_seq);
            f.cursor = Some(cursor.clone());
            match (later, end) {
                (None, _) => return Ok(applied),
                // Sealed: the leader wrote it whole before creating the next one.
                (Some((s, p)), SegmentEnd::Read) if *s == now + 1 => {
                    f.cursor = Some(Cursor::start(*s, p));
                }
                (Some(_), SegmentEnd::NotReadable) if idle_rounds < 2 => {
                    // Removed by compaction meanwhile: list again.
                    f.cursor = None;
                    idle_rounds += 1;
                }
                (Some((s, _)), _) => {
                    return Err(codec::corrupt(format!(
                        "{}: ends at event {now}, yet the next segment starts at {s}",
                        cursor.path.display()
                    )))
                }
            }
        }
    }

    /// Replace the state by a fresh recovery (newest snapshot, then the journal).
    fn resync(&self, f: &mut Follow) -> Result<()> {
        let replayer = recover_read_only(&self.dir, &self.config, &self.key, self.clock)?;
        let mut state = self.state.write();
        if replayer.last_seq < state.last_seq {
            return Err(codec::corrupt(format!(
                "the journal after event {} is gone and the newest snapshot is older",
                state.last_seq
            )));
        }
        *state = replayer;
        drop(state);
        f.cursor = None;
        f.resyncs += 1;
        self.publish_progress();
        Ok(())
    }

    /// Apply the complete records of the cursor's segment past its offset; advance it.
    fn read_segment(&self, cursor: &mut Cursor, f: &mut Follow) -> Result<SegmentEnd> {
        let Some((header, tail)) = read_from(&cursor.path, cursor.offset)? else {
            return Ok(SegmentEnd::NotReadable);
        };
        let header_len = header.len() as u64;
        if cursor.offset == 0 {
            cursor.offset = header_len;
        }
        let mut buf = header;
        buf.extend_from_slice(&tail);
        let at = |e: Error| match e {
            Error::Durability(m) => Error::Durability(format!("{}: {m}", cursor.path.display())),
            e => e,
        };
        let Some(mut scan) = SegmentScan::new(&buf, Some(&self.key)).map_err(at)? else {
            return Ok(SegmentEnd::NotReadable);
        };
        if scan.first_seq != cursor.first_seq {
            return Err(at(codec::corrupt(format!(
                "header says it starts at event {}",
                scan.first_seq
            ))));
        }
        scan.resume_at(cursor.expected);
        let mut events: Vec<(Event, Option<RequestStamp>)> = Vec::new();
        while let Some(event) = scan.next_event().map_err(at)? {
            events.push((event, scan.stamp.take()));
        }
        cursor.offset += (scan.position() as u64) - header_len;
        cursor.expected = scan.next_seq();
        self.apply(events, f).map_err(at)?;
        Ok(SegmentEnd::Read)
    }

    /// Apply events (those already applied are skipped), a chunk per hold of the write lock.
    /// A failure marks the standby broken: its state may be half way through an event.
    fn apply(&self, events: Vec<(Event, Option<RequestStamp>)>, f: &mut Follow) -> Result<()> {
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() {
            let mut state = self.state.write();
            for (event, stamp) in events.by_ref().take(APPLY_CHUNK) {
                if event.seq <= state.last_seq {
                    continue;
                }
                if let Err(e) = apply_scanned(&mut state, event, stamp) {
                    f.broken = Some(format!("the standby diverged and must be reopened: {e}"));
                    return Err(e);
                }
            }
            drop(state);
            self.publish_progress();
        }
        Ok(())
    }

    /// Make the engine show what was applied: its last event number, and a manual clock at
    /// the latest event time.
    fn publish_progress(&self) {
        let state = self.state.read();
        state.engine.events.restore_seq(state.last_seq);
        if let Some(clock) = state.engine.manual_clock() {
            clock.set(state.clock);
        }
    }

    fn lag(&self) -> StandbyLag {
        let (cursor, mut lag) = {
            let f = self.follow.lock();
            let lag = StandbyLag {
                caught_up_at_unix_ms: f.caught_up_at.and_then(|t| {
                    t.duration_since(SystemTime::UNIX_EPOCH).ok().map(|d| d.as_millis() as u64)
                }),
                resyncs: f.resyncs,
                last_error: f
                    .last_error
                    .clone()
                    .or_else(|| f.broken.clone())
                    .or_else(|| self.stream_error.lock().clone()),
                ..StandbyLag::default()
            };
            (f.cursor.clone(), lag)
        };
        {
            let state = self.state.read();
            lag.applied_seq = state.last_seq;
            lag.last_applied_at = (state.clock.0 > 0).then_some(state.clock);
        }
        lag.leader_seq = self
            .leader_seq(cursor)
            .unwrap_or(0)
            .max(self.leader_heard.load(Ordering::SeqCst))
            .max(lag.applied_seq);
        lag.records_behind = lag.leader_seq - lag.applied_seq;
        lag
    }

    /// The last complete record on disk: the last segment's first event plus its complete
    /// frames (counted from the cursor when the cursor is in that segment).
    fn leader_seq(&self, cursor: Option<Cursor>) -> Result<u64> {
        let segments = list(&self.dir, "seg-", ".hyj")?;
        let Some((first, path)) = segments.last() else { return Ok(0) };
        let from = match cursor {
            Some(c) if c.first_seq == *first && c.offset > 0 => c,
            _ => Cursor::start(*first, path),
        };
        let Some((header, tail)) = read_from(path, from.offset)? else {
            return Ok(first.saturating_sub(1));
        };
        let mut buf = header;
        let mut pos = buf.len();
        buf.extend_from_slice(&tail);
        let mut seq = from.expected - 1;
        while let Frame::Ok(_, end) = read_frame(&buf, pos) {
            seq += 1;
            pos = end;
        }
        Ok(seq)
    }
}

/// A segment's header bytes and its bytes from `offset` on (0: right after the header).
/// `None` when the file is gone (compaction) or its header is not complete yet.
fn read_from(path: &Path, offset: u64) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("open", path, e)),
    };
    let mut head = Vec::with_capacity(codec::HEADER_LEN_MAX);
    (&mut file)
        .take(codec::HEADER_LEN_MAX as u64)
        .read_to_end(&mut head)
        .map_err(|e| io("read", path, e))?;
    let header_len = match codec::parse_segment_header(&head) {
        Ok(h) => h.len,
        Err(HeaderProblem::Damaged(_)) => return Ok(None),
        Err(HeaderProblem::Unsupported(v)) => {
            return Err(codec::unsupported(&path.display().to_string(), v))
        }
    };
    head.truncate(header_len);
    let start = if offset == 0 { header_len as u64 } else { offset };
    file.seek(SeekFrom::Start(start)).map_err(|e| io("seek", path, e))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(|e| io("read", path, e))?;
    Ok(Some((head, tail)))
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Standby>();
}
