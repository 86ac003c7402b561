#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| problems::fuzz::lean_source(data));
