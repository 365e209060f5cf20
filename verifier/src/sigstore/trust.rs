//! Trusted roots (`trusted_root.json`, `dev.sigstore.trustroot.v1.TrustedRoot`).

use std::fmt;

use crate::digest::Digest;
use crate::json::{self, JsonLimitError};
use crate::limits::TRUSTED_ROOT_JSON;

/// A parsed trusted root with its keys and authorities prepared once, so
/// that each verification pays only for its signature checks.
pub struct TrustRoot {
    pub(crate) verifier: sigstore_verify::Verifier,
    digest: Digest,
}

/// Why a trusted root was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustRootError {
    /// Refused by the JSON reader: over a budget, a key given twice, or not
    /// an object.
    #[error(transparent)]
    Limit(#[from] JsonLimitError),
    /// Not a trusted root document.
    #[error("not a valid trusted root: {detail}")]
    Malformed {
        /// What the parser said.
        detail: String,
    },
    /// It parsed but its keys or authorities cannot be used.
    #[error("trusted root cannot be used: {detail}")]
    Unusable {
        /// What is wrong with it.
        detail: String,
    },
}

impl TrustRoot {
    /// Parses and prepares a `trusted_root.json` document.
    pub fn from_json(bytes: &[u8]) -> Result<Self, TrustRootError> {
        json::check(bytes, &TRUSTED_ROOT_JSON)?;
        let text = std::str::from_utf8(bytes).map_err(|e| TrustRootError::Malformed {
            detail: e.to_string(),
        })?;
        let root = sigstore_verify::trust_root::TrustedRoot::from_json(text).map_err(|e| {
            TrustRootError::Malformed {
                detail: e.to_string(),
            }
        })?;
        let verifier =
            sigstore_verify::Verifier::new(&root).map_err(|e| TrustRootError::Unusable {
                detail: e.to_string(),
            })?;
        Ok(Self {
            verifier,
            digest: Digest::of(bytes),
        })
    }

    /// SHA-256 of the document as given; verdicts record it.
    pub fn digest(&self) -> Digest {
        self.digest
    }
}

impl fmt::Debug for TrustRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustRoot")
            .field("digest", &self.digest)
            .finish()
    }
}
