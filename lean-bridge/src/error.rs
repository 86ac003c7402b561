//! The bridge's errors.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong talking to Lean. A tactic that fails in Lean is *not* an
/// error: it is [`crate::TacticResult::Failed`].
#[derive(Debug, thiserror::Error)]
pub enum LeanError {
    /// No Lean 3 executable was found.
    #[error("Lean 3 not found: {0}")]
    NotFound(String),

    /// Lean was found but is not the version we can drive.
    #[error("unsupported Lean at {path}: {version} (Lean 3 is required, 3.51.1 recommended)")]
    Unsupported { path: PathBuf, version: String },

    /// The Lean project (leanpkg.toml) could not be read.
    #[error("Lean project at {path}: {message}")]
    Project { path: PathBuf, message: String },

    /// The worker did not start (imports missing, REPL did not compile, …).
    #[error("Lean worker failed to start: {message}")]
    Startup { message: String },

    /// A request ran past its wall-clock limit; the worker was killed and restarted.
    #[error("Lean did not answer within {0:.1?}; the worker was restarted")]
    Timeout(Duration),

    /// The Lean process died. `stderr` holds the end of what it printed.
    #[error("Lean crashed ({status}){}", stderr_suffix(.stderr))]
    Crashed { status: String, stderr: String },

    /// The proof state no longer exists: the worker holding it restarted, or it was dropped.
    #[error("proof state lost: {0}")]
    StateLost(String),

    /// A statement did not elaborate. `pos` is (line, column) in the statement text when known.
    #[error("{message}{}", pos_suffix(.pos))]
    Elaboration {
        message: String,
        pos: Option<(u32, u32)>,
    },

    /// Lean cannot be started in the sandbox `--sandbox` asks for.
    #[error("sandbox: {0}")]
    Sandbox(String),

    /// Text was refused before it reached Lean.
    #[error("{0}")]
    Refused(String),

    /// Lean answered something we did not expect.
    #[error("protocol error: {0}")]
    Protocol(String),

    /// Reading or writing the process's pipes, or the REPL cache, failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// The pool was shut down.
    #[error("the Lean pool is shut down")]
    Closed,
}

fn stderr_suffix(stderr: &str) -> String {
    let s = stderr.trim();
    if s.is_empty() {
        String::new()
    } else {
        format!(": {s}")
    }
}

fn pos_suffix(pos: &Option<(u32, u32)>) -> String {
    match pos {
        Some((l, c)) => format!(" (at {l}:{c})"),
        None => String::new(),
    }
}

impl LeanError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        LeanError::Io {
            context: context.into(),
            source,
        }
    }

    /// Whether the error means the worker's process was lost (and with it its states).
    pub fn is_worker_loss(&self) -> bool {
        matches!(
            self,
            LeanError::Timeout(_) | LeanError::Crashed { .. } | LeanError::Protocol(_)
        )
    }
}
