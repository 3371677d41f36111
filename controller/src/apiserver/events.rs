//! One store, two views of events: objects are stored in the core/v1 form and shown (and
//! accepted) in the events.k8s.io/v1 form by renaming fields, as Kubernetes converts them.

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

/// The events.k8s.io/v1 view of a stored (core/v1) event.
pub fn to_events_v1(core: &Value) -> Value {
    rename(core, "events.k8s.io/v1", false)
}

/// The stored (core/v1) form of an events.k8s.io/v1 event.
pub fn from_events_v1(v1: &Value) -> Value {
    rename(v1, "v1", true)
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
        assert_eq!(to_events_v1(&core), v1);
        assert_eq!(v1_field_to_core("regarding.uid"), "involvedObject.uid");
        assert_eq!(v1_field_to_core("reason"), "reason");
    }
}
