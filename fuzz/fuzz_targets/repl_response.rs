#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lean_bridge::fuzz::repl_response(data));
