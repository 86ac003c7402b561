//! Loading InternLM2's tokenizer as a [`tokenizers::Tokenizer`].
//!
//! The published InternLM2 checkpoints ship only SentencePiece's `tokenizer.model` (a protobuf
//! `ModelProto`: a BPE vocabulary of 92544 pieces with byte fallback) and a `tokenizer_config.json`.
//! [`load_tokenizer`] uses a `tokenizer.json` when a directory has one, and otherwise converts
//! `tokenizer.model` at load time into a `tokenizers` pipeline that encodes and decodes like the
//! `sentencepiece` library does. Every step below says which piece of SentencePiece it reproduces
//! (`normalizer.cc`, `bpe_model.cc` and `sentencepiece_processor.cc` in google/sentencepiece).
//!
//! # Encoding
//!
//! SentencePiece encodes in two stages, which the conversion maps one to one:
//!
//! 1. **Normalisation** (`Normalizer::Normalize`) → a `tokenizers` normalizer [`Sequence`]:
//!    * the precompiled character map (NFKC-like rules; InternLM2's normaliser is `identity` and
//!      has none) → [`Precompiled`];
//!    * `remove_extra_whitespaces`: drop leading spaces, collapse runs of spaces to one → two regex
//!      [`Replace`]s. SentencePiece only treats U+0020 as a space here, so the regexes do too;
//!    * `escape_whitespaces`: every space becomes `▁` (U+2581) → `Replace(" ", "▁")`. Literal `▁`
//!      in the input is left alone, exactly as SentencePiece leaves it;
//!    * `add_dummy_prefix`: one `▁` in front of the (non-empty) text → [`Prepend`], or a
//!      zero-width regex [`Replace`] when added tokens are matched on normalised text (see below);
//!    * `remove_extra_whitespaces` again: trailing `▁`s (escaped or literal) are dropped.
//!
//!    SentencePiece applies all of this to the whole input once. `tokenizers` first cuts the input
//!    at added tokens and normalises each piece separately, which is only equivalent when every
//!    step is local to a character. InternLM2's settings (no dummy prefix, no whitespace removal)
//!    are local, so its special tokens are matched on the raw text (`normalized: false`), which
//!    also keeps them out of the character map as SentencePiece's prefix matcher does. With a
//!    dummy prefix or whitespace removal the tokens are matched on normalised text instead
//!    (`normalized: true`), so the whole input is normalised in one piece; the dummy prefix is then
//!    written as a regex that does not fire on an added token's own text, so that the token
//!    patterns (which `tokenizers` normalises too) stay equal to the tokens.
//!
//! 2. **BPE** (`bpe::Model::SampleEncode`) → [`BPE`] with byte fallback and no pre-tokenizer.
//!    SentencePiece starts from characters, with user-defined pieces (`<|im_start|>` …) as frozen
//!    symbols, and repeatedly merges the adjacent pair whose concatenation is the piece with the
//!    highest score, leftmost first. `tokenizers` merges the pair with the lowest rank, leftmost
//!    first. So every way of splitting a mergeable piece into two symbols becomes a merge rule,
//!    ranked by the piece's score (highest first). The BPE runs over the whole normalised text
//!    like SentencePiece does (a pre-tokenizer would cut pieces such as `▁▁▁▁` apart).
//!    Characters without a piece become `<0xNN>` byte pieces (byte fallback) or one `<unk>` per
//!    run of unknown characters (SentencePiece fuses consecutive unknowns; `fuse_unk`).
//!    User-defined pieces are `tokenizers` added tokens, so they are never split.
//!    Control pieces (`<s>`, `</s>`) and `<unk>` are not added tokens: SentencePiece never
//!    produces them from text, so the literal text `<s>` is encoded character by character.
//!
//! The post-processor adds `<s>` in front when `encode(text, true)` is called (InternLM2's Hugging
//! Face tokenizer does so by default); `encode(text, false)` returns exactly SentencePiece's ids.
//!
//! # Decoding
//!
//! `SentencePieceProcessor::Decode` → a decoder [`Sequence`](DecoderSequence): control pieces
//! decode to nothing, `▁` becomes a space, `<unk>` becomes the model's `unk_surface` (` ⁇ `), runs
//! of byte pieces become the UTF-8 text they spell, and — only for models with
//! `add_dummy_prefix` or `remove_extra_whitespaces` — leading `▁`s are dropped (the one the dummy
//! prefix added, or all of them when whitespace is removed). InternLM2 has neither, so its
//! decoding keeps leading spaces, as SentencePiece does.
//!
//! # `tokenizer_config.json`
//!
//! InternLM2's `tokenizer.model` names its chat tokens `[UNUSED_TOKEN_145]`, `[UNUSED_TOKEN_146]`
//! …; the Hugging Face tokenizer renames them to `<|im_end|>`, `<|im_start|>` … through the
//! `added_tokens_decoder` of `tokenizer_config.json` and matches them (and `<s>`, `</s>`, `<unk>`)
//! as added tokens in text. [`load_tokenizer`] applies the same table when the file exists, and
//! reads its `add_bos_token` / `add_eos_token`.
//!
//! # Known differences from SentencePiece
//!
//! These cannot be expressed with `tokenizers`' building blocks; none of them arises with the
//! InternLM2 settings except the first, which needs a malformed token sequence:
//! * decoding a run of byte pieces that mixes complete characters with invalid UTF-8 gives one
//!   U+FFFD per byte piece of the run; SentencePiece keeps the complete characters;
//! * two different pieces with exactly the same score compete in SentencePiece by position, here
//!   by rank (SentencePiece-trained models give every piece a distinct score; a warning is logged
//!   otherwise), and `UNUSED` pieces that can be formed by merging are left out of the merges
//!   (SentencePiece merges into them and splits them again at the end; a warning is logged);
//! * with `add_dummy_prefix`, an input that normalises to exactly one user-defined piece (say
//!   `"  <|im_end|>"` with whitespace removal) encodes without SentencePiece's leading `▁` piece;
//! * the character map is applied per grapheme by `tokenizers`' [`Precompiled`], where
//!   SentencePiece uses a longest match on bytes: when the first character of a grapheme has a
//!   rule, the whole grapheme is replaced, so e.g. a no-break space followed by a combining mark
//!   loses the mark (InternLM2 has no character map);
//! * with `add_dummy_prefix` / `remove_extra_whitespaces`, decoding strips leading `▁`s from the
//!   joined text, where SentencePiece strips one from each leading piece (the same unless a piece
//!   starts with several), and a `▁` spelled by byte pieces decodes to a space.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use prost::Message;
use serde::Deserialize;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::normalizers::replace::ReplacePattern;
use tokenizers::normalizers::{NormalizerWrapper, Precompiled, Prepend, Replace, Sequence};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, NormalizedString, Normalizer, Tokenizer};

/// A ready-made `tokenizers` pipeline; used as is when present.
pub const TOKENIZER_JSON: &str = "tokenizer.json";
/// SentencePiece model, converted when there is no [`TOKENIZER_JSON`].
pub const TOKENIZER_MODEL: &str = "tokenizer.model";
/// Hugging Face tokenizer settings read alongside [`TOKENIZER_MODEL`] (optional).
pub const TOKENIZER_CONFIG: &str = "tokenizer_config.json";

/// SentencePiece's whitespace symbol, U+2581 LOWER ONE EIGHTH BLOCK.
const SPACE_SYMBOL: &str = "\u{2581}";

/// Why a tokenizer could not be loaded. Every variant names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("no tokenizer in {}: neither {TOKENIZER_JSON} nor {TOKENIZER_MODEL} exists", dir.display())]
    NotFound { dir: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid SentencePiece model: {reason}", path.display())]
    InvalidModel { path: PathBuf, reason: String },
    #[error("{} cannot be converted: {reason}", path.display())]
    UnsupportedModel { path: PathBuf, reason: String },
    #[error("{} is not a valid tokenizer config: {reason}", path.display())]
    InvalidConfig { path: PathBuf, reason: String },
    #[error("{} is not a valid tokenizer.json: {reason}", path.display())]
    InvalidTokenizerJson { path: PathBuf, reason: String },
}

/// Loads the tokenizer stored in a model directory.
///
/// Uses `tokenizer.json` when present; otherwise converts the SentencePiece `tokenizer.model`
/// (see the module documentation), applying `tokenizer_config.json` when present.
///
/// The returned tokenizer's `encode(text, false)` gives SentencePiece's ids; `encode(text, true)`
/// adds `<s>` in front (unless `tokenizer_config.json` sets `add_bos_token: false`).
pub fn load_tokenizer(dir: &Path) -> Result<Tokenizer, TokenizerError> {
    let json_path = dir.join(TOKENIZER_JSON);
    if json_path.is_file() {
        return load_tokenizer_json(&json_path);
    }
    let model_path = dir.join(TOKENIZER_MODEL);
    if !model_path.is_file() {
        return Err(TokenizerError::NotFound {
            dir: dir.to_path_buf(),
        });
    }
    let config_path = dir.join(TOKENIZER_CONFIG);
    let config = if config_path.is_file() {
        let text = read(&config_path)?;
        serde_json::from_slice::<TokenizerConfig>(&text).map_err(|e| {
            TokenizerError::InvalidConfig {
                path: config_path.clone(),
                reason: e.to_string(),
            }
        })?
    } else {
        TokenizerConfig::default()
    };
    let bytes = read(&model_path)?;
    convert_sentencepiece(&bytes, &config).map_err(|e| match e {
        ConvertError::Invalid(reason) => TokenizerError::InvalidModel {
            path: model_path,
            reason,
        },
        ConvertError::Unsupported(reason) => TokenizerError::UnsupportedModel {
            path: model_path,
            reason,
        },
        ConvertError::Config(reason) => TokenizerError::InvalidConfig {
            path: config_path,
            reason,
        },
    })
}

fn read(path: &Path) -> Result<Vec<u8>, TokenizerError> {
    std::fs::read(path).map_err(|source| TokenizerError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn load_tokenizer_json(path: &Path) -> Result<Tokenizer, TokenizerError> {
    let invalid = |reason: String| TokenizerError::InvalidTokenizerJson {
        path: path.to_path_buf(),
        reason,
    };
    let text = read(path)?;
    // `tokenizers` asserts on some malformed inputs instead of returning an error; a bad file must
    // not take the prover down, so a panic while parsing is turned into an error.
    match std::panic::catch_unwind(|| Tokenizer::from_bytes(&text)) {
        Ok(Ok(tokenizer)) => Ok(tokenizer),
        Ok(Err(e)) => Err(invalid(e.to_string())),
        Err(_) => Err(invalid(
            "the tokenizers library panicked while parsing it".into(),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// The SentencePiece model file: the subset of `sentencepiece_model.proto` that encoding and
// decoding depend on. prost skips the other (training-only) fields.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, PartialEq, prost::Message)]
struct ModelProto {
    #[prost(message, repeated, tag = "1")]
    pieces: Vec<SentencePiece>,
    #[prost(message, optional, tag = "2")]
    trainer_spec: Option<TrainerSpec>,
    #[prost(message, optional, tag = "3")]
    normalizer_spec: Option<NormalizerSpec>,
    #[prost(message, optional, tag = "5")]
    denormalizer_spec: Option<NormalizerSpec>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SentencePiece {
    #[prost(string, optional, tag = "1")]
    piece: Option<String>,
    #[prost(float, optional, tag = "2")]
    score: Option<f32>,
    /// `Type` enum; read as a number so that unknown values are reported, not defaulted.
    #[prost(int32, optional, tag = "3", default = "1")]
    kind: Option<i32>,
}

// prost generates an accessor per optional field (`model_type()`, `byte_fallback()` …) that
// returns the proto2 default below when the field is absent from the file.
#[derive(Clone, PartialEq, prost::Message)]
struct TrainerSpec {
    /// 1 UNIGRAM, 2 BPE, 3 WORD, 4 CHAR.
    #[prost(int32, optional, tag = "3", default = "1")]
    model_type: Option<i32>,
    #[prost(bool, optional, tag = "24", default = "false")]
    treat_whitespace_as_suffix: Option<bool>,
    #[prost(bool, optional, tag = "35", default = "false")]
    byte_fallback: Option<bool>,
    /// What `<unk>` decodes to: " \u{2047} " by default.
    #[prost(string, optional, tag = "44", default = " \u{2047} ")]
    unk_surface: Option<String>,
    #[prost(string, optional, tag = "46", default = "<s>")]
    bos_piece: Option<String>,
    #[prost(string, optional, tag = "47", default = "</s>")]
    eos_piece: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct NormalizerSpec {
    /// The rules `name` (field 1) only matters for training: the compiled map is what applies.
    #[prost(bytes = "vec", optional, tag = "2")]
    precompiled_charsmap: Option<Vec<u8>>,
    #[prost(bool, optional, tag = "3", default = "true")]
    add_dummy_prefix: Option<bool>,
    #[prost(bool, optional, tag = "4", default = "true")]
    remove_extra_whitespaces: Option<bool>,
    #[prost(bool, optional, tag = "5", default = "true")]
    escape_whitespaces: Option<bool>,
}

const MODEL_TYPE_BPE: i32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PieceKind {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl PieceKind {
    fn from_proto(value: i32) -> Option<Self> {
        Some(match value {
            1 => Self::Normal,
            2 => Self::Unknown,
            3 => Self::Control,
            4 => Self::UserDefined,
            5 => Self::Unused,
            6 => Self::Byte,
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// tokenizer_config.json (the parts that change tokenization).
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct TokenizerConfig {
    add_bos_token: Option<bool>,
    add_eos_token: Option<bool>,
    #[serde(default)]
    added_tokens_decoder: BTreeMap<String, AddedTokenConfig>,
}

#[derive(Debug, Clone, Deserialize)]
struct AddedTokenConfig {
    content: String,
    #[serde(default)]
    special: bool,
    #[serde(default)]
    single_word: bool,
    #[serde(default)]
    lstrip: bool,
    #[serde(default)]
    rstrip: bool,
    normalized: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Conversion.
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
enum ConvertError {
    Invalid(String),
    Unsupported(String),
    Config(String),
}

/// One vocabulary entry after `tokenizer_config.json` has been applied.
struct Piece {
    text: String,
    score: f32,
    kind: PieceKind,
    /// Set when `tokenizer_config.json` declares this id an added token.
    added: Option<AddedTokenConfig>,
}

fn convert_sentencepiece(
    bytes: &[u8],
    config: &TokenizerConfig,
) -> Result<Tokenizer, ConvertError> {
    let proto = ModelProto::decode(bytes)
        .map_err(|e| ConvertError::Invalid(format!("cannot parse the protobuf: {e}")))?;
    let trainer = proto.trainer_spec.clone().unwrap_or_default();
    let spec = proto.normalizer_spec.clone().unwrap_or_default();
    check_supported(&proto, &trainer)?;

    let pieces = read_pieces(&proto, config)?;
    let byte_fallback = trainer.byte_fallback();
    check_pieces(&pieces, byte_fallback)?;

    let vocab: Vocab = pieces
        .iter()
        .enumerate()
        .map(|(id, p)| (p.text.clone(), id as u32))
        .collect();
    let unk = pieces
        .iter()
        .find(|p| p.kind == PieceKind::Unknown)
        .map(|p| p.text.clone())
        .ok_or_else(|| ConvertError::Invalid("there is no <unk> piece".into()))?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges(&pieces))
        .unk_token(unk.clone())
        .fuse_unk(true)
        .byte_fallback(byte_fallback)
        .build()
        .map_err(|e| ConvertError::Invalid(format!("cannot build the BPE model: {e}")))?;

    let mut tokenizer = Tokenizer::new(bpe);
    // Added tokens are matched on normalised text when normalisation is not character-local.
    let whole_text = spec.add_dummy_prefix() || spec.remove_extra_whitespaces();
    let added = added_tokens(&pieces, whole_text);
    let added_contents: Vec<&str> = added.iter().map(|t| t.content.as_str()).collect();
    tokenizer
        .with_normalizer(build_normalizer(&spec, &added_contents)?)
        .map_err(|e| ConvertError::Invalid(format!("cannot set the normalizer: {e}")))?;
    tokenizer.with_decoder(Some(build_decoder(&pieces, &trainer, &spec, &unk)?));
    tokenizer.with_post_processor(build_post_processor(&pieces, &trainer, config)?);
    // After the normaliser: `tokenizers` normalises the patterns of `normalized` tokens with it.
    tokenizer
        .add_tokens(added)
        .map_err(|e| ConvertError::Invalid(format!("cannot add the special tokens: {e}")))?;
    Ok(tokenizer)
}

fn check_supported(proto: &ModelProto, trainer: &TrainerSpec) -> Result<(), ConvertError> {
    let model_type = trainer.model_type();
    if model_type != MODEL_TYPE_BPE {
        let name = match model_type {
            1 => "UNIGRAM".to_string(),
            3 => "WORD".to_string(),
            4 => "CHAR".to_string(),
            other => format!("unknown ({other})"),
        };
        return Err(ConvertError::Unsupported(format!(
            "model_type is {name}; only BPE models (InternLM2, Llama) are supported"
        )));
    }
    if trainer.treat_whitespace_as_suffix() {
        return Err(ConvertError::Unsupported(
            "treat_whitespace_as_suffix is set".into(),
        ));
    }
    if let Some(denormalizer) = &proto.denormalizer_spec
        && !denormalizer.precompiled_charsmap().is_empty()
    {
        return Err(ConvertError::Unsupported(
            "the model has a denormalizer (a character map applied after decoding)".into(),
        ));
    }
    Ok(())
}

fn read_pieces(proto: &ModelProto, config: &TokenizerConfig) -> Result<Vec<Piece>, ConvertError> {
    if proto.pieces.is_empty() {
        return Err(ConvertError::Invalid("the vocabulary is empty".into()));
    }
    if proto.pieces.len() > u32::MAX as usize {
        return Err(ConvertError::Invalid("the vocabulary is too large".into()));
    }
    let mut pieces = Vec::with_capacity(proto.pieces.len());
    for (id, p) in proto.pieces.iter().enumerate() {
        let text = p.piece.clone().unwrap_or_default();
        if text.is_empty() {
            return Err(ConvertError::Invalid(format!("piece {id} is empty")));
        }
        let kind = PieceKind::from_proto(p.kind()).ok_or_else(|| {
            ConvertError::Invalid(format!("piece {id} has an unknown type {}", p.kind()))
        })?;
        pieces.push(Piece {
            text,
            score: p.score.unwrap_or(0.0),
            kind,
            added: None,
        });
    }
    for (key, token) in &config.added_tokens_decoder {
        let id: usize = key
            .parse()
            .map_err(|_| ConvertError::Config(format!("added token id {key:?} is not a number")))?;
        let Some(piece) = pieces.get_mut(id) else {
            return Err(ConvertError::Config(format!(
                "added token {id} ({:?}) is outside the vocabulary of {} pieces",
                token.content,
                proto.pieces.len()
            )));
        };
        if token.content.is_empty() {
            return Err(ConvertError::Config(format!("added token {id} is empty")));
        }
        piece.text = token.content.clone();
        piece.added = Some(token.clone());
    }
    Ok(pieces)
}

/// The checks `ModelInterface::InitializePieces` makes, plus one `tokenizers` needs: piece texts
/// must be unique across all types, as they are the vocabulary's keys.
fn check_pieces(pieces: &[Piece], byte_fallback: bool) -> Result<(), ConvertError> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(pieces.len());
    let mut bytes = [false; 256];
    let mut unknowns = 0;
    for (id, p) in pieces.iter().enumerate() {
        if let Some(first) = seen.insert(&p.text, id) {
            let message = format!("piece {:?} is defined twice (ids {first} and {id})", p.text);
            return Err(if p.added.is_some() || pieces[first].added.is_some() {
                ConvertError::Config(message)
            } else {
                ConvertError::Invalid(message)
            });
        }
        match p.kind {
            PieceKind::Unknown => unknowns += 1,
            PieceKind::Byte if p.added.is_none() => {
                if !byte_fallback {
                    return Err(ConvertError::Invalid(format!(
                        "byte piece {:?} although byte_fallback is off",
                        p.text
                    )));
                }
                let byte = piece_to_byte(&p.text).ok_or_else(|| {
                    ConvertError::Invalid(format!("byte piece {:?} is not <0xNN>", p.text))
                })?;
                bytes[usize::from(byte)] = true;
            }
            _ => {}
        }
    }
    if unknowns != 1 {
        return Err(ConvertError::Invalid(format!(
            "the model must have exactly one <unk> piece, it has {unknowns}"
        )));
    }
    if byte_fallback && bytes.iter().any(|&found| !found) {
        return Err(ConvertError::Invalid(
            "byte_fallback is on but not all 256 byte pieces exist".into(),
        ));
    }
    Ok(())
}

/// Parses SentencePiece's byte piece names, `<0x00>` … `<0xFF>` (upper-case hex).
fn piece_to_byte(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

/// Can this text be a symbol while SentencePiece merges? Symbols start as single characters
/// (whatever their piece type) and grow into `NORMAL` / `UNUSED` pieces; user-defined and added
/// pieces are frozen (in `tokenizers`: cut out before the BPE runs).
fn is_merge_operand(pieces: &[Piece], ids: &HashMap<&str, usize>, text: &str) -> bool {
    let Some(&id) = ids.get(text) else {
        return false;
    };
    let p = &pieces[id];
    if p.added.is_some() || p.kind == PieceKind::UserDefined {
        return false;
    }
    matches!(p.kind, PieceKind::Normal | PieceKind::Unused) || text.chars().count() == 1
}

/// SentencePiece merges two adjacent symbols whenever their concatenation is a `NORMAL`,
/// `USER_DEFINED` or `UNUSED` piece, preferring the highest score. `tokenizers` needs explicit
/// `(left, right)` rules in priority order, so every split of every mergeable piece into two
/// possible symbols becomes a rule, sorted by the piece's score (highest first). Ties between
/// splits of the same piece are ordered by piece id and split position; they only matter for
/// overlapping candidates of one piece, which SentencePiece resolves by position.
///
/// Left out: user-defined and added pieces (added tokens, never formed by merging) and `UNUSED`
/// pieces (SentencePiece would merge into them and split them again afterwards, which a BPE
/// cannot express — a warning is logged if any of them can actually be formed).
fn merges(pieces: &[Piece]) -> Vec<(String, String)> {
    let ids: HashMap<&str, usize> = pieces
        .iter()
        .enumerate()
        .map(|(id, p)| (p.text.as_str(), id))
        .collect();
    let mut rules: Vec<(f32, usize, usize)> = Vec::new(); // (score, piece id, split byte offset)
    let mut reachable_unused = 0usize;
    for (id, p) in pieces.iter().enumerate() {
        if p.added.is_some() || !matches!(p.kind, PieceKind::Normal | PieceKind::Unused) {
            continue;
        }
        for (split, _) in p.text.char_indices().skip(1) {
            let (left, right) = p.text.split_at(split);
            if is_merge_operand(pieces, &ids, left) && is_merge_operand(pieces, &ids, right) {
                if p.kind == PieceKind::Unused {
                    reachable_unused += 1;
                    break;
                }
                rules.push((p.score, id, split));
            }
        }
    }
    rules.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));

    let tied = rules
        .windows(2)
        .filter(|w| w[0].0 == w[1].0 && w[0].1 != w[1].1)
        .count();
    if tied > 0 {
        tracing::warn!(
            tied,
            "SentencePiece model has distinct mergeable pieces with equal scores; \
             their relative order is by id, where SentencePiece goes by position"
        );
    }
    if reachable_unused > 0 {
        tracing::warn!(
            reachable_unused,
            "SentencePiece model has UNUSED pieces that merges can form; they are left out"
        );
    }
    rules
        .into_iter()
        .map(|(_, id, split)| {
            let (left, right) = pieces[id].text.split_at(split);
            (left.to_string(), right.to_string())
        })
        .collect()
}

/// User-defined pieces and the `tokenizer_config.json` tokens, as `tokenizers` added tokens.
fn added_tokens(pieces: &[Piece], whole_text: bool) -> Vec<AddedToken> {
    pieces
        .iter()
        .filter_map(|p| match &p.added {
            Some(c) => Some(
                AddedToken::from(c.content.clone(), c.special)
                    .single_word(c.single_word)
                    .lstrip(c.lstrip)
                    .rstrip(c.rstrip)
                    .normalized(whole_text || c.normalized.unwrap_or(!c.special)),
            ),
            // Not `special`: SentencePiece decodes user-defined pieces to their text, so
            // `skip_special_tokens` must not drop them.
            None if p.kind == PieceKind::UserDefined => {
                Some(AddedToken::from(p.text.clone(), false).normalized(whole_text))
            }
            None => None,
        })
        .collect()
}

fn regex_replace(pattern: String, content: &str) -> Result<Replace, ConvertError> {
    Replace::new(ReplacePattern::Regex(pattern), content)
        .map_err(|e| ConvertError::Invalid(format!("cannot build a normalisation regex: {e}")))
}

/// Escapes text for `fancy-regex` as `\x{…}` code points, which needs no knowledge of which
/// characters are special.
fn regex_literal(text: &str) -> String {
    text.chars()
        .map(|c| format!("\\x{{{:X}}}", c as u32))
        .collect()
}

/// `Normalizer::Normalize`, step by step (see the module documentation).
fn build_normalizer(
    spec: &NormalizerSpec,
    added: &[&str],
) -> Result<Option<NormalizerWrapper>, ConvertError> {
    let mut steps: Vec<NormalizerWrapper> = Vec::new();
    let charsmap = spec.precompiled_charsmap();
    if !charsmap.is_empty() {
        validate_charsmap(charsmap).map_err(|reason| {
            ConvertError::Invalid(format!("the precompiled_charsmap is corrupt: {reason}"))
        })?;
        let precompiled = Precompiled::from(charsmap)
            .map_err(|e| ConvertError::Invalid(format!("the precompiled_charsmap: {e}")))?;
        steps.push(precompiled.into());
    }
    let remove_extra = spec.remove_extra_whitespaces();
    if remove_extra {
        // Leading spaces go; inside the text a space that follows a space goes.
        steps.push(regex_replace("^ +".into(), "")?.into());
        steps.push(regex_replace(" {2,}".into(), " ")?.into());
    }
    let space = if spec.escape_whitespaces() {
        steps.push(
            Replace::new(" ", SPACE_SYMBOL)
                .map_err(|e| ConvertError::Invalid(e.to_string()))?
                .into(),
        );
        SPACE_SYMBOL
    } else {
        " "
    };
    if spec.add_dummy_prefix() {
        if added.is_empty() {
            steps.push(Prepend::new(space.to_string()).into());
        } else {
            // The added tokens' patterns go through this normaliser too. They must come out
            // unchanged, so the prefix is not added to a text that is exactly one added token
            // (as normalised so far). Everything else gets it, like in SentencePiece.
            let before = Sequence::new(steps.clone());
            let mut alternatives = Vec::with_capacity(added.len());
            for content in added {
                let mut text = NormalizedString::from(*content);
                before
                    .normalize(&mut text)
                    .map_err(|e| ConvertError::Invalid(e.to_string()))?;
                alternatives.push(regex_literal(text.get()));
            }
            let pattern = format!("^(?!(?:{})\\z)", alternatives.join("|"));
            steps.push(regex_replace(pattern, space)?.into());
        }
    }
    if remove_extra {
        // Trailing whitespace symbols go, whether they were spaces or a literal `▁`.
        steps.push(regex_replace(format!("(?:{})+\\z", regex_literal(space)), "")?.into());
    }
    Ok((!steps.is_empty()).then(|| Sequence::new(steps).into()))
}

/// `SentencePieceProcessor::Decode` (see the module documentation).
fn build_decoder(
    pieces: &[Piece],
    trainer: &TrainerSpec,
    spec: &NormalizerSpec,
    unk: &str,
) -> Result<DecoderWrapper, ConvertError> {
    let mut steps: Vec<DecoderWrapper> = Vec::new();
    let control: Vec<String> = pieces
        .iter()
        .filter(|p| p.kind == PieceKind::Control)
        .map(|p| regex_literal(&p.text))
        .collect();
    if !control.is_empty() {
        // Control pieces (<s>, </s>) are invisible. Token strings are unique, so matching the
        // whole token string only hits the control pieces themselves.
        let pattern = format!("^(?:{})$", control.join("|"));
        steps.push(regex_replace(pattern, "")?.into());
    }
    let unk_surface = trainer.unk_surface();
    let space_to_blank =
        || Replace::new(SPACE_SYMBOL, " ").map_err(|e| ConvertError::Invalid(e.to_string()));
    let has_bytes = pieces.iter().any(|p| p.kind == PieceKind::Byte);
    // How many leading `▁` SentencePiece drops: with remove_extra_whitespaces one from each
    // leading piece (pieces of such models hold at most one, so: all of them), with only
    // add_dummy_prefix one from the first visible piece.
    let leading_strip = if spec.remove_extra_whitespaces() {
        usize::MAX
    } else if spec.add_dummy_prefix() {
        1
    } else {
        0
    };
    if leading_strip == 0 {
        // InternLM2: every piece maps to its text on its own; nothing depends on position.
        steps.push(space_to_blank()?.into());
        let unk_pattern = format!("^{}$", regex_literal(&unk.replace(SPACE_SYMBOL, " ")));
        steps.push(regex_replace(unk_pattern, unk_surface)?.into());
        if has_bytes {
            steps.push(ByteFallback::new().into());
        }
        steps.push(Fuse::new().into());
    } else {
        // The leading `▁`s are stripped from the joined text while they are still `▁`, so that
        // the spaces of a leading ` ⁇ ` (unknown piece) stay. The cost: `▁` spelled by byte
        // pieces turns into a space too (SentencePiece never encodes `▁` as bytes).
        let unk_pattern = format!("^{}$", regex_literal(unk));
        steps.push(regex_replace(unk_pattern, unk_surface)?.into());
        if has_bytes {
            steps.push(ByteFallback::new().into());
        }
        steps.push(Fuse::new().into());
        let symbol = SPACE_SYMBOL.chars().next().unwrap_or(' ');
        steps.push(Strip::new(symbol, leading_strip, 0).into());
        steps.push(space_to_blank()?.into());
    }
    Ok(DecoderSequence::new(steps).into())
}

/// `<s> $A` (and `<s> $A <s> $B` for pairs), like InternLM2's Hugging Face tokenizer, so that
/// `encode(text, true)` adds BOS and `encode(text, false)` does not.
fn build_post_processor(
    pieces: &[Piece],
    trainer: &TrainerSpec,
    config: &TokenizerConfig,
) -> Result<Option<TemplateProcessing>, ConvertError> {
    // `SentencePieceProcessor::bos_id`: the control piece named by `bos_piece`.
    let control_id = |name: &str| {
        pieces
            .iter()
            .position(|p| p.text == name && p.kind == PieceKind::Control)
            .map(|id| (name.to_string(), id as u32))
    };
    let bos_name = trainer.bos_piece();
    let eos_name = trainer.eos_piece();
    let bos = if config.add_bos_token.unwrap_or(true) {
        let bos = control_id(bos_name);
        if bos.is_none() && config.add_bos_token == Some(true) {
            return Err(ConvertError::Config(format!(
                "add_bos_token is set but the model has no {bos_name:?} control piece"
            )));
        }
        bos
    } else {
        None
    };
    let eos = if config.add_eos_token.unwrap_or(false) {
        Some(control_id(eos_name).ok_or_else(|| {
            ConvertError::Config(format!(
                "add_eos_token is set but the model has no {eos_name:?} control piece"
            ))
        })?)
    } else {
        None
    };
    if bos.is_none() && eos.is_none() {
        return Ok(None);
    }
    let sequence = |seq: &str, type_id: u32| {
        let mut parts = Vec::new();
        if let Some((name, _)) = &bos {
            parts.push(format!("{name}:{type_id}"));
        }
        parts.push(format!("${seq}:{type_id}"));
        if let Some((name, _)) = &eos {
            parts.push(format!("{name}:{type_id}"));
        }
        parts.join(" ")
    };
    let single = sequence("A", 0);
    let pair = format!("{single} {}", sequence("B", 1));
    let special: Vec<(String, u32)> = bos.iter().chain(eos.iter()).cloned().collect();
    TemplateProcessing::builder()
        .try_single(single)
        .and_then(|b| b.try_pair(pair))
        .map_err(|e| ConvertError::Invalid(format!("cannot build the BOS template: {e}")))?
        .special_tokens(special)
        .build()
        .map(Some)
        .map_err(|e| ConvertError::Invalid(format!("cannot build the BOS template: {e}")))
}

/// Checks that `tokenizers`' [`Precompiled`] can walk this character map without indexing out of
/// bounds, which it would otherwise do (and panic) on a corrupt map while encoding.
///
/// The map is `[trie size: u32 LE][double-array trie: u32 units][NUL-separated replacements]`.
/// The walk mirrors `spm_precompiled`'s `common_prefix_search` over every reachable node and
/// every input byte, and checks that each leaf points at a character boundary of the
/// replacements.
fn validate_charsmap(blob: &[u8]) -> Result<(), String> {
    let header: [u8; 4] = blob
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or("shorter than its 4-byte header")?;
    let trie_size = u32::from_le_bytes(header) as usize;
    if !trie_size.is_multiple_of(4) || trie_size == 0 || 4 + trie_size > blob.len() {
        return Err(format!(
            "bad trie size {trie_size} for {} bytes",
            blob.len()
        ));
    }
    let units: Vec<usize> = blob[4..4 + trie_size]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let normalized = std::str::from_utf8(&blob[4 + trie_size..])
        .map_err(|_| "replacement strings are not UTF-8".to_string())?;

    let offset = |unit: usize| (unit >> 10) << ((unit & (1 << 9)) >> 6);
    let label = |unit: usize| unit & ((1 << 31) | 0xFF);
    let has_leaf = |unit: usize| (unit >> 8) & 1 == 1;
    let value = |unit: usize| unit & ((1 << 31) - 1);

    let root = offset(units[0]);
    let mut stack = vec![root];
    let mut visited: HashSet<usize> = HashSet::from([root]);
    while let Some(base) = stack.pop() {
        for byte in 1..=255usize {
            let index = base ^ byte;
            let unit = *units.get(index).ok_or("a node lies outside the trie")?;
            if label(unit) != byte {
                continue;
            }
            let child = index ^ offset(unit);
            if has_leaf(unit) {
                let target = value(*units.get(child).ok_or("a leaf lies outside the trie")?);
                if target > normalized.len() || !normalized.is_char_boundary(target) {
                    return Err("a replacement points outside the replacement strings".into());
                }
            }
            if visited.insert(child) {
                stack.push(child);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_piece_names() {
        assert_eq!(piece_to_byte("<0x00>"), Some(0));
        assert_eq!(piece_to_byte("<0xAF>"), Some(0xAF));
        assert_eq!(piece_to_byte("<0xaf>"), None);
        assert_eq!(piece_to_byte("<0x1>"), None);
        assert_eq!(piece_to_byte("<0x100>"), None);
        assert_eq!(piece_to_byte("0x10"), None);
    }

    #[test]
    fn proto2_defaults_apply_when_fields_are_absent() {
        let spec = NormalizerSpec::default();
        assert!(spec.add_dummy_prefix());
        assert!(spec.remove_extra_whitespaces());
        assert!(spec.escape_whitespaces());
        let spec = NormalizerSpec::decode(&[0x18, 0x00][..]).unwrap(); // add_dummy_prefix: false
        assert!(!spec.add_dummy_prefix());
    }

    #[test]
    fn corrupt_charsmaps_are_rejected() {
        assert!(validate_charsmap(b"").is_err());
        assert!(validate_charsmap(&[8, 0, 0, 0, 1, 2]).is_err()); // trie longer than the blob
        assert!(validate_charsmap(&[3, 0, 0, 0, 1, 2, 3]).is_err()); // not whole units
        // One unit whose offset sends every child far outside the trie.
        let mut blob = vec![4, 0, 0, 0];
        blob.extend_from_slice(&(0xFFFF_FC00u32).to_le_bytes());
        assert!(validate_charsmap(&blob).is_err());
    }

    #[test]
    fn regex_literals_match_themselves_only() {
        let re = fancy_regex_for_test(&format!("^{}$", regex_literal("<|im_start|>.*")));
        assert!(re("<|im_start|>.*"));
        assert!(!re("<|im_start|>xx"));
    }

    fn fancy_regex_for_test(pattern: &str) -> impl Fn(&str) -> bool + use<> {
        let replace = Replace::new(ReplacePattern::Regex(pattern.to_string()), "X").unwrap();
        move |text: &str| {
            let mut n = NormalizedString::from(text);
            replace.normalize(&mut n).unwrap();
            n.get() == "X"
        }
    }
}
