//! Compiling a `JSONSchemaProps` tree once into a form that is cheap to evaluate many times:
//! regular expressions compiled, types and formats resolved to enums, maps ready to look up.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use regex::Regex;
use serde_json::Value;

use super::formats::Format;

/// Largest compiled size of one `pattern`; Kubernetes patterns are short, and a limit keeps a
/// hostile CRD from making the server build a huge automaton.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Why a schema could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A `pattern` is not a valid regular expression.
    #[error("{path}.pattern: invalid regular expression {pattern:?}: {source}")]
    InvalidPattern {
        /// Path of the schema node.
        path: String,
        /// The pattern.
        pattern: String,
        /// The regex compiler's complaint.
        #[source]
        source: Box<regex::Error>,
    },
    /// A `type` other than object, array, string, integer, number or boolean.
    #[error(
        "{path}.type: unsupported type {type_:?}: use object, array, string, integer, number or boolean"
    )]
    UnknownType {
        /// Path of the schema node.
        path: String,
        /// The type given.
        type_: String,
    },
    /// A CRD version without `schema.openAPIV3Schema`.
    #[error("{crd}: version {version} has no openAPIV3Schema")]
    MissingSchema {
        /// Name of the CRD.
        crd: String,
        /// The version.
        version: String,
    },
}

/// The JSON type a schema node demands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JsonType {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

impl JsonType {
    fn parse(text: &str) -> Option<JsonType> {
        Some(match text {
            "object" => JsonType::Object,
            "array" => JsonType::Array,
            "string" => JsonType::String,
            "integer" => JsonType::Integer,
            "number" => JsonType::Number,
            "boolean" => JsonType::Boolean,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            JsonType::Object => "object",
            JsonType::Array => "array",
            JsonType::String => "string",
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
        }
    }
}

/// A numeric bound with its exclusivity.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bound {
    pub value: f64,
    pub exclusive: bool,
}

/// What an object node says about keys it does not list in `properties`.
#[derive(Debug)]
pub(crate) enum Additional {
    /// Nothing said: unknown keys are pruned (unless unknown fields are preserved).
    Unspecified,
    /// `additionalProperties: true`: any value is kept.
    Any,
    /// `additionalProperties: false`: unknown keys are an error.
    Forbidden,
    /// A map: every other key's value follows this schema.
    Schema(Box<Node>),
}

/// `x-kubernetes-list-type`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ListType {
    Atomic,
    Set,
    Map(Vec<String>),
}

/// One compiled schema node.
#[derive(Debug)]
pub(crate) struct Node {
    pub type_: Option<JsonType>,
    pub int_or_string: bool,
    pub nullable: bool,
    pub preserve_unknown: bool,
    pub embedded_resource: bool,
    pub format: Option<Format>,
    pub enum_values: Option<Vec<Value>>,
    pub pattern: Option<(String, Regex)>,
    pub minimum: Option<Bound>,
    pub maximum: Option<Bound>,
    pub multiple_of: Option<f64>,
    pub min_length: Option<i64>,
    pub max_length: Option<i64>,
    pub min_items: Option<i64>,
    pub max_items: Option<i64>,
    pub unique_items: bool,
    pub min_properties: Option<i64>,
    pub max_properties: Option<i64>,
    pub required: Vec<String>,
    pub properties: BTreeMap<String, Node>,
    pub additional: Additional,
    pub items: Option<Box<Node>>,
    pub all_of: Vec<Node>,
    pub any_of: Vec<Node>,
    pub one_of: Vec<Node>,
    pub not: Option<Box<Node>>,
    pub default: Option<Value>,
    pub list_type: ListType,
}

impl Node {
    /// Compiles a schema tree; `path` names the node in errors (`spec.billing`).
    pub(crate) fn compile(props: &JSONSchemaProps, path: &str) -> Result<Node, SchemaError> {
        let child = |name: &str| {
            if path.is_empty() {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            }
        };
        let type_ = match props.type_.as_deref() {
            None | Some("") => None,
            Some(t) => Some(JsonType::parse(t).ok_or_else(|| SchemaError::UnknownType {
                path: path.to_owned(),
                type_: t.to_owned(),
            })?),
        };
        let pattern = match &props.pattern {
            None => None,
            Some(p) => {
                let regex = regex::RegexBuilder::new(p)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|source| SchemaError::InvalidPattern {
                        path: path.to_owned(),
                        pattern: p.clone(),
                        source: Box::new(source),
                    })?;
                Some((p.clone(), regex))
            }
        };
        let mut properties = BTreeMap::new();
        for (name, prop) in props.properties.iter().flatten() {
            properties.insert(name.clone(), Node::compile(prop, &child(name))?);
        }
        let additional = match &props.additional_properties {
            None => Additional::Unspecified,
            Some(JSONSchemaPropsOrBool::Bool(true)) => Additional::Any,
            Some(JSONSchemaPropsOrBool::Bool(false)) => Additional::Forbidden,
            Some(JSONSchemaPropsOrBool::Schema(s)) => {
                Additional::Schema(Box::new(Node::compile(s, &child("additionalProperties"))?))
            }
        };
        let items = match &props.items {
            None => None,
            Some(JSONSchemaPropsOrArray::Schema(s)) => {
                Some(Box::new(Node::compile(s, &child("items"))?))
            }
            // Structural schemas forbid tuple items; validate with the first one if present.
            Some(JSONSchemaPropsOrArray::Schemas(list)) => match list.first() {
                Some(s) => Some(Box::new(Node::compile(s, &child("items"))?)),
                None => None,
            },
        };
        let compile_all =
            |list: &Option<Vec<JSONSchemaProps>>, name: &str| -> Result<Vec<Node>, SchemaError> {
                list.iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, s)| Node::compile(s, &format!("{}[{i}]", child(name))))
                    .collect()
            };
        let list_type = match props.x_kubernetes_list_type.as_deref() {
            Some("set") => ListType::Set,
            Some("map") => {
                ListType::Map(props.x_kubernetes_list_map_keys.clone().unwrap_or_default())
            }
            _ => ListType::Atomic,
        };
        Ok(Node {
            type_,
            int_or_string: props.x_kubernetes_int_or_string == Some(true),
            nullable: props.nullable == Some(true),
            preserve_unknown: props.x_kubernetes_preserve_unknown_fields == Some(true),
            embedded_resource: props.x_kubernetes_embedded_resource == Some(true),
            format: props.format.as_deref().and_then(Format::parse),
            enum_values: props
                .enum_
                .as_ref()
                .map(|v| v.iter().map(|j| j.0.clone()).collect()),
            pattern,
            minimum: props.minimum.map(|value| Bound {
                value,
                exclusive: props.exclusive_minimum == Some(true),
            }),
            maximum: props.maximum.map(|value| Bound {
                value,
                exclusive: props.exclusive_maximum == Some(true),
            }),
            multiple_of: props.multiple_of,
            min_length: props.min_length,
            max_length: props.max_length,
            min_items: props.min_items,
            max_items: props.max_items,
            unique_items: props.unique_items == Some(true),
            min_properties: props.min_properties,
            max_properties: props.max_properties,
            required: props.required.clone().unwrap_or_default(),
            properties,
            additional,
            items,
            all_of: compile_all(&props.all_of, "allOf")?,
            any_of: compile_all(&props.any_of, "anyOf")?,
            one_of: compile_all(&props.one_of, "oneOf")?,
            not: match &props.not {
                Some(s) => Some(Box::new(Node::compile(s, &child("not"))?)),
                None => None,
            },
            default: props.default.as_ref().map(|d| d.0.clone()),
            list_type,
        })
    }

    /// The schema of the value under `key` of an object, if the node describes one.
    pub(crate) fn child(&self, key: &str) -> Option<&Node> {
        match self.properties.get(key) {
            Some(node) => Some(node),
            None => match &self.additional {
                Additional::Schema(node) => Some(node),
                _ => None,
            },
        }
    }
}
