//! A small LSP client for tests: starts the real `prover lsp` binary and speaks JSON-RPC to it
//! over its stdin/stdout, answering the server's own requests the way an editor would.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct LspClient {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
    /// Every notification the server sent, in order.
    pub notifications: Vec<Value>,
    /// Every `workspace/applyEdit` the server asked for.
    pub applied_edits: Vec<Value>,
    /// Every `window/workDoneProgress/create` token.
    pub progress_tokens: Vec<Value>,
    /// Responses that arrived while waiting for something else.
    responses: HashMap<i64, Value>,
    stderr: Arc<Mutex<String>>,
}

/// Client capabilities of an editor like VS Code: progress, resolvable code action edits,
/// disabled actions, versioned workspace edits, applyEdit.
pub fn full_capabilities() -> Value {
    json!({
        "window": {"workDoneProgress": true},
        "workspace": {"applyEdit": true, "workspaceEdit": {"documentChanges": true}},
        "textDocument": {
            "codeAction": {
                "dataSupport": true,
                "disabledSupport": true,
                "resolveSupport": {"properties": ["edit"]},
                "codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["", "refactor", "refactor.rewrite"]}}
            },
            "completion": {"completionItem": {"snippetSupport": false}}
        }
    })
}

/// A client that resolves nothing and shows no progress (code actions come as commands).
pub fn minimal_capabilities() -> Value {
    json!({"workspace": {"applyEdit": true}})
}

impl LspClient {
    /// Starts `prover lsp ARGS` with the environment changed by `env` (a `None` value removes
    /// the variable).
    pub fn start(args: &[&str], env: &[(&str, Option<&str>)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_prover"));
        cmd.arg("lsp").args(args);
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting prover lsp");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let stderr = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stderr_pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    stderr
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        LspClient {
            child,
            stdin,
            incoming,
            next_id: 1,
            notifications: Vec::new(),
            applied_edits: Vec::new(),
            progress_tokens: Vec::new(),
            responses: HashMap::new(),
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn send(&mut self, message: &Value) {
        let body = serde_json::to_string(message).unwrap();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    pub fn request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Handles one incoming message; returns it when it is a response.
    fn handle(&mut self, message: Value) -> Option<(i64, Value)> {
        let method = message.get("method").and_then(Value::as_str);
        let id = message.get("id").cloned();
        match (method, id) {
            (Some(method), Some(id)) => {
                // A request from the server: answer like an editor.
                let result = match method {
                    "window/workDoneProgress/create" => {
                        self.progress_tokens
                            .push(message["params"]["token"].clone());
                        Value::Null
                    }
                    "workspace/applyEdit" => {
                        self.applied_edits.push(message["params"]["edit"].clone());
                        json!({"applied": true})
                    }
                    _ => Value::Null,
                };
                self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
                None
            }
            (Some(_), None) => {
                self.notifications.push(message);
                None
            }
            (None, Some(id)) => Some((id.as_i64().unwrap_or(-1), message)),
            (None, None) => None,
        }
    }

    fn next(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.incoming.recv_timeout(left) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The response to request `id` (its whole message: `result` or `error`).
    pub fn response(&mut self, id: i64, timeout: Duration) -> Value {
        if let Some(r) = self.responses.remove(&id) {
            return r;
        }
        let deadline = Instant::now() + timeout;
        while let Some(m) = self.next(deadline) {
            if let Some((rid, r)) = self.handle(m) {
                if rid == id {
                    return r;
                }
                self.responses.insert(rid, r);
            }
        }
        panic!(
            "no response to request {id} within {timeout:?}; server stderr:\n{}",
            self.stderr()
        );
    }

    /// Whether the response to request `id` has arrived (reading what is there, not waiting).
    pub fn has_response(&mut self, id: i64) -> bool {
        while let Ok(m) = self.incoming.try_recv() {
            if let Some((rid, r)) = self.handle(m) {
                self.responses.insert(rid, r);
            }
        }
        self.responses.contains_key(&id)
    }

    /// The `result` of a request, failing the test on an error response.
    pub fn call(&mut self, method: &str, params: Value, timeout: Duration) -> Value {
        let id = self.request(method, params);
        let r = self.response(id, timeout);
        assert!(r.get("error").is_none(), "{method} failed: {r}");
        r["result"].clone()
    }

    /// Waits for a notification matching `pred` (also looking at those already received).
    pub fn wait_notification(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(n) = self.notifications.iter().find(|n| pred(n)) {
            return Some(n.clone());
        }
        let deadline = Instant::now() + timeout;
        while let Some(m) = self.next(deadline) {
            if let Some((rid, r)) = self.handle(m) {
                self.responses.insert(rid, r);
            } else if let Some(n) = self.notifications.last()
                && pred(n)
            {
                return Some(n.clone());
            }
        }
        None
    }

    pub fn initialize(&mut self, capabilities: Value) -> Value {
        let r = self.call(
            "initialize",
            json!({"processId": std::process::id(), "rootUri": null, "capabilities": capabilities}),
            Duration::from_secs(30),
        );
        self.notify("initialized", json!({}));
        r
    }

    pub fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "lean", "version": 1, "text": text}}),
        );
    }

    /// `shutdown` then `exit`; returns the exit status.
    pub fn shutdown(mut self, timeout: Duration) -> ExitStatus {
        let id = self.request("shutdown", Value::Null);
        let r = self.response(id, timeout);
        assert!(r.get("error").is_none(), "shutdown failed: {r}");
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not exit; stderr:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for LspClient {
    fn drop(&mut self) {
        // A failed test must not leave the server running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            length = v.parse::<usize>().ok();
        }
    }
    let mut body = vec![0u8; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// `file://` URI of a path.
pub fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Applies LSP text edits (UTF-16 positions) to `text`.
pub fn apply_edits(text: &str, edits: &[Value]) -> String {
    let mut edits: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            let s = offset(text, &e["range"]["start"]);
            let t = offset(text, &e["range"]["end"]);
            (s, t, e["newText"].as_str().unwrap().to_string())
        })
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (s, t, new) in edits {
        out.replace_range(s..t, &new);
    }
    out
}

/// The edits for `uri` in a workspace edit (`changes` or `documentChanges`).
pub fn edits_for(edit: &Value, uri: &str) -> Vec<Value> {
    if let Some(changes) = edit.get("changes").and_then(|c| c.get(uri)) {
        return changes.as_array().cloned().unwrap_or_default();
    }
    edit.get("documentChanges")
        .and_then(Value::as_array)
        .map(|docs| {
            docs.iter()
                .filter(|d| d["textDocument"]["uri"] == uri)
                .flat_map(|d| d["edits"].as_array().cloned().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

fn offset(text: &str, pos: &Value) -> usize {
    let line = pos["line"].as_u64().unwrap() as usize;
    let character = pos["character"].as_u64().unwrap() as usize;
    let start: usize = text.split('\n').take(line).map(|l| l.len() + 1).sum();
    let start = start.min(text.len());
    let line_text = text[start..].split('\n').next().unwrap_or("");
    let mut units = 0;
    for (i, c) in line_text.char_indices() {
        if units >= character {
            return start + i;
        }
        units += c.len_utf16();
    }
    start + line_text.len()
}

/// Pids of the live child processes of `pid` named `name` (from /proc).
pub fn children_named(pid: u32, name: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Some((ppid, state)) = stat(child) else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
        if ppid == pid && state != 'Z' && comm.trim() == name {
            out.push(child);
        }
    }
    out
}

/// Whether `pid` is a running (not zombie) process.
pub fn alive(pid: u32) -> bool {
    matches!(stat(pid), Some((_, state)) if state != 'Z' && state != 'X')
}

/// (parent pid, state) from /proc/PID/stat.
fn stat(pid: u32) -> Option<(u32, char)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
    let rest = &s[s.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state))
}
