//! Snapshot decoder and restore: any bytes give an engine or a clear error, never a panic. The
//! second call skips the 28-byte header and checksum so the fuzzer reaches the decoder and the
//! restore checks. (Body mirrored by core/tests/durability_corruption.rs over corpus/snapshot.)
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = haoyuan::fuzz_decode_snapshot(data);
    // Past the 52-byte header of a format-2 snapshot.
    if data.len() > 52 {
        let _ = haoyuan::fuzz_decode_snapshot_payload(&data[52..]);
    }
});
