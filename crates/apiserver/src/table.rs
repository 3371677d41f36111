//! `meta.k8s.io` Table responses for `kubectl get`: printer columns of CRDs, built-in column
//! sets, server-formatted ages. Also the PartialObjectMetadata view.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::age::{age, human_duration};
use super::jsonpath::JsonPath;
use super::registry::{Builtin, PrinterColumn, ResourceType};

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// What each row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object.
    None,
    /// The object's metadata as PartialObjectMetadata (the default).
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// Parses the `includeObject` query parameter.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

/// The PartialObjectMetadata view of an object.
pub fn partial_metadata(object: &Value, version: &str) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// The PartialObjectMetadataList view of a list.
pub fn partial_metadata_list(items: &[Value], list_meta: Value, version: &str) -> Value {
    json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": list_meta,
        "items": items.iter().map(|o| partial_metadata(o, version)).collect::<Vec<_>>(),
    })
}

#[derive(Debug, Clone)]
enum Cell {
    Name,
    Age,
    Path(JsonPath, String),
    Builtin(fn(&Value, DateTime<Utc>) -> Value),
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    type_: String,
    format: String,
    description: String,
    priority: i64,
    cell: Cell,
}

fn col(name: &str, type_: &str, priority: i64, cell: Cell) -> Column {
    Column {
        name: name.into(),
        type_: type_.into(),
        format: if matches!(cell, Cell::Name) {
            "name".into()
        } else {
            String::new()
        },
        description: if matches!(cell, Cell::Name) {
            NAME_DESCRIPTION.into()
        } else {
            String::new()
        },
        priority,
        cell,
    }
}

fn str_at<'a>(o: &'a Value, pointer: &str) -> Option<&'a str> {
    o.pointer(pointer).and_then(Value::as_str)
}

fn count_keys(o: &Value, fields: &[&str]) -> Value {
    let n: usize = fields
        .iter()
        .filter_map(|f| o.get(*f).and_then(Value::as_object))
        .map(|m| m.len())
        .sum();
    json!(n)
}

fn event_last_seen(o: &Value, now: DateTime<Utc>) -> Value {
    let ts = str_at(o, "/series/lastObservedTime")
        .or_else(|| str_at(o, "/lastTimestamp"))
        .or_else(|| str_at(o, "/eventTime"))
        .or_else(|| str_at(o, "/metadata/creationTimestamp"));
    json!(age(ts, now))
}

fn event_first_seen(o: &Value, now: DateTime<Utc>) -> Value {
    let ts = str_at(o, "/firstTimestamp")
        .or_else(|| str_at(o, "/eventTime"))
        .or_else(|| str_at(o, "/metadata/creationTimestamp"));
    json!(age(ts, now))
}

fn event_object(o: &Value, _: DateTime<Utc>) -> Value {
    let kind = str_at(o, "/involvedObject/kind").unwrap_or("");
    let name = str_at(o, "/involvedObject/name").unwrap_or("");
    json!(format!("{}/{name}", kind.to_lowercase()))
}

fn columns(t: &ResourceType) -> Vec<Column> {
    let mut cols = vec![col("Name", "string", 0, Cell::Name)];
    match t.builtin {
        None => {
            let printer: Vec<PrinterColumn> = if t.printer_columns.is_empty() {
                vec![PrinterColumn {
                    name: "Age".into(),
                    type_: "date".into(),
                    format: String::new(),
                    description: String::new(),
                    priority: 0,
                    json_path: ".metadata.creationTimestamp".into(),
                }]
            } else {
                t.printer_columns.clone()
            };
            for p in printer {
                let cell = match JsonPath::parse(&p.json_path) {
                    Ok(path) => Cell::Path(path, p.type_.clone()),
                    Err(_) => Cell::Builtin(|_, _| Value::Null),
                };
                cols.push(Column {
                    name: p.name,
                    type_: p.type_,
                    format: p.format,
                    description: p.description,
                    priority: p.priority,
                    cell,
                });
            }
            return cols;
        }
        Some(Builtin::Namespace) => cols.push(col(
            "Status",
            "string",
            0,
            Cell::Builtin(|o, _| json!(str_at(o, "/status/phase").unwrap_or("Active"))),
        )),
        Some(Builtin::ConfigMap) => cols.push(col(
            "Data",
            "string",
            0,
            Cell::Builtin(|o, _| count_keys(o, &["data", "binaryData"])),
        )),
        Some(Builtin::Secret) => {
            cols.push(col(
                "Type",
                "string",
                0,
                Cell::Builtin(|o, _| json!(str_at(o, "/type").unwrap_or("Opaque"))),
            ));
            cols.push(col(
                "Data",
                "string",
                0,
                Cell::Builtin(|o, _| count_keys(o, &["data"])),
            ));
        }
        Some(Builtin::CoreEvent | Builtin::EventsV1Event) => {
            // Events are converted to the core form before rendering.
            let text = |p: &'static str| -> fn(&Value, DateTime<Utc>) -> Value {
                match p {
                    "type" => |o, _| json!(str_at(o, "/type").unwrap_or("")),
                    "reason" => |o, _| json!(str_at(o, "/reason").unwrap_or("")),
                    "message" => |o, _| json!(str_at(o, "/message").unwrap_or("")),
                    "sub" => |o, _| json!(str_at(o, "/involvedObject/fieldPath").unwrap_or("")),
                    _ => |o, _| {
                        json!(
                            str_at(o, "/source/component")
                                .or_else(|| str_at(o, "/reportingComponent"))
                                .unwrap_or("")
                        )
                    },
                }
            };
            return vec![
                col("Last Seen", "string", 0, Cell::Builtin(event_last_seen)),
                col("Type", "string", 0, Cell::Builtin(text("type"))),
                col("Reason", "string", 0, Cell::Builtin(text("reason"))),
                col("Object", "string", 0, Cell::Builtin(event_object)),
                col("Subobject", "string", 1, Cell::Builtin(text("sub"))),
                col("Source", "string", 1, Cell::Builtin(text("source"))),
                col("Message", "string", 0, Cell::Builtin(text("message"))),
                col("First Seen", "string", 1, Cell::Builtin(event_first_seen)),
                col(
                    "Count",
                    "string",
                    1,
                    Cell::Builtin(|o, _| {
                        json!(
                            o.pointer("/series/count")
                                .or_else(|| o.get("count"))
                                .and_then(Value::as_i64)
                                .unwrap_or(1)
                        )
                    }),
                ),
                col("Name", "string", 1, Cell::Name),
            ];
        }
        Some(Builtin::Lease) => cols.push(col(
            "Holder",
            "string",
            0,
            Cell::Builtin(|o, _| json!(str_at(o, "/spec/holderIdentity").unwrap_or(""))),
        )),
        Some(Builtin::Crd) => {
            cols.push(col(
                "Created At",
                "date",
                0,
                Cell::Builtin(|o, _| json!(str_at(o, "/metadata/creationTimestamp").unwrap_or(""))),
            ));
            return cols;
        }
    }
    cols.push(col("Age", "date", 0, Cell::Age));
    cols
}

/// A printer-column value as the Kubernetes table convertor renders it.
fn typed_cell(type_: &str, value: Option<&Value>, now: DateTime<Utc>) -> Value {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Value::Null;
    };
    match type_ {
        "integer" => value
            .as_i64()
            .or_else(|| value.as_f64().map(|f| f as i64))
            .map(Value::from)
            .unwrap_or(Value::Null),
        "number" => value.as_f64().map(Value::from).unwrap_or(Value::Null),
        "boolean" => value.as_bool().map(Value::from).unwrap_or(Value::Null),
        "date" => match value.as_str() {
            Some(s) => match DateTime::parse_from_rfc3339(s) {
                Ok(t) => json!(human_duration(now - t.with_timezone(&Utc))),
                Err(_) => json!("<invalid>"),
            },
            None => Value::Null,
        },
        _ => match value {
            Value::String(s) => json!(s),
            other => json!(other.to_string()),
        },
    }
}

fn cell(c: &Column, o: &Value, now: DateTime<Utc>) -> Value {
    match &c.cell {
        Cell::Name => json!(str_at(o, "/metadata/name").unwrap_or("")),
        Cell::Age => json!(age(str_at(o, "/metadata/creationTimestamp"), now)),
        Cell::Path(path, type_) => typed_cell(type_, path.find(o).first().copied(), now),
        Cell::Builtin(f) => f(o, now),
    }
}

/// Renders `objects` as a Table in meta.k8s.io `version`. `list_meta` becomes the table's
/// metadata (resourceVersion, continue). Column definitions are always included.
pub fn table(
    t: &ResourceType,
    objects: &[Value],
    list_meta: Value,
    version: &str,
    include: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    let cols = columns(t);
    let definitions: Vec<Value> = cols
        .iter()
        .map(|c| {
            json!({
                "name": c.name, "type": c.type_, "format": c.format,
                "description": c.description, "priority": c.priority,
            })
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            // Event columns read the stored (core/v1) field names.
            let source = if t.builtin == Some(Builtin::EventsV1Event) {
                super::events::from_events_v1(o)
            } else {
                o.clone()
            };
            let cells: Vec<Value> = cols.iter().map(|c| cell(c, &source, now)).collect();
            let mut row = json!({ "cells": cells });
            match include {
                IncludeObject::None => {}
                IncludeObject::Metadata => row["object"] = partial_metadata(o, "v1"),
                IncludeObject::Object => row["object"] = o.clone(),
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": list_meta,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:05:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn so_type(columns: Vec<PrinterColumn>) -> ResourceType {
        let mut t = Registry::build(&[])
            .lookup("", "v1", "configmaps")
            .unwrap()
            .as_ref()
            .clone();
        t.builtin = None;
        t.printer_columns = columns;
        t
    }

    #[test]
    fn printer_columns_are_evaluated_and_typed() {
        let t = so_type(vec![
            PrinterColumn {
                name: "Bandwidth".into(),
                type_: "integer".into(),
                format: String::new(),
                description: String::new(),
                priority: 0,
                json_path: ".spec.bandwidthMbps".into(),
            },
            PrinterColumn {
                name: "Ready".into(),
                type_: "string".into(),
                format: String::new(),
                description: String::new(),
                priority: 1,
                json_path: ".status.conditions[?(@.type==\"Ready\")].status".into(),
            },
            PrinterColumn {
                name: "Age".into(),
                type_: "date".into(),
                format: String::new(),
                description: String::new(),
                priority: 0,
                json_path: ".metadata.creationTimestamp".into(),
            },
        ]);
        let o = json!({"metadata": {"name": "x", "creationTimestamp": "2026-01-01T00:02:00Z"},
                       "spec": {"bandwidthMbps": 100}});
        let tab = table(
            &t,
            &[o],
            json!({"resourceVersion": "7"}),
            "v1",
            IncludeObject::Metadata,
            now(),
        );
        assert_eq!(tab["rows"][0]["cells"], json!(["x", 100, null, "3m"]));
        assert_eq!(tab["columnDefinitions"][2]["priority"], 1);
        assert_eq!(tab["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(tab["metadata"]["resourceVersion"], "7");
    }

    #[test]
    fn custom_resource_without_columns_shows_age() {
        let t = so_type(vec![]);
        let o = json!({"metadata": {"name": "x", "creationTimestamp": "2026-01-01T00:04:55Z"}});
        let tab = table(&t, &[o], json!({}), "v1", IncludeObject::None, now());
        assert_eq!(tab["rows"][0]["cells"], json!(["x", "5s"]));
        assert!(tab["rows"][0].get("object").is_none());
    }

    #[test]
    fn builtin_column_sets() {
        let r = Registry::build(&[]);
        let cm = r.lookup("", "v1", "configmaps").unwrap();
        let o = json!({"metadata": {"name": "c", "creationTimestamp": "2026-01-01T00:00:00Z"}, "data": {"a": "1", "b": "2"}});
        let tab = table(&cm, &[o], json!({}), "v1", IncludeObject::None, now());
        assert_eq!(tab["rows"][0]["cells"], json!(["c", 2, "5m"]));

        let ev = r.lookup("", "v1", "events").unwrap();
        let e = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "type": "Normal", "reason": "Created",
            "message": "made it", "involvedObject": {"kind": "ServiceOrder", "name": "x"},
            "lastTimestamp": "2026-01-01T00:04:00Z", "count": 2});
        let tab = table(
            &ev,
            std::slice::from_ref(&e),
            json!({}),
            "v1",
            IncludeObject::None,
            now(),
        );
        let cells = &tab["rows"][0]["cells"];
        assert_eq!(cells[0], "60s");
        assert_eq!(cells[3], "serviceorder/x");
        assert_eq!(cells[6], "made it");
        assert_eq!(cells[8], 2);

        let v1 = r.lookup("events.k8s.io", "v1", "events").unwrap();
        let view = crate::events::to_events_v1(&e);
        let tab = table(&v1, &[view], json!({}), "v1", IncludeObject::None, now());
        assert_eq!(tab["rows"][0]["cells"][3], "serviceorder/x");

        let ns = r.lookup("", "v1", "namespaces").unwrap();
        let n = json!({"metadata": {"name": "shop", "creationTimestamp": "2026-01-01T00:00:00Z"}, "status": {"phase": "Terminating"}});
        let tab = table(&ns, &[n], json!({}), "v1", IncludeObject::None, now());
        assert_eq!(
            tab["rows"][0]["cells"],
            json!(["shop", "Terminating", "5m"])
        );
    }

    #[test]
    fn partial_metadata_views() {
        let o = json!({"metadata": {"name": "x", "resourceVersion": "3"}, "spec": {"a": 1}});
        let list = partial_metadata_list(&[o], json!({"resourceVersion": "3"}), "v1");
        assert_eq!(list["kind"], "PartialObjectMetadataList");
        assert_eq!(list["items"][0]["metadata"]["name"], "x");
        assert!(list["items"][0].get("spec").is_none());
    }
}
