//! Policies: the shipped app-store policy and the files it references, built
//! into the binary so that `cragate check` and `cragate serve` work without a
//! policy path (the files are the same ones shipped in `policies/`; `--policy`
//! selects another), the loader both commands use, and the one evaluation
//! path from listing bytes to a verdict.

use std::collections::BTreeMap;
use std::path::Path;

use cragate_verifier::evidence::{EvidenceError, Listing};
use cragate_verifier::limits::MAX_POLICY_BYTES;
use cragate_verifier::policy::{Policy, PolicyDraft, PolicyError, PolicyErrors};
use cragate_verifier::verdict::Verdict;
use jiff::Timestamp;

use crate::http::files::read_file_limited;

/// Name under which the built-in policy is reported in errors.
pub const APP_STORE_NAME: &str = "policies/app-store.toml (built in)";

/// `policies/app-store.toml`.
pub const APP_STORE: &[u8] = include_bytes!("../../../policies/app-store.toml");

/// Files the built-in policy references, by the path it writes.
const FILES: &[(&str, &[u8])] = &[
    (
        "trust-roots/sigstore-public-good.json",
        crate::config::trust_roots::SIGSTORE_PUBLIC_GOOD,
    ),
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
];

/// The bytes of a file the built-in policy references.
pub fn embedded(path: &str) -> Option<&'static [u8]> {
    FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, bytes)| *bytes)
}

/// Reads the policy and every file it references (relative to the policy's
/// folder), or the built-in app-store policy, and compiles it. Every problem
/// is reported at once. `cragate check` and `cragate serve` both load their
/// policy here.
pub fn load(path: Option<&Path>) -> Result<Policy, PolicyErrors> {
    let (name, bytes, folder) = match path {
        None => (APP_STORE_NAME.to_owned(), APP_STORE.to_vec(), None),
        Some(path) => {
            let name = path.display().to_string();
            let bytes =
                read_file_limited(path, MAX_POLICY_BYTES, "policy").map_err(|e| whole(&name, e))?;
            (
                name,
                bytes,
                Some(path.parent().unwrap_or(Path::new(".")).to_path_buf()),
            )
        }
    };
    let draft = PolicyDraft::parse(&name, &bytes)?;
    let mut files = BTreeMap::new();
    let mut errors = Vec::new();
    for reference in draft.references() {
        let limit = reference.kind.max_bytes();
        let loaded = match &folder {
            Some(folder) => {
                read_file_limited(&folder.join(&reference.path), limit, "referenced file")
                    .map_err(|e| format!("{e:#}"))
            }
            None => embedded(&reference.path)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| format!("{} is not built in", reference.path)),
        };
        match loaded {
            Ok(bytes) => {
                files.insert(reference.path.clone(), bytes);
            }
            Err(message) => errors.push(PolicyError {
                file: name.clone(),
                line: reference.line,
                column: reference.column,
                message,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(PolicyErrors::new(errors));
    }
    draft.compile(&files)
}

/// Parses a listing from its bytes and evaluates it under `policy` at `at`:
/// the one evaluation path of `cragate check` and `cragate serve`. The
/// evaluation verifies the listing's signatures and attestations against
/// the policy's trust material.
pub fn evaluate(
    policy: &Policy,
    listing_bytes: &[u8],
    at: Timestamp,
) -> Result<(Listing, Verdict), EvidenceError> {
    let listing = Listing::from_json(listing_bytes)?;
    let verdict = policy.evaluate(&listing, at);
    Ok((listing, verdict))
}

fn whole(name: &str, error: anyhow::Error) -> PolicyErrors {
    PolicyErrors::new(vec![PolicyError {
        file: name.to_owned(),
        line: 0,
        column: 0,
        message: format!("{error:#}"),
    }])
}
