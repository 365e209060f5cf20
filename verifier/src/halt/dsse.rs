//! DSSE envelopes (Dead Simple Signing Envelope, secure-systems-lab/dsse,
//! "Envelope" and "Signature definition"): the envelope's JSON form, the
//! pre-authentication encoding every signature is made over, and the check
//! of a signature with an Ed25519 or ECDSA P-256 key (aws-lc-rs).

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, ED25519, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use serde::{Deserialize, Serialize};
use x509_cert::der::Decode;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::spki::SubjectPublicKeyInfoRef;

use super::error::HaltError;
use crate::json;
use crate::limits::{MAX_DSSE_SIGNATURES, SIGNED_HALT_JSON};

/// The DSSE payload type of a signed `cragate.halt/v1` notice.
pub const HALT_PAYLOAD_TYPE: &str = "application/vnd.cragate.halt.v1+json";

/// id-Ed25519 (RFC 8410 §3).
const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// id-ecPublicKey (RFC 5480 §2.1.1).
const EC_PUBLIC_KEY_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1, P-256 (RFC 5480 §2.1.1.1).
const P256_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// A DSSE envelope, as JSON carries it: payload and signatures base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Base64 of the payload.
    pub payload: String,
    /// What the payload is.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// One or more signatures over [`pae`] of the payload.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    /// An optional hint naming the key; never trusted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    /// Base64 of the signature (for ECDSA, ASN.1 DER).
    pub sig: String,
}

/// The key algorithms a halt issuer may sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// Ed25519 (RFC 8032), signing the PAE bytes themselves.
    Ed25519,
    /// ECDSA over P-256 with SHA-256, signatures ASN.1 DER (FIPS 186-5).
    EcdsaP256,
}

/// DSSE's pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII
/// decimal (DSSE protocol, "Signature definition").
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// The algorithm of a DER SubjectPublicKeyInfo, when it is one a halt
/// issuer may use.
pub fn key_algorithm(spki_der: &[u8]) -> Option<KeyAlgorithm> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der).ok()?;
    if spki.algorithm.oid == ED25519_OID {
        return Some(KeyAlgorithm::Ed25519);
    }
    let curve = spki
        .algorithm
        .parameters
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    (spki.algorithm.oid == EC_PUBLIC_KEY_OID && curve == Some(P256_OID))
        .then_some(KeyAlgorithm::EcdsaP256)
}

impl Envelope {
    /// Reads an envelope through the JSON reader.
    pub fn from_json(bytes: &[u8]) -> Result<Self, HaltError> {
        let envelope: Self =
            json::read(bytes, &SIGNED_HALT_JSON).map_err(|e| HaltError::Malformed {
                detail: format!("DSSE envelope: {e}"),
            })?;
        if envelope.signatures.is_empty() {
            return Err(malformed("DSSE envelope: signatures is empty"));
        }
        if envelope.signatures.len() > MAX_DSSE_SIGNATURES {
            return Err(malformed(format!(
                "DSSE envelope: {} signatures, over the limit of {MAX_DSSE_SIGNATURES}",
                envelope.signatures.len()
            )));
        }
        Ok(envelope)
    }

    /// The decoded payload.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, HaltError> {
        decode(&self.payload).ok_or_else(|| malformed("DSSE envelope: payload is not base64"))
    }

    /// Checks that some signature verifies over [`pae`] of `payload` with
    /// the DER SubjectPublicKeyInfo `spki_der`.
    pub(crate) fn verify(
        &self,
        payload: &[u8],
        spki_der: &[u8],
        algorithm: KeyAlgorithm,
    ) -> Result<(), HaltError> {
        let message = pae(&self.payload_type, payload);
        let verification: &'static dyn aws_lc_rs::signature::VerificationAlgorithm = match algorithm
        {
            KeyAlgorithm::Ed25519 => &ED25519,
            KeyAlgorithm::EcdsaP256 => &ECDSA_P256_SHA256_ASN1,
        };
        let key = UnparsedPublicKey::new(verification, spki_der);
        let mut undecodable = 0;
        for signature in &self.signatures {
            let Some(sig) = decode(&signature.sig) else {
                undecodable += 1;
                continue;
            };
            if key.verify(&message, &sig).is_ok() {
                return Ok(());
            }
        }
        Err(HaltError::BadSignature {
            detail: if undecodable == self.signatures.len() {
                "no signature of the envelope is base64".into()
            } else {
                format!(
                    "none of the envelope's {} signature(s) verifies with the issuer's {} key \
                     (signed by another key, or the payload was changed after signing)",
                    self.signatures.len(),
                    match algorithm {
                        KeyAlgorithm::Ed25519 => "Ed25519",
                        KeyAlgorithm::EcdsaP256 => "ECDSA P-256",
                    }
                )
            },
        })
    }
}

/// Base64, standard or URL-safe alphabet, as DSSE allows either.
fn decode(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .ok()
}

fn malformed(detail: impl Into<String>) -> HaltError {
    HaltError::Malformed {
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::pae;

    /// The DSSE specification's worked example ("Test Vectors").
    #[test]
    fn pae_matches_the_dsse_specification() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }
}
