//! Loading a checkpoint's tokenizer.
//!
//! PLACEHOLDER, to be replaced by the SentencePiece conversion branch: this minimal version only
//! reads a `tokenizer.json`; the real one also converts InternLM2's `tokenizer.model`. Keep the
//! signature of [`load_tokenizer`]; the generator and CLI depend on it.

use std::path::Path;

use tokenizers::Tokenizer;

use super::ModelError;

/// The tokenizer of the checkpoint in `dir`.
pub fn load_tokenizer(dir: &Path) -> Result<Tokenizer, ModelError> {
    let path = dir.join("tokenizer.json");
    if !path.is_file() {
        return Err(ModelError::MissingFile {
            path,
            what: "tokenizer (this build reads tokenizer.json only)".into(),
        });
    }
    Tokenizer::from_file(&path)
        .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", path.display())))
}
