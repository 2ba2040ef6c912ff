//! Arbitrary bytes through the whole pipeline; see `src/lib.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| audit_analyze_fuzz::run(data));
