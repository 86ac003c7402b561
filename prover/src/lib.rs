//! The prover's library half: everything the `prover` binary glues together.

pub mod model;
