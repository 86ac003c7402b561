//! Lean's own record of a file as it elaborates it: `lean --ast --tsast --tspp` writes
//! `FILE.ast.json` with the syntax tree (every node's kind, value and span), the tactic states
//! it went through (as Lean prints them) and, for every tactic it ran, the node, the states
//! before and after, and whether it succeeded: nested blocks, `;` chains and `by` terms
//! included. Tracing reads tactic steps from here, so they are the steps Lean ran.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::error::{LeanError, LeanErrorKind};
use crate::locate::{LeanInstall, LeanProject, core_search_path};
use crate::sandbox::{Confinement, SandboxMode};

/// A syntax-tree node.
#[derive(Debug, Clone, Deserialize)]
pub struct AstNode {
    pub kind: String,
    /// A string, or a name as its parts (`["nat", "add_zero"]`), or nothing.
    #[serde(default)]
    pub value: serde_json::Value,
    /// `[line, column]`, lines from 1, columns from 0 (in code points).
    pub start: (u32, u32),
    #[serde(default)]
    pub end: Option<(u32, u32)>,
    /// Child node ids (0 means none).
    #[serde(default)]
    pub children: Vec<usize>,
    /// The pre-expression Lean parsed here, when the node is a term.
    #[serde(default)]
    pub pexpr: Option<usize>,
}

impl AstNode {
    /// The node's value as text: a name's parts joined with `.`.
    pub fn value_text(&self) -> Option<String> {
        name_text(&self.value)
    }
}

/// A name as Lean exports it (a string, or parts that are strings or numbers) as text.
pub fn name_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(parts) => Some(
            parts
                .iter()
                .map(|p| match p {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("."),
        ),
        _ => None,
    }
}

/// A tactic state Lean went through.
#[derive(Debug, Clone, Deserialize)]
pub struct AstState {
    /// The declaration being elaborated (a name).
    #[serde(default)]
    pub decl: serde_json::Value,
    /// The state as Lean prints it (`no goals` when none is left).
    #[serde(default)]
    pub pp: String,
}

/// One tactic Lean ran.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct AstTactic {
    /// Its node.
    pub ast: usize,
    /// The states before and after (indices into [`AstExport::states`]).
    pub start: usize,
    pub end: usize,
    pub success: bool,
}

/// Everything `--ast --tsast --tspp` exports for one file.
#[derive(Debug, Clone, Deserialize)]
pub struct AstExport {
    pub ast: Vec<Option<AstNode>>,
    #[serde(default)]
    pub states: Vec<AstState>,
    #[serde(default)]
    pub tactics: Vec<AstTactic>,
}

impl AstExport {
    pub fn node(&self, id: usize) -> Option<&AstNode> {
        self.ast.get(id).and_then(Option::as_ref)
    }
}

/// Lean's export of a file and what it printed while elaborating it.
pub struct AstRun {
    pub export: AstExport,
    /// Lean's messages (errors of the file itself, if it has any).
    pub messages: String,
    /// Wall time of the Lean run.
    pub elapsed: Duration,
    /// Peak resident memory of the Lean process, in KiB, when the system reports it.
    pub peak_rss_kib: Option<u64>,
}

/// How to run the export.
pub struct AstJob<'a> {
    pub install: &'a LeanInstall,
    /// The project the file's imports come from (`None`: Lean's core library only).
    pub project: Option<&'a LeanProject>,
    pub sandbox: SandboxMode,
    pub memory_mb: Option<u64>,
    pub timeout: Duration,
}

/// The text of `file` with its relative imports (`import .foo`) made absolute, so that a copy
/// elsewhere imports the same modules; `module_dir` is the file's directory as a dotted
/// module prefix relative to its source root (`data.nat` for `src/data/nat/parity.lean`).
/// Positions below the import lines are unchanged.
pub fn absolute_imports(text: &str, module_dir: &[String]) -> String {
    let imports = problems::imports_of(text);
    if imports.iter().all(|i| i.relative.is_none()) {
        return text.to_string();
    }
    // The import block ends where the last import's name ends; everything after is kept.
    let mut end = 0;
    for i in &imports {
        let dots = i.relative.map_or(0, |n| n + 1);
        let written = format!("{}{}", ".".repeat(dots), i.name);
        if let Some(at) = text[end..].find(&written) {
            end += at + written.len();
        }
    }
    let names: Vec<String> = imports
        .iter()
        .map(|i| match i.relative {
            None => i.name.clone(),
            Some(up) => {
                let keep = module_dir.len().saturating_sub(up);
                let mut parts: Vec<String> = module_dir[..keep].to_vec();
                parts.push(i.name.clone());
                parts.join(".")
            }
        })
        .collect();
    // Keep the line count of the import block, so that later positions do not move.
    let lines = text[..end].matches('\n').count();
    let mut head = format!("import {}", names.join(" "));
    head.push_str(&"\n".repeat(lines));
    format!("{head}{}", &text[end..])
}

/// The module directory of `file` below the first search-path root that holds it.
pub fn module_dir_of(file: &Path, search_path: &[PathBuf]) -> Vec<String> {
    let file = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
    for root in search_path {
        let root = root.canonicalize().unwrap_or_else(|_| root.clone());
        if let Ok(rel) = file.strip_prefix(&root) {
            return rel
                .parent()
                .map(|p| {
                    p.components()
                        .map(|c| c.as_os_str().to_string_lossy().to_string())
                        .collect()
                })
                .unwrap_or_default();
        }
    }
    Vec::new()
}

impl AstJob<'_> {
    /// Runs `lean --ast --tsast --tspp` on a copy of `file` in a private directory (Lean writes
    /// the export beside its input; the project stays untouched), confined like every Lean
    /// process: it reads the toolchain, the project and the copy, and writes only the copy's
    /// directory.
    pub fn run(&self, file: &Path) -> Result<AstRun, LeanError> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| LeanError::io(format!("reading {}", file.display()), e))?;
        self.run_source(file, &text)
    }

    /// [`Self::run`] for `text` as if it were the content of `file` (a file with other proofs
    /// spliced in, for instance).
    pub fn run_source(&self, file: &Path, text: &str) -> Result<AstRun, LeanError> {
        let search_path = match self.project {
            Some(p) => p.search_path.clone(),
            None => core_search_path(self.install)?,
        };
        let text = absolute_imports(text, &module_dir_of(file, &search_path));
        let dir = tempfile::Builder::new()
            .prefix("prover-trace-")
            .tempdir()
            .map_err(|e| LeanError::io("creating a directory for the export", e))?;
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "input.lean".into());
        let copy = dir.path().join(&name);
        std::fs::write(&copy, &text)
            .map_err(|e| LeanError::io(format!("writing {}", copy.display()), e))?;
        let cwd = self
            .project
            .map(|p| p.root.clone())
            .unwrap_or_else(|| dir.path().to_path_buf());
        let mut cmd = Command::new(&self.install.lean);
        cmd.args(["--ast", "--tsast", "--tspp"])
            .arg(&copy)
            .current_dir(&cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if self.project.is_none() {
            cmd.env("LEAN_PATH", crate::repl::join_path(&search_path));
        } else {
            cmd.env_remove("LEAN_PATH");
        }
        if let Some(mb) = self.memory_mb {
            cmd.arg(format!("-M{mb}"));
        }
        let mut read = search_path.clone();
        read.extend(self.project.map(|p| p.root.clone()));
        let confinement =
            Confinement::for_lean(&self.install.lean, &read, &[dir.path().to_path_buf()]);
        crate::sandbox::confine(&mut cmd, self.sandbox, &confinement)?;
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| LeanError::io(format!("running {}", self.install.lean.display()), e))?;
        let mut out = child.stdout.take();
        let mut err = child.stderr.take();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(o) = out.as_mut() {
                let _ = o.read_to_string(&mut s);
            }
            if let Some(e) = err.as_mut() {
                let _ = e.read_to_string(&mut s);
            }
            s
        });
        let pid = child.id();
        let mut peak = None::<u64>;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => return Err(LeanError::io("waiting for lean --ast", e)),
            }
            if let Some(rss) = crate::worker::rss_kib(pid) {
                peak = Some(peak.map_or(rss, |p| p.max(rss)));
            }
            if started.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                return Err(LeanErrorKind::Timeout(self.timeout).into());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let elapsed = started.elapsed();
        let messages = reader.join().unwrap_or_default();
        let export_file = copy.with_extension("ast.json");
        let bytes = std::fs::read(&export_file).map_err(|e| LeanErrorKind::Crashed {
            status: status.to_string(),
            stderr: format!("no export written ({e}); Lean said: {messages}"),
        })?;
        let export: AstExport = serde_json::from_slice(&bytes).map_err(|e| {
            LeanErrorKind::Protocol(format!(
                "Lean's export of {} is not readable: {e}",
                file.display()
            ))
        })?;
        // Lean reports where the file itself has errors; the messages name the copy.
        let messages = messages.replace(&copy.display().to_string(), &file.display().to_string());
        Ok(AstRun {
            export,
            messages,
            elapsed,
            peak_rss_kib: peak,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_imports_become_absolute_and_lines_stay() {
        let text =
            "import .basic ..order.lattice\n  data.list\n-- comment\ntheorem t : true := trivial\n";
        let out = absolute_imports(text, &["data".into(), "nat".into()]);
        assert!(
            out.starts_with("import data.nat.basic data.order.lattice data.list\n\n"),
            "{out}"
        );
        assert_eq!(out.lines().count(), text.lines().count());
        assert!(out.contains("-- comment\ntheorem t"));
        let plain = "import tactic\ntheorem t : true := trivial\n";
        assert_eq!(absolute_imports(plain, &[]), plain);
    }

    #[test]
    fn names_join_their_parts() {
        assert_eq!(
            name_text(&serde_json::json!(["nat", "add_zero"])).as_deref(),
            Some("nat.add_zero")
        );
        assert_eq!(name_text(&serde_json::json!("h")).as_deref(), Some("h"));
        assert_eq!(name_text(&serde_json::json!(null)), None);
    }
}
