//! An SBOM in CycloneDX: the input is the `sbom.document` of a listing of
//! `testdata/cra` that claims CycloneDX, judged under every policy. Nothing may
//! panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (before, after) = cragate_fuzz::template(cragate_fuzz::Slot::SbomCycloneDx);
    cragate_fuzz::judge(&cragate_fuzz::splice(before, data, after));
});
