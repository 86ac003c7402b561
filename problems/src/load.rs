//! Reading theorem files and directories of them, and where our problem sets live.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::ParseError;
use crate::model::ProblemFile;
use crate::parse::parse_str;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("no .lean files under {}", path.display())]
    NoLeanFiles { path: PathBuf },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> LoadError + '_ {
    move |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads and parses one file.
pub fn load_file(path: &Path) -> Result<ProblemFile, LoadError> {
    let text = std::fs::read_to_string(path).map_err(io_error(path))?;
    Ok(parse_str(&text, Some(path))?)
}

/// Loads each path in order; a directory stands for every `*.lean` file below it, sorted by path.
/// A directory without any `.lean` file is an error (most likely the wrong directory).
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<ProblemFile>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect_lean_files(path, &mut found)?;
            if found.is_empty() {
                return Err(LoadError::NoLeanFiles { path: path.clone() });
            }
            found.sort();
            for file in found {
                files.push(load_file(&file)?);
            }
        } else {
            files.push(load_file(path)?);
        }
    }
    Ok(files)
}

fn collect_lean_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        if path.is_dir() {
            collect_lean_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "lean") {
            out.push(path);
        }
    }
    Ok(())
}

/// Absolute path of our own core-Lean problem set, `problems/core`.
pub fn core_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("core")
}

/// `shared/minif2f/valid.lean` next to the repository (`../shared` relative to the workspace
/// root), if it is there.
pub fn shared_minif2f_valid() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/minif2f/valid.lean");
    path.is_file().then(|| path.canonicalize().unwrap_or(path))
}
