use super::*;

const MINIMAL: &str = r#"{"format": "cragate.listing/v1",
  "product": {"id": "p", "name": "P", "version": "1", "kind": "software", "category": "class-i:3"}}"#;

#[test]
fn a_minimal_listing_parses_with_its_category() {
    let listing = Listing::from_json(MINIMAL.as_bytes()).unwrap();
    assert_eq!(listing.category(), Category::ClassI(3));
    assert_eq!(listing.digest(), Digest::of(MINIMAL.as_bytes()));
}

#[test]
fn categories_outside_the_annexes_are_refused() {
    for bad in [
        "class-i:20",
        "class-ii:0",
        "class-ii:05",
        "critical:4",
        "important",
        "class-i:",
    ] {
        assert_eq!(Category::parse(bad), None, "{bad}");
    }
    assert_eq!(Category::parse("critical:3"), Some(Category::Critical(3)));
    assert_eq!(Category::ClassII(2).to_string(), "class-ii:2");
}

#[test]
fn shape_errors_name_the_path() {
    let bad = MINIMAL.replace(r#""version": "1""#, r#""version": 1"#);
    let error = Listing::from_json(bad.as_bytes()).unwrap_err();
    assert!(
        matches!(&error, EvidenceError::Shape { path, .. } if path == "product.version"),
        "{error}"
    );
}

#[test]
fn unknown_versions_and_trailing_bytes_are_refused() {
    let v2 = MINIMAL.replace("listing/v1", "listing/v2");
    assert!(matches!(
        Listing::from_json(v2.as_bytes()),
        Err(EvidenceError::UnsupportedFormat { .. })
    ));
    let trailing = format!("{MINIMAL} {{}}");
    assert!(matches!(
        Listing::from_json(trailing.as_bytes()),
        Err(EvidenceError::Shape { .. })
    ));
}

#[test]
fn deep_nesting_is_refused_before_parsing() {
    let deep = "[".repeat(10_000);
    assert!(matches!(
        Listing::from_json(deep.as_bytes()),
        Err(EvidenceError::Limits(_))
    ));
}

#[test]
fn sizes_are_integers_however_json_writes_them() {
    let with_size = |size: &str| {
        MINIMAL.replace(
            r#""category": "class-i:3"}"#,
            &format!(
                r#""category": "class-i:3"}}, "artifacts": [{{"name": "a", "digest": "sha256:{}", "size": {size}}}]"#,
                "ab".repeat(32)
            ),
        )
    };
    let listing = Listing::from_json(with_size("1048576.0").as_bytes()).unwrap();
    assert_eq!(listing.artifacts()[0].size, 1_048_576);
    for bad in ["1.5", "-1", "1e30", "\"1\""] {
        assert!(
            matches!(
                Listing::from_json(with_size(bad).as_bytes()),
                Err(EvidenceError::Shape { ref path, .. }) if path == "artifacts[0].size"
            ),
            "{bad}"
        );
    }
}
