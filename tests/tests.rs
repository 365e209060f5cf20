//! End-to-end tests: they run the real `cragate` binary.

// Tests may unwrap and index: a panic is a test failure with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod accepted_stores;
mod cli_files;
mod cluster;
mod cluster_accepted;
mod cluster_halts;
mod conformance;
mod cra_check;
mod gate;
mod gate_upstreams;
mod halt_cli;
mod halt_util;
mod ledger;
mod ledger_crash;
mod ledger_stores;
mod oci;
mod oci_auth;
mod oci_util;
mod outbox_stores;
mod pg_listen;
mod pipeline;
mod postgres_util;
mod readme;
mod recall_chain;
mod recall_feed;
mod serve;
mod serve_admin;
mod serve_artifacts;
mod serve_budget;
mod serve_halts;
mod serve_http;
mod serve_judging;
mod serve_keepalive;
mod serve_paths;
mod serve_stall;
mod serve_tls;
mod serve_util;
mod util;
mod verify_bundle;
