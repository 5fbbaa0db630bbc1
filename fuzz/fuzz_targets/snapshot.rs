//! Snapshot decoder and restore: any bytes give an engine or a clear error, never a panic. The
//! second call skips the 28-byte header and checksum so the fuzzer reaches the decoder and the
//! restore checks. (Body mirrored by core/tests/durability_corruption.rs over corpus/snapshot.)
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = haoyuan::fuzz_decode_snapshot(data);
    if data.len() > 28 {
        let _ = haoyuan::fuzz_decode_snapshot_payload(&data[28..]);
    }
});
