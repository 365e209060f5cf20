//! Signatures over a listing: each artifact's Sigstore bundle and the
//! attestations, verified against the policy's trusted roots and the signer
//! identities and keys it ties to the manufacturer.
//!
//! - An artifact signature must verify over the artifact's digest and be
//!   made by a signer the policy trusts for the listing's manufacturer
//!   (CRA Annex I Part I(2)(f): integrity; Art. 20(1): due care).
//! - A signed DoC is an attestation: an in-toto statement whose predicate
//!   type is [`DOC_PREDICATE_TYPE`], whose predicate is a `cragate.doc/v1`
//!   DoC, signed by a signer the policy ties to the DoC's manufacturer, with
//!   every artifact's digest among its subjects (Art. 28(4); DESIGN.md,
//!   "Evidence format v1").
//! - Any other attestation (except the SBOM's, which the SBOM checks judge)
//!   must verify for the listing's manufacturer with one of the artifacts as
//!   subject.
//!
//! A signature that is present is always verified, whether or not the
//! policy requires one: an invalid signature fails its check.

use jiff::Timestamp;
use serde_json::Value;

use crate::digest::Digest;
use crate::doc::{RawDoc, normalise};
use crate::evidence::Listing;
use crate::policy::Policy;
use crate::sigstore::{
    self, ArtifactInput, Bundle, Signer, SignerPolicy, VerifiedBundle, VerifyError,
};

/// The predicate type of a signed EU Declaration of Conformity.
pub const DOC_PREDICATE_TYPE: &str = "https://cragate.dev/doc/v1";

/// What became of one signature or attestation.
#[derive(Debug, Clone)]
pub(crate) enum Signature<T> {
    /// None was supplied.
    Missing,
    /// It verified: what it established, and who signed.
    Verified { value: T, signer: String },
    /// It did not verify, with the most specific reason.
    Failed(String),
}

/// Every signature of a listing, verified.
#[derive(Debug, Clone)]
pub(crate) struct SignatureResults {
    /// One per listing artifact, in order.
    pub artifacts: Vec<Signature<()>>,
    /// Attestations that are not DoCs and did not verify: (index, reason).
    pub failed_attestations: Vec<(usize, String)>,
    /// The signed DoC.
    pub doc: Signature<Box<RawDoc>>,
    /// The SBOM attestation named by `sbom.attestation`: its predicate.
    pub sbom: Signature<Value>,
}

/// Verifies every signature and attestation of `listing` under `policy` at `at`.
pub(crate) fn verify_listing(
    policy: &Policy,
    listing: &Listing,
    at: Timestamp,
) -> SignatureResults {
    let manufacturer = listing
        .raw
        .operators
        .manufacturer
        .as_ref()
        .and_then(|m| m.name.as_deref());
    let artifacts = listing
        .raw
        .artifacts
        .iter()
        .zip(listing.artifacts())
        .map(|(raw, checked)| match &raw.signature {
            None => Signature::Missing,
            Some(value) => match bundle_from_value(value)
                .and_then(|bundle| verify_bundle(policy, manufacturer, &bundle, checked.digest, at))
            {
                Ok(verified) => Signature::Verified {
                    value: (),
                    signer: signer_name(&verified),
                },
                Err(reason) => Signature::Failed(reason),
            },
        })
        .collect();
    let digests: Vec<Digest> = listing.artifacts().iter().map(|a| a.digest).collect();
    let mut doc = Signature::Missing;
    let mut failed_attestations = Vec::new();
    // The SBOM attestation is judged by the SBOM checks.
    let sbom_attestation = listing.raw.sbom.as_ref().and_then(|s| s.attestation);
    let sbom = match sbom_attestation.and_then(|index| listing.raw.attestations.get(index)) {
        None => Signature::Missing,
        Some(value) => verify_sbom(policy, manufacturer, value, &digests, at),
    };
    for (index, value) in listing.raw.attestations.iter().enumerate() {
        if Some(index) == sbom_attestation {
            continue;
        }
        let bundle = match bundle_from_value(value) {
            Ok(bundle) => bundle,
            Err(reason) => {
                failed_attestations.push((index, reason));
                continue;
            }
        };
        let claimed = bundle.claimed_statement();
        if claimed.as_ref().map(|s| s.predicate_type.as_str()) == Some(DOC_PREDICATE_TYPE) {
            if !matches!(doc, Signature::Verified { .. }) {
                doc = verify_doc(policy, &bundle, &digests, at);
            }
            continue;
        }
        let Some(&first) = digests.first() else {
            failed_attestations.push((index, "the listing has no artifact to bind it to".into()));
            continue;
        };
        if let Err(reason) = verify_bundle(policy, manufacturer, &bundle, first, at) {
            failed_attestations.push((index, reason));
        }
    }
    SignatureResults {
        artifacts,
        failed_attestations,
        doc,
        sbom,
    }
}

/// An SBOM attestation: signed for the listing's manufacturer, about the
/// listing's first artifact (the library checks the binding), its
/// predicate the SBOM document.
fn verify_sbom(
    policy: &Policy,
    manufacturer: Option<&str>,
    value: &Value,
    artifacts: &[Digest],
    at: Timestamp,
) -> Signature<Value> {
    let Some(&first) = artifacts.first() else {
        return Signature::Failed("the listing has no artifact to bind the SBOM to".into());
    };
    let verified = match bundle_from_value(value)
        .and_then(|bundle| verify_bundle(policy, manufacturer, &bundle, first, at))
    {
        Ok(verified) => verified,
        Err(reason) => return Signature::Failed(format!("SBOM attestation: {reason}")),
    };
    match verified.statement() {
        Some(statement) => Signature::Verified {
            signer: signer_name(&verified),
            value: statement.predicate.clone(),
        },
        None => Signature::Failed("the SBOM attestation is not an in-toto statement".into()),
    }
}

fn bundle_from_value(value: &Value) -> Result<Bundle, String> {
    let bytes = serde_json::to_vec(value).map_err(|e| format!("bundle: {e}"))?;
    Bundle::from_json(&bytes).map_err(|e| format!("bundle: {e}"))
}

/// Tries every trusted root and every signer the policy ties to
/// `manufacturer`; on failure, reports the most specific reason.
pub(crate) fn verify_bundle(
    policy: &Policy,
    manufacturer: Option<&str>,
    bundle: &Bundle,
    digest: Digest,
    at: Timestamp,
) -> Result<VerifiedBundle, String> {
    let Some(name) = manufacturer else {
        return Err("no manufacturer is named, so no signer can be trusted for it".into());
    };
    let Some(trust) = policy
        .manufacturers()
        .iter()
        .find(|m| normalise(&m.name) == normalise(name))
    else {
        return Err(format!(
            "the policy trusts no signer for manufacturer {name:?} (add a [[manufacturers]] entry)"
        ));
    };
    let signers: Vec<SignerPolicy> = if bundle.is_managed_key() {
        trust.keys.iter().cloned().map(SignerPolicy::Key).collect()
    } else {
        trust
            .identities
            .iter()
            .cloned()
            .map(SignerPolicy::Certificate)
            .collect()
    };
    if signers.is_empty() {
        let (bundle_kind, wanted) = if bundle.is_managed_key() {
            ("a managed key", "keys")
        } else {
            ("a certificate", "identities")
        };
        return Err(format!(
            "the bundle is signed with {bundle_kind}, but the policy names no {wanted} for manufacturer {name:?}"
        ));
    }
    if policy.sigstore_roots().is_empty() {
        return Err("the policy lists no Sigstore trusted root (trust.sigstore_roots)".into());
    }
    let mut best: Option<VerifyError> = None;
    for root in policy.sigstore_roots() {
        for signer in &signers {
            match sigstore::verify(bundle, ArtifactInput::Digest(digest), root, signer, at) {
                Ok(verified) => return Ok(verified),
                Err(error) => {
                    if best
                        .as_ref()
                        .is_none_or(|b| specificity(&error) > specificity(b))
                    {
                        best = Some(error);
                    }
                }
            }
        }
    }
    Err(best.map_or_else(|| "no signer could be tried".into(), |e| e.to_string()))
}

/// How much a failure says about the bundle itself rather than about a
/// root or signer that simply was not the right one to try (in the spirit
/// of webpki's `Error::most_specific`).
fn specificity(error: &VerifyError) -> u8 {
    match error {
        VerifyError::UnknownLog { .. }
        | VerifyError::CertificateChain { .. }
        | VerifyError::NoValidAuthority { .. }
        | VerifyError::Sct { .. }
        | VerifyError::TrustRoot { .. } => 1,
        VerifyError::Identity(_) | VerifyError::SignerKind { .. } => 2,
        _ => 3,
    }
}

pub(crate) fn signer_name(verified: &VerifiedBundle) -> String {
    match verified.signer() {
        Signer::Certificate(certificate) => certificate.identity.clone(),
        Signer::Key { key_digest } => format!("managed key {key_digest}"),
    }
}

fn verify_doc(
    policy: &Policy,
    bundle: &Bundle,
    artifacts: &[Digest],
    at: Timestamp,
) -> Signature<Box<RawDoc>> {
    // Which manufacturer's signers apply is read from the claimed DoC; the
    // signature then has to hold for exactly those bytes.
    let Some(claimed) = bundle.claimed_statement() else {
        return Signature::Failed("the DoC attestation carries no in-toto statement".into());
    };
    let doc = match serde_json::from_value::<RawDoc>(claimed.predicate.clone()) {
        Ok(doc) => doc,
        Err(error) => {
            return Signature::Failed(format!(
                "the signed predicate is not a cragate.doc/v1 DoC: {error}"
            ));
        }
    };
    let manufacturer = doc.manufacturer.as_ref().and_then(|m| m.name.as_deref());
    // The library binds the statement to one artifact; the others are
    // checked against the verified statement below.
    let Some(first) = artifacts
        .first()
        .copied()
        .or_else(|| claimed.subjects.iter().find_map(|s| s.sha256))
    else {
        return Signature::Failed("the DoC attestation has no SHA-256 subject".into());
    };
    let verified = match verify_bundle(policy, manufacturer, bundle, first, at) {
        Ok(verified) => verified,
        Err(reason) => return Signature::Failed(format!("DoC attestation: {reason}")),
    };
    let missing: Vec<String> = artifacts
        .iter()
        .filter(|digest| !verified.statement().is_some_and(|s| s.has_subject(digest)))
        .map(ToString::to_string)
        .collect();
    if !missing.is_empty() {
        return Signature::Failed(format!(
            "the signed DoC does not cover artifact(s) {}",
            missing.join(", ")
        ));
    }
    Signature::Verified {
        signer: signer_name(&verified),
        value: Box::new(doc),
    }
}
