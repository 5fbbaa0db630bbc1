//! Durability: an append-only journal, snapshots and crash recovery.
//!
//! The in-memory [`Engine`] stays the default and the fastest. A host that cannot lose a
//! booking opens a [`DurableEngine`] on a directory instead: it recovers the state found there,
//! then journals every event of the engine (see [`EventSink`](crate::EventSink)). It derefs to
//! [`Engine`], so the whole API is used unchanged.
//!
//! ```no_run
//! use haoyuan::*;
//! // The deployment's card key: here from a file (or set HAOYUAN_CARD_KEY / _FILE).
//! let key = CardKey::from_file("/etc/haoyuan/card.key").unwrap();
//! let engine = DurableEngine::open("/var/lib/haoyuan", OpenOptions::new(Durability::Sync).card_key(key)).unwrap();
//! println!("recovered: {:?}", engine.recovery_report());
//! let patient = engine.register_patient().unwrap(); // acknowledged = fsynced
//! engine.snapshot().unwrap(); // compacts the journal; bookings go on meanwhile
//! ```
//!
//! # The directory
//! - `config.json`: the [`EngineConfig`] the directory was created with; replay starts from it
//!   (pool sizes are computed from the policy), so it is fixed for the directory's life. A
//!   policy change at runtime ([`Engine::set_policy`]) is a journal record, and a snapshot holds
//!   the policy running when it was taken. It never holds the card key.
//! - `seg-<first seq>.hyj`: journal segments, each a header and gap-free checksummed frames
//!   (`journal.rs`, `codec.rs`).
//! - `snap-<seq>.hys`: snapshots, each consistent at exactly one sequence number
//!   (`snapshot.rs`); the two newest are kept, with the segments after the older one, so a
//!   damaged newest snapshot falls back to the previous one.
//! - `LOCK`: held (advisory lock) while the directory is open, so two processes never write it.
//!
//! Every segment and snapshot header names its **format version** (`codec.rs` has the layouts):
//! a file is read by the rules of its own version, and one of a version this build does not
//! know is refused with an [`Error::Durability`] naming that version, never misread.
//!
//! # Card numbers and the card key
//! No file holds a card number (personal information, see `cards.rs`): events and snapshots
//! keep the masked form and a keyed digest. Opening needs the deployment's [`CardKey`]
//! ([`OpenOptions::card_key`], else [`EngineConfig::card_key`], else the environment's
//! `HAOYUAN_CARD_KEY` / `HAOYUAN_CARD_KEY_FILE`); without one, `open` is an
//! [`Error::InvalidArgument`] before anything touches the disk. The key is never written: each
//! format-2 header holds its check value, and a directory written under another key is refused
//! (`InvalidArgument`: "the card key does not match the one this directory was written with")
//! before anything is read or repaired.
//!
//! A directory written before card numbers were hashed (format 1) opens: its numbers are hashed
//! under the key and masked as they are read, and what is written from then on is format 2.
//! Its old files keep their plain numbers until compaction removes them: two snapshots after
//! the upgrade, no format-1 file is left.
//!
//! # Recovery
//! The newest valid snapshot, then every journal event after it, applied forcibly
//! (`replay.rs`). A torn tail (damage in the last segment with nothing valid after it: a crash
//! in mid-write) is cut off and reported in the [`RecoveryReport`]; damage anywhere else is an
//! [`Error::Durability`] naming the file and offset, never a silent skip.
//!
//! # Acknowledgement without one fsync per call
//! In `Sync` mode every call waits until its events are durable, and concurrent calls share an
//! fsync (group commit). A host with many requests in flight gets more out of one thread with
//! [`Engine::pipelined`](crate::Engine::pipelined) or
//! [`Engine::pipeline_scope`](crate::Engine::pipeline_scope): outcomes at once, then one
//! [`wait_durable`](crate::Engine::wait_durable) (or an
//! [`on_durable`](crate::Engine::on_durable) callback) for many of them; the bulk calls
//! ([`Engine::book_many`](crate::Engine::book_many) …) do that for their rows. The rule: an
//! outcome is acknowledged to the patient only once its ticket is durable.
//!
//! # A hot standby
//! [`Standby`] follows a leader's directory read-only (no `LOCK`, nothing written), applies
//! its records as they are appended, answers queries, reports its lag and is promoted to
//! leader once the leader's `LOCK` is free (`standby.rs`).
//!
//! What a crash can lose: nothing acknowledged in `Sync` mode; up to one fsync interval in
//! `Buffered` mode. An operation that was not yet acknowledged may survive in part (e.g. a
//! session suspension that had cancelled some of its bookings): each of its events is a
//! consistent step on its own.

mod codec;
mod format1;
mod journal;
mod record;
mod replay;
mod ship;
mod snapshot;
mod standby;

pub use journal::Durability;
pub use replay::ClockKind;
pub use ship::{ReplicationMode, ReplicationOptions, SHIP_PROTOCOL_VERSION};
pub use standby::{Standby, StandbyLag, StandbyOptions, STANDBY_POLL_MAX, STANDBY_POLL_MIN};

use crate::cards::{CardKey, KEY_CHECK_LEN};
use crate::engine::{Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::request_keys::KeyRec;
use codec::{corrupt, HeaderProblem};
use journal::{io, list, snapshot_name, sync_dir, Journal, SegmentScan, Stop};
use parking_lot::Mutex;
use replay::Replayer;
use snapshot::{Retained, State};
use std::fs::{File, OpenOptions as FsOpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) const CONFIG_FILE: &str = "config.json";
const LOCK_FILE: &str = "LOCK";
/// Snapshots kept (with the journal after the oldest of them).
const SNAPSHOTS_KEPT: usize = 2;

/// How to open a directory.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// The configuration of a new directory. For an existing one, `None` uses the stored one
    /// and `Some` must equal it (its card key is not compared: see `card_key`).
    pub config: Option<EngineConfig>,
    /// How far an acknowledgement waits for the disk: `Sync` (every acknowledged operation
    /// survives a crash), `Buffered` (at most `max_unflushed` records may be lost) or `None`
    /// (recover the directory, then run in memory only).
    pub durability: Durability,
    /// The system clock (production) or a manual one (simulations that continue a run); default
    /// the system clock.
    pub clock: ClockKind,
    /// `Buffered` mode only: most journal records an acknowledged operation may be ahead of the
    /// last fsync. An operation that would pass it waits for the next fsync, so a crash loses at
    /// most this many acknowledged records — hence operations, each has at least one — however
    /// the writer thread is scheduled (a time interval alone is no bound when threads outnumber
    /// cores). 1 ..= 1,000,000; default [`BUFFERED_UNFLUSHED_MAX_DEFAULT`].
    pub max_unflushed: u32,
    /// The deployment's card key. `None`: the one in `config`, else the environment's
    /// (`HAOYUAN_CARD_KEY`, `HAOYUAN_CARD_KEY_FILE`); a durable engine refuses to open
    /// without a key.
    pub card_key: Option<CardKey>,
    /// Serve the journal to stream followers ([`Standby::connect`]) over TCP; `None` (the
    /// default): no listener. See `ship.rs`.
    pub replication: Option<ReplicationOptions>,
}

/// Default bound on unflushed acknowledged records in `Buffered` mode (see
/// [`OpenOptions::max_unflushed`]).
pub const BUFFERED_UNFLUSHED_MAX_DEFAULT: u32 = 4096;

impl OpenOptions {
    /// The stored (or default) configuration on the system clock.
    pub fn new(durability: Durability) -> OpenOptions {
        OpenOptions {
            config: None,
            durability,
            clock: ClockKind::System,
            card_key: None,
            max_unflushed: BUFFERED_UNFLUSHED_MAX_DEFAULT,
            replication: None,
        }
    }

    /// Serve the journal to stream followers (see [`OpenOptions::replication`]).
    pub fn replicate(mut self, replication: ReplicationOptions) -> OpenOptions {
        self.replication = Some(replication);
        self
    }

    /// See [`OpenOptions::max_unflushed`].
    pub fn max_unflushed(mut self, records: u32) -> OpenOptions {
        self.max_unflushed = records;
        self
    }

    /// Use this card key (see [`OpenOptions::card_key`]). It must be the key the directory was
    /// written with: the segment headers carry its check value, and another key is refused
    /// before anything is read.
    pub fn card_key(mut self, key: CardKey) -> OpenOptions {
        self.card_key = Some(key);
        self
    }

    /// Create a new directory with this configuration, or require an existing one to have it
    /// (see [`OpenOptions::config`]).
    pub fn config(mut self, config: EngineConfig) -> OpenOptions {
        self.config = Some(config);
        self
    }

    /// Run the recovered engine on this clock (see [`ClockKind`]).
    pub fn clock(mut self, clock: ClockKind) -> OpenOptions {
        self.clock = clock;
        self
    }
}

/// A torn tail that recovery cut off: the end of the last journal segment held a record that
/// a crash left half written (or a segment whose header was never completed). Expected after
/// a crash, and harmless: such a record was never acknowledged. Damage anywhere else is an
/// [`Error::Durability`] instead, and nothing is cut.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TornTail {
    /// The segment file that was cut (always the directory's last).
    pub segment: PathBuf,
    /// Byte offset in `segment` of the first byte dropped: the segment was truncated to this
    /// length (0: the whole file, a damaged header, was removed).
    pub offset: u64,
    /// How many bytes were dropped from `offset` to the end of the file.
    pub bytes_dropped: u64,
    /// What was wrong there, in words (a short record, a checksum that does not match …).
    pub reason: String,
}

/// Counters of the journal writer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JournalStats {
    /// fsyncs the writer has done since the engine was opened.
    pub fsyncs: u64,
    /// The last event sequence number on stable storage: everything up to it survives a crash.
    pub durable_seq: u64,
}

/// What recovery found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecoveryReport {
    /// Sequence number of the snapshot loaded, if any.
    pub snapshot_seq: Option<u64>,
    /// Newer snapshots that failed their checks and were passed over.
    pub snapshots_skipped: Vec<(PathBuf, String)>,
    /// Journal segment files read after the snapshot (those wholly covered by it are skipped).
    pub segments_read: usize,
    /// Events applied on top of the snapshot (or an empty engine) to rebuild the state.
    pub events_replayed: u64,
    /// The last event of the recovered state; the next one gets `last_seq + 1`.
    pub last_seq: u64,
    /// The half-written end recovery cut off, if the last run stopped in a crash.
    pub torn_tail: Option<TornTail>,
}

/// An [`Engine`] whose every acknowledged operation is journaled on disk. Derefs to [`Engine`].
pub struct DurableEngine {
    engine: Engine,
    dir: PathBuf,
    /// Stopped before the journal (fields drop in order).
    shipper: Option<ship::Server>,
    journal: Option<Journal>,
    report: RecoveryReport,
    /// The directory's configuration (`config.json`, with the card key): what a rebuild from
    /// the directory starts from, whatever the running policy is now.
    created: EngineConfig,
    snapshot_lock: Mutex<()>,
    _lock: File,
}

impl std::ops::Deref for DurableEngine {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl std::fmt::Debug for DurableEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableEngine")
            .field("dir", &self.dir)
            .field("engine", &self.engine)
            .finish()
    }
}

impl DurableEngine {
    /// Open (creating if needed) a directory: recover its state, then journal from there on.
    ///
    /// ```
    /// use haoyuan::*;
    /// let dir = std::env::temp_dir().join(format!("haoyuan-doc-open-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// // The deployment's card key: card numbers are kept only as digests under it.
    /// let key = CardKey::from_bytes(&[7; 32])?;
    /// let options = || OpenOptions::new(Durability::Sync).card_key(key.clone());
    /// let durable = DurableEngine::open(&dir, options())?;
    /// let patient = durable.engine().register_patient()?; // acknowledged = on disk
    /// durable.close()?;
    /// // Reopened (after a clean stop or a crash alike): the journal brings the patient back.
    /// let reopened = DurableEngine::open(&dir, options())?;
    /// assert!(reopened.engine().patient_record(patient).is_ok());
    /// # drop(reopened);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), haoyuan::Error>(())
    /// ```
    pub fn open(dir: impl AsRef<Path>, options: OpenOptions) -> Result<DurableEngine> {
        DurableEngine::open_from(dir.as_ref(), options, None)
    }

    /// `open`, continuing from `start` when given: the replayed state of this very directory
    /// (a promoted standby's, `standby.rs`, on the clock `options` names) instead of the newest
    /// snapshot, so that only the journal after it is read — with the torn tail cut as always.
    fn open_from(
        dir: &Path,
        options: OpenOptions,
        start: Option<Replayer>,
    ) -> Result<DurableEngine> {
        let dir = dir.to_path_buf();
        // Input is checked before anything touches the disk: a refused open leaves no trace.
        if dir.as_os_str().is_empty() {
            return Err(Error::invalid("the durable directory path is empty"));
        }
        if let Some(config) = &options.config {
            config.validate()?;
        }
        if !(1..=1_000_000).contains(&options.max_unflushed) {
            return Err(Error::invalid(format!(
                "max_unflushed {} must be 1 ..= 1000000",
                options.max_unflushed
            )));
        }
        let key = card_key_of(&options)?;
        if let Some(r) = &options.replication {
            r.validate(options.durability)?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = FsOpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io("open", &lock_path, e))?;
        lock_directory(&lock, &dir)?;
        // Versions and key first: a refused directory is left exactly as it was.
        check_headers(&dir, &key)?;
        let mut config = settle_config(&dir, options.config)?;
        config.card_key = Some(key.clone());
        let (replayer, report) = recover(&dir, &config, &key, options.clock, None, true, start)?;
        let last_seq = replayer.last_seq;
        let engine = replayer.finish()?;
        let journal = match options.durability {
            Durability::None => None,
            mode => {
                let j = Journal::start(
                    &dir,
                    last_seq + 1,
                    mode,
                    key.check_value(),
                    options.max_unflushed as u64,
                    options.replication.as_ref().and_then(|r| r.ack_timeout_if_needed()),
                )?;
                engine.set_event_sink(j.sink())?;
                Some(j)
            }
        };
        let shipper = match (&options.replication, &journal) {
            (Some(r), Some(j)) => Some(ship::Server::start(&dir, r.clone(), j.shared())?),
            _ => None,
        };
        Ok(DurableEngine {
            engine,
            dir,
            shipper,
            journal,
            report,
            created: config,
            snapshot_lock: Mutex::new(()),
            _lock: lock,
        })
    }

    /// The address the replication listener is bound to ([`OpenOptions::replicate`]; with
    /// port 0 asked, the port the system chose); `None` without replication.
    pub fn replication_addr(&self) -> Option<std::net::SocketAddr> {
        self.shipper.as_ref().map(|s| s.addr())
    }

    /// Stream followers connected now (see [`OpenOptions::replicate`]).
    pub fn followers(&self) -> usize {
        self.shipper.as_ref().map_or(0, |s| s.followers())
    }

    /// What recovery found when this engine was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    /// The directory this engine journals into (as given to [`DurableEngine::open`]); no other
    /// open of it, in this process or another, succeeds while the engine lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The engine itself, for code that takes `&Engine` (the same as dereferencing).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Make everything done so far durable (useful in `Buffered` mode before a planned stop).
    /// Returns the durable sequence number.
    pub fn flush(&self) -> Result<u64> {
        match &self.journal {
            Some(j) => j.flush(),
            None => Ok(self.engine.last_event_seq()),
        }
    }

    /// How the journal is doing: fsyncs so far and the durable sequence number (`None` without
    /// a journal). Events per fsync over a run is the width of group commit.
    pub fn journal_stats(&self) -> Option<JournalStats> {
        self.journal.as_ref().map(|j| {
            let (fsyncs, durable_seq) = j.stats();
            JournalStats { fsyncs, durable_seq }
        })
    }

    /// Write a snapshot and remove the journal it makes unnecessary. Returns its sequence
    /// number. Bookings continue meanwhile (see `snapshot.rs`: it is built from the journal).
    pub fn snapshot(&self) -> Result<u64> {
        let journal = self
            .journal
            .as_ref()
            .ok_or_else(|| Error::invalid("Durability::None keeps no journal to snapshot"))?;
        let _one_at_a_time = self.snapshot_lock.lock();
        let sealed = journal.rotate()?;
        let key = self.engine.card_key().clone();
        let (replayer, _) = recover(
            &self.dir,
            &self.created,
            &key,
            ClockKind::Manual(crate::time::Timestamp(0)),
            Some(sealed),
            false,
            None,
        )?;
        if replayer.last_seq != sealed {
            return Err(corrupt(format!(
                "snapshot rebuilt up to {}, expected {sealed}",
                replayer.last_seq
            )));
        }
        let state = State::capture(&replayer);
        drop(replayer);
        write_snapshot(&self.dir, &state, &key.check_value())?;
        prune(&self.dir)?;
        Ok(sealed)
    }

    /// Flush and stop journaling; later operations fail with [`Error::Durability`].
    pub fn close(mut self) -> Result<()> {
        // Flush first, so that connected followers receive everything before the listener stops.
        let flushed = self.flush().map(|_| ());
        if let Some(s) = self.shipper.take() {
            s.stop();
        }
        flushed?;
        match &self.journal {
            Some(j) => j.close(),
            None => Ok(()),
        }
    }
}

/// Take a directory's advisory `LOCK` through `lock`: true once taken, false if it is still
/// held after half a second of tries. A lock just released by a clean `close` can still be
/// held for a moment by a child process that another thread of the host is spawning: between
/// `fork` and `exec` the child shares the parent's open files, and so the lock, until exec
/// closes them. The retries ride that out; a directory really open elsewhere stays held.
/// Used to open a directory (`lock_directory`) and to ask whether its leader lives
/// (`standby::leader_lock_held`), so that neither takes that moment for a living holder.
pub(crate) fn take_lock_patiently(lock: &File) -> std::io::Result<bool> {
    const ATTEMPTS: u32 = 50;
    for attempt in 1..=ATTEMPTS {
        match lock.try_lock() {
            Ok(()) => return Ok(true),
            Err(std::fs::TryLockError::WouldBlock) if attempt < ATTEMPTS => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            Err(std::fs::TryLockError::WouldBlock) => return Ok(false),
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
    }
    Ok(false)
}

/// Take the directory's advisory lock (`take_lock_patiently`); a directory open elsewhere is
/// refused.
fn lock_directory(lock: &File, dir: &Path) -> Result<()> {
    match take_lock_patiently(lock) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(Error::Durability(format!(
            "{} is open in another process or handle",
            dir.display()
        ))),
    }
}

/// The card key to open with: the options', else the configuration's, else the environment's.
/// Two different keys given, or none at all, refuse the open.
fn card_key_of(options: &OpenOptions) -> Result<CardKey> {
    let in_config = options.config.as_ref().and_then(|c| c.card_key.as_ref());
    match (&options.card_key, in_config) {
        (Some(a), Some(b)) if !a.same_as(b) => Err(Error::invalid("OpenOptions::card_key and EngineConfig::card_key are two different keys")),
        (Some(k), _) | (None, Some(k)) => Ok(k.clone()),
        (None, None) => CardKey::from_env()?.ok_or_else(|| {
            Error::invalid(format!(
                "a durable engine needs the card key under which card numbers are hashed: pass it in OpenOptions::card_key or EngineConfig::card_key, or set {} (64 hexadecimal characters) or {} (a file holding them)",
                crate::cards::CARD_KEY_ENV,
                crate::cards::CARD_KEY_FILE_ENV
            ))
        }),
    }
}

/// The first bytes of a file: enough for any header.
fn read_head(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(codec::HEADER_LEN_MAX);
    File::open(path)
        .and_then(|f| f.take(codec::HEADER_LEN_MAX as u64).read_to_end(&mut head))
        .map_err(|e| io("read", path, e))?;
    Ok(head)
}

/// Refuse a directory holding a segment or snapshot of a format this build does not read, or
/// written under another card key. Damaged headers are left to recovery (a torn tail, a
/// damaged snapshot).
fn check_headers(dir: &Path, key: &CardKey) -> Result<()> {
    for (_, path) in list(dir, "snap-", ".hys")? {
        match codec::parse_snapshot_header(&read_head(&path)?) {
            Err(HeaderProblem::Unsupported(v)) => {
                return Err(codec::unsupported(&path.display().to_string(), v))
            }
            Err(HeaderProblem::Damaged(_)) => {}
            Ok(h) => codec::check_key(h.key_check, key)?,
        }
    }
    for (_, path) in list(dir, "seg-", ".hyj")? {
        match codec::parse_segment_header(&read_head(&path)?) {
            Err(HeaderProblem::Unsupported(v)) => {
                return Err(codec::unsupported(&path.display().to_string(), v))
            }
            Err(HeaderProblem::Damaged(_)) => {}
            Ok(h) => codec::check_key(h.key_check, key)?,
        }
    }
    Ok(())
}

fn settle_config(dir: &Path, wanted: Option<EngineConfig>) -> Result<EngineConfig> {
    match stored_config(dir)? {
        Some(stored) => match wanted {
            Some(w) if w != stored => Err(Error::invalid(format!(
                "{} was created with another configuration; open it with `config: None` or the same one",
                dir.display()
            ))),
            _ => Ok(stored),
        },
        None => {
            let config = wanted.unwrap_or_default();
            config.validate()?;
            let json = serde_json::to_vec_pretty(&config).map_err(|e| corrupt(e.to_string()))?;
            write_atomically(dir, CONFIG_FILE, &json)?;
            Ok(config)
        }
    }
}

/// The directory's `config.json`, `None` if it has none (not created yet). Reads only.
fn stored_config(dir: &Path) -> Result<Option<EngineConfig>> {
    let path = dir.join(CONFIG_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| corrupt(format!("{} is not a valid configuration: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read", &path, e)),
    }
}

pub(crate) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = File::create(&tmp).map_err(|e| io("create", &tmp, e))?;
    f.write_all(bytes).map_err(|e| io("write", &tmp, e))?;
    f.sync_all().map_err(|e| io("sync", &tmp, e))?;
    drop(f);
    let path = dir.join(name);
    std::fs::rename(&tmp, &path).map_err(|e| io("rename", &path, e))?;
    sync_dir(dir)
}

fn write_snapshot(dir: &Path, state: &State, key_check: &[u8; KEY_CHECK_LEN]) -> Result<()> {
    // Format 4: the state, then the request keys (a separate MessagePack value after it, so
    // that the state's own layout, with its optional trailing fields, is format 3's), then —
    // only once retention has retired something — what it retired (`snapshot::Retained`): a
    // snapshot of an engine that never retired is byte for byte what it was before.
    let payload = if state.retained == Retained::default() {
        codec::encode(&(state, &state.request_keys))?
    } else {
        codec::encode(&(state, &state.request_keys, &state.retained))?
    };
    write_atomically(
        dir,
        &snapshot_name(state.seq),
        &codec::snapshot_bytes(state.seq, key_check, &payload),
    )
}

/// A format-4 payload: the state, the request keys, and what retention retired (absent when
/// nothing was: a positional reader fills the default).
#[derive(serde::Deserialize)]
struct Format4(State, Vec<KeyRec>, #[serde(default)] Retained);

/// Decode a snapshot file's bytes (checksum, then content, its cards under `key`). The outer
/// error refuses the directory (a format this build does not read, another card key); the
/// inner one is damage, which recovery passes over for an older snapshot.
pub(crate) fn decode_snapshot(bytes: &[u8], key: &CardKey) -> Result<Result<State, String>> {
    let s = match codec::parse_snapshot(bytes) {
        Ok(s) => s,
        Err(HeaderProblem::Damaged(why)) => return Ok(Err(why)),
        Err(HeaderProblem::Unsupported(v)) => return Err(codec::unsupported("the snapshot", v)),
    };
    codec::check_key(s.key_check, key)?;
    let state = match s.version {
        1 => format1::decode_state(s.payload, key),
        2 | 3 => codec::decode::<State>(s.payload),
        _ => codec::decode::<Format4>(s.payload).map(|Format4(mut state, keys, retained)| {
            state.request_keys = keys;
            state.retained = retained;
            state
        }),
    };
    Ok(match state {
        Ok(state) if state.seq != s.seq => {
            Err(format!("snapshot header says {}, content says {}", s.seq, state.seq))
        }
        Ok(state) => Ok(state),
        Err(e) => Err(e.to_string()),
    })
}

/// Keep the newest snapshots; drop older ones and every segment wholly before the oldest kept.
fn prune(dir: &Path) -> Result<()> {
    let snaps = list(dir, "snap-", ".hys")?;
    if snaps.len() > SNAPSHOTS_KEPT {
        for (_, path) in &snaps[..snaps.len() - SNAPSHOTS_KEPT] {
            std::fs::remove_file(path).map_err(|e| io("remove", path, e))?;
        }
    }
    // The oldest snapshot kept (`snaps` is sorted oldest first and not yet pruned).
    let keep_from = snaps
        .len()
        .checked_sub(SNAPSHOTS_KEPT)
        .map_or(snaps.first(), |i| snaps.get(i))
        .map(|(s, _)| *s);
    if let Some(oldest_kept) = keep_from {
        let segs = list(dir, "seg-", ".hyj")?;
        // A segment's last event is the next segment's first minus one.
        for pair in segs.windows(2) {
            if pair[1].0 <= oldest_kept + 1 {
                std::fs::remove_file(&pair[0].1).map_err(|e| io("remove", &pair[0].1, e))?;
            }
        }
    }
    sync_dir(dir)
}

/// Whether a snapshot's configuration can belong to a directory created with `created`. A
/// snapshot holds the policy running when it was taken, which `Engine::set_policy` may have
/// changed since the directory was created; what no change can alter must be equal: the UTC
/// offset and the channel quota groups.
fn same_deployment(snapshot: &EngineConfig, created: &EngineConfig) -> bool {
    snapshot.utc_offset_s == created.utc_offset_s
        && created.policy.channel_quotas.len() == snapshot.policy.channel_quotas.len()
        && created
            .policy
            .channel_quotas
            .iter()
            .zip(&snapshot.policy.channel_quotas)
            .all(|(a, b)| a.channels == b.channels)
}

/// Rebuild the state of `dir`: newest valid snapshot, then the journal after it, up to
/// `until` if given, card numbers of format-1 files hashed under `key` (`config` holds it too,
/// for the rebuilt engine). With `repair`, a torn tail is truncated on disk; without, only
/// reported. With `start` (a state of this directory already replayed, by a standby), no
/// snapshot is loaded: the journal after `start` is applied to it.
#[allow(clippy::too_many_arguments)]
fn recover(
    dir: &Path,
    config: &EngineConfig,
    key: &CardKey,
    clock: ClockKind,
    until: Option<u64>,
    repair: bool,
    start: Option<Replayer>,
) -> Result<(Replayer, RecoveryReport)> {
    let mut report = RecoveryReport::default();
    // Leftovers of an interrupted atomic write. Only a repairing recovery (the open that holds
    // the lock) removes them: a reader of a live directory (a snapshot's rebuild, a standby)
    // could remove the file a writer is filling.
    if repair {
        for (_, tmp) in list(dir, "", ".tmp").unwrap_or_default() {
            let _ = std::fs::remove_file(tmp);
        }
    }
    let mut replayer = start;
    let snapshots = if replayer.is_some() { Vec::new() } else { list(dir, "snap-", ".hys")? };
    for (seq, path) in snapshots.into_iter().rev() {
        if until.is_some_and(|u| seq > u) {
            continue;
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                report.snapshots_skipped.push((path.clone(), io("read", &path, e).to_string()));
                continue;
            }
        };
        let loaded = decode_snapshot(&bytes, key).map_err(|e| match e {
            Error::Durability(m) => Error::Durability(format!("{}: {m}", path.display())),
            e => e,
        })?;
        match loaded {
            Ok(state) if !same_deployment(&state.config, config) => {
                return Err(corrupt(format!(
                    "{} was written under another configuration",
                    path.display()
                )));
            }
            Ok(state) => {
                report.snapshot_seq = Some(state.seq);
                replayer = Some(state.restore(clock, key)?);
                break;
            }
            Err(why) => report.snapshots_skipped.push((path, why)),
        }
    }
    let mut replayer = match replayer {
        Some(r) => r,
        None => Replayer::fresh(config.clone(), clock)?,
    };
    let segments = list(dir, "seg-", ".hyj")?;
    let n = segments.len();
    for (i, (name_seq, path)) in segments.iter().enumerate() {
        if until.is_some_and(|u| replayer.last_seq >= u) {
            break;
        }
        // Wholly covered by the snapshot: the next segment starts at or before our next event.
        if segments.get(i + 1).is_some_and(|(next_first, _)| *next_first <= replayer.last_seq + 1) {
            continue;
        }
        let is_last = i + 1 == n;
        let bytes = std::fs::read(path).map_err(|e| io("read", path, e))?;
        let at = |e: Error| match e {
            Error::Durability(m) => Error::Durability(format!("{}: {m}", path.display())),
            e => e,
        };
        let Some(mut scan) = SegmentScan::new(&bytes, Some(key)).map_err(at)? else {
            if is_last && until.is_none() {
                // A crash while creating the segment: it holds nothing.
                report.torn_tail = Some(TornTail {
                    segment: path.clone(),
                    offset: 0,
                    bytes_dropped: bytes.len() as u64,
                    reason: "damaged segment header".into(),
                });
                if repair {
                    std::fs::remove_file(path).map_err(|e| io("remove", path, e))?;
                    sync_dir(dir)?;
                }
                break;
            }
            return Err(corrupt(format!("{}: damaged segment header", path.display())));
        };
        if scan.first_seq != *name_seq {
            return Err(corrupt(format!(
                "{}: header says it starts at event {}",
                path.display(),
                scan.first_seq
            )));
        }
        if scan.first_seq > replayer.last_seq + 1 {
            return Err(corrupt(format!(
                "journal gap: the state ends at event {}, {} starts at {}",
                replayer.last_seq,
                path.display(),
                scan.first_seq
            )));
        }
        report.segments_read += 1;
        while let Some(event) = scan.next_event().map_err(at)? {
            if event.seq <= replayer.last_seq {
                continue;
            }
            if until.is_some_and(|u| event.seq > u) {
                break;
            }
            apply_scanned(&mut replayer, event, scan.stamp.take()).map_err(at)?;
            report.events_replayed += 1;
        }
        if let Some(Stop::Torn { offset, reason }) = scan.stop {
            if !is_last {
                return Err(corrupt(format!(
                    "{}: {reason} at offset {offset}, and later segments exist",
                    path.display()
                )));
            }
            if until.is_none() {
                report.torn_tail = Some(TornTail {
                    segment: path.clone(),
                    offset: offset as u64,
                    bytes_dropped: (bytes.len() - offset) as u64,
                    reason: reason.into(),
                });
                if repair {
                    let f = FsOpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(|e| io("open", path, e))?;
                    f.set_len(offset as u64).map_err(|e| io("truncate", path, e))?;
                    f.sync_all().map_err(|e| io("sync", path, e))?;
                }
            }
        }
    }
    if let Some(u) = until {
        if replayer.last_seq < u {
            return Err(corrupt(format!(
                "the journal ends at event {}, before {u}",
                replayer.last_seq
            )));
        }
    }
    report.last_seq = replayer.last_seq;
    Ok((replayer, report))
}

/// Apply one event read from a segment, with the request key stamp its record carried.
fn apply_scanned(
    replayer: &mut Replayer,
    event: Event,
    stamp: Option<crate::events::RequestStamp>,
) -> Result<()> {
    let at_time = event.at;
    replayer.apply(event)?;
    if let Some(stamp) = stamp {
        replayer.engine.request_keys.restore(stamp, at_time);
    }
    Ok(())
}

/// Every journaled event still on disk in `dir`, in sequence order: the journal after the
/// oldest kept snapshot (older events were compacted into it). For audit and data frames.
/// Reading a directory that is open elsewhere is safe; it ends at the last complete record.
///
/// The card key is taken from the environment if it is set there: segments are then checked
/// against it, and format-1 segments (plain card numbers) need it to be read at all (their
/// numbers come out hashed and masked, as in the current format).
pub fn read_journal(dir: impl AsRef<Path>) -> Result<JournalReader> {
    let dir = dir.as_ref();
    let key = CardKey::from_env()?;
    let segments = list(dir, "seg-", ".hyj")?;
    Ok(JournalReader {
        segments: segments.into_iter().map(|(_, p)| p).collect(),
        next_segment: 0,
        events: Vec::new().into_iter(),
        last: None,
        done: false,
        key,
    })
}

/// Iterator over journaled events; yields an error (then stops) on corruption.
pub struct JournalReader {
    key: Option<CardKey>,
    segments: Vec<PathBuf>,
    next_segment: usize,
    events: std::vec::IntoIter<Event>,
    last: Option<u64>,
    done: bool,
}

impl JournalReader {
    fn load_next(&mut self) -> Result<bool> {
        let Some(path) = self.segments.get(self.next_segment).cloned() else { return Ok(false) };
        self.next_segment += 1;
        let is_last = self.next_segment == self.segments.len();
        let bytes = std::fs::read(&path).map_err(|e| io("read", &path, e))?;
        let Some(mut scan) = SegmentScan::new(&bytes, self.key.as_ref()).map_err(|e| match e {
            Error::Durability(m) => corrupt(format!("{}: {m}", path.display())),
            e => e,
        })?
        else {
            return if is_last {
                Ok(false)
            } else {
                Err(corrupt(format!("{}: damaged segment header", path.display())))
            };
        };
        let mut events = Vec::new();
        while let Some(e) =
            scan.next_event().map_err(|e| corrupt(format!("{}: {e}", path.display())))?
        {
            events.push(e);
        }
        if let (Some(Stop::Torn { offset, reason }), false) = (&scan.stop, is_last) {
            return Err(corrupt(format!("{}: {reason} at offset {offset}", path.display())));
        }
        if let (Some(last), Some(first)) = (self.last, events.first()) {
            if first.seq > last + 1 {
                return Err(corrupt(format!(
                    "journal gap between events {last} and {}",
                    first.seq
                )));
            }
        }
        self.events = events.into_iter();
        Ok(true)
    }
}

impl Iterator for JournalReader {
    type Item = Result<Event>;
    fn next(&mut self) -> Option<Result<Event>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(e) = self.events.next() {
                // Segments may overlap a kept snapshot's range; never yield an event twice.
                if self.last.is_some_and(|l| e.seq <= l) {
                    continue;
                }
                self.last = Some(e.seq);
                return Some(Ok(e));
            }
            match self.load_next() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Fuzzing and corruption tests: decode a journal segment's bytes as recovery does. Returns
/// the events up to a torn tail, or the error recovery would report. Never panics.
#[cfg(feature = "fuzz-hooks")]
pub fn fuzz_decode_segment(bytes: &[u8]) -> Result<Vec<Event>> {
    let key = fuzz_key();
    let mut scan =
        SegmentScan::new(bytes, Some(&key))?.ok_or_else(|| corrupt("damaged segment header"))?;
    let mut out = Vec::new();
    while let Some(e) = scan.next_event()? {
        out.push(e);
    }
    // Replay them as recovery would (into a fresh engine), to exercise `apply` too.
    let mut r = Replayer::fresh(
        EngineConfig::default().with_card_key(key.clone()),
        ClockKind::Manual(crate::time::Timestamp(0)),
    )?;
    r.last_seq = out.first().map_or(r.last_seq, |e| e.seq.saturating_sub(1));
    for e in out.iter().cloned() {
        r.apply(e)?;
    }
    r.finish()?;
    Ok(out)
}

/// Fuzzing: decode a snapshot file's bytes and rebuild an engine from it. Never panics.
#[cfg(feature = "fuzz-hooks")]
pub fn fuzz_decode_snapshot(bytes: &[u8]) -> Result<u64> {
    let key = fuzz_key();
    let state = decode_snapshot(bytes, &key)?.map_err(corrupt)?;
    let seq = state.seq;
    state.restore(ClockKind::Manual(crate::time::Timestamp(0)), &key)?.finish()?;
    Ok(seq)
}

/// Fuzzing: the payload bytes of a snapshot decoded without its checksum, so a fuzzer reaches
/// the decoder and the restore checks rather than stopping at the CRC.
#[cfg(feature = "fuzz-hooks")]
pub fn fuzz_decode_snapshot_payload(payload: &[u8]) -> Result<u64> {
    let state: State = codec::decode(payload)?;
    let seq = state.seq;
    state.restore(ClockKind::Manual(crate::time::Timestamp(0)), &fuzz_key())?.finish()?;
    Ok(seq)
}

/// Fuzzing: frame raw bytes as one journal segment of `format` (2: MessagePack records, 3:
/// postcard; valid header and checksums) so a fuzzer reaches that format's event decoder and
/// replay. Another format is an error.
#[cfg(feature = "fuzz-hooks")]
pub fn fuzz_segment_from_payloads(
    format: u16,
    first_seq: u64,
    payloads: &[&[u8]],
) -> Result<Vec<u8>> {
    if !(2..=codec::FORMAT_CURRENT).contains(&format) {
        return Err(Error::invalid(format!("format {format}: 2 ..= {}", codec::FORMAT_CURRENT)));
    }
    let mut out = codec::segment_header_of(format, first_seq, &fuzz_key().check_value()).to_vec();
    for p in payloads {
        let len = (p.len() as u32).to_le_bytes();
        let crc = crc32c::crc32c_append(crc32c::crc32c(&len), p);
        out.extend_from_slice(&len);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(p);
    }
    Ok(out)
}

/// The card key of the fuzzing entry points: fixed, so that the segments
/// `fuzz_segment_from_payloads` frames are readable by `fuzz_decode_segment`.
#[cfg(feature = "fuzz-hooks")]
fn fuzz_key() -> CardKey {
    CardKey::from_bytes(&[0x5a; 32]).expect("32 bytes")
}

// Here rather than in engine.rs: the digest is the snapshot's state, and the engine module
// must not import durability (which imports it).
impl Engine {
    /// A 32-byte BLAKE3 digest of the engine's whole state — registry, patients and their cards'
    /// keyed digests, bookings, slots and their counters, waitlists, lotteries — leaving out
    /// only the clock, the event sequence number and the load board (board.rs). Two engines with the same digest hold the
    /// same state: compare a recovered or standby copy with its primary. Take it while no call
    /// is in flight (a racing operation may be half in it); equal card keys are needed for equal
    /// digests, since cards are kept as keyed digests.
    ///
    /// BLAKE3 over the MessagePack of what a snapshot holds.
    pub fn state_digest(&self) -> Result<[u8; 32]> {
        let mut state = State::capture_engine(self, 0, crate::time::Timestamp(0), Vec::new());
        // The load board's queues and paces are measurements derived from the lifecycle, not
        // allocation state: left out, so that digests compare as before the board existed
        // (a format-2 directory's digest is pinned by a test). `load_board` compares them.
        state.board.clear();
        let mut digest = blake3::Hasher::new();
        digest.update(&codec::encode(&state)?);
        // Request keys are state (they decide a retry's outcome); none leaves the digest as
        // it was before they existed.
        if !state.request_keys.is_empty() {
            digest.update(&codec::encode(&state.request_keys)?);
        }
        Ok(*digest.finalize().as_bytes())
    }
}

/// Tests: the whole state of a quiescent engine as text (everything a snapshot holds, minus the
/// clock and sequence number), to compare an engine with its recovered copy.
#[cfg(feature = "fuzz-hooks")]
pub fn debug_state(engine: &Engine) -> String {
    format!("{:#?}", State::capture_engine(engine, 0, crate::time::Timestamp(0), Vec::new()))
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<DurableEngine>();
    is::<Arc<DurableEngine>>();
}
