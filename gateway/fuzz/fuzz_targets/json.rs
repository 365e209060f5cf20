//! The one JSON reader (`cragate_verifier::json`): `check` never panics,
//! and what it lets through parses into a JSON object that keeps the budget
//! it was checked under (depth, array lengths), under a tiny budget (to
//! reach every refusal) and the listing budget alike.

#![no_main]

use cragate_verifier::json::{self, JsonBudget};
use cragate_verifier::limits::LISTING_JSON;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const TINY: JsonBudget = JsonBudget {
    what: "fuzz input",
    max_bytes: 4096,
    max_depth: 4,
    max_array_items: 3,
    max_tree_bytes: 4000,
};

/// Nesting depth of arrays and objects (a scalar is 0).
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn longest_array(value: &Value) -> usize {
    match value {
        Value::Array(items) => items
            .iter()
            .map(longest_array)
            .max()
            .unwrap_or(0)
            .max(items.len()),
        Value::Object(map) => map.values().map(longest_array).max().unwrap_or(0),
        _ => 0,
    }
}

fn holds(data: &[u8], budget: &JsonBudget) {
    let checked = json::check(data, budget);
    let read = json::read::<Value>(data, budget);
    assert_eq!(checked.is_ok(), read.is_ok(), "check and read disagree");
    let Ok(()) = checked else { return };
    let value: Value = serde_json::from_slice(data).expect("checked JSON parses");
    assert!(value.is_object(), "checked JSON is an object");
    assert_eq!(
        read.ok(),
        Some(value.clone()),
        "read gives the parsed value"
    );
    assert!(data.len() <= budget.max_bytes, "over the byte budget");
    assert!(depth(&value) <= budget.max_depth, "over the depth budget");
    assert!(
        longest_array(&value) <= budget.max_array_items,
        "over the array budget"
    );
}

fuzz_target!(|data: &[u8]| {
    holds(data, &TINY);
    holds(data, &LISTING_JSON);
});
