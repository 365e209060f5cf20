//! An EU declaration of conformity (`cragate.doc/v1`): the input is the
//! `declaration_of_conformity.full` value of a listing of `testdata/cra`,
//! judged under every policy. Nothing may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (before, after) = cragate_fuzz::template(cragate_fuzz::Slot::Doc);
    cragate_fuzz::judge(&cragate_fuzz::splice(before, data, after));
});
