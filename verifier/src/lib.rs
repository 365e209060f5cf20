//! cragate's verification core.
//!
//! Everything here is a pure function of its inputs: no network, no files and
//! no clock. Callers pass bytes, trust material and the time at which the
//! evaluation happens; what passes comes back as a value only this crate can
//! build (for example [`sigstore::VerifiedBundle`]), so the gateway can only
//! forward or record what was really verified.

#![forbid(unsafe_code)]

pub mod applicability;
pub mod catalog;
pub mod ce;
pub mod cosign;
pub mod digest;
pub mod doc;
pub mod evidence;
pub mod halt;
pub mod json;
pub mod limits;
pub mod policy;
pub mod sbom;
pub mod signatures;
pub mod sigstore;
pub mod verdict;

pub use digest::{Digest, DigestError, Hasher};
