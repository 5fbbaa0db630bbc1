//! loom model of the availability index's group-day bits (`core/src/store.rs`, `loom_models`):
//! every interleaving, up to `LOOM_MAX_PREEMPTIONS`, of a claim racing a release on one
//! department-day. The model body lives in core because it drives the crate-private store.
#![cfg(loom)]

#[test]
fn group_bit_follows_racing_claim_and_release() {
    haoyuan::index_loom_models::group_bit_follows_racing_claim_and_release();
}
