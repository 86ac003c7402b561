//! `prover formalize`: natural-language problems → Lean 3 statements, each checked in Lean.
//!
//! The model is asked with the model card's prompt ("Convert this natural langauge statement
//! into a Lean 3 theorem statement:…") for N candidates per problem, problems batched into
//! shared generations. Each candidate's statement is extracted from the text, elaborated by
//! the bridge's statement check under the header's imports, and ranked by the model's
//! length-normalized log-probability. Optionally the model reads each statement back into
//! natural language (`--back-translate`) and the search tries to prove those that elaborate
//! (`--prove`).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use search::{
    BatchingConfig, BatchingPolicy, BestFirstSearch, CancellationToken, Policy, ProofEnv,
    ProofTask, SearchConfig, StopReason,
};
use serde::{Deserialize, Serialize};

use crate::lean_opts::LeanOpts;
use crate::model_load::{LoadedModel, ModelOpts};
use crate::output::{Progress, one_line, print_line};
use crate::policy::{PolicyChoice, PolicyKind};
use crate::prompts::card as prompts;
use crate::results::ResultsFile;
use crate::shard::Shard;
use causal_lm::Generation;
use lean_env::LeanEnv;
use lean_env::first_line;

/// Formalize natural-language problems as Lean 3 theorem statements with the model, and check
/// each candidate in Lean. Exit status 0 iff every problem got a statement that elaborates
/// (with --prove: that was proved).
#[derive(Args, Debug)]
pub struct FormalizeArgs {
    /// The problem in natural language (or --input).
    #[arg(
        value_name = "TEXT",
        required_unless_present = "input",
        conflicts_with = "input"
    )]
    pub text: Option<String>,

    /// Problems as JSON lines with `name` and `informal` fields; results go to --output.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// Results file (JSON lines, one per problem, appended as each is done). Default with
    /// --input: formalized.jsonl.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Continue an interrupted run: skip problems already in the output file.
    #[arg(long)]
    pub resume: bool,

    /// Only shard I of N (0 <= I < N) of the problems: a deterministic split by problem name,
    /// the same on every machine (see `prover prove --shard`).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,

    /// Start the output file over if it already has results.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,

    /// Candidate statements per problem.
    #[arg(
        short = 'n',
        long = "candidates",
        value_name = "N",
        default_value_t = 4
    )]
    pub candidates: usize,

    /// Also show the model's natural-language reading of each candidate.
    #[arg(long)]
    pub back_translate: bool,

    /// Run the proof search on the candidates that elaborate.
    #[arg(long)]
    pub prove: bool,

    /// Policy for --prove (default: the model).
    #[arg(long, value_enum)]
    pub policy: Option<PolicyKind>,

    /// With --prove: most proof states expanded per statement.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub expansions: usize,

    /// With --prove: tactic candidates per expanded state.
    #[arg(long, short = 'k', value_name = "K", default_value_t = 8)]
    pub samples: usize,

    /// With --prove: wall-clock limit per statement, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120.0)]
    pub timeout: f64,

    /// Problems per model batch.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub batch: usize,

    /// Print one JSON object per problem on stdout instead of the text report.
    #[arg(long)]
    pub jsonl: bool,

    #[command(flatten)]
    pub model: ModelOpts,

    #[command(flatten)]
    pub lean: LeanOpts,
}

/// One problem of the input.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Problem {
    pub name: String,
    pub informal: String,
}

/// One line of the results.
#[derive(Debug, Deserialize, Serialize)]
pub struct FormalizeRecord {
    pub name: String,
    pub informal: String,
    /// Candidates that elaborate.
    pub elaborated: usize,
    /// Candidates proved (with --prove).
    pub proved: Option<usize>,
    /// Best model score first.
    pub candidates: Vec<StatementCandidate>,
}

/// One generated statement and what Lean and the search made of it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct StatementCandidate {
    pub rank: usize,
    /// What the model wrote.
    pub text: String,
    /// The statement read from it (`(x : ℝ) (h : …) : goal`); None when none could be read.
    pub statement: Option<String>,
    pub logprob: f64,
    pub logprob_norm: f64,
    pub elaborates: bool,
    /// Lean's error (or why no statement was read).
    pub error: Option<String>,
    /// The statement as Lean prints it, when it elaborates.
    pub lean_statement: Option<String>,
    /// The model's natural-language reading (--back-translate).
    pub back_translation: Option<String>,
    /// The search's result (--prove).
    pub proof: Option<ProofAttempt>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ProofAttempt {
    pub proved: bool,
    pub proof: Option<String>,
    pub error: Option<String>,
    pub expansions: usize,
    pub time_s: f64,
}

/// Runs the command; returns whether every problem got an elaborating (or proved) statement.
pub async fn run(args: FormalizeArgs, cancel: CancellationToken) -> Result<bool> {
    if args.candidates == 0 {
        bail!("-n must be at least 1");
    }
    if !args.model.given() {
        bail!(
            "formalize needs --model DIR|ID (a checkpoint directory or hub id) or --endpoint URL (a completions server)"
        );
    }
    let policy_choice = PolicyChoice::new(
        PolicyKind::or_default(args.policy, true),
        args.model.clone(),
    )?;
    let problems = match (&args.text, &args.input) {
        (_, Some(path)) => read_problems(path)?,
        (Some(text), None) => vec![Problem {
            name: "problem".into(),
            informal: text.clone(),
        }],
        (None, None) => bail!("give the problem as TEXT or --input FILE"),
    };
    let output = args
        .output
        .clone()
        .or_else(|| args.input.as_ref().map(|_| "formalized.jsonl".into()));
    let (mut out, done) = match &output {
        Some(p) => {
            let (f, done) = ResultsFile::open(p, args.resume, args.overwrite)?;
            (Some(f), done)
        }
        None => (None, HashSet::new()),
    };
    let todo: Vec<Problem> = problems
        .into_iter()
        .filter(|p| !done.contains(&p.name))
        .filter(|p| args.shard.is_none_or(|s| s.contains(&p.name)))
        .collect();
    if !done.is_empty() {
        eprintln!("resuming: {} problem(s) already done", done.len());
    }

    let model = policy_choice.model().await?.context("no model loaded")?;
    let header = args.lean.load_header()?.unwrap_or_default();
    let pool = Arc::new(
        args.lean
            .pool(&header.imports, args.input.as_deref())
            .await?,
    );
    let result = async {
        let prover = if args.prove {
            let policy = policy_choice.build(&pool).await?;
            Some((
                Arc::new(LeanEnv::new(pool.clone())),
                Arc::new(BatchingPolicy::new(policy, BatchingConfig::default())),
                BestFirstSearch::new(SearchConfig {
                    max_expansions: args.expansions,
                    time_limit_s: args.timeout,
                    candidates_per_expansion: args.samples,
                    ..SearchConfig::default()
                }),
            ))
        } else {
            None
        };
        let progress = Progress::new(todo.len() as u64, "formalizing");
        if todo.len() <= 1 {
            progress
                .bar()
                .set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let mut all_ok = true;
        for chunk in todo.chunks(args.batch.max(1)) {
            if cancel.is_cancelled() {
                break;
            }
            progress.set_message(format!("generating {} problem(s)", chunk.len()));
            let mut records = formalize_batch(model, &args.model, chunk, args.candidates).await?;
            progress.set_message("checking statements in Lean".into());
            for r in &mut records {
                check_statements(&pool, &header.context, &mut r.candidates).await;
            }
            if args.back_translate {
                progress.set_message("reading the statements back".into());
                back_translate(model, &args.model, &mut records).await?;
            }
            if let Some((env, policy, search)) = &prover {
                progress.set_message("proving".into());
                prove_candidates(
                    &mut records,
                    &header.context,
                    search,
                    env.clone(),
                    policy.clone(),
                    pool.size(),
                    &cancel,
                )
                .await;
                if cancel.is_cancelled() {
                    // Unfinished proof attempts: leave these problems for --resume.
                    break;
                }
            }
            for r in &mut records {
                r.elaborated = r.candidates.iter().filter(|c| c.elaborates).count();
                all_ok &= if args.prove {
                    r.proved.unwrap_or(0) > 0
                } else {
                    r.elaborated > 0
                };
                if let Some(out) = &mut out {
                    out.append(&*r)?;
                }
                let shown = if args.jsonl {
                    serde_json::to_string(&*r)?
                } else {
                    render(r)
                };
                print_line(&progress, shown.trim_end());
                progress.inc(r.elaborated > 0);
            }
        }
        progress.finish();
        if let Some(out) = &out {
            eprintln!("results in {}", out.path().display());
        }
        Ok::<_, anyhow::Error>(all_ok && !cancel.is_cancelled())
    }
    .await;
    pool.shutdown().await;
    result
}

/// Runs the search on every candidate that elaborates (`concurrent` at a time) and records
/// each result in the candidate (`proof`) and the count per problem (`proved`). Searches cut
/// short by `cancel` leave their candidate without a result.
#[allow(clippy::too_many_arguments)]
pub async fn prove_candidates<E: ProofEnv, P: Policy>(
    records: &mut [FormalizeRecord],
    context: &[String],
    search: &BestFirstSearch,
    env: Arc<E>,
    policy: Arc<P>,
    concurrent: usize,
    cancel: &CancellationToken,
) {
    let tasks: Vec<ProofTask> = records
        .iter()
        .flat_map(|r| {
            r.candidates
                .iter()
                .filter(|c| c.elaborates)
                .map(|c| ProofTask {
                    name: task_name(&r.name, c.rank),
                    statement: c.statement.clone().unwrap_or_default(),
                    context: context.to_vec(),
                })
        })
        .collect();
    let mut found = BTreeMap::new();
    search::run_many(search, env, policy, tasks, concurrent, cancel, |o| {
        found.insert(o.result.name.clone(), o.result);
    })
    .await;
    for r in records.iter_mut() {
        for c in &mut r.candidates {
            if let Some(res) = found.remove(&task_name(&r.name, c.rank))
                && res.stop_reason != StopReason::Cancelled
            {
                let proved = res.success();
                c.proof = Some(ProofAttempt {
                    proved,
                    proof: res.proof.filter(|_| proved),
                    error: res.error,
                    expansions: res.expansions,
                    time_s: res.time_s,
                });
            }
        }
        r.proved = Some(
            r.candidates
                .iter()
                .filter(|c| c.proof.as_ref().is_some_and(|p| p.proved))
                .count(),
        );
    }
}

fn task_name(problem: &str, rank: usize) -> String {
    format!("{problem} #{rank}")
}

/// Reads the JSONL input: `name` and `informal` on every (non-blank) line, names distinct.
pub fn read_problems(path: &std::path::Path) -> Result<Vec<Problem>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let p: Problem = serde_json::from_str(line).with_context(|| {
            format!(
                "{}:{}: expected a JSON object with string fields `name` and `informal`",
                path.display(),
                i + 1
            )
        })?;
        if !seen.insert(p.name.clone()) {
            bail!(
                "{}:{}: the name {} is used twice",
                path.display(),
                i + 1,
                p.name
            );
        }
        out.push(p);
    }
    if out.is_empty() {
        bail!("{} has no problems", path.display());
    }
    Ok(out)
}

/// The model's candidates for a batch of problems, one batched generation.
async fn formalize_batch(
    model: &LoadedModel,
    opts: &ModelOpts,
    problems: &[Problem],
    n: usize,
) -> Result<Vec<FormalizeRecord>> {
    let prompts: Vec<String> = problems
        .iter()
        .map(|p| model.wrap(&prompts::formalize(&p.informal)))
        .collect();
    let generations = model
        .generate(prompts, opts.params_with(n, model.answer_stops(), 256))
        .await?;
    Ok(problems
        .iter()
        .zip(generations)
        .map(|(p, gens)| FormalizeRecord {
            name: p.name.clone(),
            informal: p.informal.clone(),
            elaborated: 0,
            proved: None,
            candidates: candidates_from(&gens),
        })
        .collect())
}

/// Candidates from generations: statements read from the text, repeats merged (keeping the
/// best score), best first.
pub fn candidates_from(generations: &[Generation]) -> Vec<StatementCandidate> {
    let mut sorted: Vec<&Generation> = generations.iter().collect();
    sorted.sort_by(|a, b| b.logprob_norm.total_cmp(&a.logprob_norm));
    let mut out: Vec<StatementCandidate> = Vec::new();
    for g in sorted {
        let statement = extract_statement(&g.text);
        let key = statement
            .clone()
            .unwrap_or_else(|| g.text.trim().to_string());
        if out.iter().any(|c| {
            c.statement
                .clone()
                .unwrap_or_else(|| c.text.trim().to_string())
                == key
        }) {
            continue;
        }
        out.push(StatementCandidate {
            rank: out.len() + 1,
            text: g.text.clone(),
            error: statement
                .is_none()
                .then(|| "no theorem statement could be read from the model's text".to_string()),
            statement,
            logprob: g.logprob,
            logprob_norm: g.logprob_norm,
            elaborates: false,
            lean_statement: None,
            back_translation: None,
            proof: None,
        });
    }
    out
}

/// The statement (`binders : goal`) in a model's answer: a `theorem`/`lemma` declaration (its
/// proof, if any, dropped) or a bare `binders : goal`, in a code fence or not.
pub fn extract_statement(text: &str) -> Option<String> {
    let mut t = text.trim();
    if let Some(start) = t.find("```") {
        let after = &t[start + 3..];
        let after = after.strip_prefix("lean").unwrap_or(after);
        t = after.split("```").next().unwrap_or(after).trim();
    }
    // The keyword as a word: at the start or after white space, and followed by white space
    // or the end.
    let decl = ["theorem", "lemma"]
        .iter()
        .filter_map(|k| {
            t.match_indices(k)
                .find(|(i, _)| {
                    let after = &t[i + k.len()..];
                    (*i == 0 || t[..*i].ends_with(char::is_whitespace))
                        && (after.is_empty() || after.starts_with(char::is_whitespace))
                })
                .map(|(i, _)| i)
        })
        .min();
    let statement = match decl {
        Some(i) => {
            let head = t[i..].split(":=").next().unwrap_or_default();
            let file = problems::parse_str(&format!("{head} := sorry\n"), None).ok()?;
            let theorem = file.theorems.into_iter().next()?;
            theorem.statement
        }
        None => {
            let head = t.split(":=").next().unwrap_or_default().trim();
            match problems::split_statement(head) {
                Some(_) => head.to_string(),
                None => format!(": {head}"),
            }
        }
    };
    let (_, goal) = problems::split_statement(&statement)?;
    (!goal.trim().is_empty()).then_some(statement)
}

/// Elaborates every candidate's statement (concurrently over the pool's workers): sets
/// `elaborates` and `lean_statement`, or `error` to Lean's message.
pub async fn check_statements(
    pool: &lean_bridge::LeanPool,
    context: &[String],
    candidates: &mut [StatementCandidate],
) {
    let checks = candidates.iter().map(|c| async move {
        match &c.statement {
            Some(s) => Some(pool.check_statement(context, s).await),
            None => None,
        }
    });
    let results = futures::future::join_all(checks).await;
    for (c, r) in candidates.iter_mut().zip(results) {
        match r {
            Some(Ok(printed)) => {
                c.elaborates = true;
                c.error = None;
                c.lean_statement = Some(printed);
            }
            Some(Err(e)) => c.error = Some(e.to_string()),
            None => {}
        }
    }
}

/// The model's natural-language reading of every candidate statement, one batched generation.
async fn back_translate(
    model: &LoadedModel,
    opts: &ModelOpts,
    records: &mut [FormalizeRecord],
) -> Result<()> {
    let mut slots = Vec::new();
    let mut prompts_ = Vec::new();
    for (ri, r) in records.iter().enumerate() {
        for (ci, c) in r.candidates.iter().enumerate() {
            if let Some(s) = &c.statement {
                slots.push((ri, ci));
                let decl = format!("theorem {} {s}", lean_name(&r.name));
                prompts_.push(model.wrap(&prompts::informalize(&decl)));
            }
        }
    }
    if prompts_.is_empty() {
        return Ok(());
    }
    let generations = model
        .generate(prompts_, opts.params_with(1, model.answer_stops(), 256))
        .await?;
    for ((ri, ci), gens) in slots.into_iter().zip(generations) {
        records[ri].candidates[ci].back_translation = gens.first().map(|g| g.text.trim().into());
    }
    Ok(())
}

/// A Lean identifier from a problem name: characters Lean does not allow in a name become `_`
/// ([`problems::lexer`]'s rules, `«»` escapes excluded).
fn lean_name(name: &str) -> String {
    use problems::lexer::{is_id_first, is_id_rest};
    let s: String = name
        .chars()
        .map(|c| {
            if (is_id_rest(c) || c == '.') && c != '«' && c != '»' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // Every dotted part must start like a name.
    if s.split('.')
        .all(|part| part.starts_with(|c: char| is_id_first(c) && c != '«'))
    {
        s
    } else {
        format!("problem_{}", s.replace('.', "_"))
    }
}

/// The text report for one problem.
pub fn render(r: &FormalizeRecord) -> String {
    let mut out = format!("{}: {}\n", r.name, one_line(&r.informal, usize::MAX));
    for c in &r.candidates {
        let mark = if c.elaborates { "✓" } else { "✗" };
        let shown = c.statement.as_deref().unwrap_or(&c.text);
        out.push_str(&format!(
            "{:>3}. {mark} {}  (score {:.3})\n",
            c.rank,
            one_line(shown, 120),
            c.logprob_norm
        ));
        if let Some(e) = &c.error {
            out.push_str(&format!("       {}\n", first_line(e)));
        }
        if let Some(b) = &c.back_translation {
            out.push_str(&format!("       reads: {}\n", one_line(b, 160)));
        }
        match &c.proof {
            Some(p) if p.proved => out.push_str(&format!(
                "       proved in {:.1}s: {}\n",
                p.time_s,
                one_line(p.proof.as_deref().unwrap_or_default(), usize::MAX)
            )),
            Some(p) => out.push_str(&format!(
                "       not proved ({} expansions, {:.1}s){}\n",
                p.expansions,
                p.time_s,
                p.error
                    .as_deref()
                    .map(|e| format!(": {}", first_line(e)))
                    .unwrap_or_default()
            )),
            None => {}
        }
    }
    let n = r.candidates.len();
    out.push_str(&format!(
        "     {} of {n} candidate{} elaborate{}\n",
        r.elaborated,
        if n == 1 { "" } else { "s" },
        match r.proved {
            Some(p) => format!("; {p} proved"),
            None => String::new(),
        }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_read_from_declarations_and_bare_text() {
        assert_eq!(
            extract_statement(
                "theorem foo (x : ℝ) (h : 2 * x = 4) : x = 2 :=\nbegin\n  sorry\nend"
            )
            .as_deref(),
            Some("(x : ℝ) (h : 2 * x = 4) : x = 2")
        );
        assert_eq!(
            extract_statement("```lean\nlemma bar : (2 : ℕ) + 2 = 4 := by norm_num\n```")
                .as_deref(),
            Some(": (2 : ℕ) + 2 = 4")
        );
        assert_eq!(
            extract_statement("(a b : ℕ) (h₀ : a < b) : b ≠ 0").as_deref(),
            Some("(a b : ℕ) (h₀ : a < b) : b ≠ 0")
        );
        assert_eq!(
            extract_statement("2 + 2 = 4").as_deref(),
            Some(": 2 + 2 = 4")
        );
        assert_eq!(extract_statement("   "), None);
        assert_eq!(extract_statement("theorem"), None);
    }

    fn generation(text: &str, norm: f64) -> Generation {
        Generation {
            text: text.into(),
            tokens: 4,
            logprob: norm * 4.0,
            logprob_norm: norm,
            finish: causal_lm::FinishReason::Stop,
            token_ids: Vec::new(),
            token_logprobs: Vec::new(),
        }
    }

    #[test]
    fn candidates_are_ranked_and_repeats_merged() {
        let gens = [
            generation("theorem a (x : ℕ) : x = x", -0.5),
            generation("theorem b (x : ℕ) : x = x := rfl", -0.2),
            generation("no statement here (", -0.1),
            generation("(y : ℕ) : y + 0 = y", -0.9),
        ];
        let c = candidates_from(&gens);
        let got: Vec<(usize, Option<&str>)> =
            c.iter().map(|c| (c.rank, c.statement.as_deref())).collect();
        assert_eq!(
            got,
            [
                (1, Some(": no statement here (")),
                (2, Some("(x : ℕ) : x = x")),
                (3, Some("(y : ℕ) : y + 0 = y")),
            ]
        );
        assert!((c[1].logprob_norm + 0.2).abs() < 1e-12);
    }

    #[test]
    fn problem_files_are_checked() {
        let dir = std::env::temp_dir().join(format!("formalize-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.jsonl");
        std::fs::write(
            &good,
            "{\"name\": \"p1\", \"informal\": \"Show 1 + 1 = 2.\"}\n\n{\"name\": \"p2\", \"informal\": \"x\", \"extra\": 1}\n",
        )
        .unwrap();
        let got = read_problems(&good).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].name, "p2");
        let dup = dir.join("dup.jsonl");
        std::fs::write(
            &dup,
            "{\"name\": \"p\", \"informal\": \"a\"}\n{\"name\": \"p\", \"informal\": \"b\"}\n",
        )
        .unwrap();
        assert!(format!("{:#}", read_problems(&dup).unwrap_err()).contains("used twice"));
        let bad = dir.join("bad.jsonl");
        std::fs::write(&bad, "{\"name\": \"p\"}\n").unwrap();
        assert!(format!("{:#}", read_problems(&bad).unwrap_err()).contains("bad.jsonl:1"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn problem_names_become_lean_names() {
        assert_eq!(lean_name("amc12a_2019_p21"), "amc12a_2019_p21");
        assert_eq!(lean_name("mathd-algebra 10"), "mathd_algebra_10");
        assert_eq!(lean_name("α_β.x₁'"), "α_β.x₁'");
        // Not Lean name characters: Cyrillic, escapes; a part that starts with a digit.
        assert_eq!(lean_name("задача"), "______");
        assert_eq!(lean_name("«x»"), "_x_");
        assert_eq!(lean_name("2019.p1"), "problem_2019_p1");
        assert_eq!(lean_name(""), "problem_");
    }
}
