//! An SBOM in SPDX: the input is the `sbom.document` of a listing of
//! `testdata/cra` that claims SPDX, judged under every policy. Nothing may
//! panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (before, after) = cragate_fuzz::template(cragate_fuzz::Slot::SbomSpdx);
    cragate_fuzz::judge(&cragate_fuzz::splice(before, data, after));
});
