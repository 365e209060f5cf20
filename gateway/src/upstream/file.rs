//! The embedded file catalog: listings under `listings/<id>.json`,
//! artifacts under `artifacts/sha256/<hex>`, temporary files under `.tmp/`
//! (same file system, so that a rename puts a file in place at once).
//!
//! Every write goes to a temporary file that is synced and then renamed
//! into place, and the folder is synced after: a reader, a crash or a
//! SIGTERM sees the old file or the new one, never part of one.

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use cragate_verifier::Digest;
use tempfile::NamedTempFile;
use tokio::io::AsyncReadExt;

/// Most listings one catalog page lists.
pub const MAX_PAGE: usize = 100;

/// A file catalog rooted at a folder.
#[derive(Debug, Clone)]
pub struct FileCatalog {
    root: PathBuf,
}

impl FileCatalog {
    /// Opens (creating its folders) the catalog at `root`, and removes
    /// temporary files an earlier process left behind.
    pub fn open(root: &Path) -> io::Result<Self> {
        let catalog = Self {
            root: root.to_path_buf(),
        };
        std::fs::create_dir_all(catalog.listings())?;
        std::fs::create_dir_all(catalog.root.join("artifacts/sha256"))?;
        let temp = catalog.temp_dir();
        if temp.exists() {
            std::fs::remove_dir_all(&temp)?;
        }
        std::fs::create_dir_all(temp)?;
        Ok(catalog)
    }

    /// Where temporary files go.
    pub fn temp_dir(&self) -> PathBuf {
        self.root.join(".tmp")
    }

    /// Stores a listing under its product id.
    pub async fn store_listing(&self, id: &str, bytes: Bytes) -> io::Result<()> {
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
    pub async fn listing(&self, id: &str, limit: u64) -> io::Result<Option<Bytes>> {
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

/// Longest product id the catalog stores, in bytes: a file name of
/// `<id>.json` stays far below the 255 bytes file systems allow.
pub const MAX_ID_BYTES: usize = 128;

/// Whether `id` is usable as a file name in the catalog: letters, digits,
/// `.`, `_`, `-`, not starting with `.`, at most [`MAX_ID_BYTES`].
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_BYTES
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn list_ids(folder: &Path) -> io::Result<Vec<String>> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let name = entry?.file_name();
        if let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json"))
            && is_safe_id(id)
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

    #[test]
    fn unsafe_ids_are_refused() {
        for bad in ["", ".hidden", "a/b", "..", "a b", &"x".repeat(129)] {
            assert!(!is_safe_id(bad), "{bad:?}");
        }
        assert!(is_safe_id("acme-cam_x200.v2"));
    }

    #[tokio::test]
    async fn listings_are_stored_and_paged() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = FileCatalog::open(dir.path()).unwrap();
        for id in ["b", "a", "c"] {
            catalog
                .store_listing(id, Bytes::from_static(b"{}"))
                .await
                .unwrap();
        }
        let (page, more) = catalog.page(None, 2).await.unwrap();
        assert_eq!((page, more), (vec!["a".to_owned(), "b".to_owned()], true));
        let (page, more) = catalog.page(Some("b".into()), 2).await.unwrap();
        assert_eq!((page, more), (vec!["c".to_owned()], false));
        assert_eq!(catalog.listing("a", 10).await.unwrap().unwrap(), "{}");
        assert!(catalog.listing("a", 1).await.is_err());
        assert!(catalog.listing("zz", 10).await.unwrap().is_none());
        let leftovers = std::fs::read_dir(catalog.temp_dir()).unwrap().count();
        assert_eq!(leftovers, 0);
    }
}
