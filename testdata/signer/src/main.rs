//! Writes cragate's signed test vectors.
//!
//! `cargo run -p cragate-test-signer [-- OUT_DIR]`; the default is
//! `testdata/signed/` beside this crate. Every run writes the same bytes.

use std::path::PathBuf;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let out = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../signed"),
        PathBuf::from,
    );
    let files = cragate_test_signer::cases::render().context("generating the vectors")?;
    for (relative, bytes) in &files {
        let path = out.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("wrote {} files under {}", files.len(), out.display());
    Ok(())
}
