//! loom models of the slot counter (`core/src/slot.rs`, `loom_models`): every interleaving, up
//! to `LOOM_MAX_PREEMPTIONS`, of threads claiming, releasing and closing one slot. The model
//! bodies live in core because they drive its crate-private `Slot`.
#![cfg(loom)]

#[test]
fn racing_claims_never_overbook() {
    haoyuan::loom_models::racing_claims_never_overbook();
}

#[test]
fn claims_and_releases_return_to_zero() {
    haoyuan::loom_models::claims_and_releases_return_to_zero();
}
