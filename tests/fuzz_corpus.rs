//! The fuzz targets' committed inputs (`fuzz/seeds/TARGET`, and every crash a fuzzer found,
//! kept in `fuzz/regressions/TARGET`) run through the same entry points as the fuzzers, on the
//! stable toolchain: a crash that was fixed stays fixed.

use std::path::{Path, PathBuf};

type Entry = fn(&[u8]);

const TARGETS: &[(&str, Entry)] = &[
    ("lean_source", problems::fuzz::lean_source),
    ("repl_response", lean_bridge::fuzz::repl_response),
    ("screen", lean_bridge::fuzz::screen),
    ("serve_request", prover::fuzz::serve_request),
    ("client_answer", prover::fuzz::client_answer),
];

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn every_committed_fuzz_input_runs_without_a_crash() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    // Every target of the fuzz crate is replayed here, and every one has seeds.
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
    let declared = manifest.matches("[[bin]]").count();
    assert_eq!(
        declared,
        TARGETS.len(),
        "a fuzz target is not replayed here"
    );
    for (name, entry) in TARGETS {
        assert!(manifest.contains(&format!("name = \"{name}\"")), "{name}");
        let seeds = inputs(&fuzz.join("seeds").join(name));
        assert!(!seeds.is_empty(), "no seeds for {name}");
        let regressions = inputs(&fuzz.join("regressions").join(name));
        for input in seeds.iter().chain(&regressions) {
            let bytes = std::fs::read(input).unwrap();
            entry(&bytes);
        }
    }
    // The core problem set is part of the Lean source corpus too.
    for input in inputs(&problems::core_dir()) {
        problems::fuzz::lean_source(&std::fs::read(input).unwrap());
    }
}
