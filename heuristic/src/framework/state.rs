//! Reading a Lean 3 tactic state as Lean prints it.
//!
//! ```text
//! 2 goals
//! case nat.succ
//! a b : ℕ,
//! h₀ : a < b
//! ⊢ b ≠ 0
//!
//! ⊢ …
//! ```
//! Goals are separated by blank lines, hypotheses by `,` at the end of a line; a hypothesis or
//! target too long for one line continues on indented lines.

use super::term::normalize;

/// A hypothesis (one per name: `a b : ℕ` gives two).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hyp {
    pub name: String,
    /// The type, whitespace-normalized.
    pub ty: String,
}

impl Hyp {
    /// Whether the name can be written in a tactic: Lean prints inaccessible names (from
    /// `intros` without names) with `ᾰ`, and instance arguments as `_inst_N`.
    pub fn accessible(&self) -> bool {
        !self.name.contains('ᾰ') && !self.name.starts_with("_inst")
    }
}

/// One goal: its case tag, hypotheses in order, and target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Goal {
    pub case: Option<String>,
    pub hyps: Vec<Hyp>,
    /// The target, whitespace-normalized.
    pub target: String,
}

impl Goal {
    /// The hypothesis with this name (the last one, as Lean resolves shadowed names).
    pub fn hyp(&self, name: &str) -> Option<&Hyp> {
        self.hyps.iter().rev().find(|h| h.name == name)
    }

    /// Whether a name is taken by a hypothesis.
    pub fn has_name(&self, name: &str) -> bool {
        self.hyps.iter().any(|h| h.name == name)
    }
}

/// Parses a whole tactic state into its goals (none for `no goals` or empty text).
pub fn parse_state(text: &str) -> Vec<Goal> {
    let text = text.trim();
    if text.is_empty() || text == "no goals" {
        return Vec::new();
    }
    let mut lines: Vec<&str> = text.lines().collect();
    if lines
        .first()
        .is_some_and(|l| l.trim().ends_with("goals") && l.trim().split(' ').count() == 2)
    {
        lines.remove(0);
    }
    let mut goals = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    for line in lines {
        if line.trim().is_empty() {
            if !block.is_empty() {
                goals.extend(parse_goal(&block));
                block.clear();
            }
        } else {
            block.push(line);
        }
    }
    if !block.is_empty() {
        goals.extend(parse_goal(&block));
    }
    goals
}

/// Parses one goal's lines. `None` when there is no `⊢` line.
pub fn parse_goal(lines: &[&str]) -> Option<Goal> {
    let mut lines = lines;
    let mut case = None;
    if let Some(tag) = lines.first().and_then(|l| l.strip_prefix("case ")) {
        case = Some(tag.trim().to_owned());
        lines = &lines[1..];
    }
    let turnstile = lines.iter().position(|l| l.starts_with('⊢'))?;
    let target = normalize(
        &lines[turnstile..]
            .iter()
            .map(|l| l.trim_start_matches('⊢'))
            .collect::<Vec<_>>()
            .join(" "),
    );
    // Each hypothesis starts on an unindented line; indented lines continue it.
    let mut entries: Vec<String> = Vec::new();
    for line in &lines[..turnstile] {
        if line.starts_with(char::is_whitespace) && !entries.is_empty() {
            let last = entries.last_mut().expect("checked non-empty");
            last.push(' ');
            last.push_str(line.trim());
        } else {
            entries.push(line.trim().to_owned());
        }
    }
    let mut hyps = Vec::new();
    for entry in entries {
        let entry = entry.strip_suffix(',').unwrap_or(&entry);
        let Some((names, ty)) = entry.split_once(" : ") else {
            continue;
        };
        let ty = normalize(ty);
        for name in names.split_whitespace() {
            hyps.push(Hyp {
                name: name.to_owned(),
                ty: ty.clone(),
            });
        }
    }
    Some(Goal { case, hyps, target })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hypotheses_and_target() {
        let goals = parse_state("a b : ℕ,\nh₀ : a < b\n⊢ b ≠ 0");
        assert_eq!(goals.len(), 1);
        let g = &goals[0];
        assert_eq!(g.case, None);
        let hyps: Vec<(&str, &str)> = g
            .hyps
            .iter()
            .map(|h| (h.name.as_str(), h.ty.as_str()))
            .collect();
        assert_eq!(hyps, [("a", "ℕ"), ("b", "ℕ"), ("h₀", "a < b")]);
        assert_eq!(g.target, "b ≠ 0");
    }

    #[test]
    fn parses_several_goals_with_case_tags() {
        let text = "2 goals\ncase nat.zero\n⊢ 0 + 0 = 0\n\ncase nat.succ\nn : ℕ,\nih : 0 + n = n\n⊢ 0 + n.succ = n.succ";
        let goals = parse_state(text);
        assert_eq!(goals.len(), 2);
        assert_eq!(goals[0].case.as_deref(), Some("nat.zero"));
        assert!(goals[0].hyps.is_empty());
        assert_eq!(goals[0].target, "0 + 0 = 0");
        assert_eq!(goals[1].case.as_deref(), Some("nat.succ"));
        assert_eq!(goals[1].hyp("ih").map(|h| h.ty.as_str()), Some("0 + n = n"));
        assert_eq!(goals[1].target, "0 + n.succ = n.succ");
    }

    #[test]
    fn joins_hypotheses_and_targets_spanning_lines() {
        let text = "x y : ℝ,\nh : 1 / 3 * x ^ 2 +\n    y = 1,\nh' : x ≤ y\n⊢ ∀ (z : ℝ),\n    z = x →\n    z ≤ y";
        let g = &parse_state(text)[0];
        assert_eq!(
            g.hyp("h").map(|h| h.ty.as_str()),
            Some("1 / 3 * x ^ 2 + y = 1")
        );
        assert_eq!(g.hyp("h'").map(|h| h.ty.as_str()), Some("x ≤ y"));
        assert_eq!(g.target, "∀ (z : ℝ), z = x → z ≤ y");
    }

    #[test]
    fn hypothesis_types_may_contain_colons() {
        let g = &parse_state("h : ∀ (x : ℕ), x = x\n⊢ true")[0];
        assert_eq!(g.hyps[0].ty, "∀ (x : ℕ), x = x");
    }

    #[test]
    fn no_goals() {
        assert!(parse_state("").is_empty());
        assert!(parse_state("no goals").is_empty());
    }

    #[test]
    fn inaccessible_names() {
        let g = &parse_state("ᾰ : p,\n_inst_1 : decidable p,\nh : q\n⊢ p")[0];
        let accessible: Vec<&str> = g
            .hyps
            .iter()
            .filter(|h| h.accessible())
            .map(|h| h.name.as_str())
            .collect();
        assert_eq!(accessible, ["h"]);
    }
}
