//! The search tree: proof states as nodes, tactics as edges.
//!
//! Every state node except the root has exactly one *tree parent* (the edge it was first
//! reached by, or a better one found before it was expanded). Proofs are read along tree
//! parents back to the root, so the edges that point to an already known state
//! ([`EdgeOutcome::Duplicate`]) may form cycles in the graph without confusing proof
//! extraction. Failed tactics are edges into one shared per-tree sink node,
//! [`ProofTree::failed_sink`], which is not a proof state.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;
use serde::{Deserialize, Serialize};

use crate::env::Verification;

/// Where a proof state stands in the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// Known, not expanded yet.
    Open,
    /// The policy was asked for tactics here and they were run.
    Expanded,
    /// No goals left: the tactics on the path from the root prove the theorem (whether
    /// the proof passed verification is in [`ProofNode::verification`]).
    Proved,
    /// Nothing can come from here: every tactic failed, or the state was lost and could not
    /// be rebuilt. The failed sink node is always dead.
    Dead,
}

/// A proof state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProofNode {
    /// The goals as Lean prints them (empty when none are left).
    pub goals: String,
    /// Hash of the goals with whitespace runs collapsed ([`goals_hash`]); equal states have
    /// equal hashes.
    pub goals_hash: u64,
    pub num_goals: usize,
    /// Tactics from the root along tree parents.
    pub depth: usize,
    /// Sum of the policy scores of the tactics from the root along tree parents.
    pub score: f64,
    pub status: NodeStatus,
    /// The edge from the tree parent (`None` for the root and the failed sink).
    pub parent: Option<EdgeIndex>,
    /// Creation order: 0 for the root, counting states only.
    pub created: usize,
    /// Expansion order (0 for the first expanded state); `None` while not expanded.
    pub expanded: Option<usize>,
    /// For proved states: the result of re-checking the proof with `ProofEnv::verify`.
    pub verification: Option<Verification>,
}

/// What running a tactic led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeOutcome {
    /// A new state (the edge's target), possibly with no goals left.
    Success,
    /// A state already in the tree (same goals up to whitespace); the edge points to it.
    Duplicate,
    /// Lean rejected the tactic (or the environment refused it / it timed out). Edge to the
    /// failed sink.
    Failed,
    /// The environment itself failed (protocol error, state lost and not recoverable). Edge
    /// to the failed sink.
    Error,
}

/// A tactic tried on a state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TacticEdge {
    pub tactic: String,
    /// The policy's score ([`crate::Candidate::score`]).
    pub score: f64,
    /// The policy's summed log-probability ([`crate::Candidate::logprob`]).
    pub logprob: f64,
    /// Position in the policy's ranking (0 = best).
    pub rank: usize,
    /// Wall time of the `run_tactic` call that produced this edge, in seconds.
    pub env_time_s: f64,
    pub outcome: EdgeOutcome,
    /// Lean's error for failed tactics, the environment's for errors.
    pub message: Option<String>,
}

/// The search tree of one theorem.
#[derive(Clone, Debug)]
pub struct ProofTree {
    graph: StableDiGraph<ProofNode, TacticEdge>,
    root: NodeIndex,
    failed_sink: NodeIndex,
    /// States with goals left, by [`goals_hash`] (a bucket holds hash collisions).
    by_hash: HashMap<u64, Vec<NodeIndex>>,
    /// The proved state whose proof passed verification.
    verified_proof: Option<NodeIndex>,
    states: usize,
    expansions: usize,
}

impl ProofTree {
    /// A tree holding only the initial state.
    pub fn new(goals: String, num_goals: usize) -> Self {
        let mut graph = StableDiGraph::new();
        let hash = goals_hash(&goals);
        let status = if num_goals == 0 {
            NodeStatus::Proved
        } else {
            NodeStatus::Open
        };
        let root = graph.add_node(ProofNode {
            goals,
            goals_hash: hash,
            num_goals,
            depth: 0,
            score: 0.0,
            status,
            parent: None,
            created: 0,
            expanded: None,
            verification: None,
        });
        let failed_sink = graph.add_node(ProofNode {
            goals: String::new(),
            goals_hash: goals_hash(""),
            num_goals: 0,
            depth: 0,
            score: f64::NEG_INFINITY,
            status: NodeStatus::Dead,
            parent: None,
            created: usize::MAX,
            expanded: None,
            verification: None,
        });
        let mut by_hash = HashMap::new();
        if num_goals > 0 {
            by_hash.insert(hash, vec![root]);
        }
        Self {
            graph,
            root,
            failed_sink,
            by_hash,
            verified_proof: None,
            states: 1,
            expansions: 0,
        }
    }

    /// The underlying graph (includes the failed sink node).
    pub fn graph(&self) -> &StableDiGraph<ProofNode, TacticEdge> {
        &self.graph
    }

    pub fn root(&self) -> NodeIndex {
        self.root
    }

    /// The node all failed tactics point to. Not a proof state.
    pub fn failed_sink(&self) -> NodeIndex {
        self.failed_sink
    }

    /// # Panics
    /// If `id` is not a node of this tree.
    pub fn node(&self, id: NodeIndex) -> &ProofNode {
        &self.graph[id]
    }

    /// # Panics
    /// If `id` is not an edge of this tree.
    pub fn edge(&self, id: EdgeIndex) -> &TacticEdge {
        &self.graph[id]
    }

    /// The source and target of an edge.
    pub fn endpoints(&self, id: EdgeIndex) -> Option<(NodeIndex, NodeIndex)> {
        self.graph.edge_endpoints(id)
    }

    /// Number of proof states (the failed sink not counted).
    pub fn state_count(&self) -> usize {
        self.states
    }

    /// Number of expanded states.
    pub fn expansions(&self) -> usize {
        self.expansions
    }

    /// Proof states (without the failed sink) in creation order.
    pub fn states(&self) -> impl Iterator<Item = (NodeIndex, &ProofNode)> {
        let sink = self.failed_sink;
        self.graph
            .node_indices()
            .filter(move |&id| id != sink)
            .map(|id| (id, &self.graph[id]))
    }

    /// Edges leaving `node`, in the order the tactics were run.
    pub fn tactics_from(&self, node: NodeIndex) -> Vec<(EdgeIndex, NodeIndex, &TacticEdge)> {
        let mut edges: Vec<_> = self
            .graph
            .edges(node)
            .map(|e| (e.id(), e.target(), e.weight()))
            .collect();
        // petgraph lists outgoing edges newest first.
        edges.sort_by_key(|(id, _, _)| id.index());
        edges
    }

    /// The state with these goals (whitespace-insensitive), if any. States without goals are
    /// never shared: each closes a different proof.
    pub fn find_state(&self, goals: &str) -> Option<NodeIndex> {
        self.by_hash
            .get(&goals_hash(goals))?
            .iter()
            .copied()
            .find(|&id| same_goals(&self.graph[id].goals, goals))
    }

    /// Adds a new state reached from `from` by `edge`; it is open, or proved when no goals
    /// are left.
    pub fn add_state(
        &mut self,
        from: NodeIndex,
        edge: TacticEdge,
        goals: String,
        num_goals: usize,
    ) -> (NodeIndex, EdgeIndex) {
        let parent = &self.graph[from];
        let depth = parent.depth + 1;
        let score = parent.score + edge.score;
        let hash = goals_hash(&goals);
        let status = if num_goals == 0 {
            NodeStatus::Proved
        } else {
            NodeStatus::Open
        };
        let node = self.graph.add_node(ProofNode {
            goals,
            goals_hash: hash,
            num_goals,
            depth,
            score,
            status,
            parent: None,
            created: self.states,
            expanded: None,
            verification: None,
        });
        self.states += 1;
        let edge = self.graph.add_edge(from, node, edge);
        self.graph[node].parent = Some(edge);
        if num_goals > 0 {
            self.by_hash.entry(hash).or_default().push(node);
        }
        (node, edge)
    }

    /// Adds an edge from `from` to the known state `to`. When `to` is still open and the new
    /// path scores higher, `to` is re-attached below `from` (depth and score updated) and
    /// `true` is returned: the caller must re-queue it. Only open states move: they have no
    /// children, so re-attaching one cannot put it above its own tree parent.
    pub fn add_duplicate(
        &mut self,
        from: NodeIndex,
        to: NodeIndex,
        edge: TacticEdge,
    ) -> (EdgeIndex, bool) {
        let new_score = self.graph[from].score + edge.score;
        let new_depth = self.graph[from].depth + 1;
        let id = self.graph.add_edge(from, to, edge);
        let target = &mut self.graph[to];
        let better = target.status == NodeStatus::Open
            && from != to
            && to != self.root
            && new_score > target.score;
        if better {
            target.parent = Some(id);
            target.score = new_score;
            target.depth = new_depth;
        }
        (id, better)
    }

    /// Records a failed tactic (or an environment error) on `from`.
    pub fn add_failed(&mut self, from: NodeIndex, edge: TacticEdge) -> EdgeIndex {
        self.graph.add_edge(from, self.failed_sink, edge)
    }

    pub(crate) fn set_status(&mut self, node: NodeIndex, status: NodeStatus) {
        self.graph[node].status = status;
    }

    /// Marks `node` expanded and gives it the next expansion number.
    pub(crate) fn mark_expanded(&mut self, node: NodeIndex) {
        let n = &mut self.graph[node];
        n.status = NodeStatus::Expanded;
        n.expanded = Some(self.expansions);
        self.expansions += 1;
    }

    pub(crate) fn set_verification(&mut self, node: NodeIndex, verification: Verification) {
        if verification.ok {
            self.verified_proof = Some(node);
        }
        self.graph[node].verification = Some(verification);
    }

    /// The proved state whose proof passed verification, if any.
    pub fn verified_proof(&self) -> Option<NodeIndex> {
        self.verified_proof
    }

    /// Edges from the root to `node` along tree parents.
    pub fn path_to(&self, node: NodeIndex) -> Vec<EdgeIndex> {
        let mut path = Vec::new();
        let mut current = node;
        // Tree parents never form a cycle; the bound only guards against a broken invariant.
        while let Some(edge) = self.graph[current].parent {
            if path.len() > self.states {
                break;
            }
            path.push(edge);
            match self.graph.edge_endpoints(edge) {
                Some((source, _)) => current = source,
                None => break,
            }
        }
        path.reverse();
        path
    }

    /// The tactics from the root to `node`.
    pub fn tactics_to(&self, node: NodeIndex) -> Vec<&str> {
        self.path_to(node)
            .into_iter()
            .map(|e| self.graph[e].tactic.as_str())
            .collect()
    }
}

/// Hash of goals with every whitespace run treated as one space (and no leading or trailing
/// whitespace), so states that print differently only in layout hash alike.
pub fn goals_hash(goals: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    for word in goals.split_whitespace() {
        word.hash(&mut hasher);
    }
    hasher.finish()
}

/// Whether two goal texts are equal up to whitespace runs.
pub fn same_goals(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(tactic: &str, score: f64) -> TacticEdge {
        TacticEdge {
            tactic: tactic.into(),
            score,
            logprob: score,
            rank: 0,
            env_time_s: 0.0,
            outcome: EdgeOutcome::Success,
            message: None,
        }
    }

    #[test]
    fn goals_compare_up_to_whitespace() {
        assert!(same_goals("x : ℕ\n⊢ x = x", "x : ℕ ⊢  x = x "));
        assert_eq!(goals_hash("x : ℕ\n⊢ x = x"), goals_hash(" x : ℕ ⊢ x  =\tx"));
        assert!(!same_goals("x : ℕ ⊢ x = x", "x : ℕ ⊢ x = y"));
        assert_ne!(goals_hash("a b"), goals_hash("ab"));
    }

    #[test]
    fn duplicate_reattaches_open_state_only_on_better_score() {
        let mut tree = ProofTree::new("root".into(), 1);
        let root = tree.root();
        let (a, _) = tree.add_state(root, edge("a", -0.1), "A".into(), 1);
        let (b, _) = tree.add_state(root, edge("b", -0.2), "B".into(), 1);
        let (s, first) = tree.add_state(a, edge("p", -2.0), "S".into(), 1);
        assert_eq!(tree.find_state(" S "), Some(s));
        assert!((tree.node(s).score - -2.1).abs() < 1e-12);

        let (worse, moved) = tree.add_duplicate(b, s, edge("q", -5.0));
        assert!(!moved);
        assert_eq!(tree.node(s).parent, Some(first));
        assert_eq!(tree.endpoints(worse), Some((b, s)));

        let (better, moved) = tree.add_duplicate(b, s, edge("r", -0.1));
        assert!(moved);
        assert_eq!(tree.node(s).parent, Some(better));
        assert!((tree.node(s).score - -0.3).abs() < 1e-12);
        assert_eq!(tree.tactics_to(s), vec!["b", "r"]);
        assert_eq!(tree.state_count(), 4);

        // An expanded state keeps its place even if a better path shows up.
        tree.mark_expanded(a);
        let (_, moved) = tree.add_duplicate(b, a, edge("z", 0.0));
        assert!(!moved);
        assert_eq!(tree.tactics_to(a), vec!["a"]);
    }

    #[test]
    fn states_without_goals_are_never_shared() {
        let mut tree = ProofTree::new("root".into(), 1);
        let root = tree.root();
        let (p, _) = tree.add_state(root, edge("done", 0.0), String::new(), 0);
        assert_eq!(tree.node(p).status, NodeStatus::Proved);
        assert_eq!(tree.find_state(""), None);
    }
}
