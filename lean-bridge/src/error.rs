//! The bridge's errors: [`LeanError`], whose [`kind`](LeanError::kind) callers decide on.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong talking to Lean. A tactic that fails in Lean is *not* an
/// error: it is [`crate::pool::TacticResult::Failed`].
///
/// Callers decide on [`LeanError::kind`] (which also holds the details); the message is the
/// kind's.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct LeanError {
    kind: LeanErrorKind,
}

/// What went wrong, with its details.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeanErrorKind {
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

    /// The proof state no longer exists.
    #[error("proof state lost: {0}")]
    StateLost(LostState),

    /// A statement did not elaborate. `pos` is (line, column) in the statement text when known.
    #[error("{message}{}", pos_suffix(.pos))]
    Elaboration {
        message: String,
        pos: Option<(u32, u32)>,
    },

    /// Lean cannot be started in the sandbox `--sandbox` asks for.
    #[error("sandbox: {0}")]
    Sandbox(String),

    /// Text was refused before it reached Lean (the screen, or a module name that is not one).
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

/// Why a proof state is gone.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LostState {
    /// The Lean process that held it (this incarnation of its worker) is gone: it ran past a
    /// time limit, crashed, or was restarted.
    #[error("the Lean process that held it ({0}) was restarted")]
    Restarted(u64),
    /// The pool has no such worker.
    #[error("no worker {0}")]
    NoSuchWorker(usize),
    /// The REPL does not hold it (it was dropped); its message.
    #[error("{0}")]
    NotInRepl(String),
    /// The worker running a file restarted every time the file's theorem was asked for.
    #[error("the worker running the file kept restarting")]
    FileWorkerKeptRestarting,
}

impl From<LeanErrorKind> for LeanError {
    fn from(kind: LeanErrorKind) -> Self {
        LeanError { kind }
    }
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
    pub fn kind(&self) -> &LeanErrorKind {
        &self.kind
    }

    pub fn into_kind(self) -> LeanErrorKind {
        self.kind
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        LeanErrorKind::Io {
            context: context.into(),
            source,
        }
        .into()
    }

    /// Whether the error means the worker's process was lost (and with it its states).
    pub fn is_worker_loss(&self) -> bool {
        matches!(
            self.kind,
            LeanErrorKind::Timeout(_) | LeanErrorKind::Crashed { .. } | LeanErrorKind::Protocol(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_the_kinds() {
        let cases: [(LeanErrorKind, &str); 5] = [
            (
                LeanErrorKind::StateLost(LostState::Restarted(3)),
                "proof state lost: the Lean process that held it (3) was restarted",
            ),
            (
                LeanErrorKind::StateLost(LostState::NoSuchWorker(2)),
                "proof state lost: no worker 2",
            ),
            (
                LeanErrorKind::StateLost(LostState::FileWorkerKeptRestarting),
                "proof state lost: the worker running the file kept restarting",
            ),
            (
                LeanErrorKind::Elaboration {
                    message: "unknown identifier 'c'".into(),
                    pos: Some((1, 20)),
                },
                "unknown identifier 'c' (at 1:20)",
            ),
            (
                LeanErrorKind::Crashed {
                    status: "exit status: 3".into(),
                    stderr: "out of memory\n".into(),
                },
                "Lean crashed (exit status: 3): out of memory",
            ),
        ];
        for (kind, message) in cases {
            assert_eq!(LeanError::from(kind).to_string(), message);
        }
    }

    #[test]
    fn a_worker_is_lost_with_a_timeout_a_crash_or_a_stream_out_of_step() {
        let lost = [
            LeanErrorKind::Timeout(Duration::from_secs(1)),
            LeanErrorKind::Crashed {
                status: "signal: 9".into(),
                stderr: String::new(),
            },
            LeanErrorKind::Protocol("garbage".into()),
        ];
        for kind in lost {
            assert!(LeanError::from(kind).is_worker_loss());
        }
        let kept = [
            LeanErrorKind::StateLost(LostState::NotInRepl("unknown state 4".into())),
            LeanErrorKind::Refused("no `#`".into()),
            LeanErrorKind::Closed,
        ];
        for kind in kept {
            assert!(!LeanError::from(kind).is_worker_loss());
        }
    }
}
