//! `cragate verify-bundle`: the sigstore-conformance client protocol.
//!
//! `verify-bundle --bundle FILE (--certificate-identity ID
//! --certificate-oidc-issuer URL | --key PEM) [--trusted-root FILE]
//! FILE_OR_DIGEST`. Exit 0 only when the bundle verifies; otherwise one line
//! on stderr naming the step that failed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cragate_verifier::Digest;
use cragate_verifier::limits::{MAX_BUNDLE_BYTES, MAX_PUBLIC_KEY_BYTES, MAX_TRUSTED_ROOT_BYTES};
use cragate_verifier::sigstore::{
    self, ArtifactInput, Bundle, FulcioClaim, IdentityPolicy, ManagedKey, Matcher, Signer,
    SignerPolicy, TrustRoot, VerifiedBundle,
};
use jiff::Timestamp;

use super::{EXIT_FAILED, EXIT_UNUSABLE, fail};
use crate::config::trust_roots::SIGSTORE_PUBLIC_GOOD;
use crate::http::files::read_file_limited;

/// Arguments of `verify-bundle`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("identity").args(["certificate_identity", "certificate_identity_regexp"]).multiple(false)))]
#[command(group(clap::ArgGroup::new("issuer").args(["certificate_oidc_issuer", "certificate_oidc_issuer_regexp"]).multiple(false)))]
pub struct Args {
    /// The Sigstore bundle (`.sigstore.json`).
    #[arg(long, value_name = "FILE")]
    bundle: PathBuf,

    /// Exact certificate identity (SAN) the signer must have.
    #[arg(long, value_name = "ID", conflicts_with = "key")]
    certificate_identity: Option<String>,

    /// Regular expression the whole certificate identity must match.
    #[arg(long, value_name = "REGEX", conflicts_with = "key")]
    certificate_identity_regexp: Option<String>,

    /// Exact OIDC issuer of the signing certificate.
    #[arg(long, value_name = "URL", conflicts_with = "key")]
    certificate_oidc_issuer: Option<String>,

    /// Regular expression the whole OIDC issuer must match.
    #[arg(long, value_name = "REGEX", conflicts_with = "key")]
    certificate_oidc_issuer_regexp: Option<String>,

    /// A Fulcio claim the certificate must carry, as NAME=VALUE (repeatable),
    /// e.g. `source-repository-ref=refs/tags/v1.0.0`.
    #[arg(long, value_name = "NAME=VALUE", conflicts_with = "key")]
    certificate_claim: Vec<String>,

    /// A Fulcio claim that must match a regular expression, as NAME=REGEX (repeatable).
    #[arg(long, value_name = "NAME=REGEX", conflicts_with = "key")]
    certificate_claim_regexp: Vec<String>,

    /// Verify a managed-key bundle with this PEM public key instead of an identity.
    #[arg(long, value_name = "PEM")]
    key: Option<PathBuf>,

    /// Trusted root (`trusted_root.json`); default: the Sigstore public-good
    /// production root pinned in this binary.
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,

    /// Evaluation time (RFC 3339); default: now. Signing times after it fail.
    #[arg(long, value_name = "RFC3339")]
    at: Option<Timestamp>,

    /// The artifact: a file path, or its digest as `sha256:<hex>` (to pass a
    /// file whose name starts with `sha256:`, write `./sha256:...`).
    #[arg(value_name = "FILE_OR_DIGEST")]
    artifact: String,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let inputs = match Inputs::load(args) {
        Ok(inputs) => inputs,
        Err(error) => return fail(EXIT_UNUSABLE, format!("{error:#}")),
    };
    let bundle_bytes = match read_file_limited(&args.bundle, MAX_BUNDLE_BYTES, "bundle") {
        Ok(bytes) => bytes,
        Err(error) => return fail(EXIT_UNUSABLE, format!("{error:#}")),
    };
    let verified = Bundle::from_json(&bundle_bytes)
        .map_err(|e| VerifyFailure::Verify(e.into()))
        .and_then(|bundle| inputs.verify(&bundle, &args.artifact));
    match verified {
        Ok(verified) => {
            println!("{}", summary(&verified));
            ExitCode::SUCCESS
        }
        Err(VerifyFailure::Artifact(error)) => fail(EXIT_UNUSABLE, format!("{error:#}")),
        Err(VerifyFailure::Verify(error)) => fail(EXIT_FAILED, error),
    }
}

struct Inputs {
    trust_root: TrustRoot,
    signer: SignerPolicy,
    at: Timestamp,
}

enum VerifyFailure {
    Artifact(anyhow::Error),
    Verify(sigstore::VerifyError),
}

impl From<sigstore::VerifyError> for VerifyFailure {
    fn from(error: sigstore::VerifyError) -> Self {
        Self::Verify(error)
    }
}

impl Inputs {
    fn load(args: &Args) -> anyhow::Result<Self> {
        let root_bytes = match &args.trusted_root {
            Some(path) => read_file_limited(path, MAX_TRUSTED_ROOT_BYTES, "trusted root")?,
            None => SIGSTORE_PUBLIC_GOOD.to_vec(),
        };
        let trust_root =
            TrustRoot::from_json(&root_bytes).with_context(|| match &args.trusted_root {
                Some(path) => format!("trusted root {}", path.display()),
                None => "pinned Sigstore public-good trusted root".to_owned(),
            })?;
        Ok(Self {
            trust_root,
            signer: signer_policy(args)?,
            at: args.at.unwrap_or_else(Timestamp::now),
        })
    }

    fn verify(&self, bundle: &Bundle, artifact: &str) -> Result<VerifiedBundle, VerifyFailure> {
        if artifact.starts_with("sha256:") {
            let digest: Digest = artifact
                .parse()
                .context("artifact digest")
                .map_err(VerifyFailure::Artifact)?;
            return Ok(self.verify_input(bundle, ArtifactInput::Digest(digest))?);
        }
        let mut file = crate::http::files::open_regular(std::path::Path::new(artifact), "artifact")
            .map_err(VerifyFailure::Artifact)?;
        Ok(self.verify_input(bundle, ArtifactInput::Reader(&mut file))?)
    }

    fn verify_input(
        &self,
        bundle: &Bundle,
        artifact: ArtifactInput<'_>,
    ) -> Result<VerifiedBundle, sigstore::VerifyError> {
        sigstore::verify(bundle, artifact, &self.trust_root, &self.signer, self.at)
    }
}

fn signer_policy(args: &Args) -> anyhow::Result<SignerPolicy> {
    if let Some(path) = &args.key {
        let pem = read_file_limited(path, MAX_PUBLIC_KEY_BYTES, "public key")?;
        let key = ManagedKey::from_pem(&pem).with_context(|| format!("key {}", path.display()))?;
        return Ok(SignerPolicy::Key(key));
    }
    let san = matcher(
        args.certificate_identity.as_deref(),
        args.certificate_identity_regexp.as_deref(),
        "--certificate-identity",
    )?;
    let issuer = matcher(
        args.certificate_oidc_issuer.as_deref(),
        args.certificate_oidc_issuer_regexp.as_deref(),
        "--certificate-oidc-issuer",
    )?;
    let mut policy = IdentityPolicy::new(san, issuer);
    for (rules, is_pattern) in [
        (&args.certificate_claim, false),
        (&args.certificate_claim_regexp, true),
    ] {
        for rule in rules {
            let (name, value) = rule
                .split_once('=')
                .with_context(|| format!("certificate claim {rule:?} is not NAME=VALUE"))?;
            let claim: FulcioClaim = name.parse()?;
            let matcher = if is_pattern {
                Matcher::pattern(value).with_context(|| format!("claim pattern for {name}"))?
            } else {
                Matcher::Exact(value.to_owned())
            };
            policy = policy.require_claim(claim, matcher);
        }
    }
    Ok(SignerPolicy::Certificate(policy))
}

fn matcher(exact: Option<&str>, pattern: Option<&str>, flag: &str) -> anyhow::Result<Matcher> {
    match (exact, pattern) {
        (Some(value), _) => Ok(Matcher::Exact(value.to_owned())),
        (None, Some(pattern)) => Matcher::pattern(pattern)
            .with_context(|| format!("{flag}-regexp is not a valid regular expression")),
        (None, None) => {
            anyhow::bail!("{flag} (or {flag}-regexp) is required unless --key is given")
        }
    }
}

fn summary(verified: &VerifiedBundle) -> String {
    let signer = match verified.signer() {
        Signer::Certificate(certificate) => format!(
            "{} (issuer {})",
            certificate.identity,
            certificate.issuer.as_deref().unwrap_or("none")
        ),
        Signer::Key { key_digest } => format!("managed key {key_digest}"),
        _ => "an unknown signer".to_owned(),
    };
    let signed_at = verified
        .signed_at()
        .first()
        .map_or_else(|| "an unknown time".to_owned(), ToString::to_string);
    format!(
        "verified: {} signed by {signer} at {signed_at}",
        verified.artifact_digest()
    )
}
