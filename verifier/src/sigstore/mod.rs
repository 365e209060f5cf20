//! Offline verification of Sigstore bundles.
//!
//! Built on `sigstore-verify` (sigstore/sigstore-rust), which implements the
//! Sigstore client verification steps: certificate chain at the signing time,
//! SCT, Rekor v1 (SET, inclusion proof, signed checkpoint) and Rekor v2
//! (hashedrekord 0.0.2, C2SP checkpoints, RFC 3161 timestamps), DSSE and
//! message signatures, managed keys. Nothing of that crate's API leaves this
//! module: callers see [`Bundle`], [`TrustRoot`], [`SignerPolicy`] and, when
//! everything holds, a [`VerifiedBundle`] that only [`verify`] can build.

mod bundle;
mod error;
mod identity;
mod statement;
mod trust;

use std::io::Read;

use jiff::Timestamp;
use sigstore_verify::types::{Artifact, ArtifactDigest, SignatureContent};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, VerificationResult};

pub use bundle::{Bundle, BundleError, BundleVersion};
pub use error::VerifyError;
pub use identity::{
    CertificateSigner, FulcioClaim, IdentityField, IdentityMismatch, IdentityPolicy, KeyError,
    ManagedKey, Matcher, Signer, SignerPolicy, UnknownClaim,
};
pub use statement::{IN_TOTO_PAYLOAD_TYPE, Statement, StatementError, Subject};
pub use trust::{TrustRoot, TrustRootError};

use crate::digest::Digest;

/// The artifact a bundle is checked against.
#[non_exhaustive]
pub enum ArtifactInput<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// Only its SHA-256 (for example an OCI digest or a file hashed while
    /// it streamed in). Ed25519 managed keys sign the message itself, so
    /// they cannot be verified from a digest.
    Digest(Digest),
    /// A reader, hashed to its end in constant memory.
    Reader(&'a mut dyn Read),
}

impl std::fmt::Debug for ArtifactInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            Self::Digest(digest) => write!(f, "Digest({digest})"),
            Self::Reader(_) => f.write_str("Reader"),
        }
    }
}

/// A bundle that verified against an artifact, a trusted root and a signer
/// policy at a given time. Only [`verify`] builds one.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    bundle_digest: Digest,
    artifact_digest: Digest,
    signer: Signer,
    signed_at: Vec<Timestamp>,
    evaluated_at: Timestamp,
    statement: Option<Statement>,
}

impl VerifiedBundle {
    /// SHA-256 of the bundle as received.
    pub fn bundle_digest(&self) -> Digest {
        self.bundle_digest
    }
    /// SHA-256 of the artifact the bundle was verified against.
    pub fn artifact_digest(&self) -> Digest {
        self.artifact_digest
    }
    /// Who signed.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }
    /// The authenticated signing times (Rekor v1 integrated time, RFC 3161
    /// timestamps), earliest first.
    pub fn signed_at(&self) -> &[Timestamp] {
        &self.signed_at
    }
    /// The evaluation time the caller passed.
    pub fn evaluated_at(&self) -> Timestamp {
        self.evaluated_at
    }
    /// The in-toto statement, for a DSSE bundle.
    pub fn statement(&self) -> Option<&Statement> {
        self.statement.as_ref()
    }
}

/// Verifies `bundle` over `artifact`, as of `at`.
///
/// `at` is the evaluation time cragate records: every authenticated signing
/// time must be at or before it. (`sigstore-verify` also rejects signing
/// times in the future of the machine clock, which is stricter only when
/// `at` is later than now.)
pub fn verify(
    bundle: &Bundle,
    artifact: ArtifactInput<'_>,
    trust_root: &TrustRoot,
    signer_policy: &SignerPolicy,
    at: Timestamp,
) -> Result<VerifiedBundle, VerifyError> {
    check_signer_kind(bundle, signer_policy)?;
    let (library_artifact, artifact_digest) = prepare_artifact(artifact)?;
    let verifier = &trust_root.verifier;
    let inner = &bundle.inner;
    let (result, signer) = match signer_policy {
        SignerPolicy::Certificate(identity) => {
            let result = verifier
                .verify(library_artifact, inner, &VerificationPolicy::any_identity())
                .map_err(error::from_library)?;
            let certificate = result.certificate().ok_or(VerifyError::Internal {
                detail: "verified certificate bundle has no certificate",
            })?;
            let signer = CertificateSigner::from_library(
                result.identity().map(|san| san.as_str().to_owned()),
                result.issuer().map(str::to_owned),
                &certificate.ci_claims,
            );
            identity.check(&signer)?;
            (result, Signer::Certificate(signer))
        }
        SignerPolicy::Key(key) => {
            let policy = PublicKeyVerificationPolicy::new(key.der.clone());
            let result = verifier
                .verify(library_artifact, inner, &policy)
                .map_err(error::from_library)?;
            let key_digest = key.digest();
            (result, Signer::Key { key_digest })
        }
    };
    let signed_at = check_signing_times(&result, at)?;
    let statement = match &inner.content {
        SignatureContent::DsseEnvelope(envelope) => Some(Statement::parse(
            &envelope.payload_type,
            envelope.payload.as_bytes(),
        )?),
        _ => None,
    };
    Ok(VerifiedBundle {
        bundle_digest: bundle.digest(),
        artifact_digest,
        signer,
        signed_at,
        evaluated_at: at,
        statement,
    })
}

fn check_signer_kind(bundle: &Bundle, policy: &SignerPolicy) -> Result<(), VerifyError> {
    match (policy, bundle.is_managed_key()) {
        (SignerPolicy::Certificate(_), true) => Err(VerifyError::SignerKind {
            bundle: "a managed key",
            policy: "a certificate identity",
        }),
        (SignerPolicy::Key(_), false) => Err(VerifyError::SignerKind {
            bundle: "a certificate",
            policy: "a managed key",
        }),
        _ => Ok(()),
    }
}

fn prepare_artifact(input: ArtifactInput<'_>) -> Result<(Artifact<'_>, Digest), VerifyError> {
    let digest_only = |digest: Digest| {
        let hash = sigstore_verify::types::Sha256Hash::new(*digest.as_bytes());
        (Artifact::Digest(ArtifactDigest::sha256(hash)), digest)
    };
    match input {
        ArtifactInput::Bytes(bytes) => Ok((Artifact::Blob(bytes), Digest::of(bytes))),
        ArtifactInput::Digest(digest) => Ok(digest_only(digest)),
        ArtifactInput::Reader(reader) => {
            Digest::of_reader(reader)
                .map(digest_only)
                .map_err(|e| VerifyError::ArtifactRead {
                    detail: e.to_string(),
                })
        }
    }
}

/// Every authenticated signing time must be at or before the evaluation time.
fn check_signing_times(
    result: &VerificationResult,
    at: Timestamp,
) -> Result<Vec<Timestamp>, VerifyError> {
    let mut times: Vec<Timestamp> = result
        .verified_timestamps()
        .iter()
        .copied()
        .chain(result.integrated_time())
        .collect();
    times.sort();
    times.dedup();
    if let Some(&latest) = times.last()
        && latest > at
    {
        return Err(VerifyError::SignedAfterEvaluation {
            signed_at: latest,
            at,
        });
    }
    Ok(times)
}
