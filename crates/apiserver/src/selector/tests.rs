//! Tests of label selector parsing and matching.

use super::*;
use serde_json::json;

fn sel(s: &str) -> LabelSelector {
    LabelSelector::parse(s).unwrap()
}

fn obj(labels: Value) -> Value {
    json!({"metadata": {"name": "x", "labels": labels}})
}

#[test]
fn empty_selector_matches_everything() {
    for text in ["", "   "] {
        let s = sel(text);
        assert!(s.is_empty());
        assert!(s.matches_object(&json!({"metadata": {}})));
        assert_eq!(s.to_string(), "");
    }
}

#[test]
fn equality_operators() {
    let o = obj(json!({"app": "web", "tier": "front"}));
    assert!(sel("app=web").matches_object(&o));
    assert!(sel("app==web").matches_object(&o));
    assert!(!sel("app=db").matches_object(&o));
    assert!(sel("app!=db").matches_object(&o));
    assert!(!sel("app!=web").matches_object(&o));
    // `!=` matches objects without the label, as in Kubernetes.
    assert!(sel("missing!=x").matches_object(&o));
    assert!(sel("app = web , tier == front").matches_object(&o));
    assert!(!sel("app=web,tier=back").matches_object(&o));
}

#[test]
fn empty_value_means_empty_string() {
    let o = obj(json!({"flag": ""}));
    assert!(sel("flag=").matches_object(&o));
    assert!(sel("flag=,other!=").matches_object(&o));
    assert!(!sel("flag=").matches_object(&obj(json!({}))));
    assert!(sel("x in ()").matches_object(&obj(json!({"x": ""}))));
}

#[test]
fn set_operators() {
    let o = obj(json!({"env": "prod"}));
    assert!(sel("env in (prod, staging)").matches_object(&o));
    assert!(sel("env in(prod)").matches_object(&o));
    assert!(!sel("env in (dev,staging)").matches_object(&o));
    assert!(sel("env notin (dev,staging)").matches_object(&o));
    assert!(!sel("env notin (prod)").matches_object(&o));
    assert!(sel("region notin (eu)").matches_object(&o));
    assert!(!sel("region in (eu)").matches_object(&o));
    let s = sel("env in (b,a,,b)");
    let values: Vec<&str> = s.requirements()[0]
        .values()
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(values, vec!["", "a", "b"]);
}

#[test]
fn existence_operators() {
    let o = obj(json!({"env": "prod"}));
    assert!(sel("env").matches_object(&o));
    assert!(!sel("!env").matches_object(&o));
    assert!(sel("!region").matches_object(&o));
    assert!(sel("env, !region").matches_object(&o));
    assert!(sel("!a,!b").matches_object(&json!({"metadata": {}})));
}

#[test]
fn numeric_operators() {
    let o = obj(json!({"replicas": "5", "name": "abc"}));
    assert!(sel("replicas>3").matches_object(&o));
    assert!(!sel("replicas>5").matches_object(&o));
    assert!(sel("replicas<10").matches_object(&o));
    assert!(!sel("name<10").matches_object(&o));
    assert!(!sel("absent>1").matches_object(&o));
}

#[test]
fn prefixed_keys_and_display() {
    let s = sel("z=1, app.kubernetes.io/name in (b,a), !bss.ferrule.dev/closed");
    assert_eq!(
        s.to_string(),
        "app.kubernetes.io/name in (a,b),!bss.ferrule.dev/closed,z=1"
    );
    assert_eq!(sel(&s.to_string()), s);
}

#[test]
fn missing_labels_and_non_string_values() {
    assert!(!sel("a=1").matches_object(&json!({"metadata": {}})));
    assert!(!sel("a=1").matches_object(&obj(json!({"a": 1}))));
    assert!(sel("a!=1").matches_object(&json!({})));
}

fn err(s: &str) -> SelectorError {
    LabelSelector::parse(s).unwrap_err()
}

#[test]
fn syntax_errors_name_the_token() {
    assert!(
        matches!(err("a=b c"), SelectorError::Unexpected { found, offset: 4, .. } if found == "c")
    );
    assert!(matches!(err("a in b"), SelectorError::Unexpected { found, .. } if found == "b"));
    assert!(
        matches!(err("a in (b"), SelectorError::Unexpected { found, .. } if found == "end of string")
    );
    assert!(matches!(err("a in (b c)"), SelectorError::Unexpected { found, .. } if found == "c"));
    assert!(matches!(err("a,"), SelectorError::Unexpected { .. }));
    assert!(matches!(err(",a"), SelectorError::Unexpected { .. }));
    assert!(matches!(err("=a"), SelectorError::Unexpected { .. }));
    assert!(matches!(err("a b"), SelectorError::Unexpected { .. }));
    assert!(matches!(err("!a=b"), SelectorError::Unexpected { found, .. } if found == "="));
    assert!(matches!(err("a=(b)"), SelectorError::Unexpected { .. }));
    assert!(matches!(err("a=b=c"), SelectorError::Unexpected { .. }));
    assert!(matches!(err("!"), SelectorError::Unexpected { .. }));
    let message = err("a=b c").to_string();
    assert!(message.contains("found 'c'"), "{message}");
    assert!(
        message.contains("expected: ',' or end of string"),
        "{message}"
    );
}

#[test]
fn invalid_keys_and_values() {
    assert!(matches!(err("-a=b"), SelectorError::InvalidKey { .. }));
    assert!(matches!(err("a/b/c=d"), SelectorError::InvalidKey { .. }));
    assert!(matches!(
        err("Upper.Case/a=b"),
        SelectorError::InvalidKey { .. }
    ));
    assert!(matches!(err("/a"), SelectorError::InvalidKey { .. }));
    assert!(matches!(err("p/"), SelectorError::InvalidKey { .. }));
    assert!(matches!(
        err(&"k".repeat(64)),
        SelectorError::InvalidKey { .. }
    ));
    assert!(matches!(err("a=b-"), SelectorError::InvalidValue { .. }));
    assert!(matches!(
        err("a in (ok, bad!)"),
        SelectorError::Unexpected { .. }
    ));
    assert!(matches!(
        err("a in (ok,-bad)"),
        SelectorError::InvalidValue { .. }
    ));
    assert!(matches!(
        err(&format!("a={}", "v".repeat(64))),
        SelectorError::InvalidValue { .. }
    ));
    assert!(matches!(err("a>b"), SelectorError::NotAnInteger { .. }));
    assert!(matches!(err("ä=b"), SelectorError::InvalidKey { .. }));
    assert!(matches!(
        err(&"a".repeat(MAX_SELECTOR_LEN + 1)),
        SelectorError::TooLong { .. }
    ));
}

proptest::proptest! {
    #[test]
    fn parser_never_panics(text in "[a-z=!(),<> ,.\\-/0-9]{0,40}") {
        let _ = LabelSelector::parse(&text);
    }

    #[test]
    fn display_round_trips(keys in proptest::collection::vec("[a-z]{1,5}", 1..4),
                           values in proptest::collection::vec("[a-z0-9]{0,4}", 1..4)) {
        let text: Vec<String> = keys.iter().zip(values.iter().cycle())
            .map(|(k, v)| format!("{k} notin ({v},x)"))
            .collect();
        let parsed = LabelSelector::parse(&text.join(",")).unwrap();
        proptest::prop_assert_eq!(LabelSelector::parse(&parsed.to_string()).unwrap(), parsed);
    }
}
