//! Helpers for tests that need a real Lean: find it or say loudly that the test is skipped.
//!
//! Every real-Lean test calls [`lean_for_test`] first. When `PROVER_TEST_REPORT` names a file,
//! one line per test is appended to it (`ran NAME` or `skipped NAME: why`), which `.ci/run`
//! counts to print how many real-Lean tests ran.

use std::io::Write;
use std::path::PathBuf;

use crate::locate::LeanInstall;

fn record(line: &str) {
    if let Some(path) = std::env::var_os("PROVER_TEST_REPORT")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        // One write per line: tests in parallel threads and processes append to this file,
        // and O_APPEND keeps a single small write whole (`writeln!` may write in pieces, which
        // interleaved and made the counts vary between runs).
        let _ = f.write_all(format!("{line}\n").as_bytes());
    }
}

/// Lean 3 for a real-Lean test, or `None` after printing and recording that `test` was skipped.
pub fn lean_for_test(test: &str) -> Option<LeanInstall> {
    match LeanInstall::find(None) {
        Ok(install) => {
            record(&format!("ran {test}"));
            Some(install)
        }
        Err(e) => {
            eprintln!("SKIPPED {test}: needs Lean 3 ({e})");
            record(&format!("skipped {test}: no Lean 3"));
            None
        }
    }
}

/// A compiled mathlib project for tests that need mathlib (`PROVER_MATHLIB_PROJECT`, a leanpkg
/// project whose mathlib has `tactic` compiled; else the project `prover setup` made), or
/// `None` after recording the skip.
pub fn mathlib_project_for_test(test: &str) -> Option<(LeanInstall, PathBuf)> {
    let dir = std::env::var_os("PROVER_MATHLIB_PROJECT")
        .map(PathBuf::from)
        .or_else(crate::locate::LeanProject::from_setup);
    let Some(dir) = dir else {
        eprintln!(
            "SKIPPED {test}: needs a mathlib project (run `prover setup`, or set PROVER_MATHLIB_PROJECT)"
        );
        record(&format!("skipped {test}: no mathlib project"));
        return None;
    };
    let install = lean_for_test(test)?;
    Some((install, dir))
}

/// Lean 3 for a test of the operating-system sandbox, which also needs every protection
/// ([`crate::sandbox::Protections::missing`]) on this machine; `None` after recording the skip.
pub fn sandboxed_lean_for_test(test: &str) -> Option<LeanInstall> {
    let missing = crate::sandbox::Protections::probe().missing();
    if !missing.is_empty() {
        eprintln!(
            "SKIPPED {test}: needs the sandbox's protections; this machine lacks {}",
            missing.join("; ")
        );
        record(&format!("skipped {test}: no sandbox"));
        return None;
    }
    lean_for_test(test)
}
