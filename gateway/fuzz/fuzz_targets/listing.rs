//! A listing (`Listing::from_json`), judged under the shipped app-store and
//! importer policies and a policy requiring signatures, as `cragate check`
//! and `cragate serve` judge one: evidence, DoC, SBOM, bundles and
//! attestations. Nothing may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cragate_fuzz::judge(data);
});
