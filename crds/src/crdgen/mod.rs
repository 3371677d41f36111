//! The CustomResourceDefinitions of every Ferrule kind, and their YAML.
//!
//! The YAML is committed as `crds/<plural>.<group>.yaml`, one file per kind, each starting
//! with `---`, so `cat crds/*.yaml` is exactly the multi-document stream `ferrule crds`
//! prints (the file names sort in the order [`all_crds`] returns). A unit test fails when the
//! committed files are stale; `FERRULE_UPDATE_CRDS=1 cargo test -p ferrule-crds` rewrites
//! them.

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

/// The file name a CRD is committed under: `<plural>.<group>.yaml`.
pub fn crd_file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.{}.yaml", crd.spec.names.plural, crd.spec.group)
}

/// One CRD as a YAML document, starting with `---` and ending with a newline.
pub fn crd_yaml(crd: &CustomResourceDefinition) -> Result<String, CrdGenError> {
    let body = serde_saphyr::to_string(crd).map_err(|source| CrdGenError {
        name: crd.metadata.name.clone().unwrap_or_default(),
        source,
    })?;
    let body = body.strip_prefix("---\n").unwrap_or(&body);
    let mut out = String::with_capacity(body.len() + 4);
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
