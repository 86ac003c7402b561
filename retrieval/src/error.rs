use std::io;
use std::path::PathBuf;

/// Why an index could not be built, opened or read. Each variant names the index directory (or
/// file), so a message says which of the caller's indexes is at fault.
#[derive(Debug, thiserror::Error)]
pub enum RetrievalError {
    /// A file operation of ours failed (creating, renaming, removing, reading the metadata).
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// The search engine failed while `action` (opening, writing, committing, searching).
    #[error("index {}: {action}: {source}", path.display())]
    Tantivy {
        action: &'static str,
        path: PathBuf,
        source: tantivy::TantivyError,
    },
    /// The metadata file is missing or unreadable, is of another format version, names another
    /// kind of index, or disagrees with the index beside it.
    #[error("bad index metadata in {}: {problem}", path.display())]
    BadMetadata { path: PathBuf, problem: String },
    /// A stored document is not the JSON this crate wrote (the index was written by something
    /// else, or its files were damaged).
    #[error("index {}: bad stored document: {problem}", path.display())]
    BadDocument { path: PathBuf, problem: String },
}
