//! Why a signed halt notice is refused: each variant knows which refusal it
//! is ([`Refusal`]), so the gateway maps it to one HTTP status and the CLI
//! to one exit code.

use super::notice::Action;

/// The kind of refusal, as the halt API answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Not a signed notice, or the notice inside is not a valid
    /// `cragate.halt/v1` (HTTP 400).
    Malformed,
    /// No signature verifies for the issuer's key or identity (HTTP 401).
    BadSignature,
    /// The issuer is not trusted, or not for that product or action (HTTP 403).
    NotTrusted,
}

/// Why a signed halt notice was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HaltError {
    /// The signed form or the notice does not parse or breaks a rule.
    #[error("malformed halt notice: {detail}")]
    Malformed {
        /// What is wrong, and where.
        detail: String,
    },
    /// No signature verified.
    #[error("bad signature: {detail}")]
    BadSignature {
        /// The most specific reason.
        detail: String,
    },
    /// The policy has no `[[halt_issuers]]` entry for the issuer.
    #[error(
        "issuer {issuer:?} is not trusted: the policy has no [[halt_issuers]] entry with that id"
    )]
    UnknownIssuer {
        /// The issuer the notice names.
        issuer: String,
    },
    /// The issuer may not act on a product in the scope.
    #[error(
        "issuer {issuer:?} is not trusted for product {product:?}: its [[halt_issuers]] products are {globs:?}"
    )]
    ProductNotTrusted {
        /// The issuer.
        issuer: String,
        /// The first product outside its globs.
        product: String,
        /// Its globs.
        globs: Vec<String>,
    },
    /// The issuer may not take this action.
    #[error(
        "issuer {issuer:?} is not trusted for action {action:?}: its [[halt_issuers]] actions are {allowed:?}"
    )]
    ActionNotTrusted {
        /// The issuer.
        issuer: String,
        /// The action of the notice.
        action: Action,
        /// The actions it may take.
        allowed: Vec<Action>,
    },
}

impl HaltError {
    /// Which refusal this is.
    pub fn refusal(&self) -> Refusal {
        match self {
            Self::Malformed { .. } => Refusal::Malformed,
            Self::BadSignature { .. } => Refusal::BadSignature,
            Self::UnknownIssuer { .. }
            | Self::ProductNotTrusted { .. }
            | Self::ActionNotTrusted { .. } => Refusal::NotTrusted,
        }
    }
}
