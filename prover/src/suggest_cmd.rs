//! `prover suggest`: checked tactic suggestions for one proof state, on the command line.
//!
//! The state comes from a theorem of a file (the proof's steps above `--line` are run), or
//! from a state as Lean prints it (`--state`, `--state-file`), which is turned back into a
//! statement ([`crate::tactic_state`]). The policy proposes tactics and each is run in Lean on
//! that state (the same core as the editor's suggestions, [`crate::suggest`]).

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{ArgGroup, Args};
use indicatif::{ProgressBar, ProgressStyle};
use problems::ProblemFile;
use search::CancellationToken;
use serde_json::json;

use crate::index_cmd::{RetrievalChoice, RetrievalMode};
use crate::lean_opts::LeanOpts;
use crate::model_load::ModelOpts;
use crate::model_policy::Dropped;
use crate::output::one_line;
use crate::policy::{PolicyChoice, PolicyKind};
use lean_env::LeanEnv;
use lean_env::first_line;
use lean_env::suggest::{Outcome, SuggestConfig, SuggestError, Suggestions, suggest};
use lean_env::tactic_state::statement_from_state;

/// Suggest next tactics for a proof state, each checked in Lean: ✓ closes the goal, → the
/// goals it leaves, ✗ Lean's error. Exit status 0 iff at least one suggestion works (closes
/// the goal or makes progress).
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("input").required(true).args(["state", "state_file", "file"])))]
pub struct SuggestArgs {
    /// The tactic state as Lean prints it: hypotheses (`x y : ℝ,` one per line), then
    /// `⊢ goal`. Imports and `open` lines come from --header (default: Lean core only). With
    /// several goals, the tactics run on the first.
    #[arg(long, value_name = "TEXT")]
    pub state: Option<String>,

    /// Read the state from this file (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    pub state_file: Option<PathBuf>,

    /// Whether the heuristic also proposes lemmas and tactics retrieved from the project's
    /// indexes (`prover index`): `auto` builds the declaration index on first use.
    #[arg(long, value_enum, default_value_t = RetrievalMode::Auto)]
    pub retrieval: RetrievalMode,

    /// A Lean file: the state is that of --theorem, before --line.
    #[arg(long, value_name = "FILE", requires = "theorem")]
    pub file: Option<PathBuf>,

    /// The theorem of --file.
    #[arg(long, value_name = "NAME", requires = "file")]
    pub theorem: Option<String>,

    /// Line of --file (1-based): the state Lean shows at the start of that line: after the
    /// steps that end above it, inside the `{ … }` blocks the line is in. Default: the start of
    /// the proof.
    #[arg(long, value_name = "L", requires = "file")]
    pub line: Option<usize>,

    /// Column on --line (1-based, in characters): the state there, e.g. inside a `{ … }` that
    /// starts on the line, or after the `;` of `t₁; t₂` (the goals `t₁` makes).
    #[arg(long, value_name = "C", requires = "line")]
    pub column: Option<usize>,

    /// Tactics to ask the policy for (each one is run in Lean).
    #[arg(
        short = 'k',
        long = "candidates",
        value_name = "N",
        default_value_t = 8
    )]
    pub candidates: usize,

    /// Where tactics come from (default: the model when --model is given, else the
    /// heuristic).
    #[arg(long, value_enum)]
    pub policy: Option<PolicyKind>,

    /// One JSON object per suggestion (rank, tactic, score, logprob, outcome, goals, message).
    #[arg(long)]
    pub jsonl: bool,

    #[command(flatten)]
    pub model: ModelOpts,

    #[command(flatten)]
    pub lean: LeanOpts,
}

/// Runs the command; returns whether some suggestion works.
pub async fn run(mut args: SuggestArgs, cancel: CancellationToken) -> Result<bool> {
    if args.candidates == 0 {
        bail!("-k must be at least 1");
    }
    let kind = PolicyKind::or_default(args.policy, args.model.given());
    let (file, index, line) = input(&args)?;
    // The theorem the cursor is in is never retrieved (its own proof may be indexed).
    let exclude: Vec<String> = file.theorems.iter().map(|t| t.full_name.clone()).collect();
    let policy_choice = PolicyChoice::new(kind, args.model.clone())?
        .with_retrieval(RetrievalChoice::new(args.retrieval, exclude));
    if args.column == Some(0) {
        bail!("--column counts from 1");
    }
    let cursor = lean_env::suggest::Cursor {
        line,
        col: args.column.map(|c| c - 1),
    };

    policy_choice.prepare().await?;
    // Candidates run one after another on one state: one Lean process is enough.
    args.lean.jobs.get_or_insert(1);
    let pool = Arc::new(
        args.lean
            .pool(&file.header.imports, file.path.as_deref())
            .await?,
    );
    let result = async {
        let policy = policy_choice.build(&pool).await?;
        // A theorem of a file starts where the file states it (its namespace, variables and
        // definitions in scope); a pasted state starts from its statement text.
        let env = if args.file.is_some() {
            let header = args.lean.load_header()?;
            LeanEnv::new(pool.clone()).with_theorem(
                &file.theorems[index].name,
                &file,
                index,
                header.as_ref(),
            )
        } else {
            LeanEnv::new(pool.clone())
        };
        let spinner = spinner();
        let config = SuggestConfig {
            candidates: args.candidates,
            ..SuggestConfig::default()
        };
        let found = suggest(
            &env,
            &policy,
            &file,
            index,
            cursor,
            &config,
            &cancel,
            |stage| spinner.set_message(stage.message()),
        )
        .await;
        spinner.finish_and_clear();
        Ok::<_, anyhow::Error>((found, policy.take_dropped()))
    }
    .await;
    pool.shutdown().await;
    let (found, dropped) = result?;
    match found {
        Ok(s) => {
            print!(
                "{}",
                if args.jsonl {
                    jsonl(&s, &dropped)
                } else {
                    render(&s, &dropped, kind)
                }
            );
            Ok(s.offered().next().is_some())
        }
        Err(SuggestError::Cancelled) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The file, theorem index and cursor line the suggestions are for.
fn input(args: &SuggestArgs) -> Result<(ProblemFile, usize, usize)> {
    if let Some(path) = &args.file {
        let mut files = args.lean.load(std::slice::from_ref(path))?;
        let file = files.remove(0);
        let name = args.theorem.as_deref().unwrap_or_default();
        let Some(index) = file
            .theorems
            .iter()
            .position(|t| t.name == name || t.full_name == name)
        else {
            let names: Vec<&str> = file.theorems.iter().map(|t| t.name.as_str()).collect();
            bail!(
                "no theorem named {name} in {}; it has: {}",
                path.display(),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            );
        };
        let t = &file.theorems[index];
        let line = match args.line {
            Some(l) if l < t.span.line || l > t.span.end_line => bail!(
                "line {l} is outside {name} (lines {}–{} of {})",
                t.span.line,
                t.span.end_line,
                path.display()
            ),
            Some(l) => l,
            // Before the first step: every step starts at or after the proof's first line.
            None => t.proof_span.map(|s| s.line).unwrap_or(t.span.line),
        };
        return Ok((file, index, line));
    }

    let text = match (&args.state, &args.state_file) {
        (Some(s), _) => s.clone(),
        (None, Some(p)) if p.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading the state from standard input")?;
            s
        }
        (None, Some(p)) => std::fs::read_to_string(p)
            .with_context(|| format!("reading the state from {}", p.display()))?,
        (None, None) => bail!("give --state, --state-file or --file"),
    };
    let file = state_problem(&text, &args.lean.load_header()?.unwrap_or_default())?;
    let line = file.theorems[0].span.line;
    Ok((file, 0, line))
}

/// A one-theorem file for a state as Lean prints it, under `header`'s imports and context
/// (theorem `state_from_input`, proof `sorry`: the state is its start).
pub fn state_problem(text: &str, header: &problems::Header) -> Result<ProblemFile> {
    let state = statement_from_state(text).context("reading the tactic state")?;
    if state.num_goals > 1 {
        eprintln!(
            "note: the state has {} goals; tactics are run on the first",
            state.num_goals
        );
    }
    let mut source = String::new();
    for i in &header.imports {
        source.push_str(&format!("import {i}\n"));
    }
    for c in &header.context {
        source.push_str(c);
        source.push('\n');
    }
    if !state.universes.is_empty() {
        source.push_str(&format!("universes {}\n", state.universes.join(" ")));
    }
    source.push_str(&format!(
        "theorem state_from_input {} :=\nbegin\n  sorry\nend\n",
        state.statement
    ));
    let file = problems::parse_str(&source, None)
        .map_err(|e| anyhow::anyhow!("the state does not read as a statement: {e}"))?;
    if file.theorems.len() != 1 {
        bail!("the state does not read as one statement");
    }
    Ok(file)
}

fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("template"));
    bar.enable_steady_tick(std::time::Duration::from_millis(150));
    bar
}

/// The text report: the state, then the ranked suggestions, then what the model wrote that
/// never reached Lean.
pub fn render(s: &Suggestions, dropped: &[Dropped], kind: PolicyKind) -> String {
    let mut out = format!(
        "{} (line {}, after {} step{}): {} goal{}\n",
        s.theorem,
        s.line,
        s.steps_run,
        if s.steps_run == 1 { "" } else { "s" },
        s.num_goals,
        if s.num_goals == 1 { "" } else { "s" }
    );
    for l in s.goals.lines() {
        out.push_str(&format!("    {l}\n"));
    }
    out.push_str(&format!(
        "\n{} suggestion{} ({} policy), checked in Lean:\n",
        s.suggestions.len(),
        if s.suggestions.len() == 1 { "" } else { "s" },
        kind.name()
    ));
    let width = s
        .suggestions
        .iter()
        .map(|x| x.tactic.chars().count().min(48))
        .max()
        .unwrap_or(0);
    for (i, x) in s.suggestions.iter().enumerate() {
        let mark = match x.outcome {
            Outcome::Closes => "✓",
            Outcome::Leaves { .. } => "→",
            Outcome::NoProgress => "·",
            Outcome::Fails { .. } => "✗",
        };
        let tactic = one_line(&x.tactic, usize::MAX);
        let what = match &x.outcome {
            Outcome::Fails { message } => first_line(message).to_string(),
            other => other.label(s.num_goals),
        };
        out.push_str(&format!(
            "{:>3}. {mark} {tactic:<width$}  {what}  (score {:.3})\n",
            i + 1,
            x.score
        ));
        if let Outcome::Leaves { goals, .. } = &x.outcome {
            for l in goals.lines() {
                out.push_str(&format!("         {l}\n"));
            }
        }
    }
    if !dropped.is_empty() {
        out.push_str(&format!(
            "\n{} model output{} dropped before Lean:\n",
            dropped.len(),
            if dropped.len() == 1 { "" } else { "s" }
        ));
        for d in dropped {
            let shown = one_line(&format!("{:?}", d.text), 80);
            out.push_str(&format!(
                "     ✗ {shown}  {}  (score {:.3})\n",
                d.reason, d.logprob_norm
            ));
        }
    }
    out
}

/// One JSON object per suggestion, then one per dropped model output (`outcome`: `dropped`).
pub fn jsonl(s: &Suggestions, dropped: &[Dropped]) -> String {
    let mut out = String::new();
    for (i, x) in s.suggestions.iter().enumerate() {
        let (outcome, num_goals, goals, message) = match &x.outcome {
            Outcome::Closes => ("closes", Some(0), None, None),
            Outcome::Leaves { num_goals, goals } => {
                ("leaves", Some(*num_goals), Some(goals.as_str()), None)
            }
            Outcome::NoProgress => ("no_progress", Some(s.num_goals), None, None),
            Outcome::Fails { message } => ("fails", None, None, Some(message.as_str())),
        };
        let v = json!({
            "theorem": s.theorem,
            "line": s.line,
            "state": s.goals,
            "rank": i + 1,
            "tactic": x.tactic,
            "score": x.score,
            "logprob": x.logprob,
            "outcome": outcome,
            "num_goals": num_goals,
            "goals": goals,
            "message": message,
        });
        out.push_str(&v.to_string());
        out.push('\n');
    }
    for d in dropped {
        let v = json!({
            "theorem": s.theorem,
            "line": s.line,
            "state": s.goals,
            "tactic": d.text,
            "score": d.logprob_norm,
            "outcome": "dropped",
            "message": d.reason,
        });
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}
