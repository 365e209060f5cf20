//! Who may have signed: certificate identity rules and managed keys.
//!
//! `sigstore-verify` matches identities exactly and only on the SAN and the
//! issuer. cragate verifies the bundle cryptographically first and then
//! applies its own rules to the verified certificate: exact values or
//! regular expressions on the SAN and the OIDC issuer, and rules on the
//! Fulcio CI extensions (OID arc 1.3.6.1.4.1.57264.1, see Fulcio's
//! `docs/oid-info.md`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use regex::{Regex, RegexBuilder};
use sigstore_verify::crypto::FulcioCiClaims;

use crate::digest::Digest;
use crate::limits::MAX_PUBLIC_KEY_BYTES;

/// Compiled size budget for one identity pattern (the regex crate's own
/// default is 10 MiB; identity patterns are a line long).
const MAX_PATTERN_COMPILED_BYTES: usize = 256 * 1024;

/// What a bundle must have been signed by.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SignerPolicy {
    /// A Fulcio-style certificate whose identity satisfies the rules.
    Certificate(IdentityPolicy),
    /// A managed key (the bundle carries a public-key hint, no certificate).
    Key(ManagedKey),
}

/// Rules on a verified signing certificate. Every rule must hold.
#[derive(Debug, Clone)]
pub struct IdentityPolicy {
    san: Matcher,
    issuer: Matcher,
    claims: Vec<(FulcioClaim, Matcher)>,
}

impl IdentityPolicy {
    /// Requires the certificate's SAN and OIDC issuer to match.
    pub fn new(san: Matcher, issuer: Matcher) -> Self {
        Self {
            san,
            issuer,
            claims: Vec::new(),
        }
    }

    /// Also requires a Fulcio CI claim to be present and match.
    pub fn require_claim(mut self, claim: FulcioClaim, matcher: Matcher) -> Self {
        self.claims.push((claim, matcher));
        self
    }

    /// Checks the rules against a verified certificate's claims.
    pub(crate) fn check(&self, signer: &CertificateSigner) -> Result<(), IdentityMismatch> {
        check_one(
            &self.san,
            IdentityField::SubjectAlternativeName,
            Some(&signer.identity),
        )?;
        check_one(
            &self.issuer,
            IdentityField::OidcIssuer,
            signer.issuer.as_deref(),
        )?;
        for (claim, matcher) in &self.claims {
            check_one(
                matcher,
                IdentityField::Claim(*claim),
                signer.claims.get(claim).map(String::as_str),
            )?;
        }
        Ok(())
    }
}

fn check_one(
    matcher: &Matcher,
    field: IdentityField,
    actual: Option<&str>,
) -> Result<(), IdentityMismatch> {
    match actual {
        Some(value) if matcher.matches(value) => Ok(()),
        _ => Err(IdentityMismatch {
            field,
            expected: matcher.to_string(),
            actual: actual.map(str::to_owned),
        }),
    }
}

/// How one certificate field is matched.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Matcher {
    /// The value equals this string exactly.
    Exact(String),
    /// The whole value matches this regular expression (it is anchored at
    /// both ends, unlike cosign's `--certificate-identity-regexp`).
    Pattern(Regex),
}

impl Matcher {
    /// Compiles an anchored pattern, within a size budget.
    pub fn pattern(pattern: &str) -> Result<Self, regex::Error> {
        RegexBuilder::new(&format!("^(?:{pattern})$"))
            .size_limit(MAX_PATTERN_COMPILED_BYTES)
            .build()
            .map(Self::Pattern)
    }

    /// Whether `value` satisfies this matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Self::Exact(expected) => expected == value,
            Self::Pattern(regex) => regex.is_match(value),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(value) => write!(f, "{value:?}"),
            Self::Pattern(regex) => {
                let anchored = regex.as_str();
                let inner = anchored
                    .strip_prefix("^(?:")
                    .and_then(|rest| rest.strip_suffix(")$"))
                    .unwrap_or(anchored);
                write!(f, "a match for /{inner}/")
            }
        }
    }
}

/// Which certificate field an identity rule looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityField {
    /// The Subject Alternative Name (email or URI).
    SubjectAlternativeName,
    /// The OIDC issuer extension (1.3.6.1.4.1.57264.1.8, or .1.1 on old certificates).
    OidcIssuer,
    /// A Fulcio CI claim.
    Claim(FulcioClaim),
}

impl fmt::Display for IdentityField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SubjectAlternativeName => f.write_str("certificate identity (SAN)"),
            Self::OidcIssuer => f.write_str("certificate OIDC issuer"),
            Self::Claim(claim) => write!(f, "certificate claim {claim} ({})", claim.oid()),
        }
    }
}

/// A verified certificate did not satisfy an identity rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is {}, expected {expected}", actual.as_deref().map_or_else(|| "absent".to_owned(), |v| format!("{v:?}")))]
pub struct IdentityMismatch {
    /// The field that failed.
    pub field: IdentityField,
    /// The rule, as text.
    pub expected: String,
    /// The certificate's value, when it has one.
    pub actual: Option<String>,
}

/// The Fulcio CI claims a policy can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FulcioClaim {
    /// `.1.9` the build configuration that requested the signature.
    BuildSignerUri,
    /// `.1.10` the commit of the signing configuration.
    BuildSignerDigest,
    /// `.1.11` `github-hosted` or `self-hosted`.
    RunnerEnvironment,
    /// `.1.12` the source repository.
    SourceRepositoryUri,
    /// `.1.13` the source commit.
    SourceRepositoryDigest,
    /// `.1.14` the source ref, e.g. `refs/tags/v1.2.0`.
    SourceRepositoryRef,
    /// `.1.15` the provider's immutable repository id.
    SourceRepositoryIdentifier,
    /// `.1.16` the repository owner.
    SourceRepositoryOwnerUri,
    /// `.1.17` the provider's immutable owner id.
    SourceRepositoryOwnerIdentifier,
    /// `.1.18` the build configuration that ran.
    BuildConfigUri,
    /// `.1.19` the commit of the build configuration.
    BuildConfigDigest,
    /// `.1.20` the event that triggered the build.
    BuildTrigger,
    /// `.1.21` the CI run.
    RunInvocationUri,
    /// `.1.22` `public`, `private` or `internal`.
    SourceRepositoryVisibilityAtSigning,
    /// `.1.23` the deployment environment.
    DeploymentEnvironment,
    /// `.1.24` the identity token's `sub` claim.
    TokenSubject,
}

impl FulcioClaim {
    /// Every claim, in OID order.
    pub const ALL: [FulcioClaim; 16] = [
        Self::BuildSignerUri,
        Self::BuildSignerDigest,
        Self::RunnerEnvironment,
        Self::SourceRepositoryUri,
        Self::SourceRepositoryDigest,
        Self::SourceRepositoryRef,
        Self::SourceRepositoryIdentifier,
        Self::SourceRepositoryOwnerUri,
        Self::SourceRepositoryOwnerIdentifier,
        Self::BuildConfigUri,
        Self::BuildConfigDigest,
        Self::BuildTrigger,
        Self::RunInvocationUri,
        Self::SourceRepositoryVisibilityAtSigning,
        Self::DeploymentEnvironment,
        Self::TokenSubject,
    ];

    /// The name used in policies and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::BuildSignerUri => "build-signer-uri",
            Self::BuildSignerDigest => "build-signer-digest",
            Self::RunnerEnvironment => "runner-environment",
            Self::SourceRepositoryUri => "source-repository-uri",
            Self::SourceRepositoryDigest => "source-repository-digest",
            Self::SourceRepositoryRef => "source-repository-ref",
            Self::SourceRepositoryIdentifier => "source-repository-identifier",
            Self::SourceRepositoryOwnerUri => "source-repository-owner-uri",
            Self::SourceRepositoryOwnerIdentifier => "source-repository-owner-identifier",
            Self::BuildConfigUri => "build-config-uri",
            Self::BuildConfigDigest => "build-config-digest",
            Self::BuildTrigger => "build-trigger",
            Self::RunInvocationUri => "run-invocation-uri",
            Self::SourceRepositoryVisibilityAtSigning => "source-repository-visibility-at-signing",
            Self::DeploymentEnvironment => "deployment-environment",
            Self::TokenSubject => "token-subject",
        }
    }

    /// The extension's object identifier.
    pub fn oid(self) -> String {
        let arc = 9 + Self::ALL
            .iter()
            .position(|c| *c == self)
            .unwrap_or_default();
        format!("1.3.6.1.4.1.57264.1.{arc}")
    }

    fn value(self, claims: &FulcioCiClaims) -> Option<&String> {
        match self {
            Self::BuildSignerUri => claims.build_signer_uri.as_ref(),
            Self::BuildSignerDigest => claims.build_signer_digest.as_ref(),
            Self::RunnerEnvironment => claims.runner_environment.as_ref(),
            Self::SourceRepositoryUri => claims.source_repository_uri.as_ref(),
            Self::SourceRepositoryDigest => claims.source_repository_digest.as_ref(),
            Self::SourceRepositoryRef => claims.source_repository_ref.as_ref(),
            Self::SourceRepositoryIdentifier => claims.source_repository_identifier.as_ref(),
            Self::SourceRepositoryOwnerUri => claims.source_repository_owner_uri.as_ref(),
            Self::SourceRepositoryOwnerIdentifier => {
                claims.source_repository_owner_identifier.as_ref()
            }
            Self::BuildConfigUri => claims.build_config_uri.as_ref(),
            Self::BuildConfigDigest => claims.build_config_digest.as_ref(),
            Self::BuildTrigger => claims.build_trigger.as_ref(),
            Self::RunInvocationUri => claims.run_invocation_uri.as_ref(),
            Self::SourceRepositoryVisibilityAtSigning => {
                claims.source_repository_visibility_at_signing.as_ref()
            }
            Self::DeploymentEnvironment => claims.deployment_environment.as_ref(),
            Self::TokenSubject => claims.token_subject.as_ref(),
        }
    }
}

impl fmt::Display for FulcioClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown claim name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown certificate claim {name:?}; known claims: {}", FulcioClaim::ALL.map(FulcioClaim::name).join(", "))]
pub struct UnknownClaim {
    /// The name as given.
    pub name: String,
}

impl FromStr for FulcioClaim {
    type Err = UnknownClaim;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|claim| claim.name() == name || claim.oid() == name)
            .ok_or_else(|| UnknownClaim {
                name: name.to_owned(),
            })
    }
}

/// The signer of a verified bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signer {
    /// A certificate that chained to a trusted authority.
    Certificate(CertificateSigner),
    /// The managed key the policy named, by the digest of its DER SPKI.
    Key {
        /// SHA-256 of the key's DER SubjectPublicKeyInfo.
        key_digest: Digest,
    },
}

/// What a verified signing certificate says about its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSigner {
    /// The SAN (email or URI).
    pub identity: String,
    /// The OIDC issuer, when the certificate names one.
    pub issuer: Option<String>,
    /// The Fulcio CI claims present in the certificate.
    pub claims: BTreeMap<FulcioClaim, String>,
}

impl CertificateSigner {
    pub(crate) fn from_library(
        identity: Option<String>,
        issuer: Option<String>,
        claims: &FulcioCiClaims,
    ) -> Self {
        Self {
            identity: identity.unwrap_or_default(),
            issuer,
            claims: FulcioClaim::ALL
                .into_iter()
                .filter_map(|claim| claim.value(claims).map(|v| (claim, v.clone())))
                .collect(),
        }
    }
}

/// A managed public key (PEM `PUBLIC KEY`, SubjectPublicKeyInfo).
#[derive(Clone)]
pub struct ManagedKey {
    pub(crate) der: sigstore_verify::types::DerPublicKey,
    digest: Digest,
}

/// Why a managed key was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The file is larger than any public key.
    #[error("public key is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a PEM `PUBLIC KEY` block with a supported algorithm.
    #[error("public key is not a usable PEM PUBLIC KEY: {detail}")]
    Malformed {
        /// What the parser said.
        detail: String,
    },
}

impl ManagedKey {
    /// Parses a PEM-encoded SubjectPublicKeyInfo.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        if pem.len() > MAX_PUBLIC_KEY_BYTES {
            return Err(KeyError::TooLarge {
                size: pem.len(),
                limit: MAX_PUBLIC_KEY_BYTES,
            });
        }
        let text = std::str::from_utf8(pem).map_err(|_| KeyError::Malformed {
            detail: "not UTF-8 text".to_owned(),
        })?;
        let der = sigstore_verify::types::DerPublicKey::from_pem(text).map_err(|e| {
            KeyError::Malformed {
                detail: e.to_string(),
            }
        })?;
        sigstore_verify::crypto::KeyAlgorithm::from_spki(&der).map_err(|e| {
            KeyError::Malformed {
                detail: e.to_string(),
            }
        })?;
        let digest = Digest::of(der.as_bytes());
        Ok(Self { der, digest })
    }

    /// SHA-256 of the key's DER SubjectPublicKeyInfo.
    pub fn digest(&self) -> Digest {
        self.digest
    }
}

impl fmt::Debug for ManagedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedKey")
            .field("digest", &self.digest)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> CertificateSigner {
        CertificateSigner {
            identity: "https://github.com/acme/cam/.github/workflows/release.yml@refs/tags/v4.2.1"
                .to_owned(),
            issuer: Some("https://token.actions.githubusercontent.com".to_owned()),
            claims: BTreeMap::from([(
                FulcioClaim::SourceRepositoryRef,
                "refs/tags/v4.2.1".to_owned(),
            )]),
        }
    }

    #[test]
    fn patterns_are_anchored_at_both_ends() {
        let matcher = Matcher::pattern("https://github.com/acme/.*").unwrap();
        assert!(matcher.matches("https://github.com/acme/cam"));
        assert!(!matcher.matches("evil https://github.com/acme/cam"));
        let prefix_only = Matcher::pattern("https://github.com/acme").unwrap();
        assert!(!prefix_only.matches("https://github.com/acme/cam"));
    }

    #[test]
    fn claim_rules_apply_to_the_verified_certificate() {
        let issuer = Matcher::Exact("https://token.actions.githubusercontent.com".to_owned());
        let san = Matcher::pattern(r"https://github\.com/acme/cam/.+").unwrap();
        let tags = Matcher::pattern("refs/tags/v.*").unwrap();
        let policy = IdentityPolicy::new(san, issuer)
            .require_claim(FulcioClaim::SourceRepositoryRef, tags.clone());
        assert!(policy.check(&signer()).is_ok());

        let missing = policy.clone().require_claim(
            FulcioClaim::BuildTrigger,
            Matcher::Exact("release".to_owned()),
        );
        let error = missing.check(&signer()).unwrap_err();
        assert_eq!(error.field, IdentityField::Claim(FulcioClaim::BuildTrigger));
        assert_eq!(error.actual, None);
        assert_eq!(
            error.to_string(),
            "certificate claim build-trigger (1.3.6.1.4.1.57264.1.20) is absent, expected \"release\""
        );
    }

    #[test]
    fn a_wrong_issuer_is_reported_with_both_values() {
        let policy = IdentityPolicy::new(
            Matcher::Exact(signer().identity),
            Matcher::Exact("https://accounts.google.com".to_owned()),
        );
        let error = policy.check(&signer()).unwrap_err();
        assert_eq!(error.field, IdentityField::OidcIssuer);
        assert!(
            error
                .to_string()
                .contains("token.actions.githubusercontent.com")
        );
    }

    #[test]
    fn claims_parse_by_name_and_by_oid() {
        assert_eq!("build-trigger".parse(), Ok(FulcioClaim::BuildTrigger));
        assert_eq!(
            "1.3.6.1.4.1.57264.1.24".parse(),
            Ok(FulcioClaim::TokenSubject)
        );
        assert!("workflow".parse::<FulcioClaim>().is_err());
    }
}
