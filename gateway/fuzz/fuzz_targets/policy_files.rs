//! The files a policy names: a notified-body list
//! (`cragate.notified-bodies/v1`), the three presumption lists
//! (`cragate.presumption-list/v1`), a Sigstore trusted root and a PEM
//! public key. The first byte of the input picks which, the rest is the
//! file. Nothing may panic.

#![no_main]

use cragate_verifier::ce::{ListKind, NotifiedBodies, PresumptionList};
use cragate_verifier::sigstore::{ManagedKey, TrustRoot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, file)) = data.split_first() else {
        return;
    };
    match which % 6 {
        0 => {
            if let Ok(list) = NotifiedBodies::from_json(file) {
                let _ = list.find("0123").is_some() || list.is_empty();
            }
        }
        1..=3 => {
            let kind = match which % 6 {
                1 => ListKind::HarmonisedStandards,
                2 => ListKind::CommonSpecifications,
                _ => ListKind::CertificationSchemes,
            };
            if let Ok(list) = PresumptionList::from_json(file, kind) {
                assert_eq!(list.kind(), kind, "a list of another kind was accepted");
                for entry in list.entries() {
                    let _ = entry;
                }
                let _ = list.find("EN 18031-1:2024");
            }
        }
        4 => {
            let _ = TrustRoot::from_json(file).map(|root| root.digest());
        }
        _ => {
            let _ = ManagedKey::from_pem(file).map(|key| key.digest());
        }
    }
});
