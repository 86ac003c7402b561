//! Writing search trees out: JSON for programs, Graphviz DOT (and SVG) for people.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use serde::{Deserialize, Serialize};

use crate::env::Verification;
use crate::tree::{EdgeOutcome, NodeStatus, ProofTree};

/// Graphs larger than this (states plus edges) get no SVG: Graphviz takes minutes on them.
const SVG_MAX_ELEMENTS: usize = 5000;
/// Goals text shown in a DOT node, in characters; the rest is cut.
const DOT_GOALS_CHARS: usize = 600;
/// Tactic text shown on a DOT edge, in characters; the full text is in the tooltip.
const DOT_TACTIC_CHARS: usize = 80;

/// A tree as plain records, for JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreeExport {
    /// The theorem's name.
    pub name: String,
    /// Id of the initial state.
    pub root: usize,
    /// Id of the proved state whose proof passed verification.
    pub verified_proof: Option<usize>,
    /// Edge ids from the root to `verified_proof`.
    pub proof_path: Vec<usize>,
    /// Proof states in creation order.
    pub nodes: Vec<NodeRecord>,
    /// Tactics in the order they were run.
    pub edges: Vec<EdgeRecord>,
}

/// A proof state in a [`TreeExport`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub id: usize,
    pub goals: String,
    pub goals_hash: u64,
    pub num_goals: usize,
    pub depth: usize,
    pub score: f64,
    pub status: NodeStatus,
    /// Edge id from the tree parent.
    pub parent_edge: Option<usize>,
    /// Expansion order, if expanded.
    pub expanded: Option<usize>,
    pub verification: Option<Verification>,
}

/// A tactic in a [`TreeExport`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EdgeRecord {
    pub id: usize,
    pub source: usize,
    /// The state reached; `None` for failed tactics and environment errors.
    pub target: Option<usize>,
    pub tactic: String,
    pub score: f64,
    pub logprob: f64,
    pub rank: usize,
    pub env_time_s: f64,
    pub outcome: EdgeOutcome,
    pub message: Option<String>,
}

/// Failures writing tree files.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot serialize the tree: {0}")]
    Json(#[from] serde_json::Error),
}

/// The files [`write_tree_files`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedFiles {
    pub json: PathBuf,
    pub dot: PathBuf,
    /// `None` when `dot` is not on `PATH`, failed, or the tree is too large to draw.
    pub svg: Option<PathBuf>,
}

/// The tree as plain records.
pub fn tree_to_export(tree: &ProofTree, name: &str) -> TreeExport {
    let sink = tree.failed_sink();
    let graph = tree.graph();
    let nodes = tree
        .states()
        .map(|(id, node)| NodeRecord {
            id: id.index(),
            goals: node.goals.clone(),
            goals_hash: node.goals_hash,
            num_goals: node.num_goals,
            depth: node.depth,
            score: node.score,
            status: node.status,
            parent_edge: node.parent.map(|e| e.index()),
            expanded: node.expanded,
            verification: node.verification.clone(),
        })
        .collect();
    let mut edges: Vec<EdgeRecord> = graph
        .edge_references()
        .map(|e| {
            let edge = e.weight();
            EdgeRecord {
                id: e.id().index(),
                source: e.source().index(),
                target: (e.target() != sink).then(|| e.target().index()),
                tactic: edge.tactic.clone(),
                score: edge.score,
                logprob: edge.logprob,
                rank: edge.rank,
                env_time_s: edge.env_time_s,
                outcome: edge.outcome,
                message: edge.message.clone(),
            }
        })
        .collect();
    edges.sort_by_key(|e| e.id);
    let verified_proof = tree.verified_proof();
    TreeExport {
        name: name.to_owned(),
        root: tree.root().index(),
        verified_proof: verified_proof.map(|n| n.index()),
        proof_path: verified_proof
            .map(|n| tree.path_to(n).into_iter().map(|e| e.index()).collect())
            .unwrap_or_default(),
        nodes,
        edges,
    }
}

/// The tree in Graphviz DOT. States are boxes showing their goals (cut after
/// a few hundred characters), coloured by status: open blue, expanded white, dead grey,
/// proved green (verified) or orange (rejected or unchecked). The verified proof's path is
/// bold green; failed tactics are dashed red edges to small points; edges to states
/// reached before are dotted.
pub fn tree_to_dot(tree: &ProofTree, name: &str) -> String {
    let sink = tree.failed_sink();
    let graph = tree.graph();
    let (path_nodes, path_edges): (HashSet<_>, HashSet<_>) = match tree.verified_proof() {
        Some(proved) => {
            let edges: HashSet<_> = tree.path_to(proved).into_iter().collect();
            let mut nodes: HashSet<_> = edges
                .iter()
                .filter_map(|&e| tree.endpoints(e))
                .flat_map(|(a, b)| [a, b])
                .collect();
            nodes.insert(tree.root());
            (nodes, edges)
        }
        None => Default::default(),
    };

    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", escape(name, Newline::Centered));
    out.push_str("  graph [rankdir=TB];\n");
    out.push_str(
        "  node [shape=box, style=filled, fillcolor=white, fontname=\"monospace\", fontsize=10];\n",
    );
    out.push_str("  edge [fontname=\"monospace\", fontsize=9];\n");

    for (id, node) in tree.states() {
        let mut label = format!(
            "#{}  depth {}  score {:.3}",
            id.index(),
            node.depth,
            node.score
        );
        if let Some(order) = node.expanded {
            let _ = write!(label, "  expansion {order}");
        }
        label.push_str("\n\n");
        if node.num_goals == 0 {
            label.push_str("no goals");
        } else {
            label.push_str(&truncate(&node.goals, DOT_GOALS_CHARS));
        }
        if let Some(v) = &node.verification
            && !v.ok
        {
            label.push_str("\n\nrejected: ");
            label.push_str(&truncate(&v.errors.join("; "), DOT_GOALS_CHARS));
        }
        let fill = match node.status {
            NodeStatus::Open => "#dbe9f6",
            NodeStatus::Expanded => "white",
            NodeStatus::Dead => "#e4e4e4",
            NodeStatus::Proved if node.verification.as_ref().is_some_and(|v| v.ok) => "#b7e4b7",
            NodeStatus::Proved => "#f8d49b",
        };
        let _ = write!(
            out,
            "  n{} [label=\"{}\", fillcolor=\"{fill}\"",
            id.index(),
            escape(&label, Newline::Left)
        );
        if path_nodes.contains(&id) {
            out.push_str(", color=\"#1a7f37\", penwidth=3");
        }
        out.push_str("];\n");
    }

    let mut edges: Vec<_> = graph.edge_references().collect();
    edges.sort_by_key(|e| e.id().index());
    for e in edges {
        let edge = e.weight();
        let tactic_label = format!(
            "{}\n{:.3}",
            truncate(&edge.tactic, DOT_TACTIC_CHARS),
            edge.score
        );
        let mut tooltip = edge.tactic.clone();
        if let Some(message) = &edge.message {
            tooltip.push_str("\n\n");
            tooltip.push_str(message);
        }
        let target = if e.target() == sink {
            let point = format!("f{}", e.id().index());
            let _ = writeln!(
                out,
                "  {point} [shape=point, width=0.08, color=\"#c62828\"];"
            );
            point
        } else {
            format!("n{}", e.target().index())
        };
        let _ = write!(
            out,
            "  n{} -> {target} [label=\"{}\", tooltip=\"{}\"",
            e.source().index(),
            escape(&tactic_label, Newline::Left),
            escape(&truncate(&tooltip, 2000), Newline::Centered),
        );
        if path_edges.contains(&e.id()) {
            out.push_str(", color=\"#1a7f37\", fontcolor=\"#1a7f37\", penwidth=3, style=bold");
        } else {
            match edge.outcome {
                EdgeOutcome::Success => {}
                EdgeOutcome::Duplicate => out.push_str(", style=dotted, constraint=false"),
                EdgeOutcome::Failed | EdgeOutcome::Error => {
                    out.push_str(", style=dashed, color=\"#c62828\", fontcolor=\"#c62828\"")
                }
            }
        }
        out.push_str("];\n");
    }
    out.push_str("}\n");
    out
}

/// Writes `NAME.json` and `NAME.dot` into `dir` (created if missing), and `NAME.svg` when
/// the Graphviz `dot` program is on `PATH` (skipped silently when it is not). `NAME` is
/// `name` with characters unsafe in file names replaced by `_`. Blocking: call it from
/// `spawn_blocking` inside async code if trees are large.
pub fn write_tree_files(
    tree: &ProofTree,
    name: &str,
    dir: &Path,
) -> Result<ExportedFiles, ExportError> {
    std::fs::create_dir_all(dir).map_err(|source| ExportError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let stem = file_stem(name);
    let json = dir.join(format!("{stem}.json"));
    let dot = dir.join(format!("{stem}.dot"));
    write(
        &json,
        &serde_json::to_vec_pretty(&tree_to_export(tree, name))?,
    )?;
    write(&dot, tree_to_dot(tree, name).as_bytes())?;

    let elements = tree.state_count() + tree.graph().edge_count();
    let svg = match find_program("dot") {
        Some(_) if elements > SVG_MAX_ELEMENTS => {
            tracing::info!(%name, elements, "tree too large to draw; no SVG");
            None
        }
        Some(program) => {
            let svg = dir.join(format!("{stem}.svg"));
            let status = Command::new(program)
                .arg("-Tsvg")
                .arg("-o")
                .arg(&svg)
                .arg(&dot)
                .status();
            match status {
                Ok(status) if status.success() => Some(svg),
                Ok(status) => {
                    tracing::warn!(%name, %status, "graphviz dot failed; no SVG");
                    None
                }
                Err(error) => {
                    tracing::warn!(%name, %error, "cannot run graphviz dot; no SVG");
                    None
                }
            }
        }
        None => None,
    };
    Ok(ExportedFiles { json, dot, svg })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    std::fs::write(path, bytes).map_err(|source| ExportError::Io {
        path: path.to_owned(),
        source,
    })
}

/// `name` made safe as a file name: path separators, control and shell-awkward characters
/// become `_`; a leading dot too (no hidden files, no `..`).
pub(crate) fn file_stem(name: &str) -> String {
    let mut stem: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\'') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.starts_with('.') {
        stem.replace_range(0..1, "_");
    }
    if stem.is_empty() {
        stem.push_str("theorem");
    }
    stem
}

/// The path of an executable `program` in a `PATH` directory.
pub(crate) fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// How a newline is written in a DOT string.
#[derive(Clone, Copy)]
pub(crate) enum Newline {
    /// `\l`: the line before it is left-justified (for labels of code).
    Left,
    /// `\n`: centred (for names and tooltips).
    Centered,
}

/// `text` as the inside of a DOT double-quoted string: backslashes and quotes escaped,
/// newlines as DOT line breaks, other control characters as spaces. Labels end with a line
/// break so that their last line is justified like the others.
pub(crate) fn escape(text: &str, newline: Newline) -> String {
    let break_ = match newline {
        Newline::Left => "\\l",
        Newline::Centered => "\\n",
    };
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str(break_),
            '\r' => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    if matches!(newline, Newline::Left) && !text.is_empty() {
        out.push_str(break_);
    }
    out
}

/// At most `max` characters of `text`, with `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
