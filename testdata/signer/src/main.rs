//! Writes cragate's signed test vectors.
//!
//! `cargo run -p cragate-test-signer [-- TESTDATA_DIR]`; the default is
//! `testdata/` above this crate. It writes `signed/` (Sigstore bundles and
//! the instance's trusted root) and `cra-signed/` (signed CRA listings built
//! on `cra/firewall_class_ii_bc_pass/listing.json`). Every run writes the
//! same bytes.

use std::path::PathBuf;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let testdata = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
        PathBuf::from,
    );
    let base_path = testdata.join(cragate_test_signer::cra::BASE_LISTING);
    let base: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&base_path).with_context(|| format!("reading {}", base_path.display()))?,
    )
    .with_context(|| format!("parsing {}", base_path.display()))?;
    write_all(
        &testdata.join("signed"),
        &cragate_test_signer::cases::render()?,
    )?;
    write_all(
        &testdata.join("cra-signed"),
        &cragate_test_signer::cra::render(&base)?,
    )?;
    Ok(())
}

fn write_all(
    out: &std::path::Path,
    files: &std::collections::BTreeMap<String, Vec<u8>>,
) -> anyhow::Result<()> {
    for (relative, bytes) in files {
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
