//! End-to-end tests: they run the real `cragate` binary.

// Tests may unwrap: a failure is a test failure with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod conformance;
mod ledger;
mod util;
mod verify_bundle;
