//! Trust material pinned in the binary.

/// The Sigstore public-good production trusted root, pinned so that
/// verification never goes to the network. Origin and refresh procedure:
/// `policies/trust-roots/README.md`.
pub const SIGSTORE_PUBLIC_GOOD: &[u8] =
    include_bytes!("../../../policies/trust-roots/sigstore-public-good.json");
