//! The signer's one error type.

/// Why signing or writing a vector failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// A DER structure could not be encoded (or re-parsed).
    #[error("DER encoding failed: {0}")]
    Der(#[from] x509_cert::der::Error),
    /// A public key could not be encoded as SubjectPublicKeyInfo.
    #[error("public key encoding failed: {0}")]
    Spki(#[from] p256::pkcs8::spki::Error),
    /// JSON could not be produced.
    #[error("JSON encoding failed: {0}")]
    Json(#[from] serde_json::Error),
    /// A request the signer cannot honour, e.g. a time before 1970 or a
    /// Fulcio claim outside the CI claim arc.
    #[error("invalid input: {detail}")]
    Invalid {
        /// What was wrong.
        detail: String,
    },
}

impl SignerError {
    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        Self::Invalid {
            detail: detail.into(),
        }
    }
}
