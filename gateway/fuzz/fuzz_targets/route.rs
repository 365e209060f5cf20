//! Route patterns (`config::pattern`) and what they capture: the input is a
//! pattern, a newline and a request path. Parsing a pattern and matching a
//! normalised path never panic; a pattern prints as it was written and
//! parses back to itself; an `{id}` that matches is usable (not `.` or
//! `..`, no slash, backslash or control character) and a `{digest}` that
//! matches is a digest the path spells.

#![no_main]

use cragate::config::pattern::PathPattern;
use cragate::http::path::NormalPath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (pattern, path) = text.split_once('\n').unwrap_or((text, "/"));
    let Ok(pattern) = PathPattern::parse(pattern) else {
        return;
    };
    let printed = pattern.to_string();
    assert_eq!(PathPattern::parse(&printed).as_ref(), Ok(&pattern));
    let Ok(path) = NormalPath::new(path) else {
        return;
    };
    let Some(Ok(captures)) = pattern.matches(&path) else {
        return;
    };
    if let Some(id) = &captures.id {
        assert!(
            !id.is_empty() && id != "." && id != "..",
            "unusable id {id:?}"
        );
        assert!(!id.contains(['/', '\\']), "slash in id {id:?}");
        assert!(!id.chars().any(char::is_control), "control in id {id:?}");
    }
    if let Some(digest) = &captures.digest {
        assert!(
            path.as_str().to_ascii_lowercase().contains(&digest.hex()),
            "{digest} is not in {path}"
        );
    }
});
