//! `prover lsp`: a language server for Lean 3 files that offers tactic suggestions checked in
//! Lean, and "Prove with search". It runs beside Lean's own server (which keeps doing
//! everything else) and speaks LSP over stdio.
//!
//! - [`server`]: the state and the message loop; the loop only dispatches, Lean work runs on
//!   tokio tasks and is cancelled by `$/cancelRequest` or `window/workDoneProgress/cancel`.
//! - [`handlers`]: code actions (one per checked suggestion, "Prove with search" resolved
//!   lazily or run as a command), completions at the start of a tactic line.
//! - [`backend`]: Lean pools and policies per (project, imports), started on first need.
//! - [`cursor`]: where a cursor is in a theorem and the edits that insert a tactic there.
//! - [`shared_runs`]: one suggestion run per proof state, shared by the requests that want it.
//! - [`client`]: messages, requests and progress towards the client.
//! - [`text`]: open documents and LSP (UTF-16) positions.
//!
//! The checked suggestions themselves come from [`crate::suggest`].

pub mod backend;
pub mod client;
pub mod cursor;
pub mod handlers;
pub mod server;
pub mod shared_runs;
pub mod text;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use lsp_server::{Connection, ErrorCode, Message, Response};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, CompletionOptions,
    ExecuteCommandOptions, InitializeParams, InitializeResult, MessageType, ServerCapabilities,
    ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    WorkDoneProgressOptions,
};
use search::{CancellationToken, SearchConfig};
use tokio::sync::mpsc;

use crate::lean_opts::LeanOpts;
use crate::model_policy::ModelOpts;
use crate::policy::PolicyChoice;
use crate::policy::PolicyKind;
use crate::suggest::SuggestConfig;
use backend::Backends;
use client::{Client, ClientFlags};
use server::{LoopEnd, Server, Settings};

/// Run a language server (LSP over stdio) for Lean 3 files: code actions and completions with
/// tactic suggestions checked in Lean, and "Prove with search". Register it in the editor next
/// to Lean's own server (see README). Lean starts on first need, per project and imports, with
/// 2 worker processes unless -j says otherwise. Exit status 0 after a clean shutdown.
#[derive(Args, Debug)]
pub struct LspArgs {
    /// Where tactics come from.
    #[arg(long, value_enum, default_value_t = PolicyKind::Heuristic)]
    pub policy: PolicyKind,

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

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                ..TextDocumentSyncOptions::default()
            },
        )),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![
                CodeActionKind::new(handlers::SUGGEST_KIND),
                CodeActionKind::new(handlers::PROVE_KIND),
            ]),
            work_done_progress_options: WorkDoneProgressOptions {
                work_done_progress: Some(true),
            },
            resolve_provider: Some(true),
        })),
        completion_provider: Some(CompletionOptions {
            resolve_provider: Some(false),
            work_done_progress_options: WorkDoneProgressOptions {
                work_done_progress: Some(true),
            },
            ..CompletionOptions::default()
        }),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: vec![handlers::PROVE_COMMAND.into()],
            work_done_progress_options: WorkDoneProgressOptions {
                work_done_progress: Some(true),
            },
        }),
        ..ServerCapabilities::default()
    }
}

/// Serves one client over stdio until it exits. Returns whether it ended with `shutdown` and
/// `exit` (LSP's exit status 0).
pub async fn run(args: LspArgs, interrupt: CancellationToken) -> Result<bool> {
    let mut lean = args.lean.clone();
    lean.jobs = lean.jobs.or(Some(DEFAULT_WORKERS));
    // A bad --header is shown to the user once the client is connected.
    let (header, header_error) = match lean.load_header() {
        Ok(h) => (h, None),
        Err(e) => (None, Some(format!("{e:#}"))),
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
            let r = initialize(&receiver, &outbox, &interrupt);
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
    let policy = PolicyChoice::new(args.policy, args.model.clone())?;
    let server = Arc::new(Server::new(
        client.clone(),
        Backends::new(lean.clone(), policy),
        settings,
        tokio::runtime::Handle::current(),
    ));
    if let Some(e) = header_error {
        server.show_once(MessageType::ERROR, format!("prover: {e}"));
    }
    // Say early when there is no Lean, rather than at the first suggestion.
    {
        let server = server.clone();
        let explicit = lean.lean.clone();
        tokio::spawn(async move {
            let found = tokio::task::spawn_blocking(move || {
                lean_bridge::LeanInstall::find(explicit.as_deref())
            })
            .await;
            if let Ok(Err(e)) = found {
                server.show_once(
                    MessageType::ERROR,
                    format!("prover: tactic suggestions need Lean 3: {e}"),
                );
            }
        });
    }

    let end = {
        let server = server.clone();
        let interrupt = interrupt.clone();
        tokio::task::spawn_blocking(move || server.main_loop(&receiver, &interrupt))
            .await
            .context("LSP message loop")?
    };
    // Idempotent after `shutdown`; needed when the client went away without it.
    server.stop().await;
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

/// Waits for `initialize` and answers it. `None` when the client exits or goes away first.
fn initialize(
    receiver: &crossbeam_channel::Receiver<Message>,
    outbox: &mpsc::UnboundedSender<Option<Message>>,
    interrupt: &CancellationToken,
) -> Result<Option<InitializeParams>> {
    use crossbeam_channel::RecvTimeoutError;
    loop {
        if interrupt.is_cancelled() {
            return Ok(None);
        }
        let message = match receiver.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(None),
        };
        match message {
            Message::Request(req) if req.method == "initialize" => {
                let params: InitializeParams =
                    serde_json::from_value(req.params).context("invalid initialize parameters")?;
                let result = InitializeResult {
                    capabilities: capabilities(),
                    server_info: Some(ServerInfo {
                        name: "prover".into(),
                        version: Some(env!("CARGO_PKG_VERSION").into()),
                    }),
                };
                let _ = outbox.send(Some(Message::Response(Response::new_ok(req.id, result))));
                return Ok(Some(params));
            }
            Message::Request(req) => {
                let _ = outbox.send(Some(Message::Response(Response::new_err(
                    req.id,
                    ErrorCode::ServerNotInitialized as i32,
                    "the server is not initialized yet".into(),
                ))));
            }
            Message::Notification(n) if n.method == "exit" => return Ok(None),
            _ => {}
        }
    }
}
