//! Policies: which checks deny and which warn, the minimums, trust roots and
//! per-category overrides (`cragate.policy/v1`, TOML), and the evaluation
//! of a listing under one.
//!
//! Two steps, because this crate reads no files: [`PolicyDraft::parse`]
//! reads the policy text and lists the files it references; the caller reads
//! them and passes their bytes to [`PolicyDraft::compile`].

mod error;
mod evaluate;
mod halt_compile;
mod importer;
mod oci;
mod parse;

use std::collections::BTreeMap;

use jiff::Timestamp;
use x509_cert::Certificate;
use x509_cert::der::DecodePem;

pub use error::{PolicyError, PolicyErrors};
pub use importer::ImporterDetails;
pub use oci::OciRepository;
pub use parse::{POLICY_FORMAT, PolicyDraft, Reference, ReferenceKind};

use crate::applicability::Enforce;
use crate::catalog::CheckId;
use crate::ce::{ListKind, NotifiedBodies, PresumptionList, Procedure};
use crate::digest::Digest;
use crate::doc::RawDoc;
use crate::evidence::{Category, Listing};
use crate::halt::{Action, KeyAlgorithm, ProductGlob};
use crate::signatures::SignatureResults;
use crate::sigstore::{IdentityPolicy, ManagedKey, TrustRoot};
use crate::verdict::{Mode, Severity};
use error::Sink;
use halt_compile as halt_issuers;

/// The Member States of the European Union, ISO 3166-1 alpha-2: the
/// default of `[market] union_states`, where an importer (Art. 3(16)) or an
/// authorised representative (Art. 3(15)) must be established. Once the
/// Regulation applies in the EEA, a policy adds Iceland, Liechtenstein and
/// Norway (`IS`, `LI`, `NO`) there. Greece is `GR` (`EL`, the EU's own code,
/// is read as `GR`).
pub const EU_MEMBER_STATES: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
];

/// Whether supply after the support period ended is refused: the
/// Regulation allows units placed before the end to be made available
/// after it (FAQ 4.5.3), so refusing them is the policy's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SupplyAfterEnd {
    #[default]
    Allow,
    Refuse,
}

/// Phrasings a policy accepts for one language's DoC statements. When a
/// policy lists none, only the presence of the statements is checked
/// (Art. 28(2): the DoC is in the Member States' languages, not in English).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Phrasings {
    /// Annex V(3): "issued under the sole responsibility of ...".
    pub sole_responsibility: Vec<String>,
    /// Annex VI: "... declares that ... is in compliance with ...".
    pub simplified: Vec<String>,
}

/// Settings that per-category overrides can change.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub default_severity: Severity,
    pub severities: BTreeMap<CheckId, Severity>,
    pub minimum_support_years: u32,
    pub supply_after_end: SupplyAfterEnd,
    pub sbom_required: bool,
    pub languages: Vec<String>,
    pub critical_procedures: Vec<Procedure>,
    pub require_artifact_signatures: bool,
    pub require_doc_signature: bool,
    pub doc_full_required: bool,
    pub doc_languages: Vec<String>,
    /// By language tag.
    pub phrasings: BTreeMap<String, Phrasings>,
    pub union_states: Vec<String>,
    /// `[importer]`: the importer's own details (Art. 19(4)).
    pub importer: Option<ImporterDetails>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            default_severity: Severity::Required,
            severities: BTreeMap::new(),
            // Art. 13(8): at least five years unless the product is expected
            // to be in use for less.
            minimum_support_years: 5,
            supply_after_end: SupplyAfterEnd::Allow,
            sbom_required: false,
            languages: Vec::new(),
            // Art. 32(4): until an Art. 8(1) delegated act makes a scheme
            // mandatory, any class II route.
            critical_procedures: vec![Procedure::BPlusC, Procedure::H, Procedure::Eucc],
            require_artifact_signatures: false,
            require_doc_signature: false,
            // Art. 13(20): the full DoC or the simplified one.
            doc_full_required: false,
            doc_languages: Vec::new(),
            phrasings: BTreeMap::new(),
            union_states: EU_MEMBER_STATES.iter().map(|s| (*s).to_owned()).collect(),
            importer: None,
        }
    }
}

impl Settings {
    /// Whether `code` (ISO 3166-1 alpha-2) is one of `union_states`.
    pub fn in_union(&self, code: &str) -> bool {
        let code = canonical_country(code);
        self.union_states
            .iter()
            .any(|s| canonical_country(s) == code)
    }
}

/// `EL` (the EU's code for Greece) read as `GR`.
fn canonical_country(code: &str) -> &str {
    if code == "EL" { "GR" } else { code }
}

/// The lists of what a manufacturer may rely on under Art. 27, as the
/// policy carries them (`[conformity]`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Presumption {
    pub standards: Option<PresumptionList>,
    pub specifications: Option<PresumptionList>,
    pub schemes: Option<PresumptionList>,
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
    pub presumption: &'a Presumption,
    pub at: Timestamp,
    pub signatures: &'a SignatureResults,
    /// The full DoC the checks examine: the one attached to the listing,
    /// or, when only a signed one was supplied, the verified attestation's.
    pub doc: Option<&'a RawDoc>,
    /// Whether the listing carries only the simplified DoC (Annex VI).
    pub simplified_only: bool,
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

/// How a halt issuer signs its notices.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum HaltSigner {
    /// A DSSE envelope signed with this key.
    Key {
        /// The key.
        key: ManagedKey,
        /// Its algorithm (Ed25519 or ECDSA P-256).
        algorithm: KeyAlgorithm,
    },
    /// A Sigstore bundle whose certificate carries this identity.
    Identity(IdentityPolicy),
}

/// One `[[halt_issuers]]` entry: who may halt, recall, withdraw or lift,
/// for which products (CRA Art. 19(3), 20(3), 54(4)).
#[derive(Debug, Clone)]
pub struct HaltIssuer {
    /// Equals the `issuer` of its notices.
    pub id: String,
    /// Its key or Sigstore identity.
    pub signer: HaltSigner,
    /// Product id globs it may act on.
    pub products: Vec<ProductGlob>,
    /// Actions it may take.
    pub actions: Vec<Action>,
}

/// A compiled policy: parsed, its files loaded and checked, its digest known.
#[derive(Debug)]
pub struct Policy {
    name: String,
    mode: Mode,
    enforce: Enforce,
    digest: Digest,
    settings: Settings,
    overrides: Vec<(CategoryKey, Patch)>,
    notified_bodies: Option<NotifiedBodies>,
    presumption: Presumption,
    sigstore_roots: Vec<TrustRoot>,
    keys: Vec<ManagedKey>,
    x509_anchors: Vec<Certificate>,
    manufacturers: Vec<ManufacturerTrust>,
    halt_issuers: Vec<HaltIssuer>,
    oci_repositories: Vec<OciRepository>,
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
            enforce: self.enforce,
            digest: Digest::from_bytes([0; 32]),
            settings: self.settings.clone(),
            overrides: self.overrides.clone(),
            notified_bodies: None,
            presumption: Presumption::default(),
            sigstore_roots: Vec::new(),
            keys: Vec::new(),
            x509_anchors: Vec::new(),
            manufacturers: Vec::new(),
            halt_issuers: Vec::new(),
            oci_repositories: self.oci_repositories.clone(),
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
                ReferenceKind::Presumption(kind) => PresumptionList::from_json(bytes, kind)
                    .map(|list| {
                        let slot = match kind {
                            ListKind::HarmonisedStandards => &mut policy.presumption.standards,
                            ListKind::CommonSpecifications => {
                                &mut policy.presumption.specifications
                            }
                            _ => &mut policy.presumption.schemes,
                        };
                        *slot = Some(list);
                    })
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
        policy.halt_issuers = halt_issuers::compile(
            &self.halt_issuers,
            &keys_by_path,
            !policy.sigstore_roots.is_empty(),
            &mut sink,
        );
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
    /// Readiness, or only the duties in force for the unit (Art. 69, 71).
    pub fn enforce(&self) -> Enforce {
        self.enforce
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
    /// Whom the operator trusts for halt notices (`[[halt_issuers]]`).
    pub fn halt_issuers(&self) -> &[HaltIssuer] {
        &self.halt_issuers
    }
    /// The importer's own details (`[importer]`, Art. 19(4)), if given.
    pub fn importer(&self) -> Option<&ImporterDetails> {
        self.settings.importer.as_ref()
    }
    /// Whether `code` (ISO 3166-1 alpha-2) is one of the policy's
    /// `[market] union_states`, where an importer is established
    /// (Art. 3(16)).
    pub fn in_union(&self, code: &str) -> bool {
        self.settings.in_union(code)
    }
}

#[cfg(test)]
mod tests;
