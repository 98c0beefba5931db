//! Huge requests get small errors: the checks of a list take time linear in its length, and
//! an error lists the first few broken rules and counts the rest, whatever the input.

use iotexplorer_model::{
    BatchUpdateFirmwareRequest, ErrorCode, MAX_REPORTED_VIOLATIONS as LIMIT, RequestProblems,
    ValidationErrors, check_request_json,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Largest error text accepted from any input in these tests.
const SMALL_TEXT: usize = 4096;

fn body_with_names(names: Value) -> Value {
    let mut body = json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0"});
    body["DeviceNames"] = names;
    body
}

fn refused(body: &Value) -> ValidationErrors {
    match check_request_json("BatchUpdateFirmware", body) {
        Err(RequestProblems::Invalid(errors)) => errors,
        other => panic!("expected invalid members, got {other:?}"),
    }
}

fn typed_with_names(names: Vec<String>) -> ValidationErrors {
    BatchUpdateFirmwareRequest::builder()
        .product_id("ABCDE12345")
        .firmware_version("2.0.0")
        .set_device_names(Some(names))
        .build()
        .expect_err("duplicate names")
}

#[test]
fn copies_of_one_name_give_a_short_error_that_counts_them() {
    let names = vec!["dev001".to_owned(); 200_000];
    let raw = refused(&body_with_names(json!(names)));
    let typed = typed_with_names(names);
    for errors in [raw, typed] {
        let text = errors.to_string();
        assert!(text.len() < SMALL_TEXT, "{} bytes", text.len());
        assert!(text.starts_with("199999 invalid members: "), "{text}");
        assert!(
            text.contains("DeviceNames[1] = \"dev001\": breaks rule \"no duplicate items\""),
            "{text}"
        );
        assert!(text.ends_with("; and 199979 more"), "{text}");
        assert_eq!(LIMIT, 20, "the expected text above counts on listing 20");
        assert_eq!(errors.violations().len(), LIMIT);
        assert_eq!(
            (errors.total(), errors.unlisted()),
            (199_999, 199_999 - LIMIT)
        );
        assert_eq!(errors.violations()[0].field(), "DeviceNames[1]");
        assert_eq!(errors.violations()[LIMIT - 1].field(), "DeviceNames[20]");
        assert_eq!(errors.error_code(), ErrorCode::InvalidParameterValue);
    }
}

#[test]
fn empty_and_wrongly_typed_items_of_a_huge_list_give_a_short_error() {
    for items in [json!(vec![""; 200_000]), json!(vec![7; 200_000])] {
        let errors = refused(&body_with_names(items));
        let text = errors.to_string();
        assert!(text.len() < SMALL_TEXT, "{} bytes", text.len());
        assert!(text.contains(" more"), "{text}");
        assert_eq!(errors.violations().len(), LIMIT);
    }
}

fn assert_short_unknown_member_error(body: &Value) {
    let errors = refused(body);
    let text = errors.to_string();
    assert!(text.len() < SMALL_TEXT, "{} bytes", text.len());
    assert_eq!(errors.error_code(), ErrorCode::UnknownParameter);
}

#[test]
fn many_unknown_members_give_a_short_error() {
    let mut many = serde_json::Map::new();
    for index in 0..100_000 {
        many.insert(format!("Unknown{index}"), json!(index));
    }
    assert_short_unknown_member_error(&Value::Object(many));
}

#[test]
fn a_long_unknown_member_name_gives_a_short_error() {
    let long_name = "N".repeat(1_000_000);
    let body = json!({"ProductID": "ABCDE12345", "FirmwareVersion": "2.0.0", long_name: 1});
    assert_short_unknown_member_error(&body);
}

#[test]
fn long_values_and_names_are_cut_to_eighty_characters() {
    let mut body = body_with_names(json!([]));
    body["FwType"] = json!(7);
    body["TaskUserDefine"] = json!("é".repeat(1_000_000));
    body["N".repeat(100)] = json!(1);
    let errors = refused(&body);
    let violations = errors.violations();
    assert_eq!(violations[0].field(), format!("{}...", "N".repeat(80)));
    // An unknown member's value is never shown (it may be a secret of a wrong file).
    assert_eq!(violations[0].value(), None);
    assert_eq!(violations[1].field(), "FwType");
    let cut = violations[2].value().expect("a value");
    assert_eq!(cut, format!("\"{}...", "é".repeat(79)));
}

/// `duplicates` broken rules, all of them repeats of the first name.
fn errors_with(duplicates: usize) -> ValidationErrors {
    typed_with_names(vec!["dev001".to_owned(); duplicates + 1])
}

#[test]
fn exactly_the_limit_is_listed_in_full() {
    let errors = errors_with(LIMIT);
    let text = errors.to_string();
    assert_eq!(errors.violations().len(), LIMIT);
    assert_eq!((errors.total(), errors.unlisted()), (LIMIT, 0));
    assert!(
        text.starts_with(&format!("{LIMIT} invalid members: ")),
        "{text}"
    );
    assert!(!text.contains("more"), "{text}");
    assert!(text.ends_with(&format!(
        "DeviceNames[{LIMIT}] = \"dev001\": breaks rule \"no duplicate items\""
    )));
}

#[test]
fn one_below_the_limit_is_listed_in_full() {
    let errors = errors_with(LIMIT - 1);
    assert_eq!(errors.violations().len(), LIMIT - 1);
    assert_eq!((errors.total(), errors.unlisted()), (LIMIT - 1, 0));
    assert!(!errors.to_string().contains("more"));
}

#[test]
fn one_past_the_limit_counts_the_one_left_out() {
    let errors = errors_with(LIMIT + 1);
    let text = errors.to_string();
    assert_eq!(errors.violations().len(), LIMIT);
    assert_eq!((errors.total(), errors.unlisted()), (LIMIT + 1, 1));
    assert!(
        text.starts_with(&format!("{} invalid members: ", LIMIT + 1)),
        "{text}"
    );
    assert!(text.ends_with("; and 1 more"), "{text}");
    assert!(
        !text.contains(&format!("DeviceNames[{}]", LIMIT + 1)),
        "{text}"
    );
}

#[test]
fn the_error_code_comes_from_every_violation_not_only_the_listed_ones() {
    // The duplicates come first in member order; the wrong type and the missing group
    // members are found after them, past the listed ones, and still decide the code.
    let mut body = body_with_names(json!(vec!["dev001"; LIMIT + 10]));
    body["TimeoutInterval"] = json!("300");
    assert_eq!(refused(&body).error_code(), ErrorCode::InvalidParameter);
    body["FileName"] = json!("devices.csv");
    assert_eq!(refused(&body).error_code(), ErrorCode::MissingParameter);
}

/// Any JSON value, small, with the values that compare equal in unusual ways (`0.0` and
/// `-0.0`, `1` and `1.0`, objects whose keys come in another order).
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-2i64..3).prop_map(Value::from),
        (0u64..3).prop_map(Value::from),
        prop::sample::select(vec![0.0, -0.0, 1.0, 1.5]).prop_map(Value::from),
        "[ab]{0,2}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::vec((prop::sample::select(vec!["k", "l", "m"]), inner), 0..3)
                .prop_map(|entries| {
                    let mut object = serde_json::Map::new();
                    for (key, value) in entries {
                        object.insert(key.to_owned(), value);
                    }
                    Value::Object(object)
                }),
        ]
    })
}

/// The indices that repeat an earlier item, found the obvious way.
fn naive_duplicates(items: &[Value]) -> Vec<usize> {
    (0..items.len())
        .filter(|&i| items[..i].contains(&items[i]))
        .collect()
}

fn duplicate_fields(errors: &ValidationErrors) -> Vec<String> {
    errors
        .violations()
        .iter()
        .filter(|v| v.rule() == "no duplicate items")
        .map(|v| v.field().to_owned())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn uniqueness_agrees_with_the_naive_check_on_any_items(
        items in prop::collection::vec(any_json(), 0..8),
    ) {
        // At most two rules per item (type and uniqueness, or emptiness and uniqueness):
        // all of them fit under the limit, so every duplicate is listed.
        let expected: Vec<String> =
            naive_duplicates(&items).iter().map(|i| format!("DeviceNames[{i}]")).collect();
        let acceptable = expected.is_empty()
            && items.iter().all(|item| item.as_str().is_some_and(|text| !text.is_empty()));
        match check_request_json("BatchUpdateFirmware", &body_with_names(json!(items))) {
            Ok(()) => prop_assert!(acceptable),
            Err(RequestProblems::Invalid(errors)) => {
                prop_assert!(!acceptable);
                prop_assert_eq!(duplicate_fields(&errors), expected);
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn uniqueness_agrees_with_the_naive_check_past_the_limit(
        names in prop::collection::vec("[a-e]{1,2}", 0..80),
    ) {
        let items: Vec<Value> = names.iter().map(|name| json!(name)).collect();
        let expected = naive_duplicates(&items);
        let result = BatchUpdateFirmwareRequest::builder()
            .product_id("ABCDE12345")
            .firmware_version("2.0.0")
            .set_device_names(Some(names))
            .build();
        match result {
            Ok(_) => prop_assert!(expected.is_empty()),
            Err(errors) => {
                let listed: Vec<String> =
                    expected.iter().take(LIMIT).map(|i| format!("DeviceNames[{i}]")).collect();
                prop_assert_eq!(duplicate_fields(&errors), listed);
                let first = &errors.violations()[0];
                let first_value = items[expected[0]].to_string();
                prop_assert_eq!(first.value(), Some(first_value.as_str()));
                let text = errors.to_string();
                let count = expected.len();
                prop_assert_eq!(errors.total(), count);
                prop_assert!(text.starts_with(&format!("{count} invalid member")), "{}", text);
                if count > LIMIT {
                    let more = format!("; and {} more", count - LIMIT);
                    prop_assert!(text.ends_with(&more), "{}", text);
                }
            }
        }
    }
}
