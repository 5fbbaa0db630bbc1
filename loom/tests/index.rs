//! loom model of the availability index's group-day bits (`core/src/store.rs`, `loom_models`):
//! every interleaving, up to `LOOM_MAX_PREEMPTIONS`, of a claim racing a release on one
//! department-day, and of a scan moving the day's scan hint racing a release. The model
//! bodies live in core because they drive the crate-private store.
#![cfg(loom)]

#[test]
fn group_bit_follows_racing_claim_and_release() {
    haoyuan::index_loom_models::group_bit_follows_racing_claim_and_release();
}

#[test]
fn scan_hint_never_hides_a_released_place() {
    haoyuan::index_loom_models::scan_hint_never_hides_a_released_place();
}
