//! What the server does for each message. A request runs on its own task with a
//! [`GlobalStateSnapshot`](super::global_state::GlobalStateSnapshot) and returns its method's
//! result or a [`RequestError`](super::error::RequestError); a notification changes the
//! [`GlobalState`](super::global_state::GlobalState) in the order the client sent it. None of
//! them reads messages or answers them: the main loop does.

pub mod notification;
pub mod request;
