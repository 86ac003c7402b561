//! Compiling a Lean project's `.olean` files for a set of imports, the way `lean --make` does,
//! but resumable: the import closure is known beforehand (so progress can be counted), a stop
//! kills Lean and removes the files it left cut short, and a later run continues from the
//! files that are whole.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use problems::Import;

use crate::error::{LeanError, LeanErrorKind};
use crate::locate::{LeanInstall, LeanProject};
use crate::olean::{OleanStatus, status_of};
use crate::sandbox::{Confinement, SandboxMode};

/// The source files a set of imports needs, each after the files it imports.
#[derive(Debug, Clone, Default)]
pub struct ImportClosure {
    /// Source files in dependency order (a file comes after everything it imports).
    pub files: Vec<PathBuf>,
    /// The files the roots themselves resolved to, in the order given.
    pub roots: Vec<PathBuf>,
    /// Modules found only as `.olean` (nothing to compile, nothing to follow).
    pub compiled_only: Vec<PathBuf>,
    /// Imports found nowhere on the search path: (the module as written, the file importing it,
    /// or `None` for a root).
    pub missing: Vec<(String, Option<PathBuf>)>,
}

/// Where a module's file is: `root/a/b.lean`, or `root/a/b/default.lean`, on the first root of
/// `search_path` that has either (Lean 3's `find_file`); relative imports start from the
/// importing file's directory. `Err` holds an `.olean` found without a source.
fn resolve(
    search_path: &[PathBuf],
    import: &Import,
    from: Option<&Path>,
) -> Option<Result<PathBuf, PathBuf>> {
    let rel = import.relative_path();
    let bases: Vec<PathBuf> = match (import.relative, from.and_then(Path::parent)) {
        (Some(up), Some(dir)) => {
            let mut d = dir.to_path_buf();
            for _ in 0..up {
                d = d.parent()?.to_path_buf();
            }
            vec![d]
        }
        (Some(_), None) => return None,
        (None, _) => search_path.to_vec(),
    };
    for base in &bases {
        let file = base.join(&rel);
        for candidate in [
            file.with_extension("lean"),
            file.join("default").with_extension("lean"),
        ] {
            if candidate.is_file() {
                return Some(Ok(candidate));
            }
        }
        for candidate in [
            file.with_extension("olean"),
            file.join("default").with_extension("olean"),
        ] {
            if candidate.is_file() {
                return Some(Err(candidate));
            }
        }
    }
    None
}

/// Lean's module name for a dotted name as written in an `import` (or `--header`) line.
pub fn parse_import(written: &str) -> Import {
    let dots = written.chars().take_while(|&c| c == '.').count();
    Import {
        name: written[dots..].to_string(),
        relative: (dots > 0).then(|| dots - 1),
    }
}

/// Whether an absolute module name (`data.real.basic`) has a file, source or compiled, on
/// `search_path`.
pub fn has_module(search_path: &[PathBuf], written: &str) -> bool {
    resolve(search_path, &parse_import(written), None).is_some()
}

/// The import closure of `imports` (dotted module names) on `search_path`.
pub fn import_closure(search_path: &[PathBuf], imports: &[String]) -> ImportClosure {
    let mut out = ImportClosure::default();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut done: HashSet<PathBuf> = HashSet::new();
    // Depth-first, emitting a file after its imports (an explicit stack: mathlib's chains of
    // imports are deep).
    let mut stack: Vec<(PathBuf, bool)> = Vec::new();
    for written in imports {
        match resolve(search_path, &parse_import(written), None) {
            Some(Ok(file)) => {
                out.roots.push(file.clone());
                stack.push((file, false));
            }
            Some(Err(olean)) => out.compiled_only.push(olean),
            None => out.missing.push((written.clone(), None)),
        }
        while let Some((file, expanded)) = stack.pop() {
            if done.contains(&file) {
                continue;
            }
            if expanded {
                done.insert(file.clone());
                out.files.push(file);
                continue;
            }
            if !seen.insert(file.clone()) {
                // On the stack already, below: an import cycle, which Lean reports itself.
                continue;
            }
            stack.push((file.clone(), true));
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let mut deps = Vec::new();
            for import in problems::imports_of(&text) {
                match resolve(search_path, &import, Some(&file)) {
                    Some(Ok(dep)) => deps.push(dep),
                    Some(Err(olean)) => {
                        if !out.compiled_only.contains(&olean) {
                            out.compiled_only.push(olean)
                        }
                    }
                    None => out.missing.push((import.name.clone(), Some(file.clone()))),
                }
            }
            for dep in deps.iter().rev() {
                if !done.contains(dep) {
                    stack.push((dep.clone(), false));
                }
            }
        }
    }
    out
}

/// How far a compile has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileProgress {
    /// Files of the closure whose `.olean` is fresh.
    pub done: usize,
    /// Files of the closure to be compiled in the project.
    pub total: usize,
}

/// How a compile ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileOutcome {
    /// Every file has a fresh, whole `.olean`.
    Done { compiled: usize },
    /// Stopped on request: Lean was killed and the files it left cut short removed.
    Stopped { left: usize, removed: usize },
    /// Lean reported errors (the end of what it printed) and left `left` files uncompiled.
    Failed { left: usize, output: String },
}

/// A compile of the project files a closure needs.
pub struct Compile<'a> {
    pub install: &'a LeanInstall,
    pub project: &'a LeanProject,
    /// The closure's files inside the project, in dependency order.
    pub files: Vec<PathBuf>,
    /// The files to hand to `lean --make` (it follows their imports).
    pub roots: Vec<PathBuf>,
    /// Lean's `-j`.
    pub threads: usize,
    /// Lean's `-M`, in MB.
    pub memory_mb: Option<u64>,
    pub sandbox: SandboxMode,
}

/// The files whose `.olean` is not fresh (`check_whole`: hash the object code too).
pub fn not_fresh(
    files: &[PathBuf],
    version: &str,
    check_whole: bool,
) -> Vec<(PathBuf, OleanStatus)> {
    files
        .iter()
        .map(|f| (f.clone(), status_of(f, version, check_whole)))
        .filter(|(_, s)| *s != OleanStatus::Fresh)
        .collect()
}

/// Removes the `.olean` of each of `files` that is cut short or garbled; returns how many.
pub fn remove_corrupt(files: &[PathBuf], version: &str) -> usize {
    let mut removed = 0;
    for f in files {
        if status_of(f, version, true) == OleanStatus::Corrupt
            && std::fs::remove_file(f.with_extension("olean")).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

impl Compile<'_> {
    /// The directories Lean may write: the project's own source roots (where the `.olean`
    /// files go).
    fn writable(&self) -> Vec<PathBuf> {
        self.project
            .search_path
            .iter()
            .filter(|p| p.starts_with(&self.project.root))
            .cloned()
            .collect()
    }

    /// Runs `lean --make` on the roots in the project, calling `progress` about once a second,
    /// until Lean ends or `stop` is set. Cut-short files from an earlier run are removed first.
    pub fn run(
        &self,
        mut progress: impl FnMut(CompileProgress),
        stop: &AtomicBool,
    ) -> Result<CompileOutcome, LeanError> {
        let version = self.install.version.as_str();
        remove_corrupt(&self.files, version);
        let total = self.files.len();
        let count = |check_whole| total - not_fresh(&self.files, version, check_whole).len();
        let before = count(false);
        progress(CompileProgress {
            done: before,
            total,
        });
        if before == total {
            return Ok(CompileOutcome::Done { compiled: 0 });
        }
        let mut cmd = Command::new(&self.install.lean);
        cmd.arg("--make")
            .arg(format!("-j{}", self.threads.max(1)))
            .current_dir(&self.project.root)
            .env_remove("LEAN_PATH")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(mb) = self.memory_mb {
            cmd.arg(format!("-M{mb}"));
        }
        cmd.args(&self.roots);
        let mut read = self.project.search_path.clone();
        read.push(self.project.root.clone());
        let confinement = Confinement::for_lean(&self.install.lean, &read, &self.writable());
        crate::sandbox::confine(&mut cmd, self.sandbox, &confinement)?;
        let mut child = cmd
            .spawn()
            .map_err(|e| LeanError::io(format!("running {}", self.install.lean.display()), e))?;
        // What Lean prints is errors: keep the end of it for the report.
        let output = Arc::new(Mutex::new(Vec::<String>::new()));
        let mut readers = Vec::new();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let output = Arc::clone(&output);
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut out = output.lock().unwrap_or_else(|e| e.into_inner());
                    out.push(line);
                    if out.len() > 400 {
                        out.drain(..200);
                    }
                }
            }));
        }
        let mut last_poll = Instant::now();
        let status = loop {
            if stop.load(Ordering::Relaxed) {
                let _ = child.kill();
                let _ = child.wait();
                for r in readers {
                    let _ = r.join();
                }
                let removed = remove_corrupt(&self.files, version);
                let left = total - count(false);
                return Ok(CompileOutcome::Stopped { left, removed });
            }
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => return Err(LeanError::io("waiting for lean --make", e)),
            }
            if last_poll.elapsed() >= Duration::from_secs(1) {
                last_poll = Instant::now();
                progress(CompileProgress {
                    done: count(false),
                    total,
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        for r in readers {
            let _ = r.join();
        }
        remove_corrupt(&self.files, version);
        let done = count(true);
        progress(CompileProgress { done, total });
        if status.success() && done == total {
            return Ok(CompileOutcome::Done {
                compiled: done - before,
            });
        }
        let lines = output.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let tail: Vec<&String> = lines.iter().rev().take(40).collect();
        let mut text: Vec<&str> = tail.into_iter().rev().map(String::as_str).collect();
        if text.is_empty() {
            text.push("(Lean printed nothing)");
        }
        Ok(CompileOutcome::Failed {
            left: total - done,
            output: format!("lean --make exited with {status}:\n{}", text.join("\n")),
        })
    }
}

/// The closure of `imports` in `project`, split into what is compiled in the project and what
/// lies outside it (the core library, compiled with Lean).
pub fn project_closure(project: &LeanProject, imports: &[String]) -> (ImportClosure, Vec<PathBuf>) {
    let closure = import_closure(&project.search_path, imports);
    let own: Vec<PathBuf> = closure
        .files
        .iter()
        .filter(|f| f.starts_with(&project.root))
        .cloned()
        .collect();
    (closure, own)
}

/// An error for imports that are nowhere on the project's search path.
pub fn missing_error(project: &LeanProject, missing: &[(String, Option<PathBuf>)]) -> LeanError {
    let list: Vec<String> = missing
        .iter()
        .take(5)
        .map(|(m, from)| match from {
            Some(f) => format!("{m} (imported by {})", f.display()),
            None => m.clone(),
        })
        .collect();
    LeanErrorKind::Project {
        path: project.root.clone(),
        message: format!(
            "{} import(s) not found on its search path: {}",
            missing.len(),
            list.join(", ")
        ),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn the_closure_lists_each_file_once_after_its_imports() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let core = dir.path().join("core");
        let a = write(&src, "a.lean", "import b data.c\n");
        let b = write(&src, "b.lean", "import data.c .d\n");
        let c = write(&src, "data/c/default.lean", "import e\n");
        let d = write(&src, "d.lean", "-- no imports\ntheorem t : true := trivial");
        let e = write(&core, "e.lean", "prelude\n");
        write(&core, "only_compiled.olean", "x");
        let closure = import_closure(
            &[src.clone(), core.clone()],
            &["a".to_string(), "only_compiled".into(), "nowhere".into()],
        );
        assert_eq!(closure.roots, vec![a.clone()]);
        let pos = |f: &PathBuf| closure.files.iter().position(|x| x == f).unwrap();
        assert_eq!(closure.files.len(), 5, "{:?}", closure.files);
        assert!(pos(&e) < pos(&c) && pos(&c) < pos(&b) && pos(&d) < pos(&b) && pos(&b) < pos(&a));
        assert_eq!(
            closure.compiled_only,
            vec![core.join("only_compiled.olean")]
        );
        assert_eq!(closure.missing, vec![("nowhere".to_string(), None)]);
    }

    #[test]
    fn relative_imports_climb_from_the_importing_file() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let x = write(&src, "p/q/x.lean", "import ..y .z\n");
        let y = write(&src, "p/y.lean", "");
        let z = write(&src, "p/q/z.lean", "import absent\n");
        let closure = import_closure(std::slice::from_ref(&src), &["p.q.x".to_string()]);
        assert_eq!(closure.files, vec![y, z.clone(), x]);
        assert_eq!(closure.missing, vec![("absent".to_string(), Some(z))]);
    }

    #[test]
    fn an_import_cycle_does_not_loop() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a.lean", "import b\n");
        let b = write(dir.path(), "b.lean", "import a\n");
        let closure = import_closure(&[dir.path().to_path_buf()], &["a".to_string()]);
        assert_eq!(closure.files, vec![b, a]);
    }
}
