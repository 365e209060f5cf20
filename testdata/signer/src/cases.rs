//! The committed vectors: which cases exist and the files each one has.
//!
//! Layout (as `testdata/` asks for, following sigstore-conformance): a
//! folder per case named `<case>_pass` or `<case>_fail`, holding `bundle.sigstore.json`, the
//! signed `artifact`, the expected `identity` and `issuer`, and a README.
//! Beside them: the instance's `trusted_root.json` and a client
//! `trust_config.json` for sigstore-python.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::SignerError;
use crate::identity::{Claim, Identity, San};
use crate::instance::{
    DEFAULT_SEED, Fault, Instance, Payload, SigningRequest, Statement, Subject, pretty_json,
};

/// When the instance's CA and logs start being valid.
pub fn instance_start() -> Result<Timestamp, SignerError> {
    utc(2026, 1, 1, 0)
}

/// When every committed vector is signed.
pub fn signing_time() -> Result<Timestamp, SignerError> {
    utc(2026, 10, 1, 12)
}

/// The predicate type of a signed EU Declaration of Conformity.
pub const DOC_PREDICATE_TYPE: &str = "https://cragate.dev/doc/v1";

/// One vector.
#[derive(Debug, Clone)]
pub struct Case {
    /// Folder name.
    pub name: &'static str,
    /// Why the case exists (first paragraph of its README).
    pub why: &'static str,
    /// The artifact the bundle is verified against.
    pub artifact: Vec<u8>,
    /// The signature to make.
    pub request: SigningRequest,
    /// For a `_fail` case: what a verifier must refuse.
    pub fails_because: Option<&'static str>,
}

/// The committed cases, in log order.
pub fn cases() -> Result<Vec<Case>, SignerError> {
    let signed_at = signing_time()?;
    let firmware = firmware_image("acme-cam-x200", "4.2.1", 4096);
    let maintainer = Identity::new(
        San::Email("release@acme.example".to_owned()),
        "https://accounts.acme.example",
    );
    let statement = Statement::new(
        vec![Subject::of("fw.bin", &firmware)],
        DOC_PREDICATE_TYPE,
        json!({"format": "cragate.doc/v1"}),
    );
    let maintainer_for_faults = maintainer.clone();
    Ok(vec![
        Case {
            name: "firmware-message_pass",
            why: "A message signature (Rekor hashedrekord 0.0.1) over a firmware image, by an \
                  email identity.",
            artifact: firmware.clone(),
            fails_because: None,
            request: SigningRequest {
                identity: maintainer.clone(),
                payload: Payload::Message(firmware.clone()),
                signed_at,
                fault: None,
            },
        },
        Case {
            name: "firmware-doc-dsse_pass",
            why: "A DSSE envelope (Rekor dsse 0.0.1) whose payload is an in-toto Statement v1 \
                  with the firmware's SHA-256 as subject and a `https://cragate.dev/doc/v1` \
                  predicate: the signed form of an EU Declaration of Conformity.",
            artifact: firmware.clone(),
            fails_because: None,
            request: SigningRequest {
                identity: maintainer.clone(),
                payload: Payload::Statement(statement),
                signed_at,
                fault: None,
            },
        },
        Case {
            name: "firmware-ci-claims_pass",
            why: "A message signature by a CI workload: URI SAN and Fulcio CI claims \
                  (1.3.6.1.4.1.57264.1.9 to .21) naming the source repository, ref and trigger.",
            artifact: firmware.clone(),
            fails_because: None,
            request: SigningRequest {
                identity: ci_identity()?,
                payload: Payload::Message(firmware.clone()),
                signed_at,
                fault: None,
            },
        },
        Case {
            name: "sct-from-unknown-log_fail",
            why: "A message signature whose certificate is valid in every respect but one: \
                  its embedded SCT is signed by a CT log that the trusted root does not list.",
            artifact: firmware.clone(),
            fails_because: Some("the SCT does not verify with any CT log of the trusted root"),
            request: SigningRequest {
                identity: maintainer_for_faults.clone(),
                payload: Payload::Message(firmware.clone()),
                signed_at,
                fault: Some(Fault::SctFromUnknownLog),
            },
        },
        Case {
            name: "integrated-after-expiry_fail",
            why: "A message signature that the log integrated eleven minutes after the \
                  certificate was issued, one minute after it expired: the signature cannot be \
                  shown to predate the certificate's expiry.",
            artifact: firmware.clone(),
            fails_because: Some(
                "the certificate is not valid at the log's integrated time, the only \
                 authenticated signing time",
            ),
            request: SigningRequest {
                identity: maintainer_for_faults,
                payload: Payload::Message(firmware),
                signed_at,
                fault: Some(Fault::IntegratedAfterExpiry),
            },
        },
    ])
}

/// Every generated file, by path relative to `testdata/signed/`.
pub fn render() -> Result<BTreeMap<String, Vec<u8>>, SignerError> {
    let instance = Instance::from_seed(DEFAULT_SEED, instance_start()?)?;
    let cases = cases()?;
    let mut log = instance.new_log();
    let pending = cases
        .iter()
        .map(|case| instance.sign(&mut log, &case.request))
        .collect::<Result<Vec<_>, _>>()?;
    let mut files = BTreeMap::new();
    files.insert(
        "trusted_root.json".to_owned(),
        instance.trusted_root_json()?,
    );
    files.insert(
        "trust_config.json".to_owned(),
        instance.trust_config_json()?,
    );
    for (case, pending) in cases.iter().zip(&pending) {
        let identity = &case.request.identity;
        let file = |name: &str| format!("{}/{name}", case.name);
        files.insert(
            file("bundle.sigstore.json"),
            instance.finish(&log, pending)?,
        );
        files.insert(file("artifact"), case.artifact.clone());
        files.insert(file("identity"), identity.san.as_str().as_bytes().to_vec());
        files.insert(file("issuer"), identity.issuer.as_bytes().to_vec());
        if !identity.claims.is_empty() {
            let claims: BTreeMap<String, &str> = identity
                .claims
                .iter()
                .map(|claim| {
                    (
                        format!("1.3.6.1.4.1.57264.1.{}", claim.arc()),
                        claim.value(),
                    )
                })
                .collect();
            files.insert(file("claims.json"), pretty_json(&claims)?);
        }
        files.insert(file("README"), readme(case).into_bytes());
    }
    Ok(files)
}

fn readme(case: &Case) -> String {
    let identity = &case.request.identity;
    if let Some(reason) = case.fails_because {
        return format!(
            "{}\n\nExpected: fails with `../trusted_root.json` for identity `{}` and issuer \
             `{}`: {reason}.\n\nGenerated by `cargo run -p cragate-test-signer`; do not edit \
             by hand.\n",
            case.why,
            identity.san.as_str(),
            identity.issuer,
        );
    }
    let mut text = format!(
        "{}\n\nExpected: verifies with `../trusted_root.json` for identity `{}` and issuer `{}`. \
         The certificate is issued at {} and valid for ten minutes; the log integrated the entry \
         two seconds later, and that SET-authenticated time is what the certificate is checked \
         at, so any later evaluation time verifies. The artifact's SHA-256 is {}.\n",
        case.why,
        identity.san.as_str(),
        identity.issuer,
        case.request.signed_at,
        hex::encode(Sha256::digest(&case.artifact)),
    );
    if !identity.claims.is_empty() {
        text.push_str("\nFulcio CI claims (also in `claims.json`):\n");
        for claim in &identity.claims {
            text.push_str(&format!(
                "- 1.3.6.1.4.1.57264.1.{}: {}\n",
                claim.arc(),
                claim.value()
            ));
        }
    }
    text.push_str("\nGenerated by `cargo run -p cragate-test-signer`; do not edit by hand.\n");
    text
}

fn ci_identity() -> Result<Identity, SignerError> {
    let repository = "https://git.acme.example/acme/cam-firmware";
    let workflow = format!("{repository}/.ci/release.yml@refs/tags/v4.2.1");
    Ok(
        Identity::new(San::Uri(workflow.clone()), "https://ci.acme.example")
            .with_claim(Claim::new(Claim::BUILD_SIGNER_URI, workflow.clone())?)
            .with_claim(Claim::new(Claim::RUNNER_ENVIRONMENT, "self-hosted")?)
            .with_claim(Claim::new(Claim::SOURCE_REPOSITORY_URI, repository)?)
            .with_claim(Claim::new(
                Claim::SOURCE_REPOSITORY_DIGEST,
                "0f3a9c1e5b7d2468ace13579bdf02468ace13579",
            )?)
            .with_claim(Claim::new(
                Claim::SOURCE_REPOSITORY_REF,
                "refs/tags/v4.2.1",
            )?)
            .with_claim(Claim::new(Claim::BUILD_CONFIG_URI, workflow)?)
            .with_claim(Claim::new(Claim::BUILD_TRIGGER, "push")?)
            .with_claim(Claim::new(
                Claim::RUN_INVOCATION_URI,
                format!("{repository}/-/runs/4711"),
            )?),
    )
}

/// A firmware-like image: a header naming the product and version, then
/// pseudo-random bytes (SHA-256 in counter mode), `size` bytes in all.
pub fn firmware_image(product: &str, version: &str, size: usize) -> Vec<u8> {
    let mut image = format!("CRAGATE-FW\0{product}\0{version}\0").into_bytes();
    let mut counter = 0u64;
    while image.len() < size {
        image.extend_from_slice(&Sha256::digest(counter.to_be_bytes()));
        counter += 1;
    }
    image.truncate(size);
    image
}

fn utc(year: i16, month: i8, day: i8, hour: i8) -> Result<Timestamp, SignerError> {
    date(year, month, day)
        .at(hour, 0, 0, 0)
        .to_zoned(TimeZone::UTC)
        .map(|zoned| zoned.timestamp())
        .map_err(|e| SignerError::invalid(e.to_string()))
}
