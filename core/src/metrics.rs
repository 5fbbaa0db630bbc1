//! Operator metrics: one call returns what a platform's dashboards and alerts watch — how far
//! the journal is behind, how long fsyncs take, how full the subscribers' queues are, how big
//! the engine has grown — as a serde value ([`Metrics`]) and as Prometheus text
//! ([`Metrics::to_prometheus`]) a host serves as it is on its `/metrics` endpoint.
//!
//! Gathering reads counters only (atomics, queue lengths, the journal's progress under its
//! mutex for a moment): cheap enough to scrape every few seconds on a busy engine.

use crate::model::EngineStats;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// Upper bounds (seconds) of the fsync latency histogram's buckets; the last bucket is +Inf.
/// From 50 µs (a fast NVMe) to 1 s (a disk in trouble).
pub const FSYNC_BUCKETS_S: [f64; 12] =
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.25, 1.0];

/// The journal writer's side (a durable engine only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JournalMetrics {
    /// Records handed to the writer and not yet taken by it (bounded: emitting threads wait
    /// when it is full).
    pub queue_depth: usize,
    /// The writer queue's fixed bound in records (65,536); a depth near it means the disk is
    /// not keeping up and engine calls are about to wait.
    pub queue_capacity: usize,
    /// fsyncs done since the journal opened. Events made durable per fsync (the group-commit
    /// width) is how far one disk flush is shared under load.
    pub fsyncs: u64,
    /// Bytes appended to segments since the journal opened.
    pub bytes_written: u64,
    /// fsync latency: counts per bucket of [`FSYNC_BUCKETS_S`] (not cumulative), then the
    /// count above the last bound.
    pub fsync_buckets: Vec<u64>,
    /// Total time spent in fsync since the journal opened, in seconds (with `fsyncs`, the
    /// mean latency).
    pub fsync_seconds_sum: f64,
    /// The slowest single fsync since the journal opened, in seconds: the worst wait an
    /// acknowledgement has seen.
    pub fsync_seconds_max: f64,
    /// The journal failed (an I/O error poisons it): nothing more can be acknowledged.
    pub failed: bool,
    /// A replicating leader's stream followers (`OpenOptions::replicate`); `None` without.
    #[serde(default)]
    pub replication: Option<ReplicationMetrics>,
}

/// A replicating leader's side of journal shipping (`OpenOptions::replicate`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationMetrics {
    /// `"async"` or `"ack_after_follower"` (see `ReplicationMode`).
    pub mode: String,
    /// Stream followers connected now.
    pub followers: u64,
    /// The highest event a follower reported fsynced in its own directory since this leader
    /// opened (0: none yet).
    pub follower_acked_seq: u64,
    /// Events durable here that no follower has reported yet: in `async` mode, what this
    /// machine's loss would take with it.
    pub unreplicated_events: u64,
    /// Operations whose acknowledgement gave up waiting for a follower (`ack_after_follower`):
    /// applied and durable here, reported to the host as not acknowledged.
    pub ack_timeouts: u64,
}

/// One subscription's queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberMetrics {
    /// The engine's number for the subscription, in subscribing order from 0, unique for the
    /// engine's life; the `subscriber` label of the Prometheus series.
    pub id: u64,
    /// Events queued and not yet received by the subscriber.
    pub queue_depth: usize,
    /// The queue's bound in events, as subscribed (`SubscribeOptions::capacity`). Depth at
    /// capacity means the next event cuts the subscriber off or makes the engine wait,
    /// depending on `overflow`.
    pub queue_capacity: usize,
    /// `"disconnect"` or `"block"` (see [`crate::Overflow`]).
    pub overflow: String,
}

/// Memory by structure, in bytes, where the engine can tell without walking its records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryMetrics {
    /// The slots' chunks (`chunked.rs`): exact.
    pub slot_bytes: u64,
    /// The process's resident set (Linux `/proc/self/status`; 0 where unavailable): everything,
    /// the host's own memory included.
    pub process_resident_bytes: u64,
}

/// Everything [`crate::Engine::metrics`] reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// How big the engine has grown: registered institutions, departments, resources,
    /// patients and slots.
    pub stats: EngineStats,
    /// The last event emitted.
    pub last_event_seq: u64,
    /// The last event on stable storage (equal to `last_event_seq` without a journal).
    pub durable_seq: u64,
    /// Events emitted and not yet durable: what a crash now could lose of what is not yet
    /// acknowledged (`Sync` mode) or may lose (`Buffered`).
    pub durable_lag_events: u64,
    /// The journal writer's side; `None` for an in-memory engine (nothing is written).
    pub journal: Option<JournalMetrics>,
    /// One entry per subscription the engine still delivers to (a dropped or cut-off one is
    /// removed at the next event), in subscribing order.
    pub subscribers: Vec<SubscriberMetrics>,
    /// Memory the engine can measure cheaply.
    pub memory: MemoryMetrics,
    /// A hot standby's distance from its leader (`Standby::metrics`); `None` for an engine
    /// that follows no one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follower: Option<FollowerMetrics>,
}

/// How far a hot standby is behind its leader, for operators (from `Standby::lag`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FollowerMetrics {
    /// The last event the standby applied.
    pub applied_seq: u64,
    /// The last complete record on the leader's disk when the standby looked.
    pub leader_seq: u64,
    /// `leader_seq − applied_seq`.
    pub records_behind: u64,
    /// Seconds since the standby last reached the end of what the leader had written; `None`
    /// before the first time.
    pub caught_up_age_s: Option<f64>,
    /// Reloads from a snapshot after the leader's compaction removed unread segments.
    pub resyncs: u64,
    /// Whether the last catch-up failed (the background poller keeps trying).
    pub failing: bool,
}

/// One metric family of the exposition: `# HELP`, `# TYPE`, then its samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP haoyuan_{name} {help}");
    let _ = writeln!(out, "# TYPE haoyuan_{name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "haoyuan_{name}{labels} {value}");
}

impl Metrics {
    /// The Prometheus text exposition format (version 0.0.4), every name prefixed `haoyuan_`.
    ///
    /// ```
    /// use haoyuan::*;
    /// let engine = Engine::new(EngineConfig::default()).unwrap();
    /// engine.register_patient().unwrap();
    /// let text = engine.metrics().to_prometheus();
    /// assert!(text.contains("\nhaoyuan_patients 1\n"));
    /// ```
    pub fn to_prometheus(&self) -> String {
        let mut out = String::with_capacity(4096);
        let s = &self.stats;
        for (name, value, help) in [
            ("institutions", s.institutions, "Institutions in the region."),
            ("departments", s.departments, "Departments in the region."),
            ("resources", s.resources, "Doctors, rooms, machines and beds."),
            ("patients", s.patients, "Registered patients."),
            ("slots", s.slots, "Slots published (every state)."),
        ] {
            family(&mut out, name, "gauge", help);
            sample(&mut out, name, "", value);
        }
        family(&mut out, "events_total", "counter", "Events emitted (the last sequence number).");
        sample(&mut out, "events_total", "", self.last_event_seq);
        family(&mut out, "durable_events_total", "counter", "Events on stable storage.");
        sample(&mut out, "durable_events_total", "", self.durable_seq);
        family(&mut out, "durable_lag_events", "gauge", "Events emitted and not yet durable.");
        sample(&mut out, "durable_lag_events", "", self.durable_lag_events);
        if let Some(j) = &self.journal {
            family(
                &mut out,
                "journal_queue_depth",
                "gauge",
                "Records waiting for the journal writer.",
            );
            sample(&mut out, "journal_queue_depth", "", j.queue_depth);
            family(
                &mut out,
                "journal_queue_capacity",
                "gauge",
                "Records the writer's queue holds.",
            );
            sample(&mut out, "journal_queue_capacity", "", j.queue_capacity);
            family(
                &mut out,
                "journal_bytes_written_total",
                "counter",
                "Bytes appended to journal segments.",
            );
            sample(&mut out, "journal_bytes_written_total", "", j.bytes_written);
            family(
                &mut out,
                "journal_failed",
                "gauge",
                "1 once the journal failed: nothing more is acknowledged.",
            );
            sample(&mut out, "journal_failed", "", j.failed as u8);
            family(
                &mut out,
                "journal_fsync_seconds",
                "histogram",
                "Latency of the journal's fdatasync calls.",
            );
            let mut cumulative = 0u64;
            for (i, bound) in FSYNC_BUCKETS_S.iter().enumerate() {
                cumulative += j.fsync_buckets.get(i).copied().unwrap_or(0);
                sample(
                    &mut out,
                    "journal_fsync_seconds_bucket",
                    &format!("{{le=\"{bound}\"}}"),
                    cumulative,
                );
            }
            cumulative += j.fsync_buckets.get(FSYNC_BUCKETS_S.len()).copied().unwrap_or(0);
            sample(&mut out, "journal_fsync_seconds_bucket", "{le=\"+Inf\"}", cumulative);
            sample(&mut out, "journal_fsync_seconds_sum", "", j.fsync_seconds_sum);
            sample(&mut out, "journal_fsync_seconds_count", "", j.fsyncs);
            family(
                &mut out,
                "journal_fsync_seconds_max",
                "gauge",
                "Slowest fdatasync since the journal opened.",
            );
            sample(&mut out, "journal_fsync_seconds_max", "", j.fsync_seconds_max);
            if let Some(r) = &j.replication {
                for (name, kind, help, value) in [
                    ("replication_followers", "gauge", "Stream followers connected.", r.followers),
                    (
                        "replication_follower_acked_seq",
                        "gauge",
                        "The highest event a follower reported fsynced.",
                        r.follower_acked_seq,
                    ),
                    (
                        "replication_unreplicated_events",
                        "gauge",
                        "Events durable on the leader that no follower has reported.",
                        r.unreplicated_events,
                    ),
                    (
                        "replication_ack_timeouts_total",
                        "counter",
                        "Acknowledgements that gave up waiting for a follower.",
                        r.ack_timeouts,
                    ),
                ] {
                    family(&mut out, name, kind, help);
                    sample(&mut out, name, "", value);
                }
            }
        }
        family(&mut out, "subscriber_queue_depth", "gauge", "Events queued for a subscriber.");
        for sub in &self.subscribers {
            let labels = format!("{{subscriber=\"{}\",overflow=\"{}\"}}", sub.id, sub.overflow);
            sample(&mut out, "subscriber_queue_depth", &labels, sub.queue_depth);
        }
        family(
            &mut out,
            "subscriber_queue_capacity",
            "gauge",
            "Events a subscriber's queue holds.",
        );
        for sub in &self.subscribers {
            let labels = format!("{{subscriber=\"{}\",overflow=\"{}\"}}", sub.id, sub.overflow);
            sample(&mut out, "subscriber_queue_capacity", &labels, sub.queue_capacity);
        }
        family(
            &mut out,
            "memory_bytes",
            "gauge",
            "Memory by structure (slots: the slot store; process: resident set).",
        );
        sample(&mut out, "memory_bytes", "{structure=\"slots\"}", self.memory.slot_bytes);
        sample(
            &mut out,
            "memory_bytes",
            "{structure=\"process\"}",
            self.memory.process_resident_bytes,
        );
        if let Some(f) = &self.follower {
            for (name, kind, help, value) in [
                (
                    "follower_applied_seq",
                    "gauge",
                    "The last event this standby applied.",
                    f.applied_seq,
                ),
                (
                    "follower_leader_seq",
                    "gauge",
                    "The last complete record on the leader's disk.",
                    f.leader_seq,
                ),
                (
                    "follower_records_behind",
                    "gauge",
                    "Records written by the leader, not yet applied here.",
                    f.records_behind,
                ),
                (
                    "follower_resyncs_total",
                    "counter",
                    "Reloads from a snapshot after the leader's compaction.",
                    f.resyncs,
                ),
                (
                    "follower_failing",
                    "gauge",
                    "1 while the last catch-up failed.",
                    f.failing as u64,
                ),
            ] {
                family(&mut out, name, kind, help);
                sample(&mut out, name, "", value);
            }
            if let Some(age) = f.caught_up_age_s {
                family(
                    &mut out,
                    "follower_caught_up_age_seconds",
                    "gauge",
                    "Seconds since the standby last reached the end of the leader's journal.",
                );
                sample(&mut out, "follower_caught_up_age_seconds", "", age);
            }
        }
        out
    }
}

/// Resident set of this process (Linux: `VmRSS` of `/proc/self/status`, in kB there, so no
/// page size is assumed), 0 where it cannot be read.
pub(crate) fn process_resident_bytes() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return 0 };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
