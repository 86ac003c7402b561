//! Finding Lean 3 and the Lean project (leanpkg) a worker runs in.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{LeanError, LeanErrorKind};

/// A Lean 3 executable we can drive.
#[derive(Clone, Debug)]
pub struct LeanInstall {
    pub lean: PathBuf,
    /// `3.51.1`.
    pub version: String,
}

/// Where a Lean executable came from, for messages.
const HOW_TO_INSTALL: &str = "install it with elan (`elan toolchain install \
     leanprover-community/lean:3.51.1`), then pass --lean PATH, set LEAN_HOME, or put Lean 3 on PATH";

impl LeanInstall {
    /// Finds Lean 3: `explicit` (a `lean` binary or a directory holding `bin/lean`), then
    /// `LEAN_HOME`, then `lean` on `PATH`, then elan's toolchains (3.51.1 first).
    pub fn find(explicit: Option<&Path>) -> Result<Self, LeanError> {
        if let Some(p) = explicit {
            let bin = binary_in(p).ok_or_else(|| {
                LeanErrorKind::NotFound(format!("no Lean executable at {}", p.display()))
            })?;
            return Self::probe(&bin);
        }
        let mut tried = Vec::new();
        if let Some(home) = std::env::var_os("LEAN_HOME") {
            let home = PathBuf::from(home);
            match binary_in(&home) {
                Some(bin) => return Self::probe(&bin),
                None => tried.push(format!("LEAN_HOME={} has no bin/lean", home.display())),
            }
        }
        if let Some(bin) = on_path("lean") {
            match Self::probe(&bin) {
                Ok(install) => return Ok(install),
                Err(e) => tried.push(format!("{}: {e}", bin.display())),
            }
        }
        for bin in elan_toolchains() {
            if let Ok(install) = Self::probe(&bin) {
                return Ok(install);
            }
        }
        tried.push("no Lean 3 toolchain in elan's toolchains".into());
        Err(LeanErrorKind::NotFound(format!("{}; {HOW_TO_INSTALL}", tried.join("; "))).into())
    }

    /// Runs `lean --version` and checks that it is Lean 3.
    pub fn probe(bin: &Path) -> Result<Self, LeanError> {
        let out = Command::new(bin)
            .arg("--version")
            .output()
            .map_err(|e| LeanErrorKind::NotFound(format!("cannot run {}: {e}", bin.display())))?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        // "Lean (version 3.51.1, commit f91b574c40ad, RELEASE)"
        let version = text
            .split("version ")
            .nth(1)
            .and_then(|rest| rest.split([',', ' ', ')']).next())
            .unwrap_or("")
            .to_string();
        if !version.starts_with("3.") {
            return Err(LeanErrorKind::Unsupported {
                path: bin.to_path_buf(),
                version: if version.is_empty() {
                    text.trim().to_string()
                } else {
                    version
                },
            }
            .into());
        }
        Ok(LeanInstall {
            lean: bin.to_path_buf(),
            version,
        })
    }

    /// The search path Lean itself uses when started in `dir` (which honours a `leanpkg.path`
    /// file there or in a parent directory), from `lean --path`.
    pub fn search_path_in(&self, dir: &Path) -> Result<Vec<PathBuf>, LeanError> {
        let out = Command::new(&self.lean)
            .arg("--path")
            .current_dir(dir)
            .env_remove("LEAN_PATH")
            .output()
            .map_err(|e| LeanError::io(format!("running {} --path", self.lean.display()), e))?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            LeanErrorKind::Protocol(format!(
                "`lean --path` printed something that is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            ))
        })?;
        let paths = v["path"]
            .as_array()
            .ok_or_else(|| LeanErrorKind::Protocol("`lean --path` printed no path list".into()))?;
        Ok(paths
            .iter()
            .filter_map(|p| p.as_str())
            .map(PathBuf::from)
            .filter(|p| p.exists())
            // `path ./src` in a leanpkg.path gives `ROOT/./src`.
            .map(|p| p.canonicalize().unwrap_or(p))
            .collect())
    }
}

fn binary_in(p: &Path) -> Option<PathBuf> {
    if p.is_file() {
        return Some(p.to_path_buf());
    }
    let bin = p.join("bin").join("lean");
    bin.is_file().then_some(bin)
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Lean 3 toolchains installed by elan, 3.51.1 first, then newest first.
fn elan_toolchains() -> Vec<PathBuf> {
    let elan_home = std::env::var_os("ELAN_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".elan")));
    let Some(dir) = elan_home.map(|h| h.join("toolchains")) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    order_toolchains(names)
        .into_iter()
        .map(|n| dir.join(n).join("bin").join("lean"))
        .filter(|p| p.is_file())
        .collect()
}

/// The Lean 3 toolchain directories among `names` (elan writes
/// `leanprover-community/lean:3.51.1` as `leanprover-community--lean---3.51.1`): 3.51.1 first,
/// then by version, newest first, comparing versions as numbers (3.42.1 before 3.5.0).
fn order_toolchains(names: Vec<String>) -> Vec<String> {
    let mut versioned: Vec<(Vec<u64>, String)> = names
        .into_iter()
        .filter_map(|n| {
            let at = n
                .find("lean---3.")
                .map(|i| i + "lean---".len())
                .or_else(|| n.find("lean-3.").map(|i| i + "lean-".len()))?;
            let version: Vec<u64> = n[at..]
                .split(|c: char| !c.is_ascii_digit())
                .take(3)
                .map(|p| p.parse().unwrap_or(0))
                .collect();
            Some((version, n))
        })
        .collect();
    versioned.sort_by(|(va, na), (vb, nb)| vb.cmp(va).then_with(|| na.cmp(nb)));
    versioned.sort_by_key(|(v, _)| v.as_slice() != [3, 51, 1]);
    versioned.into_iter().map(|(_, n)| n).collect()
}

/// The prover's own directory: `$PROVER_HOME`, else the platform's data directory
/// (`$XDG_DATA_HOME/prover` or `~/.local/share/prover` on Linux), else `.prover` under the
/// temporary directory. `prover setup` makes its mathlib project here.
pub fn prover_home() -> PathBuf {
    if let Some(d) = std::env::var_os("PROVER_HOME") {
        return PathBuf::from(d);
    }
    dirs::data_dir()
        .map(|d| d.join("prover"))
        .unwrap_or_else(|| std::env::temp_dir().join(".prover"))
}

/// Where `prover setup` puts the mathlib project: `<prover home>/mathlib`.
pub fn setup_project_dir() -> PathBuf {
    prover_home().join("mathlib")
}

/// A leanpkg project: its root and the search path its modules are found on.
#[derive(Clone, Debug)]
pub struct LeanProject {
    pub root: PathBuf,
    pub search_path: Vec<PathBuf>,
}

impl LeanProject {
    /// The project `prover setup` made, when it is there and configured (`leanpkg.path`
    /// written): what commands use for files that need more than Lean's core library and name
    /// no project.
    pub fn from_setup() -> Option<PathBuf> {
        let dir = setup_project_dir();
        (dir.join("leanpkg.toml").is_file() && dir.join("leanpkg.path").is_file()).then_some(dir)
    }

    /// The nearest directory at or above `start` that holds a `leanpkg.toml`.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        let start = if start.is_file() {
            start.parent()?
        } else {
            start
        };
        let start = start.canonicalize().ok()?;
        start
            .ancestors()
            .find(|d| d.join("leanpkg.toml").is_file())
            .map(Path::to_path_buf)
    }

    /// Loads the project at `root`. With a `leanpkg.path` (written by `leanpkg configure`),
    /// Lean's own `lean --path` gives the search path; otherwise it is the core library plus
    /// each `_target/deps/*` package's source directory and the project's own.
    pub fn load(lean: &LeanInstall, root: &Path) -> Result<Self, LeanError> {
        let toml = root.join("leanpkg.toml");
        if !toml.is_file() {
            return Err(LeanErrorKind::Project {
                path: root.to_path_buf(),
                message: "no leanpkg.toml here".into(),
            }
            .into());
        }
        let root = root.canonicalize().map_err(|e| LeanErrorKind::Project {
            path: root.to_path_buf(),
            message: e.to_string(),
        })?;
        if root.join("leanpkg.path").is_file() {
            let search_path = lean.search_path_in(&root)?;
            return Ok(LeanProject { root, search_path });
        }
        let mut search_path = core_search_path(lean)?;
        let deps = root.join("_target").join("deps");
        if let Ok(entries) = std::fs::read_dir(&deps) {
            let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            dirs.sort();
            for dep in dirs {
                let src = dep.join(package_path(&dep.join("leanpkg.toml")));
                if src.is_dir() {
                    search_path.push(src);
                }
            }
        }
        let own = root.join(package_path(&toml));
        if own.is_dir() {
            search_path.push(own);
        }
        Ok(LeanProject { root, search_path })
    }
}

/// The core library path of a Lean install, outside any project.
pub fn core_search_path(lean: &LeanInstall) -> Result<Vec<PathBuf>, LeanError> {
    // Run in a directory without a leanpkg.path above it, so only the builtin path is printed.
    let dir = std::env::temp_dir();
    let mut paths = lean.search_path_in(&dir)?;
    // A user-wide ~/.lean/leanpkg.path may add packages; keep only the builtin library, which
    // sits next to the binary.
    if let Some(prefix) = lean.lean.parent().and_then(Path::parent) {
        let builtin: Vec<PathBuf> = paths
            .iter()
            .filter(|p| p.starts_with(prefix))
            .cloned()
            .collect();
        if !builtin.is_empty() {
            paths = builtin;
        }
    }
    Ok(paths)
}

/// The `path = "…"` of a leanpkg.toml's [package] section (default `src`).
fn package_path(toml: &Path) -> String {
    let Ok(text) = std::fs::read_to_string(toml) else {
        return "src".into();
    };
    let mut in_package = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_package = t == "[package]";
            continue;
        }
        if in_package
            && let Some(rest) = t.strip_prefix("path")
            && let Some(value) = rest.trim_start().strip_prefix('=')
        {
            return value.trim().trim_matches('"').to_string();
        }
    }
    "src".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_path_reads_the_package_section() {
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("leanpkg.toml");
        std::fs::write(
            &toml,
            "[package]\nname = \"minif2f\"\npath = \"lean/src\"\n\n[dependencies]\nmathlib = {git = \"x\", rev = \"y\"}\n",
        )
        .unwrap();
        assert_eq!(package_path(&toml), "lean/src");
        std::fs::write(&toml, "[package]\nname = \"x\"\n").unwrap();
        assert_eq!(package_path(&toml), "src");
        assert_eq!(package_path(&dir.path().join("missing.toml")), "src");
    }

    #[test]
    fn discover_finds_the_nearest_leanpkg_toml() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("proj");
        let nested = root.join("src").join("deep");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(root.join("leanpkg.toml"), "[package]\n").unwrap();
        let file = nested.join("a.lean");
        std::fs::write(&file, "").unwrap();
        let found = LeanProject::discover(&file).unwrap();
        assert_eq!(found, root.canonicalize().unwrap());
        assert_eq!(LeanProject::discover(dir.path()), None);
    }

    #[test]
    fn toolchains_sort_as_versions() {
        let names = [
            "leanprover-community--lean---3.5.0",
            "leanprover-community--lean---3.42.1",
            "leanprover--lean4---v4.0.0",
            "stable",
            "leanprover-community--lean---3.51.1",
            "leanprover-community--lean---3.50.3",
            "lean-3.4.2",
        ];
        let ordered = order_toolchains(names.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            ordered,
            [
                "leanprover-community--lean---3.51.1",
                "leanprover-community--lean---3.50.3",
                "leanprover-community--lean---3.42.1",
                "leanprover-community--lean---3.5.0",
                "lean-3.4.2",
            ]
        );
    }

    #[test]
    fn explicit_missing_lean_is_a_clear_error() {
        let err = LeanInstall::find(Some(Path::new("/nonexistent/lean"))).unwrap_err();
        assert!(matches!(err.kind(), LeanErrorKind::NotFound(_)), "{err}");
        assert!(err.to_string().contains("/nonexistent/lean"));
    }

    #[test]
    fn a_program_that_is_not_lean_3_is_refused() {
        // `true` prints nothing for --version.
        let Some(bin) = on_path("true") else { return };
        let err = LeanInstall::probe(&bin).unwrap_err();
        assert!(
            matches!(err.kind(), LeanErrorKind::Unsupported { .. }),
            "{err}"
        );
    }
}
