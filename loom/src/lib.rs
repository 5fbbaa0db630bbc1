//! The loom models of haoyuan, in `tests/` (`slot.rs`: the slot counter's claim and release;
//! `ids.rs`: dense ids and their events' sequence numbers taken as one step). Run them with
//! `bash ci/loom.sh`; in an ordinary build this crate is empty.
