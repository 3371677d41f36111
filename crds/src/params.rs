//! Service parameters: the free-form scalar map a Product hands to its templates and a
//! Subscription may override (`downMbps: 300`, `ipv6: true`, `profile: gold`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// A map from parameter name to a scalar value.
pub type Parameters = BTreeMap<String, ParameterValue>;

/// One parameter value: a string, integer, number or boolean.
///
/// The schema marks the value `x-kubernetes-preserve-unknown-fields` because a structural
/// schema cannot say "any scalar"; the value is therefore kept as arbitrary JSON and
/// [`validate_parameters`] rejects objects, arrays and nulls with a message naming the key, so
/// a controller can report it as a condition instead of failing to decode the object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParameterValue(pub serde_json::Value);

impl ParameterValue {
    /// Whether the value is a string, number or boolean.
    pub fn is_scalar(&self) -> bool {
        matches!(
            self.0,
            serde_json::Value::String(_)
                | serde_json::Value::Number(_)
                | serde_json::Value::Bool(_)
        )
    }

    /// The value as JSON, e.g. to hand to a template engine.
    pub fn as_json(&self) -> &serde_json::Value {
        &self.0
    }
}

impl From<&str> for ParameterValue {
    fn from(value: &str) -> Self {
        ParameterValue(serde_json::Value::String(value.to_owned()))
    }
}

impl From<i64> for ParameterValue {
    fn from(value: i64) -> Self {
        ParameterValue(serde_json::Value::from(value))
    }
}

impl From<bool> for ParameterValue {
    fn from(value: bool) -> Self {
        ParameterValue(serde_json::Value::Bool(value))
    }
}

impl fmt::Display for ParameterValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            serde_json::Value::String(s) => f.write_str(s),
            other => write!(f, "{other}"),
        }
    }
}

impl JsonSchema for ParameterValue {
    fn schema_name() -> Cow<'static, str> {
        "ParameterValue".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A scalar parameter value: string, integer, number or boolean.",
            "x-kubernetes-preserve-unknown-fields": true
        })
    }
}

/// A parameter whose value is not a scalar.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("parameter {key:?} must be a string, number or boolean, not {found}")]
pub struct ParameterError {
    /// The offending parameter name.
    pub key: String,
    /// What was found instead (`object`, `array`, `null`).
    pub found: &'static str,
}

/// Checks that every value is a scalar.
pub fn validate_parameters(parameters: &Parameters) -> Result<(), Vec<ParameterError>> {
    let errors: Vec<ParameterError> = parameters
        .iter()
        .filter_map(|(key, value)| {
            let found = match value.0 {
                serde_json::Value::Object(_) => "an object",
                serde_json::Value::Array(_) => "an array",
                serde_json::Value::Null => "null",
                _ => return None,
            };
            Some(ParameterError {
                key: key.clone(),
                found,
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The product's parameters with the subscription's overrides applied on top.
pub fn merge_parameters(base: Option<&Parameters>, overrides: Option<&Parameters>) -> Parameters {
    let mut merged = base.cloned().unwrap_or_default();
    if let Some(overrides) = overrides {
        merged.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_pass_and_structures_are_named() {
        let mut p = Parameters::new();
        p.insert("downMbps".into(), 300.into());
        p.insert("ipv6".into(), true.into());
        p.insert("tier".into(), "gold".into());
        assert!(validate_parameters(&p).is_ok());
        p.insert("nested".into(), ParameterValue(serde_json::json!({"a": 1})));
        let errors = validate_parameters(&p).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "parameter \"nested\" must be a string, number or boolean, not an object"
        );
    }

    #[test]
    fn overrides_win() {
        let base: Parameters = [
            ("downMbps".to_string(), 100.into()),
            ("upMbps".to_string(), 20.into()),
        ]
        .into();
        let over: Parameters = [("downMbps".to_string(), 300.into())].into();
        let merged = merge_parameters(Some(&base), Some(&over));
        assert_eq!(merged["downMbps"], 300.into());
        assert_eq!(merged["upMbps"], 20.into());
        assert_eq!(merged["downMbps"].to_string(), "300");
    }
}
