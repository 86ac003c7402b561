//! The retrieval indexes of a Lean project, made from Lean: every declaration the imports'
//! environment holds (asked of a worker), and every traced step of `prover trace` records.
//! Where they live and when they are stale is decided here; what they are is the `retrieval`
//! crate's business.
//!
//! An environment's indexes live in one directory per (project, imports) under the prover's
//! home; the declaration index's fingerprint is Lean's version and the size and modification
//! time of every `.olean` of the imports' closure, so a recompiled project rebuilds it.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lean_bridge::make::import_closure;
use lean_bridge::olean::hash64;
use lean_bridge::{LeanError, LeanInstall, LeanPool, LeanProject};
use retrieval::{DeclIndex, Declaration, RetrievalError, TacticIndex, TracedStep};

use crate::record::TracedTheorem;
use crate::trace::display_path;

/// What can stop an index build.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("asking Lean for the declarations: {0}")]
    Lean(#[from] LeanError),
    #[error("{0}")]
    Retrieval(#[from] RetrievalError),
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How many declarations one request asks for.
const CHUNK: u64 = 4000;

/// A file's size and modification time (seconds), `None` when it is not there.
fn stamp(path: &Path) -> Option<(u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    let mtime = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    Some((m.len(), mtime))
}

/// The directory of the indexes of `project` (core Lean when `None`) with `imports`.
pub fn index_dir(home: &Path, project: Option<&LeanProject>, imports: &[String]) -> PathBuf {
    let mut sorted: Vec<&str> = imports.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let root = project.map_or_else(|| "core".to_string(), |p| p.root.display().to_string());
    let key = format!("{root}\n{}", sorted.join("\n"));
    let name = project
        .and_then(|p| p.root.file_name())
        .map_or_else(|| "core".to_string(), |n| n.to_string_lossy().into_owned());
    home.join("index")
        .join(format!("{name}-{:016x}", hash64(key.as_bytes())))
}

/// What identifies the environment of `imports`: Lean's version and, for every `.olean` of
/// their closure, its path, size and modification time.
pub fn environment_fingerprint(
    install: &LeanInstall,
    search_path: &[PathBuf],
    imports: &[String],
) -> String {
    let closure = import_closure(search_path, imports);
    let mut text = format!("lean {}\n", install.version);
    for lean in closure.files.iter().chain(&closure.compiled_only) {
        let olean = lean.with_extension("olean");
        text.push_str(&format!("{} {:?}\n", olean.display(), stamp(&olean)));
    }
    format!(
        "lean {} closure {} files {:016x}",
        install.version,
        closure.files.len() + closure.compiled_only.len(),
        hash64(text.as_bytes())
    )
}

/// Builds the declaration index of the environment `pool` runs in, at `dir`: every
/// declaration Lean lists, `progress(done, total)` after each chunk.
pub async fn build_declaration_index(
    pool: &LeanPool,
    dir: &Path,
    fingerprint: &str,
    search_path: &[PathBuf],
    mut progress: impl FnMut(u64, u64),
) -> Result<DeclIndex, IndexError> {
    let mut decls: Vec<Declaration> = Vec::new();
    let mut offset = 0;
    loop {
        let reply = pool
            .declarations(offset, CHUNK, Duration::from_secs(600))
            .await?;
        let n = reply.declarations.len() as u64;
        for d in reply.declarations {
            let path = d.place.olean.as_deref().map(|o| {
                display_path(
                    &Path::new(o).with_extension("lean"),
                    pool.project(),
                    search_path,
                )
            });
            decls.push(Declaration {
                name: d.place.name,
                kind: d.kind,
                statement: d.statement,
                path,
                line: d.place.line,
                column: d.place.column,
            });
        }
        offset += n;
        progress(offset, reply.total);
        if n == 0 || offset >= reply.total {
            break;
        }
    }
    Ok(DeclIndex::build(dir, decls, fingerprint)?)
}

/// The fingerprint of trace files: their paths, sizes and modification times.
pub fn traces_fingerprint(traces: &[PathBuf]) -> String {
    let mut text = String::new();
    for t in traces {
        text.push_str(&format!("{} {:?}\n", t.display(), stamp(t)));
    }
    format!("traces {:016x}", hash64(text.as_bytes()))
}

/// The steps of `prover trace` records (JSON lines). Which theorems a search may not use is
/// decided when it retrieves (the policy leaves out the ones it is proving), not here.
pub fn read_traced_steps(traces: &[PathBuf]) -> Result<Vec<TracedStep>, IndexError> {
    let mut steps = Vec::new();
    for path in traces {
        let f = std::fs::File::open(path).map_err(|source| IndexError::Read {
            path: path.clone(),
            source,
        })?;
        for line in std::io::BufReader::new(f).lines() {
            let line = line.map_err(|source| IndexError::Read {
                path: path.clone(),
                source,
            })?;
            let Ok(t) = serde_json::from_str::<TracedTheorem>(&line) else {
                continue;
            };
            for s in t.traced_tactics {
                // A `{ … }` block repeats the steps traced inside it; the steps themselves are
                // what a search can use.
                if s.tactic.starts_with('{') || s.state_before.trim() == "no goals" {
                    continue;
                }
                steps.push(TracedStep {
                    theorem: t.full_name.clone(),
                    path: t.file_path.clone(),
                    state_before: s.state_before,
                    tactic: s.tactic,
                    premises: s
                        .annotated_tactic
                        .1
                        .into_iter()
                        .map(|p| p.full_name)
                        .collect(),
                });
            }
        }
    }
    Ok(steps)
}

/// Builds the tactic index of `steps` at `dir`.
pub fn build_tactic_index(
    dir: &Path,
    steps: Vec<TracedStep>,
    fingerprint: &str,
) -> Result<TacticIndex, IndexError> {
    Ok(TacticIndex::build(dir, steps, fingerprint)?)
}
