//! The primitives every layer of the gateway uses: bodies, the gateway's
//! errors and the one function that turns them into responses, limits and
//! the budget of listing bytes in flight, the pace of streamed bodies,
//! request paths, hashing offloaded to a thread, admin credentials,
//! bounded file reads, per-process temporary folders, and the Standard
//! Webhooks signatures and CloudEvents bodies of notifications. Nothing
//! here knows about routes, the pipeline or the server.

pub mod auth;
pub mod body;
pub mod budget;
pub mod cloudevent;
pub mod error;
pub mod files;
pub mod limits;
pub mod oci_error;
pub mod offload;
pub mod pace;
pub mod path;
pub mod temp;
pub mod watch;
pub mod webhook;
