//! The external programs setup runs: each by its usual name on `PATH`, never Lean itself (the
//! bridge starts Lean, inside its sandbox).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::SetupError;

/// The programs setup may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// elan, Lean's toolchain manager.
    Elan,
    Git,
    /// `leanproject` from PyPI's mathlibtools (mathlib 3's cache client).
    Leanproject,
    Curl,
    Tar,
}

impl Program {
    pub fn name(self) -> &'static str {
        match self {
            Program::Elan => "elan",
            Program::Git => "git",
            Program::Leanproject => "leanproject",
            Program::Curl => "curl",
            Program::Tar => "tar",
        }
    }

    /// Where the program is on `PATH`, if it is.
    pub fn find(self) -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join(self.name()))
            .find(|p| p.is_file())
    }
}

/// What to do with a program's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Keep it, to return (stdout) or to report on failure (both).
    Capture,
    /// Let the user see it as it comes (long downloads and clones print their progress).
    Show,
}

/// One run of a program: the command line, for messages.
pub struct Invocation {
    pub program: Program,
    pub args: Vec<OsString>,
    pub cwd: Option<PathBuf>,
}

impl Invocation {
    pub fn new(program: Program) -> Self {
        Invocation {
            program,
            args: Vec::new(),
            cwd: None,
        }
    }

    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn in_dir(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    /// The command as a user would type it.
    pub fn display(&self) -> String {
        let mut s = self.program.name().to_string();
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }

    /// Runs it; `Ok` holds stdout (empty with [`Output::Show`]).
    pub fn run(&self, output: Output, hint: &str) -> Result<String, SetupError> {
        let Some(bin) = self.program.find() else {
            return Err(SetupError::ToolMissing {
                program: self.program.name().to_string(),
                hint: hint.to_string(),
            });
        };
        tracing::info!(command = %self.display(), "running");
        let mut cmd = Command::new(bin);
        cmd.args(&self.args).stdin(Stdio::null());
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        let (status, stdout, stderr) = match output {
            Output::Capture => {
                let out = cmd
                    .output()
                    .map_err(|e| SetupError::io(format!("running {}", self.display()), e))?;
                (
                    out.status,
                    String::from_utf8_lossy(&out.stdout).to_string(),
                    String::from_utf8_lossy(&out.stderr).to_string(),
                )
            }
            Output::Show => {
                // Its stdout goes to our stderr: ours may be a results stream.
                cmd.stdout(std::io::stderr());
                let status = cmd
                    .status()
                    .map_err(|e| SetupError::io(format!("running {}", self.display()), e))?;
                (status, String::new(), String::new())
            }
        };
        if !status.success() {
            let mut text = stderr;
            if text.trim().is_empty() {
                text = stdout;
            }
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            return Err(SetupError::ToolFailed {
                command: self.display(),
                status: status.to_string(),
                output: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            });
        }
        Ok(stdout)
    }
}
