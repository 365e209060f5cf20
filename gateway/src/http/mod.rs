//! The primitives every layer of the gateway uses: bodies, the gateway's
//! errors and the one function that turns them into responses, limits and
//! the budget of listing bytes in flight, request paths, hashing offloaded
//! to a thread, admin credentials and bounded file reads. Nothing here
//! knows about routes, the pipeline or the server.

pub mod auth;
pub mod body;
pub mod budget;
pub mod error;
pub mod files;
pub mod limits;
pub mod oci_error;
pub mod offload;
pub mod path;
