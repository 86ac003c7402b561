//! Candidate generation for proof search: a batch of prompts in, for each up to K distinct
//! continuations out, each with its summed and length-normalised log-probability.
//!
//! Strategies: greedy, beam search (width K, deterministic) and sampling (temperature, top-p,
//! seeded). Generation stops per candidate at end-of-sequence, at a stop string or after
//! `max_new_tokens`. All prompts of a call are decoded together: prompts are left-padded into one
//! batch (prefilled in chunks to bound memory), every live hypothesis is one row of the KV cache,
//! and each step is one forward pass over all rows. A shared prefix (the few-shot prompt) is
//! computed once by [`Generator::set_prefix`] and attended to by every row without copies.
//!
//! Scores are the model's own log-probabilities (temperature 1, no top-p truncation) of the
//! generated tokens, including the end-of-sequence token or the token that completed a stop
//! string; the reported text excludes both.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};
use std::time::Instant;

use candle_core::{D, IndexOp, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokenizers::Tokenizer;

use crate::error::{ModelError, Result};
use crate::loader::{self, LoadOptions, ModelSource};
use crate::model::{KvCache, Model, PrefixKv};

/// How candidates are chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    /// The single most likely next token at every step; one candidate per prompt.
    Greedy,
    /// Beam search of width `num_candidates`, ranked by summed log-probability.
    Beam,
    /// Independent samples. `temperature <= 0` means greedy choice. Duplicated candidates are
    /// replaced by further samples for up to `max_rounds` rounds (≥ 1).
    Sample {
        temperature: f64,
        top_p: f64,
        max_rounds: usize,
    },
}

/// Generation settings shared by all prompts of a call.
#[derive(Debug, Clone, PartialEq)]
pub struct GenParams {
    pub strategy: Strategy,
    /// K: beam width / number of distinct samples per prompt (ignored by greedy).
    pub num_candidates: usize,
    pub max_new_tokens: usize,
    /// A candidate ends where its text first contains one of these; the text is cut before it.
    pub stop: Vec<String>,
    /// End a candidate at the model's end-of-sequence token(s).
    pub stop_at_eos: bool,
    /// Seed of the sampling RNG; each (prompt, sample index) gets its own stream derived from it,
    /// so results do not depend on how prompts are batched.
    pub seed: u64,
    /// Upper bound on padded prompt tokens per prefill forward pass (bounds activation memory).
    pub prefill_chunk_tokens: usize,
}

impl Default for GenParams {
    fn default() -> Self {
        Self {
            strategy: Strategy::Beam,
            num_candidates: 8,
            max_new_tokens: 128,
            stop: Vec::new(),
            stop_at_eos: true,
            seed: 0,
            prefill_chunk_tokens: 8192,
        }
    }
}

impl GenParams {
    pub fn greedy(max_new_tokens: usize) -> Self {
        Self {
            strategy: Strategy::Greedy,
            num_candidates: 1,
            max_new_tokens,
            ..Self::default()
        }
    }

    pub fn beam(width: usize, max_new_tokens: usize) -> Self {
        Self {
            strategy: Strategy::Beam,
            num_candidates: width,
            max_new_tokens,
            ..Self::default()
        }
    }

    pub fn sample(k: usize, temperature: f64, top_p: f64, max_new_tokens: usize) -> Self {
        Self {
            strategy: Strategy::Sample {
                temperature,
                top_p,
                max_rounds: 4,
            },
            num_candidates: k,
            max_new_tokens,
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(ModelError::InvalidRequest(m.to_string()));
        if self.num_candidates == 0 && self.strategy != Strategy::Greedy {
            return bad("num_candidates must be at least 1");
        }
        if self.max_new_tokens == 0 {
            return bad("max_new_tokens must be at least 1");
        }
        if self.stop.iter().any(String::is_empty) {
            return bad("stop strings must not be empty");
        }
        if let Strategy::Sample {
            temperature, top_p, ..
        } = self.strategy
            && !(temperature.is_finite() && top_p > 0.0 && top_p <= 1.0)
        {
            return bad("temperature must be finite and top_p in (0, 1]");
        }
        Ok(())
    }
}

/// Why a candidate ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishReason {
    /// The model produced an end-of-sequence token.
    Eos,
    /// The text reached a stop string.
    Stop,
    /// `max_new_tokens` was reached.
    Length,
}

/// A candidate at the token level.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenGeneration {
    /// Generated ids, including a final end-of-sequence token if any.
    pub tokens: Vec<u32>,
    /// Sum of the model's log-probabilities of `tokens`.
    pub logprob: f64,
    /// The model's log-probability of each of `tokens` (they sum to `logprob`).
    pub token_logprobs: Vec<f32>,
    pub finish: FinishReason,
    /// Decoded text, end-of-sequence and stop string removed (`None` without a detokenizer).
    pub text: Option<String>,
}

impl TokenGeneration {
    pub fn logprob_norm(&self) -> f64 {
        self.logprob / self.tokens.len().max(1) as f64
    }
}

/// A candidate continuation of one request.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Generation {
    pub text: String,
    /// Summed log-probability of the generated tokens.
    pub logprob: f64,
    /// `logprob / tokens`.
    pub logprob_norm: f64,
    /// Number of generated tokens (end-of-sequence / stop-string tokens included).
    pub tokens: usize,
    pub finish: FinishReason,
    /// The generated token ids (what an inference server reports per token).
    #[serde(skip)]
    pub token_ids: Vec<u32>,
    /// The log-probability of each generated token.
    #[serde(skip)]
    pub token_logprobs: Vec<f32>,
}

/// Turns token ids back into text (for stop strings and results).
pub trait Detokenize {
    fn decode(&self, tokens: &[u32]) -> Result<String>;
}

impl Detokenize for Tokenizer {
    fn decode(&self, tokens: &[u32]) -> Result<String> {
        std::ops::Deref::deref(self)
            .decode(tokens, true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))
    }
}

/// One live hypothesis; its row in the KV cache is its index in the live list.
#[derive(Debug, Clone)]
struct Hyp {
    req: usize,
    tokens: Vec<u32>,
    logprob: f64,
    token_logprobs: Vec<f32>,
    rng: Option<StdRng>,
}

/// What the host needs of each row's next-token distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fetch {
    /// Every log-probability (sampling).
    Full,
    /// The best token and its log-probability (greedy).
    Best,
    /// The `n` best tokens (beam search).
    Top(usize),
}

impl Fetch {
    fn for_params(params: &GenParams, ks: &[usize]) -> Self {
        match params.strategy {
            Strategy::Greedy => Fetch::Best,
            Strategy::Beam => Fetch::Top(2 * ks.iter().copied().max().unwrap_or(1)),
            Strategy::Sample { .. } => Fetch::Full,
        }
    }
}

/// Time spent in each part of the decoding loop (on an accelerator the forward pass is only
/// launched; waiting for it shows up in `fetch`).
#[derive(Default)]
struct StepClock {
    steps: usize,
    choose: std::time::Duration,
    reorder: std::time::Duration,
    forward: std::time::Duration,
    fetch: std::time::Duration,
}

/// Vocabulary chunk size for [`top_rows`].
const TOP_CHUNK: usize = 32;

/// The `n` best entries of every row of `lp` (`rows × vocab`, f32), best first, copying only a
/// small part of the distribution to the host: the `n` best tokens of a row lie in the `n`
/// chunks of [`TOP_CHUNK`] tokens with the largest maxima (a chunk holding one of them has a
/// maximum at least that large, and fewer than `n` other chunks can beat it), so only chunk
/// maxima and those chunks are transferred.
fn top_rows(lp: &Tensor, n: usize) -> Result<Vec<Vec<Scored>>> {
    let (rows, vocab) = lp.dims2()?;
    let n = n.min(vocab);
    if n == 0 {
        return Ok(vec![Vec::new(); rows]);
    }
    let chunks = vocab.div_ceil(TOP_CHUNK);
    if n * TOP_CHUNK >= vocab {
        let data = lp.flatten_all()?.to_vec1::<f32>()?;
        return Ok(data.chunks(vocab).map(|row| top_k(row, n)).collect());
    }
    let padded = if chunks * TOP_CHUNK > vocab {
        let fill = Tensor::full(
            f32::NEG_INFINITY,
            (rows, chunks * TOP_CHUNK - vocab),
            lp.device(),
        )?;
        Tensor::cat(&[lp, &fill], 1)?
    } else {
        lp.clone()
    };
    let blocks = padded.reshape((rows * chunks, TOP_CHUNK))?;
    let maxima = blocks.max_keepdim(1)?.flatten_all()?.to_vec1::<f32>()?;
    let mut picked: Vec<u32> = Vec::with_capacity(rows * n);
    for (r, row) in maxima.chunks(chunks).enumerate() {
        picked.extend(
            top_k(row, n)
                .into_iter()
                .map(|s| (r * chunks) as u32 + s.token),
        );
    }
    let index = Tensor::from_slice(&picked, picked.len(), lp.device())?;
    let values = blocks
        .index_select(&index, 0)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let mut out = Vec::with_capacity(rows);
    for (r, (ids, vals)) in picked
        .chunks(n)
        .zip(values.chunks(n * TOP_CHUNK))
        .enumerate()
    {
        let mut best: Vec<Scored> = Vec::with_capacity(n * TOP_CHUNK);
        for (&block, vals) in ids.iter().zip(vals.chunks(TOP_CHUNK)) {
            let first = (block as usize - r * chunks) * TOP_CHUNK;
            best.extend(vals.iter().enumerate().map(|(j, &v)| Scored {
                score: v as f64,
                token: (first + j) as u32,
            }));
        }
        // Only the n best need ordering: partition around the n-th (linear), then sort those.
        if best.len() > n {
            best.select_nth_unstable_by(n - 1, |a, b| b.cmp(a));
            best.truncate(n);
        }
        best.sort_by(|a, b| b.cmp(a));
        out.push(best);
    }
    Ok(out)
}

/// Next-token information about the live rows, on the host (see [`Fetch`]).
struct HostLogProbs {
    /// `rows × vocab` log-probabilities (`Fetch::Full` only).
    data: Vec<f32>,
    vocab: usize,
    /// Per row: best token and its log-probability (`Fetch::Best` only).
    best: Vec<(u32, f32)>,
    /// Per row: the best tokens, best first (`Fetch::Top` only).
    top: Vec<Vec<Scored>>,
}

impl HostLogProbs {
    fn from_tensor(t: &Tensor, fetch: Fetch) -> Result<Self> {
        let (_, vocab) = t.dims2()?;
        let mut out = Self {
            data: Vec::new(),
            vocab,
            best: Vec::new(),
            top: Vec::new(),
        };
        match fetch {
            Fetch::Full => out.data = t.flatten_all()?.to_vec1::<f32>()?,
            Fetch::Best => {
                // Found on the device so the distribution is never copied over.
                let idx = t.argmax_keepdim(D::Minus1)?;
                let val = t.gather(&idx, D::Minus1)?;
                let idx = idx.flatten_all()?.to_vec1::<u32>()?;
                let val = val.flatten_all()?.to_vec1::<f32>()?;
                out.best = idx.into_iter().zip(val).collect();
            }
            Fetch::Top(n) => out.top = top_rows(t, n)?,
        }
        Ok(out)
    }

    fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.vocab..(r + 1) * self.vocab]
    }
}

/// A `(score, token)` pair ordered by score, then lower token first (deterministic ties).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scored {
    score: f64,
    token: u32,
}

impl Eq for Scored {}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.token.cmp(&self.token))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The `k` best entries of `row`, best first.
fn top_k(row: &[f32], k: usize) -> Vec<Scored> {
    let mut heap: BinaryHeap<std::cmp::Reverse<Scored>> = BinaryHeap::with_capacity(k + 1);
    for (token, &v) in row.iter().enumerate() {
        let s = Scored {
            score: v as f64,
            token: token as u32,
        };
        if heap.len() < k {
            heap.push(std::cmp::Reverse(s));
        } else if let Some(min) = heap.peek()
            && s > min.0
        {
            heap.pop();
            heap.push(std::cmp::Reverse(s));
        }
    }
    let mut out: Vec<Scored> = heap.into_iter().map(|r| r.0).collect();
    out.sort_by(|a, b| b.cmp(a));
    out
}

fn argmax(row: &[f32]) -> u32 {
    top_k(row, 1).first().map_or(0, |s| s.token)
}

/// Draws a token from `row` (log-probabilities) at `temperature` within the top-p nucleus.
fn sample_token(row: &[f32], temperature: f64, top_p: f64, rng: &mut StdRng) -> u32 {
    if temperature <= 0.0 {
        return argmax(row);
    }
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    // Tokens more than 50 nats (after tempering) below the best carry no probability mass at
    // f64 precision; skipping them keeps the exp and sort work small.
    let cutoff = max - 50.0 * temperature;
    let mut cands: Vec<(u32, f64)> = row
        .iter()
        .enumerate()
        .filter(|(_, v)| **v as f64 >= cutoff)
        .map(|(i, &v)| (i as u32, ((v as f64 - max) / temperature).exp()))
        .collect();
    let total: f64 = cands.iter().map(|c| c.1).sum();
    let mut mass = total;
    if top_p < 1.0 {
        cands.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut acc = 0.0;
        let mut keep = cands.len();
        for (i, c) in cands.iter().enumerate() {
            acc += c.1;
            if acc >= top_p * total {
                keep = i + 1;
                break;
            }
        }
        cands.truncate(keep);
        mass = acc.min(total);
    }
    let mut u = rng.random::<f64>() * mass;
    for &(token, w) in &cands {
        if u < w {
            return token;
        }
        u -= w;
    }
    cands.last().map_or(0, |c| c.0)
}

fn fnv1a<'a>(tokens: impl IntoIterator<Item = &'a u32>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for t in tokens {
        for b in t.to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Seeded stream for sample `draw` of a prompt whose full context is `prefix` + `prompt`.
fn sample_rng(seed: u64, prefix: &[u32], prompt: &[u32], draw: usize) -> StdRng {
    let mixed = seed
        ^ fnv1a(prefix.iter().chain(prompt)).rotate_left(17)
        ^ (draw as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    StdRng::seed_from_u64(mixed)
}

/// Token-level generation over a model and an optional shared prefix.
pub struct Decoder<'a> {
    pub model: &'a Model,
    pub prefix: Option<&'a PrefixKv>,
    /// Tokens that end a candidate when `stop_at_eos` is set.
    pub eos: &'a [u32],
    /// Needed for stop strings and for texts in the results.
    pub detok: Option<&'a dyn Detokenize>,
}

/// What a prompt prefill leaves behind: the cache rows (one per prompt) and their next-token
/// log-probabilities.
struct Prefilled {
    cache: KvCache,
    logprobs: HostLogProbs,
}

impl Decoder<'_> {
    /// For each prompt (token ids following the prefix; not empty), its candidates sorted by
    /// summed log-probability, best first, distinct by text (by tokens without a detokenizer).
    pub fn generate(
        &self,
        prompts: &[Vec<u32>],
        params: &GenParams,
    ) -> Result<Vec<Vec<TokenGeneration>>> {
        params.validate()?;
        let counts = vec![params.num_candidates; prompts.len()];
        self.generate_with_counts(prompts, &counts, params)
    }

    /// Like [`Decoder::generate`], with its own number of candidates for each prompt
    /// (`params.num_candidates` is ignored).
    pub fn generate_with_counts(
        &self,
        prompts: &[Vec<u32>],
        counts: &[usize],
        params: &GenParams,
    ) -> Result<Vec<Vec<TokenGeneration>>> {
        GenParams {
            num_candidates: 1,
            ..params.clone()
        }
        .validate()?;
        if counts.len() != prompts.len() {
            return Err(ModelError::InvalidRequest(format!(
                "{} candidate counts for {} prompts",
                counts.len(),
                prompts.len()
            )));
        }
        if params.strategy != Strategy::Greedy && counts.contains(&0) {
            return Err(ModelError::InvalidRequest(
                "num_candidates must be at least 1".into(),
            ));
        }
        if !params.stop.is_empty() && self.detok.is_none() {
            return Err(ModelError::InvalidRequest(
                "stop strings need a tokenizer".into(),
            ));
        }
        if let Some(i) = prompts.iter().position(Vec::is_empty) {
            return Err(ModelError::InvalidRequest(format!("prompt {i} is empty")));
        }
        let vocab = self.model.config().vocab_size as u32;
        if let Some(&t) = prompts.iter().flatten().find(|&&t| t >= vocab) {
            return Err(ModelError::InvalidRequest(format!(
                "token id {t} outside the vocabulary ({vocab})"
            )));
        }
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        let ks: Vec<usize> = match params.strategy {
            Strategy::Greedy => vec![1; prompts.len()],
            _ => counts.to_vec(),
        };
        let fetch = Fetch::for_params(params, &ks);
        let prefilled = self.prefill(prompts, params, fetch)?;
        let mut finished: Vec<Vec<TokenGeneration>> = vec![Vec::new(); prompts.len()];
        match params.strategy {
            Strategy::Greedy | Strategy::Beam => {
                let live = (0..prompts.len())
                    .map(|req| Hyp {
                        req,
                        tokens: Vec::new(),
                        logprob: 0.0,
                        token_logprobs: Vec::new(),
                        rng: None,
                    })
                    .collect();
                self.run(
                    prefilled.cache,
                    prefilled.logprobs,
                    live,
                    params,
                    &ks,
                    &mut finished,
                )?;
                Ok(finished
                    .into_iter()
                    .zip(&ks)
                    .map(|(c, &k)| self.rank(c, k))
                    .collect())
            }
            Strategy::Sample { max_rounds, .. } => {
                let mut draws = vec![0usize; prompts.len()];
                let mut results: Vec<Vec<TokenGeneration>> = vec![Vec::new(); prompts.len()];
                for _ in 0..max_rounds.max(1) {
                    let mut rows = Vec::new();
                    let mut live = Vec::new();
                    for (req, prompt) in prompts.iter().enumerate() {
                        let missing = ks[req].saturating_sub(results[req].len());
                        for _ in 0..missing {
                            rows.push(req as u32);
                            live.push(Hyp {
                                req,
                                tokens: Vec::new(),
                                logprob: 0.0,
                                token_logprobs: Vec::new(),
                                rng: Some(sample_rng(
                                    params.seed,
                                    self.prefix.map_or(&[][..], PrefixKv::tokens),
                                    prompt,
                                    draws[req],
                                )),
                            });
                            draws[req] += 1;
                        }
                    }
                    if live.is_empty() {
                        break;
                    }
                    // A copy: later rounds start again from the untouched prefill cache.
                    let cache = prefilled.cache.select_rows(&rows)?;
                    let mut data = Vec::with_capacity(rows.len() * prefilled.logprobs.vocab);
                    for &r in &rows {
                        data.extend_from_slice(prefilled.logprobs.row(r as usize));
                    }
                    let logprobs = HostLogProbs {
                        data,
                        vocab: prefilled.logprobs.vocab,
                        best: Vec::new(),
                        top: Vec::new(),
                    };
                    let mut round: Vec<Vec<TokenGeneration>> = vec![Vec::new(); prompts.len()];
                    self.run(cache, logprobs, live, params, &ks, &mut round)?;
                    for (req, new) in round.into_iter().enumerate() {
                        results[req].extend(new);
                        let merged = std::mem::take(&mut results[req]);
                        results[req] = self.rank(merged, ks[req]);
                    }
                }
                Ok(results)
            }
        }
    }

    /// Best first, duplicates (same text, or same tokens without text) dropped, at most `keep`.
    fn rank(&self, mut cands: Vec<TokenGeneration>, keep: usize) -> Vec<TokenGeneration> {
        cands.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
        let mut seen_text = HashSet::new();
        let mut seen_tokens = HashSet::new();
        cands.retain(|c| match &c.text {
            Some(t) => seen_text.insert(t.clone()),
            None => seen_tokens.insert(c.tokens.clone()),
        });
        cands.truncate(keep);
        cands
    }

    /// Runs all prompts through the model (after the prefix), left-padded, in chunks.
    fn prefill(&self, prompts: &[Vec<u32>], params: &GenParams, fetch: Fetch) -> Result<Prefilled> {
        let model = self.model;
        let prefix_len = self.prefix.map_or(0, PrefixKv::len);
        let budget = params.prefill_chunk_tokens.max(1);
        let mut caches = Vec::new();
        let mut logprobs = Vec::new();
        let mut start = 0;
        while start < prompts.len() {
            let mut end = start + 1;
            let mut longest = prompts[start].len();
            while end < prompts.len() {
                let l = longest.max(prompts[end].len());
                if l * (end + 1 - start) > budget {
                    break;
                }
                longest = l;
                end += 1;
            }
            let chunk = &prompts[start..end];
            let pads: Vec<usize> = chunk.iter().map(|p| longest - p.len()).collect();
            let mut ids = Vec::with_capacity(chunk.len() * longest);
            for (p, &pad) in chunk.iter().zip(&pads) {
                ids.extend(std::iter::repeat_n(p[0], pad));
                ids.extend_from_slice(p);
            }
            let input = Tensor::from_vec(ids, (chunk.len(), longest), model.device())?;
            let capacity = longest + params.max_new_tokens;
            let mut cache = KvCache::new(model, pads, capacity, prefix_len)?;
            let hidden = model.forward(&input, &mut cache, self.prefix)?;
            let last = hidden.i((.., longest - 1, ..))?;
            logprobs.push(HostLogProbs::from_tensor(&model.log_probs(&last)?, fetch)?);
            caches.push(cache);
            start = end;
        }
        let cache = if caches.len() == 1 {
            caches.pop().expect("one cache")
        } else {
            KvCache::concat_rows(&caches)?
        };
        let vocab = logprobs[0].vocab;
        let mut all = HostLogProbs {
            data: Vec::new(),
            vocab,
            best: Vec::new(),
            top: Vec::new(),
        };
        for l in logprobs {
            all.data.extend(l.data);
            all.best.extend(l.best);
            all.top.extend(l.top);
        }
        Ok(Prefilled {
            cache,
            logprobs: all,
        })
    }

    /// Checks whether `hyp` (its last token just appended) is done; returns why and its text.
    fn check_end(
        &self,
        hyp: &Hyp,
        params: &GenParams,
    ) -> Result<Option<(FinishReason, Option<String>)>> {
        let last = *hyp.tokens.last().expect("a token was just appended");
        if params.stop_at_eos && self.eos.contains(&last) {
            let body = &hyp.tokens[..hyp.tokens.len() - 1];
            let text = self.detok.map(|d| d.decode(body)).transpose()?;
            return Ok(Some((FinishReason::Eos, text)));
        }
        let text = match self.detok {
            Some(d) if !params.stop.is_empty() || hyp.tokens.len() >= params.max_new_tokens => {
                Some(d.decode(&hyp.tokens)?)
            }
            _ => None,
        };
        if let Some(t) = &text
            && let Some(cut) = params.stop.iter().filter_map(|s| t.find(s.as_str())).min()
        {
            return Ok(Some((FinishReason::Stop, Some(t[..cut].to_string()))));
        }
        if hyp.tokens.len() >= params.max_new_tokens {
            return Ok(Some((FinishReason::Length, text)));
        }
        Ok(None)
    }

    fn finish(hyp: Hyp, reason: FinishReason, text: Option<String>) -> TokenGeneration {
        TokenGeneration {
            tokens: hyp.tokens,
            logprob: hyp.logprob,
            token_logprobs: hyp.token_logprobs,
            finish: reason,
            text,
        }
    }

    /// The decoding loop shared by all strategies: `live[i]` is row `i` of `cache`, `logprobs`
    /// its next-token distribution. Finished candidates go to `finished[req]`.
    fn run(
        &self,
        mut cache: KvCache,
        mut logprobs: HostLogProbs,
        mut live: Vec<Hyp>,
        params: &GenParams,
        ks: &[usize],
        finished: &mut [Vec<TokenGeneration>],
    ) -> Result<()> {
        // Where decoding time goes (logged at debug level): choosing tokens on the host,
        // reordering the cache, the forward pass as launched, and waiting for its results.
        let mut clock = StepClock::default();
        while !live.is_empty() {
            let t = Instant::now();
            // (parent row, extended hypothesis) for every hypothesis that stays live.
            let mut next: Vec<(u32, Hyp)> = Vec::with_capacity(live.len());
            match params.strategy {
                Strategy::Greedy | Strategy::Sample { .. } => {
                    for (row, mut hyp) in live.into_iter().enumerate() {
                        let (token, lp) = match (params.strategy, hyp.rng.as_mut()) {
                            (
                                Strategy::Sample {
                                    temperature, top_p, ..
                                },
                                Some(rng),
                            ) => {
                                let lp = logprobs.row(row);
                                let token = sample_token(lp, temperature, top_p, rng);
                                (token, lp[token as usize])
                            }
                            _ => logprobs.best[row],
                        };
                        hyp.logprob += lp as f64;
                        hyp.tokens.push(token);
                        hyp.token_logprobs.push(lp);
                        match self.check_end(&hyp, params)? {
                            Some((reason, text)) => {
                                let req = hyp.req;
                                finished[req].push(Self::finish(hyp, reason, text));
                            }
                            None => next.push((row as u32, hyp)),
                        }
                    }
                }
                Strategy::Beam => {
                    self.beam_step(live, &logprobs, params, ks, finished, &mut next)?;
                }
            }
            clock.choose += t.elapsed();
            if next.is_empty() {
                break;
            }
            let t = Instant::now();
            let parents: Vec<u32> = next.iter().map(|(p, _)| *p).collect();
            let identity = parents.len() == cache.rows()
                && parents.iter().enumerate().all(|(i, &p)| p as usize == i);
            if !identity {
                cache = cache.select_rows(&parents)?;
            }
            live = next.into_iter().map(|(_, h)| h).collect();
            let last: Vec<u32> = live
                .iter()
                .map(|h| *h.tokens.last().expect("extended"))
                .collect();
            clock.reorder += t.elapsed();
            let t = Instant::now();
            let input = Tensor::from_vec(last, (live.len(), 1), self.model.device())?;
            let hidden = self.model.forward(&input, &mut cache, self.prefix)?;
            let lp = self.model.log_probs(&hidden.i((.., 0, ..))?)?;
            clock.forward += t.elapsed();
            let t = Instant::now();
            logprobs = HostLogProbs::from_tensor(&lp, Fetch::for_params(params, ks))?;
            clock.fetch += t.elapsed();
            clock.steps += 1;
        }
        tracing::debug!(
            steps = clock.steps,
            choose_s = clock.choose.as_secs_f64(),
            reorder_s = clock.reorder.as_secs_f64(),
            forward_s = clock.forward.as_secs_f64(),
            fetch_s = clock.fetch.as_secs_f64(),
            "decoding time"
        );
        Ok(())
    }

    /// One beam-search step for every request with live beams.
    fn beam_step(
        &self,
        live: Vec<Hyp>,
        logprobs: &HostLogProbs,
        params: &GenParams,
        ks: &[usize],
        finished: &mut [Vec<TokenGeneration>],
        next: &mut Vec<(u32, Hyp)>,
    ) -> Result<()> {
        // Live beams of one request are contiguous rows.
        let mut start = 0;
        while start < live.len() {
            let req = live[start].req;
            let end = start + live[start..].iter().take_while(|h| h.req == req).count();
            let k = ks[req];
            // 2K candidates per beam, as in the usual formulation: enough for K live survivors
            // unless more than K of a beam's best continuations finish (e.g. many tokens
            // containing a stop string), in which case fewer than K beams stay live.
            let per_beam = 2 * k;
            // (summed score, parent row, token, the token's own log-probability)
            let mut cands: Vec<(f64, u32, u32, f64)> = Vec::with_capacity((end - start) * per_beam);
            for (row, hyp) in live.iter().enumerate().take(end).skip(start) {
                for s in logprobs.top[row].iter().take(per_beam) {
                    cands.push((hyp.logprob + s.score, row as u32, s.token, s.score));
                }
            }
            cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            let mut kept = 0;
            for (rank, &(score, row, token, token_lp)) in cands.iter().enumerate() {
                if kept == k {
                    break;
                }
                if rank >= k && hyp_len(&live[row as usize]) + 1 >= params.max_new_tokens {
                    // Every remaining candidate ends by length and ranks too low to count.
                    break;
                }
                let parent = &live[row as usize];
                let mut hyp = Hyp {
                    req,
                    tokens: Vec::with_capacity(parent.tokens.len() + 1),
                    logprob: score,
                    token_logprobs: Vec::with_capacity(parent.tokens.len() + 1),
                    rng: None,
                };
                hyp.tokens.extend_from_slice(&parent.tokens);
                hyp.tokens.push(token);
                hyp.token_logprobs.extend_from_slice(&parent.token_logprobs);
                hyp.token_logprobs.push(token_lp as f32);
                match self.check_end(&hyp, params)? {
                    // As in the usual formulation, a finishing candidate counts only if it ranks
                    // among the best K of this step.
                    Some((reason, text)) => {
                        if rank < k {
                            finished[req].push(Self::finish(hyp, reason, text));
                        }
                    }
                    None => {
                        next.push((row, hyp));
                        kept += 1;
                    }
                }
            }
            // With summed log-probabilities scores only fall, so once K finished candidates beat
            // every live beam nothing can overtake them.
            if finished[req].len() >= k {
                let mut scores: Vec<f64> = finished[req].iter().map(|c| c.logprob).collect();
                scores.sort_by(|a, b| b.total_cmp(a));
                let kth = scores[k - 1];
                let best_live = next
                    .iter()
                    .filter(|(_, h)| h.req == req)
                    .map(|(_, h)| h.logprob)
                    .fold(f64::NEG_INFINITY, f64::max);
                if best_live <= kth {
                    next.retain(|(_, h)| h.req != req);
                }
            }
            start = end;
        }
        Ok(())
    }
}

fn hyp_len(h: &Hyp) -> usize {
    h.tokens.len()
}

/// A request for [`Generator::generate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenRequest {
    /// Text that follows the shared prefix (or the whole prompt when there is none).
    pub prompt: String,
    /// Candidates wanted for this request; `None` takes `GenParams::num_candidates`.
    pub num_candidates: Option<usize>,
}

impl GenRequest {
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            num_candidates: None,
        }
    }

    pub fn with_candidates(prompt: impl Into<String>, k: usize) -> Self {
        Self {
            prompt: prompt.into(),
            num_candidates: Some(k),
        }
    }
}

/// Text-level generation: model + tokenizer + an optional shared prefix reused across calls.
pub struct Generator {
    model: Model,
    tokenizer: Tokenizer,
    eos: Vec<u32>,
    prefix: Option<(String, PrefixKv)>,
}

impl Generator {
    /// End-of-sequence ids: the config's, plus `<|im_end|>` when the vocabulary has it (the chat
    /// turn terminator of InternLM2 models).
    pub fn new(model: Model, tokenizer: Tokenizer) -> Self {
        let mut eos = model.config().eos_token_ids();
        if let Some(id) = tokenizer.token_to_id("<|im_end|>")
            && !eos.contains(&id)
        {
            eos.push(id);
        }
        Self {
            model,
            tokenizer,
            eos,
            prefix: None,
        }
    }

    /// Loads model and tokenizer from a directory or hub id.
    pub fn load(source: &ModelSource, opts: &LoadOptions) -> Result<Self> {
        let (dir, model) = loader::load(source, opts)?;
        let tokenizer = crate::tokenizer::load_tokenizer(&dir)?;
        Ok(Self::new(model, tokenizer))
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    pub fn eos_token_ids(&self) -> &[u32] {
        &self.eos
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Computes the KV cache of `text` (BOS + text) once; every later request is appended to it.
    /// Requests are tokenized on their own, so the prefix should end at a token boundary
    /// (e.g. a newline).
    pub fn set_prefix(&mut self, text: &str) -> Result<()> {
        let mut tokens: Vec<u32> = self.model.config().bos_token_id.into_iter().collect();
        tokens.extend(self.encode(text)?);
        let kv = self.model.build_prefix(&tokens)?;
        self.prefix = Some((text.to_string(), kv));
        Ok(())
    }

    pub fn clear_prefix(&mut self) {
        self.prefix = None;
    }

    pub fn prefix_text(&self) -> Option<&str> {
        self.prefix.as_ref().map(|(t, _)| t.as_str())
    }

    /// Token ids a request contributes after the prefix (BOS first when there is no prefix).
    pub fn prompt_tokens(&self, prompt: &str) -> Result<Vec<u32>> {
        let mut tokens = Vec::new();
        if self.prefix.is_none() {
            tokens.extend(self.model.config().bos_token_id);
        }
        tokens.extend(self.encode(prompt)?);
        Ok(tokens)
    }

    /// For each request, up to its number of candidates (`GenRequest::num_candidates`, else
    /// `params.num_candidates`; one for greedy) distinct candidates, best summed
    /// log-probability first.
    pub fn generate(
        &self,
        requests: &[GenRequest],
        params: &GenParams,
    ) -> Result<Vec<Vec<Generation>>> {
        let prompts = requests
            .iter()
            .map(|r| self.prompt_tokens(&r.prompt))
            .collect::<Result<Vec<_>>>()?;
        let decoder = Decoder {
            model: &self.model,
            prefix: self.prefix.as_ref().map(|(_, kv)| kv),
            eos: &self.eos,
            detok: Some(&self.tokenizer),
        };
        let counts: Vec<usize> = requests
            .iter()
            .map(|r| r.num_candidates.unwrap_or(params.num_candidates))
            .collect();
        let out = decoder.generate_with_counts(&prompts, &counts, params)?;
        Ok(out
            .into_iter()
            .map(|cands| {
                cands
                    .into_iter()
                    .map(|c| Generation {
                        logprob_norm: c.logprob_norm(),
                        text: c.text.unwrap_or_default(),
                        logprob: c.logprob,
                        tokens: c.tokens.len(),
                        finish: c.finish,
                        token_ids: c.tokens,
                        token_logprobs: c.token_logprobs,
                    })
                    .collect()
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_top_rows_equal_a_full_scan() {
        let (rows, vocab) = (5, 1000);
        let lp = Tensor::randn(0f32, 3.0, (rows, vocab), &candle_core::Device::Cpu).unwrap();
        let full = lp.to_vec2::<f32>().unwrap();
        for n in [1, 2, 6, 7] {
            let fast = top_rows(&lp, n).unwrap();
            assert_eq!(fast.len(), rows);
            for (row, got) in full.iter().zip(&fast) {
                assert_eq!(got, &top_k(row, n), "n = {n}");
            }
        }
        // Large n falls back to copying everything; the answer is the same.
        let all = top_rows(&lp, 900).unwrap();
        assert_eq!(all[0], top_k(&full[0], 900));
    }

    #[test]
    fn nucleus_sampling_stays_in_the_nucleus() {
        // Probabilities 0.5, 0.3, 0.2: top-p 0.6 allows only the first two tokens.
        let row: Vec<f32> = [0.5f32, 0.3, 0.2].iter().map(|p| p.ln()).collect();
        let mut rng = StdRng::seed_from_u64(3);
        let mut seen = [0usize; 3];
        for _ in 0..2000 {
            seen[sample_token(&row, 1.0, 0.6, &mut rng) as usize] += 1;
        }
        assert_eq!(seen[2], 0);
        let share = seen[0] as f64 / 2000.0;
        assert!((share - 0.625).abs() < 0.04, "{share}");
        // Without truncation all three appear in proportion.
        let mut seen = [0usize; 3];
        for _ in 0..4000 {
            seen[sample_token(&row, 1.0, 1.0, &mut rng) as usize] += 1;
        }
        assert!((seen[2] as f64 / 4000.0 - 0.2).abs() < 0.03, "{seen:?}");
    }
}
