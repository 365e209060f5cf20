//! Why a bundle did not verify, by verification step.
//!
//! Each variant's message starts with the step that failed (`bundle:`,
//! `certificate chain:`, `inclusion proof:`, ...), so one line tells an
//! operator where to look. Where `sigstore-verify` reports only a sentence,
//! that sentence is kept as `detail`.

use jiff::Timestamp;
use sigstore_verify::{
    CertificateError, Error as LibraryError, TimestampError, TransparencyLogError,
};

use super::bundle::BundleError;
use super::identity::IdentityMismatch;
use super::statement::StatementError;

/// A bundle failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The bundle is malformed or breaks a structural rule.
    #[error("bundle: {0}")]
    Bundle(#[from] BundleError),
    /// The bundle's kind of signer is not the kind the policy asks for.
    #[error("signer: bundle is signed with {bundle}, but the policy requires {policy}")]
    SignerKind {
        /// What the bundle carries.
        bundle: &'static str,
        /// What the policy requires.
        policy: &'static str,
    },
    /// The artifact could not be read.
    #[error("artifact: cannot read it: {detail}")]
    ArtifactRead {
        /// The I/O error.
        detail: String,
    },
    /// The artifact was given in a form this bundle cannot be checked with.
    #[error("artifact: {detail}")]
    ArtifactUnsupported {
        /// Why.
        detail: String,
    },
    /// The bundle is about another artifact.
    #[error("artifact binding: {detail}")]
    ArtifactMismatch {
        /// Which digest or subject differs.
        detail: String,
    },
    /// The signature does not verify with the signing key.
    #[error("signature: {detail}")]
    Signature {
        /// The failure.
        detail: String,
    },
    /// The signing certificate could not be parsed.
    #[error("certificate: {detail}")]
    CertificateMalformed {
        /// The parser's message.
        detail: String,
    },
    /// The certificate does not chain to a trusted authority.
    #[error("certificate chain: {detail}")]
    CertificateChain {
        /// Why path building failed.
        detail: String,
    },
    /// No trusted certificate authority was valid at the signing time.
    #[error(
        "certificate chain: no trusted certificate authority is valid at the signing time {time}"
    )]
    NoValidAuthority {
        /// The signing time.
        time: Timestamp,
    },
    /// Signed before the certificate's `notBefore`.
    #[error(
        "certificate validity: signed at {time}, before the certificate's notBefore {not_before}"
    )]
    CertificateNotYetValid {
        /// The signing time.
        time: Timestamp,
        /// `notBefore`.
        not_before: Timestamp,
    },
    /// Signed after the certificate's `notAfter`.
    #[error("certificate validity: signed at {time}, after the certificate's notAfter {not_after}")]
    CertificateExpired {
        /// The signing time.
        time: Timestamp,
        /// `notAfter`.
        not_after: Timestamp,
    },
    /// The embedded SCT is missing or does not verify with a trusted CT log.
    #[error("signed certificate timestamp: {detail}")]
    Sct {
        /// Why.
        detail: String,
    },
    /// The certificate's identity does not satisfy the policy.
    #[error("identity: {0}")]
    Identity(#[from] IdentityMismatch),
    /// The log entry comes from a log the trusted root does not list.
    #[error("transparency log: entry is from log {log_id}, which the trusted root does not list")]
    UnknownLog {
        /// The entry's log id.
        log_id: String,
    },
    /// The inclusion proof does not prove the entry is in the log.
    #[error("inclusion proof: {detail}")]
    InclusionProof {
        /// Why.
        detail: String,
    },
    /// The checkpoint is missing, malformed or not signed by the log.
    #[error("checkpoint: {detail}")]
    Checkpoint {
        /// Why.
        detail: String,
    },
    /// The Signed Entry Timestamp does not verify.
    #[error("inclusion promise (SET): {detail}")]
    InclusionPromise {
        /// Why.
        detail: String,
    },
    /// The log entry does not describe this bundle.
    #[error("log entry: {detail}")]
    LogEntryMismatch {
        /// What differs.
        detail: String,
    },
    /// The log entry cannot be read.
    #[error("log entry: malformed: {detail}")]
    LogEntryMalformed {
        /// Why.
        detail: String,
    },
    /// The log's integrated time is unusable.
    #[error("integrated time: {detail}")]
    IntegratedTime {
        /// Why.
        detail: String,
    },
    /// An RFC 3161 timestamp does not verify with a trusted authority.
    #[error("timestamp: {detail}")]
    Timestamp {
        /// Why.
        detail: String,
    },
    /// An RFC 3161 timestamp is outside its authority's validity window.
    #[error(
        "timestamp: {time} is outside the validity window of the timestamp authority that signed it"
    )]
    TimestampOutsideAuthority {
        /// The timestamp's time.
        time: Timestamp,
    },
    /// No authenticated signing time exists (Rekor v2 needs an RFC 3161 timestamp).
    #[error("timestamp: no verified signing time: {detail}")]
    NoVerifiedTime {
        /// Why.
        detail: String,
    },
    /// The trusted root cannot be used with this bundle.
    #[error("trusted root: {detail}")]
    TrustRoot {
        /// Why.
        detail: String,
    },
    /// A verified signing time is later than the evaluation time.
    #[error("signing time: signed at {signed_at}, after the evaluation time {at}")]
    SignedAfterEvaluation {
        /// The latest authenticated signing time.
        signed_at: Timestamp,
        /// The evaluation time.
        at: Timestamp,
    },
    /// The DSSE payload is not an in-toto statement.
    #[error("statement: {0}")]
    Statement(#[from] StatementError),
    /// A failure the verifier does not classify; verification fails closed.
    #[error("verification failed: {detail}")]
    Internal {
        /// What happened.
        detail: &'static str,
    },
    /// A library failure of a kind this version does not know; verification
    /// fails closed.
    #[error("verification failed: {detail}")]
    Unclassified {
        /// The library's message.
        detail: String,
    },
}

/// Maps a `sigstore-verify` error to the step that failed.
pub(crate) fn from_library(error: LibraryError) -> VerifyError {
    let detail = error.to_string();
    match error {
        LibraryError::SignatureInvalid(detail) => VerifyError::Signature { detail },
        LibraryError::ArtifactMismatch(detail) => VerifyError::ArtifactMismatch { detail },
        LibraryError::UnsupportedArtifact(detail) => VerifyError::ArtifactUnsupported { detail },
        LibraryError::ArtifactRead(e) => VerifyError::ArtifactRead {
            detail: e.to_string(),
        },
        LibraryError::Certificate(error) => from_certificate(error),
        LibraryError::TransparencyLog(error) => from_tlog(error),
        LibraryError::Timestamp(error) => from_timestamp(error),
        LibraryError::InvalidBundle(detail) | LibraryError::UnsupportedBundle(detail) => {
            VerifyError::Bundle(BundleError::Invalid { detail })
        }
        LibraryError::Bundle(error) => VerifyError::Bundle(BundleError::Invalid {
            detail: error.to_string(),
        }),
        LibraryError::Types(_) => VerifyError::Bundle(BundleError::Invalid { detail }),
        LibraryError::Crypto(_) => VerifyError::Signature { detail },
        LibraryError::InvalidTrustRoot(_)
        | LibraryError::TrustRoot(_)
        | LibraryError::TrustedCertificate(_) => VerifyError::TrustRoot { detail },
        LibraryError::IdentityMismatch { .. } | LibraryError::IssuerMismatch { .. } => {
            VerifyError::Unclassified { detail }
        }
        _ => VerifyError::Unclassified { detail },
    }
}

fn from_certificate(error: CertificateError) -> VerifyError {
    match error {
        CertificateError::Malformed(detail) => VerifyError::CertificateMalformed { detail },
        CertificateError::ChainInvalid(detail) => VerifyError::CertificateChain { detail },
        CertificateError::NoValidAuthority { time } => VerifyError::NoValidAuthority { time },
        CertificateError::NotYetValid { time, not_before } => {
            VerifyError::CertificateNotYetValid { time, not_before }
        }
        CertificateError::Expired { time, not_after } => {
            VerifyError::CertificateExpired { time, not_after }
        }
        CertificateError::Sct(detail) => VerifyError::Sct { detail },
        other => VerifyError::Unclassified {
            detail: other.to_string(),
        },
    }
}

fn from_tlog(error: TransparencyLogError) -> VerifyError {
    match error {
        TransparencyLogError::UnknownLog { log_id } => VerifyError::UnknownLog { log_id },
        TransparencyLogError::InclusionProof(detail) => VerifyError::InclusionProof { detail },
        TransparencyLogError::Checkpoint(detail) => VerifyError::Checkpoint { detail },
        TransparencyLogError::InclusionPromise(detail) => VerifyError::InclusionPromise { detail },
        TransparencyLogError::EntryMismatch(detail) => VerifyError::LogEntryMismatch { detail },
        TransparencyLogError::IntegratedTime(detail) => VerifyError::IntegratedTime { detail },
        TransparencyLogError::MalformedEntry(detail) => VerifyError::LogEntryMalformed { detail },
        other => VerifyError::Unclassified {
            detail: other.to_string(),
        },
    }
}

fn from_timestamp(error: TimestampError) -> VerifyError {
    match error {
        TimestampError::Invalid(detail) => VerifyError::Timestamp { detail },
        TimestampError::OutsideAuthorityValidity { time } => {
            VerifyError::TimestampOutsideAuthority { time }
        }
        TimestampError::NoVerifiedTimestamp(detail) => VerifyError::NoVerifiedTime { detail },
        other => VerifyError::Unclassified {
            detail: other.to_string(),
        },
    }
}
