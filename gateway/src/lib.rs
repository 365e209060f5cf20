//! cragate's gateway: every layer of the `cragate` binary, exported so that
//! routing, the pipeline and the ledger can be tested without a socket.
//!
//! Dependencies point down only:
//!
//! ```text
//! cli -> server -> routes -> pipeline -> upstream, ledger, recall -> config -> http -> verifier
//! ```
//!
//! - [`http`]: the primitives every layer uses: bodies, errors and the one
//!   function that turns them into responses, limits, offloaded hashing,
//!   admin credentials, bounded file reads.
//! - [`config`]: the validated configuration, route rules, policies.
//! - [`ledger`] and [`upstream`]: where decisions are recorded and where
//!   products are stored or fetched.
//! - [`recall`]: halt notices in force (beside the ledger, which records
//!   them).
//! - [`pipeline`]: the phases a product request goes through, and the
//!   state they share.
//! - [`gate`]: importer shipment gating (`cragate gate`), beside the
//!   pipeline.
//! - [`routes`]: which request goes where, and what each route does.
//! - [`server`]: listeners, TLS, worker threads: what starts and runs the
//!   process.
//! - [`cli`]: the commands.

#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod gate;
pub mod http;
pub mod ledger;
pub mod pipeline;
pub mod recall;
pub mod routes;
pub mod server;
pub mod upstream;

#[cfg(test)]
mod layers {
    //! The layering drawn at the top of this file, checked on the sources:
    //! a `crate::` path in code (not in comments) may name only its own
    //! layer or one below it.

    use std::path::Path;

    /// Each layer's rank: a module may use modules of the same or a lower
    /// rank only.
    const RANKS: [(&str, u8); 10] = [
        ("http", 1),
        ("config", 2),
        ("ledger", 3),
        ("upstream", 3),
        ("recall", 3),
        ("pipeline", 4),
        ("gate", 4),
        ("routes", 5),
        ("server", 6),
        ("cli", 7),
    ];

    fn rank(name: &str) -> Option<u8> {
        RANKS.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
    }

    fn sources(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    #[test]
    fn layers_depend_downwards_only() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut upward = Vec::new();
        for file in &files {
            let relative = file.strip_prefix(&src).unwrap();
            let top = relative.components().next().unwrap().as_os_str();
            let top = top.to_str().unwrap().trim_end_matches(".rs");
            let Some(own) = rank(top) else { continue };
            let text = std::fs::read_to_string(file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for (at, _) in code.match_indices("crate::") {
                    let name: String = code[at + "crate::".len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if rank(&name).is_some_and(|other| other > own) {
                        upward.push(format!("{}:{}: {top} -> {name}", relative.display(), n + 1));
                    }
                }
            }
        }
        assert!(files.len() > 20, "the sources were not found");
        assert!(
            upward.is_empty(),
            "imports that point up:\n{}",
            upward.join("\n")
        );
    }
}
