//! A Fulcio-like certificate authority: a self-signed root, one
//! intermediate, and short-lived code-signing leaves.
//!
//! The certificates follow the profile Fulcio issues (Fulcio
//! `docs/certificate-specification.md`): the leaf has an empty subject, a
//! critical SAN (email or URI), `digitalSignature` key usage, the
//! `codeSigning` EKU, the OIDC issuer in 1.3.6.1.4.1.57264.1.1 (raw bytes)
//! and .1.8 (DER UTF8String), optional CI claims (.9 to .24, DER
//! UTF8String), and an embedded precertificate SCT as the last extension.

use std::str::FromStr;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use x509_cert::der::asn1::{BitString, Ia5String, OctetString, UtcTime, Utf8StringRef};
use x509_cert::der::oid::{AssociatedOid, ObjectIdentifier};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

use crate::error::SignerError;
use crate::identity::{Identity, San};
use crate::keys::KeyPair;
use crate::sct::{CtLog, sct_list_extension_value};

/// How long a leaf certificate is valid, as Fulcio issues them.
pub const LEAF_VALIDITY: SignedDuration = SignedDuration::from_mins(10);

/// `ecdsa-with-SHA256` (RFC 5758 §3.2).
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// `id-kp-codeSigning` (RFC 5280 §4.2.1.12).
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// Fulcio's arc for certificate extensions.
const FULCIO_ARC: &str = "1.3.6.1.4.1.57264.1";
/// Embedded SCT list (RFC 6962 §3.3).
const CT_PRECERT_SCTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

/// The test instance's CA hierarchy.
#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    root_der: Vec<u8>,
    intermediate_key: KeyPair,
    intermediate_name: Name,
    intermediate_der: Vec<u8>,
}

/// Distinguished names and lifetime of the CA certificates.
#[derive(Debug, Clone)]
pub struct CaProfile {
    /// Subject of the root, RFC 4514 (e.g. `CN=x,O=y`).
    pub root_subject: String,
    /// Subject of the intermediate.
    pub intermediate_subject: String,
    /// Start of both CA certificates' validity.
    pub not_before: Timestamp,
    /// End of both CA certificates' validity.
    pub not_after: Timestamp,
}

impl CertificateAuthority {
    /// Creates the root and the intermediate it signs.
    pub fn new(
        profile: &CaProfile,
        root_key: &KeyPair,
        intermediate_key: KeyPair,
    ) -> Result<Self, SignerError> {
        let root_name = Name::from_str(&profile.root_subject)?;
        let intermediate_name = Name::from_str(&profile.intermediate_subject)?;
        let validity = validity(profile.not_before, profile.not_after)?;
        let root_ski = key_identifier(root_key)?;
        let root_tbs = TbsCertificate {
            version: Version::V3,
            serial_number: serial(b"root", root_key.spki_der())?,
            signature: ecdsa_with_sha256(),
            issuer: root_name.clone(),
            validity,
            subject: root_name.clone(),
            subject_public_key_info: spki(root_key)?,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(vec![
                extension(&ca_key_usage(), true)?,
                extension(
                    &BasicConstraints {
                        ca: true,
                        path_len_constraint: Some(1),
                    },
                    true,
                )?,
                extension(&SubjectKeyIdentifier(root_ski.clone()), false)?,
            ]),
        };
        let root_der = sign_certificate(root_tbs, root_key)?;

        let intermediate_tbs = TbsCertificate {
            version: Version::V3,
            serial_number: serial(b"intermediate", intermediate_key.spki_der())?,
            signature: ecdsa_with_sha256(),
            issuer: root_name,
            validity,
            subject: intermediate_name.clone(),
            subject_public_key_info: spki(&intermediate_key)?,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(vec![
                extension(&ca_key_usage(), true)?,
                extension(&ExtendedKeyUsage(vec![CODE_SIGNING]), false)?,
                extension(
                    &BasicConstraints {
                        ca: true,
                        path_len_constraint: Some(0),
                    },
                    true,
                )?,
                extension(
                    &SubjectKeyIdentifier(key_identifier(&intermediate_key)?),
                    false,
                )?,
                extension(&authority_key_identifier(root_ski), false)?,
            ]),
        };
        let intermediate_der = sign_certificate(intermediate_tbs, root_key)?;
        Ok(Self {
            root_der,
            intermediate_key,
            intermediate_name,
            intermediate_der,
        })
    }

    /// The root certificate, DER.
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// The intermediate certificate, DER.
    pub fn intermediate_der(&self) -> &[u8] {
        &self.intermediate_der
    }

    /// Issues a leaf for `identity` and `leaf_key`, valid from `not_before`
    /// for [`LEAF_VALIDITY`], with an SCT from `ct_log` timestamped at
    /// `not_before`.
    pub fn issue_leaf(
        &self,
        identity: &Identity,
        leaf_key: &KeyPair,
        not_before: Timestamp,
        ct_log: &CtLog,
    ) -> Result<Vec<u8>, SignerError> {
        let not_after = not_before
            .checked_add(LEAF_VALIDITY)
            .map_err(|e| SignerError::invalid(e.to_string()))?;
        let mut serial_input = leaf_key.spki_der().to_vec();
        serial_input.extend_from_slice(&not_before.as_second().to_be_bytes());
        let mut tbs = TbsCertificate {
            version: Version::V3,
            serial_number: serial(b"leaf", &serial_input)?,
            signature: ecdsa_with_sha256(),
            issuer: self.intermediate_name.clone(),
            validity: validity(not_before, not_after)?,
            subject: Name::default(),
            subject_public_key_info: spki(leaf_key)?,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(leaf_extensions(identity, leaf_key, &self.intermediate_key)?),
        };
        // RFC 6962 §3.1: the log signs the certificate as it will be issued,
        // minus the SCT list; the SCT list is then added as the last extension.
        let precertificate = tbs.to_der()?;
        let timestamp_ms = u64::try_from(not_before.as_millisecond())
            .map_err(|_| SignerError::invalid("SCT timestamps start at 1970"))?;
        let sct = ct_log.precert_sct(
            &precertificate,
            self.intermediate_key.spki_der(),
            timestamp_ms,
        )?;
        let sct_extension = Extension {
            extn_id: CT_PRECERT_SCTS,
            critical: false,
            extn_value: OctetString::new(sct_list_extension_value(&[sct])?)?,
        };
        if let Some(extensions) = tbs.extensions.as_mut() {
            extensions.push(sct_extension);
        }
        sign_certificate(tbs, &self.intermediate_key)
    }
}

fn leaf_extensions(
    identity: &Identity,
    leaf_key: &KeyPair,
    issuer_key: &KeyPair,
) -> Result<Vec<Extension>, SignerError> {
    let san = match &identity.san {
        San::Email(email) => GeneralName::Rfc822Name(Ia5String::new(email)?),
        San::Uri(uri) => GeneralName::UniformResourceIdentifier(Ia5String::new(uri)?),
    };
    let mut extensions = vec![
        extension(&KeyUsage(KeyUsages::DigitalSignature.into()), true)?,
        extension(&ExtendedKeyUsage(vec![CODE_SIGNING]), false)?,
        extension(&SubjectKeyIdentifier(key_identifier(leaf_key)?), false)?,
        extension(
            &authority_key_identifier(key_identifier(issuer_key)?),
            false,
        )?,
        // RFC 5280 §4.2.1.6: critical, because the subject is empty.
        extension(&SubjectAltName(vec![san]), true)?,
        // Fulcio's deprecated issuer extension: the URL's raw bytes.
        raw_extension(fulcio_oid(1)?, identity.issuer.as_bytes())?,
        raw_extension(
            fulcio_oid(8)?,
            &Utf8StringRef::new(&identity.issuer)?.to_der()?,
        )?,
    ];
    for claim in &identity.claims {
        let value = Utf8StringRef::new(claim.value())?.to_der()?;
        extensions.push(raw_extension(fulcio_oid(claim.arc())?, &value)?);
    }
    Ok(extensions)
}

fn ca_key_usage() -> KeyUsage {
    KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)
}

fn authority_key_identifier(key_identifier: OctetString) -> AuthorityKeyIdentifier {
    AuthorityKeyIdentifier {
        key_identifier: Some(key_identifier),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    }
}

fn fulcio_oid(arc: u32) -> Result<ObjectIdentifier, SignerError> {
    ObjectIdentifier::new(&format!("{FULCIO_ARC}.{arc}"))
        .map_err(|e| SignerError::invalid(e.to_string()))
}

fn extension<T: AssociatedOid + Encode>(
    value: &T,
    critical: bool,
) -> Result<Extension, SignerError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn raw_extension(oid: ObjectIdentifier, value: &[u8]) -> Result<Extension, SignerError> {
    Ok(Extension {
        extn_id: oid,
        critical: false,
        extn_value: OctetString::new(value)?,
    })
}

/// RFC 7093 §2 method 1: the leftmost 160 bits of the SHA-256 of the
/// subjectPublicKey BIT STRING value.
fn key_identifier(key: &KeyPair) -> Result<OctetString, SignerError> {
    let digest = Sha256::digest(key.public_point());
    Ok(OctetString::new(digest.get(..20).unwrap_or_default())?)
}

/// A positive 20-octet serial number derived from what is being certified.
fn serial(kind: &[u8], input: &[u8]) -> Result<SerialNumber, SignerError> {
    let digest = Sha256::new()
        .chain_update(kind)
        .chain_update(input)
        .finalize();
    let mut bytes: Vec<u8> = digest.get(..20).unwrap_or_default().to_vec();
    if let Some(first) = bytes.first_mut() {
        *first = (*first & 0x7f) | 0x01;
    }
    Ok(SerialNumber::new(&bytes)?)
}

fn validity(not_before: Timestamp, not_after: Timestamp) -> Result<Validity, SignerError> {
    Ok(Validity {
        not_before: utc_time(not_before)?,
        not_after: utc_time(not_after)?,
    })
}

fn utc_time(at: Timestamp) -> Result<Time, SignerError> {
    let seconds = u64::try_from(at.as_second())
        .map_err(|_| SignerError::invalid("certificate times start at 1970"))?;
    Ok(Time::UtcTime(UtcTime::from_unix_duration(
        Duration::from_secs(seconds),
    )?))
}

fn ecdsa_with_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA256,
        parameters: None,
    }
}

fn spki(key: &KeyPair) -> Result<SubjectPublicKeyInfoOwned, SignerError> {
    Ok(SubjectPublicKeyInfoOwned::from_der(key.spki_der())?)
}

fn sign_certificate(tbs: TbsCertificate, issuer_key: &KeyPair) -> Result<Vec<u8>, SignerError> {
    let signature = issuer_key.sign(&tbs.to_der()?);
    let certificate = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: ecdsa_with_sha256(),
        signature: BitString::from_bytes(&signature)?,
    };
    Ok(certificate.to_der()?)
}
