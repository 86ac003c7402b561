//! The queue of open states, ordered by a [`Priority`].

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use petgraph::stable_graph::NodeIndex;

use crate::config::Priority;
use crate::tree::{NodeStatus, ProofNode, ProofTree};

/// Sort key: compared lexicographically, the largest is expanded first.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Key(f64, f64, f64);

impl Key {
    fn of(priority: Priority, node: &ProofNode) -> Self {
        let created = node.created as f64;
        let depth = node.depth as f64;
        match priority {
            Priority::CumulativeScore => Key(node.score, 0.0, -created),
            Priority::DepthFirst => Key(depth, node.score, created),
            Priority::BreadthFirst => Key(-depth, 0.0, -created),
        }
    }

    fn compare(&self, other: &Self) -> Ordering {
        self.0
            .total_cmp(&other.0)
            .then(self.1.total_cmp(&other.1))
            .then(self.2.total_cmp(&other.2))
    }
}

struct Entry {
    key: Key,
    node: NodeIndex,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key
            .compare(&other.key)
            .then(self.node.index().cmp(&other.node.index()))
    }
}

/// Open states by priority. A state whose score changes is pushed again; the stale entry
/// is skipped when it comes up (lazy deletion), as is any state no longer open.
pub(crate) struct Frontier {
    priority: Priority,
    heap: BinaryHeap<Entry>,
}

impl Frontier {
    pub(crate) fn new(priority: Priority) -> Self {
        Self {
            priority,
            heap: BinaryHeap::new(),
        }
    }

    pub(crate) fn push(&mut self, tree: &ProofTree, node: NodeIndex) {
        let key = Key::of(self.priority, tree.node(node));
        self.heap.push(Entry { key, node });
    }

    /// The open state to expand next.
    pub(crate) fn pop(&mut self, tree: &ProofTree) -> Option<NodeIndex> {
        while let Some(entry) = self.heap.pop() {
            let node = tree.node(entry.node);
            let current = Key::of(self.priority, node);
            if node.status == NodeStatus::Open && current.compare(&entry.key) == Ordering::Equal {
                return Some(entry.node);
            }
        }
        None
    }
}
