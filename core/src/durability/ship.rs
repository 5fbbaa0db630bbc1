//! Journal shipping: a leader serves its journal over TCP to stream followers on other
//! machines ([`Standby::connect`](super::Standby::connect)), and the mode where the leader
//! acknowledges only what a follower has.
//!
//! # Why ship the segment frames
//! A follower on another machine cannot read the leader's directory. The journal is already a
//! gap-free run of CRC-32C framed records, so the wire carries exactly the bytes on disk: the
//! leader reads its own segment files (never the writer's memory: what it ships is what a
//! restart would recover), the follower checks every frame as recovery does and appends it to
//! segments of its own directory with the same header. Its directory is then an ordinary
//! durable directory: it survives the follower's restart (it asks for what follows its last
//! complete record), and promotion is opening it as a leader. No new record format, no second
//! encoder to keep in step with `record.rs`.
//!
//! # Protocol (version [`SHIP_PROTOCOL_VERSION`])
//! The follower opens with `HYSHIP`, the protocol version (u16 LE) and the first sequence
//! number it needs (u64 LE). The leader answers with messages `tag u8, length u32 LE, body`:
//! `1` the directory's `config.json`; `2` a segment header (the follower starts a segment
//! there); `3` frames: their first sequence number (u64 LE) then the frames as on disk; `4`
//! refused: why, in words, then the connection closes; `5` heartbeat: the leader's durable
//! sequence number (u64 LE), sent when idle, so that the follower knows its lag. The follower
//! sends back, after each fsync of received frames, the last sequence number it holds (u64 LE).
//!
//! # Bounds
//! At most [`ReplicationOptions::max_followers`] followers; a further one is refused. The leader
//! holds at most [`ReplicationOptions::send_buffer_bytes`] (plus one record larger than that) in
//! memory per follower: the back-log is read from the segment files, not queued. A follower
//! that does not take a message within [`ReplicationOptions::send_timeout`] is cut off (told so
//! when the socket still takes it); it reconnects and resumes from its own directory. A
//! follower asking for records the leader's compaction removed is refused: it must be seeded
//! with a copy of the leader's directory (a snapshot and the journal after it) first.
//!
//! # Modes and their cost
//! [`ReplicationMode::Async`]: acknowledgements wait only for the local fsync (as without
//! replication); records are shipped once durable on the leader, so a follower on another
//! machine misses, when the leader's machine dies, what was acknowledged and not yet shipped:
//! at most what the leader had durable past the follower's last acknowledged sequence number
//! (its [`StandbyLag::records_behind`](super::StandbyLag) when it last heard from the leader).
//! [`ReplicationMode::AckAfterFollower`]: an operation is acknowledged (`wait_durable`,
//! `on_durable`, pipelined tickets, bulk calls) only once it is fsynced locally *and* a
//! follower has fsynced it in its own directory: one network round trip and the follower's
//! fsync more per group commit, nothing acknowledged lost when the leader's machine dies. With
//! no follower (or a follower too slow) the operation waits at most
//! [`ReplicationOptions::ack_timeout`], then fails with `Error::Durability`: it is durable on
//! the leader but **not acknowledged** (the host must not report it booked; a retry with the
//! same request key returns the first outcome once a follower is back). A platform that
//! chose this mode wants no acknowledgement a machine loss can take back, and blocking
//! forever would stall every request thread behind a dead network: a bounded wait and a clear
//! error lets the host answer "try again" and alert.

use super::codec::{self, read_frame, Frame, HeaderProblem};
use super::journal::{io, list, Durability, Shared};
use super::CONFIG_FILE;
use crate::error::{Error, Result};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The version of the shipping protocol spoken here.
pub const SHIP_PROTOCOL_VERSION: u16 = 1;
pub(crate) const HELLO_MAGIC: &[u8; 6] = b"HYSHIP";
pub(crate) const HELLO_LEN: usize = 16;
pub(crate) const MSG_CONFIG: u8 = 1;
pub(crate) const MSG_SEGMENT: u8 = 2;
pub(crate) const MSG_FRAMES: u8 = 3;
pub(crate) const MSG_REFUSED: u8 = 4;
pub(crate) const MSG_HEARTBEAT: u8 = 5;
/// Largest message body accepted (a record is at most `RECORD_LEN_MAX`).
pub(crate) const MSG_LEN_MAX: usize = codec::RECORD_LEN_MAX + (64 << 20);
const HEARTBEAT_EVERY: Duration = Duration::from_millis(50);

/// When a replicating leader acknowledges an operation. See the module documentation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReplicationMode {
    /// Once fsynced locally; followers receive records after that.
    Async,
    /// Once fsynced locally and fsynced by at least one follower.
    AckAfterFollower,
}

/// How a leader serves its journal to stream followers ([`super::OpenOptions::replicate`]).
#[derive(Clone, Debug)]
pub struct ReplicationOptions {
    /// Where to listen (`127.0.0.1:0`: a free loopback port, see
    /// [`super::DurableEngine::replication_addr`]).
    pub listen: SocketAddr,
    /// See [`ReplicationMode`].
    pub mode: ReplicationMode,
    /// Followers served at once, 1 ..= 64; default 4.
    pub max_followers: usize,
    /// Bytes of frames read for one follower per message, 64 KiB ..= 256 MiB; default 4 MiB.
    pub send_buffer_bytes: usize,
    /// A follower that does not take a message within this is cut off; default 5 s.
    pub send_timeout: Duration,
    /// `AckAfterFollower`: longest wait for a follower's acknowledgement; default 5 s.
    pub ack_timeout: Duration,
}

impl ReplicationOptions {
    /// Listen at `listen` in `mode`, the other bounds at their defaults.
    pub fn new(listen: SocketAddr, mode: ReplicationMode) -> ReplicationOptions {
        ReplicationOptions {
            listen,
            mode,
            max_followers: 4,
            send_buffer_bytes: 4 << 20,
            send_timeout: Duration::from_secs(5),
            ack_timeout: Duration::from_secs(5),
        }
    }

    /// See [`ReplicationOptions::ack_timeout`].
    pub fn ack_timeout(mut self, timeout: Duration) -> ReplicationOptions {
        self.ack_timeout = timeout;
        self
    }

    /// See [`ReplicationOptions::max_followers`].
    pub fn max_followers(mut self, n: usize) -> ReplicationOptions {
        self.max_followers = n;
        self
    }

    /// See [`ReplicationOptions::send_buffer_bytes`].
    pub fn send_buffer_bytes(mut self, n: usize) -> ReplicationOptions {
        self.send_buffer_bytes = n;
        self
    }

    pub(crate) fn validate(&self, durability: Durability) -> Result<()> {
        if durability == Durability::None {
            return Err(Error::invalid("replication needs a journal (not Durability::None)"));
        }
        if !(1..=64).contains(&self.max_followers) {
            return Err(Error::invalid("max_followers must be 1 ..= 64"));
        }
        if !((64 << 10)..=(256 << 20)).contains(&self.send_buffer_bytes) {
            return Err(Error::invalid("send_buffer_bytes must be 64 KiB ..= 256 MiB"));
        }
        let t = Duration::from_millis(1)..=Duration::from_secs(3600);
        if !t.contains(&self.send_timeout) || !t.contains(&self.ack_timeout) {
            return Err(Error::invalid("send_timeout and ack_timeout must be 1 ms ..= 1 h"));
        }
        Ok(())
    }

    pub(crate) fn ack_timeout_if_needed(&self) -> Option<Duration> {
        (self.mode == ReplicationMode::AckAfterFollower).then_some(self.ack_timeout)
    }
}

// ------------------------------------------------------------------ wire

pub(crate) fn write_msg(w: &mut impl Write, tag: u8, parts: &[&[u8]]) -> std::io::Result<()> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut head = [0u8; 5];
    head[0] = tag;
    head[1..].copy_from_slice(&(len as u32).to_le_bytes());
    w.write_all(&head)?;
    for p in parts {
        w.write_all(p)?;
    }
    w.flush()
}

/// Read one message; `Err(Durability)` for garbage (an unknown tag, a length past the limit).
pub(crate) fn read_msg(r: &mut impl Read) -> Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    r.read_exact(&mut head).map_err(net("read from the leader"))?;
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if !(MSG_CONFIG..=MSG_HEARTBEAT).contains(&head[0]) || len > MSG_LEN_MAX {
        return Err(codec::corrupt(format!(
            "the replication stream is garbage (message tag {}, length {len})",
            head[0]
        )));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).map_err(net("read from the leader"))?;
    Ok((head[0], body))
}

pub(crate) fn net(what: &'static str) -> impl Fn(std::io::Error) -> Error {
    move |e| Error::Durability(format!("replication: cannot {what}: {e}"))
}

pub(crate) fn hello(from_seq: u64) -> [u8; HELLO_LEN] {
    let mut h = [0u8; HELLO_LEN];
    h[..6].copy_from_slice(HELLO_MAGIC);
    h[6..8].copy_from_slice(&SHIP_PROTOCOL_VERSION.to_le_bytes());
    h[8..].copy_from_slice(&from_seq.to_le_bytes());
    h
}

// ------------------------------------------------------------------ leader

/// The listener and its followers' threads; stopping it (or dropping it) joins them all.
pub(crate) struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Ctx {
    dir: PathBuf,
    options: ReplicationOptions,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start(dir: &Path, options: ReplicationOptions, shared: Arc<Shared>) -> Result<Server> {
        let listener = TcpListener::bind(options.listen).map_err(net("listen"))?;
        listener.set_nonblocking(true).map_err(net("listen"))?;
        let addr = listener.local_addr().map_err(net("listen"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let ctx = Arc::new(Ctx {
            dir: dir.to_path_buf(),
            options,
            shared: shared.clone(),
            stop: stop.clone(),
        });
        let thread = std::thread::Builder::new()
            .name("haoyuan-ship".into())
            .spawn(move || accept_loop(listener, ctx))
            .map_err(|e| Error::Durability(format!("cannot start the replication server: {e}")))?;
        shared.replicating.store(true, Ordering::Relaxed);
        Ok(Server { addr, stop, shared, thread: Some(thread) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn followers(&self) -> usize {
        self.shared.followers.load(Ordering::SeqCst)
    }

    /// Ship what is durable to the connected followers, then close their connections.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.halt();
    }
}

fn accept_loop(listener: TcpListener, ctx: Arc<Ctx>) {
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    while !ctx.stop.load(Ordering::SeqCst) {
        ctx.shared.expire_callbacks();
        threads.retain(|t| !t.is_finished());
        match listener.accept() {
            Ok((stream, _)) => {
                let ctx2 = ctx.clone();
                if let Ok(t) = std::thread::Builder::new()
                    .name("haoyuan-ship-follower".into())
                    .spawn(move || serve(stream, &ctx2))
                {
                    threads.push(t);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    for t in threads {
        let _ = t.join();
    }
}

/// One follower's connection: refuse it, or count it and ship until it goes or the server stops.
fn serve(stream: TcpStream, ctx: &Ctx) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(ctx.options.send_timeout));
    let mut w = stream;
    let taken = ctx.shared.followers.fetch_add(1, Ordering::SeqCst);
    let result = if taken >= ctx.options.max_followers {
        Err(format!("the leader serves {} followers already", ctx.options.max_followers))
    } else {
        ship(&mut w, ctx)
    };
    ctx.shared.followers.fetch_sub(1, Ordering::SeqCst);
    if let Err(why) = result {
        let _ = write_msg(&mut w, MSG_REFUSED, &[why.as_bytes()]);
    }
    let _ = w.shutdown(Shutdown::Both);
}

/// Where the shipper reads next.
struct ReadCursor {
    file: File,
    path: PathBuf,
    offset: u64,
    next: u64,
}

fn ship(w: &mut TcpStream, ctx: &Ctx) -> std::result::Result<(), String> {
    let mut h = [0u8; HELLO_LEN];
    let _ = w.set_read_timeout(Some(Duration::from_secs(5)));
    w.read_exact(&mut h).map_err(|e| format!("no hello from the follower: {e}"))?;
    let version = u16::from_le_bytes([h[6], h[7]]);
    if &h[..6] != HELLO_MAGIC {
        return Err("not a haoyuan follower (bad hello)".into());
    }
    if version != SHIP_PROTOCOL_VERSION {
        return Err(format!(
            "the follower speaks replication protocol {version}, the leader {SHIP_PROTOCOL_VERSION}"
        ));
    }
    let from = u64::from_le_bytes(h[8..16].try_into().expect("8 bytes")).max(1);
    let config = std::fs::read(ctx.dir.join(CONFIG_FILE)).map_err(|e| e.to_string())?;
    let local = ctx.shared.local_durable().map_err(|e| e.to_string())?;
    if from > local + 1 {
        return Err(format!(
            "the follower asks for event {from}, the leader's journal ends at {local}: it \
             followed another history and must be seeded anew"
        ));
    }
    let mut cursor = open_at(&ctx.dir, from)?;
    write_msg(w, MSG_CONFIG, &[&config]).map_err(|e| e.to_string())?;
    // Acknowledgements come back on the same socket: a reader thread hands them on.
    let reader = w.try_clone().map_err(|e| e.to_string())?;
    let done = Arc::new(AtomicBool::new(false));
    let acks = {
        let (shared, done) = (ctx.shared.clone(), done.clone());
        std::thread::Builder::new()
            .name("haoyuan-ship-acks".into())
            .spawn(move || read_acks(reader, &shared, &done))
            .map_err(|e| e.to_string())?
    };
    let result = ship_loop(w, ctx, &mut cursor, &done);
    done.store(true, Ordering::SeqCst);
    let _ = w.shutdown(Shutdown::Read);
    let _ = acks.join();
    result
}

fn read_acks(mut r: TcpStream, shared: &Shared, done: &AtomicBool) {
    let _ = r.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = [0u8; 8];
    let mut have = 0;
    while !done.load(Ordering::SeqCst) {
        match r.read(&mut buf[have..]) {
            Ok(0) => break,
            Ok(n) => {
                have += n;
                if have == 8 {
                    have = 0;
                    // In `Async` too: the metrics report how far the followers are.
                    shared.follower_acked(u64::from_le_bytes(buf));
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    done.store(true, Ordering::SeqCst);
}

/// Open the segment holding `from` and send its header (rewritten to start at `from` when the
/// follower starts in the middle of it: its own segment then starts there).
fn open_at(dir: &Path, from: u64) -> std::result::Result<(ReadCursor, Vec<u8>), String> {
    let segments = list(dir, "seg-", ".hyj").map_err(|e| e.to_string())?;
    let Some((first, path)) = segments.iter().rev().find(|(s, _)| *s <= from) else {
        return Err(format!(
            "the leader's journal no longer holds event {from} (compacted into a snapshot): \
             seed the follower with a copy of the leader's directory, then reconnect"
        ));
    };
    let mut file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut head = Vec::new();
    (&mut file)
        .take(codec::HEADER_LEN_MAX as u64)
        .read_to_end(&mut head)
        .map_err(|e| e.to_string())?;
    let h = codec::parse_segment_header(&head).map_err(|p| format!("{}: {p:?}", path.display()))?;
    head.truncate(h.len);
    let mut cursor = ReadCursor { file, path: path.clone(), offset: h.len as u64, next: *first };
    // Skip the frames before `from`.
    while cursor.next < from {
        let want = from - cursor.next;
        let (_, n) = read_frames(&mut cursor, want, 1 << 20)?;
        if n == 0 {
            return Err(format!("{}: event {from} is not on disk yet", path.display()));
        }
    }
    let header = if *first == from {
        head
    } else {
        match h.key_check {
            Some(k) => codec::segment_header_of(h.version, from, &k).to_vec(),
            None => return Err("a format-1 segment can only be shipped from its start".into()),
        }
    };
    Ok((cursor, header))
}

/// Read whole frames at the cursor: at most `max` of them and about `budget` bytes (at least
/// one frame whatever its size). Returns their bytes and count; advances the cursor.
fn read_frames(
    c: &mut ReadCursor,
    max: u64,
    budget: usize,
) -> std::result::Result<(Vec<u8>, u64), String> {
    let mut limit = budget;
    loop {
        c.file.seek(SeekFrom::Start(c.offset)).map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        (&mut c.file).take(limit as u64).read_to_end(&mut buf).map_err(|e| e.to_string())?;
        let (mut pos, mut n) = (0, 0);
        let mut cut = false;
        while n < max {
            match read_frame(&buf, pos) {
                Frame::Ok(_, end) => {
                    pos = end;
                    n += 1;
                }
                Frame::End => break,
                Frame::Bad(_) => {
                    cut = true;
                    break;
                }
            }
        }
        if n == 0 && cut && buf.len() == limit && limit < codec::RECORD_LEN_MAX * 2 {
            limit *= 2; // one record larger than the budget
            continue;
        }
        buf.truncate(pos);
        c.offset += pos as u64;
        c.next += n;
        return Ok((buf, n));
    }
}

fn ship_loop(
    w: &mut TcpStream,
    ctx: &Ctx,
    start: &mut (ReadCursor, Vec<u8>),
    done: &AtomicBool,
) -> std::result::Result<(), String> {
    let (cursor, header) = start;
    write_msg(w, MSG_SEGMENT, &[header]).map_err(cut_off)?;
    let mut last_sent = Instant::now();
    loop {
        let stopping = ctx.stop.load(Ordering::SeqCst);
        if done.load(Ordering::SeqCst) {
            return Ok(()); // the follower went away
        }
        let local = ctx.shared.local_durable().map_err(|e| e.to_string())?;
        let mut sent = false;
        while cursor.next <= local {
            let first = cursor.next;
            let (frames, n) =
                read_frames(cursor, local + 1 - first, ctx.options.send_buffer_bytes)?;
            if n > 0 {
                write_msg(w, MSG_FRAMES, &[&first.to_le_bytes(), &frames]).map_err(cut_off)?;
                sent = true;
                continue;
            }
            // The segment ends here: the writer sealed it and went on in the next one.
            let segments = list(&ctx.dir, "seg-", ".hyj").map_err(|e| e.to_string())?;
            match segments.iter().find(|(s, _)| *s == cursor.next) {
                Some(_) => {
                    let (next, header) = open_at(&ctx.dir, cursor.next)?;
                    *cursor = next;
                    write_msg(w, MSG_SEGMENT, &[&header]).map_err(cut_off)?;
                }
                None => {
                    return Err(format!(
                        "{}: event {} is durable but not found after it",
                        cursor.path.display(),
                        cursor.next
                    ))
                }
            }
        }
        if sent {
            last_sent = Instant::now();
        } else if last_sent.elapsed() >= HEARTBEAT_EVERY {
            write_msg(w, MSG_HEARTBEAT, &[&local.to_le_bytes()]).map_err(cut_off)?;
            last_sent = Instant::now();
        }
        if stopping {
            return Ok(());
        }
        ctx.shared.wait_local(local, Duration::from_millis(20));
    }
}

fn cut_off(e: std::io::Error) -> String {
    format!(
        "the follower was cut off: it did not take the stream in time ({e}); reconnect to resume"
    )
}

// ------------------------------------------------------------------ follower

/// The follower's own journal: segments of its directory written from the received bytes.
pub(crate) struct OwnJournal {
    dir: PathBuf,
    key: crate::cards::CardKey,
    file: Option<File>,
    /// The next sequence number expected.
    pub next: u64,
}

impl OwnJournal {
    /// Open the follower's directory: cut a torn tail its own crash left (as recovery would),
    /// and find where it stops (its last complete record, or its newest snapshot).
    pub fn open(dir: &Path, key: &crate::cards::CardKey) -> Result<OwnJournal> {
        std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
        let snap = list(dir, "snap-", ".hys")?.last().map_or(0, |(s, _)| *s);
        let mut own =
            OwnJournal { dir: dir.to_path_buf(), key: key.clone(), file: None, next: snap + 1 };
        if let Some((first, path)) = list(dir, "seg-", ".hyj")?.last() {
            let bytes = std::fs::read(path).map_err(|e| io("read", path, e))?;
            match codec::parse_segment_header(&bytes) {
                Ok(h) => {
                    codec::check_key(h.key_check, key)?;
                    let (mut pos, mut n) = (h.len, 0);
                    while let Frame::Ok(_, end) = read_frame(&bytes, pos) {
                        pos = end;
                        n += 1;
                    }
                    let mut f = std::fs::OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(|e| io("open", path, e))?;
                    f.set_len(pos as u64).map_err(|e| io("truncate", path, e))?;
                    f.seek(SeekFrom::End(0)).map_err(|e| io("seek", path, e))?;
                    own.file = Some(f);
                    own.next = own.next.max(first + n);
                }
                Err(HeaderProblem::Unsupported(v)) => {
                    return Err(codec::unsupported(&path.display().to_string(), v))
                }
                // A header never completed: the segment holds nothing.
                Err(HeaderProblem::Damaged(_)) => {
                    std::fs::remove_file(path).map_err(|e| io("remove", path, e))?
                }
            }
        }
        Ok(own)
    }

    /// Start a segment with the leader's header (checked: format, key, first sequence number).
    pub fn segment(&mut self, header: &[u8]) -> Result<()> {
        let h = match codec::parse_segment_header(header) {
            Ok(h) => h,
            Err(HeaderProblem::Unsupported(v)) => {
                return Err(codec::unsupported("a segment header from the leader", v))
            }
            Err(HeaderProblem::Damaged(m)) => {
                return Err(codec::corrupt(format!("a segment header from the leader: {m}")))
            }
        };
        if h.len != header.len() {
            return Err(codec::corrupt("a segment header from the leader has the wrong length"));
        }
        codec::check_key(h.key_check, &self.key)?;
        if h.first_seq != self.next {
            return Err(gap(self.next, h.first_seq));
        }
        let path = self.dir.join(super::journal::segment_name(h.first_seq));
        let mut f = File::create(&path).map_err(|e| io("create", &path, e))?;
        f.write_all(header).map_err(|e| io("write", &path, e))?;
        f.sync_all().map_err(|e| io("sync", &path, e))?;
        super::journal::sync_dir(&self.dir)?;
        self.file = Some(f);
        Ok(())
    }

    /// Check and append frames (body: first sequence number, frames); fsync. Returns the last
    /// sequence number now held.
    pub fn frames(&mut self, body: &[u8]) -> Result<u64> {
        let Some(first) = body.get(..8) else {
            return Err(codec::corrupt("a frames message from the leader is cut short"));
        };
        let first = u64::from_le_bytes(first.try_into().expect("8 bytes"));
        if first != self.next {
            return Err(gap(self.next, first));
        }
        let frames = &body[8..];
        let (mut pos, mut n) = (0, 0);
        loop {
            match read_frame(frames, pos) {
                Frame::Ok(_, end) => {
                    pos = end;
                    n += 1;
                }
                Frame::End if n > 0 => break,
                Frame::End => return Err(codec::corrupt("an empty frames message")),
                Frame::Bad(why) => {
                    return Err(codec::corrupt(format!("a record from the leader: {why}")))
                }
            }
        }
        let dir = self.dir.clone();
        let Some(f) = self.file.as_mut() else {
            return Err(codec::corrupt("records from the leader before any segment header"));
        };
        f.write_all(frames).map_err(|e| io("write", &dir, e))?;
        f.sync_data().map_err(|e| io("sync", &dir, e))?;
        self.next += n;
        Ok(self.next - 1)
    }
}

fn gap(expected: u64, got: u64) -> Error {
    codec::corrupt(format!(
        "a gap in sequence numbers: the follower needs event {expected}, the leader sent {got}"
    ))
}
