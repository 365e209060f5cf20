//! Listings checked per second under a typical policy (the shipped importer
//! policy with its notified-body list), parse included.
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
const CAMERA: &[u8] = include_bytes!("../../testdata/cra/camera_non_eu_maker_pass/listing.json");
const WITH_SBOM: &[u8] = include_bytes!("../../testdata/cra/sbom_cyclonedx_16_pass/listing.json");

fn bench(c: &mut Criterion) {
    let files = BTreeMap::from([(
        "notified-bodies/illustrative-nando.json".to_owned(),
        NANDO.to_vec(),
    )]);
    let Ok(policy) = PolicyDraft::parse("importer.toml", POLICY).and_then(|d| d.compile(&files))
    else {
        return;
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
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
