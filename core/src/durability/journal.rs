//! The segmented append-only journal: a writer thread with group commit, and the reader.
//!
//! Emitting threads encode and checksum their event (in parallel, under their patient lock —
//! cheap) and hand the frame to one writer thread over a bounded channel. The writer appends
//! frames **in sequence order**: a frame that arrives before a smaller sequence number waits in
//! a small reorder buffer (the gap closes within microseconds: numbering and recording are
//! adjacent in `EventBus::emit`). A segment is therefore a gap-free run of sequence numbers,
//! and the durable point is simply the last sequence number written before the last fsync.
//!
//! `sync`: each round the writer takes *everything* queued, writes it with one `write` and makes
//! it durable with one `fdatasync`, then wakes every waiter whose sequence number is covered.
//! Operations that arrive during an fsync form the next batch — group commit, with no timer.
//! `buffered`: the same writer, but acknowledgements do not wait, and fsync runs on an interval.

use super::codec::{self, corrupt, Frame, HeaderProblem};
use crate::cards::{CardKey, KEY_CHECK_LEN};
use crate::error::{Error, Result};
use crate::events::{DurableCallback, Event, EventSink, RequestStamp};
use crate::metrics::{JournalMetrics, ReplicationMetrics, FSYNC_BUCKETS_S};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::{Condvar, Mutex};
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A segment is sealed and a new one started past this size.
pub(crate) const SEGMENT_BYTES: u64 = 64 << 20;
/// Frames queued for the writer before emitting threads wait (back-pressure, bounded memory).
const QUEUE_MAX: usize = 1 << 16;
/// Bytes written per round at most, so waiters are woken regularly under a flood.
const BATCH_BYTES_MAX: usize = 8 << 20;

pub(crate) fn segment_name(first_seq: u64) -> String {
    format!("seg-{first_seq:020}.hyj")
}

pub(crate) fn snapshot_name(seq: u64) -> String {
    format!("snap-{seq:020}.hys")
}

/// Numbered files of a kind in the directory, sorted by number.
pub(crate) fn list(dir: &Path, prefix: &str, suffix: &str) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io("list", dir, e))? {
        let entry = entry.map_err(|e| io("list", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = name
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(suffix))
            .and_then(|n| n.parse::<u64>().ok())
        {
            out.push((n, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

pub(crate) fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Durability(format!("cannot {what} {}: {e}", path.display()))
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io("sync directory", dir, e))
}

/// Create a segment file holding only its header (current format, with the card key's check
/// value), durable.
pub(crate) fn create_segment(
    dir: &Path,
    first_seq: u64,
    key_check: &[u8; KEY_CHECK_LEN],
) -> Result<File> {
    let path = dir.join(segment_name(first_seq));
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .map_err(|e| io("create", &path, e))?;
    f.write_all(&codec::segment_header(first_seq, key_check)).map_err(|e| io("write", &path, e))?;
    f.sync_all().map_err(|e| io("sync", &path, e))?;
    sync_dir(dir)?;
    Ok(f)
}

// ------------------------------------------------------------------ reading

/// Decode one checksummed frame payload of a segment of `version`. Format 1 needs the card key
/// to turn a card number into its digest and masked form (`format1.rs`); format 2 is
/// MessagePack of the event (`codec.rs`), format 3 postcard (`record.rs`).
fn decode_event(
    version: u16,
    payload: &[u8],
    key: Option<&CardKey>,
) -> Result<(Event, Option<RequestStamp>)> {
    match version {
        1 => super::format1::decode_event(payload, key).map(|e| (e, None)),
        2 => codec::decode(payload).map(|e| (e, None)),
        _ => super::record::decode(version, payload),
    }
}

/// Where a scan of one segment stopped.
#[derive(Debug, PartialEq)]
pub(crate) enum Stop {
    /// The data ended cleanly.
    End,
    /// Damage at `offset` with nothing valid after it: a torn tail.
    Torn { offset: usize, reason: &'static str },
}

/// Reads the events of one segment, in order, from its bytes.
pub(crate) struct SegmentScan<'a> {
    buf: &'a [u8],
    pos: usize,
    pub first_seq: u64,
    /// The segment's format version (see `codec.rs`).
    version: u16,
    /// Format 1 needs it to hash card numbers; later formats are checked against it.
    key: Option<&'a CardKey>,
    expected: u64,
    pub stop: Option<Stop>,
    /// The request key's stamp of the event `next_event` returned last, if it ended a keyed
    /// request (format 4 on).
    pub stamp: Option<RequestStamp>,
}

impl<'a> SegmentScan<'a> {
    /// `Ok(None)` when the header itself is missing or damaged; an error for a format this
    /// build does not read or a segment written under another card key than `key`.
    pub fn new(buf: &'a [u8], key: Option<&'a CardKey>) -> Result<Option<SegmentScan<'a>>> {
        let h = match codec::parse_segment_header(buf) {
            Ok(h) => h,
            Err(HeaderProblem::Damaged(_)) => return Ok(None),
            Err(HeaderProblem::Unsupported(v)) => {
                return Err(codec::unsupported("the journal segment", v))
            }
        };
        if let Some(key) = key {
            codec::check_key(h.key_check, key)?;
        }
        Ok(Some(SegmentScan {
            buf,
            pos: h.len,
            first_seq: h.first_seq,
            version: h.version,
            key,
            expected: h.first_seq,
            stop: None,
            stamp: None,
        }))
    }

    /// Continue a scan begun earlier: the bytes after the header start at the record of event
    /// `expected` (a follower reads only what was appended since its last read, see
    /// `standby.rs`).
    pub fn resume_at(&mut self, expected: u64) {
        self.expected = expected;
    }

    /// Byte offset (in the scanned buffer) of the next record to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The sequence number the next record must carry.
    pub fn next_seq(&self) -> u64 {
        self.expected
    }

    /// The next event, `Ok(None)` at the end or at a torn tail (see `stop`), or an error for
    /// damage with valid records after it, or a checksummed record that is not the next event.
    pub fn next_event(&mut self) -> Result<Option<Event>> {
        if self.stop.is_some() {
            return Ok(None);
        }
        match codec::read_frame(self.buf, self.pos) {
            Frame::End => {
                self.stop = Some(Stop::End);
                Ok(None)
            }
            Frame::Bad(reason) => match codec::valid_frame_after(self.buf, self.pos) {
                Some(next) => Err(corrupt(format!(
                    "journal corrupt in the middle: {reason} at offset {}, yet a valid record follows at offset {next}",
                    self.pos
                ))),
                None => {
                    self.stop = Some(Stop::Torn { offset: self.pos, reason });
                    Ok(None)
                }
            },
            Frame::Ok(payload, end) => {
                let (event, stamp) = decode_event(self.version, payload, self.key).map_err(|e| match e {
                    Error::Durability(e) => corrupt(format!("checksummed record at offset {} does not decode: {e}", self.pos)),
                    e => e,
                })?;
                if event.seq != self.expected {
                    return Err(corrupt(format!("record at offset {} is event {}, expected {}", self.pos, event.seq, self.expected)));
                }
                self.expected += 1;
                self.pos = end;
                self.stamp = stamp;
                Ok(Some(event))
            }
        }
    }
}

// ------------------------------------------------------------------ writing

/// How durable an acknowledged operation is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Pure memory (simulations): nothing is written; `open` still recovers a directory.
    None,
    /// A background writer appends every event; fsync runs every `interval`, and sooner when
    /// the unflushed records reach half of `OpenOptions::max_unflushed`. Acknowledgements do not
    /// wait for the fsync, except that no operation is acknowledged more than `max_unflushed`
    /// records ahead of it: a crash loses at most that many acknowledged records (default
    /// 4096), whatever the load or the scheduling of the writer.
    Buffered {
        /// Longest time between fsyncs while records wait, clamped to 1 ms ..= 1 h: how old an
        /// acknowledged but not yet durable record can grow when the load is light.
        interval: Duration,
    },
    /// An operation is acknowledged only once its events are fsynced; concurrent operations
    /// share one fsync (group commit).
    Sync,
}

enum Msg {
    Record(u64, Result<Vec<u8>>),
    /// Seal the current segment; reply with the last sequence number it holds.
    Rotate(Sender<Result<u64>>),
    /// Write and fsync what is queued; reply when done.
    Flush(Sender<Result<u64>>),
}

#[derive(Default)]
struct Progress {
    /// The acknowledged point: `local`, and in `AckAfterFollower` replication also at most
    /// `follower_acked`.
    durable: u64,
    /// The last sequence number fsynced into this directory.
    local: u64,
    /// Replication in `AckAfterFollower` mode (`ship.rs`): acknowledgements wait for a follower.
    need_follower: bool,
    /// The highest sequence number a follower reported fsynced in its own directory (starts
    /// at the journal's end when it opened: what came before was acknowledged by the run that
    /// wrote it).
    follower_acked: u64,
    /// The highest sequence number a follower reported in this run (0: none yet), for metrics.
    follower_heard: u64,
    /// Acknowledgements that gave up waiting for a follower (`AckAfterFollower`).
    ack_timeouts: u64,
    failed: Option<String>,
    /// fsyncs done and events made durable by them (events per fsync = group commit width).
    fsyncs: u64,
    /// Operator metrics (`metrics.rs`): bytes appended, fsync latency histogram.
    bytes_written: u64,
    fsync_buckets: [u64; FSYNC_BUCKETS_S.len() + 1],
    fsync_seconds_sum: f64,
    fsync_seconds_max: f64,
    /// `on_durable` callbacks waiting for their sequence number, the smallest first. Bounded
    /// by what the hosts have in flight; each is run once, by the writer, outside the lock.
    callbacks: BinaryHeap<Callback>,
}

/// A callback of `EventSink::on_durable`, ordered by its sequence number (smallest on top).
struct Callback {
    seq: u64,
    done: DurableCallback,
    /// When it was registered: `AckAfterFollower` fails it after the acknowledgement timeout.
    since: Instant,
}

impl PartialEq for Callback {
    fn eq(&self, other: &Callback) -> bool {
        self.seq == other.seq
    }
}
impl Eq for Callback {}
impl PartialOrd for Callback {
    fn partial_cmp(&self, other: &Callback) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Callback {
    fn cmp(&self, other: &Callback) -> std::cmp::Ordering {
        other.seq.cmp(&self.seq) // reversed: BinaryHeap is a max-heap
    }
}

impl Progress {
    /// Recompute the acknowledged point from the local one and the follower's.
    fn settle(&mut self) {
        self.durable =
            if self.need_follower { self.local.min(self.follower_acked) } else { self.local };
    }

    /// The callbacks now due: all of them with the failure once the journal failed, else those
    /// whose sequence number is durable. The caller runs them after releasing the lock.
    fn due(&mut self) -> Vec<(DurableCallback, Result<()>)> {
        let mut due = Vec::new();
        while let Some(top) = self.callbacks.peek() {
            let result = match &self.failed {
                Some(msg) => Err(Error::Durability(msg.clone())),
                None if top.seq <= self.durable => Ok(()),
                None => break,
            };
            let cb = self.callbacks.pop().expect("peeked");
            due.push((cb.done, result));
        }
        due
    }
}

fn run_callbacks(due: Vec<(DurableCallback, Result<()>)>) {
    for (done, result) in due {
        done(result);
    }
}

pub(crate) struct Shared {
    progress: Mutex<Progress>,
    cond: Condvar,
    /// `AckAfterFollower`: how long an acknowledgement waits for a follower.
    ack_timeout: Option<Duration>,
    /// A replication listener serves this journal (`ship.rs`), with this many followers.
    pub(crate) replicating: AtomicBool,
    pub(crate) followers: AtomicUsize,
}

impl Shared {
    /// The last sequence number fsynced locally (what the leader ships), or the failure.
    pub(crate) fn local_durable(&self) -> Result<u64> {
        let p = self.progress.lock();
        match &p.failed {
            Some(msg) => Err(Error::Durability(msg.clone())),
            None => Ok(p.local),
        }
    }

    /// Wait up to `timeout` for the local durable point to pass `seen`.
    pub(crate) fn wait_local(&self, seen: u64, timeout: Duration) {
        let mut p = self.progress.lock();
        if p.local <= seen && p.failed.is_none() {
            self.cond.wait_for(&mut p, timeout);
        }
    }

    /// A follower has fsynced everything up to `seq` into its own directory.
    pub(crate) fn follower_acked(&self, seq: u64) {
        let due = {
            let mut p = self.progress.lock();
            p.follower_heard = p.follower_heard.max(seq);
            if seq <= p.follower_acked {
                return;
            }
            p.follower_acked = seq;
            p.settle();
            p.due()
        };
        self.cond.notify_all();
        run_callbacks(due);
    }

    /// `AckAfterFollower`: fail the `on_durable` callbacks that waited longer than the
    /// acknowledgement timeout for a follower (their operations are not acknowledged).
    pub(crate) fn expire_callbacks(&self) {
        let Some(timeout) = self.ack_timeout else { return };
        let due = {
            let mut p = self.progress.lock();
            if p.callbacks.is_empty() {
                return;
            }
            let (old, keep): (Vec<Callback>, Vec<Callback>) =
                p.callbacks.drain().partition(|c| c.since.elapsed() >= timeout);
            p.callbacks = keep.into_iter().collect();
            p.ack_timeouts += old.len() as u64;
            old.into_iter().map(|c| (c.done, Err(no_follower(c.seq, timeout)))).collect::<Vec<_>>()
        };
        run_callbacks(due);
    }
}

fn no_follower(seq: u64, timeout: Duration) -> Error {
    Error::Durability(format!(
        "no follower acknowledged event {seq} within {timeout:?} (replication mode \
         AckAfterFollower): the operation is durable on the leader but not acknowledged"
    ))
}

/// The engine's [`EventSink`]: hands frames to the writer, waits for the durable point.
pub(crate) struct JournalSink {
    tx: Sender<Msg>,
    shared: Arc<Shared>,
    sync: bool,
    /// `Buffered`: how far an acknowledged operation may run ahead of the durable point.
    max_unflushed: u64,
}

impl EventSink for JournalSink {
    fn record(&self, event: &Event) {
        // A send fails only once the writer is gone; `wait_durable` reports that.
        let _ = self.tx.send(Msg::Record(event.seq, super::record::encode_frame(event, None)));
    }

    fn record_stamped(&self, event: &Event, stamp: &RequestStamp) {
        let frame = super::record::encode_frame(event, Some(stamp));
        let _ = self.tx.send(Msg::Record(event.seq, frame));
    }

    fn wait_durable(&self, seq: u64) -> Result<()> {
        let mut deadline: Option<Instant> = None;
        let mut p = self.shared.progress.lock();
        loop {
            if let Some(msg) = &p.failed {
                return Err(Error::Durability(msg.clone()));
            }
            let needed = if self.sync { seq } else { seq.saturating_sub(self.max_unflushed) };
            if p.durable >= needed {
                return Ok(());
            }
            match (self.shared.ack_timeout, p.need_follower) {
                (Some(timeout), true) => {
                    let deadline = *deadline.get_or_insert_with(|| Instant::now() + timeout);
                    if self.shared.cond.wait_until(&mut p, deadline).timed_out()
                        && p.durable < needed
                        && p.failed.is_none()
                    {
                        p.ack_timeouts += 1;
                        return Err(no_follower(seq, timeout));
                    }
                }
                _ => self.shared.cond.wait(&mut p),
            }
        }
    }

    fn durable_seq(&self) -> u64 {
        self.shared.progress.lock().durable
    }

    fn metrics(&self) -> Option<JournalMetrics> {
        let p = self.shared.progress.lock();
        Some(JournalMetrics {
            queue_depth: self.tx.len(),
            queue_capacity: QUEUE_MAX,
            fsyncs: p.fsyncs,
            bytes_written: p.bytes_written,
            fsync_buckets: p.fsync_buckets.to_vec(),
            fsync_seconds_sum: p.fsync_seconds_sum,
            fsync_seconds_max: p.fsync_seconds_max,
            failed: p.failed.is_some(),
            replication: self.shared.replicating.load(Ordering::Relaxed).then(|| {
                ReplicationMetrics {
                    mode: if self.shared.ack_timeout.is_some() {
                        "ack_after_follower"
                    } else {
                        "async"
                    }
                    .into(),
                    followers: self.shared.followers.load(Ordering::Relaxed) as u64,
                    follower_acked_seq: p.follower_heard,
                    unreplicated_events: p.local.saturating_sub(p.follower_heard),
                    ack_timeouts: p.ack_timeouts,
                }
            }),
        })
    }

    fn on_durable(&self, seq: u64, done: DurableCallback) {
        let due = {
            let mut p = self.shared.progress.lock();
            p.callbacks.push(Callback { seq, done, since: Instant::now() });
            // Already durable (or failed): run it here rather than wait for the next fsync.
            p.due()
        };
        run_callbacks(due);
    }
}

/// The writer thread's handle.
pub(crate) struct Journal {
    tx: Sender<Msg>,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    sync: bool,
    max_unflushed: u64,
}

impl Journal {
    /// Start writing at `next_seq` into a new segment of `dir`; every segment header carries
    /// `key_check`, the card key's check value.
    pub fn start(
        dir: &Path,
        next_seq: u64,
        mode: Durability,
        key_check: [u8; KEY_CHECK_LEN],
        max_unflushed: u64,
        ack_timeout: Option<Duration>,
    ) -> Result<Journal> {
        assert!(max_unflushed >= 1, "validated by DurableEngine::open");
        let interval = match mode {
            Durability::None => return Err(Error::invalid("no journal in Durability::None")),
            Durability::Buffered { interval } => {
                Some(interval.clamp(Duration::from_millis(1), Duration::from_secs(3600)))
            }
            Durability::Sync => None,
        };
        let file = create_segment(dir, next_seq, &key_check)?;
        let (tx, rx) = crossbeam_channel::bounded(QUEUE_MAX);
        let shared = Arc::new(Shared {
            progress: Mutex::new(Progress {
                durable: next_seq - 1,
                local: next_seq - 1,
                need_follower: ack_timeout.is_some(),
                follower_acked: next_seq - 1,
                ..Progress::default()
            }),
            cond: Condvar::new(),
            ack_timeout,
            replicating: AtomicBool::new(false),
            followers: AtomicUsize::new(0),
        });
        let mut w = Writer {
            dir: dir.to_path_buf(),
            file,
            file_len: codec::SEGMENT_HEADER_LEN as u64,
            key_check,
            next: next_seq,
            pending: BTreeMap::new(),
            buf: Vec::with_capacity(1 << 20),
            written: next_seq - 1,
            durable: next_seq - 1,
            shared: shared.clone(),
            interval,
            last_sync: Instant::now(),
            sync_lag: (max_unflushed / 2).max(1),
        };
        let thread = std::thread::Builder::new()
            .name("haoyuan-journal".into())
            .spawn(move || w.run(rx))
            .map_err(|e| Error::Durability(format!("cannot start the journal writer: {e}")))?;
        Ok(Journal {
            tx,
            shared,
            thread: Mutex::new(Some(thread)),
            sync: interval.is_none(),
            max_unflushed,
        })
    }

    pub fn sink(&self) -> Arc<JournalSink> {
        Arc::new(JournalSink {
            tx: self.tx.clone(),
            shared: self.shared.clone(),
            sync: self.sync,
            max_unflushed: self.max_unflushed,
        })
    }

    fn ask(&self, make: impl FnOnce(Sender<Result<u64>>) -> Msg) -> Result<u64> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.tx
            .send(make(tx))
            .map_err(|_| Error::Durability("the journal writer stopped".into()))?;
        rx.recv().map_err(|_| Error::Durability("the journal writer stopped".into()))?
    }

    /// Seal the current segment; returns the last sequence number in sealed segments.
    pub fn rotate(&self) -> Result<u64> {
        self.ask(Msg::Rotate)
    }

    /// Make everything recorded so far durable (whatever the mode).
    pub fn flush(&self) -> Result<u64> {
        self.ask(Msg::Flush)
    }

    /// (fsyncs so far, locally durable sequence number).
    pub fn stats(&self) -> (u64, u64) {
        let p = self.shared.progress.lock();
        (p.fsyncs, p.local)
    }

    /// The progress shared with the writer (for the replication server, `ship.rs`).
    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Flush and stop the writer. Idempotent.
    pub fn close(&self) -> Result<()> {
        let result = if self.thread.lock().is_some() { self.flush().map(|_| ()) } else { Ok(()) };
        // Dropping our sender is not enough (the engine's sink holds one): the writer exits on
        // a poisoned progress, which close sets after the final flush.
        let due = {
            let mut p = self.shared.progress.lock();
            if p.failed.is_none() {
                p.failed = Some("the journal is closed".into());
            }
            p.due()
        };
        self.shared.cond.notify_all();
        run_callbacks(due);
        let _ = self.tx.send(Msg::Flush(crossbeam_channel::bounded(1).0));
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
        result
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

struct Writer {
    dir: PathBuf,
    file: File,
    file_len: u64,
    /// The card key's check value, for the headers of new segments.
    key_check: [u8; KEY_CHECK_LEN],
    /// The next sequence number to append.
    next: u64,
    /// Frames that arrived before a smaller sequence number.
    pending: BTreeMap<u64, Vec<u8>>,
    buf: Vec<u8>,
    written: u64,
    durable: u64,
    shared: Arc<Shared>,
    interval: Option<Duration>,
    last_sync: Instant,
    /// `Buffered`: fsync early once this many appended records are not yet durable, so that
    /// operations rarely reach the acknowledgement bound and wait.
    sync_lag: u64,
}

impl Writer {
    fn run(&mut self, rx: Receiver<Msg>) {
        let mut replies: Vec<(bool, Sender<Result<u64>>)> = Vec::new();
        loop {
            let first = match self.interval {
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(i) => rx.recv_timeout(
                    i.saturating_sub(self.last_sync.elapsed()).max(Duration::from_micros(100)),
                ),
            };
            let mut msgs = match first {
                Ok(m) => vec![m],
                Err(RecvTimeoutError::Timeout) => Vec::new(),
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.write_and_sync(true);
                    return;
                }
            };
            msgs.extend(rx.try_iter().take(QUEUE_MAX));
            for m in msgs {
                match m {
                    Msg::Record(seq, frame) => match frame {
                        Ok(f) => self.accept(seq, f),
                        Err(e) => {
                            self.fail(e.to_string());
                        }
                    },
                    Msg::Rotate(reply) => replies.push((true, reply)),
                    Msg::Flush(reply) => replies.push((false, reply)),
                }
                if self.buf.len() >= BATCH_BYTES_MAX {
                    let _ = self.write_and_sync(self.interval.is_none());
                }
            }
            let lagging = (self.next - 1).saturating_sub(self.durable) >= self.sync_lag;
            let force = !replies.is_empty()
                || lagging
                || self.interval.is_none_or(|i| self.last_sync.elapsed() >= i);
            let result = self.write_and_sync(force);
            for (rotate, reply) in replies.drain(..) {
                let r = match (&result, rotate) {
                    (Err(e), _) => Err(e.clone()),
                    (Ok(()), true) => self.rotate(),
                    (Ok(()), false) => Ok(self.durable),
                };
                let _ = reply.send(r);
            }
            if self.shared.progress.lock().failed.is_some() {
                return;
            }
            if self.file_len >= SEGMENT_BYTES {
                if let Err(e) = self.rotate() {
                    self.fail(e.to_string());
                }
            }
        }
    }

    fn accept(&mut self, seq: u64, frame: Vec<u8>) {
        if seq < self.next {
            return; // cannot happen: sequence numbers are unique
        }
        if seq == self.next && self.pending.is_empty() {
            self.buf.extend_from_slice(&frame);
            self.next += 1;
            return;
        }
        self.pending.insert(seq, frame);
        while let Some(f) = self.pending.remove(&self.next) {
            self.buf.extend_from_slice(&f);
            self.next += 1;
        }
    }

    /// Append the buffer; fsync if `sync`; publish the durable point.
    fn write_and_sync(&mut self, sync: bool) -> Result<()> {
        if let Some(msg) = &self.shared.progress.lock().failed {
            return Err(Error::Durability(msg.clone()));
        }
        if !self.buf.is_empty() {
            if let Err(e) = self.file.write_all(&self.buf) {
                return Err(self.fail(format!("journal write failed: {e}")));
            }
            self.file_len += self.buf.len() as u64;
            self.shared.progress.lock().bytes_written += self.buf.len() as u64;
            self.buf.clear();
            self.written = self.next - 1;
        }
        if sync && self.written > self.durable {
            // fdatasync; after a failure the page cache state is unknown, so the journal is
            // poisoned rather than retried (the fsync-gate lesson).
            let began = Instant::now();
            if let Err(e) = self.file.sync_data() {
                return Err(self.fail(format!("journal fsync failed: {e}")));
            }
            self.durable = self.written;
            self.last_sync = Instant::now();
            let took = (self.last_sync - began).as_secs_f64();
            let due = {
                let mut p = self.shared.progress.lock();
                p.local = self.durable;
                p.settle();
                p.fsyncs += 1;
                let bucket = FSYNC_BUCKETS_S
                    .iter()
                    .position(|&b| took <= b)
                    .unwrap_or(FSYNC_BUCKETS_S.len());
                p.fsync_buckets[bucket] += 1;
                p.fsync_seconds_sum += took;
                p.fsync_seconds_max = p.fsync_seconds_max.max(took);
                p.due()
            };
            self.shared.cond.notify_all();
            run_callbacks(due);
        } else if sync {
            self.last_sync = Instant::now();
        }
        Ok(())
    }

    /// Seal the current segment (already synced by the caller) and start the next.
    fn rotate(&mut self) -> Result<u64> {
        self.write_and_sync(true)?;
        let sealed = self.written;
        match create_segment(&self.dir, self.next, &self.key_check) {
            Ok(f) => {
                self.file = f;
                self.file_len = codec::SEGMENT_HEADER_LEN as u64;
                Ok(sealed)
            }
            Err(e) => Err(self.fail(e.to_string())),
        }
    }

    fn fail(&self, msg: String) -> Error {
        let mut p = self.shared.progress.lock();
        if p.failed.is_none() {
            p.failed = Some(msg.clone());
        }
        let due = p.due();
        drop(p);
        self.shared.cond.notify_all();
        run_callbacks(due);
        Error::Durability(msg)
    }
}
