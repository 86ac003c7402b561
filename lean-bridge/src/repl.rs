//! The REPL program: its Lean source, compiled once per Lean binary into a cache directory,
//! and the launch files that start a worker with chosen imports.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{LeanError, LeanErrorKind};
use crate::locate::LeanInstall;
use crate::locate::core_search_path;
use crate::sandbox::{Confinement, SandboxMode};

/// The REPL's Lean source (`lean-bridge/lean/prover_repl.lean`).
pub const REPL_SOURCE: &str = include_str!("../lean/prover_repl.lean");
/// The module name the launch file imports.
pub const REPL_MODULE: &str = "prover_repl";
/// Lines the REPL prints that start with this are responses; everything else is noise.
pub const RESPONSE_MARKER: &str = "#PROVER_REPL# ";

/// A compiled REPL: the directory holding `prover_repl.olean`, to put on `LEAN_PATH`.
#[derive(Clone, Debug)]
pub struct CompiledRepl {
    pub dir: PathBuf,
}

/// Where compiled REPLs are cached: `$PROVER_CACHE_DIR`, else `$XDG_CACHE_HOME/prover`, else
/// `~/.cache/prover`, else the temporary directory.
pub fn cache_root() -> PathBuf {
    if let Some(d) = std::env::var_os("PROVER_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("prover");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".cache").join("prover");
    }
    std::env::temp_dir().join("prover-cache")
}

fn key_of(parts: &[&str]) -> String {
    let mut h = DefaultHasher::new();
    for p in parts {
        p.hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

impl CompiledRepl {
    /// Compiles the REPL for this Lean (once; later calls find it in the cache). Concurrent
    /// callers are safe: each compiles in its own directory and the first rename wins.
    pub fn ensure(lean: &LeanInstall, sandbox: SandboxMode) -> Result<Self, LeanError> {
        let key = key_of(&[REPL_SOURCE, &lean.lean.to_string_lossy(), &lean.version]);
        let root = cache_root();
        let dir = root.join(format!("repl-{key}"));
        if dir.join(format!("{REPL_MODULE}.olean")).is_file() {
            return Ok(CompiledRepl { dir });
        }
        std::fs::create_dir_all(&root)
            .map_err(|e| LeanError::io(format!("creating {}", root.display()), e))?;
        // One directory per compile: threads of one process may compile at the same time.
        static COMPILES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COMPILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = root.join(format!("repl-{key}.tmp-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)
            .map_err(|e| LeanError::io(format!("creating {}", tmp.display()), e))?;
        let src = tmp.join(format!("{REPL_MODULE}.lean"));
        std::fs::write(&src, REPL_SOURCE)
            .map_err(|e| LeanError::io(format!("writing {}", src.display()), e))?;
        let mut path = core_search_path(lean)?;
        path.push(tmp.clone());
        let mut cmd = Command::new(&lean.lean);
        cmd.arg("--make")
            .arg(&src)
            .current_dir(&tmp)
            .env("LEAN_PATH", join_path(&path));
        // The compile reads the core library and writes only its own directory.
        let confinement = Confinement::for_lean(&lean.lean, &path, std::slice::from_ref(&tmp));
        crate::sandbox::confine(&mut cmd, sandbox, &confinement)?;
        let out = cmd
            .output()
            .map_err(|e| LeanError::io(format!("running {}", lean.lean.display()), e))?;
        let olean = tmp.join(format!("{REPL_MODULE}.olean"));
        if !out.status.success() || !olean.is_file() {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(LeanErrorKind::Startup {
                message: format!(
                    "the REPL did not compile with {} ({}):\n{}{}",
                    lean.lean.display(),
                    lean.version,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            }
            .into());
        }
        match std::fs::rename(&tmp, &dir) {
            Ok(()) => {}
            Err(_) if dir.join(format!("{REPL_MODULE}.olean")).is_file() => {
                // Another process won the race; use theirs.
                let _ = std::fs::remove_dir_all(&tmp);
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(LeanError::io(
                    format!("moving the REPL to {}", dir.display()),
                    e,
                ));
            }
        }
        Ok(CompiledRepl { dir })
    }

    /// Writes (once) the launch file for a list of imports and returns its path.
    pub fn launch_file(&self, imports: &[String]) -> Result<PathBuf, LeanError> {
        for m in imports {
            // One plain dotted name, by Lean's lexical rules (no `«»` escapes).
            let ok = !m.is_empty()
                && m.split('.').all(|part| {
                    part.starts_with(|c: char| problems::lexer::is_id_first(c) && c != '«')
                        && part.chars().all(problems::lexer::is_id_rest)
                });
            if !ok {
                return Err(LeanErrorKind::Refused(format!("`{m}` is not a module name")).into());
            }
        }
        let mut text = String::new();
        for m in imports {
            text.push_str(&format!("import {m}\n"));
        }
        // The REPL serves from inside this command, with Lean's command parser at hand.
        text.push_str(&format!("import {REPL_MODULE}\nprover_repl_serve\n"));
        let file = self
            .dir
            .join(format!("launch-{}.lean", key_of(&[text.as_str()])));
        if !file.is_file() {
            let tmp = file.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, &text)
                .map_err(|e| LeanError::io(format!("writing {}", tmp.display()), e))?;
            std::fs::rename(&tmp, &file)
                .map_err(|e| LeanError::io(format!("writing {}", file.display()), e))?;
        }
        Ok(file)
    }
}

/// Joins paths with `:` for `LEAN_PATH`.
pub fn join_path(paths: &[PathBuf]) -> String {
    std::env::join_paths(paths)
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// The directory a launch file lives in (used as the worker's LEAN_PATH entry for the REPL).
pub fn dir_of(p: &Path) -> PathBuf {
    p.parent().map(Path::to_path_buf).unwrap_or_default()
}
