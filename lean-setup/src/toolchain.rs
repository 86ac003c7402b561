//! Lean 3 itself: found where every command finds it, else installed with elan.

use std::path::Path;

use lean_bridge::LeanInstall;

use crate::LEAN_TOOLCHAIN;
use crate::error::SetupError;
use crate::tools::{Invocation, Output, Program};

/// How Lean came to be here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeanOrigin {
    /// It was installed already (`--lean`, `LEAN_HOME`, `PATH` or elan's toolchains).
    Found,
    /// We installed it now with `elan toolchain install`.
    InstalledWithElan,
}

/// What to tell a user who has neither Lean 3 nor elan.
pub const INSTALL_ELAN: &str = "Lean 3 was not found, and neither was elan, the Lean toolchain \
manager that installs it. Install elan, from your distribution's package where there is one \
(Homebrew: `brew install elan-init`; Arch Linux: `pacman -S elan-lean`) or with its installer \
(`curl -sSfL https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh | sh`, \
see https://github.com/leanprover/elan), open a new shell so that `elan` is on PATH, and run \
`prover setup` again: it will install leanprover-community/lean:3.51.1 with elan. A Lean 3 \
you built yourself works too: pass --lean PATH or set LEAN_HOME.";

/// The command elan is given.
pub fn elan_install() -> Invocation {
    Invocation::new(Program::Elan)
        .arg("toolchain")
        .arg("install")
        .arg(LEAN_TOOLCHAIN)
}

/// Finds Lean 3 as every command does; when it is missing and `explicit` names nothing,
/// installs mathlib's toolchain with elan (unless `check_only`).
pub fn ensure_lean(
    explicit: Option<&Path>,
    check_only: bool,
) -> Result<(LeanInstall, LeanOrigin), SetupError> {
    let not_found = match LeanInstall::find(explicit) {
        Ok(install) => return Ok((install, LeanOrigin::Found)),
        Err(e) if explicit.is_some() => return Err(e.into()),
        Err(e) => e,
    };
    if Program::Elan.find().is_none() {
        return Err(SetupError::NoLean(format!("{INSTALL_ELAN}\n({not_found})")));
    }
    if check_only {
        return Err(SetupError::NoLean(format!(
            "{not_found}; `prover setup` would install it with `{}`",
            elan_install().display()
        )));
    }
    elan_install().run(Output::Show, "")?;
    let install = LeanInstall::find(None).map_err(|e| {
        SetupError::NoLean(format!(
            "`{}` ran, but Lean 3 is still not found: {e}",
            elan_install().display()
        ))
    })?;
    Ok((install, LeanOrigin::InstalledWithElan))
}
