//! Who may call what. Every request passes one tower layer ([`layer::AuthLayer`]) before any
//! service sees it: the Raft service admits only peers presenting a node certificate of the
//! cluster's CA; every other call needs a bearer token whose role allows it (when the node has
//! tokens configured). Wrong or missing tokens get UNAUTHENTICATED, a role without the right
//! PERMISSION_DENIED, and the node logs who was refused.
//!
//! - [`policy`]: roles, which calls each allows, and the token table (SHA-256 of each token).
//! - [`layer`]: the tower layer that applies the policy to every request.

pub mod layer;
pub mod policy;

pub use layer::AuthLayer;
pub use policy::{Caller, Policy, Role, TokenEntry};
