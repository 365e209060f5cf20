//! `cragate halt sign --key KEY.pem NOTICE.json` and
//! `cragate halt verify --policy FILE SIGNED.json`: sign a `cragate.halt/v1`
//! notice as a DSSE envelope, and say whether a policy would accept a signed
//! one and exactly why not (CRA Art. 19(3), 20(3), 54(4); docs/halts.md).
//!
//! Exit codes as for `cragate check`: 0 accepted (or signed), 1 refused (bad
//! signature, issuer not trusted), 2 when the input or the key cannot be
//! used (malformed notice, unreadable file, bad key).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cragate_verifier::Digest;
use cragate_verifier::halt::{
    self, Envelope, EnvelopeSignature, HALT_PAYLOAD_TYPE, HaltNotice, Refusal,
};
use cragate_verifier::limits::{
    MAX_HALT_NOTICE_BYTES, MAX_PUBLIC_KEY_BYTES, MAX_SIGNED_HALT_BYTES,
};
use jiff::Timestamp;

use super::{EXIT_FAILED, EXIT_UNUSABLE, fail};
use crate::config::policies;
use crate::http::files::read_file_limited;

/// Arguments of `halt`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Sign a halt notice with a PKCS#8 PEM key (Ed25519 or ECDSA P-256) and
    /// print the DSSE envelope.
    Sign {
        /// The private key, PKCS#8 PEM (`openssl genpkey -algorithm ed25519`).
        #[arg(long, value_name = "KEY.pem")]
        key: PathBuf,
        /// The notice (`cragate.halt/v1` JSON).
        #[arg(value_name = "NOTICE.json")]
        notice: PathBuf,
    },
    /// Say whether a policy's [[halt_issuers]] accept a signed notice, and
    /// why not.
    Verify {
        /// Policy file (TOML) with [[halt_issuers]].
        #[arg(long, value_name = "FILE")]
        policy: PathBuf,
        /// Evaluation time (RFC 3339); default: now.
        #[arg(long, value_name = "RFC3339")]
        at: Option<Timestamp>,
        /// The signed notice: a DSSE envelope or a Sigstore bundle.
        #[arg(value_name = "SIGNED.json")]
        signed: PathBuf,
    },
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    match &args.command {
        Command::Sign { key, notice } => sign(key, notice),
        Command::Verify { policy, at, signed } => {
            verify(policy, at.unwrap_or_else(Timestamp::now), signed)
        }
    }
}

fn sign(key: &Path, notice: &Path) -> ExitCode {
    let payload = match read_file_limited(notice, MAX_HALT_NOTICE_BYTES, "notice") {
        Ok(bytes) => bytes,
        Err(error) => return fail(EXIT_UNUSABLE, format!("{error:#}")),
    };
    if let Err(error) = HaltNotice::from_json(&payload) {
        return fail(EXIT_UNUSABLE, format!("{}: {error}", notice.display()));
    }
    let pem = match read_file_limited(key, MAX_PUBLIC_KEY_BYTES, "key") {
        Ok(bytes) => bytes,
        Err(error) => return fail(EXIT_UNUSABLE, format!("{error:#}")),
    };
    let signer = match SigningKey::from_pem(&pem) {
        Ok(signer) => signer,
        Err(message) => return fail(EXIT_UNUSABLE, format!("{}: {message}", key.display())),
    };
    let signature = match signer.sign(&halt::pae(HALT_PAYLOAD_TYPE, &payload)) {
        Ok(signature) => signature,
        Err(message) => return fail(EXIT_UNUSABLE, message),
    };
    let envelope = Envelope {
        payload: STANDARD.encode(&payload),
        payload_type: HALT_PAYLOAD_TYPE.to_owned(),
        signatures: vec![EnvelopeSignature {
            keyid: signer.key_id(),
            sig: STANDARD.encode(signature),
        }],
    };
    match serde_json::to_string(&envelope) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(error) => fail(EXIT_UNUSABLE, format!("cannot write the envelope: {error}")),
    }
}

fn verify(policy: &Path, at: Timestamp, signed: &Path) -> ExitCode {
    let policy = match policies::load(Some(policy)) {
        Ok(policy) => policy,
        Err(errors) => {
            for error in &errors.errors {
                eprintln!("cragate: {error}");
            }
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    let bytes = match read_file_limited(signed, MAX_SIGNED_HALT_BYTES, "signed notice") {
        Ok(bytes) => bytes,
        Err(error) => return fail(EXIT_UNUSABLE, format!("{error:#}")),
    };
    match halt::verify(&bytes, &policy, at) {
        Ok(verified) => {
            let notice = verified.notice();
            let products: Vec<&str> = notice.scope.products.iter().map(|p| p.as_str()).collect();
            println!(
                "accepted: {} sequence {} {} of {} (signed by {}; policy {})",
                notice.issuer,
                notice.sequence,
                notice.action,
                products.join(", "),
                verified.signer(),
                policy.name()
            );
            ExitCode::SUCCESS
        }
        Err(error) => match error.refusal() {
            Refusal::Malformed => fail(EXIT_UNUSABLE, format!("{}: {error}", signed.display())),
            Refusal::BadSignature => refused("401 bad signature", &error),
            _ => refused("403 not trusted", &error),
        },
    }
}

fn refused(kind: &str, error: &impl std::fmt::Display) -> ExitCode {
    println!("refused ({kind}): {error}");
    ExitCode::from(EXIT_FAILED)
}

/// A PKCS#8 private key a notice can be signed with.
enum SigningKey {
    Ed25519(Ed25519KeyPair),
    P256(EcdsaKeyPair),
}

impl SigningKey {
    /// Reads a PEM `PRIVATE KEY` block (PKCS#8, RFC 5958) holding an
    /// Ed25519 or ECDSA P-256 key.
    fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(pem).map_err(|_| "the key is not PEM text".to_owned())?;
        let der = pem_block(text, "PRIVATE KEY").ok_or_else(|| {
            if text.contains("-----BEGIN EC PRIVATE KEY-----") {
                "the key is a SEC1 EC key: convert it to PKCS#8 with \
                 `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pem`"
                    .to_owned()
            } else {
                "no unencrypted PEM PRIVATE KEY (PKCS#8) block".to_owned()
            }
        })?;
        if let Ok(key) = Ed25519KeyPair::from_pkcs8(&der) {
            return Ok(Self::Ed25519(key));
        }
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der)
            .map(Self::P256)
            .map_err(|_| "the key is neither Ed25519 nor ECDSA P-256 (PKCS#8)".to_owned())
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Self::Ed25519(key) => Ok(key.sign(message).as_ref().to_vec()),
            Self::P256(key) => key
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "ECDSA signing failed".to_owned()),
        }
    }

    /// A hint naming the key: SHA-256 of its SubjectPublicKeyInfo, as the
    /// verifier names a key it verified with.
    fn key_id(&self) -> String {
        let der = match self {
            Self::Ed25519(key) => key.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Self::P256(key) => key.public_key().as_der().map(|d| d.as_ref().to_vec()),
        };
        der.map(|d| Digest::of(&d).to_string()).unwrap_or_default()
    }
}

/// The base64 body of the first PEM block labelled `label` (RFC 7468).
fn pem_block(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let rest = text.get(start..)?;
    let stop = rest.find(&end)?;
    let body: String = rest
        .get(..stop)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(body).ok()
}
