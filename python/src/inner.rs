//! The Rust engine behind a Python `Engine`: in memory, or journaled on a directory. A leaf
//! module: `engine.rs`, `pipeline.rs` and `durable.rs` all hold engines as `Arc<Inner>`.

/// The Rust engine behind a Python one: in memory, or journaled on a directory (a
/// `DurableEngine` derefs to `Engine`, so every method works on both; the C face holds its
/// engines the same way).
// One `Inner` per Python engine, behind an `Arc`: boxing the larger variant would only add an
// indirection to every call.
#[allow(clippy::large_enum_variant)]
pub enum Inner {
    Memory(haoyuan::Engine),
    Durable(haoyuan::DurableEngine),
}

impl std::ops::Deref for Inner {
    type Target = haoyuan::Engine;
    fn deref(&self) -> &haoyuan::Engine {
        match self {
            Inner::Memory(e) => e,
            Inner::Durable(d) => d,
        }
    }
}
