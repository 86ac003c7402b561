//! Test support for crates that run the engine: the tiny committed checkpoint and a toy
//! character-level tokenizer (feature `testing`; the checkpoint is made by
//! `tests/fixtures/make_tiny_internlm2.py`, its references by PyTorch).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tokenizers::models::bpe::BPE;

use crate::generate::Generator;
use crate::loader::{self, LoadOptions, ModelFiles};
use tokenizers::{AddedToken, Tokenizer};

/// The tiny InternLM2 checkpoint (random weights, real architecture, SentencePiece tokenizer).
pub fn tiny_checkpoint_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-internlm2")
}

/// The tiny Llama checkpoint as transformers saved it (random weights, `LlamaForCausalLM`,
/// grouped-query attention, the tiny SentencePiece tokenizer; `make_tiny_llama.py`).
pub fn tiny_llama_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama")
}

/// The folder of all committed fixtures (checkpoints, tokenizer references).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A 1024-token character-level tokenizer: `<unk>`=0, `<s>`=1, `</s>`=2, then `\n` and the
/// printable ASCII characters, then filler pieces `<tN>` (one token each).
pub fn toy_tokenizer() -> Tokenizer {
    let mut vocab: HashMap<String, u32> = HashMap::new();
    for (i, s) in ["<unk>", "<s>", "</s>"].iter().enumerate() {
        vocab.insert(s.to_string(), i as u32);
    }
    let mut next = 3u32;
    for c in std::iter::once('\n').chain((32u8..127).map(char::from)) {
        vocab.insert(c.to_string(), next);
        next += 1;
    }
    while next < 1024 {
        vocab.insert(format!("<t{next}>"), next);
        next += 1;
    }
    let bpe = BPE::builder()
        .vocab_and_merges(
            vocab
                .into_iter()
                .collect::<tokenizers::models::bpe::Vocab>(),
            vec![],
        )
        .unk_token("<unk>".to_string())
        .build()
        .expect("toy bpe");
    let mut tok = Tokenizer::new(bpe);
    tok.with_decoder(Some(tokenizers::decoders::fuse::Fuse::new()));
    tok.add_special_tokens([
        AddedToken::from("<unk>", true),
        AddedToken::from("<s>", true),
        AddedToken::from("</s>", true),
    ])
    .expect("special tokens");
    tok
}

/// A checkpoint directory with the fixture's standard config and weights plus the toy
/// tokenizer as `tokenizer.json`.
pub fn checkpoint_with_tokenizer() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(tiny_checkpoint_dir().join(f), dir.path().join(f)).expect("copy fixture");
    }
    toy_tokenizer()
        .save(dir.path().join("tokenizer.json"), false)
        .expect("save tokenizer");
    dir
}

/// The tiny model (f32, CPU) with the toy tokenizer, as one [`Generator`].
pub fn toy_generator() -> Generator {
    let files = ModelFiles::from_dir(&tiny_checkpoint_dir()).expect("fixture files");
    let model = loader::load_model(&files, &LoadOptions::default()).expect("fixture model");
    Generator::new(model, toy_tokenizer())
}
