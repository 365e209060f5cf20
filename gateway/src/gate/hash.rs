//! Hashing artifact files from disk in constant memory: one buffer per
//! worker, whatever the file's size.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use cragate_verifier::{Digest, Hasher};

/// Bytes read at a time.
pub const CHUNK_BYTES: usize = 1024 * 1024;

/// SHA-256 and size of the file at `path`, read in [`CHUNK_BYTES`] chunks;
/// `progress` is told the size of each chunk as it is hashed.
pub fn file(path: &Path, progress: &dyn Fn(u64)) -> std::io::Result<(Digest, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Hasher::new();
    let mut buffer = vec![0u8; CHUNK_BYTES];
    let mut size = 0u64;
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(buffer.get(..read).unwrap_or_default());
        let read = u64::try_from(read).unwrap_or(u64::MAX);
        size = size.saturating_add(read);
        progress(read);
    }
    Ok((hasher.finish(), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_larger_than_the_buffer_hashes_as_a_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        let bytes: Vec<u8> = (0..CHUNK_BYTES * 2 + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let seen = std::sync::atomic::AtomicU64::new(0);
        let (digest, size) = file(&path, &|n| {
            seen.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(digest, Digest::of(&bytes));
        assert_eq!(size, bytes.len() as u64);
        assert_eq!(seen.into_inner(), size);
    }
}
