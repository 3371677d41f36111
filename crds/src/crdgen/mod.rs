//! The CustomResourceDefinitions of every Ferrule kind, and their YAML.
//!
//! The YAML is committed as `crds/<plural>.<group>.yaml`, one file per kind, each starting
//! with the [`HEADER`] comment and `---`, so `cat crds/*.yaml` is exactly the multi-document
//! stream `ferrule crds` prints (the file names sort in the order [`all_crds`] returns). A
//! unit test fails when the committed files are stale; `FERRULE_UPDATE_CRDS=1 cargo test -p
//! ferrule-crds` rewrites them.
//!
//! Descriptions come from doc comments, wrapped at the source's line width; they are reflowed
//! into paragraphs ([`reflow_description`]) so that `kubectl explain` wraps them at its own
//! width, as it does Kubernetes' own descriptions.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;

use crate::{
    Alarm, Customer, Device, Product, ResourceClaim, ResourcePool, ServiceOrder, Subscription,
};

/// A CRD could not be written as YAML.
#[derive(Debug, thiserror::Error)]
#[error("cannot write CRD {name} as YAML: {source}")]
pub struct CrdGenError {
    /// Name of the CRD.
    pub name: String,
    /// The serializer's complaint.
    #[source]
    pub source: serde_saphyr::SerializeError,
}

/// Every Ferrule CRD, sorted by name (`alarms.oss.ferrule.dev` first).
pub fn all_crds() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        Customer::crd(),
        Product::crd(),
        Subscription::crd(),
        ServiceOrder::crd(),
        Device::crd(),
        ResourcePool::crd(),
        ResourceClaim::crd(),
        Alarm::crd(),
    ];
    for crd in &mut crds {
        for version in &mut crd.spec.versions {
            if let Some(schema) = version
                .schema
                .as_mut()
                .and_then(|s| s.open_api_v3_schema.as_mut())
            {
                normalize(schema);
                reflow_descriptions(schema);
            }
        }
    }
    crds.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    crds
}

/// Drops the integer formats schemars derives from Rust types (`uint16`, `uint32`...) which
/// are not OpenAPI formats; `int32` and `int64` stay. Value constraints are expressed with
/// explicit minimum/maximum instead.
fn normalize(schema: &mut JSONSchemaProps) {
    if let Some(format) = &schema.format
        && !matches!(
            format.as_str(),
            "int32"
                | "int64"
                | "float"
                | "double"
                | "date-time"
                | "date"
                | "byte"
                | "ipv4"
                | "ipv6"
                | "cidr"
        )
        && schema.type_.as_deref() != Some("string")
    {
        schema.format = None;
    }
    for prop in schema.properties.iter_mut().flat_map(|p| p.values_mut()) {
        normalize(prop);
    }
    if let Some(JSONSchemaPropsOrBool::Schema(additional)) = &mut schema.additional_properties {
        normalize(additional);
    }
    if let Some(JSONSchemaPropsOrArray::Schema(items)) = &mut schema.items {
        normalize(items);
    }
}

/// Applies [`reflow_description`] to every description in `schema`, nested ones included.
fn reflow_descriptions(schema: &mut JSONSchemaProps) {
    if let Some(description) = &mut schema.description {
        *description = reflow_description(description);
    }
    for prop in schema.properties.iter_mut().flat_map(|p| p.values_mut()) {
        reflow_descriptions(prop);
    }
    if let Some(JSONSchemaPropsOrBool::Schema(additional)) = &mut schema.additional_properties {
        reflow_descriptions(additional);
    }
    match &mut schema.items {
        Some(JSONSchemaPropsOrArray::Schema(items)) => reflow_descriptions(items),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => {
            items.iter_mut().for_each(reflow_descriptions);
        }
        None => {}
    }
    for nested in [&mut schema.all_of, &mut schema.any_of, &mut schema.one_of]
        .into_iter()
        .flatten()
    {
        nested.iter_mut().for_each(reflow_descriptions);
    }
    if let Some(not) = &mut schema.not {
        reflow_descriptions(not);
    }
}

/// Whether a (left-trimmed) line starts a list item: `- `, `* `, `+ `, or `1. ` / `1) `.
fn is_list_item(line: &str) -> bool {
    if ["- ", "* ", "+ "].iter().any(|m| line.starts_with(m)) {
        return true;
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && matches!(line.as_bytes().get(digits), Some(b'.' | b')'))
        && line.as_bytes().get(digits + 1) == Some(&b' ')
}

/// A doc comment's text as paragraphs: the lines of a paragraph joined with a space, blank
/// lines kept as paragraph breaks (one blank line), list items (`- `, `* `, `+ `, `1. `) on a
/// line of their own (a list item's wrapped continuation joins the item), and fenced code
/// blocks (```` ``` ````) kept line for line.
pub fn reflow_description(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Whether the output ends inside a paragraph (text that a next line could join).
    let mut open = false;
    let mut in_code = false;
    let mut pending_break = false;
    for raw in text.lines() {
        let line = raw.trim();
        let fence = line.starts_with("```");
        if in_code || fence {
            if !out.is_empty() {
                out.push_str(if pending_break { "\n\n" } else { "\n" });
            }
            out.push_str(raw.trim_end());
            pending_break = false;
            open = false;
            if fence {
                in_code = !in_code;
            }
            continue;
        }
        if line.is_empty() {
            pending_break = !out.is_empty();
            open = false;
            continue;
        }
        if pending_break {
            out.push_str("\n\n");
        } else if open && !is_list_item(line) {
            out.push(' ');
        } else if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
        open = true;
        pending_break = false;
    }
    out
}

/// The comment that starts every generated CRD document.
pub const HEADER: &str = "# Generated by `ferrule crds` from the Rust types in crds/src; do not edit.\n\
                          # Regenerate with: FERRULE_UPDATE_CRDS=1 cargo test -p ferrule-crds\n";

/// The file name a CRD is committed under: `<plural>.<group>.yaml`.
pub fn crd_file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.{}.yaml", crd.spec.names.plural, crd.spec.group)
}

/// One CRD as a YAML document, starting with the [`HEADER`] comment and `---`, ending with a
/// newline.
pub fn crd_yaml(crd: &CustomResourceDefinition) -> Result<String, CrdGenError> {
    let body = serde_saphyr::to_string(crd).map_err(|source| CrdGenError {
        name: crd.metadata.name.clone().unwrap_or_default(),
        source,
    })?;
    let body = body.strip_prefix("---\n").unwrap_or(&body);
    let mut out = String::with_capacity(HEADER.len() + body.len() + 4);
    out.push_str(HEADER);
    out.push_str("---\n");
    out.push_str(body);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// Every CRD as one multi-document YAML stream, in [`all_crds`] order.
pub fn all_crds_yaml() -> Result<String, CrdGenError> {
    all_crds().iter().map(crd_yaml).collect()
}

#[cfg(test)]
mod tests;
