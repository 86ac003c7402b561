//! Checking a traced step from its text alone: the first goal of `state_before` is read back
//! into a statement (as `prover suggest --state` does), started where the file states the
//! theorem, the tactic run on it, and the result compared with `state_after`. This is what a
//! consumer of the data does with a record, so it checks that the records are usable, not
//! only that Lean once ran them.

use lean_bridge::{LeanFile, LeanPool, StateRef, TacticResult};
use lean_env::tactic_state::statement_from_state;

use crate::record::TracedTactic;

/// What replaying one step gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replayed {
    /// The tactic, run on the state read back from `state_before`, left `state_after`.
    Reached,
    /// It ran but left another state.
    Different { got: String },
    /// The tactic failed on the state read back.
    Failed(String),
    /// `state_before` could not be read back into a statement that Lean elaborates to the
    /// same goal (the printed form lost something: a local definition, a coercion Lean cannot
    /// re-infer, an instance written `_inst_1`): not a check of the step.
    NotReadable(String),
    /// The tactic acted on more than the first goal (`all_goals`, `swap`, a `;` chain over
    /// several goals): one goal read back cannot show it.
    SeveralGoals,
}

/// A state's goals as Lean prints them, without the `N goals` line, each with its white
/// space collapsed.
pub fn goals_of(pp: &str) -> Vec<String> {
    let text = pp.trim();
    if text == "no goals" || text.is_empty() {
        return Vec::new();
    }
    let mut lines: Vec<&str> = text.lines().collect();
    if lines
        .first()
        .is_some_and(|l| l.trim().ends_with(" goals") && l.trim().split(' ').count() == 2)
    {
        lines.remove(0);
    }
    lines
        .split(|l| l.trim().is_empty())
        .map(|g| {
            // Case tags (`case or.inl`) label a goal; they are not part of it.
            let skip = g.iter().take_while(|l| l.starts_with("case ")).count();
            &g[skip..]
        })
        .filter(|g| !g.is_empty())
        .map(|g| g.join(" ").split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Replays `step` where `file` states theorem `segment` (trusted text: a file's own tactic).
pub async fn replay_step(
    pool: &LeanPool,
    file: &LeanFile,
    segment: usize,
    step: &TracedTactic,
) -> Replayed {
    let before = goals_of(&step.state_before);
    let after = goals_of(&step.state_after);
    let Some(first) = before.first() else {
        return Replayed::NotReadable("no goal before the step".into());
    };
    // The goals after the first are left alone by a tactic that works on the first goal: they
    // end the state after it.
    let rest = &before[1..];
    if after.len() < rest.len() || after[after.len() - rest.len()..] != *rest {
        return Replayed::SeveralGoals;
    }
    let expected = &after[..after.len() - rest.len()];
    let statement = match statement_from_state(&step.state_before) {
        Ok(s) => s,
        Err(e) => return Replayed::NotReadable(e.to_string()),
    };
    let started = match pool
        .start_at_file_theorem(file, segment, &statement.statement, &statement.universes)
        .await
    {
        Ok(s) => s,
        Err(e) => return Replayed::NotReadable(first_line(&e.to_string())),
    };
    let reread = goals_of(&started.pp);
    let outcome = if reread.first() != Some(first) {
        Replayed::NotReadable(format!(
            "read back as `{}`",
            reread.first().cloned().unwrap_or_default()
        ))
    } else {
        match pool.run_unscreened(&started.state, &step.tactic).await {
            Ok(TacticResult::Success { pp, .. }) => {
                let got = goals_of(&pp);
                if got == expected {
                    Replayed::Reached
                } else {
                    Replayed::Different { got: pp }
                }
            }
            Ok(TacticResult::Failed { message, .. }) => Replayed::Failed(first_line(&message)),
            Err(e) => Replayed::Failed(first_line(&e.to_string())),
        }
    };
    pool.drop_proof(&started.state).await;
    outcome
}

/// Where a step was replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// On a state the theorem's own proof reached: exact.
    InContext,
    /// On its `state_before` read back from text: as good as the printed state.
    FromText,
}

/// Replays a theorem's traced steps in order, where the file states it: each step runs on a
/// state reached before whose goals are its `state_before` (the theorem's own start, or what
/// an earlier step left), or on that state's first goal focused as a `{ … }` block does; a
/// step whose state was not reached that way (inside a `;` chain, say) is replayed from its
/// text by [`replay_step`]. This checks the records where the printed state cannot say
/// everything (an instance the pretty-printer hides, `^` on integers printed like `^` on
/// naturals).
pub async fn replay_theorem(
    pool: &LeanPool,
    file: &LeanFile,
    segment: usize,
    steps: &[TracedTactic],
) -> Vec<(Replayed, How)> {
    let mut reached: Vec<(Vec<String>, StateRef)> = Vec::new();
    let mut proofs: Vec<StateRef> = Vec::new();
    if let Ok(start) = pool.start_file_theorem(file, segment).await {
        reached.push((goals_of(&start.pp), start.state.clone()));
        proofs.push(start.state);
    }
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let before = goals_of(&step.state_before);
        let exact = reached.iter().rev().find(|(g, _)| *g == before);
        let on = match exact {
            Some((_, state)) => Some(state.clone()),
            None if before.len() == 1 => {
                let first = reached
                    .iter()
                    .rev()
                    .find(|(g, _)| g.first() == before.first())
                    .map(|(_, s)| s.clone());
                match first {
                    Some(state) => match pool.focus(&state).await {
                        Ok(f) => {
                            proofs.push(f.state.clone());
                            Some(f.state)
                        }
                        Err(_) => None,
                    },
                    None => None,
                }
            }
            None => None,
        };
        let Some(state) = on else {
            out.push((replay_step(pool, file, segment, step).await, How::FromText));
            continue;
        };
        let outcome = match pool.run_unscreened(&state, &step.tactic).await {
            Ok(TacticResult::Success { pp, state, .. }) => {
                let got = goals_of(&pp);
                let same = got == goals_of(&step.state_after);
                reached.push((got, state));
                if same {
                    Replayed::Reached
                } else {
                    Replayed::Different { got: pp }
                }
            }
            Ok(TacticResult::Failed { message, .. }) => Replayed::Failed(first_line(&message)),
            Err(e) => Replayed::Failed(first_line(&e.to_string())),
        };
        out.push((outcome, How::InContext));
    }
    for p in &proofs {
        pool.drop_proof(p).await;
    }
    out
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_are_split_and_normalised() {
        assert_eq!(goals_of("no goals"), Vec::<String>::new());
        assert_eq!(
            goals_of("2 goals\na : ℕ,\nh : a = 1\n⊢ a  +\n    0 = 1\n\n⊢ true"),
            ["a : ℕ, h : a = 1 ⊢ a + 0 = 1", "⊢ true"]
        );
        assert_eq!(goals_of("x : ℝ\n⊢ 0 ≤ x ^ 2"), ["x : ℝ ⊢ 0 ≤ x ^ 2"]);
        assert_eq!(
            goals_of("2 goals\ncase or.inl\nh : p\n⊢ q\n\ncase or.inr\n⊢ q"),
            ["h : p ⊢ q", "⊢ q"]
        );
    }
}
