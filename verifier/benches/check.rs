//! Listings checked per second under a typical policy (the shipped importer
//! policy with its notified-body list), parse included; and a signed
//! listing (firmware signature and signed DoC, two Sigstore bundles) under
//! a policy that requires both.
//!
//! `cargo bench -p cragate-verifier --bench check`

use std::collections::BTreeMap;
use std::hint::black_box;

use cragate_verifier::evidence::Listing;
use cragate_verifier::policy::PolicyDraft;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;

const POLICY: &[u8] = include_bytes!("../../policies/importer.toml");
const NANDO: &[u8] = include_bytes!("../../policies/notified-bodies/illustrative-nando.json");
const STANDARDS: &[u8] = include_bytes!("../../policies/harmonised/standards.json");
const SPECIFICATIONS: &[u8] =
    include_bytes!("../../policies/harmonised/common-specifications.json");
const SCHEMES: &[u8] = include_bytes!("../../policies/harmonised/certification-schemes.json");
const CAMERA: &[u8] = include_bytes!("../../testdata/cra/camera_non_eu_maker_pass/listing.json");
const WITH_SBOM: &[u8] = include_bytes!("../../testdata/cra/sbom_cyclonedx_16_pass/listing.json");
const SIGNED: &[u8] =
    include_bytes!("../../testdata/cra-signed/signed_firmware_and_doc_pass/listing.json");
const SIGNED_POLICY: &[u8] =
    include_bytes!("../../testdata/cra-signed/signed_firmware_and_doc_pass/policy.toml");
const SIGNER_ROOT: &[u8] = include_bytes!("../../testdata/signed/trusted_root.json");

fn bench(c: &mut Criterion) {
    let files = BTreeMap::from([
        (
            "notified-bodies/illustrative-nando.json".to_owned(),
            NANDO.to_vec(),
        ),
        ("harmonised/standards.json".to_owned(), STANDARDS.to_vec()),
        (
            "harmonised/common-specifications.json".to_owned(),
            SPECIFICATIONS.to_vec(),
        ),
        (
            "harmonised/certification-schemes.json".to_owned(),
            SCHEMES.to_vec(),
        ),
    ]);
    let policy = match PolicyDraft::parse("importer.toml", POLICY).and_then(|d| d.compile(&files)) {
        Ok(policy) => policy,
        Err(errors) => {
            eprintln!("the importer policy does not compile: {errors}");
            return;
        }
    };
    let Ok(at) = "2027-06-01T00:00:00Z".parse::<Timestamp>() else {
        return;
    };
    let mut group = c.benchmark_group("check");
    group.throughput(Throughput::Elements(1));
    for (name, bytes) in [
        ("camera", CAMERA),
        ("password_manager_with_sbom", WITH_SBOM),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let listing = Listing::from_json(black_box(bytes));
                listing.map(|l| policy.evaluate(&l, at).decision())
            })
        });
    }
    let signer_files = BTreeMap::from([(
        "../../signed/trusted_root.json".to_owned(),
        SIGNER_ROOT.to_vec(),
    )]);
    if let Ok(signed_policy) =
        PolicyDraft::parse("policy.toml", SIGNED_POLICY).and_then(|d| d.compile(&signer_files))
    {
        group.bench_function("signed_firmware_and_doc", |b| {
            b.iter(|| {
                let listing = Listing::from_json(black_box(SIGNED));
                listing.map(|l| signed_policy.evaluate(&l, at).decision())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
