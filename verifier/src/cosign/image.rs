//! One image judged under its repository's `[[oci.repositories]]` rule: a
//! verified signature by the rule's manufacturer over this manifest digest,
//! every required attestation present and verified with the manifest as
//! subject, and the CRA checks of a listing carried as an attestation.

use jiff::Timestamp;
use serde::Serialize;

use super::legacy::LegacyBundle;
use super::{CosignError, LISTING_PREDICATE_TYPE};
use crate::digest::Digest;
use crate::evidence::Listing;
use crate::policy::{OciRepository, Policy};
use crate::signatures::{DOC_PREDICATE_TYPE, signer_name, verify_bundle};
use crate::sigstore::{Bundle, VerifiedBundle};
use crate::verdict::{Decision, Mode, Outcome};

/// The predicate type cosign gives a signature made as a DSSE bundle.
const COSIGN_SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";

/// Check ids of an image verdict (a contract, like the listing checks).
const CHECK_REPOSITORY: &str = "oci.repository";
const CHECK_SIGNATURE: &str = "oci.signature";
const CHECK_ATTESTATION: &str = "oci.attestation";
const CHECK_LISTING: &str = "oci.listing";

/// What was found for one manifest, as the gateway discovered it.
#[derive(Debug, Clone, Default)]
pub struct ImageEvidence {
    /// Layers of the `.sig` manifest, rewritten (or why not).
    pub signatures: Vec<Result<LegacyBundle, CosignError>>,
    /// Layers of the `.att` manifest, rewritten (or why not).
    pub attestations: Vec<Result<LegacyBundle, CosignError>>,
    /// Sigstore bundles of OCI 1.1 referrers (or why not).
    pub bundles: Vec<Result<Bundle, CosignError>>,
}

/// One check of an image verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageCheck {
    /// Stable id, e.g. `oci.signature`.
    pub id: &'static str,
    /// The provision it serves.
    pub article: &'static str,
    /// Pass or fail.
    pub result: Outcome,
    /// A sentence a person can act on.
    pub detail: String,
}

/// The verdict on one manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ImageVerdict {
    /// The repository, e.g. `acme/cam`.
    pub repository: String,
    /// The manifest judged.
    pub manifest_digest: Digest,
    /// The policy's name.
    pub policy: String,
    /// The policy's digest.
    pub policy_digest: Digest,
    /// When it was evaluated.
    pub evaluated_at: Timestamp,
    /// Allow, deny or warn (audit mode).
    pub decision: Decision,
    /// Every check, in order.
    pub checks: Vec<ImageCheck>,
}

impl ImageVerdict {
    /// The first failed check.
    pub fn first_failure(&self) -> Option<&ImageCheck> {
        self.checks.iter().find(|c| c.result == Outcome::Fail)
    }

    /// Every failed check.
    pub fn failures(&self) -> impl Iterator<Item = &ImageCheck> {
        self.checks.iter().filter(|c| c.result == Outcome::Fail)
    }
}

/// Judges the manifest `digest` of `repository` under `policy` at `at`.
pub fn evaluate_image(
    policy: &Policy,
    repository: &str,
    digest: Digest,
    evidence: &ImageEvidence,
    at: Timestamp,
) -> ImageVerdict {
    let mut checks = Vec::new();
    match policy.oci_repository(repository) {
        None => checks.push(fail(
            CHECK_REPOSITORY,
            "Art. 20(1)",
            format!(
                "no [[oci.repositories]] rule of policy {:?} names repository {repository:?}, and a repository no rule names is refused",
                policy.name()
            ),
        )),
        Some(rule) => {
            checks.push(pass(
                CHECK_REPOSITORY,
                "Art. 20(1)",
                format!("repository {repository:?} is governed by rule {:?}", rule.name),
            ));
            judge(policy, rule, digest, evidence, at, &mut checks);
        }
    }
    let failed = checks.iter().any(|c| c.result == Outcome::Fail);
    let decision = match (failed, policy.mode()) {
        (false, _) => Decision::Allow,
        (true, Mode::Audit) => Decision::Warn,
        (true, _) => Decision::Deny,
    };
    ImageVerdict {
        repository: repository.to_owned(),
        manifest_digest: digest,
        policy: policy.name().to_owned(),
        policy_digest: policy.digest(),
        evaluated_at: at,
        decision,
        checks,
    }
}

fn judge(
    policy: &Policy,
    rule: &OciRepository,
    digest: Digest,
    evidence: &ImageEvidence,
    at: Timestamp,
    checks: &mut Vec<ImageCheck>,
) {
    let manufacturer = Some(rule.manufacturer.as_str());
    let mut signature_errors = Vec::new();
    let mut signed_by = None;
    for item in &evidence.signatures {
        match item
            .as_ref()
            .map_err(ToString::to_string)
            .and_then(|legacy| verify_legacy_signature(policy, manufacturer, legacy, digest, at))
        {
            Ok(signer) => signed_by = signed_by.or(Some(signer)),
            Err(reason) => signature_errors.push(reason),
        }
    }
    // Verified attestations: (predicate type, verified bundle).
    let mut attested: Vec<VerifiedBundle> = Vec::new();
    let mut attestation_errors: Vec<(Option<String>, String)> = Vec::new();
    let dsse_items = evidence
        .attestations
        .iter()
        .map(|item| item.as_ref().map(|legacy| &legacy.bundle))
        .chain(evidence.bundles.iter().map(Result::as_ref));
    for item in dsse_items {
        let bundle = match item {
            Ok(bundle) => bundle,
            Err(error) => {
                attestation_errors.push((None, error.to_string()));
                continue;
            }
        };
        let claimed = bundle.claimed_statement().map(|s| s.predicate_type);
        match verify_about(policy, manufacturer, bundle, digest, at) {
            Ok(verified) => match verified.statement().map(|s| s.predicate_type.as_str()) {
                None | Some(COSIGN_SIGN_PREDICATE_TYPE) => {
                    signed_by = signed_by.or(Some(signer_name(&verified)));
                }
                Some(_) => attested.push(verified),
            },
            Err(reason) => match claimed.as_deref() {
                None | Some(COSIGN_SIGN_PREDICATE_TYPE) => signature_errors.push(reason),
                Some(_) => attestation_errors.push((claimed, reason)),
            },
        }
    }
    checks.push(match signed_by {
        Some(signer) => pass(
            CHECK_SIGNATURE,
            "Annex I Part I(2)(f)",
            format!("manifest {digest} is signed by {signer} for {:?}", rule.manufacturer),
        ),
        None => fail(
            CHECK_SIGNATURE,
            "Annex I Part I(2)(f)",
            match signature_errors.first() {
                Some(reason) => format!(
                    "no valid signature by manufacturer {:?} over manifest {digest}: {reason}",
                    rule.manufacturer
                ),
                None => format!(
                    "manifest {digest} is unsigned: no cosign signature (tag sha256-{}.sig) and no Sigstore bundle referrer",
                    digest.hex()
                ),
            },
        ),
    });
    for wanted in &rule.attestations {
        let article = predicate_article(wanted);
        let found = attested
            .iter()
            .find(|v| v.statement().is_some_and(|s| &s.predicate_type == wanted));
        checks.push(match found {
            Some(verified) => pass(
                CHECK_ATTESTATION,
                article,
                format!(
                    "attestation {wanted} over manifest {digest} is signed by {}",
                    signer_name(verified)
                ),
            ),
            None => {
                let reason = attestation_errors
                    .iter()
                    .find(|(claimed, _)| claimed.as_ref() == Some(wanted))
                    .map(|(_, reason)| format!(": {reason}"))
                    .unwrap_or_default();
                fail(
                    CHECK_ATTESTATION,
                    article,
                    format!(
                        "required attestation {wanted} over manifest {digest} is missing or does not verify{reason}"
                    ),
                )
            }
        });
    }
    if let Some(listing) = attested.iter().find(|v| {
        v.statement()
            .is_some_and(|s| s.predicate_type == LISTING_PREDICATE_TYPE)
    }) {
        checks.push(listing_check(policy, listing, at));
    }
}

/// A legacy signature: the bundle verifies over the simplesigning payload,
/// and the payload names this manifest.
fn verify_legacy_signature(
    policy: &Policy,
    manufacturer: Option<&str>,
    legacy: &LegacyBundle,
    digest: Digest,
    at: Timestamp,
) -> Result<String, String> {
    let Some((payload, payload_digest)) = &legacy.simple_signing else {
        return Err("a .sig layer that is not a simplesigning payload".to_owned());
    };
    let verified = verify_bundle(policy, manufacturer, &legacy.bundle, *payload_digest, at)?;
    if payload.manifest_digest != digest {
        return Err(format!(
            "the signature is for manifest {}, not {digest} (critical.image.docker-manifest-digest)",
            payload.manifest_digest
        ));
    }
    Ok(signer_name(&verified))
}

/// A bundle about the manifest: a DSSE statement with it as subject, or a
/// message signature over the manifest's bytes.
fn verify_about(
    policy: &Policy,
    manufacturer: Option<&str>,
    bundle: &Bundle,
    digest: Digest,
    at: Timestamp,
) -> Result<VerifiedBundle, String> {
    let verified = verify_bundle(policy, manufacturer, bundle, digest, at)?;
    if let Some(statement) = verified.statement()
        && !statement.has_subject(&digest)
    {
        return Err(format!(
            "the attestation's subjects do not include manifest {digest}"
        ));
    }
    Ok(verified)
}

/// The CRA checks of a listing carried as an attestation (Art. 20(2)).
fn listing_check(policy: &Policy, verified: &VerifiedBundle, at: Timestamp) -> ImageCheck {
    let Some(statement) = verified.statement() else {
        return fail(
            CHECK_LISTING,
            "Art. 20(2)",
            "the listing attestation has no statement",
        );
    };
    let listing = serde_json::to_vec(&statement.predicate)
        .map_err(|e| e.to_string())
        .and_then(|bytes| Listing::from_json(&bytes).map_err(|e| e.to_string()));
    match listing {
        Err(reason) => fail(
            CHECK_LISTING,
            "Art. 20(2)",
            format!("the listing attestation is not a cragate.listing/v1 listing: {reason}"),
        ),
        Ok(listing) => {
            let verdict = policy.evaluate(&listing, at);
            if verdict.decision() == Decision::Deny {
                let failed: Vec<String> = verdict
                    .failed()
                    .map(|c| format!("{} ({}): {}", c.id, c.article, c.detail))
                    .collect();
                fail(
                    CHECK_LISTING,
                    "Art. 20(2)",
                    format!("the attested listing is denied: {}", failed.join("; ")),
                )
            } else {
                pass(
                    CHECK_LISTING,
                    "Art. 20(2)",
                    "the attested listing passes the policy's CRA checks",
                )
            }
        }
    }
}

/// The provision a required attestation serves.
fn predicate_article(predicate_type: &str) -> &'static str {
    if predicate_type == DOC_PREDICATE_TYPE {
        "Art. 28(4)"
    } else if predicate_type.starts_with("https://cyclonedx.org/")
        || predicate_type.starts_with("https://spdx.dev/")
    {
        "Annex I Part II(1)"
    } else if predicate_type.starts_with("https://slsa.dev/provenance/") {
        "Annex I Part I(2)(f)"
    } else {
        "Art. 20(1)"
    }
}

fn pass(id: &'static str, article: &'static str, detail: impl Into<String>) -> ImageCheck {
    ImageCheck {
        id,
        article,
        result: Outcome::Pass,
        detail: detail.into(),
    }
}

fn fail(id: &'static str, article: &'static str, detail: impl Into<String>) -> ImageCheck {
    ImageCheck {
        id,
        article,
        result: Outcome::Fail,
        detail: detail.into(),
    }
}

/// The check id of one platform of an index.
const CHECK_PLATFORM: &str = "oci.platform";

impl ImageVerdict {
    /// An index's verdict with one check per platform manifest: the index
    /// passes only if its own checks and every platform's pass.
    pub fn with_platforms(self, platforms: &[(Digest, &ImageVerdict)], mode: Mode) -> Self {
        self.with_entries(platforms, &[], mode)
    }

    /// [`Self::with_platforms`], and a check that is not applicable for
    /// each of `attestations`: entries of the index that are build
    /// attestations of a platform (BuildKit's provenance and SBOM
    /// manifests, `vnd.docker.reference.type: attestation-manifest`), not
    /// platforms: no client runs them, so they are not judged as the
    /// product (one asked for on its own is judged as any manifest).
    pub fn with_entries(
        mut self,
        platforms: &[(Digest, &ImageVerdict)],
        attestations: &[Digest],
        mode: Mode,
    ) -> Self {
        for digest in attestations {
            self.checks.push(ImageCheck {
                id: CHECK_PLATFORM,
                article: "Art. 20(1)",
                result: Outcome::NotApplicable,
                detail: format!(
                    "manifest {digest} is a build attestation of a platform, not a platform: not judged as one"
                ),
            });
        }
        for (digest, verdict) in platforms {
            self.checks.push(match verdict.first_failure() {
                None => pass(
                    CHECK_PLATFORM,
                    "Art. 20(1)",
                    format!("platform manifest {digest} passes"),
                ),
                Some(failure) => fail(
                    CHECK_PLATFORM,
                    failure.article,
                    format!(
                        "platform manifest {digest} fails {}: {}",
                        failure.id, failure.detail
                    ),
                ),
            });
        }
        let failed = self.checks.iter().any(|c| c.result == Outcome::Fail);
        self.decision = match (failed, mode) {
            (false, _) => Decision::Allow,
            (true, Mode::Audit) => Decision::Warn,
            (true, _) => Decision::Deny,
        };
        self
    }
}
