//! CPU time per cold Sigstore bundle verification, measured the same way as
//! `benches/sigstore_python_verify.py` measures sigstore-python, so that
//! `scripts/bench-verify` can compare the two on the same cases in one run.
//!
//! `cargo run --release -p cragate-verifier --example verify_cpu -- CASES.json SECONDS`
//! prints one JSON line per case: `{"name", "iterations", "wall_us", "cpu_us"}`.
//! CPU time is this thread's time on a CPU (Linux `/proc/thread-self/schedstat`),
//! which other load on the machine affects far less than wall-clock time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use cragate_verifier::sigstore::{
    self, ArtifactInput, Bundle, IdentityPolicy, Matcher, SignerPolicy, TrustRoot,
};
use jiff::Timestamp;
use serde_json::{Value, json};

fn cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let cases: Vec<Value> =
        serde_json::from_slice(&std::fs::read(args.next().expect("CASES.json")).unwrap()).unwrap();
    let seconds: f64 = args.next().map_or(5.0, |s| s.parse().unwrap());
    for case in cases {
        let text = |key: &str| case[key].as_str().unwrap().to_owned();
        let root = TrustRoot::from_json(&std::fs::read(text("root")).unwrap()).unwrap();
        let bundle_json = std::fs::read(text("bundle")).unwrap();
        let artifact = std::fs::read(text("artifact")).unwrap();
        let signer = SignerPolicy::Certificate(IdentityPolicy::new(
            Matcher::Exact(text("identity")),
            Matcher::Exact(text("issuer")),
        ));
        let once = || {
            let bundle = Bundle::from_json(&bundle_json).unwrap();
            let input = ArtifactInput::Bytes(&artifact);
            sigstore::verify(&bundle, input, &root, &signer, Timestamp::now()).unwrap();
        };
        once();
        let (wall, cpu) = (Instant::now(), cpu_ns());
        let mut iterations = 0u32;
        while wall.elapsed().as_secs_f64() < seconds {
            once();
            iterations += 1;
        }
        let per = |total: f64| total / f64::from(iterations);
        let line = json!({
            "name": text("name"),
            "iterations": iterations,
            "wall_us": per(wall.elapsed().as_secs_f64() * 1e6),
            "cpu_us": per((cpu_ns() - cpu) as f64 / 1e3),
        });
        println!("{line}");
    }
}
