//! The FHIR bundle and CSV roster importers and the $find/$hold/$book/$cancel operations on
//! arbitrary bytes: never a panic, and a refused import changes nothing (haoyuan_fhir::fuzz_one).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| haoyuan_fhir::fuzz_one(data));
