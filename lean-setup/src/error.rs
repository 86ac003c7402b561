//! What can go wrong making the machine ready.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A program the step needs is not on `PATH`.
    #[error("`{program}` is not installed (not found on PATH){}", hint_suffix(.hint))]
    ToolMissing { program: String, hint: String },

    /// A program ran and failed.
    #[error("`{command}` failed ({status}){}", output_suffix(.output))]
    ToolFailed {
        command: String,
        status: String,
        output: String,
    },

    /// mathlib's published `.olean` files could not be fetched (offline, or no archive for
    /// this commit): why, for each way tried.
    #[error("mathlib's .olean cache ({url}) could not be fetched: {}", .reasons.join("; "))]
    NoCache { url: String, reasons: Vec<String> },

    /// Lean 3 is not here and cannot be installed by us.
    #[error("{0}")]
    NoLean(String),

    /// The directory for the mathlib project is taken by something else.
    #[error("{path}: {message}")]
    Project { path: PathBuf, message: String },

    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Lean(#[from] lean_bridge::LeanError),
}

impl SetupError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        SetupError::Io {
            context: context.into(),
            source,
        }
    }
}

fn hint_suffix(hint: &str) -> String {
    if hint.is_empty() {
        String::new()
    } else {
        format!("; {hint}")
    }
}

fn output_suffix(output: &str) -> String {
    let t = output.trim();
    if t.is_empty() {
        String::new()
    } else {
        format!(":\n{t}")
    }
}
