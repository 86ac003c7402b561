//! The REPL program: its Lean source, compiled once per Lean binary into a cache directory,
//! and the launch files that start a worker with chosen imports.

use std::io::Write;
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

/// A name for these parts that stays the same across runs, builds and Rust releases (the
/// cache outlives them; `DefaultHasher` promises none of that): Lean's own MurmurHash64A of
/// the parts, each after its length so that no two lists of parts run together alike.
pub fn stable_key(parts: &[&str]) -> String {
    let mut bytes = Vec::new();
    for p in parts {
        bytes.extend_from_slice(&(p.len() as u64).to_le_bytes());
        bytes.extend_from_slice(p.as_bytes());
    }
    format!("{:016x}", crate::olean::hash64(&bytes))
}

impl CompiledRepl {
    /// Compiles the REPL for this Lean (once; later calls find it in the cache). Concurrent
    /// callers are safe: each compiles in its own directory and the first rename wins.
    pub fn ensure(lean: &LeanInstall, sandbox: SandboxMode) -> Result<Self, LeanError> {
        let key = stable_key(&[REPL_SOURCE, &lean.lean.to_string_lossy(), &lean.version]);
        let root = cache_root();
        let dir = root.join(format!("repl-{key}"));
        if dir.join(format!("{REPL_MODULE}.olean")).is_file() {
            return Ok(CompiledRepl { dir });
        }
        std::fs::create_dir_all(&root)
            .map_err(|e| LeanError::io(format!("creating {}", root.display()), e))?;
        // One fresh directory per compile (a unique random name): threads of one process, and
        // processes on machines sharing the cache, may compile at the same time. It is removed
        // when dropped, unless it became the cache entry.
        let tmp_dir = tempfile::Builder::new()
            .prefix(&format!("repl-{key}.tmp-"))
            .tempdir_in(&root)
            .map_err(|e| LeanError::io(format!("creating a directory in {}", root.display()), e))?;
        let tmp = tmp_dir.path().to_path_buf();
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
            // The directory is the cache entry now: nothing is left to remove.
            Ok(()) => drop(tmp_dir.keep()),
            // Another process won the race; use theirs (ours goes with `tmp_dir`).
            Err(_) if dir.join(format!("{REPL_MODULE}.olean")).is_file() => {}
            Err(e) => {
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
            .join(format!("launch-{}.lean", stable_key(&[text.as_str()])));
        if !file.is_file() {
            // Written under a unique temporary name and renamed into place, so that pools
            // starting at the same time (two in one language server, or two processes) never
            // see a half-written file; they write the same text, so any rename may win.
            let written = (|| {
                let mut tmp = tempfile::Builder::new()
                    .prefix(".launch-")
                    .suffix(".tmp")
                    .tempfile_in(&self.dir)?;
                tmp.write_all(text.as_bytes())?;
                tmp.persist(&file).map_err(|e| e.error)?;
                Ok::<(), std::io::Error>(())
            })();
            written.map_err(|e| LeanError::io(format!("writing {}", file.display()), e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_pinned_and_parts_do_not_run_together() {
        // Pinned: a cache written by one build is found by the next, whatever Rust it used.
        assert_eq!(
            stable_key(&[]),
            format!("{:016x}", crate::olean::hash64(&[]))
        );
        let ab = stable_key(&["ab", "c"]);
        assert_eq!(ab, stable_key(&["ab", "c"]));
        assert_ne!(ab, stable_key(&["a", "bc"]));
        assert_ne!(ab, stable_key(&["abc"]));
        assert_eq!(ab.len(), 16);
        // MurmurHash64A (seed 0) of the length as 8 little-endian bytes, then the text,
        // computed by an independent Python implementation.
        assert_eq!(stable_key(&["import data.nat.basic\n"]), "fc926c720031667e");
    }

    #[test]
    fn launch_files_written_at_once_by_many_pools_are_whole_and_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let repl = CompiledRepl {
            dir: dir.path().to_path_buf(),
        };
        let imports = vec!["data.nat.basic".to_string(), "tactic".to_string()];
        let paths: Vec<PathBuf> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| s.spawn(|| repl.launch_file(&imports).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(paths.iter().all(|p| *p == paths[0]));
        let text = std::fs::read_to_string(&paths[0]).unwrap();
        assert_eq!(
            text,
            "import data.nat.basic\nimport tactic\nimport prover_repl\nprover_repl_serve\n"
        );
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(names.len(), 1, "temporary files left behind: {names:?}");
        assert!(repl.launch_file(&["not a module".to_string()]).is_err());
    }
}
