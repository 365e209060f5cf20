//! Compiling `[[halt_issuers]]` once their key files are loaded.

use std::collections::BTreeMap;

use super::error::Sink;
use super::parse::HaltIssuerDraft;
use super::{HaltIssuer, HaltSigner};
use crate::halt::key_algorithm;
use crate::sigstore::{IdentityPolicy, ManagedKey};

/// Every issuer whose key or identity is usable; problems go to `sink`.
pub(super) fn compile(
    drafts: &[HaltIssuerDraft],
    keys_by_path: &BTreeMap<String, ManagedKey>,
    has_sigstore_roots: bool,
    sink: &mut Sink<'_>,
) -> Vec<HaltIssuer> {
    let mut issuers = Vec::new();
    for draft in drafts {
        let signer = if let Some(reference) = &draft.key {
            // A key file that did not load was reported already.
            let Some(key) = keys_by_path.get(&reference.path) else {
                continue;
            };
            let Some(algorithm) = key_algorithm(key.der.as_bytes()) else {
                sink.at_line(
                    reference,
                    format!(
                        "{}: a halt issuer's key must be Ed25519 or ECDSA P-256",
                        reference.path
                    ),
                );
                continue;
            };
            HaltSigner::Key {
                key: key.clone(),
                algorithm,
            }
        } else if let Some(rule) = &draft.identity {
            if !has_sigstore_roots {
                sink.at(
                    draft.offset,
                    format!(
                        "[[halt_issuers]] {:?} has a Sigstore identity, but the policy lists no \
                         trusted root (trust.sigstore_roots)",
                        draft.id
                    ),
                );
                continue;
            }
            HaltSigner::Identity(IdentityPolicy::new(rule.san.clone(), rule.issuer.clone()))
        } else {
            continue;
        };
        issuers.push(HaltIssuer {
            id: draft.id.clone(),
            signer,
            products: draft.products.clone(),
            actions: draft.actions.clone(),
        });
    }
    issuers
}
