//! Request paths (`http::path`): normalisation, captures and
//! percent-decoding never panic, a normal path is its own normal form and
//! holds nothing an upstream could resolve elsewhere (RFC 3986 dot segments,
//! encoded slashes, backslashes, empty segments, control characters), and a
//! capture that is accepted is neither `.` nor `..` and holds no slash,
//! backslash or control character.

#![no_main]

use cragate::http::path::{NormalPath, capture, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = decode(text);
    if let Ok(value) = capture(text) {
        assert!(value != "." && value != "..", "dot capture {value:?}");
        assert!(!value.contains(['/', '\\']), "slash in capture {value:?}");
        assert!(!value.chars().any(char::is_control), "control in {value:?}");
    }
    let Ok(normal) = NormalPath::new(text) else {
        return;
    };
    let path = normal.as_str();
    assert_eq!(
        NormalPath::new(path).as_ref().map(NormalPath::as_str),
        Ok(path),
        "the normal form of {text:?} is not its own normal form"
    );
    assert!(path.starts_with('/'), "{path:?} does not start with /");
    assert!(!path.contains('\\'), "backslash in {path:?}");
    assert!(!path.chars().any(char::is_control), "control in {path:?}");
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (n, segment) in segments.iter().enumerate() {
        let decoded = decode(segment).expect("a normal segment decodes");
        assert!(decoded != "." && decoded != "..", "dot segment in {path:?}");
        assert!(!decoded.contains(['/', '\\']), "encoded slash in {path:?}");
        assert!(
            n == last || !segment.is_empty(),
            "empty segment in {path:?}"
        );
    }
});
