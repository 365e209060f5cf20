//! The index of accepted artifacts: every digest an accepted listing
//! references, with the size it declares. An artifact is stored or served
//! only when it is here.
//!
//! For the file catalog the index is rebuilt on start by evaluating every
//! stored listing under the policy in force (a listing stored under an
//! older policy that the current one denies contributes nothing). For an
//! HTTP upstream, whose contents the gateway cannot enumerate, it is kept
//! in an append-only file in the data folder, synced on every addition.
//!
//! Each digest also remembers which products (id and version) reference
//! it, so that a download or an upload of an artifact of a halted product
//! is refused (CRA Art. 20(3)); a line of the file written before owners
//! were kept has none, and only halts naming the digest reach it.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use cragate_verifier::Digest;
use cragate_verifier::evidence::{Artifact, ProductId};

/// A product that references an artifact: its id and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// `product.id`.
    pub product: ProductId,
    /// `product.version`.
    pub version: String,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct AcceptedIndex {
    sizes: RwLock<HashMap<Digest, u64>>,
    owners: RwLock<HashMap<Digest, Vec<Owner>>>,
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
        let mut owners: HashMap<Digest, Vec<Owner>> = HashMap::new();
        match std::fs::File::open(path) {
            Ok(file) => {
                for (number, line) in io::BufReader::new(file).lines().enumerate() {
                    let line = line?;
                    let Some((digest, size, owner)) = parse_line(&line) else {
                        return Err(io::Error::other(format!(
                            "{}:{}: not \"sha256:<hex> <size> [<product> <version>]\"",
                            path.display(),
                            number.saturating_add(1)
                        )));
                    };
                    sizes.insert(digest, size);
                    if let Some(owner) = owner {
                        let known = owners.entry(digest).or_default();
                        if !known.contains(&owner) {
                            known.push(owner);
                        }
                    }
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        Ok(Self {
            sizes: RwLock::new(sizes),
            owners: RwLock::new(owners),
            file: Some(path.to_path_buf()),
        })
    }

    /// Adds the artifacts of an accepted listing of `owner` (durably, when
    /// persistent).
    pub async fn add(&self, artifacts: &[Artifact], owner: &Owner) -> io::Result<()> {
        if let Some(path) = self.file.clone() {
            let lines: String = artifacts
                .iter()
                .map(|a| {
                    // The version is the rest of the line, so it may hold spaces.
                    let version = owner.version.replace(['\r', '\n'], " ");
                    format!("{} {} {} {version}\n", a.digest, a.size, owner.product)
                })
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
        drop(sizes);
        let mut owners = self
            .owners
            .write()
            .map_err(|_| io::Error::other("accepted index poisoned"))?;
        for artifact in artifacts {
            let known = owners.entry(artifact.digest).or_default();
            if !known.contains(owner) {
                known.push(owner.clone());
            }
        }
        Ok(())
    }

    /// The products that reference an accepted artifact.
    pub fn owners(&self, digest: &Digest) -> Vec<Owner> {
        self.owners
            .read()
            .ok()
            .and_then(|o| o.get(digest).cloned())
            .unwrap_or_default()
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

/// `sha256:<hex> <size>`, optionally followed by ` <product> <version>`.
fn parse_line(line: &str) -> Option<(Digest, u64, Option<Owner>)> {
    let mut parts = line.splitn(4, ' ');
    let digest = parts.next()?.parse::<Digest>().ok()?;
    let size = parts.next()?.parse::<u64>().ok()?;
    let owner = match (parts.next(), parts.next()) {
        (None, _) => None,
        (Some(product), version) => Some(Owner {
            product: product.parse().ok()?,
            version: version.unwrap_or_default().to_owned(),
        }),
    };
    Some((digest, size, owner))
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
        let owner = Owner {
            product: "cam-1".parse().unwrap(),
            version: "2.8.0 beta".into(),
        };
        index
            .add(&[artifact(1, 10), artifact(2, 20)], &owner)
            .await
            .unwrap();
        let again = AcceptedIndex::persistent(&path).unwrap();
        assert_eq!(again.size(&Digest::of(&[2])), Some(20));
        assert_eq!(again.size(&Digest::of(&[3])), None);
        assert_eq!(again.owners(&Digest::of(&[2])), vec![owner]);
    }

    #[test]
    fn index_lines_without_an_owner_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accepted");
        let digest = Digest::of(b"x");
        std::fs::write(&path, format!("{digest} 5\n")).unwrap();
        let index = AcceptedIndex::persistent(&path).unwrap();
        assert_eq!(index.size(&digest), Some(5));
        assert!(index.owners(&digest).is_empty());
    }

    #[test]
    fn a_damaged_index_file_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accepted");
        std::fs::write(&path, "sha256:zz 1\n").unwrap();
        assert!(AcceptedIndex::persistent(&path).is_err());
    }
}
