//! `--publish`: accepted items go into the catalog once their decisions
//! are on the ledger: the stamped listing (so the importer's details go
//! with the product, Art. 19(4)) and each artifact, copied from the
//! shipment and hashed again on the way, so that a file changed since it
//! was judged is not published.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use cragate_verifier::Hasher;
use tempfile::NamedTempFile;

use super::item::Judgement;
use super::manifest::Shipment;
use crate::upstream::FileCatalog;

/// Where accepted items are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The embedded file catalog at this folder (`dir:PATH`).
    Dir(PathBuf),
    /// An HTTP catalog (`http(s)://HOST:PORT`).
    Http(String),
}

impl Target {
    /// `dir:PATH` or `http(s)://...`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(path) = text.strip_prefix("dir:") {
            return Ok(Self::Dir(PathBuf::from(path)));
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            return Ok(Self::Http(text.to_owned()));
        }
        Err(format!(
            "publish target {text:?} must be dir:PATH or http(s)://HOST:PORT"
        ))
    }
}

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The catalog could not be written.
    #[error("cannot publish {what} to the catalog {catalog}: {source}")]
    Io {
        /// What was being published.
        what: String,
        /// The catalog.
        catalog: String,
        /// The failure.
        source: io::Error,
    },
    /// An artifact changed after it was judged.
    #[error("{file} changed after it was judged: not published")]
    Changed {
        /// The file.
        file: String,
    },
    /// Publishing to an HTTP catalog is not built yet.
    #[error(
        "publishing to an HTTP catalog ({0}) is not implemented yet: publish to dir:PATH, or submit the accepted listings through `cragate serve`"
    )]
    HttpNotImplemented(String),
    /// The runtime for the catalog's writes could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(io::Error),
}

/// Publishes every accepted item of `shipment` to `target`.
pub fn publish(
    target: &Target,
    shipment: &Shipment,
    judgements: &[Option<Judgement>],
) -> Result<usize, PublishError> {
    let root = match target {
        Target::Dir(root) => root,
        Target::Http(url) => return Err(PublishError::HttpNotImplemented(url.clone())),
    };
    let io_error = |what: &str, source| PublishError::Io {
        what: what.to_owned(),
        catalog: root.display().to_string(),
        source,
    };
    let catalog = FileCatalog::open(root).map_err(|e| io_error("anything", e))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(PublishError::Runtime)?;
    let mut published = 0;
    for (entry, judgement) in shipment.items.iter().zip(judgements) {
        let (Ok(_), Some(Judgement::Judged(judged))) = (entry, judgement) else {
            continue;
        };
        if !judged.accepted() {
            continue;
        }
        for artifact in &judged.artifacts {
            let temp = copy_checked(&artifact.file, &catalog.temp_dir(), artifact).map_err(
                |e| match e {
                    Copy::Io(source) => io_error(&artifact.name, source),
                    Copy::Changed => PublishError::Changed {
                        file: artifact.file.display().to_string(),
                    },
                },
            )?;
            runtime
                .block_on(catalog.store_artifact(temp, artifact.digest))
                .map_err(|e| io_error(&artifact.name, e))?;
        }
        let id = judged.listing.product_id();
        runtime
            .block_on(catalog.store_listing(id, Bytes::from(judged.listing_bytes.clone())))
            .map_err(|e| io_error(&format!("listing {id}"), e))?;
        published += 1;
    }
    Ok(published)
}

enum Copy {
    Io(io::Error),
    Changed,
}

/// Copies `file` into a synced temporary file in `temp_dir`, hashing it on
/// the way; refuses it when it is no longer the artifact judged.
fn copy_checked(
    file: &Path,
    temp_dir: &Path,
    artifact: &super::item::ArtifactCheck,
) -> Result<NamedTempFile, Copy> {
    let mut source = std::fs::File::open(file).map_err(Copy::Io)?;
    let mut temp = NamedTempFile::new_in(temp_dir).map_err(Copy::Io)?;
    let mut hasher = Hasher::new();
    let mut buffer = vec![0u8; super::hash::CHUNK_BYTES];
    let mut size = 0u64;
    loop {
        let read = match source.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(Copy::Io(error)),
        };
        let chunk = buffer.get(..read).unwrap_or_default();
        hasher.update(chunk);
        temp.write_all(chunk).map_err(Copy::Io)?;
        size = size.saturating_add(u64::try_from(read).unwrap_or(u64::MAX));
    }
    if hasher.finish() != artifact.listed_digest || size != artifact.listed_size {
        return Err(Copy::Changed);
    }
    temp.as_file().sync_all().map_err(Copy::Io)?;
    Ok(temp)
}
