//! The rules: each looks at the goal's context and adds scored candidates. They import the
//! framework (`crate::framework`); the framework never imports them.

mod arith;
mod equiv;
mod exact;
mod general;
mod hypotheses;
mod lemmas;
mod relation;
mod roots;
mod squares;
mod target;
mod variables;

use crate::framework::candidates::Candidates;
use crate::framework::context::Ctx;
use crate::framework::predicates::{has_big_numbers, has_long_numeral_range};
use crate::framework::state::Goal;
use crate::framework::tactics::TacticSet;
use exact::exact_matches;
use general::general;
use hypotheses::{by_equation_schemes, by_hypotheses};
use target::by_target;
use variables::by_variables;

/// Candidates for the first goal of a state with `num_goals` goals.
pub fn candidates(goal: &Goal, tactics: &TacticSet) -> Candidates {
    let ctx = Ctx::new(goal, tactics);
    let mut out = Candidates::default();
    exact_matches(&ctx, &mut out);
    by_target(&ctx, &mut out);
    by_hypotheses(&ctx, &mut out);
    by_equation_schemes(&ctx, &mut out);
    by_variables(&ctx, &mut out);
    lemmas::order_steps(&ctx, &mut out);
    lemmas::core_arith_steps(&ctx, &mut out);
    arith::steps(&ctx, &mut out);
    squares::completed_squares(&ctx, &mut out);
    roots::factor_at_root(&ctx, &mut out);
    roots::cancel_nonzero_factor(&ctx, &mut out);
    equiv::equivalences(&ctx, &mut out);
    general(&ctx, &mut out);
    if has_big_numbers(&goal.target) || has_long_numeral_range(&goal.target) {
        // The kernel would evaluate these by unary recursion, or element by element: a
        // wall-clock timeout (and a restarted Lean worker), or seconds before a failure.
        for slow in ["exact dec_trivial", "refl", "decide"] {
            out.remove(slow);
        }
    }
    out
}
