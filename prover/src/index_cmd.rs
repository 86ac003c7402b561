//! `prover index` and the retrieval indexes every heuristic search opens: the glue between
//! `lean_trace::index` (made from Lean) and the heuristic's `Retrieval` (read as text).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use heuristic::Retrieval;
use lean_bridge::LeanPool;
use lean_trace::index::{
    build_declaration_index, build_tactic_index, environment_fingerprint, index_dir,
    read_traced_steps, traces_fingerprint,
};
use retrieval::{DeclIndex, TacticIndex};

use crate::lean_opts::LeanOpts;
use crate::output::Progress;

/// Build the retrieval indexes of a Lean project and header: every declaration its
/// environment holds (name, statement as Lean prints it, place), and, with `--traces`, every
/// step of `prover trace` records (state, tactic, premises). The heuristic policy of
/// `prove`, `suggest` and the language server reads them to propose lemmas and the tactics
/// that worked on similar states. They are stored under the prover's home
/// (`$PROVER_HOME/index`), one directory per project and imports, and rebuilt when the
/// project's .olean files change; `prove` builds the declaration index itself on first use.
#[derive(Args, Debug)]
pub struct IndexArgs {
    /// Traced steps to index (`prover trace` output, JSON lines). Trace the project's own
    /// files, never the problems you measure on: their theorems are left out anyway when they
    /// are the ones being proved.
    #[arg(long, value_name = "FILE")]
    pub traces: Vec<PathBuf>,

    /// Rebuild even when the indexes are current.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub lean: LeanOpts,
}

/// Whether searches with the heuristic retrieve lemmas and tactics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum RetrievalMode {
    /// Use the indexes of the project and header; build the declaration index on first use.
    #[default]
    Auto,
    /// Use them only when they are built (`prover index`); never build.
    Built,
    /// The rules alone.
    Off,
}

/// What opening the indexes for a pool needs: the mode and the theorems to leave out.
#[derive(Clone, Debug, Default)]
pub struct RetrievalChoice {
    pub mode: RetrievalMode,
    /// The theorems being proved: never retrieved.
    pub exclude: Vec<String>,
    /// Indexes already opened, by directory.
    opened: Arc<Mutex<HashMap<PathBuf, Arc<Retrieval>>>>,
}

impl RetrievalChoice {
    pub fn new(mode: RetrievalMode, exclude: Vec<String>) -> Self {
        RetrievalChoice {
            mode,
            exclude,
            opened: Arc::default(),
        }
    }

    /// The indexes of `pool`'s environment (built first when missing and the mode allows),
    /// or `None` when there are none to use.
    pub async fn open(&self, pool: &LeanPool) -> Result<Option<Arc<Retrieval>>> {
        if self.mode == RetrievalMode::Off {
            return Ok(None);
        }
        let dir = index_dir(
            &lean_bridge::locate::prover_home(),
            pool.project(),
            &pool.config().imports,
        );
        if let Some(r) = self.opened.lock().unwrap().get(&dir) {
            return Ok(Some(r.clone()));
        }
        let started = Instant::now();
        let fingerprint = decl_fingerprint(pool);
        let decls = match current_decls(&dir, &fingerprint) {
            Some(d) => Some(d),
            None if self.mode == RetrievalMode::Auto => {
                Some(build_decls(pool, &dir, &fingerprint).await?)
            }
            None => None,
        };
        let tactics = TacticIndex::open(&dir.join("tactics")).ok();
        if decls.is_none() && tactics.is_none() {
            return Ok(None);
        }
        let mut r = Retrieval::new(decls, tactics);
        r.exclude(self.exclude.iter().cloned());
        tracing::info!(
            "retrieval indexes opened in {:.3}s ({} declarations, {} traced steps)",
            started.elapsed().as_secs_f64(),
            r.decls.as_ref().map_or(0, DeclIndex::len),
            r.tactics.as_ref().map_or(0, TacticIndex::len)
        );
        let r = Arc::new(r);
        self.opened.lock().unwrap().insert(dir, r.clone());
        Ok(Some(r))
    }
}

fn search_path_of(pool: &LeanPool) -> Vec<PathBuf> {
    match pool.project() {
        Some(p) => p.search_path.clone(),
        None => lean_bridge::locate::core_search_path(pool.install()).unwrap_or_default(),
    }
}

fn decl_fingerprint(pool: &LeanPool) -> String {
    let mut imports = pool.config().imports.clone();
    // Every environment holds the core library's `init`.
    imports.push("init".into());
    environment_fingerprint(pool.install(), &search_path_of(pool), &imports)
}

/// The declaration index at `dir` when it was built with `fingerprint`.
fn current_decls(dir: &Path, fingerprint: &str) -> Option<DeclIndex> {
    DeclIndex::open_if_current(&dir.join("decls"), fingerprint)
        .ok()
        .flatten()
}

/// Builds the declaration index of `pool`'s environment at `dir/decls`, with a progress bar.
async fn build_decls(pool: &LeanPool, dir: &Path, fingerprint: &str) -> Result<DeclIndex> {
    let started = Instant::now();
    let progress = Progress::new(0, "indexing declarations");
    let index = build_declaration_index(
        pool,
        &dir.join("decls"),
        fingerprint,
        &search_path_of(pool),
        |done, total| {
            progress.bar().set_length(total);
            progress.bar().set_position(done);
        },
    )
    .await
    .context("building the declaration index")?;
    progress.finish();
    eprintln!(
        "indexed {} declarations in {:.1}s ({}, {})",
        index.len(),
        started.elapsed().as_secs_f64(),
        dir.join("decls").display(),
        human_size(dir_size(&dir.join("decls")))
    );
    Ok(index)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn human_size(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

pub async fn run(args: IndexArgs) -> Result<()> {
    let imports = match args.lean.load_header()? {
        Some(h) => h.imports,
        None => Vec::new(),
    };
    let pool = args.lean.pool(&imports, None).await?;
    let dir = index_dir(
        &lean_bridge::locate::prover_home(),
        pool.project(),
        &imports,
    );
    let result = async {
        let fingerprint = decl_fingerprint(&pool);
        let opened = Instant::now();
        let current = if args.force {
            None
        } else {
            current_decls(&dir, &fingerprint)
        };
        match current {
            Some(d) => eprintln!(
                "declaration index is current: {} declarations in {}, opened in {:.1} ms",
                d.len(),
                dir.join("decls").display(),
                opened.elapsed().as_secs_f64() * 1e3
            ),
            None => {
                build_decls(&pool, &dir, &fingerprint).await?;
                let opened = Instant::now();
                let again = DeclIndex::open(&dir.join("decls"))?;
                eprintln!(
                    "opening it takes {:.1} ms ({} declarations)",
                    opened.elapsed().as_secs_f64() * 1e3,
                    again.len()
                );
            }
        }
        if !args.traces.is_empty() {
            let started = Instant::now();
            let steps = read_traced_steps(&args.traces)?;
            let n = steps.len();
            build_tactic_index(
                &dir.join("tactics"),
                steps,
                &traces_fingerprint(&args.traces),
            )?;
            eprintln!(
                "indexed {n} traced steps in {:.1}s ({}, {})",
                started.elapsed().as_secs_f64(),
                dir.join("tactics").display(),
                human_size(dir_size(&dir.join("tactics")))
            );
        }
        anyhow::Ok(())
    }
    .await;
    pool.shutdown().await;
    result
}
