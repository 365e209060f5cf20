//! cragate's gateway library: the parts of the `cragate` binary that other
//! code (the server, the tests, the benchmarks) calls directly.

#![forbid(unsafe_code)]

pub mod ledger;
