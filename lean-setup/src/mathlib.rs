//! The mathlib 3 checkout: cloned with git at a pinned commit, configured as
//! `leanpkg configure` configures mathlib (its `leanpkg.path`).

use std::path::{Path, PathBuf};

use crate::error::SetupError;
use crate::tools::{Invocation, Output, Program};

/// What `leanpkg configure` writes for a package without dependencies whose sources are in
/// `src` (leanpkg's `mk_path_file`): the core library, then the package's own directory.
pub const LEANPKG_PATH: &str = "builtin_path\npath ./src\n";

/// A mathlib checkout to make or check.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub dir: PathBuf,
    /// A URL or a local path (a mirror, for machines without network).
    pub git: String,
    /// The commit to check out.
    pub rev: String,
}

/// What a checkout step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutAction {
    /// It was already at the commit.
    Present,
    /// Fetched and checked out now.
    Cloned,
    /// It was at another commit and was moved to this one.
    Moved { from: String },
}

fn git(dir: &Path) -> Invocation {
    Invocation::new(Program::Git).arg("-C").arg(dir.as_os_str())
}

const GIT_HINT: &str = "install git (your distribution's `git` package)";

impl Checkout {
    /// The commit checked out now, if the directory is a git checkout with one.
    pub fn head(&self) -> Option<String> {
        if !self.dir.join(".git").exists() {
            return None;
        }
        git(&self.dir)
            .arg("rev-parse")
            .arg("HEAD")
            .run(Output::Capture, GIT_HINT)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| s.len() == 40)
    }

    /// Clones (or finishes cloning) the commit. A shallow fetch of just that commit first (a
    /// few hundred MB less than mathlib's history); a full fetch where the server refuses one.
    /// A checkout whose files were changed is never moved.
    pub fn ensure(&self) -> Result<CheckoutAction, SetupError> {
        let head = self.head();
        if head.as_deref() == Some(self.rev.as_str()) {
            return Ok(CheckoutAction::Present);
        }
        if let Some(from) = &head {
            let changed = git(&self.dir)
                .arg("status")
                .arg("--porcelain")
                .arg("--untracked-files=no")
                .run(Output::Capture, GIT_HINT)?;
            if !changed.trim().is_empty() {
                return Err(SetupError::Project {
                    path: self.dir.clone(),
                    message: format!(
                        "this mathlib checkout is at {from}, not {}, and has local changes; \
                         leaving it alone (commit or discard them, or pass --project DIR)",
                        self.rev
                    ),
                });
            }
        } else if !self.dir.join(".git").exists() {
            let taken = std::fs::read_dir(&self.dir)
                .map(|mut d| d.next().is_some())
                .unwrap_or(false);
            if taken {
                return Err(SetupError::Project {
                    path: self.dir.clone(),
                    message: "the directory exists, is not empty and is not a git checkout; \
                              remove it or pass --project DIR"
                        .into(),
                });
            }
            std::fs::create_dir_all(&self.dir)
                .map_err(|e| SetupError::io(format!("creating {}", self.dir.display()), e))?;
            git(&self.dir)
                .arg("init")
                .arg("-q")
                .run(Output::Capture, GIT_HINT)?;
        }
        let shallow = git(&self.dir)
            .arg("fetch")
            .arg("--depth")
            .arg("1")
            .arg(&self.git)
            .arg(&self.rev)
            .run(Output::Show, GIT_HINT);
        if let Err(e) = shallow {
            if matches!(e, SetupError::ToolMissing { .. }) {
                return Err(e);
            }
            tracing::warn!("shallow fetch refused ({e}); fetching the whole history");
            git(&self.dir)
                .arg("fetch")
                .arg(&self.git)
                .run(Output::Show, GIT_HINT)?;
        }
        git(&self.dir)
            .arg("checkout")
            .arg("-q")
            .arg("--detach")
            .arg(&self.rev)
            .run(Output::Capture, GIT_HINT)?;
        Ok(match head {
            Some(from) => CheckoutAction::Moved { from },
            None => CheckoutAction::Cloned,
        })
    }

    /// Writes `leanpkg.path` as `leanpkg configure` does; `true` when it changed.
    pub fn configure(&self) -> Result<bool, SetupError> {
        let path = self.dir.join("leanpkg.path");
        if std::fs::read_to_string(&path).is_ok_and(|t| t == LEANPKG_PATH) {
            return Ok(false);
        }
        if !self.dir.join("leanpkg.toml").is_file() {
            return Err(SetupError::Project {
                path: self.dir.clone(),
                message: "no leanpkg.toml: this is not a Lean 3 package".into(),
            });
        }
        std::fs::write(&path, LEANPKG_PATH)
            .map_err(|e| SetupError::io(format!("writing {}", path.display()), e))?;
        Ok(true)
    }

    /// Whether `leanpkg.path` is there as `leanpkg configure` writes it.
    pub fn is_configured(&self) -> bool {
        std::fs::read_to_string(self.dir.join("leanpkg.path")).is_ok_and(|t| t == LEANPKG_PATH)
    }
}
