//! OCI image manifests and indexes (OCI image-spec v1.1 `manifest.md`,
//! `image-index.md`; Docker schema 2 is read the same way), parsed into
//! checked descriptors.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::digest::Digest;
use crate::json;
use crate::limits::MANIFEST_JSON;

/// `application/vnd.oci.image.manifest.v1+json`.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.index.v1+json`.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker's schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker's manifest list.
pub const DOCKER_INDEX: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Whether a manifest lists layers or platform manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManifestKind {
    /// An image manifest: a config and layers.
    Image,
    /// An image index: one manifest per platform (or referrers).
    Index,
}

/// A content descriptor (OCI image-spec `descriptor.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// What the content is.
    pub media_type: String,
    /// Its SHA-256.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// `artifactType`, when given (referrers).
    pub artifact_type: Option<String>,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
}

/// A manifest or index that parsed.
#[derive(Debug, Clone)]
pub struct ImageManifest {
    /// Image or index.
    pub kind: ManifestKind,
    /// `mediaType` as given, or the one the caller was told (Content-Type).
    pub media_type: String,
    /// `artifactType`, when given.
    pub artifact_type: Option<String>,
    /// The config (image manifests only).
    pub config: Option<Descriptor>,
    /// Layers (image) or manifests (index).
    pub entries: Vec<Descriptor>,
    /// `subject`, for a referrer.
    pub subject: Option<Descriptor>,
}

/// Why a manifest could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not JSON of the manifest's shape, or over a budget.
    #[error("the manifest is not a valid OCI manifest: {detail}")]
    Malformed {
        /// What the reader said.
        detail: String,
    },
    /// A media type that is neither an image manifest nor an index.
    #[error("unsupported manifest media type {media_type:?}")]
    MediaType {
        /// As given.
        media_type: String,
    },
    /// A descriptor's digest is not `sha256:<64 hex>`.
    #[error("descriptor digest {value:?} is not a sha256 digest")]
    Digest {
        /// As given.
        value: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    config: Option<RawDescriptor>,
    #[serde(default)]
    layers: Option<Vec<RawDescriptor>>,
    #[serde(default)]
    manifests: Option<Vec<RawDescriptor>>,
    #[serde(default)]
    subject: Option<RawDescriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

impl ImageManifest {
    /// Parses a manifest; `content_type` is the registry's Content-Type,
    /// used when the document names no `mediaType`.
    pub fn from_json(bytes: &[u8], content_type: Option<&str>) -> Result<Self, ManifestError> {
        let raw: RawManifest =
            json::read(bytes, &MANIFEST_JSON).map_err(|e| ManifestError::Malformed {
                detail: e.to_string(),
            })?;
        let media_type = raw
            .media_type
            .clone()
            .or_else(|| content_type.map(str::to_owned))
            .or_else(|| raw.manifests.as_ref().map(|_| OCI_INDEX.to_owned()))
            .unwrap_or_else(|| OCI_MANIFEST.to_owned());
        let kind = match media_type.as_str() {
            OCI_MANIFEST | DOCKER_MANIFEST => ManifestKind::Image,
            OCI_INDEX | DOCKER_INDEX => ManifestKind::Index,
            _ => return Err(ManifestError::MediaType { media_type }),
        };
        let raw_entries = match kind {
            ManifestKind::Image => raw.layers.unwrap_or_default(),
            ManifestKind::Index => raw.manifests.unwrap_or_default(),
        };
        let entries = raw_entries
            .into_iter()
            .map(Descriptor::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            kind,
            media_type,
            artifact_type: raw.artifact_type,
            config: raw.config.map(Descriptor::try_from).transpose()?,
            entries,
            subject: raw.subject.map(Descriptor::try_from).transpose()?,
        })
    }

    /// The referrer's type: `artifactType`, else the config's media type
    /// (OCI distribution-spec, "Listing Referrers").
    pub fn effective_artifact_type(&self) -> Option<&str> {
        self.artifact_type
            .as_deref()
            .or_else(|| self.config.as_ref().map(|c| c.media_type.as_str()))
    }
}

impl TryFrom<RawDescriptor> for Descriptor {
    type Error = ManifestError;

    fn try_from(raw: RawDescriptor) -> Result<Self, Self::Error> {
        let digest = raw
            .digest
            .parse()
            .map_err(|_| ManifestError::Digest { value: raw.digest })?;
        Ok(Self {
            media_type: raw.media_type,
            digest,
            size: raw.size,
            artifact_type: raw.artifact_type,
            annotations: raw.annotations.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_lists_its_platform_manifests() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let text = format!(
            r#"{{"schemaVersion": 2, "mediaType": "{OCI_INDEX}",
            "manifests": [{{"mediaType": "{OCI_MANIFEST}", "digest": "{digest}", "size": 7}}]}}"#
        );
        let index = ImageManifest::from_json(text.as_bytes(), None).unwrap();
        assert_eq!(index.kind, ManifestKind::Index);
        assert_eq!(index.entries.len(), 1);
    }

    #[test]
    fn a_digest_of_another_algorithm_is_refused() {
        let text = format!(
            r#"{{"mediaType": "{OCI_MANIFEST}", "layers": [{{"mediaType": "x", "digest": "sha512:00", "size": 1}}]}}"#
        );
        let error = ImageManifest::from_json(text.as_bytes(), None).unwrap_err();
        assert!(matches!(error, ManifestError::Digest { .. }), "{error}");
    }
}
