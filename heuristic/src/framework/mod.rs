//! The framework the rules are written in: reading states and terms as Lean prints them, the
//! tactics at hand, a goal's context, the candidate list and its score levels. Nothing here
//! imports a rule.

pub(crate) mod candidates;
pub(crate) mod context;
pub(crate) mod poly;
pub(crate) mod predicates;
pub mod state;
pub mod tactics;
pub mod term;
