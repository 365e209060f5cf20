//! What the fuzz targets of the verifier's parsers share: the policies a
//! listing is judged under (the shipped app-store and importer policies and
//! a policy that requires signatures by the test signer), the evaluation
//! time, and the listing templates into which the DoC and SBOM targets
//! splice their input.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use cragate_verifier::evidence::Listing;
use cragate_verifier::policy::{Policy, PolicyDraft};
use jiff::Timestamp;

/// `policies/` and the test signer's files, as the policies name them.
const FILES: &[(&str, &[u8])] = &[
    (
        "notified-bodies/illustrative-nando.json",
        include_bytes!("../../../policies/notified-bodies/illustrative-nando.json"),
    ),
    (
        "harmonised/standards.json",
        include_bytes!("../../../policies/harmonised/standards.json"),
    ),
    (
        "harmonised/common-specifications.json",
        include_bytes!("../../../policies/harmonised/common-specifications.json"),
    ),
    (
        "harmonised/certification-schemes.json",
        include_bytes!("../../../policies/harmonised/certification-schemes.json"),
    ),
    (
        "trust-roots/sigstore-public-good.json",
        include_bytes!("../../../policies/trust-roots/sigstore-public-good.json"),
    ),
    (
        "../../signed/trusted_root.json",
        include_bytes!("../../../testdata/signed/trusted_root.json"),
    ),
];

/// The policies every listing is judged under.
const POLICIES: &[(&str, &[u8])] = &[
    (
        "app-store.toml",
        include_bytes!("../../../policies/app-store.toml"),
    ),
    (
        "importer.toml",
        include_bytes!("../../../policies/importer.toml"),
    ),
    (
        "signed-firmware.toml",
        include_bytes!("../../../testdata/cra-signed/signed_firmware_and_doc_pass/policy.toml"),
    ),
];

/// Every file a policy may name, keyed by the path it writes.
pub fn files() -> BTreeMap<String, Vec<u8>> {
    FILES
        .iter()
        .map(|(path, bytes)| ((*path).to_owned(), bytes.to_vec()))
        .collect()
}

/// The compiled policies. A policy of the repository that does not compile
/// is a broken harness, not a finding: it panics.
pub fn policies() -> &'static [Policy] {
    static POLICIES_COMPILED: OnceLock<Vec<Policy>> = OnceLock::new();
    POLICIES_COMPILED.get_or_init(|| {
        let files = files();
        POLICIES
            .iter()
            .map(|(name, bytes)| {
                PolicyDraft::parse(name, bytes)
                    .and_then(|draft| draft.compile(&files))
                    .unwrap_or_else(|errors| panic!("{name} does not compile: {errors}"))
            })
            .collect()
    })
}

/// The time listings are judged at (that of the `testdata/cra` cases).
pub fn at() -> Timestamp {
    Timestamp::from_second(1_811_808_000).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Parses `bytes` as a listing and, when it parses, judges it under every
/// policy and renders each verdict as JSON, as `cragate check` does.
pub fn judge(bytes: &[u8]) {
    let Ok(listing) = Listing::from_json(bytes) else {
        return;
    };
    for policy in policies() {
        let verdict = policy.evaluate(&listing, at());
        assert!(
            serde_json::to_vec(&verdict).is_ok(),
            "a verdict does not render as JSON"
        );
    }
}

/// A listing of `testdata/cra` with `input` in place of one of its values:
/// `before`, `input`, `after`.
pub fn splice(before: &str, input: &[u8], after: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(before.len() + input.len() + after.len());
    bytes.extend_from_slice(before.as_bytes());
    bytes.extend_from_slice(input);
    bytes.extend_from_slice(after.as_bytes());
    bytes
}

/// The value of a listing a target's input takes the place of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `declaration_of_conformity.full`.
    Doc,
    /// `sbom.document` of a listing that claims CycloneDX.
    SbomCycloneDx,
    /// `sbom.document` of a listing that claims SPDX.
    SbomSpdx,
}

const DOC_BASE: &[u8] =
    include_bytes!("../../../testdata/cra/camera_non_eu_maker_pass/listing.json");
const CYCLONEDX_BASE: &[u8] =
    include_bytes!("../../../testdata/cra/sbom_cyclonedx_16_pass/listing.json");
const SPDX_BASE: &[u8] = include_bytes!("../../../testdata/cra/sbom_spdx_23_pass/listing.json");

/// A string no listing of the repository holds, put where the input goes.
const HOLE: &str = "\u{1}fuzz input\u{1}";

/// The text of the slot's listing before and after the slot's value.
pub fn template(slot: Slot) -> (&'static str, &'static str) {
    static TEMPLATES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    let templates = TEMPLATES.get_or_init(|| {
        [
            (DOC_BASE, "declaration_of_conformity", "full"),
            (CYCLONEDX_BASE, "sbom", "document"),
            (SPDX_BASE, "sbom", "document"),
        ]
        .iter()
        .map(|(base, outer, inner)| {
            let mut listing: serde_json::Value =
                serde_json::from_slice(base).expect("a testdata listing parses");
            listing[*outer][*inner] = serde_json::Value::String(HOLE.into());
            let text = listing.to_string();
            let hole = serde_json::Value::String(HOLE.into()).to_string();
            let (before, after) = text.split_once(&hole).expect("the hole is in the text");
            (before.to_owned(), after.to_owned())
        })
        .collect()
    });
    let index = match slot {
        Slot::Doc => 0,
        Slot::SbomCycloneDx => 1,
        Slot::SbomSpdx => 2,
    };
    let (before, after) = &templates[index];
    (before, after)
}
