//! Search behaviour on toy proof worlds (see [`crate::testing`]).

mod batching;
mod export;
mod limits;
mod order;
mod proofs;
mod recovery;
