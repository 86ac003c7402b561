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
/// A directory without any `.lean` file is an error (most likely the wrong directory), and so
/// is the first file that cannot be read: see [`load_paths_each`] for runs that go on.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<ProblemFile>, LoadError> {
    let loaded = load_paths_each(paths)?;
    match loaded.failed.into_iter().next() {
        Some(f) => Err(f.error),
        None => Ok(loaded.files),
    }
}

/// What [`load_paths_each`] read: the files it could, and those it could not with the reason.
#[derive(Debug, Default)]
pub struct LoadedFiles {
    pub files: Vec<ProblemFile>,
    pub failed: Vec<FailedFile>,
}

/// A file that could not be read or parsed (not UTF-8, unreadable, gone).
#[derive(Debug)]
pub struct FailedFile {
    pub path: PathBuf,
    pub error: LoadError,
}

impl FailedFile {
    /// Why, without the path (which the record states on its own).
    pub fn reason(&self) -> String {
        match &self.error {
            LoadError::Io { source, .. } if source.kind() == io::ErrorKind::InvalidData => {
                "not valid UTF-8 (Lean reads only UTF-8 text)".to_string()
            }
            LoadError::Io { source, .. } => source.to_string(),
            other => other.to_string(),
        }
    }
}

/// Like [`load_paths`], but a file that cannot be read is set aside with its reason and the
/// others still load: a run over a directory keeps going past one bad file. A path that is
/// not there, or a directory that cannot be listed or holds no `.lean` file, is still an
/// error: that is most likely the wrong path, not one bad file among many.
pub fn load_paths_each(paths: &[PathBuf]) -> Result<LoadedFiles, LoadError> {
    let mut out = LoadedFiles::default();
    let mut load = |path: &Path| match load_file(path) {
        Ok(f) => out.files.push(f),
        Err(error) => out.failed.push(FailedFile {
            path: path.to_path_buf(),
            error,
        }),
    };
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect_lean_files(path, &mut found)?;
            if found.is_empty() {
                return Err(LoadError::NoLeanFiles { path: path.clone() });
            }
            found.sort();
            for file in found {
                load(&file);
            }
        } else if let Err(source) = path.metadata() {
            // A path on the command line that is not there is a typo, not a bad file.
            return Err(LoadError::Io {
                path: path.clone(),
                source,
            });
        } else {
            load(path);
        }
    }
    Ok(out)
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
