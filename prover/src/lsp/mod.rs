//! `prover lsp`: a language server for Lean 3 files that offers tactic suggestions checked in
//! Lean, and "Prove with search". It runs beside Lean's own server (which keeps doing
//! everything else) and speaks LSP over stdio.
//!
//! In layers, each using only the ones below it:
//! - [`main_loop`]: reads the client's messages and dispatches them (its tables say which
//!   handler takes which method); requests run on tokio tasks and are cancelled by
//!   `$/cancelRequest` or `window/workDoneProgress/cancel`; it alone answers requests.
//! - [`handlers`]: what each message does: code actions (one per checked suggestion, "Prove
//!   with search" resolved lazily or run as a command), completions at the start of a tactic
//!   line, open documents and their changes.
//! - [`global_state`]: the state the loop owns, and the snapshot of it a request works on.
//! - Below: [`backend`] (Lean pools and policies per (project, imports), started on first
//!   need), [`shared_runs`] (one suggestion run per proof state, shared by the requests that
//!   want it), [`cache`] (the latest checked suggestions), [`client`] (messages, requests and
//!   progress towards the client), [`error`] (the errors, typed), [`capabilities`] and [`ext`]
//!   (what the server offers, and its additions to LSP).
//! - At the bottom, text helpers: [`lean_text`] (parsing a document's Lean), [`cursor`] (where
//!   a cursor is in a theorem and the edits that insert a tactic there), [`text`] (open
//!   documents and LSP (UTF-16) positions), [`uri`] (URIs as paths), `lock`.
//!
//! The checked suggestions themselves come from [`crate::suggest`].

pub mod backend;
pub mod cache;
pub mod capabilities;
pub mod client;
pub mod cursor;
pub mod error;
pub mod ext;
pub mod global_state;
pub mod handlers;
pub mod lean_text;
mod lock;
pub mod main_loop;
pub mod shared_runs;
pub mod text;
pub mod uri;

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use lsp_server::Connection;
use lsp_types::MessageType;
use search::{CancellationToken, SearchConfig};
use tokio::sync::mpsc;

use crate::lean_opts::LeanOpts;
use crate::model_load::ModelOpts;
use crate::policy::PolicyChoice;
use crate::policy::PolicyKind;
use backend::Backends;
use client::{Client, ClientFlags};
use global_state::{GlobalState, Settings};
use lean_env::suggest::SuggestConfig;
use main_loop::LoopEnd;

/// Run a language server (LSP over stdio) for Lean 3 files: code actions and completions with
/// tactic suggestions checked in Lean, and "Prove with search". Register it in the editor next
/// to Lean's own server (see README). Lean starts on first need, per project and imports, with
/// 2 worker processes unless -j says otherwise. Exit status 0 after a clean shutdown.
#[derive(Args, Debug)]
pub struct LspArgs {
    /// Where tactics come from (default: the model when --model or --endpoint is given, else
    /// the heuristic).
    #[arg(long, value_enum)]
    pub policy: Option<PolicyKind>,

    #[command(flatten)]
    pub model: ModelOpts,

    /// Tactics asked of the policy per suggestion request (each is checked in Lean).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub suggestions: usize,

    /// "Prove with search": most proof states expanded.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub expansions: usize,

    /// "Prove with search": tactic candidates per expanded state.
    #[arg(long, short = 'k', value_name = "K", default_value_t = 8)]
    pub samples: usize,

    /// "Prove with search": wall-clock limit in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120.0)]
    pub timeout: f64,

    /// "Prove with search": most tactics in a proof.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub max_depth: usize,

    /// Accepted for editor clients that pass it; stdio is the only transport.
    #[arg(long, hide = true)]
    pub stdio: bool,

    #[command(flatten)]
    pub lean: LeanOpts,
}

/// Lean workers per pool when `-j` is not given: one for suggestions and one for a search
/// can run at once, without the memory of one worker per CPU.
const DEFAULT_WORKERS: usize = 2;

/// Requests after which an idle worker of the language server gets a fresh Lean process.
const LSP_RECYCLE_AFTER: u64 = 1500;

/// Serves one client over stdio until it exits. Returns whether it ended with `shutdown` and
/// `exit` (LSP's exit status 0).
pub async fn run(args: LspArgs, interrupt: CancellationToken) -> Result<bool> {
    let mut lean = args.lean.clone();
    lean.jobs = lean.jobs.or(Some(DEFAULT_WORKERS));
    // An editor session runs many short tactics for hours: without fresh processes its
    // suggestions slowed 3.4× over 1,000 requests (`prover bench soak`); recycled after 1,500
    // requests they stayed flat.
    lean.recycle_after = lean.recycle_after.or(Some(LSP_RECYCLE_AFTER));
    // A bad --header is shown to the user once the client is connected.
    let (header, header_error) = match lean.load_header() {
        Ok(h) => (h, None),
        Err(e) => (None, Some(crate::output::error_text(&e))),
    };

    let (connection, io_threads) = Connection::stdio();
    let Connection { sender, receiver } = connection;
    let (outbox, inbox) = mpsc::unbounded_channel();
    let forwarder = client::forwarder(inbox, move |m| sender.send(m).is_ok())
        .context("starting the LSP writer")?;

    let handshake = {
        let outbox = outbox.clone();
        let interrupt = interrupt.clone();
        tokio::task::spawn_blocking(move || {
            let r = main_loop::initialize(&receiver, &outbox, &interrupt);
            (r, receiver)
        })
    };
    let (init, receiver) = handshake.await.context("LSP handshake")?;
    let Some(init) = init? else {
        let _ = outbox.send(None);
        let _ = tokio::task::spawn_blocking(move || forwarder.join()).await;
        return Ok(false);
    };

    let client = Arc::new(Client::new(
        outbox,
        ClientFlags::from_capabilities(&init.capabilities),
    ));
    let settings = Settings {
        suggest: SuggestConfig {
            candidates: args.suggestions.max(1),
            ..SuggestConfig::default()
        },
        search: SearchConfig {
            max_expansions: args.expansions,
            time_limit_s: args.timeout,
            max_depth: args.max_depth,
            candidates_per_expansion: args.samples,
            ..SearchConfig::default()
        },
        header,
    };
    let kind = PolicyKind::or_default(args.policy, args.model.given());
    let policy = PolicyChoice::new(kind, args.model.clone())?;
    let mut state = GlobalState::new(
        client.clone(),
        Backends::new(lean.clone(), policy),
        settings,
        tokio::runtime::Handle::current(),
    );
    if let Some(e) = header_error {
        client.show_once(MessageType::ERROR, format!("prover: {e}"));
    }
    // Say early when there is no Lean, rather than at the first suggestion.
    {
        let client = client.clone();
        let explicit = lean.lean.clone();
        tokio::spawn(async move {
            let found = tokio::task::spawn_blocking(move || {
                lean_bridge::LeanInstall::find(explicit.as_deref())
            })
            .await;
            if let Ok(Err(e)) = found {
                client.show_once(
                    MessageType::ERROR,
                    format!("prover: tactic suggestions need Lean 3: {e}"),
                );
            }
        });
    }

    let (end, state) = {
        let interrupt = interrupt.clone();
        tokio::task::spawn_blocking(move || {
            let end = main_loop::main_loop(&mut state, &receiver, &interrupt);
            (end, state)
        })
        .await
        .context("LSP message loop")?
    };
    // Idempotent after `shutdown`; needed when the client went away without it.
    state.stop().await;
    client.close();
    let _ = tokio::task::spawn_blocking(move || forwarder.join()).await;
    if end != LoopEnd::Disconnected {
        // The reader stopped at `exit`; the writer has flushed everything.
        let joined = tokio::task::spawn_blocking(move || io_threads.join()).await;
        if let Ok(Err(e)) = joined {
            tracing::warn!("LSP transport: {e}");
        }
    }
    Ok(end == LoopEnd::Exit)
}
