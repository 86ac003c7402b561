#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| prover::fuzz::serve_request(data));
