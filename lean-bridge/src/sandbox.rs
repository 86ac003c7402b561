//! The operating-system sandbox every Lean process of the bridge runs in.
//!
//! The screen (`screen.rs`) keeps IO words out of model-written text; this is what stands behind
//! it when a text gets past the screen. On Linux each Lean process is confined before it starts
//! (in the child, between `fork` and `exec`):
//! - **Landlock** (file system): it may read only what Lean needs (its toolchain, the project's
//!   sources and `.olean`s, the compiled REPL, the system's shared libraries) and write only its
//!   own temporary directory; it may execute only the Lean binary, so `io.cmd` and friends cannot
//!   start another program.
//! - **Landlock** (network, ABI 4 and later): no TCP connection or bind; (ABI 6 and later) no
//!   connection to abstract UNIX sockets and no signal to processes outside the sandbox.
//! - **A new network namespace** (in a new user namespace, so no privilege is needed): the
//!   process sees no network interface at all, so UDP and anything else IP-based fails too.
//! - **seccomp**: the `socket` system call fails, so no socket of any family can be opened
//!   (Lean's `io.net` speaks UNIX sockets, which neither Landlock before ABI 9 nor a network
//!   namespace stops), and so does `execve`, so no program can be started, not even through the
//!   dynamic loader (the bridge starts Lean itself with `execveat`).
//! - `PR_SET_PDEATHSIG` (as before): it cannot outlive the prover.
//!
//! Where the kernel lacks a mechanism, [`SandboxMode::Auto`] says once which protection is
//! missing and runs without it; [`SandboxMode::Require`] refuses to start Lean.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use crate::error::{LeanError, LeanErrorKind};

/// `--sandbox`: how much confinement Lean processes must have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SandboxMode {
    /// Run Lean unconfined.
    Off,
    /// Confine Lean with what the kernel offers; say once what is missing.
    #[default]
    Auto,
    /// Refuse to run Lean unless every protection is in force.
    Require,
}

impl FromStr for SandboxMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(SandboxMode::Off),
            "auto" => Ok(SandboxMode::Auto),
            "require" => Ok(SandboxMode::Require),
            other => Err(format!(
                "unknown sandbox mode `{other}` (expected off, auto or require)"
            )),
        }
    }
}

impl fmt::Display for SandboxMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SandboxMode::Off => "off",
            SandboxMode::Auto => "auto",
            SandboxMode::Require => "require",
        })
    }
}

/// What a confined process may touch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Confinement {
    /// Files and directories it may read (and list), with everything beneath them.
    pub read: Vec<PathBuf>,
    /// Directories it may read, write, create in and remove from.
    pub write: Vec<PathBuf>,
    /// Files it may execute (the Lean binary).
    pub exec: Vec<PathBuf>,
}

impl Confinement {
    /// The confinement of a Lean process: `lean` (the binary it runs), `read` (its search path,
    /// project, launch files) and `write` (its private directory); the toolchain around the
    /// binary and the system's shared libraries are added here.
    pub fn for_lean(lean: &Path, read: &[PathBuf], write: &[PathBuf]) -> Self {
        let mut c = Confinement::default();
        let mut exec = vec![lean.to_path_buf()];
        if let Ok(real) = lean.canonicalize() {
            exec.push(real);
        }
        // The toolchain: `<prefix>/bin/lean` next to `<prefix>/lib/lean/library` or
        // `<prefix>/library`. An elan proxy on PATH starts the real toolchain's binary, which is
        // found from the core library's directory in the search path.
        let mut prefixes: Vec<PathBuf> = exec
            .iter()
            .filter_map(|b| b.parent().and_then(Path::parent).map(Path::to_path_buf))
            .collect();
        for p in read {
            for a in p.ancestors().skip(1).take(3) {
                if a.join("bin").join("lean").is_file() {
                    prefixes.push(a.to_path_buf());
                    exec.push(a.join("bin").join("lean"));
                }
            }
        }
        // The program interpreter (the dynamic loader) the kernel starts with the binary.
        let loaders: Vec<PathBuf> = exec.iter().filter_map(|b| elf_interpreter(b)).collect();
        for l in loaders {
            if let Ok(real) = l.canonicalize() {
                exec.push(real);
            }
            exec.push(l);
        }
        // Never the root directory (a binary at `/bin/lean`): its prefix would be everything.
        c.read
            .extend(prefixes.into_iter().filter(|p| p.parent().is_some()));
        c.read.extend(read.iter().cloned());
        // Shared libraries and the dynamic loader's cache; the CPU count Lean's thread pool asks
        // for; the null and random devices. Not `/proc/self`: a rule is made in the parent, where
        // it would name the prover's own process directory.
        for sys in [
            "/lib",
            "/lib64",
            "/lib32",
            "/usr/lib",
            "/usr/lib64",
            "/usr/lib32",
            "/etc/ld.so.cache",
            "/etc/ld.so.conf",
            "/etc/ld.so.conf.d",
            "/sys/devices/system/cpu",
            "/dev/urandom",
            "/dev/random",
            "/dev/zero",
        ] {
            c.read.push(PathBuf::from(sys));
        }
        c.write.extend(write.iter().cloned());
        c.write.push(PathBuf::from("/dev/null"));
        c.exec = exec;
        dedup(&mut c.read);
        dedup(&mut c.write);
        dedup(&mut c.exec);
        c
    }
}

/// The `PT_INTERP` path of a 64-bit little-endian ELF executable (the dynamic loader).
fn elf_interpreter(binary: &Path) -> Option<PathBuf> {
    let data = std::fs::read(binary).ok()?;
    if data.get(..4)? != b"\x7fELF" || data.get(4)? != &2 || data.get(5)? != &1 {
        return None;
    }
    let u16_at = |o: usize| Some(u16::from_le_bytes(data.get(o..o + 2)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(data.get(o..o + 8)?.try_into().ok()?));
    let phoff = u64_at(0x20)? as usize;
    let phentsize = u16_at(0x36)? as usize;
    let phnum = u16_at(0x38)? as usize;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let p_type = u32::from_le_bytes(data.get(ph..ph + 4)?.try_into().ok()?);
        if p_type == 3 {
            let off = u64_at(ph + 8)? as usize;
            let size = u64_at(ph + 0x20)? as usize;
            let raw = data.get(off..off + size)?;
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            return Some(PathBuf::from(std::str::from_utf8(&raw[..end]).ok()?));
        }
    }
    None
}

fn dedup(v: &mut Vec<PathBuf>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|p| seen.insert(p.clone()));
}

/// The protections this machine offers Lean processes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protections {
    /// The kernel's Landlock ABI version (0: none).
    pub landlock_abi: i32,
    /// Whether a process can enter a new user and network namespace.
    pub network_namespace: bool,
    /// Whether the kernel filters system calls (seccomp) on an architecture we compile for.
    pub seccomp: bool,
}

impl Protections {
    /// What the running kernel offers (probed once per process).
    pub fn probe() -> &'static Protections {
        static PROBED: OnceLock<Protections> = OnceLock::new();
        PROBED.get_or_init(|| Protections {
            landlock_abi: landlock_abi(),
            network_namespace: network_namespace_works(),
            seccomp: seccomp_arch().is_some()
                && std::fs::read_to_string("/proc/self/status")
                    .map(|s| s.contains("\nSeccomp:"))
                    .unwrap_or(false),
        })
    }

    /// Protections missing from this machine, in words (empty: all of them are in force).
    pub fn missing(&self) -> Vec<String> {
        let mut m = Vec::new();
        if self.landlock_abi < 1 {
            m.push(
                "Landlock (this kernel does not offer it): Lean can read and write any file \
                 the user can, and start programs"
                    .to_string(),
            );
        } else if self.landlock_abi < 4 {
            m.push(format!(
                "Landlock's network rules (kernel ABI {} < 4)",
                self.landlock_abi
            ));
        }
        if !self.network_namespace {
            m.push("a private network namespace (unprivileged user namespaces are off)".into());
        }
        if !self.seccomp {
            m.push("seccomp (sockets and program starts cannot be refused)".into());
        }
        m
    }

    /// The protections in force, in words, for summaries.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.landlock_abi >= 1 {
            let mut what = vec!["files", "program start"];
            if self.landlock_abi >= 4 {
                what.push("TCP");
            }
            if self.landlock_abi >= 6 {
                what.push("signals and abstract sockets");
            }
            parts.push(format!(
                "Landlock ABI {} ({})",
                self.landlock_abi,
                what.join(", ")
            ));
        }
        if self.network_namespace {
            parts.push("no network (private namespace)".into());
        }
        if self.seccomp {
            parts.push("no sockets, no exec (seccomp)".into());
        }
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(" + ")
        }
    }
}

#[cfg(target_os = "linux")]
fn landlock_abi() -> i32 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a null attribute and size 0 this call only returns the ABI version.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if v < 0 { 0 } else { v as i32 }
}

#[cfg(not(target_os = "linux"))]
fn landlock_abi() -> i32 {
    0
}

/// Whether a child can enter a new user and network namespace: tried in a child process (a
/// multi-threaded process cannot enter a new user namespace itself).
#[cfg(target_os = "linux")]
fn network_namespace_works() -> bool {
    use std::os::unix::process::CommandExt;
    let Some(bin) = ["/bin/true", "/usr/bin/true"]
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
    else {
        return false;
    };
    let mut cmd = std::process::Command::new(bin);
    // SAFETY: `enter_network_namespace` only makes system calls (async-signal-safe).
    unsafe {
        cmd.pre_exec(enter_network_namespace);
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[cfg(not(target_os = "linux"))]
fn network_namespace_works() -> bool {
    false
}

#[cfg(target_os = "linux")]
fn enter_network_namespace() -> std::io::Result<()> {
    // SAFETY: unshare only changes this (single-threaded, just forked) process's namespaces.
    let r = unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The sandbox one Lean process will be started in: prepared in the parent (opening the
/// allowed paths), entered in the child before `exec` by [`Prepared::enter`].
pub struct Prepared {
    #[cfg(target_os = "linux")]
    ruleset: Option<landlock::RulesetCreated>,
    #[cfg(target_os = "linux")]
    seccomp: Option<seccompiler::BpfProgram>,
    #[cfg(target_os = "linux")]
    exec: Option<ExecPlan>,
    network_namespace: bool,
}

impl Prepared {
    /// Nothing to enter.
    pub fn none() -> Self {
        Prepared {
            #[cfg(target_os = "linux")]
            ruleset: None,
            #[cfg(target_os = "linux")]
            seccomp: None,
            #[cfg(target_os = "linux")]
            exec: None,
            network_namespace: false,
        }
    }

    /// Prepares `confinement` with what this machine offers, as `mode` asks. `Off` prepares
    /// nothing; `Require` fails where a protection is missing.
    pub fn new(mode: SandboxMode, confinement: &Confinement) -> Result<Self, LeanError> {
        if mode == SandboxMode::Off {
            return Ok(Prepared::none());
        }
        let prot = Protections::probe();
        if mode == SandboxMode::Require {
            let missing = prot.missing();
            if !missing.is_empty() {
                return Err(LeanErrorKind::Sandbox(format!(
                    "--sandbox require, but this machine lacks {}",
                    missing.join("; ")
                ))
                .into());
            }
        }
        #[cfg(target_os = "linux")]
        {
            let ruleset = if prot.landlock_abi >= 1 {
                Some(landlock_ruleset(confinement)?)
            } else {
                None
            };
            let seccomp = if prot.seccomp {
                Some(seccomp_filter()?)
            } else {
                None
            };
            Ok(Prepared {
                ruleset,
                seccomp,
                exec: None,
                network_namespace: prot.network_namespace,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = confinement;
            Ok(Prepared {
                network_namespace: false,
            })
        }
    }

    /// Prepares starting `cmd`'s program (with its arguments and environment as set now):
    /// under the seccomp filter the child cannot use `execve`, so [`Self::enter`] starts the
    /// program itself. Call after the command is configured, before spawning it.
    pub fn exec_plan_for(&mut self, cmd: &std::process::Command) -> Result<(), LeanError> {
        #[cfg(target_os = "linux")]
        if self.seccomp.is_some() {
            self.exec = Some(ExecPlan::of(cmd)?);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = cmd;
        Ok(())
    }

    /// Enters the sandbox: called in the child between `fork` and `exec`, so it only makes
    /// system calls (no allocation on the success path). Under the seccomp filter it also
    /// starts the program (see [`Self::exec_plan_for`]) and returns only on failure.
    pub fn enter(&mut self) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            if self.network_namespace {
                enter_network_namespace()?;
            }
            if let Some(ruleset) = self.ruleset.take() {
                ruleset
                    .restrict_self()
                    .map_err(|_| std::io::Error::last_os_error())?;
            }
            if let Some(filter) = &self.seccomp {
                let Some(plan) = &self.exec else {
                    // `execve` is about to be refused: the program must be started by plan.
                    return Err(std::io::Error::other("the sandbox has no exec plan"));
                };
                seccompiler::apply_filter(filter).map_err(|_| std::io::Error::last_os_error())?;
                return Err(plan.exec());
            }
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn landlock_ruleset(c: &Confinement) -> Result<landlock::RulesetCreated, LeanError> {
    use landlock::{
        ABI, Access, AccessFs, AccessNet, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr,
        RulesetCreatedAttr, Scope,
    };
    let abi = ABI::V6;
    let err = |e: landlock::RulesetError| -> LeanError {
        LeanErrorKind::Sandbox(format!("Landlock: {e}")).into()
    };
    let all = AccessFs::from_all(abi);
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let write = all & !BitFlags::from(AccessFs::Execute);
    let file_rights = AccessFs::from_file(abi);
    let mut rules = Vec::new();
    let mut add = |path: &Path, rights: BitFlags<AccessFs>| {
        // Paths that do not exist on this machine (`/lib32`, say) are skipped.
        if let Ok(fd) = PathFd::new(path) {
            let rights = if path.is_dir() {
                rights
            } else {
                rights & file_rights
            };
            rules.push(Ok::<_, landlock::RulesetError>(PathBeneath::new(
                fd, rights,
            )));
        }
    };
    for p in &c.read {
        add(p, read);
    }
    for p in &c.write {
        add(p, write);
    }
    for p in &c.exec {
        add(p, AccessFs::Execute | AccessFs::ReadFile);
    }
    Ruleset::default()
        .handle_access(all)
        .map_err(err)?
        .handle_access(AccessNet::from_all(abi))
        .map_err(err)?
        .scope(Scope::from_all(abi))
        .map_err(err)?
        .create()
        .map_err(err)?
        .add_rules(rules)
        .map_err(err)
}

/// The architecture seccomp filters are compiled for, where we know it.
#[cfg(target_os = "linux")]
fn seccomp_arch() -> Option<seccompiler::TargetArch> {
    if cfg!(target_arch = "x86_64") {
        Some(seccompiler::TargetArch::x86_64)
    } else if cfg!(target_arch = "aarch64") {
        Some(seccompiler::TargetArch::aarch64)
    } else if cfg!(target_arch = "riscv64") {
        Some(seccompiler::TargetArch::riscv64)
    } else {
        None
    }
}

#[cfg(not(target_os = "linux"))]
fn seccomp_arch() -> Option<()> {
    None
}

/// The seccomp filter of a Lean process: `socket(2)` fails (Lean talks to the bridge over pipes
/// it inherits and needs no socket), and so does `execve(2)`, so `io.cmd` cannot start a
/// program, not even through the dynamic loader (which Landlock must let Lean execute): Lean's
/// fork of itself fails to exec and exits, and `io.cmd` reports the failure. The bridge starts
/// Lean itself with `execveat(2)` ([`ExecPlan`]), which the filter lets through; Lean never
/// calls it.
#[cfg(target_os = "linux")]
fn seccomp_filter() -> Result<seccompiler::BpfProgram, LeanError> {
    use seccompiler::{SeccompAction, SeccompFilter};
    let arch = seccomp_arch()
        .ok_or_else(|| LeanErrorKind::Sandbox("seccomp: unknown architecture".into()))?;
    let err = |e: seccompiler::BackendError| -> LeanError {
        LeanErrorKind::Sandbox(format!("seccomp: {e}")).into()
    };
    let mut refused = std::collections::BTreeMap::new();
    refused.insert(libc::SYS_socket, Vec::new());
    refused.insert(libc::SYS_execve, Vec::new());
    let filter = SeccompFilter::new(
        refused,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EACCES as u32),
        arch,
    )
    .map_err(err)?;
    filter.try_into().map_err(err)
}

/// A program name as `execvp` would find it: a path as given, a bare name on PATH.
#[cfg(target_os = "linux")]
fn resolve_program(program: &std::ffi::OsStr) -> PathBuf {
    let p = Path::new(program);
    if p.components().count() > 1 {
        return p.to_path_buf();
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|d| d.join(p))
        .find(|c| c.is_file())
        .unwrap_or_else(|| p.to_path_buf())
}

/// How the child starts its program once confined: `execveat(2)` with the command's program,
/// arguments and environment, prepared in the parent (no allocation in the child).
#[cfg(target_os = "linux")]
struct ExecPlan {
    program: std::ffi::CString,
    _argv: Vec<std::ffi::CString>,
    _envp: Vec<std::ffi::CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
}

// SAFETY: the pointers point into the plan's own `CString`s, which it owns and never changes.
#[cfg(target_os = "linux")]
unsafe impl Send for ExecPlan {}
#[cfg(target_os = "linux")]
unsafe impl Sync for ExecPlan {}

#[cfg(target_os = "linux")]
impl ExecPlan {
    fn of(cmd: &std::process::Command) -> Result<Self, LeanError> {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let cstr = |s: &std::ffi::OsStr| {
            CString::new(s.as_bytes())
                .map_err(|_| LeanErrorKind::Sandbox("a NUL byte in the command line".into()))
        };
        // `execve` as the C library calls it searches PATH for a bare name; `execveat` does not.
        let program = cstr(resolve_program(cmd.get_program()).as_os_str())?;
        let mut argv = vec![program.clone()];
        for a in cmd.get_args() {
            argv.push(cstr(a)?);
        }
        let mut env: std::collections::BTreeMap<std::ffi::OsString, std::ffi::OsString> =
            std::env::vars_os().collect();
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => env.insert(k.to_os_string(), v.to_os_string()),
                None => env.remove(k),
            };
        }
        let mut envp = Vec::new();
        for (k, v) in env {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            envp.push(
                CString::new(kv)
                    .map_err(|_| LeanErrorKind::Sandbox("a NUL byte in the environment".into()))?,
            );
        }
        let ptrs = |v: &[CString]| {
            v.iter()
                .map(|c| c.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect()
        };
        Ok(ExecPlan {
            argv_ptrs: ptrs(&argv),
            envp_ptrs: ptrs(&envp),
            program,
            _argv: argv,
            _envp: envp,
        })
    }

    /// Replaces the process with the program (returns only on failure).
    fn exec(&self) -> std::io::Error {
        // SAFETY: every pointer is into a live `CString` of `self`; the arrays end with null.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                libc::AT_FDCWD,
                self.program.as_ptr(),
                self.argv_ptrs.as_ptr(),
                self.envp_ptrs.as_ptr(),
                0,
            );
        }
        std::io::Error::last_os_error()
    }
}

/// Says once per process, on stderr, which protections `mode` runs without.
pub fn warn_missing_once(mode: SandboxMode) {
    static SAID: OnceLock<()> = OnceLock::new();
    if mode != SandboxMode::Auto {
        return;
    }
    let missing = Protections::probe().missing();
    if missing.is_empty() {
        return;
    }
    SAID.get_or_init(|| {
        eprintln!(
            "warning: Lean runs without {} (use --sandbox require to refuse, --sandbox off to \
             silence this)",
            missing.join("; ")
        );
    });
}

/// The protections in force under `mode`, in words, for summaries.
pub fn describe(mode: SandboxMode) -> String {
    match mode {
        SandboxMode::Off => "off".into(),
        _ => Protections::probe().describe(),
    }
}

/// Confines a Lean command as `mode` asks (a worker, the REPL compile): call it once the command
/// is configured, as the last step before spawning it. The child also gets `PR_SET_PDEATHSIG`,
/// so it cannot outlive the thread that started it.
pub fn confine(
    cmd: &mut std::process::Command,
    mode: SandboxMode,
    confinement: &Confinement,
) -> Result<(), LeanError> {
    let mut prepared = Prepared::new(mode, confinement)?;
    prepared.exec_plan_for(cmd)?;
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: `enter` and prctl make system calls only (async-signal-safe).
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                prepared.enter()
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (cmd, &mut prepared);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        for m in ["off", "auto", "require"] {
            assert_eq!(m.parse::<SandboxMode>().unwrap().to_string(), m);
        }
        assert!(
            "on".parse::<SandboxMode>()
                .unwrap_err()
                .contains("off, auto or require")
        );
    }

    #[test]
    fn what_is_missing_is_said_and_nothing_claims_protection_it_lacks() {
        let none = Protections {
            landlock_abi: 0,
            network_namespace: false,
            seccomp: false,
        };
        assert_eq!(none.describe(), "none");
        let missing = none.missing().join("; ");
        for what in ["Landlock", "network namespace", "seccomp"] {
            assert!(missing.contains(what), "{missing}");
        }
        let old = Protections {
            landlock_abi: 3,
            network_namespace: true,
            seccomp: true,
        };
        assert_eq!(
            old.missing(),
            ["Landlock's network rules (kernel ABI 3 < 4)"]
        );
        assert!(!old.describe().contains("TCP"), "{}", old.describe());
        let all = Protections {
            landlock_abi: 7,
            network_namespace: true,
            seccomp: true,
        };
        assert!(all.missing().is_empty());
        assert!(all.describe().contains("TCP"));
    }

    /// A Lean's confinement grants nothing above the toolchain: not the root, not the
    /// temporary directory where other programs keep their files.
    #[test]
    fn a_lean_confinement_stays_near_its_toolchain() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("toolchain/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(dir.path().join("toolchain/library")).unwrap();
        let lean = bin.join("lean");
        std::fs::write(&lean, b"not really lean").unwrap();
        let project = dir.path().join("project");
        let scratch = dir.path().join("scratch");
        let c = Confinement::for_lean(
            &lean,
            &[dir.path().join("toolchain/bin/../library"), project.clone()],
            std::slice::from_ref(&scratch),
        );
        let tmp = std::env::temp_dir();
        for p in c.read.iter().chain(&c.write) {
            assert!(p.parent().is_some(), "the root is granted: {c:?}");
            assert!(
                !tmp.starts_with(p),
                "{} covers the temporary directory",
                p.display()
            );
        }
        assert!(c.read.contains(&project));
        assert!(c.read.contains(&dir.path().join("toolchain")));
        assert!(c.write.contains(&scratch));
        assert!(c.exec.contains(&lean));
        // Only Lean (and, for a real ELF binary, its loader) may be executed.
        assert_eq!(
            c.exec.iter().filter(|p| p.ends_with("lean")).count(),
            c.exec.len(),
            "{c:?}"
        );
    }
}
