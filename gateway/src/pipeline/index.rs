//! The index of accepted artifacts: every digest an accepted listing
//! references, with the size it declares. An artifact is stored or served
//! only when it is here.
//!
//! For the file catalog the index is rebuilt on start by evaluating every
//! stored listing under the policy in force (a listing stored under an
//! older policy that the current one denies contributes nothing). For an
//! HTTP upstream, whose contents the gateway cannot enumerate, it is kept
//! in an append-only file in the data folder, synced on every addition.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use cragate_verifier::Digest;
use cragate_verifier::evidence::Artifact;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct AcceptedIndex {
    sizes: RwLock<HashMap<Digest, u64>>,
    file: Option<PathBuf>,
}

impl AcceptedIndex {
    /// An index kept only in memory.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// An index kept in `path` (created if absent); lines are
    /// `sha256:<hex> <size>`. A line that does not parse stops the start.
    pub fn persistent(path: &Path) -> io::Result<Self> {
        let mut sizes = HashMap::new();
        match std::fs::File::open(path) {
            Ok(file) => {
                for (number, line) in io::BufReader::new(file).lines().enumerate() {
                    let line = line?;
                    let parsed = line.split_once(' ').and_then(|(digest, size)| {
                        Some((digest.parse::<Digest>().ok()?, size.parse::<u64>().ok()?))
                    });
                    let Some((digest, size)) = parsed else {
                        return Err(io::Error::other(format!(
                            "{}:{}: not \"sha256:<hex> <size>\"",
                            path.display(),
                            number.saturating_add(1)
                        )));
                    };
                    sizes.insert(digest, size);
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        Ok(Self {
            sizes: RwLock::new(sizes),
            file: Some(path.to_path_buf()),
        })
    }

    /// Adds the artifacts of an accepted listing (durably, when persistent).
    pub async fn add(&self, artifacts: &[Artifact]) -> io::Result<()> {
        if let Some(path) = self.file.clone() {
            let lines: String = artifacts
                .iter()
                .map(|a| format!("{} {}\n", a.digest, a.size))
                .collect();
            tokio::task::spawn_blocking(move || {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                file.write_all(lines.as_bytes())?;
                file.sync_data()
            })
            .await
            .map_err(|e| io::Error::other(e.to_string()))??;
        }
        let mut sizes = self
            .sizes
            .write()
            .map_err(|_| io::Error::other("accepted index poisoned"))?;
        for artifact in artifacts {
            sizes.insert(artifact.digest, artifact.size);
        }
        Ok(())
    }

    /// The declared size of an accepted artifact; `None` when no accepted
    /// listing references the digest (or the index cannot be read).
    pub fn size(&self, digest: &Digest) -> Option<u64> {
        self.sizes.read().ok()?.get(digest).copied()
    }

    /// How many digests it holds.
    pub fn len(&self) -> usize {
        self.sizes.read().map_or(0, |s| s.len())
    }

    /// Whether it holds no digest.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(byte: u8, size: u64) -> Artifact {
        Artifact {
            name: "a".into(),
            digest: Digest::of(&[byte]),
            size,
            media_type: None,
        }
    }

    #[tokio::test]
    async fn persistent_index_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accepted");
        let index = AcceptedIndex::persistent(&path).unwrap();
        index
            .add(&[artifact(1, 10), artifact(2, 20)])
            .await
            .unwrap();
        let again = AcceptedIndex::persistent(&path).unwrap();
        assert_eq!(again.size(&Digest::of(&[2])), Some(20));
        assert_eq!(again.size(&Digest::of(&[3])), None);
    }

    #[test]
    fn a_damaged_index_file_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accepted");
        std::fs::write(&path, "sha256:zz 1\n").unwrap();
        assert!(AcceptedIndex::persistent(&path).is_err());
    }
}
