//! Bounded reads of files named on the command line or in the
//! configuration: nothing past the limit is read.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::Context;

/// Reads at most `limit` bytes of a file; a larger file is an error that
/// names the limit, and nothing past it is read.
pub fn read_file_limited(path: &Path, limit: usize, what: &str) -> anyhow::Result<Vec<u8>> {
    let file =
        File::open(path).with_context(|| format!("cannot open {what} {}", path.display()))?;
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    file.take(cap)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if bytes.len() > limit {
        anyhow::bail!(
            "{what} {} is over the limit of {limit} bytes",
            path.display()
        );
    }
    Ok(bytes)
}
