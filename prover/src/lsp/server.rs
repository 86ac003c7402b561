//! The server's state and its message loop. The loop only dispatches: requests run on tokio
//! tasks (cancellable through `$/cancelRequest`), document changes are applied in order and
//! their diagnostics computed on a task.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response, ResponseError};
use lsp_types::notification::Notification as _;
use lsp_types::{
    CancelParams, Diagnostic, DiagnosticSeverity, DidChangeTextDocumentParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, MessageType, NumberOrString, Position,
    PublishDiagnosticsParams, Range, Uri, WorkDoneProgressCancelParams,
};
use problems::{Header, ProblemFile};
use search::{CancellationToken, SearchConfig};
use serde::de::DeserializeOwned;

use super::backend::{Backend, Backends, PoolKey};
use super::client::Client;
use super::handlers;
use super::lock;
use super::shared_runs::SharedRuns;
use super::text::Document;
use crate::suggest::{SuggestConfig, Suggestions};

/// Settings the handlers read.
pub struct Settings {
    pub suggest: SuggestConfig,
    pub search: SearchConfig,
    /// `--header`: imports and `open` lines used instead of each document's own.
    pub header: Option<Header>,
}

/// A document's text at one version, with where it lives.
#[derive(Clone)]
pub struct Snapshot {
    pub uri: Uri,
    pub text: String,
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

/// Checked suggestions by proof state (pool, context, statement, steps above the cursor).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub pool: PoolKey,
    pub context: Vec<String>,
    /// Hash of the document's text above the theorem.
    pub above: u64,
    pub statement: String,
    pub steps: Vec<String>,
    pub candidates: usize,
}

const CACHE_SIZE: usize = 64;

/// How long a suggestion run goes on after its last request was cancelled: an editor cancels
/// a completion request on the next keystroke and asks again at once.
const RUN_GRACE: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Cache {
    map: HashMap<CacheKey, Arc<Suggestions>>,
    order: VecDeque<CacheKey>,
}

pub struct Server {
    pub client: Arc<Client>,
    pub backends: Backends,
    pub settings: Settings,
    runtime: tokio::runtime::Handle,
    docs: Mutex<HashMap<String, OpenDocument>>,
    pending: Mutex<HashMap<RequestId, CancellationToken>>,
    cache: Mutex<Cache>,
    /// Suggestion runs in progress, shared by the requests for the same state.
    pub runs: SharedRuns<CacheKey, Arc<Suggestions>>,
    /// Messages already shown with `window/showMessage`, so a repeated failure is not repeated.
    shown: Mutex<HashSet<String>>,
    /// Cancelled at shutdown: every request's token is a child of it.
    shutdown: CancellationToken,
}

/// Why the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum LoopEnd {
    /// `exit` after `shutdown`.
    Exit,
    /// `exit` without `shutdown` (LSP asks for exit status 1).
    ExitWithoutShutdown,
    /// The client closed the connection, or we were interrupted.
    Disconnected,
}

impl Server {
    pub fn new(
        client: Arc<Client>,
        backends: Backends,
        settings: Settings,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        let shutdown = CancellationToken::new();
        Server {
            client,
            backends,
            settings,
            runtime,
            docs: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            cache: Mutex::new(Cache::default()),
            runs: SharedRuns::new(RUN_GRACE, shutdown.clone()),
            shown: Mutex::new(HashSet::new()),
            shutdown,
        }
    }

    /// Reads and dispatches messages until `exit`, a closed connection, or `interrupt`.
    pub fn main_loop(
        self: &Arc<Self>,
        receiver: &crossbeam_channel::Receiver<Message>,
        interrupt: &CancellationToken,
    ) -> LoopEnd {
        let mut shutting_down = false;
        loop {
            if interrupt.is_cancelled() {
                return LoopEnd::Disconnected;
            }
            let message = match receiver.recv_timeout(Duration::from_millis(200)) {
                Ok(m) => m,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    return LoopEnd::Disconnected;
                }
            };
            match message {
                Message::Request(req) if shutting_down => {
                    self.client.respond(error_response(
                        req.id,
                        ErrorCode::InvalidRequest,
                        "the server is shutting down",
                    ));
                }
                Message::Request(req) => {
                    if req.method == "shutdown" {
                        shutting_down = true;
                        self.begin_shutdown(req.id);
                    } else {
                        self.dispatch(req);
                    }
                }
                Message::Notification(n) => {
                    if n.method == lsp_types::notification::Exit::METHOD {
                        return if shutting_down {
                            LoopEnd::Exit
                        } else {
                            LoopEnd::ExitWithoutShutdown
                        };
                    }
                    self.on_notification(n);
                }
                Message::Response(r) => self.client.on_response(r),
            }
        }
    }

    fn dispatch(self: &Arc<Self>, req: Request) {
        use lsp_types::request::{
            CodeActionRequest, CodeActionResolveRequest, Completion, ExecuteCommand, Request as _,
        };
        match req.method.as_str() {
            CodeActionRequest::METHOD => self.spawn_request(req, handlers::code_action),
            CodeActionResolveRequest::METHOD => {
                self.spawn_request(req, handlers::resolve_code_action)
            }
            Completion::METHOD => self.spawn_request(req, handlers::completion),
            ExecuteCommand::METHOD => self.spawn_request(req, handlers::execute_command),
            _ => self.client.respond(error_response(
                req.id,
                ErrorCode::MethodNotFound,
                &format!("unknown method {}", req.method),
            )),
        }
    }

    /// Runs a request on a task. Its response is sent when it finishes, or at once (an
    /// `RequestCanceled` error) when it is cancelled; the work then stops on its own token and
    /// cleans up in the background.
    fn spawn_request<P, F, Fut>(self: &Arc<Self>, req: Request, handler: F)
    where
        P: DeserializeOwned,
        F: FnOnce(Arc<Server>, P, CancellationToken) -> Fut,
        Fut: Future<Output = Result<serde_json::Value, ResponseError>> + Send + 'static,
    {
        let params: P = match serde_json::from_value(req.params) {
            Ok(p) => p,
            Err(e) => {
                self.client.respond(error_response(
                    req.id,
                    ErrorCode::InvalidParams,
                    &format!("invalid parameters for {}: {e}", req.method),
                ));
                return;
            }
        };
        let token = self.shutdown.child_token();
        lock(&self.pending).insert(req.id.clone(), token.clone());
        let work = self
            .runtime
            .spawn(handler(self.clone(), params, token.clone()));
        let server = self.clone();
        let id = req.id;
        self.runtime.spawn(async move {
            let result = tokio::select! {
                r = work => r.unwrap_or_else(|e| Err(response_error(
                    ErrorCode::InternalError,
                    &format!("the request failed: {e}"),
                ))),
                _ = token.cancelled() => Err(cancelled()),
            };
            if lock(&server.pending).remove(&id).is_some() {
                server.client.respond(Response {
                    id,
                    response_result: result,
                });
            }
        });
    }

    fn on_notification(self: &Arc<Self>, n: Notification) {
        use lsp_types::notification::{
            Cancel, DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument,
            WorkDoneProgressCancel,
        };
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Some(p) = params::<DidOpenTextDocumentParams>(n) {
                    let d = p.text_document;
                    let lean = matches!(d.language_id.as_str(), "lean" | "lean3")
                        || d.uri.as_str().ends_with(".lean");
                    if !lean {
                        return;
                    }
                    let key = d.uri.as_str().to_string();
                    lock(&self.docs).insert(
                        key,
                        OpenDocument {
                            uri: d.uri.clone(),
                            doc: Document::new(d.text, d.version),
                            parse_problem: None,
                            lean_problem: None,
                        },
                    );
                    self.check_document(d.uri);
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Some(p) = params::<DidChangeTextDocumentParams>(n) {
                    let key = p.text_document.uri.as_str().to_string();
                    let known = match lock(&self.docs).get_mut(&key) {
                        Some(open) => {
                            open.doc.apply(p.content_changes, p.text_document.version);
                            true
                        }
                        None => false,
                    };
                    if known {
                        self.check_document(p.text_document.uri);
                    }
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Some(p) = params::<DidCloseTextDocumentParams>(n) {
                    lock(&self.docs).remove(p.text_document.uri.as_str());
                    // Clear what we published for it.
                    self.client
                        .notify::<lsp_types::notification::PublishDiagnostics>(
                            PublishDiagnosticsParams {
                                uri: p.text_document.uri,
                                diagnostics: Vec::new(),
                                version: None,
                            },
                        );
                }
            }
            Cancel::METHOD => {
                if let Some(p) = params::<CancelParams>(n) {
                    let id = match p.id {
                        NumberOrString::Number(n) => RequestId::from(n),
                        NumberOrString::String(s) => RequestId::from(s),
                    };
                    if let Some(token) = lock(&self.pending).get(&id) {
                        token.cancel();
                    }
                }
            }
            WorkDoneProgressCancel::METHOD => {
                if let Some(p) = params::<WorkDoneProgressCancelParams>(n) {
                    self.client.cancel_progress(&p.token);
                }
            }
            // didSave, didChangeConfiguration, …: nothing to do.
            _ => {}
        }
    }

    /// Cancels all work, stops every Lean process, then answers `shutdown`.
    fn begin_shutdown(self: &Arc<Self>, id: RequestId) {
        self.shutdown.cancel();
        let server = self.clone();
        self.runtime.spawn(async move {
            server.backends.shutdown().await;
            server.client.respond(Response::new_ok(id, ()));
        });
    }

    /// Stops everything (used when the loop ends without `shutdown`, too).
    pub async fn stop(&self) {
        self.shutdown.cancel();
        self.backends.shutdown().await;
    }

    /// Parses the document on a task and publishes whether it parses.
    fn check_document(self: &Arc<Self>, uri: Uri) {
        let server = self.clone();
        self.runtime.spawn(async move {
            let Some(snap) = server.snapshot(&uri) else {
                return;
            };
            let problem = match server.parse(&snap.text, snap.path.as_deref()) {
                Ok(_) => None,
                Err(e) => Some(parse_diagnostic(&snap.text, &e)),
            };
            let changed = {
                let mut docs = lock(&server.docs);
                match docs.get_mut(uri.as_str()) {
                    // A newer version is being checked by a newer task.
                    Some(open) if open.doc.version == snap.version => {
                        let changed = open.parse_problem != problem;
                        open.parse_problem = problem;
                        changed
                    }
                    _ => false,
                }
            };
            if changed {
                server.publish(&uri);
            }
        });
    }

    fn publish(&self, uri: &Uri) {
        let (diagnostics, version) = {
            let docs = lock(&self.docs);
            let Some(open) = docs.get(uri.as_str()) else {
                return;
            };
            let diagnostics: Vec<Diagnostic> = open
                .parse_problem
                .iter()
                .chain(open.lean_problem.iter())
                .cloned()
                .collect();
            (diagnostics, open.doc.version)
        };
        self.client
            .notify::<lsp_types::notification::PublishDiagnostics>(PublishDiagnosticsParams {
                uri: uri.clone(),
                diagnostics,
                version: Some(version),
            });
    }

    /// Records (or clears, with `None`) why Lean cannot serve this document, as a diagnostic
    /// on its first line, and shows a new message once.
    pub fn set_lean_problem(&self, uri: &Uri, message: Option<String>) {
        let diagnostic = message.as_ref().map(|m| Diagnostic {
            range: Range::new(Position::new(0, 0), Position::new(0, 0)),
            severity: Some(DiagnosticSeverity::WARNING),
            source: Some("prover".into()),
            message: format!("prover: no tactic suggestions: {m}"),
            ..Diagnostic::default()
        });
        let changed = {
            let mut docs = lock(&self.docs);
            match docs.get_mut(uri.as_str()) {
                Some(open) if open.lean_problem != diagnostic => {
                    open.lean_problem = diagnostic;
                    true
                }
                _ => false,
            }
        };
        if changed {
            self.publish(uri);
        }
        if let Some(m) = message {
            self.show_once(MessageType::ERROR, format!("prover: {m}"));
        }
    }

    /// `window/showMessage`, unless this very message was shown before.
    pub fn show_once(&self, typ: MessageType, message: String) {
        if lock(&self.shown).insert(message.clone()) {
            self.client.show_message(typ, message);
        }
    }

    pub fn snapshot(&self, uri: &Uri) -> Option<Snapshot> {
        let docs = lock(&self.docs);
        let open = docs.get(uri.as_str())?;
        Some(Snapshot {
            uri: open.uri.clone(),
            text: open.doc.text.clone(),
            version: open.doc.version,
            path: uri_to_path(uri),
        })
    }

    /// Parses a document's text, with `--header` applied.
    pub fn parse(
        &self,
        text: &str,
        path: Option<&std::path::Path>,
    ) -> Result<ProblemFile, problems::ParseError> {
        // The editor shows why a command cannot be read (a theorem being written).
        let mut file = problems::parse_str(text, path)?.strict()?;
        if let Some(h) = &self.settings.header {
            crate::lean_opts::apply_header(h, &mut file);
        }
        Ok(file)
    }

    /// Parses a document for work at line `line0` (0-based). When the file does not parse
    /// because of something below that line (a theorem being written further down), the text
    /// is cut before the first declaration after the line and parsed again, so that the
    /// theorems above still get suggestions.
    pub fn parse_around(
        &self,
        text: &str,
        path: Option<&std::path::Path>,
        line0: u32,
    ) -> Result<ProblemFile, problems::ParseError> {
        let err = match self.parse(text, path) {
            Ok(file) => return Ok(file),
            Err(e) => e,
        };
        if err.line <= line0 as usize + 1 {
            return Err(err);
        }
        let Some(cut) = next_declaration(text, line0) else {
            return Err(err);
        };
        self.parse(&text[..cut], path).map_err(|_| err)
    }

    /// The backend for a parsed document, starting it if needed; failures are reported on the
    /// document (and returned).
    pub async fn backend_for(
        &self,
        snap: &Snapshot,
        file: &ProblemFile,
        cancel: &CancellationToken,
    ) -> Result<Arc<Backend>, Failure> {
        let key = self
            .backends
            .key(&file.header.imports, snap.path.as_deref());
        let got = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(Failure::Cancelled),
            b = self.backends.get(&key, snap.path.as_deref()) => b,
        };
        match got {
            Ok(b) => {
                self.set_lean_problem(&snap.uri, None);
                Ok(b)
            }
            Err(e) => {
                self.set_lean_problem(&snap.uri, Some(e.clone()));
                Err(Failure::Message(e))
            }
        }
    }

    pub fn cached(&self, key: &CacheKey) -> Option<Arc<Suggestions>> {
        lock(&self.cache).map.get(key).cloned()
    }

    pub fn remember(&self, key: CacheKey, value: Arc<Suggestions>) {
        let mut cache = lock(&self.cache);
        if cache.map.insert(key.clone(), value).is_none() {
            cache.order.push_back(key);
            while cache.order.len() > CACHE_SIZE {
                if let Some(old) = cache.order.pop_front() {
                    cache.map.remove(&old);
                }
            }
        }
    }
}

/// Why a handler could not do its work.
#[derive(Debug)]
pub enum Failure {
    Cancelled,
    Message(String),
}

impl From<Failure> for ResponseError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Cancelled => cancelled(),
            Failure::Message(m) => response_error(ErrorCode::RequestFailed, &m),
        }
    }
}

fn params<P: DeserializeOwned>(n: Notification) -> Option<P> {
    match serde_json::from_value(n.params) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!("ignoring {} with invalid parameters: {e}", n.method);
            None
        }
    }
}

pub fn response_error(code: ErrorCode, message: &str) -> ResponseError {
    ResponseError {
        code: code as i32,
        message: message.to_string(),
        data: None,
    }
}

pub fn cancelled() -> ResponseError {
    response_error(ErrorCode::RequestCanceled, "cancelled")
}

fn error_response(id: RequestId, code: ErrorCode, message: &str) -> Response {
    Response {
        id,
        response_result: Err(response_error(code, message)),
    }
}

/// The byte offset of the first line after line `line0` (0-based) that starts a declaration
/// or command at its first column.
fn next_declaration(text: &str, line0: u32) -> Option<usize> {
    const STARTS: &[&str] = &[
        "theorem",
        "lemma",
        "example",
        "def",
        "@[",
        "/--",
        "private",
        "protected",
        "meta",
        "noncomputable",
        "instance",
        "section",
        "namespace",
        "open",
        "#",
        "variable",
        "universe",
        "local",
        "attribute",
        "inductive",
        "structure",
        "class",
    ];
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i > line0 as usize && STARTS.iter().any(|s| line.starts_with(s)) {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// A parse error as a diagnostic at its position (a warning: Lean's own server reports Lean's
/// errors; this says why the prover cannot read the file).
fn parse_diagnostic(text: &str, e: &problems::ParseError) -> Diagnostic {
    // ParseError columns count chars; LSP counts UTF-16 units.
    let line0 = e.line.saturating_sub(1) as u32;
    let line = super::text::line_text(text, line0);
    let character = line
        .chars()
        .take(e.col)
        .map(|c| c.len_utf16() as u32)
        .sum::<u32>();
    let start = Position::new(line0, character);
    let end = Position::new(
        line0,
        character.max(1) + if line.is_empty() { 0 } else { 1 },
    );
    Diagnostic {
        range: Range::new(start, end),
        severity: Some(DiagnosticSeverity::WARNING),
        source: Some("prover".into()),
        message: format!(
            "prover cannot read this file, so no tactic suggestions: {}",
            e.message
        ),
        ..Diagnostic::default()
    }
}

/// The local path of a `file:` URI (percent-escapes decoded).
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // `file:///path` (empty host) or `file://localhost/path`.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let bytes = path.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn file_uris_become_paths() {
        let uri = Uri::from_str("file:///tmp/my%20proofs/a%CE%B1.lean").unwrap();
        assert_eq!(
            uri_to_path(&uri),
            Some(PathBuf::from("/tmp/my proofs/aα.lean"))
        );
        let uri = Uri::from_str("untitled:Untitled-1").unwrap();
        assert_eq!(uri_to_path(&uri), None);
    }

    #[test]
    fn declarations_below_a_line_are_found_at_their_first_column() {
        let text =
            "theorem a : true :=\nbegin\n  trivial\nend\n\ntheorem b : true :=\nbegin\n  (\nend\n";
        let cut = next_declaration(text, 2).unwrap();
        assert_eq!(&text[cut..cut + 9], "theorem b");
        assert_eq!(next_declaration(text, 6), None);
    }

    #[test]
    fn parse_errors_point_at_their_line() {
        let text = "theorem t : true :=\nbegin\n  (trivial\nend\n";
        let e = problems::parse_str(text, None)
            .and_then(problems::ProblemFile::strict)
            .unwrap_err();
        let d = parse_diagnostic(text, &e);
        assert_eq!(d.range.start.line as usize, e.line - 1);
        assert!(d.message.contains(&e.message));
    }
}
