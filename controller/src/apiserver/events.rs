//! One store, two views of events: objects are stored in the core/v1 form and shown (and
//! accepted) in the events.k8s.io/v1 form by renaming fields, as Kubernetes converts them
//! (`Convert_v1_Event_To_core_Event` and back: the fields are copied, none is derived from
//! another).
//!
//! Both views are served the way Kubernetes serialises its Go types: the fields without
//! `omitempty` effect (struct-typed fields and the strings declared without `omitempty`) are
//! always present, a zero time as `null`. An event written through events.k8s.io/v1 (which
//! leaves the deprecated fields unset) thus reads in core/v1 with `"firstTimestamp": null`,
//! `"lastTimestamp": null` and `"source": {}`: clients that sort or select on those paths
//! (`kubectl get events --sort-by=.lastTimestamp`) find them, as against a real API server.
//! The same zero values are dropped when an event is written, so that what is stored does not
//! depend on whether a client sent them.

use serde_json::{Map, Value};

/// Field renames between events.k8s.io/v1 (left) and core/v1 (right).
const RENAMES: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn rename(obj: &Value, api_version: &str, from_v1: bool) -> Value {
    let Value::Object(m) = obj else {
        return obj.clone();
    };
    let mut out = Map::new();
    for (k, v) in m {
        let renamed = RENAMES.iter().find_map(|(v1, core)| {
            if from_v1 && k == v1 {
                Some(*core)
            } else if !from_v1 && k == core {
                Some(*v1)
            } else {
                None
            }
        });
        out.insert(renamed.unwrap_or(k).to_string(), v.clone());
    }
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    out.insert("kind".into(), Value::String("Event".into()));
    Value::Object(out)
}

/// The fields of core/v1 `Event` that Kubernetes always serialises, with their zero value:
/// struct-typed fields (a zero time is `null`) and the strings without `omitempty`.
const CORE_ALWAYS: &[(&str, ZeroValue)] = &[
    ("involvedObject", ZeroValue::Object),
    ("source", ZeroValue::Object),
    ("firstTimestamp", ZeroValue::Null),
    ("lastTimestamp", ZeroValue::Null),
    ("eventTime", ZeroValue::Null),
    ("reportingComponent", ZeroValue::EmptyString),
    ("reportingInstance", ZeroValue::EmptyString),
];

/// The same for events.k8s.io/v1 `Event` (its strings all have `omitempty`).
const V1_ALWAYS: &[(&str, ZeroValue)] = &[
    ("regarding", ZeroValue::Object),
    ("deprecatedSource", ZeroValue::Object),
    ("deprecatedFirstTimestamp", ZeroValue::Null),
    ("deprecatedLastTimestamp", ZeroValue::Null),
    ("eventTime", ZeroValue::Null),
];

/// Fields that are left out when empty in either view (`omitempty` strings and counts).
const OMIT_WHEN_ZERO: &[&str] = &[
    "reportingComponent",
    "reportingInstance",
    "reportingController",
    "count",
    "deprecatedCount",
];

#[derive(Debug, Clone, Copy)]
enum ZeroValue {
    Null,
    Object,
    EmptyString,
}

impl ZeroValue {
    fn value(self) -> Value {
        match self {
            ZeroValue::Null => Value::Null,
            ZeroValue::Object => Value::Object(Map::new()),
            ZeroValue::EmptyString => Value::String(String::new()),
        }
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        _ => false,
    }
}

/// Adds the always-serialised fields that `obj` lacks, with their zero value.
fn fill_zero(obj: &mut Value, always: &[(&str, ZeroValue)]) {
    if let Value::Object(m) = obj {
        for (field, zero) in always {
            m.entry(*field).or_insert_with(|| zero.value());
        }
    }
}

/// Drops the zero values of the fields of `always` and [`OMIT_WHEN_ZERO`].
fn drop_zero(obj: &mut Value, always: &[(&str, ZeroValue)]) {
    if let Value::Object(m) = obj {
        let fields = always
            .iter()
            .map(|(f, _)| *f)
            .chain(OMIT_WHEN_ZERO.iter().copied());
        for field in fields {
            if m.get(field).is_some_and(is_zero) {
                m.remove(field);
            }
        }
    }
}

/// The core/v1 view of a stored event, as Kubernetes serialises it.
pub fn to_core(stored: &Value) -> Value {
    let mut core = stored.clone();
    drop_zero(&mut core, CORE_ALWAYS);
    fill_zero(&mut core, CORE_ALWAYS);
    core
}

/// The stored form of an event received through core/v1: without zero values.
pub fn from_core(mut core: Value) -> Value {
    drop_zero(&mut core, CORE_ALWAYS);
    core
}

/// The events.k8s.io/v1 view of a stored (core/v1) event, as Kubernetes serialises it.
pub fn to_events_v1(core: &Value) -> Value {
    let mut v1 = rename(core, "events.k8s.io/v1", false);
    drop_zero(&mut v1, V1_ALWAYS);
    fill_zero(&mut v1, V1_ALWAYS);
    v1
}

/// The stored (core/v1) form of an events.k8s.io/v1 event, without zero values.
pub fn from_events_v1(v1: &Value) -> Value {
    let mut core = rename(v1, "v1", true);
    drop_zero(&mut core, CORE_ALWAYS);
    core
}

/// Maps an events.k8s.io/v1 field-selector path to the stored form.
pub fn v1_field_to_core(path: &str) -> String {
    for (v1, core) in RENAMES {
        if path == *v1 {
            return (*core).to_string();
        }
        if let Some(rest) = path.strip_prefix(&format!("{v1}.")) {
            return format!("{core}.{rest}");
        }
    }
    path.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn views_round_trip() {
        let v1 = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "x.1", "namespace": "default"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "regarding": {"kind": "ServiceOrder", "name": "x", "uid": "u"},
            "note": "reconciled", "reason": "Reconciled", "type": "Normal",
            "reportingController": "so-controller", "reportingInstance": "i",
            "action": "Reconcile", "series": {"count": 2, "lastObservedTime": "2026-01-01T00:00:01.000000Z"}
        });
        let core = from_events_v1(&v1);
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["involvedObject"]["name"], "x");
        assert_eq!(core["message"], "reconciled");
        assert_eq!(core["reportingComponent"], "so-controller");
        // Served as Kubernetes serialises it: the unset deprecated fields as zero values.
        let mut served = v1.clone();
        served["deprecatedSource"] = json!({});
        served["deprecatedFirstTimestamp"] = Value::Null;
        served["deprecatedLastTimestamp"] = Value::Null;
        assert_eq!(to_events_v1(&core), served);
        assert_eq!(from_events_v1(&served), core);
        assert_eq!(v1_field_to_core("regarding.uid"), "involvedObject.uid");
        assert_eq!(v1_field_to_core("reason"), "reason");
    }

    #[test]
    fn core_view_of_an_events_v1_event_has_the_deprecated_fields_as_zero_values() {
        // What a real API server returns in core/v1 for an event created through
        // events.k8s.io/v1: the conversion copies the (unset) deprecated fields; nothing is
        // derived from eventTime or series.
        let stored = json!({
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": "x.1"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "involvedObject": {"kind": "ServiceOrder", "name": "x"},
            "series": {"count": 2, "lastObservedTime": "2026-01-01T00:00:01.000000Z"},
            "reportingComponent": "so-controller", "reportingInstance": "i",
        });
        let core = to_core(&stored);
        assert_eq!(core["firstTimestamp"], Value::Null);
        assert_eq!(core["lastTimestamp"], Value::Null);
        assert!(core.get("lastTimestamp").is_some());
        assert_eq!(core["source"], json!({}));
        assert!(core.get("count").is_none());
        assert_eq!(core["series"]["count"], 2);
        assert_eq!(from_core(core), stored);

        // A core/v1 event written the old way: no eventTime, no reporting fields.
        let old = json!({
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": "x.2"},
            "involvedObject": {"name": "x"}, "source": {"component": "c"},
            "lastTimestamp": "2026-01-01T00:00:00Z", "count": 3,
        });
        let core = to_core(&old);
        assert_eq!(core["eventTime"], Value::Null);
        assert_eq!(core["reportingComponent"], "");
        assert_eq!(core["reportingInstance"], "");
        let v1 = to_events_v1(&old);
        assert_eq!(v1["deprecatedLastTimestamp"], "2026-01-01T00:00:00Z");
        assert_eq!(v1["deprecatedCount"], 3);
        assert_eq!(v1["eventTime"], Value::Null);
        assert!(v1.get("reportingController").is_none());
        assert_eq!(from_events_v1(&v1), old);
    }
}
