//! The shipped app-store policy and the files it references, built into the
//! binary so that `cragate check` works without a policy path. The files
//! are the same ones shipped in `policies/`; `--policy` selects another.

/// Name under which the built-in policy is reported in errors.
pub const APP_STORE_NAME: &str = "policies/app-store.toml (built in)";

/// `policies/app-store.toml`.
pub const APP_STORE: &[u8] = include_bytes!("../../policies/app-store.toml");

/// Files the built-in policy references, by the path it writes.
const FILES: &[(&str, &[u8])] = &[
    (
        "trust-roots/sigstore-public-good.json",
        crate::trust_roots::SIGSTORE_PUBLIC_GOOD,
    ),
    (
        "notified-bodies/illustrative-nando.json",
        include_bytes!("../../policies/notified-bodies/illustrative-nando.json"),
    ),
];

/// The bytes of a file the built-in policy references.
pub fn embedded(path: &str) -> Option<&'static [u8]> {
    FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, bytes)| *bytes)
}
