//! The whole test instance: CA, CT log and transparency log keys, its
//! trusted root, and signing requests turned into bundles.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::bundle::{
    AlgorithmValue, BUNDLE_V0_3, Bundle, Content, DsseBody, DsseSignature, DsseSpec, Envelope,
    EnvelopeSignature, HashedRekordBody, HashedRekordData, HashedRekordSignature, HashedRekordSpec,
    IN_TOTO_PAYLOAD_TYPE, MessageDigest, MessageSignature, RawBytes, VerificationMaterial, base64,
    certificate_pem, pae,
};
use crate::ca::{CaProfile, CertificateAuthority, LEAF_VALIDITY};
use crate::error::SignerError;
use crate::identity::Identity;
use crate::keys::KeyPair;
use crate::rekor::{EntryKind, LoggedEntry, TransparencyLog};
use crate::sct::CtLog;

/// The seed of the committed vectors. Changing it changes every byte.
pub const DEFAULT_SEED: &[u8] = b"cragate test signer, seed 1";

/// How long after the certificate is issued its log entry is integrated.
const INTEGRATION_DELAY: SignedDuration = SignedDuration::from_secs(2);
/// Entries of other tenants logged before the first bundle's, so that
/// inclusion proofs have a realistic length.
const OTHER_ENTRIES: u64 = 11;
/// The Rekor v1 tree ID in the checkpoint origin.
const TREE_ID: u64 = 4_242_424_242_424_242_424;
/// Host names of the instance's services (`.test` is reserved, RFC 6761).
const REKOR_HOST: &str = "rekor.cragate.test";
const FULCIO_URL: &str = "https://fulcio.cragate.test";
const CTFE_URL: &str = "https://ctfe.cragate.test";
const OIDC_URL: &str = "https://oauth2.cragate.test";
/// `application/vnd.dev.sigstore.trustedroot+json;version=0.1`.
const TRUSTED_ROOT_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
const SIGNING_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";
const TRUST_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";
/// `PKIX_ECDSA_P256_SHA_256` (`sigstore_common.proto`).
const KEY_DETAILS_P256: &str = "PKIX_ECDSA_P256_SHA_256";

/// What to sign.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Payload {
    /// A message signature over these bytes (Rekor `hashedrekord`).
    Message(Vec<u8>),
    /// A DSSE envelope around an in-toto statement (Rekor `dsse`).
    Statement(Statement),
}

/// An in-toto Statement v1 (in-toto attestation `spec/v1/statement.md`).
#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    statement_type: &'static str,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: serde_json::Value,
}

/// A statement subject with its SHA-256.
#[derive(Debug, Clone, Serialize)]
pub struct Subject {
    name: String,
    digest: SubjectDigest,
}

#[derive(Debug, Clone, Serialize)]
struct SubjectDigest {
    sha256: String,
}

impl Subject {
    /// A subject named `name` whose content is `bytes`.
    pub fn of(name: impl Into<String>, bytes: &[u8]) -> Self {
        Self {
            name: name.into(),
            digest: SubjectDigest {
                sha256: hex::encode(Sha256::digest(bytes)),
            },
        }
    }
}

impl Subject {
    /// A subject named `name` whose SHA-256 is `hex` (an OCI manifest
    /// digest without its `sha256:` prefix).
    pub fn with_sha256(name: impl Into<String>, hex: &str) -> Self {
        Self {
            name: name.into(),
            digest: SubjectDigest {
                sha256: hex.to_owned(),
            },
        }
    }
}

impl Statement {
    /// `https://in-toto.io/Statement/v1`.
    pub const TYPE: &'static str = "https://in-toto.io/Statement/v1";

    /// A statement about `subjects`.
    pub fn new(
        subjects: Vec<Subject>,
        predicate_type: impl Into<String>,
        predicate: serde_json::Value,
    ) -> Self {
        Self {
            statement_type: Self::TYPE,
            subject: subjects,
            predicate_type: predicate_type.into(),
            predicate,
        }
    }
}

/// A deliberate defect, for vectors that must fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The embedded SCT is signed by a CT log the trusted root does not list.
    SctFromUnknownLog,
    /// The log integrates the entry a minute after the certificate expired.
    IntegratedAfterExpiry,
}

/// One signature to make: who, what, when.
#[derive(Debug, Clone)]
pub struct SigningRequest {
    /// The certificate's identity.
    pub identity: Identity,
    /// What is signed.
    pub payload: Payload,
    /// When the certificate is issued (its `notBefore` and SCT time); the
    /// log integrates the entry two seconds later. Verifiers refuse an
    /// integrated time later than their clock, so use a time in the past.
    pub signed_at: Timestamp,
    /// A defect to build in, or `None` for a valid bundle.
    pub fault: Option<Fault>,
}

/// A signature that is in the log but whose bundle still needs an
/// inclusion proof (see [`Instance::finish`]).
#[derive(Debug, Clone)]
pub struct Pending {
    certificate: Vec<u8>,
    content: SignedContent,
    entry: LoggedEntry,
}

#[derive(Debug, Clone)]
enum SignedContent {
    Message(MessageSignature),
    Dsse(Envelope),
}

/// The instance.
#[derive(Debug, Clone)]
pub struct Instance {
    seed: Vec<u8>,
    ca: CertificateAuthority,
    ct_log: CtLog,
    rekor_key: KeyPair,
    valid_from: Timestamp,
}

impl Instance {
    /// Derives every key and the CA certificates from `seed`. The CA is
    /// valid from `valid_from` for ten years.
    pub fn from_seed(seed: &[u8], valid_from: Timestamp) -> Result<Self, SignerError> {
        let root_key = KeyPair::derive(seed, "fulcio root")?;
        let intermediate_key = KeyPair::derive(seed, "fulcio intermediate")?;
        let not_after = valid_from
            .checked_add(SignedDuration::from_hours(24 * 3653))
            .map_err(|e| SignerError::invalid(e.to_string()))?;
        let profile = CaProfile {
            root_subject: "CN=cragate-test-root,O=cragate.test".to_owned(),
            intermediate_subject: "CN=cragate-test-intermediate,O=cragate.test".to_owned(),
            not_before: valid_from,
            not_after,
        };
        Ok(Self {
            seed: seed.to_vec(),
            ca: CertificateAuthority::new(&profile, &root_key, intermediate_key)?,
            ct_log: CtLog::new(KeyPair::derive(seed, "ct log")?),
            rekor_key: KeyPair::derive(seed, "rekor")?,
            valid_from,
        })
    }

    /// The CA.
    pub fn ca(&self) -> &CertificateAuthority {
        &self.ca
    }

    /// A new transparency log holding only other tenants' entries.
    pub fn new_log(&self) -> TransparencyLog {
        let mut log = TransparencyLog::new(self.rekor_key.clone(), REKOR_HOST, TREE_ID);
        for index in 0..OTHER_ENTRIES {
            log.append_other(format!("an entry of another tenant, #{index}").as_bytes());
        }
        log
    }

    /// Certifies a fresh key for `request`, signs, and logs the signature.
    pub fn sign(
        &self,
        log: &mut TransparencyLog,
        request: &SigningRequest,
    ) -> Result<Pending, SignerError> {
        let leaf_key = self.leaf_key(request)?;
        let ct_log = match request.fault {
            Some(Fault::SctFromUnknownLog) => {
                CtLog::new(KeyPair::derive(&self.seed, "a CT log nobody trusts")?)
            }
            _ => self.ct_log.clone(),
        };
        let certificate =
            self.ca
                .issue_leaf(&request.identity, &leaf_key, request.signed_at, &ct_log)?;
        let pem = base64(certificate_pem(&certificate).as_bytes());
        let delay = match request.fault {
            Some(Fault::IntegratedAfterExpiry) => {
                LEAF_VALIDITY.saturating_add(SignedDuration::from_mins(1))
            }
            _ => INTEGRATION_DELAY,
        };
        let integrated_at = request
            .signed_at
            .checked_add(delay)
            .map_err(|e| SignerError::invalid(e.to_string()))?;
        let (content, kind, body) = match &request.payload {
            Payload::Message(message) => {
                let digest = Sha256::digest(message);
                let signature = leaf_key.sign(message);
                let body = HashedRekordBody {
                    api_version: "0.0.1",
                    kind: "hashedrekord",
                    spec: hashed_rekord_spec(&digest, &signature, pem),
                };
                let content = SignedContent::Message(MessageSignature {
                    message_digest: MessageDigest {
                        algorithm: "SHA2_256",
                        digest: base64(&digest),
                    },
                    signature: base64(&signature),
                });
                (
                    content,
                    EntryKind::HashedRekord,
                    serde_json_canonicalizer::to_vec(&body)?,
                )
            }
            Payload::Statement(statement) => {
                let payload = serde_json::to_vec(statement)?;
                let signature = leaf_key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, &payload));
                let envelope = Envelope {
                    payload: base64(&payload),
                    payload_type: IN_TOTO_PAYLOAD_TYPE.to_owned(),
                    signatures: vec![EnvelopeSignature {
                        sig: base64(&signature),
                    }],
                };
                let body = DsseBody {
                    api_version: "0.0.1",
                    kind: "dsse",
                    spec: DsseSpec {
                        // Rekor hashes the envelope as the client submitted it.
                        envelope_hash: sha256_value(&serde_json::to_vec(&envelope)?),
                        payload_hash: sha256_value(&payload),
                        signatures: vec![DsseSignature {
                            signature: base64(&signature),
                            verifier: pem,
                        }],
                    },
                };
                let body = serde_json_canonicalizer::to_vec(&body)?;
                (SignedContent::Dsse(envelope), EntryKind::Dsse, body)
            }
        };
        let entry = log.append(kind, body, integrated_at)?;
        Ok(Pending {
            certificate,
            content,
            entry,
        })
    }

    /// The bundle for `pending`, proven against the log as it now stands.
    pub fn finish(&self, log: &TransparencyLog, pending: &Pending) -> Result<Vec<u8>, SignerError> {
        let checkpoint = log.checkpoint();
        let (message_signature, dsse_envelope) = match &pending.content {
            SignedContent::Message(signature) => (Some(signature.clone()), None),
            SignedContent::Dsse(envelope) => (None, Some(envelope.clone())),
        };
        let bundle = Bundle {
            media_type: BUNDLE_V0_3,
            verification_material: VerificationMaterial {
                certificate: RawBytes::new(&pending.certificate),
                tlog_entries: vec![log.bundle_entry(&pending.entry, &checkpoint)?],
            },
            message_signature,
            dsse_envelope,
        };
        pretty_json(&bundle)
    }

    /// Signs one request in a log of its own: the quick path for tests.
    pub fn sign_bundle(&self, request: &SigningRequest) -> Result<Vec<u8>, SignerError> {
        let mut log = self.new_log();
        let pending = self.sign(&mut log, request)?;
        self.finish(&log, &pending)
    }

    /// `trusted_root.json` (`dev.sigstore.trustroot.v1.TrustedRoot`).
    pub fn trusted_root_json(&self) -> Result<Vec<u8>, SignerError> {
        let mut root = self.trusted_root();
        root.sort_all_objects();
        pretty_json(&root)
    }

    /// A client trust configuration
    /// (`dev.sigstore.trustroot.v1.ClientTrustConfig`) with the trusted root
    /// and a signing configuration naming the instance's services.
    pub fn trust_config_json(&self) -> Result<Vec<u8>, SignerError> {
        let start = self.valid_from.to_string();
        let service = |url: &str, version: u32| {
            json!({
                "url": url,
                "majorApiVersion": version,
                "validFor": {"start": start},
                "operator": "cragate.test",
            })
        };
        let mut config = json!({
            "mediaType": TRUST_CONFIG_MEDIA_TYPE,
            "trustedRoot": self.trusted_root(),
            "signingConfig": {
                "mediaType": SIGNING_CONFIG_MEDIA_TYPE,
                "caUrls": [service(FULCIO_URL, 1)],
                "oidcUrls": [service(OIDC_URL, 1)],
                "rekorTlogUrls": [service(&format!("https://{REKOR_HOST}"), 1)],
                "tsaUrls": [],
                "rekorTlogConfig": {"selector": "ANY"},
                "tsaConfig": {"selector": "ANY"},
            },
        });
        config.sort_all_objects();
        pretty_json(&config)
    }

    /// Keys are sorted before writing (`sort_all_objects`), so the output
    /// does not depend on whether serde_json's `preserve_order` is enabled.
    fn trusted_root(&self) -> serde_json::Value {
        let valid_for = json!({"start": self.valid_from.to_string()});
        let log = |url: String, key: &KeyPair| {
            json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": base64(key.spki_der()),
                    "keyDetails": KEY_DETAILS_P256,
                    "validFor": valid_for,
                },
                "logId": {"keyId": base64(&key.key_id())},
            })
        };
        json!({
            "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
            "tlogs": [log(format!("https://{REKOR_HOST}"), &self.rekor_key)],
            "certificateAuthorities": [{
                "subject": {"organization": "cragate.test", "commonName": "cragate-test-root"},
                "uri": FULCIO_URL,
                "certChain": {"certificates": [
                    {"rawBytes": base64(self.ca.intermediate_der())},
                    {"rawBytes": base64(self.ca.root_der())},
                ]},
                "validFor": valid_for,
            }],
            "ctlogs": [log(CTFE_URL.to_owned(), self.ct_log.key())],
            "timestampAuthorities": [],
        })
    }

    /// Fulcio certifies an ephemeral key per signature; here it is derived
    /// from the request, so that different requests get different keys.
    fn leaf_key(&self, request: &SigningRequest) -> Result<KeyPair, SignerError> {
        let payload_digest = match &request.payload {
            Payload::Message(message) => Sha256::digest(message),
            Payload::Statement(statement) => Sha256::digest(serde_json::to_vec(statement)?),
        };
        let label = format!(
            "leaf {} {} {} {}",
            request.identity.san.as_str(),
            request.identity.issuer,
            request.signed_at.as_second(),
            hex::encode(payload_digest)
        );
        KeyPair::derive(&self.seed, &label)
    }
}

fn hashed_rekord_spec(digest: &[u8], signature: &[u8], pem: String) -> HashedRekordSpec {
    HashedRekordSpec {
        data: HashedRekordData {
            hash: AlgorithmValue {
                algorithm: "sha256",
                value: hex::encode(digest),
            },
        },
        signature: HashedRekordSignature {
            content: base64(signature),
            public_key: Content { content: pem },
        },
    }
}

fn sha256_value(bytes: &[u8]) -> AlgorithmValue {
    AlgorithmValue {
        algorithm: "sha256",
        value: hex::encode(Sha256::digest(bytes)),
    }
}

/// Two-space indented JSON with a final newline.
pub(crate) fn pretty_json(value: &impl Serialize) -> Result<Vec<u8>, SignerError> {
    let mut out = serde_json::to_vec_pretty(value)?;
    out.push(b'\n');
    Ok(out)
}
