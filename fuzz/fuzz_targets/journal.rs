//! Journal segment decoder and replay: any bytes give events up to a torn tail or a clear
//! error, never a panic. The second call wraps the bytes in a valid frame so the fuzzer reaches
//! the event decoder and replay behind the checksum. (Body mirrored by
//! core/tests/durability_corruption.rs, which runs it over corpus/journal on stable.)
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = haoyuan::fuzz_decode_segment(data);
    for format in [2, 3] {
        if let Ok(segment) = haoyuan::fuzz_segment_from_payloads(format, 7, &[data]) {
            let _ = haoyuan::fuzz_decode_segment(&segment);
        }
    }
});
