//! A policy file (`cragate.policy/v1`, TOML; `PolicyDraft::parse`), compiled
//! with the files of `policies/` and the test signer's root under the paths
//! the repository's policies name them by, its errors rendered with their
//! lines; a policy that compiles judges a listing of `testdata/cra`.
//! Nothing may panic.

#![no_main]

use std::sync::OnceLock;

use cragate_verifier::evidence::Listing;
use cragate_verifier::policy::PolicyDraft;
use libfuzzer_sys::fuzz_target;

const LISTING: &[u8] =
    include_bytes!("../../../testdata/cra/camera_non_eu_maker_pass/listing.json");

fn listing() -> &'static Listing {
    static LISTING_PARSED: OnceLock<Listing> = OnceLock::new();
    LISTING_PARSED.get_or_init(|| Listing::from_json(LISTING).expect("the testdata listing parses"))
}

fuzz_target!(|data: &[u8]| {
    let draft = match PolicyDraft::parse("policy.toml", data) {
        Ok(draft) => draft,
        Err(errors) => {
            let _ = errors.to_string();
            return;
        }
    };
    let _ = (draft.name().len(), draft.references().len());
    match draft.compile(&cragate_fuzz::files()) {
        Ok(policy) => {
            let verdict = policy.evaluate(listing(), cragate_fuzz::at());
            let _ = verdict.decision();
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
});
