//! The server's state: settings, open documents, Lean backends, suggestion runs and their
//! cache, and the requests in progress. The main loop owns the [`GlobalState`]; a request
//! handler gets a [`GlobalStateSnapshot`], the part a handler may use (not the requests in
//! progress nor the shutdown), cheap to clone, and reads a document as a [`DocumentSnapshot`]:
//! its text at one version, which does not change under the handler.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lsp_server::RequestId;
use lsp_types::{
    Diagnostic, DiagnosticSeverity, MessageType, Position, PublishDiagnosticsParams, Range,
    TextDocumentContentChangeEvent, Uri,
};
use problems::{Header, ParseError, ProblemFile};
use search::{CancellationToken, SearchConfig};

use super::backend::{Backend, Backends};
use super::cache::{CacheKey, SuggestionCache};
use super::client::Client;
use super::error::{BackendError, RequestError};
use super::lean_text;
use super::lock::lock;
use super::shared_runs::SharedRuns;
use super::text::Document;
use super::uri::uri_to_path;
use lean_env::suggest::{SuggestConfig, Suggestions};

/// Settings the handlers read.
pub struct Settings {
    pub suggest: SuggestConfig,
    pub search: SearchConfig,
    /// `--header`: imports and `open` lines used instead of each document's own.
    pub header: Option<Header>,
}

/// How long a suggestion run goes on after its last request was cancelled: an editor cancels
/// a completion request on the next keystroke and asks again at once.
const RUN_GRACE: Duration = Duration::from_secs(5);

/// Suggestion runs in progress, shared by the requests for the same proof state.
pub type SuggestionRuns = SharedRuns<CacheKey, Arc<Suggestions>, RequestError>;

/// A document's text at one version, with where it lives.
#[derive(Clone)]
pub struct DocumentSnapshot {
    pub uri: Uri,
    pub text: Arc<str>,
    pub version: i32,
    pub path: Option<PathBuf>,
}

struct OpenDocument {
    uri: Uri,
    doc: Document,
    /// The file does not parse (our parser; Lean's server reports Lean's own errors).
    parse_problem: Option<Diagnostic>,
    /// Lean (or the policy) could not start for this document.
    lean_problem: Option<Diagnostic>,
}

/// The open Lean documents, with what the server publishes about each. Notifications change
/// them in order; checks and handlers on tasks record their findings.
#[derive(Default)]
pub struct Documents {
    by_uri: Mutex<HashMap<String, OpenDocument>>,
}

impl Documents {
    pub fn open(&self, uri: Uri, text: String, version: i32) {
        lock(&self.by_uri).insert(
            uri.as_str().to_string(),
            OpenDocument {
                uri,
                doc: Document::new(text, version),
                parse_problem: None,
                lean_problem: None,
            },
        );
    }

    /// Applies a change; false when the document is not open here (not a Lean file).
    pub fn change(
        &self,
        uri: &Uri,
        changes: Vec<TextDocumentContentChangeEvent>,
        version: i32,
    ) -> bool {
        match lock(&self.by_uri).get_mut(uri.as_str()) {
            Some(open) => {
                open.doc.apply(changes, version);
                true
            }
            None => false,
        }
    }

    pub fn close(&self, uri: &Uri) {
        lock(&self.by_uri).remove(uri.as_str());
    }

    pub fn snapshot(&self, uri: &Uri) -> Option<DocumentSnapshot> {
        let docs = lock(&self.by_uri);
        let open = docs.get(uri.as_str())?;
        Some(DocumentSnapshot {
            uri: open.uri.clone(),
            text: Arc::from(open.doc.text.as_str()),
            version: open.doc.version,
            path: uri_to_path(uri),
        })
    }

    /// Records whether `version` parses; whether that changed what is published (not when a
    /// newer version is open: a newer check is on its way).
    fn set_parse_problem(&self, uri: &Uri, version: i32, problem: Option<Diagnostic>) -> bool {
        match lock(&self.by_uri).get_mut(uri.as_str()) {
            Some(open) if open.doc.version == version => {
                let changed = open.parse_problem != problem;
                open.parse_problem = problem;
                changed
            }
            _ => false,
        }
    }

    /// Records why Lean cannot serve the document (`None`: it can); whether that changed.
    fn set_lean_problem(&self, uri: &Uri, problem: Option<Diagnostic>) -> bool {
        match lock(&self.by_uri).get_mut(uri.as_str()) {
            Some(open) if open.lean_problem != problem => {
                open.lean_problem = problem;
                true
            }
            _ => false,
        }
    }

    /// What to publish for a document, and its version.
    fn diagnostics(&self, uri: &Uri) -> Option<(Vec<Diagnostic>, i32)> {
        let docs = lock(&self.by_uri);
        let open = docs.get(uri.as_str())?;
        let diagnostics = open
            .parse_problem
            .iter()
            .chain(open.lean_problem.iter())
            .cloned()
            .collect();
        Some((diagnostics, open.doc.version))
    }
}

/// Requests in progress, each with the token that cancels its work.
#[derive(Default)]
pub struct PendingRequests {
    tokens: Mutex<HashMap<RequestId, CancellationToken>>,
}

impl PendingRequests {
    pub fn insert(&self, id: RequestId, token: CancellationToken) {
        lock(&self.tokens).insert(id, token);
    }

    /// `$/cancelRequest`: cancels the request's work (it stays pending until answered).
    pub fn cancel(&self, id: &RequestId) {
        if let Some(token) = lock(&self.tokens).get(id) {
            token.cancel();
        }
    }

    /// Forgets a request as it is answered; false when it was answered already.
    pub fn remove(&self, id: &RequestId) -> bool {
        lock(&self.tokens).remove(id).is_some()
    }
}

/// Everything the server keeps, owned by the main loop.
pub struct GlobalState {
    pub client: Arc<Client>,
    pub settings: Arc<Settings>,
    pub backends: Arc<Backends>,
    pub documents: Arc<Documents>,
    cache: Arc<SuggestionCache>,
    runs: Arc<SuggestionRuns>,
    pub pending: Arc<PendingRequests>,
    /// Cancelled at shutdown: every request's token and every run's is a child of it.
    pub shutdown: CancellationToken,
    /// Where requests and document checks run (the loop itself runs on a blocking thread).
    pub runtime: tokio::runtime::Handle,
}

impl GlobalState {
    pub fn new(
        client: Arc<Client>,
        backends: Backends,
        settings: Settings,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        let shutdown = CancellationToken::new();
        GlobalState {
            client,
            settings: Arc::new(settings),
            backends: Arc::new(backends),
            documents: Arc::new(Documents::default()),
            cache: Arc::new(SuggestionCache::default()),
            runs: Arc::new(SharedRuns::new(RUN_GRACE, shutdown.clone())),
            pending: Arc::new(PendingRequests::default()),
            shutdown,
            runtime,
        }
    }

    pub fn snapshot(&self) -> GlobalStateSnapshot {
        GlobalStateSnapshot {
            client: self.client.clone(),
            settings: self.settings.clone(),
            backends: self.backends.clone(),
            runs: self.runs.clone(),
            documents: self.documents.clone(),
            cache: self.cache.clone(),
        }
    }

    /// Stops everything (used when the loop ends without `shutdown`, too).
    pub async fn stop(&self) {
        self.shutdown.cancel();
        self.backends.shutdown().await;
    }
}

/// What a handler works with: the client, the settings, the backends, the suggestion runs and
/// cache, and the documents as snapshots.
#[derive(Clone)]
pub struct GlobalStateSnapshot {
    pub client: Arc<Client>,
    pub settings: Arc<Settings>,
    pub backends: Arc<Backends>,
    pub runs: Arc<SuggestionRuns>,
    documents: Arc<Documents>,
    cache: Arc<SuggestionCache>,
}

impl GlobalStateSnapshot {
    /// The document's current text, if it is open.
    pub fn document(&self, uri: &Uri) -> Option<DocumentSnapshot> {
        self.documents.snapshot(uri)
    }

    /// Parses a document's text, with `--header` applied.
    pub fn parse(&self, text: &str, path: Option<&Path>) -> Result<ProblemFile, ParseError> {
        lean_text::parse(text, path, self.settings.header.as_ref())
    }

    /// Parses a document for work at line `line0` (0-based); see [`lean_text::parse_around`].
    pub fn parse_around(
        &self,
        text: &str,
        path: Option<&Path>,
        line0: u32,
    ) -> Result<ProblemFile, ParseError> {
        lean_text::parse_around(text, path, self.settings.header.as_ref(), line0)
    }

    /// The backend for a parsed document, starting it if needed; failures are reported on the
    /// document (and returned).
    pub async fn backend_for(
        &self,
        doc: &DocumentSnapshot,
        file: &ProblemFile,
        cancel: &CancellationToken,
    ) -> Result<Arc<Backend>, RequestError> {
        let key = self.backends.key(&file.header.imports, doc.path.as_deref());
        let got = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(RequestError::Cancelled),
            b = self.backends.get(&key, doc.path.as_deref()) => b,
        };
        match got {
            Ok(b) => {
                self.set_lean_problem(&doc.uri, None);
                Ok(b)
            }
            Err(e) => {
                self.set_lean_problem(&doc.uri, Some(&e));
                Err(e.into())
            }
        }
    }

    pub fn cached(&self, key: &CacheKey) -> Option<Arc<Suggestions>> {
        self.cache.get(key)
    }

    pub fn remember(&self, key: CacheKey, value: Arc<Suggestions>) {
        self.cache.remember(key, value);
    }

    /// Records whether `version` of a document parses (`problem`), and publishes the change.
    pub fn set_parse_problem(&self, uri: &Uri, version: i32, problem: Option<Diagnostic>) {
        if self.documents.set_parse_problem(uri, version, problem) {
            self.publish(uri);
        }
    }

    /// Records (or clears, with `None`) why Lean cannot serve this document, as a diagnostic
    /// on its first line, and shows a new message once.
    fn set_lean_problem(&self, uri: &Uri, error: Option<&BackendError>) {
        let diagnostic = error.map(|e| Diagnostic {
            range: Range::new(Position::new(0, 0), Position::new(0, 0)),
            severity: Some(DiagnosticSeverity::WARNING),
            source: Some("prover".into()),
            message: format!("prover: no tactic suggestions: {e}"),
            ..Diagnostic::default()
        });
        if self.documents.set_lean_problem(uri, diagnostic) {
            self.publish(uri);
        }
        if let Some(e) = error {
            self.client
                .show_once(MessageType::ERROR, format!("prover: {e}"));
        }
    }

    fn publish(&self, uri: &Uri) {
        let Some((diagnostics, version)) = self.documents.diagnostics(uri) else {
            return;
        };
        self.client
            .notify::<lsp_types::notification::PublishDiagnostics>(PublishDiagnosticsParams {
                uri: uri.clone(),
                diagnostics,
                version: Some(version),
            });
    }
}
