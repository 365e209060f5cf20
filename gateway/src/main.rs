//! `cragate`: a CRA compliance gateway. See the README for what each
//! command does.

#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    cragate::cli::run()
}
