//! RFC 6962 signed certificate timestamps for precertificates.
//!
//! Fulcio submits a precertificate (the final TBSCertificate with a poison
//! extension instead of the SCT list) to its CT log and embeds the SCT it
//! gets back (§3.1, §3.3). A verifier recovers the signed data by removing
//! the SCT list extension from the final certificate's TBSCertificate, so the
//! signer here signs exactly that: the leaf TBSCertificate without the SCT
//! list extension, with `issuer_key_hash` = SHA-256 of the issuing CA's
//! SubjectPublicKeyInfo (§3.2).

use sha2::{Digest, Sha256};
use x509_cert::der::Encode;
use x509_cert::der::asn1::OctetString;

use crate::error::SignerError;
use crate::keys::KeyPair;

/// `sct_version` v1 (§3.2).
const SCT_VERSION_V1: u8 = 0;
/// `signature_type` certificate_timestamp (§3.2).
const SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP: u8 = 0;
/// `LogEntryType` precert_entry (§3.1).
const ENTRY_TYPE_PRECERT: u16 = 1;
/// TLS `HashAlgorithm` sha256 (RFC 5246 §7.4.1.4.1).
const HASH_SHA256: u8 = 4;
/// TLS `SignatureAlgorithm` ecdsa (RFC 5246 §7.4.1.4.1).
const SIGNATURE_ECDSA: u8 = 3;

/// A CT log of the test instance: it only ever issues SCTs.
#[derive(Debug, Clone)]
pub struct CtLog {
    key: KeyPair,
}

impl CtLog {
    /// A CT log that signs with `key`.
    pub fn new(key: KeyPair) -> Self {
        Self { key }
    }

    /// The log's key.
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// Issues a v1 SCT (§3.2) for a precertificate, TLS-encoded.
    pub fn precert_sct(
        &self,
        tbs_precertificate_der: &[u8],
        issuer_spki_der: &[u8],
        timestamp_ms: u64,
    ) -> Result<Vec<u8>, SignerError> {
        let issuer_key_hash: [u8; 32] = Sha256::digest(issuer_spki_der).into();
        let mut signed = vec![SCT_VERSION_V1, SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP];
        signed.extend_from_slice(&timestamp_ms.to_be_bytes());
        signed.extend_from_slice(&ENTRY_TYPE_PRECERT.to_be_bytes());
        signed.extend_from_slice(&issuer_key_hash);
        push_u24_prefixed(&mut signed, tbs_precertificate_der)?;
        signed.extend_from_slice(&0u16.to_be_bytes()); // no CtExtensions
        let signature = self.key.sign(&signed);

        let mut sct = vec![SCT_VERSION_V1];
        sct.extend_from_slice(&self.key.key_id());
        sct.extend_from_slice(&timestamp_ms.to_be_bytes());
        sct.extend_from_slice(&0u16.to_be_bytes()); // no CtExtensions
        sct.extend_from_slice(&[HASH_SHA256, SIGNATURE_ECDSA]);
        push_u16_prefixed(&mut sct, &signature)?;
        Ok(sct)
    }
}

/// The value of the embedded SCT list extension (§3.3): a DER OCTET STRING
/// holding the TLS `SignedCertificateTimestampList`.
pub fn sct_list_extension_value(scts: &[Vec<u8>]) -> Result<Vec<u8>, SignerError> {
    let mut list = Vec::new();
    for sct in scts {
        push_u16_prefixed(&mut list, sct)?;
    }
    let mut tls = Vec::new();
    push_u16_prefixed(&mut tls, &list)?;
    Ok(OctetString::new(tls)?.to_der()?)
}

fn push_u16_prefixed(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), SignerError> {
    let len = u16::try_from(bytes.len())
        .map_err(|_| SignerError::invalid("TLS opaque<0..2^16-1> too long"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

fn push_u24_prefixed(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), SignerError> {
    let len = u32::try_from(bytes.len())
        .ok()
        .filter(|len| *len < 1 << 24)
        .ok_or_else(|| SignerError::invalid("TLS opaque<1..2^24-1> too long"))?;
    out.extend_from_slice(len.to_be_bytes().get(1..).unwrap_or_default());
    out.extend_from_slice(bytes);
    Ok(())
}
