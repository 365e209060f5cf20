//! A Sigstore bundle (`Bundle::from_json`), its claimed in-toto statement,
//! and verification (`sigstore::verify`) against the test signer's trusted
//! root and the public-good production root, for the artifacts of
//! `testdata/signed` and `testdata/sigstore-conformance`, with any
//! certificate identity and with the conformance suite's managed key.
//! Nothing may panic, and what verifies is bound to the artifact it was
//! verified against.

#![no_main]

use std::sync::OnceLock;

use cragate_verifier::Digest;
use cragate_verifier::sigstore::{
    self, ArtifactInput, Bundle, IdentityPolicy, ManagedKey, Matcher, SignerPolicy, TrustRoot,
};
use libfuzzer_sys::fuzz_target;

const ROOTS: &[&[u8]] = &[
    include_bytes!("../../../testdata/signed/trusted_root.json"),
    include_bytes!("../../../testdata/sigstore-conformance/extra/production_trusted_root.json"),
];

const ARTIFACTS: &[&[u8]] = &[
    include_bytes!("../../../testdata/signed/firmware-message_pass/artifact"),
    include_bytes!("../../../testdata/signed/firmware-doc-dsse_pass/artifact"),
    include_bytes!("../../../testdata/sigstore-conformance/bundle-verify/a.txt"),
];

const KEY: &[u8] = include_bytes!(
    "../../../testdata/sigstore-conformance/bundle-verify/managed-key-happy-path/key.pub"
);

struct Trust {
    roots: Vec<TrustRoot>,
    signers: Vec<SignerPolicy>,
}

fn trust() -> &'static Trust {
    static TRUST: OnceLock<Trust> = OnceLock::new();
    TRUST.get_or_init(|| {
        let any = || Matcher::pattern(".*").expect("the pattern compiles");
        Trust {
            roots: ROOTS
                .iter()
                .map(|root| TrustRoot::from_json(root).expect("a testdata root parses"))
                .collect(),
            signers: vec![
                SignerPolicy::Certificate(IdentityPolicy::new(any(), any())),
                SignerPolicy::Key(ManagedKey::from_pem(KEY).expect("the testdata key parses")),
            ],
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(bundle) = Bundle::from_json(data) else {
        return;
    };
    let _ = bundle.version();
    if let Some(statement) = bundle.claimed_statement() {
        let _ = statement.has_subject(&Digest::of(data));
    }
    let trust = trust();
    let at = cragate_fuzz::at();
    for root in &trust.roots {
        for signer in &trust.signers {
            for artifact in ARTIFACTS {
                let digest = Digest::of(artifact);
                if let Ok(verified) =
                    sigstore::verify(&bundle, ArtifactInput::Digest(digest), root, signer, at)
                {
                    assert_eq!(verified.artifact_digest(), digest);
                    assert_eq!(verified.bundle_digest(), Digest::of(data));
                }
                let mut reader: &[u8] = artifact;
                let _ = sigstore::verify(
                    &bundle,
                    ArtifactInput::Reader(&mut reader),
                    root,
                    signer,
                    at,
                );
            }
        }
    }
});
