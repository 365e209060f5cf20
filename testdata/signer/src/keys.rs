//! Keys derived from a fixed seed, and deterministic ECDSA.
//!
//! Every key of the test instance is a P-256 scalar derived as
//! `SHA-256(seed || 0x00 || label || 0x00 || counter)`, retried with the next
//! counter in the (negligible) case that the hash is not a valid scalar.
//! Signatures are ECDSA with SHA-256 and RFC 6979 deterministic nonces, so a
//! given key signs given bytes to the same DER signature every time.

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use sha2::{Digest, Sha256};

use crate::error::SignerError;

/// An ECDSA P-256 key pair of the test instance.
#[derive(Clone)]
pub struct KeyPair {
    signing: SigningKey,
    spki_der: Vec<u8>,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("key_id", &hex::encode(self.key_id()))
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// Derives the key named `label` from `seed`.
    pub fn derive(seed: &[u8], label: &str) -> Result<Self, SignerError> {
        for counter in 0u8..=u8::MAX {
            let scalar = Sha256::new()
                .chain_update(seed)
                .chain_update([0])
                .chain_update(label.as_bytes())
                .chain_update([0, counter])
                .finalize();
            if let Ok(signing) = SigningKey::from_bytes(&scalar) {
                let spki_der = signing
                    .verifying_key()
                    .to_public_key_der()?
                    .as_bytes()
                    .to_vec();
                return Ok(Self { signing, spki_der });
            }
        }
        Err(SignerError::invalid(format!(
            "no valid P-256 scalar derives from label {label:?}"
        )))
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo: the RFC 6962 §3.2 log ID and
    /// the key ID that Rekor v1 and the trusted root use.
    pub fn key_id(&self) -> [u8; 32] {
        Sha256::digest(&self.spki_der).into()
    }

    /// The raw public key point (the BIT STRING content of the SPKI).
    pub fn public_point(&self) -> Vec<u8> {
        self.signing
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// ECDSA P-256 / SHA-256 over `message`, RFC 6979 nonce, DER-encoded.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.signing.sign(message);
        signature.to_der().as_bytes().to_vec()
    }
}
