//! What a template is rendered from: plain data about one subscription.
//!
//! The same [`RenderInput`] is rendered once per device of the subscription; the device's
//! [`Role`] (passed next to it) decides which parts of the service that device carries.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ipv4::Ipv4Prefix;

/// The part a device plays for a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The access device (OLT, DSLAM, switch) holding the subscriber port: the subscriber
    /// VLAN with its description and rate limits.
    Access,
    /// The BNG serving the access device: the routed interface with the gateway address.
    Bng,
    /// A device without a BNG in front or behind it: it carries both halves.
    Standalone,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 3] = [Role::Access, Role::Bng, Role::Standalone];

    /// The lower-case name used in profiles and templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Access => "access",
            Role::Bng => "bng",
            Role::Standalone => "standalone",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a subscription attaches to one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Device resource name.
    pub device: String,
    /// Port on that device, in the device's own naming (`ge-0/0/1`,
    /// `GigabitEthernet0/0/0/1`, `Ethernet1`).
    pub port: String,
}

/// A product or subscription parameter handed to templates (`params.downMbps`).
///
/// Only scalars: templates format them, they never iterate over them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// `true` / `false`.
    Bool(bool),
    /// A whole number, e.g. a rate in Mbps.
    Integer(i64),
    /// A finite number with a fractional part.
    Number(f64),
    /// Text.
    String(String),
}

impl ParamValue {
    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            ParamValue::Bool(_) => "boolean",
            ParamValue::Integer(_) => "integer",
            ParamValue::Number(_) => "number",
            ParamValue::String(_) => "string",
        }
    }
}

impl TryFrom<&serde_json::Value> for ParamValue {
    type Error = String;

    /// Converts a resource's parameter value (free JSON in the CRDs); objects, arrays and
    /// null are refused with a message.
    fn try_from(value: &serde_json::Value) -> Result<Self, Self::Error> {
        use serde_json::Value;
        match value {
            Value::Bool(b) => Ok(ParamValue::Bool(*b)),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Ok(ParamValue::Integer(i)),
                (None, Some(f)) if f.is_finite() => Ok(ParamValue::Number(f)),
                _ => Err(format!("{n} is out of range")),
            },
            Value::String(s) => Ok(ParamValue::String(s.clone())),
            Value::Null | Value::Array(_) | Value::Object(_) => {
                Err("parameters must be strings, numbers or booleans".to_owned())
            }
        }
    }
}

/// Everything a template may use about one subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderInput {
    /// Customer resource name.
    pub customer: String,
    /// Subscription resource name.
    pub subscription: String,
    /// Kubernetes namespace (the ISP tenant).
    pub namespace: String,
    /// Product resource name.
    pub product: String,
    /// Product parameters merged with the subscription's overrides.
    #[serde(default)]
    pub parameters: BTreeMap<String, ParamValue>,
    /// The subscriber port on the access device.
    pub access: Attachment,
    /// The BNG and its port facing the access device, when a BNG serves the subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bng: Option<Attachment>,
    /// Subscriber VLAN (1..=4094).
    pub vlan: u16,
    /// Subscriber IPv4 prefix, when the service is routed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ipv4Prefix>,
    /// Render the suspended variant (service kept but blocked).
    #[serde(default)]
    pub suspended: bool,
}

impl RenderInput {
    /// The attachment a device in `role` configures: the BNG side for [`Role::Bng`], the
    /// access side otherwise.
    pub fn attachment(&self, role: Role) -> Option<&Attachment> {
        match role {
            Role::Bng => self.bng.as_ref(),
            Role::Access | Role::Standalone => Some(&self.access),
        }
    }

    /// Every string the input carries, with a name for error messages.
    pub(crate) fn strings(&self) -> Vec<(String, &str)> {
        let mut out = vec![
            ("customer".to_owned(), self.customer.as_str()),
            ("subscription".to_owned(), self.subscription.as_str()),
            ("namespace".to_owned(), self.namespace.as_str()),
            ("product".to_owned(), self.product.as_str()),
            ("access.device".to_owned(), self.access.device.as_str()),
            ("access.port".to_owned(), self.access.port.as_str()),
        ];
        if let Some(bng) = &self.bng {
            out.push(("bng.device".to_owned(), bng.device.as_str()));
            out.push(("bng.port".to_owned(), bng.port.as_str()));
        }
        for (name, value) in &self.parameters {
            out.push((format!("parameters.{name}"), name.as_str()));
            if let ParamValue::String(text) = value {
                out.push((format!("parameters.{name}"), text.as_str()));
            }
        }
        out
    }
}

/// True for characters that may appear in a configuration value: printable text, no
/// control characters (they are either illegal in XML 1.0 or silently altered by devices).
pub fn is_value_char(c: char) -> bool {
    !c.is_control() && c != '\u{FFFE}' && c != '\u{FFFF}'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_deserialize_as_scalars() {
        let input: RenderInput = serde_json::from_value(serde_json::json!({
            "customer": "acme", "subscription": "s1", "namespace": "isp", "product": "p500",
            "parameters": {"downMbps": 500, "ratio": 2.5, "label": "gold", "burst": true},
            "access": {"device": "olt1", "port": "ge-0/0/1"},
            "vlan": 1203, "ipv4": "198.51.100.8/29"
        }))
        .unwrap();
        assert_eq!(input.parameters["downMbps"], ParamValue::Integer(500));
        assert_eq!(input.parameters["ratio"], ParamValue::Number(2.5));
        assert_eq!(input.parameters["label"].kind(), "string");
        assert_eq!(input.parameters["burst"], ParamValue::Bool(true));
        assert_eq!(input.ipv4.unwrap().to_string(), "198.51.100.8/29");
        assert!(!input.suspended);
    }

    #[test]
    fn converts_json_scalars_only() {
        use serde_json::json;
        assert_eq!(ParamValue::try_from(&json!(7)), Ok(ParamValue::Integer(7)));
        assert_eq!(
            ParamValue::try_from(&json!(0.5)),
            Ok(ParamValue::Number(0.5))
        );
        assert_eq!(
            ParamValue::try_from(&json!("x")),
            Ok(ParamValue::String("x".into()))
        );
        assert_eq!(
            ParamValue::try_from(&json!(false)),
            Ok(ParamValue::Bool(false))
        );
        assert!(ParamValue::try_from(&json!([1])).is_err());
        assert!(ParamValue::try_from(&json!({"a": 1})).is_err());
        assert!(ParamValue::try_from(&json!(null)).is_err());
    }

    #[test]
    fn attachment_follows_role() {
        let mut input: RenderInput = serde_json::from_value(serde_json::json!({
            "customer": "c", "subscription": "s", "namespace": "n", "product": "p",
            "access": {"device": "olt1", "port": "ge-0/0/1"}, "vlan": 10
        }))
        .unwrap();
        assert_eq!(input.attachment(Role::Access).unwrap().port, "ge-0/0/1");
        assert_eq!(input.attachment(Role::Standalone).unwrap().device, "olt1");
        assert!(input.attachment(Role::Bng).is_none());
        input.bng = Some(Attachment {
            device: "bng1".into(),
            port: "xe-1/0/0".into(),
        });
        assert_eq!(input.attachment(Role::Bng).unwrap().port, "xe-1/0/0");
    }

    #[test]
    fn control_characters_are_not_value_characters() {
        assert!(is_value_char('a') && is_value_char('<') && is_value_char('é'));
        assert!(!is_value_char('\n') && !is_value_char('\u{0}') && !is_value_char('\u{7f}'));
    }
}
