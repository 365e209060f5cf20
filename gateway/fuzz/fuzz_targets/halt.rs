//! A halt notice (`cragate.halt/v1`): the input is read both as the notice
//! itself (`HaltNotice::from_json`) and as its signed form (a DSSE envelope
//! or a Sigstore bundle, `halt::verify`) under the example policy of
//! `testdata/halts`, which trusts the example key for `lumacam-*`. Nothing
//! may panic, and what verifies is a notice of a trusted issuer whose
//! payload is the bytes that were signed.

#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use cragate_verifier::halt::{self, HaltNotice};
use cragate_verifier::policy::{Policy, PolicyDraft};
use libfuzzer_sys::fuzz_target;

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let mut files = BTreeMap::new();
        files.insert(
            "lumatek-halt.pub".to_owned(),
            include_bytes!("../../../testdata/halts/lumatek-halt.pub").to_vec(),
        );
        PolicyDraft::parse(
            "policy.toml",
            include_bytes!("../../../testdata/halts/policy.toml"),
        )
        .and_then(|draft| draft.compile(&files))
        .unwrap_or_else(|errors| panic!("the example halt policy does not compile: {errors}"))
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(notice) = HaltNotice::from_json(data) {
        assert!(!notice.scope.products.is_empty(), "a scope without products");
    }
    if let Ok(verified) = halt::verify(data, policy(), cragate_fuzz::at()) {
        assert_eq!(verified.notice().issuer, "lumatek-psirt");
        let reread = HaltNotice::from_json(verified.payload())
            .unwrap_or_else(|e| panic!("a verified payload does not read again: {e}"));
        assert_eq!(reread.sequence, verified.notice().sequence);
    }
});
