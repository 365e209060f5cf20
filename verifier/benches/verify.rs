//! Cold Sigstore bundle verifications per second, in-process: parse the
//! bundle JSON and verify it against a prepared trusted root, as a gateway
//! does for each upload. `scripts/bench-verify` runs this beside
//! sigstore-python's in-process verifier on the same bundles and prints the
//! ratio.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use cragate_verifier::sigstore::{
    self, ArtifactInput, Bundle, IdentityPolicy, Matcher, SignerPolicy, TrustRoot,
};
use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;

/// One benchmark case: a bundle, its artifact, trusted root and signer.
struct Case {
    name: &'static str,
    bundle: Vec<u8>,
    artifact: Vec<u8>,
    root: TrustRoot,
    signer: SignerPolicy,
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The identity of the sigstore-conformance signing workflow.
const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn case(
    name: &'static str,
    folder: &str,
    artifact: &str,
    root: &str,
    (identity, issuer): (&str, &str),
) -> Case {
    let dir = testdata().join(folder);
    Case {
        name,
        bundle: read(&dir.join("bundle.sigstore.json")),
        artifact: read(&dir.join(artifact)),
        root: TrustRoot::from_json(&read(&testdata().join(root))).unwrap(),
        signer: SignerPolicy::Certificate(IdentityPolicy::new(
            Matcher::Exact(identity.to_owned()),
            Matcher::Exact(issuer.to_owned()),
        )),
    }
}

fn verify_once(case: &Case) {
    let bundle = Bundle::from_json(&case.bundle).unwrap();
    sigstore::verify(
        &bundle,
        ArtifactInput::Bytes(&case.artifact),
        &case.root,
        &case.signer,
        Timestamp::now(),
    )
    .unwrap();
}

fn cases() -> Vec<Case> {
    vec![
        case(
            "hashedrekord-v0.3",
            "sigstore-conformance/bundle-verify/happy-path-v0.3",
            "../a.txt",
            "sigstore-conformance/extra/production_trusted_root.json",
            (BEACON, GITHUB_ISSUER),
        ),
        case(
            "dsse-v0.3",
            "signed/firmware-doc-dsse_pass",
            "artifact",
            "signed/trusted_root.json",
            ("release@acme.example", "https://accounts.acme.example"),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    for case in cases() {
        verify_once(&case);
        group.bench_function(case.name, |b| b.iter(|| verify_once(&case)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
