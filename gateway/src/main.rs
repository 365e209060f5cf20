//! `cragate`: a CRA compliance gateway. See the README for what each
//! command does.

#![forbid(unsafe_code)]

mod cli;
mod policies;
mod trust_roots;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
