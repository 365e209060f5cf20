use super::*;

const SMALL: JsonBudget = JsonBudget::new("document", 1 << 20);

fn refusal(text: &str) -> JsonLimitError {
    check(text.as_bytes(), &SMALL).unwrap_err()
}

#[test]
fn nesting_beyond_the_limit_is_refused_with_the_offset() {
    let deep = "[".repeat(10_000);
    let error = check_limits(deep.as_bytes(), "bundle", usize::MAX, 64).unwrap_err();
    assert_eq!(
        error,
        JsonLimitError::TooDeep {
            what: "bundle",
            limit: 64,
            offset: 64
        }
    );
}

#[test]
fn brackets_inside_strings_do_not_count() {
    let doc = format!(r#"{{"a": "{}\"[[["}}"#, "[".repeat(500));
    assert!(check_limits(doc.as_bytes(), "bundle", usize::MAX, 2).is_ok());
    assert!(check(doc.as_bytes(), &SMALL).is_ok());
}

#[test]
fn oversized_input_names_the_limit() {
    let error = check_limits(&[b' '; 11], "trusted root", 10, 64).unwrap_err();
    assert_eq!(
        error.to_string(),
        "trusted root is 11 bytes, over the limit of 10 bytes"
    );
}

#[test]
fn duplicate_keys_are_refused_naming_the_key_and_where() {
    let error = refusal("{\"product\": {\"id\": \"a\",\n \"id\": \"b\"}}");
    assert_eq!(
        error,
        JsonLimitError::DuplicateKey {
            what: "document",
            key: "id".into(),
            path: "product".into(),
            at: Position { line: 2, column: 5 },
        }
    );
    assert!(error.to_string().contains("RFC 8259"), "{error}");
}

#[test]
fn duplicate_keys_are_found_at_any_depth_and_behind_escapes() {
    let error = refusal(r#"{"a": [1, {"b": {"x": 1, "\u0078": 2}}]}"#);
    let JsonLimitError::DuplicateKey { key, path, .. } = error else {
        panic!("{error:?}");
    };
    assert_eq!((key.as_str(), path.as_str()), ("x", "a[1].b"));
    assert!(matches!(
        refusal(r#"{"k": 1, "k": 1}"#),
        JsonLimitError::DuplicateKey { .. }
    ));
}

#[test]
fn the_same_key_in_sibling_objects_is_not_a_duplicate() {
    let doc = r#"{"a": {"id": 1}, "b": {"id": 2}, "c": [{"id": 3}, {"id": 4}]}"#;
    assert!(check(doc.as_bytes(), &SMALL).is_ok());
}

#[test]
fn a_document_must_be_an_object_at_its_top() {
    for (doc, found) in [
        ("[]", "an array"),
        (r#"["cragate.listing/v1"]"#, "an array"),
        (r#""text""#, "a string"),
        ("3", "a number"),
        ("null", "null"),
        ("true", "a boolean"),
    ] {
        assert_eq!(
            refusal(doc),
            JsonLimitError::NotAnObject {
                what: "document",
                found
            },
            "{doc}"
        );
    }
}

#[test]
fn syntax_errors_and_trailing_data_are_not_json() {
    for doc in [
        "",
        "{",
        r#"{"a": 1} {}"#,
        r#"{"a": 01}"#,
        "{\"a\": \"\\x\"}",
    ] {
        assert!(
            matches!(refusal(doc), JsonLimitError::NotJson { .. }),
            "{doc:?}"
        );
    }
}

#[test]
fn arrays_longer_than_the_budget_are_refused_with_their_path() {
    let budget = JsonBudget {
        max_array_items: 3,
        ..SMALL
    };
    assert!(check(br#"{"a": {"b": [0, 0, 0]}}"#, &budget).is_ok());
    let error = check(br#"{"a": {"b": [0, 0, 0, 0]}}"#, &budget).unwrap_err();
    assert_eq!(
        error.to_string(),
        "document: a.b holds more than 3 items, over the limit (line 1, column 24)"
    );
}

#[test]
fn a_tree_costlier_than_the_budget_is_refused() {
    let doc = br#"{"a": [0,0,0,0,0,0,0,0,0,0]}"#;
    let cost = TREE_COST.object
        + TREE_COST.object_entry
        + TREE_COST.string_byte
        + TREE_COST.array
        + 10 * TREE_COST.array_item;
    let budget = |max_tree_bytes| JsonBudget {
        max_tree_bytes,
        ..SMALL
    };
    assert!(check(doc, &budget(cost)).is_ok());
    assert_eq!(
        check(doc, &budget(cost - 1)).unwrap_err(),
        JsonLimitError::TooCostly {
            what: "document",
            limit: cost - 1,
            at: Position {
                line: 1,
                column: 27
            }
        }
    );
}

#[test]
fn long_keys_are_shortened_in_messages() {
    let key = "k".repeat(10_000);
    let doc = format!(r#"{{"{key}": 1, "{key}": 2}}"#);
    let error = check(doc.as_bytes(), &SMALL).unwrap_err();
    assert!(error.to_string().len() < 400, "{error}");
}

#[test]
fn read_names_the_path_of_a_value_of_the_wrong_shape() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Doc {
        a: Vec<u8>,
    }
    let error = read::<Doc>(br#"{"a": [1, "x"]}"#, &SMALL).unwrap_err();
    assert!(
        matches!(&error, ReadError::Shape { path, .. } if path == "a[1]"),
        "{error:?}"
    );
    assert!(matches!(
        read::<Doc>(br#"{"a": [], "a": [1]}"#, &SMALL).unwrap_err(),
        ReadError::Refused(JsonLimitError::DuplicateKey { .. })
    ));
    assert!(matches!(
        read::<Doc>(b"{", &SMALL).unwrap_err(),
        ReadError::Shape { .. }
    ));
}
