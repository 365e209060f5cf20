//! The embedded file catalog: listings under `listings/<id>.json`,
//! artifacts under `artifacts/sha256/<hex>`, temporary files under
//! `.tmp/<pid>/`, one folder per process (same file system, so that a
//! rename puts a file in place at once).
//!
//! Every write goes to a temporary file that is synced and then renamed
//! into place, and the folder is synced after: a reader, a crash or a
//! SIGTERM sees the old file or the new one, never part of one.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use cragate_verifier::Digest;
use cragate_verifier::evidence::ProductId;
use tempfile::NamedTempFile;
use tokio::io::AsyncReadExt;

use crate::http::temp::ProcessTemp;

/// Most listings one catalog page lists.
pub const MAX_PAGE: usize = 100;

/// A file catalog rooted at a folder.
#[derive(Debug, Clone)]
pub struct FileCatalog {
    root: PathBuf,
    temp: Arc<ProcessTemp>,
}

impl FileCatalog {
    /// Opens (creating its folders) the catalog at `root`, with a
    /// temporary folder of this process ([`ProcessTemp`]: those that
    /// processes no longer running left behind are removed, those of a
    /// running one are left alone).
    pub fn open(root: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(root.join("listings"))?;
        std::fs::create_dir_all(root.join("artifacts/sha256"))?;
        let temp = ProcessTemp::create(&root.join(".tmp"))?;
        Ok(Self {
            root: root.to_path_buf(),
            temp: Arc::new(temp),
        })
    }

    /// Where this process's temporary files go.
    pub fn temp_dir(&self) -> PathBuf {
        self.temp.path().to_path_buf()
    }

    /// The catalog's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stores a listing under its product id.
    pub async fn store_listing(&self, id: &ProductId, bytes: Bytes) -> io::Result<()> {
        let target = self.listings().join(format!("{id}.json"));
        let temp_dir = self.temp_dir();
        blocking(move || {
            let mut temp = NamedTempFile::new_in(temp_dir)?;
            io::Write::write_all(&mut temp, &bytes)?;
            temp.as_file().sync_all()?;
            put_in_place(temp, &target)
        })
        .await
    }

    /// Moves a synced temporary file into place as the artifact `digest`.
    pub async fn store_artifact(&self, temp: NamedTempFile, digest: Digest) -> io::Result<()> {
        let target = self.artifact_path(digest);
        blocking(move || put_in_place(temp, &target)).await
    }

    /// The listing stored under `id`, read up to `limit` bytes.
    pub async fn listing(&self, id: &ProductId, limit: u64) -> io::Result<Option<Bytes>> {
        let path = self.listings().join(format!("{id}.json"));
        let file = match tokio::fs::File::open(path).await {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let mut bytes = Vec::new();
        file.take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .await?;
        if bytes.len() as u64 > limit {
            return Err(io::Error::other(format!("{id}.json is over {limit} bytes")));
        }
        Ok(Some(Bytes::from(bytes)))
    }

    /// Up to `limit` product ids after `after`, in order, and whether more follow.
    pub async fn page(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> io::Result<(Vec<String>, bool)> {
        let ids = {
            let listings = self.listings();
            blocking(move || list_ids(&listings)).await?
        };
        let mut page: Vec<String> = ids
            .into_iter()
            .filter(|id| after.as_ref().is_none_or(|after| id > after))
            .take(limit.saturating_add(1))
            .collect();
        let more = page.len() > limit;
        page.truncate(limit);
        Ok((page, more))
    }

    /// The artifact file and its length, if stored.
    pub async fn open_artifact(
        &self,
        digest: Digest,
    ) -> io::Result<Option<(tokio::fs::File, u64)>> {
        match tokio::fs::File::open(self.artifact_path(digest)).await {
            Ok(file) => {
                let length = file.metadata().await?.len();
                Ok(Some((file, length)))
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Every stored listing's bytes, for rebuilding the accepted index on
    /// start.
    pub fn all_listings(&self, limit: u64) -> io::Result<Vec<(String, Vec<u8>)>> {
        let mut out = Vec::new();
        for id in list_ids(&self.listings())? {
            let path = self.listings().join(format!("{id}.json"));
            let bytes = crate::http::files::read_file_limited(&path, limit as usize, "listing")
                .map_err(|e| io::Error::other(format!("{e:#}")))?;
            out.push((id, bytes));
        }
        Ok(out)
    }

    fn listings(&self) -> PathBuf {
        self.root.join("listings")
    }

    fn artifact_path(&self, digest: Digest) -> PathBuf {
        self.root.join("artifacts/sha256").join(digest.hex())
    }
}

fn list_ids(folder: &Path) -> io::Result<Vec<String>> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let name = entry?.file_name();
        if let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json"))
            && id.parse::<ProductId>().is_ok()
        {
            ids.push(id.to_owned());
        }
    }
    ids.sort();
    Ok(ids)
}

fn put_in_place(temp: NamedTempFile, target: &Path) -> io::Result<()> {
    temp.persist(target).map_err(|e| e.error)?;
    if let Some(folder) = target.parent() {
        std::fs::File::open(folder)?.sync_all()?;
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| io::Error::other(format!("storage task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn listings_are_stored_and_paged() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = FileCatalog::open(dir.path()).unwrap();
        for id in ["b", "a", "c"] {
            catalog
                .store_listing(&id.parse().unwrap(), Bytes::from_static(b"{}"))
                .await
                .unwrap();
        }
        let (page, more) = catalog.page(None, 2).await.unwrap();
        assert_eq!((page, more), (vec!["a".to_owned(), "b".to_owned()], true));
        let (page, more) = catalog.page(Some("b".into()), 2).await.unwrap();
        assert_eq!((page, more), (vec!["c".to_owned()], false));
        let id = |id: &str| id.parse::<ProductId>().unwrap();
        assert_eq!(catalog.listing(&id("a"), 10).await.unwrap().unwrap(), "{}");
        assert!(catalog.listing(&id("a"), 1).await.is_err());
        assert!(catalog.listing(&id("zz"), 10).await.unwrap().is_none());
        let leftovers = std::fs::read_dir(catalog.temp_dir()).unwrap().count();
        assert_eq!(leftovers, 0);
    }
}
