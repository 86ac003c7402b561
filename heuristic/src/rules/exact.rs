//! Hypotheses that are the target, or give it at once (`exact h`, `exact ⟨h₁, h₂⟩`, `h.1`).

use crate::framework::candidates::{CERTAIN, Candidates, LIKELY, OBVIOUS, POSSIBLE, UNLIKELY};
use crate::framework::context::Ctx;
use crate::framework::predicates::{conclusion, could_conclude};
use crate::framework::term::{Shape, same_term, shape};

/// Hypotheses that are the target, or give it at once.
pub(crate) fn exact_matches(ctx: &Ctx, out: &mut Candidates) {
    let target = &ctx.goal.target;
    let mut matched = false;
    for h in ctx.hyps.iter().filter(|h| h.is_prop) {
        if same_term(&h.hyp.ty, target) {
            matched = true;
            if h.hyp.accessible() {
                out.add(format!("exact {}", h.hyp.name), CERTAIN);
            } else {
                out.add("assumption", CERTAIN);
            }
        }
    }
    for h in ctx.facts() {
        let name = &h.hyp.name;
        match &h.shape {
            Shape::And(a, b) => {
                for (path, part) in conjunct_paths(a, b) {
                    if same_term(&part, target) {
                        matched = true;
                        out.add(format!("exact {name}{path}"), CERTAIN);
                    }
                }
            }
            Shape::Iff(a, b) => {
                if let Some(g) = ctx.fact_matching(a).filter(|_| same_term(b, target)) {
                    out.add(format!("exact {name}.1 {}", g.name), CERTAIN);
                }
                if let Some(g) = ctx.fact_matching(b).filter(|_| same_term(a, target)) {
                    out.add(format!("exact {name}.2 {}", g.name), CERTAIN);
                }
                if same_term(b, target) {
                    out.add(format!("apply {name}.1"), LIKELY);
                }
                if same_term(a, target) {
                    out.add(format!("apply {name}.2"), LIKELY);
                }
            }
            Shape::Not(a) => {
                if let Some(g) = ctx.fact_matching(a) {
                    matched = true;
                    if ctx.target == Shape::False {
                        out.add(format!("exact {name} {}", g.name), CERTAIN);
                    } else {
                        out.add(format!("exact absurd {} {name}", g.name), CERTAIN);
                    }
                } else if ctx.target == Shape::False {
                    out.add(format!("apply {name}"), OBVIOUS);
                }
            }
            Shape::Imp(a, b) if same_term(b, target) => {
                if let Some(g) = ctx.fact_matching(a) {
                    matched = true;
                    out.add(format!("exact {name} {}", g.name), CERTAIN);
                } else {
                    out.add(format!("apply {name}"), OBVIOUS);
                }
            }
            Shape::False => {
                matched = true;
                out.add(format!("cases {name}"), CERTAIN);
            }
            _ => {}
        }
        // `∀ x, … → c` whose conclusion looks like the target.
        let (concl, premises) = conclusion(&h.hyp.ty);
        if premises > 0 && could_conclude(&concl, target) {
            let score = if same_term(&concl, target) {
                OBVIOUS
            } else if matches!(shape(&concl), Shape::Rel(..)) {
                POSSIBLE
            } else {
                LIKELY
            };
            out.add(format!("apply {name}"), score);
        }
    }
    // Conjunction targets whose parts are all hypotheses.
    if let Shape::And(a, b) = &ctx.target {
        let parts = flatten_and(a, b);
        let names: Option<Vec<&str>> = parts
            .iter()
            .map(|p| ctx.fact_matching(p).map(|h| h.name.as_str()))
            .collect();
        if let Some(names) = names {
            matched = true;
            out.add(format!("exact ⟨{}⟩", names.join(", ")), CERTAIN);
        }
    }
    if let Shape::Iff(a, b) = &ctx.target {
        let forward = ctx.fact_matching(&format!("{a} → {b}"));
        let backward = ctx.fact_matching(&format!("{b} → {a}"));
        if let (Some(f), Some(g)) = (forward, backward) {
            matched = true;
            out.add(format!("exact ⟨{}, {}⟩", f.name, g.name), CERTAIN);
        }
    }
    if !matched {
        // Matches up to definitional unfolding that the text does not show.
        out.add("assumption", UNLIKELY);
    }
}

/// `(".1", a), (".2.1", b1), …` for the conjuncts of `a ∧ b` (two levels deep).
pub(crate) fn conjunct_paths(a: &str, b: &str) -> Vec<(String, String)> {
    let mut out = vec![
        (".1".to_owned(), a.to_owned()),
        (".2".to_owned(), b.to_owned()),
    ];
    if let Shape::And(b1, b2) = shape(b) {
        out.push((".2.1".to_owned(), b1));
        out.push((".2.2".to_owned(), b2));
    }
    if let Shape::And(a1, a2) = shape(a) {
        out.push((".1.1".to_owned(), a1));
        out.push((".1.2".to_owned(), a2));
    }
    out
}

/// The conjuncts of `a ∧ b`, right-nested conjunctions flattened.
pub(crate) fn flatten_and(a: &str, b: &str) -> Vec<String> {
    let mut parts = vec![a.to_owned()];
    let mut rest = b.to_owned();
    loop {
        match shape(&rest) {
            Shape::And(x, y) if !rest.trim_start().starts_with('(') => {
                parts.push(x);
                rest = y;
            }
            _ => {
                parts.push(rest);
                return parts;
            }
        }
    }
}
