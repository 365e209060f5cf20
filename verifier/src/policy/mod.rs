//! Policies: which checks deny and which warn, the minimums, trust roots and
//! per-category overrides (`cragate.policy/v1`, TOML), and the evaluation
//! of a listing under one.
//!
//! Two steps, because this crate reads no files: [`PolicyDraft::parse`]
//! reads the policy text and lists the files it references; the caller reads
//! them and passes their bytes to [`PolicyDraft::compile`].

mod error;
mod parse;

use std::collections::BTreeMap;

use jiff::Timestamp;
use x509_cert::Certificate;
use x509_cert::der::DecodePem;

pub use error::{PolicyError, PolicyErrors};
pub use parse::{POLICY_FORMAT, PolicyDraft, Reference, ReferenceKind};

use crate::catalog::CheckId;
use crate::ce::{NotifiedBodies, Procedure};
use crate::digest::Digest;
use crate::doc::RawDoc;
use crate::evidence::{Category, Listing};
use crate::signatures::{Signature, SignatureResults, verify_listing};
use crate::sigstore::{IdentityPolicy, ManagedKey, TrustRoot};
use crate::verdict::{CheckResult, Finding, ListingRef, Mode, PolicyRef, Severity, Verdict};
use error::Sink;

/// Settings that per-category overrides can change.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub default_severity: Severity,
    pub severities: BTreeMap<CheckId, Severity>,
    pub minimum_support_years: u32,
    pub sbom_required: bool,
    pub languages: Vec<String>,
    pub critical_procedures: Vec<Procedure>,
    pub require_artifact_signatures: bool,
    pub require_doc_signature: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            default_severity: Severity::Required,
            severities: BTreeMap::new(),
            // Art. 13(8): at least five years unless the product is expected
            // to be in use for less.
            minimum_support_years: 5,
            sbom_required: false,
            languages: Vec::new(),
            // Art. 32(4): until an Art. 8(1) delegated act makes a scheme
            // mandatory, any class II route.
            critical_procedures: vec![Procedure::BPlusC, Procedure::H, Procedure::Eucc],
            require_artifact_signatures: false,
            require_doc_signature: false,
        }
    }
}

/// What one `[overrides."..."]` table changes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Patch {
    pub severities: BTreeMap<CheckId, Severity>,
    pub minimum_support_years: Option<u32>,
    pub sbom_required: Option<bool>,
    pub languages: Option<Vec<String>>,
    pub require_artifact_signatures: Option<bool>,
    pub require_doc_signature: Option<bool>,
}

/// What an override applies to: a whole class, or one category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CategoryKey {
    Class(&'static str),
    Exact(Category),
}

impl CategoryKey {
    fn parse(key: &str) -> Option<Self> {
        match key {
            "default" => Some(Self::Class("default")),
            "class-i" => Some(Self::Class("class-i")),
            "class-ii" => Some(Self::Class("class-ii")),
            "critical" => Some(Self::Class("critical")),
            other => Category::parse(other).map(Self::Exact),
        }
    }
}

/// The settings in force for one listing.
pub(crate) type Rules = Settings;

/// Everything a check may look at.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub listing: &'a Listing,
    pub rules: &'a Rules,
    pub notified_bodies: Option<&'a NotifiedBodies>,
    pub at: Timestamp,
    pub signatures: &'a SignatureResults,
    /// The full DoC the checks examine: the one attached to the listing,
    /// or, when only a signed one was supplied, the verified attestation's.
    pub doc: Option<&'a RawDoc>,
}

/// Trust material for one manufacturer's signatures.
#[derive(Debug, Clone)]
pub struct ManufacturerTrust {
    /// The manufacturer's name as listings give it.
    pub name: String,
    /// Keyless signer identities accepted for it.
    pub identities: Vec<IdentityPolicy>,
    /// Managed keys accepted for it.
    pub keys: Vec<ManagedKey>,
}

/// A compiled policy: parsed, its files loaded and checked, its digest known.
#[derive(Debug)]
pub struct Policy {
    name: String,
    mode: Mode,
    digest: Digest,
    settings: Settings,
    overrides: Vec<(CategoryKey, Patch)>,
    notified_bodies: Option<NotifiedBodies>,
    sigstore_roots: Vec<TrustRoot>,
    keys: Vec<ManagedKey>,
    x509_anchors: Vec<Certificate>,
    manufacturers: Vec<ManufacturerTrust>,
}

impl PolicyDraft {
    /// Compiles the draft with the bytes of every referenced file, keyed by
    /// the path as written in the policy. Every problem is reported at once.
    ///
    /// The digest is SHA-256 over the policy bytes followed, for each
    /// reference in order, by its path, a NUL byte and the SHA-256 of its
    /// bytes: changing the policy or any file it names changes the digest.
    pub fn compile(self, files: &BTreeMap<String, Vec<u8>>) -> Result<Policy, PolicyErrors> {
        let mut sink = Sink::new(&self.file, &self.text);
        let mut digest_input = self.text.as_bytes().to_vec();
        let mut policy = Policy {
            name: self.name.clone(),
            mode: self.mode,
            digest: Digest::from_bytes([0; 32]),
            settings: self.settings.clone(),
            overrides: self.overrides.clone(),
            notified_bodies: None,
            sigstore_roots: Vec::new(),
            keys: Vec::new(),
            x509_anchors: Vec::new(),
            manufacturers: Vec::new(),
        };
        let mut keys_by_path = BTreeMap::new();
        for reference in &self.references {
            let Some(bytes) = files.get(&reference.path) else {
                sink.at_line(reference, format!("{} was not supplied", reference.path));
                continue;
            };
            digest_input.extend_from_slice(reference.path.as_bytes());
            digest_input.push(0);
            digest_input.extend_from_slice(Digest::of(bytes).as_bytes());
            let loaded = match reference.kind {
                ReferenceKind::NotifiedBodies => NotifiedBodies::from_json(bytes)
                    .map(|list| policy.notified_bodies = Some(list))
                    .map_err(|e| e.to_string()),
                ReferenceKind::SigstoreRoot => TrustRoot::from_json(bytes)
                    .map(|root| policy.sigstore_roots.push(root))
                    .map_err(|e| e.to_string()),
                ReferenceKind::PublicKey => ManagedKey::from_pem(bytes)
                    .map(|key| {
                        keys_by_path.insert(reference.path.clone(), key.clone());
                        policy.keys.push(key);
                    })
                    .map_err(|e| e.to_string()),
                ReferenceKind::X509Anchor => Certificate::from_pem(bytes)
                    .map(|cert| policy.x509_anchors.push(cert))
                    .map_err(|e| format!("not a PEM X.509 certificate: {e}")),
            };
            if let Err(message) = loaded {
                sink.at_line(reference, format!("{}: {message}", reference.path));
            }
        }
        for draft in &self.manufacturers {
            policy.manufacturers.push(ManufacturerTrust {
                name: draft.name.clone(),
                identities: draft
                    .identities
                    .iter()
                    .map(|rule| {
                        rule.claims.iter().fold(
                            IdentityPolicy::new(rule.san.clone(), rule.issuer.clone()),
                            |policy, (claim, matcher)| {
                                policy.require_claim(*claim, matcher.clone())
                            },
                        )
                    })
                    .collect(),
                keys: draft
                    .keys
                    .iter()
                    .filter_map(|p| keys_by_path.get(p).cloned())
                    .collect(),
            });
        }
        if !sink.errors.is_empty() {
            return Err(PolicyErrors {
                errors: sink.errors,
            });
        }
        policy.digest = Digest::of(&digest_input);
        Ok(policy)
    }
}

impl Policy {
    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Enforce or audit.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// SHA-256 over the policy and every file it references.
    pub fn digest(&self) -> Digest {
        self.digest
    }
    /// The notified-body list, if the policy names one.
    pub fn notified_bodies(&self) -> Option<&NotifiedBodies> {
        self.notified_bodies.as_ref()
    }
    /// Sigstore trusted roots.
    pub fn sigstore_roots(&self) -> &[TrustRoot] {
        &self.sigstore_roots
    }
    /// Every PEM public key the policy trusts.
    pub fn keys(&self) -> &[ManagedKey] {
        &self.keys
    }
    /// X.509 trust anchors for manufacturer PKIs.
    pub fn x509_anchors(&self) -> &[Certificate] {
        &self.x509_anchors
    }
    /// Per-manufacturer signer rules.
    pub fn manufacturers(&self) -> &[ManufacturerTrust] {
        &self.manufacturers
    }

    /// Evaluates `listing` at time `at`: verifies its signatures and
    /// attestations against the policy's trust material, then runs every
    /// check of the catalogue; each appears in the verdict.
    pub fn evaluate(&self, listing: &Listing, at: Timestamp) -> Verdict {
        let rules = self.rules_for(listing.category());
        let signatures = verify_listing(self, listing, at);
        let doc = listing.full_doc().or(match &signatures.doc {
            Signature::Verified { value, .. } => Some(value.as_ref()),
            _ => None,
        });
        let cx = Context {
            listing,
            rules: &rules,
            notified_bodies: self.notified_bodies.as_ref(),
            at,
            signatures: &signatures,
            doc,
        };
        let mut findings = crate::doc::doc_findings(&cx);
        findings.extend(crate::ce::evaluate(&cx));
        findings.extend(crate::ce::class_findings(&cx));
        findings.extend(crate::evidence::content_findings(&cx));
        findings.extend(crate::sbom::evaluate(&cx));
        findings.extend(signature_findings(&cx));
        let checks = CheckId::ALL
            .iter()
            .map(|id| {
                let found = findings.iter().find(|f| f.id == *id).cloned();
                // Every check has a finding; one that has none could not run.
                let Finding {
                    article,
                    result,
                    detail,
                    ..
                } = found.unwrap_or_else(|| Finding::fail(*id, "internal: the check did not run"));
                CheckResult {
                    id: *id,
                    article,
                    result,
                    severity: rules
                        .severities
                        .get(id)
                        .copied()
                        .unwrap_or(rules.default_severity),
                    detail,
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
            checks,
        )
    }

    /// The base settings, then the class override, then the category one.
    fn rules_for(&self, category: Category) -> Rules {
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

#[cfg(test)]
mod tests;
