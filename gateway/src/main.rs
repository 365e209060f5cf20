//! `cragate`: a CRA compliance gateway. See the README for what each
//! command does.

#![forbid(unsafe_code)]

mod cli;
mod config;
mod policies;
mod routes;
mod server;
mod trust_roots;
mod upstream;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
