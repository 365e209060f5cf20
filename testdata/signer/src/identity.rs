//! Who a test certificate says signed: the OIDC identity Fulcio would have
//! verified, and the CI claims it would have copied from the token.

use crate::error::SignerError;

/// The certificate's Subject Alternative Name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum San {
    /// An `rfc822Name`, as Fulcio issues for email identities.
    Email(String),
    /// A `uniformResourceIdentifier`, as Fulcio issues for CI workloads.
    Uri(String),
}

impl San {
    /// The SAN value as verifiers report it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Email(value) | Self::Uri(value) => value,
        }
    }
}

/// A Fulcio CI claim (Fulcio `docs/oid-info.md`, arc
/// 1.3.6.1.4.1.57264.1.9 to .24), carried as a DER UTF8String.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    arc: u32,
    value: String,
}

impl Claim {
    /// `.9` Build Signer URI.
    pub const BUILD_SIGNER_URI: u32 = 9;
    /// `.10` Build Signer Digest.
    pub const BUILD_SIGNER_DIGEST: u32 = 10;
    /// `.11` Runner Environment.
    pub const RUNNER_ENVIRONMENT: u32 = 11;
    /// `.12` Source Repository URI.
    pub const SOURCE_REPOSITORY_URI: u32 = 12;
    /// `.13` Source Repository Digest.
    pub const SOURCE_REPOSITORY_DIGEST: u32 = 13;
    /// `.14` Source Repository Ref.
    pub const SOURCE_REPOSITORY_REF: u32 = 14;
    /// `.18` Build Config URI.
    pub const BUILD_CONFIG_URI: u32 = 18;
    /// `.20` Build Trigger.
    pub const BUILD_TRIGGER: u32 = 20;
    /// `.21` Run Invocation URI.
    pub const RUN_INVOCATION_URI: u32 = 21;

    /// A claim under 1.3.6.1.4.1.57264.1.`arc`; only the DER-encoded CI
    /// claims (.9 to .24) are accepted.
    pub fn new(arc: u32, value: impl Into<String>) -> Result<Self, SignerError> {
        if !(9..=24).contains(&arc) {
            return Err(SignerError::invalid(format!(
                "Fulcio CI claims are 1.3.6.1.4.1.57264.1.9 to .24, not .{arc}"
            )));
        }
        Ok(Self {
            arc,
            value: value.into(),
        })
    }

    /// The last arc of the claim's OID.
    pub fn arc(&self) -> u32 {
        self.arc
    }

    /// The claim's value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// Everything the leaf certificate asserts about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The SAN.
    pub san: San,
    /// The OIDC issuer (1.3.6.1.4.1.57264.1.8, and .1.1 as Fulcio still
    /// writes it).
    pub issuer: String,
    /// CI claims, in the order they are written.
    pub claims: Vec<Claim>,
}

impl Identity {
    /// An identity without CI claims.
    pub fn new(san: San, issuer: impl Into<String>) -> Self {
        Self {
            san,
            issuer: issuer.into(),
            claims: Vec::new(),
        }
    }

    /// Adds a CI claim.
    pub fn with_claim(mut self, claim: Claim) -> Self {
        self.claims.push(claim);
        self
    }
}
