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
use sigstore_verify::types::bundle::{MessageDigest, MessageSignature};
use sigstore_verify::types::{
    Artifact, ArtifactDigest, Bundle as LibraryBundle, DigestBytes, HashAlgorithm, KindVersion,
    SignatureContent,
};
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
    let (mut library_artifact, artifact_digest) = prepare_artifact(artifact)?;
    let rewritten = dsse_as_logged_message_signature(&bundle.inner);
    let inner = match &rewritten {
        Some((as_logged, pae)) => {
            library_artifact = Artifact::Blob(pae);
            as_logged
        }
        None => &bundle.inner,
    };
    let (signer, signed_at) =
        verify_signed(inner, library_artifact, trust_root, signer_policy, at)?;
    let statement = match &bundle.inner.content {
        SignatureContent::DsseEnvelope(envelope) => Some(Statement::parse(
            &envelope.payload_type,
            envelope.payload.as_bytes(),
        )?),
        _ => None,
    };
    if let (Some(_), Some(statement)) = (&rewritten, &statement)
        && !statement.has_subject(&artifact_digest)
    {
        return Err(VerifyError::ArtifactMismatch {
            detail: format!("artifact {artifact_digest} is not a subject of the in-toto statement"),
        });
    }
    Ok(VerifiedBundle {
        bundle_digest: bundle.digest(),
        artifact_digest,
        signer,
        signed_at,
        evaluated_at: at,
        statement,
    })
}

/// A DSSE bundle whose payload is not an in-toto statement but a document
/// of `payload_type` (a `cragate.halt/v1` notice), verified: the payload
/// bytes exactly as signed, and who signed them. Only
/// [`verify_dsse_payload`] builds one.
#[derive(Debug, Clone)]
pub struct VerifiedPayload {
    bundle_digest: Digest,
    payload: Vec<u8>,
    signer: Signer,
    signed_at: Vec<Timestamp>,
}

impl VerifiedPayload {
    /// SHA-256 of the bundle as received.
    pub fn bundle_digest(&self) -> Digest {
        self.bundle_digest
    }
    /// The signed payload.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
    /// Who signed.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }
    /// The authenticated signing times, earliest first.
    pub fn signed_at(&self) -> &[Timestamp] {
        &self.signed_at
    }
}

/// Verifies a bundle whose DSSE envelope carries a payload of
/// `payload_type` (not in-toto, so there is no artifact to bind: the
/// payload is what is signed), as of `at`.
///
/// `sigstore-verify` 0.15 binds DSSE envelopes to artifacts through in-toto
/// subjects only, so such a bundle is verified when its log entries are
/// `hashedrekord` 0.0.1 over the PAE bytes (DSSE specification, "Signature
/// definition"), the form the Sigstore client specification allows ("Bundle
/// content vs. Rekor entry kind"); a bundle logged as `dsse` or `intoto`
/// entries is refused with [`VerifyError::ArtifactUnsupported`] saying so.
pub fn verify_dsse_payload(
    bundle: &Bundle,
    payload_type: &str,
    trust_root: &TrustRoot,
    signer_policy: &SignerPolicy,
    at: Timestamp,
) -> Result<VerifiedPayload, VerifyError> {
    check_signer_kind(bundle, signer_policy)?;
    let SignatureContent::DsseEnvelope(envelope) = &bundle.inner.content else {
        return Err(VerifyError::ArtifactUnsupported {
            detail: "the bundle carries a message signature, not a DSSE envelope".into(),
        });
    };
    if envelope.payload_type != payload_type {
        return Err(VerifyError::ArtifactUnsupported {
            detail: format!(
                "DSSE payload type is {:?}, expected {payload_type:?}",
                envelope.payload_type
            ),
        });
    }
    let Some((as_logged, pae)) = dsse_as_logged_message_signature(&bundle.inner) else {
        return Err(VerifyError::ArtifactUnsupported {
            detail: "only DSSE bundles logged as hashedrekord 0.0.1 entries can be verified \
                     for a payload that is not an in-toto statement (not implemented for dsse \
                     and intoto entries)"
                .into(),
        });
    };
    let (signer, signed_at) = verify_signed(
        &as_logged,
        Artifact::Blob(&pae),
        trust_root,
        signer_policy,
        at,
    )?;
    Ok(VerifiedPayload {
        bundle_digest: bundle.digest(),
        payload: envelope.payload.as_bytes().to_vec(),
        signer,
        signed_at,
    })
}

/// Runs the library's verification of `inner` over `artifact` and checks
/// the signer against `signer_policy` and the signing times against `at`.
fn verify_signed(
    inner: &LibraryBundle,
    artifact: Artifact<'_>,
    trust_root: &TrustRoot,
    signer_policy: &SignerPolicy,
    at: Timestamp,
) -> Result<(Signer, Vec<Timestamp>), VerifyError> {
    let verifier = &trust_root.verifier;
    let (result, signer) = match signer_policy {
        SignerPolicy::Certificate(identity) => {
            let result = verifier
                .verify(artifact, inner, &VerificationPolicy::any_identity())
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
                .verify(artifact, inner, &policy)
                .map_err(error::from_library)?;
            let key_digest = key.digest();
            (result, Signer::Key { key_digest })
        }
    };
    let signed_at = check_signing_times(&result, at)?;
    Ok((signer, signed_at))
}

/// A DSSE envelope logged to Rekor v1 as `hashedrekord` 0.0.1 ("hashedrekord
/// over DSSE", allowed by the Sigstore client specification, "Bundle content
/// vs. Rekor entry kind"): the entry commits to SHA-256(PAE(payloadType,
/// payload)) and to the envelope's signature. sigstore-verify 0.15 accepts
/// that pairing only for Rekor v2 entries, so cragate verifies such a bundle
/// as what the log recorded, a message signature over the PAE bytes (same
/// certificate, log entries and timestamps), and binds the artifact through
/// the statement's subjects afterwards. Returns the rewritten bundle and the
/// PAE bytes, or `None` for every other bundle.
fn dsse_as_logged_message_signature(bundle: &LibraryBundle) -> Option<(LibraryBundle, Vec<u8>)> {
    let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
        return None;
    };
    let entries = &bundle.verification_material.tlog_entries;
    if entries.is_empty()
        || !entries
            .iter()
            .all(|entry| entry.kind_version == KindVersion::HashedRekordV001)
    {
        return None;
    }
    let pae = sigstore_verify::types::pae(&envelope.payload_type, envelope.payload.as_bytes());
    let digest = DigestBytes::new(Digest::of(&pae).as_bytes().to_vec());
    let signature = MessageSignature::new(envelope.signature.sig.clone())
        .with_message_digest(MessageDigest::new(HashAlgorithm::Sha2256, digest));
    let rewritten = LibraryBundle::new(
        bundle.media_type,
        bundle.verification_material.clone(),
        SignatureContent::MessageSignature(signature),
    );
    Some((rewritten, pae))
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

#[cfg(test)]
mod tests;
