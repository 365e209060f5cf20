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

/// Issue 9, finding 8: a JSON array with the fields in order was read as a
/// listing (serde reads a struct from a sequence too).
#[test]
fn a_json_array_is_not_a_listing() {
    let array = r#"["cragate.listing/v1",
      {"id": "p", "name": "P", "version": "1", "kind": "software", "category": "default"},
      {}, null, null, null, null, null, null, [], [], null]"#;
    let error = Listing::from_json(array.as_bytes()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "listing must be a JSON object, not an array"
    );
}

/// Issue 10, rule 16 (RFC 8259 §4): a key given twice anywhere in a listing
/// makes it unusable, also inside the parts read as free JSON (the inline
/// SBOM, a bundle, extra identifiers), where a parser would keep one value.
#[test]
fn a_key_given_twice_anywhere_makes_a_listing_unusable() {
    let with = |extra: &str| MINIMAL.replacen('}', &format!("}}, {extra}"), 1);
    for (extra, key, path) in [
        (
            r#""sbom": {"format": "cyclonedx", "document": {"bomFormat": "CycloneDX",
              "metadata": {"component": {"name": "P", "name": "Other"}}}}"#,
            "name",
            "sbom.document.metadata.component",
        ),
        (
            r#""attestations": [{"mediaType": "a", "mediaType": "b"}]"#,
            "mediaType",
            "attestations[0]",
        ),
        (
            r#""artifacts": [{"name": "a", "digest": "sha256:00", "size": 1,
              "signature": {"content": 1, "content": 2}}]"#,
            "content",
            "artifacts[0].signature",
        ),
    ] {
        let listing = with(extra);
        let error = Listing::from_json(listing.as_bytes()).unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with(&format!(
                "listing has the key {key:?} twice in {path} (line"
            )),
            "{text}"
        );
    }
    let identifiers = MINIMAL.replace(
        r#""category": "class-i:3""#,
        r#""category": "class-i:3", "identifiers": {"firmware": "1", "firmware": "2"}"#,
    );
    let error = Listing::from_json(identifiers.as_bytes()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains(r#"the key "firmware" twice in product.identifiers"#),
        "{error}"
    );
}

/// Issue 9, finding 10: an unusable product id is the listing's fault,
/// refused when the listing is read, before anything is decided or recorded.
#[test]
fn an_unusable_product_id_makes_the_listing_unusable() {
    for bad in ["", "../../x", "a/b", "a\u{7}b"] {
        let quoted = serde_json::to_string(bad).unwrap();
        let listing = MINIMAL.replace(r#""id": "p""#, &format!(r#""id": {quoted}"#));
        let error = Listing::from_json(listing.as_bytes()).unwrap_err();
        assert!(
            error.to_string().starts_with("product.id: product id"),
            "{error}"
        );
    }
    let long = MINIMAL.replace(r#""id": "p""#, &format!("\"id\": \"{}\"", "x".repeat(300)));
    assert!(Listing::from_json(long.as_bytes()).is_err());
    let listing = Listing::from_json(MINIMAL.as_bytes()).unwrap();
    assert_eq!(listing.product_id().as_str(), "p");
}
