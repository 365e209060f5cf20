//! End-to-end tests of the real `cragate` binary.

// Tests may unwrap and index: a panic is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cra_check;
