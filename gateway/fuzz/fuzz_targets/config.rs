//! `cragate serve`'s configuration file (`config::Config::parse`, TOML):
//! parsing and validation never panic, and every error names the file and
//! a line of it (or none). A file naming a `bearer_token_file` is parsed
//! but not validated, since validating reads that file.

#![no_main]

use cragate::config::raw::RawConfig;
use cragate::config::{Config, Overrides};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match toml::from_str::<RawConfig>(text) {
        Ok(raw)
            if raw
                .admin
                .as_ref()
                .is_some_and(|a| a.bearer_token_file.is_some()) =>
        {
            return;
        }
        _ => {}
    }
    let lines = text.matches('\n').count() + 1;
    if let Err(errors) = Config::parse("cragate.toml", text, None, &Overrides::default()) {
        assert!(!errors.is_empty(), "refused without an error");
        for error in errors {
            assert!(
                error.line <= lines,
                "line {} of {lines}: {error}",
                error.line
            );
            let _ = error.to_string();
        }
    }
});
