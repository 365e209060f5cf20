//! Halt notices (`cragate.halt/v1`): a signed order to stop supplying,
//! recall or withdraw a product, or to lift such an order (CRA Art. 19(3),
//! 19(5), 20(3), 20(4), 22, 54(4); DESIGN.md, "halt notice").
//!
//! [`verify`] takes the signed bytes (a DSSE envelope, or a Sigstore bundle
//! whose DSSE payload is the notice), the policy and the evaluation time,
//! and gives a [`VerifiedNotice`] only when
//! 1. the signed form and the notice inside parse and every field holds
//!    ([`Refusal::Malformed`]);
//! 2. the policy has a `[[halt_issuers]]` entry whose `id` is the notice's
//!    `issuer` ([`Refusal::NotTrusted`]);
//! 3. a signature verifies with that entry's key, or the bundle verifies
//!    for its Sigstore identity against a trusted root of the policy
//!    ([`Refusal::BadSignature`]);
//! 4. every product of the scope matches one of the entry's globs and the
//!    entry may take the notice's action ([`Refusal::NotTrusted`]).
//!
//! Whether the sequence is new for the issuer is the caller's state, not
//! this crate's: the gateway refuses replays and older sequences.

mod dsse;
mod error;
mod glob;
mod notice;

use jiff::Timestamp;

pub use dsse::{Envelope, EnvelopeSignature, HALT_PAYLOAD_TYPE, KeyAlgorithm, key_algorithm, pae};
pub use error::{HaltError, Refusal};
pub use glob::{GlobError, ProductGlob};
pub use notice::{Action, HALT_FORMAT, HaltNotice, Reference, Scope, Unit, VersionRange};

use crate::digest::Digest;
use crate::json;
use crate::limits::SIGNED_HALT_JSON;
use crate::policy::{HaltIssuer, HaltSigner, Policy};
use crate::sigstore::{self, Bundle, Signer, SignerPolicy, VerifyError};

/// How a verified notice was signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedForm {
    /// A DSSE envelope signed with the issuer's key.
    Dsse,
    /// A Sigstore bundle signed for the issuer's identity.
    SigstoreBundle,
}

/// A notice whose signature verified for a trusted issuer that may act on
/// its whole scope. Only [`verify`] builds one.
#[derive(Debug, Clone)]
pub struct VerifiedNotice {
    notice: HaltNotice,
    payload: Vec<u8>,
    signed_digest: Digest,
    form: SignedForm,
    signer: String,
    evaluated_at: Timestamp,
}

impl VerifiedNotice {
    /// The notice.
    pub fn notice(&self) -> &HaltNotice {
        &self.notice
    }
    /// The notice's bytes exactly as signed.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
    /// SHA-256 of the signed form as received.
    pub fn signed_digest(&self) -> Digest {
        self.signed_digest
    }
    /// DSSE envelope or Sigstore bundle.
    pub fn form(&self) -> SignedForm {
        self.form
    }
    /// Who signed: the key's digest, or the certificate identity.
    pub fn signer(&self) -> &str {
        &self.signer
    }
    /// The evaluation time the caller passed.
    pub fn evaluated_at(&self) -> Timestamp {
        self.evaluated_at
    }
}

/// Verifies a signed notice under `policy` as of `at` (see the module
/// documentation for the steps and which refusal each gives).
pub fn verify(signed: &[u8], policy: &Policy, at: Timestamp) -> Result<VerifiedNotice, HaltError> {
    let shape: serde_json::Map<String, serde_json::Value> = json::read(signed, &SIGNED_HALT_JSON)
        .map_err(|e| HaltError::Malformed {
        detail: e.to_string(),
    })?;
    if shape.contains_key("payloadType") {
        verify_envelope(signed, policy, at)
    } else if shape.contains_key("mediaType") {
        verify_bundle(signed, policy, at)
    } else {
        Err(HaltError::Malformed {
            detail: "neither a DSSE envelope (payloadType, payload, signatures) nor a Sigstore \
                     bundle (mediaType)"
                .into(),
        })
    }
}

fn verify_envelope(
    signed: &[u8],
    policy: &Policy,
    at: Timestamp,
) -> Result<VerifiedNotice, HaltError> {
    let envelope = Envelope::from_json(signed)?;
    check_payload_type(&envelope.payload_type)?;
    let payload = envelope.payload_bytes()?;
    let notice = HaltNotice::from_json(&payload)?;
    let issuer = issuer(policy, &notice)?;
    let (key, algorithm) = match &issuer.signer {
        HaltSigner::Key { key, algorithm } => (key, *algorithm),
        HaltSigner::Identity(_) => {
            return Err(HaltError::BadSignature {
                detail: format!(
                    "issuer {:?} signs with a Sigstore identity: send a Sigstore bundle, not a \
                     DSSE envelope signed with a key",
                    issuer.id
                ),
            });
        }
    };
    envelope.verify(&payload, key.der.as_bytes(), algorithm)?;
    check_scope(issuer, &notice)?;
    Ok(VerifiedNotice {
        notice,
        payload,
        signed_digest: Digest::of(signed),
        form: SignedForm::Dsse,
        signer: format!("key {}", key.digest()),
        evaluated_at: at,
    })
}

fn verify_bundle(
    signed: &[u8],
    policy: &Policy,
    at: Timestamp,
) -> Result<VerifiedNotice, HaltError> {
    let bundle = Bundle::from_json(signed).map_err(|e| HaltError::Malformed {
        detail: format!("Sigstore bundle: {e}"),
    })?;
    let Some((payload_type, claimed)) = bundle.claimed_dsse_payload() else {
        return Err(HaltError::Malformed {
            detail: "the Sigstore bundle carries a message signature; a halt notice is its DSSE \
                     envelope's payload"
                .into(),
        });
    };
    check_payload_type(payload_type)?;
    let notice = HaltNotice::from_json(claimed)?;
    let issuer = issuer(policy, &notice)?;
    let HaltSigner::Identity(identity) = &issuer.signer else {
        return Err(HaltError::BadSignature {
            detail: format!(
                "issuer {:?} signs with a key: send a DSSE envelope, not a Sigstore bundle",
                issuer.id
            ),
        });
    };
    let signer_policy = SignerPolicy::Certificate(identity.clone());
    let mut best: Option<VerifyError> = None;
    let mut verified = None;
    for root in policy.sigstore_roots() {
        match sigstore::verify_dsse_payload(&bundle, HALT_PAYLOAD_TYPE, root, &signer_policy, at) {
            Ok(ok) => {
                verified = Some(ok);
                break;
            }
            Err(error) => {
                if best.is_none() || !matches!(error, VerifyError::UnknownLog { .. }) {
                    best = Some(error);
                }
            }
        }
    }
    let Some(verified) = verified else {
        return Err(HaltError::BadSignature {
            detail: best.map_or_else(
                || "the policy lists no Sigstore trusted root".into(),
                |e| e.to_string(),
            ),
        });
    };
    // What was verified is what was read: the claimed payload is the signed one.
    let notice = HaltNotice::from_json(verified.payload())?;
    check_scope(issuer, &notice)?;
    let signer = match verified.signer() {
        Signer::Certificate(certificate) => certificate.identity.clone(),
        Signer::Key { key_digest } => format!("key {key_digest}"),
    };
    Ok(VerifiedNotice {
        notice,
        payload: verified.payload().to_vec(),
        signed_digest: Digest::of(signed),
        form: SignedForm::SigstoreBundle,
        signer,
        evaluated_at: at,
    })
}

fn check_payload_type(payload_type: &str) -> Result<(), HaltError> {
    if payload_type == HALT_PAYLOAD_TYPE {
        Ok(())
    } else {
        Err(HaltError::Malformed {
            detail: format!("DSSE payloadType is {payload_type:?}, expected {HALT_PAYLOAD_TYPE:?}"),
        })
    }
}

fn issuer<'p>(policy: &'p Policy, notice: &HaltNotice) -> Result<&'p HaltIssuer, HaltError> {
    policy
        .halt_issuers()
        .iter()
        .find(|i| i.id == notice.issuer)
        .ok_or_else(|| HaltError::UnknownIssuer {
            issuer: notice.issuer.clone(),
        })
}

/// Art. 20(3): an issuer halts only what the operator trusts it for.
fn check_scope(issuer: &HaltIssuer, notice: &HaltNotice) -> Result<(), HaltError> {
    if !issuer.actions.contains(&notice.action) {
        return Err(HaltError::ActionNotTrusted {
            issuer: issuer.id.clone(),
            action: notice.action,
            allowed: issuer.actions.clone(),
        });
    }
    if let Some(product) = notice
        .scope
        .products
        .iter()
        .find(|p| !issuer.products.iter().any(|g| g.matches(p.as_str())))
    {
        return Err(HaltError::ProductNotTrusted {
            issuer: issuer.id.clone(),
            product: product.as_str().to_owned(),
            globs: issuer.products.iter().map(ToString::to_string).collect(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
