//! The candidate list and the score levels every rule scores with.
//!
//! Scores are log-probability-like (`<= 0`, higher is better): the search ranks a path by the
//! sum of its tactics' scores, so a near-certain step costs about nothing and a long shot
//! costs as much as several ordinary steps. The constants below name the levels used.

use std::collections::HashMap;

/// Closes the goal for sure when it applies (a hypothesis that is the target).
pub(crate) const CERTAIN: f64 = -0.01;

/// The obvious move for this shape of goal.
pub(crate) const OBVIOUS: f64 = -0.1;

pub(crate) const LIKELY: f64 = -0.3;

pub(crate) const PLAUSIBLE: f64 = -0.6;

pub(crate) const POSSIBLE: f64 = -1.0;

pub(crate) const UNLIKELY: f64 = -1.5;

pub(crate) const LONG_SHOT: f64 = -2.2;

/// Collects candidates, keeping the best score of each tactic text.
#[derive(Default)]
pub struct Candidates {
    list: Vec<(String, f64)>,
    index: HashMap<String, usize>,
}

impl Candidates {
    pub fn add(&mut self, tactic: impl Into<String>, score: f64) {
        let tactic = tactic.into();
        match self.index.get(&tactic) {
            Some(&i) => {
                if score > self.list[i].1 {
                    self.list[i].1 = score;
                }
            }
            None => {
                self.index.insert(tactic.clone(), self.list.len());
                self.list.push((tactic, score));
            }
        }
    }

    /// Drops a candidate.
    pub fn remove(&mut self, tactic: &str) {
        if let Some(i) = self.index.remove(tactic) {
            self.list.remove(i);
            for v in self.index.values_mut() {
                if *v > i {
                    *v -= 1;
                }
            }
        }
    }

    /// The candidates, best first; ties keep the order they were added in.
    pub fn ranked(mut self) -> Vec<(String, f64)> {
        self.list.sort_by(|a, b| b.1.total_cmp(&a.1));
        self.list
    }
}
