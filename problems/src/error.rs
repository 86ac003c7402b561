//! A file that does not parse.

use std::path::PathBuf;

/// A file that could not be parsed, with the position (1-based line, 0-based char column) of
/// the offending token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{col}: {message}", display_path(.path))]
pub struct ParseError {
    pub path: Option<PathBuf>,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

fn display_path(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map_or_else(|| "<input>".to_string(), |p| p.display().to_string())
}
