//! Turning a tactic state as Lean 3 prints it back into a theorem statement, so that a state
//! pasted by a user (`prover suggest --state`) can be started in Lean and tactics run on it.
//!
//! ```text
//! x y : ℝ,                       becomes     (x y : ℝ) (h₀ : x + y = 10) : x = 2
//! h₀ : x + y = 10
//! ⊢ x = 2
//! ```

use thiserror::Error;

/// The first goal of a state as a statement, and what else the state had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateStatement {
    /// `(x y : ℝ) (h₀ : x + y = 10) : x = 2`.
    pub statement: String,
    /// Universe names the hypotheses use (`Type u_1`): they need a `universes` line.
    pub universes: Vec<String>,
    /// Goals in the state; only the first becomes the statement.
    pub num_goals: usize,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum StateError {
    #[error("the state is empty")]
    Empty,
    #[error("no goal line (one starting with `⊢`) in the state")]
    NoGoal,
    #[error("cannot read the hypothesis `{0}`: expected `name … : type`")]
    BadHypothesis(String),
    #[error(
        "the hypothesis `{0}` has a value (`:=`); states with local definitions are not supported"
    )]
    LocalDefinition(String),
}

/// Reads the first goal of `state` (Lean's format: an optional `N goals` line, then per goal
/// the hypotheses, one per line with continuation lines indented, and `⊢ target`; goals are
/// separated by blank lines).
pub fn statement_from_state(state: &str) -> Result<StateStatement, StateError> {
    let text = state.trim().replace("\r\n", "\n");
    if text.is_empty() {
        return Err(StateError::Empty);
    }
    let mut lines: Vec<&str> = text.lines().collect();
    if lines.first().is_some_and(|l| is_goal_count(l)) {
        lines.remove(0);
    }
    let goals: Vec<Vec<&str>> = lines
        .split(|l| l.trim().is_empty())
        .filter(|g| !g.is_empty())
        .map(<[&str]>::to_vec)
        .collect();
    let first = goals.first().ok_or(StateError::NoGoal)?;
    // A goal tagged by `cases`/`induction` starts with its case names (`case or.inl`): a
    // label, not a hypothesis.
    let first: Vec<&str> = first
        .iter()
        .copied()
        .skip_while(|l| l.starts_with("case "))
        .collect();
    let turnstile = first
        .iter()
        .position(|l| l.trim_start().starts_with('⊢'))
        .ok_or(StateError::NoGoal)?;

    let mut binders = Vec::new();
    for hyp in join_continuations(&first[..turnstile]) {
        let hyp = hyp.trim().trim_end_matches(',').trim_end();
        let Some((names, ty)) = hyp.split_once(" : ") else {
            return Err(StateError::BadHypothesis(hyp.to_string()));
        };
        if names.trim().is_empty() || ty.trim().is_empty() {
            return Err(StateError::BadHypothesis(hyp.to_string()));
        }
        if ty.contains(" := ") {
            return Err(StateError::LocalDefinition(hyp.to_string()));
        }
        // Instance arguments (`_inst_1 : field F`) go in brackets so that they are instances.
        if names.trim().starts_with("_inst") {
            binders.push(format!("[{} : {}]", names.trim(), ty.trim()));
        } else {
            binders.push(format!("({} : {})", names.trim(), ty.trim()));
        }
    }
    let target = first[turnstile..].join("\n");
    let target = target.trim_start().trim_start_matches('⊢').trim();
    let statement = if binders.is_empty() {
        format!(": {target}")
    } else {
        format!("{} : {target}", binders.join(" "))
    };
    Ok(StateStatement {
        universes: universe_names(&statement),
        statement,
        num_goals: goals.len(),
    })
}

fn is_goal_count(line: &str) -> bool {
    let mut words = line.split_whitespace();
    matches!(
        (words.next(), words.next(), words.next()),
        (Some(n), Some("goals" | "goal"), None) if n.parse::<usize>().is_ok()
    )
}

/// Hypotheses, each with its indented continuation lines.
fn join_continuations(lines: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in lines {
        match out.last_mut() {
            Some(prev) if l.starts_with(char::is_whitespace) => {
                prev.push('\n');
                prev.push_str(l);
            }
            _ => out.push(l.to_string()),
        }
    }
    out
}

/// Universe variables after `Type` or `Sort` (`u`, `u_1`, `v`), in order of appearance.
fn universe_names(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || "()[]{},".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    for pair in words.windows(2) {
        // `Type (u+1)` reads as `u+1`.
        let name = pair[1].split('+').next().unwrap_or_default();
        let is_universe = name.starts_with(['u', 'v', 'w'])
            && name
                .chars()
                .all(|c| c == '_' || c.is_ascii_digit() || "uvw".contains(c))
            && name.len() <= 4;
        if matches!(pair[0], "Type" | "Sort") && is_universe && !out.iter().any(|u| u == name) {
            out.push(name.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypotheses_become_binders() {
        let s =
            statement_from_state("x y : ℝ,\nh₀ : x + y = 10,\nh₁ : x - y = 2\n⊢ x = 6").unwrap();
        assert_eq!(
            s.statement,
            "(x y : ℝ) (h₀ : x + y = 10) (h₁ : x - y = 2) : x = 6"
        );
        assert_eq!(s.num_goals, 1);
        assert!(s.universes.is_empty());
    }

    #[test]
    fn no_hypotheses() {
        let s = statement_from_state("⊢ 2 + 2 = 4").unwrap();
        assert_eq!(s.statement, ": 2 + 2 = 4");
    }

    #[test]
    fn continuation_lines_and_several_goals() {
        let state =
            "2 goals\nf : ℕ → ℕ,\nh : ∀ n,\n    f n = n + 1\n⊢ f 1 =\n    2\n\nf : ℕ → ℕ\n⊢ true";
        let s = statement_from_state(state).unwrap();
        assert_eq!(
            s.statement,
            "(f : ℕ → ℕ) (h : ∀ n,\n    f n = n + 1) : f 1 =\n    2"
        );
        assert_eq!(s.num_goals, 2);
    }

    #[test]
    fn case_tags_are_no_hypotheses() {
        let s = statement_from_state("case or.inl\nn : ℕ,\nh : n % 2 = 0\n⊢ n % 2 ≠ 1").unwrap();
        assert_eq!(s.statement, "(n : ℕ) (h : n % 2 = 0) : n % 2 ≠ 1");
    }

    #[test]
    fn instances_and_universes() {
        let s = statement_from_state(
            "α : Type u_1,\n_inst_1 : decidable_eq α,\nl : list α\n⊢ l.length ≥ 0",
        )
        .unwrap();
        assert_eq!(
            s.statement,
            "(α : Type u_1) [_inst_1 : decidable_eq α] (l : list α) : l.length ≥ 0"
        );
        assert_eq!(s.universes, ["u_1"]);
    }

    #[test]
    fn bad_states_are_errors() {
        assert_eq!(statement_from_state("  \n"), Err(StateError::Empty));
        assert_eq!(statement_from_state("x : ℕ"), Err(StateError::NoGoal));
        assert!(matches!(
            statement_from_state("just words\n⊢ p"),
            Err(StateError::BadHypothesis(_))
        ));
        assert!(matches!(
            statement_from_state("x : ℕ := 3\n⊢ x = 3"),
            Err(StateError::LocalDefinition(_))
        ));
    }
}
