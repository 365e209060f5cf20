//! Evaluating a listing under a policy: the settings in force for its
//! category, the signatures, every check of the catalogue, then the two
//! rules that make checks not applicable as a whole: a product only an
//! open-source software steward supports (Art. 24) and, under
//! `enforce = "as-applicable"`, a unit the Regulation does not apply to yet
//! (Art. 69(2), 71(2)).

use jiff::Timestamp;

use super::{CategoryKey, Context, Policy, Rules};
use crate::applicability::{Applicability, Enforce, assess};
use crate::catalog::CheckId;
use crate::evidence::{Category, Listing};
use crate::signatures::{Signature, verify_listing};
use crate::verdict::{CheckResult, Finding, ListingRef, PolicyRef, Verdict};

impl Policy {
    /// Evaluates `listing` at time `at`: verifies its signatures and
    /// attestations against the policy's trust material, then runs every
    /// check of the catalogue; each appears in the verdict, with whether
    /// the Regulation applies to the unit (Art. 69, 71).
    pub fn evaluate(&self, listing: &Listing, at: Timestamp) -> Verdict {
        let rules = self.rules_for(listing.category());
        let signatures = verify_listing(self, listing, at);
        let doc = listing.full_doc().or(match &signatures.doc {
            Signature::Verified { value, .. } => Some(value.as_ref()),
            _ => None,
        });
        let simplified_only = doc.is_none()
            && listing
                .raw
                .declaration_of_conformity
                .as_ref()
                .is_some_and(|d| d.simplified.is_some());
        let cx = Context {
            listing,
            rules: &rules,
            notified_bodies: self.notified_bodies.as_ref(),
            presumption: &self.presumption,
            at,
            signatures: &signatures,
            doc,
            simplified_only,
        };
        let mut findings = crate::doc::doc_findings(&cx);
        findings.extend(crate::ce::evaluate(&cx));
        findings.extend(crate::ce::class_findings(&cx));
        findings.extend(crate::evidence::content_findings(&cx));
        findings.extend(crate::sbom::evaluate(&cx));
        findings.extend(signature_findings(&cx));
        let applicability = assess(listing, at, self.enforce);
        let steward_only = crate::evidence::steward_only(listing);
        let checks = CheckId::ALL
            .iter()
            .map(|id| {
                let found = findings.iter().find(|f| f.id == *id).cloned();
                // Every check has a finding; one that has none could not run.
                let finding =
                    found.unwrap_or_else(|| Finding::fail(*id, "internal: the check did not run"));
                let finding = scope(finding, steward_only, &applicability);
                CheckResult {
                    id: *id,
                    article: finding.article,
                    result: finding.result,
                    severity: rules
                        .severities
                        .get(id)
                        .copied()
                        .or(id.default_severity())
                        .unwrap_or(rules.default_severity),
                    applies_from: id.duty().applies_from(),
                    detail: finding.detail,
                }
            })
            .collect();
        Verdict::new(
            self.mode,
            at,
            PolicyRef {
                name: self.name.clone(),
                digest: self.digest,
            },
            ListingRef {
                product_id: listing.product_id().clone(),
                version: listing.version().to_owned(),
                digest: listing.digest(),
            },
            applicability,
            checks,
        )
    }

    /// The base settings, then the class override, then the category one.
    pub(super) fn rules_for(&self, category: Category) -> Rules {
        let mut rules = self.settings.clone();
        let class = self
            .overrides
            .iter()
            .filter(|(k, _)| *k == CategoryKey::Class(category.class_name()));
        let exact = self
            .overrides
            .iter()
            .filter(|(k, _)| *k == CategoryKey::Exact(category));
        for (_, patch) in class.chain(exact) {
            rules
                .severities
                .extend(patch.severities.iter().map(|(k, v)| (*k, *v)));
            if let Some(v) = patch.minimum_support_years {
                rules.minimum_support_years = v;
            }
            if let Some(v) = patch.sbom_required {
                rules.sbom_required = v;
            }
            if let Some(v) = &patch.languages {
                rules.languages.clone_from(v);
            }
            if let Some(v) = patch.require_artifact_signatures {
                rules.require_artifact_signatures = v;
            }
            if let Some(v) = patch.require_doc_signature {
                rules.require_doc_signature = v;
            }
        }
        rules
    }
}

/// A check of a duty that does not bind this product is not applicable: a
/// manufacturer's duty when only an open-source software steward supports
/// the product (Art. 24), and, under `enforce = "as-applicable"`, any CRA
/// duty when the Regulation does not apply to the unit yet (Art. 69(2)).
fn scope(finding: Finding, steward_only: bool, applicability: &Applicability) -> Finding {
    let id = finding.id;
    if steward_only && id.needs_manufacturer() {
        return Finding::not_applicable(
            id,
            "free and open-source software that an open-source software steward supports and no manufacturer places on the market: this check of a manufacturer's placing does not apply (Art. 24)",
        )
        .with_article(finding.article);
    }
    match (applicability.enforce, id.duty().applies_from()) {
        (Enforce::AsApplicable, Some(from)) if !applicability.cra_applies => {
            Finding::not_applicable(
                id,
                format!(
                    "not in force for this unit, which the CRA does not apply to yet (Art. 69(2)); the duty applies from {from} (Art. 71(2))"
                ),
            )
            .with_article(finding.article)
        }
        _ => finding,
    }
}

/// Signature checks: every artifact signed by a signer the policy ties to
/// the manufacturer (Annex I Part I(2)(f)), and a signed DoC covering every
/// artifact (Art. 28(4)). A signature that is present and fails always
/// fails its check, required or not.
fn signature_findings(cx: &Context<'_>) -> Vec<Finding> {
    vec![artifact_signatures(cx), doc_signature(cx)]
}

fn artifact_signatures(cx: &Context<'_>) -> Finding {
    let required = cx.rules.require_artifact_signatures;
    let mut problems = Vec::new();
    let mut signers = Vec::new();
    for (artifact, signature) in cx.listing.artifacts().iter().zip(&cx.signatures.artifacts) {
        match signature {
            Signature::Verified { signer, .. } => signers.push(format!("{} by {signer}", artifact.name)),
            Signature::Failed(reason) => problems.push(format!(
                "the signature of {} ({}) does not verify: {reason}",
                artifact.name, artifact.digest
            )),
            Signature::Missing if required => problems.push(format!(
                "{} ({}) is not signed: add artifacts[].signature, a Sigstore bundle over its digest",
                artifact.name, artifact.digest
            )),
            Signature::Missing => {}
        }
    }
    for (index, reason) in &cx.signatures.failed_attestations {
        problems.push(format!("attestation {index} does not verify: {reason}"));
    }
    if !problems.is_empty() {
        return Finding::fail(CheckId::SignatureArtifacts, problems.join("; "));
    }
    if required && cx.listing.artifacts().is_empty() {
        return Finding::fail(
            CheckId::SignatureArtifacts,
            "the policy requires signed artifacts, but the listing has none",
        );
    }
    if signers.is_empty() {
        return Finding::not_applicable(
            CheckId::SignatureArtifacts,
            "no artifact is signed and the policy does not require it",
        );
    }
    Finding::pass(
        CheckId::SignatureArtifacts,
        format!("signatures verified: {}", signers.join(", ")),
    )
}

fn doc_signature(cx: &Context<'_>) -> Finding {
    let required = cx.rules.require_doc_signature;
    match &cx.signatures.doc {
        Signature::Verified { value, signer } => match cx.doc {
            Some(inline) if inline != value.as_ref() => Finding::fail(
                CheckId::SignatureDoc,
                "the DoC attached to the listing differs from the signed DoC: attach the signed one, or only the attestation",
            ),
            _ => Finding::pass(
                CheckId::SignatureDoc,
                format!("the DoC is signed by {signer} and covers every artifact"),
            ),
        },
        Signature::Failed(reason) => Finding::fail(CheckId::SignatureDoc, reason.clone()),
        Signature::Missing if required => Finding::fail(
            CheckId::SignatureDoc,
            "the policy requires a signed DoC: add an attestation whose predicate type is https://cragate.dev/doc/v1, signed by the manufacturer, with every artifact as subject",
        ),
        Signature::Missing => Finding::not_applicable(
            CheckId::SignatureDoc,
            "no signed DoC was supplied and the policy does not require one",
        ),
    }
}
