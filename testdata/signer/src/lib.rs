//! A private Sigstore-like instance in miniature, for cragate's tests.
//!
//! Everything is derived from a fixed seed and a fixed time, so the
//! vectors it writes are byte-for-byte reproducible.

pub mod bundle;
pub mod ca;
pub mod cases;
pub mod cra;
pub mod error;
pub mod identity;
pub mod instance;
pub mod keys;
pub mod merkle;
pub mod oci;
pub mod rekor;
pub mod sct;

pub use error::SignerError;

pub use identity::{Claim, Identity, San};
pub use instance::{DEFAULT_SEED, Fault, Instance, Payload, SigningRequest, Statement, Subject};
