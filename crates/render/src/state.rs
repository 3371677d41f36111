//! How a profile reads interface state and counters.
//!
//! The request is either a `<get>` with a subtree filter or a vendor RPC. The reply is walked
//! along `entries` (one element per interface); `name`, `operStatus.path`, `inOctets` and
//! `outOctets` are relative to one entry. Unprefixed steps match any namespace, which vendor
//! RPC replies need (Junos puts its release number in the namespace URI).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::path::{self, Anchor, XmlName};
use super::xml_check::{self, Namespaces};

/// Which NETCONF operation reads the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateRequest {
    /// `<get><filter type="subtree">BODY</filter></get>`.
    Get,
    /// `BODY` sent as the RPC operation itself.
    Rpc,
}

/// When an interface counts as operationally up, as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperStatusFile {
    /// Path to the status element, relative to an entry.
    pub path: String,
    /// Values meaning "up" (compared after trimming whitespace).
    #[serde(default)]
    pub up_values: Vec<String>,
    /// Up when the element exists (Junos `if-config-flags/iff-up`).
    #[serde(default)]
    pub up_when_present: bool,
}

/// The `state` section as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateFile {
    /// `get` or `rpc`.
    pub request: StateRequest,
    /// Subtree filter (for `get`) or RPC element (for `rpc`).
    pub body: String,
    /// Absolute path to one interface entry in the reply's data.
    pub entries: String,
    /// Interface name, relative to an entry.
    pub name: String,
    /// Operational status.
    pub oper_status: OperStatusFile,
    /// Received octets counter, relative to an entry.
    pub in_octets: String,
    /// Sent octets counter, relative to an entry.
    pub out_octets: String,
}

/// When an interface counts as up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpRule {
    /// The element's trimmed text is one of these values.
    Values(Vec<String>),
    /// The element exists.
    Present,
}

/// Validated state reading instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateSpec {
    /// Operation to send.
    pub request: StateRequest,
    /// Filter or RPC body (well-formed XML).
    pub body: String,
    /// Path from the reply's data root to one interface entry.
    pub entries: Vec<XmlName>,
    /// Interface name, relative to an entry.
    pub name: Vec<XmlName>,
    /// Status element, relative to an entry.
    pub oper_status: Vec<XmlName>,
    /// When the status means up.
    pub up: UpRule,
    /// Received octets, relative to an entry.
    pub in_octets: Vec<XmlName>,
    /// Sent octets, relative to an entry.
    pub out_octets: Vec<XmlName>,
}

/// Largest state request body accepted.
const MAX_BODY_BYTES: usize = 16 * 1024;

impl StateSpec {
    /// Validates the section; errors carry the field below `state`.
    pub fn from_file(
        file: &StateFile,
        namespaces: &BTreeMap<String, String>,
    ) -> Result<Self, (String, String)> {
        let body = file.body.trim();
        if body.is_empty() || body.len() > MAX_BODY_BYTES {
            return Err((
                "body".into(),
                format!("must be XML of 1 to {MAX_BODY_BYTES} bytes"),
            ));
        }
        xml_check::check_payload(body, Namespaces::Optional).map_err(|m| ("body".to_owned(), m))?;
        let parse = |field: &str, text: &str, anchor: Anchor| {
            path::parse_path(text, anchor)
                .and_then(|steps| path::resolve(&steps, namespaces, false))
                .map_err(|m| (field.to_owned(), m.to_string()))
        };
        let up = match (
            file.oper_status.up_values.is_empty(),
            file.oper_status.up_when_present,
        ) {
            (false, false) => UpRule::Values(file.oper_status.up_values.clone()),
            (true, true) => UpRule::Present,
            _ => {
                return Err((
                    "operStatus".into(),
                    "give either `upValues` or `upWhenPresent: true`".into(),
                ));
            }
        };
        Ok(Self {
            request: file.request,
            body: body.to_owned(),
            entries: parse("entries", &file.entries, Anchor::Absolute)?,
            name: parse("name", &file.name, Anchor::Relative)?,
            oper_status: parse("operStatus.path", &file.oper_status.path, Anchor::Relative)?,
            up,
            in_octets: parse("inOctets", &file.in_octets, Anchor::Relative)?,
            out_octets: parse("outOctets", &file.out_octets, Anchor::Relative)?,
        })
    }
}
